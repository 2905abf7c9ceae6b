"""What a live source yields: readings of plant tags and plant events, and its counters.

One vocabulary for every source (MQTT, OPC UA, replay of recorded files): a
:class:`Reading` is a tag value already checked and brought to SI through the tag map
(``twin.pilotdata`` format ``tagmap``), on the plant clock corrected by the source's stated
offset; a :class:`PlantEvent` is one row of the pilot-data ``events`` format (a part or lot
released, started or completed at a station). Values that fail a check never become a
reading: the source counts them in :class:`SourceStats` and logs one line each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

Quality = Literal["good", "uncertain"]
"""Quality of a reading that passed the checks (``bad`` values are rejected, never used)."""


@dataclass(frozen=True)
class Reading:
    """One tag value from the plant.

    ``time``: when it was measured [s since the Unix epoch, UTC], after the source's clock
    offset was applied; ``tag``: the plant tag; ``signal``: the model signal it measures
    (``temperature.reactor``, ``buffer.cnc``; see :func:`twin.data.alarms.signal_tags`);
    ``value``: in SI (K, kg, W, m3/s, counts, parts/s); ``seq``: the source's sequence
    number of the message when it has one (used to drop duplicates), else ``None``.
    """

    time: float
    tag: str
    signal: str
    value: float
    quality: Quality = "good"
    seq: int | None = None


@dataclass(frozen=True)
class PlantEvent:
    """One event of the plant's parts or lots (the pilot-data ``events`` format).

    ``time`` [s since the Unix epoch, UTC]; ``event``: ``release``, ``start`` or
    ``complete``; ``outcome`` (on a complete): ``good``, ``scrap`` or ``rework``.
    """

    time: float
    id: str
    product: str
    station: str
    event: str
    resource: str = ""
    outcome: str = "good"
    seq: int | None = None


@dataclass
class SourceStats:
    """What a source has seen so far.

    ``received``: messages taken off the wire or file; ``used``: readings and events
    yielded; ``rejected``: messages refused, by reason (``malformed``, ``unknown_tag``,
    ``wrong_unit``, ``out_of_range``, ``bad_quality``, ...); ``duplicates`` and ``late``
    (older than what was already yielded for the same tag, beyond the allowed lateness)
    are dropped too; ``disconnects``: times the connection was lost; ``offline``:
    ``[(start, end)]`` wall-clock intervals without a connection [s since the epoch].
    """

    received: int = 0
    used: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    late: int = 0
    disconnects: int = 0
    offline: list[tuple[float, float]] = field(default_factory=list)


class Source(Protocol):
    """A live source of plant data: iterate it (``async for item in source.items()``) to get
    readings and events in time order per tag; ``stats`` counts what it saw; ``close()``
    ends the iteration and releases the connection."""

    name: str
    stats: SourceStats

    def items(self) -> AsyncIterator[Reading | PlantEvent]: ...

    async def close(self) -> None: ...
