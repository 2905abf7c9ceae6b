"""The live run's routes: its description, and its records as they are recorded, over a
WebSocket of binary frames (the page) or Server-Sent Events (scripts).

Each stream holds one of the app's stream slots from the moment it is admitted until its
response ends; a client that stops taking messages is dropped after the send timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from twin.edges.dashboard.context import Dashboard, StreamSlots, dashboard_of
from twin.edges.dashboard.describe import describe_line, registries
from twin.edges.dashboard.params import check_query, format_cursor, number, parse_cursor
from twin.edges.dashboard.replies import (
    SECURITY_HEADERS,
    BadRequest,
    json_reply,
    own_origins,
)
from twin.edges.dashboard.runs import sankeys
from twin.edges.dashboard.wire import dumps, frame, pack
from twin.orchestration.live import LiveRun

Update = tuple[dict[str, dict[str, list[Any]]] | None, dict[str, int]]


async def updates(lv: LiveRun, cursor: dict[str, int], interval: float, limit: int
                  ) -> AsyncIterator[Update]:
    """What a watcher of a live run gets, as ``(records, cursor)``, until the run is over.

    ``records`` holds the rows new since the previous update (``None``: nothing new, a
    keep-alive). One update per ``interval`` [s] however fast the run goes, except that a
    table that hit ``limit`` rows is followed at once by the rest. The generator returns
    once the run is over and everything it recorded was handed out.
    """
    last_status = None
    while True:
        finished = lv.done  # read before slicing: nothing is missed at the end
        records, cursor = lv.since(cursor, limit)
        status = lv.status
        if records or status != last_status:
            yield records, cursor
            last_status = status
            if any(len(next(iter(cols.values()))) >= limit for cols in records.values() if cols):
                await asyncio.sleep(0)  # more is waiting: send it now, but let the server
                continue                # notice a watcher that left and serve the others
        elif finished:
            return
        else:
            yield None, cursor
        await asyncio.sleep(interval)


def live_header(lv: LiveRun) -> dict[str, Any]:
    """What every update of a live run says besides its records."""
    return {"run": lv.run_id, "now": lv.now, "status": lv.status, "error": lv.error,
            "kpis": lv.result.kpis if lv.result is not None else None}


async def live_info(request: Request) -> Response:
    """``GET /api/live``: the live run's line, registries and progress."""
    check_query(request)
    lv = dashboard_of(request).live_run()
    return json_reply({**lv.describe(), "line": lv.prep.line.line.name,
                       "layout": describe_line(lv.prep.line),
                       "cursor_keys": list(lv.cursor_keys()), **registries()})


Settings = tuple[LiveRun, tuple[str, ...], dict[str, int], float, int]


def stream_settings(conn: HTTPConnection, cursor_text: str | None) -> Settings:
    """The live run, its cursor keys, the start cursor, the interval [s] and row limit.

    A cursor must come from this run: ``?run=`` names the run it came from, and a cursor
    ahead of what the run has recorded is refused (409) rather than clamped.
    """
    check_query(conn)
    lv = dashboard_of(conn).live_run()
    keys = lv.cursor_keys()
    cursor = parse_cursor(cursor_text, keys)
    interval = number(conn, "interval", 250.0, 100.0, 10000.0) / 1000.0
    limit = int(number(conn, "limit", 50000, 1, 200000))
    run = conn.query_params.get("run")
    if run is not None and run != lv.run_id:
        raise BadRequest(409, f"the live run is {lv.run_id}, not {run[:100]}")
    try:
        lv.check_cursor(cursor)
    except ValueError as exc:
        raise BadRequest(409, str(exc)) from exc
    return lv, keys, cursor, interval, limit


class SlotStream(StreamingResponse):
    """A streaming response that holds a stream slot until it ends and drops a client that
    has not taken a message for ``send_timeout`` [s] (a half-open or stalled connection)."""

    def __init__(self, content: AsyncIterator[str], slots: StreamSlots, send_timeout: float,
                 **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.slots = slots
        self.send_timeout = send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def timed(message: Message) -> None:
            await asyncio.wait_for(send(message), self.send_timeout)

        try:
            await super().__call__(scope, receive, timed)
        except (TimeoutError, ClientDisconnect):
            return  # the server closes a connection whose response did not complete
        finally:
            self.slots.give_back()


async def live_stream(request: Request) -> Response:
    """``GET /api/live/stream``: Server-Sent Events with packed JSON columns."""
    # EventSource resends its first URL when it reconnects: the Last-Event-ID it adds is
    # where it really is
    lv, keys, cursor, interval, limit = stream_settings(
        request, request.headers.get("last-event-id") or request.query_params.get("cursor"))
    state = dashboard_of(request)

    async def events() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        async for records, now in updates(lv, cursor, interval, limit):
            if records is None:
                yield ": keep-alive\n\n"
                continue
            body = dumps({**live_header(lv), "records": pack(records)})
            yield f"id: {format_cursor(now, keys)}\ndata: {body}\n\n"
        yield "event: end\ndata: {}\n\n"

    state.slots.take()
    return SlotStream(events(), state.slots, state.send_timeout_s,
                      media_type="text/event-stream",
                      headers={**SECURITY_HEADERS, "Cache-Control": "no-cache",
                               "X-Accel-Buffering": "no"})


async def _send_frames(ws: WebSocket, settings: Settings, gone: asyncio.Event,
                       send: Callable[[bytes], Awaitable[None]]) -> None:
    lv, keys, start, interval, limit = settings
    cursor = start
    async for records, cursor in updates(lv, start, interval, limit):
        if gone.is_set():
            return
        if records is not None:
            header = {**live_header(lv), "id": format_cursor(cursor, keys), "end": False}
            await send(frame(header, records))
    header = {**live_header(lv), "id": format_cursor(cursor, keys), "end": True}
    await send(frame(header, {}))
    await ws.close()


async def live_socket(ws: WebSocket) -> None:
    """``WS /api/live/ws``: the page's stream of binary frames.

    A refusal comes after the handshake, so that the page learns why: close code 4000 + the
    HTTP status (4400 bad request, 4404 no live run, 4409 another run, 4503 busy).
    """
    origin = ws.headers.get("origin")
    if origin is not None and origin not in own_origins(ws):
        await ws.close(code=1008)  # before the handshake: the other site gets a 403
        return
    state: Dashboard = dashboard_of(ws)
    try:
        settings = stream_settings(ws, ws.query_params.get("cursor"))
        state.slots.take()
    except BadRequest as exc:
        await ws.accept()
        await ws.close(code=4000 + exc.status, reason=exc.message[:120])
        return
    gone = asyncio.Event()

    async def listen() -> None:  # the page sends nothing; this notices when it leaves
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            gone.set()

    async def send(data: bytes) -> None:
        await asyncio.wait_for(ws.send_bytes(data), state.send_timeout_s)

    listener = None
    try:
        await ws.accept()
        listener = asyncio.create_task(listen())
        await _send_frames(ws, settings, gone, send)
    except (WebSocketDisconnect, OSError, RuntimeError, TimeoutError):
        return  # the page went away (or stopped reading) while we were sending
    finally:
        state.slots.give_back()
        if listener is not None:
            listener.cancel()


async def live_sankey(request: Request) -> Response:
    """``GET /api/live/sankey``: material [kg] and energy [kWh] of the live run over its
    observation window so far (from the warm-up's end to now)."""
    check_query(request)
    lv = dashboard_of(request).live_run()

    def build() -> dict[str, Any]:
        result = lv.result
        t1 = lv.end if result is not None else lv.now
        tables = result.tables if result is not None else lv.recorder.tables(t1)
        return sankeys(lv.prep.line, tables, min(lv.prep.warmup, t1), t1)

    try:
        return json_reply(await asyncio.to_thread(build))
    except (ValueError, IndexError, KeyError) as exc:  # tables read while they grow
        raise BadRequest(503, f"the live run is recording: try again ({exc})"[:200]) from exc
