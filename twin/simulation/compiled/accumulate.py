"""KPI accumulators of the compiled engine (``record = "kpis"``): fold record rows, drop them.

When a run records only KPIs, :class:`Folder` is called by the engine whenever a record
array runs low (the loop returned ``GROW``) and at the end: the cached kernel :func:`fold`
adds the rows written so far (state changes, part events, finished parts, stops) to the
accumulators of :class:`twin.observation.accumulated.Accumulated`, and the engine then
reuses the rows. Memory stays bounded by the record arrays' first size, plus one start time
per part made before the window (starts are recorded only then) and the stations' active
periods (the shifting-bottleneck method needs them whole).

What each accumulator holds, and the window rules, are those of the table path
(:mod:`twin.observation.kpis`), row for row:

- a unit's state lasts from its row to the unit's next row (the last one to ``t1``), and
  its seconds inside [t0, t1] are added to (unit, state);
- ``end``, ``scrap`` and ``rework`` events at t0 <= t <= t1 count per station; an ``end``
  adds the item's planned time, less the part of its cycle before t0 (the cycle began at the
  part's ``start`` event there; the parts of a batch share one cycle; starts are recorded
  only before t0, :data:`READS_BEFORE`);
- a failure counts where it begins in the window, with its repair time (planned
  maintenance is a stop, not a failure);
- with an hourly grid emission factor, the factor's integral over each state interval in
  the window is added to (unit, state) too (:func:`twin.data.daily.weighted_each`), and
  with ``[costs]`` the electricity tariff's integral (its time-of-use prices), so that
  cost KPIs need no tables;
- ``created`` events at t0 <= t < t1 count per product (the cost of products released);
- parts finished in the window count as good or scrap, good ones with their lead time;
- the WIP integral adds ``clip(t1 - max(created, t0))`` per created part and subtracts
  ``clip(t1 - max(done, t0))`` per finished one (the same as clipping each part's stay);
- a station is active while all its servers are in an active state at the end of an
  instant (:data:`twin.observation.bottlenecks.ACTIVE_STATES`); its periods are recorded.
"""

from __future__ import annotations

import math

import numpy as np

from twin.data import spec as S
from twin.kernels.jit import flat_kernel, kernel
from twin.observation import accumulated as A
from twin.observation.bottlenecks import ACTIVE_STATES
from twin.observation.recorder import (
    CREATED,
    END,
    GOOD,
    LOST,
    REWORK,
    SCRAP,
    SCRAPPED,
    START,
    STATES,
)
from twin.observation.stability import TREND_BATCHES
from twin.simulation.compiled.unit_time import MAINT_MODE

READS = frozenset({CREATED, START, END, SCRAP, REWORK, LOST})
"""The part events :func:`fold` reads (codes of ``twin.observation.recorder.EVENTS``); a run
that keeps only KPIs need not record the others."""
READS_BEFORE = frozenset({START})
"""Those of :data:`READS` that are read only before the window: a ``start`` tells how much
of a cycle under way at t0 lies before it; an item that starts at t0 or later is counted
whole, so the engine stops recording starts once the window begins."""
# indices of the line counts ``lc``
L_GOOD, L_SCRAP, L_REWORK, L_LOST, L_FIRST, L_CREATED, L_FINISHED = range(7)
LINE_KEYS = ("good", "scrap", "rework", "lost", "first_pass", "created", "finished")


@flat_kernel
def _clip(a, b):
    return b - a if b > a else 0.0


PROFILES = ("grid", "price")
"""The time-of-day profiles integrated per (unit, state): the hourly grid emission factor
[kg/J] and the electricity tariff [currency/kWh] (rows of ``seg`` name theirs in column 3)."""


@flat_kernel
def _profile(tod, seg, k):
    """Integral of time-of-day profile ``k`` (rows ``start, end, value, profile``) from
    midnight to ``tod`` [s after midnight]."""
    out = 0.0
    for i in range(seg.shape[0]):
        if seg[i, 3] == k:
            out += seg[i, 2] * max(min(tod, seg[i, 1]) - seg[i, 0], 0.0)
    return out


@flat_kernel(inline=True)
def _add_interval(u, x, lo, hi, sec, gsec, seg, per_day):
    """Add the interval [lo, hi) [s] (in the window) of unit ``u`` in state ``x``: its
    length, and the integral of each profile over it (``gsec[u, x, k]``; ``per_day[k]``:
    the integral over a whole day; a profile without rows adds 0)."""
    if hi > lo:
        sec[u, x] += hi - lo
        if seg.shape[0]:
            _add_profiles(u, x, lo, hi, gsec, seg, per_day)


@flat_kernel
def _add_profiles(u, x, lo, hi, gsec, seg, per_day):
    """Add the integral of each profile over [lo, hi) [s] to ``gsec[u, x, k]``."""
    day = 86400.0
    days = math.floor(hi / day) - math.floor(lo / day)
    for k in range(per_day.shape[0]):
        gsec[u, x, k] += days * per_day[k] + _profile(hi % day, seg, k) \
            - _profile(lo % day, seg, k)


@flat_kernel(inline=True)
def _close_instant(instant, depth, k, level, nserv, full_at, dirty, stack, per_s, per_t):
    """Judge the ``depth`` stations (``stack``) changed at ``instant`` [s]: a period begins
    or ends there (period rows from ``k`` on); returns the next free period row."""
    for j in range(depth):
        s = stack[j]
        dirty[s] = 0
        if level[s] >= nserv[s]:
            if full_at[s] < 0.0:
                full_at[s] = instant
        elif full_at[s] >= 0.0:
            per_s[k], per_t[k, 0], per_t[k, 1] = s, full_at[s], instant
            k += 1
            full_at[s] = -1.0
    return k


@flat_kernel
def fold(ns, s_t, s_i, ne, e_t, e_i, np_, p_f, p_i, nstop, st_f, st_i, unit_st, active,
         pri, cyc, t0, t1, edges, lead_min, log_ratio, seg, per_day, last_t, last_x, sec, gsec,
         cnt, planned, fails, repair, lc, lead, hist, wip, pstart, level, nserv, full_at,
         dirty, stack, inst, per_s, per_t, made):
    """Add the first ``ns`` state rows, ``ne`` event rows, ``np_`` part rows and ``nstop``
    stop rows to the accumulators (see the module docstring)."""
    nb = edges.shape[0] - 1
    nbins = hist.shape[0]
    instant, k, depth = inst[0], int(inst[1]), int(inst[2])  # kept in registers here
    for i in range(ns):
        t, u, x = s_t[i], s_i[i, 0], s_i[i, 1]
        if t > instant:  # the instant is over: judge the stations it changed
            k = _close_instant(instant, depth, k, level, nserv, full_at, dirty, stack, per_s,
                               per_t)
            depth = 0
            instant = t
        old = last_x[u]
        s = unit_st[u]
        if old >= 0:
            _add_interval(u, old, max(last_t[u], t0), min(t, t1), sec, gsec, seg, per_day)
            level[s] -= active[old]
        level[s] += active[x]
        if dirty[s] == 0:
            dirty[s] = 1
            stack[depth] = s
            depth += 1
        last_t[u], last_x[u] = t, x
    inst[0], inst[1], inst[2] = instant, k, depth
    for i in range(ne):
        t = e_t[i]
        part, prod, s, kind = e_i[i, 0], e_i[i, 1], e_i[i, 2], e_i[i, 3]
        began = np.inf
        if kind == CREATED:
            lc[L_CREATED] += 1
            if t0 <= t < t1:
                made[prod] += 1
            wip[0] += _clip(max(t, t0), t1)
            for b in range(nb):
                wip[1 + b] += _clip(max(t, edges[b]), edges[b + 1])
        elif kind == START:
            pstart[part] = t
        elif kind == END and part < pstart.shape[0]:  # the item's cycle began at its start
            began = pstart[part]  # (inf, or a part past the end: none recorded, >= t0)
            pstart[part] = np.inf
        if t < t0 or t > t1:
            continue
        if kind == END:
            cnt[s, 0] += 1
            p = pri[s, prod]
            before = t0 - began
            left = 1.0
            if before > 0.0:
                left = min(max(1.0 - before / (p * cyc[s]), 0.0), 1.0)  # a batch: its cycle
            planned[s] += p * left
        elif kind == SCRAP:
            cnt[s, 1] += 1
        elif kind == REWORK:
            cnt[s, 2] += 1
            lc[L_REWORK] += 1
        elif kind == LOST:
            lc[L_LOST] += 1
    for i in range(np_):
        c, d = p_f[i, 0], p_f[i, 1]
        lc[L_FINISHED] += 1
        wip[0] -= _clip(max(d, t0), t1)
        for b in range(nb):
            wip[1 + b] -= _clip(max(d, edges[b]), edges[b + 1])
        if d < t0 or d > t1:
            continue
        fate = p_i[i, 2]
        if fate == GOOD:
            lc[L_GOOD] += 1
            if p_i[i, 3] == 0:
                lc[L_FIRST] += 1
            x = d - c
            lead[0] += 1.0
            lead[1] += x
            lead[2] += x * x
            lead[3] = min(lead[3], x)
            lead[4] = max(lead[4], x)
            k = 0
            if x >= lead_min:
                k = min(1 + int(math.floor(math.log(x / lead_min) / log_ratio)), nbins - 1)
            hist[k] += 1
        elif fate == SCRAPPED:
            lc[L_SCRAP] += 1
    for i in range(nstop):
        t = st_f[i, 0]
        if t0 <= t <= t1 and st_i[i, 1] != MAINT_MODE:  # failures only
            s = unit_st[st_i[i, 0]]
            fails[s] += 1
            repair[s] += st_f[i, 1]


@kernel
def finish(t1, last_t, last_x, sec, gsec, seg, per_day, t0, level, nserv, full_at, dirty,
           stack, inst, per_s, per_t):
    """Close every unit's last state and every open active period at ``t1``."""
    inst[1] = _close_instant(inst[0], int(inst[2]), int(inst[1]), level, nserv, full_at,
                             dirty, stack, per_s, per_t)
    inst[0], inst[2] = t1, 0
    for u in range(last_x.shape[0]):
        if last_x[u] >= 0:
            _add_interval(u, last_x[u], max(last_t[u], t0), t1, sec, gsec, seg, per_day)
    for s in range(full_at.shape[0]):
        if full_at[s] >= 0.0 and t1 > full_at[s]:
            k = int(inst[1])
            per_s[k], per_t[k, 0], per_t[k, 1] = s, full_at[s], t1
            inst[1] = k + 1
            full_at[s] = -1.0


@kernel
def _by_station(per_s, per_t, n_st):
    """The period rows ``per_t`` grouped by station ``per_s``, each station's in the order
    written, which is their time order (a station's period is written when it ends, and its
    next one begins at a later instant); returns the rows and where each station's begin
    (``n_st + 1`` entries)."""
    first = np.zeros(n_st + 1, np.int64)
    for s in per_s:
        first[s + 1] += 1
    for s in range(n_st):
        first[s + 1] += first[s]
    at = first[:-1].copy()
    rows = np.empty((per_s.shape[0], 2))
    for i in range(per_s.shape[0]):
        k = at[per_s[i]]
        rows[k, 0], rows[k, 1] = per_t[i, 0], per_t[i, 1]
        at[per_s[i]] = k + 1
    return rows, first


def _grown(a: np.ndarray, rows: int, fill: float | None = None) -> np.ndarray:
    """``a`` with ``rows`` rows, its own first (the rest ``fill``, or left unset: rows
    written before they are read)."""
    out = np.empty((rows,) + a.shape[1:], a.dtype)
    out[:a.shape[0]] = a
    if fill is not None:
        out[a.shape[0]:] = fill
    return out


class Folder:
    """The accumulators of one run on the compiled engine, over the window [t0, t1] [s]."""

    def __init__(self, line: S.LineSpec, names: list[str], unit_station: np.ndarray,
                 products: list[str], t0: float, t1: float) -> None:
        self.line, self.names, self.t0, self.t1 = line, names, float(t0), float(t1)
        n_st, n_u = len(names), unit_station.shape[0]
        pri = np.zeros((n_st, max(1, len(products))))
        cyc = np.ones(n_st)  # items per cycle: the parts of a batch share one
        for s, name in enumerate(names):
            st = line.stations[name]
            if isinstance(st, S.Equipment):
                pri[s, :len(products)] = [st.planned_time_per_item(p) for p in products]
                cyc[s] = getattr(st, "batch_size", 1)
        servers = np.bincount(unit_station, minlength=n_st).astype(np.int64)
        grid = line.energy.grid
        tariff = None if line.costs is None else line.costs.electricity
        profiles = [[] if grid.hourly is None else grid.segments(),
                    [] if tariff is None else tariff.segments()]
        seg = np.array([(a, b, v, k) for k, rows in enumerate(profiles) for a, b, v, _ in rows],
                       dtype=float).reshape(-1, 4)
        self.fixed = dict(
            seg=seg, per_day=np.array([sum((b - a) * v for a, b, v, _ in rows)
                                       for rows in profiles], dtype=float),
            unit_st=unit_station.astype(np.int64),
            active=np.array([int(s in ACTIVE_STATES) for s in STATES], np.int64), pri=pri, cyc=cyc,
            edges=np.linspace(self.t0, self.t1, TREND_BATCHES + 1))
        self.acc = dict(
            last_t=np.zeros(n_u), last_x=np.full(n_u, -1, np.int64),
            sec=np.zeros((n_u, len(STATES))), gsec=np.zeros((n_u, len(STATES), len(PROFILES))),
            cnt=np.zeros((n_st, 3), np.int64),
            planned=np.zeros(n_st), fails=np.zeros(n_st, np.int64), repair=np.zeros(n_st),
            lc=np.zeros(len(LINE_KEYS), np.int64),
            lead=np.array([0.0, 0.0, 0.0, np.inf, -np.inf]),
            hist=np.zeros(A.LEAD_BINS, np.int64), wip=np.zeros(1 + TREND_BATCHES),
            pstart=np.full(1024, np.inf), level=np.zeros(n_st, np.int64), nserv=servers,
            full_at=np.full(n_st, -1.0), dirty=np.zeros(n_st, np.int64),
            stack=np.zeros(n_st, np.int64), inst=np.array([-np.inf, 0.0, 0.0]),
            per_s=np.zeros(1024, np.int64), per_t=np.zeros((1024, 2)),
            made=np.zeros(max(1, len(products)), np.int64))
        self.products = list(products)
        self.profiled = [bool(rows) for rows in profiles]

    def _room(self, parts: int, rows: int) -> None:
        """Grow the per-part start times and the period rows to hold what may come."""
        c = self.acc
        if c["pstart"].shape[0] < parts:
            c["pstart"] = _grown(c["pstart"], 2 * parts, np.inf)
        need = int(c["inst"][1]) + rows + len(self.names)
        if c["per_s"].shape[0] < need:
            c["per_s"] = _grown(c["per_s"], 2 * need)
            c["per_t"] = _grown(c["per_t"], 2 * need)

    def fold(self, a: dict[str, np.ndarray], n: np.ndarray, n_parts: int,
             counters: tuple[int, int, int, int]) -> None:
        """Fold the record rows counted by ``n[counters]`` (states, events, parts, stops) of
        the engine's arrays ``a``; the caller then resets those counters to 0. ``n_parts``:
        the parts whose ``start`` events may be among the rows (the parts made so far, or
        made before starts stopped being recorded)."""
        ns, ne, np_, nstop = (int(n[i]) for i in counters)
        self._room(n_parts, ns)
        f, c = self.fixed, self.acc
        fold(ns, a["s_t"], a["s_i"], ne, a["e_t"], a["e_i"], np_, a["p_f"], a["p_i"], nstop,
             a["st_f"], a["st_i"], f["unit_st"], f["active"], f["pri"], f["cyc"], self.t0, self.t1,
             f["edges"], A.LEAD_MIN_S, math.log(A.LEAD_RATIO), f["seg"], f["per_day"],
             c["last_t"], c["last_x"], c["sec"], c["gsec"], c["cnt"], c["planned"],
             c["fails"], c["repair"], c["lc"], c["lead"], c["hist"], c["wip"], c["pstart"],
             c["level"], c["nserv"], c["full_at"], c["dirty"], c["stack"], c["inst"],
             c["per_s"], c["per_t"], c["made"])

    def result(self, units: list[tuple[int, int]]) -> A.Accumulated:
        """Close the run at ``t1`` and return its accumulators."""
        c = self.acc
        self._room(0, 0)
        f = self.fixed
        finish(self.t1, c["last_t"], c["last_x"], c["sec"], c["gsec"], f["seg"], f["per_day"],
               self.t0, c["level"], c["nserv"], c["full_at"], c["dirty"], c["stack"],
               c["inst"], c["per_s"], c["per_t"])
        k = int(c["inst"][1])
        rows, first = _by_station(c["per_s"][:k], c["per_t"][:k], len(self.names))
        periods = {name: rows[first[s]:first[s + 1]]  # equipment stations, in station order
                   for s, name in enumerate(self.names)
                   if isinstance(self.line.stations[name], S.Equipment)}
        return A.Accumulated(
            stations=list(self.names), seconds=c["sec"].copy(),
            grid_seconds=c["gsec"][:, :, 0].copy() if self.profiled[0] else None,
            price_seconds=c["gsec"][:, :, 1].copy() if self.profiled[1] else None,
            unit_station=self.fixed["unit_st"],
            unit_server=np.array([i for _, i in units], np.int64),
            counts=c["cnt"].copy(), planned=c["planned"].copy(), failures=c["fails"].copy(),
            repair=c["repair"].copy(),
            line=dict(zip(LINE_KEYS, c["lc"].tolist(), strict=True)),
            lead_moments=np.r_[c["lead"][:3], c["lead"][3:] if c["lead"][0] else [np.nan] * 2],
            lead_histogram=c["hist"].copy(), wip_area=float(c["wip"][0]),
            wip_batches=c["wip"][1:] / np.diff(self.fixed["edges"]), periods=periods,
            created=dict(zip(self.products, c["made"][:len(self.products)].tolist(),
                             strict=True)))
