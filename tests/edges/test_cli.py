"""The ``twin`` command line: exit codes, messages on stderr without tracebacks, run output
(JSON summary, KPI table, run folder with run.json and Parquet tables), schema and lines."""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from twin.edges.cli import main

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "lines" / "servo_actuator" / "line.toml"
TWIN = Path(sys.executable).parent / "twin"
RUN_ARGS = ["--duration", "2d", "--warmup", "0.5d", "--seed", "3"]


def _strict_json(text: str) -> Any:
    """json.loads that refuses NaN and Infinity (not JSON)."""
    def bad(token: str) -> Any:
        raise ValueError(f"non-standard JSON constant {token}")
    return json.loads(text, parse_constant=bad)


def _reference_stations() -> list[str]:
    with REFERENCE.open("rb") as fh:
        return list(tomllib.load(fh)["stations"])


def _equipment_stations() -> list[str]:
    """Stations with servers (those with station KPIs): not sources or sinks."""
    with REFERENCE.open("rb") as fh:
        stations = tomllib.load(fh)["stations"]
    return [n for n, st in stations.items() if st["type"] not in ("source", "sink")]


@pytest.fixture
def broken_file(tmp_path: Path) -> Path:
    text = REFERENCE.read_text()
    text = text.replace('to = "assembly"\n\n# ----', 'to = "asembly"\n\n# ----', 1)
    text = text.replace("buffer = 6\ncycle_time = \"4 min\"", "buffer = -1\ncycle_time = \"4 min\"")
    assert text != REFERENCE.read_text()
    f = tmp_path / "broken.toml"
    f.write_text(text)
    return f


# ----------------------------------------------------------------- validate


def test_validate_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(REFERENCE)]) == 0
    out, err = capsys.readouterr()
    assert "valid line 'servo_actuator'" in out
    assert "11 stations" in out
    assert err == ""


def test_validate_schema_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "line.toml"
    f.write_text(REFERENCE.read_text().replace("buffer = 6\ncycle_time = \"4 min\"",
                                               "buffer = -1\ncycle_time = \"4 min\""))
    assert main(["validate", str(f)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "stations.washing.buffer: must be greater than or equal to 0" in err
    assert str(f) in err
    assert "Traceback" not in err


def test_validate_topology_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "line.toml"
    f.write_text(REFERENCE.read_text().replace('to = "shipping"', 'to = "shiping"'))
    assert main(["validate", str(f)]) == 1
    err = capsys.readouterr().err
    assert "stations.packing.routes[0].to: no station named 'shiping'" in err
    assert "did you mean 'shipping'" in err


def test_validate_lists_every_problem(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "line.toml"
    text = REFERENCE.read_text()
    text = text.replace("buffer = 6\ncycle_time = \"4 min\"", "buffer = -1\ncycle_time = \"4 min\"")
    text = text.replace("scrap_probability = 0.01", "scrap_probability = 1.01")
    text = text.replace("[operators.assemblers]\ncount = 2", "[operators.assemblers]\ncount = 0")
    f.write_text(text)
    assert main(["validate", str(f)]) == 1
    err = capsys.readouterr().err
    assert "3 problem(s)" in err
    for line in ("stations.washing.buffer:", "stations.eol_test.scrap_probability:",
                 "operators.assemblers.count:"):
        assert line in err


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope" / "line.toml"
    assert main(["validate", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "file not found" in err and str(missing) in err
    assert "Traceback" not in err


def test_validate_toml_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "line.toml"
    f.write_text('[line]\nname = "x"\n\n[stations.a]\ntype = "sink"\n[stations.a]\n')
    assert main(["validate", str(f)]) == 1
    err = capsys.readouterr().err
    assert "TOML syntax" in err and "line 6" in err
    assert "Traceback" not in err


def test_validate_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 1
    assert "folder" in capsys.readouterr().err


def test_validate_subprocess_exit_code_and_no_traceback(broken_file: Path) -> None:
    proc = subprocess.run([str(TWIN), "validate", str(broken_file)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    # schema problems are reported first (route checks need a schema-valid spec)
    assert "stations.washing.buffer: must be greater than or equal to 0" in proc.stderr
    assert proc.stderr.startswith("error: 1 problem(s) in ")
    assert proc.stdout == ""


def test_validate_subprocess_valid_file() -> None:
    proc = subprocess.run([str(TWIN), "validate", str(REFERENCE)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------- run


@pytest.fixture(scope="module")
def json_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path]:
    """One ``twin run --json`` shared by the tests that read its output."""
    out_dir = tmp_path_factory.mktemp("runs")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["run", str(REFERENCE), *RUN_ARGS, "--out", str(out_dir), "--json"])
    return code, stdout.getvalue(), stderr.getvalue(), out_dir


def test_run_json_prints_one_json_object(json_run: tuple[int, str, str, Path]) -> None:
    code, out, err, _ = json_run
    assert code == 0, err
    summary = _strict_json(out)  # the whole of stdout is one JSON document
    assert isinstance(summary, dict)
    assert {"run_id", "provenance", "kpis", "folder"} <= set(summary)


def test_run_json_provenance(json_run: tuple[int, str, str, Path]) -> None:
    summary = _strict_json(json_run[1])
    p = summary["provenance"]
    assert p["line"] == "servo_actuator"
    assert p["seed"] == 3
    assert p["status"] == "completed"
    assert p["settings"] == {"duration_s": 2 * 86400.0, "warmup_s": 0.5 * 86400.0, "seed": 3}
    assert len(p["spec_hash"]) == 64 and len(p["run_hash"]) == 64
    assert summary["run_id"].startswith("servo_actuator_") and summary["run_id"].endswith("_s3")
    assert "versions" in p and p["versions"]["python"]


def test_run_json_kpis(json_run: tuple[int, str, str, Path]) -> None:
    kpis = _strict_json(json_run[1])["kpis"]
    assert kpis["window_h"] == pytest.approx(48.0)
    assert isinstance(kpis["good_units"], int) and kpis["good_units"] > 0
    assert kpis["throughput_per_h"] == pytest.approx(kpis["good_units"] / 48.0)
    assert kpis["bottleneck"] in _reference_stations()
    assert 0.0 <= kpis["quality_ratio"] <= 1.0
    assert kpis["electricity_kwh"] > 0


def test_run_folder_contents(json_run: tuple[int, str, str, Path]) -> None:
    _, out, _, out_dir = json_run
    summary = _strict_json(out)
    folder = Path(summary["folder"])
    assert folder.parent == out_dir
    assert folder.name == summary["run_id"]
    names = {f.name for f in folder.iterdir()}
    assert "run.json" in names
    for table in ("states", "events", "parts", "stops", "energy", "stations"):
        assert f"{table}.parquet" in names
    # no half-written folders left behind
    assert [d.name for d in out_dir.iterdir()] == [summary["run_id"]]


def test_run_json_file_is_strict_json(json_run: tuple[int, str, str, Path]) -> None:
    summary = _strict_json(json_run[1])
    saved = _strict_json((Path(summary["folder"]) / "run.json").read_text())
    assert saved["kpis"] == summary["kpis"]
    assert saved["run_id"] == summary["run_id"]
    assert saved["provenance"]["spec_hash"] == summary["provenance"]["spec_hash"]


def test_run_parquet_tables_read_back(json_run: tuple[int, str, str, Path]) -> None:
    folder = Path(_strict_json(json_run[1])["folder"])
    stations = pd.read_parquet(folder / "stations.parquet")
    assert set(_equipment_stations()) <= set(stations["station"])
    for col in ("utilisation", "oee", "availability", "PQ"):
        assert col in stations.columns
    util = stations["utilisation"].dropna()
    assert ((util >= 0) & (util <= 1 + 1e-9)).all()
    for table in ("states", "events", "parts", "energy"):
        frame = pd.read_parquet(folder / f"{table}.parquet")
        assert len(frame) > 0, table
    energy = pd.read_parquet(folder / "energy.parquet")
    kwh_cols = [c for c in energy.columns if "kwh" in c.lower()]
    assert kwh_cols


def test_run_is_reproducible(tmp_path: Path, json_run: tuple[int, str, str, Path],
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(REFERENCE), *RUN_ARGS, "--out", str(tmp_path), "--json"]) == 0
    again = _strict_json(capsys.readouterr().out)
    first = _strict_json(json_run[1])
    assert again["run_id"] == first["run_id"]
    assert again["kpis"] == first["kpis"]


def test_run_table_mode_prints_kpis_and_station_rows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(REFERENCE), *RUN_ARGS, "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("line servo_actuator  seed 3")
    for label in ("throughput", "good units", "bottleneck", "electricity", "OEE"):
        assert label in out
    rows = {line.split()[0] for line in out.splitlines() if line.startswith("  ") and
            line.split()}
    for station in _equipment_stations():
        assert station in rows, station
    assert "run folder:" in out
    folder = Path(out.rsplit("run folder:", 1)[1].strip())
    assert (folder / "run.json").is_file()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--duration", "2 kg"], "expected a time"),
        (["--duration", "two days"], "two days"),
        (["--warmup", "5 kW"], "expected a time"),
        (["--duration", "0 d"], "duration"),
        (["--seed", "-1"], "seed"),
    ],
)
def test_run_bad_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                          expected: str) -> None:
    assert main(["run", str(REFERENCE), "--out", str(tmp_path), *args]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error:")
    assert expected in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_run_invalid_spec(broken_file: Path, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(broken_file), *RUN_ARGS, "--out", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert "stations.washing.buffer: must be greater than or equal to 0" in err
    assert "Traceback" not in err


def test_run_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "none.toml"), "--out", str(tmp_path)]) == 1
    assert "file not found" in capsys.readouterr().err


def test_run_subprocess_bad_duration(tmp_path: Path) -> None:
    proc = subprocess.run([str(TWIN), "run", str(REFERENCE), "--duration", "2 kg", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 1
    assert "expected a time" in proc.stderr
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------- schema and lines


def test_schema_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = _strict_json(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object"
    assert {"line", "products", "stations"} <= set(schema["properties"])
    assert "$defs" in schema


def test_schema_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "line.schema.json"
    assert main(["schema", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    from twin.data.spec import json_schema
    assert _strict_json(target.read_text()) == json.loads(json.dumps(json_schema()))


def test_lines_lists_reference_line(capsys: pytest.CaptureFixture[str]) -> None:
    with REFERENCE.open("rb") as fh:
        description = tomllib.load(fh)["line"]["description"]
    assert main(["lines"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("servo_actuator")]
    assert len(rows) == 1
    assert description in rows[0]


def test_lines_in_other_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "alpha").mkdir()
    (tmp_path / "alpha" / "line.toml").write_text(
        '[line]\nname = "alpha"\ndescription = "first line\\nsecond line"\n')
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "line.toml").write_text("[line\n")
    assert main(["lines", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["alpha", "first", "line"]
    assert out[1].startswith("broken") and "unreadable" in out[1]


def test_lines_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lines", "--dir", str(tmp_path)]) == 1
    assert "no reference lines" in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_nan_free_summary_even_with_nan_kpis(json_run: tuple[int, str, str, Path]) -> None:
    text = (Path(_strict_json(json_run[1])["folder"]) / "run.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert not any(isinstance(v, float) and not math.isfinite(v)
                   for v in _strict_json(text)["kpis"].values())
