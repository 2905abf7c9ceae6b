"""HTML building blocks of the reports: number formatting, tables, sections, the document.

Cells are escaped and formatted with :func:`fmt_num`; numbers (and intervals) are
right-aligned. The document carries its CSS inline (print: A4, each section on a new page) and
no scripts or external resources.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.edges.report_text import text
from twin.orchestration.statistics import mean_ci

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


def si_number(value: Any) -> tuple[float, str]:
    """``"540.0 s"`` -> (540.0, "s"); a bare number -> (number, "")."""
    if isinstance(value, int | float):
        return float(value), ""
    parts = str(value).split(None, 1)
    try:
        return float(parts[0]), parts[1] if len(parts) > 1 else ""
    except (ValueError, IndexError):
        return math.nan, str(value)


def number_or_text(value: Any) -> Any:
    """A CSV cell as a number when it is one (so it is formatted like the others)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


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
            raw = isinstance(cell, Raw)
            shown = cell.html if raw else esc(fmt_num(cell))
            if isinstance(cell, bool | np.bool_):
                numeric = False
            elif isinstance(cell, str | Raw):
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
class Raw:
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
div.readme { border-left: 3px solid #ccc; padding-left: 10px; }
div.readme h3, div.readme h4, div.readme h5, div.readme h6 { page-break-after: avoid; }
div.readme code { background: #f3f3f3; padding: 0 2px; }
@media print {
  body { max-width: none; padding: 0; }

  nav { display: none; }
  section { page-break-before: always; break-before: page; }
  h2, h3 { page-break-after: avoid; break-after: avoid; }
  tr, figure, img { page-break-inside: avoid; break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def css_string(value: str) -> str:
    """``value`` as a quoted CSS string (safe inside a ``<style>`` element)."""
    out = []
    for c in value:
        if c in '"\\<>&' or ord(c) < 32:
            out.append(f"\\{ord(c):x} ")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def page_css(running: str) -> str:
    """Printed page header (``running``, on every page) and footer (page n / N)."""
    return ("@page { @top-left { content: " + css_string(running) + "; font-size: 8pt; "
            "color: #555; } @bottom-right { content: counter(page) \" / \" counter(pages); "
            "font-size: 8pt; color: #555; } }\n")


def document(title: str, meta: list[str], sections: list[Section], lang: str,
             running: str = "") -> str:
    """The whole HTML document; ``running`` is the page header of every printed page."""
    nav = "".join(f'<li><a href="#{s.key}">{esc(s.title)}</a></li>' for s in sections)
    head_meta = "".join(f'<p class="meta">{esc(m)}</p>' for m in meta)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}{page_css(running or title)}</style>"
        "</head><body>"
        f"<header><h1>{esc(title)}</h1>{head_meta}</header>"
        f"<nav><h3>{esc(text('contents', lang))}</h3><ol>{nav}</ol></nav>"
        f"{''.join(s.render() for s in sections)}</body></html>\n")

