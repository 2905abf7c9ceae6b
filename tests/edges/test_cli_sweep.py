"""`twin sweep`, `twin runs`, `twin query` and `twin compare` on a small study."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from twin.edges.cli import main
from twin.orchestration import run as run_module

_HELPERS = Path(__file__).resolve().parents[1] / "orchestration" / "sweep_fixtures.py"
_spec = importlib.util.spec_from_file_location("cli_sweep_fixtures", _HELPERS)
assert _spec is not None and _spec.loader is not None
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`twin sweep` of a 2-point x 2-replication study, run once for the module."""
    folder = tmp_path_factory.mktemp("cli")
    file = fx.write_scenario(folder)
    out = folder / "studies"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["sweep", str(file), "--executor", "serial", "--out", str(out),
                     "--no-progress"])
    return {"code": code, "out": stdout.getvalue(), "err": stderr.getvalue(),
            "root": out / "tiny_study", "studies": out, "file": file}


def test_sweep_prints_the_ranking_and_writes_summary_and_figure(swept: dict[str, Any]) -> None:
    assert swept["code"] == 0, swept["err"]
    text = swept["out"]
    assert "4 runs, ranked by throughput_per_h" in text
    assert "m.servers=1" in text and "m.servers=2" in text
    for column in ("rank", "configuration", "mean", "half_width", "diff_to_best"):
        assert column in text
    root = swept["root"]
    summary = pd.read_csv(root / "summary.csv")
    assert sorted(summary["configuration"]) == ["m.servers=1", "m.servers=2"]
    assert list(summary["rank"]) == [1, 2] and list(summary["n"]) == [2, 2]
    figure = root / "figures" / "ranking_throughput_per_h.png"
    assert f"figure: {figure}" in text
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Traceback" not in swept["err"]


def test_sweep_again_resumes_without_running(swept: dict[str, Any],
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def no_run(prep: Any) -> Any:
        raise AssertionError(f"{prep.run_id} ran again")

    monkeypatch.setattr("twin.orchestration.run.execute", no_run)
    code = main(["sweep", str(swept["file"]), "--executor", "serial", "--out",
                 str(swept["studies"]), "--no-progress"])
    assert code == 0
    assert "4 runs" in capsys.readouterr().out


def test_runs_lists_every_run(swept: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", str(swept["root"])]) == 0
    text = capsys.readouterr().out
    ids = [f.name for f in fx.visible_runs(swept["root"] / "runs")]
    assert len(ids) == 4
    assert "run_id" in text and "throughput_per_h" in text
    for run_id in ids:
        assert run_id in text


def test_query_counts_runs(swept: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "select count(*) as n from runs", "--dir", str(swept["root"])]) == 0
    text = capsys.readouterr().out
    assert "n" in text.split() and "4" in text.split()
    assert main(["query", "select count(*) as n from runs", "--dir", str(swept["root"]),
                 "--csv"]) == 0
    assert capsys.readouterr().out == "n\n4\n"


def test_query_with_bad_sql_exits_1(swept: dict[str, Any],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "selec count(*) from runs", "--dir", str(swept["root"])]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error:")
    assert "syntax error" in captured.err.lower()
    assert "Traceback" not in captured.err
    assert main(["query", "select * from no_such_view", "--dir", str(swept["root"])]) == 1
    assert "no_such_view" in capsys.readouterr().err


def test_compare_prints_the_table(swept: dict[str, Any],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = swept["root"]
    assert main(["compare", str(root), f"{root}#1", "--kpi",
                 "throughput_per_h,wip_mean"]) == 0
    text = capsys.readouterr().out
    assert "B = tiny_study#1 against A = tiny_study#0" in text
    assert "throughput_per_h" in text and "wip_mean" in text and "paired" in text
    assert "good_units" not in text
    assert main(["compare", str(root), str(root / "nothing")]) == 1
    assert "neither a run folder" in capsys.readouterr().err


def test_sweep_with_bad_override_exits_1_without_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = fx.write_scenario(tmp_path, fx.scenario_dict(overrides={"stations.m.buffer": -1}))
    out = tmp_path / "studies"
    assert main(["sweep", str(file), "--executor", "serial", "--out", str(out),
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "overrides['stations.m.buffer']" in err and "greater than or equal to 0" in err
    assert str(file) in err
    assert not out.exists()


def test_sweep_with_failed_runs_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    real = run_module.line_kpis

    def failing(spec: Any, *args: Any, **kwargs: Any) -> Any:
        if spec.stations["m"].servers == 2:
            raise RuntimeError("boom")
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(run_module, "line_kpis", failing)
    file = fx.write_scenario(tmp_path)
    code = main(["sweep", str(file), "--executor", "serial", "--out",
                 str(tmp_path / "studies"), "--no-progress"])
    text = capsys.readouterr().out
    assert code == 1
    assert "2 run(s) failed" in text and "m.servers=1" in text


def test_sweep_subprocess_bad_scenario_exit_code(tmp_path: Path) -> None:
    file = fx.write_scenario(tmp_path, fx.scenario_dict(overrides={"stations.mm.buffer": 3}))
    proc = subprocess.run(
        [sys.executable, "-m", "twin.edges.cli", "sweep", str(file), "--executor", "serial",
         "--out", str(tmp_path / "studies"), "--no-progress"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "overrides['stations.mm.buffer']" in proc.stderr
    assert "did you mean 'm'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "studies").exists()
