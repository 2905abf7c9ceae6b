"""The dashboard server: a Starlette app over a runs directory and, optionally, a live run.

Endpoints (all JSON unless said otherwise; everything is read-only except the alarm actions):

``GET /``                               the page (``static/index.html``)
``GET /static/{name}``                  ``app.js``, ``style.css``, ``plotly.min.js`` (served from
                                        the installed plotly package: no other host is needed)
``GET /api/runs``                       stored runs under the runs directory (and the live run)
``GET /api/runs/{id}/meta``             a stored run: line layout, registries, settings, KPIs
``GET /api/runs/{id}/records``          a stored run's records, in the format of the stream
                                        (packed JSON columns; ``?format=frame``: one binary
                                        frame, as the page reads them)
``GET /api/runs/{id}/sankey``           material [kg] and energy [kWh] Sankeys of the
                                        observation window (:mod:`twin.observation.sankey`)
``GET /api/live``                       the live run: line layout, registries, progress
``GET /api/live/sankey``                its Sankeys, from the warm-up's end to now
``WS  /api/live/ws``                    the page's stream, a WebSocket of binary frames
                                        (:func:`~twin.edges.dashboard.wire.frame`): only the
                                        records that are new since ``?cursor=``, one frame per
                                        ``?interval=`` ms (100-10000), ``"end": true`` last
``GET /api/live/stream``                the same updates as Server-Sent Events with packed
                                        JSON columns, for scripts (``?cursor=`` or the
                                        ``Last-Event-ID`` header resumes)
``POST /api/live/alarms/{name}/ack``    acknowledge an alarm of the live run
``POST /api/live/alarms/{name}/shelve`` shelve it for ``?duration_s=`` simulated seconds
                                        (default 3600)

The handlers live in modules named for what they serve: :mod:`.static` (the page),
:mod:`.runs` (stored runs), :mod:`.streams` (the live run), :mod:`.actions` (alarm actions).

A run id is the path of a run folder relative to the runs directory, as listed by
``/api/runs``; anything else is refused (400 if malformed, 404 if unknown), so no file outside
the runs directory can be read: ids are looked up among the run folders found under it (with
symbolic links leading outside it dropped), never joined onto a path. Requests for other hosts
(``Host`` header) and cross-origin alarm actions and WebSocket connections are refused. JSON
answers of 1 kB and more are compressed (gzip) for browsers that accept it.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from twin.edges.dashboard.actions import alarm_action
from twin.edges.dashboard.context import Dashboard, StreamSlots
from twin.edges.dashboard.replies import BadRequest, error_reply
from twin.edges.dashboard.runs import list_runs, run_meta, run_records, run_sankey
from twin.edges.dashboard.static import Assets, favicon, index, static_file
from twin.edges.dashboard.stored import StoredRuns
from twin.edges.dashboard.streams import live_info, live_sankey, live_socket, live_stream
from twin.orchestration.live import LiveRun

MAX_STREAMS = 8
"""Live streams served at once (each costs CPU in the run's process)."""
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Host names a dashboard bound to the loopback interface answers to."""
REQUEST_TIMEOUT_S = 10.0
"""A connection that has not sent a whole request header within this time [s] is closed."""
SEND_TIMEOUT_S = 30.0
"""A live stream whose client has not taken a message within this time [s] is dropped."""

ROUTES = [
    Route("/", index),
    Route("/favicon.ico", favicon),
    Route("/static/{name}", static_file),
    Route("/api/runs", list_runs),
    Route("/api/runs/{rid:path}/meta", run_meta),
    Route("/api/runs/{rid:path}/records", run_records),
    Route("/api/runs/{rid:path}/sankey", run_sankey),
    Route("/api/live", live_info),
    Route("/api/live/sankey", live_sankey),
    Route("/api/live/stream", live_stream),
    WebSocketRoute("/api/live/ws", live_socket),
    Route("/api/live/alarms/{name}/{action}", alarm_action, methods=["POST"]),
]


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return error_reply(exc.status, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 400)
    return error_reply(status, str(getattr(exc, "detail", "bad request")))


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_reply(500, f"internal error: {type(exc).__name__}")


def create_app(runs_dir: str | Path, live: LiveRun | None = None, *,
               allowed_hosts: Sequence[str] = LOCAL_HOSTS, max_streams: int = MAX_STREAMS,
               send_timeout_s: float = SEND_TIMEOUT_S) -> Starlette:
    """The dashboard app over ``runs_dir`` (created if missing), with an optional live run.

    ``allowed_hosts``: the ``Host`` names answered (others get 400); :func:`serve` adds the
    host it binds to. ``max_streams``: live streams at once (more get 503).
    """
    root = Path(runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
                    Middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)],
        exception_handlers={BadRequest: _refused, HTTPException: _http_error,
                            Exception: _server_error},
    )
    app.state.dashboard = Dashboard(StoredRuns(root), live, StreamSlots(max_streams),
                                    send_timeout_s)
    app.state.assets = Assets()
    return app


def _guarded_h11(timeout: float) -> type:
    """uvicorn's HTTP/1.1 protocol, closing a connection that sends no whole request header
    within ``timeout`` [s] (uvicorn itself waits for ever for the first request)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def _arm(self) -> None:
            self.loop.call_later(timeout, self._idle, self.cycle)

        def _idle(self, cycle: Any) -> None:
            # close if no new request came since armed (a request makes a new cycle) and the
            # connection was not handed to another protocol (a WebSocket upgrade)
            if (self.cycle is cycle and self.transport.get_protocol() is self
                    and not self.transport.is_closing()
                    and (cycle is None or cycle.response_complete)):
                self.transport.close()

    return GuardedH11


def server_config(app: Starlette, host: str = "127.0.0.1", port: int = 8765, *,
                  request_timeout_s: float = REQUEST_TIMEOUT_S) -> Any:
    """How the dashboard is served: uvicorn on ``host`` (``127.0.0.1`` unless told otherwise).

    A connection that sends no whole request within ``request_timeout_s`` is closed; a
    WebSocket whose peer does not answer pings for 20 s is closed (half-open connections).
    WebSocket frames are not compressed: on the machine running the twin, deflating every
    frame would cost more CPU than the bytes it saves (the CPU is shared with the run).
    """
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                          ws_per_message_deflate=False, ws_ping_interval=20.0,
                          ws_ping_timeout=20.0, http=_guarded_h11(request_timeout_s))


def allowed_hosts_for(host: str) -> list[str]:
    """The ``Host`` names a dashboard bound to ``host`` answers to: the loopback names, the
    bound name, and for every interface (``0.0.0.0``, ``::``) the names of this machine."""
    hosts = list(LOCAL_HOSTS)
    extra = [host]
    if host in ("0.0.0.0", "::"):
        extra = [socket.gethostname(), socket.getfqdn()]
    return hosts + [h for h in extra if h and h not in hosts]


def serve(runs_dir: str | Path, live: LiveRun | None = None, host: str = "127.0.0.1",
          port: int = 8765) -> None:
    """Serve the dashboard until interrupted (binds ``127.0.0.1`` unless told otherwise)."""
    import uvicorn

    app = create_app(runs_dir, live, allowed_hosts=allowed_hosts_for(host))
    uvicorn.Server(server_config(app, host, port)).run()
