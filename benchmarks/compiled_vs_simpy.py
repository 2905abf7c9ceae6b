"""The compiled engine against raw SimPy and the SimPy engine on the same serial line.

The line of ``serial_line_vs_simpy.py``: an infinite supply, 10 stations in series with 5-slot
buffers (blocking after service), exponential times of mean 1 s (station 5: 1.2 s), a sink.
Raw SimPy (hand-written, no recording) runs until ``PARTS`` parts have left; every other row
runs the Pilot Twin spec for the same simulated time. Rows, each timed in the same process:

- ``raw SimPy``: the baseline;
- ``SimPy engine, tables``: Pilot Twin's SimPy engine with full recording and table building;
- ``compiled, records``: the compiled loop with every record kept in its arrays (no tables);
- ``compiled, tables``: the same, plus the recorder's tables (states, events, parts, stops);
- ``compiled, tables + KPIs``: the whole run as ``twin.run(..., engine="compiled")`` does it
  (tables, energy ledger, station and line KPIs).

Printed: the median wall time of each row and its speed-up over raw SimPy (raw / row; >= 30
is the target for the compiled engine). The first compiled call of a fresh process loads the
cached kernel (or compiles it once per machine); it is made before the timing.

Run: ``python benchmarks/compiled_vs_simpy.py [PARTS] [REPEATS]``
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from serial_line_vs_simpy import line_spec, raw_simpy

from twin.observation.recorder import Recorder
from twin.orchestration.run import execute, prepare
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.line import LineModel


def _simpy_engine(line, end: float) -> None:  # noqa: ANN001
    rec = Recorder()
    LineModel(line, 1, rec).run(end)
    rec.tables(end)


def _compiled(line, end: float, tables: bool) -> None:  # noqa: ANN001
    rec = Recorder()
    CompiledModel(line, 1, rec).run(end)
    if tables:
        rec.tables(end)


def main(parts: int = 100_000, repeats: int = 3) -> dict[str, float]:
    """Time every row ``repeats`` times; returns the median speed-up of each over raw SimPy."""
    end = raw_simpy(parts, 0)  # the simulated time the rows run for
    line = line_spec(10**12)
    _compiled(line_spec(10), 10.0, True)  # load (or compile) the kernel before timing
    rows: dict[str, Callable[[], object]] = {
        "raw SimPy": lambda: raw_simpy(parts, 0),
        "SimPy engine, tables": lambda: _simpy_engine(line, end),
        "compiled, records": lambda: _compiled(line, end, False),
        "compiled, tables": lambda: _compiled(line, end, True),
        "compiled, tables + KPIs": lambda: execute(prepare(line, duration=end, seed=1,
                                                           engine="compiled")),
    }
    times: dict[str, list[float]] = {k: [] for k in rows}
    for _ in range(repeats):
        for name, fn in rows.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["raw SimPy"])
    print(f"serial line, 10 stations, buffers 5, {parts} parts ({end:.0f} s simulated), "
          f"{repeats} repeats")
    speedups = {}
    for name, ts in times.items():
        med = statistics.median(ts)
        speedups[name] = base / med
        print(f"{name:26s}: median {med:8.3f} s   speed-up over raw SimPy x{base / med:6.1f}")
    return speedups


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
