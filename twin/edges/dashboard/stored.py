"""Stored runs: the run folders under the runs directory, by id, and their tables in the form
the live stream sends (codes, not names), built once per run and cached."""

from __future__ import annotations

import gzip
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.data.checks import line_from_dict
from twin.edges.dashboard.describe import describe_line, registries
from twin.edges.dashboard.replies import BadRequest
from twin.edges.dashboard.wire import dumps
from twin.observation import runfolder, schema
from twin.observation.recorder import EVENTS, FATES, STATES
from twin.observation.runfolder import RUN_FILE, find_runs
from twin.orchestration.live import PROFILE_POINTS, PROFILE_VARIABLES

RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.#\-]*(/[A-Za-z0-9_][A-Za-z0-9_.#\-]*)*")
MAX_ID = 300
CACHED = 8
"""Serialised answers kept in memory (meta and records of the last few runs opened)."""
TABLE_FILES = tuple(n for n, t in schema.TABLES.items() if t.when != "derived")
"""Tables sent to the page: the recorded ones and a shadow twin's (residuals)."""


ANSWER_GZIP_LEVEL = 1
"""gzip level of a stored run's answers: built when the run is first opened, while the user
waits (level 1 compresses a 90-day run's 6 MB of records in a third of level 6's time, to
10 % more bytes, which on the loopback or a plant network cost less than the time saved)."""


@dataclass(frozen=True)
class Answer:
    """An answer kept in memory (JSON text, or a binary frame), and compressed once."""

    text: bytes
    gz: bytes

    @classmethod
    def of(cls, text: str | bytes) -> Answer:
        raw = text.encode() if isinstance(text, str) else text
        return cls(raw, gzip.compress(raw, compresslevel=ANSWER_GZIP_LEVEL, mtime=0))


class StoredRuns:
    """The run folders under a root, by id (their path relative to the root)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._by_id: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str, float], Answer] = OrderedDict()
        self.refresh()

    def refresh(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for folder in find_runs(self.root):
            real = Path(os.path.realpath(folder))
            if not real.is_relative_to(self.root):  # a link leading outside the root
                continue
            rid = folder.relative_to(self.root).as_posix()
            if rid == ".":
                rid = folder.name
            found[rid] = real
        with self._lock:
            self._by_id = found
        return found

    def folder(self, rid: str) -> Path:
        if len(rid) > MAX_ID or not RUN_ID.fullmatch(rid) or ".." in rid.split("/"):
            raise BadRequest(400, "malformed run id")
        with self._lock:
            folder = self._by_id.get(rid)
        if folder is None:
            folder = self.refresh().get(rid)
        if folder is None or not (folder / RUN_FILE).is_file():
            raise BadRequest(404, "no such run")
        return folder

    def summary(self, folder: Path) -> dict[str, Any]:
        try:
            return runfolder.read_summary(folder)
        except runfolder.RunFolderError as exc:
            raise BadRequest(422, f"damaged run: {exc.file}: {exc.reason}") from exc

    def cached(self, rid: str, kind: str, build: Callable[[Path], Any]) -> Answer:
        """``build(folder)`` of run ``rid`` as JSON (or as they are, if bytes) and gzip, kept
        until the run folder changes."""
        folder = self.folder(rid)
        key = (rid, kind, (folder / RUN_FILE).stat().st_mtime)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        built = build(folder)
        value = Answer.of(built if isinstance(built, bytes) else dumps(built))
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        return value


def _codes(series: pd.Series, names: list[str]) -> list[int]:
    """Codes of ``series`` into ``names`` (-1 for a value not among them), vectorised."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(str).astype("category")
    index = {n: i for i, n in enumerate(names)}
    lookup = np.array([index.get(str(c), -1) for c in series.cat.categories] + [-1],
                      dtype=np.int64)
    return lookup[series.cat.codes.to_numpy()].tolist()  # code -1 (missing) takes the last


def read_table(folder: Path, table: str, *, categorical: bool = False) -> pd.DataFrame | None:
    """A recorded table of a run folder (``None`` if the run has none; 422 if damaged);
    ``categorical``: text columns as categoricals (what the page gets are codes anyway)."""
    try:
        return runfolder.read_table(folder, table, categorical=categorical)
    except runfolder.RunFolderError as exc:
        raise BadRequest(422, f"damaged run: {exc.file}: {exc.reason}") from exc


def _names(frame: pd.DataFrame | None, column: str) -> list[str]:
    if frame is None or column not in frame:
        return []
    col = frame[column]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [str(c) for c in col.cat.categories]
    return sorted({str(v) for v in col.dropna().tolist()})


def _units(states: pd.DataFrame | None, stations: list[str]) -> list[list[int]]:
    """Per unit: [station code, server index]."""
    if states is None or not len(states):
        return []
    pairs = states.drop_duplicates("unit").sort_values("unit")
    by_code = {n: i for i, n in enumerate(stations)}
    units = [[-1, 0] for _ in range(int(pairs["unit"].max()) + 1)]
    for u, st, sv in zip(pairs["unit"], pairs["station"].astype(str), pairs["server"],
                         strict=True):
        units[int(u)] = [by_code.get(st, -1), int(sv)]
    return units


def stored_meta(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Registries, layout and settings of a stored run (codes as in :func:`stored_records`)."""
    prov = summary.get("provenance", {})
    try:
        spec = line_from_dict(prov["parameters"])
    except Exception:  # an old or foreign run.json: draw what the tables say
        spec = None
    states, events, flows = (read_table(folder, t, categorical=True)
                             for t in ("states", "events", "flows"))
    stations = _names(events, "station") or _names(states, "station")
    if spec is not None:
        stations = stations or list(spec.stations)
    settings = prov.get("settings", {})
    warmup, duration = settings.get("warmup_s", 0.0), settings.get("duration_s", 0.0)
    return {
        "run_id": summary.get("run_id"), "live": False, "status": prov.get("status"),
        "line": prov.get("line"), "seed": prov.get("seed"), "warmup": warmup,
        "duration": duration, "end": warmup + duration, "now": warmup + duration,
        "stations": stations, "products": _names(events, "product"),
        "units": _units(states, stations), "species": _names(flows, "species"),
        "kpis": summary.get("kpis"), "layout": describe_line(spec), **registries(),
    }


def _thin_profiles(frame: pd.DataFrame, stations: list[str]) -> dict[str, list[Any]]:
    """Kernel profiles as the live stream sends them: per phase of a batch (part, station,
    phase, in order of appearance) every ``k``-th of its distinct times (``k`` so that at most
    about :data:`PROFILE_POINTS` remain) and its last, with the first value of each streamed
    variable at those times (NaN where it has none; ``None`` for a variable the phase never
    recorded). Vectorised: a 90-day process run holds hundreds of thousands of rows."""
    out: dict[str, list[Any]] = {"part": [], "station": [], "phase": [], "time": []}
    for v in PROFILE_VARIABLES:
        out[v] = []
    if not len(frame):
        return out
    keys = ["part", "station", "phase"]
    frame = frame.assign(group=frame.groupby(keys, sort=False, observed=True).ngroup())
    times = frame[["group", "time_s"]].drop_duplicates().sort_values(["group", "time_s"],
                                                                      kind="stable")
    group = times["group"].to_numpy()
    rank = times.groupby("group").cumcount().to_numpy()
    size = np.bincount(group)[group]
    step = np.maximum(1, np.ceil(size / PROFILE_POINTS)).astype(np.int64)
    kept = times[(rank % step == 0) | (rank == size - 1)]
    streamed = frame[frame["variable"].isin(PROFILE_VARIABLES) & frame["value"].notna()]
    wide = (streamed.drop_duplicates(["group", "time_s", "variable"])
            .pivot(index=["group", "time_s"], columns="variable", values="value"))
    values = wide.reindex(pd.MultiIndex.from_frame(kept))
    firsts = frame.drop_duplicates("group").sort_values("group")
    code = {n: i for i, n in enumerate(stations)}
    bounds = np.searchsorted(kept["group"].to_numpy(), np.arange(len(firsts) + 1))
    kept_t = kept["time_s"].to_numpy()
    columns = {v: values[v].to_numpy() if v in values else None for v in PROFILE_VARIABLES}
    present = {v: set(streamed.loc[streamed["variable"] == v, "group"].tolist())
               for v in PROFILE_VARIABLES}
    for g, (part, station, phase) in enumerate(zip(firsts["part"], firsts["station"],
                                                   firsts["phase"], strict=True)):
        a, b = bounds[g], bounds[g + 1]
        out["part"].append(int(part))
        out["station"].append(code.get(str(station), -1))
        out["phase"].append(str(phase))
        out["time"].append(kept_t[a:b].tolist())
        for v, col in columns.items():
            out[v].append(col[a:b].tolist() if g in present[v] else None)
    return out


def _coded(table: str, frame: pd.DataFrame, meta: dict[str, Any]) -> dict[str, list[Any]]:
    """A table's columns with names replaced by codes into the run's registries."""
    registry = {"product": meta["products"], "species": meta["species"], "fate": list(FATES)}
    if table != "alarms":
        registry["station"] = meta["stations"]
    if table == "events":
        registry["kind"] = list(EVENTS)
    cols: dict[str, list[Any]] = {}
    for c in frame.columns:
        if c in registry:
            cols[c] = _codes(frame[c], registry[c])
        elif isinstance(frame[c].dtype, pd.CategoricalDtype):  # names; missing: None
            cols[c] = [None if v is None or v != v else str(v)
                       for v in frame[c].astype(object).tolist()]
        else:
            cols[c] = frame[c].tolist()
    return cols


def stored_records(folder: Path, meta: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """A stored run's tables as the columns the live stream sends (codes, not names)."""
    out: dict[str, dict[str, list[Any]]] = {}
    for table in TABLE_FILES:
        frame = read_table(folder, table, categorical=True)
        if frame is None or not len(frame):
            continue
        if table == "states":
            frame = frame.sort_values(["start", "unit"], kind="stable")
            out[table] = {"time": frame["start"].tolist(), "unit": frame["unit"].tolist(),
                          "state": _codes(frame["state"], list(STATES))}
        elif table == "profiles":
            out[table] = _thin_profiles(frame, meta["stations"])
        else:
            out[table] = _coded(table, frame, meta)
    return out
