"""Rich display of a run in a notebook: what ran, its KPIs and its state Gantt.

``RunResult._repr_html_`` calls :func:`run_html`, so a run shown as the last value of a
notebook cell is a small table and a figure instead of a dataclass dump.
"""

from __future__ import annotations

import html
from typing import Any

from twin.figures.style import png_data_uri
from twin.figures.timeline import NoData, RunFigures
from twin.observation import catalogue

SHOWN = 16
"""KPIs in the table at most (``result.kpis`` has them all)."""


def run_html(run_id: str, provenance: dict[str, Any], kpis: dict[str, Any],
             figures: RunFigures) -> str:
    """HTML of one run: id, line, seed, status and observation window, the KPIs the CLI
    prints (labels, units and formats from the KPI catalogue; at most :data:`SHOWN`) and the
    state Gantt as an embedded PNG."""
    t0, t1 = figures.window_h
    status = provenance.get("status", "")
    head = (f"<b>{html.escape(run_id)}</b> · line {html.escape(str(provenance.get('line')))}"
            f" · seed {html.escape(str(provenance.get('seed')))} · {html.escape(str(status))}"
            f" · observation window {t0:g} h to {t1:g} h (warm-up excluded)")
    entries = [e for e in catalogue.kpis("line", "cli") if e.key in kpis][:SHOWN]
    rows = "".join(f"<tr><td>{html.escape(e.label())}</td><td style='text-align:right'>"
                   f"{html.escape(e.format(kpis[e.key]))}</td><td>{html.escape(e.unit)}</td>"
                   f"<td><code>{e.key}</code></td></tr>" for e in entries)
    more = (f"<p>all {len(kpis)} KPIs: <code>result.kpis</code>; figures: "
            f"<code>result.plot.{'()</code>, <code>result.plot.'.join(figures.available())}"
            f"()</code></p>")
    try:
        img = f"<img src='{png_data_uri(figures.gantt(), figures.style)}' style='max-width:100%'>"
    except NoData:
        img = ""
    return (f"<div><p>{head}</p><table><thead><tr><th>KPI</th><th>value</th><th>unit</th>"
            f"<th>key</th></tr></thead><tbody>{rows}</tbody></table>{more}{img}</div>")
