"""The twin's OPC UA server, read by the library's own client (asyncua) while a run goes.

References: the address space is checked against the line spec and the KPI catalogue
(names, units); served values against the run's own recorded tables after it ends (the
``signals`` table for signals, the ``parts`` table for the counts); EngineeringUnits against
the UNECE Recommendation 20 codes (CEL = degree Celsius, C62 = one), packed as OPC UA Part 8
specifies (one byte per character).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from asyncua import Client, ua

from tests.simulation.test_alarm_signals import filling_line
from twin.live.opcua_server import ServerSecurity, TwinServer, eu_information
from twin.live.points import line_points
from twin.live.serve import alarm_writes, serve_run
from twin.observation import catalogue
from twin.orchestration.live import LiveRun
from twin.orchestration.run import prepare

TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _live(speed: float = 3 * 3600 / 4.0) -> LiveRun:
    """The filling line (3 h, an alarm on buffer m1) at 3 h per 4 s of wall time."""
    data = filling_line(full={"tag": "buffer.m1", "limit": 6, "priority": "high"})
    prep = prepare(data, duration="3 h", seed=5)
    return LiveRun(prep, speed=speed, watch=_tags(prep.line))


def _tags(line: Any) -> list[str]:
    from twin.data.alarms import signal_tags

    return list(signal_tags(line))


async def _child(node: Any, *names: str) -> Any:
    for name in names:
        node = await node.get_child(name if ":" in name else f"2:{name}")
    return node


def test_eu_information_packs_the_unece_code() -> None:
    eu = eu_information("degC")
    assert eu.UnitId == (ord("C") << 16) | (ord("E") << 8) | ord("L")
    assert eu_information("units").UnitId == (ord("C") << 16) | (ord("6") << 8) | ord("2")
    assert eu_information("kgce").UnitId == -1  # no UNECE code: -1 as Part 8 says


def test_security_comes_from_the_environment_and_is_checked() -> None:
    sec = ServerSecurity.from_env({"TWIN_OPCUA_USER": "op", "TWIN_OPCUA_PASSWORD": "pw"})
    assert (sec.user, sec.password, sec.policy) == ("op", "pw", "None")
    with pytest.raises(ValueError, match="TWIN_OPCUA_PASSWORD"):
        ServerSecurity.from_env({"TWIN_OPCUA_USER": "op"})
    with pytest.raises(ValueError, match="certificate"):
        ServerSecurity.from_env({"TWIN_OPCUA_SECURITY": "Basic256Sha256_SignAndEncrypt"})
    with pytest.raises(ValueError, match="not one of"):
        ServerSecurity.from_env({"TWIN_OPCUA_SECURITY": "Basic128"})


def test_unknown_writable_point_is_refused_with_close_names() -> None:
    live = _live()
    with pytest.raises(ValueError, match="Alarms.full.acknowledged"):
        TwinServer("filling", line_points(live.prep.line), writable=["Alarms.full.acknowledge"])


def test_client_browses_subscribes_and_cannot_write_unless_allowed() -> None:
    asyncio.run(asyncio.wait_for(_browse_subscribe_write(), TIMEOUT))


class _Changes:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.stamps: list[Any] = []

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        dv = data.monitored_item.Value
        if dv.StatusCode is None or dv.StatusCode.is_good():
            self.values.append(val)
            self.stamps.append(dv.SourceTimestamp)


async def _browse_subscribe_write() -> None:
    live = _live()
    line = live.prep.line
    port = free_port()
    server = TwinServer(line.line.name, line_points(line), port=port,
                        writable=["Alarms.full.acknowledged"], on_write=alarm_writes(live),
                        security=ServerSecurity(), origin=1.77e9)
    async with server:
        client = Client(server.endpoint)
        client.set_user("admin")  # a would-be administrator gets no more rights than others
        client.set_password("x")
        async with client:
            root = await _child(client.nodes.objects, "filling")
            names = {(await n.read_browse_name()).Name for n in await root.get_children()}
            assert {"m1", "m2", "wip", "KPIs", "Alarms", "clock"} <= names
            buffer = await _child(root, "m1", "buffer")
            assert "input buffer" in (await buffer.read_description()).Text
            good = await _child(root, "KPIs", "good_units")
            eu = await (await good.get_child("0:EngineeringUnits")).read_value()
            assert eu.DisplayName.Text == catalogue.kpi("good_units").unit
            kpi_names = {(await n.read_browse_name()).Name
                         for n in await (await _child(root, "KPIs")).get_children()}
            expected = {k.key for k in catalogue.kpis("line", kind="discrete", alarms=True,
                                                      costs=False)}
            assert expected <= kpi_names
            state = await _child(root, "Alarms", "full", "state")
            handler = _Changes()
            sub = await client.create_subscription(20, handler)
            await sub.subscribe_data_change(buffer)
            live.start()
            serving = asyncio.create_task(serve_run(live, server=server, interval=0.05))
            while len(set(handler.values)) < 3 and not serving.done():
                await asyncio.sleep(0.05)
            # a read-only node refuses the write and keeps its value
            before = await buffer.read_value()
            with pytest.raises(ua.UaStatusCodeError) as refused:
                await buffer.write_value(ua.DataValue(ua.Variant(99.0, ua.VariantType.Double)))
            assert refused.value.code == ua.StatusCodes.BadUserAccessDenied
            assert await buffer.read_value() != 99.0 or before == 99.0
            # the writable acknowledgement reaches the run once the alarm is up
            while (await state.read_value()) != "unack" and not serving.done():
                await asyncio.sleep(0.05)
            assert await state.read_value() == "unack"
            ack = await _child(root, "Alarms", "full", "acknowledged")
            await ack.write_value(ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
            stats = await serving
            await sub.delete()
            result = live.result
            assert result is not None and stats.written > 0
            # values change as the run advances, stamped with the simulated time
            assert len(set(handler.values)) >= 3
            assert handler.stamps == sorted(handler.stamps)
            # final values equal the run's tables and KPIs
            sig = result.tables["signals"]
            last = sig[sig["tag"] == "buffer.m1"]["value"].iloc[-1]
            assert await buffer.read_value() == last
            parts = result.tables["parts"]
            assert await good.read_value() == int((parts["fate"] == "good").sum())
            thr = await _child(root, "KPIs", "throughput_per_h")
            assert await thr.read_value() == pytest.approx(result.kpis["throughput_per_h"])
            alarms = result.tables["alarms"]
            assert "ack" in set(alarms["event"].astype(str))


def test_signed_and_encrypted_with_a_user_from_the_environment(tmp_path: Any) -> None:
    """Security set as the environment would: Basic256Sha256 SignAndEncrypt (self-signed
    certificates made here) and one user; anonymous, wrong-password and unencrypted clients
    are refused, the user gets in."""
    asyncio.run(asyncio.wait_for(_secure(tmp_path), TIMEOUT))


async def _certificate(tmp_path: Any, name: str, uri: str, server: bool) -> tuple[Any, Any]:
    from asyncua.crypto.cert_gen import setup_self_signed_certificate
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key, cert = tmp_path / f"{name}-key.pem", tmp_path / f"{name}-cert.der"
    use = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    await setup_self_signed_certificate(key, cert, uri, "localhost", [use], {"commonName": name})
    return cert, key


async def _secure(tmp_path: Any) -> None:
    live = _live()
    line = live.prep.line
    cert, key = await _certificate(tmp_path, "server", "urn:freeopcua:python:server", True)
    ccert, ckey = await _certificate(tmp_path, "client", "urn:freeopcua:client", False)
    security = ServerSecurity.from_env({
        "TWIN_OPCUA_SECURITY": "Basic256Sha256_SignAndEncrypt", "TWIN_OPCUA_CERT": str(cert),
        "TWIN_OPCUA_KEY": str(key), "TWIN_OPCUA_USER": "operator",
        "TWIN_OPCUA_PASSWORD": "s3cret"})
    server = TwinServer(line.line.name, line_points(line), port=free_port(), security=security)
    async with server:
        async def connect(user: str | None, password: str | None, secure: bool = True) -> Any:
            client = Client(server.endpoint, timeout=5)
            if secure:
                await client.set_security_string(
                    f"Basic256Sha256,SignAndEncrypt,{ccert},{ckey}")
            if user is not None:
                client.set_user(user)
                client.set_password(password or "")
            await client.connect()
            try:
                node = await _child(client.nodes.objects, "filling", "KPIs", "good_units")
                return (await node.read_browse_name()).Name
            finally:
                await client.disconnect()

        assert await connect("operator", "s3cret") == "good_units"
        refusals = ((None, None, True, ua.UaStatusCodeError, "BadIdentityTokenRejected"),
                    ("operator", "wrong", True, ua.UaStatusCodeError, "BadUserAccessDenied"),
                    ("operator", "s3cret", False, ua.UaError, "No matching endpoints"))
        for user, password, secure, error, why in refusals:
            with pytest.raises(error, match=why):
                await connect(user, password, secure)
