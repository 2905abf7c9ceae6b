"""MQTT source against a real broker (amqtt) and a real publisher (aiomqtt), no mocks."""

from __future__ import annotations

import asyncio
import logging

import aiomqtt
import pytest

from tests.live.conftest import TIMEOUT, await_until, collecting
from twin.live import wire
from twin.live.connection import Backoff, MqttSettings
from twin.live.mqtt import MqttSource, tls_context
from twin.live.readings import PlantEvent, Reading

PREFIX = "plant/line1"


def settings(port: int, **kw) -> MqttSettings:
    return MqttSettings(host="127.0.0.1", port=port, prefix=PREFIX, client_id="twin-test",
                        username="twin", backoff_initial=0.05, backoff_max=0.4, seed=7, **kw)


def value(seq: int, value: float = 20.0, unit: str = "degC", quality: str = "good",
          tag: str = "TI101") -> tuple[str, bytes]:
    msg = wire.RawValue(1772431200.0 + seq, tag, value + seq, unit, quality, seq)
    return wire.topic(PREFIX, "tags", tag), wire.encode_value(msg)


async def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="plant-publisher", username="plant",
                              protocol=aiomqtt.ProtocolVersion.V311) as client:
        for name, payload in messages:
            await client.publish(name, payload, qos=1)


def test_a_network_cut_loses_nothing_the_broker_kept_and_uses_no_duplicate(
        mqtt_broker, mqtt_link, tagmap, caplog) -> None:
    caplog.set_level(logging.INFO, logger="twin.live")

    async def main() -> tuple[MqttSource, list[Reading | PlantEvent]]:
        src = MqttSource(settings(mqtt_link.port), tagmap)
        async with collecting(src) as got:
            await publish(mqtt_broker.port, [value(i) for i in range(10)])
            await await_until(lambda: len(got) == 10, what="the first 10 readings")
            await asyncio.to_thread(mqtt_link.cut)
            await await_until(lambda: src.stats.disconnects == 1, what="the source to notice")
            await await_until(lambda: mqtt_broker.session_state("twin-test") == "disconnected",
                              what="the broker to keep the session")
            # published while the twin is away: kept by the broker for its persistent session
            await publish(mqtt_broker.port, [value(i) for i in range(10, 20)] + [
                value(15), value(3),                                   # duplicates
                (wire.topic(PREFIX, "tags", "TI101"), b"{not json"),   # malformed
                (wire.topic(PREFIX, "tags", "TI101"), b'{"time": 1, "value": "hot"}'),
                (f"{PREFIX}/nonsense/TI101", b"{}"),                   # not a topic of ours
                value(20, unit="bar"), value(21, value=500.0), value(22, quality="bad"),
                value(23, tag="NOPE")])
            await asyncio.to_thread(mqtt_link.restore)
            await await_until(lambda: sum(src.stats.rejected.values()) == 7,
                              what="every message after the reconnect")
            await await_until(lambda: src.stats.duplicates == 2, what="both duplicates")
        return src, got

    src, got = asyncio.run(main())
    assert [r.seq for r in got] == list(range(20))
    assert [r.value for r in got] == pytest.approx([273.15 + 20 + i for i in range(20)])
    s = src.stats
    assert s.disconnects == 1 and len(s.offline) == 1
    start_, end = s.offline[0]
    assert end > start_
    assert dict(s.rejected) == {"malformed": 3, "wrong_unit": 1, "out_of_range": 1,
                                "bad_quality": 1, "unknown_tag": 1}
    assert (s.duplicates, s.late, s.used, s.received) == (2, 0, 20, 29)
    text = caplog.text
    assert "disconnected from 127.0.0.1" in text and "reconnected to 127.0.0.1" in text


def test_events_through_mqtt_and_reconnect_until_the_broker_is_up(
        mqtt_broker, mqtt_link, tagmap) -> None:
    async def main() -> tuple[MqttSource, list[Reading | PlantEvent]]:
        await asyncio.to_thread(mqtt_link.cut)  # the network is down when the twin starts
        src = MqttSource(settings(mqtt_link.port, lateness=5.0), tagmap)
        async with collecting(src, wait_connected=False) as got:
            await asyncio.sleep(0.3)  # a few failed attempts (no disconnect: never connected)
            await asyncio.to_thread(mqtt_link.restore)
            await asyncio.wait_for(src.connected.wait(), TIMEOUT)
            evs = [PlantEvent(1772431200.0 + t, f"p{t}", "A", "cnc", "start", seq=t)
                   for t in (2, 0, 1, 4, 3)]  # out of order within the lateness
            kpi = wire.RawValue(1772431200.0, "kpi.throughput", 0.1, "1/s")
            await publish(mqtt_broker.port, [
                (wire.topic(PREFIX, "kpis", "throughput"), wire.encode_value(kpi))] + [
                (wire.topic(PREFIX, "events", "cnc"), wire.encode_event(e)) for e in evs])
            await await_until(lambda: len(got) == 5, what="the events")
        return src, got

    src, got = asyncio.run(main())
    assert [e.id for e in got] == ["p0", "p1", "p2", "p3", "p4"]
    assert src.stats.disconnects == 0 and src.stats.offline == []
    # a twin's KPI is received but is not plant data: neither used nor rejected
    assert (src.stats.received, src.stats.used, src.stats.rejected) == (6, 5, {})


def test_backoff_doubles_up_to_its_cap_with_seeded_jitter() -> None:
    a, b = Backoff(0.5, 4.0, seed=3), Backoff(0.5, 4.0, seed=3)
    delays = [a.next() for _ in range(8)]
    assert delays == [b.next() for _ in range(8)]
    caps = [0.5, 1, 2, 4, 4, 4, 4, 4]
    assert all(c / 2 <= d < c for d, c in zip(delays, caps, strict=True))
    a.reset()
    assert 0.25 <= a.next() < 0.5


def test_tls_and_a_password_from_the_environment(background_loop, tmp_path, tagmap,
                                                 monkeypatch, caplog) -> None:
    from tests.live.conftest import MqttBroker, password_file, self_signed

    cert, key = self_signed(tmp_path)
    broker = MqttBroker(background_loop, tls=(cert, key),
                        password_file=password_file(tmp_path / "users", {"twin": "s3cret"}))
    broker.start()
    monkeypatch.setenv("TWIN_TEST_MQTT_PASSWORD", "wrong")
    caplog.set_level(logging.INFO, logger="twin.live.mqtt")

    async def main() -> list[Reading | PlantEvent]:
        s = settings(broker.port, tls=True, ca_file=str(cert),
                     password_env="TWIN_TEST_MQTT_PASSWORD")
        async with collecting(MqttSource(s, tagmap), wait_connected=False) as refused:
            await await_until(lambda: "next attempt" in caplog.text, what="a refusal")
        assert refused == []
        monkeypatch.setenv("TWIN_TEST_MQTT_PASSWORD", "s3cret")
        async with collecting(MqttSource(s, tagmap)) as got:
            async with aiomqtt.Client("127.0.0.1", broker.port, username="twin",
                                      password="s3cret", identifier="plant-tls",
                                      tls_context=tls_context(s),
                                      protocol=aiomqtt.ProtocolVersion.V311) as client:
                await client.publish(*value(1), qos=1)
            await await_until(lambda: len(got) == 1, what="the reading over TLS")
        return got

    try:
        got = asyncio.run(main())
    finally:
        broker.stop()
    assert [(r.tag, r.seq) for r in got] == [("TI101", 1)]


def test_a_settings_error_ends_the_iteration_with_it(tagmap, monkeypatch, tmp_path) -> None:
    from twin.live.connection import ConnectionSettingsError

    monkeypatch.delenv("TWIN_TEST_UNSET", raising=False)

    async def first(src: MqttSource) -> None:
        async with src:
            async for _ in src.items():
                break

    with pytest.raises(ConnectionSettingsError, match="TWIN_TEST_UNSET, which is not set"):
        asyncio.run(asyncio.wait_for(first(MqttSource(settings(1, password_env="TWIN_TEST_UNSET"),
                                                      tagmap)), TIMEOUT))
    missing = settings(1, tls=True, ca_file=str(tmp_path / "no-ca.pem"))
    with pytest.raises(FileNotFoundError):
        asyncio.run(asyncio.wait_for(first(MqttSource(missing, tagmap)), TIMEOUT))
