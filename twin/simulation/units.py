"""One server of a station (a *unit*): its state, stoppages and preemptible work.

A unit's recorded state is its *activity* (producing, idle, blocked, setup, waiting) unless a
stoppage overrides it: ``off`` (outside shifts) over ``maintenance`` over ``down`` (failure).
Only changes of that effective state are recorded. A stoppage that begins while the unit is
working interrupts the work, which resumes where it stopped once every stoppage is over
(preemptive resume).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from twin.observation.recorder import DOWN, IDLE, MAINTENANCE, OFF, PRODUCING

STOP_STATES = (OFF, MAINTENANCE, DOWN)
"""Stoppage states in order of precedence."""


class OperatingFailure:
    """A failure mode counted in producing time: time left to the next failure [s]."""

    __slots__ = ("mode", "ttf", "ttr", "left")

    def __init__(self, mode: str, ttf: Callable[[], float], ttr: Callable[[], float]) -> None:
        self.mode = mode
        self.ttf = ttf
        self.ttr = ttr
        self.left = ttf()


class Unit:
    """One server: records its state changes and performs preemptible work."""

    __slots__ = ("env", "code", "record", "activity", "shown", "stops", "up", "proc",
                 "working", "wear", "last_product", "rec_stop", "stopping", "blocked",
                 "starved", "runs_on", "deferred_off")

    def __init__(self, env: simpy.Environment, code: int,
                 record: Callable[[float, int, int], None],
                 rec_stop: Callable[[float, int, str, str, float], None]) -> None:
        self.env = env
        self.code = code
        self.record = record
        self.rec_stop = rec_stop
        self.activity = IDLE
        self.shown = -1
        self.stops = {OFF: 0, MAINTENANCE: 0, DOWN: 0}
        self.up: simpy.Event | None = None
        self.stopping: simpy.Event | None = None
        self.proc: simpy.Process | None = None
        self.working = False
        self.wear: list[OperatingFailure] = []
        self.last_product = -1
        #: While blocked after service: the pending put and the node it waits for.
        self.blocked: tuple[simpy.Event, Any] | None = None
        #: While waiting for a part (where deadlocks through starvation are watched): the
        #: pending get, the nodes that alone can send a part, and the node it comes into
        #: (the station, or the tank a continuous unit draws from).
        self.starved: tuple[simpy.Event, list[Any], Any] | None = None
        #: True while the unit does work that must not pause at a shift end (a process
        #: phase): shift ends are deferred to the end of that work (:meth:`run_on`).
        self.runs_on = False
        self.deferred_off = 0

    # ----------------------------------------------------------------- state

    def _show(self) -> None:
        stops = self.stops
        state = (OFF if stops[OFF] else MAINTENANCE if stops[MAINTENANCE]
                 else DOWN if stops[DOWN] else self.activity)
        if state != self.shown:
            self.shown = state
            self.record(self.env.now, self.code, state)

    def set(self, activity: int) -> None:
        """Set the unit's activity (recorded if it changes the effective state)."""
        self.activity = activity
        if activity != self.shown:
            self._show()

    @property
    def stopped(self) -> bool:
        """True while any stoppage is in force."""
        s = self.stops
        return bool(s[OFF] or s[MAINTENANCE] or s[DOWN])

    def hold(self, state: int) -> None:
        """Begin a stoppage of kind ``state`` (OFF, MAINTENANCE or DOWN); a shift end
        (OFF) during work that runs on is deferred to the end of that work."""
        if state == OFF and self.runs_on:
            self.deferred_off += 1
            return
        self.stops[state] += 1
        self._show()
        if self.stopping is not None:
            ev, self.stopping = self.stopping, None
            ev.succeed()
        if self.working and self.proc is not None:
            self.working = False
            self.proc.interrupt(state)

    def release(self, state: int) -> None:
        """End one stoppage of kind ``state``; work resumes when none is left."""
        if state == OFF and self.deferred_off:
            self.deferred_off -= 1  # the next shift began before the work that ran on ended
            return
        self.stops[state] -= 1
        self._show()
        if not self.stopped and self.up is not None:
            up, self.up = self.up, None
            up.succeed()

    def run_on(self, work: Generator[Any, Any, None]) -> Generator[Any, Any, None]:
        """Do ``work`` (e.g. :meth:`work`) without pausing at a shift end: the operator rule
        of a process phase, which chemistry cannot pause. A shift end that falls during it
        takes effect when it ends (the unit then goes off until the next shift); failures
        and maintenance still stop it. Work is not started outside a shift."""
        self.runs_on = True
        try:
            yield from work
        finally:
            self.runs_on = False
            if self.deferred_off:
                self.stops[OFF] += self.deferred_off
                self.deferred_off = 0
                self._show()

    def next_stop(self) -> simpy.Event:
        """An event that fires when the next stoppage begins (e.g. to stop waiting for work)."""
        if self.stopping is None:
            self.stopping = self.env.event()
        return self.stopping

    def wait_up(self) -> simpy.Event:
        """An event that fires when no stoppage is left (already fired if none)."""
        if not self.stopped:
            ev = self.env.event()
            ev.succeed()
            return ev
        if self.up is None:
            self.up = self.env.event()
        return self.up

    # ----------------------------------------------------------------- work

    def work(self, duration: float, activity: int,
             pause: Callable[[bool], None] | None = None) -> Generator[Any, Any, None]:
        """Spend ``duration`` [s] of *working* time in ``activity``.

        Stoppages interrupt and extend it; operating-time failures (``wear``) age only while
        producing and strike when their producing time runs out (the unit is then down for
        the repair time). ``pause(False)`` is called whenever work actually starts or resumes
        (the first time included, after any stop in force at the start) and ``pause(True)``
        when it stops before it is done -- e.g. to draw a utility load only while working.
        """
        env = self.env
        remaining = duration
        wear = self.wear if activity == PRODUCING else []  # wear ages in producing time only
        paused = pause is not None
        while True:
            while self.stopped:
                yield self.wait_up()
            if paused and pause is not None:
                pause(False)
            paused = False
            self.set(activity)
            step, due = remaining, None
            for f in wear:
                if f.left < step:
                    step, due = f.left, f
            t0 = env.now
            self.working = True
            try:
                yield env.timeout(step)
                done = step
            except simpy.Interrupt:
                done = env.now - t0
                due = None
            self.working = False
            for f in wear:  # (an interruption at its due time may overshoot it by a rounding)
                f.left = max(f.left - done, 0.0)
            remaining -= done
            if remaining <= 1e-9 * max(1.0, duration) and due is None:
                return
            paused = True
            if pause is not None:
                pause(True)
            if due is not None:
                yield from self.repair(due)
            if remaining <= 1e-9 * max(1.0, duration):
                if pause is not None:
                    pause(False)
                return

    def repair(self, failure: OperatingFailure) -> Generator[Any, Any, None]:
        """Be down for a repair of ``failure``, then draw its next time to failure."""
        ttr = failure.ttr()
        self.rec_stop(self.env.now, self.code, "failure", failure.mode, ttr)
        self.hold(DOWN)
        yield self.env.timeout(ttr)
        self.release(DOWN)
        failure.left = failure.ttf()
