"""The reports of sweep studies and scale-up studies.

A study report shows the scenario and every run, the ranking of the configurations with paired
intervals, line KPIs per configuration with 95% intervals over replications, and the station
KPIs, bottlenecks and alarms of the best configuration. A scale-up report compares the scales
(KPIs with intervals, the derivation of each scaled line, thermal safety classes, balances).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from twin.edges.report_html import (
    Raw,
    Section,
    document,
    esc,
    fmt_ci,
    fmt_num,
    img,
    kv_table,
    note,
    number_or_text,
    table,
)
from twin.edges.report_load import LINES_DIR, RunFolder, load_runs, read_json, report_id
from twin.edges.report_sections import (
    alarms_section,
    assumptions_section,
    balance_html,
    bottleneck_section,
    duration,
    emissions_section,
    failed_section,
    header_meta,
    model_section,
    versions_table,
)
from twin.edges.report_stats import catalogue_keys, stations_ci
from twin.edges.report_text import column_label, kpi_label, scaleup_label, station_label, text
from twin.figures.studies import ranking_figure, scaleup_figure
from twin.figures.style import FigureStyle, figure_style, png_data_uri

SCALEUP_SHOWN = ["volume_m3", "scale_factor", "runs", "area_per_volume_1_m", "react_time_h",
                 "conversion", "selectivity", "peak_temperature_C", "max_mtsr_C",
                 "heat_generation_kW", "cooling_capacity_kW", "cooling_ratio",
                 "stable_rise_K", "cooling_limited",
                 "agitation_power_kW", "kwh_electricity_per_kg", "co2e_kg_per_kg",
                 "annual_output_t", "annual_output_half_width_t", "time_bottleneck",
                 "bottleneck"]
"""Columns of a scale-up comparison the report shows, in order."""

def _settings_rows(first: RunFolder | None, runs: Sequence[RunFolder],
                   lang: str) -> list[tuple[str, Any]]:
    """Observation window and code hashes of a study's runs."""
    if first is None:
        return []
    s = first.provenance.get("settings") or {}
    return [(text("duration", lang), duration(s.get("duration_s"))),
            (text("warmup", lang), duration(s.get("warmup_s"))),
            (text("code_hash", lang), ", ".join(sorted(
                {r.provenance.get("code_hash", "") for r in runs})))]


def _study_provenance(study: Any, results: pd.DataFrame, runs: dict[str, RunFolder],
                      lang: str) -> Section:
    from twin.orchestration.sweep import point_label

    meta = study.meta
    scenario = meta.get("scenario") or {}
    rank_by, maximize = meta.get("rank_by"), meta.get("maximize", True)
    first = next(iter(runs.values()), None)
    rows: list[tuple[str, Any]] = [
        (text("scenario", lang), scenario.get("name", study.root.name)),
        (text("description", lang), scenario.get("description", "")),
        (text("source", lang), meta.get("line_file", "")),
        (text("design", lang), json.dumps(scenario.get("sweep"), ensure_ascii=False)),
        (text("overrides", lang), json.dumps(scenario.get("overrides") or {},
                                             ensure_ascii=False)),
        (text("events", lang), json.dumps(scenario.get("events") or [], ensure_ascii=False)),
        (text("rank_by", lang), f"{rank_by} ("
         f"{text('higher_better' if maximize else 'lower_better', lang)})"),
        (text("replications", lang), json.dumps((scenario.get("run") or {}).get(
            "replications"))),
        (text("seeds", lang), ", ".join(str(s) for s in sorted(set(results["seed"])))),
        (text("runs", lang), len(results)),
        (text("runs_failed", lang), int((results["status"] != "completed").sum())),
    ] + _settings_rows(first, list(runs.values()), lang)
    prov = Section("provenance", text("sec_provenance", lang))
    prov.add(kv_table(rows, lang))
    prov.h3(text("configurations", lang))
    cfg_rows = []
    for t in meta.get("tasks", []):
        r = runs.get(t["run_id"])
        status = r.provenance.get("status") if r else "missing"
        cfg_rows.append([t["point"], point_label(meta["points"][t["point"]]), t["replication"],
                         t["seed"], t["run_id"], r.provenance.get("spec_hash", "") if r else "",
                         status])
    prov.add(table([text("point", lang), text("configuration", lang),
                    text("replication", lang), text("seed", lang), text("run_id", lang),
                    column_label("spec_hash", lang), text("status", lang)], cfg_rows))
    if first is not None:
        prov.h3(text("versions", lang))
        prov.add(versions_table(first.provenance.get("versions") or {}, lang))
    return prov


def _ranking(sec: Section, study: Any, completed: pd.DataFrame, lang: str,
             style: FigureStyle) -> pd.DataFrame:
    """Add the ranking (figure, paired differences) and the KPIs by configuration."""
    from twin.orchestration.sweep import point_label

    rank_by = str(study.meta.get("rank_by"))
    ranked = study.summary()
    sec.h3(text("ranking", lang) + f" — {rank_by}")
    sec.add(img(png_data_uri(ranking_figure(ranked, rank_by, style), style),
                text("ranking", lang)))
    rrows = []
    for rec in ranked.to_dict("records"):
        diff = "–" if rec.get("best") else (
            f"{fmt_num(rec['diff_to_best'])} [{fmt_num(rec['diff_low'])}, "
            f"{fmt_num(rec['diff_high'])}]")
        rrows.append([rec["rank"], rec["configuration"], rec["n"], rec["mean"],
                      rec["half_width"], Raw(esc(diff)),
                      text("yes" if rec.get("indistinguishable") else "no", lang)])
    sec.add(table([text("rank", lang), text("configuration", lang), text("n", lang),
                   text("mean", lang), text("half_width", lang),
                   text("diff_to_best", lang), text("indistinguishable", lang)], rrows))
    sec.h3(text("kpis_by_config", lang))
    keys = catalogue_keys("study", completed.columns)
    if rank_by in keys:
        keys.remove(rank_by)
        keys.insert(0, rank_by)
    crows = []
    for point in ranked["point"]:
        sub = completed[completed["point"] == point]
        crows.append([point_label(study.meta["points"][int(point)]), len(sub)]
                     + [Raw(esc(fmt_ci(pd.to_numeric(sub[k], errors="coerce"))))
                        for k in keys])
    sec.add(table([text("configuration", lang), text("n", lang)]
                  + [kpi_label(k, lang) for k in keys], crows))
    sec.add(note(text("not_iso_note", lang)))
    return ranked


def _best_configuration(kpis: Section, study: Any, ranked: pd.DataFrame,
                        completed: pd.DataFrame, runs: dict[str, RunFolder], lang: str,
                        style: FigureStyle) -> tuple[list[RunFolder], Section]:
    """Station KPIs of the best configuration (added to ``kpis``), its runs and its
    bottleneck section."""
    from twin.orchestration.sweep import point_label

    best_point = int(ranked.iloc[0]["point"])
    label = point_label(study.meta["points"][best_point])
    best_ids = completed.loc[completed["point"] == best_point, "run_id"]
    best_runs = [runs[i] for i in best_ids if i in runs]
    cols, srows, means = stations_ci(best_runs)
    if srows:
        kpis.h3(text("best_config", lang) + ": " + label)
        kpis.add(table([station_label("station", lang), station_label("type", lang)]
                       + [station_label(c, lang) for c in cols], srows))
    bottleneck = (pd.Series([r.kpis.get("bottleneck", "") for r in best_runs]).mode()
                  .iloc[0] if best_runs else "")
    return best_runs, bottleneck_section(
        means, str(bottleneck), lang, style,
        f" ({text('best_config', lang)}: {label}; n = {len(best_runs)})")


def _failed_runs(runs: Sequence[RunFolder], lang: str, names: bool) -> list[Section]:
    """The traceback of the first failed run and the count (with names) of all."""
    failed = [r for r in runs if r.failed]
    if not failed:
        return []
    sec = failed_section(failed[0], lang)
    listed = f" ({', '.join(r.path.name for r in failed)})" if names else ""
    sec.add(note(f"{text('runs_failed', lang)}: {len(failed)}{listed}"))
    return [sec]


def _study_readme(meta: dict[str, Any], root: Path) -> Path | None:
    if not meta.get("line_file"):
        return None
    lf = Path(meta["line_file"])
    lf = lf if lf.is_absolute() else root / lf
    return lf.parent / "README.md" if (lf.parent / "README.md").is_file() else None


def _study_id(root: Path, runs: dict[str, RunFolder], lang: str, *more: Path) -> str:
    """The report id of a study: its study.json, every run's run.json and ``more``."""
    return report_id([root / "study.json", *more, *(runs[k].path / "run.json"
                                                     for k in sorted(runs))], lang)


def _started(runs: dict[str, RunFolder]) -> str:
    return min((r.provenance.get("started_utc", "") for r in runs.values()), default="")


def study_report(path: Path, lang: str) -> str:
    """The report of a sweep study folder."""
    from twin.orchestration.sweep import Study

    study = Study(path)
    style = figure_style(lang)
    results = study.results()
    runs = load_runs(study.runs_dir, list(results["run_id"]))
    first = next(iter(runs.values()), None)
    sections = [_study_provenance(study, results, runs, lang)]
    kpis = Section("kpis", text("sec_kpis", lang))
    kpis.add(note(text("ci_note", lang)))
    sections.append(kpis)
    completed = results[results["status"] == "completed"]
    best_runs: list[RunFolder] = []
    model_run = first
    if len(completed) and study.meta.get("rank_by") in completed.columns:
        ranked = _ranking(kpis, study, completed, lang, style)
        if len(ranked):
            best_runs, bottlenecks = _best_configuration(kpis, study, ranked, completed, runs,
                                                         lang, style)
            model_run = best_runs[0] if best_runs else first
            sections.append(bottlenecks)
    sections.insert(1, model_section(model_run, lang, style))
    sections += _failed_runs(list(runs.values()), lang, names=True)
    sections.append(alarms_section(best_runs[0] if best_runs else None, lang))
    sections.append(assumptions_section(first.parameters if first else {},
                                        _study_readme(study.meta, path), lang))
    name = (study.meta.get("scenario") or {}).get("name", path.name)
    line = first.provenance.get("line", "") if first else ""
    rid = _study_id(path, runs, lang)
    title = text("report_study", lang)
    return document(title, header_meta(lang, f"{line} ({name})", _started(runs), style, rid,
                                       first.window if first else None),
                    sections, lang, running=f"{title} · {name} · {rid}")


def _scaleup_provenance(meta: dict[str, Any], volumes: list[float], ids: list[str],
                        runs: dict[str, RunFolder], lang: str) -> Section:
    reps = int(meta.get("replications") or 1)
    first = next(iter(runs.values()), None)
    rows: list[tuple[str, Any]] = [
        (text("line", lang), meta.get("line", "")),
        (text("unit", lang), meta.get("unit", "")),
        (text("rule", lang), str(meta.get("rule", "")).replace("_", " ")),
        (text("volumes", lang), ", ".join(fmt_num(float(v)) for v in volumes)),
        (text("replications", lang), reps),
        (text("seeds", lang), ", ".join(str(int(meta.get("seed", 1)) + r) for r in range(reps))),
    ] + _settings_rows(first, list(runs.values()), lang)
    prov = Section("provenance", text("sec_provenance", lang))
    prov.add(kv_table(rows, lang))
    prov.h3(text("configurations", lang))
    run_rows = []
    for k, vol in enumerate(volumes):
        for rid in ids[k * reps:(k + 1) * reps]:
            r = runs.get(rid)
            run_rows.append([fmt_num(float(vol)), r.provenance.get("seed") if r else "–", rid,
                             r.provenance.get("spec_hash", "") if r else "",
                             r.provenance.get("status") if r else "missing"])
    prov.add(table([text("volume", lang), text("seed", lang), text("run_id", lang),
                    column_label("spec_hash", lang), text("status", lang)], run_rows))
    if first is not None:
        prov.h3(text("versions", lang))
        prov.add(versions_table(first.provenance.get("versions") or {}, lang))
    return prov


def _comparison_section(path: Path, comparison: pd.DataFrame, volumes: list[float],
                        by_scale: list[list[RunFolder]], lang: str,
                        style: FigureStyle) -> Section:
    comp = Section("scaleup", text("sec_scaleup", lang))
    comp.add(note(text("scaleup_note", lang)))
    comp.add(img(png_data_uri(scaleup_figure(comparison, style), style),
                 text("sec_scaleup", lang)))
    cols = [c for c in SCALEUP_SHOWN if c in comparison.columns]
    comp.add(table([scaleup_label("volume_m3", lang)]
                   + [fmt_num(float(v)) for v in comparison["volume_m3"]],
                   [[scaleup_label(c, lang)] + list(comparison[c]) for c in cols
                    if c != "volume_m3"]))
    comp.h3(text("kpis_by_scale", lang))
    keys = catalogue_keys("scaleup", {k for g in by_scale for r in g for k in r.kpis})
    krows = []
    for vol, group in zip(volumes, by_scale, strict=True):
        ok = [r for r in group if not r.failed]
        krows.append([fmt_num(float(vol)), len(ok)]
                     + [Raw(esc(fmt_ci([r.kpis.get(k) for r in ok]))) for k in keys])
    comp.add(table([text("volume", lang), text("n", lang)] + [kpi_label(k, lang) for k in keys],
                   krows))
    comp.add(note(text("ci_note", lang) + " " + text("not_iso_note", lang)))
    comp.h3(text("derivation", lang))
    for csv in sorted((path / "lines").glob("*.derivation.csv")):
        der = pd.read_csv(csv)
        comp.add(f'<p class="note">{esc(csv.name)}</p>')
        comp.add(table([text("path", lang), text("before", lang), text("after", lang),
                        text("how", lang)],
                       [[number_or_text(x) for x in r] for r in der.itertuples(index=False)]))
    return comp


def _safety_section(comparison: pd.DataFrame, lang: str) -> Section:
    from twin.kernels.safety import severity

    safe = Section("safety", text("sec_safety", lang))
    safe.add(note(text("safety_note", lang)))
    srows = []
    for rec in comparison.to_dict("records"):
        dt = rec.get("dt_ad_K")
        sev = severity(float(dt)) if dt is not None and math.isfinite(float(dt)) else "–"
        cls = rec.get("stoessel_class")
        srows.append([rec["volume_m3"], rec.get("max_mtsr_C"), rec.get("mtt_C"),
                      rec.get("worst_cooling_failure_C"), rec.get("worst_failure_at_h"),
                      dt, sev, "–" if cls is None or (isinstance(cls, float) and math.isnan(cls))
                      else int(cls),
                      Raw(esc(rec.get("alarms") if isinstance(rec.get("alarms"), str)
                              else text("none", lang)))])
    safe.add(table([text("volume", lang), scaleup_label("max_mtsr_C", lang),
                    scaleup_label("mtt_C", lang), scaleup_label("worst_cooling_failure_C", lang),
                    scaleup_label("worst_failure_at_h", lang), scaleup_label("dt_ad_K", lang),
                    text("severity", lang), text("stoessel", lang), text("alarms", lang)],
                   srows))
    return safe


def _scaleup_balances(volumes: list[float], by_scale: list[list[RunFolder]],
                      base: RunFolder | None, lang: str) -> Section:
    bal = Section("balances", text("sec_balances", lang))
    bal.add(note(text("balance_note", lang)))
    brows = []
    for vol, group in zip(volumes, by_scale, strict=True):
        for r in group:
            b = r.table("balance")
            if b is None:
                brows.append([fmt_num(float(vol)), r.path.name, "–", "–", "–"])
                continue
            closed = bool(b["closed"].all())
            brows.append([fmt_num(float(vol)), r.path.name,
                          f"{int(b['closed'].sum())}/{len(b)}",
                          float(b["imbalance"].abs().max()),
                          Raw(esc(text("yes", lang)) if closed else
                              f'<span class="bad">{esc(text("not_closed", lang))}</span>')])
    bal.add(table([text("volume", lang), text("run_id", lang), text("closed", lang),
                   text("max_imbalance", lang) + " [kg]", text("closure", lang)], brows))
    if base is not None and (balance := base.table("balance")) is not None:
        bal.h3(f"{text('material_balance', lang)} — {base.path.name}")
        bal.add(balance_html(balance, lang))
    return bal


def scaleup_report(path: Path, lang: str) -> str:
    """The report of a scale-up study folder."""
    meta = read_json(path / "study.json")
    style = figure_style(lang)
    comparison = pd.read_csv(path / "comparison.csv")
    ids = list(meta.get("runs") or [])
    runs = load_runs(path / "runs", ids)
    reps = int(meta.get("replications") or 1)
    volumes = [float(v) for v in (meta.get("volumes_m3") or comparison["volume_m3"])]
    by_scale = [[runs[i] for i in ids[k * reps:(k + 1) * reps] if i in runs]
                for k in range(len(volumes))]
    first = next(iter(runs.values()), None)
    base = next((g[0] for g, f in zip(by_scale, comparison.get("scale_factor", []),
                                      strict=False) if g and abs(float(f) - 1.0) < 1e-9),
                first)
    sections = [_scaleup_provenance(meta, volumes, ids, runs, lang),
                model_section(base, lang, style),
                _comparison_section(path, comparison, volumes, by_scale, lang, style),
                _safety_section(comparison, lang),
                _scaleup_balances(volumes, by_scale, base, lang)]
    if base is not None and not base.failed:
        emis = emissions_section(base, lang)
        emis.title += f" — {base.path.name}"
        sections.append(emis)
    sections += _failed_runs(list(runs.values()), lang, names=False)
    sections.append(alarms_section(base, lang))
    readme = LINES_DIR / str(meta.get("line", "")) / "README.md"
    sections.append(assumptions_section(base.parameters if base else {},
                                        readme if readme.is_file() else None, lang,
                                        text("readme_by_name", lang)))
    rid = _study_id(path, runs, lang, path / "comparison.csv")
    title = text("report_scaleup", lang)
    subject = f"{meta.get('line', '')} / {meta.get('unit', '')}"
    return document(title, header_meta(lang, subject, _started(runs), style, rid,
                                       first.window if first else None),
                    sections, lang, running=f"{title} · {subject} · {rid}")
