"""``record = "kpis"``: the compiled engine's KPI accumulators against the full tables.

The same run (spec, seed, window) is made twice on the compiled engine: once keeping every
record table, from which the KPIs are computed as always, and once folding the records into
accumulators and dropping them. Every line KPI, every column of the station table and the
electricity ledger must agree to floating-point rounding (the sums run in another order),
and the lead-time quantiles within the histogram's stated resolution of NumPy's percentiles
of the exact lead times. The record arrays are made small so that every run folds many
times (rows of one instant fall into different folds).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lines_for_tests import const, expo
from test_compiled_engine import lines

from twin.data.checks import SpecError, line_from_dict
from twin.observation import accumulated as A
from twin.orchestration.run import RunResult, prepare, run
from twin.simulation.compiled import engine as E

RTOL = 1e-9
QUANTILES = ("lead_time_p50_h", "lead_time_p95_h")


@pytest.fixture(autouse=True)
def small_record_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record arrays of 2 x SLACK rows: a run folds every few thousand rows."""
    monkeypatch.setattr(E, "FIRST_ROWS", 2 * E.L.SLACK)


def both(spec: Any, **kw: Any) -> tuple[RunResult, RunResult]:
    return (run(spec, engine="compiled", record="tables", **kw),
            run(spec, engine="compiled", record="kpis", **kw))


def assert_same_kpis(a: RunResult, b: RunResult) -> None:
    """Every KPI of ``b`` (accumulators) equals ``a``'s (tables); quantiles within the
    histogram resolution of NumPy's percentiles of ``a``'s lead times."""
    assert set(a.kpis) == set(b.kpis)
    for key, x in a.kpis.items():
        y = b.kpis[key]
        if key in QUANTILES:
            continue
        if isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y), key
        elif isinstance(x, float):
            assert y == pytest.approx(x, rel=RTOL, abs=1e-12), key
        else:
            assert x == y, key
    t0 = a.provenance["settings"]["warmup_s"]
    t1 = t0 + a.provenance["settings"]["duration_s"]
    parts = a.tables["parts"]
    good = parts[(parts["fate"] == "good") & (parts["done"] >= t0) & (parts["done"] <= t1)]
    lead = (good["done"] - good["created"]).to_numpy()
    for key, q in zip(QUANTILES, (50, 95), strict=True):
        if not lead.size:
            assert math.isnan(b.kpis[key])
            continue
        exact = float(np.percentile(lead, q))  # NumPy's linear interpolation: the reference
        tol = A.LEAD_RESOLUTION * exact + A.LEAD_MIN_S / 2 + 1e-12
        assert abs(b.kpis[key] * 3600.0 - exact) <= tol, key
    pd.testing.assert_frame_equal(a.stations, b.stations, rtol=RTOL, atol=1e-12)
    pd.testing.assert_frame_equal(a.tables["energy"], b.tables["energy"], rtol=RTOL,
                                  atol=1e-12)
    # batch_never_full is read from the part events, which record = "kpis" does not keep:
    # a known gap of KPI-only runs of lines with batch stations (not yet accumulated)
    assert a.warnings == b.warnings or [w for w in a.warnings
                                        if w["code"] != "batch_never_full"] == b.warnings
    assert set(b.tables) == {"stations", "energy"}


def _rework_line() -> dict[str, Any]:
    """Two products, parallel servers with failures, inspection with scrap and rework
    back into the first machine, power by state."""
    return {"line": {"name": "rework"}, "products": {"A": {}, "B": {}}, "stations": {
        "src": {"type": "source", "mix": {"A": 0.6, "B": 0.4}, "interarrival": expo(1.0),
                "to": "m1"},
        "m1": {"type": "machine", "servers": 2, "cycle_time": expo(1.5),
               "product_cycle_time": {"B": {"dist": "gamma", "shape": 2, "scale": "0.8 s"}},
               "to": "q", "failures": [{"ttf": expo(200.0), "ttr": expo(20.0)}],
               "power": {"producing": "3 kW", "idle": "0.4 kW", "down": "0.1 kW"}},
        "q": {"type": "inspection", "buffer": 2, "cycle_time": expo(0.6),
              "scrap_probability": 0.05, "rework_probability": 0.1, "rework_to": "m1",
              "to": "out", "power": {"producing": "1 kW"}},
        "out": {"type": "sink"}}}


def _blocking_line() -> dict[str, Any]:
    """Infinite supply, a zero buffer (direct hand-over), a split to the least loaded of two
    machines, blocking everywhere."""
    return {"line": {"name": "blocking"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "to": "m1"},
        "m1": {"type": "machine", "buffer": 2, "cycle_time": expo(1.0), "to": "m2"},
        "m2": {"type": "machine", "buffer": 0, "cycle_time": expo(0.9),
               "to": ["m3a", "m3b"]},
        "m3a": {"type": "machine", "buffer": 1, "cycle_time": expo(1.7), "to": "out"},
        "m3b": {"type": "machine", "buffer": 1, "cycle_time": expo(2.1), "to": "out"},
        "out": {"type": "sink"}}}


def _lost_line() -> dict[str, Any]:
    """Arrivals lost when the first buffer is full (M/M/1/3), then a machine with
    failures."""
    return {"line": {"name": "lost"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(0.9),
                "when_full": "lost", "to": "m1"},
        "m1": {"type": "machine", "buffer": 2, "cycle_time": expo(1.0), "to": "m2"},
        "m2": {"type": "machine", "cycle_time": expo(0.5), "to": "out",
               "failures": [{"ttf": expo(60.0), "ttr": expo(10.0)}]},
        "out": {"type": "sink"}}}


def _shift_line() -> dict[str, Any]:
    """Two shifts on weekdays, setups on product change with a setter from a pool, planned
    maintenance, failures on calendar time, an operator during processing, a station that
    ignores the calendar, and an hourly grid emission factor."""
    tri = {"dist": "triangular", "low": "2 min", "mode": "3 min", "high": "5 min"}
    return {
        "line": {"name": "shifts"}, "products": {"A": {}, "B": {}},
        "calendar": {"days": ["mon", "tue", "wed", "thu", "fri"],
                     "shifts": [{"name": "early", "start": "06:00", "end": "14:00"},
                                {"name": "late", "start": "14:00", "end": "22:00"}]},
        "operators": {"setters": {"count": 1}, "testers": {"count": 1}},
        "energy": {"grid": {"value": "0.5306 kg/kWh", "year": 2023, "source": "test",
                            "hourly": [f"{0.4 + 0.01 * h!r} kg/kWh" for h in range(24)]}},
        "stations": {
            "src": {"type": "source", "mix": {"A": 0.5, "B": 0.5}, "lot_size": 3,
                    "interarrival": expo(80.0), "to": "cnc"},
            "cnc": {"type": "machine", "cycle_time": expo(50.0), "setup_time": tri,
                    "operator": {"pool": "setters", "during": "setup"},
                    "maintenance": {"every": "30 h", "duration": "1 h", "first": "7 h"},
                    "failures": [{"basis": "operating", "ttf": expo(20_000.0),
                                  "ttr": expo(900.0)}],
                    "power": {"producing": "18 kW", "idle": "4 kW", "setup": "4 kW",
                              "down": "1 kW", "off": "0.3 kW"},
                    "to": "wash"},
            "wash": {"type": "machine", "cycle_time": expo(40.0),
                     "failures": [{"name": "pump", "basis": "calendar",
                                   "ttf": expo(30_000.0), "ttr": expo(1200.0)}],
                     "power": {"producing": "12 kW", "idle": "6 kW"}, "to": "test"},
            "test": {"type": "inspection", "servers": 2, "cycle_time": expo(70.0),
                     "operator": {"pool": "testers", "during": "processing"},
                     "scrap_probability": 0.03, "rework_probability": 0.05,
                     "rework_to": "cnc", "to": "burn"},
            "burn": {"type": "machine", "follows_calendar": False, "cycle_time": expo(45.0),
                     "power": {"producing": "25 kW", "idle": "2 kW"}, "to": "out"},
            "out": {"type": "sink"}}}


def test_shifts_setups_operators_maintenance_and_an_hourly_grid() -> None:
    """The unit-time features: off, setup, waiting and maintenance states, stops that are
    not failures, CO2e hour by hour; two weeks with a warm-up of two days and a half."""
    from twin.simulation.compiled.lower import unsupported

    spec = line_from_dict(_shift_line())
    assert unsupported(spec) == []
    a, b = both(spec, duration=14 * 86400.0, warmup=2.5 * 86400.0, seed=5)
    stations = a.stations.set_index("station")
    assert stations.loc["cnc", "AUST_h"] > 0 and stations.loc["cnc", "PDOT_h"] > 0
    assert stations.loc["test", "ADET_h"] > 0 and stations.loc["wash", "failures"] > 0
    assert (a.tables["stops"]["kind"] == "maintenance").any()
    assert_same_kpis(a, b)


def test_cost_kpis_from_the_accumulators() -> None:
    """A line with ``[costs]``: a time-of-use tariff (peak, valley and the flat price
    between, with a period across midnight), product prices, labour and capital. The
    accumulators integrate the tariff over every state interval and count the products
    released in the window, so the KPI-only run folds (no tables) and every cost KPI equals
    the one priced from the tables interval by interval (``twin.observation.costs``)."""
    data = _shift_line()
    data["costs"] = {
        "currency": "CNY", "year": 2025, "source": "test", "labour_per_h": 65.0,
        "carbon_per_t": 60.0, "price_per_good_unit": 2900.0,
        "electricity": {"flat": 0.68, "periods": [
            {"name": "peak", "per_kwh": 1.08, "hours": ["08:00-11:00", "13:00-17:00"]},
            {"name": "valley", "per_kwh": 0.32, "hours": ["22:00-08:00"]}]},
        "materials": {"products": {"A": 150.0, "B": 210.0}},
        "capital": {"cnc": {"base_cost": 2.5e6}, "wash": {"base_cost": 4e5}}}
    a, b = both(data, duration=6 * 86400.0, warmup=1.3 * 86400.0, seed=11)
    assert "accumulators" in b.provenance["record_note"]
    assert set(b.tables) == {"stations", "energy"}
    assert a.kpis["cost_electricity"] > 0 and a.kpis["cost_materials"] > 0
    assert_same_kpis(a, b)


@pytest.mark.parametrize("make", [_rework_line, _blocking_line, _lost_line])
@pytest.mark.parametrize("warmup", [0.0, 2345.6])
def test_accumulated_kpis_equal_the_table_kpis(make: Any, warmup: float) -> None:
    a, b = both(make(), duration=20_000.0, warmup=warmup, seed=7)
    assert a.kpis["good_units"] > 5000
    assert_same_kpis(a, b)
    assert b.provenance["record"] == "kpis" and "accumulators" in b.provenance["record_note"]
    assert a.provenance["record"] == "tables" and "record_note" not in a.provenance
    assert a.run_id != b.run_id


@settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=lines(), seed=st.integers(0, 2**31 - 1), warmup=st.sampled_from([0.0, 77.7]))
def test_accumulated_kpis_on_random_lines(data: dict[str, Any], seed: int,
                                          warmup: float) -> None:
    """Every feature of the compiled engine (the generator of its engine test)."""
    spec = line_from_dict(data)
    assert_same_kpis(*both(spec, duration=600.0, warmup=warmup, seed=seed))


def test_constant_times_and_a_window_ending_on_an_instant() -> None:
    """Ties everywhere (constant times): periods and states change at shared instants."""
    spec = {"line": {"name": "ties"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": const(1.0), "to": "m1"},
        "m1": {"type": "machine", "buffer": 1, "cycle_time": const(1.0), "to": "m2"},
        "m2": {"type": "machine", "servers": 2, "buffer": 0, "cycle_time": const(2.0),
               "to": "out", "failures": [{"ttf": const(50.0), "ttr": const(5.0)}]},
        "out": {"type": "sink"}}}
    assert_same_kpis(*both(spec, duration=3000.0, warmup=100.0, seed=1))


def test_records_are_dropped_not_kept() -> None:
    """The record arrays keep their first size however long the run: rows are folded in
    and reused."""
    line = line_from_dict(_rework_line())
    prep = prepare(line, duration=20_000.0, seed=2, engine="compiled", record="kpis")
    from twin.observation.recorder import Recorder

    rec = Recorder()
    model = E.CompiledModel(line, prep.seed, rec, window=(0.0, 20_000.0))
    model.run(20_000.0)
    acc = model.accumulated()
    assert acc.line["created"] > 15_000
    for key in ("s_t", "e_t", "p_f", "st_f"):
        assert model.a[key].shape[0] == E.FIRST_ROWS
    assert rec.e_time == [] and rec.s_time == []


@pytest.mark.parametrize("alarmed", [False, True])
def test_only_the_part_events_read_are_recorded(monkeypatch: pytest.MonkeyPatch,
                                                alarmed: bool) -> None:
    """A KPI-only run records only the part events the accumulators read (and, on a line
    with a WIP alarm, those of the WIP signal): no arrivals, no exits without an alarm, and
    starts only before the window (t0 = 1,000 s). The run with tables keeps every kind (the
    rework line makes each of them)."""
    from twin.observation.recorder import (
        ARRIVE,
        CREATED,
        END,
        EXIT,
        REWORK,
        SCRAP,
        START,
        Recorder,
    )

    data = _rework_line()
    if alarmed:
        data["alarms"] = {"wip": {"tag": "wip", "limit": 12, "deadband": 4}}
    line = line_from_dict(data)
    t0 = 1000.0
    before: set[int] = set()
    after: set[int] = set()
    fold = E.Folder.fold

    def seen(self: Any, a: dict[str, np.ndarray], n: np.ndarray, *args: Any) -> None:
        rows = int(n[E.L.N_E])
        kind, time = a["e_i"][:rows, 3], a["e_t"][:rows]
        before.update(np.unique(kind[time < t0]).tolist())
        after.update(np.unique(kind[time >= t0]).tolist())
        fold(self, a, n, *args)

    monkeypatch.setattr(E.Folder, "fold", seen)
    E.CompiledModel(line, 4, Recorder(), window=(t0, 5000.0)).run(5000.0)
    made = {CREATED, START, END, SCRAP, REWORK}  # of those read: nothing is lost here
    assert made <= E.READS and ARRIVE not in E.READS and EXIT not in E.READS
    assert E.READS_BEFORE == {START}
    assert before == (made | {EXIT} if alarmed else made)
    assert after == before - {START}
    full = Recorder()
    E.CompiledModel(line, 4, full).run(5000.0)
    assert set(np.unique(full.e_kind).tolist()) >= before | {ARRIVE, EXIT}


def test_simpy_engine_keeps_only_the_kpis_too() -> None:
    """On the SimPy engine ``record = "kpis"`` computes from the tables, then drops them."""
    spec = _lost_line()
    a = run(spec, duration=3000.0, seed=3, record="tables")
    b = run(spec, duration=3000.0, seed=3, record="kpis")
    assert b.provenance["engine"] == "simpy" and "dropped" in b.provenance["record_note"]
    assert a.kpis == b.kpis
    assert set(b.tables) == {"stations", "energy"}


def test_record_option_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown record 'rows'"):
        prepare(_lost_line(), record="rows")
    bad = {**_lost_line(), "run": {"record": "everything"}}
    with pytest.raises(SpecError, match="run.record"):
        line_from_dict(bad)
    spec = {**_lost_line(), "run": {"record": "kpis", "duration": "1 h"}}
    assert run(spec, engine="compiled").provenance["record"] == "kpis"


def test_histogram_percentiles_against_numpy() -> None:
    """The quantile of the histogram is within the stated resolution of NumPy's
    linear-interpolation percentile (the reference) on skewed and tiny samples."""
    rng = np.random.default_rng(5)
    for sample in (rng.lognormal(3.0, 1.5, 5000), rng.exponential(2e-4, 50),
                   np.array([42.0]), np.array([1.0, 1e6])):
        k = np.where(sample < A.LEAD_MIN_S, 0, np.minimum(
            1 + np.floor(np.log(sample / A.LEAD_MIN_S) / math.log(A.LEAD_RATIO)),
            A.LEAD_BINS - 1)).astype(int)
        hist = np.bincount(k, minlength=A.LEAD_BINS)
        for q in (0.0, 5.0, 50.0, 95.0, 100.0):
            exact = float(np.percentile(sample, q))
            got = A.hist_percentile(hist, q, float(sample.min()), float(sample.max()))
            assert abs(got - exact) <= A.LEAD_RESOLUTION * exact + A.LEAD_MIN_S / 2, (q, sample)


def test_a_batch_cycle_across_the_start_of_the_window() -> None:
    """A batch of 4 parts (cycle 10 s, PRI 2.5 s per part) runs from 4 s to 14 s; the window
    starts at 8 s, so its planned time in the window is 4 x 2.5 x (1 - 4/10) = 6 s, and the
    next 9 batches add 90 s: effectiveness (6 + 90) / 100 s of production = 0.96 (by hand;
    the accumulators once cut the batch's planned time by the time of one part's share)."""
    spec = {"line": {"name": "batch"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": const(1.0), "to": "b"},
        "b": {"type": "batch", "batch_size": 4, "cycle_time": const(10.0), "to": "out"},
        "out": {"type": "sink"}}}
    a, b = both(spec, duration=100.0, warmup=8.0, seed=1)
    for r in (a, b):
        assert r.stations["effectiveness"].iloc[0] == pytest.approx(0.96, rel=1e-12)
    assert_same_kpis(a, b)


def test_a_part_that_ends_and_starts_again_at_one_station_in_one_instant() -> None:
    """A part routed back to the station it left starts its next cycle there at the
    instant the last one ended. Its items pair each end with the start recorded before
    it (by hand: cycles [1, 2] and [2, 5]); sorting a start before an end at equal times
    paired the first end with the second start (a cycle of no length) and left the second
    end without its start, so an item cut by the window's start counted whole."""
    from twin.observation.kpis import item_starts

    events = pd.DataFrame({
        "time": [1.0, 2.0, 2.0, 5.0], "part": [0, 0, 0, 0],
        "product": pd.Categorical(["A"] * 4), "station": pd.Categorical(["m"] * 4),
        "kind": pd.Categorical(["start", "end", "start", "end"])})
    items = item_starts(events, 0.0, 10.0)
    assert items["start"].tolist() == [1.0, 2.0] and items["end"].tolist() == [2.0, 5.0]
    spec = {"line": {"name": "loop"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(2.0), "to": "m"},
        "m": {"type": "machine", "servers": 2, "cycle_time": expo(1.5),
              "routes": [{"to": "m", "probability": 0.5}, {"to": "out", "probability": 0.5}]},
        "out": {"type": "sink"}}}
    a, b = both(spec, duration=2_000.0, warmup=77.7, seed=3)
    assert_same_kpis(a, b)
