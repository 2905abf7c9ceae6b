"""Publishing the twin (or the virtual plant) over MQTT in the wire format of
:mod:`twin.live.wire`: tag values, plant events, KPIs and alarm transitions, at QoS 1.

Each topic gets its own sequence number (``seq``, from 0), so a subscriber can drop
duplicates that QoS 1 may deliver. A batch of messages is handed to the client in order and
awaited together (the broker acknowledges each one); a message is never dropped by the
publisher: a failed publication raises.

Security: credentials come from the environment (:data:`ENV`), never from a file; a broker
on another host than this machine needs TLS unless ``allow_insecure`` is set.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import aiomqtt

from twin.live import wire
from twin.live.readings import PlantEvent
from twin.live.wire import AlarmMessage, RawValue

ENV = {"user": "TWIN_MQTT_USER", "password": "TWIN_MQTT_PASSWORD", "ca": "TWIN_MQTT_CA"}
"""Environment variables of the publisher's credentials and TLS certificate authority."""

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Hosts reached without the network (no TLS needed)."""


class Publisher:
    """An MQTT publisher of one line's messages under a topic ``prefix`` (``async with``).

    Parameters
    ----------
    host, port
        The broker.
    prefix
        Topic prefix (``plant/line1``); see :func:`twin.live.wire.topic`.
    client_id
        MQTT client identifier (default: chosen by the client library).
    tls
        Connect with TLS (the CA file in ``TWIN_MQTT_CA``, else the system's).
    allow_insecure
        Allow a broker on another host without TLS.
    environ
        Where credentials are read (default: ``os.environ``).

    Raises
    ------
    ValueError
        A remote broker without TLS (unless allowed), or a malformed prefix.
    """

    def __init__(self, host: str, port: int, prefix: str, *, client_id: str | None = None,
                 tls: bool = False, allow_insecure: bool = False,
                 environ: Mapping[str, str] | None = None) -> None:
        wire.subscription(prefix)  # a malformed prefix fails here, naming it
        if host not in LOCAL_HOSTS and not tls and not allow_insecure:
            raise ValueError(f"MQTT broker {host}:{port} is not on this machine: use TLS, or "
                             "allow an insecure connection explicitly")
        env = os.environ if environ is None else environ
        context = ssl.create_default_context(cafile=env.get(ENV["ca"]) or None) if tls else None
        self.prefix = prefix
        self._client = aiomqtt.Client(
            host, int(port), identifier=client_id, username=env.get(ENV["user"]) or None,
            password=env.get(ENV["password"]) or None, tls_context=context)
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
