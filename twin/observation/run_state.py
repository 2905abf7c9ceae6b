"""The state of a line at a time, rebuilt from recorded tables (a stored run, or a plant's
records in the same shape).

:func:`state_from_tables` reads what happened up to and including ``t`` (``events``,
``states``, ``stops``; for process lines ``phases``, ``flows`` and ``levels``) and says where
every part is, what every unit is doing, how long the work, phase or stop under way has
lasted, and where each source stands (:class:`twin.data.state.LineState`).

Known limits: the events do not say which server of a station took a part, so in-process
parts are given to the busy units of their station in order (exact with one server per
station); a tank's composition is its recorded level split in the proportions of all that
entered it (exact when what entered had one composition).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.state import (
    LineState,
    PartState,
    SourceState,
    StationState,
    StopState,
    phase_names,
)
from twin.data.state import UnitState as US

STOPS = ("down", "off", "maintenance")
"""States that stop a unit (its activity goes on underneath)."""
GONE = ("exit", "scrap", "consumed")
"""Last events of parts no longer in the line."""
ADDS = ("input", "transformation")
"""Flow kinds that add to a batch's material (the others take from it)."""


def state_from_tables(line: S.LineSpec, tables: dict[str, pd.DataFrame], t: float,
                      provenance: dict[str, Any] | None = None) -> LineState:
    """The state of ``line`` at ``t`` [s] from recorded ``tables`` (every event at ``t``
    itself has happened)."""
    tables = _until(tables, t)
    ev = tables["events"]
    ev = ev[ev["part"] >= 0]
    parts = _parts(ev)
    states = tables["states"]
    stops = tables.get("stops")
    out: dict[str, StationState] = {}
    for name, spec in line.stations.items():
        here = parts[parts["station"] == name]
        if isinstance(spec, S.Source):
            out[name] = _source(spec, ev, here, name, t)
        elif isinstance(spec, S.Tank):
            out[name] = StationState(level=_tank_level(tables, ev, name, t))
        elif not isinstance(spec, S.Sink):
            units = states[states["station"] == name]
            out[name] = _equipment(line, spec, name, here, units, stops, tables, t)
    seen = int(ev["part"].max()) + 1 if len(ev) else 0
    return LineState(line=line.line.name, time=t, next_part=seen,
                     stations={k: v for k, v in out.items() if v != StationState()},
                     provenance=provenance or {})


TIME_OF = {"events": "time", "states": "start", "stops": "start", "phases": "start",
           "flows": "time", "levels": "time"}
"""The column that says when each row of a table began."""


def _until(tables: dict[str, pd.DataFrame], t: float) -> dict[str, pd.DataFrame]:
    """The rows of ``tables`` that began at or before ``t`` (known at ``t``; an interval
    under way keeps its recorded end, which is clipped at ``t`` where it is read)."""
    return {name: frame[frame[TIME_OF[name]] <= t] if name in TIME_OF else frame
            for name, frame in tables.items()}


def _parts(ev: pd.DataFrame) -> pd.DataFrame:
    """One row per part still in the line: its last event, creation time, reworks and
    where it arrived (``arrived``: time of its last arrive event)."""
    if not len(ev):
        return pd.DataFrame(columns=["part", "product", "station", "kind", "time", "created",
                                     "reworks"])
    kind = ev["kind"].astype(str)
    last = ev.groupby("part", sort=True).tail(1).set_index("part")
    created = ev[kind == "created"].groupby("part")["time"].min()
    reworks = ev[kind == "rework"].groupby("part").size()
    frame = pd.DataFrame({
        "part": last.index.to_numpy(), "product": last["product"].astype(str).to_numpy(),
        "station": last["station"].astype(str).to_numpy(),
        "kind": last["kind"].astype(str).to_numpy(), "time": last["time"].to_numpy(),
        "created": created.reindex(last.index).fillna(0.0).to_numpy(),
        "reworks": reworks.reindex(last.index).fillna(0).astype(int).to_numpy()})
    return frame[~frame["kind"].isin(GONE)].reset_index(drop=True)


def _part(row: Any, arrived: bool = False) -> PartState:
    return PartState(id=int(row.part), product=str(row.product), created=float(row.created),
                     arrived=float(row.time) if arrived else None, reworks=int(row.reworks))


def _source(spec: S.Source, ev: pd.DataFrame, here: pd.DataFrame, name: str,
            t: float) -> StationState:
    at = ev[(ev["station"] == name)]
    kinds = at["kind"].astype(str)
    made = int((kinds == "created").sum())
    arrivals = at[kinds.isin(["created", "lost"])]["time"]
    since = None
    if spec.interarrival is not None:
        since = t - (float(arrivals.max()) if len(arrivals) else 0.0)
    waiting = [_part(r) for r in here[here["kind"] == "created"].itertuples()]
    if not made and not waiting and since is None:
        return StationState()
    return StationState(source=SourceState(made=made, since_arrival=since, waiting=waiting))


def _tank_level(tables: dict[str, pd.DataFrame], ev: pd.DataFrame, name: str,
                t: float) -> dict[str, float]:
    """A tank's contents at ``t`` [kg per species]: its recorded level, in the proportions
    of what entered it (initial contents and the batches emptied into it)."""
    levels = tables.get("levels")
    if levels is None:
        return {}
    rows = levels[levels["station"] == name]
    total = float(rows["kg"].iloc[-1]) if len(rows) else 0.0
    flows = tables["flows"]
    consumed = ev[(ev["station"] == name) & (ev["kind"] == "consumed")]["part"]
    entered = flows[((flows["station"] == name) & (flows["part"] == -1))
                    | flows["part"].isin(consumed)]
    mix = _signed(entered)
    whole = sum(mix.values())
    return {sp: total * kg / whole for sp, kg in mix.items()} if whole > 0 else {}


def _signed(flows: pd.DataFrame) -> dict[str, float]:
    """kg per species that ``flows`` leave in a batch (inputs and transformations add)."""
    sign = np.where(flows["kind"].isin(ADDS), 1.0, -1.0)
    kg = pd.Series(sign * flows["kg"].to_numpy(), index=flows["species"].astype(str))
    out = kg.groupby(level=0).sum()
    return {str(k): max(float(v), 0.0) for k, v in out.items() if abs(v) > 1e-12}


def _equipment(line: S.LineSpec, spec: Any, name: str, here: pd.DataFrame,
               units: pd.DataFrame, stops: pd.DataFrame | None,
               tables: dict[str, pd.DataFrame], t: float) -> StationState:
    buffer = [_part(r, True) for r in here[here["kind"] == "arrive"].sort_values(
        "time", kind="stable").itertuples()]
    started = here[here["kind"] == "start"].sort_values("time", kind="stable")
    finished = here[here["kind"].isin(["end", "rework"])].sort_values("time", kind="stable")
    jobs = [list(g.itertuples()) for _, g in started.groupby("time", sort=True)] \
        if isinstance(spec, S.Batch) else [[r] for r in started.itertuples()]
    done = [[r] for r in finished.itertuples()]
    out = []
    for server in range(spec.servers):
        rows = units[units["server"] == server]
        out.append(_unit(spec, server, rows, stops, t))
    acts = [act for _, act in out]
    busy = [i for i, act in enumerate(acts) if act in ("producing", "setup", "waiting")]
    blocked = [i for i, act in enumerate(acts) if act == "blocked"]
    free = [i for i, act in enumerate(acts) if i not in busy and i not in blocked]
    result = [u for u, _ in out]
    taken: set[int] = set()

    def pick(order: list[int]) -> int:
        for i in order:
            if i not in taken:
                taken.add(i)
                return i
        raise ValueError(f"station {name!r} holds more jobs at t = {t:g} s than its "
                         f"{spec.servers} server(s)")

    for job in jobs:
        i = pick(busy + free + blocked)
        result[i] = _in_process(line, spec, name, result[i], job, units, tables, t)
    for job in done:
        i = pick(blocked + free + busy)
        to = (spec.rework_to if job[0].kind == "rework" else None)
        result[i] = result[i].model_copy(update={
            "parts": [_part(r) for r in job], "finished": True, "to": to})
    for i in busy:  # setting up or waiting for an operator: parts taken, not yet started
        if i in taken or not buffer or isinstance(spec, S.Process):
            continue
        size = getattr(spec, "batch_size", 1)
        held = [p.model_copy(update={"arrived": None}) for p in buffer[:size]]
        buffer = buffer[size:]
        rows = units[units["server"] == i]
        result[i] = result[i].model_copy(update={
            "parts": held, "elapsed": _setup_time(rows, t) if acts[i] == "setup" else 0.0})
    if getattr(spec, "setup_time", None) is not None:  # a product change needs a setup
        ev = tables["events"]
        starts = ev[(ev["station"] == name) & (ev["kind"] == "start")]
        last = str(starts["product"].iloc[-1]) if len(starts) else None
        result = [u.model_copy(update={"last_product": u.parts[0].product if u.parts
                                       and i in taken else last})
                  for i, u in enumerate(result)]
    keep = [u for u in result if u != US(server=u.server)]
    return StationState(buffer=buffer, units=keep)


def _unit(spec: Any, server: int, rows: pd.DataFrame, stops: pd.DataFrame | None,
          t: float) -> tuple[US, str]:
    """One unit at ``t``: its state (and stop), and its activity under any stop."""
    if not len(rows):
        return US(server=server), "idle"
    now = rows.iloc[-1]
    state, since = str(now["state"]), float(now["start"])
    acts = rows[~rows["state"].astype(str).isin(STOPS)]
    activity = str(acts["state"].iloc[-1]) if len(acts) else "idle"
    stop = None
    if state in ("down", "maintenance") and stops is not None:
        mine = stops[(stops["station"] == rows["station"].iloc[0])
                     & (stops["server"] == server)
                     & (stops["kind"] == ("failure" if state == "down" else "maintenance"))]
        if len(mine):
            s = mine.iloc[-1]
            elapsed, duration = t - float(s["start"]), float(s["duration"])
            stop = StopState(kind=str(s["kind"]), mode=str(s["mode"]) if state == "down"
                             else "", elapsed=elapsed,
                             remaining=max(duration - elapsed, 0.0)
                             if np.isfinite(duration) else None)  # plant data: not known
    ages = {}
    for f in spec.failures:
        ended = None
        if stops is not None:
            prior = stops[(stops["station"] == rows["station"].iloc[0])
                          & (stops["server"] == server) & (stops["mode"] == f.name)
                          & (stops["start"] + stops["duration"] <= t)]
            if len(prior):
                ended = float((prior["start"] + prior["duration"]).max())
        origin = 0.0 if ended is None else ended
        ages[f.name] = (_time_in(rows, ("producing",), origin, t) if f.basis == "operating"
                        else t - origin)
    unit = US(server=server, state=state, since=since, stop=stop, ages=ages)
    return unit, activity


def _setup_time(rows: pd.DataFrame, t: float) -> float:
    """Setup time [s] of the setup under way at ``t`` (since the unit last did something
    else; stops not counted)."""
    other = rows[~rows["state"].astype(str).isin(("setup", *STOPS))]
    began = float(other["end"].iloc[-1]) if len(other) else 0.0
    return _time_in(rows, ("setup",), began, t)


def _time_in(rows: pd.DataFrame, states: tuple[str, ...], a: float, b: float) -> float:
    """Time [s] the unit of ``rows`` spent in ``states`` within ``[a, b]``."""
    sel = rows[rows["state"].astype(str).isin(states)]
    lo = np.maximum(sel["start"].to_numpy(dtype=float), a)
    hi = np.minimum(sel["end"].to_numpy(dtype=float), b)
    return float(np.clip(hi - lo, 0.0, None).sum())


def _in_process(line: S.LineSpec, spec: Any, name: str, unit: US, job: list[Any],
                units: pd.DataFrame, tables: dict[str, pd.DataFrame], t: float) -> US:
    """``unit`` working on ``job`` (parts started at its time): elapsed work time, and for a
    process unit the phase, composition and temperature of the batch."""
    rows = units[units["server"] == unit.server]
    begun = float(job[0].time)
    if not isinstance(spec, S.Process):
        return unit.model_copy(update={
            "parts": [_part(r) for r in job],
            "elapsed": _time_in(rows, ("producing",), begun, t)})
    row = job[0]
    recipe = (spec.rework_for if row.reworks else spec.recipe_for)(str(row.product))
    ph = tables["phases"]
    mine = ph[(ph["part"] == row.part) & (ph["station"].astype(str) == name)
              & (ph["start"] >= begun)]
    over = mine[mine["end"] <= t]
    index = min(len(over), len(recipe) - 1)
    # the phase under way began when it was recorded to, else when the last one ended (a
    # plant's batch record may hold a phase only once it is over)
    phase_start = (float(mine["start"].iloc[-1]) if len(mine) > len(over) else
                   float(over["end"].max()) if len(over) else begun)
    elapsed = _time_in(rows, ("producing", "setup"), phase_start, t)
    flows = tables["flows"]
    composition = _signed(flows[flows["part"] == row.part])
    done = ph[(ph["part"] == row.part) & (ph["end"] <= t)]
    temperature = (float(done["temperature_K"].iloc[-1])
                   if len(done) and "temperature_K" in done else None)
    part = _part(row).model_copy(update={"composition": composition,
                                         "temperature": temperature})
    return unit.model_copy(update={"parts": [part], "elapsed": elapsed,
                                   "phase": phase_names(recipe)[index],
                                   "phase_index": index})
