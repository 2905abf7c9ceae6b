"""The virtual plant against a real MQTT broker (amqtt) and a real subscriber (aiomqtt).

References, none of them the publishing path under test: the plant's own run folder (its
``signals`` table, and its ``events`` table turned into an MES event log by
:func:`twin.fit.runlogs.event_log`, a batch conversion independent of the streaming one);
the unit conversions of :func:`twin.data.units.si_conversion`; the line spec's cycle-time
distributions (a triangular 100..150 s machine made 1.3 times slower runs 130..195 s).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiomqtt
import numpy as np
import pytest

from tests.live.conftest import TIMEOUT, await_until, free_port
from tests.simulation.test_alarm_signals import filling_line
from twin.data.units import si_conversion
from twin.fit.runlogs import event_log
from twin.live import wire
from twin.live.connection import MqttSettings
from twin.live.plant import FaultError, make_plant, parse_fault, run_plant
from twin.observation.runfolder import read_summary, read_table, state
from twin.orchestration.whatif import what_if_line
from twin.pilotdata.load import load

PREFIX = "plant/filling"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """The filling line (arrivals every minute, m1 triangular 100..150 s, m2 30 s) as a
    line file, with an alarm on m1's buffer."""
    data = filling_line(full={"tag": "buffer.m1", "limit": 6, "priority": "high"})
    lines = ['[line]\nname = "filling"\n', '[run]\nduration = "3 h"\n', "[products.P]\n"]
    for name, st in data["stations"].items():
        lines.append(f"[stations.{name}]\n" + "".join(
            f"{k} = {json.dumps(v) if not isinstance(v, dict) else _inline(v)}\n"
            for k, v in st.items()))
    lines.append('[alarms.full]\ntag = "buffer.m1"\nlimit = 6\npriority = "high"\n')
    path = tmp_path / "line.toml"
    path.write_text("\n".join(lines))
    return path


def _inline(d: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in d.items()) + " }"


def test_faults_are_read_and_checked_against_the_line(spec: Path) -> None:
    line = what_if_line(spec, [])
    slower = parse_fault("m1.cycle_time x1.3 at 2 h", line)
    assert (slower.kind, slower.target, slower.at, slower.factor) == ("slower", "m1", 7200.0,
                                                                       1.3)
    down = parse_fault("m2 down at 90 min for 10 min", line)
    assert (down.kind, down.at, down.duration) == ("down", 5400.0, 600.0)
    api = what_if_line(Path(__file__).resolve().parents[2] / "lines" / "api_batch" /
                       "line.toml", [])
    fouled = parse_fault("reactor.ua x0.6 at 20 h", api)
    assert (fouled.kind, fouled.factor, fouled.event(api).kind) == ("fouled", 0.6, "fouling")
    steam = parse_fault("utility.steam out at 1 h for 2 h", api)
    assert steam.kind == "outage" and "reactor" in steam.stations
    for bad, why in (("m1.cycle_time x0 at 1 h", "positive"), ("m9 down at 1 h for 1 h", "m9"),
                     ("m1 down at 1 h", "how long"), ("m1.ua x0.5 at 1 h", "no jacket"),
                     ("m1.speed x2 at 1 h", "cycle_time or ua"),
                     ("utility.steam out at 1 h for 1 h", "utility"),
                     ("m1 slower", "write"), ("m1 down at soon for 1 h", "duration")):
        with pytest.raises(FaultError, match=why) as err:
            parse_fault(bad, line)
        assert repr(bad) in str(err.value)


def test_plant_publishes_every_signal_and_event_and_records_the_truth(
        spec: Path, mqtt_broker: Any, tmp_path: Path) -> None:
    plant = make_plant(spec, perturb=["stations.m2.cycle_time=40 s"],
                       faults=["m1.cycle_time x1.3 at 1 h"], seed=3)
    settings = MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port, prefix=PREFIX,
                            client_id="virtual-plant", username="plant")

    async def main() -> tuple[Path, list[tuple[str, bytes]]]:
        got: list[tuple[str, bytes]] = []
        async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port, identifier="watcher",
                                  username="watcher",
                                  protocol=aiomqtt.ProtocolVersion.V311) as sub:
            await sub.subscribe(wire.subscription(PREFIX), qos=1)

            async def collect() -> None:
                async for msg in sub.messages:
                    got.append((str(msg.topic), bytes(msg.payload)))  # type: ignore[arg-type]

            task = asyncio.create_task(collect())
            folder = await run_plant(plant, tmp_path / "runs", speed=3 * 3600 / 2.0,
                                     mqtt=settings, opcua_port=free_port(), interval=0.05)
            total = sum(read_summary(folder)["provenance"]["plant"]["published"].values())
            await await_until(lambda: len(got) >= total, TIMEOUT, "every message")
            task.cancel()
        return folder, got

    folder, got = asyncio.run(asyncio.wait_for(main(), 3 * TIMEOUT))
    assert state(folder).status == "completed"
    truth = read_summary(folder)["provenance"]["plant"]
    # the truth names the fault, its time on both clocks, and the hidden perturbation
    (fault,) = truth["faults"]
    assert fault["fault"] == "m1.cycle_time x1.3 at 1 h" and fault["begins_s"] == 3600.0
    assert fault["begins"] == "2026-01-05T01:00:00+00:00" and fault["factor"] == 1.3
    assert truth["perturbations"] == [{"path": "stations.m2.cycle_time", "plant": "40 s",
                                       "spec": "30 s"}]
    events = read_table(folder, "events")
    # the engine played them: m1 cycles 100..150 s before 1 h, 130..195 s after; m2 40 s
    for station, lo, hi, after in (("m1", 100, 150, False), ("m1", 130, 195, True),
                                   ("m2", 40, 40, None)):
        ev = events[events["station"] == station]
        start = ev[ev["kind"] == "start"]["time"].to_numpy()
        end = ev[ev["kind"] == "end"]["time"].to_numpy()[: start.size]
        cycles = (end - start[: end.size])
        if after is not None:
            cycles = cycles[(start[: end.size] >= 3600) == after]
        assert cycles.size > 5 and cycles.min() >= lo - 1e-9 and cycles.max() <= hi + 1e-9
    # no message lost at QoS 1: every topic's seq runs 0..n-1 once
    decoded: dict[str, list[Any]] = {"tags": [], "events": [], "kpis": [], "alarms": []}
    seqs: dict[str, list[int]] = {}
    for topic, payload in got:
        kind, msg = wire.decode(PREFIX, topic, payload)
        decoded[kind].append(msg)
        seqs.setdefault(topic, []).append(msg.seq)
    for topic, s in seqs.items():
        assert sorted(s) == list(range(len(s))), topic
    origin = plant.origin
    # tag values equal the signals table (back to SI through the unit each one names)
    signals = read_table(folder, "signals")
    tagmap = {t: s for t, s in zip(plant.tagmap.frame()["tag"], plant.tagmap.frame()["signal"],
                                   strict=True)}
    for tag, signal in tagmap.items():
        mine = sorted((m for m in decoded["tags"] if m.tag == tag), key=lambda m: m.seq)
        table = signals[signals["tag"] == signal]
        assert len(mine) == len(table), tag
        scale, offset, _ = si_conversion(mine[0].unit) if mine else (1.0, 0.0, "")
        np.testing.assert_allclose([m.time - origin for m in mine], table["time"], atol=1e-5)
        np.testing.assert_allclose([m.value * scale + offset for m in mine], table["value"],
                                   rtol=1e-12, atol=1e-12)
    # plant events equal the event log of the stored events table
    log = event_log({"events": events}, {"m1": 1, "m2": 1})
    mine = sorted(decoded["events"], key=lambda e: (e.time, e.station, e.seq))
    assert len(mine) == len(log)
    want = sorted(zip(log["time"], log["id"], log["station"], log["event"],
                      log["outcome"].replace("", "good"), strict=True))
    have = sorted((wire.format_time(e.time).replace(".000000+00:00", "Z").replace(
        "+00:00", "Z"), e.id, e.station, e.event, e.outcome) for e in mine)
    assert [w[1:] for w in want] == [h[1:] for h in have]
    np.testing.assert_allclose(sorted(wire.parse_time(w[0]) for w in want),
                               sorted(e.time for e in mine), atol=1e-5)
    # alarms and the final KPIs went out too
    assert {a.alarm for a in decoded["alarms"]} == {"full"}
    final = read_summary(folder)["kpis"]
    good = [m for m in decoded["kpis"] if m.tag == "good_units"]
    assert max(good, key=lambda m: m.seq).value == final["good_units"]
    assert (folder / "tagmap.csv").exists()


def test_plant_command_runs_saves_and_reports_bad_faults(
        spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from twin.edges.cli import main

    out = tmp_path / "cli"
    tagmap = tmp_path / "tagmap.csv"
    assert main(["plant", str(spec), "--duration", "1 h", "--speed", "0", "--json",
                 "--fault", "m2 down at 20 min for 5 min", "--out", str(out),
                 "--tagmap", str(tagmap), "--noise", "buffer.m1=0.5"]) == 0
    loaded = load(tagmap, "tagmap")  # the shadow twin reads it as pilot data
    assert loaded.issues == [] and set(loaded.frame["signal"]) >= {"buffer.m1", "wip"}
    printed = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    folder = Path(printed["folder"])
    assert state(folder).status == "completed"
    assert printed["truth"]["faults"][0]["begins_s"] == 1200.0
    stops = read_table(folder, "stops")
    assert list(zip(stops["start"], stops["kind"], stops["duration"], strict=True)) == [
        (1200.0, "failure", 300.0)]
    assert main(["plant", str(spec), "--fault", "m2 down at 1 h"]) == 1
    assert "'m2 down at 1 h'" in capsys.readouterr().err


def test_sensor_noise_has_its_stated_spread_and_is_seeded(spec: Path) -> None:
    """Reference: for n normal errors with sd s, (n - 1) S^2 / s^2 ~ chi2(n - 1) (SciPy)."""
    from scipy import stats

    from twin.live.messages import RunMessages
    from twin.live.plant import parse_noise
    from twin.orchestration.live import LiveRun

    plant = make_plant(spec, noise=["wip=0.5"], seed=3)
    assert plant.noise == {"wip": 0.5} and plant.truth["noise_sd_si"] == {"wip": 0.5}
    assert parse_noise("temperature.reactor=2 degC", what_if_line(
        Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml", []))[1] == 2.0
    with pytest.raises(ValueError, match="m9"):
        make_plant(spec, noise=["buffer.m9=1"])
    live = LiveRun(plant.prep, watch=list(plant.tagmap.tags))
    live.start()
    assert live.wait(60) and live.status == "completed"
    records, _ = live.since(None)
    exact = [v.value for v in RunMessages(plant.prep.line, live.recorder, 0.0).values(records)
             if v.tag == "wip"]
    noisy = [[v.value for v in RunMessages(plant.prep.line, live.recorder, 0.0, noise=plant.noise,
                                           seed=s).values(records) if v.tag == "wip"]
             for s in (3, 3, 4)]
    assert noisy[0] == noisy[1] and noisy[0] != noisy[2]
    err = np.asarray(noisy[0]) - np.asarray(exact)
    n = err.size
    assert n > 100
    q = (n - 1) * err.var(ddof=1) / 0.5**2
    assert stats.chi2.ppf(0.0005, n - 1) < q < stats.chi2.ppf(0.9995, n - 1)
    assert abs(err.mean()) < 4 * 0.5 / np.sqrt(n)
