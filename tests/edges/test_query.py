"""SQL over saved run folders: the runs view, table views, errors, concurrent readers."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from twin.edges.query import RUN_COLUMNS, TABLES, QueryError, RunStore, format_table
from twin.orchestration import run as run_module
from twin.orchestration.run import RunFailed, run


def line(name: str, cycle: str) -> dict:
    return {
        "line": {"name": name},
        "products": {"A": {}},
        "stations": {
            "src": {"type": "source", "product": "A",
                    "interarrival": {"dist": "exponential", "mean": "2 s"}, "to": "m"},
            "m": {"type": "machine", "cycle_time": {"dist": "exponential", "mean": cycle},
                  "to": "out", "power": {"producing": "10 kW", "idle": "1 kW"}},
            "out": {"type": "sink"},
        },
    }


def visible_run_files(root: Path) -> list[Path]:
    """run.json files not under a dot-folder (relative to root)."""
    return sorted(p for p in root.rglob("run.json")
                  if not any(part.startswith(".") for part in p.relative_to(root).parts))


@pytest.fixture(scope="module")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two top-level runs, two runs in a nested study, one failed run, and decoys."""
    root = tmp_path_factory.mktemp("store")
    first = run(line("small", "1 s"), duration="1500 s", warmup="100 s", seed=1).save(root)
    run(line("small", "1 s"), duration="1500 s", warmup="100 s", seed=2).save(root)
    study = root / "studies" / "alpha" / "runs"
    run(line("other", "1.5 s"), duration="1000 s", seed=3).save(study)
    run(line("other", "1.5 s"), duration="1200 s", seed=4).save(study)
    with pytest.MonkeyPatch.context() as mp:
        def broken(self: object, *args: object, **kwargs: object) -> None:
            raise ZeroDivisionError("model bug")

        mp.setattr(run_module.LineModel, "run", broken)
        with pytest.raises(RunFailed) as info:
            run(line("small", "1 s"), duration="100 s", seed=9)
    info.value.result.save(root)
    # decoys: a folder being written (unreadable table) and a hidden copy of a complete run
    ghost = root / ".tmp-ghost_123"
    ghost.mkdir()
    shutil.copy(first / "run.json", ghost / "run.json")
    (ghost / "events.parquet").write_bytes(b"half a file")
    shutil.copytree(first, root / "studies" / ".old-alpha" / first.name)
    return root


@pytest.fixture()
def store(store_root: Path) -> Iterator[RunStore]:
    with RunStore(store_root) as s:
        yield s


def test_runs_rows_and_columns_match_the_run_json_files(store: RunStore,
                                                          store_root: Path) -> None:
    files = visible_run_files(store_root)
    assert len(files) == 5
    frame = store.runs()
    assert list(frame.columns[: len(RUN_COLUMNS)]) == list(RUN_COLUMNS)
    assert len(frame) == len(files)
    saved = [json.loads(f.read_text()) for f in files]
    kpi_names = {k for s in saved for k in s["kpis"]}
    assert kpi_names and kpi_names <= set(frame.columns)
    assert "throughput_per_h" in frame.columns and "bottleneck" in frame.columns

    expected_order = sorted(saved, key=lambda s: (s["provenance"]["started_utc"], s["run_id"]))
    assert list(frame["run_id"]) == [s["run_id"] for s in expected_order]

    rows = {r["run_id"]: r for r in frame.to_dict("records")}
    for path, s in zip(files, saved, strict=True):
        row = rows[s["run_id"]]
        p = s["provenance"]
        assert row["folder"] == str(path.parent.resolve())
        assert row["line"] == p["line"]
        assert row["status"] == p["status"]
        assert row["seed"] == p["seed"]
        assert row["spec_hash"] == p["spec_hash"]
        assert row["duration_s"] == p["settings"]["duration_s"]
        assert row["warmup_s"] == p["settings"]["warmup_s"]
        assert row["wall_time_s"] == pytest.approx(p["wall_time_s"], rel=1e-12)
        started = pd.Timestamp(p["started_utc"]).tz_convert("UTC").tz_localize(None)
        assert row["started_utc"] == started
        for name in kpi_names:
            value = s["kpis"].get(name)
            if value is None:
                assert pd.isna(row[name]), (s["run_id"], name)
            elif isinstance(value, str):
                assert row[name] == value
            else:
                assert math.isclose(row[name], value, rel_tol=1e-12), (s["run_id"], name)


def test_nested_study_runs_are_found(store: RunStore, store_root: Path) -> None:
    frame = store.query("select run_id, folder, line from runs where line = 'other' "
                        "order by seed")
    study = (store_root / "studies" / "alpha" / "runs").resolve()
    assert len(frame) == 2
    assert all(Path(f).parent == study for f in frame["folder"])
    assert list(frame["run_id"]) == [Path(f).name for f in frame["folder"]]


def test_cross_run_sql_equals_pandas_over_the_parquet_files(store: RunStore,
                                                            store_root: Path) -> None:
    got = store.query("select run_id, sum(kwh) as kwh, count(*) as n from energy "
                      "group by run_id order by run_id")
    frames = []
    for f in visible_run_files(store_root):
        if (f.parent / "energy.parquet").exists():
            frames.append(pd.read_parquet(f.parent / "energy.parquet").assign(
                run_id=f.parent.name))
    expected = (pd.concat(frames).groupby("run_id")["kwh"].agg(["sum", "size"])
                .sort_index())
    assert list(got["run_id"]) == list(expected.index)
    assert len(got) == 4  # the failed run has no tables
    for (_, g), (_, e) in zip(got.iterrows(), expected.iterrows(), strict=True):
        assert g["kwh"] == pytest.approx(e["sum"], rel=1e-12)
        assert g["n"] == e["size"]

    # every table joins to runs; row counts agree with the files
    assert set(store.tables) <= set(TABLES)
    for table in store.tables:
        counts = store.query(f"select t.run_id, count(*) as n from {table} t "
                             "join runs r using (run_id) group by t.run_id")
        for run_id, n in zip(counts["run_id"], counts["n"], strict=True):
            folder = next(f.parent for f in visible_run_files(store_root)
                          if f.parent.name == run_id)
            assert n == len(pd.read_parquet(folder / f"{table}.parquet")), (table, run_id)


def test_failed_run_shows_status_failed(store: RunStore) -> None:
    frame = store.runs()
    failed = frame[frame["status"] == "failed"]
    assert len(failed) == 1
    row = failed.iloc[0]
    assert row["seed"] == 9
    assert "ZeroDivisionError: model bug" in row["error"]
    assert pd.isna(row["throughput_per_h"]) and pd.isna(row["good_units"])
    assert (frame.loc[frame["status"] == "completed", "throughput_per_h"] > 0).all()
    in_tables = store.query("select distinct run_id from events")["run_id"]
    assert row["run_id"] not in set(in_tables)


def test_dot_folders_are_ignored(store: RunStore, store_root: Path) -> None:
    assert not [f for f in store.folders
                if any(p.startswith(".") for p in f.relative_to(store.root).parts)]
    folders = store.query("select distinct folder from events")["folder"]
    assert not any("/." in f or "\\." in f for f in folders)
    # the half-written table in .tmp-ghost_123 would make this fail if it were read
    n = store.query("select count(*) as n from events")["n"].iloc[0]
    assert n == sum(len(pd.read_parquet(f.parent / "events.parquet"))
                    for f in visible_run_files(store_root)
                    if (f.parent / "events.parquet").exists())


@pytest.mark.parametrize("sql, message", [
    ("selec * from runs", "syntax error"),
    ("select no_such_column from runs", "no_such_column"),
    ("select * from no_such_view", "no_such_view"),
    ("", "empty"),
])
def test_bad_sql_raises_query_error(store: RunStore, sql: str, message: str) -> None:
    with pytest.raises(QueryError, match=message) as info:
        store.query(sql)
    assert isinstance(info.value, ValueError)
    assert "Traceback" not in str(info.value)


def test_missing_root_raises_value_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match="nowhere.*does not exist"):
        RunStore(missing)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        RunStore(a_file)


def test_empty_root_has_empty_runs_and_clear_table_errors(tmp_path: Path) -> None:
    (tmp_path / ".tmp-half").mkdir()
    (tmp_path / ".tmp-half" / "run.json").write_text("{")
    with RunStore(tmp_path) as s:
        frame = s.runs()
        assert frame.empty
        assert list(frame.columns) == list(RUN_COLUMNS)
        assert s.tables == ()
        with pytest.raises(QueryError, match=r"no run has a 'events' table under .*"):
            s.query("select count(*) from events")


def test_only_failed_runs_have_no_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, *args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(run_module.LineModel, "run", broken)
    with pytest.raises(RunFailed) as info:
        run(line("small", "1 s"), duration="100 s")
    info.value.result.save(tmp_path / "runs")
    with RunStore(tmp_path) as s:
        assert list(s.runs()["status"]) == ["failed"]
        with pytest.raises(QueryError, match="no run has a 'energy' table"):
            s.query("select * from energy")


def test_heterogeneous_kpis_are_unioned_by_name(store_root: Path, tmp_path: Path) -> None:
    complete = [f.parent for f in visible_run_files(store_root)
                if (f.parent / "energy.parquet").exists()]
    src = complete[0]
    shutil.copytree(src, tmp_path / "a" / src.name)
    other = tmp_path / "b" / "older_run"
    other.mkdir(parents=True)
    summary = json.loads((src / "run.json").read_text())
    good_units = summary["kpis"]["good_units"]
    summary["run_id"] = "older_run"
    del summary["kpis"]["good_units"]
    summary["kpis"]["custom_score"] = 7
    del summary["files"]  # a folder written before file records, with no tables
    (other / "run.json").write_text(json.dumps(summary))
    with RunStore(tmp_path) as s:
        frame = s.runs().set_index("run_id")
        assert {"good_units", "custom_score"} <= set(frame.columns)
        assert pd.isna(frame.loc["older_run", "good_units"])
        assert frame.loc["older_run", "custom_score"] == 7
        assert pd.isna(frame.loc[src.name, "custom_score"])
        assert frame.loc[src.name, "good_units"] == good_units


def test_paths_with_quotes_and_refresh(store_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "o'brien's runs"
    complete = [f.parent for f in visible_run_files(store_root)
                if (f.parent / "energy.parquet").exists()]
    src = complete[0]
    shutil.copytree(src, root / src.name)
    with RunStore(root) as s:
        assert list(s.runs()["run_id"]) == [src.name]
        second = next(p for p in complete if p.name != src.name)
        shutil.copytree(second, root / "more" / second.name)
        assert len(s.runs()) == 1  # the set of runs is fixed until refresh()
        s.refresh()
        assert sorted(s.runs()["run_id"]) == sorted([src.name, second.name])
        assert len(s.query("select distinct run_id from energy")) == 2


def test_two_readers_at_once_need_no_lock(store_root: Path) -> None:
    before = sorted(p for p in store_root.rglob("*"))
    sql = "select run_id, sum(kwh) as kwh from energy group by run_id order by run_id"
    reader = textwrap.dedent(f"""
        import json
        import sys
        from twin.edges.query import RunStore
        with RunStore({str(store_root)!r}) as store:
            print("ready", flush=True)
            sys.stdin.readline()
            frame = store.query({sql!r})
            print(json.dumps(frame.to_dict("records")), flush=True)
    """)
    with RunStore(store_root) as a, RunStore(store_root) as b:
        proc = subprocess.Popen([sys.executable, "-c", reader], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None and proc.stdin is not None
            assert proc.stdout.readline().strip() == "ready"
            # three stores are open on the same files now: all read
            mine = a.query(sql)
            pd.testing.assert_frame_equal(mine, b.query(sql))
            proc.stdin.write("go\n")
            proc.stdin.flush()
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        theirs = pd.DataFrame(json.loads(out))
        assert list(theirs["run_id"]) == list(mine["run_id"])
        assert list(theirs["kwh"]) == pytest.approx(list(mine["kwh"]), rel=1e-12)
    assert sorted(p for p in store_root.rglob("*")) == before  # nothing written


def test_closed_store_refuses_queries(store_root: Path) -> None:
    s = RunStore(store_root)
    s.close()
    with pytest.raises(QueryError):
        s.query("select 1")


def test_format_table() -> None:
    df = pd.DataFrame({
        "name": ["a", "line one\nline two", "x" * 100, None],
        "value": [3.14159, 123456.789, 2.0, float("nan")],
        "count": [1, 22, 333, 4],
    })
    text = format_table(df)
    lines = text.splitlines()
    assert lines[0].split() == ["name", "value", "count"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert "3.142" in lines[2] and "3.14159" not in text
    assert "1.235e+05" in lines[3] and "line one line two" in lines[3]
    assert lines[4].split()[1:] == ["2", "333"] and "x" * 57 + "..." in lines[4]
    assert lines[5].split() == ["-", "-", "4"]
    assert lines[-1] == "(4 rows)"
    assert lines[2].endswith("    1")  # numbers are right-aligned
    short = format_table(df, max_rows=2).splitlines()
    assert len(short) == 2 + 2 + 1
    assert short[-1] == "... 2 more rows (4 rows)"
    assert format_table(df.iloc[:0]).splitlines()[-1] == "(0 rows)"
    with pytest.raises(ValueError):
        format_table(df, max_rows=-1)
