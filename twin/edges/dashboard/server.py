"""The dashboard server: a Starlette app over a runs directory and, optionally, a live run.

Endpoints (all JSON unless said otherwise; everything is read-only except the alarm actions):

``GET /``                               the page (``static/index.html``)
``GET /static/{name}``                  ``app.js``, ``style.css``, ``plotly.min.js`` (served from
                                        the installed plotly package: no other host is needed)
``GET /api/runs``                       stored runs under the runs directory (and the live run)
``GET /api/runs/{id}/meta``             a stored run: line layout, registries, settings, KPIs
``GET /api/runs/{id}/records``          a stored run's records, in the format of the stream
``GET /api/live``                       the live run: line layout, registries, progress
``WS  /api/live/ws``                    the page's stream, a WebSocket of binary frames
                                        (:func:`~twin.edges.dashboard.wire.frame`): only the
                                        records that are new since ``?cursor=``, one frame per
                                        ``?interval=`` ms (100-10000), ``"end": true`` last
``GET /api/live/stream``                the same updates as Server-Sent Events with packed
                                        JSON columns, for scripts (``?cursor=`` or the
                                        ``Last-Event-ID`` header resumes)
``POST /api/live/alarms/{name}/ack``    acknowledge an alarm of the live run
``POST /api/live/alarms/{name}/shelve`` shelve it for ``?duration_s=`` (default 3600)

A run id is the path of a run folder relative to the runs directory, as listed by
``/api/runs``; anything else is refused (400 if malformed, 404 if unknown), so no file outside
the runs directory can be read: ids are looked up among the run folders found under it (with
symbolic links leading outside it dropped), never joined onto a path. Requests for other hosts
(``Host`` header) and cross-origin alarm actions and WebSocket connections are refused.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pandas as pd
import plotly
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from twin.data import spec as S
from twin.data.alarms import display_scale
from twin.data.checks import line_from_dict
from twin.edges.dashboard.wire import clean, dumps, frame, pack
from twin.observation import catalogue, runfolder, schema
from twin.observation.ledger import J_PER_KWH
from twin.observation.recorder import EVENTS, FATES, STATES
from twin.observation.runfolder import RUN_FILE, find_runs
from twin.orchestration.live import PROFILE_POINTS, PROFILE_VARIABLES, LiveRun

STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
STATIC_FILES = {
    "app.js": (STATIC / "app.js", "text/javascript; charset=utf-8"),
    "style.css": (STATIC / "style.css", "text/css; charset=utf-8"),
    "plotly.min.js": (PLOTLY_JS, "text/javascript; charset=utf-8"),
}
RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.#\-]*(/[A-Za-z0-9_][A-Za-z0-9_.#\-]*)*")
ALARM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]*")
MAX_ID = 300
MAX_QUERY = 1024
CURSOR_MAX = 10**12
CURSOR_PART = re.compile(r"[0-9]{1,13}")
MAX_STREAMS = 8
"""Live streams served at once (each costs CPU in the run's process)."""
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "::1", "testserver"]
TABLE_FILES = schema.RECORDED
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "style-src 'self' 'unsafe-inline'; connect-src 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class BadRequest(Exception):
    """A request the server refuses with a 4xx status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(obj: Any, status: int = 200) -> Response:
    return Response(dumps(obj), status_code=status, media_type="application/json",
                    headers=SECURITY_HEADERS)


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


# -- the line, as the page draws it ------------------------------------------------------------


def line_layout(spec: S.LineSpec | None) -> dict[str, Any]:
    """What the page needs to know about a line: stations with routes, servers, power per
    state [W], planned time per item [s], capacities; utilities with capacities; factors."""
    if spec is None:
        return {"stations": {}, "utilities": {}, "grid_kg_per_kwh": None, "alarms": []}
    stations: dict[str, Any] = {}
    for name, st in spec.stations.items():
        info: dict[str, Any] = {"type": st.type, "routes": [r.to for r in st.routes],
                                "description": st.description}
        if isinstance(st, S.Equipment):
            info["servers"] = st.servers
            info["power_W"] = st.power.by_state()
            info["buffer"] = getattr(st, "buffer", None)
            pri = {}
            for product in spec.products:
                try:
                    pri[product] = st.planned_time_per_item(product)
                except Exception:  # a product the station never sees
                    continue
            info["planned_s"] = pri
        for key in ("capacity", "low", "high", "rework_to"):
            if hasattr(st, key):
                info[key] = getattr(st, key)
        stations[name] = info
    utilities = {name: {"carrier": u.carrier, "capacity": u.capacity, "medium": u.is_medium}
                 for name, u in spec.utilities.items()}
    alarms = []
    for name, a in (getattr(spec, "alarms", None) or {}).items():
        scale, offset, unit = display_scale(a)
        alarms.append({"name": name, "tag": a.tag, "limit": a.limit, "direction": a.direction,
                       "priority": a.priority, "deadband": a.deadband,
                       "description": a.description,
                       "display": {"scale": scale, "offset": offset, "unit": unit}})
    return {"stations": stations, "utilities": utilities,
            "grid_kg_per_kwh": spec.energy.grid.value * J_PER_KWH, "alarms": alarms}


def _registries() -> dict[str, Any]:
    return {"state_names": list(STATES), "event_names": list(EVENTS), "fate_names": list(FATES),
            "alarm_columns": list(schema.names("alarms")),
            "profile_variables": list(PROFILE_VARIABLES),
            "kpi_catalogue": catalogue.as_rows(catalogue.kpis("line"))}


# -- stored runs ---------------------------------------------------------------------------------


class StoredRuns:
    """The run folders under a root, by id (their path relative to the root)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._by_id: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str, float], str] = OrderedDict()
        self.refresh()

    def refresh(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for folder in find_runs(self.root):
            real = Path(os.path.realpath(folder))
            if not real.is_relative_to(self.root):  # a link leading outside the root
                continue
            rid = folder.relative_to(self.root).as_posix()
            if rid == ".":
                rid = folder.name
            found[rid] = real
        with self._lock:
            self._by_id = found
        return found

    def folder(self, rid: str) -> Path:
        if len(rid) > MAX_ID or not RUN_ID.fullmatch(rid) or ".." in rid.split("/"):
            raise BadRequest(400, "malformed run id")
        with self._lock:
            folder = self._by_id.get(rid)
        if folder is None:
            folder = self.refresh().get(rid)
        if folder is None or not (folder / RUN_FILE).is_file():
            raise BadRequest(404, "no such run")
        return folder

    def summary(self, folder: Path) -> dict[str, Any]:
        try:
            return runfolder.read_summary(folder)
        except runfolder.RunFolderError as exc:
            raise BadRequest(422, f"damaged run: {exc.file}: {exc.reason}") from exc

    def cached(self, rid: str, kind: str, build: Any) -> str:
        folder = self.folder(rid)
        key = (rid, kind, (folder / RUN_FILE).stat().st_mtime)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        text = dumps(build(folder))
        with self._lock:
            self._cache[key] = text
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        return text


def _codes(series: pd.Series, names: list[str]) -> list[int]:
    index = {n: i for i, n in enumerate(names)}
    return [index.get(str(v), -1) for v in series.tolist()]


def _read(folder: Path, table: str) -> pd.DataFrame | None:
    try:
        return runfolder.read_table(folder, table)
    except runfolder.RunFolderError as exc:
        raise BadRequest(422, f"damaged run: {exc.file}: {exc.reason}") from exc


def _names(frame: pd.DataFrame | None, column: str) -> list[str]:
    if frame is None or column not in frame:
        return []
    col = frame[column]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [str(c) for c in col.cat.categories]
    return sorted({str(v) for v in col.dropna().tolist()})


def stored_meta(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Registries, layout and settings of a stored run (codes as in :func:`stored_records`)."""
    prov = summary.get("provenance", {})
    try:
        spec = line_from_dict(prov["parameters"])
    except Exception:  # an old or foreign run.json: draw what the tables say
        spec = None
    states, events, flows = _read(folder, "states"), _read(folder, "events"), _read(folder,
                                                                                     "flows")
    stations = _names(events, "station") or _names(states, "station")
    if spec is not None:
        stations = stations or list(spec.stations)
    units: list[list[int]] = []
    if states is not None and len(states):
        pairs = states.drop_duplicates("unit").sort_values("unit")
        by_code = {n: i for i, n in enumerate(stations)}
        units = [[-1, 0] for _ in range(int(pairs["unit"].max()) + 1)]
        for u, st, sv in zip(pairs["unit"], pairs["station"].astype(str), pairs["server"],
                             strict=True):
            units[int(u)] = [by_code.get(st, -1), int(sv)]
    settings = prov.get("settings", {})
    warmup, duration = settings.get("warmup_s", 0.0), settings.get("duration_s", 0.0)
    return {
        "run_id": summary.get("run_id"), "live": False, "status": prov.get("status"),
        "line": prov.get("line"), "seed": prov.get("seed"), "warmup": warmup,
        "duration": duration, "end": warmup + duration, "now": warmup + duration,
        "stations": stations, "products": _names(events, "product"), "units": units,
        "species": _names(flows, "species"), "kpis": summary.get("kpis"),
        "layout": line_layout(spec), **_registries(),
    }


def _thin_profiles(frame: pd.DataFrame, stations: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"part": [], "station": [], "phase": [], "time": []}
    for v in PROFILE_VARIABLES:
        out[v] = []
    code = {n: i for i, n in enumerate(stations)}
    frame = frame.assign(station=frame["station"].astype(str))
    for (part, station, phase), group in frame.groupby(["part", "station", "phase"], sort=False,
                                                       observed=True):
        wide = group.pivot_table(index="time_s", columns="variable", values="value",
                                 aggfunc="first").sort_index()
        step = max(1, math.ceil(len(wide) / PROFILE_POINTS))
        idx = sorted(set(range(0, len(wide), step)) | {len(wide) - 1})
        wide = wide.iloc[idx]
        out["part"].append(int(part))
        out["station"].append(code.get(station, -1))
        out["phase"].append(str(phase))
        out["time"].append(wide.index.tolist())
        for v in PROFILE_VARIABLES:
            out[v].append(wide[v].tolist() if v in wide else None)
    return out


def stored_records(folder: Path, meta: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """A stored run's tables as the columns the live stream sends (codes, not names)."""
    stations, products = meta["stations"], meta["products"]
    species = meta["species"]
    out: dict[str, dict[str, list[Any]]] = {}
    for table in TABLE_FILES:
        frame = _read(folder, table)
        if frame is None or not len(frame):
            continue
        if table == "states":
            frame = frame.sort_values(["start", "unit"], kind="stable")
            out[table] = {"time": frame["start"].tolist(), "unit": frame["unit"].tolist(),
                          "state": _codes(frame["state"], list(STATES))}
        elif table == "profiles":
            out[table] = _thin_profiles(frame, stations)
        else:
            cols: dict[str, list[Any]] = {}
            for c in frame.columns:
                if c == "station" and table != "alarms":
                    cols[c] = _codes(frame[c], stations)
                elif c == "product":
                    cols[c] = _codes(frame[c], products)
                elif c == "species":
                    cols[c] = _codes(frame[c], species)
                elif c == "kind" and table == "events":
                    cols[c] = _codes(frame[c], list(EVENTS))
                elif c == "fate":
                    cols[c] = _codes(frame[c], list(FATES))
                elif isinstance(frame[c].dtype, pd.CategoricalDtype):
                    cols[c] = frame[c].astype(str).tolist()
                else:
                    cols[c] = frame[c].tolist()
            out[table] = cols
    return out


# -- parameters ------------------------------------------------------------------------------


def _check_query(request: HTTPConnection) -> None:
    if len(request.url.query) > MAX_QUERY:
        raise BadRequest(414, "query string too long")


def _number(request: HTTPConnection, name: str, default: float, low: float, high: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadRequest(400, f"{name} must be a number") from exc
    if not (math.isfinite(value) and low <= value <= high):
        raise BadRequest(400, f"{name} must be between {low:g} and {high:g}")
    return value


def parse_cursor(text: str | None, keys: tuple[str, ...]) -> dict[str, int]:
    """A cursor from its text (positions joined by ``-``, in the order of ``keys``)."""
    if text is None or text == "":
        return {}
    parts = text.split("-")
    if len(parts) != len(keys) or not all(CURSOR_PART.fullmatch(p) for p in parts):
        raise BadRequest(400, "malformed cursor")
    values = [int(p) for p in parts]
    if any(v > CURSOR_MAX for v in values):
        raise BadRequest(400, "malformed cursor")
    return dict(zip(keys, values, strict=True))


def format_cursor(cursor: dict[str, int], keys: tuple[str, ...]) -> str:
    return "-".join(str(cursor.get(k, 0)) for k in keys)


# -- the app ---------------------------------------------------------------------------------


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


def create_app(runs_dir: str | Path, live: LiveRun | None = None) -> Starlette:
    """The dashboard app over ``runs_dir`` (created if missing), with an optional live run."""
    root = Path(runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    store = StoredRuns(root)

    def live_run() -> LiveRun:
        if live is None:
            raise BadRequest(404, "no live run")
        return live

    def live_meta() -> dict[str, Any]:
        lv = live_run()
        return {**lv.describe(), "line": lv.prep.line.line.name,
                "layout": line_layout(lv.prep.line), "cursor_keys": list(lv.cursor_keys()),
                **_registries()}

    async def index(request: Request) -> Response:
        _check_query(request)
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                            headers=SECURITY_HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            raise BadRequest(404, "no such file")
        path, media = STATIC_FILES[name]
        return FileResponse(path, media_type=media,
                            headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

    async def runs(request: Request) -> Response:
        _check_query(request)
        found = store.refresh()
        rows = []
        for rid, folder in sorted(found.items()):
            state = runfolder.state(folder)
            if state.status == "damaged":  # listed, with the file and the reason
                rows.append({"id": rid, "run_id": folder.name, "status": "damaged",
                             "file": state.file, "reason": state.reason})
                continue
            summary = store.summary(folder)
            prov, kpis = summary.get("provenance", {}), summary.get("kpis", {}) or {}
            rows.append({
                "id": rid, "run_id": summary.get("run_id"), "line": prov.get("line"),
                "status": prov.get("status"), "seed": prov.get("seed"),
                "duration_s": prov.get("settings", {}).get("duration_s"),
                "started_utc": prov.get("started_utc"),
                "throughput_per_h": kpis.get("throughput_per_h"),
            })
        current = None
        if live is not None:
            current = {"run_id": live.run_id, "status": live.status, "line":
                       live.prep.line.line.name}
        return _json({"runs": rows, "live": current})

    async def run_meta(request: Request) -> Response:
        _check_query(request)
        rid = request.path_params["rid"]
        text = store.cached(rid, "meta", lambda f: stored_meta(f, store.summary(f)))
        return Response(text, media_type="application/json", headers=SECURITY_HEADERS)

    async def run_records(request: Request) -> Response:
        _check_query(request)
        rid = request.path_params["rid"]

        def build(folder: Path) -> Any:
            meta = stored_meta(folder, store.summary(folder))
            return {"records": pack(stored_records(folder, meta))}
        text = await asyncio.to_thread(store.cached, rid, "records", build)
        return Response(text, media_type="application/json", headers=SECURITY_HEADERS)

    async def live_info(request: Request) -> Response:
        _check_query(request)
        return _json(live_meta())

    streams = 0  # live streams being served

    def stream_settings(conn: HTTPConnection, cursor_text: str | None
                        ) -> tuple[LiveRun, tuple[str, ...], dict[str, int], float, int]:
        """The live run, its cursor keys, the start cursor, the interval [s] and row limit.

        A cursor must come from this run: ``?run=`` names the run it came from, and a cursor
        ahead of what the run has recorded is refused (409) rather than clamped.
        """
        _check_query(conn)
        lv = live_run()
        keys = lv.cursor_keys()
        cursor = parse_cursor(cursor_text, keys)
        interval = _number(conn, "interval", 250.0, 100.0, 10000.0) / 1000.0
        limit = int(_number(conn, "limit", 50000, 1, 200000))
        run = conn.query_params.get("run")
        if run is not None and run != lv.run_id:
            raise BadRequest(409, f"the live run is {lv.run_id}, not {run[:100]}")
        try:
            lv.check_cursor(cursor)
        except ValueError as exc:
            raise BadRequest(409, str(exc)) from exc
        if streams >= MAX_STREAMS:
            raise BadRequest(503, f"already {MAX_STREAMS} live streams: try again later")
        return lv, keys, cursor, interval, limit

    async def live_stream(request: Request) -> Response:
        # EventSource resends its first URL when it reconnects: the Last-Event-ID it adds
        # is where it really is
        lv, keys, cursor, interval, limit = stream_settings(
            request, request.headers.get("last-event-id") or request.query_params.get("cursor"))

        async def events() -> AsyncIterator[str]:
            nonlocal streams
            streams += 1
            try:
                yield "retry: 1000\n\n"
                async for records, now in updates(lv, cursor, interval, limit):
                    if records is None:
                        yield ": keep-alive\n\n"
                        continue
                    body = dumps({**live_header(lv), "records": pack(records)})
                    yield f"id: {format_cursor(now, keys)}\ndata: {body}\n\n"
                yield "event: end\ndata: {}\n\n"
            finally:
                streams -= 1

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={**SECURITY_HEADERS, "Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    async def live_socket(ws: WebSocket) -> None:
        nonlocal streams
        origin = ws.headers.get("origin")
        if origin is not None and origin not in _own_origins(ws):
            await ws.close(code=1008)  # before the handshake: the other site gets a 403
            return
        try:
            lv, keys, start, interval, limit = stream_settings(
                ws, ws.query_params.get("cursor"))
        except BadRequest as exc:
            # After the handshake, so that the page learns why: close code 4000 + the HTTP
            # status (4400 bad request, 4404 no live run, 4409 another run, 4503 busy)
            await ws.accept()
            await ws.close(code=4000 + exc.status, reason=exc.message[:120])
            return
        await ws.accept()
        streams += 1
        gone = asyncio.Event()

        async def listen() -> None:  # the page sends nothing; this notices when it leaves
            try:
                while (await ws.receive())["type"] != "websocket.disconnect":
                    pass
            finally:
                gone.set()

        listener = asyncio.create_task(listen())
        try:
            cursor = start
            async for records, cursor in updates(lv, start, interval, limit):
                if gone.is_set():
                    return
                if records is not None:
                    header = {**live_header(lv), "id": format_cursor(cursor, keys), "end": False}
                    await ws.send_bytes(frame(header, records))
            header = {**live_header(lv), "id": format_cursor(cursor, keys), "end": True}
            await ws.send_bytes(frame(header, {}))
            await ws.close()
        except (WebSocketDisconnect, OSError, RuntimeError):
            return  # the page went away while we were sending
        finally:
            streams -= 1
            listener.cancel()

    async def alarm_action(request: Request) -> Response:
        _check_query(request)
        origin = request.headers.get("origin")
        if origin is not None and origin not in _own_origins(request):
            raise BadRequest(403, "cross-origin alarm actions are refused")
        lv = live_run()
        name, action = request.path_params["name"], request.path_params["action"]
        if action not in ("ack", "shelve"):
            raise BadRequest(404, "unknown action")
        if len(name) > 100 or not ALARM_NAME.fullmatch(name):
            raise BadRequest(400, "malformed alarm name")
        duration = (_number(request, "duration_s", 3600.0, 1.0, 30 * 86400.0)
                    if action == "shelve" else None)
        try:
            result = await asyncio.to_thread(lv.act, action, name, duration)
        except LookupError as exc:
            raise BadRequest(404, str(exc)) from exc
        except ValueError as exc:
            raise BadRequest(409, str(exc)) from exc
        except TimeoutError as exc:
            raise BadRequest(409, str(exc)) from exc
        if result is False:
            raise BadRequest(409, f"nothing to {'acknowledge' if action == 'ack' else action}")
        return _json({"ok": True, "alarm": name, "action": action, "time": lv.now,
                      "result": clean(result) if isinstance(
                          result, dict | list | int | float | str | bool) else None})

    async def bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return _error(exc.status, exc.message)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 400)
        return _error(status, str(getattr(exc, "detail", "bad request")))

    async def server_error(request: Request, exc: Exception) -> Response:
        return _error(500, f"internal error: {type(exc).__name__}")

    from starlette.exceptions import HTTPException

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/static/{name}", static),
        Route("/api/runs", runs),
        Route("/api/runs/{rid:path}/meta", run_meta),
        Route("/api/runs/{rid:path}/records", run_records),
        Route("/api/live", live_info),
        Route("/api/live/stream", live_stream),
        WebSocketRoute("/api/live/ws", live_socket),
        Route("/api/live/alarms/{name}/{action}", alarm_action, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=ALLOWED_HOSTS)],
        exception_handlers={BadRequest: bad_request, HTTPException: http_error,
                            Exception: server_error},
    )
    app.state.store = store
    app.state.live = live
    return app


def _own_origins(request: HTTPConnection) -> set[str]:
    host = request.headers.get("host", "")
    return {f"http://{host}", f"https://{host}"}


def server_config(app: Starlette, host: str = "127.0.0.1", port: int = 8765) -> Any:
    """How the dashboard is served: uvicorn on ``host`` (``127.0.0.1`` unless told otherwise).

    WebSocket frames are not compressed: on the machine running the twin, deflating every
    frame would cost more CPU than the bytes it saves (the CPU is shared with the run).
    """
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                          ws_per_message_deflate=False)


def serve(runs_dir: str | Path, live: LiveRun | None = None, host: str = "127.0.0.1",
          port: int = 8765) -> None:
    """Serve the dashboard until interrupted (binds ``127.0.0.1`` unless told otherwise)."""
    import uvicorn

    uvicorn.Server(server_config(create_app(runs_dir, live), host, port)).run()
