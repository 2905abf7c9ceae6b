"""Rolling KPIs as signals: throughput, yield and lead time over a trailing window.

A watched ``kpi.*`` tag (:data:`twin.data.alarms.KPI_SIGNALS`) is an exact step function of
the simulation clock over the window ``(t - W, t]``: it changes when a part finishes (good at a
sink, scrapped at an inspection) and when a finished part leaves the window ``W`` seconds
later. Nothing is sampled. Parts leave the window in the order they entered it (one ``W`` per
tracker), so one SimPy process per window sleeps until the next departure.

Values: ``kpi.throughput`` good parts per second; ``kpi.yield`` good / (good + scrapped);
``kpi.lead_time`` mean lead time of the good parts [s]. Yield and lead time are undefined while
no part finished in the window; they are then not recorded (an alarm keeps its state).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import simpy


class TrailingWindow:
    """The parts finished in the last ``window`` seconds and the KPI signals they define.

    Parameters
    ----------
    env
        The simulation environment.
    window
        Trailing window W [s].
    tags
        The ``kpi.*`` tags computed over this window.
    signal
        Called with ``(tag, value)`` whenever a value changes (records it at the current time).
    """

    def __init__(self, env: simpy.Environment, window: float, tags: list[str],
                 signal: Callable[[str, float], None]) -> None:
        self.env = env
        self.window = float(window)
        self.tags = tuple(tags)
        self._signal = signal
        self._parts: deque[tuple[float, bool, float]] = deque()  # (finished, good, lead [s])
        self.good = 0
        self.scrapped = 0
        self._lead_sum = 0.0
        self._idle: simpy.Event | None = None
        env.process(self._expire())

    def finished(self, good: bool, lead_time: float) -> None:
        """A part finished now: good (at a sink) or scrapped; ``lead_time`` [s]."""
        self._parts.append((self.env.now, good, lead_time))
        self._count(good, lead_time, +1)
        self._emit()
        if self._idle is not None and not self._idle.triggered:
            self._idle.succeed()

    def _count(self, good: bool, lead_time: float, sign: int) -> None:
        if good:
            self.good += sign
            self._lead_sum += sign * lead_time
        else:
            self.scrapped += sign
        if not self._parts:
            self._lead_sum = 0.0  # no round-off residue once the window is empty

    def _emit(self) -> None:
        done = self.good + self.scrapped
        for tag in self.tags:
            if tag == "kpi.throughput":
                self._signal(tag, self.good / self.window)
            elif tag == "kpi.yield" and done:
                self._signal(tag, self.good / done)
            elif tag == "kpi.lead_time" and self.good:
                self._signal(tag, self._lead_sum / self.good)

    def _expire(self) -> Generator[Any, Any, None]:
        env, parts = self.env, self._parts
        while True:
            if not parts:
                self._idle = env.event()
                yield self._idle
                self._idle = None
                continue
            due = parts[0][0] + self.window
            if due > env.now:
                yield env.timeout(due - env.now)
            while parts and parts[0][0] + self.window <= env.now:
                _, good, lead = parts.popleft()
                self._count(good, lead, -1)
            self._emit()


class KpiSignals:
    """Every watched ``kpi.*`` tag, grouped by window: ``tags`` maps tag -> window [s]."""

    def __init__(self, env: simpy.Environment, tags: dict[str, float],
                 signal: Callable[[str, float], None]) -> None:
        by_window: dict[float, list[str]] = {}
        for tag, window in sorted(tags.items()):
            by_window.setdefault(window, []).append(tag)
        self.windows = [TrailingWindow(env, w, t, signal) for w, t in sorted(by_window.items())]

    def finished(self, good: bool, lead_time: float) -> None:
        """A part finished now (good or scrapped) after ``lead_time`` [s] in the line."""
        for w in self.windows:
            w.finished(good, lead_time)
