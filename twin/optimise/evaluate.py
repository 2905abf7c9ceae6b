"""Evaluating candidate designs: every evaluation is an ordinary stored run.

Replication ``r`` of every candidate uses seed ``scenario seed + r``; since each station's
random streams depend only on the seed and the station's name, candidates are compared under
common random numbers. A run whose folder is already complete in the store is read back, not
run again, so an interrupted optimisation resumes where it stopped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.orchestration import statistics as stats
from twin.orchestration.executors import Executor, map_unordered
from twin.orchestration.run import PreparedRun, execute, execute_keeping_failures, prepare
from twin.orchestration.scenario import Scenario

Progress = Callable[[int, int], None]


class EvaluationInterrupted(RuntimeError):
    """Ctrl-C during an evaluation: completed runs are stored; run again to resume."""


@dataclass
class Evaluator:
    """Runs (or reads back) replications of design points of one scenario.

    Parameters
    ----------
    scenario
        The scenario; its overrides apply first, then the candidate's values.
    runs_dir
        Folder of the run folders (``<study>/runs``).
    """

    scenario: Scenario
    runs_dir: Path
    executor: Executor = "local"
    workers: int | None = None
    cluster: str | None = None
    progress: Progress | None = None
    warmup: float | None = None
    executed: int = 0
    read_back: int = 0
    _lines: dict[str, Any] = field(default_factory=dict)

    def prepared(self, point: dict[str, Any], rep: int) -> PreparedRun:
        """The prepared run of replication ``rep`` of ``point``."""
        key = json.dumps(point, sort_keys=True, default=str)
        if key not in self._lines:
            self._lines[key] = self.scenario.line_for(
                {**self.scenario.spec.overrides, **point},
                f"scenario {self.scenario.name!r}, candidate {point}")
        run = self.scenario.spec.run
        wu = self.warmup if self.warmup is not None else (
            None if run.warmup in (None, "auto") else run.warmup)
        return prepare(self._lines[key], duration=run.duration, warmup=wu, seed=run.seed + rep,
                       events=self.scenario.spec.events)

    def kpis(self, jobs: list[tuple[dict[str, Any], int]]) -> list[dict[str, Any]]:
        """Line KPIs of each ``(point, replication)``; a failed run gives ``{"error": ...}``."""
        preps = [self.prepared(p, r) for p, r in jobs]
        todo = {p.run_id: p for p in preps if _summary(self.runs_dir / p.run_id) is None}
        self.read_back += len({p.run_id for p in preps}) - len(todo)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        results = map_unordered(execute_keeping_failures, list(todo.values()),
                                executor=self.executor, workers=self.workers,
                                cluster=self.cluster)
        done = 0
        try:
            for _prep, result in results:
                result.save(self.runs_dir)
                done += 1
                self.executed += 1
                if self.progress:
                    self.progress(done, len(todo))
        except KeyboardInterrupt:
            results.close()
            raise EvaluationInterrupted(
                f"interrupted: {self.executed} run(s) stored in {self.runs_dir}; "
                "run the same command again to resume") from None
        out = []
        for p in preps:
            summary = _summary(self.runs_dir / p.run_id, completed_only=False) or {}
            status = summary.get("provenance", {}).get("status")
            if status != "completed":
                out.append({"error": f"run {p.run_id} {status or 'missing'}", "run_id": p.run_id})
            else:
                out.append({**summary.get("kpis", {}), "run_id": p.run_id})
        return out

    def auto_warmup(self, point: dict[str, Any]) -> float:
        """Warm-up [s] from one pilot run of ``point`` without warm-up (MSER-5 on WIP)."""
        saved, self.warmup = self.warmup, 0.0
        try:
            pilot = self.prepared(point, 0)
        finally:
            self.warmup = saved
        return float(math.ceil(stats.warmup_from_run(execute(pilot))))


def _summary(folder: Path, completed_only: bool = True) -> dict[str, Any] | None:
    """The run.json of a run folder (None if missing, unreadable or, by default, not
    completed: a failed run is run again on resume, as in a sweep)."""
    try:
        summary = json.loads((folder / "run.json").read_text())
        status = summary["provenance"]["status"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if completed_only and status != "completed":
        return None
    return summary
