"""Serving a running twin: its points to an OPC UA server and its messages to an MQTT broker,
as the run advances; and serving a shadow twin as it follows the plant (:func:`serve_shadow`).

:func:`serve_run` follows a :class:`~twin.orchestration.live.LiveRun` (started with
``watch`` = every signal tag, so the engine records them): every ``interval`` seconds it
takes the rows recorded since the last look, updates the points
(:class:`~twin.live.points.PointValues`) and writes the changed ones to the server, and
publishes every new signal change, part event, alarm transition and KPI value. When the run
ends it publishes the final KPIs and returns. Nothing recorded is skipped: rows are read
with a cursor, never sampled.

Writes from OPC UA clients reach the run only through points made writable:
``Alarms.<alarm>.acknowledged`` (write ``true``) acknowledges the alarm in the run
(:func:`alarm_writes`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twin.live.messages import RunMessages, TagMap
from twin.live.points import ALARMS_FOLDER, Point, PointValues
from twin.live.readings import Source
from twin.live.shadow import ShadowTwin
from twin.live.shadow_points import ShadowValues, shadow_points
from twin.live.wire import RawValue
from twin.observation import catalogue
from twin.orchestration.live import LiveRun

if TYPE_CHECKING:  # the wire libraries load only where a server or publisher is made
    from twin.live.mqtt_publisher import Publisher
    from twin.live.opcua_server import TwinServer

log = logging.getLogger(__name__)


@dataclass
class ServeStats:
    """What :func:`serve_run` sent: points written to the server, messages published by
    kind, and the polls it took."""

    written: int = 0
    published: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("tags", "events", "kpis", "alarms"), 0))
    polls: int = 0


def alarm_writes(live: LiveRun) -> Callable[[Point, Any], None]:
    """An ``on_write`` for :class:`~twin.live.opcua_server.TwinServer`: a client that
    writes ``true`` to ``Alarms.<alarm>.acknowledged`` acknowledges the alarm in the run
    (applied by the run's thread at its simulated time)."""

    def on_write(point: Point, value: Any) -> None:
        if point.path[0] == ALARMS_FOLDER and point.path[-1] == "acknowledged" and value:
            name = point.path[1]
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(None, live.act, "ack", name)
            future.add_done_callback(lambda f: f.exception() and log.warning(
                "acknowledging %s from OPC UA failed: %s", name, f.exception()))

    return on_write


async def serve_run(live: LiveRun, *, server: TwinServer | None = None,
                    publisher: Publisher | None = None, origin: float = 0.0,
                    tagmap: TagMap | None = None, noise: Mapping[str, float] | None = None,
                    interval: float = 0.1) -> ServeStats:
    """Serve ``live`` until it is over (it must have been started).

    Parameters
    ----------
    server
        OPC UA server built on :func:`~twin.live.points.line_points` of the run's line.
    publisher
        MQTT publisher (tags, events, kpis, alarms).
    origin
        Plant-clock time of run time 0 [s since the epoch] (message times).
    tagmap
        Signals published and their tags (default: all under their own names).
    noise
        Measurement noise of published signals [SI standard deviation], by signal (see
        :class:`~twin.live.messages.RunMessages`; seeded by the run's seed).
    interval
        Wall-clock seconds between two looks at the run.

    Returns
    -------
    ServeStats
        What was written and published.
    """
    line = live.prep.line
    values = PointValues(line, live.recorder, live.prep.warmup)
    messages = (RunMessages(line, live.recorder, origin, tagmap, noise, live.prep.seed)
                if publisher else None)
    stats = ServeStats()
    cursor: dict[str, int] | None = None
    while True:
        done = live.done  # read first: rows recorded before the end are all read below
        records, cursor = live.since(cursor)
        stats.polls += 1
        changed = values.update(records, live.now)
        over = done and not records
        if over and live.result is not None:
            changed.update(values.finish(live.result.kpis))
        if server is not None and changed:
            await server.write(changed)
            stats.written += len(changed)
        if publisher is not None and messages is not None:
            await _publish(publisher, messages, records, changed, origin, over, stats)
        if over:
            if live.status != "completed":
                log.warning("the run ended %s: %s", live.status, live.error or "")
            return stats
        if not done:
            await asyncio.sleep(interval)


async def _publish(publisher: Publisher, messages: RunMessages, records: dict[str, Any],
                   changed: dict[str, tuple[float, Any]], origin: float,
                   final: bool, stats: ServeStats) -> None:
    tags = messages.values(records)
    events = messages.events(records, final=final)
    alarms = messages.alarms(records)
    kpis = [RawValue(origin + t, source[4:], float(v), _kpi_unit(source[4:]))
            for source, (t, v) in changed.items() if source.startswith("kpi:")
            and isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]
    await publisher.values(tags)
    await publisher.events(events)
    await publisher.alarms(alarms)
    await publisher.values(kpis, kind="kpis")
    for kind, n in (("tags", tags), ("events", events), ("alarms", alarms), ("kpis", kpis)):
        stats.published[kind] += len(n)


def _kpi_unit(key: str) -> str:
    """The catalogue unit of a line KPI (``1`` for ratios and counts without one)."""
    entry = catalogue.CATALOGUE.get(("line", key))
    return (entry.unit if entry else "") or "1"


async def serve_shadow(shadow: ShadowTwin, source: Source, *, server: TwinServer | None = None,
                       publisher: Publisher | None = None, until: float | None = None,
                       interval: float = 0.1) -> ServeStats:
    """Follow ``source`` with ``shadow`` (:meth:`ShadowTwin.follow`, ``until`` [s of plant
    time]) and serve it while it goes: every ``interval`` seconds the points that changed
    (:class:`~twin.live.shadow_points.ShadowValues`) are written to ``server`` (built on
    :func:`~twin.live.shadow_points.shadow_points`, with ``origin`` the shadow's) and their
    numbers published as tag values ``<Shadow|Forecasts>/.../<field>`` (in their display
    unit) by ``publisher``. Returns when the source ends; its errors are raised."""
    values = ShadowValues(shadow)
    units = {p.source: ("/".join(p.path), p.unit or "1")
             for p in shadow_points(shadow) if p.kind == "float"}
    stats = ServeStats()
    follow = asyncio.create_task(shadow.follow(source, until))
    try:
        while True:
            done = follow.done()
            changed = values.update()
            stats.polls += 1
            if server is not None and changed:
                if server.origin == 0.0:  # built before the shadow had its origin
                    server.origin = shadow.origin
                await server.write(changed)
                stats.written += len(changed)
            if publisher is not None and changed:
                raw = [RawValue(shadow.origin + t, units[src][0], float(v), units[src][1])
                       for src, (t, v) in changed.items()
                       if src in units and math.isfinite(float(v))]
                await publisher.values(raw)
                stats.published["tags"] += len(raw)
            if done:
                follow.result()
                return stats
            await asyncio.sleep(interval)
    finally:
        if not follow.done():
            follow.cancel()
