"""The shadow twin over OPC UA, end to end with real servers on 127.0.0.1 (asyncua), no
mocks: it follows the virtual plant's OPC UA server through the OPC UA source, and is itself
served by an OPC UA server that the library's own client browses and reads."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import numpy as np
import plant_files as pf
import pytest
import tomli_w
from asyncua import Client

from tests.live.conftest import TIMEOUT, await_until, free_port
from twin.live.connection import OpcUaSettings
from twin.live.messages import default_tagmap
from twin.live.opcua import OpcUaSource
from twin.live.opcua_server import TwinServer
from twin.live.plant import make_plant, run_plant
from twin.live.predict import step_means
from twin.live.serve import serve_shadow
from twin.live.shadow import MonitorSettings, ShadowTwin
from twin.live.shadow_points import shadow_points
from twin.observation.runfolder import read_table
from twin.pilotdata.load import load

WINDOW = 900.0  # s


def test_the_shadow_follows_the_plant_over_opc_ua_and_is_served(tmp_path: Path) -> None:
    """The virtual plant (the Poisson queue line, 4 h at 1200x) serves ``wip`` (parts in the
    line) over OPC UA; the shadow subscribes to it and monitors its 15-minute means. Its window
    means are the plant's own (its ``signals`` table, the true step function, through the
    same ``step_means``) to the resolution of the plant server's updates. The shadow's
    server is browsed with asyncua's client: the signal's folder holds measured, predicted,
    residual, statistic, limit and alarm, and their values are the shadow's last residual
    row."""
    spec = tmp_path / "queue.toml"
    spec.write_text(tomli_w.dumps({**pf.QUEUE, "run": {"duration": "4 h"}}))
    plant = make_plant(spec, seed=3)
    plant = dataclasses.replace(plant, tagmap=default_tagmap(plant.prep.line, ["wip"]))
    (tmp_path / "tagmap.csv").write_text(plant.tagmap.frame().to_csv(index=False))
    tagmap = load(tmp_path / "tagmap.csv", "tagmap")
    plant_port, shadow_port = free_port(), free_port()
    settings = MonitorSettings(window=WINDOW, kpis=(), arl0=500, reference=100 * WINDOW)
    shadow = ShadowTwin(pf.QUEUE, ["wip"], settings)
    assert "wip" in shadow.tracks
    source_settings = OpcUaSettings(url=f"opc.tcp://127.0.0.1:{plant_port}",
                                    nodes={"wip": "ns=2;s=queue.wip"},
                                    publishing_interval=0.02, backoff_initial=0.05,
                                    backoff_max=0.1)  # in as soon as the plant serves

    async def main() -> tuple[Path, dict, dict]:
        server = TwinServer("queue_shadow", shadow_points(shadow), port=shadow_port)
        async with server:
            src = OpcUaSource(source_settings, tagmap)
            served = asyncio.create_task(serve_shadow(shadow, src, server=server,
                                                      interval=0.05))
            plant_task = asyncio.create_task(run_plant(plant, tmp_path / "plant",
                                                       speed=1200.0, opcua_port=plant_port,
                                                       interval=0.02))
            await asyncio.wait_for(src.connected.wait(), TIMEOUT)
            folder = await asyncio.wait_for(plant_task, 3 * TIMEOUT)
            # the plant's server is gone: what it sent has arrived; the served values
            # catch up within a poll
            await await_until(lambda: len(shadow.rows) >= 4, timeout=TIMEOUT,
                              what=f"four windows ({src.stats})")
            await asyncio.sleep(0.5)
            browsed, read = await _browse(shadow_port)
            await src.close()
            await asyncio.wait_for(served, TIMEOUT)
        return folder, browsed, read

    folder, browsed, read = asyncio.run(main())
    # every change of the wip the plant made after the shadow subscribed reached it
    # (the plant's server may merge two changes within one of its polls)
    sig = read_table(folder, "signals")
    sig = sig[sig["tag"] == "wip"]
    after = int((sig["time"] > shadow.origin - plant.origin).sum())
    assert not shadow.stats["rejected"] and after >= 5
    assert after + 1 >= shadow.stats["used"] >= 0.6 * after  # a loaded machine merges more
    # window means as the plant's true wip give them
    r = shadow.residuals()
    starts = r["time"].to_numpy() - WINDOW + shadow.origin - plant.origin  # run time
    truth = np.array([step_means(sig["time"].to_numpy(), sig["value"].to_numpy(), s,
                                 WINDOW, 1)[0] for s in starts])
    assert len(r) >= 4
    np.testing.assert_allclose(r["measured"], truth, atol=0.6)
    assert np.corrcoef(r["measured"], truth)[0, 1] > 0.8
    # the served address space and its values
    assert set(browsed) >= {"measured", "predicted", "residual", "estimate", "statistic",
                            "limit", "alarm"}
    last = r.iloc[-1]
    assert read["measured"] == pytest.approx(last["measured"])
    assert read["predicted"] == pytest.approx(last["predicted"])
    assert read["residual"] == pytest.approx(last["measured"] - last["predicted"])
    assert read["limit"] == pytest.approx(last["limit"])
    assert read["alarm"] in ("normal", "unack", "ack", "rtn_unack")
    assert read["stamp"] == pytest.approx(shadow.origin + last["time"], abs=1e-3)


async def _browse(port: int) -> tuple[list[str], dict]:
    """Browse the shadow server to the signal's folder with asyncua's client; read it."""
    async with Client(f"opc.tcp://127.0.0.1:{port}", timeout=10) as client:
        idx = await client.get_namespace_index("urn:pilot-twin:queue_shadow")
        folder = await client.nodes.objects.get_child(
            [f"{idx}:queue_shadow", f"{idx}:Shadow", f"{idx}:wip"])
        children = await folder.get_children()
        names = [(await c.read_browse_name()).Name for c in children]
        read = {}
        for name, node in zip(names, children, strict=True):
            read[name] = await node.read_value()
        value = await children[names.index("measured")].read_data_value()
        read["stamp"] = value.SourceTimestamp.timestamp()
    return names, read
