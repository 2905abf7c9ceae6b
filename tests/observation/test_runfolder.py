"""Run folders: written whole, read back identical, checked against sizes, hashes and the
declared table schema; leftovers of a killed save removed; damaged folders moved aside."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin.observation import runfolder, schema
from twin.orchestration.run import RunResult, run

LINES = Path(__file__).resolve().parents[2] / "lines"


@pytest.fixture(scope="module")
def servo(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    """The servo line (alarms: signals and alarms tables), one short run, saved."""
    result = run(LINES / "servo_actuator" / "line.toml", duration="1 d", warmup="2 h", seed=2)
    return result, result.save(tmp_path_factory.mktemp("store"))


def test_tables_read_back_equal_and_files_record_sizes_and_hashes(
        servo: tuple[RunResult, Path]) -> None:
    result, folder = servo
    summary = runfolder.read_summary(folder)
    assert set(summary["files"]) == {f"{n}.parquet" for n in result.tables}
    for name, frame in result.tables.items():
        pd.testing.assert_frame_equal(runfolder.read_table(folder, name), frame,
                                      check_dtype=False, check_categorical=False)
        path = folder / f"{name}.parquet"
        entry = summary["files"][path.name]
        assert entry["bytes"] == len(path.read_bytes())
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert runfolder.table_names(folder) == tuple(sorted(result.tables))
    assert runfolder.state(folder, deep=True).status == "completed"


def test_tables_read_as_categoricals_hold_the_same_values(
        servo: tuple[RunResult, Path]) -> None:
    """``categorical=True`` (the dashboard's fast read): the same rows and values; text
    columns become categoricals with sorted categories, stored categoricals keep theirs."""
    _, folder = servo
    for name in runfolder.table_names(folder):
        plain = runfolder.read_table(folder, name)
        fast = runfolder.read_table(folder, name, categorical=True)
        assert fast is not None and plain is not None and list(fast) == list(plain)
        for c in plain:
            if isinstance(plain[c].dtype, pd.CategoricalDtype):
                assert list(fast[c].cat.categories) == list(plain[c].cat.categories), (name, c)
            elif pd.api.types.is_string_dtype(plain[c].dtype) and plain[c].notna().any():
                cats = list(fast[c].cat.categories)
                assert cats == sorted(set(plain[c].dropna())), (name, c)
            assert fast[c].astype(object).where(fast[c].notna(), None).tolist() == \
                plain[c].astype(object).where(plain[c].notna(), None).tolist(), (name, c)


def test_every_recorded_table_matches_its_declaration(servo: tuple[RunResult, Path]) -> None:
    result, _ = servo
    assert set(result.tables) <= set(schema.TABLES)
    for name, frame in result.tables.items():
        assert schema.problems(name, frame) == [], name
        t = schema.table(name)
        if not t.open:
            assert tuple(frame.columns) == t.names, name


def test_schema_refuses_missing_columns_and_wrong_kinds() -> None:
    good = pd.DataFrame({"time": [1.0], "tag": ["wip"], "value": [2.0]})
    assert schema.problems("signals", good) == []
    assert "missing" in schema.problems("signals", good.drop(columns="tag"))[0]
    assert "not float" in schema.problems(
        "signals", good.assign(value=["x"]))[0]
    assert "undeclared" in schema.problems("signals", good.assign(extra=1))[0]
    assert schema.problems("stations", pd.DataFrame(
        {"station": ["a"], "type": ["machine"], "servers": [1], "oee": [0.5]})) == []
    with pytest.raises(KeyError, match="no recorded table 'nope'"):
        schema.table("nope")


def test_alterations_of_the_same_size_are_found_by_the_deep_check(
        servo: tuple[RunResult, Path], tmp_path: Path) -> None:
    _, src = servo
    folder = tmp_path / src.name
    shutil.copytree(src, folder)
    path = folder / "energy.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    deep = runfolder.state(folder, deep=True)
    assert (deep.status, deep.file) == ("damaged", "energy.parquet")


def test_rewrite_replaces_the_folder_and_leftovers_are_removed(tmp_path: Path) -> None:
    frame = pd.DataFrame({"time": np.arange(3.0), "tag": ["a"] * 3, "value": [1.0, 2, 3]})
    summary = {"run_id": "r", "provenance": {"status": "completed"}, "kpis": {"x": 1.0}}
    first = runfolder.write(tmp_path, "r", summary, {"signals": frame})
    again = runfolder.write(tmp_path, "r", {**summary, "kpis": {"x": 2.0}}, {})
    assert first == again and runfolder.read_summary(again)["kpis"] == {"x": 2.0}
    assert runfolder.table_names(again) == ()
    (tmp_path / ".tmp-r-1").mkdir()
    (tmp_path / ".tmp-r-1" / "run.json").write_text("{")
    (tmp_path / ".old-r-2").mkdir()
    removed = runfolder.clean_leftovers(tmp_path)
    assert [p.name for p in removed] == [".old-r-2", ".tmp-r-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_move_aside_keeps_the_folder_out_of_listings(tmp_path: Path) -> None:
    summary = {"run_id": "r", "provenance": {"status": "failed"}, "kpis": {}}
    folder = runfolder.write(tmp_path, "r", summary, {})
    assert runfolder.find_runs(tmp_path) == [folder]
    moved = runfolder.move_aside(folder)
    assert moved == tmp_path / runfolder.DAMAGED_DIR / "r" and (moved / "run.json").is_file()
    assert runfolder.find_runs(tmp_path) == []
    again = runfolder.move_aside(runfolder.write(tmp_path, "r", summary, {}))
    assert again.parent == moved.parent and again != moved  # nothing overwritten


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"), ("{\"provenance\": {", "not valid JSON"), ("[]", "JSON object"),
    ("{}", "no provenance"), ('{"provenance": {"status": "odd"}}', "no valid status"),
    ('{"provenance": {"status": "completed"}, "kpis": {"oee": "high"}}', "not a number"),
    ('{"provenance": {"status": "completed"}, "kpis": {"oee": {"a": 1}}}', "is a dict"),
    ('{"provenance": {"status": "completed"}, "warnings": "none"}', "warnings is not a list"),
])
def test_run_json_damage_names_file_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "run.json").write_text(text)
    with pytest.raises(runfolder.RunFolderError, match=reason) as info:
        runfolder.read_summary(tmp_path)
    assert info.value.file == "run.json" and info.value.folder == tmp_path
    st = runfolder.state(tmp_path)
    assert (st.status, st.file) == ("damaged", "run.json") and reason in st.reason


def test_text_kpis_are_names(tmp_path: Path) -> None:
    assert runfolder.text_kpis() == {"bottleneck", "shifting_bottleneck"}
    data = {"provenance": {"status": "completed"},
            "kpis": {k: "m1" for k in runfolder.text_kpis()} | {"oee": None, "good_units": 3}}
    (tmp_path / "run.json").write_text(json.dumps(data))
    assert runfolder.state(tmp_path).status == "completed"


def test_the_user_documentation_lists_every_table_and_column() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "RUN_FOLDERS.md").read_text()
    for t in schema.TABLES.values():
        section = doc.split(f"### `{t.name}`", 1)
        assert len(section) == 2, t.name
        body = section[1].split("### ", 1)[0]
        for c in t.columns:
            assert f"| `{c.name}` | {c.kind} |" in body, (t.name, c.name)


@pytest.mark.parametrize("duration", ["1 s", "20 min"])
def test_short_runs_are_sound(tmp_path: Path, duration: str) -> None:
    """Tables of runs too short to record anything (no phase, no part) are not damage."""
    for line in ("api_batch", "servo_actuator"):
        folder = run(LINES / line / "line.toml", duration=duration, warmup="0 s",
                     seed=1).save(tmp_path)
        assert runfolder.state(folder, deep=True).status == "completed", (line, duration)
