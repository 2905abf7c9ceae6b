"""A Sankey diagram of a run's material or energy (:class:`twin.observation.sankey.Sankey`),
drawn with matplotlib for the report (the dashboard draws the same numbers with Plotly).

Nodes stand in columns by their longest path from a node with no inflow (a link that goes
back, e.g. a rework loop, is drawn leftwards); a node is as tall as the larger of what enters
and what leaves it, and each band as wide as its flow, so the picture closes where the ledger
does. Labels give each node's throughput in the diagram's unit.
"""

from __future__ import annotations

from typing import Any

from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from twin.figures.style import FigureStyle, new_figure

KIND_COLOURS = {"source": "#7a7a7a", "carrier": "#7a7a7a", "inventory": "#9a9a9a",
                "unit": "#3d3d3d", "plant": "#566573", "loss": "#b0b0b0", "ambient": "#b0b0b0"}
"""Node colours by the node kinds :mod:`twin.observation.sankey` assigns (outputs such as
product, waste or emission: a light grey)."""


def _columns(nodes: list[str], links: list[tuple[str, str, float]]) -> dict[str, int]:
    """Longest-path column of each node (bounded by the node count, so loops end)."""
    col = dict.fromkeys(nodes, 0)
    for _ in range(len(nodes)):
        changed = False
        for a, b, _v in links:
            if col[b] < col[a] + 1 < len(nodes):
                col[b] = col[a] + 1
                changed = True
        if not changed:
            break
    return col


def _band(x0: float, y0: float, x1: float, y1: float, w: float) -> MplPath:
    """A band of height ``w`` from (x0, y0) to (x1, y1) (lower edges), as two cubic curves."""
    mx = (x0 + x1) / 2
    verts = [(x0, y0), (mx, y0), (mx, y1), (x1, y1), (x1, y1 + w), (mx, y1 + w),
             (mx, y0 + w), (x0, y0 + w), (x0, y0)]
    codes = [MplPath.MOVETO] + [MplPath.CURVE4] * 3 + [MplPath.LINETO] + \
        [MplPath.CURVE4] * 3 + [MplPath.CLOSEPOLY]
    return MplPath(verts, codes)


def sankey_figure(data: dict[str, Any], title: str, style: FigureStyle) -> Any:
    """The figure of ``data`` (:meth:`Sankey.as_dict`: unit, nodes, kinds, links)."""
    links = [(a, b, float(v)) for a, b, v in data["links"] if v > 0]
    nodes = [n for n in data["nodes"] if any(n in (a, b) for a, b, _ in links)]
    kinds = dict(zip(data["nodes"], data.get("kinds", [""] * len(data["nodes"])),
                     strict=False))
    size = {n: max(sum(v for a, _, v in links if a == n), sum(v for _, b, v in links if b == n))
            for n in nodes}
    col = _columns(nodes, links)
    n_cols = max(col.values(), default=0) + 1
    by_col = [[n for n in nodes if col[n] == c] for c in range(n_cols)]
    gap = 0.04
    scale = min((1 - gap * (len(c) - 1)) / max(sum(size[n] for n in c), 1e-300)
                for c in by_col if c)
    width, y = 0.018, {}
    for c in by_col:
        top = 1.0
        for n in c:
            y[n] = top - size[n] * scale
            top = y[n] - gap
    x = {n: col[n] / max(n_cols - 1, 1) * (1 - width) for n in nodes}
    out_off = dict.fromkeys(nodes, 0.0)
    in_off = dict.fromkeys(nodes, 0.0)
    fig = new_figure((9.0, 4.8))
    with style.fonts():
        ax = fig.add_axes((0.02, 0.04, 0.80, 0.86))
        for a, b, v in sorted(links, key=lambda t: (y[t[0]], y[t[1]]), reverse=True):
            w = v * scale
            y0 = y[a] + size[a] * scale - out_off[a] - w
            y1 = y[b] + size[b] * scale - in_off[b] - w
            out_off[a] += w
            in_off[b] += w
            ax.add_patch(PathPatch(_band(x[a] + width, y0, x[b], y1, w), facecolor="#b8b8b8",
                                   edgecolor="none", alpha=0.55))
        for n in nodes:
            ax.add_patch(Rectangle((x[n], y[n]), width, size[n] * scale,
                                   color=KIND_COLOURS.get(kinds.get(n, ""), "#a8a8a8")))
            label = f"{style.safe(n)}  {size[n]:,.0f} {data['unit']}"
            right = col[n] < n_cols - 1
            ax.text(x[n] + (width + 0.006 if right else -0.006), y[n] + size[n] * scale / 2,
                    label, va="center", ha="left" if right else "right", fontsize=6.5)
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(min(y.values(), default=0) - 0.02, 1.02)
        ax.axis("off")
        ax.set_title(style.safe(title), fontsize=9, loc="left")
    return fig
