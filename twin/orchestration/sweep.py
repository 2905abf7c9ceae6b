"""Studies: a scenario's design points x replications, run anywhere, stored crash-safe.

A study lives in one folder::

    studies/<scenario>/study.json         # kind "sweep", scenario, design points, planned
                                          # runs (rewritten atomically when the plan grows)
    studies/<scenario>/runs/<run_id>/     # one run folder per run (twin.observation.runfolder)

Running a study again skips every run whose folder is complete (``status: completed``) and
undamaged, so an interrupted or crashed sweep resumes where it stopped; a run that failed is
recorded with its traceback and retried on the next attempt, while the sweep goes on; a damaged
folder is run again (see :mod:`twin.orchestration.study`).

Replication ``r`` of every design point uses seed ``seed + r``: configurations are compared
under common random numbers (each station's streams depend only on the seed and its name).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from twin.observation import catalogue
from twin.observation.runfolder import RUNS_DIR, read_study, short_path, write_study
from twin.orchestration import statistics as stats
from twin.orchestration.executors import Executor
from twin.orchestration.run import PreparedRun, execute, prepare
from twin.orchestration.scenario import Scenario
from twin.orchestration.study import Progress, StudyInterrupted, run_planned, stored

SweepInterrupted = StudyInterrupted
"""The sweep was interrupted; every completed run is stored and the next call resumes."""


@dataclass
class Task:
    """One planned run of a study."""

    point: int
    replication: int
    prepared: PreparedRun

    @property
    def run_id(self) -> str:
        return self.prepared.run_id


class Study:
    """A study folder: its plan and the runs stored so far."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.meta: dict[str, Any] = read_study(self.root)
        if self.meta["kind"] != "sweep":
            raise ValueError(f"{self.root} is a {self.meta['kind']} study, not a sweep")

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    def results(self) -> pd.DataFrame:
        """One row per planned run: point, replication, seed, run_id, status (``completed``,
        ``failed``, ``damaged`` or ``missing``), factors, KPIs."""
        rows = []
        factors = self.meta["points"]
        for t in self.meta["tasks"]:
            row: dict[str, Any] = {"point": t["point"], "replication": t["replication"],
                                   "seed": t["seed"], "run_id": t["run_id"], "status": "missing"}
            row.update({f"factor:{k}": v for k, v in factors[t["point"]].items()})
            row["status"], summary = stored(self.root, t["run_id"])
            if summary is not None:
                row.update(summary.get("kpis", {}))
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self, kpi: str | None = None, maximize: bool | None = None) -> pd.DataFrame:
        """Configurations ranked by ``kpi`` with 95% intervals (paired differences to the best)."""
        if maximize is None:
            maximize = (self.meta["maximize"] if kpi in (None, self.meta["rank_by"])
                        else bool(catalogue.kpi(kpi).higher_is_better))
        kpi = kpi or self.meta["rank_by"]
        table = self.results()
        table = table[table["status"] == "completed"]
        if kpi not in table.columns:
            raise ValueError(f"no KPI {kpi!r} in the results of {self.root}")
        ranked = stats.rank(table, kpi, maximize=maximize)
        labels = {i: point_label(p) for i, p in enumerate(self.meta["points"])}
        ranked.insert(1, "configuration", ranked["point"].map(labels))
        return ranked


def point_label(point: dict[str, Any]) -> str:
    """Short label of a design point: ``assembly.servers=3, assemblers.count=3``."""
    return ", ".join(f"{short_path(k)}={v}" for k, v in point.items()) or "(base)"


def run_study(scenario: Scenario | str | Path, out: str | Path = "studies", *,
              executor: Executor = "local", workers: int | None = None,
              cluster: str | None = None, progress: Progress | None = None,
              batch: int | None = None) -> Study:
    """Run (or resume) every run of a scenario's study; returns the :class:`Study`.

    ``batch``: runs per executor task (default: a few batches per worker, see
    :func:`twin.orchestration.study.batch_size`); the results do not depend on it.

    Raises
    ------
    twin.data.checks.SpecError
        If the scenario, its line, a design point or an event is invalid (before any run).
    SweepInterrupted
        On Ctrl-C; completed runs are kept.
    """
    sc = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
    sc.check(f"scenario {sc.name!r}")  # everything is validated before anything is written
    root = Path(out) / sc.name
    (root / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    points = sc.points()
    run = sc.spec.run
    warmup = _stored_warmup(root) if run.warmup == "auto" else None
    if run.warmup == "auto" and warmup is None:
        warmup = _auto_warmup(sc)
    lines = [sc.line_for(p, f"scenario {sc.name!r}, design point {i}")
             for i, p in enumerate(points)]

    def task(point: int, rep: int) -> Task:
        wu = warmup if warmup is not None else run.warmup  # "auto" has set ``warmup``
        prep = prepare(lines[point], duration=run.duration, warmup=wu, seed=run.seed + rep,
                       events=sc.spec.events, engine=run.engine, calibrated=run.calibrated,
                       record=run.record)
        return Task(point, rep, prep)

    n0 = run.min_replications if run.replications == "auto" else int(run.replications)
    tasks = [task(p, r) for p in range(len(points)) for r in range(n0)]
    while True:
        _save_plan(root, sc, points, tasks, warmup)
        run_planned(root, [t.prepared for t in tasks], executor=executor, workers=workers,
                    cluster=cluster, progress=progress, batch=batch)
        if run.replications != "auto":
            break
        more = _more_replications(Study(root), run, len(points))
        if not more:
            break
        tasks += [task(p, r) for p, reps in more.items() for r in reps]
    return Study(root)


def _save_plan(root: Path, sc: Scenario, points: list[dict[str, Any]], tasks: list[Task],
               warmup: float | None) -> None:
    write_study(root, "sweep", {
        "scenario": sc.spec.model_dump(mode="json", by_alias=True),
        "line_file": str(sc.line_path()),
        "rank_by": sc.ranking()[0],
        "maximize": sc.ranking()[1],
        "auto_warmup_s": warmup,
        "points": points,
        "tasks": [{"point": t.point, "replication": t.replication, "seed": t.prepared.seed,
                   "run_id": t.run_id} for t in tasks],
    })


def _more_replications(study: Study, run: Any, n_points: int) -> dict[int, list[int]]:
    """Replications to add per point to reach the target relative half width."""
    planned = study.results()
    table = planned[planned["status"] == "completed"]
    more: dict[int, list[int]] = {}
    for point in range(n_points):
        values = table.loc[table["point"] == point, run.target_kpi].dropna().to_numpy()
        have = int((planned["point"] == point).sum())
        if len(values) < 2 or have >= run.max_replications:
            continue
        need = stats.replications_needed(values, run.target_half_width, relative=True)
        need = min(max(need, have), run.max_replications)
        if need > have:
            more[point] = list(range(have, need))
    return more


def _stored_warmup(root: Path) -> float | None:
    """The warm-up an earlier attempt of this study found (so a resume does not redo it)."""
    try:
        return read_study(root).get("auto_warmup_s")
    except ValueError:
        return None


def _auto_warmup(sc: Scenario) -> float:
    """Warm-up from one pilot run of the base point without warm-up (MSER-5 on WIP)."""
    pilot = sc.prepare(sc.points()[0], sc.spec.run.seed, warmup=0.0, record="tables")
    result = execute(pilot)
    return float(math.ceil(stats.warmup_from_run(result)))
