"""What the dashboard server answers with: its security headers, JSON and cached replies and
the refusal (:class:`BadRequest`) that every handler raises for a request it will not serve."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response

from twin.edges.dashboard.wire import dumps

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "style-src 'self' 'unsafe-inline'; connect-src 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class BadRequest(Exception):
    """A request the server refuses with a 4xx (or 503) status and a reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_reply(obj: Any, status: int = 200) -> Response:
    """``obj`` as JSON (NaN and infinities as ``null``) with the security headers."""
    return Response(dumps(obj), status_code=status, media_type="application/json",
                    headers=SECURITY_HEADERS)


def cached_reply(conn: HTTPConnection, text: bytes, gz: bytes,
                 media: str = "application/json") -> Response:
    """An already serialised answer (JSON unless ``media`` says otherwise) with the security
    headers, compressed if the client accepts gzip (``gz``: the same, compressed once)."""
    if "gzip" in conn.headers.get("accept-encoding", ""):
        return Response(gz, media_type=media,
                        headers={**SECURITY_HEADERS, "Content-Encoding": "gzip",
                                 "Vary": "Accept-Encoding"})
    return Response(text, media_type=media, headers=SECURITY_HEADERS)


def error_reply(status: int, message: str) -> Response:
    return json_reply({"error": message}, status)


def own_origins(conn: HTTPConnection) -> set[str]:
    """The origins of pages served by this server (as the ``Host`` header names it)."""
    host = conn.headers.get("host", "")
    return {f"http://{host}", f"https://{host}"}


def refuse_other_origins(conn: HTTPConnection, what: str) -> None:
    """Refuse (403) a request that a page of another site sent."""
    origin = conn.headers.get("origin")
    if origin is not None and origin not in own_origins(conn):
        raise BadRequest(403, f"cross-origin {what} are refused")
