"""What a twin serves: the points of a line (its signals, station states, KPIs and alarms)
and their values as a run advances.

One declaration for every server of the twin (the OPC UA address space, the MQTT topics):
:func:`line_points` lists the :class:`Point` s of a line, each with its browse path, data
kind, display unit and description; :class:`PointValues` reads what a run recorded (the
rows of :meth:`twin.orchestration.live.LiveRun.since`) and says which points changed, at
which simulated time.

Values are shown as people read them (:data:`twin.data.alarms.DISPLAY`: degC, kW, m3/h,
kg/h, per hour, %, h; counts as numbers); catalogue KPIs in their catalogue unit
(:mod:`twin.observation.catalogue`). Signals are the engine's own (a run that serves them
watches every tag of :func:`twin.data.alarms.signal_tags`), so a served value equals the
``signals`` table of the run folder.

KPIs while the run goes are those the parts and events give at once, over the observation
window so far (``[warmup, now]``, as :func:`twin.observation.kpis.line_kpis` computes them
over the whole window): :data:`RUNNING_KPIS`. When the run ends every KPI of the catalogue
that applies to the line takes its final value from the run's KPIs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from twin.data import spec as S
from twin.data.alarms import display_of, signal_tags, tag_kind
from twin.fit.runlogs import unit_name
from twin.observation import catalogue
from twin.observation.alarms import NORMAL, STANDING_STATES, UNACK
from twin.observation.recorder import EVENTS, FATES, STATES

Kind = Literal["float", "int", "str", "bool"]

KPIS_FOLDER = "KPIs"
"""Folder of the line's KPIs (catalogue keys and rolling ``kpi.*`` signals)."""
ALARMS_FOLDER = "Alarms"
"""Folder of the line's alarms (one folder per alarm)."""
LINE_FOLDERS = {"utility": "Utilities", "emission": "Emissions"}
"""Folders of line-wide signals of these kinds; ``wip`` sits in the line folder itself."""
STATION_SIGNALS = {"buffer": "buffer", "tank": "contents", "temperature": "temperature"}
"""Station signals by tag kind, with the name of their point in the station's folder."""

RUNNING_KPIS = ("window_h", "good_units", "scrap_units", "rework_events", "lost_arrivals",
                "throughput_per_h", "quality_ratio", "scrap_ratio", "first_pass_yield",
                "lead_time_mean_h")
"""Catalogue KPIs updated while a run goes (over ``[warmup, now]``)."""


@dataclass(frozen=True)
class Point:
    """One served value.

    ``path``: browse path under the line's folder (``("cnc", "buffer")``, ``("KPIs",
    "good_units")``, ``("Alarms", "hot", "state")``); ``kind``: value type; ``unit``:
    display unit (``""``: none); ``description``: what it is, in words; ``source``: where its
    value comes from (``signal:<tag>``, ``state:<station>:<server>``, ``done:<station>``,
    ``kpi:<key>``, ``alarm:<name>:<field>``, ``clock``).
    """

    path: tuple[str, ...]
    kind: Kind
    unit: str
    description: str
    source: str

    @property
    def key(self) -> str:
        """The path as one dotted name (``cnc.buffer``)."""
        return ".".join(self.path)


def _signal_point(tag: str, dimension: str, kpi_window: float) -> Point:
    kind = tag_kind(tag)
    name = tag.partition(".")[2]
    unit = display_of(dimension)[2]
    if kind == "kpi":
        what = {"throughput": "good parts per hour", "yield": "good / (good + scrapped)",
                "lead_time": "mean lead time of the good parts"}[name]
        return Point((KPIS_FOLDER, name), "float", unit,
                     f"{what} over the trailing {kpi_window / 3600.0:g} h (rolling)",
                     f"signal:{tag}")
    if kind == "wip":
        return Point(("wip",), "float", "", "parts in the line", f"signal:{tag}")
    if kind in LINE_FOLDERS:
        what = "load of the utility" if kind == "utility" else "emission rate"
        return Point((LINE_FOLDERS[kind], name), "float", unit, f"{what} {name}",
                     f"signal:{tag}")
    what = {"buffer": "parts waiting in the input buffer", "tank": "contents of the tank",
            "temperature": "batch temperature"}[kind or ""]
    return Point((name, STATION_SIGNALS[kind or ""]), "float", unit, what, f"signal:{tag}")


def line_points(line: S.LineSpec, kpi_window: float = 3600.0) -> list[Point]:
    """Every point a twin of ``line`` serves, stations first, then line signals, KPIs and
    alarms. ``kpi_window``: trailing window of the rolling KPIs [s] (for descriptions)."""
    points = [Point(("clock",), "float", "s", "simulated time since the run's start",
                    "clock")]
    for name, st in line.stations.items():
        if not isinstance(st, S.Equipment):
            continue
        for server in range(st.servers):
            label = "state" if st.servers == 1 else f"state_{server + 1}"
            points.append(Point((name, label), "str", "", f"state of {unit_name(name, server)}"
                                f" ({', '.join(STATES)})", f"state:{name}:{server}"))
        points.append(Point((name, "completed"), "int", "", "parts or batches completed "
                                "here since the start", f"done:{name}"))
    signals = [_signal_point(t, d, kpi_window) for t, d in signal_tags(line).items()]
    points += sorted((p for p in signals if len(p.path) == 2 and p.path[0] in line.stations),
                     key=lambda p: list(line.stations).index(p.path[0]))
    points += [p for p in signals if p.path[0] not in line.stations]
    kind = catalogue.line_kind(bool(line.species))
    for k in catalogue.kpis("line", kind=kind, alarms=bool(line.alarms),
                            costs=line.costs is not None):
        points.append(Point((KPIS_FOLDER, k.key), "str" if k.fmt == "" else (
            "int" if k.fmt == "d" else "float"), k.unit, k.en, f"kpi:{k.key}"))
    for name, alarm in line.alarms.items():
        unit = display_of(alarm.dimension)[2]
        base = (ALARMS_FOLDER, name)
        about = alarm.description or f"{alarm.direction} alarm on {alarm.tag}"
        points += [
            Point((*base, "state"), "str", "", f"{about}: ISA-18.2 state (normal, unack, ack,"
                  " rtn_unack, shelved)", f"alarm:{name}:state"),
            Point((*base, "active"), "bool", "", f"{about}: condition active",
                  f"alarm:{name}:active"),
            Point((*base, "acknowledged"), "bool", "", f"{about}: acknowledged",
                  f"alarm:{name}:acknowledged"),
            Point((*base, "value"), "float", unit, f"{alarm.tag} when it last changed state",
                  f"alarm:{name}:value"),
            Point((*base, "limit"), "float", unit, f"{alarm.direction} limit",
                  f"alarm:{name}:limit"),
            Point((*base, "priority"), "str", "", "priority (low, medium, high, urgent)",
                  f"alarm:{name}:priority"),
        ]
    return points


class PointValues:
    """The current value of every point of a run, updated from its recorded rows.

    Parameters
    ----------
    line
        The line (the run's spec).
    recorder
        The run's recorder: its registries (stations, units, products) name the codes in
        the rows.
    warmup
        Start of the observation window [s] (the running KPIs count from there).
    """

    def __init__(self, line: S.LineSpec, recorder: Any, warmup: float = 0.0,
                 kpi_window: float = 3600.0) -> None:
        self.line = line
        self.recorder = recorder
        self.warmup = float(warmup)
        self.points = line_points(line, kpi_window)
        self.by_source = {p.source: p for p in self.points}
        self.values: dict[str, Any] = {}
        self.now = 0.0
        self._scale = {f"signal:{t}": display_of(d) for t, d in signal_tags(line).items()}
        self._done: dict[str, int] = {}
        self._good = self._scrap = self._rework = self._lost = self._first_pass = 0
        self._lead_sum = 0.0
        self._first = True
        for name, alarm in line.alarms.items():
            scale, offset, _ = display_of(alarm.dimension)
            self.values.update({
                f"alarm:{name}:state": NORMAL, f"alarm:{name}:active": False,
                f"alarm:{name}:acknowledged": True,
                f"alarm:{name}:limit": alarm.limit * scale + offset,
                f"alarm:{name}:priority": alarm.priority})

    def update(self, records: Mapping[str, Mapping[str, list[Any]]], now: float
               ) -> dict[str, tuple[float, Any]]:
        """Take the new rows (``LiveRun.since`` records) recorded up to ``now`` [s]; returns
        the points that changed: ``{source: (time [s], value)}`` with the time each value
        took effect (signals and states: their own time; KPIs: ``now``)."""
        changed: dict[str, tuple[float, Any]] = {}
        if self._first:  # the values known before any row (alarms: normal, limits)
            changed.update((k, (0.0, v)) for k, v in self.values.items())
            self._first = False
        self.now = float(now)
        self._put(changed, "clock", self.now, self.now)
        sig = records.get("signals")
        if sig:
            for t, tag, value in zip(sig["time"], sig["tag"], sig["value"], strict=True):
                source = f"signal:{tag}"
                if source in self._scale:
                    scale, offset, _ = self._scale[source]
                    self._put(changed, source, t, value * scale + offset)
        st = records.get("states")
        if st:
            units, stations = self.recorder.units, self.recorder.stations
            for t, unit, state in zip(st["time"], st["unit"], st["state"], strict=True):
                station, server = units[unit]
                self._put(changed, f"state:{stations[station]}:{server}", t, STATES[state])
        self._events(records.get("events"), changed)
        self._parts(records.get("parts"))
        al = records.get("alarms")
        if al:
            self._alarms(al, changed)
        for key, value in self.running_kpis().items():
            self._put(changed, f"kpi:{key}", self.now, value)
        return changed

    def finish(self, kpis: Mapping[str, Any]) -> dict[str, tuple[float, Any]]:
        """The run ended with ``kpis`` (its KPIs): every KPI point takes its final value."""
        changed: dict[str, tuple[float, Any]] = {}
        for key, value in kpis.items():
            if f"kpi:{key}" in self.by_source:
                self._put(changed, f"kpi:{key}", self.now, value)
        return changed

    def running_kpis(self) -> dict[str, float | int]:
        """The KPIs of :data:`RUNNING_KPIS` over ``[warmup, now]`` (empty before warm-up
        ends). Same definitions as :func:`twin.observation.kpis.line_kpis`."""
        hours = (self.now - self.warmup) / 3600.0
        if hours <= 0:
            return {}
        gq, sq = self._good, self._scrap
        pq = gq + sq
        nan = math.nan
        return {"window_h": hours, "good_units": gq, "scrap_units": sq,
                "rework_events": self._rework, "lost_arrivals": self._lost,
                "throughput_per_h": gq / hours, "quality_ratio": gq / pq if pq else nan,
                "scrap_ratio": sq / pq if pq else nan,
                "first_pass_yield": self._first_pass / pq if pq else nan,
                "lead_time_mean_h": self._lead_sum / gq / 3600.0 if gq else nan}

    # ------------------------------------------------------------------ rows

    def _put(self, changed: dict[str, tuple[float, Any]], source: str, t: float,
             value: Any) -> None:
        if source not in self.by_source:
            return
        old = self.values.get(source)
        same = old == value or (isinstance(old, float) and isinstance(value, float)
                                and math.isnan(old) and math.isnan(value))
        if not same or source not in self.values:
            self.values[source] = value
            changed[source] = (float(t), value)

    def _events(self, ev: Mapping[str, list[Any]] | None,
                changed: dict[str, tuple[float, Any]]) -> None:
        if not ev:
            return
        stations = self.recorder.stations
        end, rework, lost = EVENTS.index("end"), EVENTS.index("rework"), EVENTS.index("lost")
        for t, station, kind in zip(ev["time"], ev["station"], ev["kind"], strict=True):
            if kind == end:
                name = stations[station]
                self._done[name] = self._done.get(name, 0) + 1
                self._put(changed, f"done:{name}", t, self._done[name])
            elif t >= self.warmup and kind == rework:
                self._rework += 1
            elif t >= self.warmup and kind == lost:
                self._lost += 1

    def _parts(self, parts: Mapping[str, list[Any]] | None) -> None:
        if not parts:
            return
        good, scrap = FATES.index("good"), FATES.index("scrap")
        for created, done, fate, reworks in zip(parts["created"], parts["done"],
                                                parts["fate"], parts["reworks"], strict=True):
            if done < self.warmup:
                continue
            if fate == good:
                self._good += 1
                self._lead_sum += done - created
                self._first_pass += reworks == 0
            elif fate == scrap:
                self._scrap += 1

    def _alarms(self, rows: Mapping[str, list[Any]],
                changed: dict[str, tuple[float, Any]]) -> None:
        for t, name, state, value in zip(rows["time"], rows["alarm"], rows["state"],
                                         rows["value"], strict=True):
            alarm = self.line.alarms.get(name)
            if alarm is None:
                continue
            scale, offset, _ = display_of(alarm.dimension)
            self._put(changed, f"alarm:{name}:state", t, str(state))
            self._put(changed, f"alarm:{name}:active", t, str(state) in STANDING_STATES)
            self._put(changed, f"alarm:{name}:acknowledged", t,
                      str(state) not in (UNACK, "rtn_unack"))
            self._put(changed, f"alarm:{name}:value", t, float(value) * scale + offset)

