"""Shifting bottlenecks by the active period method (Roser, Nakano & Tanaka, "Shifting
bottleneck detection", Proc. 2002 Winter Simulation Conference; the active period itself is
from their 2001 "A practical bottleneck detection method").

A station is *active* while none of its servers could take more work: every server is
producing, setting up, down, in maintenance or waiting for an operator or a utility (not
starved, not blocked, not off shift). Its *active periods* are the maximal intervals in which
it is active. At any time the station whose current active period is the longest is the
momentary bottleneck. Where the bottleneck moves from station A to station B, the overlap of
A's and B's active periods is *shifting* bottleneck time for both; the rest of each
bottleneck's reign is *sole* bottleneck time. The fractions are of the observation window;
periods are compared at their whole length, also when they began before the window (pass
periods built over the whole run).

Unlike the largest active (or utilisation) fraction, the method sees a station that limits the
line only part of the time (in some shifts, after a failure elsewhere) and tells when the
constraint moves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.kernels.jit import kernel
from twin.observation.schema import labels

ACTIVE_STATES = frozenset({"producing", "setup", "down", "maintenance", "waiting"})
"""Unit states in which a server could not take more work."""


def active_periods(states: pd.DataFrame, t0: float, t1: float) -> dict[str, np.ndarray]:
    """Active periods of each station within [t0, t1] [s], as ``(n, 2)`` arrays of
    ``(start, end)``, merged where they touch.

    ``states``: the run's states table (``unit``, ``station``, ``state``, ``start``, ``end``).
    """
    frame = states[(states["end"] > t0) & (states["start"] < t1)]
    out: dict[str, np.ndarray] = {}
    for station, rows in frame.groupby(labels(frame["station"]), sort=False, observed=True):
        servers = rows["unit"].nunique()
        active = labels(rows["state"]).isin(ACTIVE_STATES).to_numpy()
        start = np.clip(rows["start"].to_numpy()[active], t0, t1)
        end = np.clip(rows["end"].to_numpy()[active], t0, t1)
        # count active servers over time: +1 at a start, -1 at an end (ends first at a tie,
        # so that back-to-back active states of one server do not count twice)
        times = np.r_[end, start]
        steps = np.r_[-np.ones(end.size), np.ones(start.size)]
        order = np.lexsort((steps, times))
        times, level = times[order], np.cumsum(steps[order])
        full = level >= servers
        # intervals between consecutive change times in which every server is active
        begin = times[:-1][full[:-1]]
        finish = times[1:][full[:-1]]
        keep = finish > begin
        out[station] = _merge(begin[keep], finish[keep])
    return out


def _merge(begin: np.ndarray, finish: np.ndarray) -> np.ndarray:
    """Intervals sorted by ``begin``, merged where they touch or overlap, as ``(n, 2)``.

    A merged interval starts where a begin lies after every finish before it; it ends at the
    latest finish up to the next such start (the running maximum: exact, no arithmetic)."""
    if not begin.size:
        return np.empty((0, 2))
    reach = np.maximum.accumulate(finish)
    first = np.r_[True, begin[1:] > reach[:-1]]
    last = np.r_[first[1:], True]
    return np.column_stack((begin[first], reach[last])).astype(float)


def shifting_bottlenecks(periods: dict[str, np.ndarray], t0: float, t1: float
                         ) -> pd.DataFrame:
    """Sole and shifting bottleneck fractions of each station over [t0, t1].

    Returns one row per station: ``station``, ``sole_fraction``, ``shifting_fraction`` and
    ``bottleneck_fraction`` (their sum), largest first. Ties between equally long periods go
    to the station named first. ``periods``: each station's active periods, sorted and
    disjoint, as ``(n, 2)`` arrays of ``(start, end)`` [s] (:func:`active_periods`).
    """
    sole, shift = bottleneck_fractions(periods, t0, t1)
    table = pd.DataFrame({"station": list(periods), "sole_fraction": sole,
                          "shifting_fraction": shift})
    table["bottleneck_fraction"] = table["sole_fraction"] + table["shifting_fraction"]
    return table.sort_values("bottleneck_fraction", ascending=False, kind="stable"
                             ).reset_index(drop=True)


def bottleneck_fractions(periods: dict[str, np.ndarray], t0: float, t1: float
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The sole and the shifting bottleneck fraction of each station of ``periods`` over
    [t0, t1], in its order (see :func:`shifting_bottlenecks`)."""
    names = list(periods)
    span = t1 - t0
    bounds = np.cumsum([0] + [len(p) for p in periods.values()])
    flat = np.concatenate([np.asarray(p, dtype=float).reshape(-1, 2)
                           for p in periods.values()] + [np.empty((0, 2))])
    # the reigns (station, start, end) and the shifting overlaps (station, start, end)
    reigns, shifts = _reigns(flat, bounds, float(t0), float(t1))
    sole, shift = _times(reigns, shifts, len(names))
    return sole / span, shift / span


@kernel
def _times(reigns: np.ndarray, shifts: np.ndarray, n_st: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Each station's sole and shifting bottleneck time [s] from the reigns and shifting
    overlaps of :func:`_reigns`: its shifting time is the length of the union of its
    overlaps, its sole time that of its reigns less their overlap with that union."""
    sole = np.zeros(n_st)
    shift = np.zeros(n_st)
    for i in range(n_st):
        mine = np.flatnonzero(shifts[:, 0] == i)
        lo, hi = shifts[mine, 1], shifts[mine, 2]
        own = np.empty((mine.size, 2))  # the union, in order (touching ones join)
        m = 0
        for o in np.argsort(lo, kind="mergesort"):
            if m > 0 and lo[o] <= own[m - 1, 1]:
                own[m - 1, 1] = max(own[m - 1, 1], hi[o])
            else:
                own[m, 0], own[m, 1] = lo[o], hi[o]
                m += 1
        total = 0.0
        for r in range(m):
            total += own[r, 1] - own[r, 0]
        shift[i] = total
        rows = np.flatnonzero(reigns[:, 0] == i)
        held = np.empty((rows.size, 2))
        total = 0.0
        for r in range(rows.size):
            held[r, 0], held[r, 1] = reigns[rows[r], 1], reigns[rows[r], 2]
            total += held[r, 1] - held[r, 0]
        sole[i] = total - _overlap(held, own[:m])
    return sole, shift


@kernel
def _reigns(flat: np.ndarray, bounds: np.ndarray, t0: float, t1: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """The momentary bottleneck's reigns and the shifting overlaps between them.

    ``flat``: every station's periods (rows ``start, end`` [s], sorted and disjoint),
    station ``i``'s in rows ``bounds[i]:bounds[i + 1]``. The period bounds in [t0, t1] cut
    the window into elementary pieces; on each piece the station whose period covering it
    is the longest (the first on a tie) is the bottleneck; a *reign* is a run of adjacent
    pieces with the same station and period. Returns the reigns as rows ``station, start,
    end`` [s], in time order, and, where the bottleneck passes from one station straight to
    another, the overlap of their two periods (clipped to the window) as rows ``station,
    start, end``, once for each of the two stations.

    One sweep over the pieces (a merge of the stations' sorted bounds, no sort): each
    station keeps its current period (``k``, or the next one if none has begun), the
    length of the one that covers the piece (``cover``, 0: none) and the time its state
    next changes (``due``); the bottleneck is found again only when its own period ends.
    """
    n_st = bounds.shape[0] - 1
    k = bounds[:-1].copy()
    cover = np.zeros(n_st)
    due = np.full(n_st, t0)  # every station is looked at first at t0
    cap = 2 * flat.shape[0] + 2  # pieces <= distinct bounds
    reigns = np.zeros((cap, 3))
    per = np.zeros(cap, np.int64)
    n = 0
    best, c = -1, t0
    while c < t1:  # the piece [c, nxt)
        rescan = False
        nxt = t1
        for i in range(n_st):
            if due[i] <= c:  # its state changes here
                j = k[i]
                while j < bounds[i + 1] and flat[j, 1] <= c:
                    j += 1  # this period is over
                k[i] = j
                if j < bounds[i + 1] and flat[j, 0] <= c:  # it covers the pieces to its end
                    cover[i], due[i] = flat[j, 1] - flat[j, 0], flat[j, 1]
                else:
                    cover[i], due[i] = 0.0, flat[j, 0] if j < bounds[i + 1] else t1
                if i == best:
                    rescan = True
                elif cover[i] > 0.0 and (best < 0 or cover[i] > cover[best]
                                         or (cover[i] == cover[best] and i < best)):
                    best = i
            nxt = min(nxt, due[i])
        if rescan:
            best = -1
            for i in range(n_st):
                if cover[i] > 0.0 and (best < 0 or cover[i] > cover[best]):
                    best = i
        if best >= 0:
            if (n > 0 and reigns[n - 1, 0] == best and per[n - 1] == k[best]
                    and reigns[n - 1, 2] == c):
                reigns[n - 1, 2] = nxt  # the reign goes on
            else:
                reigns[n, 0], reigns[n, 1], reigns[n, 2] = best, c, nxt
                per[n] = k[best]
                n += 1
        c = nxt
    shifts = np.zeros((2 * max(n - 1, 0), 3))
    m = 0
    for a in range(n - 1):
        b = a + 1
        if reigns[a, 0] == reigns[b, 0] or reigns[a, 2] != reigns[b, 1]:
            continue  # the same station again, or a gap with no bottleneck between them
        pa, pb = per[a], per[b]
        lo = max(max(flat[pa, 0], flat[pb, 0]), t0)
        hi = min(min(flat[pa, 1], flat[pb, 1]), t1)
        if hi > lo:
            for st in (reigns[a, 0], reigns[b, 0]):
                shifts[m, 0], shifts[m, 1], shifts[m, 2] = st, lo, hi
                m += 1
    return reigns[:n], shifts[:m]


@kernel
def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Length of the intersection of two lists of disjoint intervals in order (rows
    ``start, end``)."""
    total, i, j = 0.0, 0, 0
    while i < a.shape[0] and j < b.shape[0]:
        lo, hi = max(a[i, 0], b[j, 0]), min(a[i, 1], b[j, 1])
        total += max(0.0, hi - lo)
        if a[i, 1] < b[j, 1]:
            i += 1
        else:
            j += 1
    return total
