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

import ssl
from typing import Any

from twin.live.connected import ConnectedSource
from twin.live.connection import MqttSettings, secret
from twin.live.readings import PlantEvent
from twin.live.wire import RawValue, WireError, decode, subscription


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


class MqttSource(ConnectedSource):
    """A :class:`~twin.live.readings.Source` reading a broker with the wire format.

    ``settings``: where and how to connect (:class:`~twin.live.connection.MqttSettings`);
    ``tagmap``: the loaded tag map.
    """

    settings: MqttSettings

    def __init__(self, settings: MqttSettings, tagmap: Any) -> None:
        super().__init__(settings, tagmap, f"{settings.host}:{settings.port}")

    async def _session(self) -> None:
        import aiomqtt

        s = self.settings
        try:
            async with aiomqtt.Client(
                    s.host, s.port, identifier=s.client_id, clean_session=False,
                    protocol=aiomqtt.ProtocolVersion.V311, username=s.username or None,
                    password=secret(s.password_env, "MQTT password"), keepalive=s.keepalive,
                    tls_context=tls_context(s), timeout=10.0) as client:
                await client.subscribe(subscription(s.prefix), qos=1)
                self._up(client, f"client id {s.client_id!r}, the broker keeps the session")
                async for message in client.messages:
                    payload = message.payload
                    self._receive((str(message.topic), payload if isinstance(payload, bytes)
                                   else str(payload).encode()))
        except aiomqtt.MqttError as exc:
            raise ConnectionError(str(exc)) from exc

    def _accept(self, entry: tuple[str, bytes]) -> None:
        name, payload = entry
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
        else:  # a twin's KPIs and alarms under the same prefix: received, not plant data
            self.stats.received += 1
