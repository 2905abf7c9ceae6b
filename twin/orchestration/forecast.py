"""Forecast from a state: what happens next, with prediction intervals.

:func:`forecast` runs ``N`` replications forward from a state (seeds ``seed .. seed+N-1``,
on any executor of :mod:`twin.orchestration.executors`; same seed, same forecast in each)
and summarises them (:class:`Forecast`):

- the end time of each batch in process (at process units and batch stations),
- the good output by the end of the shift and by the end of the day,
- the alarms that may come next: for each, the probability that it activates within the
  horizon and when; and the one most likely to come first.

Intervals are distribution-free prediction intervals from order statistics: if the plant's
outcome and the ``N`` replications are exchangeable (the model is right), the plant's value
falls between the ``j``-th smallest and the ``j``-th largest of the replications with
probability exactly ``(N + 1 - 2j) / (N + 1)``; ``j`` is the largest giving at least the
asked ``level`` (39 replications and level 0.9: the 2nd and the 38th). A batch that does
not end within the horizon counts as ending after it (``inf``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.state import LineState
from twin.data.units import format_duration, to_si
from twin.observation.alarms import COLUMNS as ALARM_COLUMNS
from twin.observation.recorder import END, EXIT, Recorder
from twin.orchestration.executors import Executor, map_unordered
from twin.orchestration.run import PreparedRun, prepare, read_state
from twin.simulation.line import LineModel

DAY = 86400.0
SHIFT = 8 * 3600.0
"""Shift length [s] assumed by a line without a calendar (shifts start at 00:00)."""


def interval_rank(n: int, level: float) -> tuple[int, float]:
    """The rank ``j`` of the prediction interval ``[X(j), X(n+1-j)]`` of ``n`` replications
    with coverage at least ``level``, and its exact coverage ``(n + 1 - 2j) / (n + 1)``.

    Raises
    ------
    ValueError
        If ``n`` is too small for ``level`` (fewer than ``2 / (1 - level) - 1``).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    j = math.floor((n + 1) * (1 - level) / 2 + 1e-9)
    if j < 1:
        need = math.ceil(2 / (1 - level) - 1 - 1e-9)
        raise ValueError(f"{n} replications cannot give a {level:.0%} prediction interval: "
                         f"need at least {need}")
    return j, (n + 1 - 2 * j) / (n + 1)


def _bounds(values: np.ndarray, j: int) -> tuple[float, float, float]:
    """The interval ``[X(j), X(n+1-j)]`` and the median of ``values``."""
    x = np.sort(np.asarray(values, dtype=float))
    return float(x[j - 1]), float(np.median(x)), float(x[x.size - j])


def shift_end(line: S.LineSpec, t: float) -> float:
    """The end of the shift at ``t`` [s of the run]: the end of the calendar's working window
    ``t`` is in (or of the next one), else the next 8-hour boundary from 00:00."""
    if line.calendar is None:
        return (math.floor(t / SHIFT) + 1) * SHIFT
    week = 7 * DAY
    base = math.floor(t / week) * week
    for offset in (0.0, week):
        for _, b in line.calendar.working_windows():
            if base + offset + b > t:
                return base + offset + b
    return (math.floor(t / SHIFT) + 1) * SHIFT


@dataclass
class Forecast:
    """A forecast from a state at :attr:`time` [s of the run].

    ``batches``: one row per batch in process (``part``, ``product``, ``station``,
    ``phase``, then its end time ``low``, ``median``, ``high`` [s of the run] and
    ``p_within``: the share of replications in which it ended within the horizon);
    ``output``: good parts by ``end of shift`` and ``end of day`` (``until`` [s], ``low``,
    ``median``, ``high``, ``mean``); ``alarms``: per alarm, the probability it activates
    within the horizon, when (``low``, ``median``, ``high`` of the first activation among
    the replications where it did) and how often it is the first alarm to come.
    """

    time: float
    horizon: float
    replications: int
    level: float
    batches: pd.DataFrame
    output: pd.DataFrame
    alarms: pd.DataFrame
    seeds: list[int] = field(default_factory=list)

    @property
    def next_alarm(self) -> dict[str, Any] | None:
        """The alarm most likely to come first (name, probability of being first, median
        time), or ``None`` if no replication raised one within the horizon."""
        if self.alarms.empty or self.alarms["p_first"].max() <= 0:
            return None
        row = self.alarms.sort_values("p_first", ascending=False).iloc[0]
        return {"alarm": row["alarm"], "p_first": float(row["p_first"]),
                "median": float(row["median"])}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tables as lists of records)."""
        return {"time_s": self.time, "horizon_s": self.horizon,
                "replications": self.replications, "level": self.level, "seeds": self.seeds,
                "batches": self.batches.to_dict("records"),
                "output": self.output.to_dict("records"),
                "alarms": self.alarms.to_dict("records"), "next_alarm": self.next_alarm}

    def text(self) -> str:
        """The forecast as plain text (times as offsets from the state's time)."""
        def ahead(x: float) -> str:
            return "after the horizon" if not math.isfinite(x) else \
                f"+{format_duration(x - self.time)}"

        out = [f"forecast from t = {format_duration(self.time)}: {self.replications} "
               f"replications to +{format_duration(self.horizon - self.time)}, "
               f"{self.level:.0%} prediction intervals"]
        for r in self.batches.itertuples():
            out.append(f"  batch {r.part} ({r.product}) at {r.station}, {r.phase or '-'}: "
                       f"ends {ahead(r.median)} [{ahead(r.low)} .. {ahead(r.high)}]")
        for r in self.output.itertuples():
            out.append(f"  good output by {r.horizon} ({ahead(r.until)}): {r.median:g} "
                       f"[{r.low:g} .. {r.high:g}]")
        nxt = self.next_alarm
        if nxt is None:
            out.append("  no alarm expected within the horizon")
        else:
            out.append(f"  next alarm: {nxt['alarm']} (first in {nxt['p_first']:.0%} of "
                       f"replications, median {ahead(nxt['median'])})")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text()


def simulate(prep: PreparedRun) -> dict[str, Any]:
    """One replication of a forecast (what executors send to workers): the end times of
    parts at each station, the good exits and the alarm activations after the start."""
    recorder = Recorder()
    model = LineModel(prep.line, prep.seed, recorder, prep.events, state=prep.state)
    end = prep.warmup + prep.duration
    model.run(until=end)
    if model.alarms is not None:
        model.alarms.finish(end)
    t0 = prep.start
    names = recorder.stations
    ends: dict[tuple[int, str], float] = {}
    exits = []
    for t, part, station, kind in zip(recorder.e_time, recorder.e_part, recorder.e_station,
                                      recorder.e_kind, strict=True):
        if t <= t0:
            continue
        if kind == END:
            ends.setdefault((part, names[station]), t)
        elif kind == EXIT:
            exits.append(t)
    at, name, event = (ALARM_COLUMNS.index(c) for c in ("time", "alarm", "event"))
    alarms = [(float(r[at]), str(r[name])) for r in recorder.alarm_rows
              if r[event] == "activate" and float(r[at]) > t0]
    return {"seed": prep.seed, "ends": ends, "exits": exits, "alarms": alarms}


def forecast(line: S.LineSpec | str | Path | dict[str, Any],
             state: LineState | str | Path | dict[str, Any], *, replications: int = 39,
             horizon: str | float | None = None, seed: int = 1, level: float = 0.9,
             executor: Executor = "serial", workers: int | None = None,
             cluster: str | None = None) -> Forecast:
    """Forecast ``line`` from ``state`` (see the module docstring).

    ``horizon``: how far ahead (default: to the end of the day, at least to the end of the
    shift); ``replications`` seeds ``seed .. seed + replications - 1``.
    """
    st = read_state(state)
    j, coverage = interval_rank(replications, level)
    probe = prepare(line, duration=1.0, warmup=0.0, seed=seed, initial_state=st)
    spec, t = probe.line, st.time
    shift = shift_end(spec, t)
    day = (math.floor(t / DAY) + 1) * DAY
    until = max(day, shift) if horizon is None else t + to_si(horizon, "time",
                                                                bare_unit="s")
    preps = [prepare(spec, duration=until - t, warmup=0.0, seed=seed + r, initial_state=st)
             for r in range(replications)]
    runs = sorted((out for _, out in map_unordered(simulate, preps, executor=executor,
                                                   workers=workers, cluster=cluster)),
                  key=lambda o: o["seed"])
    return Forecast(t, until, replications, coverage,
                    _batches(spec, st, runs, j), _output(runs, t, shift, day, until, j),
                    _alarms(runs, j), [o["seed"] for o in runs])


def _batches(line: S.LineSpec, state: LineState, runs: Sequence[dict[str, Any]],
             j: int) -> pd.DataFrame:
    rows = []
    for name, st in state.stations.items():
        if not isinstance(line.stations[name], S.Batch | S.Process):
            continue
        for unit in st.units:
            if unit.done:
                continue
            for part in unit.parts:
                ends = np.array([o["ends"].get((part.id, name), math.inf) for o in runs])
                low, median, high = _bounds(ends, j)
                rows.append({"part": part.id, "product": part.product, "station": name,
                             "phase": unit.phase or "", "low": low, "median": median,
                             "high": high, "p_within": float(np.isfinite(ends).mean())})
    return pd.DataFrame(rows, columns=["part", "product", "station", "phase", "low", "median",
                                       "high", "p_within"])


def _output(runs: Sequence[dict[str, Any]], t: float, shift: float, day: float,
            until: float, j: int) -> pd.DataFrame:
    rows = []
    for label, limit in (("end of shift", shift), ("end of day", day)):
        if limit > until:
            continue
        counts = np.array([sum(1 for x in o["exits"] if x <= limit) for o in runs])
        low, median, high = _bounds(counts, j)
        rows.append({"horizon": label, "until": limit, "low": low, "median": median,
                     "high": high, "mean": float(counts.mean())})
    return pd.DataFrame(rows, columns=["horizon", "until", "low", "median", "high", "mean"])


def _alarms(runs: Sequence[dict[str, Any]], j: int) -> pd.DataFrame:
    firsts: dict[str, list[float]] = {}
    first_of_run: list[str] = []
    for o in runs:
        seen: dict[str, float] = {}
        for time, name in sorted(o["alarms"]):
            seen.setdefault(name, time)
        for name, time in seen.items():
            firsts.setdefault(name, []).append(time)
        if seen:
            first_of_run.append(min(seen, key=seen.__getitem__))
    n = len(runs)
    rows = []
    for name, times in sorted(firsts.items()):
        x = np.array(times + [math.inf] * (n - len(times)))  # not raised: after the horizon
        low, median, high = _bounds(x, j)
        rows.append({"alarm": name, "probability": len(times) / n, "low": low,
                     "median": median, "high": high,
                     "p_first": first_of_run.count(name) / n})
    return pd.DataFrame(rows, columns=["alarm", "probability", "low", "median", "high",
                                       "p_first"])
