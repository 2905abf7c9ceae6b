"""OPC UA source: readings of a pilot line from an OPC UA server (asyncua client).

:class:`OpcUaSource` subscribes (data-change subscription) to the node the connection
settings name for each tag (``[nodes]``). Each notification becomes a
:class:`~twin.live.wire.RawValue` in the tag map's unit and goes through the same checks as
every source (:mod:`twin.live.tagchecks`):

- status code class Bad -> rejected as ``bad_quality``; Uncertain -> a reading of quality
  ``uncertain``; Good -> ``good``.
- time: with ``timestamps = "source"`` (default) the device's SourceTimestamp, or the
  server's ServerTimestamp when the device gives none; with ``"server"`` the
  ServerTimestamp (falling back to the SourceTimestamp); with neither, the time the
  notification arrived. The clock offset of the settings is added to it.

A lost connection is logged and counted as in :mod:`twin.live.mqtt`, and the source
reconnects with the same seeded, capped back-off and subscribes again (the values the server
sends again on subscribing are dropped as duplicates). Writes go only through
:meth:`OpcUaSource.writer`, which refuses every tag not in ``allow_writes``.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime
from typing import Any

from twin.live.connected import ConnectedSource
from twin.live.connection import OpcUaSettings, PlantWriter, secret
from twin.live.wire import RawValue


def _epoch(stamp: datetime | None) -> float | None:
    if stamp is None:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def quality_of(status: Any) -> str:
    """``good``, ``uncertain`` or ``bad``: the class of an OPC UA status code."""
    if status is None:
        return "good"
    if status.is_bad():
        return "bad"
    return "uncertain" if status.is_uncertain() else "good"


def raw_value(tag: str, data_value: Any, timestamps: str) -> RawValue:
    """The :class:`RawValue` of an OPC UA DataValue of ``tag`` (unit: the tag map's)."""
    src, srv = _epoch(data_value.SourceTimestamp), _epoch(data_value.ServerTimestamp)
    first, second = (src, srv) if timestamps == "source" else (srv, src)
    t = first if first is not None else second if second is not None else time.time()
    v = data_value.Value.Value if data_value.Value is not None else None
    try:
        value = float(v) if v is not None and not isinstance(v, str) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    return RawValue(t, tag, value, "", quality_of(data_value.StatusCode))


class _Changes:
    """asyncua's data-change handler: passes each notification to the source."""

    def __init__(self, source: OpcUaSource) -> None:
        self.source = source

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.source._notify(node, data.monitored_item.Value)

    def status_change_notification(self, status: Any) -> None:
        """The server ended the subscription (or the connection did): reconnect."""
        code = getattr(status, "Status", None)
        if code is not None and not code.is_good():
            self.source._lost.set()


class OpcUaSource(ConnectedSource):
    """A :class:`~twin.live.readings.Source` subscribed to OPC UA nodes.

    ``settings``: :class:`~twin.live.connection.OpcUaSettings`; ``tagmap``: the loaded tag
    map (every tag of ``settings.nodes`` must be in it).
    """

    settings: OpcUaSettings

    def __init__(self, settings: OpcUaSettings, tagmap: Any) -> None:
        super().__init__(settings, tagmap, settings.url)
        missing = sorted(set(settings.nodes) - set(self.checks.tags))
        if missing:
            raise ValueError(f"{settings.name}: tags {', '.join(missing)} of [nodes] are not "
                             f"in the tag map")
        self._tags: dict[Any, str] = {}
        self._lost = asyncio.Event()

    async def _client(self) -> Any:
        from asyncua import Client, ua
        from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

        s = self.settings
        client = Client(s.url, timeout=5.0, watchdog_intervall=1.0)
        client.name = client.description = f"Pilot Twin ({s.name})"
        if s.username:
            client.set_user(s.username)
        password = secret(s.password_env, "OPC UA password")
        if password is not None:
            client.set_password(password)
        if s.security_policy == "Basic256Sha256":
            await client.set_security(
                SecurityPolicyBasic256Sha256, s.certificate, s.private_key,
                secret(s.private_key_password_env, "OPC UA private key passphrase"),
                s.server_certificate or None, mode=getattr(ua.MessageSecurityMode,
                                                           s.security_mode))

        async def lost(exc: Exception) -> None:
            self._lost.set()

        client.connection_lost_callback = lost
        return client

    async def _subscribe(self, client: Any) -> None:
        from asyncua import ua

        nodes = []
        self._tags = {}
        for tag, node_id in self.settings.nodes.items():
            node = client.get_node(ua.NodeId.from_string(node_id))
            self._tags[node.nodeid] = tag
            nodes.append(node)
        sub = await client.create_subscription(
            self.settings.publishing_interval * 1000.0, _Changes(self))
        await sub.subscribe_data_change(nodes)

    def _notify(self, node: Any, data_value: Any) -> None:
        tag = self._tags.get(node.nodeid)
        if tag is not None:
            self._receive(raw_value(tag, data_value, self.settings.timestamps))

    async def _session(self) -> None:
        client = await self._client()  # settings errors (files, variables) end the source
        self._lost.clear()
        up = False
        try:
            await client.connect()
            await self._subscribe(client)
            self._up(client, f"{len(self.settings.nodes)} nodes subscribed")
            up = True
            await self._lost.wait()
            raise ConnectionError("the server connection was lost")
        except asyncio.CancelledError:
            if not up:  # cancelled half-way: close the socket now
                client.disconnect_socket()
            raise
        except Exception:
            await self._disconnect(client)
            raise

    def _accept(self, entry: RawValue) -> None:
        self._intake.value(entry)

    async def _disconnect(self, client: Any) -> None:
        try:
            await client.disconnect()
        except Exception:  # the connection is gone already: drop the socket
            client.disconnect_socket()

    def writer(self) -> PlantWriter:
        """The write guard: writes a value to the node of an allowed tag, in the tag map's
        unit; refuses (:class:`~twin.live.connection.WriteRefused`) every other tag."""

        async def write(tag: str, value: float) -> None:
            from asyncua import ua

            if self.client is None:
                raise ConnectionError(f"{self.name}: not connected to {self.settings.url}")
            if tag not in self.settings.nodes:
                raise KeyError(f"{self.name}: tag {tag!r} has no node in [nodes]")
            node = self.client.get_node(ua.NodeId.from_string(self.settings.nodes[tag]))
            await node.write_value(ua.DataValue(ua.Variant(float(value),
                                                           ua.VariantType.Double)))

        return PlantWriter(self.settings.allow_writes, write, source=self.name)
