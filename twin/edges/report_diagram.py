"""The line diagram of a report: boxes per station, arrows for routes, loops for rework.

Where each box goes comes from the shared layout (:mod:`twin.edges.layout`, the same one the
dashboard draws): left to right along the routes, labels never below the layout's minimum
size. This module only draws it with matplotlib, at 1 pt of the layout per point of the figure;
box colours are the station types' own (the ``drawing`` of their spec class,
:mod:`twin.data.registry`).
"""

from __future__ import annotations

from typing import Any

from twin.data.registry import station_types
from twin.edges.layout import MIN_LABEL_PT, Box, Edge, box_lines, line_layout
from twin.figures.style import FigureStyle, new_figure

ROUTE, LOOP = "#333333", "#a05a00"
"""Colours of forward routes and of rework loops and routes back upstream."""

LEGEND_PT = 36.0
"""Height of the legend strip under the diagram [pt]."""


def _ends(a: Box, b: Box, edge: Edge) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Start, end [pt, y down] and curvature of an arrow from box ``a`` to box ``b``."""
    if edge.back or b.column < a.column:  # loop back upstream: bottom to bottom, below
        return (a.x + a.w / 2, a.y + a.h), (b.x + b.w * 3 / 4, b.y + b.h), -0.45
    if b.column == a.column:
        down = b.y > a.y
        return ((a.x + a.w / 2, a.y + (a.h if down else 0.0)),
                (b.x + b.w / 2, b.y + (0.0 if down else b.h)), 0.0)
    return (a.x + a.w, a.y + a.h / 2), (b.x, b.y + b.h / 2), 0.0


def line_diagram(stations: dict[str, dict[str, Any]], style: FigureStyle) -> Any:
    """Boxes per station (shaded by type), arrows for routes, dashed loops for rework and
    routes back upstream (a matplotlib figure, drawn to the shared layout's size)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    lay = line_layout(stations)
    pt = lay.label_pt
    fig = new_figure((lay.width / 72.0, (lay.height + LEGEND_PT) / 72.0))
    with style.fonts():
        ax = fig.add_axes((0.0, LEGEND_PT / (lay.height + LEGEND_PT), 1.0,
                           lay.height / (lay.height + LEGEND_PT)))
        for name, box in lay.boxes.items():
            ax.add_patch(FancyBboxPatch((box.x, box.y), box.w, box.h,
                                        boxstyle=f"round,pad=0,rounding_size={pt / 2}",
                                        facecolor=box.colour,
                                        edgecolor="#333333", linewidth=1.0))
            first, second = box_lines(name, stations[name])
            ax.text(box.x + box.w / 2, box.y + box.h * 0.38, style.safe(first), ha="center",
                    va="center", fontsize=pt, fontweight="bold")
            ax.text(box.x + box.w / 2, box.y + box.h * 0.68, style.safe(second), ha="center",
                    va="center", fontsize=max(pt * 0.85, MIN_LABEL_PT))
        for edge in lay.edges:
            pa, pb, rad = _ends(lay.boxes[edge.source], lay.boxes[edge.target], edge)
            dashed = edge.kind == "rework" or edge.back
            colour = LOOP if dashed else ROUTE
            ax.add_patch(FancyArrowPatch(pa, pb, arrowstyle="-|>", mutation_scale=pt,
                                         linestyle="--" if dashed else "-", color=colour,
                                         linewidth=1.0, connectionstyle=f"arc3,rad={rad}"))
            if edge.label:
                ax.text((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2
                        + (pt * 1.6 if dashed else -pt * 0.4), style.safe(edge.label),
                        fontsize=MIN_LABEL_PT, ha="center", color=colour)
        ax.set_xlim(0.0, lay.width)
        ax.set_ylim(lay.height, 0.0)
        ax.axis("off")
        present = {b.type: b.colour for b in lay.boxes.values()}
        order = [k for k in station_types() if k in present]  # the registry's order
        handles: list[Any] = [Patch(facecolor=present[k], edgecolor="#333333", label=k)
                              for k in order + sorted(set(present) - set(order))]
        handles.append(Line2D([0], [0], color=ROUTE, label=style.label("route")))
        handles.append(Line2D([0], [0], color=LOOP, linestyle="--", label=style.label("rework")))
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 8),
                   fontsize=MIN_LABEL_PT, frameon=False)
    return fig
