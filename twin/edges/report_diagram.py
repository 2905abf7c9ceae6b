"""The line diagram of a report: boxes per station, arrows for routes, loops for rework."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from twin.edges.report_html import fmt_num, si_number
from twin.figures.style import FigureStyle, new_figure

TYPE_COLOURS = {"source": "#e8eef3", "sink": "#e8eef3", "machine": "#d5dbe0",
                "inspection": "#f3e6c8", "batch": "#d9e4d2", "assembly": "#dcd6e8",
                "process": "#cfe0ea", "tank": "#f0f0f0", "continuous": "#cde3dc"}
"""Box colour of each station type."""


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
        v, unit = si_number(st["volume"])
        if math.isfinite(v):
            extra.append(f"{fmt_num(v)} m3" if unit.startswith("m") else str(st["volume"]))
    second = kind + (" " + ", ".join(extra) if extra else "")
    return f"{name}\n{second}"


def line_diagram(stations: dict[str, dict[str, Any]], style: FigureStyle) -> Any:
    """Boxes per station (shaded by type), arrows for routes, dashed loops for rework (a
    matplotlib figure)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    edges = line_edges(stations)
    pos, back = layout(stations, edges)
    ncol = max(int(x) for x, _ in pos.values()) + 1 if pos else 1
    nrow = max(sum(1 for x, _ in pos.values() if int(x) == c) for c in range(ncol)) if pos else 1
    sx, sy, w, h = 2.3, 1.25, 1.75, 0.72
    fig = new_figure((max(6.0, 0.6 + 1.6 * ncol), max(2.4, 1.3 + 0.8 * nrow)))
    with style.fonts():
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

    return fig

