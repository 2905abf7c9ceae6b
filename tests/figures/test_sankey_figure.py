"""The report's Sankey figure draws what the Sankey holds: node heights are the larger of each
node's inflow and outflow and band widths the flows, on one scale (checked on the patches of
the figure against sums written out here)."""

from __future__ import annotations

import pytest
from matplotlib.patches import PathPatch, Rectangle

from twin.figures.sankey import sankey_figure
from twin.figures.style import figure_style

DATA = {"unit": "kg", "nodes": ["raw", "reactor", "dryer", "product", "waste", "loop"],
        "kinds": ["carrier", "unit", "unit", "out", "out", "unit"],
        "links": [["raw", "reactor", 100.0], ["reactor", "dryer", 80.0],
                  ["reactor", "waste", 20.0], ["dryer", "product", 70.0],
                  ["dryer", "loop", 10.0], ["loop", "reactor", 10.0]]}


def test_nodes_and_bands_are_drawn_to_scale() -> None:
    fig = sankey_figure(DATA, "Material", figure_style("en"))
    ax = fig.axes[0]
    rects = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() < 0.1]
    bands = [p for p in ax.patches if isinstance(p, PathPatch)]
    assert len(rects) == 6 and len(bands) == 6
    heights = sorted(r.get_height() for r in rects)
    # reactor: in 100 + 10 = 110, out 100; dryer 80; product 70; waste 20; loop 10; raw 100
    sizes = sorted([100.0, 110.0, 80.0, 70.0, 20.0, 10.0])
    scale = heights[-1] / sizes[-1]
    assert heights == pytest.approx([s * scale for s in sizes], rel=1e-9)
    widths = sorted(b.get_path().vertices[4, 1] - b.get_path().vertices[3, 1] for b in bands)
    assert widths == pytest.approx(sorted(v * scale for *_, v in DATA["links"]), rel=1e-9)
    labels = {t.get_text() for t in ax.texts}
    assert "reactor  110 kg" in labels and "raw  100 kg" in labels
