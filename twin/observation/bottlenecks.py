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

from twin.data.intervals import union

ACTIVE_STATES = frozenset({"producing", "setup", "down", "maintenance", "waiting"})
"""Unit states in which a server could not take more work."""


def active_periods(states: pd.DataFrame, t0: float, t1: float) -> dict[str, np.ndarray]:
    """Active periods of each station within [t0, t1] [s], as ``(n, 2)`` arrays of
    ``(start, end)``, merged where they touch.

    ``states``: the run's states table (``unit``, ``station``, ``state``, ``start``, ``end``).
    """
    frame = states[(states["end"] > t0) & (states["start"] < t1)]
    out: dict[str, np.ndarray] = {}
    for station, rows in frame.groupby(frame["station"].astype(str), sort=False):
        servers = rows["unit"].nunique()
        active = rows["state"].astype(str).isin(ACTIVE_STATES).to_numpy()
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
    """Sorted intervals merged where they touch or overlap, as ``(n, 2)``."""
    if not begin.size:
        return np.empty((0, 2))
    merged = [[begin[0], finish[0]]]
    for a, b in zip(begin[1:], finish[1:], strict=True):
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.asarray(merged, dtype=float)


def shifting_bottlenecks(periods: dict[str, np.ndarray], t0: float, t1: float
                         ) -> pd.DataFrame:
    """Sole and shifting bottleneck fractions of each station over [t0, t1].

    Returns one row per station: ``station``, ``sole_fraction``, ``shifting_fraction`` and
    ``bottleneck_fraction`` (their sum), largest first. Ties between equally long periods go
    to the station named first.
    """
    names = list(periods)
    span = t1 - t0
    cuts = np.unique(np.r_[[t0, t1], *[p.ravel() for p in periods.values()]])
    cuts = cuts[(cuts >= t0) & (cuts <= t1)]
    mids = (cuts[:-1] + cuts[1:]) / 2
    # the station whose active period covering each elementary piece is the longest (the
    # first named on a tie), and the index of that period
    best_len = np.zeros(mids.size)
    best = np.zeros(mids.size, dtype=np.int64)
    which = np.full(mids.size, -1, dtype=np.int64)
    for i, name in enumerate(names):
        p = periods[name]
        if not len(p):
            continue
        k = np.searchsorted(p[:, 0], mids, side="right") - 1
        inside = (k >= 0) & (mids < p[np.maximum(k, 0), 1])
        length = np.where(inside, p[np.maximum(k, 0), 1] - p[np.maximum(k, 0), 0], 0.0)
        longer = length > best_len
        best_len[longer], best[longer], which[longer] = length[longer], i, k[longer]
    # reigns: runs of adjacent pieces with the same station and period
    j = np.flatnonzero(best_len > 0)
    st, per = best[j], which[j]
    new = np.ones(j.size, dtype=bool)
    new[1:] = (st[1:] != st[:-1]) | (per[1:] != per[:-1]) | (j[1:] != j[:-1] + 1)
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, j.size - 1].astype(int) if j.size else first
    reigns: list[list[float]] = [  # [station, period, start, end]
        [int(a), int(b), float(c), float(d)] for a, b, c, d in zip(
            st[first].tolist(), per[first].tolist(), cuts[j[first]].tolist(),
            cuts[j[last] + 1].tolist(), strict=True)]
    sole = np.zeros(len(names))
    shifting: list[list[tuple[float, float]]] = [[] for _ in names]
    for a, b in zip(reigns[:-1], reigns[1:], strict=True):
        if a[0] == b[0] or a[3] != b[2]:
            continue  # the same station again, or a gap with no bottleneck between them
        pa, pb = periods[names[int(a[0])]][int(a[1])], periods[names[int(b[0])]][int(b[1])]
        lo, hi = max(pa[0], pb[0], t0), min(pa[1], pb[1], t1)
        if hi > lo:
            shifting[int(a[0])].append((lo, hi))
            shifting[int(b[0])].append((lo, hi))
    reign_of: list[list[tuple[float, float]]] = [[] for _ in names]
    for s, _, start, end in reigns:
        reign_of[int(s)].append((start, end))
    shift = np.zeros(len(names))
    for i in range(len(names)):
        own = union(shifting[i])
        shift[i] = sum(hi - lo for lo, hi in own)
        sole[i] = sum(e - s for s, e in reign_of[i]) - _overlap(reign_of[i], own)
    table = pd.DataFrame({"station": names, "sole_fraction": sole / span,
                          "shifting_fraction": shift / span})
    table["bottleneck_fraction"] = table["sole_fraction"] + table["shifting_fraction"]
    return table.sort_values("bottleneck_fraction", ascending=False, kind="stable"
                             ).reset_index(drop=True)


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Length of the intersection of two lists of disjoint intervals in order."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        total += max(0.0, hi - lo)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total
