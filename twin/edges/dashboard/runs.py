"""Routes of stored runs: the list, and a run's description and records (built once per run
and cached; the records are what the live stream would have sent, in one answer)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from twin.edges.dashboard.context import dashboard_of
from twin.edges.dashboard.params import check_query
from twin.edges.dashboard.replies import BadRequest, json_reply, json_text
from twin.edges.dashboard.stored import stored_meta, stored_records
from twin.edges.dashboard.wire import pack


def _row(rid: str, summary: dict[str, Any]) -> dict[str, Any]:
    prov, kpis = summary.get("provenance", {}), summary.get("kpis", {}) or {}
    return {"id": rid, "run_id": summary.get("run_id"), "line": prov.get("line"),
            "status": prov.get("status"), "seed": prov.get("seed"),
            "duration_s": prov.get("settings", {}).get("duration_s"),
            "started_utc": prov.get("started_utc"),
            "throughput_per_h": kpis.get("throughput_per_h")}


async def list_runs(request: Request) -> Response:
    """``GET /api/runs``: stored runs under the runs directory, and the live run."""
    check_query(request)
    state = dashboard_of(request)
    rows = []
    for rid, folder in sorted(state.store.refresh().items()):
        try:
            rows.append(_row(rid, state.store.summary(folder)))
        except BadRequest:
            continue
    live = state.live
    current = None if live is None else {"run_id": live.run_id, "status": live.status,
                                         "line": live.prep.line.line.name}
    return json_reply({"runs": rows, "live": current})


def _meta(request: Request, folder: Path) -> dict[str, Any]:
    store = dashboard_of(request).store
    return stored_meta(folder, store.summary(folder))


async def run_meta(request: Request) -> Response:
    """``GET /api/runs/{id}/meta``: line layout, registries, settings, KPIs."""
    check_query(request)
    store = dashboard_of(request).store
    rid = request.path_params["rid"]
    return json_text(await asyncio.to_thread(store.cached, rid, "meta",
                                             lambda f: _meta(request, f)))


async def run_records(request: Request) -> Response:
    """``GET /api/runs/{id}/records``: the run's records in the format of the stream."""
    check_query(request)
    store = dashboard_of(request).store
    rid = request.path_params["rid"]

    def build(folder: Path) -> Any:
        return {"records": pack(stored_records(folder, _meta(request, folder)))}

    return json_text(await asyncio.to_thread(store.cached, rid, "records", build))
