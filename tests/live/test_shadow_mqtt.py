"""The shadow twin follows a plant over a real MQTT broker (amqtt on 127.0.0.1) through the
MQTT source, and flags a fouled jacket; no mocks."""

from __future__ import annotations

import asyncio
import dataclasses

import aiomqtt
import plant_files as pf

import twin
from tests.live.conftest import TIMEOUT, await_until
from twin.live import wire
from twin.live.connection import MqttSettings
from twin.live.mqtt import MqttSource
from twin.live.readings import Reading
from twin.live.shadow import MonitorSettings, ShadowTwin

PREFIX = "plant/jacket"


async def _publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="jacket-plant", username="plant",
                              protocol=aiomqtt.ProtocolVersion.V311) as client:
        for name, payload in messages:
            await client.publish(name, payload, qos=1)


def test_the_shadow_follows_the_plant_over_mqtt(mqtt_broker, tagmap) -> None:
    """A day of the reactor line (2-minute samples of TI101 in degC, batch events), its
    jacket fouled from the batch at 12 h, published at QoS 1: every message is used, every
    reading of a running batch is a residual, and the residual alarm activates within an
    hour of the fault."""
    normal, fouled = pf.run_jacket(), pf.run_jacket("1.8 kW/K")
    truth = pf.true_temperature([normal, fouled], 12 * 3600.0, 120.0)
    readings = pf.temperature_readings(*truth, 0.5, 4, tag="TI101")
    messages = []
    for seq, item in enumerate(pf.merged(readings, pf.plant_events(normal))):
        if isinstance(item, Reading):
            raw = wire.RawValue(item.time, item.tag, item.value - 273.15, "degC", "good", seq)
            messages.append((wire.topic(PREFIX, "tags", item.tag), wire.encode_value(raw)))
        else:
            ev = dataclasses.replace(item, seq=seq)
            messages.append((wire.topic(PREFIX, "events", ev.station), wire.encode_event(ev)))
    reference = twin.run(pf.jacket(), duration="12 h", warmup="0 s", seed=1)
    settings = MonitorSettings(arl0=500, window=None, sigma={"temperature.reactor": 0.5})

    async def main() -> ShadowTwin:
        src = MqttSource(MqttSettings(port=mqtt_broker.port, prefix=PREFIX,
                                      client_id="shadow-test", username="twin"), tagmap)
        shadow = ShadowTwin(pf.jacket(), ["temperature.reactor"], settings,
                            reference=reference)
        task = asyncio.create_task(shadow.follow(src))
        await asyncio.wait_for(src.connected.wait(), TIMEOUT)
        await _publish(mqtt_broker.port, messages)
        await await_until(lambda: src.stats.used == len(messages), what="every message")
        await src.close()
        await asyncio.wait_for(task, TIMEOUT)
        return shadow

    shadow = asyncio.run(main())
    res = shadow.finish()
    assert shadow.stats["used"] == len(messages) and not shadow.stats["rejected"]
    assert len(res.residuals) == len(readings)
    fault = 12 * 3600.0 - 2 * 3600.0  # the origin is the first release, at 2 h
    act = res.alarms[res.alarms["event"] == "activate"]
    first = act.loc[act["time"] >= fault, "time"].min()
    assert 0 <= first - fault < 3600.0
