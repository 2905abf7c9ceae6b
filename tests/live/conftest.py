"""Fixtures for the live twin's tests: a tag map, a real MQTT broker, a network link that can
be cut, and a real OPC UA server, all on 127.0.0.1 with free ports and shut down even when a
test fails.

The servers run in-process on their own event loop in a background thread
(:class:`BackgroundLoop`), so a test can drive its clients with ``asyncio.run(...)`` (or from
a subprocess) while the servers keep serving. Helpers: :func:`wait_until` /
:func:`await_until` (poll a condition with a timeout instead of sleeping) and
:func:`collecting` (iterate a source in a task, closed even when the test fails). Fixtures:

``tagmap``
    A loaded tag map (:data:`TAGMAP_CSV`: TI101 degC 0..150, FI202 m3/h >= 0, LI301 kg,
    BUF1 counts, SP101 degC).
``mqtt_broker``
    An amqtt broker (MQTT 3.1.1) at ``mqtt_broker.host``/``.port``. Anonymous clients are
    refused: connect with any username (the broker keeps persistent sessions and their QoS 1
    messages only for clients with a username). ``session_state(client_id)`` says whether
    the broker sees a client as ``connected`` or ``disconnected``.
``MqttBroker(background_loop, tls=self_signed(dir), password_file=password_file(...))``
    gives a broker with TLS and checked passwords (start and stop it in the test).
``mqtt_link``
    A TCP relay in front of ``mqtt_broker`` at ``mqtt_link.port``: ``cut()`` drops every
    connection through it and refuses new ones (a network failure) until ``restore()``.
``opcua_server``
    An asyncua server at ``opcua_server.url`` with the variables of :data:`OPCUA_VARIABLES`
    under ``Objects/Line1`` (namespace ``urn:pilot-twin:test``); ``node_ids`` maps each
    variable's name to its node id text (``ns=2;s=Line1.TI101``); ``write(name, value,
    status="Good", source_time=None)`` sets a value with a status code from the server side;
    ``read(name)`` returns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from twin.pilotdata.load import PilotTable, load

TAGMAP_CSV = """tag,signal,unit,low,high,description
TI101,temperature.reactor,degC,0,150,reactor temperature
FI202,utility.steam,m3/h,0,,steam flow
LI301,tank.feed,kg,0,5000,feed tank contents
BUF1,buffer.cnc,1,0,50,parts waiting at the CNC
SP101,setpoint.reactor,degC,0,150,reactor temperature set point
"""
"""A small tag map: a temperature in degC (0..150), a flow in m3/h (>= 0), a tank in kg, a
buffer count and a set point."""

OPCUA_VARIABLES = {"TI101": 80.0, "FI202": 1.5, "LI301": 1200.0, "SP101": 85.0}
"""Variables of the test OPC UA server with their initial values (doubles)."""

TIMEOUT = 20.0
"""Longest wait [s] for a condition in a test."""
START_TIMEOUT = 120.0
"""Longest wait [s] for a server to start or stop (an OPC UA server builds its address space
in seconds, more on a loaded machine)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT,
               what: str = "condition") -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` [s]."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


async def await_until(condition: Callable[[], bool], timeout: float = TIMEOUT,
                      what: str = "condition") -> None:
    """:func:`wait_until` for coroutines (yields to the event loop while polling)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def collecting(source: Any, wait_connected: bool = True) -> AsyncIterator[list[Any]]:
    """Iterate ``source`` (any :class:`twin.live.readings.Source`) in a task, collecting its
    items into the list this yields; wait until it is connected (if it says so), and close it
    and end the task on exit, also when the test fails."""
    got: list[Any] = []

    async def consume() -> None:
        async for item in source.items():
            got.append(item)

    task = asyncio.create_task(consume())
    ok = False
    try:
        if wait_connected and hasattr(source, "connected"):
            await asyncio.wait_for(source.connected.wait(), TIMEOUT)
        yield got
        ok = True
    finally:
        await source.close()
        if ok:
            await asyncio.wait_for(task, TIMEOUT)
        else:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


class BackgroundLoop:
    """An event loop in a daemon thread; :meth:`run` runs a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = START_TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _cancel_all(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self._cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


@pytest.fixture
def background_loop() -> Iterator[BackgroundLoop]:
    """A fresh :class:`BackgroundLoop`, stopped after the test."""
    bg = BackgroundLoop()
    try:
        yield bg
    finally:
        bg.close()


@pytest.fixture
def tagmap(tmp_path: Path) -> PilotTable:
    """The loaded :data:`TAGMAP_CSV` (``twin.pilotdata`` format ``tagmap``)."""
    path = tmp_path / "tagmap.csv"
    path.write_text(TAGMAP_CSV)
    table = load(path, "tagmap")
    assert table.issues == []
    return table


# --------------------------------------------------------------------------- MQTT


class MqttBroker:
    """An amqtt broker on 127.0.0.1 running on a :class:`BackgroundLoop`.

    ``tls``: ``(certfile, keyfile)`` of the server (PEM) to listen with TLS only;
    ``password_file``: a file of ``user:argon2-hash`` lines (:func:`password_file`) to check
    passwords (default: any username is accepted, anonymous clients are refused).
    """

    def __init__(self, bg: BackgroundLoop, tls: tuple[Path, Path] | None = None,
                 password_file: Path | None = None) -> None:
        self.bg, self.host, self.port = bg, "127.0.0.1", free_port()
        self.tls, self.password_file = tls, password_file
        self.broker: Any = None

    async def _start(self) -> None:
        from amqtt.broker import Broker

        listener: dict[str, Any] = {"type": "tcp", "bind": f"{self.host}:{self.port}"}
        if self.tls:
            listener.update(ssl=True, certfile=str(self.tls[0]), keyfile=str(self.tls[1]))
        auth = ({"amqtt.plugins.authentication.FileAuthPlugin":
                 {"password_file": str(self.password_file)}} if self.password_file else
                {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}})
        self.broker = Broker({"listeners": {"default": listener}, "plugins": auth})
        await self.broker.start()

    def start(self) -> None:
        self.bg.run(self._start())

    def stop(self) -> None:
        if self.broker is not None:
            self.bg.run(self.broker.shutdown())
            self.broker = None

    def session_state(self, client_id: str) -> str | None:
        """``connected``, ``disconnected`` (kept by the broker), or None (no session)."""
        sessions = dict(self.broker._sessions)  # test-only peek at the broker's sessions
        return sessions[client_id][0].transitions.state if client_id in sessions else None


def password_file(path: Path, users: dict[str, str]) -> Path:
    """Write an amqtt password file (argon2 hashes) for ``users`` (name -> password)."""
    from pwdlib.hashers.argon2 import Argon2Hasher

    hasher = Argon2Hasher()
    path.write_text("".join(f"{u}:{hasher.hash(p)}\n" for u, p in users.items()))
    return path


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed server certificate for ``host`` (an IP address) and its key, as PEM
    files ``server.pem`` and ``server.key`` in ``directory``; the certificate is its own CA."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pilot-twin test broker")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def mqtt_broker(background_loop: BackgroundLoop) -> Iterator[MqttBroker]:
    """A running :class:`MqttBroker` (see the module docstring)."""
    broker = MqttBroker(background_loop)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class TcpLink:
    """A TCP relay from 127.0.0.1:``port`` to ``target``, on a :class:`BackgroundLoop`,
    that can be cut (all its connections dropped, new ones refused) and restored."""

    def __init__(self, bg: BackgroundLoop, target: tuple[str, int]) -> None:
        self.bg, self.target, self.host, self.port = bg, target, "127.0.0.1", free_port()
        self.up = True
        self.cuts = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  reuse_address=True)
        self.up = True

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.up = False
        self.cuts += 1
        for w in list(self._writers):
            w.transport.abort()

    def start(self) -> None:
        self.bg.run(self._start())

    def cut(self) -> None:
        """Drop every connection through the link and refuse new ones (the port closes)."""
        self.bg.run(self._cut())

    def restore(self) -> None:
        """Accept connections again (same port)."""
        self.bg.run(self._start())

    def stop(self) -> None:
        self.bg.run(self._cut())


@pytest.fixture
def mqtt_link(background_loop: BackgroundLoop, mqtt_broker: MqttBroker) -> Iterator[TcpLink]:
    """A :class:`TcpLink` in front of ``mqtt_broker``."""
    link = TcpLink(background_loop, (mqtt_broker.host, mqtt_broker.port))
    link.start()
    try:
        yield link
    finally:
        link.stop()


# --------------------------------------------------------------------------- OPC UA

OPCUA_NAMESPACE = "urn:pilot-twin:test"


OPCUA_USERS = {"twin": "s3cret"}
"""User names and passwords the test OPC UA server accepts (besides anonymous clients)."""


async def opcua_certificate(directory: Path, name: str, server: bool) -> tuple[Path, Path]:
    """A self-signed OPC UA application certificate (DER) and key (PEM) for ``name`` on
    127.0.0.1, made with asyncua's own helper; application URI ``urn:pilot-twin:{name}``."""
    from asyncua.crypto.cert_gen import setup_self_signed_certificate
    from cryptography.x509.oid import ExtendedKeyUsageOID

    cert, key = directory / f"{name}-cert.der", directory / f"{name}-key.pem"
    use = [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
    await setup_self_signed_certificate(key, cert, f"urn:pilot-twin:{name}", "127.0.0.1", use,
                                        {"commonName": f"pilot-twin {name}"})
    return cert, key


class _Users:
    """asyncua user manager: anonymous clients and :data:`OPCUA_USERS` with their password."""

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> Any:
        from asyncua.crypto.permission_rules import User, UserRole

        if username is None or OPCUA_USERS.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


class OpcUaServer:
    """An asyncua server on 127.0.0.1 with :data:`OPCUA_VARIABLES` under ``Objects/Line1``,
    running on a :class:`BackgroundLoop`. Endpoints: no security, and Basic256Sha256 with
    Sign and with SignAndEncrypt (server certificate ``certificate``, made in
    ``directory``); users: anonymous, or :data:`OPCUA_USERS` with their password."""

    def __init__(self, bg: BackgroundLoop, directory: Path) -> None:
        self.bg, self.port, self.directory = bg, free_port(), directory
        self.url = f"opc.tcp://127.0.0.1:{self.port}/pilot-twin/"
        self.server: Any = None
        self.nodes: dict[str, Any] = {}
        self.node_ids: dict[str, str] = {}
        self.certificate = directory / "server-cert.der"

    async def _start(self) -> None:
        from asyncua import Server, ua

        cert, key = await opcua_certificate(self.directory, "server", server=True)
        server = Server(user_manager=_Users())
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("Pilot Twin test plant")
        await server.set_application_uri("urn:pilot-twin:server")
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        server.set_security_policy([
            ua.SecurityPolicyType.NoSecurity, ua.SecurityPolicyType.Basic256Sha256_Sign,
            ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        idx = await server.register_namespace(OPCUA_NAMESPACE)
        line = await server.nodes.objects.add_object(ua.NodeId("Line1", idx), "Line1")
        for name, value in OPCUA_VARIABLES.items():
            node = await line.add_variable(ua.NodeId(f"Line1.{name}", idx), name, float(value),
                                           varianttype=ua.VariantType.Double)
            await node.set_writable()
            self.nodes[name] = node
            self.node_ids[name] = node.nodeid.to_string()
        await server.start()
        self.server = server

    async def _write(self, name: str, value: float, status: str, source_time: Any) -> None:
        from asyncua import ua

        dv = ua.DataValue(ua.Variant(float(value), ua.VariantType.Double),
                          StatusCode=ua.StatusCode(getattr(ua.StatusCodes, status)),
                          SourceTimestamp=source_time)
        await self.server.write_attribute_value(self.nodes[name].nodeid, dv)

    async def _read(self, name: str) -> float:
        return float(await self.nodes[name].read_value())

    def start(self) -> None:
        self.bg.run(self._start())

    def write(self, name: str, value: float, status: str = "Good", source_time: Any = None
              ) -> None:
        """Set a variable from the server side with a status code name (``Good``,
        ``BadSensorFailure``, ``UncertainLastUsableValue``...) and a source time
        (datetime, UTC)."""
        self.bg.run(self._write(name, value, status, source_time))

    def read(self, name: str) -> float:
        """The variable's current value."""
        return self.bg.run(self._read(name))

    def stop(self) -> None:
        if self.server is not None:
            self.bg.run(self.server.stop())
            self.server = None


    def reset(self) -> None:
        """Every variable back to its initial value of :data:`OPCUA_VARIABLES`, status Good,
        with the source time of now (a device's time stamp: the same on every read)."""
        now = datetime.now(UTC)
        for name, value in OPCUA_VARIABLES.items():
            self.write(name, value, source_time=now)


@pytest.fixture(scope="module")
def _opcua_module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpcUaServer]:
    bg = BackgroundLoop()
    server = OpcUaServer(bg, tmp_path_factory.mktemp("opcua"))
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            bg.close()


@pytest.fixture
def opcua_server(_opcua_module_server: OpcUaServer) -> OpcUaServer:
    """A running :class:`OpcUaServer` (see the module docstring), shared by the tests of a
    module (starting one takes seconds) and reset to its initial values for each test."""
    _opcua_module_server.reset()
    return _opcua_module_server
