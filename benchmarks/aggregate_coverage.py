"""Coverage of the aggregate discrete-line fit (``twin.fit.aggregate.calibrate_line``).

A known line (a source, two machines, a sink) plays the plant: its inter-arrival time and
the first machine's cycle time are scaled by TRUTH, and it writes ``PERIODS`` daily periods
of throughput, WIP and lead time (seed ``1000 + k`` for data set k). Each data set is fitted
back from the unscaled line with ``REPLICATIONS`` simulated replications per evaluation, on
seeds of its own (``10000 + REPLICATIONS k``), so the simulation's noise differs between
data sets as the plant's does. Printed per parameter: how often the stated 95 % interval
contains the truth over ``REPEATS`` data sets, with the binomial 95 % (Wilson) interval of
that rate, the mean estimate and the median relative width of the intervals.

A rate well below 0.95 means the intervals are too narrow (the sandwich covariance misses
some noise); well above, too wide. Run: ``python benchmarks/aggregate_coverage.py [REPEATS]
[PERIODS] [REPLICATIONS]`` (defaults 30, 10, 3; about 20 s per data set on one core).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import pandas as pd

from twin.data.checks import line_from_dict
from twin.fit.aggregate import calibrate_line, period_kpis, scaled_line
from twin.orchestration.run import run

DAY = 86400.0
PARAMS = ["stations.src.interarrival", "stations.m1.cycle_time"]
TRUTH = [1.2, 1.25]


def line() -> object:
    """The known line: exponential arrivals every 10 min, lognormal 6 min and exponential
    4 min machines with 50-slot buffers."""
    return line_from_dict({
        "line": {"name": "coverage"}, "products": {"A": {}}, "run": {"engine": "auto"},
        "stations": {
            "src": {"type": "source", "product": "A",
                    "interarrival": {"dist": "exponential", "mean": "10 min"}, "to": "m1"},
            "m1": {"type": "machine", "buffer": 50, "to": "m2",
                   "cycle_time": {"dist": "lognormal", "mean": "6 min", "std": "2 min"}},
            "m2": {"type": "machine", "buffer": 50, "to": "out",
                   "cycle_time": {"dist": "exponential", "mean": "4 min"}},
            "out": {"type": "sink"}}})


def data(base: object, periods: int, seed: int) -> pd.DataFrame:
    """Daily KPIs of the plant (the line scaled by TRUTH) after one day of warm-up."""
    res = run(scaled_line(base, PARAMS, TRUTH), duration=periods * DAY, warmup=DAY, seed=seed)
    frame = period_kpis(res.tables, DAY, DAY, periods)
    start = pd.Timestamp("2026-03-02T00:00:00Z") + pd.to_timedelta(np.arange(periods),
                                                                   unit="D")
    return frame.assign(period_start=start, period_end=start + pd.Timedelta(days=1))


def wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial rate."""
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def main(repeats: int = 30, periods: int = 10, replications: int = 3
         ) -> dict[str, dict[str, float]]:
    """Run the study, print its table and return it: per parameter its ``coverage``, the
    Wilson interval ``low`` and ``high``, the ``mean`` estimate and the ``median_width``
    (relative)."""
    base = line()
    hits = np.zeros(len(PARAMS), dtype=int)
    est, width = [], []
    t0 = time.perf_counter()
    for k in range(repeats):
        cal = calibrate_line(base, data(base, periods, 1000 + k), PARAMS,
                             replications=replications, seed=10_000 + replications * k)
        row = []
        for i, (p, truth) in enumerate(zip(PARAMS, TRUTH, strict=True)):
            lo, hi = cal.interval[p]
            hits[i] += lo <= truth <= hi
            row.append((cal.theta[p], (hi - lo) / cal.theta[p]))
        est.append([r[0] for r in row])
        width.append([r[1] for r in row])
        print(f"data set {k:3d}: " + "  ".join(
            f"{p.split('.')[1]} {cal.interval[p][0]:.3f}..{cal.interval[p][1]:.3f}"
            for p in PARAMS), flush=True)
    est_a, width_a = np.array(est), np.array(width)
    print(f"\n{repeats} data sets of {periods} days, {replications} replications per "
          f"evaluation ({time.perf_counter() - t0:.0f} s)")
    print(f"{'parameter':<28}{'truth':>7}{'coverage':>10}  {'Wilson 95 %':<16}"
          f"{'mean est.':>10}{'median width':>14}")
    table = {}
    for i, p in enumerate(PARAMS):
        lo, hi = wilson(int(hits[i]), repeats)
        table[p] = {"coverage": hits[i] / repeats, "low": lo, "high": hi,
                    "mean": float(est_a[:, i].mean()),
                    "median_width": float(np.median(width_a[:, i]))}
        print(f"{p:<28}{TRUTH[i]:>7.3f}{hits[i] / repeats:>10.3f}  [{lo:.3f}, {hi:.3f}]"
              f"{'':>2}{est_a[:, i].mean():>10.4f}{np.median(width_a[:, i]):>14.3f}")
    return table


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
