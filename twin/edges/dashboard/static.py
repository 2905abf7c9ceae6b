"""The page and its files: ``index.html``, ``app.js``, ``style.css`` and ``plotly.min.js``
(from the installed plotly package: no other host is needed).

Files are read once, compressed once (gzip) and served compressed to browsers that accept it,
with an ETag so that a reload costs a 304 (plotly.min.js is 4.8 MB, 1.4 MB compressed).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import plotly
from starlette.requests import Request
from starlette.responses import Response

from twin.edges.dashboard.params import check_query
from twin.edges.dashboard.replies import SECURITY_HEADERS, BadRequest

STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
STATIC_FILES = {
    "index.html": (STATIC / "index.html", "text/html; charset=utf-8"),
    "app.js": (STATIC / "app.js", "text/javascript; charset=utf-8"),
    "style.css": (STATIC / "style.css", "text/css; charset=utf-8"),
    "plotly.min.js": (PLOTLY_JS, "text/javascript; charset=utf-8"),
}


@dataclass(frozen=True)
class Asset:
    """A file as served: its bytes, compressed bytes, media type and ETag."""

    raw: bytes
    gz: bytes
    media: str
    etag: str


class Assets:
    """The static files, loaded on first use and reloaded when a file changes."""

    def __init__(self) -> None:
        self._loaded: dict[str, tuple[float, Asset]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Asset:
        path, media = STATIC_FILES[name]
        mtime = path.stat().st_mtime
        with self._lock:
            hit = self._loaded.get(name)
        if hit is not None and hit[0] == mtime:
            return hit[1]
        raw = path.read_bytes()
        asset = Asset(raw, gzip.compress(raw, compresslevel=6, mtime=0), media,
                      '"' + hashlib.sha256(raw).hexdigest()[:20] + '"')
        with self._lock:
            self._loaded[name] = (mtime, asset)
        return asset


async def serve_asset(request: Request, name: str) -> Response:
    """The file ``name``: 304 if the browser has it, gzip if it accepts it."""
    asset: Asset = await asyncio.to_thread(request.app.state.assets.get, name)
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": asset.etag,
               "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(asset.gz, media_type=asset.media,
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.raw, media_type=asset.media, headers=headers)


async def index(request: Request) -> Response:
    """``GET /``: the page."""
    check_query(request)
    return await serve_asset(request, "index.html")


async def static_file(request: Request) -> Response:
    """``GET /static/{name}``: one of the page's files, nothing else."""
    name = request.path_params["name"]
    if name not in STATIC_FILES or name == "index.html":
        raise BadRequest(404, "no such file")
    return await serve_asset(request, name)


async def favicon(request: Request) -> Response:
    return Response(status_code=204)
