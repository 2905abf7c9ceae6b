"""Parameters of dashboard requests: the query string's size, numbers in a range, and the
cursor of the live stream (positions per recorded table)."""

from __future__ import annotations

import math
import re

from starlette.requests import HTTPConnection

from twin.edges.dashboard.replies import BadRequest

MAX_QUERY = 1024
"""Longest query string served [characters]."""
CURSOR_MAX = 10**12
CURSOR_PART = re.compile(r"[0-9]{1,13}")


def check_query(conn: HTTPConnection) -> None:
    if len(conn.url.query) > MAX_QUERY:
        raise BadRequest(414, "query string too long")


def number(conn: HTTPConnection, name: str, default: float, low: float, high: float) -> float:
    """The query parameter ``name`` as a finite number in ``[low, high]`` (400 otherwise)."""
    raw = conn.query_params.get(name)
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
