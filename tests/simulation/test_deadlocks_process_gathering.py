"""Deadlocks through tanks, continuous units and gathering stations (SimPy engine).

Beyond the cycles of stations blocked on full buffers (``test_watchdogs.py``), a line can
lock up where a full tank waits for its continuous unit to draw while that unit holds a lot
for a full buffer on the cycle, where an assembly holds a base part waiting for a component
that only a blocked station can send, or where a batch can never fit its tank. Each case is
checked in both directions: the detector reports it (cycle and time; with ``on_deadlock =
"continue"`` nothing it names moves afterwards, the reference for soundness being the
recorded events themselves), and it stays silent on long runs of lines whose tanks and
buffers fill and drain again.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import twin
from twin.orchestration.run import RunFailed
from twin.simulation.run_errors import DeadlockError


def moves_after(result: twin.RunResult, stations: list[str], t: float) -> pd.DataFrame:
    """Part events at ``stations`` after ``t`` other than creations and arrivals into a
    buffer (a stuck assembly may still receive parts into a queue that has room)."""
    ev = result.tables["events"]
    return ev[ev["station"].astype(str).isin(stations) & (ev["time"] > t)
              & ~ev["kind"].astype(str).isin(["created", "arrive"])]


def only_deadlock(result: twin.RunResult) -> dict[str, Any]:
    (w,) = [w for w in result.warnings if w["code"] == "deadlock"]
    return w


def tank_loop(back: float = 0.5, via: str | None = None) -> dict[str, Any]:
    """mixer (a batch of 400 kg) -> tank (1000 kg) -> coater (lots of 300 kg) -> back to the
    mixer with probability ``back`` (through station ``via`` with an unlimited buffer if
    given), else out; buffers of 1."""
    stations: dict[str, Any] = {
        "src": {"type": "source", "product": "batch", "to": "mixer",
                "interarrival": {"dist": "exponential", "mean": "40 min"}},
        "mixer": {"type": "process", "buffer": 1, "to": "tank", "recipe": [
            {"phase": "charge", "duration": {"dist": "exponential", "mean": "30 min"},
             "materials": {"slurry": "400 kg"}}]},
        "tank": {"type": "tank", "capacity": "1000 kg", "to": "coater"},
        "coater": {"type": "continuous", "rate": "600 kg/h", "lot_mass": "300 kg",
                   "product": "roll", "routes": [{"to": via or "mixer", "probability": back},
                                                 {"to": "out", "probability": 1 - back}]},
        "out": {"type": "sink"},
    }
    if via is not None:
        stations[via] = {"type": "machine", "cycle_time": "1 min", "to": "mixer"}
    return {"line": {"name": "tank-loop"}, "products": {"batch": {}, "roll": {}},
            "species": {"slurry": {"molar_mass": "0.1 kg/mol"}}, "stations": stations}


def shared_supply() -> dict[str, Any]:
    """One source of bases p and components q (lots of 3) -> m -> assembly a (base p,
    component q, buffer 1): a run of bases fills a's base queue and blocks m while a holds a
    base and waits for a component queued behind m's blocked part."""
    return {
        "line": {"name": "shared"}, "products": {"p": {}, "q": {}, "p2": {}},
        "stations": {
            "src": {"type": "source", "mix": {"p": 1.0, "q": 1.0}, "lot_size": 3, "to": "m",
                    "interarrival": {"dist": "exponential", "mean": "5 min"}},
            "m": {"type": "machine", "buffer": 2, "to": "a",
                  "cycle_time": {"dist": "exponential", "mean": "2 min"}},
            "a": {"type": "assembly", "buffer": 1, "base": ["p"], "components": {"q": 1},
                  "output_product": "p2", "to": "out",
                  "cycle_time": {"dist": "exponential", "mean": "3 min"}},
            "out": {"type": "sink"},
        },
    }


# ------------------------------------------------------------------------ found


def test_full_tank_cycle_stops_the_run_naming_cycle_and_time() -> None:
    with pytest.raises(RunFailed) as info:
        twin.run(tank_loop(), duration="10 d", seed=1)
    err = info.value.__cause__
    assert isinstance(err, DeadlockError)
    assert sorted(err.stations) == ["coater", "mixer", "tank"]
    assert " -> ".join([*err.stations, err.stations[0]]) in str(err)
    assert f"deadlock at t = {err.time:g} s" in str(err)
    assert "tank 'tank' has no room for the batch waiting to enter it until 'coater' draws" \
        in str(err)


def test_full_tank_cycle_run_on_nothing_moves_after() -> None:
    """Run through: the tank's level never changes again, the mixer and the coater stay
    blocked to the end, and before the deadlock they did work."""
    data = tank_loop() | {"run": {"on_deadlock": "continue"}}
    result = twin.run(data, duration="10 d", seed=1)
    w = only_deadlock(result)
    assert w["stations"] == ["coater", "mixer", "tank"]
    assert moves_after(result, w["stations"], w["time"]).empty
    assert not moves_after(result, w["stations"], 0.0).empty
    levels = result.tables["levels"]
    assert (levels["time"] <= w["time"]).all()
    states = result.tables["states"]
    last = states[states["end"] == states["end"].max()].set_index("station")
    assert (last.loc[["mixer", "coater"], "state"].astype(str) == "blocked").all()
    assert (last.loc[["mixer", "coater"], "start"] <= w["time"]).all()


def test_assembly_starved_by_its_blocked_supplier_is_a_deadlock() -> None:
    """'a' holds a base and waits for a component only 'm' can send; 'm' holds a base for
    a's full base queue. Stopped with both named; run through, neither works again."""
    with pytest.raises(RunFailed) as info:
        twin.run(shared_supply(), duration="5 d", seed=1)
    err = info.value.__cause__
    assert isinstance(err, DeadlockError) and sorted(err.stations) == ["a", "m"]
    assert "'a' waits for parts only 'm' can send" in str(err)
    result = twin.run(shared_supply() | {"run": {"on_deadlock": "continue"}},
                      duration="5 d", seed=1)
    w = only_deadlock(result)
    assert w["time"] == err.time
    assert moves_after(result, ["a", "m"], w["time"]).empty
    assert not moves_after(result, ["a", "m"], 0.0).empty


def idle_closes_it() -> dict[str, Any]:
    """y routes bases p to assembly a and everything else to x; x sends components q on to
    a and r out. Released: r at 0, p at 1, 2 and 3 min, q at 4 min. a takes the first base
    and waits for a component; the third base blocks y on a's full base queue with q queued
    behind; the deadlock closes only when x, busy with r until 1 s + 30 min, goes idle."""
    releases = [{"at": f"{t} min", "product": p}
                for t, p in [(0, "r"), (1, "p"), (2, "p"), (3, "p"), (4, "q")]]
    return {
        "line": {"name": "idle-closes"}, "products": {"p": {}, "q": {}, "r": {}},
        "run": {"on_deadlock": "continue"},
        "stations": {
            "src": {"type": "source", "mix": {"p": 1.0, "q": 1.0, "r": 1.0},
                    "schedule": releases, "to": "y"},
            "y": {"type": "machine", "cycle_time": "1 s",
                  "routes": [{"to": "a", "products": ["p"]}, {"to": "x", "products": ["q", "r"]}]},
            "x": {"type": "machine", "cycle_time": "30 min",
                  "routes": [{"to": "a", "products": ["q"]}, {"to": "out", "products": ["r"]}]},
            "a": {"type": "assembly", "buffer": 1, "base": ["p"], "components": {"q": 1},
                  "cycle_time": "1 min", "to": "out"},
            "out": {"type": "sink"},
        },
    }


def test_a_deadlock_closed_by_a_station_going_idle_is_found_then() -> None:
    result = twin.run(idle_closes_it(), duration="1 d")
    w = only_deadlock(result)
    assert w["stations"] == ["a", "x", "y"]
    assert w["time"] == 1801.0  # x ends r at 1 s + 1800 s and finds nothing more to do
    assert moves_after(result, w["stations"], w["time"]).empty


def test_a_batch_larger_than_its_tank_is_reported() -> None:
    """A 1,200 kg batch (released at 0, charged in 30 min) can never enter a 1,000 kg
    tank, whatever the coater draws: reported when it is done, at 1,800 s."""
    data = tank_loop(back=0.0)
    data["stations"]["src"] = {"type": "source", "product": "batch", "to": "mixer",
                               "schedule": [{"at": "0 s"}]}
    data["stations"]["mixer"]["recipe"][0] |= {"duration": "30 min",
                                               "materials": {"slurry": "1200 kg"}}
    with pytest.raises(RunFailed) as info:
        twin.run(data, duration="1 d", seed=1)
    err = info.value.__cause__
    assert isinstance(err, DeadlockError) and list(err.stations) == ["mixer", "tank"]
    assert "tank 'tank' (1000 kg) can never take the 1200 kg batch" in str(err)
    assert err.time == 1800.0


# ------------------------------------------------------------------------ silent


def test_no_deadlock_where_the_tank_cycle_drains() -> None:
    """The same cycle, but lots go back through a station with an unlimited buffer: the
    tank fills and blocks the mixer again and again, yet always drains. 60 days."""
    result = twin.run(tank_loop(back=0.3, via="rework"), duration="60 d", seed=3)
    assert [w for w in result.warnings if w["code"] == "deadlock"] == []
    st = result.stations.set_index("station")
    assert st.loc["mixer", "blocked_fraction"] > 0.05  # the tank was full often
    assert result.kpis["good_units"] > 1000


def test_no_deadlock_where_the_assembly_waits_for_a_free_supplier() -> None:
    """Components come through their own station k from an infinite supply: a's base
    queue fills and blocks m while a waits for a component k is still making, but the
    component always comes.
    60 days, and the starved stations were checked all along (they feed an assembly)."""
    data = shared_supply()
    stations = data["stations"]
    stations["src"] = {"type": "source", "product": "p", "to": "m",
                       "interarrival": {"dist": "exponential", "mean": "5 min"}}
    stations["qsrc"] = {"type": "source", "product": "q", "to": "k"}  # infinite supply
    stations["k"] = {"type": "machine", "buffer": 1, "to": "a",
                     "cycle_time": {"dist": "exponential", "mean": "2 min"}}
    stations["a"]["cycle_time"] = {"dist": "exponential", "mean": "3 min"}
    result = twin.run(data, duration="60 d", seed=5)
    assert result.warnings == []
    st = result.stations.set_index("station")
    assert st.loc["m", "blocked_fraction"] > 0.05 and st.loc["k", "blocked_fraction"] > 0.05
    assert result.kpis["good_units"] > 10000


def test_a_part_on_its_way_by_transport_is_no_deadlock() -> None:
    """As above, but x makes the component itself (q at 0 min) and carries it to a in
    5 min: when x goes idle at 1,801 s, y and a wait as in a deadlock, yet the component
    is on its way. It arrives at 2,101 s and the assembly ends at 2,161 s."""
    data = idle_closes_it()
    data["stations"]["src"]["schedule"] = [
        {"at": f"{t} min", "product": p} for t, p in [(0, "q"), (1, "p"), (2, "p"), (3, "p")]]
    data["stations"]["x"]["routes"] = [{"to": "a", "products": ["q"], "delay": "5 min"},
                                       {"to": "out", "products": ["r"]}]
    result = twin.run(data, duration="1 d")
    assert result.warnings == [] or all(w["code"] != "deadlock" for w in result.warnings)
    ev = result.tables["events"]
    assert ev.loc[ev["kind"].astype(str) == "exit", "time"].tolist() == [2161.0]


def test_a_batch_on_its_way_to_a_tank_is_no_deadlock() -> None:
    """The coater is the assembly's only source of components and waits at an empty tank;
    the mixer's batch goes to the tank by a 5 min transport. When the mixer goes idle at
    1,801 s, y holds a base for a's full queue and a waits for a roll, yet the batch is on
    its way: it enters at 2,101 s, the coater fills a 300 kg lot in 30 min at 600 kg/h and
    the first assembly leaves at 2,101 + 1,800 + 60 s."""
    releases = [{"at": f"{t} min", "product": p}
                for t, p in [(0, "b"), (1, "p"), (2, "p"), (3, "p")]]
    data = {
        "line": {"name": "on-its-way"}, "products": {"p": {}, "b": {}, "roll": {}},
        "species": {"slurry": {"molar_mass": "0.1 kg/mol"}},
        "run": {"on_deadlock": "continue"},
        "stations": {
            "src": {"type": "source", "mix": {"p": 1.0, "b": 1.0}, "schedule": releases,
                    "to": "y"},
            "y": {"type": "machine", "cycle_time": "1 s",
                  "routes": [{"to": "a", "products": ["p"]},
                             {"to": "mixer", "products": ["b"]}]},
            "mixer": {"type": "process", "routes": [{"to": "tank", "delay": "5 min"}],
                      "recipe": [{"phase": "charge", "duration": "30 min",
                                  "materials": {"slurry": "400 kg"}}]},
            "tank": {"type": "tank", "capacity": "1000 kg", "to": "coater"},
            "coater": {"type": "continuous", "rate": "600 kg/h", "lot_mass": "300 kg",
                       "product": "roll", "to": "a"},
            "a": {"type": "assembly", "buffer": 1, "base": ["p"], "components": {"roll": 1},
                  "cycle_time": "1 min", "to": "out"},
            "out": {"type": "sink"},
        },
    }
    result = twin.run(data, duration="1 d")
    assert [w for w in result.warnings if w["code"] == "deadlock"] == []
    ev = result.tables["events"]
    assert ev.loc[ev["kind"].astype(str) == "exit", "time"].min() == 2101.0 + 1800.0 + 60.0
