"""Is the line stable? Offered load before a run, a WIP trend test after it.

**Before the run** (:func:`offered_load`): the long-run arrivals at every station come from
the traffic equations (:mod:`twin.observation.traffic`: the sources' rates and product mix,
routing probabilities, product-specific routes, rework loops, scrap, assembly components,
lots of a continuous unit after a tank). A station's offered load is

    rho = sum_p lambda_p E[S_p] (1 + sum_k MTTR_k / MTTF_k)  /  (c A_cal A_maint w)

with ``E[S_p]`` the mean work per part (per part of a full batch for a batch station; for a
process unit the fixed-duration phases only, so a lower bound; ``lot_mass / rate`` per lot
of a continuous unit), operating-time failures adding their repair time per unit of work,
calendar-time failures and maintenance taking their share of time (``A``), ``w`` the working
share of the week for stations that follow the calendar, and ``c`` the servers. Stations
that share parts through least-loaded routes are a pool: each is offered the pool's load,
the work offered to all of them over their pooled capacity (``sum W / sum c A w``), a bound
that no split of the parts can beat. Setups, operators and blocking only add load, so
``rho >= 1`` means the station cannot keep up: its queue grows without bound (or, with
finite buffers, it throttles the line). A station loaded by a source with a ``limit`` is so
only while that source releases; the warning says so. Not computable, and so left out:
lines fed by an infinite supply (their rate is what the line lets in), and the stations
after a tank whose batches change their mass in their recipe.

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
from twin.observation.traffic import Traffic, arrivals, availability, work_per_item

TREND_BATCHES = 20
"""Batch means of the WIP series in the trend test."""
TREND_P = 0.001
"""p-value below which an upward WIP trend is reported."""


def _work_and_capacity(line: S.LineSpec, traffic: Traffic,
                       name: str) -> tuple[float, float] | None:
    """(work offered [server-seconds per second], capacity [servers available]) of a
    station, or ``None`` where it cannot be computed."""
    st = line.stations[name]
    if not isinstance(st, S.Equipment) or name in traffic.unknown:
        return None
    work = 0.0
    for p in line.products:
        lam = traffic.rates[(name, p)]
        if lam <= 0 or (isinstance(st, S.Assembly) and p not in st.base):
            continue
        w = work_per_item(st, p)
        if w is None:
            return None
        work += lam * w
    inflate, share = availability(line, st)
    return work * inflate, st.servers * share


def offered_load(line: S.LineSpec) -> dict[str, float]:
    """Offered load ``rho`` of every station where it can be computed (see the module doc);
    members of a pool of least-loaded routes get the pool's load."""
    traffic = arrivals(line)
    return {} if traffic is None else _loads(line, traffic)


def _loads(line: S.LineSpec, traffic: Traffic) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in line.stations:
        wc = _work_and_capacity(line, traffic, name)
        if wc is not None and wc[1] > 0:
            out[name] = wc[0] / wc[1]
    for pool in traffic.pools:
        both = [_work_and_capacity(line, traffic, n) for n in pool]
        if any(wc is None for wc in both):
            for n in pool:
                out.pop(n, None)  # a member of unknown capacity: no bound for the pool
            continue
        cap = sum(wc[1] for wc in both)  # type: ignore[index]
        rho = sum(wc[0] for wc in both) / cap if cap > 0 else float("inf")  # type: ignore
        out.update({n: rho for n in pool})
    return out


def load_warnings(line: S.LineSpec) -> list[dict[str, Any]]:
    """A warning for every station (or pool of least-loaded routes) offered a load of 1 or
    more."""
    traffic = arrivals(line)
    if traffic is None:
        return []
    pools = {n: pool for pool in traffic.pools if len(pool) > 1 for n in pool}
    out, said = [], set()
    for name, rho in _loads(line, traffic).items():
        if rho < 1.0 or name in said:
            continue
        pool = pools.get(name, [name])
        said.update(pool)
        who = (f"station {name!r} is" if len(pool) == 1 else "stations " + ", ".join(
            repr(n) for n in pool) + " (sharing parts by least-loaded routes) are")
        finite = sorted({s for n in pool for s in traffic.finite.get(n, [])})
        when = ("" if not finite else " while the limited supply " + repr(finite[0])
                + " lasts" if len(finite) == 1 else " while the limited supplies "
                + ", ".join(repr(s) for s in finite) + " last")
        out.append(warning(
            "unstable_station",
            f"{who} offered {rho:.2f} times the work {'it' if len(pool) == 1 else 'they'} "
            f"can do{when} (arrivals x mean work, with failures, maintenance and shifts): "
            f"{'its queue grows' if len(pool) == 1 else 'their queues grow'} "
            f"{'until the supply ends' if finite else 'without bound'}, and the KPIs depend "
            "on the run length",
            stations=pool))
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
