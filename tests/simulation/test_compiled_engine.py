"""The compiled engine against the SimPy engine: equal part by part, draw for draw.

For the same spec and seed, on lines where no two timed events fall on the same instant
(continuous distributions), the two engines must write the same tables: every state change
of every unit (``states``), every part event (``events``), the finish time and fate of every
part (``parts``) and every stop (``stops``). Hypothesis generates lines covering every
feature the compiled engine supports.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lines_for_tests import const, expo

from twin.data.checks import line_from_dict
from twin.observation.recorder import Recorder
from twin.orchestration.run import run
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.lower import STREAM_ROWS, unsupported
from twin.simulation.line import LineModel


def simulate(model: type, spec: Any, seed: int, until: float
             ) -> tuple[dict[str, pd.DataFrame], dict[str, int], list[dict[str, Any]]]:
    rec = Recorder()
    m = model(spec, seed, rec)
    m.run(until)
    return rec.tables(until), m.wip(), m.warnings


def assert_same_tables(spec: Any, seed: int, until: float, warnings: bool = True
                       ) -> dict[str, pd.DataFrame]:
    """Run both engines and require identical states, events (row for row, also in the
    order of the rows of one instant), parts, stops, end WIP and (unless not ``warnings``)
    warnings (deadlocks run through)."""
    a, wip_a, warn_a = simulate(LineModel, spec, seed, until)
    b, wip_b, warn_b = simulate(CompiledModel, spec, seed, until)
    assert wip_a == wip_b
    assert not warnings or warn_a == warn_b
    for name in ("states", "events", "parts", "stops"):
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    return a


# --------------------------------------------------------------------------- random lines

CONTINUOUS = st.sampled_from(["exponential", "uniform", "triangular", "normal", "lognormal",
                              "weibull", "gamma", "erlang"])


OFF_GRID = 0.0137
"""Added to constant times (release schedules, maintenance) so that they never fall on a
shift change (whole minutes) or on each other: the lines stay tie-free."""


@st.composite
def durations(draw: st.DrawFn, mean: float) -> dict[str, Any]:
    """A continuous distribution of about ``mean`` [s] (no two draws share a value)."""
    kind = draw(CONTINUOUS)
    m = mean * draw(st.floats(0.5, 1.5))
    return {
        "exponential": {"dist": "exponential", "mean": f"{m} s"},
        "uniform": {"dist": "uniform", "low": f"{0.5 * m} s", "high": f"{1.5 * m} s"},
        "triangular": {"dist": "triangular", "low": f"{0.4 * m} s", "mode": f"{0.8 * m} s",
                       "high": f"{1.8 * m} s"},
        "normal": {"dist": "normal", "mean": f"{m} s", "std": f"{0.3 * m} s"},
        "lognormal": {"dist": "lognormal", "mean": f"{m} s", "std": f"{0.5 * m} s"},
        "weibull": {"dist": "weibull", "shape": 1.5, "scale": f"{m} s"},
        "gamma": {"dist": "gamma", "shape": 2.5, "scale": f"{m / 2.5} s"},
        "erlang": {"dist": "erlang", "k": 3, "mean": f"{m} s"},
    }[kind]


def batch_station(draw: st.DrawFn) -> dict[str, Any]:
    """A batch station: full batches only, ``min_batch``, ``max_wait`` or both; a finite,
    unlimited or zero buffer (direct hand-over)."""
    size = draw(st.integers(1, 5))
    b: dict[str, Any] = {"type": "batch", "batch_size": size,
                         "cycle_time": draw(durations(1.5))}
    mode = draw(st.sampled_from(["full", "min", "wait", "both"]))
    if mode in ("min", "both"):
        b["min_batch"] = draw(st.integers(1, size))
    if mode in ("wait", "both"):
        b["max_wait"] = f"{draw(st.floats(0.3, 4.0))} s"
    buffer = draw(st.sampled_from([0, 1, 4, None]))
    if buffer is not None:
        b["buffer"] = buffer
    if draw(st.booleans()):
        b["failures"] = [{"name": "door", "ttf": draw(durations(30.0)),
                          "ttr": draw(durations(3.0))}]
    return b


def assembly_station(draw: st.DrawFn, products: list[str]
                     ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """An assembly station joining the line's parts (or, with two products, A with B as a
    component: the line sends into two of its queues) with 1-2 kinds of components, and
    the source of each kind (an infinite supply or arrivals), or one mixed supply of both
    kinds, maybe through a feeder machine (a mixed supply or feeder may block on one queue
    while the units starve for another kind: a deadlock of starved units). Each source of
    components is an infinite supply or arrivals (two or three infinite supplies release
    parts at the same instants). Finite, unlimited or zero buffers."""
    kinds = ["K", "L"][:draw(st.integers(1, 2))]
    buffer = draw(st.sampled_from([0, 1, 3, None]))
    sources: dict[str, dict[str, Any]] = {}
    kinds_of = [kinds] if len(kinds) == 2 and draw(st.booleans()) else [[k] for k in kinds]
    feeder = draw(st.booleans())
    for i, ks in enumerate(kinds_of):
        comp: dict[str, Any] = {"type": "source", "to": "kf" if feeder else "asm"}
        if len(ks) == 1:
            comp["product"] = ks[0]
        else:
            comp["mix"] = {"K": draw(st.floats(0.3, 1.0)), "L": 1.0}
            comp["lot_size"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            comp["interarrival"] = draw(durations(0.4))
        elif buffer is None and not feeder:  # an infinite supply needs a finite buffer
            buffer = 3
        sources["comp" if i == 0 else "comp2"] = comp
    if feeder:
        sources["kf"] = {"type": "machine", "servers": draw(st.integers(1, 2)),
                         "buffer": draw(st.sampled_from([1, 3])),
                         "cycle_time": draw(durations(0.3)), "to": "asm"}
    components = {k: draw(st.integers(1, 2)) for k in kinds}
    base = products
    if len(products) == 2 and draw(st.booleans()):
        base = ["A"]
        components["B"] = draw(st.integers(1, 2))
    a: dict[str, Any] = {"type": "assembly", "servers": draw(st.integers(1, 2)),
                         "base": base, "components": components,
                         "cycle_time": draw(durations(0.8))}
    if buffer is not None:
        a["buffer"] = buffer
    return a, sources


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    """A random discrete line: a source (infinite supply, arrivals or a release schedule, a
    product mix in lots, a limit, lost arrivals), 1-4 stages of machines (parallel servers,
    finite, unlimited or zero buffers, per-product cycle times, operating-time failures),
    splits by probability or to the least loaded machine, a route back to the same machine,
    a batch station, an assembly station with its component source, an inspection with
    scrap and rework (into an unlimited buffer, or a finite one that may deadlock: run on
    through it), and sinks; unit time (:func:`unit_time`) on some machines and on the batch
    and assembly stations."""
    n_stages = draw(st.integers(1, 4))
    products = ["A", "B"] if draw(st.booleans()) else ["A"]
    top = draw(unit_time_top())
    supply = draw(st.sampled_from(["infinite", "arrivals", "schedule"]))
    infinite = supply == "infinite"
    stations: dict[str, Any] = {}
    src: dict[str, Any] = {"type": "source"}
    if len(products) == 2:
        src["mix"] = {"A": draw(st.floats(0.2, 1.0)), "B": 1.0}
        src["lot_size"] = draw(st.integers(1, 3))
    else:
        src["product"] = "A"
    if supply == "arrivals":
        src["interarrival"] = draw(durations(1.0))
    elif supply == "schedule":  # lots at irrational-looking times after 0 (where other
        # sources start: a tie), some repeating
        src["schedule"] = [
            {"at": f"{draw(st.floats(0.0, 50.0)) + OFF_GRID} s",
             "quantity": draw(st.integers(1, 6)),
             "every": f"{draw(st.floats(3.0, 20.0)) + OFF_GRID / 3} s",
             **({"product": "B"} if len(products) == 2 and draw(st.booleans()) else {})},
            {"at": f"{draw(st.floats(0.0, 100.0)) + OFF_GRID} s",
             "quantity": draw(st.integers(1, 4))}]
    if not infinite and draw(st.booleans()):
        src["when_full"] = "lost"
    if draw(st.booleans()):
        src["limit"] = draw(st.integers(1, 400))
    stations["src"] = src
    previous = ["src"]
    for stage in range(n_stages):
        width = draw(st.integers(1, 2))  # one machine, or a split over two
        names = [f"m{stage}{c}" for c in "ab"[:width]]
        for name in names:
            first = stage == 0
            buffer = draw(st.sampled_from([0, 1, 3, None]))
            if first and infinite and buffer is None:
                buffer = 2
            m: dict[str, Any] = {"type": "machine", "servers": draw(st.integers(1, 3)),
                                 "cycle_time": draw(durations(0.8 * width))}
            if buffer is not None:
                m["buffer"] = buffer
            if len(products) == 2 and draw(st.booleans()):
                m["product_cycle_time"] = {"B": draw(durations(0.6 * width))}
            if draw(st.booleans()):
                m["failures"] = [{"name": "jam", "ttf": draw(durations(30.0)),
                                  "ttr": draw(durations(3.0))}]
            more = draw(unit_time(top, len(products)))
            m["failures"] = m.get("failures", []) + more.pop("failures", [])
            m.update(more)
            stations[name] = m
        for p in previous:
            if width == 1:
                stations[p]["to"] = names[0]
            elif draw(st.booleans()):
                stations[p]["routes"] = [{"to": names[0], "probability": 0.4},
                                         {"to": names[1], "probability": 0.6}]
            else:
                stations[p]["to"] = names  # least loaded
        previous = names
    products_all = list(products)
    if draw(st.booleans()):  # a route back to the same machine
        p = previous[-1]
        stations[p]["routes"] = [{"to": p, "probability": 0.2}]
    for kind in ("batch", "assembly"):
        if not draw(st.booleans()):
            continue
        name = "bat" if kind == "batch" else "asm"
        if kind == "batch":
            stations["bat"] = batch_station(draw)
        else:
            stations["asm"], comps = assembly_station(draw, products)
            stations.update(comps)
            products_all += [k for k in ("K", "L") if k in stations["asm"]["components"]]
        more = draw(unit_time(top, len(products)))
        stations[name]["failures"] = stations[name].get("failures", []) + more.pop(
            "failures", [])
        stations[name].update(more)
        for p in previous:
            _send_to(stations[p], p, name)
        previous = [name]
    insp = {"type": "inspection", "cycle_time": draw(durations(0.3)),
            "scrap_probability": draw(st.floats(0.0, 0.2)), "max_reworks": 2,
            "to": ["out", "out2"]}
    rework = draw(st.sampled_from(["none", "unlimited", "finite"]))
    if rework != "none":
        insp["rework_probability"] = 0.2
        insp["rework_to"] = "m0a"
        if rework == "unlimited":  # an unlimited buffer takes the rework back
            stations["m0a"].pop("buffer", None)
            if infinite:
                stations["m0a"]["buffer"] = 50
    stations["insp"] = insp
    for p in previous:
        _send_to(stations[p], p, "insp")
    stations["out"] = {"type": "sink"}
    stations["out2"] = {"type": "sink"}
    if draw(st.booleans()):
        carry(draw, stations)
    return {"line": {"name": "random"}, "products": {p: {} for p in products_all},
            "run": {"on_deadlock": "continue"}, "stations": stations, **top}


DELAYS = st.sampled_from(["exponential", "lognormal", "uniform", "gamma", "constant"])


def carry(draw: st.DrawFn, stations: dict[str, Any]) -> None:
    """Transport delays on some routes of some stations (not from an infinite supply or a
    source with lost arrivals, which the spec refuses): continuous, or constant where the
    station sends one part at a time (a batch or a lot of a release schedule sent with one
    constant delay would arrive at one instant, a tie)."""
    for station in stations.values():
        kind = station["type"]
        if kind == "sink" or (kind == "source" and (
                station.get("when_full") == "lost"
                or not ("interarrival" in station or "schedule" in station))):
            continue
        if not draw(st.booleans()):
            continue
        routes = station.pop("routes", None)
        if routes is None:
            to = station.pop("to")
            routes = [{"to": t} for t in ([to] if isinstance(to, str) else to)]
        for r in routes:
            if not draw(st.booleans()):
                continue
            mean = draw(st.floats(0.2, 4.0))
            dist = draw(DELAYS)
            if dist == "constant" and (kind == "batch" or "schedule" in station):
                dist = "exponential"
            r["delay"] = {
                "exponential": {"dist": "exponential", "mean": f"{mean} s"},
                "lognormal": {"dist": "lognormal", "mean": f"{mean} s", "std": f"{0.4 * mean} s"},
                "uniform": {"dist": "uniform", "low": f"{0.5 * mean} s", "high": f"{1.5 * mean} s"},
                "gamma": {"dist": "gamma", "shape": 3.0, "scale": f"{mean / 3} s"},
                "constant": f"{mean + OFF_GRID / 11} s",
            }[dist]
        station["routes"] = routes


def _send_to(station: dict[str, Any], name: str, dest: str) -> None:
    """Route ``station`` on to ``dest`` (keeping its route back to itself, if any)."""
    back = [r for r in station.pop("routes", []) if r["to"] == name]
    station.pop("to", None)
    if back:
        station["routes"] = [*back, {"to": dest, "probability": 0.8}]
    else:
        station["to"] = dest


@st.composite
def unit_time_top(draw: st.DrawFn) -> dict[str, Any]:
    """Maybe a calendar of short shifts (whole minutes within the first 7, so a 400 s run
    sees shift ends and starts) and operator pools, some on call around the clock."""
    top: dict[str, Any] = {}
    if draw(st.booleans()):
        minutes = sorted(draw(st.sets(st.integers(0, 7), min_size=2, max_size=6)))
        minutes = minutes[:len(minutes) // 2 * 2]
        top["calendar"] = {"shifts": [
            {"start": f"00:{a:02d}", "end": f"00:{b:02d}"}
            for a, b in zip(minutes[::2], minutes[1::2], strict=True)]}
    if draw(st.booleans()):
        top["operators"] = {"p1": {"count": draw(st.integers(1, 2)),
                                   "follows_calendar": draw(st.booleans())},
                            "p2": {"count": 1}}
    return top


@st.composite
def unit_time(draw: st.DrawFn, top: dict[str, Any], n_products: int) -> dict[str, Any]:
    """Unit time on a machine: setups on product change, an operator, planned maintenance,
    calendar-time failures, running through off-shift time (tie-free durations)."""
    m: dict[str, Any] = {}
    if n_products > 1 and draw(st.booleans()):
        m["setup_time"] = draw(durations(1.5))
    if "operators" in top and draw(st.booleans()):
        m["operator"] = {"pool": draw(st.sampled_from(["p1", "p2"])),
                         "during": draw(st.sampled_from(["setup", "processing", "both"]))}
    if draw(st.booleans()):
        m["maintenance"] = {"every": f"{draw(st.floats(40.0, 150.0)) + OFF_GRID / 7} s",
                            "duration": draw(durations(6.0)),
                            "first": f"{draw(st.floats(1.0, 100.0)) + OFF_GRID / 5} s"}
    if draw(st.booleans()):
        m["failures"] = [{"name": "power", "basis": "calendar", "ttf": draw(durations(50.0)),
                          "ttr": draw(durations(5.0))}]
    if "calendar" in top and draw(st.booleans()):
        m["follows_calendar"] = False
    return m


@settings(max_examples=40, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=lines(), seed=st.integers(0, 2**31 - 1))
def test_engines_agree_part_by_part_on_random_lines(data: dict[str, Any], seed: int) -> None:
    spec = line_from_dict(data)
    assert unsupported(spec) == []
    assert_same_tables(spec, seed, 400.0)


def test_engines_agree_on_a_long_run_with_every_feature() -> None:
    """A fixed line with failures, a mix in lots, rework, scrap, splits and a zero buffer,
    long enough for the streams to be refilled and the record arrays to grow."""
    spec = line_from_dict({"line": {"name": "all"}, "products": {"A": {}, "B": {}},
                           "stations": {
        "supply": {"type": "source", "mix": {"A": 1, "B": 2}, "lot_size": 2, "to": "m1"},
        "m1": {"type": "machine", "buffer": 2, "servers": 2, "cycle_time": expo(1.0),
               "to": "m2", "failures": [{"ttf": expo(20.0), "ttr": expo(2.0)}]},
        "m2": {"type": "machine", "buffer": 0, "cycle_time": expo(0.7),
               "product_cycle_time": {"B": {"dist": "gamma", "shape": 2, "scale": "0.3 s"}},
               "routes": [{"to": "q", "probability": 0.5}, {"to": "m3", "probability": 0.5}]},
        "m3": {"type": "machine", "cycle_time": {"dist": "erlang", "k": 2, "mean": "1.1 s"},
               "to": "q"},
        "q": {"type": "inspection", "buffer": 1, "cycle_time": expo(0.3),
              "scrap_probability": 0.1, "rework_probability": 0.2, "rework_to": "m3",
              "to": ["out", "out2"]},
        "out": {"type": "sink"}, "out2": {"type": "sink"}}})
    tables = assert_same_tables(spec, 11, 30_000.0)
    assert len(tables["parts"]) > 30_000 and len(tables["stops"]) > 1000
    model = CompiledModel(spec, 11, Recorder())
    model.run(30_000.0)  # early in the run its streams drew ahead for the rest of it
    assert model.a["sbuf"].shape[1] >= 3 * STREAM_ROWS



def test_queues_that_outgrow_their_rings_agree_part_by_part() -> None:
    """An unlimited buffer that keeps filling (arrivals faster than service) and 300
    servers blocked on one slow station: both rings (a buffer's parts, the line of blocked
    senders) outgrow their first width of 256 and are grown between events, part by part
    as SimPy has it."""
    spec = line_from_dict({"line": {"name": "rings"}, "products": {"A": {}}, "stations": {
        "arrivals": {"type": "source", "product": "A", "interarrival": expo(1.0),
                     "to": "slow"},
        "slow": {"type": "machine", "cycle_time": expo(1.4), "to": "out"},
        "supply": {"type": "source", "product": "A", "to": "wide"},
        "wide": {"type": "machine", "servers": 300, "buffer": 1, "cycle_time": expo(1.0),
                 "to": "narrow"},
        "narrow": {"type": "machine", "buffer": 1, "cycle_time": expo(1.0), "to": "out"},
        "out": {"type": "sink"}}})
    assert_same_tables(spec, 3, 1500.0)
    model = CompiledModel(spec, 3, Recorder())
    model.run(1500.0)
    assert model.a["qbuf"].shape[1] > 256 and model.a["pqs"].shape[1] > 256


def test_many_lots_due_at_the_start_are_released_in_the_first_instant() -> None:
    """Twenty release rows of 400 parts each, all due at t = 0: SimPy releases the 8,000
    parts within its first instant, and so does the compiled loop, which keeps room for
    every lot due at the start (before, it stopped with an engine error: its work list had
    room for the largest lot only)."""
    spec = line_from_dict({"line": {"name": "lots"}, "products": {"A": {}}, "stations": {
        "rel": {"type": "source", "product": "A", "to": "m1",
                "schedule": [{"at": "0 s", "quantity": 400} for _ in range(20)]},
        "m1": {"type": "machine", "servers": 2, "cycle_time": const(0.01), "to": "out"},
        "out": {"type": "sink"}}})
    tables = assert_same_tables(spec, 0, 60.0)
    made = tables["events"].query("kind == 'created'")["time"]
    assert len(made) == 8000 and (made == 0.0).all()


def _bulk_line(lot: int, batch: int) -> Any:
    """A release schedule of ``lot`` parts of a product mix, three machines, a batch station
    of ``batch`` parts that sends half its parts on by a conveyor with a transport delay and
    half straight on."""
    return line_from_dict({"line": {"name": "bulk"}, "products": {"A": {}, "B": {}},
                           "stations": {
        "src": {"type": "source", "mix": {"A": 1, "B": 1}, "to": "m",
                "schedule": [{"at": "0 s", "quantity": lot, "every": "9000 s"}]},
        "m": {"type": "machine", "servers": 3, "cycle_time": expo(1.0), "to": "oven"},
        "oven": {"type": "batch", "batch_size": batch, "cycle_time": expo(10.0), "to": [
            {"to": "n1", "probability": 0.5, "delay": expo(5.0)},
            {"to": "n2", "probability": 0.5}]},
        "n1": {"type": "machine", "cycle_time": expo(0.5), "to": "out"},
        "n2": {"type": "machine", "cycle_time": expo(0.5), "to": "out"},
        "out": {"type": "sink"}}})


@pytest.mark.parametrize(("lot", "batch"), [(300, 7), (4500, 4500)])
def test_events_that_move_thousands_of_parts_agree_part_by_part(lot: int, batch: int) -> None:
    """One event may move a whole lot (each part drawing its product, route and transport)
    or a whole batch: the loop keeps room for the line's largest before each event (work
    list, records, heap, draws, queue rings), so lots beyond a ring's margin and beyond
    the first work list run as on SimPy (before, a lot of 300 overran a queue's ring and
    silently gave other parts, one of 4,500 stopped with an opaque loop error)."""
    spec = _bulk_line(lot, batch)
    tables = assert_same_tables(spec, 3, 20_000.0)
    events = tables["events"]
    assert (events["kind"] == "created").sum() == 3 * lot  # lots at 0, 9,000 and 18,000 s
    assert len(tables["parts"]) > 2 * lot


def test_full_runs_give_the_same_kpis_and_record_the_engine() -> None:
    spec = {"line": {"name": "pair"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(1.2), "to": "m"},
        "m": {"type": "machine", "buffer": 4, "cycle_time": expo(1.0), "to": "out",
              "power": {"producing": "2 kW", "idle": "0.5 kW"}},
        "out": {"type": "sink"}}}
    a = run(spec, duration=5000.0, warmup=100.0, seed=4)
    b = run(spec, duration=5000.0, warmup=100.0, seed=4, engine="compiled")
    assert (a.provenance["engine"], b.provenance["engine"]) == ("simpy", "compiled")
    assert a.run_id != b.run_id
    assert a.kpis == b.kpis
    pd.testing.assert_frame_equal(a.stations, b.stations)
    pd.testing.assert_frame_equal(a.tables["energy"], b.tables["energy"])


def test_auto_says_why_it_stays_on_simpy_and_compiled_refuses() -> None:
    spec = {"line": {"name": "alarmed"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(2.0), "to": "m"},
        "m": {"type": "machine", "cycle_time": expo(1.0), "to": "out"},
        "out": {"type": "sink"}},
        "alarms": {"slow": {"tag": "kpi.throughput", "limit": "10 /h", "direction": "low"}}}
    r = run(spec, duration=100.0, engine="auto")
    assert r.provenance["engine"] == "simpy"
    assert "alarm 'slow' on 'kpi.throughput'" in r.provenance["engine_note"]
    with pytest.raises(ValueError, match="rolling KPI"):
        run(spec, duration=100.0, engine="compiled")
    with pytest.raises(ValueError, match="unknown engine"):
        run(spec, duration=100.0, engine="fast")


def test_auto_runs_a_supported_line_compiled() -> None:
    spec = {"line": {"name": "ok"}, "products": {"A": {}}, "run": {"engine": "auto"},
            "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(2.0), "to": "m"},
        "m": {"type": "machine", "cycle_time": expo(1.0), "to": "out"},
        "out": {"type": "sink"}}}
    r = run(spec, duration=100.0)
    assert r.provenance["engine"] == "compiled" and r.provenance["engine_note"] == ""


def test_scenarios_choose_the_compiled_engine_by_default(tmp_path: Any) -> None:
    """A scenario's runs default to engine = auto: a supported line runs compiled."""
    from twin.orchestration.scenario import Scenario

    line = tmp_path / "line.toml"
    line.write_text('[line]\nname = "tiny"\n[products.A]\n[stations.src]\ntype = "source"\n'
                    'product = "A"\ninterarrival = { dist = "exponential", mean = "10 s" }\n'
                    'to = "m"\n[stations.m]\ntype = "machine"\n'
                    'cycle_time = { dist = "exponential", mean = "6 s" }\nto = "out"\n'
                    '[stations.out]\ntype = "sink"\n')
    sc = Scenario.from_dict({"name": "s", "line": str(line), "run": {"duration": "100 s"}},
                            base_dir=tmp_path)
    assert sc.prepare({}, 1).engine == "compiled"
    sc = Scenario.from_dict({"name": "s", "line": str(line),
                             "run": {"duration": "100 s", "engine": "simpy"}},
                            base_dir=tmp_path)
    assert sc.prepare({}, 1).engine == "simpy"
