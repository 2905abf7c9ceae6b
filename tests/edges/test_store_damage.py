"""A damaged run folder never makes the store unusable for the others.

Each damage kind (empty or truncated run.json, missing provenance, a KPI of the wrong type,
a truncated Parquet table, a table with another schema) is put into one run of a small sweep
study; then ``twin runs``, ``twin query``, ``compare``, ``report``, the dashboard's run
listing and API, and resuming the study are checked: the damaged run is reported with its
file and reason, the others are used, the resume runs it again, ``--check`` finds it and
``--repair`` moves it aside.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from twin.edges.cli import main
from twin.edges.query import RunStore
from twin.edges.report import ReportError, build_report
from twin.observation import runfolder
from twin.orchestration.compare import compare
from twin.orchestration.sweep import Study, run_study

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`",
                            category=StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from twin.edges.dashboard.server import create_app

LINE = """\
[line]
name = "tiny"

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
to = "out"

[stations.out]
type = "sink"
"""

SCENARIO = """\
[scenario]
name = "tiny_study"
line = "line.toml"

[run]
duration = "2000 s"
warmup = "0 s"
replications = 2
seed = 11

[sweep]
design = "grid"
factors = { "stations.m.servers" = { levels = [1, 2] } }
"""


def write_scenario(folder: Path) -> Path:
    (folder / "line.toml").write_text(LINE)
    (folder / "scenario.toml").write_text(SCENARIO)
    return folder / "scenario.toml"


def _json_edit(edit: Callable[[dict], None]) -> Callable[[Path], str]:
    def damage(folder: Path) -> str:
        data = json.loads((folder / "run.json").read_text())
        edit(data)
        (folder / "run.json").write_text(json.dumps(data))
        return "run.json"
    return damage


def _empty(folder: Path) -> str:
    (folder / "run.json").write_text("")
    return "run.json"


def _truncated_json(folder: Path) -> str:
    text = (folder / "run.json").read_text()
    (folder / "run.json").write_text(text[: len(text) // 2])
    return "run.json"


def _truncated_parquet(folder: Path) -> str:
    path = folder / "events.parquet"
    path.write_bytes(path.read_bytes()[:100])
    return "events.parquet"


def _other_schema(folder: Path) -> str:
    """A foreign events table, with its size recorded as if written so (no size mismatch):
    only the schema check can find it."""
    path = folder / "events.parquet"
    pd.DataFrame({"when": [1.0], "what": ["x"]}).to_parquet(path, index=False)
    data = json.loads((folder / "run.json").read_text())
    data["files"]["events.parquet"]["bytes"] = path.stat().st_size
    (folder / "run.json").write_text(json.dumps(data))
    return "events.parquet"


DAMAGE: dict[str, Callable[[Path], str]] = {
    "empty_run_json": _empty,
    "truncated_run_json": _truncated_json,
    "missing_provenance": _json_edit(lambda d: d.pop("provenance")),
    "kpi_wrong_type": _json_edit(lambda d: d["kpis"].update(throughput_per_h="fast")),
    "kpi_not_scalar": _json_edit(lambda d: d["kpis"].update(good_units=[1, 2])),
    "truncated_parquet": _truncated_parquet,
    "table_other_schema": _other_schema,
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep study of 2 points x 2 replications (serial)."""
    base = tmp_path_factory.mktemp("pristine")
    scenario = write_scenario(base)
    run_study(scenario, base / "studies", executor="serial")
    return base


def cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request: pytest.FixtureRequest, pristine: Path,
            tmp_path: Path) -> tuple[Path, Path, str, Path]:
    """(copy of the base folder, study folder, damaged file, damaged run folder)."""
    base = tmp_path / "copy"
    shutil.copytree(pristine, base)
    study = next((base / "studies").iterdir())
    folders = sorted((study / "runs").iterdir())
    victim = folders[0]
    file = DAMAGE[request.param](victim)
    return base, study, file, victim


def test_damage_is_reported_everywhere_and_repaired(damaged: tuple[Path, Path, str, Path]
                                                    ) -> None:
    base, study, file, victim = damaged
    others = sorted(p for p in (study / "runs").iterdir() if p != victim)

    st = runfolder.state(victim)
    assert (st.status, st.file) == ("damaged", file)

    # twin runs: the others listed, the damaged one named with its file and reason
    code, out, _ = cli(["runs", str(base)])
    assert code == 0
    for folder in others:
        assert folder.name in out
    assert f"damaged: {victim} ({file}:" in out

    # twin query: the views hold the others only; the damaged one is named on stderr
    code, out, err = cli(["query", "select run_id from runs", "--dir", str(base), "--csv"])
    assert code == 0
    assert sorted(out.split()[1:]) == sorted(f.name for f in others)
    assert str(victim) in err and file in err
    with RunStore(base) as store:
        events = store.query("select distinct run_id from events")
        assert set(events["run_id"]) == {f.name for f in others}

    # compare: the study's points still compare (the damaged run is left out); the damaged
    # run itself is refused with its file named
    table = compare(study, f"{study}#1")
    assert len(table) > 0
    with pytest.raises(runfolder.RunFolderError, match=file.replace(".", r"\.")):
        compare(victim, others[0])

    # report: the study report builds; the damaged run's report names the file
    assert "<html" in build_report(study).lower()
    with pytest.raises(ReportError, match=file.replace(".", r"\.")):
        build_report(victim)

    # dashboard: the listing shows it as damaged with the file; its API answers 422
    client = TestClient(create_app(base), base_url="http://127.0.0.1")
    rows = client.get("/api/runs").json()["runs"]
    bad = [r for r in rows if r["status"] == "damaged"]
    assert [(r["run_id"], r["file"]) for r in bad] == [(victim.name, file)]
    assert len(rows) == len(others) + 1
    rid = victim.relative_to(base).as_posix()
    assert client.get(f"/api/runs/{rid}/meta").status_code == 422
    good = others[0].relative_to(base).as_posix()
    assert client.get(f"/api/runs/{good}/meta").status_code == 200

    # --check finds it (exit 1); --repair moves it aside, nothing is deleted
    code, out, _ = cli(["runs", str(base), "--check"])
    assert code == 1 and f"damaged: {victim} ({file}:" in out
    code, out, _ = cli(["runs", str(base), "--repair"])
    assert code == 0
    moved = study / "runs" / runfolder.DAMAGED_DIR / victim.name
    assert moved.is_dir() and not victim.exists()
    assert cli(["runs", str(base), "--check"])[0] == 0


def test_resume_reruns_the_damaged_run_only(damaged: tuple[Path, Path, str, Path]) -> None:
    base, study, file, victim = damaged
    others = sorted(p for p in (study / "runs").iterdir() if p != victim)
    stamps = {p: (p / "run.json").stat().st_mtime_ns for p in others}
    scenario = base / "scenario.toml"
    resumed = run_study(scenario, base / "studies", executor="serial")
    assert runfolder.state(victim, deep=True).status == "completed"
    assert {p: (p / "run.json").stat().st_mtime_ns for p in others} == stamps
    assert set(resumed.results()["status"]) == {"completed"}


def test_study_results_mark_the_damaged_run(damaged: tuple[Path, Path, str, Path]) -> None:
    _, study, _, victim = damaged
    table = Study(study).results().set_index("run_id")
    assert table.loc[victim.name, "status"] == "damaged"
    assert (table.drop(index=victim.name)["status"] == "completed").all()
