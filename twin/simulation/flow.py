"""How parts move: parts, the run context, routing, sources, sinks and transport.

A *node* is anything a part can be sent to. ``node.accept(part)`` starts the hand-over and
returns ``None`` if the part was taken at once, or the pending SimPy put event if the sender
must wait (blocking after service); the sender then calls ``node.arrived(part)`` once the
event has fired.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Generator
from typing import Any, ClassVar

import numpy as np
import simpy

from twin.data import spec as S
from twin.data.alarms import kpi_windows
from twin.observation.recorder import ARRIVE, CREATED, EXIT, GOOD, LOST, Recorder
from twin.process.materials import Materials
from twin.simulation.kpi_signals import KpiSignals
from twin.simulation.streams import Streams, transport_keys, uniform_stream
from twin.simulation.watchdog import DeadlockCheck, check_deadlock, granted, supply_clause


def quantum(utility: Any) -> float:
    """Units of a utility's capacity per SI unit (:attr:`twin.data.process.Utility.quantum`)."""
    return float(utility.quantum)


class Part:
    """One part (work piece) moving through the line."""

    __slots__ = ("id", "product", "created", "reworks", "mass", "temperature")

    def __init__(self, pid: int, product: int, created: float) -> None:
        self.id = pid
        self.product = product
        self.created = created
        self.reworks = 0
        self.mass: np.ndarray | None = None  # kg per species (batches of process lines)
        self.temperature = 298.15  # [K]


class Context:
    """What every node of one run shares: clock, recorder, random streams, pools, ids."""

    def __init__(self, env: simpy.Environment, recorder: Recorder, streams: Streams,
                 line: S.LineSpec, watch: dict[str, float] | None = None) -> None:
        self.env = env
        self.rec = recorder
        self.streams = streams
        self.line = line
        self.product_code = {p: recorder.product_code(p) for p in line.products}
        #: Operator pools; requests at priority 0, the end of a shift takes them at -1.
        self.pools = {name: simpy.PriorityResource(env, capacity=p.count)
                      for name, p in line.operators.items()}
        self._ids = itertools.count()
        self.in_transit = 0
        self.materials = Materials.from_spec(line.species) if line.species else None
        recorder.species = list(line.species)
        #: Parts in the line by id, kept only for process lines (their mass is inventory).
        self.live: dict[int, Part] = {}
        self.utilities = {
            name: simpy.Container(env, capacity=cap, init=cap)
            for name, u in line.utilities.items() if u.capacity is not None
            for cap in [round(u.capacity * quantum(u))]}  # whole quanta: sums stay exact
        self._loads = dict.fromkeys(line.utilities, 0.0)
        #: Signal tags that alarms (or ``watch``: tag -> KPI window [s]) watch: only these
        #: are emitted (``twin.data.alarms``).
        kpi_tags = {**(watch or {}), **kpi_windows(line.alarms)}
        self.watch = frozenset(a.tag for a in line.alarms.values()) | frozenset(watch or ())
        self.watch_wip = "wip" in self.watch
        self.wip = 0
        self._util_tags = {n: f"utility.{n}" for n in line.utilities
                           if f"utility.{n}" in self.watch}
        self.emission_tags = {i: f"emission.{n}" for i, n in enumerate(line.species)
                              if f"emission.{n}" in self.watch}
        self._emitting = {i: [0.0, 0] for i in self.emission_tags}  # rate [kg/s], sources
        self._signals: dict[str, float] = {}  # watched signals set in the last instant
        self._signals_at = 0.0  # its time [s]
        kpi_tags = {t: w for t, w in kpi_tags.items() if t.startswith("kpi.")}
        #: Rolling KPI signals (only while an alarm watches a ``kpi.*`` tag).
        self.kpis = KpiSignals(env, kpi_tags, self.signal) if kpi_tags else None
        #: Warnings of the run so far (:mod:`twin.observation.run_warnings` records).
        self.warnings: list[dict[str, Any]] = []
        #: Nodes to check for a deadlock at the end of this instant.
        self.deadlocks = DeadlockCheck(env, self.warnings, line)
        #: The time a run from a state starts at [s] (-1: a run from an empty line at 0);
        #: scheduled releases and maintenance up to it are past.
        self.resumed_at = -1.0
        #: Contents of tanks at the start of a run from a state [kg per species, by tank].
        self.tank_levels: dict[str, dict[str, float]] = {}

    def number_from(self, first: int) -> None:
        """New parts get ids ``first, first + 1, ...`` (a run from a state)."""
        self._ids = itertools.count(first)

    def signal(self, tag: str, value: float) -> None:
        """Set the watched signal ``tag`` to ``value`` [SI] now.

        A signal is recorded once per instant, with the value it has when the instant is
        over: several events at one time (a part leaving a buffer as another arrives, a part
        leaving a KPI window as another finishes) would otherwise show values the signal holds
        for no time at all, and alarms would act on them. The values of an instant are
        recorded, at its time, once the clock has moved on (:meth:`settle_signals`).
        """
        now = self.env.now
        if self._signals and now > self._signals_at:
            self.settle_signals(now)
        self._signals_at = now
        self._signals[tag] = value

    def settle_signals(self, now: float) -> None:
        """Record the signals set in the last instant if it is over (before ``now`` [s])."""
        if self._signals and self._signals_at < now:
            pending, self._signals = self._signals, {}
            for tag, value in pending.items():
                self.rec.signal(self._signals_at, tag, value)

    def count_part(self, delta: int) -> None:
        """Parts in the line change by ``delta`` (called only while ``wip`` is watched)."""
        self.wip += delta
        self.signal("wip", float(self.wip))

    def emission_rate(self, species: int, rate: float, on: bool) -> None:
        """A unit starts (``on``) or stops emitting ``species`` at ``rate`` [kg/s]."""
        acc = self._emitting[species]
        acc[0] += rate if on else -rate
        acc[1] += 1 if on else -1
        if acc[1] == 0:
            acc[0] = 0.0  # no rounding residue once nobody emits
        self.signal(self.emission_tags[species], max(acc[0], 0.0))

    def utility_load(self, name: str, delta: float) -> None:
        """Change the load of utility ``name`` by ``delta`` [W] (recorded)."""
        self._loads[name] += delta
        self.rec.load(self.env.now, name, max(self._loads[name], 0.0))
        tag = self._util_tags.get(name)
        if tag is not None:
            self.signal(tag, max(self._loads[name], 0.0))

    def leave(self, part: Part, kind: str, station: int) -> None:
        """A part leaves the line at ``station`` (``output`` at a sink, ``waste`` if scrapped)."""
        if self.materials is not None:
            self.live.pop(part.id, None)
            if part.mass is not None:
                now = self.env.now
                for i in np.flatnonzero(part.mass):
                    self.rec.flow(now, part.id, station, "", int(i), kind, float(part.mass[i]))

    def new_part(self, product: int, station: int) -> Part:
        """Create a part at a source (recorded as ``created``)."""
        part = Part(next(self._ids), product, self.env.now)
        self.rec.event(part.created, part.id, part.product, station, CREATED)
        if self.materials is not None:
            self.live[part.id] = part
        if self.watch_wip:
            self.count_part(1)
        return part

    def transport(self, part: Part, dest: Node, delay: float) -> Generator[Any, Any, None]:
        """Carry ``part`` to ``dest`` in ``delay`` [s]; wait there if ``dest`` is full."""
        self.in_transit += 1
        yield self.env.timeout(delay)
        dest.incoming -= 1  # counted on its way from the moment it was sent (Node.push)
        ev = dest.accept(part)
        if ev is not None:
            yield ev
            dest.arrived(part)
        self.in_transit -= 1


class Router:
    """Chooses the next node of a part from a station's routes.

    Routes are filtered by product. Among the remaining routes, probabilities choose one at
    random; without probabilities the part joins the least loaded destination (ties: the
    route listed first).
    """

    def __init__(self, ctx: Context, owner: str, routes: list[S.Route],
                 nodes: dict[str, Node]) -> None:
        self._table: list[tuple[list[Node], list[float] | None,
                                list[Callable[[], float] | None]]] = []
        self._u = uniform_stream(ctx.streams.rng(owner, "route"))
        # one delay stream per route, shared by every product sent along it
        samplers = [None if key is None else r.delay.sampler(ctx.streams.rng(*key))
                    for r, key in zip(routes, transport_keys(owner, routes), strict=True)]
        for product, code in sorted(ctx.product_code.items(), key=lambda kv: kv[1]):
            chosen = [i for i, r in enumerate(routes)
                      if r.products is None or product in r.products]
            dests = [nodes[routes[i].to] for i in chosen]
            probs = [routes[i].probability for i in chosen]
            cum: list[float] | None = None
            if chosen and all(p is not None for p in probs):
                total = sum(p or 0.0 for p in probs)
                cum = list(itertools.accumulate((p or 0.0) / total for p in probs))
            delays = [samplers[i] for i in chosen]
            assert code == len(self._table)
            self._table.append((dests, cum, delays))
        direct = all(len(dests) == 1 and delays[0] is None
                     for dests, _, delays in self._table)
        targets = {id(dests[0]) for dests, _, _ in self._table} if direct else set()
        #: The one destination of every product when there is no choice and no delay.
        self.only: Node | None = self._table[0][0][0] if len(targets) == 1 else None

    def targets(self) -> list[tuple[int, Node]]:
        """Every (product code, destination) pair a part can be sent along."""
        return [(code, d) for code, (dests, _, _) in enumerate(self._table) for d in dests]

    def pick(self, part: Part) -> tuple[Node, Callable[[], float] | None]:
        """The destination node of ``part`` and its transport-delay sampler (or ``None``)."""
        dests, cum, delays = self._table[part.product]
        if len(dests) == 1:
            return dests[0], delays[0]
        if not dests:
            raise RuntimeError(f"no route for product code {part.product}")
        if cum is not None:
            i = min(bisect.bisect_right(cum, self._u()), len(dests) - 1)
        else:
            loads = [d.load() for d in dests]
            i = loads.index(min(loads))
        return dests[i], delays[i]


class Node:
    """Base of every station at run time."""

    #: The spec class of the station type this node runs (a node class declares it;
    #: :func:`twin.simulation.node_types.register_station` registers both).
    spec_type: ClassVar[type] = S.StationBase

    def __init__(self, ctx: Context, name: str, spec: Any) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.name = name
        self.spec = spec
        self.code = ctx.rec.add_station(name)
        self.router: Router | None = None
        #: Deadlock detection (:mod:`twin.simulation.watchdog`): the nodes that can send a
        #: part into each input store (by ``id`` of the store), the parts on their way here
        #: by transport, and whether a server waiting for parts here has to be checked.
        self.suppliers: dict[int, list[Node]] = {}
        self.incoming = 0
        self.watch_starving = False

    def connect(self, nodes: dict[str, Node]) -> None:
        """Resolve routes to nodes (called once every node exists)."""
        self.router = Router(self.ctx, self.name, self.spec.routes, nodes)

    def start(self) -> None:
        """Start this node's SimPy processes."""

    def accept(self, part: Part) -> simpy.Event | None:
        """Begin taking ``part``; ``None`` if taken at once, else the event to wait for."""
        raise NotImplementedError

    def arrived(self, part: Part) -> None:
        """Record that ``part`` has entered this node after a wait."""
        self.ctx.rec.event(self.env.now, part.id, part.product, self.code, ARRIVE)

    def load(self) -> int:
        """Parts in this node now (for least-loaded routing and flow checks)."""
        return 0

    def can_take(self, part: Part) -> bool:
        """Whether ``part`` handed over now would enter at once (lost arrivals)."""
        return True

    def waits(self) -> list[Node] | None:
        """The nodes that must move before this node can (deadlock detection): those its
        servers wait to hand a part to (their buffers full) and those that alone can send
        the parts its other servers wait for; ``None`` if it can move by itself (a server
        working, stopped, or due to get a part)."""
        return None

    def held_up(self) -> bool:
        """Whether every server of this node waits now (blocked, or starved where watched):
        a deadlock through it is possible (checked at the end of the instant)."""
        return False

    def why(self) -> tuple[str, bool]:
        """How this node waits, for a deadlock's message (when :meth:`waits` is not
        ``None``), and whether it is the plain case: every server holds a part for the full
        buffer of a station."""
        return f"{self.name!r} waits", False

    def sends(self) -> list[tuple[int | None, Node]]:
        """Every (product code, node) pair this node can hand a part to (``None``: a part of
        any product)."""
        return [] if self.router is None else list(self.router.targets())

    def stores_for(self, code: int | None) -> list[Any]:
        """The input stores a part of product ``code`` enters here (``None``: all)."""
        return []

    def push(self, part: Part) -> tuple[simpy.Event, Node] | None:
        """Send ``part`` on along its route; returns ``(event, node)`` if it must wait."""
        assert self.router is not None
        dest = self.router.only
        if dest is not None:
            ev = dest.accept(part)
            return None if ev is None else (ev, dest)
        dest, delay = self.router.pick(part)
        if delay is not None:
            dest.incoming += 1
            self.env.process(self.ctx.transport(part, dest, delay()))
            return None
        ev = dest.accept(part)
        return None if ev is None else (ev, dest)


class SourceNode(Node):
    """Releases parts: infinite supply, a renewal arrival process, or a release schedule."""

    spec_type: ClassVar[type] = S.Source

    spec: S.Source

    def __init__(self, ctx: Context, name: str, spec: S.Source) -> None:
        super().__init__(ctx, name, spec)
        self.made = 0
        mix = spec.mix or {spec.product: 1.0}
        names = [p for p, w in mix.items() if w > 0]
        total = sum(mix[p] for p in names)
        self._codes = [ctx.product_code[p] for p in names]
        self._cum = list(itertools.accumulate(mix[p] / total for p in names))
        self._u = uniform_stream(ctx.streams.rng(name, "mix"))
        self._lot_left = 0
        self._lot_product = self._codes[0]
        self.holding = 0  # created parts whose hand-over downstream is still pending
        #: A run from a state: time to the first arrival [s] and parts released before it
        #: that still wait to enter the line (:mod:`twin.simulation.resume`).
        self.first_gap: float | None = None
        self.waiting: list[Part] = []
        #: An infinite supply holding a part for a full buffer: the put and its node.
        self.blocked: tuple[simpy.Event, Node] | None = None

    def load(self) -> int:
        return self.holding

    def _product(self) -> int:
        """The next product: drawn from the mix once per lot of ``lot_size`` parts."""
        if len(self._codes) == 1:
            return self._codes[0]
        if self._lot_left == 0:
            i = min(bisect.bisect_right(self._cum, self._u()), len(self._codes) - 1)
            self._lot_product = self._codes[i]
            self._lot_left = self.spec.lot_size
        self._lot_left -= 1
        return self._lot_product

    def _full(self) -> bool:
        return self.spec.limit is not None and self.made >= self.spec.limit

    def _new(self, product: int | None = None) -> Part:
        self.made += 1
        return self.ctx.new_part(self._product() if product is None else product, self.code)

    def start(self) -> None:
        if self.spec.interarrival is None and self.spec.schedule is None:
            self.env.process(self._infinite())
            return
        for part in self.waiting:
            self._release(part)
        if self.spec.interarrival is not None:
            self.env.process(self._arrivals())
        elif self.spec.schedule is not None:
            for i, rel in enumerate(self.spec.schedule):
                self.env.process(self._releases(rel, i))

    def _arrive(self, product: int | None = None) -> None:
        """One arrival: it enters (or waits in line at the source), or with
        ``when_full = "lost"`` it is lost if its destination cannot take it at once."""
        if self.spec.when_full == "wait":
            self._release(self._new(product))
            return
        assert self.router is not None
        code = self._product() if product is None else product
        probe = Part(-1, code, self.env.now)
        dest, _ = self.router.pick(probe)
        if not dest.can_take(probe):
            self.ctx.rec.event(self.env.now, -1, code, self.code, LOST)
            return
        self.made += 1
        part = self.ctx.new_part(code, self.code)
        ev = dest.accept(part)  # it may wait for a hand-over decided at this instant
        if ev is not None:
            self._wait(part, ev, dest)

    def _release(self, part: Part) -> None:
        """Hand over without waiting: a part that cannot enter waits in line at the source."""
        out = self.push(part)
        if out is not None:
            self._wait(part, *out)

    def _wait(self, part: Part, ev: simpy.Event, dest: Node) -> None:
        self.holding += 1
        ev.callbacks.append(lambda _e, p=part, d=dest: self._handed_over(p, d))

    def _handed_over(self, part: Part, dest: Node) -> None:
        self.holding -= 1
        dest.arrived(part)

    def _infinite(self) -> Generator[Any, Any, None]:
        waiting = list(self.waiting)
        while waiting or not self._full():
            part = waiting.pop(0) if waiting else self._new()
            out = self.push(part)
            if out is not None:
                self.holding += 1
                self.blocked = out
                check_deadlock(self)
                yield out[0]
                self.blocked = None
                self.holding -= 1
                out[1].arrived(part)

    def sends(self) -> list[tuple[int | None, Node]]:
        return [(code, d) for code, d in super().sends() if code in self._codes]

    def waits(self) -> list[Node] | None:
        """An infinite supply holding a part waits for its destination; any other source
        can always release more (one whose supply has ended is no deadlock)."""
        b = self.blocked
        return None if b is None or granted(b[0]) else [b[1]]

    def held_up(self) -> bool:
        return self.blocked is not None

    def why(self) -> tuple[str, bool]:
        assert self.blocked is not None
        return supply_clause(self.name, self.blocked[1].name), False

    def _arrivals(self) -> Generator[Any, Any, None]:
        assert self.spec.interarrival is not None
        #: The inter-arrival sampler (a scenario may change it during the run).
        self.gap = self.spec.interarrival.sampler(self.ctx.streams.rng(self.name, "arrival"))
        while not self._full():
            first, self.first_gap = self.first_gap, None
            yield self.env.timeout(self.gap() if first is None else first)
            self._arrive()

    def _releases(self, rel: S.Release, index: int) -> Generator[Any, Any, None]:
        product = None if rel.product is None else self.ctx.product_code[rel.product]
        t = rel.at
        while t <= self.ctx.resumed_at:  # a run from a state: releases up to it are past
            if rel.every is None:
                return
            t += rel.every
        while True:
            yield self.env.timeout(max(0.0, t - self.env.now))
            for _ in range(rel.quantity):
                if self._full():
                    return
                self._arrive(product)
            if rel.every is None:
                return
            t += rel.every


class SinkNode(Node):
    """Where good parts leave the line."""

    spec_type: ClassVar[type] = S.Sink

    def connect(self, nodes: dict[str, Node]) -> None:
        """A sink has no routes."""

    def accept(self, part: Part) -> None:
        now = self.env.now
        self.ctx.rec.event(now, part.id, part.product, self.code, EXIT)
        self.ctx.rec.part_done(part.id, part.product, part.created, now, GOOD, part.reworks)
        self.ctx.leave(part, "output", self.code)
        if self.ctx.kpis is not None:
            self.ctx.kpis.finished(True, now - part.created)
        if self.ctx.watch_wip:
            self.ctx.count_part(-1)
        return None
