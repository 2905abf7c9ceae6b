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

import base64
import html
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.data.alarms import display_scale
from twin.data.checks import SpecError, line_from_dict
from twin.data.units import format_duration
from twin.edges.report_text import (
    KPIS,
    figure_label,
    kpi_label,
    scaleup_label,
    station_label,
    text,
)
from twin.observation import kpis as kpi_module
from twin.orchestration.statistics import mean_ci

LINES_DIR = Path(__file__).resolve().parents[2] / "lines"

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans SC",
             "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "Droid Sans Fallback", "SimHei", "Microsoft YaHei",
             "PingFang SC", "AR PL UMing CN", "AR PL UKai CN")
"""Fonts that carry Chinese glyphs, in order of preference, looked up in matplotlib."""

LINE_KPIS = ["throughput_per_h", "good_units", "scrap_units", "rework_events", "quality_ratio",
             "scrap_ratio", "first_pass_yield", "wip_mean", "lead_time_mean_h",
             "lead_time_p50_h", "lead_time_p95_h", "bottleneck", "bottleneck_utilisation",
             "bottleneck_oee", "shifting_bottleneck", "electricity_kwh", "co2e_kg", "kgce",
             "kwh_per_good_unit", "co2e_kg_per_good_unit", "kgce_per_good_unit"]
PROCESS_KPIS = ["product_kg", "utility_electricity_kwh", "natural_gas_m3", "co2e_scope1_kg",
                "co2e_scope2_utilities_kg", "kwh_electricity_per_kg", "co2e_kg_per_kg",
                "e_factor", "water_kg_per_kg"]
STUDY_KPIS = ["throughput_per_h", "quality_ratio", "first_pass_yield", "wip_mean",
              "lead_time_mean_h", "bottleneck_utilisation", "kwh_per_good_unit",
              "co2e_kg_per_good_unit", "product_kg", "kwh_electricity_per_kg",
              "co2e_kg_per_kg"]
STATION_KPIS = ["utilisation", "blocked_fraction", "starved_fraction", "down_fraction",
                "setup_fraction", "effectiveness", "quality_ratio", "oee", "PQ", "GQ", "SQ",
                "RQ", "MTBF_h", "MTTR_h"]
SCALEUP_SHOWN = ["volume_m3", "scale_factor", "runs", "area_per_volume_1_m", "react_time_h",
                 "conversion", "selectivity", "peak_temperature_C", "max_mtsr_C",
                 "heat_generation_kW", "cooling_capacity_kW", "cooling_limited",
                 "agitation_power_kW", "kwh_electricity_per_kg", "co2e_kg_per_kg",
                 "annual_output_t", "annual_output_half_width_t", "time_bottleneck",
                 "bottleneck"]
SCALE_KPIS = ["throughput_per_h", "product_kg", "kwh_electricity_per_kg", "co2e_kg_per_kg",
              "co2e_scope1_kg", "co2e_scope2_utilities_kg", "voc_emitted_kg", "water_kg",
              "cod_kg", "e_factor"]
STATE_COLUMNS = [("utilisation", "producing", "#5f6b73"), ("setup_fraction", "setup", "#9aa5ad"),
                 ("down_fraction", "down", "#c0392b"), ("waiting_fraction", "waiting", "#8e6bb0"),
                 ("blocked_fraction", "blocked", "#e0a030"),
                 ("starved_fraction", "starved", "#d9dde0")]
TYPE_COLOURS = {"source": "#e8eef3", "sink": "#e8eef3", "machine": "#d5dbe0",
                "inspection": "#f3e6c8", "batch": "#d9e4d2", "assembly": "#dcd6e8",
                "process": "#cfe0ea", "tank": "#f0f0f0", "continuous": "#cde3dc"}
TRACEBACK_LINES = 40


class ReportError(ValueError):
    """The path is not a run folder, a study folder or a scale-up study folder."""


# --------------------------------------------------------------------------- formatting


def fmt_num(value: Any) -> str:
    """A number as the report shows it: integers whole, floats to a readable precision,
    tiny non-zero values (e.g. balance imbalances) in scientific notation, NaN as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return "–" if math.isnan(v) else ("∞" if v > 0 else "-∞")
        if v == 0.0:
            return "0"
        if v.is_integer() and abs(v) < 1e15 and abs(v) >= 1000:
            return f"{v:.0f}"
        a = abs(v)
        if a >= 1000:
            return f"{v:.1f}"
        if a >= 100:
            return f"{v:.2f}"
        if a >= 1:
            return f"{v:.3f}"
        if a >= 1e-3:
            return f"{v:.4f}"
        return f"{v:.2e}"
    return str(value)


def fmt_ci(values: Sequence[float]) -> str:
    """``mean ± half-width`` of replications (95% Student-t); one value: itself, n = 1."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return "–"
    if arr.size == 1:
        return f"{fmt_num(float(arr[0]))} (n=1)"
    ci = mean_ci(arr)
    return f"{fmt_num(ci.mean)} ± {fmt_num(ci.half_width)}"


def esc(value: Any) -> str:
    """HTML-escaped text."""
    return html.escape(str(value), quote=True)


def _si_number(value: Any) -> tuple[float, str]:
    """``"540.0 s"`` -> (540.0, "s"); a bare number -> (number, "")."""
    if isinstance(value, int | float):
        return float(value), ""
    parts = str(value).split(None, 1)
    try:
        return float(parts[0]), parts[1] if len(parts) > 1 else ""
    except (ValueError, IndexError):
        return math.nan, str(value)


# --------------------------------------------------------------------------- HTML pieces


_NUMERIC = re.compile(r"^[-+]?(\d[\d.]*(e[-+]?\d+)?|∞)( ± \S+| \(n=1\)| \[.*\])?( \S+)?$|^–$")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, cls: str = "") -> str:
    """An HTML table; cells are escaped and formatted with :func:`fmt_num`; numbers (and
    intervals) are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            raw = isinstance(cell, _Raw)
            shown = cell.html if raw else esc(fmt_num(cell))
            if isinstance(cell, bool | np.bool_):
                numeric = False
            elif isinstance(cell, str | _Raw):
                numeric = _NUMERIC.match(cell.html if raw else cell) is not None
            else:
                numeric = cell is None or isinstance(cell, int | float | np.number)
            align = ' class="num"' if numeric else ""
            cells.append(f"<td{align}>{shown}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    klass = f' class="{cls}"' if cls else ""
    return (f"<table{klass}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


@dataclass(frozen=True)
class _Raw:
    """Cell content that is already HTML."""

    html: str


def kv_table(rows: Iterable[tuple[str, Any]], lang: str) -> str:
    """Two-column table of labelled values (values escaped)."""
    return table([text("item", lang), text("value", lang)], rows, cls="kv")


def img(uri: str, alt: str) -> str:
    """An embedded figure."""
    return f'<figure><img src="{uri}" alt="{esc(alt)}"></figure>'


def note(content: str, cls: str = "note") -> str:
    """A short paragraph of text (escaped)."""
    return f'<p class="{cls}">{esc(content)}</p>'


@dataclass
class Section:
    """One section of the report."""

    key: str
    title: str
    parts: list[str] = field(default_factory=list)

    def add(self, *html_parts: str) -> None:
        self.parts.extend(html_parts)

    def h3(self, title: str) -> None:
        self.parts.append(f"<h3>{esc(title)}</h3>")

    def render(self) -> str:
        return (f'<section id="{self.key}"><h2>{esc(self.title)}</h2>'
                f"{''.join(self.parts)}</section>")


CSS = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
  "Microsoft YaHei", "WenQuanYi Micro Hei", "DejaVu Sans", Arial, sans-serif; font-size: 10pt;
  color: #222; background: #fff; margin: 0 auto; max-width: 1100px; padding: 12px 20px; }
header { border-bottom: 2px solid #555; margin-bottom: 10px; }
h1 { font-size: 18pt; margin: 4px 0; }
h2 { font-size: 14pt; border-bottom: 1px solid #999; padding-bottom: 2px; margin-top: 22px; }
h3 { font-size: 11pt; margin: 14px 0 4px; }
p.meta { color: #444; margin: 2px 0; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 8.5pt; }
th, td { border: 1px solid #bbb; padding: 2px 6px; vertical-align: top; }
th { background: #eceff1; text-align: left; overflow-wrap: anywhere; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv td:first-child { color: #333; white-space: nowrap; }
table.kv td { word-break: break-all; }
table.kv td.num { text-align: left; }
tr.bad td, span.bad { color: #a00; font-weight: bold; }
tr.total td { font-weight: bold; }
figure { margin: 6px 0; }
img { max-width: 100%; height: auto; }
p.note { color: #444; font-size: 9pt; }
p.warn { color: #a00; font-weight: bold; }
pre { white-space: pre-wrap; word-break: break-word; font-size: 8pt; background: #f7f7f7;
  border: 1px solid #ddd; padding: 6px; }
nav ol { columns: 2; font-size: 9pt; }
nav a { color: #234; }
@media print {
  body { max-width: none; padding: 0; }
  nav { display: none; }
  section { page-break-before: always; break-before: page; }
  h2, h3 { page-break-after: avoid; break-after: avoid; }
  tr, figure, img { page-break-inside: avoid; break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def document(title: str, meta: list[str], sections: list[Section], lang: str) -> str:
    """The whole HTML document."""
    nav = "".join(f'<li><a href="#{s.key}">{esc(s.title)}</a></li>' for s in sections)
    head_meta = "".join(f'<p class="meta">{esc(m)}</p>' for m in meta)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1>{head_meta}</header>"
        f"<nav><h3>{esc(text('contents', lang))}</h3><ol>{nav}</ol></nav>"
        f"{''.join(s.render() for s in sections)}</body></html>\n")


# --------------------------------------------------------------------------- figures


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of a CJK-capable font known to matplotlib, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    return None


@lru_cache(maxsize=1)
def _default_charmap() -> frozenset[int]:
    """Code points the default matplotlib font can draw."""
    from matplotlib import font_manager, ft2font

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"),
                                 fallback_to_default=True)
    return frozenset(ft2font.FT2Font(path).get_charmap())


@dataclass(frozen=True)
class FigureStyle:
    """Language and font of figure labels."""

    lang: str
    font: str | None

    def label(self, key: str) -> str:
        return figure_label(key, self.lang)

    def safe(self, value: Any) -> str:
        """Text a figure can draw: without a CJK font, characters the default font lacks
        become '?' (no missing-glyph boxes, no warnings)."""
        s = str(value)
        if self.font:
            return s
        cmap = _default_charmap()
        return "".join(c if (ord(c) in cmap or c in "\n\t") else "?" for c in s)


def figure_style(lang: str) -> FigureStyle:
    """Chinese figure labels only with a CJK-capable font; English otherwise."""
    font = cjk_font() if lang == "zh" else None
    return FigureStyle("zh" if font else "en", font)


def _new_figure(style: FigureStyle, size: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig


def _png(fig: Any, style: FigureStyle) -> str:
    """A figure as a PNG data URI."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rc = {"font.family": [style.font, "DejaVu Sans"]} if style.font else {}
    with matplotlib.rc_context(rc):
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _with_font(style: FigureStyle, draw: Callable[[], Any]) -> Any:
    import matplotlib

    rc = {"font.family": [style.font, "DejaVu Sans"]} if style.font else {}
    with matplotlib.rc_context(rc):
        return draw()


def line_edges(stations: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Edges of the line graph: (from, to, kind, label) with kind ``route`` or ``rework``."""
    edges = []
    for name, st in stations.items():
        for r in st.get("routes") or []:
            to = r.get("to")
            if to not in stations:
                continue
            bits = []
            if r.get("products"):
                bits.append(",".join(map(str, r["products"])))
            if r.get("probability") is not None:
                bits.append(f"p={fmt_num(float(r['probability']))}")
            edges.append((name, to, "route", " ".join(bits)))
        rework = st.get("rework_to")
        if rework in stations:
            p = st.get("rework_probability")
            edges.append((name, rework, "rework",
                          f"rework p={fmt_num(float(p))}" if p is not None else "rework"))
    return edges


def layout(stations: dict[str, dict[str, Any]],
           edges: list[tuple[str, str, str, str]]) -> tuple[dict[str, tuple[float, float]],
                                                            set[tuple[str, str]]]:
    """Columns by longest path from the sources (back edges ignored), rows by barycentre.

    Returns positions and the set of back edges (drawn dashed as loops)."""
    names = list(stations)
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b, _, _ in edges:
        if b not in succ[a]:
            succ[a].append(b)
    indeg = {n: 0 for n in names}
    for a in names:
        for b in succ[a]:
            indeg[b] += 1
    roots = [n for n in names if indeg[n] == 0] or names[:1]
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def dfs(n: str) -> None:
        stack = [(n, iter(succ[n]))]
        state[n] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))

    for r in roots + names:
        if r not in state:
            dfs(r)
    level = {n: 0 for n in names}
    order = _topological(names, succ, back)
    for n in order:
        for b in succ[n]:
            if (n, b) not in back:
                level[b] = max(level[b], level[n] + 1)
    for n in names:  # sources sit just before the first station they feed
        fwd = [level[b] for b in succ[n] if (n, b) not in back]
        if indeg[n] == 0 and fwd:
            level[n] = max(min(fwd) - 1, 0)
    columns: dict[int, list[str]] = {}
    for n in order:
        columns.setdefault(level[n], []).append(n)
    pos: dict[str, tuple[float, float]] = {}
    preds: dict[str, list[str]] = {n: [] for n in names}
    for a in names:
        for b in succ[a]:
            if (a, b) not in back:
                preds[b].append(a)
    for col in sorted(columns):
        members = columns[col]
        key = {n: np.mean([pos[p][1] for p in preds[n] if p in pos])
               if any(p in pos for p in preds[n]) else 0.0 for n in members}
        members.sort(key=lambda n: key[n])
        k = len(members)
        for i, n in enumerate(members):
            pos[n] = (float(col), (k - 1) / 2.0 - i)
    return pos, back


def _topological(names: list[str], succ: dict[str, list[str]],
                 back: set[tuple[str, str]]) -> list[str]:
    indeg = {n: 0 for n in names}
    for a in names:
        for b in succ[a]:
            if (a, b) not in back:
                indeg[b] += 1
    ready = [n for n in names if indeg[n] == 0]
    out = []
    while ready:
        n = ready.pop(0)
        out.append(n)
        for b in succ[n]:
            if (n, b) in back:
                continue
            indeg[b] -= 1
            if indeg[b] == 0:
                ready.append(b)
    return out + [n for n in names if n not in out]


def _box_text(name: str, st: dict[str, Any]) -> str:
    kind = st.get("type", "?")
    extra = []
    if st.get("servers", 1) not in (None, 1):
        extra.append(f"x{st['servers']}")
    if st.get("buffer") is not None:
        extra.append(f"buf {st['buffer']}")
    if kind == "batch" and st.get("batch_size"):
        extra.append(f"batch {st['batch_size']}")
    if kind == "process" and st.get("volume"):
        v, unit = _si_number(st["volume"])
        if math.isfinite(v):
            extra.append(f"{fmt_num(v)} m3" if unit.startswith("m") else str(st["volume"]))
    second = kind + (" " + ", ".join(extra) if extra else "")
    return f"{name}\n{second}"


def line_diagram(stations: dict[str, dict[str, Any]], style: FigureStyle) -> str:
    """Boxes per station (shaded by type), arrows for routes, dashed loops for rework."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    edges = line_edges(stations)
    pos, back = layout(stations, edges)
    ncol = max(int(x) for x, _ in pos.values()) + 1 if pos else 1
    nrow = max(sum(1 for x, _ in pos.values() if int(x) == c) for c in range(ncol)) if pos else 1
    sx, sy, w, h = 2.3, 1.25, 1.75, 0.72
    fig = _new_figure(style, (max(6.0, 0.6 + 1.6 * ncol), max(2.4, 1.3 + 0.8 * nrow)))

    def draw() -> None:
        ax = fig.add_subplot(1, 1, 1)
        for name, (x, y) in pos.items():
            st = stations[name]
            kind = st.get("type", "machine")
            ax.add_patch(FancyBboxPatch((x * sx - w / 2, y * sy - h / 2), w, h,
                                        boxstyle="round,pad=0.02,rounding_size=0.08",
                                        facecolor=TYPE_COLOURS.get(kind, "#dddddd"),
                                        edgecolor="#333333", linewidth=1.0))
            ax.text(x * sx, y * sy, style.safe(_box_text(name, st)), ha="center",
                    va="center", fontsize=7)
        for a, b, kind, label in edges:
            (xa, ya), (xb, yb) = pos[a], pos[b]
            dashed = kind == "rework" or (a, b) in back
            if (a, b) in back or xb < xa:  # loop back upstream: bottom to bottom, below
                pa, pb = (xa * sx, ya * sy - h / 2), (xb * sx + w / 4, yb * sy - h / 2)
                rad = -0.45
            elif xb == xa:
                down = yb < ya
                pa = (xa * sx, ya * sy + (-h / 2 if down else h / 2))
                pb = (xb * sx, yb * sy + (h / 2 if down else -h / 2))
                rad = 0.0
            else:
                pa, pb, rad = (xa * sx + w / 2, ya * sy), (xb * sx - w / 2, yb * sy), 0.0
            ax.add_patch(FancyArrowPatch(pa, pb, arrowstyle="-|>", mutation_scale=10,
                                         linestyle="--" if dashed else "-",
                                         color="#a05a00" if dashed else "#333333",
                                         linewidth=1.0, connectionstyle=f"arc3,rad={rad}"))
            if label:
                f = 0.5 if dashed else 0.3
                tx = pa[0] + f * (pb[0] - pa[0])
                ty = pa[1] + f * (pb[1] - pa[1]) + (-0.22 if dashed else 0.12)
                ax.text(tx, ty, style.safe(label), fontsize=6, ha="center",
                        color="#a05a00" if dashed else "#555555")
        ax.set_xlim(-sx / 2 - 0.1, (ncol - 1) * sx + sx / 2 + 0.1)
        ax.set_ylim(-(nrow / 2) * sy - 0.6, (nrow / 2) * sy + 0.3)
        ax.axis("off")
        kinds = [k for k in TYPE_COLOURS if any(s.get("type") == k for s in stations.values())]
        handles: list[Any] = [Patch(facecolor=TYPE_COLOURS[k], edgecolor="#333333", label=k)
                              for k in kinds]
        handles.append(Line2D([0], [0], color="#333333", label=style.label("route")))
        handles.append(Line2D([0], [0], color="#a05a00", linestyle="--",
                              label=style.label("rework")))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                  ncol=min(len(handles), 6), fontsize=7, frameon=False)

    _with_font(style, draw)
    return _png(fig, style)


def bottleneck_figure(frame: pd.DataFrame, bottleneck: str, style: FigureStyle) -> str:
    """Stacked horizontal bars of the state fractions per station."""
    data = frame.iloc[::-1]
    fig = _new_figure(style, (8.0, 0.9 + 0.38 * len(data)))

    def draw() -> None:
        ax = fig.add_subplot(1, 1, 1)
        left = np.zeros(len(data))
        labels = [style.safe(s) + (f"  [{style.label('bottleneck')}]" if s == bottleneck
                                   else "") for s in data["station"].astype(str)]
        for col, key, colour in STATE_COLUMNS:
            vals = data[col].fillna(0.0).to_numpy(dtype=float) if col in data else \
                np.zeros(len(data))
            ax.barh(labels, vals, left=left, color=colour, edgecolor="white", linewidth=0.5,
                    label=style.label(key))
            left += vals
        ax.set_xlim(0, max(1.0, float(left.max()) if len(left) else 1.0))
        ax.set_xlabel(style.label("fraction"))
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18 - 0.5 / max(len(data), 1)),
                  ncol=6, fontsize=7, frameon=False)
        for tick in ax.get_yticklabels():
            if "[" in tick.get_text():
                tick.set_fontweight("bold")

    _with_font(style, draw)
    return _png(fig, style)


def ranking_figure(ranked: pd.DataFrame, kpi: str, style: FigureStyle) -> str:
    """Bars of the ranked KPI per configuration with 95% intervals."""
    data = ranked.iloc[::-1]
    fig = _new_figure(style, (8.0, 0.8 + 0.36 * len(data)))

    def draw() -> None:
        ax = fig.add_subplot(1, 1, 1)
        colours = ["#4a4a4a" if b else "#9a9a9a" for b in data["best"]]
        hw = data["half_width"].where(np.isfinite(data["half_width"]))
        ax.barh([style.safe(c) for c in data["configuration"].astype(str)], data["mean"],
                xerr=hw, color=colours, capsize=3)
        ax.set_xlabel(f"{kpi} ({style.label('mean_ci')})")
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="y", labelsize=7)

    _with_font(style, draw)
    return _png(fig, style)


def scaleup_figure(table_: pd.DataFrame, style: FigureStyle) -> str:
    """Temperatures, heat balance, reaction time and annual output against volume."""
    fig = _new_figure(style, (8.5, 5.6))
    v = table_["volume_m3"]

    def draw() -> None:
        axes = fig.subplots(2, 2)
        ax = axes[0, 0]
        ax.plot(v, table_["peak_temperature_C"], "o-", color="#333333",
                label=style.label("peak"))
        ax.plot(v, table_["max_mtsr_C"], "s--", color="#777777", label="MTSR")
        ax.axhline(float(table_["mtt_C"].iloc[0]), color="#b22222", lw=1, label="MTT")
        ax.set_ylabel(style.label("temperature"))
        ax.legend(fontsize=7)
        ax = axes[0, 1]
        ax.plot(v, table_["heat_generation_kW"], "o-", color="#333333",
                label=style.label("generation"))
        ax.plot(v, table_["cooling_capacity_kW"], "s--", color="#777777",
                label=style.label("jacket"))
        ax.set_ylabel(style.label("heat"))
        ax.legend(fontsize=7)
        ax = axes[1, 0]
        ax.plot(v, table_["react_time_h"], "o-", color="#333333")
        ax.set_ylabel(style.label("react_time"))
        ax = axes[1, 1]
        hw = table_.get("annual_output_half_width_t")
        ax.errorbar(v, table_["annual_output_t"],
                    yerr=None if hw is None else hw.where(np.isfinite(hw)), fmt="o-",
                    color="#333333", capsize=3)
        ax.set_ylabel(style.label("annual"))
        for a in axes.flat:
            if (v > 0).all() and len(v) > 1:
                a.set_xscale("log")
            a.set_xlabel(style.label("volume"))
            a.grid(alpha=0.3)
        fig.tight_layout()

    _with_font(style, draw)
    return _png(fig, style)


# --------------------------------------------------------------------------- reading folders


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path} does not hold a JSON object")
    return data


@dataclass
class RunFolder:
    """A run folder as the report reads it."""

    path: Path
    summary: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> RunFolder:
        summary = _read_json(path / "run.json")
        if not isinstance(summary.get("provenance"), dict):
            raise ReportError(f"{path / 'run.json'} has no provenance: not a run folder")
        return cls(path, summary)

    @property
    def provenance(self) -> dict[str, Any]:
        return self.summary["provenance"]

    @property
    def kpis(self) -> dict[str, Any]:
        return self.summary.get("kpis") or {}

    @property
    def parameters(self) -> dict[str, Any]:
        return self.provenance.get("parameters") or {}

    @property
    def failed(self) -> bool:
        return self.provenance.get("status") != "completed"

    def table(self, name: str) -> pd.DataFrame | None:
        path = self.path / f"{name}.parquet"
        return pd.read_parquet(path) if path.is_file() else None


def _kind(path: Path) -> str:
    if (path / "run.json").is_file():
        return "run"
    if (path / "study.json").is_file():
        meta = _read_json(path / "study.json")
        if "tasks" in meta and "points" in meta:
            return "study"
        if "volumes_m3" in meta and (path / "comparison.csv").is_file():
            return "scaleup"
        raise ReportError(f"{path / 'study.json'} is neither a sweep study nor a scale-up "
                          "study")
    raise ReportError(f"{path} is not a run folder (run.json) or a study folder (study.json)")


# --------------------------------------------------------------------------- sections


def _provenance_rows(run: RunFolder, lang: str) -> list[tuple[str, Any]]:
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
        (text("duration", lang), _dur(s.get("duration_s"))),
        (text("warmup", lang), _dur(s.get("warmup_s"))),
        (text("events", lang), json.dumps(p.get("events")) if p.get("events")
         else text("none", lang)),
        (text("started", lang), p.get("started_utc", "")),
        (text("wall_time", lang), f"{fmt_num(p.get('wall_time_s'))} s"),
        (text("status", lang), p.get("status", "")),
    ]
    return rows


def _dur(seconds: Any) -> str:
    if seconds is None:
        return "–"
    return f"{format_duration(float(seconds))} ({fmt_num(float(seconds))} s)"


def _versions_table(versions: dict[str, Any], lang: str) -> str:
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
    sec = Section("model", text("sec_model", lang))
    stations = (run.parameters.get("stations") if run else None) or {}
    if not stations:
        sec.add(note(text("none", lang)))
        return sec
    sec.add(note(text("model_note", lang)))
    sec.add(img(line_diagram(stations, style), text("sec_model", lang)))
    sec.add(_stations_table(stations, lang))
    return sec


def _kpi_rows(keys: Sequence[str], values: Callable[[str], str], lang: str,
              present: Callable[[str], bool]) -> list[list[Any]]:
    rows = []
    for key in keys:
        if not present(key):
            continue
        unit, iso = KPIS[key][2], KPIS[key][3]
        rows.append([kpi_label(key, lang), _Raw(esc(values(key))), unit,
                     iso or (text("not_iso", lang) if "*" in KPIS[key][0] else "–"), key])
    return rows


def _kpi_headers(lang: str, value_header: str) -> list[str]:
    return [text("kpi", lang), value_header, "unit", text("iso", lang), "id"]


def kpi_section_run(run: RunFolder, lang: str) -> Section:
    sec = Section("kpis", text("sec_kpis", lang))
    k = run.kpis
    sec.add(note(text("window_note", lang)))
    sec.h3(text("line_kpis", lang))
    keys = LINE_KPIS + [c for c in PROCESS_KPIS if c in k]
    sec.add(table(_kpi_headers(lang, text("value", lang)),
                  _kpi_rows(keys, lambda key: fmt_num(k.get(key)), lang, lambda key: key in k)))
    sec.add(note(text("not_iso_note", lang)))
    st = run.table("stations")
    if st is not None and len(st):
        sec.h3(text("station_kpis", lang))
        cols = ["station", "type", "servers"] + [c for c in STATION_KPIS if c in st.columns]
        sec.add(table([station_label(c, lang) for c in cols],
                      st[cols].itertuples(index=False)))
    return sec


def bottleneck_section(frame: pd.DataFrame | None, bottleneck: str, lang: str,
                       style: FigureStyle, extra: str = "") -> Section:
    sec = Section("bottlenecks", text("sec_bottlenecks", lang))
    if frame is None or not len(frame):
        sec.add(note(text("none", lang)))
        return sec
    sec.add(note(text("bottleneck_note", lang) + extra))
    sec.add(f"<p><b>{esc(text('bottleneck', lang))}:</b> {esc(bottleneck or '–')}</p>")
    sec.add(img(bottleneck_figure(frame, bottleneck, style), text("sec_bottlenecks", lang)))
    cols = [c for c, _, _ in STATE_COLUMNS if c in frame.columns]
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
    head = [text("species", lang)] + cols + [text("closed", lang)]
    rows = []
    for rec in balance.to_dict("records"):
        closed = bool(rec.get("closed", False))
        rows.append([rec["species"]] + [rec[c] for c in cols]
                    + [_Raw(esc(text("yes", lang)) if closed else
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
    keys = [x for x in ("electricity_kwh", "utility_electricity_kwh", "natural_gas_m3", "kgce",
                        "co2e_kg", "co2e_scope1_kg", "co2e_scope2_utilities_kg") if x in k]
    sec.add(table([text("kpi", lang), text("value", lang), "unit", "id"],
                  [[kpi_label(x, lang), k[x], KPIS[x][2], _Raw(esc(x))] for x in keys]))
    utilities = run.table("utilities")
    if utilities is not None and len(utilities):
        sec.h3(text("energy_carrier", lang))
        num = [c for c in utilities.columns if c not in ("utility", "carrier")]
        rows = [list(r) for r in utilities[["utility", "carrier"] + num].itertuples(index=False)]
        totals = utilities[num].sum(numeric_only=True, min_count=1)
        rows.append([_Raw(f"<b>{esc(text('total', lang))}</b>"), ""]
                    + [totals.get(c) for c in num])
        sec.add(table([text("utility", lang), text("carrier", lang)] + num, rows))
    energy = run.table("energy")
    if energy is not None and len(energy):
        sec.h3(text("energy_state", lang))
        pivot = (energy.assign(station=energy["station"].astype(str),
                               state=energy["state"].astype(str))
                 .pivot_table(index="station", columns="state", values="kwh", aggfunc="sum",
                              fill_value=0.0, observed=True, sort=False))
        pivot["total"] = pivot.sum(axis=1)
        rows = [[idx] + list(r) for idx, r in zip(pivot.index, pivot.to_numpy(), strict=True)]
        rows.append([_Raw(f"<b>{esc(text('total', lang))}</b>")]
                    + list(pivot.sum(axis=0).to_numpy()))
        sec.add(table([text("station", lang)] + [str(c) for c in pivot.columns], rows))
    return sec


def emissions_section(run: RunFolder, lang: str) -> Section:
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
    rows.append([_Raw(f"<b>{esc(text('total', lang))}</b>"), "", total, ""])
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
                           "emission kg", "destroyed kg"], rows))
        else:
            sec.add(note(text("no_species_emissions", lang)))
    sec.add(note(text("process_note", lang)))
    sec.h3(text("water", lang))
    keys = [x for x in ("water_kg", "wastewater_kg", "cod_kg", "waste_kg", "voc_emitted_kg",
                        "voc_destroyed_kg", "solvent_recovered_kg", "water_kg_per_kg")
            if x in k]
    sec.add(table([text("kpi", lang), text("value", lang), "unit", "id"],
                  [[kpi_label(x, lang), k[x], KPIS[x][2], _Raw(esc(x))] for x in keys]))
    return sec


def alarms_section(run: RunFolder | None, lang: str) -> Section:
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
        t = np.sort(act["time"].to_numpy(dtype=float))
        within = np.searchsorted(t, t + 600.0, side="left") - np.arange(len(t))
        floods, i = 0, 0
        while i < len(t):
            if within[i] > 10:
                floods += 1
                i = int(np.searchsorted(t, t[i] + 600.0, side="left"))
            else:
                i += 1
        out.append(f"<p><b>{esc(text('floods', lang))}:</b> {floods}</p>")
    if {"alarm", "state", "time"} <= set(alarms.columns):
        last = alarms.sort_values("time", kind="stable").groupby("alarm").tail(1)
        standing = last[~last["state"].astype(str).isin(["normal", "shelved"])]
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
            out.append(table(cols + ["unit"], shown.itertuples(index=False)))
    figures = [(k, v) for k, v in kpis.items() if k.startswith("alarm")]
    if figures:
        out.append(table([text("kpi", lang), text("value", lang)], figures))
    return "".join(out)


def _find_readme(source: str | None, base: Path) -> Path | None:
    if not source or source == "python":
        return None
    src = Path(source)
    candidates = [src] if src.is_absolute() else [Path.cwd() / src, base / src,
                                                  LINES_DIR.parent / src]
    for c in candidates:
        readme = c.parent / "README.md"
        if c.is_file() and readme.is_file():
            return readme
    return None


def assumptions_section(params: dict[str, Any], readme: Path | None, lang: str,
                        readme_note: str = "") -> Section:
    sec = Section("assumptions", text("sec_assumptions", lang))
    sec.h3(text("readme", lang))
    if readme is not None:
        sec.add(f'<p class="note">{esc(str(readme))} {esc(readme_note)}</p>')
        sec.add(f"<pre>{esc(readme.read_text(encoding='utf-8', errors='replace'))}</pre>")
    else:
        sec.add(note(text("no_readme", lang)))
    sec.h3(text("kpi_definitions", lang))
    sec.add(f"<pre>{esc((kpi_module.__doc__ or '').strip())}</pre>")
    sec.add(note(text("not_iso_note", lang)))
    sec.h3(text("factors_title", lang))
    energy = params.get("energy") or {}
    grid = energy.get("grid") or {}
    rows = []
    value, unit = _si_number(grid.get("value", math.nan))
    if unit.replace(" ", "") == "kg/J":
        value, unit = value * 3.6e6, "kg CO2e/kWh"
    rows.append([text("grid_factor", lang), _Raw(esc(f"{fmt_num(value)} {unit}")),
                 grid.get("year", "–"), grid.get("source", "–")])
    gas_source = energy.get("natural_gas_source", "–")
    gas_year = _year_in(gas_source)
    if "kgce_per_kwh" in energy:
        rows.append([text("kgce_electricity", lang),
                     _Raw(esc(f"{fmt_num(energy['kgce_per_kwh'])} kgce/kWh")), "–",
                     "GB/T 2589 (calorific value basis)"])
    if "natural_gas_co2_per_m3" in energy:
        rows.append([text("gas_co2", lang),
                     _Raw(esc(f"{fmt_num(energy['natural_gas_co2_per_m3'])} kg CO2/m3")),
                     gas_year, gas_source])
    if "natural_gas_lhv" in energy:
        lhv, lhv_unit = _si_number(energy["natural_gas_lhv"])
        shown = (f"{fmt_num(lhv / 1e6)} MJ/m3" if lhv_unit.replace(" ", "") == "J/m**3"
                 else str(energy["natural_gas_lhv"]))
        rows.append([text("gas_lhv", lang), _Raw(esc(shown)), gas_year, gas_source])
    if "natural_gas_kgce_per_m3" in energy:
        rows.append([text("gas_kgce", lang),
                     _Raw(esc(f"{fmt_num(energy['natural_gas_kgce_per_m3'])} kgce/m3")),
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


def _number_or_text(value: Any) -> Any:
    """A CSV cell as a number when it is one (so it is formatted like the others)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _year_in(s: str) -> str:
    m = re.search(r"\((\d{4})\)|\b(19|20)\d{2}\b", str(s))
    if not m:
        return "–"
    return m.group(1) or m.group(0)


def failed_section(run: RunFolder, lang: str) -> Section:
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
    """The run's warnings (``run.json``), if it has any."""
    rows = [(w.get("code", ""), "" if w.get("time") is None else w["time"],
             ", ".join(w.get("stations") or []), w.get("message", ""))
            for w in run.summary.get("warnings") or []]
    if not rows:
        return None
    sec = Section("warnings", text("sec_warnings", lang))
    sec.add(f'<p class="warn">{esc(text("warnings_note", lang))}</p>')
    sec.add(table([text(k, lang) for k in ("warning_code", "warning_time", "warning_stations",
                                           "warning_message")], rows))
    return sec


# --------------------------------------------------------------------------- reports


def _meta(lang: str, line: str, date: str, style: FigureStyle) -> list[str]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    meta = [f"{text('line', lang)}: {line}", f"{text('started', lang)}: {date}",
            f"{text('generated', lang)}: {now}"]
    if lang == "zh" and style.lang != "zh":
        meta.append(text("font_note", lang))
    return meta


def run_report(path: Path, lang: str) -> str:
    run = RunFolder.load(path)
    style = figure_style(lang)
    p = run.provenance
    prov = Section("provenance", text("sec_provenance", lang))
    prov.add(kv_table(_provenance_rows(run, lang), lang))
    prov.h3(text("versions", lang))
    prov.add(_versions_table(p.get("versions") or {}, lang))
    sections = [prov]
    warned = warnings_section(run, lang)
    if warned is not None:
        sections.append(warned)
    if run.failed:
        sections.append(failed_section(run, lang))
        sections.append(model_section(run, lang, style))
    else:
        sections.append(model_section(run, lang, style))
        sections.append(kpi_section_run(run, lang))
        sections.append(bottleneck_section(run.table("stations"),
                                           str(run.kpis.get("bottleneck", "")), lang, style))
        sections.append(balance_section(run, lang))
        sections.append(emissions_section(run, lang))
        sections.append(alarms_section(run, lang))
    sections.append(assumptions_section(run.parameters, _find_readme(p.get("source"), path),
                                        lang))
    title = text("report_run", lang) + (f" — {text('failed', lang).upper()}"
                                        if run.failed else "")
    return document(title, _meta(lang, str(p.get("line", "")), str(p.get("started_utc", "")),
                                 style), sections, lang)


def _load_runs(runs_dir: Path, ids: Sequence[str]) -> dict[str, RunFolder]:
    out = {}
    for rid in ids:
        if (runs_dir / rid / "run.json").is_file():
            try:
                out[rid] = RunFolder.load(runs_dir / rid)
            except ReportError:
                continue
    return out


def _stations_ci(runs: Sequence[RunFolder]) -> tuple[list[str], list[list[Any]],
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
                    + [_Raw(esc(fmt_ci(sub[c].to_numpy(dtype=float)))) for c in cols])
    means = allst.groupby("station", sort=False)[[c for c, _, _ in STATE_COLUMNS
                                                   if c in allst.columns]].mean()
    means = means.reindex(order).reset_index()
    return cols, rows, means


def study_report(path: Path, lang: str) -> str:
    from twin.orchestration.sweep import Study, point_label

    study = Study(path)
    meta = study.meta
    style = figure_style(lang)
    results = study.results()
    runs = _load_runs(study.runs_dir, list(results["run_id"]))
    scenario = meta.get("scenario") or {}
    rank_by, maximize = meta.get("rank_by"), meta.get("maximize", True)
    prov = Section("provenance", text("sec_provenance", lang))
    first = next(iter(runs.values()), None)
    rows: list[tuple[str, Any]] = [
        (text("scenario", lang), scenario.get("name", path.name)),
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
    ]
    if first is not None:
        s = first.provenance.get("settings") or {}
        rows += [(text("duration", lang), _dur(s.get("duration_s"))),
                 (text("warmup", lang), _dur(s.get("warmup_s")))]
    codes = sorted({r.provenance.get("code_hash", "") for r in runs.values()})
    rows.append((text("code_hash", lang), ", ".join(codes)))
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
                    "spec hash", text("status", lang)], cfg_rows))
    if first is not None:
        prov.h3(text("versions", lang))
        prov.add(_versions_table(first.provenance.get("versions") or {}, lang))
    sections = [prov]

    kpis = Section("kpis", text("sec_kpis", lang))
    kpis.add(note(text("ci_note", lang)))
    ranked = None
    completed = results[results["status"] == "completed"]
    if len(completed) and rank_by in completed.columns:
        ranked = study.summary()
        kpis.h3(text("ranking", lang) + f" — {rank_by}")
        kpis.add(img(ranking_figure(ranked, str(rank_by), style), text("ranking", lang)))
        rrows = []
        for rec in ranked.to_dict("records"):
            diff = "–" if rec.get("best") else (
                f"{fmt_num(rec['diff_to_best'])} [{fmt_num(rec['diff_low'])}, "
                f"{fmt_num(rec['diff_high'])}]")
            rrows.append([rec["rank"], rec["configuration"], rec["n"], rec["mean"],
                          rec["half_width"], _Raw(esc(diff)),
                          text("yes" if rec.get("indistinguishable") else "no", lang)])
        kpis.add(table([text("rank", lang), text("configuration", lang), text("n", lang),
                        text("mean", lang), text("half_width", lang),
                        text("diff_to_best", lang), text("indistinguishable", lang)], rrows))
        kpis.h3(text("kpis_by_config", lang))
        keys = [k for k in STUDY_KPIS if k in completed.columns]
        if rank_by in keys:
            keys.remove(rank_by)
            keys.insert(0, str(rank_by))
        crows = []
        for point in ranked["point"]:
            sub = completed[completed["point"] == point]
            crows.append([point_label(meta["points"][int(point)]), len(sub)]
                         + [_Raw(esc(fmt_ci(pd.to_numeric(sub[k], errors="coerce"))))
                            for k in keys])
        kpis.add(table([text("configuration", lang), text("n", lang)]
                       + [kpi_label(k, lang) for k in keys], crows))
        kpis.add(note(text("not_iso_note", lang)))
    sections.append(kpis)

    best_runs: list[RunFolder] = []
    if ranked is not None and len(ranked):
        best_point = int(ranked.iloc[0]["point"])
        best_ids = completed.loc[completed["point"] == best_point, "run_id"]
        best_runs = [runs[i] for i in best_ids if i in runs]
        cols, srows, means = _stations_ci(best_runs)
        if srows:
            kpis.h3(text("best_config", lang) + ": "
                    + point_label(meta["points"][best_point]))
            kpis.add(table([station_label("station", lang), station_label("type", lang)]
                           + [station_label(c, lang) for c in cols], srows))
        bottleneck = (pd.Series([r.kpis.get("bottleneck", "") for r in best_runs]).mode()
                      .iloc[0] if best_runs else "")
        sections.insert(1, model_section(best_runs[0] if best_runs else first, lang, style))
        sections.append(bottleneck_section(
            means, str(bottleneck), lang, style,
            f" ({text('best_config', lang)}: {point_label(meta['points'][best_point])}; "
            f"n = {len(best_runs)})"))
    else:
        sections.insert(1, model_section(first, lang, style))
    failed = [r for r in runs.values() if r.failed]
    if failed:
        sec = failed_section(failed[0], lang)
        sec.add(note(f"{text('runs_failed', lang)}: {len(failed)} "
                     f"({', '.join(r.path.name for r in failed)})"))
        sections.append(sec)
    alarms = alarms_section(best_runs[0] if best_runs else None, lang)
    sections.append(alarms)
    readme = None
    if meta.get("line_file"):
        lf = Path(meta["line_file"])
        lf = lf if lf.is_absolute() else path / lf
        readme = lf.parent / "README.md" if (lf.parent / "README.md").is_file() else None
    sections.append(assumptions_section(first.parameters if first else {}, readme, lang))
    title = text("report_study", lang)
    date = min((r.provenance.get("started_utc", "") for r in runs.values()), default="")
    return document(title, _meta(lang, f"{first.provenance.get('line', '') if first else ''} "
                                 f"({scenario.get('name', path.name)})", date, style),
                    sections, lang)


def scaleup_report(path: Path, lang: str) -> str:
    from twin.kernels.safety import severity

    meta = _read_json(path / "study.json")
    style = figure_style(lang)
    comparison = pd.read_csv(path / "comparison.csv")
    ids = list(meta.get("runs") or [])
    runs = _load_runs(path / "runs", ids)
    reps = int(meta.get("replications") or 1)
    volumes = list(meta.get("volumes_m3") or comparison["volume_m3"])
    by_scale = [[runs[i] for i in ids[k * reps:(k + 1) * reps] if i in runs]
                for k in range(len(volumes))]
    first = next(iter(runs.values()), None)
    prov = Section("provenance", text("sec_provenance", lang))
    rows: list[tuple[str, Any]] = [
        (text("line", lang), meta.get("line", "")),
        (text("unit", lang), meta.get("unit", "")),
        (text("rule", lang), str(meta.get("rule", "")).replace("_", " ")),
        (text("volumes", lang), ", ".join(fmt_num(float(v)) for v in volumes)),
        (text("replications", lang), reps),
        (text("seeds", lang), ", ".join(str(int(meta.get("seed", 1)) + r) for r in range(reps))),
    ]
    if first is not None:
        s = first.provenance.get("settings") or {}
        rows += [(text("duration", lang), _dur(s.get("duration_s"))),
                 (text("warmup", lang), _dur(s.get("warmup_s"))),
                 (text("code_hash", lang), ", ".join(sorted(
                     {r.provenance.get("code_hash", "") for r in runs.values()})))]
    prov.add(kv_table(rows, lang))
    prov.h3(text("configurations", lang))
    run_rows = []
    for vol, group_ids in zip(volumes, [ids[k * reps:(k + 1) * reps]
                                        for k in range(len(volumes))], strict=False):
        for rid in group_ids:
            r = runs.get(rid)
            run_rows.append([fmt_num(float(vol)), r.provenance.get("seed") if r else "–", rid,
                             r.provenance.get("spec_hash", "") if r else "",
                             r.provenance.get("status") if r else "missing"])
    prov.add(table([text("volume", lang), text("seed", lang), text("run_id", lang),
                    "spec hash", text("status", lang)], run_rows))
    if first is not None:
        prov.h3(text("versions", lang))
        prov.add(_versions_table(first.provenance.get("versions") or {}, lang))
    sections = [prov]
    base = next((g[0] for g, f in zip(by_scale, comparison.get("scale_factor", []),
                                      strict=False) if g and abs(float(f) - 1.0) < 1e-9),
                first)
    sections.append(model_section(base, lang, style))

    comp = Section("scaleup", text("sec_scaleup", lang))
    comp.add(note(text("scaleup_note", lang)))
    comp.add(img(scaleup_figure(comparison, style), text("sec_scaleup", lang)))
    cols = [c for c in SCALEUP_SHOWN if c in comparison.columns]
    comp.add(table([scaleup_label("volume_m3", lang)]
                   + [fmt_num(float(v)) for v in comparison["volume_m3"]],
                   [[scaleup_label(c, lang)] + list(comparison[c]) for c in cols
                    if c != "volume_m3"]))
    comp.h3(text("kpis_by_scale", lang))
    keys = [k for k in SCALE_KPIS if any(k in r.kpis for g in by_scale for r in g)]
    krows = []
    for vol, group in zip(volumes, by_scale, strict=True):
        ok = [r for r in group if not r.failed]
        krows.append([fmt_num(float(vol)), len(ok)]
                     + [_Raw(esc(fmt_ci([r.kpis.get(k) for r in ok]))) for k in keys])
    comp.add(table([text("volume", lang), text("n", lang)] + [kpi_label(k, lang) for k in keys],
                   krows))
    comp.add(note(text("ci_note", lang) + " " + text("not_iso_note", lang)))
    comp.h3(text("derivation", lang))
    for csv in sorted((path / "lines").glob("*.derivation.csv")):
        der = pd.read_csv(csv)
        comp.add(f'<p class="note">{esc(csv.name)}</p>')
        comp.add(table([text("path", lang), text("before", lang), text("after", lang),
                        text("how", lang)],
                       [[_number_or_text(x) for x in r] for r in der.itertuples(index=False)]))
    sections.append(comp)

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
                      _Raw(esc(rec.get("alarms") if isinstance(rec.get("alarms"), str)
                               else text("none", lang)))])
    safe.add(table([text("volume", lang), scaleup_label("max_mtsr_C", lang),
                    scaleup_label("mtt_C", lang), scaleup_label("worst_cooling_failure_C", lang),
                    scaleup_label("worst_failure_at_h", lang), scaleup_label("dt_ad_K", lang),
                    text("severity", lang), text("stoessel", lang), text("alarms", lang)],
                   srows))
    sections.append(safe)

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
                          _Raw(esc(text("yes", lang)) if closed else
                               f'<span class="bad">{esc(text("not_closed", lang))}</span>')])
    bal.add(table([text("volume", lang), text("run_id", lang), text("closed", lang),
                   text("max_imbalance", lang) + " [kg]", text("closure", lang)], brows))
    if base is not None and base.table("balance") is not None:
        bal.h3(f"{text('material_balance', lang)} — {base.path.name}")
        bal.add(balance_html(base.table("balance"), lang))  # type: ignore[arg-type]
    sections.append(bal)
    if base is not None and not base.failed:
        emis = emissions_section(base, lang)
        emis.title += f" — {base.path.name}"
        sections.append(emis)
    failed = [r for r in runs.values() if r.failed]
    if failed:
        sec = failed_section(failed[0], lang)
        sec.add(note(f"{text('runs_failed', lang)}: {len(failed)}"))
        sections.append(sec)
    sections.append(alarms_section(base, lang))
    readme = LINES_DIR / str(meta.get("line", "")) / "README.md"
    sections.append(assumptions_section(base.parameters if base else {},
                                        readme if readme.is_file() else None, lang,
                                        text("readme_by_name", lang)))
    date = min((r.provenance.get("started_utc", "") for r in runs.values()), default="")
    return document(text("report_scaleup", lang),
                    _meta(lang, f"{meta.get('line', '')} / {meta.get('unit', '')}", date, style),
                    sections, lang)


def build_report(path: str | Path, lang: str = "en") -> str:
    """The HTML report of a run folder, a study folder or a scale-up study folder.

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
    kind = _kind(path)
    if kind == "run":
        return run_report(path, lang)
    if kind == "study":
        return study_report(path, lang)
    return scaleup_report(path, lang)


def write_report(path: str | Path, out: str | Path, lang: str = "en") -> Path:
    """Build the report of ``path`` and write it to ``out`` (UTF-8); returns ``out``."""
    doc = build_report(path, lang)
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    return out
