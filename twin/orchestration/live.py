"""A run that others can watch while it runs.

:class:`LiveRun` runs a prepared line in a background thread, in chunks of simulated time
paced at a speed-up over wall-clock time (``speed=60``: one simulated minute per second) or
as fast as possible (``speed=None``). Watchers read what is new with a cursor::

    live = LiveRun(prepare("lines/servo_actuator/line.toml", duration="7 d"), speed=3600)
    live.start()
    records, cursor = live.since(None)       # everything recorded so far
    records, cursor = live.since(cursor)     # only what was recorded since

``since`` slices the new entries off the Recorder's column lists; it never copies history and
never stops the simulation: the lists are only ever appended to, so their lengths only grow,
and a row whose columns are not all appended yet is left for the next call. When the run
reaches its end, its :class:`~twin.orchestration.run.RunResult` is built exactly as
:func:`~twin.orchestration.run.execute` builds it (same seed, same tables) and saved under
``out`` if given.

Alarm actions (acknowledge, shelve) come from other threads; they are queued and applied by
the simulation thread between chunks, so the alarm monitor is never touched by two threads.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from twin.observation import schema
from twin.observation.recorder import Recorder
from twin.orchestration.run import (
    PreparedRun,
    RunResult,
    finish_tables,
    run_warnings,
    start_provenance,
)
from twin.simulation.line import LineModel

Columns = dict[str, list[Any]]

PROFILE_VARIABLES = ("temperature_K", "conversion")
"""Kernel profile columns streamed to watchers (batch temperature and conversion)."""
PROFILE_POINTS = 60
"""Profiles are thinned to at most this many points when streamed."""


def _finite(values: list[Any]) -> list[Any]:
    """JSON-safe floats: NaN and infinities become ``None``."""
    return [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]


def _table_of_rows(rows: list[Any], names: tuple[str, ...] | None) -> Columns:
    """Rows (tuples or dicts) as columns (values as recorded: writers make them JSON-safe)."""
    if not rows:
        return {}
    if isinstance(rows[0], dict):
        keys = names or tuple(rows[0])
        return {k: [r.get(k) for r in rows] for k in keys}
    width = len(rows[0])
    keys = names if names and len(names) == width else tuple(f"c{i}" for i in range(width))
    return {k: [r[i] for r in rows] for i, k in enumerate(keys)}


def _profiles(rows: list[Any]) -> Columns:
    """Kernel profiles, thinned, with absolute times [s] and only the streamed variables."""
    out: Columns = {"part": [], "station": [], "phase": [], "time": []}
    for v in PROFILE_VARIABLES:
        out[v] = []
    for part, station, phase, start, stretch, data, columns in rows:
        arr = np.asarray(data, dtype=float)
        if arr.ndim != 2 or "time_s" not in columns:
            continue
        step = max(1, math.ceil(arr.shape[0] / PROFILE_POINTS))
        idx = np.unique(np.r_[np.arange(0, arr.shape[0], step), arr.shape[0] - 1])
        t = start + arr[idx, columns.index("time_s")] * stretch
        out["part"].append(int(part))
        out["station"].append(int(station))
        out["phase"].append(str(phase))
        out["time"].append(_finite(t.tolist()))
        for v in PROFILE_VARIABLES:
            out[v].append(_finite(arr[idx, columns.index(v)].tolist()) if v in columns else None)
    return out


def _rows(buffer: tuple[list[Any], ...] | list[Any]) -> int:
    """Complete rows of a buffer (columns are appended one after another)."""
    return min(len(c) for c in buffer) if isinstance(buffer, tuple) else len(buffer)


def alarm_rows_of(monitor: Any) -> list[Any] | None:
    """The append-only list of alarm event rows of an alarm monitor, if it has one."""
    for name in ("rows", "log", "events", "records"):
        rows = getattr(monitor, name, None)
        if isinstance(rows, list):
            return rows
    return None


class LiveRun:
    """A prepared run executed in a background thread, readable while it runs.

    Parameters
    ----------
    prep
        The run (from :func:`~twin.orchestration.run.prepare`).
    speed
        Simulated seconds per wall-clock second; ``None`` runs as fast as possible.
    out
        Folder to save the run folder in when the run completes (``None``: not saved).
    chunk
        Wall-clock seconds between two chunks when paced (the simulation advances to the
        paced time, then waits).
    monitor
        An alarm monitor (``ack(name, t)``, ``shelve(name, t, duration)`` and an append-only
        list of alarm rows); default: the model's own ``alarms`` monitor, if it has one. A
        callable is called with the model to make one.
    watch
        Signal tags to record besides those the alarms watch (``signals`` rows; see
        :class:`~twin.simulation.line.LineModel`), e.g. every tag of
        :func:`~twin.data.alarms.signal_tags` for a twin that serves its signals.
    """

    def __init__(self, prep: PreparedRun, *, speed: float | None = None,
                 out: str | Path | None = None, chunk: float = 0.05,
                 monitor: Any = None, watch: Iterable[str] = ()) -> None:
        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number of simulated seconds per "
                             f"second (or None: as fast as possible), not {speed!r}")
        self.prep = prep
        self.speed = speed
        self.out = Path(out) if out is not None else None
        self.chunk = float(chunk)
        self.recorder = Recorder()
        self.model = LineModel(prep.line, prep.seed, self.recorder, prep.events, watch=watch)
        if callable(monitor) and not hasattr(monitor, "ack"):
            monitor = monitor(self.model)
        self.monitor = monitor if monitor is not None else getattr(self.model, "alarms", None)
        self.end = prep.warmup + prep.duration
        self.status = "ready"
        self.error: str | None = None
        self.result: RunResult | None = None
        self.folder: Path | None = None
        self.wall_time_s = 0.0
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._actions: list[tuple[Callable[[], Any], threading.Event, list[Any]]] = []
        self._actions_lock = threading.Lock()
        self._provenance: dict[str, Any] = {}

    # -- running --------------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        """The id (and folder name) the run gets when it is saved."""
        return self.prep.run_id

    @property
    def now(self) -> float:
        """Simulated time reached [s]."""
        return float(self.model.env.now)

    @property
    def done(self) -> bool:
        """True once the run has completed, failed or been stopped."""
        return self._done.is_set()

    def start(self) -> LiveRun:
        """Start the background thread (once)."""
        if self._thread is not None:
            raise RuntimeError("this live run was already started")
        self._provenance = start_provenance(self.prep)
        self.status = "running"
        self._thread = threading.Thread(target=self._main, name=f"live-{self.run_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the run to stop after its current chunk and wait for the thread (thread-safe).

        A stopped run is not saved: its tables would not cover the run's duration.
        """
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run is over; True if it is."""
        return self._done.wait(timeout)

    def _main(self) -> None:
        t_wall = time.perf_counter()
        env = self.model.env
        try:
            if self.speed is None:
                step = max(self.end / 400.0, 1.0)
                while env.now < self.end and not self._stop.is_set():
                    self._apply_actions()
                    self.model.run(until=min(env.now + step, self.end))
            else:
                sim0, wall0 = env.now, time.perf_counter()
                while env.now < self.end and not self._stop.is_set():
                    self._apply_actions()
                    target = min(sim0 + (time.perf_counter() - wall0) * self.speed, self.end)
                    if target > env.now:
                        self.model.run(until=target)
                    if env.now < self.end:
                        self._stop.wait(self.chunk)
            self._apply_actions()
            self.wall_time_s = time.perf_counter() - t_wall
            if self._stop.is_set() and env.now < self.end:
                self.status = "stopped"
            else:
                self.result = self._result(self.wall_time_s)
                if self.out is not None:
                    self.folder = self.result.save(self.out)
                self.status = "completed"
        except Exception as exc:  # the watcher learns why; the thread ends cleanly
            self.error = "".join(traceback.format_exception(exc))
            self.status = "failed"
        finally:
            self._fail_pending()
            self._done.set()

    def _result(self, wall: float) -> RunResult:
        """The run's result, built by the same steps as :func:`~twin.orchestration.run.execute`."""
        tables, kpis = finish_tables(self.prep, self.model, self.recorder)
        provenance = {**self._provenance, "live": {"speed": self.speed}, "status": "completed",
                      "wall_time_s": wall, "end_wip": self.model.wip()}
        return RunResult(self.prep.line, provenance, tables, kpis,
                         run_warnings(self.prep, self.model, tables, kpis))

    # -- alarm actions --------------------------------------------------------------------

    def act(self, action: str, name: str, duration: float | None = None,
            timeout: float = 5.0) -> Any:
        """Acknowledge (``"ack"``) or shelve (``"shelve"``, for ``duration`` [s]) an alarm.

        The call is applied by the simulation thread at its simulated time and its return
        value is returned here; once the run is over it is applied at once.

        Raises
        ------
        LookupError
            If the run has no alarm monitor.
        ValueError
            If the action is unknown, the duration is missing or not positive, or the
            monitor refuses the call (e.g. an unknown alarm).
        TimeoutError
            If the simulation thread did not apply it within ``timeout`` seconds.
        """
        monitor = self.monitor
        if monitor is None:
            raise LookupError("this run has no alarms")
        known = getattr(monitor, "alarms", None)
        if isinstance(known, dict) and name not in known:
            raise LookupError(f"no alarm {name!r}")
        if action == "ack":
            def call() -> Any:
                return monitor.ack(name, self.now)
        elif action == "shelve":
            if duration is None or not (math.isfinite(duration) and duration > 0):
                raise ValueError("shelving needs a positive duration in seconds")

            def call() -> Any:
                return monitor.shelve(name, self.now, duration)
        else:
            raise ValueError(f"unknown alarm action {action!r}")
        box: list[Any] = []
        ready = threading.Event()
        with self._actions_lock:
            running = self._thread is not None and not self._done.is_set()
            if running:
                self._actions.append((call, ready, box))
        if not running:
            return self._call(call)
        if not ready.wait(timeout):
            raise TimeoutError("the run did not apply the alarm action in time")
        if box and isinstance(box[0], BaseException):
            raise ValueError(str(box[0])) from box[0]
        return box[0] if box else None

    @staticmethod
    def _call(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (KeyError, ValueError, LookupError) as exc:
            raise ValueError(str(exc)) from exc

    def _apply_actions(self) -> None:
        with self._actions_lock:
            todo, self._actions = self._actions, []
        for call, ready, box in todo:
            try:
                box.append(call())
            except Exception as exc:  # handed back to the caller
                box.append(exc)
            ready.set()

    def _fail_pending(self) -> None:
        with self._actions_lock:
            todo, self._actions = self._actions, []
        for call, ready, box in todo:  # the run ended under them: apply now
            try:
                box.append(call())
            except Exception as exc:
                box.append(exc)
            ready.set()

    # -- reading --------------------------------------------------------------------------

    def _sources(self) -> dict[str, tuple[list[Any], ...] | list[Any]]:
        """Every append-only buffer a watcher may read, by table name (the cursor's keys)."""
        out = self.recorder.buffers()
        if not self.recorder.monitored and self.monitor is not None:  # a monitor keeping
            rows = alarm_rows_of(self.monitor)  # its own rows
            if rows is not None:
                out["alarms"] = rows
        return out

    def cursor_keys(self) -> tuple[str, ...]:
        """The order of the positions in a cursor."""
        return tuple(self._sources())

    def check_cursor(self, cursor: dict[str, int]) -> None:
        """Raise ``ValueError`` if ``cursor`` points past what this run has recorded: it was
        handed out by another run (``since`` would otherwise skip this run's first rows)."""
        lengths = {k: _rows(v) for k, v in self._sources().items()}
        ahead = sorted(k for k, v in cursor.items() if v > lengths.get(k, 0))
        if ahead:
            raise ValueError(f"the cursor is ahead of run {self.run_id} ({', '.join(ahead)}): "
                             "it belongs to another run")

    def since(self, cursor: dict[str, int] | None, limit: int = 50_000
              ) -> tuple[dict[str, Columns], dict[str, int]]:
        """Records appended since ``cursor`` (``None``: since the start), by table, as columns.

        Parameters
        ----------
        cursor
            Positions returned by the previous call.
        limit
            At most this many rows per table; the rest comes with the next call.

        Returns
        -------
        (records, cursor)
            ``records`` maps a table name (``states``, ``events``, ``parts``, ``stops``,
            ``flows``, ``phases``, ``profiles``, ``utility_load``, ``levels``,
            ``level_events``, ``alarms``, ...) to its new rows as ``{column: [values]}``;
            tables without new rows are left out. Codes index the run's registries
            (:meth:`describe`).
        """
        cursor = dict(cursor or {})
        new: dict[str, int] = {}
        records: dict[str, Columns] = {}
        for table, buffer in self._sources().items():
            a = cursor.get(table, 0)
            b = min(_rows(buffer), a + limit)  # rows whose columns are all appended
            new[table] = b
            if b <= a:
                continue
            names = schema.names(table, stream=True)
            if isinstance(buffer, tuple):
                records[table] = {n: col[a:b] for n, col in zip(names, buffer, strict=True)}
            elif table == "profiles":
                records[table] = _profiles(buffer[a:b])
            else:
                records[table] = _table_of_rows(buffer[a:b], names)
        return records, new

    def describe(self) -> dict[str, Any]:
        """The run's description for watchers: registries, settings and progress."""
        rec = self.recorder
        return {
            "run_id": self.run_id, "live": True, "status": self.status, "speed": self.speed,
            "now": self.now, "end": self.end, "warmup": self.prep.warmup,
            "duration": self.prep.duration, "seed": self.prep.seed,
            "stations": list(rec.stations), "products": list(rec.products),
            "units": [list(u) for u in rec.units], "species": list(rec.species),
            "folder": str(self.folder) if self.folder else None, "error": self.error,
            "alarms": self.monitor is not None,
            "kpis": self.result.kpis if self.result is not None else None,
        }
