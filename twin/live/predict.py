"""What the twin predicts for a plant's signals, read from the tables of a twin run.

- **Batch temperature** (``temperature.<station>``): the trajectory of a batch in a process
  unit, as time since the batch started there. Along a phase with a kernel profile
  (``profiles``, ``temperature_K``) it follows the profile (linear between its points);
  other phases hold the temperature until their end, where it takes the phase's end
  temperature (``phases.temperature_K``), as the recorded signal does. It is defined from
  its first point (the first phase end or profile point) to the batch's end.
- **Rolling KPIs** (``kpi.throughput``, ``kpi.yield``, ``kpi.lead_time``): their value in
  each non-overlapping window of ``window`` seconds (:func:`window_value`: good parts per
  second, good over finished, mean lead time of the good parts), and the mean and standard
  deviation of those values over a long twin run (batch means: windows much longer than a
  cycle make them close to independent and normal).
- **Sampled signals** (``buffer.<station>``, ``wip``, ``tank.<station>``,
  ``utility.<name>``, ``emission.<species>``): their time-weighted mean in each window
  (:func:`step_means`: a value holds until the next one), and the mean and standard
  deviation of those means over the twin's reference run, which must record the signal
  (a run that watches it: ``LineModel(..., watch=...)``).

A plant event log (``twin.pilotdata`` ``events`` format) counts a good part when it
completes at a station that sends parts to a sink (:func:`exit_stations`), a scrapped one
when a ``complete`` anywhere has outcome ``scrap``; a part's lead time runs from its
``release`` (or its first ``start``) to that complete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.data import spec as S


@dataclass(frozen=True)
class Trajectory:
    """A batch's temperature [K] against time since the batch started [s].

    ``linear[i]``: the value moves linearly from point ``i - 1`` to point ``i`` (a profile);
    otherwise it holds at point ``i - 1``'s value and steps at ``times[i]``.
    """

    times: np.ndarray
    values: np.ndarray
    linear: np.ndarray

    def __call__(self, tau: float) -> float:
        """The value at ``tau`` [s since the batch start]; NaN before the first point, the
        last value after the last point."""
        times = self.times
        i = int(np.searchsorted(times, tau, side="right")) - 1
        if i < 0:
            return math.nan
        if i >= len(times) - 1:
            return float(self.values[-1])
        if not self.linear[i + 1]:
            return float(self.values[i])
        t0, t1 = times[i], times[i + 1]
        v0, v1 = self.values[i], self.values[i + 1]
        return float(v0 + (v1 - v0) * (tau - t0) / (t1 - t0)) if t1 > t0 else float(v1)

    @property
    def end(self) -> float:
        """Time of the last point [s since the batch start]."""
        return float(self.times[-1])


def batch_temperature(tables: dict[str, pd.DataFrame], station: str, part: int) -> Trajectory:
    """The temperature trajectory of batch ``part`` at process ``station`` from a run's
    ``events``, ``phases`` and ``profiles`` tables, from the batch's start there.

    Raises
    ------
    ValueError
        If the batch did not start and run a phase at the station.
    """
    ev = tables["events"]
    starts = ev[(ev["part"] == part) & (ev["station"].astype(str) == station)
                & (ev["kind"].astype(str) == "start")]
    ph = tables.get("phases")
    if not len(starts) or ph is None:
        raise ValueError(f"batch {part} never started at {station!r}")
    t0 = float(starts["time"].iloc[0])
    ph = ph[(ph["part"] == part) & (ph["station"].astype(str) == station)
            & (ph["start"] >= t0)].sort_values("start", kind="stable")
    prof = tables.get("profiles")
    if prof is not None and len(prof):
        prof = prof[(prof["part"] == part) & (prof["station"].astype(str) == station)
                    & (prof["variable"] == "temperature_K")]
    times: list[float] = []
    values: list[float] = []
    linear: list[bool] = []
    for label, start, end, temp in zip(ph["phase"], ph["start"], ph["end"],
                                       ph["temperature_K"], strict=True):
        points = (prof[(prof["phase"] == label) & (prof["time_s"] >= start)
                       & (prof["time_s"] <= end)] if prof is not None and len(prof) else [])
        for j, (t, v) in enumerate(zip(points["time_s"], points["value"], strict=True)
                                   if len(points) else []):
            times.append(float(t) - t0)
            values.append(float(v))
            linear.append(j > 0)
        if not times or float(end) - t0 > times[-1] or not len(points):
            times.append(float(end) - t0)
            values.append(float(temp))
            linear.append(bool(len(points)))
    if not times:
        raise ValueError(f"batch {part} ran no phase at {station!r}")
    return Trajectory(np.asarray(times), np.asarray(values), np.asarray(linear, dtype=bool))


def reference_batch(tables: dict[str, pd.DataFrame], station: str) -> Trajectory:
    """The twin's batch temperature trajectory at ``station``: that of the first batch that
    finished there.

    Raises
    ------
    ValueError
        If no batch finished at the station in the run.
    """
    ev = tables["events"]
    done = ev[(ev["station"].astype(str) == station) & (ev["kind"].astype(str) == "end")]
    if not len(done):
        raise ValueError(f"no batch finished at {station!r} in the twin's reference run; "
                         "run it longer")
    return batch_temperature(tables, station, int(done["part"].iloc[0]))


def exit_stations(line: S.LineSpec) -> list[str]:
    """Stations that send parts to a sink: a good part completed there has left the line."""
    sinks = {n for n, st in line.stations.items() if isinstance(st, S.Sink)}
    return sorted(n for n, st in line.stations.items()
                  if any(r.to in sinks for r in getattr(st, "routes", []) or []))


WINDOW_KPIS = ("throughput", "yield", "lead_time")
"""Rolling KPIs monitored per window (``kpi.<name>``, see :data:`twin.data.alarms.KPI_SIGNALS`)."""


def window_value(kpi: str, good: int, scrap: int, lead_times: list[float], window: float
                 ) -> float:
    """One window's value of a KPI from the parts finished in it: ``throughput`` good parts
    per second; ``yield`` good over good and scrapped (NaN if none); ``lead_time`` the mean
    lead time of the good parts [s] (NaN if none). The one definition for the twin's windows
    and the plant's."""
    if kpi == "throughput":
        return good / window
    if kpi == "yield":
        return good / (good + scrap) if good + scrap else math.nan
    if kpi == "lead_time":
        return float(np.mean(lead_times)) if lead_times else math.nan
    raise ValueError(f"no window KPI {kpi!r} (known: {', '.join(WINDOW_KPIS)})")


def window_values(tables: dict[str, pd.DataFrame], kpi: str, window: float, t0: float,
                  t1: float) -> np.ndarray:
    """The KPI's value in each whole window ``[t0 + i w, t0 + (i + 1) w)`` before ``t1`` of a
    run, from its ``parts`` table (fate ``good`` or ``scrap``, ``created``, ``done``)."""
    parts = tables["parts"]
    fate = parts["fate"].astype(str).to_numpy()
    done = parts["done"].to_numpy(dtype=float)
    lead = done - parts["created"].to_numpy(dtype=float)
    n = int((t1 - t0) // window)
    slot = np.floor((done - t0) / window)
    out = np.empty(max(n, 0))
    for i in range(n):
        here = slot == i
        good = here & (fate == "good")
        out[i] = window_value(kpi, int(good.sum()), int((here & (fate == "scrap")).sum()),
                              lead[good].tolist(), window)
    return out


@dataclass(frozen=True)
class WindowStats:
    """The twin's values of a KPI (``name``: ``throughput``) or the means of a signal
    (``buffer.mill``) per window of ``window`` seconds: ``mean`` and ``sd`` (SI) over
    ``windows`` windows that had a value."""

    name: str
    window: float
    mean: float
    sd: float
    windows: int


def window_stats(tables: dict[str, pd.DataFrame], kpi: str, window: float, t0: float,
                 t1: float) -> WindowStats:
    """Mean and standard deviation of a KPI's window values over ``[t0, t1]`` of a twin run
    (see :func:`spread` for when it raises)."""
    return spread(f"kpi.{kpi}", kpi, window_values(tables, kpi, window, t0, t1), window)


def spread(signal: str, name: str, values: np.ndarray, window: float) -> WindowStats:
    """The :class:`WindowStats` of the twin's window values of ``signal``.

    Raises
    ------
    ValueError
        With fewer than 10 windows that have a value, or if the value is the same in every
        window (a standard deviation under 1e-9 of the mean, rounding: a deterministic
        line cannot be standardised).
    """
    values = values[np.isfinite(values)]
    if values.size < 10:
        raise ValueError(f"{signal}: the twin's reference run has {values.size} windows of "
                         f"{window:g} s with a value; it needs at least 10 (run it longer)")
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    if not sd > 1e-9 * abs(mean):
        raise ValueError(f"{signal} is the same in every window of the twin's reference run "
                         "(no spread): it cannot be standardised")
    return WindowStats(name, window, mean, sd, int(values.size))


MEAN_KINDS = ("buffer", "wip", "tank", "utility", "emission")
"""Signal kinds monitored by their mean per window."""


def step_means(times: np.ndarray, values: np.ndarray, t0: float, window: float, n: int
               ) -> np.ndarray:
    """Time-weighted means of a step function (``values[i]`` from ``times[i]`` until
    ``times[i + 1]``, the last one on) over the windows ``[t0 + i w, t0 + (i + 1) w)``,
    ``i < n``; NaN for a window that begins before the first time."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    edges = t0 + window * np.arange(n + 1)
    if not times.size:
        return np.full(n, math.nan)
    cum = np.r_[0.0, np.cumsum(values[:-1] * np.diff(times))]
    i = np.searchsorted(times, edges, side="right") - 1
    inside = i >= 0
    j = np.clip(i, 0, None)
    area = np.where(inside, cum[j] + values[j] * (edges - times[j]), math.nan)
    return np.diff(area) / window


def signal_window_stats(tables: dict[str, pd.DataFrame], signal: str, window: float,
                        t0: float, t1: float) -> WindowStats:
    """Mean and standard deviation of a recorded signal's window means over ``[t0, t1]`` of
    a twin run (its ``signals`` table).

    Raises
    ------
    ValueError
        If the run did not record the signal, or as :func:`spread`.
    """
    sig = tables.get("signals")
    rows = sig[sig["tag"] == signal] if sig is not None else None
    if rows is None or not len(rows):
        raise ValueError(f"the twin's reference run did not record {signal}")
    n = int((t1 - t0) // window)
    means = step_means(rows["time"].to_numpy(), rows["value"].to_numpy(), t0, window, n)
    return spread(signal, signal, means, window)
