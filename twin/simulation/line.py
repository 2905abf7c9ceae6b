"""Build a runnable line model from a validated spec, and run it."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

import numpy as np
import simpy

from twin.data import spec as S
from twin.data.alarms import DEFAULT_KPI_WINDOW, signal_tags, tag_kind
from twin.data.state import LineState
from twin.observation.alarms import AlarmMonitor
from twin.observation.recorder import OFF, Recorder
from twin.simulation import interventions, resume
from twin.simulation.continuous import ContinuousNode, TankNode
from twin.simulation.flow import Context, Node
from twin.simulation.node_types import node_class
from twin.simulation.stations import EquipmentNode
from twin.simulation.streams import Streams
from twin.simulation.units import Unit
from twin.simulation.watchdog import Limits, Watchdog, at_end_of_instant, busiest, wire

WEEK = 7 * 86400.0


def _watched(line: S.LineSpec, watch: Iterable[str], kpi_window: float) -> dict[str, float]:
    """``watch`` as tag -> KPI window [s], every tag checked against the line's signals."""
    tags = list(watch)
    known = signal_tags(line)
    unknown = [t for t in tags if t not in known]
    if unknown:
        raise ValueError(f"line {line.line.name!r} has no signal {', '.join(map(repr, unknown))}"
                         f" (its signals: {', '.join(known)})")
    if tags and not (math.isfinite(kpi_window) and kpi_window > 0):
        raise ValueError(f"kpi_window must be a positive number of seconds, not {kpi_window!r}")
    return dict.fromkeys(tags, float(kpi_window))


class LineModel:
    """A line ready to run: SimPy environment, nodes and their processes.

    Parameters
    ----------
    line
        A validated spec.
    seed
        Seed of the run's random streams.
    recorder
        Where everything that happens is written.
    events
        Timed events of a scenario (:mod:`twin.data.scenario`), checked against the line.
    limits
        Bounds of the run's watchdogs (default: :class:`~twin.simulation.watchdog.Limits`).
    state
        Start from this state (:mod:`twin.data.state`, checked against the line) at its
        time instead of from an empty line at 0 (:mod:`twin.simulation.resume`).
    watch
        Signal tags to record besides those the alarms watch (a twin that serves its
        signals): a subset of :func:`~twin.data.alarms.signal_tags`; the ``signals`` table
        then holds them. Recording changes no result.
    kpi_window
        Trailing window of the watched ``kpi.*`` tags that no alarm watches [s].

    Raises
    ------
    ValueError
        If ``watch`` names a tag the line does not have.
    """

    def __init__(self, line: S.LineSpec, seed: int, recorder: Recorder,
                 events: Sequence[Any] = (), limits: Limits | None = None,
                 state: LineState | None = None, watch: Iterable[str] = (),
                 kpi_window: float = DEFAULT_KPI_WINDOW) -> None:
        self.line = line
        self.env = simpy.Environment(initial_time=0.0 if state is None else state.time)
        self.recorder = recorder
        watched = _watched(line, watch, kpi_window)
        self.ctx = Context(self.env, recorder, Streams(seed), line, watched)
        if state is not None:
            self.ctx.resumed_at = state.time
            self.ctx.tank_levels = {name: dict(st.level) for name, st in state.stations.items()
                                    if st.level is not None}
        #: The line's alarms (``None`` without any): the alarm list, ack and shelve.
        self.alarms: AlarmMonitor | None = None
        #: (instant [s], latest due [s]) of the alarm timers waiting for the end of an instant
        self._deferred: tuple[float, float] | None = None
        if line.alarms:
            self.alarms = AlarmMonitor(line.alarms, recorder.alarm, self._wake)
            recorder.monitored = True
            recorder.listeners.append(self.alarms.signal)
        recorder.watching = bool(self.ctx.watch)
        for tag in sorted(self.ctx.watch):  # counts, loads and rates start at zero
            if tag_kind(tag) in ("buffer", "wip", "utility", "emission") or (
                    tag == "kpi.throughput"):
                recorder.signal(self.env.now, tag, 0.0)
        self.nodes: dict[str, Node] = {
            name: node_class(st)(self.ctx, name, st) for name, st in line.stations.items()
        }
        for node in self.nodes.values():
            node.connect(self.nodes)
        wire(self.nodes.values())
        #: Parts the run started with (a run from a state).
        self.initial_parts = 0 if state is None else resume.place(self.ctx, self.nodes, state)
        for name in interventions.stopped_stations(self.nodes, list(events)):
            node = self.nodes[name]
            if isinstance(node, EquipmentNode):
                node.interruptible = True  # before start(): the serving loop is chosen there
        if line.calendar is not None:  # before the stations start: off at time 0 comes first
            units = [u for n in self.nodes.values() if isinstance(n, EquipmentNode)
                     and n.spec.follows_calendar for u in n.units]
            windows = line.calendar.working_windows()
            if windows != [(0.0, WEEK)]:
                self.env.process(_shifts(self.env, windows, *_stop_units(units)))
                for name, pool in line.operators.items():
                    if pool.follows_calendar:
                        self.env.process(_shifts(self.env, windows,
                                                 *_send_home(self.ctx.pools[name])))
        for node in self.nodes.values():
            node.start()
        if state is not None:
            resume.stop_units(self.ctx, self.nodes, state)
        interventions.start(self.ctx, self.nodes, list(events))
        self.watchdog = Watchdog(self.env, self._busy, limits)

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """Warnings the engine recorded so far (deadlocks run through, starved phases...)."""
        return self.ctx.warnings

    def _busy(self, n: int) -> list[str]:
        """Stations with the most part events among the last ``n`` recorded."""
        rec = self.recorder
        return busiest(rec.e_station[-n:], rec.stations)

    def run(self, until: float) -> None:
        """Advance the simulation to time ``until`` [s] under the watchdogs.

        Raises
        ------
        twin.simulation.run_errors.RunError
            A deadlock (unless the line runs on through them), a stalled clock, or runaway
            growth of the event queue or memory; errors raised by the stations come through
            as themselves.
        """
        self.watchdog.run(until)
        self.ctx.settle_signals(until)  # every instant before ``until`` is over
        if self.alarms is not None:
            self.alarms.advance(until)

    def _wake(self, due: float) -> None:
        """Fire the alarm monitor's timer at ``due`` (on-delays, shelf ends)."""
        monitor = self.alarms
        assert monitor is not None
        ev = self.env.timeout(max(due - self.env.now, 0.0))
        ev.callbacks.append(lambda _ev: self._timer_due(monitor, due))

    def _timer_due(self, monitor: AlarmMonitor, due: float) -> None:
        """A timer is due: judge it at the end of this instant. Timers due at one instant
        share one deferral (each deferring on its own, two would wait for each other's
        zero-delay event without end), which fires every timer due by the latest of them."""
        env = self.env
        if self._deferred is not None and self._deferred[0] == env.now:
            self._deferred = (env.now, max(self._deferred[1], due))
            return  # the deferral of this instant is on its way
        if env.peek() == env.now:  # the instant is not over: judge the timer on its end
            self._deferred = (env.now, due)
            at_end_of_instant(env, lambda _ev: self._end_of_instant(monitor))
            return
        self.ctx.settle_signals(math.inf)  # every value of this instant reaches the monitor
        monitor.advance(max(due, monitor.now))

    def _end_of_instant(self, monitor: AlarmMonitor) -> None:
        assert self._deferred is not None
        due = self._deferred[1]
        self._deferred = None
        self._timer_due(monitor, due)

    def inventory(self) -> dict[str, float]:
        """Mass of each species held in the line now [kg] (batches not yet out)."""
        mat = self.ctx.materials
        if mat is None:
            return {}
        total = sum((p.mass for p in self.ctx.live.values() if p.mass is not None),
                    start=np.zeros(len(mat.names)))
        for node in self.nodes.values():
            if isinstance(node, TankNode | ContinuousNode):
                total = total + node.held()
        return {name: float(kg) for name, kg in zip(mat.names, total, strict=True)}

    def wip(self) -> dict[str, int]:
        """Parts held by each station now, plus ``"(in transit)"`` (for flow checks)."""
        out = {name: node.load() for name, node in self.nodes.items()}
        out["(in transit)"] = self.ctx.in_transit
        return out


def _stop_units(units: list[Unit]) -> tuple[Callable[[], None], Callable[[], None]]:
    """Shift start and end for units: off (a stoppage) outside the working windows."""
    def begin() -> None:
        for u in units:
            u.release(OFF)

    def end() -> None:
        for u in units:
            u.hold(OFF)
    return begin, end


def _send_home(pool: simpy.PriorityResource) -> tuple[Callable[[], None], Callable[[], None]]:
    """Shift start and end for an operator pool: at the end every operator is claimed ahead of
    the stations' requests (an operator at work finishes the task first), at the start all
    come back."""
    away: list[Any] = []

    def end() -> None:
        away.extend(pool.request(priority=-1) for _ in range(pool.capacity))

    def begin() -> None:
        for req in away:
            if req.triggered:
                pool.release(req)
            else:
                req.cancel()
        away.clear()
    return begin, end


def _shifts(env: simpy.Environment, windows: list[tuple[float, float]],
            begin: Callable[[], None], end: Callable[[], None]) -> Generator[Any, Any, None]:
    """Call ``end`` when a weekly working window closes and ``begin`` when one opens (and
    ``end`` at time 0 if the week does not start inside a window)."""
    changes: list[tuple[float, bool]] = []  # (time in week, working from then on)
    for a, b in windows:
        changes.append((a, True))
        changes.append((b, False))
    # A window ending at the week's end that continues at the next week's start is one.
    if windows[0][0] == 0.0 and windows[-1][1] == WEEK:
        changes = changes[1:-1]
    week = WEEK * math.floor(env.now / WEEK)  # a run from a state starts within a week
    working = any(a <= env.now - week < b for a, b in windows)
    if not working:
        end()
    while True:
        for t, on in changes:
            if week + t < env.now:
                continue
            yield env.timeout(week + t - env.now)
            if on and not working:
                begin()
            elif not on and working:
                end()
            working = on
        week += WEEK
