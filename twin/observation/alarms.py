"""ISA-18.2 alarm handling on recorded signals, and alarm-rate figures.

:class:`AlarmMonitor` is fed every recorded change of a watched signal (values are piecewise
constant between changes, so a condition's duration is exact) and runs one state machine per
alarm (ANSI/ISA-18.2-2016, clause 11, the alarm state transition diagram):

- ``normal`` -> ``unack`` (active, unacknowledged) when the value is at or beyond the limit and
  has stayed there for the on-delay;
- ``unack`` -> ``ack`` when an operator acknowledges; ``ack`` -> ``normal`` when the value
  returns inside the limit by the deadband;
- ``unack`` -> ``rtn_unack`` (returned to normal, unacknowledged) when the value returns
  first; ``rtn_unack`` -> ``normal`` on acknowledgement (and back to ``unack`` if it crosses
  again);
- any state -> ``shelved`` for a duration: the alarm is suppressed (its condition is still
  tracked, no activation is annunciated); when the shelf time ends it comes back as
  ``normal``, or is annunciated anew (``unack``) if its condition holds then.

Every transition is one row of the ``alarms`` table: ``time``, ``alarm``, ``tag``,
``priority``, ``event`` (``activate``, ``rtn``, ``ack``, ``shelve``, ``unshelve``), ``state``
(after the event), ``value`` (of the signal then) and ``limit``. Timers (on-delays, shelf
times) fire at their exact time: in a run the engine schedules them (``wake``); without one they
fire when the next input arrives or at :meth:`AlarmMonitor.finish`, at their own time.

:func:`alarm_summary` gives alarm-performance figures (ISA-18.2 / EEMUA 191, not ISO 22400):
activations by priority, the most activations in any 10-minute window, flood periods (more
than 10 activations within 10 minutes), alarms standing at the end and the average rate.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from twin.data.alarms import PRIORITIES, AlarmSpec
from twin.observation import schema

NORMAL, UNACK, ACK, RTN_UNACK, SHELVED = "normal", "unack", "ack", "rtn_unack", "shelved"
"""Alarm states (ISA-18.2)."""
STATES = (NORMAL, UNACK, ACK, RTN_UNACK, SHELVED)
EVENTS = ("activate", "rtn", "ack", "shelve", "unshelve")
"""Kinds of alarm-table rows."""
COLUMNS = schema.names("alarms")
"""Columns of alarm-table rows (declared in :mod:`twin.observation.schema`)."""

FLOOD_WINDOW = 600.0
"""Window of the alarm-rate figures [s] (10 minutes)."""
FLOOD_THRESHOLD = 10
"""A flood: more than this many activations within one window (ISA-18.2)."""


class _Alarm:
    """Run-time state of one alarm."""

    __slots__ = ("name", "spec", "active", "acked", "shelved_until", "pending_since", "value",
                 "since")

    def __init__(self, name: str, spec: AlarmSpec) -> None:
        self.name = name
        self.spec = spec
        self.active = False  # the condition (after on-delay and deadband) holds
        self.acked = True
        self.shelved_until: float | None = None
        self.pending_since: float | None = None  # beyond the limit since, waiting on-delay
        self.value = math.nan
        self.since = 0.0  # time of the last transition

    @property
    def state(self) -> str:
        if self.shelved_until is not None:
            return SHELVED
        if self.active:
            return ACK if self.acked else UNACK
        return NORMAL if self.acked else RTN_UNACK

    def beyond(self, value: float) -> bool:
        """At or beyond the limit."""
        s = self.spec
        return value >= s.limit if s.direction == "high" else value <= s.limit

    def inside(self, value: float) -> bool:
        """Back inside the limit by the deadband (returned to normal)."""
        s = self.spec
        return (value < s.limit - s.deadband if s.direction == "high"
                else value > s.limit + s.deadband)


class AlarmMonitor:
    """ISA-18.2 state machines of a line's alarms, fed by signal changes.

    Parameters
    ----------
    alarms
        Alarm name -> :class:`~twin.data.alarms.AlarmSpec`.
    record
        Called with each table row (a tuple in :data:`COLUMNS` order); default: kept in
        :attr:`rows`.
    wake
        Called with the time of each new timer (on-delay, shelf end), so that a running
        engine calls :meth:`advance` then; optional.
    """

    def __init__(self, alarms: Mapping[str, AlarmSpec],
                 record: Callable[[tuple[Any, ...]], None] | None = None,
                 wake: Callable[[float], None] | None = None) -> None:
        self.alarms = {name: _Alarm(name, spec) for name, spec in alarms.items()}
        self.by_tag: dict[str, list[_Alarm]] = {}
        for a in self.alarms.values():
            self.by_tag.setdefault(a.spec.tag, []).append(a)
        self.rows: list[tuple[Any, ...]] = []
        self._record = record if record is not None else self.rows.append
        self.wake = wake
        self.now = 0.0
        self.end: float | None = None
        self._timers: list[tuple[float, int, str, str]] = []  # due, seq, kind, alarm
        self._seq = itertools.count()

    @property
    def tags(self) -> set[str]:
        """The signals the alarms watch."""
        return set(self.by_tag)

    # ------------------------------------------------------------------ inputs

    def signal(self, t: float, tag: str, value: float) -> None:
        """The signal ``tag`` has had ``value`` since ``t`` [s].

        Timers due before ``t`` fire first; one due at ``t`` itself fires after the value is
        applied (at the next :meth:`advance`): a condition that ends at ``t`` held for less
        than an on-delay ending at ``t``, so it does not activate.
        """
        alarms = self.by_tag.get(tag)
        if alarms is None:
            return
        self.advance(t, inclusive=False)
        for a in alarms:
            a.value = value
            self._evaluate(a, t)

    def ack(self, name: str, t: float) -> bool:
        """An operator acknowledges alarm ``name`` at ``t``; False if there was nothing to
        acknowledge (normal, already acknowledged or shelved)."""
        a = self.alarms[name]
        self.advance(t)
        if a.acked or a.shelved_until is not None:
            return False
        a.acked = True
        self._row(a, t, "ack")
        return True

    def shelve(self, name: str, t: float, duration: float) -> None:
        """An operator shelves alarm ``name`` at ``t`` for ``duration`` [s] (> 0)."""
        if not duration > 0:
            raise ValueError("shelve for a positive duration")
        a = self.alarms[name]
        self.advance(t)
        a.shelved_until = t + duration
        a.acked = True  # a shelved alarm needs no acknowledgement
        self._row(a, t, "shelve")
        self._timer(t + duration, "unshelve", name)

    def unshelve(self, name: str, t: float) -> bool:
        """An operator ends the shelving of ``name`` early; False if it was not shelved."""
        a = self.alarms[name]
        self.advance(t)
        if a.shelved_until is None:
            return False
        self._unshelve(a, t)
        return True

    def advance(self, t: float, inclusive: bool = True) -> None:
        """Fire every timer due at or before ``t`` (before ``t`` if not ``inclusive``), in
        time order, then move to ``t``."""
        if t < self.now:
            raise ValueError(f"time goes backwards: {t} after {self.now}")
        timers = self._timers
        while timers and (timers[0][0] < t or (inclusive and timers[0][0] == t)):
            due, _, kind, name = heapq.heappop(timers)
            self.now = due
            a = self.alarms[name]
            if kind == "on_delay":
                if (a.pending_since is not None and not a.active
                        and a.pending_since + a.spec.on_delay == due):
                    a.pending_since = None
                    self._activate(a, due)
            elif a.shelved_until == due:
                self._unshelve(a, due)
        self.now = t

    def finish(self, t: float) -> None:
        """End of the run at ``t``: fire the timers due by then."""
        self.advance(t)
        self.end = t

    # ------------------------------------------------------------------ state machine

    def _evaluate(self, a: _Alarm, t: float) -> None:
        value = a.value
        if math.isnan(value):
            return
        if not a.active:
            if a.beyond(value):
                if a.spec.on_delay <= 0:
                    self._activate(a, t)
                elif a.pending_since is None:
                    a.pending_since = t
                    self._timer(t + a.spec.on_delay, "on_delay", a.name)
            else:
                a.pending_since = None  # the on-delay is interrupted
        elif a.inside(value):
            a.active = False
            a.pending_since = None
            if a.shelved_until is None:
                self._row(a, t, "rtn")

    def _activate(self, a: _Alarm, t: float) -> None:
        a.active = True
        if a.shelved_until is None:
            a.acked = False
            self._row(a, t, "activate")

    def _unshelve(self, a: _Alarm, t: float) -> None:
        a.shelved_until = None
        active = a.active
        a.active = False
        self._row(a, t, "unshelve")
        if active:
            self._activate(a, t)  # annunciated anew

    def _timer(self, due: float, kind: str, name: str) -> None:
        heapq.heappush(self._timers, (due, next(self._seq), kind, name))
        if self.wake is not None:
            self.wake(due)

    def _row(self, a: _Alarm, t: float, event: str) -> None:
        a.since = t
        s = a.spec
        self._record((t, a.name, s.tag, s.priority, event, a.state, a.value, s.limit))

    # ------------------------------------------------------------------ views

    def state(self, name: str) -> str:
        """The current state of alarm ``name``."""
        return self.alarms[name].state

    def active(self) -> list[dict[str, Any]]:
        """The alarm list: alarms not in ``normal`` (most urgent, then most recent first),
        each with name, tag, description, priority, state, value, limit, direction and the
        time of its last transition."""
        out = [{"alarm": a.name, "tag": a.spec.tag, "description": a.spec.description,
                "priority": a.spec.priority, "state": a.state, "value": a.value,
                "limit": a.spec.limit, "direction": a.spec.direction, "since": a.since}
               for a in self.alarms.values() if a.state != NORMAL]
        out.sort(key=lambda r: (-PRIORITIES.index(r["priority"]), -r["since"]))
        return out

    def standing(self) -> list[str]:
        """Alarms whose condition is active now (acknowledged or not, not shelved)."""
        return [a.name for a in self.alarms.values()
                if a.active and a.shelved_until is None]


def alarm_table(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """The ``alarms`` table from monitor rows (built column by column: a run has few
    rows, so what a table costs to build is most of what its alarms cost)."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    cats = {"priority": PRIORITIES, "event": EVENTS, "state": STATES}
    data: dict[str, Any] = {}
    for name, values in zip(COLUMNS, cols, strict=True):
        if name in cats:
            code = {c: i for i, c in enumerate(cats[name])}
            data[name] = pd.Categorical.from_codes(
                np.array([code.get(v, -1) for v in values], dtype=np.int8),
                categories=list(cats[name]))
        elif name in ("alarm", "tag"):
            data[name] = pd.array([str(v) for v in values], dtype="str")
        else:
            data[name] = np.array(values, dtype=float)
    return pd.DataFrame(data, columns=list(COLUMNS))


def rate_sweep(times: np.ndarray, window: float = FLOOD_WINDOW
               ) -> tuple[np.ndarray, np.ndarray]:
    """The number of activations in the trailing window ``(t - window, t]`` as a step
    function: change times and the count from each on."""
    times = np.sort(np.asarray(times, dtype=float))
    if not times.size:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    at = np.r_[times, times + window]
    step = np.r_[np.ones(times.size, np.int64), -np.ones(times.size, np.int64)]
    order = np.lexsort((step, at))  # at one time, leaving the window before entering
    at, step = at[order], step[order]
    count = np.cumsum(step)
    last = np.r_[at[1:] != at[:-1], True]  # the count after every change at one time
    return at[last], count[last]


def flood_periods(times: np.ndarray, window: float = FLOOD_WINDOW,
                  threshold: int = FLOOD_THRESHOLD) -> list[tuple[float, float]]:
    """Maximal periods during which more than ``threshold`` activations fell within the
    trailing ``window`` [s] (the ISA-18.2 flood: more than 10 alarms in 10 minutes)."""
    at, count = rate_sweep(times, window)
    out: list[tuple[float, float]] = []
    start: float | None = None
    for t, c in zip(at.tolist(), count.tolist(), strict=True):
        if c > threshold and start is None:
            start = t
        elif c <= threshold and start is not None:
            out.append((start, t))
            start = None
    return out


STANDING_STATES = (UNACK, ACK)
"""States of a standing alarm: its condition is active (acknowledged or not); an alarm that
returned to normal unacknowledged (``rtn_unack``) or is shelved does not stand."""


def standing_alarms(alarms: pd.DataFrame, at: float | None = None) -> pd.DataFrame:
    """The last transition (at or before ``at`` [s]; default: all) of each alarm that stands
    then (:data:`STANDING_STATES`). The one definition of a standing alarm: the KPI
    ``alarms_standing_at_end``, the report and the dashboard's badge count these."""
    return alarms.iloc[_standing(alarms, at)]


def _standing(alarms: pd.DataFrame, at: float | None) -> np.ndarray:
    """Positions of the rows :func:`standing_alarms` returns, in time order."""
    time = alarms["time"].to_numpy(dtype=float)
    keep = np.flatnonzero(time <= at) if at is not None else np.arange(time.size)
    order = keep[np.argsort(time[keep], kind="stable")]
    names, states = _labels(alarms["alarm"]), _labels(alarms["state"])
    last: dict[str, int] = {}
    for i in order.tolist():
        if names[i] == names[i]:  # an alarm without a name (NaN) has no state to keep
            last[names[i]] = i
    rank = {i: r for r, i in enumerate(order.tolist())}
    out = sorted((i for i in last.values() if states[i] in STANDING_STATES), key=rank.get)
    return np.array(out, dtype=np.int64)


def _labels(column: pd.Series) -> np.ndarray:
    """A text or categorical column as an object array of its values (NaN where missing)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        cats = np.asarray(column.cat.categories, dtype=object)
        out = np.full(codes.size, np.nan, dtype=object)
        out[codes >= 0] = cats[codes[codes >= 0]]
        return out
    return column.to_numpy(dtype=object)


def alarm_summary(alarms: pd.DataFrame, t0: float, t1: float) -> dict[str, Any]:
    """Alarm-performance figures over ``[t0, t1]`` (ISA-18.2 / EEMUA 191; not ISO 22400).

    ``alarm_activations`` (and ``alarm_activations_<priority>``) counts annunciations
    (``activate`` rows); ``alarm_max_per_10min`` is the most in any 10-minute window;
    ``alarm_flood_count`` / ``alarm_flood_duration_s`` the flood periods (more than 10 in 10
    minutes) clipped to the window; ``alarms_standing_at_end`` the alarms standing at ``t1``
    (:func:`standing_alarms`); ``alarm_rate_per_h`` activations per hour of the window.
    """
    time = alarms["time"].to_numpy(dtype=float)
    act = (_labels(alarms["event"]) == "activate") & (time >= t0) & (time <= t1)
    times = time[act]
    priority = _labels(alarms["priority"])[act]
    out: dict[str, Any] = {"alarm_activations": int(times.size)}
    for p in PRIORITIES:
        out[f"alarm_activations_{p}"] = int((priority == p).sum())
    _, count = rate_sweep(times)
    out["alarm_max_per_10min"] = int(count.max()) if count.size else 0
    floods = [(max(a, t0), min(b, t1)) for a, b in flood_periods(times)]
    out["alarm_flood_count"] = len(floods)
    out["alarm_flood_duration_s"] = float(sum(b - a for a, b in floods))
    out["alarms_standing_at_end"] = len(_standing(alarms, t1))
    hours = (t1 - t0) / 3600.0
    out["alarm_rate_per_h"] = times.size / hours if hours > 0 else math.nan
    return out
