"""SQL over saved run folders.

A :class:`RunStore` is a read-only view over every run folder under a root directory (run
folders may be nested, e.g. ``studies/<study>/runs/<run_id>/``), opened with an in-memory
DuckDB connection: nothing is ever written under the root, so any number of readers can open
the same store while runs are still being saved into it. DuckDB reads ``run.json`` and the
Parquet tables straight from the files::

    with RunStore("runs/") as store:
        store.runs()                                        # one row per run, KPIs as columns
        store.query("select run_id, sum(kwh) as kwh from energy group by run_id")

Views
-----
``runs``
    One row per ``run.json``: ``run_id``, ``line``, ``status``, ``seed``, ``duration_s``,
    ``warmup_s``, ``spec_hash``, ``started_utc`` (UTC timestamp), ``wall_time_s``,
    ``folder``, ``error`` (the traceback of a failed run), then one column per KPI found in
    any run (NULL where a run lacks it, e.g. failed runs).
    Runs that belong to a study also get ``point`` and ``replication`` and one column per
    factor of the study (``factor_<name>``, e.g. ``factor_assembly_servers``, the swept
    parameter's value; ``factor_volume_m3`` in scale-up studies), so results group by them.
Every recorded table (:data:`TABLES`: ``states``, ``events``, ``parts``, ``stops``, ``flows``,
``phases``, ``profiles``, ``utility_load``, ``levels``, ``level_events``, ``signals``,
``alarms``, ``energy``, ``stations``, ``balance``, ``utilities``, ``emissions``)
    The rows of that table from every run that has it, with ``run_id`` as the first column and
    ``folder`` as the last. A view exists only if some run has the table. Columns, kinds and
    units: :mod:`twin.observation.schema`.

Damaged run folders (see :mod:`twin.observation.runfolder`) are left out of every view and
listed by :attr:`RunStore.damaged` with the file and the reason.

Queries are read-only and stay in the store: only ``SELECT`` (with ``WITH``, ``SHOW``,
``DESCRIBE``, ``SUMMARIZE``) and ``EXPLAIN`` statements run; DuckDB's external access is
limited to the store's directory, extensions are neither installed nor loaded, and the
configuration is locked, so ``COPY ... TO``, ``ATTACH``, reading files outside the store and
``INSTALL`` are refused.

``run_id`` is the name of the run folder, in every view, so views join on it; the same run
saved in two places (e.g. in two studies) has the same ``run_id``, and ``folder`` tells the
copies apart.

Folders whose names start with a dot (runs being written, ``.tmp-...``, or being replaced,
``.old-...``) are ignored. Which runs belong to the store is fixed when it is opened (or
:meth:`RunStore.refresh` is called); their contents are read when a query runs.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from twin.observation import runfolder, schema
from twin.observation.runfolder import (
    RUN_FILE,
    RUNS_DIR,
    STUDY_FILE,
    FolderState,
    read_study,
    short_path,
)

TABLES: tuple[str, ...] = tuple(schema.TABLES)
"""Recorded tables of a run folder (:mod:`twin.observation.schema`); each becomes a view."""

ALLOWED_STATEMENTS = ("SELECT", "EXPLAIN")
"""Statement types a query may hold (``SHOW``, ``DESCRIBE``, ``SUMMARIZE`` are selects)."""

# Standard columns of the ``runs`` view: name, SQL type, expression over the raw record
# (``provenance`` as JSON, ``filename`` the path of the run.json file).
_RUN_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("run_id", "VARCHAR", "parse_filename(parse_dirpath(filename))"),
    ("line", "VARCHAR", "provenance->>'line'"),
    ("status", "VARCHAR", "provenance->>'status'"),
    ("seed", "BIGINT", "TRY_CAST(provenance->>'seed' AS BIGINT)"),
    ("duration_s", "DOUBLE", "TRY_CAST(provenance->'settings'->>'duration_s' AS DOUBLE)"),
    ("warmup_s", "DOUBLE", "TRY_CAST(provenance->'settings'->>'warmup_s' AS DOUBLE)"),
    ("spec_hash", "VARCHAR", "provenance->>'spec_hash'"),
    ("started_utc", "TIMESTAMP",
     "TRY_CAST(provenance->>'started_utc' AS TIMESTAMPTZ) AT TIME ZONE 'UTC'"),
    ("wall_time_s", "DOUBLE", "TRY_CAST(provenance->>'wall_time_s' AS DOUBLE)"),
    ("folder", "VARCHAR", "parse_dirpath(filename)"),
    ("error", "VARCHAR", "provenance->>'error'"),
)

RUN_COLUMNS: tuple[str, ...] = tuple(name for name, _, _ in _RUN_COLUMNS)
"""Standard columns of the ``runs`` view, in order; KPI columns follow them."""

# run.json holds the resolved spec, which may carry large empirical samples.
_MAX_JSON_BYTES = 1 << 30
_MISSING_TABLE = re.compile(r"Table with name (\"?)(\w+)\1 does not exist", re.IGNORECASE)


class QueryError(ValueError):
    """A query failed (bad SQL, missing table, unreadable file); the message says why."""


def _literal(text: str) -> str:
    """An SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    """An SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _file_list(paths: Iterable[Path]) -> str:
    return "[" + ", ".join(_literal(str(p)) for p in paths) + "]"


def _kpi_type(structure: Any) -> str:
    """SQL type of a KPI from DuckDB's merged JSON structure of that key."""
    if not isinstance(structure, str):
        return "JSON"  # objects and lists stay JSON
    if structure in ("UBIGINT", "BIGINT", "UINTEGER", "INTEGER"):
        return "BIGINT"
    if structure == "NULL":  # null in every run
        return "DOUBLE"
    if structure in ("DOUBLE", "VARCHAR", "BOOLEAN"):
        return structure
    return "JSON"


def _confined(root: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that reads files only under ``root``, loads no extension it
    does not have, and whose configuration cannot be changed by a query."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    try:
        con.execute("SET allowed_directories = ?", [[str(root) + "/"]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _check_read_only(sql: str) -> None:
    """Raise :class:`QueryError` unless every statement of ``sql`` is a read-only query."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    for st in statements:
        kind = st.type.name
        if kind not in ALLOWED_STATEMENTS:
            text = " ".join(st.query.split())[:60]
            raise QueryError(f"only read-only queries run on the store (SELECT, EXPLAIN): "
                             f"{kind} is not allowed ({text!r})")


def _study_rows(root: Path, folders: set[str]) -> list[dict[str, Any]]:
    """Point, replication and factor values of the run folders that belong to a study under
    ``root`` (sweeps: the design point's parameters; scale-up studies: the volume)."""
    rows: list[dict[str, Any]] = []
    for study_file in sorted(root.rglob(STUDY_FILE)):
        if any(p.startswith(".") for p in study_file.relative_to(root).parts):
            continue
        try:
            meta = read_study(study_file.parent)
        except ValueError:
            continue
        runs = study_file.parent / RUNS_DIR
        if meta["kind"] in ("sweep", "optimisation"):
            points = meta.get("points") or []
            plan = [(t["run_id"], t["point"], t["replication"],
                     points[t["point"]] if t["point"] < len(points) else {})
                    for t in meta.get("tasks") or []]
        else:
            ids, volumes = meta.get("runs") or [], meta.get("volumes_m3") or []
            reps = max(1, int(meta.get("replications") or 1))
            plan = [(rid, i // reps, i % reps,
                     {"volume_m3": volumes[i // reps]} if i // reps < len(volumes) else {})
                    for i, rid in enumerate(ids)]
        for rid, point, rep, factors in plan:
            folder = str(runs / rid)
            if folder in folders:
                row = {"folder": folder, "point": point, "replication": rep}
                row.update({_factor_name(k): v for k, v in factors.items()})
                rows.append(row)
    return rows


def _factor_name(path: str) -> str:
    """``stations.assembly.servers`` -> ``factor_assembly_servers`` (a plain SQL name)."""
    return "factor_" + re.sub(r"\W+", "_", short_path(path)).strip("_").lower()


def _factor_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "BIGINT"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool)
                       for v in present):
        return "DOUBLE"
    return "VARCHAR"


def _factor_value(value: Any, sql_type: str) -> Any:
    if value is None or sql_type != "VARCHAR" or isinstance(value, str):
        return value
    return json.dumps(value)


class RunStore:
    """Read-only SQL view over all run folders under a directory.

    Parameters
    ----------
    root
        Directory holding run folders, at any depth (it may also be a single run folder).

    Raises
    ------
    ValueError
        If ``root`` does not exist or is not a directory.
    QueryError
        If a ``run.json`` or Parquet file cannot be read while the views are set up.

    Notes
    -----
    The DuckDB connection is in memory: no database file, no lock, nothing written under
    ``root``. Views read the files when queried, so results reflect the files at query time;
    the set of run folders is found when the store is opened (see :meth:`refresh`).
    """

    def __init__(self, root: str | Path) -> None:
        path = Path(root).expanduser()
        if not path.exists():
            raise ValueError(f"run folder root {str(root)!r} does not exist")
        if not path.is_dir():
            raise ValueError(f"run folder root {str(root)!r} is not a directory")
        self._root = path.resolve()
        self._con = _confined(self._root)
        self._folders: tuple[Path, ...] = ()
        self._damaged: tuple[FolderState, ...] = ()
        self._tables: tuple[str, ...] = ()
        self._kpis: tuple[str, ...] = ()
        self._factors: tuple[str, ...] = ()
        try:
            self.refresh()
        except BaseException:
            self._con.close()
            raise

    # -- set-up ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Find the run folders again (leaving damaged ones out) and redefine the views.

        Raises
        ------
        QueryError
            If a ``run.json`` or Parquet file cannot be read.
        """
        good, bad = runfolder.usable(self._root)
        inside = [f for f in good if Path(os.path.realpath(f)).is_relative_to(self._root)]
        bad += [FolderState(f, "outside", "", "a link to a folder outside the store (query "
                            "that folder itself)") for f in good if f not in inside]
        folders = tuple(inside)
        try:
            factors = self._define_factors(folders)
            kpis = self._define_runs(folders, factors)
            tables = self._define_tables(folders)
        except duckdb.Error as exc:
            raise QueryError(f"cannot read the runs under {self._root}: {exc}") from exc
        self._folders, self._kpis, self._tables = folders, kpis, tables
        self._damaged, self._factors = tuple(bad), factors

    def _define_factors(self, folders: tuple[Path, ...]) -> tuple[str, ...]:
        """A ``_factors`` table: study point, replication and factor values by run folder."""
        rows = _study_rows(self._root, {str(f) for f in folders})
        names = sorted({k for r in rows for k in r if k.startswith("factor_")})
        cols = [("folder", "VARCHAR"), ("point", "BIGINT"), ("replication", "BIGINT")]
        cols += [(n, _factor_type([r.get(n) for r in rows])) for n in names]
        self._con.execute("DROP TABLE IF EXISTS _factors")
        typed = ", ".join(f"{_ident(n)} {t}" for n, t in cols)
        self._con.execute(f"CREATE TABLE _factors ({typed})")
        if rows:
            marks = ", ".join("?" for _ in cols)
            self._con.executemany(f"INSERT INTO _factors VALUES ({marks})",
                                  [[_factor_value(r.get(n), t) for n, t in cols] for r in rows])
        return tuple(names)

    def _define_runs(self, folders: tuple[Path, ...], factors: tuple[str, ...]
                     ) -> tuple[str, ...]:
        con = self._con
        study_cols = ("point", "replication", *factors)
        if not folders:
            cols = ", ".join(f"CAST(NULL AS {typ}) AS {_ident(name)}"
                             for name, typ, _ in _RUN_COLUMNS)
            con.execute(f"CREATE OR REPLACE VIEW runs AS SELECT {cols} LIMIT 0")
            return ()
        source = (f"read_json({_file_list(f / RUN_FILE for f in folders)}, "
                  "columns={'provenance': 'JSON', 'kpis': 'JSON'}, filename=true, "
                  f"maximum_object_size={_MAX_JSON_BYTES})")
        (merged,) = con.execute(f"SELECT json_group_structure(kpis) FROM {source}").fetchone()
        structure = json.loads(merged) if merged else {}
        if not isinstance(structure, dict):
            structure = {}
        taken = set(RUN_COLUMNS) | set(study_cols)
        kpi_types = {name: _kpi_type(s) for name, s in structure.items()}
        select = [f"{expr} AS {_ident(name)}" for name, _, expr in _RUN_COLUMNS]
        select += [f"_f.{_ident(c)}" for c in study_cols]
        kpi_names: list[str] = []
        for name in kpi_types:
            column = name if name not in taken else f"kpi_{name}"
            taken.add(column)
            kpi_names.append(column)
            select.append(f"_kpi.{_ident(name)} AS {_ident(column)}")
        if kpi_types:
            shape = _literal(json.dumps(kpi_types))
            source = f"(SELECT *, json_transform(kpis, {shape}) AS _kpi FROM {source})"
        source = f"{source} LEFT JOIN _factors _f ON _f.folder = parse_dirpath(filename)"
        con.execute(f"CREATE OR REPLACE VIEW runs AS SELECT {', '.join(select)} FROM {source}")
        return tuple(kpi_names)

    def _define_tables(self, folders: tuple[Path, ...]) -> tuple[str, ...]:
        con = self._con
        present: list[str] = []
        for table in TABLES:
            files = [f / f"{table}.parquet" for f in folders if (f / f"{table}.parquet").is_file()]
            con.execute(f"DROP VIEW IF EXISTS {_ident(table)}")
            if not files:
                continue
            con.execute(
                f"CREATE VIEW {_ident(table)} AS SELECT "
                "parse_filename(parse_dirpath(filename)) AS run_id, * EXCLUDE (filename), "
                "parse_dirpath(filename) AS folder "
                f"FROM read_parquet({_file_list(files)}, filename=true, union_by_name=true)")
            present.append(table)
        return tuple(present)

    # -- reading --------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The directory searched for run folders (absolute)."""
        return self._root

    @property
    def folders(self) -> tuple[Path, ...]:
        """The run folders in the store, sorted."""
        return self._folders

    @property
    def tables(self) -> tuple[str, ...]:
        """Names of the table views that exist (tables at least one run has)."""
        return self._tables

    @property
    def kpis(self) -> tuple[str, ...]:
        """KPI columns of the ``runs`` view, in order."""
        return self._kpis

    @property
    def factors(self) -> tuple[str, ...]:
        """Factor columns of the ``runs`` view (``factor_<name>``), sorted."""
        return self._factors

    @property
    def damaged(self) -> tuple[FolderState, ...]:
        """Run folders left out of the views: damaged ones (status ``damaged``, the file and
        the reason) and links to folders outside the store (status ``outside``), which
        DuckDB may not read."""
        return self._damaged

    def query(self, sql: str) -> pd.DataFrame:
        """Run SQL against the views and return the result.

        Parameters
        ----------
        sql
            Any DuckDB SQL; views: ``runs`` and the run tables (see :data:`TABLES`).

        Returns
        -------
        pandas.DataFrame
            The result of the last statement (empty if it returns no rows).

        Raises
        ------
        QueryError
            With DuckDB's message if the SQL fails, naming the table if the query uses a
            run table that no run under the root has, or naming the statement if it is not
            a read-only query (see the module docstring).
        """
        if not sql.strip():
            raise QueryError("empty SQL query")
        _check_read_only(sql)
        try:
            relation = self._con.sql(sql)
            return pd.DataFrame() if relation is None else relation.df()
        except duckdb.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: duckdb.Error) -> QueryError:
        message = str(exc)
        missing = _MISSING_TABLE.search(message)
        if missing and missing.group(2).lower() in TABLES:
            name = missing.group(2).lower()
            if name not in self._tables:
                return QueryError(f"no run has a '{name}' table under {self._root}")
        return QueryError(message)

    def runs(self) -> pd.DataFrame:
        """One row per run: the standard columns (:data:`RUN_COLUMNS`), then the KPIs.

        Returns
        -------
        pandas.DataFrame
            Sorted by ``started_utc`` then ``run_id``; empty (with the standard columns) if
            there are no runs.
        """
        return self.query("SELECT * FROM runs ORDER BY started_utc NULLS LAST, run_id, folder")

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; the store cannot be queried afterwards."""
        self._con.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({str(self._root)!r}, runs={len(self._folders)})"


# -- plain-text tables ------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def _cell(value: Any, width: int) -> str:
    """One value as table text: floats to 4 significant digits, missing as ``-``."""
    if _is_missing(value):
        text = "-"
    elif isinstance(value, bool | np.bool_):
        text = "true" if value else "false"
    elif isinstance(value, int | np.integer):
        text = str(int(value))
    elif isinstance(value, float | np.floating):
        v = float(value)
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            text = str(int(v))  # whole numbers stay exact (e.g. counts, seconds)
        else:
            text = f"{v:.4g}"
    elif isinstance(value, pd.Timestamp | datetime | date):
        text = str(value)
    elif isinstance(value, dict | list | tuple | np.ndarray):
        text = json.dumps(value.tolist() if isinstance(value, np.ndarray) else value,
                          default=str)
    else:
        text = str(value)
    text = " ".join(text.split())  # one line per row
    if width > 3 and len(text) > width:
        text = text[: width - 3] + "..."
    return text


def format_table(df: pd.DataFrame, max_rows: int | None = 50, *, max_width: int = 60) -> str:
    """A data frame as a plain-text table, for terminals.

    Parameters
    ----------
    df
        The frame (its index is not shown).
    max_rows
        Show at most this many rows (``None``: all); a last line says how many were left out.
    max_width
        Longest cell text; longer text is cut and ends with ``...``. Line breaks inside
        values become spaces.

    Returns
    -------
    str
        Header, rule, rows and a ``(N rows)`` line. Floats are shown to 4 significant digits
        (whole numbers in full), missing values as ``-``; numbers are right-aligned.

    Raises
    ------
    ValueError
        If ``max_rows`` is negative.
    """
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"max_rows must be >= 0, not {max_rows}")
    total = len(df)
    shown = df if max_rows is None else df.iloc[:max_rows]
    headers = [str(c) for c in df.columns]
    columns: list[list[str]] = []
    numeric: list[bool] = []
    for j in range(len(headers)):
        series = shown.iloc[:, j]
        columns.append([_cell(v, max_width) for v in series.tolist()])
        numeric.append(pd.api.types.is_numeric_dtype(series.dtype)
                       and not pd.api.types.is_bool_dtype(series.dtype))
    widths = [max([len(h), *map(len, col)]) for h, col in zip(headers, columns, strict=True)]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w)
                 for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out: list[str] = []
    if headers:
        out.append(line(headers))
        out.append("  ".join("-" * w for w in widths))
        out.extend(line([col[i] for col in columns]) for i in range(len(shown)))
    if len(shown) < total:
        out.append(f"... {total - len(shown)} more rows ({total} rows)")
    else:
        out.append(f"({total} row{'' if total == 1 else 's'})")
    return "\n".join(out)
