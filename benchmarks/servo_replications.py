"""1,000 replications of the servo-actuator line for 28 days: compiled engine vs SimPy engine.

The study a large experiment makes: ``REPLICATIONS`` seeds of ``lines/servo_actuator`` for
``DURATION`` (after the line's own warm-up), each keeping only its KPIs (``record =
"kpis"``), run by the study runner (batches of runs per task, local process pool of
``WORKERS`` processes, run folders with ``run.json`` and the station and energy tables) on
the compiled engine. The SimPy engine is timed on a few replications in this process and
scaled to the same number of runs and workers (its runs take seconds each, so the scaling
is fair); printed: both times, runs per second and the ratio (target: the compiled study
in under 60 s on 2 cores).

The line runs with its ``[alarms]`` (the end-of-line test queue): both engines evaluate
them, and the alarm KPIs are among each run's KPIs. If the compiled engine cannot run the
line, the script says what it lacks and stops (exit status 0).

Run: ``python benchmarks/servo_replications.py [REPLICATIONS] [WORKERS] [DURATION]
[SIMPY_RUNS] [LINE]`` (defaults 1000, 2, "28 d", 3, the servo line; another discrete line's
``line.toml`` gives the same figures for that line).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from twin.data.checks import load_line
from twin.orchestration.run import execute, prepare
from twin.orchestration.study import run_planned
from twin.orchestration.warm import warm_compiled_engine
from twin.simulation.compiled.lower import unsupported

LINE = Path(__file__).resolve().parent.parent / "lines" / "servo_actuator" / "line.toml"


def main(replications: int = 1000, workers: int = 2, duration: str = "28 d",
         simpy_runs: int = 3, file: str | Path = LINE) -> dict[str, Any]:
    """Time the compiled study and the SimPy estimate; returns the figures (``why`` lists
    what the compiled engine lacks when it cannot run the line)."""
    line = load_line(file)
    name = line.line.name
    why = unsupported(line)
    if why:
        print(f"the compiled engine cannot run {name}: " + "; ".join(why))
        return {"why": why}
    warm_compiled_engine()  # load (or compile once per machine) the kernels before timing
    planned = [prepare(line, duration=duration, seed=s, engine="compiled", record="kpis")
               for s in range(replications)]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ran = run_planned(Path(tmp), planned, executor="local", workers=workers)
        compiled_s = time.perf_counter() - t
    assert ran == replications
    simpy = [prepare(line, duration=duration, seed=s, engine="simpy", record="kpis")
             for s in range(simpy_runs)]
    t = time.perf_counter()
    for prep in simpy:
        execute(prep)
    per_simpy = (time.perf_counter() - t) / simpy_runs
    simpy_s = per_simpy * replications / workers  # the same study, perfectly parallel
    out = {"replications": replications, "workers": workers, "compiled_s": compiled_s,
           "simpy_estimate_s": simpy_s, "simpy_per_run_s": per_simpy,
           "ratio": simpy_s / compiled_s}
    print(f"{name}, {replications} replications of {duration}, record = kpis, "
          f"{workers} workers")
    print(f"compiled engine, whole study : {compiled_s:8.1f} s  "
          f"({replications / compiled_s:.1f} runs/s; target < 60 s on 2 cores)")
    print(f"SimPy engine, estimated      : {simpy_s:8.1f} s  "
          f"({per_simpy:.2f} s per run, {simpy_runs} runs timed, scaled)")
    print(f"speed-up of the compiled study over the SimPy engine: x{out['ratio']:.1f}")
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(int(a) for a in args[:2]), *args[2:3], *(int(a) for a in args[3:4]), *args[4:5])
