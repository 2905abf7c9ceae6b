"""The one study runner: kinds in study.json, failed runs retried (scale-up as sweep),
leftovers of a killed save removed, run identity independent of the edges' source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from twin.observation import runfolder
from twin.observation.runfolder import read_study
from twin.orchestration import run as run_module
from twin.orchestration import scaleup_study as ss
from twin.orchestration.run import RESULT_SOURCES, source_hash
from twin.orchestration.study import run_planned

ROOT = Path(__file__).resolve().parents[2]
API_LINE = ROOT / "lines" / "api_batch" / "line.toml"


def test_failed_scaleup_run_is_retried_on_the_next_call(tmp_path: Path) -> None:
    args = {"replications": 1, "duration": "1 d", "warmup": "0 s", "seed": 2, "out": tmp_path}
    with pytest.MonkeyPatch.context() as mp:
        def broken(self: object, *a: object, **k: object) -> None:
            raise ZeroDivisionError("model bug")

        mp.setattr(run_module.LineModel, "run", broken)
        first = ss.study(API_LINE, "reactor", ["2.5 m3"], **args)
    (rid,) = read_study(first.root)["runs"]
    folder = first.root / "runs" / rid
    assert runfolder.state(folder).status == "failed"
    assert first.table["runs"].tolist() == [0]
    again = ss.study(API_LINE, "reactor", ["2.5 m3"], **args)
    assert runfolder.state(folder).status == "completed"
    assert again.table["runs"].tolist() == [1]
    assert read_study(again.root)["kind"] == "scaleup"


def test_study_kind_is_declared_and_old_studies_are_recognised(tmp_path: Path) -> None:
    (tmp_path / "study.json").write_text(json.dumps({"tasks": [], "points": []}))
    assert read_study(tmp_path)["kind"] == "sweep"
    (tmp_path / "study.json").write_text(json.dumps({"volumes_m3": [1.0], "runs": []}))
    assert read_study(tmp_path)["kind"] == "scaleup"
    (tmp_path / "study.json").write_text(json.dumps({"kind": "poll"}))
    with pytest.raises(ValueError, match="unknown study kind 'poll'"):
        read_study(tmp_path)


def test_resume_removes_leftover_temporary_folders(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / ".tmp-x_s1-123").mkdir(parents=True)
    (runs / ".tmp-x_s1-123" / "events.parquet").write_bytes(b"half")
    (runs / ".old-y_s2-456").mkdir()
    assert run_planned(tmp_path, [], executor="serial") == 0
    assert list(runs.iterdir()) == []


def test_run_identity_ignores_the_edges_and_orchestration(tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(ROOT / "twin", twin, ignore=shutil.ignore_patterns("__pycache__"))
    before = source_hash(twin, RESULT_SOURCES)
    label = twin / "edges" / "report_text.py"
    label.write_text(label.read_text().replace("code hash", "code hash "))
    sweep = twin / "orchestration" / "sweep.py"
    sweep.write_text(sweep.read_text() + "\n# a comment\n")
    assert source_hash(twin, RESULT_SOURCES) == before
    for changed in ("observation/kpis.py", "simulation/line.py", "kernels/reactor.py",
                    "data/spec.py", "orchestration/run.py"):
        path = twin / changed
        original = path.read_text()
        path.write_text(original + "\n# changed\n")
        assert source_hash(twin, RESULT_SOURCES) != before, changed
        path.write_text(original)
    assert run_module.code_hash() == source_hash(ROOT / "twin", RESULT_SOURCES)
