"""Reading pilot data files (CSV or Parquet) into clean tables with a report of what was
dropped and why.

:func:`load` reads one file of a format from :mod:`twin.pilotdata.formats`, parses every
column (texts, choices, numbers, ISO 8601 times to UTC), runs the checks of that format
(:mod:`twin.pilotdata.checks`) and returns a :class:`PilotTable`: the rows that passed, each
with its ``row`` number in the file, and every :class:`~twin.pilotdata.issues.Issue` found.
Nothing is dropped without an issue naming the file, row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.pilotdata.formats import FORMATS, Format
from twin.pilotdata.issues import Action, Issue, PilotDataError, summarise

_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
PARQUET_FORMAT_KEY = b"pilot_twin.format"


@dataclass
class PilotTable:
    """A loaded pilot data file: clean rows, the issues found, and how many rows were read.

    ``frame`` has the format's columns parsed (times as UTC timestamps, numbers as floats),
    a ``row`` column with each row's number in the file, and the derived columns of the
    format (e.g. ``value_si`` in a time series).
    """

    format: Format
    file: str
    frame: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)
    rows_read: int = 0

    def errors(self) -> list[Issue]:
        """Issues whose rows were dropped."""
        return [i for i in self.issues if i.action == "dropped"]

    def report(self) -> str:
        """What was read, kept and dropped, by problem, with located examples."""
        head = f"{self.file} ({self.format.title}, format {self.format.tag})"
        return head + "\n" + summarise(self.issues, self.rows_read, len(self.frame))


class Cleaning:
    """The working state of one file being loaded: its raw frame, row numbers, issues and
    the rows marked for dropping (each mark is an issue)."""

    def __init__(self, fmt: Format, file: str, raw: pd.DataFrame, first_row: int,
                 names: dict[str, str] | None = None) -> None:
        self.format, self.file = fmt, file
        self.names = names or {}
        """The file's own name of each column read under its current name (a file of an
        earlier version): issues name the column as the file does."""
        self.raw = raw.reset_index(drop=True)
        self.rows = np.arange(len(raw)) + first_row
        self.frame = pd.DataFrame({"row": self.rows})
        self.drop = np.zeros(len(raw), dtype=bool)
        self.issues: list[Issue] = []

    def issue(self, index: int | None, column: str | None, problem: str, message: str,
              action: Action) -> None:
        """Record an issue at positional ``index`` (None: the whole file); drop the row if
        ``action`` is ``dropped``."""
        row = None if index is None else int(self.rows[index])
        column = self.names.get(column, column) if column else column
        self.issues.append(Issue(self.file, row, column, problem, message, action))
        if action == "dropped" and index is not None:
            self.drop[index] = True

    def each(self, mask: np.ndarray, column: str | None, problem: str, message: Any,
             action: Action = "dropped") -> None:
        """Record an issue for every row where ``mask`` holds (not yet dropped);
        ``message`` is a string or a callable of the positional index."""
        for i in np.flatnonzero(np.asarray(mask, dtype=bool) & ~self.drop):
            self.issue(int(i), column, problem, message(i) if callable(message) else message,
                       action)

    def fatal(self, column: str | None, problem: str, message: str, index: int | None = None
              ) -> PilotDataError:
        row = None if index is None else int(self.rows[index])
        return PilotDataError([Issue(self.file, row, column, problem, message, "dropped")])


def read_raw(path: Path) -> tuple[pd.DataFrame, int, str | None]:
    """The file's cells (CSV: all as text), the number of its first data row, and the format
    tag stated in Parquet metadata (if any)."""
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            meta = table.schema.metadata or {}
            tag = meta.get(PARQUET_FORMAT_KEY)
            return table.to_pandas(), 1, tag.decode() if tag else None
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        return frame, 2, None
    except (OSError, ValueError) as exc:
        raise PilotDataError([Issue(str(path), None, None, "unreadable",
                                    f"cannot read the file: {exc}", "dropped")]) from None


def _text(c: Cleaning, name: str, required: bool) -> None:
    values = c.raw[name].astype("string").fillna("").str.strip() if name in c.raw else (
        pd.Series([""] * len(c.raw), dtype="string"))
    if required:
        c.each((values == "").to_numpy(), name, "missing_value", f"{name} is empty")
    c.frame[name] = values.to_numpy(dtype=object)


def _choice(c: Cleaning, name: str, choices: tuple[str, ...], required: bool) -> None:
    _text(c, name, required)
    values = pd.Series(c.frame[name]).str.lower()
    bad = ~values.isin(choices) & (values != "")
    c.each(bad.to_numpy(), name, "not_a_choice",
           lambda i: f"{c.frame[name].iat[i]!r} is not one of {', '.join(choices)}")
    c.frame[name] = values.to_numpy(dtype=object)


def _number(c: Cleaning, name: str, required: bool) -> None:
    if name not in c.raw:
        c.frame[name] = np.nan
        return
    raw = c.raw[name]
    text = raw.astype("string").fillna("").str.strip()
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    empty = (text == "").to_numpy()
    if required:
        c.each(empty, name, "missing_value", f"{name} is empty")
    bad = ~empty & ~np.isfinite(values.to_numpy())
    c.each(bad, name, "not_a_number", lambda i: f"{text.iat[i]!r} is not a finite number")
    c.frame[name] = values.to_numpy()


def _time(c: Cleaning, name: str, required: bool, timezone: str | None) -> None:
    """Parse ISO 8601 times to UTC; a time without a zone needs ``timezone``."""
    n = len(c.raw)
    out = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    if name not in c.raw:
        c.frame[name] = out.array
        return
    raw = c.raw[name]
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        c.frame[name] = raw.dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array
        return
    text = (raw.dt.strftime("%Y-%m-%dT%H:%M:%S.%f") if pd.api.types.is_datetime64_any_dtype(raw)
            else raw.astype("string").fillna("").str.strip())
    empty = (text == "").to_numpy()
    if required:
        c.each(empty, name, "missing_value", f"{name} is empty")
    zone = text.str.extract(_ZONE, expand=False).fillna("").str.upper().replace("Z", "+00:00")
    aware = (zone != "").to_numpy() & ~empty
    naive = ~aware & ~empty
    if naive.any():
        if timezone is None and not aware.any():
            raise c.fatal(name, "timezone_missing", "times have no time zone (write e.g. "
                          "2026-03-02T06:15:00+08:00, or give the zone the plant clock keeps)",
                          int(np.flatnonzero(naive)[0]))
        if timezone is None:
            c.each(naive, name, "timezone_mixed",
                   "this time has no time zone while other rows have one")
        else:
            local = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
            out[naive] = local.dt.tz_localize(timezone, ambiguous="NaT",
                                              nonexistent="NaT").dt.tz_convert("UTC")
    if aware.any():
        out[aware] = pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce")
        zones = zone[aware]
        first = zones.iat[0]
        for z, idx in zones[zones != first].groupby(zones[zones != first]).groups.items():
            i = int(idx[0])
            c.issue(i, name, "timezone_mixed", f"time zone {z} differs from {first} of row "
                    f"{c.rows[int(zones.index[0])]}; converted to UTC", "kept")
    bad = ~empty & out.isna().to_numpy()
    c.each(bad, name, "not_a_time", lambda i: f"{text.iat[i]!r} is not an ISO 8601 time")
    c.frame[name] = out.array


def parse_columns(c: Cleaning, timezone: str | None) -> None:
    """Parse every declared column of the format (missing optional columns are blank)."""
    for col in c.format.columns:
        if col.kind == "time":
            _time(c, col.name, col.required, timezone)
        elif col.kind == "number":
            _number(c, col.name, col.required)
        elif col.kind == "choice":
            _choice(c, col.name, col.choices, col.required)
        else:  # a missing unit is reported by the format's checks (unit_missing)
            _text(c, col.name, col.required and col.kind != "unit")


def sort_in_time(c: Cleaning, frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by the format's sequence columns and time; report the first row out of order in
    each sequence (the file is re-sorted, nothing dropped)."""
    fmt = c.format
    if not fmt.time:
        return frame
    keys = list(fmt.sequence)
    groups = frame.groupby(keys, sort=False) if keys else [(None, frame)]
    for _, g in groups:
        back = (g[fmt.time].diff() < pd.Timedelta(0)).to_numpy()
        if back.any():
            i = int(np.flatnonzero(back)[0])
            row, prev = int(g["row"].iat[i]), int(g["row"].iat[i - 1])
            c.issues.append(Issue(c.file, row, fmt.time, "unsorted",
                                  f"earlier than row {prev} above it; rows sorted by time",
                                  "sorted"))
    return frame.sort_values(keys + [fmt.time, "row"], kind="stable").reset_index(drop=True)


def load(path: str | Path, kind: str, *, stations: list[str] | None = None,
         tagmap: PilotTable | None = None, timezone: str | None = None,
         max_gap: float | None = None, keep_open: bool = False) -> PilotTable:
    """Read a pilot data file of format ``kind`` (see :data:`FORMATS`) and clean it.

    Parameters
    ----------
    path
        A CSV file (header row) or a Parquet file (``.parquet``).
    kind
        ``events``, ``states``, ``batches``, ``timeseries``, ``samples`` or ``tagmap``.
    stations
        The line's station names: events and states at other stations are dropped.
    tagmap
        A loaded tag map: time series tags not in it are dropped and units are checked
        against it.
    timezone
        IANA zone (``"Asia/Shanghai"``) for times written without one; without it such
        times are an error.
    max_gap
        Longest normal interval between samples of a tag [s] (time series; default: the tag
        map's ``max_gap``, else 5 x the tag's median interval).
    keep_open
        Event logs: keep the starts the log ends before completing (work in progress, what
        a line's state needs; :mod:`twin.pilotdata.plant_state`) instead of dropping them
        (mining needs whole visits). Either way each is reported as ``open_at_end``.

    Raises
    ------
    PilotDataError
        When the file cannot be used at all: unreadable, required columns missing, another
        format stated in its metadata, times without any zone.
    """
    from twin.pilotdata import checks

    if kind not in FORMATS:
        raise ValueError(f"unknown pilot data format {kind!r} (formats: {', '.join(FORMATS)})")
    fmt = FORMATS[kind]
    p = Path(path)
    raw, first_row, tag = read_raw(p)
    former = {old: col.name for col in fmt.columns for old in col.formerly
              if old in raw.columns and col.name not in raw.columns}
    raw = raw.rename(columns=former)
    c = Cleaning(fmt, str(p), raw, first_row, {new: old for old, new in former.items()})
    if tag is not None and tag.split("/")[0] != fmt.name:
        raise c.fatal(None, "wrong_format", f"the file states format {tag!r}, not {fmt.tag}")
    if tag is not None and int(tag.split("/")[1]) > fmt.version:
        raise c.fatal(None, "wrong_format", f"format {tag} is newer than this reader "
                      f"({fmt.tag}); update Pilot Twin")
    missing = [name for name in fmt.required() if name not in raw.columns]
    if missing:
        raise PilotDataError([Issue(str(p), first_row - 1, m, "missing_column",
                                    f"required column {m!r} is missing (columns: "
                                    f"{', '.join(map(str, raw.columns))})", "dropped")
                              for m in missing])
    parse_columns(c, timezone)
    checks.CHECKS[fmt.name](c, stations=stations, tagmap=tagmap, max_gap=max_gap)
    frame = sort_in_time(c, c.frame[~c.drop])
    c.frame, c.drop = frame, np.zeros(len(frame), dtype=bool)
    c.rows = frame["row"].to_numpy()
    checks.AFTER_SORT.get(fmt.name, lambda *a, **k: None)(c, stations=stations, tagmap=tagmap,
                                                          max_gap=max_gap, keep_open=keep_open)
    frame = c.frame[~c.drop].reset_index(drop=True)
    return PilotTable(fmt, str(p), frame, c.issues, len(raw))
