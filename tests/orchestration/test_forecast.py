"""Forecasts from a state: batch end-time intervals cover the plant's actual end at their
stated rate, output and alarm forecasts add up, and every executor gives the same forecast."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

from twin.data.checks import line_from_dict
from twin.data.state import LineState
from twin.observation.recorder import Recorder
from twin.observation.run_state import state_from_tables
from twin.orchestration.forecast import forecast, interval_rank, shift_end
from twin.orchestration.run import run
from twin.simulation.line import LineModel

SPECIES = {"S": {"molar_mass": "0.018 kg/mol", "density": "1000 kg/m3",
                 "cp": "4180 J/(kg*K)"}}
PLANT = {
    "line": {"name": "plant"}, "products": {"batch": {}}, "species": SPECIES,
    "alarms": {"queue": {"tag": "buffer.r2", "limit": 0.5, "priority": "low"}},
    "stations": {
        "src": {"type": "source", "product": "batch", "to": "r1",
                "schedule": [{"at": "0 s", "quantity": 1, "every": "2 h"}]},
        "r1": {"type": "process", "to": "r2", "recipe": [
            {"phase": "charge", "name": "fill", "materials": {"S": "100 kg"},
             "duration": {"dist": "uniform", "low": "8 min", "high": "12 min"}},
            {"phase": "hold", "name": "react",
             "duration": {"dist": "lognormal", "mean": "60 min", "std": "15 min"}},
            {"phase": "hold", "name": "drain",
             "duration": {"dist": "uniform", "low": "10 min", "high": "20 min"}}]},
        "r2": {"type": "process", "to": "out", "recipe": [
            {"phase": "hold", "name": "age",
             "duration": {"dist": "triangular", "low": "2 h", "mode": "2.5 h",
                          "high": "3.5 h"}}]},
        "out": {"type": "sink"}}}
T_NOW = 2 * 3600.0 + 40 * 60.0  # batch 1 is at r1, reacting (or draining)
PLANTS, REPLICATIONS, LEVEL = 40, 9, 0.8


def test_the_interval_rank_gives_the_order_statistics_coverage() -> None:
    # Reference: P(X_new in [X(j), X(n+1-j)]) = (n + 1 - 2j) / (n + 1) for exchangeable X.
    assert interval_rank(39, 0.9) == (2, 0.9)
    assert interval_rank(9, 0.8) == (1, 0.8)
    with pytest.raises(ValueError, match="need at least 19"):
        interval_rank(10, 0.9)


@functools.cache
def plant(seed: int) -> tuple[float, LineState]:
    """The plant (a run with ``seed``): the actual end at r1 of the batch reacting at
    T_NOW, and its state at T_NOW."""
    line = line_from_dict(PLANT)
    recorder = Recorder()
    LineModel(line, seed, recorder).run(6 * 3600.0)
    tables = recorder.tables(6 * 3600.0)  # what the plant recorded (no KPIs needed)
    ev = tables["events"]
    state = state_from_tables(line, tables, T_NOW)
    unit = state.stations["r1"].units[0]
    assert unit.phase in ("react", "drain") and unit.elapsed > 0
    part = unit.parts[0].id
    end = ev[(ev["part"] == part) & (ev["station"] == "r1") & (ev["kind"] == "end")]
    return float(end["time"].iloc[0]), state


def coverage(wrong: bool = False) -> int:
    """How many of the plants' actual batch ends fall in their forecast interval."""
    hits = 0
    for seed in range(1, PLANTS + 1):
        actual, state = plant(seed)
        if wrong:  # the state forgets how long the batch has reacted
            data = state.model_dump()
            data["stations"]["r1"]["units"][0]["elapsed"] = 0.0
            state = LineState.parse(data)
        fc = forecast(PLANT, state, replications=REPLICATIONS, level=LEVEL, seed=100 * seed,
                      horizon="3 h")
        row = fc.batches[fc.batches["station"] == "r1"].iloc[0]
        hits += bool(row["low"] <= actual <= row["high"])
    return hits


def test_batch_end_intervals_contain_the_actual_end_at_their_stated_rate() -> None:
    """40 plants (seeds), each forecast with 9 replications: [min, max] of 9 is an 80 %
    prediction interval. The hits are binomial(40, 0.8): a two-sided exact binomial test
    (SciPy) at level 0.01 must not reject."""
    hits = coverage()
    print(f"{hits} of {PLANTS} actual ends in their interval")
    assert stats.binomtest(hits, PLANTS, LEVEL).pvalue > 0.01, hits


def test_the_coverage_check_detects_a_forecast_from_a_wrong_state() -> None:
    hits = coverage(wrong=True)
    assert stats.binomtest(hits, PLANTS, LEVEL).pvalue < 0.01, hits


def test_output_and_alarm_forecasts_recomputed_from_the_runs_tables() -> None:
    """The forecast's output and alarm figures equal those recomputed from the stored tables
    of the same replications run as ordinary runs from the state (same seeds)."""
    _, state = plant(1)
    fc = forecast(PLANT, state, replications=9, level=0.8, seed=3, horizon="6 h")
    assert fc.seeds == list(range(3, 12)) and fc.level == 0.8
    shift = shift_end(line_from_dict(PLANT), T_NOW)
    assert shift == 8 * 3600.0  # no calendar: 8-hour shifts from 00:00
    runs = [run(PLANT, duration="6 h", warmup=0, seed=s, initial_state=state)
            for s in fc.seeds]
    out = fc.output.set_index("horizon")
    assert list(out.index) == ["end of shift"]  # the end of the day is beyond the horizon
    ev = [r.tables["events"] for r in runs]
    counts = sorted(int(((e["kind"] == "exit") & (e["time"] <= shift)).sum()) for e in ev)
    # 9 replications, level 0.8: the 1st and 9th values bound the interval
    assert out.loc["end of shift", "until"] == shift
    assert (out.loc["end of shift", "low"], out.loc["end of shift", "median"],
            out.loc["end of shift", "high"]) == (counts[0], counts[4], counts[-1])
    firsts = []
    for r in runs:
        al = r.tables["alarms"]
        act = al[(al["event"] == "activate") & (al["time"] > T_NOW)]
        firsts.append(float(act["time"].min()) if len(act) else np.inf)
    raised = np.isfinite(firsts)
    row = fc.alarms.set_index("alarm").loc["queue"]
    assert row["probability"] == raised.mean() == row["p_first"]  # the line's only alarm
    assert row["median"] == np.median(firsts)
    assert fc.next_alarm == {"alarm": "queue", "p_first": raised.mean(),
                             "median": np.median(firsts)}
    assert 0 < raised.mean() <= 1
    ends = fc.batches.set_index("station")
    for station in ("r1", "r2"):
        part = int(ends.loc[station, "part"])
        done = sorted(float(ev[(ev["part"] == part) & (ev["station"] == station)
                               & (ev["kind"] == "end")]["time"].iloc[0])
                      for ev in (r.tables["events"] for r in runs))
        assert (ends.loc[station, "low"], ends.loc[station, "high"]) == (done[0], done[-1])
    assert "next alarm: queue" in fc.text()


def test_every_executor_gives_the_same_forecast() -> None:
    _, state = plant(2)
    serial = forecast(PLANT, state, replications=9, level=0.8, seed=5, horizon="4 h")
    pool = forecast(PLANT, state, replications=9, level=0.8, seed=5, horizon="4 h",
                    executor="local", workers=1)
    assert serial.to_dict() == pool.to_dict()
    np.testing.assert_array_equal(serial.batches["median"], pool.batches["median"])
