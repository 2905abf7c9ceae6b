"""Single runs: settings, provenance, run folders (atomic), failed runs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from twin.data.checks import line_from_dict
from twin.orchestration import run as run_module
from twin.orchestration.run import RunFailed, run, spec_hash

REFERENCE = Path(__file__).resolve().parents[2] / "lines" / "servo_actuator" / "line.toml"


def small_line(cycle: str = "1 s") -> dict:
    return {
        "line": {"name": "small"},
        "products": {"A": {}},
        "stations": {
            "src": {"type": "source", "product": "A",
                    "interarrival": {"dist": "exponential", "mean": "2 s"}, "to": "m"},
            "m": {"type": "machine", "cycle_time": cycle, "to": "out",
                  "power": {"producing": "10 kW", "idle": "1 kW"}},
            "out": {"type": "sink"},
        },
    }


def test_provenance_is_complete() -> None:
    r = run(small_line(), duration="2000 s", warmup="100 s", seed=5)
    p = r.provenance
    assert p["status"] == "completed"
    assert p["seed"] == 5
    assert p["settings"] == {"duration_s": 2000.0, "warmup_s": 100.0, "seed": 5}
    assert len(p["spec_hash"]) == 64
    assert {"python", "simpy", "numpy", "pandas", "pilot-twin"} <= set(p["versions"])
    assert p["parameters"]["stations"]["m"]["cycle_time"]["value"] == "1.0 s"  # SI
    assert p["wall_time_s"] > 0


def test_spec_hash_ignores_how_quantities_are_written() -> None:
    """'1 s' and '1000 ms' resolve to the same SI spec, so to the same hash."""
    a = line_from_dict(small_line("1 s"))
    b = line_from_dict(small_line("1000 ms"))
    c = line_from_dict(small_line("2 s"))
    assert spec_hash(a) == spec_hash(b) != spec_hash(c)


def test_toml_file_and_dict_give_identical_results() -> None:
    data = tomllib.loads(REFERENCE.read_text())
    a = run(REFERENCE, duration="3 d", warmup="1 d", seed=2)
    b = run(data, duration="3 d", warmup="1 d", seed=2)
    assert a.run_id == b.run_id
    pd.testing.assert_frame_equal(a.tables["events"], b.tables["events"])
    assert json.dumps(a.summary()["kpis"]) == json.dumps(b.summary()["kpis"])


def test_warmup_is_excluded_from_counts() -> None:
    """Parts finished before the warm-up ends are not counted."""
    full = run(small_line(), duration="3000 s", warmup="0 s", seed=1)
    later = run(small_line(), duration="2000 s", warmup="1000 s", seed=1)
    parts = full.tables["parts"]
    expected = int(((parts["done"] >= 1000) & (parts["done"] <= 3000)).sum())
    assert later.kpis["good_units"] == expected
    assert expected < full.kpis["good_units"]


def test_run_folder_round_trip(tmp_path: Path) -> None:
    r = run(small_line(), duration="2000 s", seed=3)
    folder = r.save(tmp_path)
    assert folder.name == r.run_id
    summary = json.loads((folder / "run.json").read_text())
    assert summary["provenance"]["spec_hash"] == r.provenance["spec_hash"]
    assert summary["kpis"]["good_units"] == r.kpis["good_units"]
    for name, frame in r.tables.items():
        back = pd.read_parquet(folder / f"{name}.parquet")
        assert len(back) == len(frame), name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_interrupted_save_leaves_previous_run_intact(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash while writing never leaves a half folder under the final name."""
    r = run(small_line(), duration="2000 s", seed=3)
    first = r.save(tmp_path)
    before = (first / "run.json").read_text()
    calls = {"n": 0}
    original = pd.DataFrame.to_parquet

    def failing(self: pd.DataFrame, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        r.save(tmp_path)
    assert (first / "run.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [first.name]


def test_failed_run_carries_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, *args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("model bug")

    monkeypatch.setattr(run_module.LineModel, "run", broken)
    with pytest.raises(RunFailed) as info:
        run(small_line(), duration="100 s")
    result = info.value.result
    assert result.provenance["status"] == "failed"
    assert "ZeroDivisionError: model bug" in result.provenance["error"]
    folder = result.save(tmp_path)
    saved = json.loads((folder / "run.json").read_text())
    assert saved["provenance"]["status"] == "failed"


@pytest.mark.parametrize("kwargs", [{"duration": "-5 s"}, {"seed": -1}, {"warmup": "2 kg"}])
def test_bad_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        run(small_line(), **kwargs)
