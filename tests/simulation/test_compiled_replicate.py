"""Runs of one line lowered once (:mod:`twin.simulation.compiled.replicate`) against runs
lowered on their own: the same draws, records and accumulators, in any order of seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.data.checks import line_from_dict
from twin.observation.recorder import Recorder
from twin.simulation.compiled import engine as E
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.replicate import Replicas

END = 3000.0


def _line():  # noqa: ANN202
    """Streams of every kind: arrivals, a mix, per-product cycles, failures on operating
    and calendar time, maintenance, quality draws, probabilistic routes, a transport delay,
    constants (no stream) and a route stream the line never reads."""
    def exp(mean: str) -> dict:
        return {"dist": "exponential", "mean": mean}

    return line_from_dict({"line": {"name": "replicas"}, "products": {"A": {}, "B": {}},
                           "stations": {
        "src": {"type": "source", "mix": {"A": 0.7, "B": 0.3}, "interarrival": exp("2 s"),
                "to": "m"},
        "m": {"type": "machine", "servers": 2, "buffer": 4, "cycle_time": exp("3 s"),
              "product_cycle_time": {"B": {"dist": "constant", "value": "2.5 s"}},
              "failures": [{"ttf": exp("400 s"), "ttr": exp("20 s")},
                           {"name": "power", "basis": "calendar", "ttf": exp("900 s"),
                            "ttr": {"dist": "constant", "value": "15 s"}}],
              "maintenance": {"every": "1000 s", "duration": exp("30 s")},
              "routes": [{"to": "q", "probability": 0.8}, {"to": "r", "probability": 0.2}]},
        "q": {"type": "inspection", "cycle_time": exp("1 s"), "scrap_probability": 0.05,
              "rework_probability": 0.1, "rework_to": "m", "to": "out"},
        "r": {"type": "machine", "cycle_time": exp("5 s"),
              "routes": [{"to": "out", "delay": exp("4 s")}]},
        "out": {"type": "sink"}}})


def _tables(model: CompiledModel) -> dict[str, pd.DataFrame]:
    model.run(END)
    return model.rec.tables(END)


def test_runs_lowered_once_record_what_runs_lowered_alone_record() -> None:
    line = _line()
    replicas = Replicas(line)
    for seed in (3, 1, 3, 0):  # a seed again: nothing of an earlier run is left over
        got = _tables(replicas.model(seed, Recorder()))
        alone = _tables(CompiledModel(line, seed, Recorder()))
        assert got.keys() == alone.keys()
        assert len(alone["parts"]) > 500 and len(alone["stops"]) > 5
        for name, table in alone.items():
            pd.testing.assert_frame_equal(got[name], table, check_exact=True, obj=name)


@pytest.mark.parametrize("rows", [E.FIRST_ROWS, 2 * E.L.SLACK])
def test_accumulators_of_runs_lowered_once_equal_those_of_runs_alone(
        rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each run after the first takes over the record arrays of the one before (grown, with
    small first arrays: the runs fold many times)."""
    monkeypatch.setattr(E, "FIRST_ROWS", rows)
    line = _line()
    replicas = Replicas(line)
    window = (200.0, END)
    spare = None
    for seed in (5, 6, 5):
        models = [replicas.model(seed, Recorder(), window=window),
                  CompiledModel(line, seed, Recorder(), window=window)]
        if seed == 6:  # the record arrays of the run before, as that run left them
            assert models[0].a["e_t"] is spare
        for m in models:
            m.run(END)
        got, alone = (m.accumulated() for m in models)
        spare = models[0].a["e_t"]
        assert alone.line["good"] > 500
        for field in ("seconds", "counts", "planned", "failures", "repair", "lead_moments",
                      "lead_histogram", "wip_batches"):
            np.testing.assert_array_equal(getattr(got, field), getattr(alone, field), field)
        assert (got.line, got.wip_area, got.created) == (alone.line, alone.wip_area,
                                                         alone.created)
        assert got.periods.keys() == alone.periods.keys()
        for name, periods in alone.periods.items():
            np.testing.assert_array_equal(got.periods[name], periods, name)
