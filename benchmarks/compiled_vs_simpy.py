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
  (tables, energy ledger, station and line KPIs);
- ``compiled, accumulators``: the compiled loop folding its records into KPI accumulators
  (``record = "kpis"``, :mod:`twin.simulation.compiled.accumulate`), no KPIs yet;
- ``compiled, KPIs (record=kpis)``: the whole run as ``twin.run(..., engine="compiled",
  record="kpis")`` does it (accumulators, station and line KPIs, energy ledger).

Printed: the median wall time of each row and its speed-up over raw SimPy (raw / row; >= 30
is the target for the compiled engine with KPI recording), then where the time of one
compiled run goes (:func:`phases`: lowering and the first draws, the loop, drawing streams
in Python when they run low, growing arrays, folding, tables or closing the accumulators,
KPIs, and the shifting-bottleneck fractions within them). The first compiled call
of a fresh process loads the cached kernels (or compiles them once per machine); it is made
before the timing.

Run: ``python benchmarks/compiled_vs_simpy.py [PARTS] [REPEATS]``
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from serial_line_vs_simpy import line_spec, raw_simpy

from twin.observation import accumulated, kpis
from twin.observation.recorder import Recorder
from twin.orchestration.run import execute, finish_accumulated, finish_tables, prepare
from twin.simulation.compiled import accumulate
from twin.simulation.compiled import engine as E
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


def _accumulators(line, end: float) -> None:  # noqa: ANN001
    model = CompiledModel(line, 1, Recorder(), window=(0.0, end))
    model.run(end)
    model.accumulated()


def phases(line, end: float, record: str) -> dict[str, float]:  # noqa: ANN001
    """Seconds spent in each phase of one compiled run of ``record`` ("tables" or "kpis"):
    ``set-up`` (lowering, the first draws of every stream), ``loop`` (the compiled loop,
    less the Python calls it returns for), ``streams`` (drawing in Python when a stream
    runs low), ``grow`` (growing arrays), ``fold`` (accumulators), ``tables`` (the
    recorder's tables), ``close`` (for kpis: closing the accumulators), ``KPIs`` (station
    and line KPIs, energy ledger) less ``bottlenecks`` (the shifting-bottleneck fractions
    of the stations' active periods, part of the KPI step)."""
    spent = dict.fromkeys(("set-up", "loop", "streams", "grow", "fold", "tables", "close",
                           "KPIs", "bottlenecks"), 0.0)
    timed = {"streams": (E, "_refill"), "grow": (E, "_grow"),
             "fold": (accumulate.Folder, "fold"),
             "bottlenecks": (kpis, "add_bottleneck_fractions"),
             "bottlenecks ": (accumulated, "add_bottleneck_fractions")}
    saved = {k: getattr(obj, name) for k, (obj, name) in timed.items()}

    def wrap(key: str, fn: Callable[..., object]) -> Callable[..., object]:
        def timed_fn(*args: object) -> object:
            t = time.perf_counter()
            out = fn(*args)
            spent[key.strip()] += time.perf_counter() - t  # (two names of one function)
            return out
        return timed_fn

    prep = prepare(line, duration=end, seed=1, engine="compiled", record=record)
    rec = Recorder()
    try:
        for key, (obj, name) in timed.items():
            setattr(obj, name, wrap(key, saved[key]))
        t = time.perf_counter()
        model = CompiledModel(line, 1, rec, window=(0.0, end) if record == "kpis" else None)
        spent["set-up"] = time.perf_counter() - t
        t = time.perf_counter()
        model.run(end)
        spent["loop"] = time.perf_counter() - t - spent["streams"] - spent["grow"] - \
            spent["fold"]
        t = time.perf_counter()
        if record == "kpis":
            acc = model.accumulated()
            spent["close"] = time.perf_counter() - t
            t = time.perf_counter()
            model.accumulated = lambda: acc  # type: ignore[method-assign]
            finish_accumulated(prep, model)
        else:
            tables = rec.tables(end)
            spent["tables"] = time.perf_counter() - t
            t = time.perf_counter()
            rec.tables = lambda _end: tables  # type: ignore[method-assign]
            finish_tables(prep, model, rec)
        spent["KPIs"] = time.perf_counter() - t - spent["bottlenecks"]
    finally:
        for key, (obj, name) in timed.items():
            setattr(obj, name, saved[key])
    return spent


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
        "compiled, accumulators": lambda: _accumulators(line, end),
        "compiled, KPIs (record=kpis)": lambda: execute(prepare(
            line, duration=end, seed=1, engine="compiled", record="kpis")),
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
        print(f"{name:30s}: median {med:8.3f} s   speed-up over raw SimPy x{base / med:6.1f}")
    for record in ("tables", "kpis"):
        spent = phases(line, end, record)
        total = sum(spent.values())
        print(f"one compiled run, record={record}: {total:.3f} s = " + ", ".join(
            f"{k} {v / total:.0%}" for k, v in spent.items() if v > 0))
    return speedups


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
