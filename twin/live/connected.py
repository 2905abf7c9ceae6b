"""What every connected source (MQTT, OPC UA) shares: a background task that keeps the
connection (reconnecting with back-off) and feeds an inbox, and the iteration that checks,
orders and yields what arrives.

A subclass implements :meth:`ConnectedSource._session` (connect, subscribe, put each message
in the inbox with :meth:`ConnectedSource._receive`, return or raise when the connection is
lost) and :meth:`ConnectedSource._accept` (turn one inbox entry into intake calls). Errors
of the connection settings (:class:`~twin.live.connection.ConnectionSettingsError`, a
missing certificate file) end the iteration with that error; anything else is a lost or
refused connection: logged, counted, and tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Self

from twin.live.connection import Backoff, ConnectionSettingsError, Settings, check_security
from twin.live.readings import PlantEvent, Reading, SourceStats
from twin.live.tagchecks import Intake, TagChecks

QUIET = 0.25
"""Wall seconds without a message after which held values are released (the reorder buffer
waits for newer data otherwise)."""
FATAL = (ConnectionSettingsError, FileNotFoundError, PermissionError, IsADirectoryError)
"""Errors that retrying cannot mend: they end the iteration."""


class ConnectedSource:
    """Base of the sources that hold a connection (see the module docstring).

    ``connected`` is set while connected; ``client`` is the library's client then.
    """

    def __init__(self, settings: Settings, tagmap: Any, where: str) -> None:
        check_security(settings)
        self.settings, self.name, self.where = settings, settings.name, where
        self.checks = TagChecks(tagmap, clock_offset=settings.clock_offset)
        self.stats = SourceStats()
        self._intake = Intake(self.checks, self.stats, source=settings.name,
                              lateness=settings.lateness)
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self.connected = asyncio.Event()
        self.client: Any = None
        self._lost_at: float | None = None
        self._ever_connected = False
        self.log = logging.getLogger(type(self).__module__)

    async def _session(self) -> None:
        """Connect, subscribe and receive until the connection is lost (raise)."""
        raise NotImplementedError

    def _accept(self, entry: Any) -> None:
        """Feed one inbox entry to the intake."""
        raise NotImplementedError

    def _receive(self, entry: Any) -> None:
        self._inbox.put_nowait(entry)

    def _up(self, client: Any, what: str) -> None:
        """Record a successful connection (``what``: a note for the first log line)."""
        self.client = client
        if self._lost_at is not None and self._ever_connected:
            self.stats.offline.append((self._lost_at, time.time()))
            self.log.warning("%s: reconnected to %s after %.1f s offline", self.name, self.where,
                        time.time() - self._lost_at)
        else:
            self.log.info("%s: connected to %s, %s", self.name, self.where, what)
        self._lost_at, self._ever_connected = None, True
        self.connected.set()

    def _down(self, exc: BaseException) -> None:
        """Record a lost or refused connection."""
        self.connected.clear()
        self.client = None
        if self._lost_at is None:
            self._lost_at = time.time()
            if self._ever_connected:
                self.stats.disconnects += 1
                self.log.warning("%s: disconnected from %s (%s: %s); reconnecting", self.name,
                            self.where, type(exc).__name__, exc)

    async def _run(self) -> None:
        s = self.settings
        backoff = Backoff(s.backoff_initial, s.backoff_max, s.seed)
        while not self._closed.is_set():
            try:
                await self._session()
                raise ConnectionError("the connection ended")
            except FATAL:
                raise
            except Exception as exc:  # lost, refused, unreachable: try again
                if self._closed.is_set():
                    return
                was_up = self.connected.is_set()
                self._down(exc)
                if was_up:
                    backoff.reset()
                delay = backoff.next()
                self.log.info("%s: cannot reach %s (%s: %s); next attempt in %.2f s", self.name,
                         self.where, type(exc).__name__, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closed.wait(), delay)

    async def items(self) -> AsyncIterator[Reading | PlantEvent]:
        """Readings and events as they arrive (ordered as :mod:`twin.live.tagchecks` says),
        until :meth:`close`; a settings error (a variable not set, a missing certificate)
        ends the iteration with that error."""
        if self._pump is None:
            self._pump = asyncio.create_task(self._run())
        while not self._closed.is_set():
            try:
                entry = await asyncio.wait_for(self._inbox.get(), QUIET)
            except TimeoutError:
                if self._pump.done() and not self._pump.cancelled():
                    self._pump.result()  # raises the settings error that stopped it
                for item in self._intake.flush():
                    yield item
                continue
            self._accept(entry)
            for item in self._intake.ready():
                yield item
        for item in self._intake.flush():
            yield item

    async def _disconnect(self, client: Any) -> None:
        """Close a library client (after the pump has stopped)."""

    async def close(self) -> None:
        """Disconnect and end the iteration."""
        self._closed.set()
        client, self.client = self.client, None
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, *FATAL):
                await self._pump
        if client is not None:
            await self._disconnect(client)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
