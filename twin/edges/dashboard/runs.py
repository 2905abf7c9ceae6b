"""Routes of stored runs: the list, and a run's description, records and Sankeys (built once
per run and cached; the records are what the live stream would have sent, in one answer)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from twin.data.checks import line_from_dict
from twin.edges.dashboard.context import dashboard_of
from twin.edges.dashboard.params import check_query
from twin.edges.dashboard.replies import BadRequest, cached_reply, json_reply
from twin.edges.dashboard.stored import Answer, read_table, stored_meta, stored_records
from twin.edges.dashboard.wire import frame, pack
from twin.observation import runfolder
from twin.observation.sankey import run_sankeys


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
        found = runfolder.state(folder)
        if found.status == "damaged":  # listed, with the file and the reason
            rows.append({"id": rid, "run_id": folder.name, "status": "damaged",
                         "file": found.file, "reason": found.reason})
            continue
        rows.append(_row(rid, state.store.summary(folder)))
    live = state.live
    current = None if live is None else {"run_id": live.run_id, "status": live.status,
                                         "line": live.prep.line.line.name}
    return json_reply({"runs": rows, "live": current})


def _meta(request: Request, folder: Path) -> dict[str, Any]:
    store = dashboard_of(request).store
    return stored_meta(folder, store.summary(folder))


def _cached_meta(request: Request, rid: str) -> Answer:
    store = dashboard_of(request).store
    return store.cached(rid, "meta", lambda f: _meta(request, f))


async def run_meta(request: Request) -> Response:
    """``GET /api/runs/{id}/meta``: line layout, registries, settings, KPIs."""
    check_query(request)
    answer = await asyncio.to_thread(_cached_meta, request, request.path_params["rid"])
    return cached_reply(request, answer.text, answer.gz)


RECORD_FORMATS = ("json", "frame")
"""``?format=`` of a stored run's records: packed JSON columns, or one binary frame."""


async def run_records(request: Request) -> Response:
    """``GET /api/runs/{id}/records``: the run's records in the format of the stream, as
    packed JSON columns (``{"records": ...}``), or with ``?format=frame`` as one binary frame
    of the live stream (:func:`~twin.edges.dashboard.wire.frame`, header ``{"records":
    ...}``), which the page reads without decoding base64 or parsing numbers."""
    check_query(request)
    store = dashboard_of(request).store
    rid = request.path_params["rid"]
    kind = request.query_params.get("format", "json")
    if kind not in RECORD_FORMATS:
        raise BadRequest(400, f"format must be one of {', '.join(RECORD_FORMATS)}")

    def build(folder: Path) -> Any:
        meta = json.loads(_cached_meta(request, rid).text)  # read once per run
        records = stored_records(folder, meta)
        return frame({}, records) if kind == "frame" else {"records": pack(records)}

    answer = await asyncio.to_thread(store.cached, rid, f"records-{kind}", build)
    media = "application/octet-stream" if kind == "frame" else "application/json"
    return cached_reply(request, answer.text, answer.gz, media)


def sankeys(spec: Any, tables: dict[str, Any], t0: float, t1: float) -> dict[str, Any]:
    """Material and energy Sankeys of ``[t0, t1]`` [s] (:mod:`twin.observation.sankey`);
    ``None`` for what the run has not recorded (no material flows on a discrete line)."""
    both = run_sankeys(spec, tables, t0, t1)
    return {"t0": t0, "t1": t1,
            **{k: d.as_dict() if d is not None else None for k, d in both.items()}}


def stored_sankeys(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """The Sankeys of a stored run over its observation window."""
    prov = summary.get("provenance", {})
    try:
        spec = line_from_dict(prov["parameters"])
    except Exception:  # an old or foreign run.json: material only
        spec = None
    settings = prov.get("settings", {})
    t0 = float(settings.get("warmup_s", 0.0))
    t1 = t0 + float(settings.get("duration_s", 0.0))
    tables = {n: read_table(folder, n) for n in ("flows", "states", "phases")}
    return sankeys(spec, tables, t0, t1)


async def run_sankey(request: Request) -> Response:
    """``GET /api/runs/{id}/sankey``: material [kg] and energy [kWh] over the observation
    window."""
    check_query(request)
    store = dashboard_of(request).store
    rid = request.path_params["rid"]
    answer = await asyncio.to_thread(store.cached, rid, "sankey",
                                     lambda f: stored_sankeys(f, store.summary(f)))
    return cached_reply(request, answer.text, answer.gz)
