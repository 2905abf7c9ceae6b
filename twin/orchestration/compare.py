"""Comparing two runs or two configurations of studies, KPI by KPI.

A side is a run folder, a study folder (its base point, or point ``k`` with ``STUDY#k``).
Replications are paired by seed (common random numbers): with two or more common seeds the
difference B - A of each KPI gets a paired-t interval; with no common seeds, Welch's interval;
with one observation a side, the plain difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.observation import runfolder
from twin.orchestration import statistics as stats
from twin.orchestration.sweep import Study


def load_side(ref: str | Path) -> tuple[str, pd.DataFrame]:
    """The completed replications of one side: a label and one row per seed (KPI columns)."""
    text = str(ref)
    path, _, point = text.partition("#")
    folder = Path(path)
    if runfolder.is_run_folder(folder):
        st = runfolder.state(folder)
        if st.status == "damaged":  # a RunFolderError names the file and the reason
            raise runfolder.RunFolderError(folder, st.file, st.reason)
        if st.status != "completed":
            raise ValueError(f"{folder} is a failed run")
        summary = runfolder.read_summary(folder)
        row = {"seed": summary["provenance"]["seed"], **summary["kpis"]}
        return folder.name, pd.DataFrame([row])
    if (folder / runfolder.STUDY_FILE).is_file():
        study = Study(folder)
        table = study.results()
        k = int(point) if point else 0
        if k not in set(table["point"]):
            raise ValueError(f"{folder} has no design point {k}")
        table = table[(table["point"] == k) & (table["status"] == "completed")]
        if table.empty:
            raise ValueError(f"{folder} has no completed run of point {k}")
        return f"{folder.name}#{k}", table.drop(columns=["point", "replication", "run_id"])
    raise ValueError(f"{folder} is neither a run folder (run.json) nor a study (study.json)")


def compare(a: str | Path, b: str | Path, kpis: list[str] | None = None,
            confidence: float = 0.95) -> pd.DataFrame:
    """KPI-by-KPI comparison of side ``b`` against side ``a``.

    Returns
    -------
    pandas.DataFrame
        One row per numeric KPI: ``kpi``, ``a``, ``b`` (means), ``diff`` (b - a),
        ``low``, ``high`` (interval of the difference, NaN when none), ``method``
        (``paired``, ``welch`` or ``single``), ``n`` (pairs or observations) and
        ``significant`` (the interval excludes 0).
    """
    label_a, ta = load_side(a)
    label_b, tb = load_side(b)
    numeric = [c for c in ta.columns if c in tb.columns and c != "seed"
               and pd.api.types.is_numeric_dtype(ta[c]) and pd.api.types.is_numeric_dtype(tb[c])]
    if kpis:
        missing = [k for k in kpis if k not in numeric]
        if missing:
            raise ValueError(f"unknown or non-numeric KPI(s) {missing}; known: {numeric}")
        numeric = kpis
    common = sorted(set(ta["seed"]) & set(tb["seed"]))
    rows: list[dict[str, Any]] = []
    for kpi in numeric:
        xa = ta.set_index("seed")[kpi]
        xb = tb.set_index("seed")[kpi]
        row: dict[str, Any] = {"kpi": kpi, "a": float(xa.mean()), "b": float(xb.mean())}
        row["diff"] = row["b"] - row["a"]
        if xa.isna().any() or xb.isna().any():
            row.update(low=np.nan, high=np.nan, method="undefined", n=0, significant=False)
        elif len(common) >= 2:
            iv = stats.paired_difference(xb.loc[common].to_numpy(), xa.loc[common].to_numpy(),
                                         confidence)
            row.update(low=iv.low, high=iv.high, method="paired", n=len(common))
        elif len(xa) >= 2 and len(xb) >= 2:
            iv = stats.welch_difference(xb.to_numpy(), xa.to_numpy(), confidence)
            row.update(low=iv.low, high=iv.high, method="welch", n=len(xa) + len(xb))
        else:
            row.update(low=np.nan, high=np.nan, method="single", n=1)
        row.setdefault("significant", bool(row["low"] > 0 or row["high"] < 0))
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(a=label_a, b=label_b, confidence=confidence)
    return out
