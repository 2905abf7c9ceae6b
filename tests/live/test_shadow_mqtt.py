"""The shadow twin follows the virtual plant over a real MQTT broker (amqtt on 127.0.0.1)
through the MQTT source, and flags a fouled jacket; no mocks."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import plant_files as pf
import pytest
import tomli_w

import twin
from tests.live.conftest import TIMEOUT, await_until
from twin.live.connection import MqttSettings
from twin.live.messages import default_tagmap
from twin.live.mqtt import MqttSource
from twin.live.plant import make_plant, run_plant
from twin.live.shadow import MonitorSettings, ShadowTwin
from twin.pilotdata.load import load


def test_the_shadow_follows_the_virtual_plant(mqtt_broker, tmp_path: Path) -> None:
    """The virtual plant (a run of the reactor line whose jacket fouls to 0.75 of its UA at
    10 h, temperature noise 0.5 K) publishes its reactor temperature, KPIs and events to the
    broker in accelerated time while the shadow follows it through the MQTT source: every
    reading and event the plant published reaches the shadow, the batch temperatures become
    residuals, the residual alarm stays quiet before the fault and activates within 90
    minutes of it."""
    spec = tmp_path / "jacket.toml"
    spec.write_text(tomli_w.dumps({**pf.jacket(), "run": {"duration": "16 h"}}))
    plant = make_plant(spec, faults=["reactor.ua x0.75 at 10 h"],
                       noise=["temperature.reactor=0.5 K"], seed=3)
    plant = dataclasses.replace(plant, tagmap=default_tagmap(plant.prep.line,
                                                             ["temperature.reactor"]))
    (tmp_path / "tagmap.csv").write_text(plant.tagmap.frame().to_csv(index=False))
    tagmap = load(tmp_path / "tagmap.csv", "tagmap")
    reference = twin.run(pf.jacket(), duration="12 h", warmup="0 s", seed=1)
    # the plant publishes each poll's readings before its events; a poll covers a few plant
    # hours at this speed on a loaded machine: hold items 8 plant hours (1.4 s) to reorder
    settings = MonitorSettings(arl0=5000, window=None, reorder=8 * 3600.0,
                               sigma={"temperature.reactor": 0.5})
    shadow = ShadowTwin(pf.jacket(), list(tagmap.frame["signal"]), settings,
                        reference=reference)
    broker = {"port": mqtt_broker.port, "prefix": "plant/virtual", "username": "twin"}

    async def main() -> dict[str, int]:
        src = MqttSource(MqttSettings(client_id="shadow", **broker), tagmap)
        task = asyncio.create_task(shadow.follow(src))
        await asyncio.wait_for(src.connected.wait(), TIMEOUT)
        await run_plant(plant, tmp_path / "plant", speed=20000.0,
                        mqtt=MqttSettings(client_id="virtual-plant", **broker))
        sent = plant.truth["published"]
        await await_until(lambda: src.stats.used >= sent["tags"] + sent["events"],
                          timeout=3 * TIMEOUT, what="every plant reading and event")
        await src.close()
        await asyncio.wait_for(task, TIMEOUT)
        return sent

    sent = asyncio.run(main())
    res = shadow.finish()
    assert shadow.stats["used"] == sent["tags"] + sent["events"]  # the KPIs are not plant data
    assert shadow.late <= 0.02 * shadow.stats["used"]  # only if a poll came over 8 h late
    assert "temperature.reactor" in shadow.tracks
    temps = res.residuals[res.residuals["signal"] == "temperature.reactor"]
    assert len(temps) > 100 and temps["statistic"].notna().all()
    fault = plant.origin + 10 * 3600.0 - shadow.origin  # on the shadow's clock
    act = res.alarms[res.alarms["event"] == "activate"]
    assert len(act) and act["time"].min() >= fault
    assert act["time"].min() < fault + 90 * 60


def test_the_shadow_publishes_its_values_over_mqtt(mqtt_broker, tmp_path: Path) -> None:
    """A shadow following a replay of the reactor plant publishes its points to a real
    broker while it goes (``serve_shadow``): each message is a value of the shadow's
    residual table at its time (measured and predicted in degC, the residual in K, the
    statistic and limit in standard deviations), every topic numbered 0, 1, ... (nothing
    lost at QoS 1)."""
    import aiomqtt

    from twin.live import wire
    from twin.live.mqtt_publisher import Publisher
    from twin.live.replay import ReplaySource
    from twin.live.serve import serve_shadow

    normal = pf.run_jacket(duration="8 h")
    truth = pf.true_temperature([normal], float("inf"), 60.0)
    paths = pf.write_files(tmp_path, pf.temperature_readings(*truth, 0.5, 4), normal)
    reference = twin.run(pf.jacket(), duration="12 h", warmup="0 s", seed=1)
    shadow = ShadowTwin(pf.jacket(), ["temperature.reactor"],
                        MonitorSettings(window=None, sigma={"temperature.reactor": 0.5}),
                        reference=reference)
    prefix = "twin/jacket_shadow"
    settings = MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port, prefix=prefix,
                            client_id="shadow-publisher", username="twin")

    async def main() -> tuple[list[tuple[str, bytes]], int]:
        got: list[tuple[str, bytes]] = []
        async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port, identifier="reader",
                                  username="reader",
                                  protocol=aiomqtt.ProtocolVersion.V311) as sub:
            await sub.subscribe(wire.subscription(prefix), qos=1)

            async def collect() -> None:
                async for msg in sub.messages:
                    got.append((str(msg.topic), bytes(msg.payload)))  # type: ignore[arg-type]

            task = asyncio.create_task(collect())
            source = ReplaySource(paths["tagmap"], timeseries=paths["timeseries"],
                                  events=paths["events"], speed=8 * 3600 / 2.0)
            async with Publisher(settings) as pub:
                stats = await serve_shadow(shadow, source, publisher=pub, interval=0.02)
            sent = stats.published["tags"]
            await await_until(lambda: len(got) >= sent, TIMEOUT, "every shadow message")
            task.cancel()
        return got, sent

    got, sent = asyncio.run(asyncio.wait_for(main(), 3 * TIMEOUT))
    assert sent > 20 and len(got) == sent
    rows = shadow.residuals().set_index("time")
    seqs: dict[str, list[int]] = {}
    for topic, payload in got:
        kind, msg = wire.decode(prefix, topic, payload)
        assert kind == "tags"
        seqs.setdefault(topic, []).append(msg.seq)
        if not msg.tag.startswith("Shadow/"):
            continue  # the shadow's clock
        _, signal, field = msg.tag.split("/")
        assert signal == "temperature.reactor"
        row = rows.loc[round(msg.time - shadow.origin, 6)]
        expected = {"measured": (row["measured"] - 273.15, "degC"),
                    "predicted": (row["predicted"] - 273.15, "degC"),
                    "residual": (row["residual"], "K"), "estimate": (row["estimate"] - 273.15,
                                                                      "degC"),
                    "statistic": (row["statistic"], "1"), "limit": (row["limit"], "1")}[field]
        assert (msg.value, msg.unit) == (pytest.approx(expected[0], abs=1e-9), expected[1])
    for topic, s in seqs.items():
        assert sorted(s) == list(range(len(s))), topic
