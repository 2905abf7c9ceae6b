"""Event-sourced recording: state changes, part movements and stops, in column buffers.

Nothing here samples periodically. Equipment appends a row when its state *changes*; parts
append a row when they move. Columns are plain Python lists (the cheapest append there is)
turned into NumPy arrays and pandas frames once, by :meth:`Recorder.tables`, at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twin.observation import schema
from twin.observation.alarms import alarm_table

STATES = ("producing", "idle", "blocked", "setup", "down", "off", "maintenance", "waiting")
"""Equipment state names, indexed by state code."""
PRODUCING, IDLE, BLOCKED, SETUP, DOWN, OFF, MAINTENANCE, WAITING = range(len(STATES))

EVENTS = ("created", "arrive", "start", "end", "scrap", "rework", "consumed", "exit", "lost")
"""Part event kinds, indexed by event code (``lost``: an arrival that found the line full
and never entered; its part is -1)."""
CREATED, ARRIVE, START, END, SCRAP, REWORK, CONSUMED, EXIT, LOST = range(len(EVENTS))

FATES = ("wip", "good", "scrap", "consumed")
"""What finally happened to a part (``wip``: still in the line at the end)."""
WIP, GOOD, SCRAPPED, ASSEMBLED = range(len(FATES))


@dataclass
class Recorder:
    """Column buffers for one run. Codes index :attr:`stations`, :attr:`units` and so on."""

    stations: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    units: list[tuple[int, int]] = field(default_factory=list)  # (station code, server index)
    # state changes
    s_time: list[float] = field(default_factory=list)
    s_unit: list[int] = field(default_factory=list)
    s_state: list[int] = field(default_factory=list)
    # part events
    e_time: list[float] = field(default_factory=list)
    e_part: list[int] = field(default_factory=list)
    e_product: list[int] = field(default_factory=list)
    e_station: list[int] = field(default_factory=list)
    e_kind: list[int] = field(default_factory=list)
    # finished parts
    p_id: list[int] = field(default_factory=list)
    p_product: list[int] = field(default_factory=list)
    p_created: list[float] = field(default_factory=list)
    p_done: list[float] = field(default_factory=list)
    p_fate: list[int] = field(default_factory=list)
    p_reworks: list[int] = field(default_factory=list)
    # stops (failures and maintenance): start time, unit, kind, mode, duration [s]
    stops: list[tuple[float, int, str, str, float]] = field(default_factory=list)
    # process lines: material flows, phase records, kernel profiles, utility load changes
    species: list[str] = field(default_factory=list)
    flows: list[tuple[float, int, int, str, int, str, float]] = field(default_factory=list)
    phases: list[dict[str, object]] = field(default_factory=list)
    profiles: list[tuple[int, int, str, float, float, np.ndarray, tuple[str, ...]]] = field(
        default_factory=list)
    utility_load: list[tuple[float, str, float]] = field(default_factory=list)
    levels: list[tuple[float, int, float]] = field(default_factory=list)
    level_events: list[tuple[float, int, str, float]] = field(default_factory=list)
    # watched signals (only tags that alarms watch) and alarm transitions
    signals: list[tuple[float, str, float]] = field(default_factory=list)
    alarm_rows: list[tuple[object, ...]] = field(default_factory=list)
    #: Called with (time, tag, value) on every recorded signal change (alarm monitors).
    listeners: list[Callable[[float, str, float], None]] = field(default_factory=list)
    #: True when alarms watch this run: the tables then include ``signals`` and ``alarms``.
    monitored: bool = False
    #: True when signals are watched (by alarms or a serving twin): ``signals`` is a table.
    watching: bool = False
    last_signal: dict[str, float] = field(default_factory=dict)

    def add_station(self, name: str) -> int:
        """Register a station; returns its code."""
        self.stations.append(name)
        return len(self.stations) - 1

    def add_unit(self, station: int, server: int) -> int:
        """Register one server of a station; returns its unit code."""
        self.units.append((station, server))
        return len(self.units) - 1

    def product_code(self, name: str) -> int:
        """Code of a product, registering it on first use."""
        try:
            return self.products.index(name)
        except ValueError:
            self.products.append(name)
            return len(self.products) - 1

    def state(self, t: float, unit: int, state: int) -> None:
        """Record that ``unit`` entered ``state`` at time ``t`` [s]."""
        self.s_time.append(t)
        self.s_unit.append(unit)
        self.s_state.append(state)

    def event(self, t: float, part: int, product: int, station: int, kind: int) -> None:
        """Record a part event at time ``t`` [s] (``product``: the part's product then)."""
        self.e_time.append(t)
        self.e_part.append(part)
        self.e_product.append(product)
        self.e_station.append(station)
        self.e_kind.append(kind)

    def part_done(self, part_id: int, product: int, created: float, done: float, fate: int,
                  reworks: int) -> None:
        """Record a part leaving the line (good, scrapped or consumed by an assembly)."""
        self.p_id.append(part_id)
        self.p_product.append(product)
        self.p_created.append(created)
        self.p_done.append(done)
        self.p_fate.append(fate)
        self.p_reworks.append(reworks)

    def flow(self, t: float, part: int, station: int, phase: str, species: int, kind: str,
             kg: float) -> None:
        """Record a material flow of ``kg`` of a species (see :mod:`twin.observation.flows`)."""
        self.flows.append((t, part, station, phase, species, kind, kg))

    def phase(self, row: dict[str, object]) -> None:
        """Record one executed recipe phase (start, end, utility, heat, summary values)."""
        self.phases.append(row)

    def profile(self, part: int, station: int, phase: str, start: float, stretch: float,
                data: np.ndarray, columns: tuple[str, ...]) -> None:
        """Keep a kernel profile; its time column is shifted by ``start`` and scaled by
        ``stretch`` when the tables are built."""
        self.profiles.append((part, station, phase, start, stretch, data, columns))

    def load(self, t: float, utility: str, load: float) -> None:
        """Record that ``utility`` now carries ``load`` [W; m3/s for media]."""
        self.utility_load.append((t, utility, load))

    def level(self, t: float, station: int, kg: float) -> None:
        """Record the contents [kg] of a tank from ``t`` on (event-sourced level)."""
        self.levels.append((t, station, kg))

    def level_event(self, t: float, station: int, zone: str, kg: float) -> None:
        """Record a tank entering its ``low``, ``normal`` or ``high`` zone."""
        self.level_events.append((t, station, zone, kg))

    def signal(self, t: float, tag: str, value: float) -> None:
        """Record that signal ``tag`` has ``value`` [SI] from ``t`` on (only changes are
        kept) and tell the listeners."""
        if self.last_signal.get(tag) == value:
            return
        self.last_signal[tag] = value
        self.signals.append((t, tag, value))
        for listener in self.listeners:
            listener(t, tag, value)

    def alarm(self, row: tuple[object, ...]) -> None:
        """Record one alarm transition (see :mod:`twin.observation.alarms`)."""
        self.alarm_rows.append(row)

    def stop(self, t: float, unit: int, kind: str, mode: str, duration: float) -> None:
        """Record the start of a stop (``kind`` failure or maintenance) lasting ``duration``."""
        self.stops.append((t, unit, kind, mode, duration))

    def buffers(self) -> dict[str, tuple[list, ...] | list]:
        """The append-only record buffers, by table name (:data:`twin.observation.schema.
        RECORDED`): a tuple of column lists in the order of the table's stream columns, or
        one list of rows (tuples in that order; dicts for ``phases``; kernel profiles for
        ``profiles``). Readers slice them while the run goes (live runs)."""
        return {
            "states": (self.s_time, self.s_unit, self.s_state),
            "events": (self.e_time, self.e_part, self.e_product, self.e_station, self.e_kind),
            "parts": (self.p_id, self.p_product, self.p_created, self.p_done, self.p_fate,
                      self.p_reworks),
            "stops": self.stops, "flows": self.flows, "phases": self.phases,
            "profiles": self.profiles, "utility_load": self.utility_load,
            "levels": self.levels, "level_events": self.level_events,
            "signals": self.signals, "alarms": self.alarm_rows,
        }

    # ------------------------------------------------------------------ tables

    def tables(self, end: float) -> dict[str, pd.DataFrame]:
        """Build the run tables (pandas) once, at the end of a run at time ``end`` [s].

        Returns ``states`` (intervals per unit), ``events``, ``parts`` and ``stops``; process
        tables for process lines; ``signals`` when signals were watched and ``alarms`` when
        alarms watched the run.
        """
        station_cat = pd.CategoricalDtype(self.stations)
        product_cat = pd.CategoricalDtype(self.products)
        units = np.asarray(self.units, dtype=np.int64).reshape(-1, 2)

        t = np.asarray(self.s_time, dtype=float)
        u = np.asarray(self.s_unit, dtype=np.int64)
        s = np.asarray(self.s_state, dtype=np.int8)
        order = np.lexsort((np.arange(t.size), u))  # by unit, keeping time order
        t, u, s = t[order], u[order], s[order]
        nxt = np.empty_like(t)
        if t.size:
            nxt[:-1] = t[1:]
            nxt[-1] = end
            last = np.r_[u[1:] != u[:-1], True]
            nxt[last] = end
        states = pd.DataFrame({
            "unit": u,
            "station": pd.Categorical.from_codes(units[u, 0] if u.size else u, dtype=station_cat),
            "server": units[u, 1] if u.size else u,
            "state": pd.Categorical.from_codes(s, categories=list(STATES)),
            "start": t,
            "end": nxt,
        })
        states = states[states["end"] > states["start"]].reset_index(drop=True)

        events = pd.DataFrame({
            "time": np.asarray(self.e_time, dtype=float),
            "part": np.asarray(self.e_part, dtype=np.int64),
            "product": pd.Categorical.from_codes(
                np.asarray(self.e_product, dtype=np.int64), dtype=product_cat),
            "station": pd.Categorical.from_codes(
                np.asarray(self.e_station, dtype=np.int64), dtype=station_cat),
            "kind": pd.Categorical.from_codes(
                np.asarray(self.e_kind, dtype=np.int8), categories=list(EVENTS)),
        })
        parts = pd.DataFrame({
            "part": np.asarray(self.p_id, dtype=np.int64),
            "product": pd.Categorical.from_codes(
                np.asarray(self.p_product, dtype=np.int64), dtype=product_cat),
            "created": np.asarray(self.p_created, dtype=float),
            "done": np.asarray(self.p_done, dtype=float),
            "fate": pd.Categorical.from_codes(
                np.asarray(self.p_fate, dtype=np.int8), categories=list(FATES)),
            "reworks": np.asarray(self.p_reworks, dtype=np.int64),
        }).sort_values("part", kind="stable").reset_index(drop=True)
        stops = pd.DataFrame(self.stops, columns=list(schema.names("stops", stream=True)))
        stops["station"] = pd.Categorical.from_codes(
            units[stops["unit"].to_numpy(dtype=np.int64), 0] if len(stops) else
            np.zeros(0, dtype=np.int64), dtype=station_cat)
        stops["server"] = (units[stops["unit"].to_numpy(dtype=np.int64), 1]
                           if len(stops) else np.zeros(0, dtype=np.int64))
        out = {"states": states, "events": events, "parts": parts, "stops": stops}
        if self.species:
            out.update(self._process_tables(station_cat))
        if self.monitored or self.watching:
            signals = pd.DataFrame(self.signals, columns=list(schema.names("signals")))
            out["signals"] = signals.astype({"time": float, "tag": str, "value": float})
        if self.monitored:
            out["alarms"] = alarm_table(self.alarm_rows)
        return out

    def _process_tables(self, station_cat: pd.CategoricalDtype) -> dict[str, pd.DataFrame]:
        species_cat = pd.CategoricalDtype(self.species)
        flows = pd.DataFrame(self.flows, columns=list(schema.names("flows")))
        flows["station"] = pd.Categorical.from_codes(flows["station"].to_numpy(np.int64),
                                                     dtype=station_cat)
        flows["species"] = pd.Categorical.from_codes(flows["species"].to_numpy(np.int64),
                                                     dtype=species_cat)
        phases = pd.DataFrame(self.phases)
        if len(phases):
            phases["station"] = pd.Categorical.from_codes(
                phases["station"].to_numpy(np.int64), dtype=station_cat)
        rows = []
        for part, station, phase, start, stretch, data, columns in self.profiles:
            frame = pd.DataFrame(np.asarray(data), columns=list(columns))
            frame["time_s"] = start + frame["time_s"] * stretch
            long = frame.melt(id_vars="time_s", var_name="variable", value_name="value")
            long.insert(0, "phase", phase)
            long.insert(0, "station", self.stations[station])
            long.insert(0, "part", part)
            rows.append(long)
        profiles = (pd.concat(rows, ignore_index=True) if rows else
                    pd.DataFrame(columns=list(schema.names("profiles"))))
        load = pd.DataFrame(self.utility_load, columns=list(schema.names("utility_load")))
        out = {"flows": flows, "phases": phases, "profiles": profiles, "utility_load": load}
        if self.levels:
            for key, rows in (("levels", self.levels), ("level_events", self.level_events)):
                frame = pd.DataFrame(rows, columns=list(schema.names(key)))
                frame["station"] = pd.Categorical.from_codes(
                    frame["station"].to_numpy(np.int64), dtype=station_cat)
                out[key] = frame
        return out
