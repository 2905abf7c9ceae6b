"""Rich display of a run in a notebook: what ran, its headline KPIs and its state Gantt.

``RunResult._repr_html_`` calls :func:`run_html`, so a run shown as the last value of a
notebook cell is a small table and a figure instead of a dataclass dump.
"""

from __future__ import annotations

import html
import math
from typing import Any

from twin.figures.style import png_data_uri
from twin.figures.timeline import NoData, RunFigures

HEADLINE = ("throughput_per_h", "good_units", "quality_ratio", "wip_mean", "lead_time_mean_h",
            "bottleneck", "bottleneck_oee", "kwh_per_good_unit", "co2e_kg_per_good_unit",
            "product_kg", "kwh_electricity_per_kg", "co2e_kg_per_kg", "e_factor")
"""KPIs shown first (those the run has); the rest follow in stored order."""

SHOWN = 16
"""KPIs in the table at most (``result.kpis`` has them all)."""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}"
    return html.escape(str(value))


def run_html(run_id: str, provenance: dict[str, Any], kpis: dict[str, Any],
             figures: RunFigures) -> str:
    """HTML of one run: id, line, seed, status and observation window, up to
    :data:`SHOWN` KPIs (headline ones first) and the state Gantt as an embedded PNG."""
    t0, t1 = figures.window_h
    status = provenance.get("status", "")
    head = (f"<b>{html.escape(run_id)}</b> · line {html.escape(str(provenance.get('line')))}"
            f" · seed {html.escape(str(provenance.get('seed')))} · {html.escape(str(status))}"
            f" · observation window {t0:g} h to {t1:g} h (warm-up excluded)")
    keys = [k for k in HEADLINE if k in kpis] + [k for k in kpis if k not in HEADLINE]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>"
                   f"{_cell(kpis[k])}</td></tr>" for k in keys[:SHOWN])
    more = (f"<p>{len(keys) - SHOWN} more in <code>result.kpis</code>; figures: "
            f"<code>result.plot.{'()</code>, <code>result.plot.'.join(figures.available())}"
            f"()</code></p>")
    try:
        img = f"<img src='{png_data_uri(figures.gantt(), figures.style)}' style='max-width:100%'>"
    except NoData:
        img = ""
    return (f"<div><p>{head}</p><table><thead><tr><th>KPI</th><th>value</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{more}{img}</div>")
