"""The KPI catalogue is the one list of KPIs: what runs produce, what every view shows."""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path

import pytest

from twin.data.checks import load_line
from twin.observation import catalogue
from twin.observation.catalogue import KPI, line_kind
from twin.orchestration.run import run

LINES = Path(__file__).resolve().parents[2] / "lines"
REFERENCE = sorted(p.parent.name for p in LINES.glob("*/line.toml"))

TINY = {
    "line": {"name": "tiny"},
    "products": {"A": {}},
    "stations": {
        "src": {"type": "source", "product": "A",
                "interarrival": {"dist": "exponential", "mean": "10 s"}, "to": "m"},
        "m": {"type": "machine", "buffer": 5,
              "cycle_time": {"dist": "exponential", "mean": "6 s"},
              "power": {"producing": "10 kW", "idle": "1 kW"}, "to": "out"},
        "out": {"type": "sink"},
    },
}


@pytest.mark.parametrize("name", REFERENCE)
def test_every_kpi_a_reference_line_produces_is_catalogued_and_vice_versa(name: str) -> None:
    """Line KPIs in run.json and station KPI columns equal the catalogue's entries that apply
    to the line's kind (process or discrete, with or without alarms)."""
    spec = load_line(LINES / name / "line.toml")
    result = run(spec, duration="1 d", warmup="0 s", seed=3)
    kind = line_kind(bool(spec.species))
    declared = {k.key for k in catalogue.kpis("line", kind=kind, alarms=bool(spec.alarms),
                                              costs=spec.costs is not None)}
    assert set(result.kpis) == declared
    columns = set(result.stations.columns) - set(catalogue.STATION_IDENTITY)
    assert columns == {k.key for k in catalogue.kpis("station")}


def test_reference_lines_cover_both_kinds_and_alarms() -> None:
    """The test above sees process and discrete lines, and lines with and without alarms."""
    specs = [load_line(LINES / n / "line.toml") for n in REFERENCE]
    assert {line_kind(bool(s.species)) for s in specs} == set(catalogue.LINE_KINDS)
    assert {bool(s.alarms) for s in specs} == {True, False}


def test_catalogue_entries_are_well_formed() -> None:
    """Known kinds and places, both labels, a format that formats, a direction that is
    a bool or None; keys unique per level."""
    for (level, key), k in catalogue.CATALOGUE.items():
        assert (level, key) == (k.level, k.key)
        assert k.level in ("line", "station")
        assert k.kinds and k.kinds <= set(catalogue.LINE_KINDS), key
        assert k.shown <= set(catalogue.PLACES), key
        assert k.en and k.zh, key
        assert k.higher_is_better in (True, False, None), key
        assert k.requires in ("", "alarms", "costs"), key
        sample = "name" if k.fmt == "" else 1.5
        assert k.format(sample) != "-"
        assert k.format(float("nan")) == "-"


def test_misspelt_key_names_the_closest() -> None:
    with pytest.raises(catalogue.UnknownKPI, match="did you mean 'lead_time_mean_h'"):
        catalogue.kpi("lead_time_mean")


@pytest.fixture
def extra_kpi(monkeypatch: pytest.MonkeyPatch) -> KPI:
    """A KPI added only in the catalogue (as a developer would add one): good units per
    day, derived from the throughput, shown everywhere."""
    entry = dataclasses.replace(
        catalogue.kpi("throughput_per_h"), key="good_units_per_day", unit="units/d",
        en="good units per day (test)", zh="日合格品数(测试)", fmt=".1f",
        shown=frozenset(catalogue.PLACES),
        compute=lambda k, tables: k["throughput_per_h"] * 24.0)
    monkeypatch.setitem(catalogue.CATALOGUE, ("line", entry.key), entry)
    return entry


def test_a_kpi_added_to_the_catalogue_is_computed_and_shown_everywhere(
        extra_kpi: KPI, tmp_path: Path) -> None:
    """Only the catalogue changes: the run computes it, the CLI prints it, the report shows
    its labels (en and zh), the dashboard lists it as a tile and a comparison row."""
    from starlette.exceptions import StarletteDeprecationWarning

    with warnings.catch_warnings():  # the test client's notice of its move to httpx2
        warnings.filterwarnings("ignore", category=StarletteDeprecationWarning)
        from starlette.testclient import TestClient

    from twin.edges.cli import kpi_report
    from twin.edges.dashboard.server import create_app
    from twin.edges.report import write_report

    result = run(TINY, duration="3000 s", warmup="0 s", seed=2)
    good = result.kpis["good_units"]
    assert result.kpis["good_units_per_day"] == pytest.approx(good / (3000 / 3600) * 24)
    text = kpi_report(result)
    line = next(x for x in text.splitlines() if "good units per day (test)" in x)
    assert line.endswith(f"  {result.kpis['good_units_per_day']:.1f} units/d")
    folder = result.save(tmp_path / "runs")
    for lang in ("en", "zh"):
        html = write_report(folder, tmp_path / f"r_{lang}.html", lang=lang).read_text()
        assert extra_kpi.label(lang) in html
    client = TestClient(create_app(tmp_path / "runs"), base_url="http://127.0.0.1")
    rid = client.get("/api/runs").json()["runs"][0]["id"]
    meta = client.get(f"/api/runs/{rid}/meta").json()
    rows = {r["key"]: r for r in meta["kpi_catalogue"]}
    assert {"tile", "compare"} <= set(rows["good_units_per_day"]["shown"])
    assert rows["good_units_per_day"]["unit"] == "units/d"
    assert math.isclose(meta["kpis"]["good_units_per_day"], result.kpis["good_units_per_day"])
