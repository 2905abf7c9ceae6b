"""Replay of recorded pilot data as a live source.

:class:`ReplaySource` reads a historian time series and an event log in the pilot-data
formats (``twin.pilotdata.load``, see docs/PILOT_DATA.md), merges them in time order and
yields them through the same checks as a live connection (:mod:`twin.live.tagchecks`), paced
at ``speed`` plant seconds per wall second (``math.inf``: as fast as possible).

Rows the loader drops (a bad quality flag, a tag not in the tag map, a wrong unit, a value out
of range, a duplicate, an unparseable cell) are counted in the source's stats by reason, and
logged once each, as a live source would; the full located report stays in ``tables``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Self

from twin.live.readings import PlantEvent, Reading, SourceStats
from twin.live.tagchecks import Intake, TagChecks
from twin.live.wire import RawValue
from twin.pilotdata.load import PilotTable, load

log = logging.getLogger(__name__)

LOADER_REASONS = {
    "unknown_tag": "unknown_tag", "unit_missing": "wrong_unit", "unit_unknown": "wrong_unit",
    "unit_wrong": "wrong_unit", "bad_quality": "bad_quality", "out_of_range": "out_of_range",
    "conflicting": "conflicting", "unknown_station": "unknown_station",
}
"""Rejection reason of each loader problem that drops a row (others: ``malformed``)."""


def _seconds(times: Any) -> list[float]:
    """Seconds since the epoch of a column of UTC timestamps."""
    return [t.timestamp() for t in times]


class ReplaySource:
    """A :class:`~twin.live.readings.Source` replaying pilot-data files.

    Parameters
    ----------
    tagmap
        The tag map: a path or a loaded ``tagmap`` table.
    timeseries, events
        A ``timeseries`` and an ``events`` file (path or loaded table); either may be None.
    speed
        Plant seconds per wall second (``math.inf``: no waiting).
    clock_offset
        Added to every plant time [s].
    lateness
        See :mod:`twin.live.tagchecks` (recorded files are sorted, so 0 is the default).
    timezone, stations
        Passed to :func:`twin.pilotdata.load` (zone for times written without one; the
        line's stations, to drop events elsewhere).
    """

    def __init__(self, tagmap: str | Path | PilotTable, *,
                 timeseries: str | Path | PilotTable | None = None,
                 events: str | Path | PilotTable | None = None, speed: float = math.inf,
                 clock_offset: float = 0.0, lateness: float = 0.0,
                 timezone: str | None = None, stations: list[str] | None = None,
                 name: str = "replay") -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0 plant seconds per wall second, got {speed!r}")
        self.name, self.speed = name, float(speed)
        self.stats = SourceStats()
        tm = tagmap if isinstance(tagmap, PilotTable) else load(tagmap, "tagmap")
        self.tables: dict[str, PilotTable] = {"tagmap": tm}
        if timeseries is not None:
            self.tables["timeseries"] = (timeseries if isinstance(timeseries, PilotTable) else
                                         load(timeseries, "timeseries", tagmap=tm,
                                              timezone=timezone))
        if events is not None:
            self.tables["events"] = (events if isinstance(events, PilotTable) else
                                     load(events, "events", timezone=timezone,
                                          stations=stations))
        self._intake = Intake(TagChecks(tm, clock_offset=clock_offset), self.stats,
                              source=name, lateness=lateness)
        self._closed = False

    def _count_loader_drops(self) -> None:
        for kind in ("timeseries", "events"):
            table = self.tables.get(kind)
            if table is None:
                continue
            self.stats.received += len(table.errors())
            for issue in sorted(table.errors(), key=lambda i: i.row or 0):
                reason = LOADER_REASONS.get(issue.problem, "malformed")
                if issue.problem == "duplicate":
                    self.stats.duplicates += 1
                    continue
                self.stats.rejected[reason] += 1
                log.warning("%s: rejected %s row %s (%s): %s", self.name, issue.file,
                            issue.row, reason, issue.message)

    def _records(self) -> list[tuple[float, int, RawValue | PlantEvent]]:
        out: list[tuple[float, int, RawValue | PlantEvent]] = []
        ts = self.tables.get("timeseries")
        if ts is not None:
            f = ts.frame
            for t, tag, v, unit, q in zip(_seconds(f["time"]), f["tag"], f["value"], f["unit"],
                                          f["quality"], strict=True):
                out.append((t, len(out), RawValue(t, tag, float(v), unit, q or "good")))
        ev = self.tables.get("events")
        if ev is not None:
            f = ev.frame
            for t, i, p, s, e, r, o in zip(_seconds(f["time"]), f["id"], f["product"],
                                           f["station"], f["event"], f["resource"],
                                           f["outcome"], strict=True):
                out.append((t, len(out), PlantEvent(t, i, p, s, e, r, o or "good")))
        out.sort(key=lambda r: (r[0], r[1]))
        return out

    async def items(self) -> AsyncIterator[Reading | PlantEvent]:
        """Readings and events in plant-time order, each released when its time comes at
        ``speed``."""
        self._count_loader_drops()
        records = self._records()
        loop = asyncio.get_running_loop()
        start_wall, start_plant = loop.time(), records[0][0] if records else 0.0
        for t, _, rec in records:
            wait = start_wall + (t - start_plant) / self.speed - loop.time()
            await asyncio.sleep(max(wait, 0.0))
            if self._closed:
                return
            if isinstance(rec, RawValue):
                self._intake.value(rec)
            else:
                self._intake.event(rec)
            for item in self._intake.ready():
                yield item
        for item in self._intake.flush():
            yield item

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the replay (the iteration ends at its next item)."""
        self._closed = True
