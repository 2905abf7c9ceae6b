"""Equipment at run time: machines, inspection, batch stations and assembly.

Each server of a station is a :class:`~twin.simulation.units.Unit` running one SimPy process
that takes parts from the station's input buffer (a ``simpy.Store`` with the spec's capacity),
works on them and pushes them on, blocking while the next buffer is full (blocking after
service). Only discrete logic lives here; durations come from the spec's distributions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from typing import Any

import numpy as np
import simpy

from twin.data import spec as S
from twin.observation.recorder import (
    ARRIVE,
    ASSEMBLED,
    BLOCKED,
    CONSUMED,
    DOWN,
    END,
    IDLE,
    MAINTENANCE,
    PRODUCING,
    REWORK,
    SCRAP,
    SCRAPPED,
    SETUP,
    START,
    WAITING,
)
from twin.observation.run_warnings import warning
from twin.process import phases
from twin.simulation.flow import Context, Node, Part, quantum
from twin.simulation.run_errors import DeadlockError
from twin.simulation.streams import uniform_stream
from twin.simulation.units import OperatingFailure, Unit
from twin.simulation.watchdog import cycle_of, stuck_stations

INF = float("inf")
STARVED_STRETCH = 10.0
"""A phase stretched more than this many times by a utility's capacity is warned about."""


def _missed_target(phase: Any, out: phases.Outcome) -> str:
    """Why a batch is off-spec after ``phase`` (empty: it is not): a reaction that reached
    its time limit before its target conversion. (One stopped at its temperature limit is a
    safety stop the recipe handles: it goes on.)"""
    if phase.phase != "react" or out.summary.get("ended_by") != "end_time":
        return ""
    return (f"reached its time limit at {out.duration:g} s with conversion "
            f"{100 * float(out.summary['conversion']):.3g} % "
            f"(target {100 * phase.target_conversion:.3g} %)")


def settle(store: simpy.Store, extra: int = 0) -> tuple[int, int, int]:
    """``store`` once the hand-overs already decided at this instant are done, with ``extra``
    more parts put now: (parts in it, parts given to waiting servers, puts still waiting).

    SimPy serves a waiting get after a put (and a waiting put after a get) when that event is
    processed, later at the same time; counting them now avoids zero-length glitches.
    """
    n, gets, puts, cap = len(store.items), len(store.get_queue), \
        len(store.put_queue) + extra, store.capacity
    given = 0
    while True:
        taken = min(n, gets)
        n, gets, given = n - taken, gets - taken, given + taken
        added = int(min(puts, cap - n))
        n, puts = n + added, puts - added
        if not (gets and n):
            return n, given, puts


def settled(store: simpy.Store) -> int:
    """Parts in ``store`` once the hand-overs already decided at this instant are done."""
    return settle(store)[0]


class Buffer(simpy.Store):
    """An input buffer: a ``simpy.Store`` that also counts the parts given to a waiting
    server but not yet taken up (its process resumes later in the same instant), so that a
    station's load (least-loaded routing) includes them. Whoever takes a part up from a
    get decrements :attr:`passing`."""

    def __init__(self, env: simpy.Environment, capacity: float) -> None:
        super().__init__(env, capacity=capacity)
        self.passing = 0

    def _do_get(self, event: Any) -> bool | None:
        if self.items:
            self.passing += 1
            event.succeed(self.items.pop(0))
        return None


class HandOver(Buffer):
    """An input buffer with no slots (``buffer = 0``): a part passes only straight to a
    server already waiting for one; until then its sender holds it (blocked). Waiting
    senders and servers are matched first come, first served."""

    def __init__(self, env: simpy.Environment) -> None:
        super().__init__(env, capacity=1)
        self._capacity = 0  # nothing is ever kept: ``settled`` and loads count 0 slots

    def _do_put(self, event: Any) -> bool | None:
        for get in self.get_queue:
            if not get.triggered:
                self.get_queue.remove(get)
                self.passing += 1
                get.succeed(event.item)
                event.succeed()
                return True
        return None

    def _do_get(self, event: Any) -> bool | None:
        for put in self.put_queue:
            if not put.triggered:
                self.put_queue.remove(put)
                self.passing += 1
                put.succeed()
                event.succeed(put.item)
                return True
        return None


def input_buffer(env: simpy.Environment, slots: int | None) -> Buffer:
    """An input buffer of ``slots`` places (``None``: unlimited, 0: direct hand-over)."""
    if slots == 0:
        return HandOver(env)
    return Buffer(env, capacity=INF if slots is None else slots)


def can_take_now(store: simpy.Store) -> bool:
    """Whether a part put into ``store`` now enters at this instant, counting the hand-overs
    already decided at it (:func:`settle`)."""
    if isinstance(store, HandOver):
        return any(not g.triggered for g in store.get_queue)
    return settle(store, 1)[2] == 0


class EquipmentNode(Node):
    """Common machinery of every station with servers."""

    spec: S.Equipment

    def __init__(self, ctx: Context, name: str, spec: S.Equipment) -> None:
        super().__init__(ctx, name, spec)
        streams, rec = ctx.streams, ctx.rec
        self.queue = input_buffer(self.env, spec.buffer)
        self.stores: list[Buffer] = [self.queue]  # every input buffer, once
        default = spec.cycle_time.sampler(streams.rng(name, "cycle"))
        self.cycle: list[Callable[[], float]] = [default] * len(ctx.product_code)
        for product, dist in spec.product_cycle_time.items():
            self.cycle[ctx.product_code[product]] = dist.sampler(
                streams.rng(name, "cycle", product))
        self.setup = (spec.setup_time.sampler(streams.rng(name, "setup"))
                      if spec.setup_time is not None else None)
        self.pool = ctx.pools[spec.operator.pool] if spec.operator else None
        self.operator_during = spec.operator.during if spec.operator else ""
        self.holding = 0
        self.units: list[Unit] = []
        for i in range(spec.servers):
            unit = Unit(self.env, rec.add_unit(self.code, i), rec.state, rec.stop)
            for f in spec.failures:
                if f.basis == "operating":
                    key = (name, "failure", f.name, str(i))
                    unit.wear.append(OperatingFailure(
                        f.name, f.ttf.sampler(streams.rng(*key, "ttf")),
                        f.ttr.sampler(streams.rng(*key, "ttr"))))
            self.units.append(unit)
        self.interruptible = bool(spec.failures or spec.maintenance
                                  or (ctx.line.calendar and spec.follows_calendar))
        self._event = rec.event
        #: Whether an alarm watches this station's input buffer (signals cost nothing if not).
        self.buffer_tag = f"buffer.{name}" if f"buffer.{name}" in ctx.watch else None

    def buffer_level(self) -> None:
        """Record the parts in the input buffer(s) now (only while watched)."""
        assert self.buffer_tag is not None
        self.ctx.signal(self.buffer_tag, float(sum(settled(q) for q in self.stores)))

    # --------------------------------------------------------------- hand-over

    def store_for(self, part: Part) -> Buffer:
        """The input buffer ``part`` waits in."""
        return self.queue

    def accept(self, part: Part) -> simpy.Event | None:
        ev = self.store_for(part).put(part)
        if ev.triggered:
            self._event(self.env.now, part.id, part.product, self.code, ARRIVE)
            if self.buffer_tag is not None:
                self.buffer_level()
            return None
        return ev

    def load(self) -> int:
        """Parts in the buffers and at the servers, once this instant's decided hand-overs
        are done (parts given to a server count as held by it)."""
        return sum(n + given + q.passing for q in self.stores
                   for n, given, _ in [settle(q)]) + self.holding

    def can_take(self, part: Part) -> bool:
        return can_take_now(self.store_for(part))

    # --------------------------------------------------------------- processes

    def start(self) -> None:
        for i, unit in enumerate(self.units):
            unit.set(IDLE)
            unit.proc = self.env.process(self._serve(unit))
            for f in self.spec.failures:
                if f.basis == "calendar":
                    key = (self.name, "failure", f.name, str(i))
                    self.env.process(self._calendar_failures(
                        unit, f.name, f.ttf.sampler(self.ctx.streams.rng(*key, "ttf")),
                        f.ttr.sampler(self.ctx.streams.rng(*key, "ttr"))))
            if self.spec.maintenance is not None:
                self.env.process(self._maintenance(unit, self.spec.maintenance, i))

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        raise NotImplementedError

    def _take(self, unit: Unit, store: Buffer) -> Generator[Any, Any, Part]:
        """Take the next part from ``store``, idle (starved) while there is none.

        A unit that stops while it waits (a failure, maintenance, the end of a shift)
        withdraws its request, so parts arriving meanwhile wait in the buffer (where other
        units, routing and the buffer's level see them), and asks again once it is back.
        """
        while True:
            while unit.stopped:
                yield unit.wait_up()
            req = store.get()
            if self.buffer_tag is not None:
                self.buffer_level()
            if not req.triggered:
                unit.set(IDLE)
                if self.interruptible:
                    yield req | unit.next_stop()
                    if not req.triggered:  # stopped first: the part stays in the buffer
                        req.cancel()
                        continue
                else:
                    yield req
            store.passing -= 1
            self.holding += 1
            return req.value

    def _send(self, unit: Unit, part: Part,
              dest: Node | None = None) -> Generator[Any, Any, None]:
        """Push ``part`` on (along its route, or to ``dest``), blocked while the next
        station's buffer is full."""
        if dest is None:
            out = self.push(part)
        else:
            ev = dest.accept(part)
            out = None if ev is None else (ev, dest)
        if out is not None:
            unit.set(BLOCKED)
            self._block(unit, out)
            yield out[0]
            unit.blocked = None
            out[1].arrived(part)
        self.holding -= 1

    def _block(self, unit: Unit, out: tuple[simpy.Event, Node]) -> None:
        """``unit`` waits to hand a part to ``out[1]`` (its buffer full): check for a
        deadlock once every server of this station waits so."""
        unit.blocked = out
        if self.waits() is None:
            return
        stuck = stuck_stations(self)
        if stuck is None:
            return
        ctx, now = self.ctx, self.env.now
        cycle = cycle_of(self)
        names = sorted(n.name for n in stuck)
        if any(w["code"] == "deadlock" and w["stations"] == names for w in ctx.warnings):
            return
        message = (f"deadlock at t = {now:g} s: {' -> '.join(cycle)}: every server of "
                   f"{', '.join(repr(n) for n in names)} holds a part for a full buffer on "
                   "this cycle, so nothing there can move again")
        if ctx.line.run.on_deadlock != "continue":
            raise DeadlockError(message + " (to record it and run on: run setting "
                                "on_deadlock = 'continue', or twin run --run-on-deadlock)",
                                now, cycle[:-1])
        ctx.warnings.append(warning("deadlock", message, now, names))

    def waits(self) -> list[Node] | None:
        dests = []
        for u in self.units:
            b = u.blocked
            if b is None or b[0].triggered:
                return None
            dests.append(b[1])
        return dests

    def _operate(self, unit: Unit, parts: Sequence[Part]) -> Generator[Any, Any, None]:
        """Set up if the product changed, get an operator if needed, run one cycle."""
        env, event, code = self.env, self._event, self.code
        product = parts[0].product
        pool, during = self.pool, self.operator_during
        request = None
        if self.setup is not None and 0 <= unit.last_product != product:
            if pool is not None and during != "processing":
                request = yield from self._operator(unit, pool)
            yield from unit.work(self.setup(), SETUP)
            if request is not None and during == "setup":
                pool.release(request)  # type: ignore[union-attr]
                request = None
        unit.last_product = product
        if pool is not None and during != "setup" and request is None:
            request = yield from self._operator(unit, pool)
        while unit.stopped:  # a part taken while the unit was stopped starts after the stop
            yield unit.wait_up()
        now = env.now
        for p in parts:
            event(now, p.id, p.product, code, START)
        duration = self.cycle[product]()
        if self.interruptible:
            yield from unit.work(duration, PRODUCING)
        else:
            unit.set(PRODUCING)
            yield env.timeout(duration)
        if request is not None:
            pool.release(request)  # type: ignore[union-attr]
        now = env.now
        for p in parts:
            event(now, p.id, p.product, code, END)

    def _scrap(self, part: Part) -> None:
        """Scrap ``part`` here: it leaves the line (its material as waste)."""
        now, rec, ctx = self.env.now, self.ctx.rec, self.ctx
        rec.event(now, part.id, part.product, self.code, SCRAP)
        rec.part_done(part.id, part.product, part.created, now, SCRAPPED, part.reworks)
        ctx.leave(part, "waste", self.code)
        if ctx.kpis is not None:
            ctx.kpis.finished(False, now - part.created)
        if ctx.watch_wip:
            ctx.count_part(-1)
        self.holding -= 1

    @staticmethod
    def _operator(unit: Unit, pool: simpy.Resource) -> Generator[Any, Any, Any]:
        request = pool.request()
        if not request.triggered:
            unit.set(WAITING)
            yield request
        return request

    def _calendar_failures(self, unit: Unit, mode: str, ttf: Callable[[], float],
                           ttr: Callable[[], float]) -> Generator[Any, Any, None]:
        """Failures counted in elapsed time, whatever the unit is doing."""
        while True:
            yield self.env.timeout(ttf())
            repair = ttr()
            unit.rec_stop(self.env.now, unit.code, "failure", mode, repair)
            unit.hold(DOWN)
            yield self.env.timeout(repair)
            unit.release(DOWN)

    def _maintenance(self, unit: Unit, plan: S.Maintenance,
                     index: int) -> Generator[Any, Any, None]:
        """Planned maintenance stops every ``plan.every`` of calendar time."""
        duration = plan.duration.sampler(self.ctx.streams.rng(self.name, "maintenance",
                                                              str(index)))
        due = plan.every if plan.first is None else plan.first
        while True:
            yield self.env.timeout(max(0.0, due - self.env.now))
            length = duration()
            unit.rec_stop(self.env.now, unit.code, "maintenance", "planned", length)
            unit.hold(MAINTENANCE)
            yield self.env.timeout(length)
            unit.release(MAINTENANCE)
            due += plan.every


class MachineNode(EquipmentNode):
    """One or more identical parallel servers sharing one input buffer."""

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        if not (self.interruptible or self.setup or self.pool or self.buffer_tag):
            return (yield from self._serve_plain(unit))
        while True:
            part = yield from self._take(unit, self.queue)
            yield from self._operate(unit, (part,))
            yield from self._send(unit, part)

    def _serve_plain(self, unit: Unit) -> Generator[Any, Any, None]:
        """The same loop for a machine that never stops, sets up or waits for operators.

        It is the hot path of large runs, so it binds everything it calls to locals.
        """
        env, queue, cycle, code, rec = self.env, self.queue, self.cycle, self.code, self.ctx.rec
        get = queue.get
        at, ap, apr, ast, ak = (rec.e_time.append, rec.e_part.append, rec.e_product.append,
                                rec.e_station.append, rec.e_kind.append)
        push, set_state, timeout = self.push, unit.set, env.timeout
        while True:
            req = get()
            if req.triggered:
                part = req.value
            else:
                set_state(IDLE)
                part = yield req
            queue.passing -= 1
            self.holding += 1
            at(env.now), ap(part.id), apr(part.product), ast(code), ak(START)
            set_state(PRODUCING)
            yield timeout(cycle[part.product]())
            at(env.now), ap(part.id), apr(part.product), ast(code), ak(END)
            out = push(part)
            if out is not None:
                set_state(BLOCKED)
                self._block(unit, out)
                yield out[0]
                unit.blocked = None
                out[1].arrived(part)
            self.holding -= 1


class InspectionNode(EquipmentNode):
    """Tests each part: pass on, send back for rework, or scrap."""

    spec: S.Inspection

    def connect(self, nodes: dict[str, Node]) -> None:
        super().connect(nodes)
        self.rework_node = nodes[self.spec.rework_to] if self.spec.rework_to else None
        self._u = uniform_stream(self.ctx.streams.rng(self.name, "quality"))

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        spec, rec = self.spec, self.ctx.rec
        p_scrap, p_fail = spec.scrap_probability, spec.scrap_probability + spec.rework_probability
        while True:
            part = yield from self._take(unit, self.queue)
            yield from self._operate(unit, (part,))
            u = self._u()
            if u < p_scrap or (u < p_fail and part.reworks >= spec.max_reworks):
                self._scrap(part)
            elif u < p_fail:
                part.reworks += 1
                rec.event(self.env.now, part.id, part.product, self.code, REWORK)
                assert self.rework_node is not None
                yield from self._send(unit, part, self.rework_node)
            else:
                yield from self._send(unit, part)


class BatchNode(EquipmentNode):
    """Loads up to ``batch_size`` parts and processes them together in one cycle."""

    spec: S.Batch

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        spec, env, queue = self.spec, self.env, self.queue
        size = spec.batch_size
        min_batch = spec.min_batch or (1 if spec.max_wait is not None else size)
        max_wait = spec.max_wait if spec.max_wait is not None else (
            0.0 if spec.min_batch is not None else None)
        while True:
            batch = [(yield from self._take(unit, queue))]
            unit.set(IDLE)  # loading
            first = env.now
            while len(batch) < size:
                if queue.items:
                    batch.append((yield from self._take(unit, queue)))
                    continue
                if max_wait is not None and len(batch) >= min_batch:
                    left = first + max_wait - env.now
                    if left <= 0:
                        break
                    req = queue.get()
                    if self.buffer_tag is not None:
                        self.buffer_level()
                    yield req | env.timeout(left)
                    if req.triggered:  # also when the part came at the very instant of the timeout
                        queue.passing -= 1
                        self.holding += 1
                        batch.append(req.value)
                    else:
                        req.cancel()
                        break
                else:
                    batch.append((yield from self._take(unit, queue)))
            yield from self._operate(unit, batch)
            for part in batch:
                yield from self._send(unit, part)


class AssemblyNode(EquipmentNode):
    """Joins a base part with components, each product waiting in its own queue."""

    spec: S.Assembly

    def __init__(self, ctx: Context, name: str, spec: S.Assembly) -> None:
        super().__init__(ctx, name, spec)
        self.base_queue = input_buffer(self.env, spec.buffer)
        self.queues = {ctx.product_code[p]: self.base_queue for p in spec.base}
        self.queues.update({ctx.product_code[p]: input_buffer(self.env, spec.buffer)
                            for p in spec.components})
        self.stores = list({id(q): q for q in self.queues.values()}.values())
        self.parts_needed = [(ctx.product_code[p], q) for p, q in spec.components.items()]
        self.output = (ctx.product_code[spec.output_product]
                       if spec.output_product is not None else None)

    def store_for(self, part: Part) -> Buffer:
        return self.queues[part.product]

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        rec = self.ctx.rec
        while True:
            base = yield from self._take(unit, self.base_queue)
            components = []
            for code, quantity in self.parts_needed:
                for _ in range(quantity):
                    components.append((yield from self._take(unit, self.queues[code])))
            yield from self._operate(unit, (base,))
            now = self.env.now
            for c in components:
                rec.event(now, c.id, c.product, self.code, CONSUMED)
                rec.part_done(c.id, c.product, c.created, now, ASSEMBLED, c.reworks)
                if c.mass is not None:  # a consumed batch's material joins the base part
                    base.mass = c.mass.copy() if base.mass is None else base.mass + c.mass
                self.ctx.live.pop(c.id, None)
                if self.ctx.watch_wip:
                    self.ctx.count_part(-1)
            self.holding -= len(components)
            if self.output is not None:
                base.product = self.output
            yield from self._send(unit, base)



class ProcessNode(EquipmentNode):
    """A batch process unit: each batch it holds goes through the recipe's phases in order.

    A phase's outcome (duration, flows, heat) is computed when it starts
    (:func:`twin.process.phases.compute`); the unit then waits for utility capacity
    (state ``waiting``), works for the duration (``setup`` for cleaning, else ``producing``;
    stops extend it) and applies the material flows when the phase ends. A phase whose
    average load exceeds its utility's capacity runs at the capacity, for longer.
    """

    spec: S.Process

    def __init__(self, ctx: Context, name: str, spec: S.Process) -> None:
        super().__init__(ctx, name, spec)
        self.interruptible = True
        by_code = sorted(ctx.product_code, key=ctx.product_code.__getitem__)
        # indexed by product code; own lists, so fouling can swap phases without the spec
        self.recipes = [list(spec.recipe_for(p)) for p in by_code]
        self.reworks = [list(spec.rework_for(p)) for p in by_code]
        self.seen: set[int] = set()  # batches that ran their recipe here (a return is rework)
        self._samplers: dict[int, Callable[[], float]] = {}
        extra = [("rework", spec.rework_recipe)] if spec.rework_recipe is not None else []
        for key, recipe in [("", spec.recipe), *spec.product_recipes.items(), *extra]:
            for i, ph in enumerate(recipe):
                dist = getattr(ph, "duration", None) or getattr(ph, "time", None)
                if dist is not None:
                    self._samplers[id(ph)] = dist.sampler(
                        ctx.streams.rng(name, "phase", *([key] if key else []), str(i)))
        tag = f"temperature.{name}"
        self.temperature_tag = tag if tag in ctx.watch else None
        self._warned: dict[str, dict[str, Any]] = {}  # this unit's warnings, by kind
        self._first_off_spec = ""  # the first off-spec batch and why

    def _draw(self, phase: Any) -> float:
        return self._samplers[id(phase)]()

    def scale_heat_transfer(self, factor: float) -> None:
        """From now on, phases that start use ``factor`` x the ``ua`` of their jacket (a
        fouled jacket: ``factor`` < 1); a phase already running keeps its own. Phases keep
        their random streams."""
        new: dict[int, Any] = {}
        for recipe in (*self.recipes, *self.reworks):
            for i, ph in enumerate(recipe):
                if getattr(ph, "ua", None) is None:
                    continue
                if id(ph) not in new:
                    new[id(ph)] = ph.model_copy(update={"ua": ph.ua * factor})
                    if id(ph) in self._samplers:
                        self._samplers[id(new[id(ph)])] = self._samplers[id(ph)]
                recipe[i] = new[id(ph)]

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        mat = self.ctx.materials
        assert mat is not None
        while True:
            part = yield from self._take(unit, self.queue)
            if part.mass is None:
                part.mass = np.zeros(len(mat.names))
            while unit.stopped:
                yield unit.wait_up()
            self._event(self.env.now, part.id, part.product, self.code, START)
            if self.temperature_tag is not None:
                self.ctx.signal(self.temperature_tag, part.temperature)
            request = None
            missed = []
            rework = part.id in self.seen
            self.seen.add(part.id)
            for phase in (self.reworks if rework else self.recipes)[part.product]:
                request = yield from self._staff(unit, phase, request)
                out = phases.compute(phase, self.spec, self.name, part.mass, part.temperature,
                                     mat, self._draw)
                reason = _missed_target(phase, out)
                if reason:
                    missed.append(f"{phase.name or phase.phase}: {reason}")
                yield from self._run_phase(unit, part, phase, out)
            if request is not None:
                self.pool.release(request)  # type: ignore[union-attr]
            self._event(self.env.now, part.id, part.product, self.code, END)
            if missed:
                self._off_spec(part, "; ".join(missed))
            else:
                yield from self._send(unit, part)

    def _off_spec(self, part: Part, reason: str) -> None:
        """Scrap a batch that missed a phase's target, with the reason in the run warnings
        (one warning per station, listing every such batch)."""
        self._scrap(part)
        w = self._warned.get("off_spec")
        if w is None:
            first = f"batch {part.id} at t = {self.env.now:g} s: {reason}"
            w = self._warned["off_spec"] = warning("off_spec_batch", first, self.env.now,
                                                   [self.name])
            self.ctx.warnings.append(w)
            self._first_off_spec = first
        w["units"].append(part.id)
        w["message"] = (f"{len(w['units'])} batch(es) at {self.name!r} missed their target and "
                        f"were scrapped (off-spec); the first, {self._first_off_spec}")

    def _staff(self, unit: Unit, phase: Any, request: Any) -> Generator[Any, Any, Any]:
        """Hold an operator through the phases that need one (``during``: ``setup`` means
        the cleaning phases, ``processing`` the others, ``both`` all); returns the request
        held for ``phase`` (``None``: no operator)."""
        pool = self.pool
        if pool is None:
            return None
        cleaning = phase.phase == "clean"
        needed = self.operator_during == "both" or (
            (self.operator_during == "setup") == cleaning)
        if needed and request is None:
            return (yield from self._operator(unit, pool))
        if not needed and request is not None:
            pool.release(request)
            return None
        return request

    def _run_phase(self, unit: Unit, part: Part, phase: Any,
                   out: phases.Outcome) -> Generator[Any, Any, None]:
        env, ctx = self.env, self.ctx
        demands = dict(out.uses)  # utility -> amount: heat [J] or medium volume [m3]
        if out.utility and out.heat > 0:
            demands[out.utility] = out.heat
        duration = out.duration
        for name, amount in demands.items():  # a capacity limits the rate: slower, same use
            capacity = ctx.line.utilities[name].capacity
            if capacity is not None and duration * capacity < amount:
                duration = amount / capacity
                if duration > STARVED_STRETCH * out.duration:
                    self._starved(phase, name, amount / out.duration if out.duration else
                                  math.inf, capacity, out.duration, duration)
        loads = {n: a / duration for n, a in demands.items() if duration > 0 and a > 0}
        emits = {sp: kg / duration for sp, kind, kg in out.flows
                 if kind == "emission" and kg > 0 and duration > 0
                 and sp in ctx.emission_tags}  # rates of watched emissions [kg/s]
        held = []
        for name in sorted(loads):  # one global order: no circular wait between units
            store = ctx.utilities.get(name)
            if store is None:
                continue
            share = min(math.ceil(loads[name] * quantum(ctx.line.utilities[name])),
                        store.capacity)
            request = store.get(share)
            if not request.triggered:
                unit.set(WAITING)
                yield request
            held.append((store, share))

        started: list[float] = []
        done = [False]

        def pause(stopped: bool) -> None:  # draws only while working (capacity stays held)
            for name, load in loads.items():
                ctx.utility_load(name, -load if stopped else load)
            for sp, rate in emits.items():
                ctx.emission_rate(sp, rate, not stopped)
            if not stopped and not started:  # the phase starts when its work first starts
                started.append(env.now)
                if (self.temperature_tag is not None and out.profile is not None
                        and "temperature_K" in out.columns):
                    env.process(self._temperature_profile(
                        env.now, duration / out.duration if out.duration else 1.0, out, done))

        # a phase is not paused by the calendar: it runs on past a shift end (operator
        # rule), and the next phase waits for the next shift
        yield from unit.run_on(
            unit.work(duration, SETUP if phase.phase == "clean" else PRODUCING, pause))
        pause(True)
        start = started[0]
        done[0] = True
        for store, share in held:
            store.put(share)
        load = loads.get(out.utility, 0.0) if out.utility else 0.0
        now, label = env.now, phase.name or phase.phase
        assert part.mass is not None
        for species, kind, kg in out.flows:
            ctx.rec.flow(now, part.id, self.code, label, species, kind, kg)
            part.mass[species] += kg if kind in ("input", "transformation") else -kg
        if out.temperature is not None:
            part.temperature = out.temperature
        if self.temperature_tag is not None:
            ctx.signal(self.temperature_tag, part.temperature)
        ctx.rec.phase({
            "part": part.id, "station": self.code, "phase": label, "kind": phase.phase,
            "start": start, "end": now, "planned_s": out.duration,
            "utility": out.utility or "", "heat_J": out.heat,
            "load_W": load, "water_kg": out.water, "wastewater_kg": out.wastewater,
            "cod_kg": out.cod, "temperature_K": part.temperature,
            **{f"{medium}_m3": volume for medium, volume in out.uses.items()},
            **{k: v for k, v in out.summary.items()},
        })
        if out.profile is not None:
            ctx.rec.profile(part.id, self.code, label, start,
                            duration / out.duration if out.duration else 1.0, out.profile,
                            out.columns)

    def _starved(self, phase: Any, utility: str, need: float, capacity: float,
                 planned: float, duration: float) -> None:
        """Warn (once per station and utility) that a phase runs far slower than planned for
        want of utility capacity."""
        key = f"starved:{utility}"
        if key in self._warned:
            return
        label = phase.name or phase.phase
        unit = "m3/s" if self.ctx.line.utilities[utility].is_medium else "W"
        self._warned[key] = warning("utility_starved", (
            f"phase {label!r} at {self.name!r} needs {need:.3g} {unit} of utility {utility!r} "
            f"on average but its capacity is {capacity:.3g} {unit}: the phase takes "
            f"{duration:.3g} s instead of {planned:.3g} s"), self.env.now, [self.name])
        self.ctx.warnings.append(self._warned[key])

    def _temperature_profile(self, start: float, stretch: float, out: phases.Outcome,
                             done: list[bool]) -> Generator[Any, Any, None]:
        """Play a phase's kernel temperature profile into the watched temperature signal:
        a point whenever it moved 0.1 K or more since the last one, and the peak (profile
        time stretched like the ``profiles`` table; stops do not shift it)."""
        assert out.profile is not None and self.temperature_tag is not None
        data = np.asarray(out.profile)
        times = data[:, out.columns.index("time_s")]
        temps = data[:, out.columns.index("temperature_K")]
        peak = int(np.argmax(temps))
        points: list[tuple[float, float]] = []
        last = math.nan
        for i, (t, temp) in enumerate(zip(times.tolist(), temps.tolist(), strict=True)):
            if t >= out.duration:
                break  # the phase end records the end temperature
            if i == peak or not abs(temp - last) < 0.1:
                points.append((start + t * stretch, temp))
                last = temp
        env, signal, tag = self.env, self.ctx.signal, self.temperature_tag
        for at, temp in points:
            if at > env.now:
                yield env.timeout(at - env.now)
            if done[0]:
                return
            signal(tag, temp)
