"""What a shadow twin serves: for each monitored signal the plant's measured value, the
twin's prediction, the residual, the Kalman estimate, the detector statistic and its limit
and the residual alarm's state; and the latest forecast from the plant's state (the batch
in process at each unit and when it ends, the good output by the end of the shift and of
the day, the next alarm).

:func:`shadow_points` declares the points (one declaration for the OPC UA address space
and the MQTT topics, as :func:`twin.live.points.line_points` does for a running line);
:class:`ShadowValues` reads what the shadow has added since the last look (its residual
rows, alarm states and forecast rows, by cursor) and says which points changed, at which
time [s since the shadow's origin]. Values are shown as people read them
(:func:`twin.data.alarms.display_of`: degC, per hour, ...; a residual is a difference, so
a temperature residual is in K); forecast times in seconds since the shadow's origin,
outputs in parts.
"""

from __future__ import annotations

import math
from typing import Any

from twin.data import spec as S
from twin.data.alarms import display_of, signal_tags
from twin.live.points import Point
from twin.live.shadow import ShadowTwin

SHADOW_FOLDER = "Shadow"
"""Folder of the monitored signals (one folder per signal)."""
FORECASTS_FOLDER = "Forecasts"
"""Folder of the latest forecast."""
HORIZONS = {"end of shift": "end_of_shift", "end of day": "end_of_day"}
"""Output horizons of a forecast and their folder names."""
_RESIDUAL_COLUMNS = ("measured", "predicted", "residual", "sigma", "statistic", "limit",
                     "alarm", "estimate")


def _dimension(line: S.LineSpec, signal: str) -> str:
    if signal.startswith("kpi."):
        return {"kpi.throughput": "rate", "kpi.yield": "dimensionless",
                "kpi.lead_time": "time"}.get(signal, "dimensionless")
    return signal_tags(line).get(signal, "dimensionless")


def _signal_points(line: S.LineSpec, signal: str) -> list[Point]:
    unit = display_of(_dimension(line, signal))[2]
    diff = "K" if unit == "degC" else unit
    base = (SHADOW_FOLDER, signal)
    src = f"shadow:{signal}"
    return [
        Point((*base, "measured"), "float", unit, f"{signal} as the plant measured it",
              f"{src}:measured"),
        Point((*base, "predicted"), "float", unit, f"{signal} as the twin predicts it",
              f"{src}:predicted"),
        Point((*base, "residual"), "float", diff, "measured - predicted", f"{src}:residual"),
        Point((*base, "estimate"), "float", unit, "Kalman estimate of the true value (NaN "
              "where none)", f"{src}:estimate"),
        Point((*base, "statistic"), "float", "", "detector statistic [standard deviations "
              "of the residual]", f"{src}:statistic"),
        Point((*base, "limit"), "float", "", "detector limit [standard deviations]",
              f"{src}:limit"),
        Point((*base, "alarm"), "str", "", "ISA-18.2 state of the residual alarm (normal, "
              "unack, ack, rtn_unack, shelved)", f"{src}:alarm"),
    ]


def shadow_points(shadow: ShadowTwin) -> list[Point]:
    """Every point a server of ``shadow`` holds: its clock, each monitored signal, and the
    latest forecast (when it re-syncs)."""
    line = shadow.line
    points = [Point(("clock",), "float", "s", "plant time of the last item the shadow used, "
                    "since its origin", "shadow:clock")]
    for signal in sorted(shadow.tracks):
        points += _signal_points(line, signal)
    if shadow.resync is None:
        return points
    fc = FORECASTS_FOLDER
    points.append(Point((fc, "made_at"), "float", "s", "when the latest forecast was made "
                        "(since the origin)", "forecast:made_at"))
    for name, st in line.stations.items():
        if not isinstance(st, S.Batch | S.Process):
            continue
        src = f"forecast:{name}"
        points.append(Point((fc, name, "batch"), "str", "", f"the batch in process at {name}"
                            " (the plant's lot id; the first to end)", f"{src}:batch"))
        for q in ("low", "median", "high"):
            points.append(Point((fc, name, f"end_{q}"), "float", "s", f"{q} of its forecast "
                                "end (since the origin; inf: after the horizon)",
                                f"{src}:end_{q}"))
    for label, folder in HORIZONS.items():
        for q in ("low", "median", "high"):
            points.append(Point((fc, folder, q), "float", "", f"{q} of the good output "
                                f"forecast by the {label} [parts]",
                                f"forecast:{folder}:{q}"))
    points += [Point((fc, "next_alarm"), "str", "", "the alarm forecast to come first (the "
                     "earliest median activation; '' if none within the horizon)",
                     "forecast:next_alarm"),
               Point((fc, "next_alarm_probability"), "float", "", "the share of replications "
                     "in which it activates within the horizon",
                     "forecast:next_alarm_probability")]
    return points


class ShadowValues:
    """The shadow's points as it goes (see the module docstring)."""

    def __init__(self, shadow: ShadowTwin) -> None:
        self.shadow = shadow
        self._rows = 0  # residual rows read
        self._forecasts = 0  # forecast rows read
        self._alarms: dict[str, str] = {}  # last state sent, by alarm name
        self._names = {t.signal: t.alarm_spec()[0] for t in shadow.tracks.values()}
        self._scale = {s: display_of(_dimension(shadow.line, s)) for s in shadow.tracks}

    def update(self) -> dict[str, tuple[float, Any]]:
        """The points that changed since the last call: ``{source: (time [s since the
        origin], value)}``."""
        sh = self.shadow
        if math.isnan(sh.origin):
            return {}  # nothing used yet: no clock to put values on
        changed: dict[str, tuple[float, Any]] = {}
        rows = sh.rows[self._rows:]
        self._rows += len(rows)
        for row in rows:
            t, signal = float(row[0]), str(row[1])
            values = dict(zip(_RESIDUAL_COLUMNS, row[2:], strict=True))
            scale, offset, _ = self._scale[signal]
            for col in ("measured", "predicted", "estimate"):
                changed[f"shadow:{signal}:{col}"] = (t, float(values[col]) * scale + offset)
            changed[f"shadow:{signal}:residual"] = (t, float(values["residual"]) * scale)
            for col in ("statistic", "limit"):
                changed[f"shadow:{signal}:{col}"] = (t, float(values[col]))
        now = sh.last_time - sh.origin
        for signal, name in self._names.items():
            alarm = sh.monitor.alarms.get(name)
            if alarm is not None and self._alarms.get(name) != alarm.state:
                self._alarms[name] = alarm.state
                changed[f"shadow:{signal}:alarm"] = (alarm.since, alarm.state)
        if rows or changed:
            changed["shadow:clock"] = (now, now)
        if sh.resync is not None:
            changed.update(self._forecast())
        return changed

    def _forecast(self) -> dict[str, tuple[float, Any]]:
        """The points of the latest forecast, if a new one was made."""
        rs = self.shadow.resync
        assert rs is not None
        if len(rs.rows) == self._forecasts:
            return {}
        self._forecasts = len(rs.rows)
        made = rs.rows[-1][0]
        latest = [r for r in rs.rows if r[0] == made]
        out: dict[str, tuple[float, Any]] = {"forecast:made_at": (made, made)}
        first: dict[str, tuple[Any, ...]] = {}
        for r in latest:
            if r[1] == "batch_end" and (r[3] not in first or r[6] < first[r[3]][6]):
                first[r[3]] = r
        for name, st in self.shadow.line.stations.items():
            if not isinstance(st, S.Batch | S.Process):
                continue
            r = first.get(name)
            out[f"forecast:{name}:batch"] = (made, r[2] if r else "")
            for q, i in (("low", 5), ("median", 6), ("high", 7)):
                out[f"forecast:{name}:end_{q}"] = (made, r[i] if r else math.nan)
        for r in latest:
            folder = HORIZONS.get(r[2]) if r[1] == "output" else None
            if folder is not None:
                for q, i in (("low", 5), ("median", 6), ("high", 7)):
                    out[f"forecast:{folder}:{q}"] = (made, r[i])
        alarms = [r for r in latest if r[1] == "alarm"]
        nxt = min(alarms, key=lambda r: r[6]) if alarms else None
        out["forecast:next_alarm"] = (made, nxt[2] if nxt else "")
        out["forecast:next_alarm_probability"] = (made, nxt[8] if nxt else 0.0)
        return out
