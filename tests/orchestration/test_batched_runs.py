"""Batched runs: one call runs many replications and configurations, with the results of
running them one by one."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from sweep_fixtures import assert_same_run_tables, summary_without_clock, visible_runs

from twin.data.checks import line_from_dict
from twin.data.scenario import InjectedFailure
from twin.orchestration.run import execute, execute_keeping_failures, prepare
from twin.orchestration.study import batch_size, execute_batch, run_planned


def _line(servers: int) -> dict:
    exp = {"dist": "exponential", "mean": "2 s"}
    return {"line": {"name": "batch"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": exp, "to": "m"},
        "m": {"type": "machine", "servers": servers, "buffer": 3,
              "cycle_time": {"dist": "exponential", "mean": "3 s"}, "to": "out",
              "failures": [{"ttf": {"dist": "exponential", "mean": "300 s"},
                            "ttr": {"dist": "exponential", "mean": "30 s"}}]},
        "out": {"type": "sink"}}}


def _planned(record: str) -> list:
    """Two configurations of one structure x three replications, on the compiled engine."""
    return [prepare(line_from_dict(_line(servers)), duration=2000.0, warmup=100.0, seed=s,
                    engine="compiled", record=record)
            for servers in (1, 2) for s in range(3)]


@pytest.mark.parametrize("record", ["kpis", "tables"])
def test_a_batch_gives_what_runs_one_by_one_give(record: str) -> None:
    planned = _planned(record)
    batched = execute_batch(planned)
    assert [r.run_id for r in batched] == [p.run_id for p in planned]
    for prep, got in zip(planned, batched, strict=True):
        alone = execute(prep)
        assert got.kpis == alone.kpis
        assert got.tables.keys() == alone.tables.keys()
        for name, table in alone.tables.items():
            pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True)


def test_a_failed_run_does_not_fail_its_batch() -> None:
    planned = _planned("kpis")[:2]
    # the compiled engine refuses timed scenario events when it runs (prepare would say so)
    broken = dataclasses.replace(planned[0], events=(InjectedFailure(
        kind="failure", station="m", at="50 s", duration="10 s"),))
    results = execute_batch([broken, planned[1]])
    assert results[0].provenance["status"] == "failed"
    assert "timed scenario events" in results[0].provenance["error"]
    assert results[1].provenance["status"] == "completed"
    assert results[1].kpis == execute(planned[1]).kpis


def test_batch_sizes() -> None:
    assert batch_size(6, 2) == 1  # few runs: one per task, every worker busy
    assert batch_size(100, 2) == 13
    assert batch_size(10_000, 2) == 16  # capped
    with pytest.raises(ValueError, match="batch must be >= 1"):
        run_planned(".", _planned("kpis")[:1], executor="serial", batch=0)


def test_stored_results_do_not_depend_on_the_batch_size(tmp_path) -> None:  # noqa: ANN001
    """Runs one per call and in batches (sharing their line's lowering) store the same
    bytes: the Parquet tables, and run.json but for the wall clock."""
    planned = _planned("kpis")
    assert run_planned(tmp_path / "one", planned, executor="serial", batch=1) == 6
    assert run_planned(tmp_path / "four", planned, executor="serial", batch=4) == 6
    one = visible_runs(tmp_path / "one" / "runs")
    four = visible_runs(tmp_path / "four" / "runs")
    assert [p.name for p in one] == [p.name for p in four]
    for a, b in zip(one, four, strict=True):
        assert_same_run_tables(a, b)
        files = sorted(f.name for f in a.iterdir())
        assert files == sorted(f.name for f in b.iterdir())
        assert {"stations.parquet", "energy.parquet", "run.json"} <= set(files)
        for name in files:
            if name.endswith(".parquet"):
                assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert summary_without_clock(a) == summary_without_clock(b)


def _looping(rework: float) -> dict:
    """Parts sent back for rework into a full buffer: the line deadlocks, sooner or later."""
    exp = {"dist": "exponential", "mean": "1 s"}
    return {"line": {"name": "loop"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": exp, "to": "m"},
        "m": {"type": "machine", "buffer": 1, "cycle_time": exp, "to": "q"},
        "q": {"type": "inspection", "buffer": 1, "cycle_time": exp,
              "rework_probability": rework, "rework_to": "m", "to": "out"},
        "out": {"type": "sink"}}}


def test_a_run_failing_inside_a_batch_of_one_line_keeps_the_others() -> None:
    """Runs of one line share its lowering; one that deadlocks (a longer run) fails with
    its error, and the runs after it give what they give alone."""
    spec = line_from_dict(_looping(0.2))
    planned = [prepare(spec, duration=d, seed=s, engine="compiled", record="kpis")
               for s in range(4) for d in (8.0, 400.0)]
    batched = execute_batch(planned)
    status = [r.provenance["status"] for r in batched]
    assert "completed" in status[status.index("failed") + 1:]  # a run after a failed one
    for prep, got in zip(planned, batched, strict=True):
        alone = execute_keeping_failures(prep)
        assert got.provenance["status"] == alone.provenance["status"]
        if alone.provenance["status"] == "failed":
            assert "DeadlockError" in got.provenance["error"]
            assert got.provenance["error"] == alone.provenance["error"]
            assert got.kpis == {} and got.tables == {}
        else:
            assert got.kpis == alone.kpis and got.warnings == alone.warnings
            for name, table in alone.tables.items():
                pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True)
