"""Small lines and scenarios for the sweep tests: each run takes a fraction of a second."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

LINE_TOML = textwrap.dedent("""\
    [line]
    name = "tiny"

    [run]
    duration = "3000 s"
    warmup = "0 s"

    [products.A]

    [stations.src]
    type = "source"
    product = "A"
    interarrival = { dist = "exponential", mean = "10 s" }
    to = "m"

    [stations.m]
    type = "machine"
    buffer = 5
    cycle_time = { dist = "exponential", mean = "6 s" }
    power = { producing = "10 kW", idle = "1 kW" }
    to = "m2"

    [stations.m2]
    type = "machine"
    buffer = 5
    cycle_time = { dist = "exponential", mean = "5 s" }
    to = "out"

    [stations.out]
    type = "sink"
    """)

TABLES = ("events", "states", "parts", "stops", "energy", "stations")


def write_line(folder: Path, text: str = LINE_TOML) -> Path:
    """Write ``line.toml`` into ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "line.toml"
    path.write_text(text)
    return path


def scenario_dict(name: str = "tiny_study", **extra: Any) -> dict[str, Any]:
    """Scenario data over ``line.toml`` in the same folder; ``extra`` replaces top-level keys."""
    data: dict[str, Any] = {
        "name": name,
        "line": "line.toml",
        "run": {"duration": "3000 s", "warmup": "0 s", "replications": 2, "seed": 11},
        "sweep": {"design": "grid",
                  "factors": {"stations.m.servers": {"levels": [1, 2]}}},
    }
    data.update(extra)
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def to_toml(data: dict[str, Any]) -> str:
    """Scenario data as TOML (a [scenario] table, then one table per nested section)."""
    top = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    out = ["[scenario]"] + [f"{k} = {_toml_value(v)}" for k, v in top.items()]
    for key, value in data.items():
        if isinstance(value, dict):
            out += ["", f"[{key}]"] + [f"{json.dumps(k)} = {_toml_value(v)}"
                                       for k, v in value.items()]
        elif isinstance(value, list):
            for item in value:
                out += ["", f"[[{key}]]"] + [f"{json.dumps(k)} = {_toml_value(v)}"
                                             for k, v in item.items()]
    return "\n".join(out) + "\n"


def write_scenario(folder: Path, data: dict[str, Any] | None = None,
                   filename: str = "scenario.toml") -> Path:
    """Write ``line.toml`` (if missing) and a scenario TOML into ``folder``."""
    if not (folder / "line.toml").exists():
        write_line(folder)
    path = folder / filename
    path.write_text(to_toml(data if data is not None else scenario_dict()))
    return path


def kpi_columns(table: pd.DataFrame) -> list[str]:
    """Columns of Study.results() that come from the runs (factors and KPIs)."""
    return [c for c in table.columns if c not in ("status",)]


def visible_runs(runs_dir: Path) -> list[Path]:
    """Run folders (not temporary dot-folders)."""
    return sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_tables(run_folder: Path) -> dict[str, pd.DataFrame]:
    """The Parquet tables of a run folder: every table of :data:`TABLES`, or only the
    ``stations`` and ``energy`` tables of a run that kept its KPIs only."""
    kpis_only = json.loads((run_folder / "run.json").read_text())["provenance"].get(
        "record") == "kpis"
    names = ("energy", "stations") if kpis_only else TABLES
    return {name: pd.read_parquet(run_folder / f"{name}.parquet") for name in names}


def assert_same_run_tables(a: Path, b: Path) -> None:
    """The Parquet tables of two run folders are equal."""
    ta, tb = read_tables(a), read_tables(b)
    assert ta.keys() == tb.keys()
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], obj=f"{a.name}/{name}")


def kpis_of(run_folder: Path) -> dict[str, Any]:
    """The KPI summary stored in a run's run.json."""
    return json.loads((run_folder / "run.json").read_text())["kpis"]


def sorted_results(study: Any) -> pd.DataFrame:
    """Study.results() sorted by run_id with a fresh index."""
    return study.results().sort_values("run_id").reset_index(drop=True)


def summary_without_clock(run_folder: Path) -> dict[str, Any]:
    """run.json without what depends on the wall clock (start time, wall time)."""
    summary = json.loads((run_folder / "run.json").read_text())
    for key in ("started_utc", "wall_time_s"):
        summary["provenance"].pop(key)
    return summary
