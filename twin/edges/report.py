"""Self-contained HTML reports of runs, studies and scale-up studies.

::

    twin report runs/servo_actuator_e1e0952c12_s20251127 -o report.html
    twin report studies/assembly_capacity -o study.html --lang zh

:func:`build_report` reads a folder written by the library (a run folder with ``run.json``, a
study folder with ``study.json`` and ``runs/``, or a scale-up study folder with
``study.json``, ``comparison.csv``, ``lines/`` and ``runs/``) and returns one HTML document:
CSS inline, figures embedded as PNG ``data:`` URIs drawn with matplotlib (Agg), no scripts and
no external resources, so the file can be archived with a project's acceptance evidence and
printed to PDF (each section starts on a new page).

Every number shown is read from the folder (``run.json``, the Parquet tables, ``study.json``,
``comparison.csv``); the report computes only summaries of them (confidence intervals over
replications with :func:`twin.orchestration.statistics.mean_ci`, sums and pivots).
"""

from __future__ import annotations

from pathlib import Path

from twin.edges.report_html import Section, document, kv_table
from twin.edges.report_load import ReportError, RunFolder, find_readme, folder_kind, report_id
from twin.edges.report_optimisation import optimisation_report
from twin.edges.report_process import batch_section, flows_section, timeline_section
from twin.edges.report_sections import (
    alarms_section,
    assumptions_section,
    balance_section,
    bottleneck_section,
    emissions_section,
    failed_section,
    header_meta,
    kpi_section_run,
    model_section,
    provenance_rows,
    versions_table,
    warnings_section,
)
from twin.edges.report_studies import scaleup_report, study_report
from twin.edges.report_text import text
from twin.figures.style import figure_style


def run_report(path: Path, lang: str, td24: float | None = None,
               mtt: float | None = None) -> str:
    """The report of a run folder (a failed run shows its traceback instead of KPIs);
    ``td24`` and ``mtt`` [K] feed the thermal safety class of each batch."""
    run = RunFolder.load(path)
    style = figure_style(lang)
    p = run.provenance
    prov = Section("provenance", text("sec_provenance", lang))
    prov.add(kv_table(provenance_rows(run, lang), lang))
    prov.h3(text("versions", lang))
    prov.add(versions_table(p.get("versions") or {}, lang))
    sections = [prov]
    if run.failed:
        sections.append(failed_section(run, lang))
        sections.append(model_section(run, lang, style))
    else:
        warned = warnings_section(run, lang)
        sections += [warned] if warned is not None else []
        sections.append(model_section(run, lang, style))
        sections.append(kpi_section_run(run, lang))
        batches = batch_section(run, lang, td24, mtt)
        sections += [batches] if batches is not None else []
        sections.append(timeline_section(run, lang, style))
        sections.append(bottleneck_section(run.table("stations"),
                                           str(run.kpis.get("bottleneck", "")), lang, style))
        sections.append(balance_section(run, lang))
        flows = flows_section(run, lang, style)
        sections += [flows] if flows is not None else []
        sections.append(emissions_section(run, lang))
        sections.append(alarms_section(run, lang))
    sections.append(assumptions_section(run.parameters, find_readme(p.get("source"), path),
                                        lang))
    title = text("report_run", lang) + (f" — {text('failed', lang).upper()}"
                                        if run.failed else "")
    rid = report_id([path / "run.json"], lang)
    line = str(p.get("line", ""))
    meta = header_meta(lang, line, str(p.get("started_utc", "")), style, rid, run.window)
    return document(title, meta, sections, lang, running=f"{title} · {line} · {rid}")


def build_report(path: str | Path, lang: str = "en", *, td24: float | None = None,
                 mtt: float | None = None) -> str:
    """The HTML report of a run folder, a study folder or a scale-up study folder.

    ``td24`` (temperature at which the decomposition's time to maximum rate is 24 h) and
    ``mtt`` (maximum technical temperature; default: the lowest boiling point of the species
    charged to the batch before its reaction, from the flows table), both in K, give each
    batch of a process run its Stoessel class.

    Raises
    ------
    ReportError
        If ``path`` is none of these (or ``lang`` is not ``en`` or ``zh``).
    """
    if lang not in ("en", "zh"):
        raise ReportError(f"unknown language {lang!r}: use 'en' or 'zh'")
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path} is not a folder (give a run or study folder)")
    kind = folder_kind(path)
    if kind == "run":
        return run_report(path, lang, td24, mtt)
    if kind == "study":
        return study_report(path, lang)
    if kind == "optimisation":
        return optimisation_report(path, lang)
    return scaleup_report(path, lang)


def write_report(path: str | Path, out: str | Path, lang: str = "en", *,
                 td24: float | None = None, mtt: float | None = None) -> Path:
    """Build the report of ``path`` and write it to ``out`` (UTF-8); returns ``out``."""
    doc = build_report(path, lang, td24=td24, mtt=mtt)
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    return out
