"""Unit time on both engines: shifts, setups, operator pools, planned maintenance and
calendar-time failures, against closed forms (and each other, table for table).

Each check runs on the SimPy engine and on the compiled engine: the deterministic ones
(maintenance, shifts) must give the exact closed-form numbers; the random ones (availability,
setups, operators) must hold the theoretical value in a 99.9 % t interval over replications.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from lines_for_tests import assert_agrees, const, expo, t_interval
from test_compiled_engine import assert_same_tables, simulate

from twin.data.checks import line_from_dict
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.lower import unsupported
from twin.simulation.line import LineModel

ENGINES = [LineModel, CompiledModel]


def _time_in(states: pd.DataFrame, state: str, unit: int = 0) -> float:
    rows = states[(states["unit"] == unit) & (states["state"] == state)]
    return float((rows["end"] - rows["start"]).sum())


def _supplied(machine: dict[str, Any], top: dict[str, Any] | None = None) -> Any:
    """Infinite supply -> ``machine`` (2 buffer slots) -> sink."""
    return line_from_dict({"line": {"name": "unit_time"}, "products": {"A": {}, "B": {}},
                           **(top or {}), "stations": {
        "supply": {"type": "source", "product": "A", "to": "m"},
        "m": {"type": "machine", "buffer": 2, "to": "out", **machine},
        "out": {"type": "sink"}}})


@pytest.mark.parametrize("model", ENGINES, ids=["simpy", "compiled"])
def test_maintenance_stops_on_plan_and_work_resumes_where_it_stopped(model: type) -> None:
    """Maintenance every 1000 s from 250 s for a constant 100 s, cycles of a constant 300 s:
    the stops start at 250 + 1000 k, take 10 x 100 s in 10,000 s, and the k-th part ends when
    the producing time (elapsed minus maintenance) reaches 300 k (preemptive resume)."""
    spec = _supplied({"cycle_time": const(300.0), "maintenance": {
        "every": "1000 s", "duration": const(100.0), "first": "250 s"}})
    assert unsupported(spec) == []
    end = 10_000.0
    tables = simulate(model, spec, 1, end)[0]
    stops = tables["stops"]
    np.testing.assert_array_equal(stops["start"], 250.0 + 1000.0 * np.arange(10))
    assert (stops["kind"] == "maintenance").all() and (stops["duration"] == 100.0).all()
    assert _time_in(tables["states"], "maintenance") == pytest.approx(1000.0, abs=1e-9)
    expected = []
    for k in range(1, 30):  # producing time 300 k, plus every stop begun before the end
        # (the 30th part would end at 10,000 s: events at the horizon are not run)
        t = 300.0 * k
        for start in 250.0 + 1000.0 * np.arange(10):
            if start < t:
                t += 100.0
        expected.append(t)
    np.testing.assert_allclose(tables["parts"]["done"], expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("model", ENGINES, ids=["simpy", "compiled"])
def test_shifts_stop_units_off_shift_and_cycles_run_on_next_morning(model: type) -> None:
    """Two shifts (06:00-22:00) Monday to Friday, one week: a unit that follows the calendar
    is off 7 x 24 h - 5 x 16 h = 88 h and finishes floor(5 x 16 h / 710 s) = 405 cycles of a
    constant 710 s (a cycle under way at a shift end pauses till the next shift); a unit
    that runs through off-shift time is never off and finishes floor(7 x 24 h / 710 s)."""
    cal = {"calendar": {"days": ["mon", "tue", "wed", "thu", "fri"], "shifts": [
        {"name": "early", "start": "06:00", "end": "14:00"},
        {"name": "late", "start": "14:00", "end": "22:00"}]}}
    week = 7 * 86400.0
    for follows, off, parts in ((True, 88 * 3600.0, 405), (False, 0.0, 851)):
        spec = _supplied({"cycle_time": const(710.0), "follows_calendar": follows}, cal)
        tables = simulate(model, spec, 1, week)[0]
        assert _time_in(tables["states"], "off") == pytest.approx(off, abs=1e-6)
        assert len(tables["parts"]) == parts


@pytest.mark.parametrize("model", ENGINES, ids=["simpy", "compiled"])
def test_availability_under_calendar_failures_is_mttf_over_mttf_plus_mttr(model: type
                                                                         ) -> None:
    """Calendar-time failures (exponential TTF, mean 1000 s; triangular TTR 50-100-150 s,
    mean 100 s) make an alternating renewal process: the long-run fraction of time down is
    MTTR / (MTTF + MTTR) = 1/11 whatever the unit does (renewal-reward theorem, e.g. Ross,
    Stochastic Processes, 2nd ed., thm 3.4.4)."""
    spec = line_from_dict({"line": {"name": "avail"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(500.0), "to": "m"},
        "m": {"type": "machine", "cycle_time": expo(100.0), "to": "out", "failures": [
            {"basis": "calendar", "ttf": expo(1000.0),
             "ttr": {"dist": "triangular", "low": "50 s", "mode": "100 s", "high": "150 s"}}]},
        "out": {"type": "sink"}}})
    end = 1_200_000.0
    down = [_time_in(simulate(model, spec, seed, end)[0]["states"], "down") / end
            for seed in range(8)]
    assert_agrees("fraction down", t_interval(down), 100.0 / 1100.0, 0.1)


@pytest.mark.parametrize("model", ENGINES, ids=["simpy", "compiled"])
def test_setups_on_product_change_cost_their_share_of_time(model: type) -> None:
    """One saturated server, products A and B drawn 1:1 part by part (lots of one): a part
    differs from the one before with probability 2 p (1 - p) = 1/2, so the throughput is
    1 / (E[cycle] + E[setup] / 2) = 1 / (1 s + 2 s / 2) = 0.5 per s (renewal-reward)."""
    spec = line_from_dict({"line": {"name": "setups"}, "products": {"A": {}, "B": {}},
                           "stations": {
        "supply": {"type": "source", "mix": {"A": 1, "B": 1}, "to": "m"},
        "m": {"type": "machine", "buffer": 2, "cycle_time": expo(1.0),
              "setup_time": {"dist": "uniform", "low": "1 s", "high": "3 s"}, "to": "out"},
        "out": {"type": "sink"}}})
    t0, end = 200.0, 8000.0
    rates = []
    for seed in range(8):
        parts = simulate(model, spec, seed, end)[0]["parts"]
        rates.append(((parts["done"] >= t0) & (parts["done"] < end)).sum() / (end - t0))
    assert_agrees("throughput [1/s]", t_interval(rates), 0.5, 0.05)


@pytest.mark.parametrize("model", ENGINES, ids=["simpy", "compiled"])
def test_one_operator_for_two_servers_makes_an_mm1_queue(model: type) -> None:
    """Poisson arrivals (0.5/s) to two servers that need the one operator of a pool while
    processing (exponential, mean 1 s): the operator serves requests first come first
    served, so parts in the station follow the M/M/1 queue and the mean time in it is
    1 / (mu - lambda) = 2 s (Kleinrock, Queueing Systems I, eq. 3.26)."""
    spec = line_from_dict({"line": {"name": "mm1"}, "products": {"A": {}},
                           "operators": {"crew": {"count": 1}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(2.0), "to": "m"},
        "m": {"type": "machine", "servers": 2, "cycle_time": expo(1.0), "to": "out",
              "operator": {"pool": "crew", "during": "processing"}},
        "out": {"type": "sink"}}})
    t0, end = 500.0, 10_000.0
    means = []
    for seed in range(8):
        parts = simulate(model, spec, seed, end)[0]["parts"]
        parts = parts[parts["created"] >= t0]
        means.append(float((parts["done"] - parts["created"]).mean()))
    assert_agrees("time in station [s]", t_interval(means), 2.0, 0.1)


def test_engines_agree_on_shifts_with_every_unit_time_feature() -> None:
    """Four days of two machines on a night-and-morning calendar (Monday, Tuesday,
    Thursday): setups, an operator pool that goes home at shift end and one on call,
    calendar-time and operating-time failures, maintenance, a machine that runs through the
    night; every table equal."""
    m = {"dist": "exponential", "mean": "1.5 min"}
    spec = line_from_dict({
        "line": {"name": "unit_time"}, "products": {"A": {}, "B": {}},
        "calendar": {"days": ["mon", "tue", "thu"], "shifts": [
            {"start": "06:00", "end": "14:00"}, {"start": "22:00", "end": "04:00"}]},
        "operators": {"setters": {"count": 1}, "crew": {"count": 2, "follows_calendar": False}},
        "stations": {
            "src": {"type": "source", "mix": {"A": 1, "B": 1}, "lot_size": 2,
                    "interarrival": {"dist": "exponential", "mean": "1 min"}, "to": "m1"},
            "m1": {"type": "machine", "buffer": 3, "servers": 2, "cycle_time": m, "to": "m2",
                   "setup_time": {"dist": "exponential", "mean": "2 min"},
                   "operator": {"pool": "setters", "during": "setup"},
                   "failures": [{"name": "x", "basis": "calendar",
                                 "ttf": {"dist": "exponential", "mean": "5 h"},
                                 "ttr": {"dist": "exponential", "mean": "40 min"}},
                                {"name": "y", "ttf": {"dist": "exponential", "mean": "3 h"},
                                 "ttr": {"dist": "exponential", "mean": "20 min"}}],
                   "maintenance": {"every": "7 h", "duration": {
                       "dist": "exponential", "mean": "30 min"}, "first": "3.3 h"}},
            "m2": {"type": "machine", "buffer": 2, "cycle_time": {
                "dist": "exponential", "mean": "0.8 min"}, "to": "out",
                   "follows_calendar": False, "setup_time": {
                       "dist": "uniform", "low": "0.5 min", "high": "1 min"},
                   "operator": {"pool": "crew", "during": "both"}},
            "out": {"type": "sink"}}})
    assert unsupported(spec) == []
    tables = assert_same_tables(spec, 3, 4 * 86400.0)
    seen = set(tables["states"]["state"].astype(str))
    assert {"off", "setup", "waiting", "maintenance", "down"} <= seen


def test_a_calendar_of_working_time_only_orders_the_operator_requests_as_simpy() -> None:
    """Under any calendar a station that follows it waits for a part on ``get | next
    stop``, one event more than a station that does not, also when the calendar is working
    time all week (no stop ever comes). A lot of two parts at 1.37 s goes to x (listed
    first, both empty) and to y, which share one operator: y, which does not follow the
    calendar, resumes one event before x and takes the operator; x waits for it until y's
    cycle ends. The compiled engine counted that event only under real shifts, so there x
    took the operator first."""
    spec = line_from_dict({
        "line": {"name": "always-on"}, "products": {"A": {}},
        "calendar": {"shifts": [{"start": "00:00", "end": "12:00"},
                                {"start": "12:00", "end": "00:00"}]},
        "operators": {"crew": {"count": 1}},
        "stations": {
            "src": {"type": "source", "product": "A", "to": ["x", "y"],
                    "schedule": [{"at": "1.37 s", "quantity": 2, "every": "10.13 s"}]},
            "x": {"type": "machine", "cycle_time": expo(2.0), "to": "out",
                  "operator": {"pool": "crew"}},
            "y": {"type": "machine", "cycle_time": expo(2.0), "to": "out",
                  "follows_calendar": False, "operator": {"pool": "crew"}},
            "out": {"type": "sink"}}})
    assert spec.calendar is not None and spec.calendar.working_windows() == [(0.0, 7 * 86400.0)]
    assert unsupported(spec) == []
    for seed in (0, 1):
        tables = assert_same_tables(spec, seed, 300.0)
        ev = tables["events"]
        starts = ev[ev["kind"] == "start"]
        first = starts[starts["time"] == 1.37]
        assert first["station"].tolist() == ["y"]
        y_end = ev[(ev["station"] == "y") & (ev["kind"] == "end")]["time"].iloc[0]
        assert starts[starts["station"] == "x"]["time"].iloc[0] == y_end
