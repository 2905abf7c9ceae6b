"""Timed events of a scenario, played into a running line.

An injected failure or an outage puts the chosen units ``down`` for a while (recorded in the
stops table as kind ``failure`` / mode ``injected``, or kind ``outage`` / mode = the utility);
a change swaps a source's inter-arrival distribution or a station's cycle-time distribution
from a time on; fouling scales the UA of a process station's jacket from a time on.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twin.data import scenario as E
from twin.observation.recorder import DOWN
from twin.simulation.flow import Context, Node, SourceNode
from twin.simulation.process_unit import ProcessNode
from twin.simulation.stations import EquipmentNode
from twin.simulation.units import Unit


def stopped_stations(nodes: dict[str, Node], events: list[Any]) -> set[str]:
    """Stations that an event may stop (their servers must be interruptible)."""
    names: set[str] = set()
    for ev in events:
        if isinstance(ev, E.InjectedFailure):
            names.add(ev.station)
        elif isinstance(ev, E.Outage):
            names |= set(ev.stations or [n for n, x in nodes.items()
                                         if isinstance(x, EquipmentNode)])
    return names


def start(ctx: Context, nodes: dict[str, Node], events: list[Any]) -> None:
    """Start one SimPy process per timed event."""
    for index, ev in enumerate(events):
        if isinstance(ev, E.InjectedFailure):
            node = nodes[ev.station]
            assert isinstance(node, EquipmentNode)
            units = node.units if ev.server is None else [node.units[ev.server]]
            ctx.env.process(_down(ctx, units, ev.at, ev.duration, "failure", "injected"))
        elif isinstance(ev, E.Outage):
            names = ev.stations or [n for n, x in nodes.items() if isinstance(x, EquipmentNode)]
            units = [u for n in names for u in nodes[n].units]  # type: ignore[attr-defined]
            ctx.env.process(_down(ctx, units, ev.at, ev.duration, "outage", ev.utility))
        elif isinstance(ev, E.Change):
            ctx.env.process(_change(ctx, nodes[ev.station], ev, index))
        elif isinstance(ev, E.Fouling):
            ctx.env.process(_foul(ctx, nodes[ev.station], ev))


def _down(ctx: Context, units: list[Unit], at: float, duration: float, kind: str,
          mode: str) -> Generator[Any, Any, None]:
    yield ctx.env.timeout(at - ctx.env.now)  # a time of the run (a run from a state)
    for u in units:
        u.rec_stop(ctx.env.now, u.code, kind, mode, duration)
        u.hold(DOWN)
    yield ctx.env.timeout(duration)
    for u in units:
        u.release(DOWN)


def _change(ctx: Context, node: Node, ev: E.Change, index: int) -> Generator[Any, Any, None]:
    yield ctx.env.timeout(ev.at - ctx.env.now)
    sampler = ev.value.sampler(ctx.streams.rng(node.name, ev.what, "change", str(index)))
    if isinstance(node, SourceNode):
        node.gap = sampler
    elif isinstance(node, EquipmentNode):
        node.cycle[:] = [sampler] * len(node.cycle)  # in place: running loops hold the list


def _foul(ctx: Context, node: Node, ev: E.Fouling) -> Generator[Any, Any, None]:
    yield ctx.env.timeout(ev.at - ctx.env.now)
    assert isinstance(node, ProcessNode)
    node.scale_heat_transfer(ev.factor)
