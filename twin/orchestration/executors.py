"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

Every executor runs the same function on the same prepared runs, so the same seeds give
identical results in each; only the order in which results arrive differs. Results come back
to the calling process (which writes the run folders), so workers need no shared file system.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Literal

Executor = Literal["serial", "local", "dask"]
EXECUTORS: tuple[str, ...] = ("serial", "local", "dask")


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
    pool = ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx)
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
