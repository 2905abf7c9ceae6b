"""Located problems in pilot data: which file, row and column, what is wrong, what was done.

Rows are numbered as a person finds them: in a CSV file the line number (the header is line
1, so the first data row is 2); in a Parquet file the row number counted from 1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

Action = Literal["dropped", "kept", "sorted"]


@dataclass(frozen=True)
class Issue:
    """One problem found in a pilot data file.

    ``problem`` is a short code (``missing_value``, ``unsorted``, ``duplicate``,
    ``conflicting``, ``timezone_missing``, ``timezone_mixed``, ``overlap``, ``unknown_station``,
    ``missing_complete``, ``missing_start``, ``open_at_end``, ``unit_missing``, ``unit_unknown``,
    ``unit_wrong``, ``bad_quality``, ``uncertain_quality``, ``gap``, ``unknown_tag``,
    ``not_a_number``, ``not_a_time``, ``not_a_choice``, ``negative``, ``end_before_start``);
    ``action`` says whether the row was dropped, kept (a warning) or the file re-sorted.
    """

    file: str
    row: int | None
    column: str | None
    problem: str
    message: str
    action: Action

    def __str__(self) -> str:
        where = self.file + (f", row {self.row}" if self.row is not None else "")
        where += f", column {self.column!r}" if self.column else ""
        return f"{where}: {self.message} ({self.action})"


class PilotDataError(ValueError):
    """Pilot data that cannot be used at all (unreadable file, missing columns, no time
    zone); ``issues`` lists each problem with its location."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        lines = [f"{len(issues)} problem(s) in pilot data:"] + [f"  {i}" for i in issues]
        super().__init__("\n".join(lines))


def summarise(issues: list[Issue], rows_read: int, rows_kept: int, show: int = 5) -> str:
    """A plain-text cleaning report: counts by problem and action, then the first ``show``
    located issues of each problem."""
    out = [f"{rows_read} rows read, {rows_kept} kept, {rows_read - rows_kept} dropped"]
    counts = Counter((i.problem, i.action) for i in issues)
    for (problem, action), n in sorted(counts.items()):
        out.append(f"  {problem}: {n} ({action})")
        for issue in [i for i in issues if i.problem == problem and i.action == action][:show]:
            out.append(f"    {issue}")
    return "\n".join(out)
