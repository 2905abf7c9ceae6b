"""Sections of a run report that show the run over time: the time-series figures of every
run, and for process pilots the batch record with the thermal safety class of each batch."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from twin.edges.report_html import Section, img, note, table
from twin.edges.report_load import RunFolder
from twin.edges.report_stats import BATCH_COLUMNS, batch_record, max_technical_temperature
from twin.edges.report_text import column_label, text
from twin.figures.style import FigureStyle, png_data_uri
from twin.figures.timeline import KELVIN, NoData

FIGURES = (("gantt", "fig_gantt"), ("levels", "fig_levels"),
           ("batch_profiles", "fig_batch_profiles"), ("utility_load", "fig_utility_load"))
"""Time-series figures of a run report, in order, with their caption keys."""


def timeline_section(run: RunFolder, lang: str, style: FigureStyle) -> Section:
    """State Gantt, buffer and tank levels, batch temperature and conversion, utility load
    against capacity: whichever the run has data for."""
    sec = Section("timeline", text("sec_timeline", lang))
    sec.add(note(text("timeline_note", lang)))
    figures = run.figures(style)
    available = figures.available()
    for name, caption in FIGURES:
        if name not in available:
            continue
        try:
            fig = getattr(figures, name)()
        except NoData:
            continue
        sec.h3(text(caption, lang))
        sec.add(img(png_data_uri(fig, style), text(caption, lang)))
    return sec


def flows_section(run: RunFolder, lang: str, style: FigureStyle) -> Section | None:
    """Material and energy Sankeys of the observation window (the dashboard's numbers)."""
    from twin.data.checks import line_from_dict
    from twin.figures.sankey import sankey_figure
    from twin.observation.sankey import run_sankeys

    warmup, period = run.window
    spec = line_from_dict(run.parameters, "the run's parameters") if run.parameters else None
    tables = {n: run.table(n) for n in ("flows", "states", "phases")}
    both = run_sankeys(spec, tables, warmup, warmup + period)
    diagrams = [(f"{k}_flows", d) for k, d in both.items() if d is not None and d.links]
    if not diagrams:
        return None
    sec = Section("flows", text("sec_flows", lang))
    sec.add(note(text("flows_note", lang)))
    for key, diagram in diagrams:
        sec.add(img(png_data_uri(sankey_figure(diagram.as_dict(), text(key, lang), style),
                                 style), text(key, lang)))
    return sec


def stoessel(mtsr_k: float, mtt_k: float, td24_k: float | None) -> int | None:
    """Stoessel criticality class, or None without TD24 or MTT."""
    from twin.kernels.safety import stoessel_class

    if td24_k is None or not all(math.isfinite(x) for x in (mtsr_k, mtt_k, td24_k)):
        return None
    return stoessel_class(mtsr_k, mtt_k, td24_k)


def _safety_rows(record: pd.DataFrame, run: RunFolder, td24_k: float | None,
                 mtt_k: float | None, lang: str) -> list[list[Any]]:
    rows = []
    flows, species = run.table("flows"), run.parameters.get("species") or {}
    for rec in record.to_dict("records"):
        mtt = mtt_k if mtt_k is not None else max_technical_temperature(
            flows, species, rec["batch"], rec["station"], rec["react_start_s"])
        mtsr = float(rec["max_mtsr_C"]) + KELVIN
        cls = stoessel(mtsr, mtt, td24_k)
        verdict = (text("mtsr_below_mtt", lang) if mtsr < mtt else text("mtsr_reaches_mtt", lang)
                   ) if math.isfinite(mtt) else "–"
        rows.append([rec["batch"], rec["station"], rec["max_mtsr_C"], mtt - KELVIN,
                     "–" if td24_k is None else td24_k - KELVIN, verdict,
                     "–" if cls is None else cls])
    return rows


def batch_section(run: RunFolder, lang: str, td24_k: float | None = None,
                  mtt_k: float | None = None) -> Section | None:
    """The batch record of a process run (None for a line without reactions): per batch
    conversion, selectivity, yield, peak temperature, MTSR, duration and product, their
    means, and the Stoessel class of each batch (with ``td24_k``; MTT from the species
    boiling points unless ``mtt_k`` is given)."""
    phases = run.table("phases")
    if phases is None or not len(phases) or "conversion" not in phases.columns:
        return None
    warmup, _ = run.window
    record = batch_record(phases, run.table("flows"), run.table("parts"), warmup)
    sec = Section("batches", text("sec_batches", lang))
    sec.add(note(text("batch_note", lang)))
    if not len(record):
        sec.add(note(text("no_batches", lang)))
        return sec
    rows = [[r[c] if c != "finished" else text("yes" if r[c] else "no", lang)
             for c in BATCH_COLUMNS] for r in record.to_dict("records")]
    numeric = list(BATCH_COLUMNS[4:-1])
    means = record[numeric].astype(float).mean()
    rows.append([text("mean", lang), f"n = {len(record)}", "", ""] + list(means) + [""])
    sec.add(table([column_label(c, lang) for c in BATCH_COLUMNS], rows))
    sec.h3(text("safety_class", lang))
    sec.add(note(text("batch_safety_note", lang)))
    sec.add(table([column_label(c, lang) for c in
                   ("batch", "station", "max_mtsr_C", "mtt_C", "td24_C", "mtsr_vs_mtt",
                    "stoessel_class")],
                  _safety_rows(record, run, td24_k, mtt_k, lang)))
    if td24_k is None:
        sec.add(note(text("no_td24", lang)))
    return sec
