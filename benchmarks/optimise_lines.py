"""How much simulation the optimiser saves, on the servo-actuator and API reference lines.

Each case is a space small enough to evaluate completely: the **baseline** is that full
evaluation (every point, the same replications and seeds), which gives the true best of the
space as the simulation measures it. The optimiser (Optuna TPE, ``method = "tpe"``) then
searches the same space with a smaller budget, once per sampler seed, each time in a fresh
folder (so no run is read back from another search). Printed per case, as ratios against the
baseline in the same process:

- ``cands``: candidates the search evaluated / points of the full evaluation (each candidate
  runs the case's replications; both then add the replications of the final selection);
- ``wall``: wall time of the search / wall time of the full evaluation;
- ``gap``: how far the search's best candidate is from the space's best, in % of the best
  (0 = it found the best; judged on the full evaluation's means, so noise in the search's own
  estimate does not flatter it), and how many seeds came within 0.5 %.

Cases:

- ``servo``: assembly benches (2-3), assemblers (2-3), end-of-line testers (1-2) and the
  assembly buffer (2-6) of the servo-actuator line, maximising throughput (40 points);
- ``api``: the heat-up target of the API line's reactor (50-80 degC in 5 K steps), minimising
  the mean lead time with the MTSR bounded (a safety constraint that excludes the hottest
  targets; 7 points).

A third row times the semi-batch operation optimiser (``twin.optimise.batch``): the batch
time of the optimal profile / that of the constant recipe, and its wall time / one batch
simulation.

Run: ``python benchmarks/optimise_lines.py [--seeds 3] [--budget-share 0.4]
[--duration 3d]``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from twin.observation import catalogue
from twin.optimise.batch import SemiBatch, constant_recipe, optimise_operation, simulate
from twin.optimise.search import optimise
from twin.orchestration.scenario import Scenario

HERE = Path(__file__).resolve().parent
LINES = HERE.parent / "lines"
K = 273.15

CASES: dict[str, dict[str, Any]] = {
    "servo": {
        "line": LINES / "servo_actuator" / "line.toml",
        "objective": "throughput_per_h",
        "variables": {
            "stations.assembly.servers": {"low": 2, "high": 3},
            "operators.assemblers.count": {"low": 2, "high": 3},
            "stations.eol_test.servers": {"low": 1, "high": 2},
            "stations.assembly.buffer": {"low": 2, "high": 6},
        },
        "constraints": [],
        "replications": 2,
    },
    "api": {
        "line": LINES / "api_batch" / "line.toml",
        "objective": "lead_time_mean_h",
        "variables": {"stations.reactor.recipe[1].to": {"low": "50 degC", "high": "80 degC",
                                                         "step": 5}},
        "constraints": [{"kpi": "mtsr_max_c", "max": 170.0}],
        "replications": 1,
    },
}

SEMI_BATCH = SemiBatch(k0=2.0e8, ea=75e3, dh=-120e3, rho_cp=1.8e6, ua=1500.0, n_a0=0.0,
                       v0=1.5, t0=K + 40, c_feed=4000.0, v_feed=0.5, t_feed=K + 25,
                       x_target=0.98, t_max=K + 80, mtt=K + 110, margin=5.0,
                       cooling_capacity=60e3, tj_min=K + 10, tj_max=K + 90)


def _scenario(name: str, case: dict[str, Any], method: str, budget: int, seed: int,
              duration: str) -> Scenario:
    data = {"name": name, "line": str(case["line"]),
            "run": {"duration": duration, "warmup": "12 h", "seed": 11},
            "optimise": {"objectives": [case["objective"]], "method": method,
                         "budget": budget, "replications": case["replications"],
                         "seed": seed, "variables": case["variables"],
                         "constraints": case["constraints"]}}
    return Scenario.from_dict(data, base_dir=case["line"].parent, source=f"benchmark {name}")


def _timed(scenario: Scenario, out: Path) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = optimise(scenario, out, executor="serial")
    return result, time.perf_counter() - t0


def _true_means(result: Any, objective: str) -> dict[str, float]:
    """Mean objective of every feasible point of a full evaluation, by point (JSON key)."""
    hist = result.history[result.history["feasible"]]
    xs = [c for c in hist.columns if c.startswith("x:")]
    return {json.dumps([str(r[c]) for c in xs]): float(r[f"mean:{objective}"])
            for _, r in hist.iterrows()}


def _best_key(result: Any) -> str:
    xs = [c for c in result.history.columns if c.startswith("x:")]
    return json.dumps([str(result.best[c[2:]]) for c in xs])


def measure_case(name: str, case: dict[str, Any], seeds: int, share: float, duration: str,
                 log: Any = print) -> dict[str, Any]:
    """The full evaluation and ``seeds`` searches of one case; a row of ratios."""
    with tempfile.TemporaryDirectory(prefix="twin-optbench-") as tmp:
        grid_sc = _scenario(f"{name}_grid", case, "grid", 10_000, 0, duration)
        full, wall_full = _timed(grid_sc, Path(tmp) / "grid")
        points = len(full.history)
        truth = _true_means(full, case["objective"])
        best = (max if catalogue.higher_is_better(case["objective"]) else min)(truth.values())
        runs_full = points * case["replications"]
        budget = max(2, math.ceil(share * points))
        log(f"{name}: {points} points, {runs_full} runs in {wall_full:.1f} s; best "
            f"{case['objective']} = {best:.4g}; searching with a budget of {budget}")
        gaps, walls = [], []
        for s in range(seeds):
            sc = _scenario(f"{name}_tpe{s}", case, "tpe", budget, s, duration)
            found, wall = _timed(sc, Path(tmp) / f"tpe{s}")
            value = truth.get(_best_key(found), math.nan)
            gaps.append(abs(value - best) / abs(best) * 100)
            walls.append(wall)
    return {"case": name, "points": points, "budget": budget,
            "runs_ratio": budget / points, "wall_ratio": statistics.median(walls) / wall_full,
            "gap_median_pct": statistics.median(gaps), "gap_max_pct": max(gaps),
            "within_half_pct": sum(g <= 0.5 for g in gaps), "seeds": seeds}


def measure_batch(log: Any = print) -> dict[str, Any]:
    """Optimal semi-batch profile against the constant recipe (batch time) and its cost
    against one batch simulation (wall time)."""
    recipe = constant_recipe(SEMI_BATCH, K + 60, 3 * 3600)
    t0 = time.perf_counter()
    best = optimise_operation(SEMI_BATCH, segments=4, seed=0)
    wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    simulate(SEMI_BATCH, best.period, best.t_jacket, best.dose)
    one = time.perf_counter() - t0
    log(f"semi-batch: {recipe.batch_time / 3600:.2f} h -> {best.batch_time / 3600:.2f} h")
    return {"batch_time_ratio": best.batch_time / recipe.batch_time,
            "optimiser_per_simulation": wall / one, "feasible": best.feasible(SEMI_BATCH)}


def main(seeds: int = 3, share: float = 0.4, duration: str = "3 d",
         cases: tuple[str, ...] = tuple(CASES), log: Any = print) -> dict[str, Any]:
    """Measure every case and the semi-batch row; print and return them."""
    rows = [measure_case(n, CASES[n], seeds, share, duration, log) for n in cases]
    batch = measure_batch(log)
    print()
    print(f"{'case':6s} {'points':>6s} {'budget':>6s} {'cands':>6s} {'wall':>6s} "
          f"{'gap med %':>9s} {'gap max %':>9s} {'<=0.5 %':>8s}")
    for r in rows:
        print(f"{r['case']:6s} {r['points']:6d} {r['budget']:6d} {r['runs_ratio']:6.2f} "
              f"{r['wall_ratio']:6.2f} {r['gap_median_pct']:9.2f} {r['gap_max_pct']:9.2f} "
              f"{r['within_half_pct']:>4d}/{r['seeds']}")
    print(f"semi-batch: optimal / constant batch time {batch['batch_time_ratio']:.2f}; "
          f"optimiser wall time = {batch['optimiser_per_simulation']:.0f} batch simulations")
    return {"rows": rows, "batch": batch}


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget-share", type=float, default=0.4)
    p.add_argument("--duration", default="3 d")
    return p.parse_args()


if __name__ == "__main__":
    import logging

    logging.getLogger("optuna").setLevel(logging.WARNING)
    a = _args()
    main(a.seeds, a.budget_share, a.duration)
