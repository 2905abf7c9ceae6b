"""The compiled engine's batch and assembly stations, route cycles and deadlock detection.

Equality with the SimPy engine part by part is also covered by the random lines of
``test_compiled_engine.py``; here: fixed lines run longer, closed forms, and the deadlocking
cycles of the SimPy engine's own tests (``test_watchdogs.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lines_for_tests import const, expo
from test_compiled_engine import assert_same_tables, simulate
from test_watchdogs import CASES, loop3, moves_after

import twin
from twin.data.checks import line_from_dict, load_line
from twin.orchestration.run import RunFailed
from twin.simulation.compiled import deadlock as DL
from twin.simulation.compiled.deadlock import may_starve
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.lower import lower, unsupported
from twin.simulation.line import LineModel
from twin.simulation.run_errors import DeadlockError

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- batches

def batch_line(**batch: Any) -> dict[str, Any]:
    """Poisson arrivals (1 per s) into a batch station, then a sink."""
    return {"line": {"name": "batch"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0), "to": "oven"},
        "oven": {"type": "batch", **batch, "to": "out"},
        "out": {"type": "sink"}}}


def test_full_batches_wait_as_the_formation_time_says() -> None:
    """Fixed batches of b = 4 under Poisson input (rate 1/s), a cycle of 0.2 s (the oven is
    free when a batch fills but for P(Erlang(4, 1) < 0.2) = 6e-5): the k-th part of a batch
    waits for the b - k arrivals after it, so the mean time from arrival to the end of the
    cycle is (b - 1) / (2 lambda) + c = 1.7 s (the batch-formation delay of bulk service,
    e.g. Medhi, Stochastic Models in Queueing Theory, 2nd ed., sec. 6.2). 20,000 parts: the
    standard error of the mean is 0.013 s; within 4 of them."""
    r = twin.run(batch_line(batch_size=4, cycle_time=const(0.2)), duration=20_000.0,
                 seed=3, engine="compiled")
    ev = r.tables["events"]
    at = ev[ev["station"] == "oven"].pivot_table(index="part", columns="kind", values="time",
                                                 observed=True).dropna()
    assert len(at) > 19_000
    wait = (at["end"] - at["arrive"]).mean()
    assert wait == pytest.approx(1.7, abs=4 * 0.013)


def test_a_saturated_batch_station_makes_a_batch_per_cycle() -> None:
    """Behind an infinite supply the oven always loads full batches of 5: throughput is 5
    parts per mean cycle (renewal-reward theorem; uniform 8-12 s, mean 10 s: 0.5 parts/s).
    Over 20,000 s the count of cycles has a standard deviation of sqrt(t Var T / E[T]^3) =
    5.2 cycles; within 4 of them."""
    data = batch_line(batch_size=5, buffer=5,
                      cycle_time={"dist": "uniform", "low": "8 s", "high": "12 s"})
    data["stations"]["src"].pop("interarrival")
    r = twin.run(data, duration=20_000.0, seed=5, engine="compiled")
    ev = r.tables["events"]
    ends = ev[(ev["station"] == "oven") & (ev["kind"] == "end")]
    assert ends.groupby("time").size().eq(5).all()  # full batches only
    cycles = ends["time"].nunique()
    assert cycles == pytest.approx(2000, abs=4 * 5.2)


@pytest.mark.parametrize("batch", [
    {"batch_size": 6, "min_batch": 2, "max_wait": "3.1 s"},
    {"batch_size": 5, "max_wait": "2.3 s"},
    {"batch_size": 4, "min_batch": 3},
])
def test_batch_rules_agree_with_simpy_part_by_part(batch: dict[str, Any]) -> None:
    """min_batch and max_wait with failures during the cycle, over 20,000 s, and the recorded
    batches keep to the rules: never more than batch_size, fewer only when allowed."""
    data = batch_line(buffer=3, cycle_time=expo(2.5), **batch,
                      failures=[{"ttf": expo(40.0), "ttr": expo(3.0)}])
    tables = assert_same_tables(line_from_dict(data), 8, 20_000.0)
    ev = tables["events"]
    sizes = ev[(ev["station"] == "oven") & (ev["kind"] == "start")].groupby("time").size()
    assert sizes.max() <= batch["batch_size"]
    least = batch.get("min_batch", 1)
    assert sizes.min() >= least and (sizes < batch["batch_size"]).any()


def test_a_batch_beside_shifts_agrees_with_simpy_part_by_part() -> None:
    """A batch station that runs through off-shift time between two machines that follow
    short shifts (regression: at a shift start a trial version started a batch on 2 parts
    where SimPy waits for a third): the two servers before it, stopped at the shift end with
    their parts, hand them over at the shift start into a buffer of one slot, so the parts a
    batch gets at one instant are those SimPy's store gives it event by event."""
    data = batch_line(batch_size=3, buffer=1, cycle_time=expo(1.1), follows_calendar=False)
    data["stations"]["src"]["to"], data["stations"]["oven"]["to"] = "m1", "m2"
    data["stations"]["m1"] = {"type": "machine", "servers": 2, "buffer": 2,
                              "cycle_time": expo(1.6), "to": "oven"}
    data["stations"]["m2"] = {"type": "machine", "servers": 2, "buffer": 1,
                              "cycle_time": expo(0.9), "to": "out"}
    data["calendar"] = {"shifts": [{"start": "00:01", "end": "00:03"},
                                   {"start": "00:04", "end": "00:06"}]}
    spec = line_from_dict(data)
    assert unsupported(spec) == []
    for seed in (1, 2, 3):
        tables = assert_same_tables(spec, seed, 3_000.0)
        ev = tables["events"]
        sizes = ev[(ev["station"] == "oven") & (ev["kind"] == "start")].groupby("time").size()
        assert len(sizes) > 50 and sizes.eq(3).all()


def test_a_batch_that_stops_while_idle_agrees_with_simpy_part_by_part() -> None:
    """A batch oven with everything that stops or holds it while it loads, behind two
    servers with no buffer between (direct hand-over): it follows a calendar of short
    shifts, has planned maintenance and calendar-time failures, sets up on product change
    with an operator of the machines' pool, and starts on 2 to 4 parts after max_wait. A
    day: every table equal on both engines, and the tables show the rules at work: stops
    that begin while the oven loads (its request for a part is withdrawn until the stop
    ends), and parts handed over while it is stopped on its timed wait (SimPy's
    ``get | timeout`` does not watch stops, so the wait keeps its place)."""
    data = batch_line(batch_size=4, min_batch=2, max_wait="25 s", buffer=0,
                      cycle_time=expo(20.0), setup_time=expo(15.0),
                      operator={"pool": "crew", "during": "both"},
                      maintenance={"every": "1733.3 s", "duration": expo(120.0),
                                   "first": "511.1 s"},
                      failures=[{"name": "door", "basis": "calendar", "ttf": expo(900.0),
                                 "ttr": expo(60.0)},
                                {"name": "fan", "ttf": expo(700.0), "ttr": expo(30.0)}])
    data["products"] = {"A": {}, "B": {}}
    src = data["stations"]["src"]
    src.pop("product")
    src.update(mix={"A": 1, "B": 1}, lot_size=2, interarrival=expo(9.0), to="m1")
    data["stations"]["m1"] = {"type": "machine", "servers": 2, "buffer": 2,
                              "cycle_time": expo(12.0), "to": "oven",
                              "operator": {"pool": "crew", "during": "processing"}}
    data["operators"] = {"crew": {"count": 2}}
    data["calendar"] = {"shifts": [{"start": f"{h:02d}:00", "end": f"{h + 2:02d}:30"}
                                   for h in range(0, 24, 3)]}
    spec = line_from_dict(data)
    assert unsupported(spec) == []
    tables = assert_same_tables(spec, 4, 86400.0)
    states = tables["states"]
    oven = states[states["station"] == "oven"].sort_values("start")
    before = oven["state"].astype(str).shift()
    stops = oven[oven["state"].isin(["off", "maintenance", "down"])]
    assert (before[stops.index] == "idle").sum() > 10
    assert {"setup", "waiting"} <= set(oven["state"].astype(str))
    ev = tables["events"]
    handed = ev.loc[(ev["station"] == "oven") & (ev["kind"] == "arrive"), "time"].to_numpy()
    i = np.searchsorted(oven["start"].to_numpy(), handed, side="right") - 1
    state_then = oven["state"].astype(str).to_numpy()[i]
    assert np.isin(state_then, ["off", "maintenance", "down"]).sum() > 3


# --------------------------------------------------------------------------- assembly

def assembly_line() -> dict[str, Any]:
    """Housings (two products) joined on two benches with 2 kits of one kind and 1 of
    another, from infinite supplies behind buffers of 2."""
    return {"line": {"name": "asm"},
            "products": {"S": {}, "L": {}, "kit": {}, "gear": {}, "joint": {}},
            "stations": {
        "housings": {"type": "source", "mix": {"S": 0.6, "L": 0.4},
                     "interarrival": expo(1.5), "to": "cnc"},
        "kits": {"type": "source", "product": "kit", "to": "bench"},
        "gears": {"type": "source", "product": "gear", "to": "bench",
                  "interarrival": expo(0.9)},
        "cnc": {"type": "machine", "buffer": 2, "cycle_time": expo(1.2), "to": "bench"},
        "bench": {"type": "assembly", "servers": 2, "buffer": 2, "base": ["S", "L"],
                  "components": {"kit": 2, "gear": 1}, "output_product": "joint",
                  "cycle_time": expo(2.0), "product_cycle_time": {"L": expo(2.6)},
                  "to": "out", "failures": [{"ttf": expo(30.0), "ttr": expo(2.0)}]},
        "out": {"type": "sink"}}}


def test_assembly_agrees_with_simpy_and_consumes_what_it_needs() -> None:
    spec = line_from_dict(assembly_line())
    assert unsupported(spec) == []
    tables = assert_same_tables(spec, 21, 20_000.0)
    ev, parts = tables["events"], tables["parts"]
    ends = ev[(ev["station"] == "bench") & (ev["kind"] == "end")]
    consumed = ev[ev["kind"] == "consumed"]
    # recomputed from the tables: every finished assembly consumed 2 kits and 1 gear set
    assert (consumed["product"] == "kit").sum() == 2 * len(ends)
    assert (consumed["product"] == "gear").sum() == len(ends)
    assert set(parts.loc[parts["fate"] == "good", "product"]) == {"joint"}
    assert (parts["fate"] == "consumed").sum() == len(consumed) > 10_000


def test_lines_where_starved_units_can_deadlock_run_compiled_and_are_watched() -> None:
    """An assembly waiting for a kit its mixed supply cannot deliver while blocked on the
    other kit's full queue, or a rework loop upstream of an assembly, can hold starved
    units in a deadlock: such lines run compiled, with their starved units watched (the
    stations from which the assembly can be reached); a plain assembly line watches none."""
    mixed = assembly_line()
    mixed["stations"]["kits"]["mix"] = {"kit": 2.0, "gear": 1.0}
    mixed["stations"]["kits"].pop("product")
    loop = assembly_line()
    loop["stations"]["cnc"]["to"] = "check"
    loop["stations"]["check"] = {"type": "inspection", "cycle_time": expo(0.3),
                                 "rework_probability": 0.1, "rework_to": "cnc", "to": "bench"}
    for data, why in ((mixed, "station 'kits' sends parts into 2 input queues of the "
                              "assembly station 'bench'"),
                      (loop, "station 'cnc' on a route cycle upstream of an assembly station")):
        spec = line_from_dict(data)
        assert unsupported(spec) == [] and why in may_starve(spec)
        xn = lower(spec, 1).arrays["xn"]
        watched = {n for i, n in enumerate(spec.stations) if xn[xn[DL.XN_WATCH] + i]}
        assert watched == set(spec.stations) - {"out"}
    spec = line_from_dict(assembly_line())
    assert may_starve(spec) == []
    xn = lower(spec, 1).arrays["xn"]
    assert not xn[xn[DL.XN_WATCH]:xn[DL.XN_WATCH] + len(spec.stations)].any()


# --------------------------------------------------------------------------- servo line

def test_servo_actuator_runs_compiled_as_on_simpy() -> None:
    """The servo-actuator reference line (shift calendar, setups, operators, maintenance,
    assembly from kit supplies, an EOL test with a rework loop, the burn-in batch chamber)
    with its alarm on the EOL test queue, 8 days of a seed that raises it twice: every state
    change, stop, part (with its number), part event (in its order), signal change and alarm
    transition is the same on both engines, although its three infinite supplies release
    parts at the same instants."""
    spec = load_line(ROOT / "lines" / "servo_actuator" / "line.toml")
    assert unsupported(spec) == []
    until = 8 * 86400.0
    a, wip_a, warn_a = simulate(LineModel, spec, 8, until)
    b, wip_b, warn_b = simulate(CompiledModel, spec, 8, until)
    assert (wip_a, warn_a) == (wip_b, warn_b)
    for name in ("states", "stops", "events", "parts"):
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    assert (a["events"]["kind"] == "consumed").sum() > 500
    for name in ("signals", "alarms"):
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    assert (a["alarms"]["event"] == "activate").sum() == 2


# --------------------------------------------------------------------------- deadlocks

@pytest.mark.parametrize("case", ["deadlock_loop", "self_loop_deadlock"])
def test_compiled_deadlock_stops_the_run_as_simpy_does(case: str) -> None:
    """The deadlocking cycles of the SimPy engine's tests: the same error, cycle and time."""
    errors = []
    for engine in ("simpy", "compiled"):
        with pytest.raises(RunFailed) as info:
            twin.run(CASES / f"{case}.toml", duration="1 d", engine=engine)
        errors.append(info.value.__cause__)
        assert info.value.result.provenance["engine"] == engine
    a, b = errors
    assert isinstance(b, DeadlockError)
    assert (b.time, b.stations, str(b)) == (a.time, a.stations, str(a))


@pytest.mark.parametrize("seed", [1, 3])
def test_compiled_run_on_through_a_deadlock_warns_as_simpy(seed: int) -> None:
    """loop3 with on_deadlock = "continue": the same warning (cycle, time, stations) and the
    same tables on both engines, and nothing on the cycle moves afterwards."""
    data = loop3()
    data["run"] = {"on_deadlock": "continue"}
    a = twin.run(data, duration="20 d", seed=seed)
    b = twin.run(data, duration="20 d", seed=seed, engine="compiled")
    assert b.provenance["engine"] == "compiled"
    assert [w for w in a.warnings if w["code"] == "deadlock"] == [
        w for w in b.warnings if w["code"] == "deadlock"]
    (w,) = [w for w in b.warnings if w["code"] == "deadlock"]
    assert moves_after(b, w["stations"], w["time"]).empty
    pd.testing.assert_frame_equal(a.stations, b.stations)
    assert a.kpis["good_units"] == b.kpis["good_units"]


def test_compiled_loop_that_drains_never_deadlocks() -> None:
    """The draining loop of the SimPy tests (buffers of 1 that fill and block, rework through
    an unlimited buffer), 60 days on the compiled engine: no warning, and blocking happened."""
    data = loop3(prob=0.5, servers=1)
    data["stations"]["src"]["interarrival"] = "8 min"
    data["stations"]["c"]["rework_to"] = "r"
    data["stations"]["r"] = {"type": "machine", "cycle_time": "10 s", "to": "a"}
    result = twin.run(data, duration="60 d", seed=4, engine="compiled")
    assert result.warnings == []
    st = result.stations.set_index("station")
    assert st.loc["a", "blocked_fraction"] > 0.05 and st.loc["b", "blocked_fraction"] > 0.05
