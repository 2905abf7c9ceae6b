"""The checks every live source runs on what it receives, through the tag map.

:class:`TagChecks` turns a :class:`~twin.live.wire.RawValue` (plant time, tag, value, unit,
quality, seq) into a :class:`~twin.live.readings.Reading` in SI, or refuses it with one of
:data:`REASONS`. :class:`Intake` puts the checks in front of the ordering every source
shares: duplicates dropped (the same key and ``seq`` at the same time, or the same key, time
and value), a reorder buffer that releases values in time order, and late
values (that would break a tag's order) dropped. Everything refused or dropped is counted in
the source's :class:`~twin.live.readings.SourceStats` and logged with one line each on the
module logger ``twin.live.tagchecks`` (the application configures logging, not this module).

Times: a source states its clock offset [s], added to every plant time (``twin time = plant
time + clock_offset``; a plant clock 2 s behind UTC has ``clock_offset = 2``).

Ordering: ``lateness`` [s of plant time] is how late a value may arrive after newer values
and still be used. Values are held until the newest plant time the source has seen (any tag)
is ``lateness`` past them, then released in time order; a value older than what was already
released for its tag is counted as ``late`` and dropped. ``lateness = 0`` releases every
value at once and drops anything out of order.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from dataclasses import dataclass
from typing import Any

from twin.data.units import UnitError, si_conversion
from twin.live.readings import PlantEvent, Reading, SourceStats
from twin.live.wire import RawValue

log = logging.getLogger(__name__)

REASONS = ("malformed", "unknown_tag", "wrong_unit", "bad_quality", "out_of_range")
"""Why a message is refused: not in the wire format, a tag not in the tag map, a unit of
another dimension than the tag's (or not a unit), flagged bad by the plant, outside the tag
map's ``low`` / ``high``."""

MEMORY = 3600.0
"""How far back [s of plant time] before a key's last released value duplicates are still
recognised as such (older repeats are counted as late)."""


@dataclass(frozen=True)
class TagInfo:
    """One row of the tag map, ready for checks: limits in SI (NaN: none)."""

    tag: str
    signal: str
    unit: str
    dimensionality: str
    low_si: float = math.nan
    high_si: float = math.nan


def tag_infos(tagmap: Any) -> dict[str, TagInfo]:
    """The tags of a loaded tag map (``twin.pilotdata.load(path, "tagmap")``)."""
    f = tagmap.frame
    low = f["low_si"] if "low_si" in f else [math.nan] * len(f)
    high = f["high_si"] if "high_si" in f else [math.nan] * len(f)
    return {t: TagInfo(t, s, u, d, float(lo), float(hi))
            for t, s, u, d, lo, hi in zip(f["tag"], f["signal"], f["unit"],
                                          f["dimensionality"], low, high, strict=True)}


class Rejected(Exception):
    """A message refused by a check: ``reason`` (one of :data:`REASONS`) and ``detail``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class TagChecks:
    """The tag map's checks of single values (no ordering; see :class:`Intake`).

    ``clock_offset`` [s] is added to plant times.
    """

    def __init__(self, tagmap: Any, *, clock_offset: float = 0.0) -> None:
        self.tags = tagmap if isinstance(tagmap, dict) else tag_infos(tagmap)
        self.clock_offset = float(clock_offset)
        self._units: dict[str, tuple[float, float, str]] = {}

    def _conversion(self, unit: str) -> tuple[float, float, str]:
        if unit not in self._units:
            self._units[unit] = si_conversion(unit)
        return self._units[unit]

    def reading(self, raw: RawValue) -> Reading:
        """The reading of ``raw`` in SI on the corrected clock; :class:`Rejected` if a check
        fails. A value without a unit is taken in the tag map's unit; ``uncertain`` values
        pass with their quality."""
        info = self.tags.get(raw.tag)
        if info is None:
            raise Rejected("unknown_tag", "the tag is not in the tag map")
        if raw.quality == "bad":
            raise Rejected("bad_quality", "the plant flags the value bad")
        if not math.isfinite(raw.value) or not math.isfinite(raw.time):
            raise Rejected("malformed", f"value {raw.value!r} at {raw.time!r} is not finite")
        unit = raw.unit.strip() or info.unit
        try:
            scale, offset, dim = self._conversion(unit)
        except UnitError:
            raise Rejected("wrong_unit", f"{unit!r} is not a unit") from None
        if dim != info.dimensionality:
            raise Rejected("wrong_unit", f"{unit!r} measures {dim}, the tag's unit "
                           f"{info.unit!r} measures {info.dimensionality}")
        value = raw.value * scale + offset
        if value < info.low_si or value > info.high_si:
            raise Rejected("out_of_range", f"{raw.value:g} {unit} = {value:g} SI is outside "
                           f"[{info.low_si:g}, {info.high_si:g}] SI")
        quality = "uncertain" if raw.quality == "uncertain" else "good"
        return Reading(raw.time + self.clock_offset, raw.tag, info.signal, value, quality,
                       raw.seq)


class Intake:
    """Checks, duplicate removal and time ordering in front of a source's output.

    Feed it with :meth:`value` and :meth:`event` (and :meth:`reject` for messages the
    source could not decode); take what is ready with :meth:`ready` and, at the end or after
    a quiet spell, :meth:`flush`. ``lateness`` [s]: see the module docstring; ``capacity``:
    most values held at once (beyond it the oldest is released early).
    """

    def __init__(self, checks: TagChecks, stats: SourceStats, *, source: str = "source",
                 lateness: float = 0.0, capacity: int = 1024) -> None:
        if not lateness >= 0:
            raise ValueError(f"lateness must be >= 0 s, got {lateness!r}")
        self.checks, self.stats, self.source = checks, stats, source
        self.lateness, self.capacity = float(lateness), int(capacity)
        self._heap: list[tuple[float, int, Reading | PlantEvent]] = []
        self._order = itertools.count()
        self._newest = -math.inf
        self._released: dict[str, float] = {}
        self._seen_seq: dict[tuple[str, int], float] = {}
        self._seen_value: dict[tuple[str, float, float], str] = {}
        self._forget_at = 8 * self.capacity

    def reject(self, where: str, reason: str, detail: str) -> None:
        """Count and log a refused message (``where``: its tag, station or topic)."""
        self.stats.rejected[reason] += 1
        log.warning("%s: rejected %s (%s): %s", self.source, where, reason, detail)

    def value(self, raw: RawValue) -> None:
        """Take one tag value off the wire: check it and queue its reading."""
        self.stats.received += 1
        try:
            reading = self.checks.reading(raw)
        except Rejected as exc:
            self.reject(raw.tag, exc.reason, exc.detail)
            return
        self._queue(f"tag:{reading.tag}", reading, reading.value)

    def event(self, ev: PlantEvent) -> None:
        """Take one plant event: queue it on the corrected clock (ordered per station)."""
        self.stats.received += 1
        if not math.isfinite(ev.time):
            self.reject(ev.station, "malformed", f"event time {ev.time!r} is not finite")
            return
        ev = PlantEvent(ev.time + self.checks.clock_offset, ev.id, ev.product, ev.station,
                        ev.event, ev.resource, ev.outcome, ev.seq)
        self._queue(f"event:{ev.station}:{ev.id}:{ev.event}", ev, 0.0,
                    order_key=f"event:{ev.station}")

    def _queue(self, key: str, item: Reading | PlantEvent, value: float,
               order_key: str | None = None) -> None:
        seq_key = (order_key or key, item.seq) if item.seq is not None else None
        value_key = (key, item.time, value)
        again = seq_key is not None and self._seen_seq.get(seq_key) == item.time
        if again or value_key in self._seen_value:
            self.stats.duplicates += 1
            log.info("%s: dropped a duplicate of %s at %.6f", self.source, key, item.time)
            return
        order = order_key or key
        if item.time < self._released.get(order, -math.inf):
            self.stats.late += 1
            log.warning("%s: dropped a late value of %s at %.6f (already at %.6f, lateness "
                        "%g s)", self.source, order, item.time, self._released[order],
                        self.lateness)
            return
        if seq_key is not None:
            self._seen_seq[seq_key] = item.time
        self._seen_value[value_key] = order
        if len(self._seen_value) > self._forget_at:
            self._forget()
        heapq.heappush(self._heap, (item.time, next(self._order), item))
        self._newest = max(self._newest, item.time)

    def _forget(self) -> None:
        """Forget what was seen well before what each key has released (memory stays
        bounded; anything that old is refused as late anyway)."""
        keep = max(self.lateness, MEMORY)

        def old(order: str, t: float) -> bool:
            return t < self._released.get(order, -math.inf) - keep

        self._seen_seq = {k: t for k, t in self._seen_seq.items() if not old(k[0], t)}
        self._seen_value = {k: o for k, o in self._seen_value.items() if not old(o, k[1])}
        self._forget_at = max(8 * self.capacity, 2 * len(self._seen_value))  # amortised

    def _pop(self) -> Reading | PlantEvent:
        _, _, item = heapq.heappop(self._heap)
        order = (f"event:{item.station}" if isinstance(item, PlantEvent)
                 else f"tag:{item.tag}")
        self._released[order] = max(self._released.get(order, -math.inf), item.time)
        self.stats.used += 1
        return item

    def ready(self) -> list[Reading | PlantEvent]:
        """The held items now due (at least ``lateness`` older than the newest seen), in
        time order."""
        out = []
        watermark = self._newest - self.lateness
        while self._heap and (self._heap[0][0] <= watermark
                              or len(self._heap) > self.capacity):
            out.append(self._pop())
        return out

    def flush(self) -> list[Reading | PlantEvent]:
        """Every held item, in time order (at the end of a source, or after a quiet
        spell)."""
        return [self._pop() for _ in range(len(self._heap))]

    def __len__(self) -> int:
        return len(self._heap)
