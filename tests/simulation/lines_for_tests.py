"""Line specs and statistics shared by the statistical validation tests of the engine.

The specs are plain dicts (the same data a ``line.toml`` holds). Times are in seconds, so a
rate ``mu`` [1/s] becomes a mean ``1 / mu`` [s].

Statistics: every estimate comes from independent replications (one seed each, fixed so the
suite is deterministic) and a Student-t confidence interval of their mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from twin.orchestration.run import RunResult, run

CONFIDENCE = 0.999
"""Confidence level of every interval: a correct engine fails a check with probability
about 1e-3, so the whole suite (a few dozen checks) almost never fails by chance."""


def secs(x: float) -> str:
    """A duration in seconds as a spec quantity."""
    return f"{x!r} s"


def expo(mean: float) -> dict[str, Any]:
    """Exponential distribution with mean ``mean`` [s]."""
    return {"dist": "exponential", "mean": secs(mean)}


def const(value: float) -> dict[str, Any]:
    """Constant duration ``value`` [s]."""
    return {"dist": "constant", "value": secs(value)}


def queue_line(name: str, lam: float, service: dict[str, Any], servers: int = 1
               ) -> dict[str, Any]:
    """Poisson arrivals (rate ``lam``) to one station with ``servers`` servers and an
    unlimited buffer, then a sink: the G/G/c queue of textbooks."""
    return {
        "line": {"name": name},
        "products": {"A": {}},
        "stations": {
            "src": {"type": "source", "product": "A", "interarrival": expo(1.0 / lam),
                    "to": "m"},
            "m": {"type": "machine", "servers": servers, "cycle_time": service, "to": "out"},
            "out": {"type": "sink"},
        },
    }


def two_machine_line(mu1: float, mu2: float, slots: int) -> dict[str, Any]:
    """Infinite supply -> M1 (1 buffer slot, so never starved) -> ``slots`` slots -> M2 ->
    sink; exponential machines, blocking after service."""
    return {
        "line": {"name": "two_machines"},
        "products": {"A": {}},
        "stations": {
            "supply": {"type": "source", "product": "A", "to": "m1"},
            "m1": {"type": "machine", "buffer": 1, "cycle_time": expo(1.0 / mu1), "to": "m2"},
            "m2": {"type": "machine", "buffer": slots, "cycle_time": expo(1.0 / mu2),
                   "to": "out"},
            "out": {"type": "sink"},
        },
    }


@dataclass(frozen=True)
class Interval:
    """Mean of replications with its Student-t confidence interval."""

    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.6g} +/- {self.half_width:.3g} (n={self.n}, {CONFIDENCE:.1%})"


def t_interval(values: Iterable[float], confidence: float = CONFIDENCE) -> Interval:
    """Student-t confidence interval of the mean of independent replications."""
    x = np.asarray(list(values), dtype=float)
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"need >= 2 finite replications, got {x!r}")
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    t = float(stats.t.ppf(0.5 + confidence / 2.0, x.size - 1))
    return Interval(float(x.mean()), t * se, int(x.size))


def replicate(spec: dict[str, Any], seeds: Sequence[int], duration: float, warmup: float,
              measure: Callable[[RunResult], dict[str, float]],
              engine: str = "simpy") -> dict[str, Interval]:
    """Run ``spec`` once per seed (on ``engine``) and return a t interval for every measured
    quantity."""
    samples: dict[str, list[float]] = {}
    for seed in seeds:
        r = run(spec, duration=duration, warmup=warmup, seed=seed, engine=engine)
        assert r.provenance["engine"] == engine
        for key, value in measure(r).items():
            samples.setdefault(key, []).append(float(value))
    return {key: t_interval(v) for key, v in samples.items()}


def assert_agrees(name: str, ci: Interval, theory: float, max_rel_half_width: float) -> None:
    """The theoretical value lies in the interval, and the interval is narrow enough (relative
    half-width at most ``max_rel_half_width``) for the check to catch a real error."""
    assert ci.half_width <= max_rel_half_width * abs(theory), (
        f"{name}: interval {ci} too wide to test theory {theory:.6g}")
    assert ci.contains(theory), f"{name}: theory {theory:.6g} outside simulated {ci}"


def station_row(r: RunResult, name: str) -> dict[str, Any]:
    """The KPI row of station ``name``."""
    st = r.tables["stations"]
    rows = st[st["station"] == name]
    assert len(rows) == 1, f"no KPI row for {name}"
    return rows.iloc[0].to_dict()


def waits_at(r: RunResult, station: str, t0: float) -> np.ndarray:
    """Waiting times in the buffer of ``station`` (start - arrive) [s] of the parts that
    started service there at or after ``t0``, from the raw event table."""
    ev = r.tables["events"]
    ev = ev[ev["station"] == station]
    arrive = ev[ev["kind"] == "arrive"].set_index("part")["time"]
    start = ev[ev["kind"] == "start"].set_index("part")["time"]
    start = start[start >= t0]
    return (start - arrive.reindex(start.index)).to_numpy()
