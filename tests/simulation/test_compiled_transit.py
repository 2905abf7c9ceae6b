"""Transport delays on the compiled engine: equal to the SimPy engine part by part.

A part sent along a route with a ``delay`` is carried in a process of its own on the SimPy
engine (``Context.transport``); the compiled engine keeps its steps (:mod:`twin.simulation.
compiled.transit`). Beside the random lines of ``test_compiled_engine.py`` (which carry
parts on some routes), these lines single out what a random line meets rarely: transports
queued at a full buffer beside blocked units, several transports started by one event, and
ties at the instant a transport arrives, where the order SimPy schedules them in decides.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from lines_for_tests import const, expo
from test_compiled_engine import assert_same_tables, simulate

from twin.data.checks import line_from_dict
from twin.data.distributions import CHUNK
from twin.observation.recorder import Recorder
from twin.orchestration.run import run
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.replicate import Replicas
from twin.simulation.line import LineModel
from twin.simulation.streams import Streams


def _line(stations: dict[str, Any], products: tuple[str, ...] = ("A",)) -> Any:
    return line_from_dict({"line": {"name": "carried"}, "products": {p: {} for p in products},
                           "run": {"on_deadlock": "continue"}, "stations": stations})


def test_transports_wait_at_a_full_buffer_in_line_with_blocked_units() -> None:
    """Parts carried into a one-slot buffer that is often full wait there in one line with
    the units blocked on it, first come first served, and count as in transit until they
    enter: the same tables and end WIP (``(in transit)`` included) on both engines."""
    spec = _line({
        "src": {"type": "source", "product": "A", "interarrival": expo(0.5),
                "routes": [{"to": "m1", "delay": {"dist": "gamma", "shape": 2.0,
                                                  "scale": "0.4 s"}}]},
        "m1": {"type": "machine", "servers": 3, "cycle_time": expo(1.2),
               "routes": [{"to": "slow", "delay": {"dist": "lognormal", "mean": "2 s",
                                                   "std": "1 s"}}]},
        "direct": {"type": "source", "product": "A", "interarrival": expo(2.0),
                   "to": "m2"},
        "m2": {"type": "machine", "servers": 2, "buffer": 1, "cycle_time": expo(0.8),
               "to": "slow"},
        "slow": {"type": "machine", "buffer": 1, "cycle_time": expo(0.9),
                 "routes": [{"to": "out", "delay": {"dist": "uniform", "low": "30 s",
                                                    "high": "60 s"}}]},
        "out": {"type": "sink"}})
    tables = assert_same_tables(spec, 7, 3000.0)
    _, wip, _ = simulate(CompiledModel, spec, 7, 3000.0)
    assert wip["(in transit)"] > 10  # on the long last route, and waiting at 'slow'
    ev = tables["events"]
    arrive = ev[(ev["kind"] == "arrive") & (ev["station"] == "slow")]
    assert len(arrive) > 1000


def test_in_transit_is_the_count_of_parts_sent_and_not_arrived() -> None:
    """Independent count from the events: with unlimited buffers nothing waits, so the parts
    in transit at the end are those whose last event is the end of a cycle at 'm' (sent on
    the carried route) or their creation (sent from the source), and not yet arrived."""
    spec = _line({
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0),
                "routes": [{"to": "m", "delay": expo(5.0)}]},
        "m": {"type": "machine", "servers": 2, "cycle_time": expo(1.5),
              "routes": [{"to": "out", "delay": const(20.0)}]},
        "out": {"type": "sink"}})
    rec_tables, wip, _ = simulate(CompiledModel, spec, 3, 2000.0)
    last = rec_tables["events"].groupby("part", sort=False)["kind"].last()
    on_way = int(last.isin(["end", "created"]).sum())
    assert wip["(in transit)"] == on_way > 10
    assert simulate(LineModel, spec, 3, 2000.0)[1] == wip


def test_transports_started_by_one_event_start_in_the_order_they_were_sent() -> None:
    """A batch of 3 sends its parts with one constant delay: they arrive at one instant at a
    machine with no buffer slots and are served in the order they were sent (their transports
    start first in, first out, as SimPy's Initialize events do): the same parts table, so
    the same order, on both engines."""
    spec = _line({
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0), "to": "bat"},
        "bat": {"type": "batch", "batch_size": 3, "cycle_time": expo(4.0),
                "routes": [{"to": "m", "delay": const(2.0)}]},
        "m": {"type": "machine", "buffer": 0, "cycle_time": expo(0.3), "to": "out"},
        "out": {"type": "sink"}})
    tables = assert_same_tables(spec, 5, 2000.0)
    parts = tables["parts"]
    assert (np.diff(parts["done"].to_numpy()[:300]) > 0).all()  # first in, first out


def test_a_transport_is_scheduled_after_what_its_sender_does_in_the_same_event() -> None:
    """A machine with a constant 2 s cycle sends product A to 'd' carried in a constant 2 s,
    B straight on, and goes on with its next part at once: the next cycle ends at the very
    instant the carried part arrives. SimPy schedules the cycle's end first (the sender goes
    on in the event that sent the part; the transport starts after it), so the part that
    ends its cycle takes the free server of 'd' and the carried one waits: the same tables
    on both engines."""
    spec = _line({
        "src": {"type": "source", "mix": {"A": 1.0, "B": 1.0}, "interarrival": expo(1.6),
                "to": "m"},
        "m": {"type": "machine", "buffer": 6, "cycle_time": const(2.0), "routes": [
            {"to": "d", "products": ["A"], "delay": const(2.0)},
            {"to": "d", "products": ["B"]}]},
        "d": {"type": "machine", "buffer": 0, "cycle_time": expo(0.9), "to": "out"},
        "out": {"type": "sink"}}, products=("A", "B"))
    tables = assert_same_tables(spec, 2, 3000.0)
    ev = tables["events"]
    ends = ev[(ev["station"] == "m") & (ev["kind"] == "end")]["time"].to_numpy()
    arrivals = ev[(ev["station"] == "d") & (ev["kind"] == "arrive")]["time"]
    assert np.isin(ends, arrivals.to_numpy()).sum() > 100  # ties at 'd' happen often


def test_a_transport_starts_ahead_of_the_events_queued_in_its_instant() -> None:
    """A batch sends product A carried in a constant 2 s and product B into the buffer of
    'y', whose waiting server starts a constant 2 s cycle some events later in that instant:
    the transport, started by SimPy's urgent Initialize, is scheduled first, so at the tie
    the carried part reaches the free server of 'z' first."""
    spec = _line({
        "src": {"type": "source", "mix": {"A": 1.0, "B": 1.0}, "interarrival": expo(1.0),
                "to": "bat"},
        "bat": {"type": "batch", "batch_size": 2, "cycle_time": expo(5.0), "routes": [
            {"to": "z", "products": ["A"], "delay": const(2.0)},
            {"to": "y", "products": ["B"]}]},
        "y": {"type": "machine", "buffer": 1, "cycle_time": const(2.0), "to": "z"},
        "z": {"type": "machine", "buffer": 0, "cycle_time": expo(1.0), "to": "out"},
        "out": {"type": "sink"}}, products=("A", "B"))
    tables = assert_same_tables(spec, 4, 4000.0)
    ev = tables["events"]
    at_z = ev[(ev["station"] == "z") & (ev["kind"] == "arrive")]
    assert at_z["time"].duplicated().sum() == 0
    ends_y = ev[(ev["station"] == "y") & (ev["kind"] == "end")]["time"].to_numpy()
    ends_bat = ev[(ev["station"] == "bat") & (ev["kind"] == "end")]["time"].to_numpy()
    assert np.isin(ends_y, ends_bat + 2.0).sum() > 50  # the tie this line is about


def _carried_times(model: type, spec: Any, seed: int, products: tuple[str, ...]
                   ) -> np.ndarray:
    """Transit times [s] from 'm' to the sink of the parts of ``products``, by part id (the
    order they leave 'm' in: one server, first in first out)."""
    ev = simulate(model, spec, seed, 600.0)[0]["events"]
    ev = ev[ev["product"].isin(products)]
    sent = ev[(ev["station"] == "m") & (ev["kind"] == "end")].set_index("part")["time"]
    came = ev[ev["kind"] == "exit"].set_index("part")["time"]
    return (came - sent.loc[came.index]).sort_index().to_numpy()


def test_one_delay_stream_per_route_whatever_the_product() -> None:
    """Parts of two products carried along one route draw their delays from the route's one
    stream ``(station, "transport", destination)``, in the order they are sent: the transit
    times read from the events are the stream's values (NumPy, drawn here)."""
    gamma = {"dist": "gamma", "shape": 2.0, "scale": "1.5 s"}
    spec = _line({
        "src": {"type": "source", "mix": {"A": 1.0, "B": 1.0}, "interarrival": expo(1.0),
                "to": "m"},
        "m": {"type": "machine", "cycle_time": expo(0.5), "routes": [{"to": "out",
                                                                      "delay": gamma}]},
        "out": {"type": "sink"}}, products=("A", "B"))
    rng = Streams(9).rng("m", "transport", "out")
    expected = spec.stations["m"].routes[0].delay.draw(rng, CHUNK)
    for model in (LineModel, CompiledModel):
        taken = _carried_times(model, spec, 9, ("A", "B"))
        assert len(taken) > 400
        np.testing.assert_allclose(taken, expected[:len(taken)], rtol=1e-9)


def test_two_carried_routes_to_one_station_draw_apart() -> None:
    """Products A and B carried to one sink along routes of their own: the second route's
    stream adds the route's index to its key, so the k-th A and the k-th B parts do not
    share a draw (independent conveyors)."""
    routes = [{"to": "out", "products": ["A"], "delay": expo(2.0)},
              {"to": "out", "products": ["B"], "delay": {"dist": "uniform", "low": "1 s",
                                                         "high": "3 s"}}]
    spec = _line({
        "src": {"type": "source", "mix": {"A": 1.0, "B": 1.0}, "interarrival": expo(1.0),
                "to": "m"},
        "m": {"type": "machine", "cycle_time": expo(0.5), "routes": routes},
        "out": {"type": "sink"}}, products=("A", "B"))
    streams, delays = Streams(9), [r.delay for r in spec.stations["m"].routes]
    want = {"A": delays[0].draw(streams.rng("m", "transport", "out"), CHUNK),
            "B": delays[1].draw(streams.rng("m", "transport", "out", "1"), CHUNK)}
    for model in (LineModel, CompiledModel):
        for p in ("A", "B"):
            got = _carried_times(model, spec, 9, (p,))
            assert len(got) > 200
            np.testing.assert_allclose(got, want[p][:len(got)], rtol=1e-9)


def test_carried_lines_run_compiled_with_the_same_kpis() -> None:
    """``engine = "auto"`` runs a line with transport delays compiled; its KPIs equal the
    SimPy engine's, and KPI-only recording (accumulators, the part-flow balance with parts
    in transit) gives the same counts and time-weighted WIP."""
    spec = {"line": {"name": "carried"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(1.3),
                "routes": [{"to": "m", "delay": expo(30.0)}]},
        "m": {"type": "machine", "buffer": 3, "cycle_time": expo(1.0),
              "power": {"producing": "2 kW", "idle": "0.5 kW"},
              "routes": [{"to": "out", "delay": {"dist": "lognormal", "mean": "600 s",
                                                 "std": "200 s"}}]},
        "out": {"type": "sink"}}}
    a = run(spec, duration=20_000.0, warmup=1000.0, seed=6, engine="simpy")
    b = run(spec, duration=20_000.0, warmup=1000.0, seed=6, engine="auto")
    c = run(spec, duration=20_000.0, warmup=1000.0, seed=6, engine="compiled", record="kpis")
    assert (b.provenance["engine"], b.provenance["engine_note"]) == ("compiled", "")
    assert a.kpis == b.kpis
    pd.testing.assert_frame_equal(a.stations, b.stations)
    assert a.provenance["end_wip"] == b.provenance["end_wip"] == c.provenance["end_wip"]
    assert a.provenance["end_wip"]["(in transit)"] > 100  # some 630 s of 1.3 s arrivals
    for k in ("good_units", "throughput_per_h", "wip_mean", "kwh_per_good_unit"):
        assert c.kpis[k] == pytest.approx(a.kpis[k], rel=1e-9), k
    # the time-weighted WIP recomputed from the tables (parts in transit are in the line)
    created = a.tables["events"].query("kind == 'created'").set_index("part")["time"]
    done = a.tables["parts"].set_index("part")["done"].reindex(created.index)
    inside = (done.fillna(21_000.0) - created.clip(lower=1000.0)).clip(lower=0.0)
    assert a.kpis["wip_mean"] == pytest.approx(inside.sum() / 20_000.0, rel=1e-9)


def test_replicas_carry_parts_as_runs_lowered_on_their_own() -> None:
    """A study's runs share one lowering (:class:`Replicas`): the transport streams are
    re-seeded with the rest, so each run is the run lowered for its seed alone."""
    spec = _line({
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0),
                "routes": [{"to": "m", "delay": expo(3.0)}]},
        "m": {"type": "machine", "buffer": 1, "cycle_time": expo(0.8),
              "routes": [{"to": "out", "delay": {"dist": "uniform", "low": "1 s",
                                                 "high": "9 s"}}]},
        "out": {"type": "sink"}})
    replicas = Replicas(spec)
    for seed in (1, 2):
        rec = Recorder()
        model = replicas.model(seed, rec)
        model.run(500.0)
        alone, wip, _ = simulate(CompiledModel, spec, seed, 500.0)
        assert model.wip() == wip
        for name in ("parts", "events"):
            pd.testing.assert_frame_equal(rec.tables(500.0)[name], alone[name],
                                          check_exact=True)


def test_least_loaded_routing_does_not_count_parts_on_their_way() -> None:
    """A split to the least loaded of two machines, both carried in about a minute: the
    loads compared are those of the stations (buffer and servers), as on the SimPy engine,
    not the parts on their way, so while the parts sent are still travelling both look empty
    and the first listed gets them (ties: the first route). Same tables on both engines."""
    spec = _line({
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0), "routes": [
            {"to": "a", "delay": {"dist": "uniform", "low": "50 s", "high": "70 s"}},
            {"to": "b", "delay": {"dist": "uniform", "low": "50 s", "high": "70 s"}}]},
        "a": {"type": "machine", "cycle_time": expo(1.5), "to": "out"},
        "b": {"type": "machine", "cycle_time": expo(1.5), "to": "out"},
        "out": {"type": "sink"}})
    ev = assert_same_tables(spec, 8, 2000.0)["events"]
    arrive = ev[ev["kind"] == "arrive"]
    first = arrive[arrive["time"] < 100.0]["station"].value_counts()
    assert first["a"] > 20 and first.get("b", 0) == 0  # nothing arrives before 50 s
