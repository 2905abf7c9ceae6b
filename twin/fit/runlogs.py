"""A simulated run written as pilot data: the event log and state log a plant's MES would
have recorded, in the formats of :mod:`twin.pilotdata.formats`.

Used to test mining against a line whose truth is known, and to give users a virtual MES
log of a twin. Run time 0 is ``origin`` (a Monday 00:00, as the engine's calendar assumes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

ORIGIN = "2026-01-05T00:00:00Z"
"""Default wall-clock time of simulation time 0 (a Monday, 00:00 UTC)."""

PILOT_EVENTS = {"created": "release", "start": "start", "end": "complete"}
"""The recorded part events an MES logs, and the ``events`` format's name of each."""
OUTCOME_EVENTS = ("scrap", "rework")
"""Recorded events that give the outcome of the ``complete`` at the same part, station and
time (otherwise the outcome is ``good``)."""


def _iso(origin: pd.Timestamp, seconds: np.ndarray) -> list[str]:
    times = origin + pd.to_timedelta(np.round(np.asarray(seconds, dtype=float), 6), unit="s")
    return [t.isoformat().replace("+00:00", "Z") for t in times]


def unit_name(station: str, server: int) -> str:
    """Name of a station's server in the pilot logs (``cnc-1``, ``cnc-2``)."""
    return f"{station}-{int(server) + 1}"


def event_log(tables: dict[str, pd.DataFrame], servers: dict[str, int],
              origin: str = ORIGIN) -> pd.DataFrame:
    """The ``events`` format of a run: releases at the sources, and starts and completes
    (with the outcome at an inspection). ``resource`` is named for stations with one server
    (the engine does not record which of several servers took a part)."""
    ev = tables["events"]
    o = pd.Timestamp(origin)
    outcome_of = {(int(p), str(s), float(t)): k for t, p, s, k in zip(
        ev["time"], ev["part"], ev["station"].astype(str), ev["kind"].astype(str),
        strict=True) if k in OUTCOME_EVENTS}
    keep = ev[ev["kind"].isin(list(PILOT_EVENTS))]
    kind = keep["kind"].astype(str).map(PILOT_EVENTS)
    station = keep["station"].astype(str)
    outcome = [("" if k != "complete" else outcome_of.get((int(p), s, float(t)), "good"))
               for k, p, s, t in zip(kind, keep["part"], station, keep["time"], strict=True)]
    resource = [unit_name(s, 0) if servers.get(s) == 1 and k != "release" else ""
                for s, k in zip(station, kind, strict=True)]
    return pd.DataFrame({
        "id": ["P" + str(int(p)) for p in keep["part"]],
        "product": keep["product"].astype(str).to_numpy(),
        "station": station.to_numpy(), "event": kind.to_numpy(),
        "time": _iso(o, keep["time"].to_numpy()), "resource": resource, "outcome": outcome,
    })


def state_log(tables: dict[str, pd.DataFrame], origin: str = ORIGIN) -> pd.DataFrame:
    """The ``states`` format of a run: one row per state change of each unit, with the
    failure mode of each ``down`` state."""
    st = tables["states"]
    o = pd.Timestamp(origin)
    stops = tables.get("stops")
    mode: dict[tuple[int, float], str] = {}
    if stops is not None and len(stops):
        mode = {(int(u), float(t)): str(m) for u, t, m in zip(stops["unit"], stops["start"],
                                                              stops["mode"], strict=True)}
    station = st["station"].astype(str)
    return pd.DataFrame({
        "station": station.to_numpy(),
        "unit": [unit_name(s, v) for s, v in zip(station, st["server"], strict=True)],
        "state": st["state"].astype(str).to_numpy(),
        "start": _iso(o, st["start"].to_numpy()),
        "reason": [mode.get((int(u), float(t)), "") if s == "down" else ""
                   for u, t, s in zip(st["unit"], st["start"], st["state"].astype(str),
                                      strict=True)],
    })


def pilot_logs(result: Any, origin: str = ORIGIN) -> dict[str, pd.DataFrame]:
    """The event and state logs of a :class:`~twin.orchestration.run.RunResult`."""
    servers = {name: int(getattr(st, "servers", 1)) for name, st in result.line.stations.items()}
    return {"events": event_log(result.tables, servers, origin),
            "states": state_log(result.tables, origin)}
