"""Energy-aware scheduling: what moving energy-heavy work out of costly tariff periods saves.

:func:`energy_shift` runs a line as it is and with energy schedules on named stations
(:mod:`twin.data.energy_schedule`: work starts only where it runs outside the avoided tariff
periods), replication by replication with the same seeds (common random numbers), and reports
per KPI the two means and the paired difference with its interval: the cost and CO2e saved,
and what holding the work back costs in throughput and lead time.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.checks import line_from_dict, load_line
from twin.orchestration import statistics as stats
from twin.orchestration.run import run

KPIS = ("cost_electricity", "cost_total", "cost_per_good_unit", "total_electricity_kwh",
        "co2e_total_kg", "co2e_kg_per_good_unit", "throughput_per_h", "lead_time_mean_h")
"""KPIs :func:`energy_shift` reports (those the run has)."""


def with_schedules(line: S.LineSpec, schedules: dict[str, dict[str, Any]]) -> S.LineSpec:
    """``line`` with ``schedules`` (station -> ``{"avoid": [...], "phases": [...]}``) set,
    validated like any spec (a bad station, period or phase is a located error)."""
    data = copy.deepcopy(line.model_dump(by_alias=True, exclude_none=True))
    for station, schedule in schedules.items():
        if station not in data["stations"]:
            data["stations"][station] = {}  # validation names the unknown station
        data["stations"][station]["energy_schedule"] = schedule
    return line_from_dict(data, "energy schedules")


def energy_shift(line: S.LineSpec | str | Path, schedules: dict[str, dict[str, Any]], *,
                 duration: str | float | None = None, warmup: str | float | None = None,
                 replications: int = 5, seed: int | None = None,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Compare ``line`` with and without ``schedules`` over ``replications`` seeds.

    Returns one row per KPI of :data:`KPIS` the runs have: ``kpi``, ``base`` and
    ``scheduled`` (means), ``diff`` (scheduled - base), ``low`` and ``high`` (its paired-t
    interval at ``confidence``; NaN with one replication) and ``n``.
    """
    base = line if isinstance(line, S.LineSpec) else load_line(line)
    shifted = with_schedules(base, schedules)
    first = base.run.seed if seed is None else seed
    rows_a, rows_b = [], []
    for r in range(replications):
        kw = {"duration": duration, "warmup": warmup, "seed": first + r}
        rows_a.append(run(base, **kw).kpis)
        rows_b.append(run(shifted, **kw).kpis)
    out = []
    for k in KPIS:
        if k not in rows_a[0]:
            continue
        a = np.array([float(x[k]) for x in rows_a])
        b = np.array([float(x[k]) for x in rows_b])
        low = high = float("nan")
        if replications > 1 and np.isfinite(a).all() and np.isfinite(b).all():
            ci = stats.paired_difference(b, a, confidence)
            low, high = ci.low, ci.high
        out.append({"kpi": k, "base": float(a.mean()), "scheduled": float(b.mean()),
                    "diff": float((b - a).mean()), "low": low, "high": high,
                    "n": replications})
    return pd.DataFrame(out)
