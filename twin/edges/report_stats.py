"""Summaries the reports compute from stored tables (means, intervals, counts)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from twin.edges.report_html import Raw, esc, fmt_ci
from twin.edges.report_load import RunFolder
from twin.figures.studies import STATE_FRACTIONS
from twin.figures.timeline import HOUR, KELVIN
from twin.observation import catalogue


def catalogue_keys(place: str, present: Iterable[str], level: str = "line") -> list[str]:
    """Keys of the catalogue's KPIs shown at ``place`` that ``present`` holds, in order."""
    have = set(present)
    return [e.key for e in catalogue.kpis(level, place) if e.key in have]


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


def stations_ci(runs: Sequence[RunFolder]) -> tuple[list[str], list[list[Any]],
                                                      pd.DataFrame | None]:
    frames = [st for r in runs if (st := r.table("stations")) is not None and len(st)]
    if not frames:
        return [], [], None
    allst = pd.concat(frames, ignore_index=True)
    allst["station"] = allst["station"].astype(str)
    order = list(dict.fromkeys(frames[0]["station"].astype(str)))
    cols = catalogue_keys("report", allst.columns, "station")
    rows = []
    for name in order:
        sub = allst[allst["station"] == name]
        rows.append([name, str(sub["type"].iloc[0])]
                    + [Raw(esc(fmt_ci(sub[c].to_numpy(dtype=float)))) for c in cols])
    means = allst.groupby("station", sort=False)[[c for c, _ in STATE_FRACTIONS
                                                   if c in allst.columns]].mean()
    means = means.reindex(order).reset_index()
    return cols, rows, means



BATCH_COLUMNS = ["batch", "station", "start_h", "end_h", "duration_h", "react_h", "conversion",
                 "selectivity", "yield", "peak_temperature_C", "max_mtsr_C", "product_kg",
                 "finished"]
"""Columns of the batch record (times in hours since the run start, temperatures in degC)."""


def batch_record(phases: pd.DataFrame, flows: pd.DataFrame | None, parts: pd.DataFrame | None,
                 t0: float) -> pd.DataFrame:
    """One row per batch whose reaction ended in the observation window (at or after ``t0``
    [s], as the process KPIs count phases): the reaction's conversion, selectivity, yield,
    peak temperature and MTSR, whether it left the line and, if it did, its span over every
    recorded phase (first start to last end) and its product [kg] (output flows); a batch
    still in the line has NaN there. The last column, ``react_start_s``, is when the reaction
    started [s]."""
    react = phases[(phases["kind"].astype(str) == "react") & (phases["end"] >= t0)]
    if not len(react):
        return pd.DataFrame(columns=[*BATCH_COLUMNS, "react_start_s"])
    span = phases.groupby("part")[["start", "end"]].agg({"start": "min", "end": "max"})
    product = (flows[flows["kind"].astype(str) == "output"].groupby("part")["kg"].sum()
               if flows is not None and len(flows) else pd.Series(dtype=float))
    done = set(parts["part"]) if parts is not None else set()
    rows = []
    for rec in react.sort_values(["start", "part"]).to_dict("records"):
        part = rec["part"]
        finished = part in done
        start = span.loc[part, "start"]
        end = span.loc[part, "end"] if finished else np.nan
        rows.append([int(part), str(rec["station"]), start / HOUR, end / HOUR,
                     (end - start) / HOUR, (rec["end"] - rec["start"]) / HOUR,
                     rec.get("conversion"), rec.get("selectivity"), rec.get("yield"),
                     rec.get("peak_temperature_K", np.nan) - KELVIN,
                     rec.get("max_mtsr_K", np.nan) - KELVIN,
                     float(product.get(part, 0.0)) if finished else np.nan, finished,
                     float(rec["start"])])
    return pd.DataFrame(rows, columns=[*BATCH_COLUMNS, "react_start_s"])


def max_technical_temperature(flows: pd.DataFrame | None, species: dict[str, Any], part: int,
                              station: str, t: float) -> float:
    """MTT of a batch's reaction mass [K]: the lowest normal boiling point among the species
    charged to the batch at ``station`` up to time ``t`` [s] (the reaction's start; input
    flows of the flows table; boiling points from the resolved species parameters); NaN when
    none of them has one."""
    if flows is None or not len(flows):
        return float("nan")
    charged = flows[(flows["part"] == part) & (flows["kind"].astype(str) == "input")
                    & (flows["station"].astype(str) == station) & (flows["time"] <= t)]
    boils = []
    for name in set(charged["species"].astype(str)):
        value = str((species.get(name) or {}).get("t_boil") or "").split()
        if value:
            boils.append(float(value[0]))
    return min(boils) if boils else float("nan")


def utilities_in_window(run: RunFolder) -> tuple[pd.DataFrame | None, bool]:
    """Final energy, CO2e and kgce per utility over the observation window (phases ending at
    or after the warm-up, as the process KPIs count them) and True; the stored whole-run
    table and False when the run's spec cannot be read by this version."""
    from twin.data.checks import SpecError, line_from_dict
    from twin.observation.flows import utility_energy

    phases, stored = run.table("phases"), run.table("utilities")
    if phases is None or stored is None:
        return stored, False
    try:
        line = line_from_dict(run.parameters)
    except SpecError:
        return stored, False
    warmup, _ = run.window
    return utility_energy(line, phases[phases["end"] >= warmup] if len(phases) else phases), True
