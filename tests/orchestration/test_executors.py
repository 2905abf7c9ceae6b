"""Executors: the same study gives identical results in this process, in a local process
pool and on a (local) Dask cluster."""

from __future__ import annotations

import pandas as pd
import pytest
from sweep_fixtures import (
    assert_same_run_tables,
    scenario_dict,
    sorted_results,
    summary_without_clock,
    visible_runs,
    write_scenario,
)

from twin.orchestration.executors import map_unordered
from twin.orchestration.sweep import Study, run_study


def _square(x: int) -> int:
    return x * x


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Study]:
    """One small study (2 points x 3 replications) run by every executor into its own folder."""
    folder = tmp_path_factory.mktemp("executors")
    file = write_scenario(folder, scenario_dict(
        name="exec", run={"duration": "3000 s", "warmup": "0 s", "replications": 3,
                          "seed": 21}))
    return {ex: run_study(file, folder / ex, executor=ex, workers=2)  # type: ignore[arg-type]
            for ex in ("serial", "local", "dask")}


@pytest.fixture(scope="module")
def kpi_studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Study]:
    """A study on the compiled engine keeping only KPIs, run one run per task in this
    process, and in batches of 4 runs per task by every executor."""
    folder = tmp_path_factory.mktemp("executors_kpis")
    file = write_scenario(folder, scenario_dict(
        name="exec_kpis", run={"duration": "3000 s", "warmup": "200 s", "replications": 5,
                               "seed": 3, "engine": "compiled", "record": "kpis"}))
    out = {"one by one": run_study(file, folder / "one", executor="serial", batch=1)}
    for ex in ("serial", "local", "dask"):
        out[ex] = run_study(file, folder / ex, executor=ex, workers=2,  # type: ignore[arg-type]
                            batch=4)
    return out


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_results_equal_serial(studies: dict[str, Study], executor: str) -> None:
    serial, other = studies["serial"], studies[executor]
    a, b = sorted_results(serial), sorted_results(other)
    assert len(a) == 6 and (a["status"] == "completed").all()
    pd.testing.assert_frame_equal(a, b)
    assert serial.meta["tasks"] == other.meta["tasks"]
    names = [f.name for f in visible_runs(serial.runs_dir)]
    assert names == [f.name for f in visible_runs(other.runs_dir)] == list(a["run_id"])
    for name in names:
        assert_same_run_tables(serial.runs_dir / name, other.runs_dir / name)
        assert summary_without_clock(serial.runs_dir / name) == \
            summary_without_clock(other.runs_dir / name)


def test_map_unordered_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="unknown executor"):
        list(map_unordered(_square, [1], executor="threads"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers must be >= 1"):
        list(map_unordered(_square, [1], executor="serial", workers=0))
    with pytest.raises(ValueError, match="needs executor 'dask'"):
        list(map_unordered(_square, [1], executor="local", cluster="tcp://x:1"))
    assert list(map_unordered(_square, [], executor="local")) == []


def test_serial_keeps_order() -> None:
    assert [r for _, r in map_unordered(_square, [3, 1, 2], executor="serial")] == [9, 1, 4]


@pytest.mark.parametrize("executor", ["serial", "local", "dask"])
def test_batched_compiled_kpi_runs_equal_one_by_one(kpi_studies: dict[str, Study],
                                                    executor: str) -> None:
    """Batches of runs per task, on every executor, store what one run per call stores."""
    one, other = kpi_studies["one by one"], kpi_studies[executor]
    a, b = sorted_results(one), sorted_results(other)
    assert len(a) == 10 and (a["status"] == "completed").all()
    pd.testing.assert_frame_equal(a, b)
    names = [f.name for f in visible_runs(one.runs_dir)]
    assert names == [f.name for f in visible_runs(other.runs_dir)]
    for name in names:
        assert_same_run_tables(one.runs_dir / name, other.runs_dir / name)
        summary = summary_without_clock(other.runs_dir / name)
        assert summary == summary_without_clock(one.runs_dir / name)
        assert (summary["provenance"]["engine"], summary["provenance"]["record"]) == (
            "compiled", "kpis")
