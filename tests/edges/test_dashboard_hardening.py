"""The dashboard under hostile or careless clients: no test-only host names in production, the
live-stream cap under 50 concurrent clients, idle half-open connections closed, stalled
streams dropped. Served by uvicorn as `twin dashboard` serves it (not the test client)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from twin.edges.dashboard.context import StreamSlots
from twin.edges.dashboard.server import (
    LOCAL_HOSTS,
    MAX_STREAMS,
    allowed_hosts_for,
    create_app,
    server_config,
)
from twin.edges.dashboard.streams import SlotStream
from twin.orchestration.live import LiveRun
from twin.orchestration.run import prepare

LINE = Path(__file__).resolve().parents[2] / "lines" / "servo_actuator" / "line.toml"
CLIENTS = 50
REQUEST_TIMEOUT = 0.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # paced so that it runs for the whole module (stopped at the end)
    live = LiveRun(prepare(LINE, duration="10 d", warmup="0 s", seed=5), speed=600.0)
    app = create_app(tmp_path_factory.mktemp("runs"), live)
    port = _free_port()
    srv = uvicorn.Server(server_config(app, port=port, request_timeout_s=REQUEST_TIMEOUT))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    live.start()
    yield {"port": port, "app": app, "live": live}
    live.stop()
    srv.should_exit = True
    thread.join(10)


def test_production_hosts_hold_no_test_names() -> None:
    assert "testserver" not in LOCAL_HOSTS
    assert set(allowed_hosts_for("127.0.0.1")) == set(LOCAL_HOSTS)
    assert "plant-pc.local" in allowed_hosts_for("plant-pc.local")
    assert "*" not in allowed_hosts_for("0.0.0.0")  # every interface: still named hosts


def _get(port: int, path: str, host: str = "127.0.0.1") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        return s.recv(200)


def test_the_served_app_refuses_test_host_names(served: dict[str, Any]) -> None:
    assert _get(served["port"], "/api/runs").startswith(b"HTTP/1.1 200")
    assert _get(served["port"], "/api/runs", host="testserver").startswith(b"HTTP/1.1 400")


async def _open_streams(port: int, n: int) -> tuple[list[int], list[Any]]:
    """``n`` SSE requests sent at once; their status codes, and the open connections."""
    async def one() -> tuple[int, Any]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/live/stream?interval=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 20)
        return int(status.split()[1]), writer

    done = await asyncio.gather(*(one() for _ in range(n)))
    return [s for s, _ in done], [w for _, w in done]


def test_the_stream_cap_holds_under_50_concurrent_clients(served: dict[str, Any]) -> None:
    slots = served["app"].state.dashboard.slots

    async def main() -> list[int]:
        codes, writers = await _open_streams(served["port"], CLIENTS)
        assert slots.used == codes.count(200)  # each admitted stream holds one slot
        for w in writers:
            w.close()
        return codes

    codes = asyncio.run(main())
    assert codes.count(200) == MAX_STREAMS, codes
    assert codes.count(503) == CLIENTS - MAX_STREAMS, codes
    deadline = time.monotonic() + 20  # the slots come back once the clients are gone
    while slots.used:
        assert time.monotonic() < deadline, f"{slots.used} slots never given back"
        time.sleep(0.1)


@pytest.mark.parametrize("sent", [b"", b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"])
def test_idle_half_open_connections_time_out(served: dict[str, Any], sent: bytes) -> None:
    """A client that connects and sends nothing, or half a request header, is cut off after
    the request timeout (uvicorn alone would wait for ever)."""
    with socket.create_connection(("127.0.0.1", served["port"]), timeout=20) as s:
        s.sendall(sent)
        try:
            got = s.recv(100)
        except TimeoutError:
            pytest.fail("the server kept an idle connection open")
        assert got == b""  # closed by the server, nothing answered


def test_a_stalled_stream_is_dropped_and_its_slot_given_back() -> None:
    """A client that takes no message (its sends never complete) is dropped after the send
    timeout, and the stream's slot is free again."""
    slots = StreamSlots(1)
    slots.take()

    async def events() -> Any:
        while True:
            yield ": keep-alive\n\n"
            await asyncio.sleep(0.01)

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client says nothing
        return {}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            await asyncio.Event().wait()  # the client's window is full: never returns

    stream = SlotStream(events(), slots, send_timeout=0.2, media_type="text/event-stream")
    scope = {"type": "http", "asgi": {"spec_version": "2.4"}, "method": "GET"}
    asyncio.run(asyncio.wait_for(stream(scope, receive, send), 20))
    assert slots.used == 0
    slots.take()  # the slot can be taken again


def test_streams_outlive_the_request_timeout(served: dict[str, Any]) -> None:
    """The request timeout cuts idle connections only: a WebSocket (upgraded from HTTP) and
    an SSE stream keep running past it."""
    from websockets.sync.client import connect

    port = served["port"]
    url = f"ws://127.0.0.1:{port}/api/live/ws?interval=100"
    with connect(url, origin=f"http://127.0.0.1:{port}", max_size=None) as ws:
        time.sleep(4 * REQUEST_TIMEOUT)  # (the line may record nothing now: night shift)
        assert ws.ping().wait(10)  # the server still answers on this connection
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /api/live/stream?interval=100 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(4 * REQUEST_TIMEOUT)
        got = b""
        while got.count(b"\n\n") < 4 * REQUEST_TIMEOUT / 0.1:  # updates or keep-alives
            chunk = s.recv(65536)
            assert chunk, "the server closed a running stream"
            got += chunk
