"""The fixed cost of a KPI-only compiled run, and what running replications in batches saves.

Two lines, each on the compiled engine keeping only KPIs (``record = "kpis"``):

- ``servo``: ``lines/servo_actuator`` for 28 days after its warm-up (a long run: the loop
  dominates);
- ``short``: a 10-station serial line (an infinite supply, 5-slot buffers, exponential
  cycles of mean 60 s, station 5: 72 s) for one day (about 1,200 parts: the fixed cost of a
  run dominates).

Printed for each line:

1. where the time of one run goes (median of ``RUNS`` runs, ms): ``lower`` (the spec into
   arrays, one generator per stream), ``set-up`` (the rest of building the model: the first
   draws of every stream, the state arrays, the accumulators), ``loop`` (the compiled loop
   with its refills and folds), ``KPIs`` (closing the accumulators, station and line KPIs,
   energy ledger, costs, alarms, warnings) and ``execute`` (the whole
   :func:`twin.orchestration.run.execute`, provenance included);
2. a study of ``REPLICATIONS`` seeds run by the study runner (local process pool of
   ``WORKERS`` workers, batches per task, run folders written) twice in this process:
   every run lowered on its own (the baseline, :func:`one_by_one`) and the runs of a batch
   sharing the line's lowering and record arrays
   (:class:`twin.simulation.compiled.replicate.Replicas`, what
   :func:`twin.orchestration.study.execute_batch` does); printed: both times and their ratio.

Run: ``python benchmarks/batched_replications.py [LINE] [REPLICATIONS] [WORKERS] [RUNS]``
(defaults: both lines, 1000 (servo) / 2000 (short), 2, 20).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from twin.data.checks import line_from_dict, load_line
from twin.observation.recorder import Recorder
from twin.orchestration import study
from twin.orchestration.executors import map_unordered
from twin.orchestration.run import (
    execute,
    execute_keeping_failures,
    finish_accumulated,
    prepare,
    run_warnings,
)
from twin.orchestration.warm import warm_compiled_engine
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.lower import lower

SERVO = Path(__file__).resolve().parent.parent / "lines" / "servo_actuator" / "line.toml"


def short_line():  # noqa: ANN201
    """10 stations in series, exponential cycles of about a minute."""
    stations: dict[str, Any] = {"supply": {"type": "source", "product": "P", "to": "s1"}}
    for i in range(10):
        mean = 72.0 if i == 4 else 60.0
        stations[f"s{i + 1}"] = {"type": "machine", "buffer": 5,
                                 "cycle_time": {"dist": "exponential", "mean": f"{mean} s"},
                                 "to": f"s{i + 2}" if i < 9 else "out"}
    stations["out"] = {"type": "sink"}
    return line_from_dict({"line": {"name": "short10"}, "products": {"P": {}},
                           "stations": stations})


LINES = {"servo": (lambda: load_line(SERVO), "28 d", 1000),
         "short": (short_line, "1 d", 2000)}


def phases(line: Any, duration: str, runs: int) -> dict[str, float]:
    """Median milliseconds of each phase of one KPI-only run (see the module docstring)."""
    preps = [prepare(line, duration=duration, seed=s, engine="compiled", record="kpis")
             for s in range(runs)]
    spent: dict[str, list[float]] = {k: [] for k in ("lower", "set-up", "loop", "KPIs",
                                                     "execute")}
    for p in preps:
        window = (p.warmup, p.warmup + p.duration)
        t = time.perf_counter()
        lower(line, p.seed)
        spent["lower"].append(time.perf_counter() - t)
        t = time.perf_counter()
        model = CompiledModel(line, p.seed, Recorder(), window=window)
        spent["set-up"].append(time.perf_counter() - t - spent["lower"][-1])
        t = time.perf_counter()
        model.run(window[1])
        spent["loop"].append(time.perf_counter() - t)
        t = time.perf_counter()
        tables, kpis, series = finish_accumulated(p, model)
        run_warnings(p, model, tables, kpis, series)
        spent["KPIs"].append(time.perf_counter() - t)
        t = time.perf_counter()
        execute(p)
        spent["execute"].append(time.perf_counter() - t)
    return {k: 1000 * statistics.median(v) for k, v in spent.items()}


def one_by_one(batch: tuple) -> list:
    """The baseline task: every run of a batch lowered on its own, with arrays of its own."""
    return [execute_keeping_failures(p) for p in batch]


def studies(line: Any, duration: str, replications: int, workers: int,
            executor: str = "local") -> dict[str, float]:
    """Seconds of the study (batches on a local pool, every result saved as it comes, as
    :func:`twin.orchestration.study.run_planned` does) with runs lowered alone and with
    the runs of a batch sharing the lowering (:func:`twin.orchestration.study.execute_batch`)."""
    planned = [prepare(line, duration=duration, seed=s, engine="compiled", record="kpis")
               for s in range(replications)]
    size = study.batch_size(replications, workers)
    batches = [tuple(planned[i:i + size]) for i in range(0, replications, size)]
    out = {}
    for name, task in (("alone", one_by_one), ("shared", study.execute_batch)):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            for _batch, results in map_unordered(task, batches, executor=executor,
                                                 workers=workers):
                for result in results:
                    assert result.provenance["status"] == "completed"
                    result.save(tmp)
            out[name] = time.perf_counter() - t
    return out


def main(which: str = "servo,short", replications: int = 0, workers: int = 2,
         runs: int = 20, executor: str = "local") -> dict[str, Any]:
    warm_compiled_engine()  # load (or compile once per machine) the kernels before timing
    out: dict[str, Any] = {}
    for name in which.split(","):
        make, duration, default = LINES[name]
        line = make()
        reps = replications or default
        spent = phases(line, duration, runs)
        print(f"{name} ({duration}), one KPI-only run, median of {runs} [ms]: "
              + ", ".join(f"{k} {v:.1f}" for k, v in spent.items()))
        times = studies(line, duration, reps, workers, executor)
        print(f"{name}: {reps} replications on {workers} workers: lowered alone "
              f"{times['alone']:.1f} s, sharing the lowering {times['shared']:.1f} s "
              f"(x{times['alone'] / times['shared']:.2f}; {reps / times['shared']:.1f} runs/s)")
        out[name] = {"phases_ms": spent, "study_s": times}
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*args[:1], *(int(a) for a in args[1:4]))
