"""Summaries the reports compute from stored tables (means, intervals, counts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from twin.edges.report_html import Raw, esc, fmt_ci
from twin.edges.report_load import RunFolder
from twin.figures.studies import STATE_FRACTIONS

STATION_KPIS = ["utilisation", "blocked_fraction", "starved_fraction", "down_fraction",
                "setup_fraction", "effectiveness", "quality_ratio", "oee", "PQ", "GQ", "SQ",
                "RQ", "MTBF_h", "MTTR_h"]
"""Columns of the stations table the reports show, in order."""

FLOOD_WINDOW_S = 600.0
"""ISA-18.2 alarm flood: more than :data:`FLOOD_ALARMS` activations within this window [s]."""
FLOOD_ALARMS = 10


def alarm_floods(times: np.ndarray) -> int:
    """Alarm floods among activation times [s]: a flood starts at an activation followed by
    more than 10 activations within 10 minutes (itself included) and lasts 10 minutes; the
    next flood is looked for after it."""
    t = np.sort(np.asarray(times, dtype=float))
    within = np.searchsorted(t, t + FLOOD_WINDOW_S, side="left") - np.arange(len(t))
    floods, i = 0, 0
    while i < len(t):
        if within[i] > FLOOD_ALARMS:
            floods += 1
            i = int(np.searchsorted(t, t[i] + FLOOD_WINDOW_S, side="left"))
        else:
            i += 1
    return floods


def standing_alarms(alarms: pd.DataFrame) -> pd.DataFrame:
    """The last transition of each alarm whose state at the end is neither normal nor
    shelved (the alarms table: one row per transition)."""
    last = alarms.sort_values("time", kind="stable").groupby("alarm").tail(1)
    return last[~last["state"].astype(str).isin(["normal", "shelved"])]


def stations_ci(runs: Sequence[RunFolder]) -> tuple[list[str], list[list[Any]],
                                                      pd.DataFrame | None]:
    frames = [st for r in runs if (st := r.table("stations")) is not None and len(st)]
    if not frames:
        return [], [], None
    allst = pd.concat(frames, ignore_index=True)
    allst["station"] = allst["station"].astype(str)
    order = list(dict.fromkeys(frames[0]["station"].astype(str)))
    cols = [c for c in STATION_KPIS if c in allst.columns]
    rows = []
    for name in order:
        sub = allst[allst["station"] == name]
        rows.append([name, str(sub["type"].iloc[0])]
                    + [Raw(esc(fmt_ci(sub[c].to_numpy(dtype=float)))) for c in cols])
    means = allst.groupby("station", sort=False)[[c for c, _ in STATE_FRACTIONS
                                                   if c in allst.columns]].mean()
    means = means.reindex(order).reset_index()
    return cols, rows, means

