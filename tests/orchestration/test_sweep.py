"""Studies: crash-safe resume, interrupts, failed runs, auto replications and warm-up,
comparisons of runs and studies."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sweep_fixtures import (
    assert_same_run_tables,
    kpis_of,
    scenario_dict,
    sorted_results,
    summary_without_clock,
    visible_runs,
    write_line,
    write_scenario,
)

from twin.orchestration import run as run_module
from twin.orchestration.compare import compare
from twin.orchestration.scenario import Scenario
from twin.orchestration.statistics import mean_ci
from twin.orchestration.sweep import Study, run_study

# ------------------------------------------------------------------------ helpers


def snapshot(runs_dir: Path) -> dict[str, tuple[int, str]]:
    """run.json mtime and content of every complete run folder."""
    return {f.name: ((f / "run.json").stat().st_mtime_ns, (f / "run.json").read_text())
            for f in visible_runs(runs_dir)}


def assert_same_store(a: Study, b: Study) -> None:
    """Two studies of the same scenario hold the same runs with the same results."""
    ra, rb = sorted_results(a), sorted_results(b)
    pd.testing.assert_frame_equal(ra, rb)
    assert (ra["status"] == "completed").all()
    names_a = [f.name for f in visible_runs(a.runs_dir)]
    assert names_a == [f.name for f in visible_runs(b.runs_dir)]
    assert names_a == sorted(ra["run_id"])
    for name in names_a:
        assert_same_run_tables(a.runs_dir / name, b.runs_dir / name)
        assert kpis_of(a.runs_dir / name) == kpis_of(b.runs_dir / name)
        assert summary_without_clock(a.runs_dir / name) == \
            summary_without_clock(b.runs_dir / name)


def count_executions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the run_id of every run the (serial) sweep executes in this process."""
    seen: list[str] = []
    real = run_module.execute  # what the sweep's worker function calls

    def counting(prep: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(prep.run_id)
        return real(prep, *args, **kwargs)

    monkeypatch.setattr(run_module, "execute", counting)
    return seen


def twenty_runs(folder: Path) -> Path:
    """A scenario of 2 points x 10 replications (20 runs of a fraction of a second)."""
    return write_scenario(folder, scenario_dict(
        name="crash", run={"duration": "6000 s", "warmup": "0 s", "replications": 10,
                           "seed": 5}))


def _interruptible() -> None:
    # As at a terminal: a test suite started in the background of a non-interactive shell
    # inherits an ignored SIGINT, and Python then installs no Ctrl-C handler at all.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_sweep(file: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "twin.edges.cli", "sweep", str(file), "--executor", "serial",
         "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_interruptible)


def wait_for_runs(proc: subprocess.Popen[str], runs_dir: Path, n: int,
                  timeout: float = 60.0) -> int:
    """Wait until at least ``n`` run folders are complete; returns how many there were."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if runs_dir.is_dir():
            have = len(visible_runs(runs_dir))
            if have >= n:
                return have
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"sweep ended (code {proc.returncode}) before {n} runs: {err}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"no {n} run folders after {timeout} s")


# ------------------------------------------------------------------------ crash-safety


def test_killed_sweep_leaves_only_complete_runs_and_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = twenty_runs(tmp_path)
    out = tmp_path / "killed"
    runs_dir = out / "crash" / "runs"
    proc = start_sweep(file, out)
    wait_for_runs(proc, runs_dir, 4)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # every visible folder is a complete run; dot-folders (temporary) are ignored
    for folder in runs_dir.iterdir():
        if folder.name.startswith("."):
            continue
        assert folder.is_dir() and (folder / "run.json").is_file(), folder
        assert json.loads((folder / "run.json").read_text())["provenance"]["status"] \
            == "completed"
    before = snapshot(runs_dir)
    assert 4 <= len(before) < 20, "the sweep was not interrupted part-way"

    # resume: only the missing runs execute; the completed ones are untouched
    executed = count_executions(monkeypatch)
    resumed = run_study(file, out, executor="serial")
    assert len(executed) == 20 - len(before)
    assert not set(executed) & set(before)
    after = snapshot(runs_dir)
    assert len(after) == 20
    for name, stamp in before.items():
        assert after[name] == stamp, f"{name} was written again"

    # the resumed store equals an uninterrupted sweep
    monkeypatch.undo()
    clean = run_study(file, tmp_path / "clean", executor="serial")
    assert_same_store(resumed, clean)


def test_ctrl_c_exits_130_and_keeps_completed_runs(tmp_path: Path) -> None:
    file = twenty_runs(tmp_path)
    out = tmp_path / "interrupted"
    runs_dir = out / "crash" / "runs"
    proc = start_sweep(file, out)
    wait_for_runs(proc, runs_dir, 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "completed runs are kept" in err
    assert "Traceback" not in err
    kept = visible_runs(runs_dir)
    assert 2 <= len(kept) < 20
    assert all((f / "run.json").is_file() for f in kept)


# ------------------------------------------------------------------------ failed runs


def test_failed_run_is_recorded_and_retried(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    file = write_scenario(tmp_path, scenario_dict(
        run={"duration": "3000 s", "warmup": "0 s", "replications": 2, "seed": 11}))
    real_kpis = run_module.line_kpis

    def failing_kpis(spec: Any, *args: Any, **kwargs: Any) -> Any:
        if spec.stations["m"].servers == 2:       # design point 1 fails at run time
            raise RuntimeError("injected failure of point 1")
        return real_kpis(spec, *args, **kwargs)

    monkeypatch.setattr(run_module, "line_kpis", failing_kpis)
    study = run_study(file, tmp_path / "studies", executor="serial")
    table = study.results().set_index("run_id")
    assert list(table["status"]) == ["completed", "completed", "failed", "failed"]
    failed = table.index[table["status"] == "failed"]
    for run_id in failed:
        summary = json.loads((study.runs_dir / run_id / "run.json").read_text())
        assert summary["provenance"]["status"] == "failed"
        assert "Traceback" in summary["provenance"]["error"]
        assert "injected failure of point 1" in summary["provenance"]["error"]
        assert table.loc[run_id, "point"] == 1
    ok = table.index[table["status"] == "completed"]
    assert table.loc[ok, "throughput_per_h"].notna().all()
    ranked = study.summary()                     # ranks what completed
    assert list(ranked["point"]) == [0]
    before = snapshot(study.runs_dir)

    monkeypatch.undo()
    executed = count_executions(monkeypatch)
    again = run_study(file, tmp_path / "studies", executor="serial")
    assert sorted(executed) == sorted(failed)
    assert (again.results()["status"] == "completed").all()
    after = snapshot(study.runs_dir)
    for run_id in ok:
        assert after[run_id] == before[run_id]


# ------------------------------------------------------------------------ auto settings


@pytest.mark.parametrize(("target", "cap", "stops_at_cap"), [
    pytest.param(0.05, 20, False, id="target-met"),
    pytest.param(0.02, 6, True, id="capped"),
])
def test_auto_replications_reach_the_target_or_the_cap(
        tmp_path: Path, target: float, cap: int, stops_at_cap: bool) -> None:
    low = 3
    write_line(tmp_path)
    sc = Scenario.from_dict(scenario_dict(
        name="auto_reps",
        run={"duration": "3000 s", "warmup": "0 s", "replications": "auto", "seed": 2,
             "target_kpi": "throughput_per_h", "target_half_width": target,
             "min_replications": low, "max_replications": cap}), base_dir=tmp_path)
    study = run_study(sc, tmp_path / "studies", executor="serial")
    table = study.results()
    assert (table["status"] == "completed").all()
    for point, group in table.groupby("point"):
        n = len(group)
        assert low < n <= cap, "no replication added, or more than the cap"
        assert sorted(group["replication"]) == list(range(n))
        assert sorted(group["seed"]) == [2 + r for r in range(n)]
        ci = mean_ci(group["throughput_per_h"].to_numpy())
        met = ci.half_width <= target * abs(ci.mean)
        assert met or n == cap, (point, n, str(ci))
        assert (n == cap) == stops_at_cap, (point, n, str(ci))
    assert len(study.meta["tasks"]) == len(table) == len(visible_runs(study.runs_dir))


RAMP_LINE = """\
[line]
name = "ramp"

[products.A]

[stations.src]
type = "source"
product = "A"
interarrival = { dist = "constant", value = "10 s" }
to = "m"

[stations.m]
type = "machine"
servers = 100
cycle_time = { dist = "constant", value = "900 s" }
to = "out"

[stations.out]
type = "sink"
"""


def test_auto_warmup_is_recorded_and_used_by_every_run(tmp_path: Path) -> None:
    """WIP ramps up over the first 900 s, then stays level: MSER-5 cuts the first batch."""
    write_line(tmp_path, RAMP_LINE)
    sc = Scenario.from_dict(scenario_dict(
        name="auto_warmup", sweep=None,
        run={"duration": "25 h", "warmup": "auto", "replications": 2, "seed": 1}),
        base_dir=tmp_path)
    study = run_study(sc, tmp_path / "studies", executor="serial")
    warmup = study.meta["auto_warmup_s"]
    assert warmup is not None and warmup > 0
    assert warmup == 5 * 3600.0      # one MSER-5 batch of one-hour bins
    runs = visible_runs(study.runs_dir)
    assert len(runs) == 2
    for folder in runs:
        settings = json.loads((folder / "run.json").read_text())["provenance"]["settings"]
        assert settings["warmup_s"] == warmup
        assert settings["duration_s"] == 25 * 3600.0


# ------------------------------------------------------------------------ compare


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Studies A (1 server) and B (2 servers) with seeds 11..13; and one of other seeds."""
    folder = tmp_path_factory.mktemp("compare")
    write_line(folder)
    roots = []
    for name, servers, seed in (("a", 1, 11), ("b", 2, 11), ("c", 2, 50)):
        sc = Scenario.from_dict(scenario_dict(
            name=name, sweep=None, overrides={"stations.m.servers": servers},
            run={"duration": "3000 s", "warmup": "0 s", "replications": 3, "seed": seed}),
            base_dir=folder)
        roots.append(run_study(sc, folder / "studies", executor="serial").root)
    return roots[0], roots[1], roots[2]


def by_seed(root: Path, kpi: str) -> dict[int, float]:
    out = {}
    for folder in visible_runs(root / "runs"):
        summary = json.loads((folder / "run.json").read_text())
        out[summary["provenance"]["seed"]] = summary["kpis"][kpi]
    return out


@pytest.mark.parametrize("kpi", ["throughput_per_h", "wip_mean", "lead_time_mean_h"])
def test_compare_studies_is_paired_by_seed(two_studies: tuple[Path, Path, Path],
                                           kpi: str) -> None:
    a, b, _ = two_studies
    table = compare(a, b).set_index("kpi")
    xa, xb = by_seed(a, kpi), by_seed(b, kpi)
    assert sorted(xa) == sorted(xb) == [11, 12, 13]
    diffs = [xb[s] - xa[s] for s in sorted(xa)]
    row = table.loc[kpi]
    assert row["method"] == "paired" and row["n"] == 3
    assert row["diff"] == pytest.approx(np.mean(diffs), rel=1e-12, abs=1e-12)
    assert row["a"] == pytest.approx(np.mean(list(xa.values())))
    assert row["low"] <= row["diff"] <= row["high"]
    assert table.attrs["a"] == "a#0" and table.attrs["b"] == "b#0"


def test_compare_other_seeds_is_welch_and_runs_are_single(
        two_studies: tuple[Path, Path, Path]) -> None:
    a, _, c = two_studies
    welch = compare(a, c, ["throughput_per_h"])
    assert list(welch["method"]) == ["welch"] and list(welch["n"]) == [6]
    ra, rc = visible_runs(a / "runs")[0], visible_runs(c / "runs")[0]
    single = compare(ra, rc, ["throughput_per_h", "good_units"]).set_index("kpi")
    assert set(single["method"]) == {"single"}
    for kpi in ("throughput_per_h", "good_units"):
        assert single.loc[kpi, "diff"] == pytest.approx(kpis_of(rc)[kpi] - kpis_of(ra)[kpi])
        assert np.isnan(single.loc[kpi, "low"])


def test_compare_bad_references(two_studies: tuple[Path, Path, Path],
                                tmp_path: Path) -> None:
    a, b, _ = two_studies
    with pytest.raises(ValueError, match="neither a run folder"):
        compare(tmp_path / "nothing", b)
    with pytest.raises(ValueError, match="has no design point 4"):
        compare(a, f"{b}#4")
    with pytest.raises(ValueError, match="unknown or non-numeric KPI"):
        compare(a, b, ["no_such_kpi"])
    failed = tmp_path / "failed_run"
    failed.mkdir()
    (failed / "run.json").write_text(json.dumps(
        {"provenance": {"status": "failed", "seed": 1}, "kpis": {}}))
    with pytest.raises(ValueError, match="failed run"):
        compare(failed, b)


def test_compare_points_of_one_study(tmp_path: Path) -> None:
    write_line(tmp_path)
    sc = Scenario.from_dict(scenario_dict(name="pts"), base_dir=tmp_path)
    study = run_study(sc, tmp_path / "studies", executor="serial")
    table = compare(study.root, f"{study.root}#1", ["throughput_per_h"])
    res = study.results()
    x = res.pivot(index="seed", columns="point", values="throughput_per_h")
    assert table.loc[0, "method"] == "paired"
    assert table.loc[0, "diff"] == pytest.approx(float((x[1] - x[0]).mean()))
