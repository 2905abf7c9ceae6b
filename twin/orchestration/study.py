"""The one study runner: plan, skip completed, retry failed, map on an executor, save.

A study folder holds ``study.json`` (its declared ``kind`` and plan) and ``runs/`` (one run
folder per planned run, see :mod:`twin.observation.runfolder`). Sweeps
(:mod:`twin.orchestration.sweep`) and scale-up studies
(:mod:`twin.orchestration.scaleup_study`) plan their runs and hand them to
:func:`run_planned`, which

- removes the temporary folders a killed save left behind,
- skips every run whose folder is complete and undamaged,
- runs the rest (failed, damaged or missing) on the chosen executor, in batches of several
  runs per task (:func:`execute_batch`: one call of the executor runs many replications
  and configurations, which amortises the executor's per-task cost over runs of a fraction
  of a second on the compiled engine), and
- saves each result as it arrives, so an interrupted study resumes where it stopped (an
  interrupt loses only the runs of the batches under way).

Every run depends only on its prepared inputs, so the stored results are the same whatever
the executor, the number of workers and the batch size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from twin.observation import runfolder
from twin.observation.runfolder import RUNS_DIR
from twin.orchestration.executors import Executor, default_workers, map_unordered
from twin.orchestration.run import PreparedRun, RunResult, execute_keeping_failures
from twin.simulation.compiled.replicate import Replicas

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each completed run."""

MAX_BATCH = 16
"""Most runs in one executor task (batches are smaller when there are few runs per
worker, so that every worker gets work)."""
BATCHES_PER_WORKER = 4
"""Aim: at least this many batches per worker (the last ones balance the load)."""


def execute_batch(batch: Sequence[PreparedRun]) -> list[RunResult]:
    """Run several prepared runs in one call, in order; a failed run comes back as its
    result (with the traceback) and the others go on. What executors send to workers.

    Compiled runs of one line (the same resolved spec: replications, seeds) share its
    lowering (:class:`twin.simulation.compiled.replicate.Replicas`); each run still
    depends only on its own inputs and gives the results it gives alone."""
    lines: dict[str, Replicas] = {}
    out = []
    for p in batch:
        replicas = None
        if p.engine == "compiled":
            replicas = lines.setdefault(p.spec_hash, Replicas(p.line))
            if p.line is not replicas.line and p.line != replicas.line:
                replicas = None  # another line under the same hash: lowered on its own
        out.append(execute_keeping_failures(p, replicas))
    return out


def batch_size(runs: int, workers: int) -> int:
    """Runs per executor task for ``runs`` runs on ``workers`` workers."""
    return max(1, min(MAX_BATCH, math.ceil(runs / (BATCHES_PER_WORKER * workers))))


class StudyInterrupted(RuntimeError):
    """The study was interrupted; every completed run is stored and the next call resumes."""

    def __init__(self, done: int, total: int, root: Path) -> None:
        self.done, self.total, self.root = done, total, root
        super().__init__(f"interrupted after {done} of {total} runs; completed runs are kept "
                         f"in {root} and the next run of the study resumes from there")


def run_planned(root: Path, planned: Sequence[PreparedRun], *, executor: Executor = "local",
                workers: int | None = None, cluster: str | None = None,
                progress: Progress | None = None, batch: int | None = None) -> int:
    """Run every planned run of a study that is not stored complete; returns how many ran.

    ``batch``: runs per executor task (default: :func:`batch_size`).

    Raises
    ------
    StudyInterrupted
        On Ctrl-C; completed runs are kept.
    """
    runs = Path(root) / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    runfolder.clean_leftovers(runs)
    total = len(planned)
    todo = {p.run_id: p for p in planned if not runfolder.is_completed(runs / p.run_id)}
    done = total - len(todo)
    if progress:
        progress(done, total)
    if batch is not None and batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    size = batch or batch_size(len(todo), workers or default_workers())
    order = list(todo.values())
    batches = [tuple(order[i:i + size]) for i in range(0, len(order), size)]
    results = map_unordered(execute_batch, batches, executor=executor, workers=workers,
                            cluster=cluster)
    try:
        for _batch, batch_results in results:
            for result in batch_results:
                result.save(runs)
                done += 1
                if progress:
                    progress(done, total)
    except KeyboardInterrupt:
        results.close()
        raise StudyInterrupted(done, total, Path(root)) from None
    return len(todo)


def stored(root: str | Path, run_id: str) -> tuple[str, dict[str, Any] | None]:
    """A planned run's status (``completed``, ``failed``, ``damaged`` or ``missing``) and its
    summary (``None`` unless completed or failed)."""
    folder = Path(root) / RUNS_DIR / run_id
    if not runfolder.is_run_folder(folder):
        return "missing", None
    st = runfolder.state(folder)
    if st.status == "damaged":
        return "damaged", None
    return st.status, runfolder.read_summary(folder)
