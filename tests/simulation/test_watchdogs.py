"""Deadlock detection, the run watchdogs, and errors that keep their meaning across SimPy.

The deadlock detector is checked against what the recorder saw: after a deadlock it reports
(with ``on_deadlock = "continue"``), no part may arrive at, start or end on any station of the
cycle again; and it must stay silent on the reference lines and on long runs of lines whose
buffers fill up and drain again.
"""

from __future__ import annotations

import pickle
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import twin
from twin.data.checks import line_from_dict
from twin.kernels.errors import NON_FINITE, STEP_COLLAPSE, IntegrationError
from twin.kernels.phase import phase_runner
from twin.observation.recorder import Recorder
from twin.orchestration.run import RunFailed
from twin.simulation.line import LineModel
from twin.simulation.run_errors import DeadlockError, RunawayError, StallError
from twin.simulation.watchdog import Limits

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "reliability_cases"


def moves_after(result: twin.RunResult, stations: list[str], t: float) -> pd.DataFrame:
    """Part events (arrive, start, end, scrap, ...) at ``stations`` after time ``t``."""
    ev = result.tables["events"]
    return ev[ev["station"].astype(str).isin(stations) & (ev["time"] > t)
              & (ev["kind"].astype(str) != "created")]


def loop3(prob: float = 0.9, servers: int = 2) -> dict[str, Any]:
    """a (``servers`` servers) -> b -> c -> (a with ``prob``, else out), buffers of 1."""
    return {
        "line": {"name": "loop3"}, "products": {"p": {}},
        "stations": {
            "src": {"type": "source", "product": "p", "interarrival": "4 min", "to": "a"},
            "a": {"type": "machine", "servers": servers, "buffer": 1,
                  "cycle_time": {"dist": "exponential", "mean": "3 min"}, "to": "b"},
            "b": {"type": "machine", "buffer": 1,
                  "cycle_time": {"dist": "exponential", "mean": "2 min"}, "to": "c"},
            "c": {"type": "inspection", "buffer": 1, "rework_probability": prob,
                  "rework_to": "a", "max_reworks": 1000,
                  "cycle_time": {"dist": "exponential", "mean": "2 min"}, "to": "out"},
            "out": {"type": "sink"},
        },
    }


# --------------------------------------------------------------------------- deadlocks


@pytest.mark.parametrize(("case", "cycle", "at"), [
    ("deadlock_loop", ["a", "b"], 540.0),  # the time reported when the case was found
    ("self_loop_deadlock", ["m"], None),
])
def test_deadlock_stops_the_run_naming_cycle_and_time(case: str, cycle: list[str],
                                                      at: float | None) -> None:
    with pytest.raises(RunFailed) as info:
        twin.run(CASES / f"{case}.toml", duration="1 d")
    err = info.value.__cause__
    assert isinstance(err, DeadlockError)
    assert sorted(err.stations) == cycle
    if at is not None:
        assert err.time == at
    assert f"t = {err.time:g} s" in str(err)
    assert " -> ".join([*err.stations, err.stations[0]]) in str(err)
    assert "DeadlockError" in info.value.result.provenance["error"]


@pytest.mark.parametrize("case", ["deadlock_loop", "self_loop_deadlock"])
def test_run_on_records_the_deadlock_and_nothing_moves_after(case: str) -> None:
    result = twin.run(CASES / f"{case}.toml", duration="3 d", on_deadlock="continue")
    (w,) = [w for w in result.warnings if w["code"] == "deadlock"]
    assert moves_after(result, w["stations"], w["time"]).empty
    # up to the deadlock the same stations did move
    assert not moves_after(result, w["stations"], 0.0).empty
    assert result.summary()["warnings"][0]["code"] == "deadlock"
    assert result.line.run.on_deadlock == "continue"


def test_multi_server_cycle_deadlocks_only_when_every_server_is_stuck() -> None:
    """Three stations, two servers on the first: the detector fires once (two blocked servers
    of 'a' included) and nothing on the cycle moves afterwards."""
    data = loop3()
    data["run"] = {"on_deadlock": "continue"}
    result = twin.run(data, duration="20 d", seed=2)
    (w,) = [w for w in result.warnings if w["code"] == "deadlock"]
    assert w["stations"] == ["a", "b", "c"]
    assert moves_after(result, w["stations"], w["time"]).empty
    states = result.tables["states"]
    now = states[states["station"].astype(str).isin(w["stations"])
                 & (states["start"] <= w["time"]) & (states["end"] > w["time"])]
    assert len(now) == 4  # every server: two of a, one of b, one of c ...
    assert (now["state"].astype(str) == "blocked").all()  # ... blocked from then on
    assert (now["end"] == states["end"].max()).all()


def test_no_deadlock_in_a_loop_that_drains() -> None:
    """The same loop, but rework goes back through a station with an unlimited buffer: the
    buffers of 1 fill and block all the time, yet the cycle always drains. 60 days, no
    deadlock, and blocking did happen (it is not a trivial pass)."""
    data = loop3(prob=0.5, servers=1)
    data["stations"]["src"]["interarrival"] = "8 min"  # loads 0.75, 0.5, 0.5: stable
    data["stations"]["c"]["rework_to"] = "r"
    data["stations"]["r"] = {"type": "machine", "cycle_time": "10 s", "to": "a"}
    result = twin.run(data, duration="60 d", seed=4)
    assert result.warnings == []
    st = result.stations.set_index("station")
    assert st.loc["a", "blocked_fraction"] > 0.05 and st.loc["b", "blocked_fraction"] > 0.05
    assert result.kpis["good_units"] > 1000


REFERENCE_LINES = sorted(p.parent.name for p in (ROOT / "lines").glob("*/line.toml"))


@pytest.mark.parametrize("line", REFERENCE_LINES)
def test_reference_lines_run_without_warnings(line: str) -> None:
    result = twin.run(ROOT / "lines" / line / "line.toml")  # its own run settings
    assert result.warnings == []


# --------------------------------------------------------------------------- watchdogs


def zero_time_loop() -> dict[str, Any]:
    """m (no time) sends a part back to itself all but once in 1e12: a zombie loop."""
    return {
        "line": {"name": "zombie"}, "products": {"p": {}},
        "stations": {
            "src": {"type": "source", "product": "p", "interarrival": "1 h", "to": "m"},
            "m": {"type": "machine", "cycle_time": "0 s",
                  "routes": [{"to": "m", "probability": 1 - 1e-12},
                             {"to": "out", "probability": 1e-12}]},
            "out": {"type": "sink"},
        },
    }


def test_a_zero_time_loop_is_stopped_naming_the_station() -> None:
    model = LineModel(line_from_dict(zero_time_loop()), 1, Recorder(),
                      limits=Limits(stall_events=50_000, check_every=1024))

    def hung(signum: int, frame: Any) -> None:
        raise TimeoutError("the zombie loop was not stopped")  # rather than hang the suite
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    try:
        with pytest.raises(StallError) as info:
            model.run(until=86400.0)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    err = info.value
    assert err.stations == ("m",)
    assert err.time == 3600.0  # the first part arrives at 1 h and never leaves
    assert "t = 3600 s" in str(err) and "m" in str(err)


def test_the_event_queue_bound_stops_a_run() -> None:
    """A release of 5,000 parts with a transport delay schedules 5,000 events at once."""
    data = {
        "line": {"name": "burst"}, "products": {"p": {}},
        "stations": {
            "src": {"type": "source", "product": "p",
                    "schedule": [{"at": "1 h", "quantity": 5000}],
                    "routes": [{"to": "m", "delay": "5 min"}]},
            "m": {"type": "machine", "cycle_time": "1 s", "to": "out"},
            "out": {"type": "sink"},
        },
    }
    line = line_from_dict(data)
    LineModel(line, 1, Recorder(), limits=Limits(check_every=64)).run(86400.0)  # fine
    model = LineModel(line, 1, Recorder(), limits=Limits(max_queue=1000, check_every=64))
    with pytest.raises(RunawayError, match="more than the bound of 1,000") as info:
        model.run(until=86400.0)
    assert info.value.time == 3600.0


def test_the_memory_bound_stops_a_run() -> None:
    """A bound below what any run grows (negative) stops at the first check; the default
    lets the same run finish."""
    line = line_from_dict(zero_time_loop() | {"stations": {
        "src": {"type": "source", "product": "p", "interarrival": "1 min", "to": "m"},
        "m": {"type": "machine", "cycle_time": "30 s", "to": "out"},
        "out": {"type": "sink"}}})
    LineModel(line, 1, Recorder(), limits=Limits(check_every=64)).run(86400.0)
    model = LineModel(line, 1, Recorder(), limits=Limits(max_memory=-1.0, check_every=64))
    with pytest.raises(RunawayError, match="MB"):
        model.run(until=86400.0)


# --------------------------------------------------------------------------- errors


class NeedsTwo(Exception):
    """An exception SimPy cannot re-create from its args."""

    def __init__(self, what: str, where: str) -> None:
        super().__init__(f"{what} at {where}")
        self.where = where


def failing_model(exc: Exception, at: float = 120.0) -> LineModel:
    data = {"line": {"name": "x"}, "products": {"p": {}}, "stations": {
        "src": {"type": "source", "product": "p", "interarrival": "1 min", "to": "m"},
        "m": {"type": "machine", "cycle_time": "30 s", "to": "out"},
        "out": {"type": "sink"}}}
    model = LineModel(line_from_dict(data), 1, Recorder())

    def fail() -> Any:
        yield model.env.timeout(at)
        raise exc
    model.env.process(fail())
    return model


@pytest.mark.parametrize("exc", [
    NeedsTwo("boom", "the mill"),
    IntegrationError("unit 'r' phase 'react': step size collapsed", STEP_COLLAPSE, "r",
                     "react", 12.0, 1e-14),
    KeyError("x"),
])
def test_an_exception_in_a_process_keeps_type_message_and_attributes(exc: Exception) -> None:
    model = failing_model(exc)
    with pytest.raises(type(exc)) as info:
        model.run(until=3600.0)
    assert info.value is exc  # the very exception the process raised
    assert str(info.value) == str(exc)
    assert "(at simulation time t = 120 s)" in getattr(info.value, "__notes__", [])
    assert any(f.name == "fail" for f in __import__("traceback").extract_tb(
        info.value.__traceback__))  # the traceback reaches into the process


def test_integration_error_is_recreated_from_args_and_pickles() -> None:
    exc = IntegrationError("unit 'r' phase 'react': step size collapsed", STEP_COLLAPSE, "r",
                           "react", 12.0, 1e-14)
    for copy in (type(exc)(*exc.args), pickle.loads(pickle.dumps(exc))):
        assert type(copy) is IntegrationError and str(copy) == str(exc)
        assert (copy.status, copy.unit, copy.phase, copy.t, copy.h) == (
            STEP_COLLAPSE, "r", "react", 12.0, 1e-14)
    err = DeadlockError("stuck", 5.0, ["a", "b"])
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is DeadlockError and str(copy) == "stuck"
    assert (copy.time, copy.stations) == (5.0, ("a", "b"))


def test_a_kernel_that_divides_by_zero_becomes_a_named_error() -> None:
    """Run as plain Python (``NUMBA_DISABLE_JIT=1``) a kernel raises where compiled code
    returns NaN: the phase runner turns that into the same named error."""
    def kernel(p, y0, t_end, rtol, method, max_steps, n_out):  # noqa: ANN001, ANN202
        return 1.0 / 0.0

    run = phase_runner(kernel, (), (), ())
    with pytest.raises(IntegrationError) as info:
        run(np.zeros(1), np.zeros(1), t_end=10.0, unit="r", phase="react")
    assert info.value.status == NON_FINITE
    assert str(info.value).startswith("unit 'r' phase 'react': the state or its derivative")


def zero_time_middle(seed: int) -> dict[str, Any]:
    """x -> y (no time) -> (x or z) -> out, buffers of 1: y takes a part and hands it on at
    the same instant, so its own put can meet a put into y granted but not yet processed."""
    return {
        "line": {"name": "zmid"}, "products": {"p": {}},
        "run": {"on_deadlock": "continue", "seed": seed},
        "stations": {
            "src": {"type": "source", "product": "p", "to": "x",
                    "interarrival": {"dist": "exponential", "mean": "1 min"}},
            "x": {"type": "machine", "buffer": 1, "to": "y",
                  "cycle_time": {"dist": "exponential", "mean": "1 min"}},
            "y": {"type": "machine", "buffer": 1, "cycle_time": "0 s",
                  "routes": [{"to": "x", "probability": 0.3}, {"to": "z", "probability": 0.7}]},
            "z": {"type": "machine", "buffer": 1, "to": "out",
                  "cycle_time": {"dist": "exponential", "mean": "2 min"}},
            "out": {"type": "sink"},
        },
    }


@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_a_put_granted_at_this_instant_is_no_deadlock(seed: int) -> None:
    """A server whose put was granted but not yet processed is about to move: counting it as
    blocked would report deadlocks that then move on (it did, for these seeds). The deadlock
    that does come is real: nothing on the cycle moves after it."""
    result = twin.run(zero_time_middle(seed), duration="2 d")
    found = [w for w in result.warnings if w["code"] == "deadlock"]
    assert found
    for w in found:
        assert moves_after(result, w["stations"], w["time"]).empty, w
