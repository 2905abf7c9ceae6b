"""Empirical distributions read from a CSV file next to the line file."""

from __future__ import annotations

from pathlib import Path

from twin.data.checks import load_line, validate


def _line(dist: dict) -> dict:
    return {"line": {"name": "emp"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": dist, "to": "out"},
        "out": {"type": "sink"}}}


def test_values_are_read_relative_to_the_line_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "gaps.csv").write_text("lot,minutes\n1,2.5\n2,3\n3,\n4,4.5\n")
    (tmp_path / "line.toml").write_text(
        '[line]\nname = "emp"\n[products.A]\n'
        '[stations.src]\ntype = "source"\nproduct = "A"\nto = "out"\n'
        'interarrival = { dist = "empirical", file = "data/gaps.csv", column = "minutes", '
        'unit = "min" }\n[stations.out]\ntype = "sink"\n')
    line = load_line(tmp_path / "line.toml")
    dist = line.stations["src"].interarrival
    assert dist.values == [150.0, 180.0, 270.0]  # minutes -> seconds, blank row skipped
    assert dist.source == "data/gaps.csv"
    assert dist.mean() == 200.0


def test_file_problems_are_located(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,x\n")
    cases = [
        ({"dist": "empirical", "file": "none.csv"}, "cannot read"),
        ({"dist": "empirical", "file": "t.csv", "column": "c"}, "no column 'c'"),
        ({"dist": "empirical", "file": "t.csv", "column": "b"}, "line 2: 'x' is not a number"),
        ({"dist": "empirical", "file": "t.csv", "values": [1]}, "either 'values' or 'file'"),
    ]
    for dist, message in cases:
        line, problems = validate(_line(dist), tmp_path)
        assert line is None
        assert [p.path for p in problems] == ["stations.src.interarrival"], problems
        assert message in problems[0].message
