"""Start a run from a state (:mod:`twin.data.state`): parts in buffers and at servers, units
stopped, sources part-way to their next arrival.

:func:`place` runs before the nodes start (parts into buffers, the first job of each busy
server, the clocks of failures) and :func:`stop_units` after (stops in force). What is left
of a duration already under way is its conditional remaining time given the time it has
lasted (:func:`twin.data.residual.residual`): exactly the rest for a constant, a draw from
the distribution conditioned on exceeding the elapsed time for a random one. Remaining stop
times the state knows are used as they are.

Approximations (stated in ``docs/LIVE.md``): a batch station's partly loaded batch is put
back at the head of its buffer; a batch in process is recomputed from the composition and
temperature it had when it entered its phase; a batch returning to a process unit counts as
rework there when it has been reworked before.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from twin.data.residual import residual
from twin.data.state import LineState, PartState, UnitState, checked, phase_position
from twin.observation.recorder import (
    CREATED,
    DOWN,
    END,
    MAINTENANCE,
    PRODUCING,
    SETUP,
    START,
)
from twin.simulation.flow import Context, Node, Part, SourceNode
from twin.simulation.process_unit import ProcessNode
from twin.simulation.stations import EquipmentNode, InspectionNode
from twin.simulation.units import Unit


def place(ctx: Context, nodes: dict[str, Node], state: LineState) -> int:
    """Put the parts of ``state`` into the line and set each unit's first job and failure
    clocks; returns the number of parts placed."""
    checked(state, ctx.line)
    ctx.number_from(state.first_new_part())
    placed = 0
    for name, st in state.stations.items():
        node = nodes[name]
        if isinstance(node, SourceNode) and st.source is not None:
            src = st.source
            node.made = src.made
            if src.since_arrival is not None and node.spec.interarrival is not None:
                node.first_gap = residual(node.spec.interarrival, src.since_arrival,
                                          _rng(ctx, name, "arrival"))
            node.waiting = [_part(ctx, node, p) for p in src.waiting]
            placed += len(src.waiting)
        if not isinstance(node, EquipmentNode):
            continue
        for p in st.buffer:
            part = _part(ctx, node, p)
            node.store_for(part).items.append(part)
        placed += len(st.buffer)
        if node.buffer_tag is not None:
            node.buffer_level()
        for us in st.units:
            unit = node.units[us.server]
            _clocks(ctx, node, us)
            if us.last_product is not None:
                unit.last_product = ctx.product_code[us.last_product]
            if us.parts:
                parts = [_part(ctx, node, p) for p in us.parts]
                placed += len(parts)
                node.first[us.server] = _job(node, unit, us, parts,
                                             _rng(ctx, name, "work", str(us.server)),
                                             _operator_held(node, us))
    return placed


def stop_units(ctx: Context, nodes: dict[str, Node], state: LineState) -> None:
    """Begin the stops in force in ``state`` (after the nodes have started): a repair or a
    maintenance stop lasts its known remaining time, else the conditional remaining time of
    its distribution. Calendar-time failures are resumed by their own process."""
    for name, st in state.stations.items():
        node = nodes[name]
        if not isinstance(node, EquipmentNode):
            continue
        for us in st.units:
            stop = us.stop
            if stop is None:
                continue
            unit = node.units[us.server]
            rng = _rng(ctx, name, "stop", str(us.server))
            if stop.kind == "maintenance":
                plan = node.spec.maintenance
                assert plan is not None  # checked
                left = (stop.remaining if stop.remaining is not None
                        else residual(plan.duration, stop.elapsed, rng))
                ctx.env.process(_stopped(unit, MAINTENANCE, left, None))
                continue
            spec = next(f for f in node.spec.failures if f.name == stop.mode)
            if spec.basis != "operating":
                continue  # the calendar failure process holds it (see _clocks)
            left = (stop.remaining if stop.remaining is not None
                    else residual(spec.ttr, stop.elapsed, rng))
            wear = next(w for w in unit.wear if w.mode == stop.mode)
            ctx.env.process(_stopped(unit, DOWN, left, wear))


def _stopped(unit: Unit, state: int, left: float, wear: Any) -> Generator[Any, Any, None]:
    """Hold ``unit`` in a stop for ``left`` [s]; after a repair of an operating-time failure
    mode (``wear``), draw its next time to failure."""
    unit.hold(state)
    yield unit.env.timeout(left)
    unit.release(state)
    if wear is not None:
        wear.left = wear.ttf()


def _rng(ctx: Context, *key: str) -> np.random.Generator:
    """A random stream for what a start from a state draws (own keys: the line's other
    streams draw as they would)."""
    return ctx.streams.rng("(state)", *key)


def _clocks(ctx: Context, node: EquipmentNode, us: UnitState) -> None:
    """Failure clocks of one unit: the time to the next failure of each mode given its age
    (conditional remaining time), and a calendar-time repair under way."""
    unit = node.units[us.server]
    rng = _rng(ctx, node.name, "failure", str(us.server))
    for f in node.spec.failures:
        age = us.ages.get(f.name)
        down = None
        if us.stop is not None and us.stop.kind == "failure" and us.stop.mode == f.name:
            down = (us.stop.remaining if us.stop.remaining is not None
                    else residual(f.ttr, us.stop.elapsed, rng))
        if f.basis == "operating":
            if age is not None:
                wear = next(w for w in unit.wear if w.mode == f.name)
                wear.left = residual(f.ttf, age, rng)
        elif down is not None or age is not None:
            first = None if age is None else residual(f.ttf, age, rng)
            node.calendar_clocks[(us.server, f.name)] = (down, first)


def _part(ctx: Context, node: Node, p: PartState) -> Part:
    """A part of the state in the line: recorded as created at its time (so that WIP and
    the part flow count it), its material recorded as an input (``initial``, as a tank's
    initial contents) so that the ledger closes."""
    code = ctx.product_code[p.product]
    part = Part(p.id, code, p.created)
    part.reworks = p.reworks
    ctx.rec.event(p.created, p.id, code, node.code, CREATED)
    mat = ctx.materials
    if mat is not None:
        part.mass = np.zeros(len(mat.names))
        for species, kg in p.composition.items():
            part.mass[mat.code(species)] += kg
            ctx.rec.flow(ctx.env.now, p.id, node.code, "initial", mat.code(species), "input",
                         kg)
        ctx.live[p.id] = part
    if p.temperature is not None:
        part.temperature = p.temperature
    if ctx.watch_wip:
        ctx.count_part(1)
    return part


def _operator_held(node: EquipmentNode, us: UnitState) -> Any:
    """The operator a unit at work holds (requested now, before any process runs, so that
    units waiting for one queue behind it), or ``None``."""
    pool, during = node.pool, node.operator_during
    if pool is None or not us.parts or us.done or us.state in ("waiting", "idle"):
        return None
    if isinstance(node, ProcessNode):
        recipe = (node.reworks if us.parts[0].reworks else node.recipes)[
            node.ctx.product_code[us.parts[0].product]]
        cleaning = recipe[phase_position(recipe, us)].unit_state == "setup"
    else:
        cleaning = us.state == "setup"
    if during == "both" or (during == "setup") == cleaning:
        return pool.request()
    return None


def _job(node: EquipmentNode, unit: Unit, us: UnitState, parts: list[Part],
         rng: np.random.Generator, request: Any) -> Generator[Any, Any, None]:
    """What a server does first: finish the work on the parts it holds (with the operator
    ``request`` it holds), hand them on."""
    node.holding += len(parts)
    dest = None if us.to is None else _node(node, us.to)
    if isinstance(node, ProcessNode):
        yield from _batch(node, unit, us, parts[0], dest, rng, request)
        return
    if not us.done:
        if us.state in ("waiting", "idle"):
            yield from node._operate(unit, parts)  # taken but not started: all of it
        else:
            yield from _finish(node, unit, us, parts, rng, request)
        if isinstance(node, InspectionNode):
            yield from node.judge(unit, parts[0])
            return
    for part in parts:
        yield from node._send(unit, part, dest)


def _node(node: EquipmentNode, name: str) -> Node:
    """The node called ``name`` (a blocked part's destination)."""
    for dests, _, _ in node.router._table:  # type: ignore[union-attr]
        for d in dests:
            if d.name == name:
                return d
    rework = getattr(node, "rework_node", None)
    if rework is not None and rework.name == name:
        return rework
    raise ValueError(f"{node.name!r} does not send parts to {name!r}")


def _finish(node: EquipmentNode, unit: Unit, us: UnitState, parts: list[Part],
            rng: np.random.Generator, request: Any) -> Generator[Any, Any, None]:
    """The rest of a cycle (or of a setup, then a whole cycle) under way for ``us.elapsed``
    [s]: its conditional remaining time; the operator ``request`` held is released as the
    spec says, one needed later is asked for then."""
    env, spec = node.env, node.spec
    product = parts[0].product
    name = node.ctx.rec.products[product]
    pool, during = node.pool, node.operator_during
    unit.last_product = product  # the work under way is on it
    if us.state == "setup":
        assert spec.setup_time is not None
        yield from unit.work(residual(spec.setup_time, us.elapsed, rng), SETUP)
        if request is not None and during == "setup":
            pool.release(request)  # type: ignore[union-attr]
            request = None
        if pool is not None and during != "setup" and request is None:
            request = yield from node._operator(unit, pool)
        while unit.stopped:
            yield unit.wait_up()
        for p in parts:
            node._event(env.now, p.id, p.product, node.code, START)
        cycle = node.cycle[product]()
    else:
        cycle = residual(spec.product_cycle_time.get(name, spec.cycle_time), us.elapsed, rng)
    yield from unit.work(cycle, PRODUCING)
    if request is not None:
        pool.release(request)  # type: ignore[union-attr]
    for p in parts:
        node._event(env.now, p.id, p.product, node.code, END)


def _batch(node: ProcessNode, unit: Unit, us: UnitState, part: Part, dest: Node | None,
           rng: np.random.Generator, request: Any) -> Generator[Any, Any, None]:
    """A batch in a process unit: resume it in its phase, then its remaining phases."""
    if us.done:
        yield from node._send(unit, part, dest)
        return
    if part.reworks:
        node.seen.add(part.id)
    recipe = (node.reworks if part.reworks else node.recipes)[part.product]
    first = phase_position(recipe, us)
    phase = recipe[first]
    dist = getattr(phase, "duration", None) or getattr(phase, "time", None)
    elapsed = us.elapsed
    draw = None
    if dist is not None and elapsed > 0:
        def draw(_phase: Any) -> float:
            return elapsed + residual(dist, elapsed, rng)
    yield from node.batch(unit, part, first, elapsed, draw, request)
