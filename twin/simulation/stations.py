"""Equipment at run time: machines, inspection, batch stations and assembly.

Each server of a station is a :class:`~twin.simulation.units.Unit` running one SimPy process
that takes parts from the station's input buffer (a ``simpy.Store`` with the spec's capacity),
works on them and pushes them on, blocking while the next buffer is full (blocking after
service). Only discrete logic lives here; durations come from the spec's distributions.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any, ClassVar

import simpy

from twin.data import spec as S
from twin.data.energy_schedule import avoided_intervals, earliest_start
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
from twin.simulation.flow import Context, Node, Part
from twin.simulation.streams import uniform_stream
from twin.simulation.units import OperatingFailure, Unit
from twin.simulation.watchdog import check_deadlock, granted, server_clause

INF = float("inf")


def _then(first: Generator[Any, Any, None],
          then: Generator[Any, Any, None]) -> Generator[Any, Any, None]:
    """Run ``first`` to its end, then ``then``."""
    yield from first
    yield from then


def _avoided(line: S.LineSpec, spec: S.Equipment) -> list[tuple[float, float]]:
    """The daily intervals [s] ``spec``'s energy schedule avoids (tariff periods, dirty
    grid hours)."""
    if spec.energy_schedule is None:
        return []
    tariff = line.costs.electricity if line.costs is not None else None
    return avoided_intervals(spec.energy_schedule, tariff, line.energy.grid)


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

    spec_type: ClassVar[type] = S.Equipment

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
        #: Daily intervals [s after midnight] work keeps out of (its energy schedule), and
        #: the planned cycle time [s] by product code that decides whether work fits first.
        self.avoided = _avoided(ctx.line, spec)
        self.planned = [spec.product_cycle_time.get(p, spec.cycle_time).mean()
                        for p in sorted(ctx.product_code, key=ctx.product_code.__getitem__)
                        ] if self.avoided else []
        self._event = rec.event
        #: A run started from a state: the job each server finishes first (by server), and
        #: per (server, calendar-time failure mode) the repair time left and the time to the
        #: next failure [s] (:mod:`twin.simulation.resume`).
        self.first: dict[int, Generator[Any, Any, None]] = {}
        self.calendar_clocks: dict[tuple[int, str], tuple[float | None, float | None]] = {}
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
        if self.buffer_tag is not None:  # also a put that waits: a slot may free at once
            self.buffer_level()
        if ev.triggered:
            self._event(self.env.now, part.id, part.product, self.code, ARRIVE)
            return None
        return ev

    def load(self) -> int:
        """Parts in the buffers and at the servers, once this instant's decided hand-overs
        are done (parts given to a server count as held by it)."""
        return sum(n + given + q.passing for q in self.stores
                   for n, given, _ in [settle(q)]) + self.holding

    def can_take(self, part: Part) -> bool:
        return can_take_now(self.store_for(part))

    def stores_for(self, code: int | None) -> list[Any]:
        return [self.queue]

    # --------------------------------------------------------------- processes

    def start(self) -> None:
        for i, unit in enumerate(self.units):
            unit.set(IDLE)
            first = self.first.get(i)
            unit.proc = self.env.process(self._serve(unit) if first is None
                                         else _then(first, self._serve(unit)))
            for f in self.spec.failures:
                if f.basis == "calendar":
                    key = (self.name, "failure", f.name, str(i))
                    self.env.process(self._calendar_failures(
                        unit, f.name, f.ttf.sampler(self.ctx.streams.rng(*key, "ttf")),
                        f.ttr.sampler(self.ctx.streams.rng(*key, "ttr")),
                        *self.calendar_clocks.get((i, f.name), (None, None))))
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
                if self.watch_starving:
                    self._starve(unit, req, store)
                if self.interruptible:
                    yield req | unit.next_stop()
                    unit.starved = None
                    if not req.triggered:  # stopped first: the part stays in the buffer
                        req.cancel()
                        continue
                else:
                    yield req
                    unit.starved = None
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
        deadlock."""
        unit.blocked = out
        check_deadlock(self)

    def _starve(self, unit: Unit, req: simpy.Event, store: Any) -> None:
        """``unit`` waits for a part from ``store`` (an input store of ``self``, or a tank;
        ``req`` pending): check for a deadlock (only where a starved server can close one:
        :func:`~twin.simulation.watchdog.wire`)."""
        owner = self if store in self.stores else store
        unit.starved = (req, owner.suppliers.get(id(store), []), owner)
        check_deadlock(self)

    def held_up(self) -> bool:
        return all(u.blocked is not None or u.starved is not None for u in self.units)

    def waits(self) -> list[Node] | None:
        nodes: list[Node] = []
        for u in self.units:
            b = u.blocked
            if b is not None:
                if granted(b[0]):
                    return None
                nodes.append(b[1])
                continue
            s = u.starved
            if s is None or granted(s[0]) or not s[1] or s[2].incoming:
                return None
            nodes.extend(s[1])
        return nodes

    def why(self) -> tuple[str, bool]:
        into = {u.blocked[1].name: u.blocked[1] for u in self.units if u.blocked is not None}
        wanted = sorted({n.name for u in self.units if u.starved is not None
                         for n in u.starved[1]})
        plain = not wanted and all(isinstance(n, EquipmentNode) for n in into.values())
        return server_clause(self.name, sorted(into), wanted), plain

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
        if self.avoided:
            yield from self._when_cheap(unit, self.planned[product])
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

    def _when_cheap(self, unit: Unit, duration: float) -> Generator[Any, Any, None]:
        """Hold ready work, the unit idle, until work of ``duration`` [s] runs outside the
        avoided tariff periods (:func:`twin.data.energy_schedule.earliest_start`) and the
        unit is up."""
        while True:
            start = earliest_start(self.env.now, duration, self.avoided)
            if start > self.env.now:
                unit.set(IDLE)
                yield self.env.timeout(start - self.env.now)
            elif unit.stopped:
                yield unit.wait_up()
            else:
                return

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
                           ttr: Callable[[], float], down: float | None = None,
                           first: float | None = None) -> Generator[Any, Any, None]:
        """Failures counted in elapsed time, whatever the unit is doing (a run started
        from a state: first ``down`` [s] of a repair under way, then ``first`` [s] to the
        next failure)."""
        if down is not None:
            unit.hold(DOWN)
            yield self.env.timeout(down)
            unit.release(DOWN)
        while True:
            yield self.env.timeout(ttf() if first is None else first)
            first = None
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
        while due <= self.ctx.resumed_at:  # a run from a state: stops before it are past
            due += plan.every
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

    spec_type: ClassVar[type] = S.Machine

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
        watch = self.watch_starving
        while True:
            req = get()
            if req.triggered:
                part = req.value
            else:
                set_state(IDLE)
                if watch:
                    self._starve(unit, req, queue)
                    part = yield req
                    unit.starved = None
                else:
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

    spec_type: ClassVar[type] = S.Inspection

    spec: S.Inspection

    def connect(self, nodes: dict[str, Node]) -> None:
        super().connect(nodes)
        self.rework_node = nodes[self.spec.rework_to] if self.spec.rework_to else None
        self._u = uniform_stream(self.ctx.streams.rng(self.name, "quality"))

    def sends(self) -> list[tuple[int | None, Node]]:
        rework = [] if self.rework_node is None else [(None, self.rework_node)]
        return super().sends() + rework

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        while True:
            part = yield from self._take(unit, self.queue)
            yield from self._operate(unit, (part,))
            yield from self.judge(unit, part)

    def judge(self, unit: Unit, part: Part) -> Generator[Any, Any, None]:
        """Pass ``part`` on, send it back for rework, or scrap it."""
        spec, rec = self.spec, self.ctx.rec
        p_scrap, p_fail = spec.scrap_probability, spec.scrap_probability + spec.rework_probability
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

    spec_type: ClassVar[type] = S.Batch

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

    spec_type: ClassVar[type] = S.Assembly

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

    def stores_for(self, code: int | None) -> list[Any]:
        if code is None:
            return list(self.stores)
        return [self.queues[code]] if code in self.queues else []

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
