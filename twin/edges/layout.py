"""Where each station of a line is drawn: one layout for the report's figure and the dashboard.

The flow runs left to right along the routes. Columns are the longest path from the roots over
the forward edges; a root is a source or a station nothing leads to. A station reached only
through ``rework_to`` is not a root: it sits after the station that sends parts to it, and its
return route is a loop back (drawn dashed). Sources sit just before the first station they
feed, so a component supply appears next to the assembly it feeds, not at the far left. Rows in
a column follow the mean row of the predecessors (barycentre), which keeps crossings few;
supplies go below the flow.

Geometry is in points (1/72 inch; the page draws 1 pt as 4/3 CSS px, CSS's own pt): a box is
wide enough for its longest label line at :data:`LABEL_PT`, never smaller than
:data:`MIN_LABEL_PT`, so labels stay readable however many stations a line has (a large line
is wider, not smaller).

>>> lay = line_layout({"a": {"type": "source", "routes": [{"to": "b"}]},
...                    "b": {"type": "sink", "routes": []}})
>>> lay.column("a") < lay.column("b")
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twin.data.registry import Drawing, station_class

MIN_LABEL_PT = 8.0
"""Smallest font size [pt] any label of the line diagram may be drawn at."""
LABEL_PT = 10.0
"""Font size [pt] of the station names."""
CHAR_EM = 0.62
"""Mean advance width of a character [em] (DejaVu Sans, the font of both renderers)."""
BOX_H_EM = 4.0
"""Box height [em]: a name, a second line, a row of unit squares."""
GAP_X_EM = 3.6
"""Horizontal gap between columns [em] (room for an arrow and its label)."""
GAP_Y_EM = 1.8
"""Vertical gap between rows [em]."""
MARGIN_EM = 1.0
"""Margin around the drawing [em]; the bottom margin holds the rework loops."""


@dataclass(frozen=True)
class Edge:
    """An arrow of the diagram: ``kind`` is ``route`` or ``rework``; ``back`` if it closes a
    loop (drawn from below, dashed)."""

    source: str
    target: str
    kind: str
    label: str
    back: bool


@dataclass(frozen=True)
class Box:
    """A station's box: top-left corner ``x``, ``y`` and size ``w``, ``h`` [pt]."""

    name: str
    type: str
    colour: str
    column: int
    row: int
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class LineLayout:
    """Boxes and edges of a line diagram, and the canvas size [pt] at ``label_pt``."""

    boxes: dict[str, Box]
    edges: list[Edge]
    width: float
    height: float
    label_pt: float
    order: list[str] = field(default_factory=list)

    def column(self, name: str) -> int:
        return self.boxes[name].column

    def as_dict(self) -> dict[str, Any]:
        """The layout as plain JSON (what the dashboard page draws)."""
        return {
            "width": self.width, "height": self.height, "label_pt": self.label_pt,
            "min_label_pt": MIN_LABEL_PT, "order": list(self.order),
            "boxes": {n: {"type": b.type, "colour": b.colour, "column": b.column, "row": b.row,
                          "x": b.x, "y": b.y, "w": b.w, "h": b.h} for n, b in self.boxes.items()},
            "edges": [{"source": e.source, "target": e.target, "kind": e.kind,
                       "label": e.label, "back": e.back} for e in self.edges],
        }


def _number(value: Any) -> str:
    return f"{float(value):.3g}"


def line_edges(stations: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, str, str]]:
    """Edges ``(from, to, kind, label)`` of a line given as station dicts (the spec's JSON form:
    ``routes`` as a list of ``{"to", "products", "probability"}`` or of names)."""
    edges = []
    for name, st in stations.items():
        for r in st.get("routes") or []:
            route = r if isinstance(r, Mapping) else {"to": r}
            to = route.get("to")
            if to not in stations:
                continue
            bits = []
            if route.get("products"):
                bits.append(",".join(map(str, route["products"])))
            if route.get("probability") is not None:
                bits.append(f"p={_number(route['probability'])}")
            edges.append((name, str(to), "route", " ".join(bits)))
        rework = st.get("rework_to")
        if rework in stations:
            p = st.get("rework_probability")
            edges.append((name, str(rework), "rework",
                          f"rework p={_number(p)}" if p is not None else "rework"))
    return edges


def _roots(names: list[str], stations: Mapping[str, Mapping[str, Any]],
           succ: dict[str, list[str]]) -> list[str]:
    """Sources, then stations nothing leads to (by any edge), in spec order."""
    reached = {b for a in names for b in succ[a]}
    roots = [n for n in names if stations[n].get("type") == "source"]
    roots += [n for n in names if n not in reached and n not in roots]
    return roots or names[:1]


def _back_edges(names: list[str], roots: list[str],
                succ: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Edges that close a cycle, found by depth-first search from the roots (routes are
    followed before rework edges, so a rework loop is what gets cut)."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}
    for root in roots + names:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
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
    return back


def _topological(names: list[str], succ: dict[str, list[str]],
                 back: set[tuple[str, str]]) -> list[str]:
    indeg = {n: 0 for n in names}
    for a in names:
        for b in succ[a]:
            if (a, b) not in back:
                indeg[b] += 1
    ready = [n for n in names if indeg[n] == 0]
    out: list[str] = []
    while ready:
        n = ready.pop(0)
        out.append(n)
        for b in succ[n]:
            if (n, b) not in back:
                indeg[b] -= 1
                if indeg[b] == 0:
                    ready.append(b)
    return out + [n for n in names if n not in out]


def grid(stations: Mapping[str, Mapping[str, Any]]
         ) -> tuple[dict[str, tuple[int, int]], list[Edge], list[str]]:
    """Column and row of each station, the edges (with back edges marked) and the drawing
    order (topological along the forward edges)."""
    names = list(stations)
    raw = line_edges(stations)
    succ: dict[str, list[str]] = {n: [] for n in names}
    for kind in ("route", "rework"):  # routes first: the depth-first search follows them first
        for a, b, k, _ in raw:
            if k == kind and b not in succ[a]:
                succ[a].append(b)
    back = _back_edges(names, _roots(names, stations, succ), succ)
    order = _topological(names, succ, back)
    level = {n: 0 for n in names}
    for n in order:
        for b in succ[n]:
            if (n, b) not in back:
                level[b] = max(level[b], level[n] + 1)
    preds: dict[str, list[str]] = {n: [] for n in names}
    for a in names:
        for b in succ[a]:
            if (a, b) not in back:
                preds[b].append(a)
    for n in names:  # a station fed by nothing sits just before the first station it feeds
        fwd = [level[b] for b in succ[n] if (n, b) not in back]
        if not preds[n] and fwd:
            level[n] = max(min(fwd) - 1, 0)
    columns: dict[int, list[str]] = {}
    for n in order:
        columns.setdefault(level[n], []).append(n)
    cells: dict[str, tuple[int, int]] = {}
    rank: dict[str, float] = {}
    for col in sorted(columns):
        members = columns[col]
        placed = {n: [rank[p] for p in preds[n] if p in rank] for n in members}
        # the flow first (by the mean row of its predecessors), then what nothing feeds
        members.sort(key=lambda n: (0, sum(placed[n]) / len(placed[n])) if placed[n]
                     else (1, 0.0))
        for i, n in enumerate(members):
            cells[n] = (col, i)
            rank[n] = i - (len(members) - 1) / 2.0
    edges = [Edge(a, b, k, label, (a, b) in back) for a, b, k, label in raw]
    return cells, edges, order


def drawing(st: Mapping[str, Any]) -> Drawing:
    """How a station's type is drawn (its spec class's ``drawing``; the default look for a
    type not registered in this process)."""
    cls = station_class(st.get("type"))
    return Drawing() if cls is None else cls.drawing


def box_lines(name: str, st: Mapping[str, Any]) -> list[str]:
    """The text of a station's box: its name, then its type and size (servers, buffer, and
    the keys its type's drawing shows, such as a batch size)."""
    extra = []
    if st.get("servers") not in (None, 1):
        extra.append(f"x{st['servers']}")
    if st.get("buffer") is not None:
        extra.append(f"buf {st['buffer']}")
    extra += [f"{label} {st[key]}" for key, label in drawing(st).box if st.get(key)]
    kind = str(st.get("type", ""))
    return [name, kind + (" " + ", ".join(extra) if extra else "")]


def line_layout(stations: Mapping[str, Mapping[str, Any]],
                label_pt: float = LABEL_PT) -> LineLayout:
    """The diagram of a line given as station dicts (``LineSpec.model_dump(mode="json")``'s
    ``stations``), with labels at ``label_pt`` [pt] (raised to :data:`MIN_LABEL_PT`)."""
    pt = max(float(label_pt), MIN_LABEL_PT)
    cells, edges, order = grid(stations)
    longest = max((len(s) for n, st in stations.items() for s in box_lines(n, st)), default=8)
    w = max(8.0, longest * CHAR_EM + 1.0) * pt
    h = BOX_H_EM * pt
    pitch_x, pitch_y, margin = w + GAP_X_EM * pt, h + GAP_Y_EM * pt, MARGIN_EM * pt
    ncol = max((c for c, _ in cells.values()), default=0) + 1
    nrow = max((r for _, r in cells.values()), default=0) + 1
    loops = any(e.back for e in edges)
    boxes = {}
    for n, (c, r) in cells.items():
        boxes[n] = Box(n, str(stations[n].get("type", "")), drawing(stations[n]).colour, c, r,
                       margin + c * pitch_x, margin + r * pitch_y, w, h)
    width = 2 * margin + ncol * pitch_x - GAP_X_EM * pt
    height = 2 * margin + nrow * pitch_y - GAP_Y_EM * pt + (2.0 * pt if loops else 0.0)
    return LineLayout(boxes, edges, width, height, pt, order)
