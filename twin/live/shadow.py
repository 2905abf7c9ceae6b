"""The shadow twin: the twin run beside a pilot line, its predictions compared with the
line's data, deviations raised as ISA-18.2 alarms.

:class:`ShadowTwin` takes readings and plant events from any
:class:`~twin.live.readings.Source` (or one at a time through :meth:`ShadowTwin.feed`) and
keeps, for each monitored signal, the twin's prediction, the residual (measured minus
predicted), a change detector on the standardised residual and an alarm:

- ``temperature.<station>`` of a process unit: the twin's batch trajectory
  (:func:`twin.live.predict.reference_batch`), re-synchronised at every plant ``start`` event
  of a batch there; a scalar Kalman filter (:mod:`twin.live.kalman`) estimates the batch
  temperature with that trajectory as its model, and its innovations are the residuals. The
  measurement noise's sigma is given, or estimated (moving range) from the residuals of the
  in-control window at the start (``calibrate`` seconds); no alarm is raised before.
- ``kpi.throughput`` (and ``kpi.yield``, ``kpi.lead_time`` if asked for): the KPI's value
  in each window of ``window`` seconds from the plant's events against the twin's mean per
  window; sigma: the standard deviation of the twin's window values
  (:mod:`twin.live.predict`).

Each detector is designed from the in-control average run length (``arl0``, samples between
false alarms) and the shift to detect (``shift``, standard deviations); see
:mod:`twin.live.detectors`. Its statistic feeds an alarm ``residual.<signal>`` in an
:class:`~twin.observation.alarms.AlarmMonitor` (activate when the detector signals; the chart
restarts, so the alarm returns to normal at the next sample and stays unacknowledged until an
operator acknowledges it). Residuals and alarm transitions are the ``residuals`` and
``alarms`` tables of the shadow's run folder; times are seconds since ``origin`` (the first
item's plant time unless given).

Tagged signals the twin has no prediction for, and KPIs its reference run cannot
standardise, are listed in the run's provenance as ``unmonitored``, with the reason.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.alarms import PRIORITIES, AlarmSpec, tag_kind
from twin.live.arl import SIDES
from twin.live.detectors import KINDS, Detector, sigma_estimate
from twin.live.kalman import ScalarKalman
from twin.live.predict import (
    MEAN_KINDS,
    WINDOW_KPIS,
    Trajectory,
    WindowStats,
    exit_stations,
    reference_batch,
    signal_window_stats,
    step_means,
    window_stats,
    window_value,
)
from twin.live.readings import PlantEvent, Reading, Source
from twin.live.resync import Resync, ResyncSettings
from twin.observation import runfolder, schema
from twin.observation.alarms import AlarmMonitor, alarm_summary, alarm_table
from twin.orchestration.live import LiveRun
from twin.orchestration.run import RunResult, prepare, resolve_line, spec_hash

RESIDUALS = schema.names("residuals")
"""Columns of the residual table (declared in :mod:`twin.observation.schema`)."""


@dataclass(frozen=True)
class MonitorSettings:
    """How the shadow twin monitors residuals.

    Attributes
    ----------
    detector
        ``cusum`` or ``ewma``.
    arl0
        In-control average run length [samples]: the mean number of residuals between false
        alarms of one signal (one false alarm per ``arl0 x dt`` seconds at one residual every
        ``dt`` seconds).
    shift
        Mean shift to detect quickest [standard deviations of the residual].
    side
        ``two``, ``upper`` or ``lower``.
    lam
        EWMA weight.
    priority
        ISA-18.2 priority of the residual alarms.
    window
        Window of the rolling KPIs [s]; ``None``: no KPI is monitored.
    kpis
        The rolling KPIs monitored per window (:data:`twin.live.predict.WINDOW_KPIS`); one
        the twin's reference run cannot standardise (no variation, too few windows) is
        listed as unmonitored with the reason.
    calibrate
        In-control window [s] at the start of each continuous signal from which its sigma is
        estimated (when ``sigma`` does not give it).
    sigma
        Known standard deviation of a signal's measurement noise [SI], by signal.
    q
        Process-noise intensity of the Kalman filters [SI^2 / s] (0: the batch follows the
        model exactly; the innovations are then the measurement noise).
    reorder
        How long [s of plant time] items are held to be used in time order (readings and
        events of different tags may arrive out of order; 0: as they come).
    reference
        Length of the twin's reference run [s] (after ``warmup``); default: 200 windows, at
        least one day.
    warmup
        Warm-up of the reference run [s].
    seed
        Seed of the reference run.
    """

    detector: str = "cusum"
    arl0: float = 1000.0
    shift: float = 1.0
    side: str = "two"
    lam: float = 0.1
    priority: str = "high"
    window: float | None = 3600.0
    kpis: tuple[str, ...] = ("throughput",)
    calibrate: float = 3600.0
    sigma: Mapping[str, float] = field(default_factory=dict)
    q: float = 0.0
    reorder: float = 0.0
    reference: float | None = None
    warmup: float = 0.0
    seed: int = 1

    def __post_init__(self) -> None:
        problems = []
        if self.detector not in KINDS:
            problems.append(f"detector {self.detector!r} is not one of {KINDS}")
        if self.side not in SIDES:
            problems.append(f"side {self.side!r} is not one of {SIDES}")
        if not self.arl0 > 1:
            problems.append(f"arl0 must exceed 1 sample, not {self.arl0}")
        if not self.shift > 0:
            problems.append(f"shift must be positive, not {self.shift}")
        if self.priority not in PRIORITIES:
            problems.append(f"priority {self.priority!r} is not one of {PRIORITIES}")
        if self.window is not None and not self.window > 0:
            problems.append(f"window must be positive, not {self.window}")
        unknown = [k for k in self.kpis if k not in WINDOW_KPIS]
        if unknown:
            problems.append(f"kpis {unknown} unknown (known: {', '.join(WINDOW_KPIS)})")
        bad = {k: v for k, v in self.sigma.items() if not v > 0}
        if bad:
            problems.append(f"sigma must be positive: {bad}")
        if self.q < 0 or self.calibrate < 0 or self.reorder < 0:
            problems.append("q, calibrate and reorder cannot be negative")
        if problems:
            raise ValueError("monitor settings: " + "; ".join(problems))

    def detector_for(self) -> Detector:
        """A fresh detector with these settings."""
        return Detector.design(self.detector, self.arl0, self.shift, self.side, self.lam)

    def reference_length(self) -> float:
        """Length of the reference run [s]."""
        if self.reference is not None:
            return self.reference
        return max(86400.0, 200 * (self.window or 0.0))


class _Track:
    """One monitored signal: its detector, alarm and rows."""

    def __init__(self, shadow: ShadowTwin, signal: str) -> None:
        self.shadow, self.signal = shadow, signal
        self.alarm = f"residual.{signal}"  # the tag of its alarm
        #: The alarm's name and spec when the line declares one on the tag.
        self.declared = shadow.declared.get(self.alarm)
        s = shadow.settings
        self.detector = (
            Detector.with_limit(s.detector, self.declared[1].limit, s.shift, s.side, s.lam)
            if self.declared is not None and self.declared[1].limit > 0
            else s.detector_for())

    def alarm_spec(self) -> tuple[str, AlarmSpec]:
        """The name and spec of this signal's residual alarm: the line's (its limit the
        detector's), or a ``high`` alarm of the shadow's priority named after the tag."""
        limit = self.detector.limit
        if self.declared is not None:
            name, spec = self.declared
            return name, spec.model_copy(update={"limit": limit})
        s = self.shadow.settings
        return self.alarm, AlarmSpec.model_construct(
            tag=self.alarm, limit=limit, direction="high", priority=s.priority, deadband=0.0,
            on_delay=0.0, window=None,
            description=f"{self.signal} deviates from the twin ({self.detector.kind} of the "
                        "standardised residual)")

    def emit(self, t: float, measured: float, predicted: float, sigma: float,
             z: float, estimate: float = math.nan) -> None:
        """One residual row at plant time ``t`` (standardised residual ``z``; NaN while
        calibrating) and its alarm input."""
        sh = self.shadow
        rel = t - sh.origin
        stat, alarm = (math.nan, False) if math.isnan(z) else self.detector.update(z)
        sh.rows.append((rel, self.signal, measured, predicted, measured - predicted, sigma,
                        stat, self.detector.limit, alarm, estimate))
        if not math.isnan(stat):
            sh.monitor.signal(rel, self.alarm, stat)


class _BatchTemperature(_Track):
    """``temperature.<station>``: re-synchronised on batch starts, Kalman-filtered."""

    def __init__(self, shadow: ShadowTwin, signal: str, station: str, model: Trajectory
                 ) -> None:
        super().__init__(shadow, signal)
        self.station, self.model = station, model
        self.anchor: float | None = None  # plant time of the running batch's start
        self.sigma = shadow.settings.sigma.get(signal, math.nan)
        self.calibration: list[float] = []
        self.calibrated_at: float | None = None
        self.kalman: ScalarKalman | None = None
        self.last: tuple[float, float] | None = None  # (time, model value) of the last step

    def start(self, t: float) -> None:
        self.anchor, self.last = t, None

    def complete(self) -> None:
        self.anchor, self.last = None, None

    def reading(self, t: float, y: float) -> None:
        if self.anchor is None:
            return  # no batch in the unit: the twin predicts nothing
        m = self.model(t - self.anchor)
        if math.isnan(m):
            return
        if math.isnan(self.sigma):
            self._calibrate(t, y, m)
            return
        if self.kalman is None:
            q = self.shadow.settings.q
            self.kalman = ScalarKalman(m, 0.0, q, self.sigma ** 2)
        if self.last is None:  # first reading of this batch: re-synchronise the filter
            self.kalman.reset(m, 0.0)
            step = self.kalman.step(y, 0.0, 0.0)
        else:
            step = self.kalman.step(y, m - self.last[1], t - self.last[0])
        self.last = (t, m)
        scale = math.sqrt(step.innovation_var)  # measurement and model uncertainty
        self.emit(t, y, step.prior, scale, step.innovation / scale, step.estimate)

    def _calibrate(self, t: float, y: float, m: float) -> None:
        if self.calibrated_at is None:
            self.calibrated_at = t + self.shadow.settings.calibrate
        if t < self.calibrated_at or len(self.calibration) < 2:
            self.calibration.append(y - m)
            self.emit(t, y, m, math.nan, math.nan)
            return
        self.sigma = sigma_estimate(self.calibration)
        self.reading(t, y)


class _WindowKpi(_Track):
    """``kpi.<name>``: its value per window from the plant's events against the twin's."""

    def __init__(self, shadow: ShadowTwin, twin: WindowStats) -> None:
        super().__init__(shadow, f"kpi.{twin.name}")
        self.twin = twin
        self.exits = set(exit_stations(shadow.line))
        self.window_end: float | None = None
        self.good = self.scrap = 0
        self.lead: list[float] = []
        self.entered: dict[str, float] = {}  # part id -> release (or first start) time

    def advance(self, t: float) -> None:
        """Close every window that ended by plant time ``t``."""
        if self.window_end is None:
            self.window_end = t + self.twin.window
            return
        tw = self.twin
        while t >= self.window_end:
            value = window_value(tw.name, self.good, self.scrap, self.lead, tw.window)
            self.emit(self.window_end, value, tw.mean, tw.sd, (value - tw.mean) / tw.sd)
            self.good = self.scrap = 0
            self.lead = []
            self.window_end += tw.window

    def event(self, ev: PlantEvent) -> None:
        if ev.event == "release" or (ev.event == "start" and ev.id not in self.entered):
            self.entered.setdefault(ev.id, ev.time)
        elif ev.event == "complete" and ev.outcome == "scrap":
            self.scrap += 1
            self.entered.pop(ev.id, None)
        elif ev.event == "complete" and ev.outcome == "good" and ev.station in self.exits:
            self.good += 1
            entered = self.entered.pop(ev.id, None)
            if entered is not None:
                self.lead.append(ev.time - entered)


class _WindowMean(_Track):
    """A sampled signal (buffer, WIP, tank, utility, emission): its time-weighted mean per
    window (:func:`twin.live.predict.step_means`) against the twin's."""

    def __init__(self, shadow: ShadowTwin, twin: WindowStats) -> None:
        super().__init__(shadow, twin.name)
        self.twin = twin
        self.window_end: float | None = None
        self.times: list[float] = []  # readings in the current window (the first one
        self.values: list[float] = []  # carries the value in force at its start)

    def advance(self, t: float) -> None:
        """Close every window that ended by plant time ``t``."""
        tw = self.twin
        while self.window_end is not None and t >= self.window_end:
            start = self.window_end - tw.window
            mean = float(step_means(np.asarray(self.times), np.asarray(self.values), start,
                                    tw.window, 1)[0])
            self.emit(self.window_end, mean, tw.mean, tw.sd, (mean - tw.mean) / tw.sd)
            self.times, self.values = [self.window_end], [self.values[-1]]
            self.window_end += tw.window

    def reading(self, t: float, value: float) -> None:
        if self.window_end is None:
            self.window_end = t + self.twin.window
        self.times.append(t)
        self.values.append(value)


class ShadowTwin:
    """The twin following a pilot line (see the module docstring).

    Parameters
    ----------
    line
        The twin's line (spec, path or dict).
    signals
        The model signals the plant's tags measure (e.g. the ``signal`` column of the tag
        map); the KPIs of ``settings.kpis`` are added when ``settings.window`` is set.
    settings
        :class:`MonitorSettings`.
    reference
        The twin's reference run; default: run now (``settings.reference`` after
        ``settings.warmup``, seed ``settings.seed``).
    origin
        Plant time [s since the epoch] of time 0 of the shadow's tables; default: the first
        item's time.
    resync
        When to rebuild the plant's state from what the shadow received and forecast from
        it (:mod:`twin.live.resync`: the ``forecasts`` table); ``None``: never.
    """

    def __init__(self, line: S.LineSpec | str | Path | dict[str, Any], signals: list[str],
                 settings: MonitorSettings | None = None, reference: RunResult | None = None,
                 origin: float | None = None, resync: ResyncSettings | None = None) -> None:
        self.line, self.source_name = resolve_line(line)
        self.settings = settings or MonitorSettings()
        #: Re-syncs to the plant's state and the forecasts made then (None: off).
        self.resync = None if resync is None else Resync(self.line, resync)
        s = self.settings
        sampled = [x for x in sorted(set(signals)) if tag_kind(x) in MEAN_KINDS]
        if reference is None:
            reference = reference_run(self.line, sampled, s)
        self.reference = reference
        self.origin = math.nan if origin is None else float(origin)
        self.rows: list[tuple[Any, ...]] = []
        self.unmonitored: dict[str, str] = {}  # signal -> why
        #: Residual alarms the line declares: tag -> (name, spec).
        self.declared = {a.tag: (name, a) for name, a in self.line.alarms.items()
                         if a.kind == "residual"}
        self.batch: dict[str, _BatchTemperature] = {}  # by station
        for signal in sorted(set(signals) - {f"kpi.{k}" for k in s.kpis}):
            station = signal.partition(".")[2]
            if signal.startswith("temperature.") and isinstance(
                    self.line.stations.get(station), S.Process):
                model = reference_batch(reference.tables, station)
                self.batch[station] = _BatchTemperature(self, signal, station, model)
            elif signal not in sampled or s.window is None:
                self.unmonitored[signal] = "the twin has no prediction of this signal" + (
                    " without a window" if signal in sampled else "")
        self.windows: list[_WindowKpi | _WindowMean] = []
        self.means: dict[str, _WindowMean] = {}
        if s.window is not None:
            self._window_tracks(s.window, sampled)
        tracks: list[_Track] = [*self.batch.values(), *self.windows]
        self.tracks = {t.signal: t for t in tracks}
        self.monitor = AlarmMonitor(dict(t.alarm_spec() for t in tracks))
        for tag, (name, _) in self.declared.items():
            signal = tag.partition(".")[2]
            if signal not in self.tracks and signal not in self.unmonitored:
                self.unmonitored[signal] = (f"the line declares the residual alarm {name!r} "
                                            "but no tag of the tag map measures the signal")
        self.last_time = math.nan  # plant time of the last item used
        self.late = 0  # items dropped: older than one already used
        self.stats: dict[str, Any] = {}
        self._held: list[tuple[float, int, Reading | PlantEvent]] = []  # reorder buffer
        self._order = itertools.count()
        self._newest = -math.inf
        self._first = math.nan

    def _window_tracks(self, window: float, sampled: list[str]) -> None:
        """The tracks of the KPIs and sampled signals, from the reference run's windows (a
        KPI or signal it cannot standardise is unmonitored, with the reason)."""
        ref = self.reference
        wu = float(ref.provenance["settings"]["warmup_s"])
        end = wu + float(ref.provenance["settings"]["duration_s"])
        for kpi in self.settings.kpis:
            try:
                self.windows.append(_WindowKpi(self, window_stats(ref.tables, kpi, window, wu,
                                                                  end)))
            except ValueError as exc:
                self.unmonitored[f"kpi.{kpi}"] = str(exc)
        for signal in sampled:
            try:
                track = _WindowMean(self, signal_window_stats(ref.tables, signal, window, wu,
                                                              end))
            except ValueError as exc:
                self.unmonitored[signal] = str(exc)
                continue
            self.windows.append(track)
            self.means[signal] = track

    # ------------------------------------------------------------------ input

    def feed(self, item: Reading | PlantEvent) -> None:
        """Take one reading or plant event. Items are used in plant-time order: each is held
        until an item ``settings.reorder`` seconds newer has come (readings and events of
        different tags may arrive out of order); one older than an item already used is
        dropped and counted (``late``)."""
        self._newest = max(self._newest, item.time)
        if math.isnan(self._first):
            self._first = item.time
        heapq.heappush(self._held, (item.time, next(self._order), item))
        while self._held and self._held[0][0] <= self._newest - self.settings.reorder:
            self._use(heapq.heappop(self._held)[2])

    def _use(self, item: Reading | PlantEvent) -> None:
        t = item.time
        if math.isnan(self.origin):
            self.origin = t
        if t < self.last_time or t < self.origin:
            self.late += 1
            return
        self.last_time = t
        self._apply(item)
        if self.resync is not None and self.resync.see(item):
            self.resync.sync(t, self.origin)

    def _apply(self, item: Reading | PlantEvent) -> None:
        """Feed one item, in time order, to the tracks it concerns."""
        t = item.time
        for kpi in self.windows:
            kpi.advance(t)
        if isinstance(item, PlantEvent):
            track = self.batch.get(item.station)
            if track is not None and item.event == "start":
                track.start(t)
            elif track is not None and item.event == "complete":
                track.complete()
            for kpi in self.windows:
                if isinstance(kpi, _WindowKpi):
                    kpi.event(item)
            return
        mean = self.means.get(item.signal)
        if mean is not None:
            mean.reading(t, item.value)
            return
        station = item.signal.partition(".")[2]
        track = self.batch.get(station)
        if track is not None and item.signal == track.signal:
            track.reading(t, item.value)

    async def follow(self, source: Source, until: float | None = None) -> None:
        """Feed every item of ``source`` until it ends or plant time passes ``origin +
        until`` [s]; then close the source."""
        try:
            async for item in source.items():
                start = self._first if math.isnan(self.origin) else self.origin
                if until is not None and not math.isnan(start) and item.time - start > until:
                    self._flush()
                    self.last_time = max(self.last_time, start + until)  # the clock passed
                    break
                self.feed(item)
        finally:
            await source.close()
            self.stats = {k: (dict(v) if k == "rejected" else v)
                          for k, v in asdict(source.stats).items()}

    def _flush(self) -> None:
        """Use every item still held."""
        while self._held:
            self._use(heapq.heappop(self._held)[2])

    # ------------------------------------------------------------------ output

    def residuals(self) -> pd.DataFrame:
        """The ``residuals`` table so far."""
        frame = pd.DataFrame(self.rows, columns=list(RESIDUALS))
        for col in ("time", "measured", "predicted", "residual", "sigma", "statistic",
                    "limit", "estimate"):
            frame[col] = frame[col].astype(float)
        frame["signal"] = frame["signal"].astype(str)
        frame["alarm"] = frame["alarm"].astype(bool)
        return frame

    def finish(self, until: float | None = None) -> ShadowResult:
        """Close the KPI windows that ended by the last item, or by ``origin +
        until`` [s] if the plant data is known to cover that (e.g. the end of a recorded
        run), and return the result."""
        self._flush()
        end = self.last_time
        if until is not None and not math.isnan(self.origin):
            end = max(self.origin + until, end) if not math.isnan(end) else self.origin + until
        if not math.isnan(end):
            for kpi in self.windows:
                kpi.advance(end)
        rel = 0.0 if math.isnan(end) else end - self.origin
        self.monitor.finish(max(rel, self.monitor.now))
        alarms = alarm_table(self.monitor.rows)
        forecasts = self.resync.table() if self.resync is not None else None
        return ShadowResult(self, self.residuals(), alarms, rel, forecasts)


@dataclass
class ShadowResult:
    """What a shadow run produced: ``residuals`` and ``alarms`` tables (and ``forecasts``
    when it re-synced), the ``end`` [s since the origin], and the run folder's
    ``summary``."""

    shadow: ShadowTwin
    residuals: pd.DataFrame
    alarms: pd.DataFrame
    end: float
    forecasts: pd.DataFrame | None = None  # with re-syncs (twin.live.resync)

    @property
    def run_id(self) -> str:
        """``<line>_shadow_<origin as YYYYMMDDTHHMMSSZ>_<hash of the settings>``."""
        sh = self.shadow
        stamp = datetime.fromtimestamp(sh.origin if math.isfinite(sh.origin) else 0.0, UTC)
        blob = json.dumps([spec_hash(sh.line), _settings(sh.settings),
                           asdict(sh.resync.settings) if sh.resync is not None else None],
                          sort_keys=True)
        digest = hashlib.sha256(blob.encode()).hexdigest()[:8]
        return f"{sh.line.line.name}_shadow_{stamp:%Y%m%dT%H%M%SZ}_{digest}"

    def summary(self) -> dict[str, Any]:
        """``run.json`` contents: provenance (line, settings, detectors, source counters,
        unmonitored signals) and the alarm figures as KPIs."""
        sh = self.shadow
        origin = datetime.fromtimestamp(sh.origin, UTC) if math.isfinite(sh.origin) else None
        provenance = {
            "kind": "shadow", "line": sh.line.line.name, "source": sh.source_name,
            "spec_hash": spec_hash(sh.line), "seed": sh.settings.seed,
            "settings": {"duration_s": self.end, "warmup_s": 0.0, "seed": sh.settings.seed},
            "monitor": _settings(sh.settings),
            "origin_utc": origin.isoformat() if origin else None,
            "detectors": {s: {**t.detector.describe(), **_sigma(t)}
                          for s, t in sh.tracks.items()},
            "reference_run": sh.reference.run_id, "unmonitored": sh.unmonitored,
            "source_stats": sh.stats, "late": sh.late, "status": "completed",
            "resync": sh.resync.describe() if sh.resync is not None else None,
            "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "parameters": sh.line.model_dump(mode="json", by_alias=True),
        }
        kpis = alarm_summary(self.alarms, 0.0, self.end) if self.end > 0 else {}
        return runfolder.jsonable({"run_id": self.run_id, "provenance": provenance,
                                   "kpis": kpis, "warnings": []})

    def save(self, root: str | Path) -> Path:
        """Write the run folder (``run.json``, ``residuals.parquet``, ``alarms.parquet``,
        and ``forecasts.parquet`` when it re-synced) under ``root``; returns its path."""
        tables = {"residuals": self.residuals, "alarms": self.alarms}
        if self.forecasts is not None:
            tables["forecasts"] = self.forecasts
        return runfolder.write(root, self.run_id, self.summary(), tables)


def reference_run(line: S.LineSpec, signals: list[str], settings: MonitorSettings
                  ) -> RunResult:
    """The twin's reference run (``settings.reference`` after ``settings.warmup``, seed
    ``settings.seed``), recording ``signals`` besides those its alarms watch.

    Raises
    ------
    RuntimeError
        If the run failed (with its error).
    """
    prep = prepare(line, duration=settings.reference_length(), warmup=settings.warmup,
                   seed=settings.seed)
    live = LiveRun(prep, speed=None, watch=signals).start()
    live.wait()
    if live.result is None:
        raise RuntimeError(f"the twin's reference run {live.status}: {live.error or ''}")
    return live.result


def _settings(s: MonitorSettings) -> dict[str, Any]:
    out = asdict(s)
    out["sigma"] = dict(s.sigma)
    return out


def _sigma(track: _Track) -> dict[str, Any]:
    if isinstance(track, _BatchTemperature):
        return {"sigma": track.sigma, "sigma_from": (
            "settings" if track.signal in track.shadow.settings.sigma else "in-control window"),
            "model_end_s": track.model.end}
    if isinstance(track, _WindowKpi | _WindowMean):
        return {"sigma": track.twin.sd, "sigma_from": "twin reference run",
                "window_s": track.twin.window, "windows": track.twin.windows}
    return {}
