"""The state of a line from plant data: what the live twin syncs to.

:func:`state_from_pilot` reads the pilot-data tables (:mod:`twin.pilotdata.formats`, as
loaded by :func:`twin.pilotdata.load.load` or built from live readings): the ``events``
log (releases, starts, completes), the ``states`` log of the units, the ``batches`` record
and ``timeseries`` mapped to model signals through the tag map. It writes them in the shape
of a run's recorded tables and reads the state at ``at`` from those
(:func:`twin.observation.run_state.state_from_tables`), then takes measured values where
the tag map has them: the temperature of the batch in a process unit
(``temperature.<station>``) and the contents of a tank (``tank.<station>``).

Run time 0 is ``origin`` (default: the Monday 00:00 before ``at``, in ``at``'s time zone,
as the line's calendar counts). What the plant data leave open:

- a part completed at a station is put into the buffer of the station its route leads to
  (when the route has one destination for its product; else it stays at the station,
  finished), and a released part into the buffer after the source;
- a stop whose end is not yet known has an unknown remaining time (drawn when a run starts
  from the state, conditioned on how long it has lasted);
- a batch's composition is the material its completed charge phases put in (the recipe's
  materials, scaled to the recorded ``charged`` mass); changes by reactions are not in a
  batch record;
- a tank level (kg) is split into species in the proportions of the tank's initial
  contents in the spec, or of ``tank_mix``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.state import LineState
from twin.observation.run_state import state_from_tables

Frame = pd.DataFrame | Any
"""A pilot-data table: a DataFrame of the format's columns, or a loaded ``PilotTable``."""


def _frame(table: Frame | None) -> pd.DataFrame | None:
    return getattr(table, "frame", table)


def default_origin(at: pd.Timestamp) -> pd.Timestamp:
    """The Monday 00:00 before ``at`` (same time zone): run time 0 of the line's calendar."""
    return at.normalize() - pd.Timedelta(days=at.weekday())


def state_from_pilot(line: S.LineSpec, at: str | pd.Timestamp, *, events: Frame = None,
                     states: Frame = None, batches: Frame = None, timeseries: Frame = None,
                     origin: str | pd.Timestamp | None = None,
                     tank_mix: Mapping[str, Mapping[str, float]] | None = None) -> LineState:
    """The state of ``line`` at the wall-clock time ``at`` from plant data (see the module
    docstring).

    Raises
    ------
    ValueError
        If ``at`` or ``origin`` has no time zone, ``at`` is before ``origin``, or a measured
        tank level cannot be split into species.
    """
    when = pd.Timestamp(at)
    if when.tzinfo is None:
        raise ValueError(f"at = {at!r} needs a time zone (e.g. '2026-03-02T14:00:00+08:00')")
    start = default_origin(when) if origin is None else pd.Timestamp(origin)
    if start.tzinfo is None:
        raise ValueError(f"origin = {origin!r} needs a time zone")
    t = (when - start).total_seconds()
    if t < 0:
        raise ValueError(f"at ({when}) is before the origin ({start})")
    ids: dict[str, int] = {}

    def secs(col: pd.Series) -> np.ndarray:
        return ((pd.to_datetime(col, utc=True) - start).dt.total_seconds()).to_numpy()

    ev, names, came = _events(line, _frame(events), ids, secs)
    st, stops = _states(line, _frame(states), t, secs)
    ph, fl = _batches(line, _frame(batches), ids, secs, t)
    tables = {"events": ev, "states": st, "stops": stops, "phases": ph, "flows": fl}
    state = state_from_tables(line, tables, t, {
        "kind": "plant data", "at": when.isoformat(), "origin": start.isoformat()})
    state = state.model_copy(update={"origin": start.isoformat()})
    data = state.model_dump()
    _overflow(line, data, came)
    for st_data in data["stations"].values():  # the plant's names of parts and lots
        for part in _all_parts(st_data):
            part["name"] = names.get(part["id"], "")
    _measured(line, data, _frame(timeseries), when, tank_mix or {})
    return LineState.parse(data, "state from plant data")


def _all_parts(station: dict[str, Any]) -> list[dict[str, Any]]:
    out = list(station["buffer"])
    for unit in station["units"]:
        out += unit["parts"]
    if station.get("source"):
        out += station["source"]["waiting"]
    return out


def _next(line: S.LineSpec, station: str, product: str) -> str | None:
    """The one station a part of ``product`` goes to from ``station`` (``None``: a choice)."""
    spec = line.stations[station]
    dests = {r.to for r in spec.routes if r.products is None or product in r.products}
    return dests.pop() if len(dests) == 1 else None


def _overflow(line: S.LineSpec, data: dict[str, Any], came: dict[int, str]) -> None:
    """Parts beyond a buffer's capacity (the last to come) are still held where they came
    from: released parts wait at their source, finished ones block a unit of their station
    (the log says only that they were completed or released)."""
    for name, st in data["stations"].items():
        cap = getattr(line.stations[name], "buffer", None)
        if cap is None or len(st["buffer"]) <= cap:
            continue
        extra, st["buffer"] = st["buffer"][cap:], st["buffer"][:cap]
        for part in extra:
            origin = came[part["id"]]
            part["arrived"] = None
            held = data["stations"].setdefault(origin, {"buffer": [], "units": []})
            if isinstance(line.stations[origin], S.Source):
                held.setdefault("source", None)
                held["source"] = held["source"] or {"made": 0, "waiting": []}
                held["source"]["waiting"].append(part)
                continue
            unit = next((u for u in held["units"] if not u["parts"]), None)
            if unit is None:
                unit = {"server": len(held["units"]), "state": "blocked", "parts": []}
                held["units"].append(unit)
            unit.update(parts=[part], finished=True)


def _events(line: S.LineSpec, frame: pd.DataFrame | None, ids: dict[str, int],
            secs: Any) -> tuple[pd.DataFrame, dict[int, str], dict[int, str]]:
    """Run-style part events from an event log: releases, starts and completes, and the
    arrivals they imply (one route destination); plus the plant's names of the parts and
    the station each last came from."""
    rows: list[tuple[float, int, str, str, str]] = []
    came: dict[int, str] = {}
    if frame is not None and len(frame):
        times = secs(frame["time"])
        outcome = frame["outcome"] if "outcome" in frame else pd.Series([""] * len(frame))
        for time, pid, product, station, event, result in zip(
                times, frame["id"].astype(str), frame["product"].astype(str),
                frame["station"].astype(str), frame["event"].astype(str),
                outcome.fillna("").astype(str), strict=True):
            part = ids.setdefault(pid, len(ids))
            if event == "start":
                rows.append((time, part, product, station, "start"))
                continue
            if event == "release":
                rows.append((time, part, product, station, "created"))
            elif result == "scrap":
                rows.append((time, part, product, station, "scrap"))
                continue
            elif result == "rework":
                rows.append((time, part, product, station, "rework"))
            else:
                rows.append((time, part, product, station, "end"))
            to = (line.stations[station].rework_to if result == "rework"
                  else _next(line, station, product))
            if to is not None:
                kind = {"sink": "exit", "tank": "consumed"}.get(line.stations[to].type,
                                                                "arrive")
                rows.append((time, part, product, to, kind))
                came[part] = station
    ev = pd.DataFrame(rows, columns=["time", "part", "product", "station", "kind"])
    ev = ev.sort_values("time", kind="stable").reset_index(drop=True)
    return ev, {v: k for k, v in ids.items()}, came


def _server(station: str, name: str, seen: dict[str, dict[str, int]]) -> int:
    """Server index of the unit called ``name`` (``cnc-2`` is server 1; other names in the
    order they appear)."""
    m = re.fullmatch(re.escape(station) + r"-(\d+)", name)
    if m:
        return int(m.group(1)) - 1
    mine = seen.setdefault(station, {})
    return mine.setdefault(name, len(mine))


def _states(line: S.LineSpec, frame: pd.DataFrame | None, t: float,
            secs: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run-style ``states`` intervals and ``stops`` (a stop not yet over at ``t`` has an
    unknown duration) from a state log."""
    cols = ["unit", "station", "server", "state", "start", "end"]
    stop_cols = ["start", "unit", "kind", "mode", "duration", "station", "server"]
    if frame is None or not len(frame):
        return pd.DataFrame(columns=cols), pd.DataFrame(columns=stop_cols)
    seen: dict[str, dict[str, int]] = {}
    station = frame["station"].astype(str).to_numpy()
    server = [_server(s, str(u), seen) for s, u in zip(station, frame["unit"], strict=True)]
    st = pd.DataFrame({"station": station, "server": server,
                       "state": frame["state"].astype(str).to_numpy(),
                       "start": secs(frame["start"]),
                       "reason": (frame["reason"].fillna("").astype(str).to_numpy()
                                  if "reason" in frame else ""),
                       "given": secs(frame["end"]) if "end" in frame else np.nan})
    st["unit"] = st["station"] + "#" + st["server"].astype(str)
    st = st.sort_values(["unit", "start"], kind="stable").reset_index(drop=True)
    nxt = st.groupby("unit")["start"].shift(-1).fillna(st["given"])
    st["end"] = nxt.fillna(np.inf).to_numpy()
    stop = st[st["state"].isin(["down", "maintenance"])]
    stops = pd.DataFrame({
        "start": stop["start"].to_numpy(), "unit": stop["unit"].to_numpy(),
        "kind": np.where(stop["state"] == "down", "failure", "maintenance"),
        "mode": stop["reason"].to_numpy(),
        "duration": np.where(stop["end"] <= t, stop["end"] - stop["start"], np.nan),
        "station": stop["station"].to_numpy(), "server": stop["server"].to_numpy()})
    return st[cols], stops[stop_cols]


def _batches(line: S.LineSpec, frame: pd.DataFrame | None, ids: dict[str, int], secs: Any,
             t: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run-style ``phases`` from a batch record, and the ``flows`` of its completed charge
    phases (the recipe's materials, scaled to the recorded charged mass)."""
    ph_cols = ["part", "station", "phase", "start", "end"]
    fl_cols = ["time", "part", "station", "phase", "species", "kind", "kg"]
    if frame is None or not len(frame):
        return pd.DataFrame(columns=ph_cols), pd.DataFrame(columns=fl_cols)
    ph = pd.DataFrame({"part": [ids.setdefault(str(b), len(ids)) for b in frame["batch"]],
                       "station": frame["unit"].astype(str).to_numpy(),
                       "phase": frame["phase"].astype(str).to_numpy(),
                       "start": secs(frame["start"]), "end": secs(frame["end"])})
    charged = (frame["charged_kg"].to_numpy(dtype=float) if "charged_kg" in frame
               else np.full(len(frame), np.nan))
    flows = []
    for row, kg in zip(ph.itertuples(), charged, strict=True):
        spec = line.stations.get(row.station)
        if row.end > t or not isinstance(spec, S.Process):
            continue
        recipe = [p for r in (spec.recipe, *spec.product_recipes.values()) for p in r]
        charge = next((p for p in recipe if p.phase == "charge"
                       and (p.name or p.phase) == row.phase), None)
        if charge is None:
            continue
        total = sum(charge.materials.values())
        scale = kg / total if np.isfinite(kg) and total > 0 else 1.0
        flows += [(row.end, row.part, row.station, row.phase, sp, "input", m * scale)
                  for sp, m in charge.materials.items()]
    return ph, pd.DataFrame(flows, columns=fl_cols)


def _measured(line: S.LineSpec, data: dict[str, Any], frame: pd.DataFrame | None,
              when: pd.Timestamp, tank_mix: Mapping[str, Mapping[str, float]]) -> None:
    """Take the measured batch temperatures and tank levels (last sample at or before
    ``when`` of each mapped signal) into the state ``data``."""
    if frame is None or not len(frame) or "signal" not in frame:
        return
    now = frame[pd.to_datetime(frame["time"], utc=True) <= when]
    last = now.groupby("signal")["value_si"].last()
    for signal, value in last.items():
        kind, _, station = str(signal).partition(".")
        st = data["stations"].get(station)
        spec = line.stations.get(station)
        if kind == "temperature" and st is not None:
            for unit in st["units"]:
                for part in unit["parts"]:
                    part["temperature"] = float(value)
        elif kind == "tank" and isinstance(spec, S.Tank):
            mix = dict(tank_mix.get(station) or spec.initial)
            whole = sum(mix.values())
            if whole <= 0:
                raise ValueError(f"tank {station!r}: a measured level of {value:g} kg "
                                 "needs its composition (tank_mix, or initial contents "
                                 "in the spec)")
            data["stations"].setdefault(station, {"buffer": [], "units": []})["level"] = {
                sp: float(value) * kg / whole for sp, kg in mix.items()}
