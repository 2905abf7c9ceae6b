"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

Every executor runs the same function on the same prepared runs, so the same seeds give
identical results in each; only the order in which results arrive differs. Results come back
to the calling process (which writes the run folders), so workers need no shared file system.

Workers this module starts end with the process that started them, so killing a sweep (even
with SIGKILL, where no clean-up runs) leaves no worker behind: each local-pool worker watches
its parent and exits when it is gone (:func:`end_with_parent`); a local Dask cluster's workers
do so by themselves (Dask's nannies live in the parent). Workers of an existing Dask cluster
(``cluster=``) belong to that cluster and are left alone.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Literal

Executor = Literal["serial", "local", "dask"]
EXECUTORS: tuple[str, ...] = ("serial", "local", "dask")


PARENT_POLL_S = 0.2
"""How often a worker checks that the process that started it is still there [s]."""


def end_with_parent(parent: int) -> None:
    """In a worker process: end this process (exit status 70) as soon as ``parent`` is gone.

    A daemon thread polls every :data:`PARENT_POLL_S` seconds: a worker whose parent was
    ``parent`` notices that it was re-parented; otherwise it checks that ``parent`` still
    exists. It runs even while the worker is busy with a run (the kernels release the GIL
    between calls).
    """
    direct = os.getppid() == parent

    def gone() -> bool:
        if direct:
            return os.getppid() != parent
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return True
        except OSError:  # exists, but not ours to signal
            return False
        return False

    def watch() -> None:
        while not gone():
            time.sleep(PARENT_POLL_S)
        os._exit(70)

    threading.Thread(target=watch, name="twin-end-with-parent", daemon=True).start()


def default_workers() -> int:
    """All cores of this machine."""
    return max(1, os.cpu_count() or 1)


def map_unordered(fn: Callable[[Any], Any], items: Sequence[Any], *,
                  executor: Executor = "local", workers: int | None = None,
                  cluster: str | None = None) -> Iterator[tuple[Any, Any]]:
    """Apply ``fn`` to every item, yielding ``(item, result)`` as results arrive.

    Parameters
    ----------
    executor
        ``"serial"`` (this process, in order), ``"local"`` (a process pool of ``workers``
        processes, default all cores) or ``"dask"`` (the scheduler at ``cluster``, e.g.
        ``"tcp://10.0.0.5:8786"``, or a local Dask cluster of ``workers`` processes).

    Notes
    -----
    Closing the iterator early (an interrupt, an error in the caller) cancels what has not
    started; results already yielded are the caller's to keep.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r} (expected one of {EXECUTORS})")
    if workers is not None and workers < 1:
        raise ValueError("workers must be >= 1")
    if cluster is not None and executor != "dask":
        raise ValueError("a cluster address needs executor 'dask'")
    if not items:
        return
    if executor == "serial":
        for item in items:
            yield item, fn(item)
    elif executor == "local":
        yield from _local(fn, items, workers or default_workers())
    else:
        yield from _dask(fn, items, workers or default_workers(), cluster)


def _local(fn: Callable[[Any], Any], items: Sequence[Any],
           workers: int) -> Iterator[tuple[Any, Any]]:
    # 'spawn' starts clean interpreters: no inherited threads or locks, same on every OS.
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx,
                               initializer=end_with_parent, initargs=(os.getpid(),))
    try:
        pending: dict[Future[Any], Any] = {pool.submit(fn, item): item for item in items}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(fn: Callable[[Any], Any], items: Sequence[Any], workers: int,
          cluster: str | None) -> Iterator[tuple[Any, Any]]:
    from distributed import Client, LocalCluster, as_completed

    local = None
    if cluster is None:
        # ':0' puts the scheduler's HTTP endpoint on a free port: two local clusters (or
        # another Dask user) never fight over the default 8787.
        local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                             dashboard_address=":0", host="127.0.0.1")
        client = Client(local)
    else:
        client = Client(cluster, timeout="30s")
    try:
        futures = client.map(fn, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            yield items[index[fut.key]], fut.result()
    finally:
        client.close()
        if local is not None:
            local.close()
