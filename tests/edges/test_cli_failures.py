"""What ``twin run`` and the report say when a run fails or completes with warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.edges.cli import main
from twin.edges.report import build_report
from twin.simulation import stations

CASES = Path(__file__).resolve().parents[1] / "simulation" / "reliability_cases"


def test_an_internal_error_prints_where_it_was_raised(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A bug inside the engine (here: a KeyError planted in the batch station's loop) is
    printed with its type, message, simulation time and code location, and run.json keeps
    the whole traceback."""
    def broken(self, unit):  # noqa: ANN001, ANN202
        yield self.env.timeout(100.0)
        raise KeyError("planted")

    monkeypatch.setattr(stations.BatchNode, "_serve", broken)
    code = main(["run", str(CASES / "batch_never_full.toml"), "--duration", "1d",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: the run failed: KeyError: 'planted'" in err
    assert "(at simulation time t = 100 s)" in err
    assert f"raised at {__file__}:" in err and "in broken: raise KeyError" in err
    (folder,) = tmp_path.iterdir()
    assert f"the traceback is in {folder / 'run.json'} (provenance.error)" in err
    error = json.loads((folder / "run.json").read_text())["provenance"]["error"]
    assert "KeyError: 'planted'" in error and "in broken" in error


def test_a_named_error_prints_no_code_location(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(CASES / "self_loop_deadlock.toml"), "--duration", "1d",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: the run failed: DeadlockError: deadlock at t = " in err
    assert "raised at" not in err


def test_warnings_reach_json_output_and_the_report(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(CASES / "batch_never_full.toml"), "--duration", "1d",
                 "--out", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out)
    assert sorted(w["code"] for w in summary["warnings"]) == ["batch_never_full",
                                                              "no_good_units"]
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    page = build_report(folder)
    assert '<section id="warnings">' in page
    assert "never started: 10 part(s) arrived" in page
