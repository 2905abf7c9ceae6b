"""Run folders and study folders: the one place that writes, reads, lists and checks them.

A run folder is a directory named for its run id holding ``run.json`` and one Parquet file
per recorded table (see ``docs/RUN_FOLDERS.md``)::

    <run_id>/run.json          {"run_id", "provenance", "kpis", "files"}
    <run_id>/<table>.parquet   one per table (see :mod:`twin.observation.schema`)

``files`` maps each Parquet file to its size [bytes] and SHA-256, so a truncated or altered
table is found without reading it (sizes) or by :func:`check` (hashes and schema).

A folder is written under a temporary name (``.tmp-<run_id>-<ns>``) and renamed when complete,
so a kill during a save never leaves a folder that looks finished; a folder being replaced
is first renamed ``.old-<run_id>-<ns>``. :func:`clean_leftovers` removes both kinds left by a
kill. Folders whose names start with a dot are never listed. :func:`move_aside` moves a
damaged folder into the ``_damaged`` folder next to it (nothing is deleted).

A study folder holds ``study.json`` (its declared ``kind``, :data:`KINDS`, and its plan) and
``runs/`` (its run folders): :func:`write_study`, :func:`read_study`.

Every reader (sweeps, scale-up studies, compare, ``twin runs``/``query``, the report and the
dashboard) goes through :func:`read_summary`, :func:`read_table` and :func:`state`, so a
damaged folder is reported the same way everywhere (:class:`RunFolderError`: the file and
the reason) and never stops a reader from using the other folders.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twin.observation import schema

RUN_FILE = "run.json"
TABLE_SUFFIX = ".parquet"
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
STUDY_FILE = "study.json"
RUNS_DIR = "runs"
KINDS = ("sweep", "scaleup", "optimisation")
"""Kinds of study, declared as ``kind`` in ``study.json``."""
DAMAGED_DIR = "_damaged"
"""Damaged folders are moved into this folder, next to where they were (``--repair``)."""
STATUSES = ("completed", "failed", "damaged")
"""States of a run folder: the run completed, the run failed (run.json keeps its traceback),
or the folder is damaged (a file is missing, truncated or does not read)."""


class RunFolderError(ValueError):
    """A run folder (or one of its files) cannot be used; ``file`` and ``reason`` say why."""

    def __init__(self, folder: Path, file: str, reason: str) -> None:
        self.folder, self.file, self.reason = Path(folder), file, reason
        super().__init__(f"{Path(folder) / file}: {reason}")


@dataclass(frozen=True)
class FolderState:
    """What a run folder holds: ``status`` (:data:`STATUSES`) and, if damaged, which file
    and why."""

    path: Path
    status: str
    file: str = ""
    reason: str = ""

    @property
    def run_id(self) -> str:
        """The folder's name (the run id)."""
        return self.path.name


# -- writing ----------------------------------------------------------------------------------


def jsonable(obj: Any) -> Any:
    """A JSON-ready copy: NumPy scalars as Python values, NaN and infinities as ``None``."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):  # numpy scalars
        return jsonable(obj.item())
    return obj


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write(root: str | Path, run_id: str, summary: Mapping[str, Any],
          tables: Mapping[str, pd.DataFrame]) -> Path:
    """Write a run folder ``root/run_id`` (replacing one of that name); returns its path.

    ``summary`` is the JSON part (``run_id``, ``provenance``, ``kpis``); the sizes and hashes
    of the tables are added as ``files``. The folder appears only when complete.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / run_id
    tmp = root / f"{TMP_PREFIX}{run_id}-{time.time_ns()}"
    tmp.mkdir()
    try:
        files = {}
        for name, frame in tables.items():
            path = tmp / f"{name}{TABLE_SUFFIX}"
            frame.to_parquet(path, index=False)
            files[path.name] = {"bytes": path.stat().st_size, "sha256": _digest(path)}
        data = jsonable({**summary, "files": files})
        (tmp / RUN_FILE).write_text(json.dumps(data, indent=2, allow_nan=False))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        old = root / f"{OLD_PREFIX}{run_id}-{time.time_ns()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)
    return final


def clean_leftovers(root: str | Path) -> list[Path]:
    """Remove the temporary and replaced folders a killed save left directly under ``root``
    (``.tmp-*``, ``.old-*``); returns what was removed. Call it only where no save is running
    (e.g. when a study resumes)."""
    root = Path(root)
    if not root.is_dir():
        return []
    gone = [p for p in sorted(root.iterdir())
            if p.is_dir() and p.name.startswith((TMP_PREFIX, OLD_PREFIX))]
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)
    return gone


def move_aside(folder: str | Path) -> Path:
    """Move a (damaged) run folder into ``_damaged/`` next to it; returns the new path.

    Nothing is deleted: the folder keeps its name (with a time stamp if that name is taken).
    """
    folder = Path(folder)
    target_dir = folder.parent / DAMAGED_DIR
    target_dir.mkdir(exist_ok=True)
    target = target_dir / folder.name
    if target.exists():
        target = target_dir / f"{folder.name}-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns()}"
    folder.rename(target)
    return target


# -- study folders ----------------------------------------------------------------------------


def write_study(root: Path, kind: str, data: dict[str, Any]) -> None:
    """Write ``study.json`` (atomically: a reader never sees half a file) with its kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown study kind {kind!r} (expected one of {KINDS})")
    path = Path(root) / STUDY_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"kind": kind, **data}, indent=2))
    tmp.replace(path)


def read_study(root: str | Path) -> dict[str, Any]:
    """The contents of ``study.json``, with its ``kind``.

    Studies written before ``kind`` was declared get it from their plan (``tasks``: a sweep;
    ``volumes_m3``: a scale-up study).

    Raises
    ------
    ValueError
        If there is no readable ``study.json`` or its kind is unknown.
    """
    path = Path(root) / STUDY_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{root} is not a study folder (no {STUDY_FILE})") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    if "kind" not in meta:  # written before kinds were declared
        meta["kind"] = "sweep" if "tasks" in meta else "scaleup" if "volumes_m3" in meta else ""
    if meta["kind"] not in KINDS:
        raise ValueError(f"{path} declares an unknown study kind {meta['kind']!r}")
    return meta


def short_path(path: str) -> str:
    """A study factor's dotted path without its section: ``stations.assembly.servers`` ->
    ``assembly.servers``."""
    head, _, rest = path.partition(".")
    return rest if head in ("stations", "operators", "products") and rest else path


# -- reading ----------------------------------------------------------------------------------


def find_runs(root: str | Path) -> list[Path]:
    """Run folders under ``root``: directories holding a ``run.json``, at any depth.

    Directories whose names start with a dot (saves in progress) and ``_damaged`` folders are
    skipped with everything below them. Symbolic links to directories are followed (each
    directory is visited once). ``root`` may itself be a run folder. Sorted.
    """
    found: list[Path] = []
    seen: set[str] = set()
    for here, dirs, files in os.walk(Path(root), followlinks=True):
        real = os.path.realpath(here)
        if real in seen:  # a symbolic link loop, or a folder reached twice
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != DAMAGED_DIR)
        if RUN_FILE in files:
            found.append(Path(here))
    return sorted(found)


def is_run_folder(path: str | Path) -> bool:
    """True if ``path`` holds a ``run.json`` (whatever its state)."""
    return (Path(path) / RUN_FILE).is_file()


def text_kpis() -> frozenset[str]:
    """Line KPIs whose value is a name (no number format in the KPI catalogue, e.g.
    ``bottleneck``); every other KPI in ``run.json`` is a number or null."""
    from twin.observation import catalogue  # on use: it loads the spec models

    return frozenset(k.key for k in catalogue.kpis("line") if not k.fmt)


def _kpi_problem(key: str, value: Any, names: frozenset[str]) -> str | None:
    if value is None or isinstance(value, bool | int | float):
        return None
    if isinstance(value, str):
        return None if key in names else f"KPI {key!r} is text ({value!r}), not a number"
    return f"KPI {key!r} is a {type(value).__name__}, not a number or a name"


def read_summary(folder: str | Path) -> dict[str, Any]:
    """The JSON part of a run folder (``run_id``, ``provenance``, ``kpis``, ``warnings``,
    ``files``), checked.

    Raises
    ------
    RunFolderError
        If ``run.json`` is missing, empty, truncated or not an object, has no provenance or
        status, or a KPI that is neither a number nor (for name KPIs) text.
    """
    folder = Path(folder)
    path = folder / RUN_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(folder, RUN_FILE, "missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFolderError(folder, RUN_FILE, f"unreadable ({exc})") from None
    if not text.strip():
        raise RunFolderError(folder, RUN_FILE, "empty")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RunFolderError(folder, RUN_FILE, f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RunFolderError(folder, RUN_FILE, "does not hold a JSON object")
    prov = data.get("provenance")
    if not isinstance(prov, dict):
        raise RunFolderError(folder, RUN_FILE, "has no provenance")
    if prov.get("status") not in ("completed", "failed"):
        raise RunFolderError(folder, RUN_FILE,
                             f"provenance has no valid status ({prov.get('status')!r})")
    kpis = data.get("kpis", {})
    if not isinstance(kpis, dict):
        raise RunFolderError(folder, RUN_FILE, "kpis is not an object")
    names = text_kpis()
    for key, value in kpis.items():
        problem = _kpi_problem(key, value, names)
        if problem:
            raise RunFolderError(folder, RUN_FILE, problem)
    if not isinstance(data.get("warnings", []), list):
        raise RunFolderError(folder, RUN_FILE, "warnings is not a list")
    files = data.get("files", {})
    if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("bytes"), int) for v in files.values()):
        raise RunFolderError(folder, RUN_FILE, "files is not a map of file sizes and hashes")
    return data


def table_names(folder: str | Path) -> tuple[str, ...]:
    """Names of the tables stored in a run folder, sorted."""
    return tuple(sorted(p.name[: -len(TABLE_SUFFIX)] for p in Path(folder).glob(
        f"*{TABLE_SUFFIX}") if not p.name.startswith(".")))


def read_table(folder: str | Path, name: str, *, categorical: bool = False
               ) -> pd.DataFrame | None:
    """One stored table (``None`` if the run has none of that name), checked against its
    declared schema (:func:`twin.observation.schema.problems`). ``categorical``: text
    columns stored as text are read as categoricals (dictionary-encoded; categories
    sorted), which for large tables is faster to read, to group and to turn into codes;
    columns stored as categoricals keep their categories either way.

    Raises
    ------
    RunFolderError
        If the file does not read as Parquet or its columns differ from the schema.
    """
    folder = Path(folder)
    file = f"{name}{TABLE_SUFFIX}"
    path = folder / file
    if not path.is_file():
        return None
    try:
        if categorical:
            text = [f.name for f in pq.read_schema(path)
                    if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
            frame = pq.read_table(path, read_dictionary=text).to_pandas()
            for c in text:  # categories in a stable order, not that of first appearance
                frame[c] = frame[c].cat.reorder_categories(sorted(frame[c].cat.categories))
        else:
            frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        raise RunFolderError(folder, file, f"not a readable Parquet file ({exc})") from None
    problems = schema.problems(name, frame)
    if problems:
        raise RunFolderError(folder, file, "; ".join(problems))
    return frame


def _footer_problem(path: Path, name: str) -> str | None:
    """What is wrong with a table's Parquet footer (its columns and types) against its
    declaration; reads only the footer."""
    try:
        empty = pq.read_schema(path).empty_table().to_pandas()
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        return f"not a readable Parquet file ({exc})"
    problems = schema.problems(name, empty)
    return "; ".join(problems) if problems else None


def _file_problem(folder: Path, file: str, entry: Mapping[str, Any], deep: bool) -> str | None:
    path = folder / file
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != entry["bytes"]:
        return f"{size} bytes where {entry['bytes']} were written (truncated or altered)"
    if deep and entry.get("sha256") and _digest(path) != entry["sha256"]:
        return "content differs from its SHA-256 in run.json (altered)"
    return None


def state(folder: str | Path, deep: bool = False) -> FolderState:
    """The state of a run folder, without raising.

    The quick check (default) reads ``run.json``, compares each table's size with the size
    written and each table's Parquet footer (columns and types) with its schema; ``deep``
    also compares SHA-256 hashes and reads every table (``twin runs --check``).
    """
    folder = Path(folder)
    try:
        summary = read_summary(folder)
        files = summary.get("files", {})
        for file, entry in files.items():
            problem = _file_problem(folder, file, entry, deep)
            if problem:
                raise RunFolderError(folder, file, problem)
        for name in table_names(folder):
            file = f"{name}{TABLE_SUFFIX}"
            problem = _footer_problem(folder / file, name)
            if problem:
                raise RunFolderError(folder, file, problem)
            if deep:
                read_table(folder, name)
    except RunFolderError as exc:
        return FolderState(folder, "damaged", exc.file, exc.reason)
    return FolderState(folder, summary["provenance"]["status"])


def is_completed(folder: str | Path) -> bool:
    """True if the folder holds a completed run and is not damaged (quick check): a study
    skips such runs and runs everything else again."""
    return state(folder).status == "completed"


def scan(root: str | Path, deep: bool = False) -> list[FolderState]:
    """The state of every run folder under ``root`` (see :func:`find_runs`, :func:`state`)."""
    return [state(f, deep) for f in find_runs(root)]


def usable(root: str | Path) -> tuple[list[Path], list[FolderState]]:
    """The run folders under ``root`` split into sound ones and damaged ones (quick check)."""
    good, bad = [], []
    for folder in find_runs(root):
        st = state(folder)
        if st.status == "damaged":
            bad.append(st)
        else:
            good.append(folder)
    return good, bad
