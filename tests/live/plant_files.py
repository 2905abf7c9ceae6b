"""Plant data for the shadow-twin tests: Pilot Twin runs with (perturbed) parameters,
written as a pilot line's recorded files (pilot-data formats) or as the readings and
events a live source yields.

The "plant" is a twin run whose parameters may differ from the twin's (a fouled jacket: a
lower UA of the react phase; a slower machine from a time on). Its reactor temperature is
measured every ``dt`` seconds while a batch is in the unit, with Gaussian sensor noise.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import twin
from twin.data.scenario import Change
from twin.fit.runlogs import ORIGIN, event_log
from twin.live.predict import batch_temperature
from twin.live.readings import PlantEvent, Reading
from twin.orchestration.live import LiveRun
from twin.orchestration.run import prepare

EPOCH0 = pd.Timestamp(ORIGIN).timestamp()
"""Plant time [s since the epoch] of run time 0."""

JACKET: dict[str, Any] = {
    "line": {"name": "jacket"},
    "products": {"B": {}},
    "species": {
        "A": {"molar_mass": "0.150 kg/mol", "density": "1200 kg/m3", "cp": "1.5 kJ/(kg*K)",
              "state": "dissolved"},
        "X": {"molar_mass": "0.102 kg/mol", "density": "1080 kg/m3", "cp": "1.8 kJ/(kg*K)"},
        "P": {"molar_mass": "0.252 kg/mol", "density": "1300 kg/m3", "cp": "1.4 kJ/(kg*K)",
              "state": "dissolved"},
        "S": {"molar_mass": "0.092 kg/mol", "density": "867 kg/m3", "cp": "1.7 kJ/(kg*K)"}},
    "utilities": {"cw": {"carrier": "cooling_water", "specific_power": 0.02}},
    "stations": {
        "orders": {"type": "source", "product": "B", "interarrival": "2 h", "to": "reactor"},
        "reactor": {"type": "process", "volume": "2.5 m3", "to": "out", "recipe": [
            {"phase": "charge", "duration": "10 min", "temperature": "60 degC",
             "materials": {"A": "300 kg", "X": "214 kg", "S": "1500 kg"}},
            {"phase": "react", "reactant": "A", "co_reactant": "X", "ratio": 1.0,
             "product": "P", "k0": "2.9e8 1/s", "ea": "80 kJ/mol", "dh": "-120 kJ/mol",
             "ua": "2.4 kW/K", "jacket": "70 degC", "target_conversion": 0.8,
             "max_time": "100 min", "utility": "cw"},
            {"phase": "transfer", "duration": "5 min"}]},
        "out": {"type": "sink"}},
}
"""A jacketed batch reactor: charge at 60 degC, exothermic reaction cooled by a 70 degC
jacket (UA 2.4 kW/K), a batch every 2 h (about 63 min in the unit)."""

CELL: dict[str, Any] = {
    "line": {"name": "cell"},
    "products": {"P": {}},
    "stations": {
        "supply": {"type": "source", "product": "P", "to": "mill"},
        "mill": {"type": "machine", "cycle_time": {"dist": "exponential", "mean": "5 min"},
                 "buffer": 5, "to": "done"},
        "done": {"type": "sink"}},
}
"""A machine fed by an infinite supply: its throughput is its rate (12 parts per hour)."""


CELL_QC: dict[str, Any] = copy.deepcopy(CELL) | {"line": {"name": "cell_qc"}}
CELL_QC["stations"]["mill"]["to"] = "check"
CELL_QC["stations"]["check"] = {"type": "inspection", "cycle_time": "1 min",
                                "scrap_probability": 0.1, "to": "done"}
"""The machine cell with an inspection after the mill that scraps 10 % of the parts."""


QUEUE: dict[str, Any] = {
    "line": {"name": "queue"},
    "products": {"P": {}},
    "stations": {
        "arrivals": {"type": "source", "product": "P",
                     "interarrival": {"dist": "exponential", "mean": "6 min"}, "to": "mill"},
        "mill": {"type": "machine", "cycle_time": {"dist": "exponential", "mean": "5 min"},
                 "buffer": 30, "to": "done"},
        "done": {"type": "sink"}},
}
"""Poisson arrivals (10 per hour) at a machine with exponential cycle times (12 per hour):
its queue varies, and grows when the machine slows down."""


def run_queue(seed: int, duration: str, slower_from: float, factor: float = 1.3
              ) -> dict[str, pd.DataFrame]:
    """Tables of a run of the queue line recording ``buffer.mill`` (a run that watches it);
    from ``slower_from`` [s] on the machine's mean cycle time is ``factor`` times
    longer."""
    events = [Change.model_validate({
        "kind": "change", "at": f"{slower_from} s", "station": "mill", "what": "cycle_time",
        "value": {"dist": "exponential", "mean": f"{5 * factor} min"}})]
    live = LiveRun(prepare(QUEUE, duration=duration, warmup="0 s", seed=seed, events=events),
                   watch=["buffer.mill"]).start()
    assert live.wait(60) and live.result is not None, live.error
    return live.result.tables


def sampled_readings(tables: dict[str, pd.DataFrame], signal: str, dt: float, end: float,
                     by_exception: bool = False) -> list[Reading]:
    """A historian's samples of a recorded signal every ``dt`` seconds from 0 to ``end``
    (the value in force at each sample time); ``by_exception``: only the samples whose
    value differs from the previous one (report by exception)."""
    sig = tables["signals"]
    rows = sig[sig["tag"] == signal]
    times = np.arange(0.0, end, dt)
    idx = np.searchsorted(rows["time"].to_numpy(), times, side="right") - 1
    values = rows["value"].to_numpy()[np.clip(idx, 0, None)]
    keep = np.r_[True, values[1:] != values[:-1]] if by_exception else np.ones(len(values),
                                                                               dtype=bool)
    return [Reading(EPOCH0 + float(t), signal.upper(), signal, float(v))
            for t, v in zip(times[keep], values[keep], strict=True)]


def jacket(ua: str = "2.4 kW/K") -> dict[str, Any]:
    """The jacketed reactor line with the react phase's UA set to ``ua``."""
    line = copy.deepcopy(JACKET)
    line["stations"]["reactor"]["recipe"][1]["ua"] = ua
    return line


def run_jacket(ua: str = "2.4 kW/K", duration: str = "1 d") -> dict[str, pd.DataFrame]:
    """Tables of a run of the reactor line (deterministic: the seed does not matter)."""
    return twin.run(jacket(ua), duration=duration, warmup="0 s", seed=1).tables


def run_cell(seed: int, duration: str, slower_from: float | None = None,
             factor: float = 1.3) -> dict[str, pd.DataFrame]:
    """Tables of a run of the machine cell; from ``slower_from`` [s] on the machine's mean
    cycle time is ``factor`` times longer (a scenario change event)."""
    events = [] if slower_from is None else [Change.model_validate({
        "kind": "change", "at": f"{slower_from} s", "station": "mill", "what": "cycle_time",
        "value": {"dist": "exponential", "mean": f"{5 * factor} min"}})]
    return twin.run(CELL, duration=duration, warmup="0 s", seed=seed, events=events).tables


def plant_events(tables: dict[str, pd.DataFrame]) -> list[PlantEvent]:
    """A run's event log (releases, starts, completes with their outcome; the pilot-data
    ``events`` format, :func:`twin.fit.runlogs.event_log`) as plant events."""
    log = event_log(tables, {})
    times = pd.to_datetime(log["time"], utc=True, format="ISO8601")
    return [PlantEvent(t.timestamp(), i, p, s, e, r, o or "good")
            for t, i, p, s, e, r, o in zip(times, log["id"], log["product"], log["station"],
                                           log["event"], log["resource"], log["outcome"],
                                           strict=True)]


def batch_starts(tables: dict[str, pd.DataFrame], station: str) -> list[tuple[int, float]]:
    """(batch, start time [s]) of every batch that finished at ``station``."""
    ev = tables["events"]
    at = ev[(ev["station"].astype(str) == station)]
    ended = set(at.loc[at["kind"].astype(str) == "end", "part"].astype(int))
    st = at[at["kind"].astype(str) == "start"]
    return [(int(p), float(t)) for p, t in zip(st["part"], st["time"], strict=True)
            if int(p) in ended]


def true_temperature(runs: list[dict[str, pd.DataFrame]], switch: float, dt: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Sample times [run s] and true reactor temperatures [K] every ``dt`` seconds while a
    batch is in the unit; batches starting before ``switch`` [s] come from ``runs[0]``, the
    others from ``runs[-1]`` (a fault that begins with a batch)."""
    times, values = [], []
    for part, start in batch_starts(runs[0], "reactor"):
        tables = runs[0] if start < switch else runs[-1]
        traj = batch_temperature(tables, "reactor", part)
        ends = tables["events"]
        end = float(ends[(ends["part"] == part) & (ends["station"].astype(str) == "reactor")
                         & (ends["kind"].astype(str) == "end")]["time"].iloc[0])
        grid = np.arange(math.ceil(start / dt) * dt, end, dt)
        for t in grid:
            v = traj(t - start)
            if not math.isnan(v):
                times.append(t)
                values.append(v)
    return np.asarray(times), np.asarray(values)


def temperature_readings(times: np.ndarray, truth: np.ndarray, noise: float, seed: int,
                         tag: str = "TI-101") -> list[Reading]:
    """Readings of the reactor's temperature tag with N(0, noise^2) sensor noise [K]."""
    rng = np.random.default_rng(seed)
    y = truth + rng.normal(0.0, noise, truth.size)
    return [Reading(EPOCH0 + float(t), tag, "temperature.reactor", float(v))
            for t, v in zip(times, y, strict=True)]


def merged(readings: list[Reading], events: list[PlantEvent]) -> list[Reading | PlantEvent]:
    """Readings and events in time order (events first at a tie, as a batch start precedes
    its first sample)."""
    items: list[tuple[float, int, Reading | PlantEvent]] = [
        (e.time, 0, e) for e in events] + [(r.time, 1, r) for r in readings]
    items.sort(key=lambda x: (x[0], x[1]))
    return [x[2] for x in items]


def write_files(folder: Path, readings: list[Reading], tables: dict[str, pd.DataFrame]
                ) -> dict[str, Path]:
    """The plant's recorded files in the pilot-data formats: ``tagmap.csv`` (TI-101 in
    degC), ``timeseries.csv`` (the readings, in degC) and ``events.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {k: folder / f"{k}.csv" for k in ("tagmap", "timeseries", "events")}
    pd.DataFrame({"tag": ["TI-101"], "signal": ["temperature.reactor"], "unit": ["degC"],
                  "max_gap": ["2 h"], "description": ["reactor batch temperature"]}
                 ).to_csv(paths["tagmap"], index=False)
    stamp = [pd.Timestamp(r.time, unit="s", tz="UTC").isoformat() for r in readings]
    pd.DataFrame({"time": stamp, "tag": [r.tag for r in readings],
                  "value": [f"{r.value - 273.15:.4f}" for r in readings],
                  "unit": "degC", "quality": "good"}).to_csv(paths["timeseries"], index=False)
    event_log(tables, {"orders": 1, "reactor": 1, "out": 1}).to_csv(paths["events"],
                                                                    index=False)
    return paths
