"""The shared line layout (report figure and dashboard diagram): the flow runs left to right
along the routes of every reference line, rework stations are not roots, labels stay readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.data.checks import load_line
from twin.edges.layout import MIN_LABEL_PT, line_layout

ROOT = Path(__file__).resolve().parents[2]
LINES = sorted(p.parent.name for p in (ROOT / "lines").glob("*/line.toml"))


def _stations(name: str) -> dict:
    spec = load_line(ROOT / "lines" / name / "line.toml")
    return spec.model_dump(mode="json", by_alias=True)["stations"]


def _cycles_of(stations: dict) -> set[tuple[str, str]]:
    """Edges lying on a directed cycle (independently: b reaches a by any edges)."""
    succ = {n: set() for n in stations}
    for n, st in stations.items():
        succ[n] |= {r["to"] for r in st.get("routes") or []}
        if st.get("rework_to"):
            succ[n].add(st["rework_to"])

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            x = todo.pop()
            if x == b:
                return True
            if x not in seen:
                seen.add(x)
                todo.extend(succ[x])
        return False

    return {(a, b) for a in succ for b in succ[a] if reaches(b, a)}


@pytest.mark.parametrize("line", LINES)
def test_every_route_runs_left_to_right(line: str) -> None:
    stations = _stations(line)
    lay = line_layout(stations)
    assert set(lay.boxes) == set(stations)
    on_cycle = _cycles_of(stations)
    for n, st in stations.items():
        for r in st.get("routes") or []:
            a, b = lay.boxes[n], lay.boxes[r["to"]]
            if (n, r["to"]) in on_cycle:
                continue  # a loop: one of its edges must go back
            assert a.column < b.column, f"{line}: {n} -> {r['to']} drawn right to left"
            assert a.x + a.w < b.x
    if on_cycle:  # a loop is cut by an edge drawn as a loop back
        assert any(e.back for e in lay.edges if (e.source, e.target) in on_cycle)
    boxes = list(lay.boxes.values())  # no two boxes overlap
    for i, p in enumerate(boxes):
        for q in boxes[i + 1:]:
            assert p.x + p.w <= q.x or q.x + q.w <= p.x or p.y + p.h <= q.y or q.y + q.h <= p.y


def test_a_rework_station_is_not_a_root() -> None:
    """servo_actuator: rework_bench is reached only through eol_test's rework_to; it is drawn
    after eol_test and its route back to eol_test is the loop."""
    lay = line_layout(_stations("servo_actuator"))
    roots = {n for n, b in lay.boxes.items() if b.column == 0}
    assert roots == {"housing_blanks"}
    assert lay.column("rework_bench") == lay.column("eol_test") + 1
    back = [(e.source, e.target) for e in lay.edges if e.back]
    assert back == [("rework_bench", "eol_test")]
    # supplies sit just before the assembly they feed, below the main flow
    assert lay.column("motor_supply") == lay.column("assembly") - 1
    assert lay.boxes["washing"].row == 0


def test_labels_never_below_the_minimum_and_boxes_fit_names() -> None:
    stations = {"a_very_long_station_name_indeed": {"type": "source", "routes": [{"to": "b"}]},
                "b": {"type": "sink"}}
    lay = line_layout(stations, label_pt=3.0)
    assert lay.label_pt == MIN_LABEL_PT
    box = lay.boxes["a_very_long_station_name_indeed"]
    # DejaVu Sans advances about 0.6 em per lower-case letter
    assert box.w >= 0.6 * MIN_LABEL_PT * len("a_very_long_station_name_indeed")
    assert lay.width >= box.x + box.w
