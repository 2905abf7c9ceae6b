"""The electricity ledger of a KPI-only run, built straight from its accumulators, against
the table path's ledger function (:func:`twin.observation.ledger.electricity_table`: a
group-by of the same seconds) on a line with multi-server stations and an hourly grid."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from twin.data.checks import line_from_dict
from twin.observation.accumulated import energy_table
from twin.observation.ledger import electricity_table
from twin.observation.recorder import STATES, Recorder
from twin.simulation.compiled.engine import CompiledModel


def _line(hourly: bool):  # noqa: ANN202
    exp = {"dist": "exponential", "mean": "2 s"}
    power = {"idle": "1 kW", "producing": "5 kW", "blocked": "2 kW", "down": "0.5 kW"}
    grid = {"value": "0.5 kg/kWh", "year": 2023, "source": "test"}
    if hourly:
        grid["hourly"] = [f"{0.3 + 0.01 * h!r} kg/kWh" for h in range(24)]
    return line_from_dict({
        "line": {"name": "ledger"}, "products": {"A": {}},
        "energy": {"grid": grid},
        "stations": {
            "src": {"type": "source", "product": "A", "interarrival": exp, "to": "zeta"},
            "zeta": {"type": "machine", "servers": 3, "buffer": 2, "power": power,
                     "cycle_time": {"dist": "exponential", "mean": "5 s"}, "to": "alpha",
                     "failures": [{"ttf": {"dist": "exponential", "mean": "500 s"},
                                   "ttr": exp}]},
            "alpha": {"type": "machine", "servers": 2, "buffer": 1, "power": power,
                      "cycle_time": {"dist": "exponential", "mean": "3.5 s"}, "to": "out"},
            "out": {"type": "sink"}}})


def test_the_accumulated_ledger_is_the_table_ledger_of_the_same_seconds() -> None:
    for hourly in (False, True):
        line = _line(hourly)
        model = CompiledModel(line, 4, Recorder(), window=(500.0, 90_000.0))
        model.run(90_000.0)
        acc = model.accumulated()
        u, x = np.nonzero(acc.seconds > 0)  # unit by unit: not the ledger's order
        frame = pd.DataFrame({
            "station": [acc.stations[i] for i in acc.unit_station[u]],
            "server": acc.unit_server[u], "state": [STATES[i] for i in x],
            "seconds": acc.seconds[u, x]})
        if hourly:
            frame["grid_s"] = acc.grid_seconds[u, x]
        want = electricity_table(line, frame)
        got = energy_table(line, acc)
        assert len(want) >= 12 and list(want["station"].unique()) == ["alpha", "zeta"]
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        a, b = io.BytesIO(), io.BytesIO()
        got.to_parquet(a)
        want.to_parquet(b)
        assert a.getvalue() == b.getvalue()
