"""What a sweep costs on top of the simulation, per executor, in one process.

The line: a small cell (a supply, a mill with failures, a washer, a test station with scrap,
a sink), written to a temporary ``line.toml``; each run simulates ``DURATION`` after a 2 h
warm-up (about 0.1-0.3 s of wall time per run on a laptop core).

Measured, ``REPEATS`` times, each time for the same ``RUNS`` seeds:

(a) baseline: ``execute(prepare(...))`` in a loop: the bare cost of one run (simulation,
    tables, KPIs);
(b) the same plus ``RunResult.save`` of every run folder (Parquet tables + run.json): the
    store overhead is (b) / (a);
(c) the same runs as a study through ``run_study`` with executor ``serial``, ``local`` with
    1 and with 2 worker processes, and ``dask`` (a local cluster of 2 worker processes):
    throughput in runs/s, wall time per run / (a), core time per run / (a) (wall time x
    workers: what a run costs in CPU-seconds, including start-up, transfer and storing),
    the one-off start-up cost of the pool (time from the call to the first stored result),
    the steady-state rate (runs/s between the first and the last result), and the speed-up
    of 2 workers over 1.

Every ratio is taken within one repeat (against that repeat's baseline), and the table shows
their medians, so a noisy, shared machine shifts both sides alike. Absolute times are printed
only next to ratios.

Run: ``python benchmarks/sweep_throughput.py [RUNS] [REPEATS] [DURATION]``
(defaults 60, 3, "8 d"); ``--no-dask`` leaves the Dask executor out.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.orchestration.run import execute, prepare
from twin.orchestration.scenario import Scenario
from twin.orchestration.sweep import run_study

LINE_TOML = """\
[line]
name = "bench_cell"

[run]
duration = "8 d"
warmup = "2 h"

[products.A]

[stations.supply]
type = "source"
product = "A"
interarrival = { dist = "exponential", mean = "5 min" }
to = "mill"

[stations.mill]
type = "machine"
buffer = 5
cycle_time = { dist = "lognormal", mean = "4 min", std = "1 min" }
power = { producing = "15 kW", idle = "3 kW" }
to = "wash"

[[stations.mill.failures]]
basis = "operating"
ttf = { dist = "weibull", shape = 1.4, scale = "20 h" }
ttr = { dist = "exponential", mean = "1 h" }

[stations.wash]
type = "machine"
buffer = 5
cycle_time = "3 min"
power = { producing = "8 kW", idle = "4 kW" }
to = "test"

[stations.test]
type = "inspection"
buffer = 5
cycle_time = { dist = "normal", mean = "3.5 min", std = "0.5 min" }
scrap_probability = 0.02
power = { producing = "2 kW", idle = "0.5 kW" }
to = "out"

[stations.out]
type = "sink"
"""

SEED = 1

# (row label, executor, workers); workers None = in this process.
STUDIES: tuple[tuple[str, str, int | None], ...] = (
    ("study serial", "serial", None),
    ("study local x1", "local", 1),
    ("study local x2", "local", 2),
    ("study dask x2", "dask", 2),
)


@dataclass
class StudyTiming:
    """Timing of one study: total wall time and the time of every stored result."""

    total: float
    stamps: list[tuple[float, int]] = field(default_factory=list)  # (time since call, done)
    run_wall: float = 0.0  # sum of the runs' own wall_time_s (simulation, tables, KPIs)

    @property
    def first(self) -> float:
        return self.stamps[0][0]

    def steady_rate(self) -> float:
        """Runs per second between the first and the last stored result."""
        (t0, n0), (t1, n1) = self.stamps[0], self.stamps[-1]
        return (n1 - n0) / (t1 - t0) if n1 > n0 and t1 > t0 else math.nan


def write_line(folder: Path) -> Path:
    """The benchmark line as ``folder/line.toml``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "line.toml"
    path.write_text(LINE_TOML)
    return path


def time_bare(line: Path, runs: int, duration: str) -> float:
    """(a) Wall time of ``runs`` bare runs [s]."""
    t0 = time.perf_counter()
    for r in range(runs):
        execute(prepare(line, duration=duration, seed=SEED + r))
    return time.perf_counter() - t0


def time_store(line: Path, runs: int, duration: str, out: Path) -> tuple[float, float]:
    """(b) ``runs`` runs, each saved as a run folder under ``out``.

    Returns (time in ``execute(prepare())``, time in ``save``) [s], from the same runs, so
    their ratio does not drift with the load of the machine.
    """
    t_exec = t_save = 0.0
    for r in range(runs):
        t0 = time.perf_counter()
        result = execute(prepare(line, duration=duration, seed=SEED + r))
        t1 = time.perf_counter()
        result.save(out)
        t_exec += t1 - t0
        t_save += time.perf_counter() - t1
    return t_exec, t_save


def time_study(folder: Path, runs: int, duration: str, executor: str,
               workers: int | None, name: str) -> StudyTiming:
    """(c) One study of ``runs`` replications in a fresh folder, with result time stamps."""
    scenario = Scenario.from_dict(
        {"name": name, "line": "line.toml",
         "run": {"duration": duration, "replications": runs, "seed": SEED}},
        base_dir=folder)
    stamps: list[tuple[float, int]] = []
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done:
            stamps.append((time.perf_counter() - t0, done))

    study = run_study(scenario, folder / "studies", executor=executor,  # type: ignore[arg-type]
                      workers=workers, progress=progress)
    total = time.perf_counter() - t0
    n_done = int((study.results()["status"] == "completed").sum())
    if n_done != runs:
        raise RuntimeError(f"{name}: {n_done} of {runs} runs completed")
    run_wall = sum(json.loads(p.read_text())["provenance"]["wall_time_s"]
                   for p in study.runs_dir.glob("*/run.json"))
    return StudyTiming(total, stamps, run_wall)


def _spin(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t0


def available_parallelism(workers: int = 2, n: int = 3_000_000) -> float:
    """How many of ``workers`` CPU-bound processes run at once right now (1 .. workers).

    A fixed pure-Python loop runs once alone and then in ``workers`` processes at the same
    time (pool started and warmed up beforehand); returns ``workers * alone / together``
    (each process's own loop time; ~``workers`` on an idle machine, ~1 when the cores are
    taken by others).
    """
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        list(pool.map(_spin, [1000] * workers))
        alone = pool.submit(_spin, n).result()
        together = max(pool.map(_spin, [n] * workers))
    return workers * alone / together


def _median(values: Sequence[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return statistics.median(vals) if vals else math.nan


def measure(runs: int, repeats: int, duration: str, studies: Sequence[tuple[str, str, int | None]],
            log: Any = print) -> tuple[list[dict[str, Any]], dict[str, float], float]:
    """Run the measurements: one row per mode with the median ratios over repeats, the
    median speed-ups (:func:`speedups`, per repeat) and the median available parallelism of
    2 processes (:func:`available_parallelism`).

    Row keys: ``mode``; ``per_run_s`` (wall time per run); ``wall_ratio`` (wall time per run
    / (a)); ``core_ratio`` (``wall_ratio`` x processes working); ``insitu_ratio`` (core time /
    the runs' own simulation time, ``wall_time_s`` of their provenance, measured at the same
    time in the same processes: the overhead free of the drift between measurements);
    ``runs_per_s``; for studies also ``steady_runs_per_s``, ``first_s`` (time to the first
    stored result) and ``first_ratio`` (``first_s`` / (a)).
    """
    per: dict[str, dict[str, list[float]]] = {}

    def add(row: str, **values: float) -> None:
        d = per.setdefault(row, {})
        for k, v in values.items():
            d.setdefault(k, []).append(v)

    with tempfile.TemporaryDirectory(prefix="twin-bench-") as tmp:
        root = Path(tmp)
        line = write_line(root)
        execute(prepare(line, duration=duration, seed=SEED))  # warm caches (JIT, imports)
        for rep in range(repeats):
            t0 = time.perf_counter()
            walls = [execute(prepare(line, duration=duration, seed=SEED + r))
                     .provenance["wall_time_s"] for r in range(runs)]
            t_bare = time.perf_counter() - t0
            bare = t_bare / runs
            add("bare execute (a)", per_run_s=bare, wall_ratio=1.0, core_ratio=1.0,
                insitu_ratio=t_bare / sum(walls), runs_per_s=runs / t_bare)
            t_exec, t_save = time_store(line, runs, duration, root / f"store{rep}")
            store = (t_exec + t_save) / t_exec
            add("execute + save (b)", per_run_s=(t_exec + t_save) / runs, wall_ratio=store,
                core_ratio=store, insitu_ratio=store * t_bare / sum(walls),
                runs_per_s=runs / (t_exec + t_save))
            log(f"repeat {rep + 1}/{repeats}: bare {bare * 1e3:.0f} ms/run, store x{store:.2f}")
            # rotate the order of the studies so drift of the load spreads over all of them
            order = list(studies[rep % len(studies):]) + list(studies[:rep % len(studies)])
            rates: dict[str, tuple[float, float]] = {}
            for label, executor, workers in order:
                folder = root / f"{executor}{workers or 0}_{rep}"
                write_line(folder)
                st = time_study(folder, runs, duration, executor, workers,
                                f"bench_{executor}{workers or 0}")
                n_workers = workers or 1
                add(label, per_run_s=st.total / runs, wall_ratio=st.total / t_bare,
                    core_ratio=n_workers * st.total / t_bare,
                    insitu_ratio=n_workers * st.total / st.run_wall,
                    runs_per_s=runs / st.total, steady_runs_per_s=st.steady_rate(),
                    first_s=st.first, first_ratio=st.first / bare)
                rates[label] = (runs / st.total, st.steady_rate())
                log(f"  {label:<16} {st.total:6.1f} s, first result after {st.first:.1f} s")
            add("speed-up", **speedups(rates))
            if rep == 0 or rep == repeats - 1:
                par = available_parallelism(2)
                add("machine", parallelism=par)
                log(f"  available parallelism of 2 processes: {par:.2f}")
    machine = per.pop("machine")
    ups = {k: _median(v) for k, v in per.pop("speed-up").items()}
    rows = [{"mode": label, **{k: _median(v) for k, v in d.items()},
             "repeats": len(d["wall_ratio"])} for label, d in per.items()]
    return rows, ups, _median(machine["parallelism"])


def speedups(rates: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Throughput ratios of one repeat from ``{label: (runs/s, steady runs/s)}``: 2 local
    workers over 1 (whole study and steady state) and Dask over local with 2 workers."""
    out: dict[str, float] = {}
    one, two = rates.get("study local x1"), rates.get("study local x2")
    if one and two:
        out["local x2 / local x1 (whole study)"] = two[0] / one[0]
        out["local x2 / local x1 (steady state)"] = two[1] / one[1]
    dask = rates.get("study dask x2")
    if dask and two:
        out["dask x2 / local x2 (whole study)"] = dask[0] / two[0]
    return out


def format_table(rows: list[dict[str, Any]], ups: dict[str, float], parallelism: float) -> str:
    """The result table as text."""
    def f(v: Any, spec: str) -> str:
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)

    head = (f"{'mode':<20}{'wall/run':>10}{'core/run':>10}{'in situ':>9}{'runs/s':>8}"
            f"{'steady':>8}{'1st result':>12}{'1st/run':>9}")
    lines = [head, f"{'':<20}{'/ (a)':>10}{'/ (a)':>10}{'':>9}{'':>8}{'runs/s':>8}{'[s]':>12}"
                   f"{'/ (a)':>9}", "-" * len(head)]
    for r in rows:
        lines.append(f"{r['mode']:<20}{f(r['wall_ratio'], '.2f'):>10}"
                     f"{f(r['core_ratio'], '.2f'):>10}{f(r['insitu_ratio'], '.2f'):>9}"
                     f"{f(r['runs_per_s'], '.2f'):>8}{f(r.get('steady_runs_per_s'), '.2f'):>8}"
                     f"{f(r.get('first_s'), '.2f'):>12}{f(r.get('first_ratio'), '.1f'):>9}")
    lines.append("-" * len(head))
    lines.append("wall/run: wall time per run / (a); core/run: the same x processes working; "
                 "in situ: core time / the runs' own simulation time measured alongside")
    for k, v in ups.items():
        lines.append(f"speed-up {k}: {v:.2f}")
    lines.append(f"available parallelism of 2 CPU-bound processes on this machine now: "
                 f"{parallelism:.2f} (2 = two idle cores)")
    return "\n".join(lines)


def main(runs: int = 60, repeats: int = 3, duration: str = "8 d", dask: bool = True,
         log: Any = print) -> dict[str, Any]:
    """Measure, print the table of median ratios; returns ``{"rows", "speedups",
    "parallelism"}`` (see :func:`measure`)."""
    studies = [s for s in STUDIES if dask or s[1] != "dask"]
    if dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            log("distributed is not installed: the dask executor is left out")
            studies = [s for s in studies if s[1] != "dask"]
    rows, ups, parallelism = measure(runs, repeats, duration, studies, log)
    bare = rows[0]["per_run_s"]
    print(f"\nsweep throughput: {runs} runs of {duration} on a 4-station cell, {repeats} "
          f"repeat(s), medians; (a) = bare execute(prepare()) = {bare * 1e3:.0f} ms/run today")
    print(format_table(rows, ups, parallelism))
    return {"rows": rows, "speedups": ups, "parallelism": parallelism}


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(*(int(a) for a in args[:2]), *args[2:3], dask="--no-dask" not in sys.argv)
