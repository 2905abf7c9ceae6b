"""Connection files: their checks, secrets from the environment only, and security rules."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from twin.live.connection import (
    ConnectionSettingsError,
    MqttSettings,
    OpcUaSettings,
    PlantWriter,
    WriteRefused,
    load_connection,
    secret,
)
from twin.live.mqtt import MqttSource
from twin.live.opcua import OpcUaSource
from twin.live.replay import ReplaySource
from twin.live.sources import open_source

MQTT = """\
kind = "mqtt"
name = "line 1"
host = "broker.plant.example"
port = 8883
prefix = "plant/line1"
client_id = "pilot-twin-line1"
username = "twin"
password_env = "TWIN_TEST_MQTT_PASSWORD"
tls = true
ca_file = "certs/ca.pem"
lateness = 2.5
clock_offset = -0.5
"""

OPCUA = """\
kind = "opcua"
url = "opc.tcp://plc-7.plant.example:4840"
security_policy = "Basic256Sha256"
security_mode = "SignAndEncrypt"
certificate = "certs/twin-cert.der"
private_key = "certs/twin-key.pem"
private_key_password_env = "TWIN_TEST_KEY_PASSPHRASE"
username = "twin"
password_env = "TWIN_TEST_OPCUA_PASSWORD"
timestamps = "server"
allow_writes = ["SP101"]

[nodes]
TI101 = "ns=2;s=Line1.TI101"
SP101 = "ns=2;s=Line1.SP101"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connection.toml"
    path.write_text(text)
    return path


def test_an_mqtt_file_is_read_with_paths_beside_it(tmp_path: Path) -> None:
    s = load_connection(write(tmp_path, MQTT))
    assert isinstance(s, MqttSettings)
    assert (s.host, s.port, s.prefix, s.tls, s.lateness, s.clock_offset) == (
        "broker.plant.example", 8883, "plant/line1", True, 2.5, -0.5)
    assert s.ca_file == str(tmp_path / "certs" / "ca.pem")
    assert s.allow_writes == ()  # read-only unless the file names tags


def test_an_opcua_file_is_read(tmp_path: Path) -> None:
    s = load_connection(write(tmp_path, OPCUA))
    assert isinstance(s, OpcUaSettings)
    assert s.nodes == {"TI101": "ns=2;s=Line1.TI101", "SP101": "ns=2;s=Line1.SP101"}
    assert (s.security_policy, s.security_mode, s.timestamps, s.allow_writes) == (
        "Basic256Sha256", "SignAndEncrypt", "server", ("SP101",))
    assert s.private_key == str(tmp_path / "certs" / "twin-key.pem")


@pytest.mark.parametrize("line", ['password = "hunter2"', 'key_password = "x"',
                                  'private_key_password = "x"', 'token = "abc"'])
def test_a_secret_in_the_file_is_refused_with_its_line(tmp_path: Path, line: str) -> None:
    with pytest.raises(ConnectionSettingsError,
                       match=r"connection.toml: line 9: .* never read from a file.*_env"):
        load_connection(write(tmp_path, MQTT.replace('password_env = "TWIN_TEST_MQTT_PASS'
                                                     'WORD"\n', "").replace(
            "tls = true\n", f"tls = true\n{line}\n")))


@pytest.mark.parametrize("change, problem", [
    (("tls = true", "tls = false"), r"line 3: MQTT to 'broker.plant.example' .* needs tls"),
    (('username = "twin"', 'username = ""'), "needs tls = true and a username"),
    (('port = 8883', 'port = "8883"'), r"line 4: port = '8883' must be int"),
    (('lateness = 2.5', 'lateness = -1.0'), r"line 11: lateness must be >= 0"),
    (('kind = "mqtt"', 'kind = "modbus"'), r"line 1: kind = 'modbus' must be one of"),
    (('clock_offset', 'clockoffset'), r"line 12: unknown key 'clockoffset'"),
])
def test_bad_mqtt_files_are_refused_with_a_location(tmp_path: Path, change, problem) -> None:
    with pytest.raises(ConnectionSettingsError, match=problem):
        load_connection(write(tmp_path, MQTT.replace(*change)))


def test_insecure_is_allowed_only_when_said_and_localhost_needs_nothing(tmp_path) -> None:
    text = MQTT.replace("tls = true", "tls = false")
    assert load_connection(write(tmp_path, text + "allow_insecure = true\n")).allow_insecure
    local = MQTT.replace("broker.plant.example", "localhost").replace("tls = true", "")
    assert load_connection(write(tmp_path, local)).host == "localhost"


@pytest.mark.parametrize("change, problem", [
    (('security_policy = "Basic256Sha256"', 'security_policy = "None"'),
     "does not fit policy 'None'"),
    (('security_mode = "SignAndEncrypt"', 'security_mode = "Encrypt"'), "does not fit"),
    (('security_policy = "Basic256Sha256"', 'security_policy = "Basic128Rsa15"'),
     "must be one of None, Basic256Sha256"),
    (('certificate = "certs/twin-cert.der"\n', ''), "needs certificate and private_key"),
    (('timestamps = "server"', 'timestamps = "plc"'), "timestamps must be one of"),
    (('url = "opc.tcp://', 'url = "http://'), "line 2: .* is not an opc.tcp"),
])
def test_bad_opcua_files_are_refused(tmp_path: Path, change, problem) -> None:
    with pytest.raises(ConnectionSettingsError, match=problem):
        load_connection(write(tmp_path, OPCUA.replace(*change)))


def test_opcua_without_security_only_on_this_machine_or_when_allowed(tmp_path) -> None:
    plain = (OPCUA.replace('"Basic256Sha256"', '"None"').replace('"SignAndEncrypt"', '"None"'))
    with pytest.raises(ConnectionSettingsError, match="needs a security policy"):
        load_connection(write(tmp_path, plain))
    local = plain.replace("plc-7.plant.example", "127.0.0.1")
    assert load_connection(write(tmp_path, local)).security_policy == "None"
    allowed = plain.replace("[nodes]", "allow_insecure = true\n\n[nodes]")
    assert load_connection(write(tmp_path, allowed)).allow_insecure


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConnectionSettingsError, match="cannot read"):
        load_connection(tmp_path / "missing.toml")
    with pytest.raises(ConnectionSettingsError, match="not valid TOML"):
        load_connection(write(tmp_path, "kind = mqtt"))
    with pytest.raises(ConnectionSettingsError, match="needs a \\[nodes\\] table"):
        load_connection(write(tmp_path, 'kind = "opcua"\nurl = "opc.tcp://127.0.0.1:4840"\n'))


def test_secrets_come_from_the_environment(monkeypatch) -> None:
    assert secret("", "MQTT password") is None
    monkeypatch.delenv("TWIN_TEST_SECRET", raising=False)
    with pytest.raises(ConnectionSettingsError, match="TWIN_TEST_SECRET, which is not set"):
        secret("TWIN_TEST_SECRET", "MQTT password")
    monkeypatch.setenv("TWIN_TEST_SECRET", "s3cret")
    assert secret("TWIN_TEST_SECRET", "MQTT password") == "s3cret"


def test_the_writer_guard_sends_only_allowed_tags() -> None:
    import asyncio

    sent: list[tuple[str, float]] = []

    async def send(tag: str, value: float) -> None:
        sent.append((tag, value))

    guard = PlantWriter(["SP101"], send, source="plc")
    with pytest.raises(WriteRefused, match="writing tag 'TI101' is refused"):
        asyncio.run(guard.write("TI101", 1.0))
    asyncio.run(guard.write("SP101", 2.0))
    assert sent == [("SP101", 2.0)]


def test_open_source_picks_the_kind(tmp_path: Path, tagmap) -> None:
    local = MQTT.replace("broker.plant.example", "127.0.0.1")
    assert isinstance(open_source(write(tmp_path, local), tagmap), MqttSource)
    ua = OPCUA.replace("plc-7.plant.example", "127.0.0.1")
    assert isinstance(open_source(write(tmp_path, ua), tagmap), OpcUaSource)
    ts = tmp_path / "ts.csv"
    ts.write_text("time,tag,value,unit\n2026-03-02T06:00:00Z,TI101,80,degC\n")
    src = open_source(None, tagmap, timeseries=ts, speed=10.0)
    assert isinstance(src, ReplaySource) and src.speed == 10.0
    with pytest.raises(ValueError, match="nothing to read"):
        open_source(None, tagmap)
    assert math.isinf(open_source(None, tagmap, events=None, timeseries=ts).speed)


def test_importing_the_live_modules_loads_no_plant_library() -> None:
    code = ("import sys, twin, twin.live.sources, twin.live.wire; "
            "print(sorted(m for m in ('aiomqtt', 'asyncua', 'paho', 'amqtt') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_docs_list_every_connection_key_and_rejection_reason() -> None:
    from dataclasses import fields

    from twin.live.tagchecks import REASONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "LIVE.md").read_text()
    for cls in (MqttSettings, OpcUaSettings):
        for f in fields(cls):
            assert f"`{f.name}`" in doc, f.name
    for reason in REASONS:
        assert f"| `{reason}` |" in doc, reason
