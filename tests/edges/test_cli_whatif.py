"""Quick what-ifs on the command line (``--set``, ``--replications``), scenario validation
and schema, and study export to CSV and Excel.

References: Student-t intervals recomputed with SciPy from the stored run.json KPIs; the
overrides checked against the resolved parameters stored in each run folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twin.edges.cli import main

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "orchestration"))
from sweep_fixtures import scenario_dict, write_line, write_scenario  # noqa: E402

SERVO = ROOT / "lines" / "servo_actuator" / "line.toml"


def test_set_overrides_dotted_paths_with_units(tmp_path: Path, capsys) -> None:
    line = write_line(tmp_path)
    assert main(["run", str(line), "--set", "stations.m.servers=2",
                 "--set", "stations.m.cycle_time=7.5 s", "--set",
                 'stations.m2.cycle_time={ dist = "uniform", low = "1 s", high = "3 s" }',
                 "--json", "--out", str(tmp_path / "runs")]) == 0
    summary = json.loads(capsys.readouterr().out)
    stored = json.loads((Path(summary["folder"]) / "run.json").read_text())
    params = stored["provenance"]["parameters"]["stations"]
    assert params["m"]["servers"] == 2
    assert params["m"]["cycle_time"] == {"dist": "constant", "value": "7.5 s"}
    assert params["m2"]["cycle_time"]["low"] == "1.0 s"
    assert stored["provenance"]["source"] == str(line)


@pytest.mark.parametrize(("assignment", "expected"), [
    ("stations.m.server=2", "overrides['stations.m.server']: stations.m.server: unknown key "
                            "'server' (did you mean 'servers'?)"),
    ("stations.mill.servers=2", "overrides['stations.mill.servers']: 'stations.mill' does "
                                "not exist in the line"),
    ("stations.m.servers=zero", "overrides['stations.m.servers']: stations.m.servers"),
    ("stations.m.cycle_time=4 furlongs", "overrides['stations.m.cycle_time']"),
    ("stations..m=1", "cannot read path 'stations..m'"),
    ("servers", "write PATH=VALUE"),
])
def test_set_errors_name_the_assignment(tmp_path: Path, capsys, assignment: str,
                                        expected: str) -> None:
    line = write_line(tmp_path)
    assert main(["run", str(line), "--set", assignment, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_replications_give_t_intervals(tmp_path: Path, capsys) -> None:
    line = write_line(tmp_path)
    out = tmp_path / "runs"
    assert main(["run", str(line), "--replications", "3", "--seed", "5", "--json",
                 "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["replications"] == 3 and len(summary["folders"]) == 3
    stored = [json.loads((Path(f) / "run.json").read_text()) for f in summary["folders"]]
    assert [s["provenance"]["seed"] for s in stored] == [5, 6, 7]
    x = np.array([s["kpis"]["throughput_per_h"] for s in stored])
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    row = next(r for r in summary["intervals"] if r["kpi"] == "throughput_per_h")
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert row["half_width"] == pytest.approx(half, rel=1e-9)
    assert main(["run", str(line), "--replications", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 replications" in text and "throughput_per_h" in text and "half_width" in text


def test_validate_scenario_files(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(ROOT / "scenarios" / "assembly_capacity.toml")]) == 0
    assert "valid scenario 'assembly_capacity'" in capsys.readouterr().out
    assert main(["validate", str(ROOT / "scenarios" / "cnc_breakdown.py")]) == 0
    bad = write_scenario(tmp_path, scenario_dict(
        sweep={"design": "grid", "factors": {"stations.m.sevrers": {"levels": [1, 2]}}}))
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "stations.m.sevrers" in err and "did you mean 'servers'" in err


def test_scenario_json_schema(tmp_path: Path) -> None:
    out = tmp_path / "scenario.schema.json"
    assert main(["schema", "--scenario", "-o", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema["title"] == "Pilot Twin scenario specification"
    assert {"name", "line", "overrides", "sweep", "run"} <= set(schema["properties"])


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    scenario = write_scenario(folder)
    assert main(["sweep", str(scenario), "--executor", "serial", "--no-progress",
                 "--out", str(folder / "studies")]) == 0
    return folder / "studies" / "tiny_study"


def _recomputed(study: Path) -> pd.DataFrame:
    """throughput_per_h per configuration from the stored run.json files (by hand)."""
    rows = []
    for run in sorted((study / "runs").iterdir()):
        s = json.loads((run / "run.json").read_text())
        servers = s["provenance"]["parameters"]["stations"]["m"]["servers"]
        rows.append({"servers": servers, "x": s["kpis"]["throughput_per_h"]})
    return pd.DataFrame(rows)


def test_export_csv_has_every_kpi_with_its_interval(study: Path, tmp_path: Path,
                                                    capsys) -> None:
    out = tmp_path / "x.csv"
    assert main(["export", str(study), "-o", str(out)]) == 0
    table = pd.read_csv(out)
    assert {"point", "configuration", "stations.m.servers", "kpi", "unit", "n", "mean",
            "half_width", "low", "high"} <= set(table.columns)
    assert {"throughput_per_h", "kwh_per_good_unit", "wip_mean"} <= set(table["kpi"])
    raw = _recomputed(study)
    for servers, group in raw.groupby("servers"):
        x = group["x"].to_numpy()
        row = table[(table["stations.m.servers"] == servers)
                    & (table["kpi"] == "throughput_per_h")].iloc[0]
        assert row["n"] == len(x) == 2
        assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert row["half_width"] == pytest.approx(
            stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)), rel=1e-9)


def test_export_excel_has_intervals_and_runs(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    assert main(["export", str(study), "-o", str(out)]) == 0
    sheets = pd.read_excel(out, sheet_name=None)
    assert set(sheets) == {"intervals", "runs"}
    assert len(sheets["runs"]) == 4
    csv = tmp_path / "x.csv"
    main(["export", str(study), "-o", str(csv)])
    pd.testing.assert_frame_equal(sheets["intervals"], pd.read_csv(csv), check_dtype=False)


def test_export_refuses_other_formats(study: Path, tmp_path: Path, capsys) -> None:
    assert main(["export", str(study), "-o", str(tmp_path / "x.json")]) == 1
    assert "export to a .csv or .xlsx file" in capsys.readouterr().err
