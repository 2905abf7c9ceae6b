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
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

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

# Column groups of the Recorder: table -> (field, column name) in order.
_COLUMN_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "states": (("s_time", "time"), ("s_unit", "unit"), ("s_state", "state")),
    "events": (("e_time", "time"), ("e_part", "part"), ("e_product", "product"),
               ("e_station", "station"), ("e_kind", "kind")),
    "parts": (("p_id", "part"), ("p_product", "product"), ("p_created", "created"),
              ("p_done", "done"), ("p_fate", "fate"), ("p_reworks", "reworks")),
}
COLUMN_KINDS: dict[str, dict[str, str]] = {
    "states": {"time": "f64", "unit": "code", "state": "code"},
    "events": {"time": "f64", "part": "int", "product": "code", "station": "code",
               "kind": "code"},
    "parts": {"part": "int", "product": "code", "created": "f64", "done": "f64",
              "fate": "code", "reworks": "int"},
}
"""What the columns of the busiest tables hold: ``f64`` times [s], ``int`` counts and ids,
``code`` indexes into a registry (small non-negative integers). Writers use it to encode a
column without inspecting it."""
# Recorder fields holding one tuple per row: field -> column names.
_ROW_TABLES: dict[str, tuple[str, ...]] = {
    "stops": ("start", "unit", "kind", "mode", "duration"),
    "flows": ("time", "part", "station", "phase", "species", "kind", "kg"),
    "utility_load": ("time", "utility", "load"),
    "levels": ("time", "station", "kg"),
    "level_events": ("time", "station", "zone", "kg"),
    "signals": ("time", "tag", "value"),
}
# Recorder fields streamed under another table name (as the run folder names the table).
_RENAMED = {"alarm_rows": "alarms"}
_PHASE_KEYS = ("part", "station", "phase", "kind", "start", "end", "utility", "heat_J", "load_W")
# Registries (names behind the codes, sent once with the run's description) and fields that
# are not records (callbacks): never streamed.
_NOT_STREAMED = {"stations", "products", "units", "species", "listeners"}
PROFILE_VARIABLES = ("temperature_K", "conversion")
"""Kernel profile columns streamed to watchers (batch temperature and conversion)."""
PROFILE_POINTS = 60
"""Profiles are thinned to at most this many points when streamed."""
ALARM_COLUMNS = ("time", "alarm", "tag", "priority", "event", "state", "value", "limit")
"""Columns of alarm rows (one row per alarm event)."""


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
    """

    def __init__(self, prep: PreparedRun, *, speed: float | None = None,
                 out: str | Path | None = None, chunk: float = 0.05,
                 monitor: Any = None) -> None:
        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number of simulated seconds per "
                             f"second (or None: as fast as possible), not {speed!r}")
        self.prep = prep
        self.speed = speed
        self.out = Path(out) if out is not None else None
        self.chunk = float(chunk)
        self.recorder = Recorder()
        self.model = LineModel(prep.line, prep.seed, self.recorder, prep.events)
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

    def _sources(self) -> dict[str, list[Any]]:
        """Every append-only list a watcher may read, by cursor key."""
        rec = self.recorder
        out: dict[str, list[Any]] = {}
        for f in fields(rec):
            value = getattr(rec, f.name)
            if f.name not in _NOT_STREAMED and isinstance(value, list):
                out[_RENAMED.get(f.name, f.name)] = value
        if "alarms" not in out and self.monitor is not None:  # a monitor keeping its rows
            rows = alarm_rows_of(self.monitor)
            if rows is not None:
                out["alarms"] = rows
        return out

    def cursor_keys(self) -> tuple[str, ...]:
        """The order of the positions in a cursor."""
        return tuple(self._sources())

    def check_cursor(self, cursor: dict[str, int]) -> None:
        """Raise ``ValueError`` if ``cursor`` points past what this run has recorded: it was
        handed out by another run (``since`` would otherwise skip this run's first rows)."""
        src = self._sources()
        ahead = sorted(k for k, v in cursor.items() if v > len(src.get(k, ())))
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
        src = self._sources()
        new: dict[str, int] = {}
        records: dict[str, Columns] = {}
        grouped = {f for cols in _COLUMN_TABLES.values() for f, _ in cols}
        for table, cols in _COLUMN_TABLES.items():
            lists = [src[f] for f, _ in cols]
            a = cursor.get(cols[0][0], 0)
            b = min(min(len(x) for x in lists), a + limit)  # rows whose columns are complete
            for f, _ in cols:
                new[f] = b
            if b > a:
                records[table] = {name: src[f][a:b] for f, name in cols}
        for key, rows in src.items():
            if key in grouped:
                continue
            a = cursor.get(key, 0)
            b = min(len(rows), a + limit)
            new[key] = b
            if b <= a:
                continue
            chunk = rows[a:b]
            if key == "profiles":
                records[key] = _profiles(chunk)
            elif key == "phases":
                records[key] = _table_of_rows(chunk, _PHASE_KEYS)
            elif key == "alarms":
                records[key] = _table_of_rows(chunk, ALARM_COLUMNS)
            else:
                records[key] = _table_of_rows(chunk, _ROW_TABLES.get(key))
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
