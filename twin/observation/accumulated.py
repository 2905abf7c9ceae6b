"""KPIs of a run recorded as accumulators (``record = "kpis"``) instead of tables.

For large studies a run need not keep its tables: the compiled engine folds its record rows
into the accumulators of :class:`Accumulated` whenever its record arrays fill up and at the
end (:mod:`twin.simulation.compiled.accumulate`), and drops the rows. From the accumulators
:func:`accumulated_kpis` computes the same station and line KPIs, the electricity ledger and
the WIP series of the stability check, with the formulas of :mod:`.kpis` (the same functions
the table path calls), so both recordings report the same numbers over the window [t0, t1]:
to floating-point rounding (sums in another order), except the lead-time quantiles, which
come from a histogram (:data:`LEAD_RATIO`): within :data:`LEAD_RESOLUTION` (relative) of
NumPy's linear-interpolation percentiles of the exact lead times, or half a
:data:`LEAD_MIN_S` for lead times below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.observation.kpis import (
    LineTallies,
    add_bottleneck_fractions,
    line_row,
    station_row,
)
from twin.observation.ledger import electricity_rows
from twin.observation.recorder import STATES

LEAD_MIN_S = 1e-3
"""Lead times below this [s] share the histogram's first bin."""
LEAD_RATIO = 1.002
"""Ratio of the upper to the lower edge of every other lead-time bin (logarithmic bins)."""
LEAD_MAX_S = 1e9
"""Lead times above this [s] (32 years) share the last bin."""
LEAD_BINS = 2 + math.ceil(math.log(LEAD_MAX_S / LEAD_MIN_S) / math.log(LEAD_RATIO))
"""Bins of the lead-time histogram: [0, LEAD_MIN_S), the logarithmic bins, the overflow."""
LEAD_RESOLUTION = math.sqrt(LEAD_RATIO) - 1.0
"""Largest relative error of a lead-time quantile from the histogram (0.1 %)."""

COUNTED = ("end", "scrap", "rework")
"""Part events counted per station (PQ, SQ, RQ)."""


@dataclass
class Accumulated:
    """A run's accumulators over the observation window [t0, t1] [s].

    Attributes
    ----------
    seconds
        ``(units, len(STATES))``: seconds of each unit in each state inside the window.
    grid_seconds
        The same, weighted by the hourly grid emission factor [kg/J x s] (``None`` with a
        flat factor).
    price_seconds
        The same, weighted by the electricity tariff [currency/kWh x s] (``None`` without
        ``[costs.electricity]``).
    unit_station, unit_server
        Station index (into ``stations``) and server number of each unit.
    counts
        ``(stations, 3)``: ``end``, ``scrap`` and ``rework`` events in the window.
    planned
        Planned run time [s] of the items each station finished in the window.
    failures, repair
        Failures that began in the window at each station, and their repair time [s].
    line
        Line counts: ``good``, ``scrap``, ``rework``, ``lost``, ``first_pass`` (in the
        window), ``created`` and ``finished`` (the whole run: the part-flow check).
    lead_moments
        Good parts finished in the window: count, sum [s], sum of squares [s^2], min, max [s].
    lead_histogram
        Their lead times in :data:`LEAD_BINS` bins (see :func:`lead_bin`).
    wip_area
        Integral of the parts in the line over the window [part s].
    wip_batches
        The same over each of equal batches of the window (the WIP trend check).
    periods
        Active periods ``(n, 2)`` [s] of each equipment station over [0, t1], in station
        order (:func:`twin.observation.bottlenecks.active_periods`).
    created
        Parts released into the line in the window [t0, t1), by product.
    """

    stations: list[str]
    seconds: np.ndarray
    grid_seconds: np.ndarray | None
    unit_station: np.ndarray
    unit_server: np.ndarray
    counts: np.ndarray
    planned: np.ndarray
    failures: np.ndarray
    repair: np.ndarray
    line: dict[str, int]
    lead_moments: np.ndarray
    lead_histogram: np.ndarray
    wip_area: float
    wip_batches: np.ndarray
    periods: dict[str, np.ndarray] = field(default_factory=dict)
    price_seconds: np.ndarray | None = None
    created: dict[str, int] = field(default_factory=dict)

    def lead_quantile(self, q: float) -> float:
        """The ``q``-th percentile [s] of the lead times (NaN without good parts)."""
        return hist_percentile(self.lead_histogram, q, float(self.lead_moments[3]),
                               float(self.lead_moments[4]))

    def tallies(self, t0: float, t1: float) -> LineTallies:
        """The line tallies of the window (:class:`twin.observation.kpis.LineTallies`)."""
        n = float(self.lead_moments[0])
        c = self.line
        return LineTallies(
            good=c["good"], scrap=c["scrap"], rework=c["rework"], lost=c["lost"],
            first_pass=c["first_pass"], wip_mean=self.wip_area / (t1 - t0),
            lead_mean=float(self.lead_moments[1]) / n if n else float("nan"),
            lead_p50=self.lead_quantile(50.0), lead_p95=self.lead_quantile(95.0))


def bin_value(k: int) -> float:
    """The value [s] that stands for lead-time bin ``k`` (its geometric middle)."""
    if k <= 0:
        return LEAD_MIN_S / 2
    return LEAD_MIN_S * LEAD_RATIO ** (k - 0.5)


def hist_percentile(hist: np.ndarray, q: float, lo: float, hi: float) -> float:
    """NumPy's linear-interpolation percentile ``q`` from a lead-time histogram: each order
    statistic is taken as the middle of its bin (clipped to the exact ``lo``, ``hi``)."""
    n = int(hist.sum())
    if n == 0:
        return float("nan")
    h = (n - 1) * q / 100.0
    k = math.floor(h)
    cum = np.cumsum(hist)

    def order(i: int) -> float:
        return min(max(bin_value(int(np.searchsorted(cum, i, side="right"))), lo), hi)

    a = order(k)
    return a if k + 1 >= n else a + (h - k) * (order(k + 1) - a)


def accumulated_kpis(line: S.LineSpec, acc: Accumulated, t0: float, t1: float
                     ) -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
    """The ``stations`` and ``energy`` tables and the line KPIs of an accumulated run."""
    rows = []
    for s, name in enumerate(acc.stations):
        st = line.stations[name]
        if not isinstance(st, S.Equipment):
            continue
        mine = acc.unit_station == s
        t = dict(zip(STATES, acc.seconds[mine].sum(axis=0).tolist(), strict=True))
        c = dict(zip(COUNTED, acc.counts[s].tolist(), strict=True))
        rows.append(station_row(name, st, t, c, float(acc.planned[s]), int(acc.failures[s]),
                                float(acc.repair[s]), t0, t1))
    stations = pd.DataFrame(rows)
    if len(stations) and t1 > t0:
        add_bottleneck_fractions(stations, acc.periods, t0, t1)
    energy = energy_table(line, acc)
    kpis = line_row(line, acc.tallies(t0, t1), stations, energy, None, t0, t1)
    return {"stations": stations, "energy": energy}, kpis


def energy_table(line: S.LineSpec, acc: Accumulated) -> pd.DataFrame:
    """The electricity ledger of an accumulated run: one row per unit and state with time in
    the window, in the order of the table path's (station, server, state names sorted)."""
    u, x = np.nonzero(acc.seconds > 0)
    station = [acc.stations[i] for i in acc.unit_station[u].tolist()]
    server = acc.unit_server[u]
    state = [STATES[i] for i in x.tolist()]
    order = sorted(range(len(state)), key=lambda i: (station[i], server[i], state[i]))
    u, x = u[order], x[order]
    return electricity_rows(line, [station[i] for i in order], server[order],
                            [state[i] for i in order], acc.seconds[u, x],
                            None if acc.grid_seconds is None else acc.grid_seconds[u, x])
