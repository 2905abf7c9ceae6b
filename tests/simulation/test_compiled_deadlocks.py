"""Deadlocks that hold units starved of parts, on the compiled engine as on the SimPy engine.

An assembly unit holding a base part waits for a component that only a blocked station can
send: the compiled engine finds these at the instant the SimPy engine does, with the same
message, error and warning. Each deadlock here is worked out by hand (the instant and the
stations); the random lines of ``test_compiled_engine.py`` cover route cycles upstream of
assemblies and mixed kit supplies against the SimPy engine table for table.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_compiled_engine import assert_same_tables
from test_deadlocks_process_gathering import idle_closes_it, moves_after, shared_supply

import twin
from twin.data.checks import line_from_dict
from twin.observation.recorder import Recorder
from twin.orchestration.run import RunFailed
from twin.simulation.compiled import deadlock as DL
from twin.simulation.compiled import loop as L
from twin.simulation.compiled.deadlock import may_starve
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.lower import unsupported
from twin.simulation.run_errors import DeadlockError


def kit_feeder() -> dict[str, Any]:
    """A base part p released at 0.5 s waits in the assembly 'a' (buffer 1) for a kit k,
    then a gear g; one feeder machine (10 s a part) makes both. Kits are released g at 1 s,
    g at 2 s, k at 3 s: the feeder ends the first g at 11 s (into a's empty g queue), the
    second at 21 s and blocks on the full g queue, with k behind it in its own buffer, while
    'a' waits for k, which only the feeder can send: a deadlock at 21 s of 'a' and
    'feeder'."""
    return {
        "line": {"name": "kit-feeder"}, "products": {"p": {}, "k": {}, "g": {}},
        "stations": {
            "bases": {"type": "source", "product": "p", "to": "a",
                      "schedule": [{"at": "0.5 s"}]},
            "kits": {"type": "source", "mix": {"k": 1.0, "g": 1.0}, "to": "feeder",
                     "schedule": [{"at": f"{t} s", "product": p}
                                  for t, p in [(1, "g"), (2, "g"), (3, "k")]]},
            "feeder": {"type": "machine", "buffer": 5, "cycle_time": "10 s", "to": "a"},
            "a": {"type": "assembly", "buffer": 1, "base": ["p"],
                  "components": {"k": 1, "g": 1}, "cycle_time": "1 min", "to": "out"},
            "out": {"type": "sink"},
        },
    }


KIT_FEEDER_MESSAGE = (
    "deadlock at t = 21 s: feeder -> a -> feeder: 'a' waits for parts only 'feeder' can "
    "send; 'feeder' holds parts that 'a' cannot take, so nothing there can move again")


def both(data: dict[str, Any], **kwargs: Any) -> list[Any]:
    """Run ``data`` on both engines: each result, or the DeadlockError it stopped with."""
    out = []
    for engine in ("simpy", "compiled"):
        try:
            result = twin.run(data, engine=engine, **kwargs)
        except RunFailed as failed:
            assert failed.result.provenance["engine"] == engine
            out.append(failed.__cause__)
            continue
        assert result.provenance["engine"] == engine
        out.append(result)
    return out


def test_kit_feeder_deadlock_stops_both_engines_at_21_s() -> None:
    data = kit_feeder()
    assert may_starve(line_from_dict(data)) == [
        "station 'feeder' sends parts into 2 input queues of the assembly station 'a'"]
    a, b = both(data, duration="1 h")
    for err in (a, b):
        assert isinstance(err, DeadlockError)
        assert (err.time, err.stations) == (21.0, ("feeder", "a"))
        assert str(err).startswith(KIT_FEEDER_MESSAGE + " (to record it and run on")


def test_kit_feeder_deadlock_run_on_warns_once_and_nothing_moves_after() -> None:
    data = kit_feeder() | {"run": {"on_deadlock": "continue"}}
    a, b = both(data, duration="1 h")
    for r in (a, b):
        (w,) = [w for w in r.warnings if w["code"] == "deadlock"]
        assert (w["time"], w["stations"], w["message"]) == (21.0, ["a", "feeder"],
                                                            KIT_FEEDER_MESSAGE)
        assert moves_after(r, w["stations"], w["time"]).empty
    assert_same_tables(line_from_dict(data), 1, 3600.0)


def behind_a_supply() -> dict[str, Any]:
    """An infinite supply of bases p into the assembly 'a' (buffer 1, 30 s a joint) with
    kits k and gears g from one feeder (10 s a part; k at 1 s, g at 2, 3 and 4 s). 'a'
    joins p with k (11 s) and g (21 s) until 51 s; the feeder makes the second gear by
    31 s (into a's empty g queue) and blocks at 41 s with the third. At 51 s 'a' takes the
    next base, which lets the supply put one more base in and block again, and waits for
    a kit only the feeder can send: a deadlock of 'a', the feeder and the supply, found
    from the supply (first in station order). A second source releases a base at 100 s
    through 'w' (5 s), which blocks at 105 s on a's full base queue: stuck behind the same
    deadlock, not another one."""
    return {
        "line": {"name": "behind-a-supply"}, "products": {"p": {}, "k": {}, "g": {}},
        "run": {"on_deadlock": "continue"},
        "stations": {
            "bases": {"type": "source", "product": "p", "to": "a"},
            "kits": {"type": "source", "mix": {"k": 1.0, "g": 1.0}, "to": "feeder",
                     "schedule": [{"at": f"{t} s", "product": p}
                                  for t, p in [(1, "k"), (2, "g"), (3, "g"), (4, "g")]]},
            "feeder": {"type": "machine", "buffer": 5, "cycle_time": "10 s", "to": "a"},
            "more": {"type": "source", "product": "p", "to": "w",
                     "schedule": [{"at": "100 s"}]},
            "w": {"type": "machine", "cycle_time": "5 s",
                  "routes": [{"to": "a", "products": ["p"]}]},
            "a": {"type": "assembly", "buffer": 1, "base": ["p"],
                  "components": {"k": 1, "g": 1}, "cycle_time": "30 s", "to": "out"},
            "out": {"type": "sink"},
        },
    }


def test_one_deadlock_gives_one_warning_when_more_stations_get_stuck_behind_it() -> None:
    """The deadlock of :func:`behind_a_supply` is reported once, at 51 s, on both engines:
    'w', stuck behind it at 105 s, waits on 'a' and the feeder but not on the supply, so
    its stuck set does not contain the one reported; it shares stations with it, and a
    set of stuck stations that shares one with a deadlock reported is that deadlock."""
    data = behind_a_supply()
    a, b = both(data, duration="1 h")
    assert a.warnings == b.warnings
    (w,) = [w for w in b.warnings if w["code"] == "deadlock"]
    assert (w["time"], w["stations"]) == (51.0, ["a", "bases", "feeder"])
    assert w["message"] == (
        "deadlock at t = 51 s: a -> feeder -> a: 'a' waits for parts only 'feeder' can "
        "send; 'bases' (an infinite supply) holds a part 'a' cannot take; 'feeder' holds "
        "parts that 'a' cannot take, so nothing there can move again")
    states = b.tables["states"]
    last = states[states["station"] == "w"].iloc[-1]
    assert (last["state"], last["start"]) == ("blocked", 105.0)
    assert_same_tables(line_from_dict(data), 1, 3600.0)


def test_a_deadlock_closed_by_a_station_going_idle_is_found_then_on_both_engines() -> None:
    """The SimPy engine's case worked out by hand (``idle_closes_it``): 'x' ends r at
    1 s + 1,800 s and goes idle, which closes the deadlock of 'a', 'x' and 'y' at 1,801 s;
    on the compiled engine too, with the same warning and the same tables."""
    data = idle_closes_it()
    assert unsupported(line_from_dict(data)) == []
    a, b = both(data, duration="1 d")
    assert a.warnings == b.warnings
    (w,) = [w for w in b.warnings if w["code"] == "deadlock"]
    assert (w["time"], w["stations"]) == (1801.0, ["a", "x", "y"])
    assert "'a' waits for parts only 'x' can send; 'x' waits for parts only 'y' can send" \
        in w["message"]
    assert_same_tables(line_from_dict(data), 1, 86_400.0)


def test_a_part_on_its_way_by_transport_is_no_deadlock_on_either_engine() -> None:
    """``idle_closes_it`` with the component made by 'x' itself (q at 0 min) and carried to
    'a' in 5 min: when 'x' goes idle at 1,801 s, 'y' and 'a' wait as in a deadlock, yet the
    component is on its way. It arrives at 2,101 s and the assembly ends at 2,161 s; no
    warning, and the same tables, on both engines."""
    data = idle_closes_it()
    data["stations"]["src"]["schedule"] = [
        {"at": f"{t} min", "product": p} for t, p in [(0, "q"), (1, "p"), (2, "p"), (3, "p")]]
    data["stations"]["x"]["routes"] = [{"to": "a", "products": ["q"], "delay": "5 min"},
                                       {"to": "out", "products": ["r"]}]
    spec = line_from_dict(data)
    assert unsupported(spec) == [] and may_starve(spec)
    a, b = both(data, duration="1 d")
    for r in (a, b):
        assert [w for w in r.warnings if w["code"] == "deadlock"] == []
        ev = r.tables["events"]
        assert ev.loc[ev["kind"].astype(str) == "exit", "time"].tolist() == [2161.0]
    assert_same_tables(spec, 1, 86_400.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_assembly_starved_by_its_blocked_supplier_agrees_with_simpy(seed: int) -> None:
    """One source of bases and components (lots of 3) through one machine 'm' into the
    assembly 'a': the same deadlock, at the same time, on both engines, stopping and
    running on; and every table is the same."""
    data = shared_supply()
    a, b = both(data, duration="5 d", seed=seed)
    assert isinstance(a, DeadlockError) and isinstance(b, DeadlockError)
    assert (b.time, b.stations, str(b)) == (a.time, a.stations, str(a))
    assert sorted(b.stations) == ["a", "m"]
    assert_same_tables(line_from_dict(data | {"run": {"on_deadlock": "continue"}}), seed,
                       5 * 86_400.0)


def rework_loop(buffer: int = 1) -> dict[str, Any]:
    """An infinite supply into 'm' (one slot), then 'check', which sends half its parts
    back to 'm' for rework: once 'm' holds a part for the full 'check' while 'check' holds
    one for the full 'm', neither can move (a route cycle, no starved unit in it)."""
    return {"line": {"name": "rework-loop"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "to": "m"},
        "m": {"type": "machine", "buffer": buffer,
              "cycle_time": {"dist": "exponential", "mean": "1 s"}, "to": "check"},
        "check": {"type": "inspection", "buffer": buffer,
                  "cycle_time": {"dist": "exponential", "mean": "1 s"},
                  "rework_probability": 0.5, "rework_to": "m", "to": "out"},
        "out": {"type": "sink"}}}


def test_blocks_are_watched_only_where_a_route_cycle_can_close_a_deadlock() -> None:
    """Without watched starved units a station waits only on the stations it sends to, so
    a deadlock needs a route cycle. A serial line that blocks often notes no block (the
    compiled loop skips the search); the same stations with a rework loop are watched,
    and the deadlock that loop closes is found at the same time on both engines."""
    serial = rework_loop() | {"run": {"on_deadlock": "continue"}}
    serial["stations"]["check"] = {"type": "machine", "buffer": 1,
                                   "cycle_time": {"dist": "exponential", "mean": "2 s"},
                                   "to": "out"}
    spec = line_from_dict(serial)
    model = CompiledModel(spec, 1, Recorder())
    model.run(2_000.0)
    xn = model.a["xn"]
    assert xn[DL.XN_QUIET] == 1 and xn[DL.XN_NOTED] == 0
    assert (model.a["s_i"][:model.a["n"][L.N_S], 1] == L.BLOCKED).sum() > 100
    assert_same_tables(spec, 1, 2_000.0)
    looped = line_from_dict(rework_loop())
    assert CompiledModel(looped, 1, Recorder()).a["xn"][DL.XN_QUIET] == 0
    a, b = both(rework_loop(), duration="1 d", seed=4)
    assert isinstance(a, DeadlockError) and isinstance(b, DeadlockError)
    assert (b.time, b.stations, str(b)) == (a.time, a.stations, str(a))
    assert sorted(b.stations) == ["check", "m"]
