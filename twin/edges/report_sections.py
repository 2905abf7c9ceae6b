"""The sections of a run report (also used, per run, by the study and scale-up reports)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from twin.data.alarms import display_scale
from twin.data.checks import SpecError, line_from_dict
from twin.data.units import format_duration
from twin.edges.report_diagram import line_diagram
from twin.edges.report_html import Raw, Section, esc, fmt_num, img, note, si_number, table
from twin.edges.report_load import RunFolder
from twin.edges.report_markdown import markdown_html
from twin.edges.report_stats import (
    alarm_floods,
    catalogue_keys,
    utilities_in_window,
)
from twin.edges.report_text import column_label, kpi_label, station_label, text
from twin.figures.studies import STATE_FRACTIONS, bottleneck_figure
from twin.figures.style import FigureStyle, png_data_uri
from twin.observation import catalogue
from twin.observation import kpis as kpi_module
from twin.observation.alarms import standing_alarms

TRACEBACK_LINES = 40
"""Lines of a failed run's traceback the report shows."""

# --------------------------------------------------------------------------- sections


def provenance_rows(run: RunFolder, lang: str) -> list[tuple[str, Any]]:
    """What ran: line, source, run id, hashes, seed, window, events, start, status."""
    p = run.provenance
    s = p.get("settings") or {}
    line = run.parameters.get("line") or {}
    rows: list[tuple[str, Any]] = [
        (text("line", lang), p.get("line", "")),
        (text("description", lang), line.get("description", "")),
        (text("sector", lang), line.get("sector", "")),
        (text("source", lang), p.get("source", "")),
        (text("run_id", lang), run.summary.get("run_id", run.path.name)),
        (text("spec_hash", lang), p.get("spec_hash", "")),
        (text("run_hash", lang), p.get("run_hash", "")),
        (text("code_hash", lang), p.get("code_hash", "")),
        (text("seed", lang), p.get("seed", "")),
        (text("duration", lang), duration(s.get("duration_s"))),
        (text("warmup", lang), duration(s.get("warmup_s"))),
        (text("events", lang), json.dumps(p.get("events")) if p.get("events")
         else text("none", lang)),
        (text("started", lang), p.get("started_utc", "")),
        (text("wall_time", lang), f"{fmt_num(p.get('wall_time_s'))} s"),
        (text("status", lang), p.get("status", "")),
    ]
    return rows


def duration(seconds: Any) -> str:
    """A duration in seconds as people read it, with the seconds (``1.0 d (86400 s)``)."""
    if seconds is None:
        return "–"
    return f"{format_duration(float(seconds))} ({fmt_num(float(seconds))} s)"


def versions_table(versions: dict[str, Any], lang: str) -> str:
    """The package versions of the run."""
    return table([text("package", lang), text("version", lang)],
                 sorted(versions.items()))


def _stations_table(stations: dict[str, dict[str, Any]], lang: str) -> str:
    rows = []
    for name, st in stations.items():
        routes = [r.get("to", "") + (f" ({','.join(r['products'])})" if r.get("products")
                                     else "")
                  + (f" p={fmt_num(float(r['probability']))}" if r.get("probability")
                     is not None else "") for r in st.get("routes") or []]
        if st.get("rework_to"):
            routes.append(f"{st['rework_to']} (rework)")
        rows.append([name, st.get("type", ""), st.get("servers", "–"),
                     st.get("buffer") if st.get("buffer") is not None else "–",
                     ", ".join(routes) or "–", st.get("description", "")])
    return table([text("station", lang), text("type", lang), text("servers", lang),
                  text("buffer", lang), text("routes", lang), text("description", lang)],
                 rows)


def model_section(run: RunFolder | None, lang: str, style: FigureStyle) -> Section:
    """The line diagram and the station table of a run's resolved parameters."""
    sec = Section("model", text("sec_model", lang))
    stations = (run.parameters.get("stations") if run else None) or {}
    if not stations:
        sec.add(note(text("none", lang)))
        return sec
    sec.add(note(text("model_note", lang)))
    sec.add(img(png_data_uri(line_diagram(stations, style), style), text("sec_model", lang)))
    sec.add(_stations_table(stations, lang))
    return sec


def _kpi_rows(keys: Sequence[str], values: Callable[[str], str], lang: str,
              present: Callable[[str], bool]) -> list[list[Any]]:
    rows = []
    for key in keys:
        if not present(key):
            continue
        entry = catalogue.kpi(key)
        rows.append([entry.label(lang), Raw(esc(values(key))), entry.unit,
                     entry.iso if entry.is_iso else text("not_iso", lang), key])
    return rows


def _kpi_values(keys: Sequence[str], k: dict[str, Any], lang: str) -> str:
    """A table of KPI values with their units (from the catalogue)."""
    return table([text("kpi", lang), text("value", lang), column_label("unit", lang), "id"],
                 [[kpi_label(x, lang), k[x], catalogue.kpi(x).unit, Raw(esc(x))]
                  for x in keys])


def _kpi_headers(lang: str, value_header: str) -> list[str]:
    return [text("kpi", lang), value_header, column_label("unit", lang), text("iso", lang), "id"]


def kpi_section_run(run: RunFolder, lang: str) -> Section:
    """Line KPIs (from the catalogue, over the observation window) and station KPIs."""
    sec = Section("kpis", text("sec_kpis", lang))
    k = run.kpis
    sec.add(note(text("window_note", lang)))
    sec.h3(text("line_kpis", lang))
    keys = catalogue_keys("report", k)
    sec.add(table(_kpi_headers(lang, text("value", lang)),
                  _kpi_rows(keys, lambda key: fmt_num(k.get(key)), lang, lambda key: key in k)))
    sec.add(note(text("not_iso_note", lang)))
    st = run.table("stations")
    if st is not None and len(st):
        sec.h3(text("station_kpis", lang))
        cols = [*catalogue.STATION_IDENTITY, *catalogue_keys("report", st.columns, "station")]
        sec.add(table([station_label(c, lang) for c in cols],
                      st[cols].itertuples(index=False)))
    return sec


def bottleneck_section(frame: pd.DataFrame | None, bottleneck: str, lang: str,
                       style: FigureStyle, extra: str = "") -> Section:
    """State fractions per station (figure and table) and the shifting-bottleneck shares."""
    sec = Section("bottlenecks", text("sec_bottlenecks", lang))
    if frame is None or not len(frame):
        sec.add(note(text("none", lang)))
        return sec
    sec.add(note(text("bottleneck_note", lang) + extra))
    sec.add(f"<p><b>{esc(text('bottleneck', lang))}:</b> {esc(bottleneck or '–')}</p>")
    sec.add(img(png_data_uri(bottleneck_figure(frame, bottleneck, style), style),
                text("sec_bottlenecks", lang)))
    cols = [c for c, _ in STATE_FRACTIONS if c in frame.columns]
    labels = {"utilisation": "utilisation", "setup_fraction": "setup", "down_fraction": "down",
              "waiting_fraction": "waiting", "blocked_fraction": "blocked",
              "starved_fraction": "starved"}
    sec.add(table([text("station", lang)] + [text(labels[c], lang) for c in cols],
                  frame[["station"] + cols].itertuples(index=False)))
    shifting = ["bottleneck_sole_fraction", "bottleneck_shifting_fraction"]
    if all(c in frame.columns for c in shifting):
        sec.add(note(text("shifting_note", lang)))
        order = frame.assign(_share=frame[shifting[0]] + frame[shifting[1]]).sort_values(
            "_share", ascending=False, kind="stable")
        sec.add(table([text("station", lang), text("bottleneck_sole", lang),
                       text("bottleneck_shifting", lang)],
                      order[["station"] + shifting].itertuples(index=False)))
    return sec


BALANCE_COLUMNS = ["input", "transformation", "output", "waste", "wastewater", "emission",
                   "recovered", "destroyed", "inventory", "imbalance"]


def balance_html(balance: pd.DataFrame, lang: str) -> str:
    """The balance table per species with its closed flags and a closure line."""
    cols = [c for c in BALANCE_COLUMNS if c in balance.columns]
    head = [text("species", lang)] + [column_label(c, lang) for c in cols] + [
        text("closed", lang)]
    rows = []
    for rec in balance.to_dict("records"):
        closed = bool(rec.get("closed", False))
        rows.append([rec["species"]] + [rec[c] for c in cols]
                    + [Raw(esc(text("yes", lang)) if closed else
                            f'<span class="bad">{esc(text("no", lang))}</span>')])
    out = table(head, rows)
    worst = float(balance["imbalance"].abs().max()) if "imbalance" in balance and len(balance) \
        else math.nan
    all_closed = bool(balance["closed"].all()) if "closed" in balance else False
    verdict = text("all_closed", lang) if all_closed else text("not_closed", lang)
    cls = "" if all_closed else ' class="warn"'
    out += (f"<p{cls}><b>{esc(text('closure', lang))}:</b> {esc(verdict)} "
            f"({int(balance['closed'].sum()) if 'closed' in balance else 0}/{len(balance)}); "
            f"{esc(text('max_imbalance', lang))} {esc(fmt_num(worst))} kg</p>")
    return out


def balance_section(run: RunFolder, lang: str) -> Section:
    """Material balance per species (whole run), energy totals, utilities and equipment
    electricity by station and state (observation window)."""
    sec = Section("balances", text("sec_balances", lang))
    balance = run.table("balance")
    sec.h3(text("material_balance", lang))
    if balance is not None:
        sec.add(note(text("balance_note", lang)))
        sec.add(balance_html(balance, lang))
    else:
        sec.add(note(text("no_material", lang)))
    k = run.kpis
    sec.h3(text("energy_totals", lang))
    sec.add(_kpi_values(catalogue_keys("energy", k), k, lang))
    utilities, windowed = utilities_in_window(run)
    if utilities is not None and len(utilities):
        sec.h3(text("energy_carrier_window" if windowed else "energy_carrier", lang))
        num = [c for c in utilities.columns if c not in ("utility", "carrier")]
        rows = [list(r) for r in utilities[["utility", "carrier"] + num].itertuples(index=False)]
        totals = utilities[num].sum(numeric_only=True, min_count=1)
        rows.append([Raw(f"<b>{esc(text('total', lang))}</b>"), ""]
                    + [totals.get(c) for c in num])
        sec.add(table([text("utility", lang), text("carrier", lang)]
                      + [column_label(c, lang) for c in num], rows))
    energy = run.table("energy")
    if energy is not None and len(energy):
        sec.h3(text("energy_state", lang))
        pivot = (energy.assign(station=energy["station"].astype(str),
                               state=energy["state"].astype(str))
                 .pivot_table(index="station", columns="state", values="kwh", aggfunc="sum",
                              fill_value=0.0, observed=True, sort=False))
        pivot["total"] = pivot.sum(axis=1)
        rows = [[idx] + list(r) for idx, r in zip(pivot.index, pivot.to_numpy(), strict=True)]
        rows.append([Raw(f"<b>{esc(text('total', lang))}</b>")]
                    + list(pivot.sum(axis=0).to_numpy()))
        sec.add(table([text("station", lang)] + [column_label(str(c), lang)
                                                 for c in pivot.columns], rows))
    return sec


def emissions_section(run: RunFolder, lang: str) -> Section:
    """Greenhouse gases by scope, emissions to air by species, water and wastewater."""
    sec = Section("emissions", text("sec_emissions", lang))
    k = run.kpis
    process = "product_kg" in k
    sec.h3(text("scopes", lang))
    rows = []
    if process:
        rows.append(["1", text("scope1_gas", lang), k.get("co2e_scope1_kg"),
                     f"{fmt_num(k.get('natural_gas_m3'))} m3"])
    rows.append(["2", text("scope2_equipment", lang), k.get("co2e_kg"),
                 f"{fmt_num(k.get('electricity_kwh'))} kWh"])
    if process:
        rows.append(["2", text("scope2_utilities", lang), k.get("co2e_scope2_utilities_kg"),
                     f"{fmt_num(k.get('utility_electricity_kwh'))} kWh"])
    total = sum(float(r[2]) for r in rows if r[2] is not None)
    rows.append([Raw(f"<b>{esc(text('total', lang))}</b>"), "", total, ""])
    sec.add(table([text("scope", lang), text("emission_source", lang), "kg CO2e",
                   text("value", lang)], rows))
    if not process:
        sec.add(note(text("discrete_emissions", lang)))
        return sec
    sec.h3(text("species_emissions", lang))
    flows = run.table("flows")
    warmup = float((run.provenance.get("settings") or {}).get("warmup_s") or 0.0)
    species = run.parameters.get("species") or {}
    if flows is not None and len(flows):
        f = flows[(flows["time"] >= warmup) & flows["kind"].isin(["emission", "destroyed"])]
        f = f.assign(station=f["station"].astype(str), species=f["species"].astype(str))
        pivot = f.pivot_table(index=["station", "species"], columns="kind", values="kg",
                              aggfunc="sum", fill_value=0.0)
        if len(pivot):
            for col in ("emission", "destroyed"):
                if col not in pivot:
                    pivot[col] = 0.0
            rows = [[st, sp, text("yes", lang) if (species.get(sp) or {}).get("voc")
                     else text("no", lang), r["emission"], r["destroyed"]]
                    for (st, sp), r in pivot.iterrows()]
            sec.add(table([text("station", lang), text("species", lang), text("voc", lang),
                           column_label("emission_kg", lang),
                           column_label("destroyed_kg", lang)], rows))
        else:
            sec.add(note(text("no_species_emissions", lang)))
    sec.add(note(text("process_note", lang)))
    sec.h3(text("water", lang))
    sec.add(_kpi_values(catalogue_keys("water", k), k, lang))
    return sec


def alarms_section(run: RunFolder | None, lang: str) -> Section:
    """The alarm summary of a run (or a note when it watched no alarms)."""
    sec = Section("alarms", text("sec_alarms", lang))
    alarms = run.table("alarms") if run else None
    if alarms is None:
        sec.add(note(text("no_alarms", lang)))
        return sec
    sec.add(alarms_html(alarms, run.kpis if run else {}, lang, _alarm_display(run)))
    return sec


def _alarm_display(run: RunFolder | None) -> dict[str, tuple[float, float, str]]:
    """How to show each alarm's values (degC, kW, ...), from the run's line spec."""
    try:
        line = line_from_dict(run.parameters) if run else None
    except SpecError:  # a spec this version cannot read: values stay in SI
        return {}
    return {name: display_scale(a) for name, a in line.alarms.items()} if line else {}


def alarms_html(alarms: pd.DataFrame, kpis: dict[str, Any], lang: str,
                display: dict[str, tuple[float, float, str]] | None = None) -> str:
    """Counts by priority, floods (ISA-18.2: more than 10 activations within 10 minutes) and
    alarms standing at the end of the run, from the alarms table (one row per transition:
    time, alarm, tag, priority, event, state, ...); the alarm figures of the run's KPIs are
    listed as they are stored."""
    act = alarms[alarms["event"] == "activate"] if "event" in alarms.columns else alarms
    out = [f"<p><b>{esc(text('alarm_total', lang))}:</b> {len(act)}</p>"]
    if "priority" in act.columns and len(act):
        counts = act["priority"].astype(str).value_counts().sort_index()
        out.append(f"<h3>{esc(text('alarms_by_priority', lang))}</h3>")
        out.append(table([text("priority", lang), text("count", lang)],
                         [[k, int(v)] for k, v in counts.items()]))
    if "time" in act.columns:
        floods = alarm_floods(act["time"].to_numpy(dtype=float))
        out.append(f"<p><b>{esc(text('floods', lang))}:</b> {floods}</p>")
    if {"alarm", "state", "time"} <= set(alarms.columns):
        standing = standing_alarms(alarms)
        out.append(f"<p><b>{esc(text('standing', lang))}:</b> {len(standing)}</p>")
        if len(standing):
            cols = [c for c in ("alarm", "tag", "priority", "state", "time", "value", "limit")
                    if c in standing.columns]
            shown = standing[cols].copy()
            units = []
            for i, name in zip(shown.index, shown["alarm"].astype(str), strict=True):
                scale, offset, unit = (display or {}).get(name, (1.0, 0.0, ""))
                for c in ("value", "limit"):
                    if c in shown.columns:
                        shown.loc[i, c] = float(shown.loc[i, c]) * scale + offset
                units.append(unit)
            shown["unit"] = units
            out.append(table([column_label(c, lang) for c in cols + ["unit"]],
                             shown.itertuples(index=False)))
    figures = [(k, v) for k, v in kpis.items() if k.startswith("alarm")]
    if figures:
        out.append(table([text("kpi", lang), text("value", lang)], figures))
    return "".join(out)


def assumptions_section(params: dict[str, Any], readme: Path | None, lang: str,
                        readme_note: str = "") -> Section:
    """The line README, the KPI definitions, emission and conversion factors, utilities."""
    sec = Section("assumptions", text("sec_assumptions", lang))
    sec.h3(text("readme", lang))
    if readme is not None:
        sec.add(f'<p class="note">{esc(str(readme))} {esc(readme_note)}</p>')
        sec.add(markdown_html(readme.read_text(encoding="utf-8", errors="replace")))
    else:
        sec.add(note(text("no_readme", lang)))
    sec.h3(text("kpi_definitions", lang))
    sec.add(f"<pre>{esc((kpi_module.__doc__ or '').strip())}</pre>")
    sec.add(note(text("not_iso_note", lang)))
    sec.h3(text("factors_title", lang))
    energy = params.get("energy") or {}
    grid = energy.get("grid") or {}
    rows = []
    value, unit = si_number(grid.get("value", math.nan))
    if unit.replace(" ", "") == "kg/J":
        value, unit = value * 3.6e6, "kg CO2e/kWh"
    rows.append([text("grid_factor", lang), Raw(esc(f"{fmt_num(value)} {unit}")),
                 grid.get("year", "–"), grid.get("source", "–")])
    gas_source = energy.get("natural_gas_source", "–")
    gas_year = _year_in(gas_source)
    if "kgce_per_kwh" in energy:
        rows.append([text("kgce_electricity", lang),
                     Raw(esc(f"{fmt_num(energy['kgce_per_kwh'])} kgce/kWh")), "–",
                     "GB/T 2589 (calorific value basis)"])
    if "natural_gas_co2_per_m3" in energy:
        rows.append([text("gas_co2", lang),
                     Raw(esc(f"{fmt_num(energy['natural_gas_co2_per_m3'])} kg CO2/m3")),
                     gas_year, gas_source])
    if "natural_gas_lhv" in energy:
        lhv, lhv_unit = si_number(energy["natural_gas_lhv"])
        shown = (f"{fmt_num(lhv / 1e6)} MJ/m3" if lhv_unit.replace(" ", "") == "J/m**3"
                 else str(energy["natural_gas_lhv"]))
        rows.append([text("gas_lhv", lang), Raw(esc(shown)), gas_year, gas_source])
    if "natural_gas_kgce_per_m3" in energy:
        rows.append([text("gas_kgce", lang),
                     Raw(esc(f"{fmt_num(energy['natural_gas_kgce_per_m3'])} kgce/m3")),
                     gas_year, gas_source])
    sec.add(table([text("factor", lang), text("value", lang), text("year", lang),
                   text("reference", lang)], rows))
    utilities = params.get("utilities") or {}
    if utilities:
        sec.h3(text("utilities_params", lang))
        keys = sorted({k for u in utilities.values() for k in u})
        sec.add(table([text("utility", lang)] + keys,
                      [[name] + [u.get(k) if u.get(k) is not None else "–" for k in keys]
                       for name, u in utilities.items()]))
    return sec


def _year_in(s: str) -> str:
    m = re.search(r"\((\d{4})\)|\b(19|20)\d{2}\b", str(s))
    if not m:
        return "–"
    return m.group(1) or m.group(0)


def failed_section(run: RunFolder, lang: str) -> Section:
    """A failed run: the note that it failed and an excerpt of its traceback."""
    sec = Section("failed", text("sec_failed", lang))
    sec.add(f'<p class="warn">{esc(text("failed_note", lang))}</p>')
    error = str(run.provenance.get("error") or "")
    lines = error.rstrip().splitlines()
    excerpt = lines if len(lines) <= TRACEBACK_LINES else (
        lines[:5] + ["..."] + lines[-(TRACEBACK_LINES - 6):])
    sec.h3(text("traceback", lang))
    sec.add(f"<pre>{esc(chr(10).join(excerpt))}</pre>")
    return sec


def warnings_section(run: RunFolder, lang: str) -> Section | None:
    """The run's warnings (``run.json`` ``warnings``), or None when it has none."""
    found = run.summary.get("warnings") or []
    if not found:
        return None
    sec = Section("warnings", text("sec_warnings", lang))
    sec.add(f'<p class="warn">{esc(text("warnings_note", lang))}</p>')
    sec.add("<ul>" + "".join(f"<li>{esc(str(w.get('message', '')))}</li>" for w in found)
            + "</ul>")
    return sec


def window_text(warmup_s: float, duration_s: float, lang: str) -> str:
    """The observation window in words: from the end of the warm-up for the observed period."""
    return text("window_text", lang).format(
        t0=format_duration(warmup_s), t1=format_duration(warmup_s + duration_s),
        w=format_duration(warmup_s))


def header_meta(lang: str, line: str, date: str, style: FigureStyle, report: str,
                window: tuple[float, float] | None = None) -> list[str]:
    """The lines under the report title: line, report id, observation window, run start,
    generation time (and a note when Chinese figure labels lack a font)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    meta = [f"{text('line', lang)}: {line}", f"{text('report_id', lang)}: {report}"]
    if window is not None:
        meta.append(f"{text('window', lang)}: {window_text(*window, lang)}")
    meta += [f"{text('started', lang)}: {date}", f"{text('generated', lang)}: {now}"]
    if lang == "zh" and style.lang != "zh":
        meta.append(text("font_note", lang))
    return meta
