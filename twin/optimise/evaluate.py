"""Evaluating candidate designs: every evaluation is an ordinary stored run.

Replication ``r`` of every candidate uses seed ``scenario seed + r``; since each station's
random streams depend only on the seed and the station's name, candidates are compared under
common random numbers. Runs go through the one study runner
(:func:`twin.orchestration.study.run_planned`): a run whose folder is stored complete is read
back, not run again, and a failed or damaged one is run again, so an interrupted optimisation
resumes where it stopped.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.orchestration import statistics as stats
from twin.orchestration.executors import Executor
from twin.orchestration.run import PreparedRun, execute, prepare
from twin.orchestration.scenario import Scenario
from twin.orchestration.study import Progress, run_planned, stored


@dataclass
class Evaluator:
    """Runs (or reads back) replications of design points of one scenario.

    Parameters
    ----------
    scenario
        The scenario; its overrides apply first, then the candidate's values.
    root
        The study folder (run folders go to ``<root>/runs``).
    warmup
        Warm-up [s] of every run; ``None``: the scenario's (or the line's).
    """

    scenario: Scenario
    root: Path
    executor: Executor = "local"
    workers: int | None = None
    cluster: str | None = None
    progress: Progress | None = None
    warmup: float | None = None
    executed: int = 0
    read_back: int = 0
    planned: list[tuple[str, dict[str, Any], int, int]] = field(default_factory=list)
    _lines: dict[str, Any] = field(default_factory=dict)

    def prepared(self, point: dict[str, Any], rep: int,
                 record: str | None = None) -> PreparedRun:
        """The prepared run of replication ``rep`` of ``point`` on the scenario's engine
        (``auto`` unless it says otherwise: compiled where the line allows)."""
        key = json.dumps(point, sort_keys=True, default=str)
        if key not in self._lines:
            self._lines[key] = self.scenario.line_for(
                {**self.scenario.spec.overrides, **point},
                f"scenario {self.scenario.name!r}, candidate {point}")
        run = self.scenario.spec.run
        wu = self.warmup if self.warmup is not None else (
            None if run.warmup in (None, "auto") else run.warmup)
        return prepare(self._lines[key], duration=run.duration, warmup=wu, seed=run.seed + rep,
                       events=self.scenario.spec.events, engine=run.engine,
                       record=record or run.record)

    def kpis(self, jobs: list[tuple[dict[str, Any], int]]) -> list[dict[str, Any]]:
        """Line KPIs of each ``(point, replication)`` with its ``run_id``; a run that failed
        gives ``{"error": ..., "run_id": ...}`` instead."""
        preps = [self.prepared(p, r) for p, r in jobs]
        unique = {p.run_id: p for p in preps}
        ran = run_planned(self.root, list(unique.values()), executor=self.executor,
                          workers=self.workers, cluster=self.cluster, progress=self.progress)
        self.executed += ran
        self.read_back += len(unique) - ran
        out = []
        for (point, rep), p in zip(jobs, preps, strict=True):
            self.planned.append((p.run_id, point, rep, p.seed))
            status, summary = stored(self.root, p.run_id)
            if status != "completed" or summary is None:
                out.append({"error": f"run {p.run_id} {status}", "run_id": p.run_id})
            else:
                out.append({**summary.get("kpis", {}), "run_id": p.run_id})
        return out

    def auto_warmup(self, point: dict[str, Any]) -> float:
        """Warm-up [s] from one pilot run of ``point`` without warm-up (MSER-5 on WIP)."""
        saved, self.warmup = self.warmup, 0.0
        try:
            pilot = self.prepared(point, 0, record="tables")  # MSER-5 reads the WIP
        finally:
            self.warmup = saved
        return float(math.ceil(stats.warmup_from_run(execute(pilot))))
