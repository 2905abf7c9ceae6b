"""Publishing the twin (or the virtual plant) over MQTT in the wire format of
:mod:`twin.live.wire`: tag values, plant events, KPIs and alarm transitions, at QoS 1.

Each topic gets its own sequence number (``seq``, from 0), so a subscriber can drop
duplicates that QoS 1 may deliver. A batch of messages is handed to the client in order and
awaited together (the broker acknowledges each one); a message is never dropped by the
publisher: a failed publication raises.

Where and how to connect is a connection setting (:class:`~twin.live.connection.
MqttSettings`, the same file a source reads, with the same rules: the password comes from
the environment variable it names, a broker on another host needs TLS and a user unless
``allow_insecure``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import aiomqtt

from twin.live import wire
from twin.live.connection import MqttSettings, check_security, secret
from twin.live.mqtt import tls_context
from twin.live.readings import PlantEvent
from twin.live.wire import AlarmMessage, RawValue


class Publisher:
    """An MQTT publisher of one line's messages under the settings' topic ``prefix``
    (``async with``).

    Raises
    ------
    ConnectionSettingsError
        Settings that would publish to a remote broker in the clear, or are inconsistent.
    """

    def __init__(self, settings: MqttSettings) -> None:
        check_security(settings)
        wire.subscription(settings.prefix)  # a malformed prefix fails here, naming it
        s = settings
        self.prefix = s.prefix
        self._client = aiomqtt.Client(
            s.host, s.port, identifier=s.client_id, username=s.username or None,
            password=secret(s.password_env, "MQTT password"), keepalive=s.keepalive,
            tls_context=tls_context(s), protocol=aiomqtt.ProtocolVersion.V311)
        self._seq: Counter[str] = Counter()
        self.published = 0

    async def __aenter__(self) -> Publisher:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._client.__aexit__(*exc)

    def _next(self, topic: str) -> int:
        seq = self._seq[topic]
        self._seq[topic] += 1
        return seq

    async def _send(self, messages: list[tuple[str, bytes]]) -> None:
        if messages:
            await asyncio.gather(*(self._client.publish(t, p, qos=1) for t, p in messages))
            self.published += len(messages)

    async def values(self, values: Iterable[RawValue], kind: str = "tags") -> None:
        """Publish tag values (``kind = "tags"``) or KPI values (``"kpis"``)."""
        out = []
        for v in values:
            t = wire.topic(self.prefix, kind, v.tag)
            out.append((t, wire.encode_value(replace(v, seq=self._next(t)))))
        await self._send(out)

    async def events(self, events: Iterable[PlantEvent]) -> None:
        """Publish plant events (on ``{prefix}/events/{station}``)."""
        out = []
        for ev in events:
            t = wire.topic(self.prefix, "events", ev.station)
            out.append((t, wire.encode_event(replace(ev, seq=self._next(t)))))
        await self._send(out)

    async def alarms(self, alarms: Iterable[AlarmMessage]) -> None:
        """Publish alarm transitions (on ``{prefix}/alarms/{alarm}``)."""
        out = []
        for a in alarms:
            t = wire.topic(self.prefix, "alarms", a.alarm)
            out.append((t, wire.encode_alarm(replace(a, seq=self._next(t)))))
        await self._send(out)
