"""MQTT source: readings and events of a pilot line from an MQTT broker (aiomqtt).

:class:`MqttSource` subscribes to ``{prefix}/#`` at QoS 1 with a fixed client id and a
persistent session (clean session off), so the broker keeps the line's messages while the
twin is away and delivers them when it is back. A lost connection is logged, counted in
``stats.disconnects`` and its interval in ``stats.offline``; the source reconnects after
delays that double from ``backoff_initial`` up to ``backoff_max`` [s], each scaled by a
jitter factor in [0.5, 1) drawn from a generator seeded with ``seed`` (same seed, same
delays). Messages are decoded with :mod:`twin.live.wire` and checked and ordered by
:mod:`twin.live.tagchecks`; a redelivered message (same seq) is dropped as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any, Self

from twin.live.connection import Backoff, MqttSettings, check_security, secret
from twin.live.readings import PlantEvent, Reading, SourceStats
from twin.live.tagchecks import Intake, TagChecks
from twin.live.wire import RawValue, WireError, decode, subscription

log = logging.getLogger(__name__)

QUIET = 0.25
"""Wall seconds without a message after which held values are released (the reorder buffer
waits for newer data otherwise)."""


def tls_context(s: MqttSettings) -> ssl.SSLContext | None:
    """The TLS context of the settings (None without TLS): server certificate checked
    against ``ca_file`` (or the system's), client certificate if given."""
    if not s.tls:
        return None
    ctx = ssl.create_default_context(cafile=s.ca_file or None)
    if s.cert_file:
        ctx.load_cert_chain(s.cert_file, s.key_file,
                            password=secret(s.key_password_env, "MQTT client key passphrase"))
    return ctx


class MqttSource:
    """A :class:`~twin.live.readings.Source` reading a broker with the wire format.

    ``settings``: where and how to connect (:class:`~twin.live.connection.MqttSettings`);
    ``tagmap``: the loaded tag map.
    """

    def __init__(self, settings: MqttSettings, tagmap: Any) -> None:
        check_security(settings)
        self.settings, self.name = settings, settings.name
        self.stats = SourceStats()
        self._intake = Intake(TagChecks(tagmap, clock_offset=settings.clock_offset),
                              self.stats, source=settings.name, lateness=settings.lateness)
        self._inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self.connected = asyncio.Event()
        self.client: Any = None

    def _client(self) -> Any:
        import aiomqtt

        s = self.settings
        return aiomqtt.Client(
            s.host, s.port, identifier=s.client_id, clean_session=False,
            protocol=aiomqtt.ProtocolVersion.V311, username=s.username or None,
            password=secret(s.password_env, "MQTT password"), keepalive=s.keepalive,
            tls_context=tls_context(s), timeout=10.0)

    async def _run(self) -> None:
        """Connect, subscribe, pass messages to the inbox; reconnect after a loss."""
        import aiomqtt

        s = self.settings
        backoff = Backoff(s.backoff_initial, s.backoff_max, s.seed)
        lost_at: float | None = None
        ever_connected = False
        while not self._closed.is_set():
            try:
                async with self._client() as client:
                    self.client = client
                    await client.subscribe(subscription(s.prefix), qos=1)
                    if lost_at is not None and ever_connected:
                        self.stats.offline.append((lost_at, time.time()))
                        log.warning("%s: reconnected to %s:%s after %.1f s offline", self.name,
                                    s.host, s.port, time.time() - lost_at)
                    else:
                        log.info("%s: connected to %s:%s as %r", self.name, s.host, s.port,
                                 s.client_id)
                    lost_at, ever_connected = None, True
                    backoff.reset()
                    self.connected.set()
                    async for message in client.messages:
                        payload = message.payload
                        self._inbox.put_nowait((str(message.topic), payload if isinstance(
                            payload, bytes) else str(payload).encode()))
                    raise aiomqtt.MqttError("the message stream ended")
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                self.client = None
                if self._closed.is_set():
                    return
                if lost_at is None:
                    lost_at = time.time()
                    if ever_connected:
                        self.stats.disconnects += 1
                        log.warning("%s: disconnected from %s:%s (%s); the broker keeps the "
                                    "session, reconnecting", self.name, s.host, s.port, exc)
                delay = backoff.next()
                log.info("%s: cannot reach %s:%s (%s); next attempt in %.2f s", self.name,
                         s.host, s.port, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closed.wait(), delay)

    def _accept(self, name: str, payload: bytes) -> None:
        try:
            kind, msg = decode(self.settings.prefix, name, payload)
        except WireError as exc:
            self.stats.received += 1
            self._intake.reject(name, exc.reason, str(exc))
            return
        if kind == "tags" and isinstance(msg, RawValue):
            self._intake.value(msg)
        elif kind == "events" and isinstance(msg, PlantEvent):
            self._intake.event(msg)
        # KPIs and alarms published by a twin under the same prefix are not plant data

    async def items(self) -> AsyncIterator[Reading | PlantEvent]:
        """Readings and events as they arrive (ordered as :mod:`twin.live.tagchecks` says),
        until :meth:`close`."""
        if self._pump is None:
            self._pump = asyncio.create_task(self._run())
        while not self._closed.is_set():
            try:
                name, payload = await asyncio.wait_for(self._inbox.get(), QUIET)
            except TimeoutError:
                for item in self._intake.flush():
                    yield item
                continue
            self._accept(name, payload)
            for item in self._intake.ready():
                yield item
        for item in self._intake.flush():
            yield item

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Disconnect and end the iteration."""
        self._closed.set()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
