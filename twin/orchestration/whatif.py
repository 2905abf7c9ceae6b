"""Quick what-ifs and study export: a line with ``--set`` overrides, replications with
t-intervals, and every KPI with its interval per configuration of a study.

Used by ``twin run --set PATH=VALUE --replications N`` and ``twin export STUDY -o FILE``::

    spec = what_if_line("lines/servo_actuator/line.toml", ["stations.cnc.servers=2"])
    results = replicate(spec, 5, seed=7, source="lines/servo_actuator/line.toml")
    intervals(pd.DataFrame([r.kpis for r in results]))   # mean, half width per KPI
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.checks import load_line, read_toml
from twin.data.overrides import line_with_overrides, parse_assignment
from twin.observation import catalogue
from twin.orchestration import statistics as stats
from twin.orchestration.run import RunResult, execute, prepare
from twin.orchestration.sweep import Study, point_label

CONFIDENCE = 0.95
"""Confidence level of the intervals of replications and exports."""


def what_if_line(file: str | Path, sets: Sequence[str]) -> S.LineSpec:
    """The line of ``file`` with the ``PATH=VALUE`` assignments applied (see
    :func:`twin.data.overrides.parse_assignment`); problems are reported against the
    assignment (``overrides['stations.cnc.servers']``) that caused them."""
    if not sets:
        return load_line(file)
    overrides = dict(parse_assignment(text) for text in sets)
    return line_with_overrides(read_toml(file), overrides, Path(file).parent,
                               f"{file} with --set")


def replicate(line: S.LineSpec, replications: int, *, duration: str | None = None,
              warmup: str | None = None, seed: int | None = None, source: str = "",
              on_deadlock: str | None = None, engine: str | None = None,
              calibrated: str | None = None, record: str | None = None) -> list[RunResult]:
    """``replications`` runs of ``line`` with seeds ``seed, seed + 1, ...`` (the spec's seed
    by default); ``source`` is recorded as where the line came from; ``on_deadlock``,
    ``engine``, ``calibrated`` and ``record`` as in :func:`twin.orchestration.run.run`."""
    if replications < 1:
        raise ValueError(f"--replications must be at least 1, got {replications}")
    first = line.run.seed if seed is None else int(seed)
    out = []
    for r in range(replications):
        prep = prepare(line, duration=duration, warmup=warmup, seed=first + r,
                       on_deadlock=on_deadlock, engine=engine, calibrated=calibrated,
                       record=record)
        if source:
            prep = dataclasses.replace(prep, source=source)
        out.append(execute(prep))
    return out


def intervals(table: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Mean and Student-t interval of every numeric KPI column of ``table`` (one row per
    replication): ``kpi, unit, n, mean, half_width, low, high``; KPIs in catalogue order,
    NaN values of a replication left out (``n`` counts the others)."""
    rows = []
    known = {e.key: e for e in catalogue.kpis("line")}
    keys = [k for k in known if k in table.columns] + sorted(
        c for c in table.columns if c not in known)
    for key in keys:
        col = table[key]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        values = col.to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if not values.size:
            continue
        iv = stats.mean_ci(values, confidence)
        entry = known.get(key)
        rows.append({"kpi": key, "unit": entry.unit if entry else "", "n": iv.n,
                     "mean": iv.mean, "half_width": iv.half_width, "low": iv.low,
                     "high": iv.high})
    return pd.DataFrame(rows, columns=["kpi", "unit", "n", "mean", "half_width", "low",
                                       "high"])


def study_intervals(root: str | Path, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Every KPI with its interval per configuration of a sweep study: one row per
    (configuration, KPI) with the configuration's factor values as columns."""
    study = Study(root)
    runs = study.results()
    runs = runs[runs["status"] == "completed"]
    if runs.empty:
        raise ValueError(f"{root} has no completed run to export")
    frames = []
    for point, group in runs.groupby("point", sort=True):
        factors = study.meta["points"][int(point)]
        kpis = group.drop(columns=[c for c in group.columns if c in (
            "point", "replication", "seed", "run_id", "status") or c.startswith("factor:")])
        table = intervals(kpis, confidence)
        table.insert(0, "configuration", point_label(factors))
        table.insert(0, "point", int(point))
        for i, (name, value) in enumerate(factors.items()):
            table.insert(2 + i, name, [value] * len(table))
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["confidence"] = confidence
    return out


def export_study(root: str | Path, out: str | Path) -> Path:
    """Write :func:`study_intervals` (and the runs) to ``out``: ``.csv`` (the intervals) or
    ``.xlsx`` (sheets ``intervals`` and ``runs``; needs openpyxl, the ``excel`` extra)."""
    path = Path(out)
    table = study_intervals(root)
    if path.suffix == ".csv":
        table.to_csv(path, index=False)
    elif path.suffix == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise ValueError("writing .xlsx needs openpyxl: pip install 'pilot-twin[excel]'"
                             ) from None
        runs = Study(root).results()
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            table.to_excel(xl, sheet_name="intervals", index=False)
            runs.to_excel(xl, sheet_name="runs", index=False)
    else:
        raise ValueError(f"{path}: export to a .csv or .xlsx file")
    return path


def summary_rows(results: list[RunResult]) -> list[dict[str, Any]]:
    """Per-replication KPIs (with the seed) of :func:`replicate`'s results."""
    return [{"seed": r.provenance["seed"], **r.kpis} for r in results]
