"""Is the line stable? Offered load before a run, a WIP trend test after it.

**Before the run** (:func:`offered_load`): the long-run arrival rate of every station follows
from the sources' rates and the routes (traffic equations over (station, product): routing
probabilities, product-specific routes, rework loops counted up to no limit, scrap leaving,
assembly components consumed). A station's offered load is

    rho = sum_p lambda_p E[S_p] (1 + sum_k MTTR_k / MTTF_k)  /  (c A_cal A_maint w)

with ``E[S_p]`` the mean cycle time (per batch for a batch station; for a process unit the
fixed-duration phases only, so a lower bound), operating-time failures adding their repair
time per unit of work, calendar-time failures and maintenance taking their share of time
(``A``), ``w`` the working share of the week for stations that follow the calendar, and ``c``
the servers. Setups, operators and blocking only add load, so ``rho >= 1`` means the station
cannot keep up: its queue grows without bound (or, with finite buffers, it throttles the
line). Not computable, and so left out: lines fed by an infinite supply or by a finite
number of parts, stations reached through several routes without probabilities (the least
loaded is chosen at run time), tanks and continuous units.

**After the run** (:func:`wip_trend`): the time-weighted WIP over the observation window in
:data:`TREND_BATCHES` batch means, and Kendall's tau of the batch means against time
(Mann-Kendall trend test, SciPy). A significant upward trend (p below
:data:`TREND_P`) whose last quarter exceeds the first by more than the batch means' spread
says the WIP grows through the run: the KPIs are not steady-state values.

Both give warning records of :mod:`twin.observation.run_warnings` (codes
``unstable_station`` and ``wip_grows``), stored in the run's ``warnings`` list.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from twin.data import spec as S
from twin.observation.run_warnings import warning

TREND_BATCHES = 20
"""Batch means of the WIP series in the trend test."""
TREND_P = 0.001
"""p-value below which an upward WIP trend is reported."""


def _rate(src: S.Source) -> float | None:
    """Parts per second a source releases in the long run; None if finite or unbounded."""
    if src.limit is not None:
        return None
    if src.interarrival is not None:
        return 1.0 / src.interarrival.mean()
    if src.schedule:  # releases that repeat set the long-run rate; one-off lots do not
        repeating = [r.quantity / r.every for r in src.schedule if r.every is not None]
        return sum(repeating) if repeating else None
    return None  # infinite supply


def _shares(src: S.Source) -> dict[str, float]:
    if src.product is not None:
        return {src.product: 1.0}
    mix = src.mix or {}
    total = sum(mix.values())
    return {p: w / total for p, w in mix.items() if w > 0}


def _routes_for(st: Any, product: str) -> tuple[list[tuple[str, float]], bool]:
    """(destination, probability) of a part of ``product`` leaving ``st``; the flag is False
    when the split is decided at run time (several routes without probabilities)."""
    routes = [r for r in st.routes if r.products is None or product in r.products]
    if not routes:
        return [], True
    if len(routes) == 1:
        return [(routes[0].to, 1.0)], True
    if all(r.probability is not None for r in routes):
        total = sum(r.probability for r in routes)
        return [(r.to, r.probability / total) for r in routes], True
    return [(r.to, 1.0 / len(routes)) for r in routes], False


def arrival_rates(line: S.LineSpec) -> tuple[dict[tuple[str, str], float], set[str]] | None:
    """Long-run arrivals [1/s] at each (station, product) from the traffic equations, and the
    stations whose share is decided at run time; None if the line's input is not a
    stationary rate (an infinite or finite supply)."""
    products = list(line.products)
    names = list(line.stations)
    index = {(n, p): i for i, (n, p) in enumerate((n, p) for n in names for p in products)}
    size = len(index)
    moves = np.zeros((size, size))
    external = np.zeros(size)
    undecided: set[str] = set()
    for name, st in line.stations.items():
        if isinstance(st, S.Source):
            rate = _rate(st)
            if rate is None and _feeds_components_only(line, st):
                continue  # components taken on demand by an assembly
            if rate is None:
                return None
            for p, share in _shares(st).items():
                for dest, prob in _routes_for(st, p)[0]:
                    external[index[(dest, p)]] += rate * share * prob
            continue
        for p in products:
            out_p, keep = p, 1.0
            if isinstance(st, S.Assembly):
                if p not in st.base:
                    continue  # components are consumed
                out_p = st.output_product or p
            if isinstance(st, S.Inspection):
                keep = 1.0 - st.scrap_probability - st.rework_probability
                if st.rework_to is not None and st.rework_probability > 0:
                    moves[index[(st.rework_to, p)], index[(name, p)]] += st.rework_probability
            dests, decided = _routes_for(st, out_p)
            for dest, prob in dests:
                moves[index[(dest, out_p)], index[(name, p)]] += keep * prob
                if not decided:
                    undecided.add(dest)
    try:
        flow = np.linalg.solve(np.eye(size) - moves, external)
    except np.linalg.LinAlgError:
        return None
    return {key: float(flow[i]) for key, i in index.items()}, undecided | _after_tanks(line)


def _feeds_components_only(line: S.LineSpec, src: S.Source) -> bool:
    dests = [line.stations.get(r.to) for r in src.routes]
    return bool(dests) and all(isinstance(d, S.Assembly) and set(src.products_made())
                               <= set(d.components) for d in dests)


def _after_tanks(line: S.LineSpec) -> set[str]:
    """Stations fed (directly or not) through a tank: their rates are in lots of a
    continuous unit, not in the parts the traffic equations count."""
    todo = [r.to for st in line.stations.values() if isinstance(st, S.Tank) for r in st.routes]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in line.stations:
            continue
        seen.add(name)
        todo += [r.to for r in line.stations[name].routes]
    return seen


def _work_per_item(st: S.Equipment, product: str) -> float | None:
    """Mean work [s] per part of ``product`` (a lower bound for process units)."""
    if isinstance(st, S.Process):
        return sum(ph.duration.mean() for ph in st.recipe_for(product)
                   if hasattr(ph, "duration") and ph.duration is not None)
    if isinstance(st, S.Continuous):
        return None
    dist = st.product_cycle_time.get(product, st.cycle_time)
    work = dist.mean()
    return work / st.batch_size if isinstance(st, S.Batch) else work


def _available_share(line: S.LineSpec, st: S.Equipment) -> tuple[float, float]:
    """(work inflation by operating-time failures, share of time the servers can work)."""
    inflate, share = 1.0, 1.0
    for f in st.failures:
        if f.basis == "operating":
            inflate += f.ttr.mean() / f.ttf.mean()
        else:
            share *= f.ttf.mean() / (f.ttf.mean() + f.ttr.mean())
    if st.maintenance is not None:
        share *= max(0.0, 1.0 - st.maintenance.duration.mean() / st.maintenance.every)
    if line.calendar is not None and st.follows_calendar:
        week = 7 * 86400.0
        share *= sum(b - a for a, b in line.calendar.working_windows()) / week
    return inflate, share


def offered_load(line: S.LineSpec) -> dict[str, float]:
    """Offered load ``rho`` of every station where it can be computed (see the module doc)."""
    solved = arrival_rates(line)
    if solved is None:
        return {}
    rates, undecided = solved
    out = {}
    for name, st in line.stations.items():
        if not isinstance(st, S.Equipment) or name in undecided:
            continue
        work = 0.0
        for p in line.products:
            lam = rates[(name, p)]
            if lam <= 0 or (isinstance(st, S.Assembly) and p not in st.base):
                continue
            w = _work_per_item(st, p)
            if w is None:
                break
            work += lam * w
        else:
            inflate, share = _available_share(line, st)
            if share <= 0:
                continue
            out[name] = work * inflate / (st.servers * share)
    return out


def load_warnings(line: S.LineSpec) -> list[dict[str, Any]]:
    """A warning for every station whose offered load is 1 or more."""
    out = []
    for name, rho in offered_load(line).items():
        if rho >= 1.0:
            out.append(warning(
                "unstable_station",
                f"station {name!r} is offered {rho:.2f} times the work it can do (arrivals x "
                "mean work, with failures, maintenance and shifts): its queue grows without "
                "bound, and the KPIs depend on the run length", stations=[name]))
    return out


def wip_series(tables: dict[str, pd.DataFrame], t0: float, t1: float,
               batches: int = TREND_BATCHES) -> np.ndarray:
    """Time-weighted mean WIP of the line in ``batches`` equal batches of [t0, t1]."""
    events = tables["events"]
    created_ev = events[events["kind"] == "created"]
    parts = tables["parts"]
    done = pd.Series(parts["done"].to_numpy(), index=parts["part"].to_numpy())
    start = created_ev["time"].to_numpy(dtype=float)
    end = done.reindex(created_ev["part"].to_numpy()).fillna(np.inf).to_numpy(dtype=float)
    edges = np.linspace(t0, t1, batches + 1)
    lo, hi = edges[:-1, None], edges[1:, None]
    inside = np.clip(np.minimum(end[None, :], hi) - np.maximum(start[None, :], lo), 0.0, None)
    return inside.sum(axis=1) / (hi[:, 0] - lo[:, 0])


def wip_trend(series: np.ndarray) -> tuple[float, float, bool]:
    """Kendall's tau of ``series`` against time, its p-value, and whether it grows
    (significant upward trend, last quarter above the first by more than the spread).
    Values equal to 1e-9 parts are ties: batch means summed in another order (tables or
    accumulators) differ in the last bits, which would otherwise turn ties into signs."""
    x = np.round(np.asarray(series, dtype=float), 9)
    if x.size < 8 or np.ptp(x) == 0:
        return 0.0, 1.0, False
    tau, p = stats.kendalltau(np.arange(x.size), x)
    q = max(1, x.size // 4)
    grows = bool(tau > 0 and p < TREND_P and x[-q:].mean() - x[:q].mean() > x.std(ddof=1))
    return float(tau), float(p), grows


def trend_warnings(tables: dict[str, pd.DataFrame], t0: float,
                   t1: float) -> list[dict[str, Any]]:
    """A warning if the line's WIP grows through the observation window."""
    if t1 <= t0 or "parts" not in tables:
        return []
    return series_warnings(wip_series(tables, t0, t1), t1)


def series_warnings(series: np.ndarray, t1: float) -> list[dict[str, Any]]:
    """A warning if the WIP of :data:`TREND_BATCHES` batches of the window (ending at
    ``t1`` [s]) grows."""
    tau, p, grows = wip_trend(series)
    if not grows:
        return []
    return [warning(
        "wip_grows",
        f"the WIP grows through the observation window (from {series[0]:.1f} to "
        f"{series[-1]:.1f} parts; Mann-Kendall tau {tau:.2f}, p {p:.1g}): the line is unstable "
        "or the warm-up too short, so the KPIs are not steady-state values", time=t1)]


def stability_warnings(line: S.LineSpec, tables: dict[str, pd.DataFrame], t0: float,
                       t1: float) -> list[dict[str, Any]]:
    """The run's stability warnings: offered load (from the spec) and WIP trend (window
    [t0, t1] [s])."""
    return load_warnings(line) + trend_warnings(tables, t0, t1)
