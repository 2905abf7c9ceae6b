"""OPC UA source and the write guard against a real asyncua server, no mocks."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from tests.live.conftest import await_until, collecting
from twin.live.connection import OpcUaSettings, WriteRefused
from twin.live.opcua import OpcUaSource
from twin.live.readings import PlantEvent, Reading


def settings(server, **kw) -> OpcUaSettings:
    nodes = {tag: server.node_ids[tag] for tag in ("TI101", "FI202", "SP101")}
    return OpcUaSettings(url=server.url, nodes=nodes, name="plc", backoff_initial=0.05,
                         backoff_max=0.4, **kw)


def test_subscription_sees_changes_and_rejects_bad_status(opcua_server, tagmap) -> None:
    # device times after the initial values' (which carry the server's clock)
    stamp = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=60)
    t0 = stamp.timestamp()

    def at(seconds: float) -> datetime:
        return stamp + timedelta(seconds=seconds)

    async def main() -> tuple[OpcUaSource, list[Reading | PlantEvent]]:
        src = OpcUaSource(settings(opcua_server, clock_offset=1.0), tagmap)
        write = opcua_server.write
        async with collecting(src) as got:
            await await_until(lambda: len(got) == 3, what="the initial values")
            await asyncio.to_thread(write, "TI101", 90.0, "Good", stamp)
            await await_until(lambda: len(got) == 4, what="a good change")
            await asyncio.to_thread(write, "TI101", 91.0, "BadSensorFailure", at(1))
            await await_until(lambda: src.stats.rejected["bad_quality"] == 1,
                              what="the bad one")
            await asyncio.to_thread(write, "TI101", 92.0, "UncertainLastUsableValue", at(2))
            await asyncio.to_thread(write, "TI101", 300.0, "Good", at(3))
            await asyncio.to_thread(write, "FI202", 7.2, "Good", at(4))
            await await_until(lambda: len(got) == 6 and src.stats.rejected["out_of_range"] == 1,
                              what="the uncertain and out-of-range ones")
        return src, got

    src, got = asyncio.run(main())
    initial = {r.tag: r.value for r in got[:3]}
    # the server's initial values in the tag map's units: 80 degC, 1.5 m3/h, 85 degC
    assert initial == pytest.approx({"TI101": 353.15, "FI202": 1.5 / 3600, "SP101": 358.15})
    later = got[3:]
    # source timestamps of the device, plus the stated clock offset of 1 s
    assert [(r.tag, r.time - t0, r.quality) for r in later] == [
        ("TI101", 1.0, "good"), ("TI101", 3.0, "uncertain"), ("FI202", 5.0, "good")]
    assert [r.value for r in later] == pytest.approx([363.15, 365.15, 7.2 / 3600])
    assert dict(src.stats.rejected) == {"bad_quality": 1, "out_of_range": 1}


def test_writes_are_refused_unless_allowed(opcua_server, tagmap) -> None:
    async def main() -> None:
        src = OpcUaSource(settings(opcua_server, allow_writes=("SP101",)), tagmap)
        async with collecting(src):
            writer = src.writer()
            with pytest.raises(WriteRefused, match="read-only.*'TI101'.*allow_writes.*SP101"):
                await writer.write("TI101", 120.0)
            await writer.write("SP101", 95.0)

    asyncio.run(main())
    assert opcua_server.read("TI101") == 80.0  # unchanged
    assert opcua_server.read("SP101") == 95.0  # written


def test_read_only_by_default(opcua_server, tagmap) -> None:
    async def main() -> None:
        src = OpcUaSource(settings(opcua_server), tagmap)
        async with collecting(src):
            with pytest.raises(WriteRefused, match="allow_writes in the connection file: none"):
                await src.writer().write("SP101", 95.0)

    asyncio.run(main())
    assert opcua_server.read("SP101") == 85.0


def test_a_network_cut_is_counted_and_the_source_resubscribes(opcua_server, tagmap,
                                                             background_loop, caplog) -> None:
    from tests.live.conftest import TcpLink

    link = TcpLink(background_loop, ("127.0.0.1", opcua_server.port))
    link.start()
    stamp = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=60)
    caplog.set_level(logging.INFO, logger="twin.live.opcua")

    async def main() -> tuple[OpcUaSource, list[Reading | PlantEvent]]:
        s = settings(opcua_server)
        s = OpcUaSettings(**{**s.__dict__, "url": s.url.replace(str(opcua_server.port),
                                                                 str(link.port))})
        src = OpcUaSource(s, tagmap)
        async with collecting(src) as got:
            await await_until(lambda: len(got) == 3, what="the initial values")
            await asyncio.to_thread(link.cut)
            await await_until(lambda: src.stats.disconnects == 1, what="the loss")
            # changed while the twin is away: the new subscription reports the current value
            await asyncio.to_thread(opcua_server.write, "TI101", 99.0, "Good", stamp)
            await asyncio.to_thread(link.restore)
            await await_until(lambda: len(got) == 4, what="the value after reconnecting")
            await await_until(lambda: src.stats.duplicates == 2, what="FI202 and SP101 again")
        return src, got

    try:
        src, got = asyncio.run(main())
    finally:
        link.stop()
    assert [(r.tag, r.time) for r in got[3:]] == [("TI101", stamp.timestamp())]
    assert got[3].value == pytest.approx(372.15)
    assert src.stats.disconnects == 1 and len(src.stats.offline) == 1
    assert "disconnected from" in caplog.text and "reconnected to" in caplog.text


def test_basic256sha256_with_a_user_password_from_the_environment(opcua_server, tagmap,
                                                                  tmp_path, monkeypatch,
                                                                  caplog) -> None:
    from tests.live.conftest import opcua_certificate

    cert, key = asyncio.run(opcua_certificate(tmp_path, "twin", server=False))
    monkeypatch.setenv("TWIN_TEST_OPCUA_PASSWORD", "s3cret")
    secure = settings(opcua_server, security_policy="Basic256Sha256",
                      security_mode="SignAndEncrypt", certificate=str(cert),
                      private_key=str(key), server_certificate=str(opcua_server.certificate),
                      username="twin", password_env="TWIN_TEST_OPCUA_PASSWORD")

    async def main() -> tuple[list[Reading | PlantEvent], str]:
        src = OpcUaSource(secure, tagmap)
        async with collecting(src) as got:
            await await_until(lambda: len(got) == 3, what="the values over a secure channel")
            policy = src.client.security_policy.URI
        return got, policy

    got, policy = asyncio.run(main())
    assert sorted(r.tag for r in got) == ["FI202", "SP101", "TI101"]
    assert policy.endswith("#Basic256Sha256")

    monkeypatch.setenv("TWIN_TEST_OPCUA_PASSWORD", "wrong")

    caplog.set_level(logging.INFO, logger="twin.live.opcua")

    async def refused() -> OpcUaSource:
        src = OpcUaSource(secure, tagmap)
        async with collecting(src, wait_connected=False):
            await await_until(lambda: caplog.text.count("BadUserAccessDenied") >= 2,
                              what="refused attempts")
            assert not src.connected.is_set()
        return src

    assert asyncio.run(refused()).stats.used == 0


def test_time_stamps_and_status_classes_of_a_data_value() -> None:
    from asyncua import ua

    from twin.live.opcua import raw_value

    src, srv = datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC), datetime(2026, 3, 2, 6, 0, 2, tzinfo=UTC)

    def dv(status: str = "Good", source=src, server=srv, value=1.5) -> ua.DataValue:
        return ua.DataValue(ua.Variant(value, ua.VariantType.Double),
                            StatusCode=ua.StatusCode(getattr(ua.StatusCodes, status)),
                            SourceTimestamp=source, ServerTimestamp=server)

    assert raw_value("T", dv(), "source").time == src.timestamp()
    assert raw_value("T", dv(), "server").time == srv.timestamp()
    assert raw_value("T", dv(source=None), "source").time == srv.timestamp()  # fallback
    assert raw_value("T", dv(server=None), "server").time == src.timestamp()
    assert [raw_value("T", dv(s), "source").quality for s in (
        "Good", "UncertainSensorNotAccurate", "BadSensorFailure", "BadNoCommunication")] == [
        "good", "uncertain", "bad", "bad"]
    r = raw_value("T", dv(), "source")
    assert (r.tag, r.value, r.unit) == ("T", 1.5, "")  # in the tag map's unit
