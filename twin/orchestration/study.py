"""The one study runner: plan, skip completed, retry failed, map on an executor, save.

A study folder holds ``study.json`` (its declared ``kind`` and plan) and ``runs/`` (one run
folder per planned run, see :mod:`twin.observation.runfolder`). Sweeps
(:mod:`twin.orchestration.sweep`) and scale-up studies
(:mod:`twin.orchestration.scaleup_study`) plan their runs and hand them to
:func:`run_planned`, which

- removes the temporary folders a killed save left behind,
- skips every run whose folder is complete and undamaged,
- runs the rest (failed, damaged or missing) on the chosen executor, and
- saves each result as it arrives, so an interrupted study resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from twin.observation import runfolder
from twin.observation.runfolder import RUNS_DIR
from twin.orchestration.executors import Executor, map_unordered
from twin.orchestration.run import PreparedRun, execute_keeping_failures

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each completed run."""


class StudyInterrupted(RuntimeError):
    """The study was interrupted; every completed run is stored and the next call resumes."""

    def __init__(self, done: int, total: int, root: Path) -> None:
        self.done, self.total, self.root = done, total, root
        super().__init__(f"interrupted after {done} of {total} runs; completed runs are kept "
                         f"in {root} and the next run of the study resumes from there")


def run_planned(root: Path, planned: Sequence[PreparedRun], *, executor: Executor = "local",
                workers: int | None = None, cluster: str | None = None,
                progress: Progress | None = None) -> int:
    """Run every planned run of a study that is not stored complete; returns how many ran.

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
    results = map_unordered(execute_keeping_failures, list(todo.values()), executor=executor,
                            workers=workers, cluster=cluster)
    try:
        for _prep, result in results:
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
