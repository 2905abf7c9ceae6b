"""A simulated year of the API batch line: wall time and events per second.

Runs ``lines/api_batch/line.toml`` for 365 days (after a 2-day warm-up) with full recording,
ledger and closure check, and prints the wall time, the number of recorded records (state
changes, part events, material flows, phases, kernel profile rows) and records per second.
There is no baseline to divide by here: the figure is the cost of a year of pilot-line
operations with every reaction, crystallisation and drying phase integrated by the kernels.

Run: ``python benchmarks/api_line_year.py [DAYS]``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from twin.orchestration.run import execute, prepare

LINE = Path(__file__).resolve().parents[1] / "lines" / "api_batch" / "line.toml"


def main(days: float = 365.0) -> dict[str, float]:
    prep = prepare(LINE, duration=days * 86400.0, warmup="2 d", seed=1)
    execute(prepare(LINE, duration="2 d", warmup="0 s", seed=1))  # compile / load kernels
    t0 = time.perf_counter()
    result = execute(prep)
    wall = time.perf_counter() - t0
    counts = {name: len(result.tables[name]) for name in
              ("states", "events", "flows", "phases", "profiles")}
    records = sum(counts.values())
    phases = result.tables["phases"]
    kernel_phases = int(phases["kind"].isin(["react", "crystallise", "dry"]).sum())
    print(f"API batch line, {days:g} simulated days after a 2-day warm-up")
    print(f"  wall time          : {wall:.2f} s")
    print(f"  batches out        : {result.kpis['good_units']}")
    print(f"  kernel phases      : {kernel_phases}")
    print("  records            : " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"  records per second : {records / wall:,.0f}")
    print(f"  part events per s  : {counts['events'] / wall:,.0f}")
    return {"wall_s": wall, "records": records, "kernel_phases": kernel_phases}


if __name__ == "__main__":
    main(*(float(a) for a in sys.argv[1:2]))
