"""Alarm actions on the live run: acknowledge, and shelve for a stated simulated time."""

from __future__ import annotations

import asyncio
import re

from starlette.requests import Request
from starlette.responses import Response

from twin.edges.dashboard.context import dashboard_of
from twin.edges.dashboard.params import check_query, number
from twin.edges.dashboard.replies import BadRequest, json_reply, refuse_other_origins
from twin.edges.dashboard.wire import clean

ALARM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]*")
MAX_SHELVE_S = 30 * 86400.0
"""Longest shelving [s of simulated time]."""


async def alarm_action(request: Request) -> Response:
    """``POST /api/live/alarms/{name}/ack`` or ``.../shelve?duration_s=`` (simulated seconds,
    default 3600). The answer says what was done, at which simulated time [s], and until when
    a shelved alarm stays shelved [s, simulated]."""
    check_query(request)
    refuse_other_origins(request, "alarm actions")
    lv = dashboard_of(request).live_run()
    name, action = request.path_params["name"], request.path_params["action"]
    if action not in ("ack", "shelve"):
        raise BadRequest(404, "unknown action")
    if len(name) > 100 or not ALARM_NAME.fullmatch(name):
        raise BadRequest(400, "malformed alarm name")
    duration = (number(request, "duration_s", 3600.0, 1.0, MAX_SHELVE_S)
                if action == "shelve" else None)
    try:
        result = await asyncio.to_thread(lv.act, action, name, duration)
    except LookupError as exc:
        raise BadRequest(404, str(exc)) from exc
    except (ValueError, TimeoutError) as exc:
        raise BadRequest(409, str(exc)) from exc
    if result is False:
        raise BadRequest(409, f"nothing to {'acknowledge' if action == 'ack' else action}")
    now = lv.now
    return json_reply({"ok": True, "alarm": name, "action": action, "time": now,
                       "until": now + duration if duration is not None else None,
                       "clock": "simulated",
                       "result": clean(result) if isinstance(
                           result, dict | list | int | float | str | bool) else None})
