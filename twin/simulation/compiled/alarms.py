"""Alarms on the compiled engine: a discrete line's watched signals and their ISA-18.2 alarms.

The signals a compiled run records (tags of :func:`twin.data.alarms.signal_tags`):

- ``buffer.<station>``: parts waiting in the station's queue (all queues of an assembly), not
  counting parts handed straight to a server. The loop writes the level after each timed
  event when it changed (:func:`levels`, its one hook in :mod:`.loop`);
- ``wip``: parts created and not yet out, scrapped or consumed, counted from the part events
  (``created`` +1; ``exit``, ``scrap``, ``consumed`` -1);
- ``residual.<signal>``: a plain run has no residuals, so such an alarm stays normal, as on
  the SimPy engine.

As on the SimPy engine (:meth:`twin.simulation.flow.Context.signal`), a signal starts at 0 at
t = 0 and is recorded once per instant, with the value it ends the instant with, and only
when that changed. The rows of the last instant seen are held back until a later row shows
the instant is over (a record array may fill up in the middle of one) or the run reaches
``until``.

The alarm state machine is :class:`twin.observation.alarms.AlarmMonitor`'s (ANSI/ISA-18.2)
for a run without operator actions (the compiled engine runs no scenario events, so nothing
acknowledges or shelves): ``normal -> unack`` on activation (at or beyond the limit for the
on-delay; a timer due at an instant is judged on the value the instant ends with),
``unack -> rtn_unack`` when the value is back inside the limit by the deadband, and
``rtn_unack -> unack`` when it crosses again. Its rows are the ``alarms`` table's; rows of
one time are in the order the alarms are declared (the SimPy engine orders two alarms on
different signals that change state at one instant by which signal changed first).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.alarms import tag_kind
from twin.kernels.jit import kernel
from twin.observation.alarms import alarm_table
from twin.observation.recorder import CONSUMED, CREATED, EXIT, SCRAP

SIGNAL_KINDS = ("buffer", "wip", "residual")
"""Kinds of tags the compiled engine's alarms can watch (residuals: none in a plain run)."""
SLACK_ROWS = 1 << 12
"""Signal rows the loop may write between two checks of its arrays."""

# parameters of one alarm (``par``) and its state (``ast``; pending: NaN while no on-delay runs)
P_LIMIT, P_BAND, P_DELAY, P_HIGH = range(4)
A_ACTIVE, A_PENDING, A_VALUE = range(3)
# a signal's state (``st``): pending instant, its value, whether one is pending, last recorded
S_T, S_V, S_HAS, S_LAST = range(4)
ACTIVATE, RTN = 0, 1
"""Alarm-table events this state machine makes (and the state each leaves)."""
_EVENTS = (("activate", "unack"), ("rtn", "rtn_unack"))


def unsupported_alarms(line: S.LineSpec) -> list[str]:
    """The alarms the compiled engine cannot evaluate, each with its reason (empty: all)."""
    return [f"alarm {name!r} on {a.tag!r} (rolling KPI signals)"
            for name, a in line.alarms.items() if tag_kind(a.tag) not in SIGNAL_KINDS]


@kernel
def levels(now, ql, sg):
    """Write the level of each watched buffer at ``now`` [s] if it changed (the loop calls
    this before each timed event and before it returns).

    ``sg`` = (the queues of each watched station, padded with -1; their last levels; row
    times; rows (signal, level); row count)."""
    wq, last, sig_t, sig_i, cnt = sg
    for k in range(wq.shape[0]):
        level = 0
        for q in wq[k]:
            if q >= 0:
                level += ql[q]
        if level != last[k]:
            last[k] = level
            i = cnt[0]
            sig_t[i] = now
            sig_i[i, 0], sig_i[i, 1] = k, level
            cnt[0] = i + 1


@kernel
def settle(t, v, st, out_t, out_v):
    """The changes of one signal recorded from its rows ``(t, v)`` (time order): the value
    each instant ends with, if it differs from the last recorded; the last instant stays
    pending in ``st``. Returns the number of changes written to ``out_t``, ``out_v``."""
    m = 0
    for i in range(t.shape[0]):
        if st[S_HAS] > 0 and t[i] > st[S_T]:
            if st[S_V] != st[S_LAST]:
                out_t[m], out_v[m] = st[S_T], st[S_V]
                st[S_LAST] = st[S_V]
                m += 1
        st[S_T], st[S_V], st[S_HAS] = t[i], v[i], 1.0
    return m


@kernel
def judge(ct, cv, par, ast, until, out_t, out_e, out_v):
    """Run one alarm over its signal's recorded changes ``(ct, cv)``, then fire its on-delay
    if due by ``until`` [s] (-inf: not yet). Returns the number of rows written (time,
    event, value); ``out_*`` hold at least ``2 len(ct) + 1``."""
    limit, band, delay, high = par[P_LIMIT], par[P_BAND], par[P_DELAY], par[P_HIGH] > 0
    m = 0
    for i in range(ct.shape[0]):
        t = ct[i]
        p = ast[A_PENDING]
        if p == p and ast[A_ACTIVE] == 0 and p + delay < t:  # the on-delay ran out before t
            ast[A_ACTIVE], ast[A_PENDING] = 1.0, np.nan
            out_t[m], out_e[m], out_v[m] = p + delay, ACTIVATE, ast[A_VALUE]
            m += 1
        value = cv[i]
        ast[A_VALUE] = value
        if value != value:
            continue
        if ast[A_ACTIVE] == 0:
            if (value >= limit) if high else (value <= limit):
                if delay <= 0:
                    ast[A_ACTIVE] = 1.0
                    out_t[m], out_e[m], out_v[m] = t, ACTIVATE, value
                    m += 1
                elif ast[A_PENDING] != ast[A_PENDING]:
                    ast[A_PENDING] = t
            else:
                ast[A_PENDING] = np.nan  # the on-delay is interrupted
        elif (value < limit - band) if high else (value > limit + band):
            ast[A_ACTIVE], ast[A_PENDING] = 0.0, np.nan
            out_t[m], out_e[m], out_v[m] = t, RTN, value
            m += 1
    p = ast[A_PENDING]
    if p == p and ast[A_ACTIVE] == 0 and p + delay <= until:
        ast[A_ACTIVE], ast[A_PENDING] = 1.0, np.nan
        out_t[m], out_e[m], out_v[m] = p + delay, ACTIVATE, ast[A_VALUE]
        m += 1
    return m


def loop_arrays(queues: list[list[int]]) -> tuple[np.ndarray, ...]:
    """The loop's arrays for buffers made of ``queues`` (queue indices of each watched
    station; none: a line whose buffers nobody watches)."""
    k = len(queues)
    wq = np.full((k, max((len(q) for q in queues), default=1)), -1, np.int64)
    for i, q in enumerate(queues):
        wq[i, :len(q)] = q
    return (wq, np.zeros(k, np.int64), np.zeros(SLACK_ROWS + k),
            np.zeros((SLACK_ROWS + k, 2), np.int64), np.zeros(1, np.int64))


class SignalAlarms:
    """The watched signals and the alarms of one compiled run (``model.alarms``).

    ``queues``: the queue indices of each station (an assembly has one per product). The
    engine passes :attr:`sg` to the loop, calls :meth:`take` whenever it is about to
    reuse the record rows (and with the rows of the end), and :meth:`finish` at the end of
    each :meth:`~twin.simulation.compiled.engine.CompiledModel.run`. ``keep``: keep the
    ``signals`` rows (a run with tables); the alarm rows are always kept (they are few).
    """

    READS = frozenset({CREATED, EXIT, SCRAP, CONSUMED})
    """The part events :meth:`take` reads (the WIP signal)."""

    def __init__(self, line: S.LineSpec, queues: dict[str, list[int]], keep: bool) -> None:
        self.line, self.keep = line, keep
        watched = sorted({a.tag for a in line.alarms.values()
                          if tag_kind(a.tag) in ("buffer", "wip")})
        self.tags = watched
        buffers = [t for t in watched if t != "wip"]
        self._slot = {t: k for k, t in enumerate(buffers)}  # loop row signal -> tag
        self.sg = loop_arrays([queues[t[len("buffer."):]] for t in buffers])
        self._st = {t: np.array([0.0, 0.0, 0.0, 0.0]) for t in watched}
        self.names = list(line.alarms)
        self._by_tag: dict[str, list[int]] = {}
        self._par, self._ast = [], []
        for i, a in enumerate(line.alarms.values()):
            self._by_tag.setdefault(a.tag, []).append(i)
            self._par.append(np.array([a.limit, a.deadband, a.on_delay,
                                       float(a.direction == "high")]))
            self._ast.append(np.array([0.0, np.nan, np.nan]))
        self.signals: list[tuple[np.ndarray, str, np.ndarray]] = []
        self._rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._wip = 0
        self._seen = 0  # part-event rows already counted into ``wip``
        for tag in watched:  # every count starts at 0 at t = 0, as on the SimPy engine
            self._recorded(tag, np.zeros(1), np.zeros(1), -math.inf)

    # ------------------------------------------------------------------ from the engine

    def take(self, e_t: np.ndarray, e_kind: np.ndarray) -> None:
        """Evaluate the loop's new signal rows and the part events after those already
        counted (``e_t``, ``e_kind``: every event row kept so far), then empty the signal
        rows; call :meth:`dropped` when the event rows are reused."""
        _, _, sig_t, sig_i, cnt = self.sg
        rows = int(cnt[0])
        for tag, k in self._slot.items():
            mine = sig_i[:rows, 0] == k
            self._settle(tag, sig_t[:rows][mine], sig_i[:rows, 1][mine].astype(float))
        cnt[0] = 0
        if "wip" in self._st:
            kind = e_kind[self._seen:]
            step = (kind == CREATED).astype(np.int64) - np.isin(kind, (EXIT, SCRAP, CONSUMED))
            moved = step != 0
            level = self._wip + np.cumsum(step[moved])
            if level.size:
                self._wip = int(level[-1])
            self._settle("wip", e_t[self._seen:][moved], level.astype(float))
        self._seen = e_kind.shape[0]

    def dropped(self) -> None:
        """The engine reuses its part-event rows (a run that folds its records)."""
        self._seen = 0

    def finish(self, until: float) -> None:
        """Every instant before ``until`` [s] is over: record the values pending and fire
        the on-delays due by then."""
        for tag, st in self._st.items():
            t = np.array([st[S_T]]) if st[S_HAS] > 0 and st[S_V] != st[S_LAST] else np.zeros(0)
            v = np.array([st[S_V]]) if t.size else np.zeros(0)
            st[S_HAS], st[S_LAST] = 0.0, st[S_V]
            self._recorded(tag, t, v, until)

    # ------------------------------------------------------------------ evaluation

    def _settle(self, tag: str, t: np.ndarray, v: np.ndarray) -> None:
        out_t, out_v = np.zeros(t.size), np.zeros(t.size)
        m = settle(t, v, self._st[tag], out_t, out_v)
        self._recorded(tag, out_t[:m], out_v[:m], -math.inf)

    def _recorded(self, tag: str, t: np.ndarray, v: np.ndarray, until: float) -> None:
        """``tag`` recorded the changes ``(t, v)``: judge its alarms on them."""
        if self.keep and t.size:
            self.signals.append((t, tag, v))
        for i in self._by_tag.get(tag, ()):
            size = 2 * t.size + 1
            out_t, out_e, out_v = np.zeros(size), np.zeros(size, np.int64), np.zeros(size)
            m = judge(t, v, self._par[i], self._ast[i], until, out_t, out_e, out_v)
            if m:
                self._rows.append((out_t[:m], np.full(m, i), out_e[:m], out_v[:m]))

    # ------------------------------------------------------------------ results

    def signal_rows(self) -> list[tuple[float, str, float]]:
        """The ``signals`` rows recorded (time order; at one time, tags in name order)."""
        if not self.signals:
            return []
        t = np.concatenate([c[0] for c in self.signals])
        tag = np.concatenate([np.full(c[0].size, self.tags.index(c[1])) for c in self.signals])
        v = np.concatenate([c[2] for c in self.signals])
        order = np.lexsort((tag, t))
        return [(t_, self.tags[k], v_) for t_, k, v_ in
                zip(t[order].tolist(), tag[order].tolist(), v[order].tolist(), strict=True)]

    def alarm_rows(self) -> list[tuple[Any, ...]]:
        """The ``alarms`` table rows (time order; at one time, alarms in declaration order)."""
        if not self._rows:
            return []
        t, who, ev, v = (np.concatenate([c[j] for c in self._rows]) for j in range(4))
        order = np.lexsort((who, t))
        specs = list(self.line.alarms.values())
        out = []
        for t_, i, e, v_ in zip(t[order].tolist(), who[order].tolist(), ev[order].tolist(),
                                v[order].tolist(), strict=True):
            a = specs[i]
            out.append((t_, self.names[i], a.tag, a.priority, *_EVENTS[e], v_, a.limit))
        return out

    def table(self) -> pd.DataFrame:
        """The ``alarms`` table."""
        return alarm_table(self.alarm_rows())

    def standing(self) -> list[str]:
        """Alarms whose condition is active now (none is shelved on this engine)."""
        return [self.names[i] for i, st in enumerate(self._ast) if st[A_ACTIVE] > 0]
