"""Mining one station from its visits (paired events) and its units' state histories:
servers, cycle times (per product when they differ), scrap and rework, setups, failures
(with right-censoring) and maintenance. Every number is an
:class:`~twin.fit.estimates.Estimate` with its evidence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from twin.fit.estimates import Estimate, duration, proportion
from twin.fit.timeline import UnitHistory

PRODUCT_MIN = 30
"""Fewest visits of a product for its own cycle-time fit."""
PRODUCT_ALPHA = 0.001
"""A product whose mean log work time differs from the main product's at this level
(Welch) gets its own cycle time."""


@dataclass
class Options:
    """Mining options: bootstrap ``rounds`` and ``seed`` of the KS tests, interval
    ``confidence``, and whether each unit was new (a renewal) when its log began, so that the
    first time to failure counts (otherwise it is left out: its start is unknown)."""

    seed: int = 0
    rounds: int = 199
    confidence: float = 0.95
    renewal_at_start: bool = False


@dataclass
class StationMining:
    """What was mined for one station: its spec table, the estimates and notes."""

    name: str
    spec: dict[str, Any]
    estimates: list[Estimate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def work_times(v: pd.DataFrame, units: dict[str, UnitHistory]) -> tuple[np.ndarray, bool]:
    """Work content of each visit [s] and whether stops were left out: P(complete) - P(start)
    on the producing clock of the unit that did it (its ``resource``, or the station's only
    unit), else the elapsed time."""
    elapsed = (v["complete_s"] - v["start_s"]).to_numpy(dtype=float)
    if not units:
        return elapsed, False
    out = elapsed.copy()
    res = v["resource"].astype(str).to_numpy()
    only = next(iter(units)) if len(units) == 1 else None
    known = np.zeros(len(v), dtype=bool)
    for name, h in units.items():
        rows = (res == name) | ((res == "") & (only == name))
        if rows.any():
            out[rows] = (h.clock(v["complete_s"].to_numpy()[rows])
                         - h.clock(v["start_s"].to_numpy()[rows]))
            known |= rows
    return out, bool(known.all())


def _cycle_times(m: StationMining, v: pd.DataFrame, units: dict[str, UnitHistory],
                 opt: Options) -> None:
    work, clean = work_times(v, units)
    basis = ("producing time (stops left out)" if clean else
             "elapsed start to complete (includes any stops: no resource or state log)")
    m.notes.append(f"cycle times: {basis}")
    counts = Counter(v["product"])
    main = counts.most_common(1)[0][0]
    own: list[str] = []
    lw = np.log(np.clip(work, 1e-9, None))
    for product, n in counts.items():
        if product == main or n < PRODUCT_MIN or counts[main] < PRODUCT_MIN:
            continue
        p = stats.ttest_ind(lw[v["product"] == product], lw[v["product"] == main],
                            equal_var=False).pvalue
        if p < PRODUCT_ALPHA:
            own.append(product)
    base = ~v["product"].isin(own).to_numpy()
    kw = {"seed": opt.seed, "rounds": opt.rounds, "confidence": opt.confidence}
    est = duration(f"stations.{m.name}.cycle_time", work[base], what="cycle time", **kw)
    m.spec["cycle_time"] = est.value
    m.estimates.append(est)
    for product in sorted(own):
        e = duration(f"stations.{m.name}.product_cycle_time.{product}",
                     work[(v["product"] == product).to_numpy()],
                     what=f"cycle time of {product} (differs from {main}, Welch p<0.001)", **kw)
        m.spec.setdefault("product_cycle_time", {})[product] = e.value
        m.estimates.append(e)


def _servers(v: pd.DataFrame, units: dict[str, UnitHistory]) -> tuple[int, str]:
    if units:
        return len(units), "units in the state log"
    res = set(v["resource"]) - {""}
    if res:
        return len(res), "resources in the event log"
    s, e = v["start_s"].to_numpy(), v["complete_s"].to_numpy()
    t = np.concatenate([s, e])
    step = np.concatenate([np.ones_like(s), -np.ones_like(e)])
    order = np.lexsort((step, t))  # completes before starts at one time
    return max(1, int(np.cumsum(step[order]).max())), "most visits at once (a lower bound)"


def _quality(m: StationMining, v: pd.DataFrame, nxt: pd.Series, opt: Options) -> None:
    n = len(v)
    k_scrap = int((v["outcome"] == "scrap").sum())
    k_rework = int((v["outcome"] == "rework").sum())
    if not (k_scrap or k_rework):
        return
    m.spec["type"] = "inspection"
    for key, k in (("scrap_probability", k_scrap), ("rework_probability", k_rework)):
        e = proportion(f"stations.{m.name}.{key}", k, n, opt.confidence, key.replace("_", " "))
        m.spec[key] = e.value
        m.estimates.append(e)
    if k_rework:
        to = Counter(nxt[v["outcome"] == "rework"].dropna())
        if to:
            m.spec["rework_to"] = to.most_common(1)[0][0]
            m.notes.append(f"reworked parts went next to {dict(to)}")


def _intervals(units: dict[str, UnitHistory], state: str
               ) -> list[tuple[UnitHistory, np.ndarray, bool]]:
    """Per unit: the indices of its ``state`` rows and whether the last one is open."""
    out = []
    for h in units.values():
        idx = np.flatnonzero(h.state == state)
        out.append((h, idx, bool(h.open_last and idx.size and idx[-1] == h.state.size - 1)))
    return out


def mine_failures(m: StationMining, units: dict[str, UnitHistory], opt: Options) -> None:
    """Failures of a station's units: repair times are the ``down`` periods; times to
    failure run from the end of one to the start of the next, on the producing clock if
    every failure began while producing (operating basis), else in calendar time. The time
    from the last repair to the log end is right-censored; the time before a unit's first
    failure counts only with ``renewal_at_start``."""
    per_unit = _intervals(units, "down")
    downs = sum(idx.size for _, idx, _ in per_unit)
    if not downs:
        if units:
            m.notes.append("no failures in the state log")
        return
    before = Counter(h.state[i - 1] for h, idx, _ in per_unit for i in idx if i > 0)
    basis = "operating" if set(before) <= {"producing"} else "calendar"
    states = ("producing",) if basis == "operating" else tuple(
        {s for h in units.values() for s in h.state})
    ttf, ttf_c, ttr, ttr_c = [], [], [], []
    for h, idx, open_last in per_unit:
        if not idx.size:  # never failed: censored from its start, if that was a renewal
            if opt.renewal_at_start:
                ttf_c.append(h.clock(h.end[-1:], states)[0] - h.clock(h.start[:1], states)[0])
            continue
        s, e = h.start[idx], h.end[idx]
        (ttr_c if open_last else ttr).append(e[-1] - s[-1])
        ttr.extend(e[:-1] - s[:-1])
        clock_s, clock_e = h.clock(s, states), h.clock(e, states)
        ttf.extend(clock_s[1:] - clock_e[:-1])
        if opt.renewal_at_start:
            ttf.append(clock_s[0] - h.clock(np.array([h.start[0]]), states)[0])
        if not open_last:
            ttf_c.append(h.clock(np.array([h.end[-1]]), states)[0] - clock_e[-1])
    kw = {"seed": opt.seed, "rounds": opt.rounds, "confidence": opt.confidence}
    path = f"stations.{m.name}.failures[0]"
    f_ttf = duration(f"{path}.ttf", np.array(ttf), np.array(ttf_c),
                     what=f"time to failure ({basis} time)", **kw)
    f_ttr = duration(f"{path}.ttr", np.array(ttr), np.array(ttr_c), what="time to repair", **kw)
    m.spec["failures"] = [{"name": "breakdown", "basis": basis, "ttf": f_ttf.value,
                           "ttr": f_ttr.value}]
    m.estimates += [f_ttf, f_ttr]
    m.notes.append(f"failures: {downs} down periods; basis {basis} (states before a failure: "
                   f"{dict(before)}); {len(ttf_c)} times to failure cut by the log end kept as "
                   "right-censored" + ("" if opt.renewal_at_start else
                                       "; the first time of each unit left out (start unknown)"))


def _setups_and_maintenance(m: StationMining, units: dict[str, UnitHistory], opt: Options,
                            changes: int) -> None:
    kw = {"seed": opt.seed, "rounds": opt.rounds, "confidence": opt.confidence}
    setups = np.concatenate([h.end[idx] - h.start[idx] for h, idx, _ in
                             _intervals(units, "setup")] or [np.zeros(0)])
    if setups.size:
        e = duration(f"stations.{m.name}.setup_time", setups, what="setup time", **kw)
        m.spec["setup_time"] = e.value
        m.estimates.append(e)
        m.notes.append(f"setups: {setups.size} in the state log, {changes} product changes "
                       "seen on its units")
    maint = [(h.start[idx], h.end[idx] - h.start[idx]) for h, idx, _ in
             _intervals(units, "maintenance")]
    starts = [s for s, _ in maint if s.size >= 2]
    if starts:
        every = float(np.median(np.concatenate([np.diff(s) for s in starts])))
        dur = np.concatenate([d for _, d in maint])
        m.spec["maintenance"] = {"every": f"{every:.6g} s", "duration": f"{dur.mean():.6g} s"}
        m.estimates.append(Estimate(f"stations.{m.name}.maintenance", m.spec["maintenance"],
                                    f"maintenance: median spacing {every / 3600:.4g} h, mean "
                                    f"duration {dur.mean() / 3600:.4g} h, n={dur.size}",
                                    dur.size))


def product_changes(v: pd.DataFrame) -> int:
    """Product changes between consecutive visits on each resource."""
    n = 0
    for _, g in v[v["resource"] != ""].sort_values("start_s").groupby("resource"):
        p = g["product"].to_numpy()
        n += int((p[1:] != p[:-1]).sum())
    return n


def mine_station(name: str, v: pd.DataFrame, nxt: pd.Series, units: dict[str, UnitHistory],
                 opt: Options) -> StationMining:
    """Mine station ``name`` from its visits ``v`` (seconds columns ``start_s``,
    ``complete_s``), the station each visit went to next (``nxt``) and its units."""
    m = StationMining(name, {"type": "machine"})
    servers, how = _servers(v, units)
    m.spec["servers"] = servers
    m.notes.append(f"{servers} server(s): {how}")
    _cycle_times(m, v, units, opt)
    _quality(m, v, nxt, opt)
    _setups_and_maintenance(m, units, opt, product_changes(v))
    mine_failures(m, units, opt)
    return m
