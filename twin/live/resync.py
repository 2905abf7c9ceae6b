"""The shadow twin's re-synchronisation: the plant's state rebuilt from what the shadow has
received, and forecasts made from it.

On the plant events named in :attr:`ResyncSettings.on` (batch starts and completions by
default; at most one re-sync per ``min_gap``) and every ``period`` of plant time, the shadow
rebuilds a model state from the plant's event log and its last measured batch temperatures
and tank levels (:func:`twin.pilotdata.plant_state.state_from_pilot`, as of that moment),
restarts the twin from it in replications (:func:`twin.orchestration.forecast.forecast`)
and keeps what they say: the end time of each batch in process, the good output by the end
of the shift and of the day, and the alarms that may come, each with its prediction
interval. The rows are the ``forecasts`` table of the shadow's run folder (declared in
:mod:`twin.observation.schema`), on the shadow's clock (seconds since its origin).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from twin.data import spec as S
from twin.live.readings import PlantEvent, Reading
from twin.observation import schema
from twin.orchestration.forecast import Forecast, forecast, interval_rank
from twin.pilotdata.plant_state import state_from_pilot

FORECASTS = schema.names("forecasts")
"""Columns of the forecast table (declared in :mod:`twin.observation.schema`)."""
MEASURED_KINDS = ("temperature", "tank")
"""Signals a state takes as measured (batch temperatures, tank contents)."""
PLANT_EVENTS = ("release", "start", "complete")

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResyncSettings:
    """When the shadow re-synchronises and how it forecasts.

    Attributes
    ----------
    period
        Plant time between two re-syncs [s] (``None``: on events only).
    on
        Plant events that trigger a re-sync (``release``, ``start``, ``complete``).
    min_gap
        Shortest plant time between two re-syncs triggered by events [s].
    replications
        Replications of each forecast.
    level
        Coverage of the prediction intervals (with ``replications``, see
        :func:`twin.orchestration.forecast.interval_rank`).
    horizon
        How far each forecast looks [s] (``None``: to the end of the day).
    seed
        First seed of the replications.
    """

    period: float | None = 3600.0
    on: tuple[str, ...] = ("start", "complete")
    min_gap: float = 600.0
    replications: int = 9
    level: float = 0.8
    horizon: float | None = None
    seed: int = 1

    def __post_init__(self) -> None:
        problems = []
        if self.period is not None and not self.period > 0:
            problems.append(f"the re-sync period must be positive, not {self.period}")
        unknown = sorted(set(self.on) - set(PLANT_EVENTS))
        if unknown:
            problems.append(f"re-sync events {unknown} are not plant events "
                            f"({', '.join(PLANT_EVENTS)})")
        if not self.min_gap >= 0:
            problems.append(f"min_gap must not be negative, not {self.min_gap}")
        if self.horizon is not None and not self.horizon > 0:
            problems.append(f"the forecast horizon must be positive, not {self.horizon}")
        try:
            interval_rank(self.replications, self.level)
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))


@dataclass
class Resync:
    """The plant record a shadow keeps for re-syncing, and the forecasts made so far."""

    line: S.LineSpec
    settings: ResyncSettings
    events: list[dict[str, Any]] = field(default_factory=list)
    measured: dict[str, tuple[float, float]] = field(default_factory=dict)  # last (t, SI)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    count: int = 0  # forecasts made
    failures: list[dict[str, Any]] = field(default_factory=list)
    last: float = -math.inf  # plant time of the last re-sync [s since the epoch]

    def see(self, item: Reading | PlantEvent) -> bool:
        """Record one item the shadow used; True if a re-sync is due now."""
        s = self.settings
        if isinstance(item, PlantEvent):
            self.events.append({"time": pd.Timestamp(item.time, unit="s", tz="UTC"),
                                "id": item.id, "product": item.product,
                                "station": item.station, "event": item.event,
                                "outcome": item.outcome})
            if item.event in ("start", "complete"):  # the unit's last batch temperature
                self.measured.pop(f"temperature.{item.station}", None)  # is not this one's
            if item.event in s.on and item.time - self.last >= s.min_gap:
                return True
        elif item.signal.partition(".")[0] in MEASURED_KINDS:
            self.measured[item.signal] = (item.time, item.value)
        return bool(self.events) and s.period is not None and item.time - self.last >= s.period

    def sync(self, t: float, origin: float) -> Forecast | None:
        """Re-sync at plant time ``t`` [s since the epoch] and forecast; the rows are kept
        on the clock of the shadow whose time 0 is ``origin``. A state the plant record
        cannot give (or a forecast that fails) is counted in :attr:`failures` and logged,
        and the shadow goes on."""
        self.last = t
        at = pd.Timestamp(t, unit="s", tz="UTC")
        measured = pd.DataFrame(
            [{"time": pd.Timestamp(x, unit="s", tz="UTC"), "signal": sig, "value_si": v}
             for sig, (x, v) in self.measured.items()],
            columns=["time", "signal", "value_si"])
        s = self.settings
        try:
            state = state_from_pilot(self.line, at, events=pd.DataFrame(self.events),
                                     timeseries=measured)
            out = forecast(self.line, state, replications=s.replications,
                           horizon=s.horizon, seed=s.seed,
                           level=s.level)
        except (ValueError, RuntimeError) as exc:
            self.failures.append({"time": t - origin, "error": str(exc)})
            _log.warning("shadow re-sync at %s failed: %s", at.isoformat(), exc)
            return None
        self.count += 1
        offset = pd.Timestamp(state.origin).timestamp() - origin  # run time -> shadow time
        names = {p.id: p.name for st in state.stations.values() for u in st.units
                 for p in u.parts}
        now = t - origin
        for r in out.batches.itertuples():
            self.rows.append((now, "batch_end", names.get(r.part) or f"part {r.part}",
                              r.station, math.nan, r.low + offset, r.median + offset,
                              r.high + offset, r.p_within))
        for r in out.output.itertuples():
            self.rows.append((now, "output", r.horizon, "", r.until + offset, r.low,
                              r.median, r.high, math.nan))
        for r in out.alarms.itertuples():
            self.rows.append((now, "alarm", r.alarm, "", math.nan, r.low + offset,
                              r.median + offset, r.high + offset, r.probability))
        return out

    def table(self) -> pd.DataFrame:
        """The ``forecasts`` table so far."""
        frame = pd.DataFrame(self.rows, columns=list(FORECASTS))
        for col in ("time", "until", "low", "median", "high", "p"):
            frame[col] = frame[col].astype(float)
        for col in ("kind", "item", "station"):
            frame[col] = frame[col].astype(str)
        return frame

    def describe(self) -> dict[str, Any]:
        """The re-sync settings and counts for the shadow's provenance."""
        return {**asdict(self.settings), "forecasts": self.count,
                "failures": self.failures[:20], "failed": len(self.failures)}
