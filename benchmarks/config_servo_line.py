"""Configuration study on the servo-actuator pilot line: which change buys the most output?

Designs (overrides of ``lines/servo_actuator/line.toml``):

- ``base``: the line as specified (2 assembly benches, 2 assemblers);
- ``bench3``: a third assembly bench and a third assembler;
- ``bench3+burnin36``: ``bench3`` with a larger burn-in chamber (36 joints per load);
- ``bench3+eol2``: ``bench3`` with a second end-of-line tester;
- ``bench3+eol2+burnin36``: both (a second tester feeding a larger chamber);
- ``washbuf12``: the base line with a double washer buffer (12 slots instead of 6).

Each design is one study (``run_study`` of a :class:`~twin.orchestration.scenario.Scenario`
with the design's overrides) with the same seeds, so replication ``r`` of every design runs
under common random numbers and designs are compared by paired differences. Printed: the
designs ranked by throughput with 95% intervals and their paired differences to ``base``,
energy per good unit and mean lead time (each with its paired difference to ``base``), and
the bottleneck station. Figures go to ``--out`` (default ``benchmarks/out``, not tracked).

Run: ``python benchmarks/config_servo_line.py [--duration 14d] [--warmup 2d]
[--replications 5] [--seed 100] [--executor serial|local|dask] [--workers N] [--out DIR]
[--studies DIR]``. Studies are written to a temporary folder unless ``--studies`` is given
(a study folder that already holds completed runs is resumed, not re-run).

With runs of under a second, ``serial`` is the default executor: a process pool spends
seconds starting (see ``sweep_throughput.py``) and each design's study starts its own.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.orchestration import statistics as stats
from twin.orchestration.scenario import Scenario
from twin.orchestration.sweep import run_study

HERE = Path(__file__).resolve().parent
LINE = HERE.parent / "lines" / "servo_actuator" / "line.toml"

_BENCH3 = {"stations.assembly.servers": 3, "operators.assemblers.count": 3}
DESIGNS: dict[str, dict[str, Any]] = {
    "base": {},
    "bench3": dict(_BENCH3),
    "bench3+burnin36": {**_BENCH3, "stations.burn_in.batch_size": 36},
    "bench3+eol2": {**_BENCH3, "stations.eol_test.servers": 2},
    "bench3+eol2+burnin36": {**_BENCH3, "stations.eol_test.servers": 2,
                             "stations.burn_in.batch_size": 36},
    "washbuf12": {"stations.washing.buffer": 12},
}
BASE = "base"

# (KPI column, short name, unit, larger is better)
KPIS: tuple[tuple[str, str, str, bool], ...] = (
    ("throughput_per_h", "throughput", "1/h", True),
    ("kwh_per_good_unit", "energy", "kWh/unit", False),
    ("lead_time_mean_h", "lead time", "h", False),
    ("wip_mean", "WIP", "parts", False),
)


def run_designs(designs: dict[str, dict[str, Any]], studies: Path, *, duration: str,
                warmup: str, replications: int, seed: int, executor: str,
                workers: int | None, log: Any = print) -> pd.DataFrame:
    """One study per design, same seeds; a long table (design, replication, seed, KPIs)."""
    frames = []
    for i, (name, overrides) in enumerate(designs.items()):
        scenario = Scenario.from_dict(
            {"name": f"servo_{i}_{_slug(name)}", "line": str(LINE), "overrides": overrides,
             "description": f"design {name}",
             "run": {"duration": duration, "warmup": warmup, "replications": replications,
                     "seed": seed}},
            base_dir=LINE.parent, source=f"design {name!r}")
        t0 = time.perf_counter()
        study = run_study(scenario, studies, executor=executor,  # type: ignore[arg-type]
                          workers=workers)
        res = study.results()
        bad = res[res["status"] != "completed"]
        if len(bad):
            raise RuntimeError(f"design {name!r}: {len(bad)} run(s) did not complete "
                               f"(see {study.root})")
        res.insert(0, "design", name)
        frames.append(res)
        log(f"  {name:<16} {len(res)} runs in {time.perf_counter() - t0:5.1f} s "
            f"(study folder {study.root})")
    return pd.concat(frames, ignore_index=True)


def _by_design(table: pd.DataFrame) -> pd.DataFrame:
    """The long table with the design name as ``point`` (each study's own point is 0)."""
    return table.drop(columns=["point"]).rename(columns={"design": "point"})


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def compare(table: pd.DataFrame,
            base: str = BASE) -> tuple[pd.DataFrame, dict[str, tuple[float, float]]]:
    """Designs ranked by throughput with intervals and paired differences to ``base``.

    Returns the table (one row per design, best first) and, per design, the 95% half width
    of its throughput difference to ``base`` under common random numbers (paired) and as if
    the seeds were independent (Welch): what the pairing saves.
    """
    long = _by_design(table)
    ranked = stats.rank(long, "throughput_per_h", maximize=True)
    base_rows = long[long["point"] == base].set_index("replication").sort_index()
    rows = []
    crn: dict[str, tuple[float, float]] = {}
    for _, r in ranked.iterrows():
        d = long[long["point"] == r["point"]].set_index("replication").sort_index()
        row: dict[str, Any] = {"rank": int(r["rank"]), "design": r["point"], "n": int(r["n"])}
        for col, short, _unit, _maxi in KPIS:
            ci = stats.mean_ci(d[col].to_numpy(dtype=float))
            row[f"{short}"] = ci.mean
            row[f"{short} hw"] = ci.half_width
            if r["point"] == base:
                row[f"{short} vs base"] = 0.0
                row[f"{short} vs base hw"] = math.nan
                continue
            diff = stats.paired_difference(d[col].to_numpy(dtype=float),
                                           base_rows[col].to_numpy(dtype=float))
            row[f"{short} vs base"] = diff.mean
            row[f"{short} vs base hw"] = diff.half_width
            if col == "throughput_per_h" and len(d) >= 2:
                crn[r["point"]] = (diff.half_width, stats.welch_difference(
                    d[col].to_numpy(dtype=float),
                    base_rows[col].to_numpy(dtype=float)).half_width)
        row["indistinguishable from best"] = bool(r["indistinguishable"])
        row["bottleneck"] = d["bottleneck"].mode().iloc[0] if "bottleneck" in d else ""
        rows.append(row)
    return pd.DataFrame(rows), crn


def format_table(result: pd.DataFrame) -> str:
    """The comparison as text: mean +/- 95% half width, paired difference to base."""
    def pm(m: float, h: float, spec: str) -> str:
        if math.isnan(h):
            return f"{m:{spec}}"
        return f"{m:{spec}} +/- {h:{spec}}" if math.isfinite(h) else f"{m:{spec}} +/- inf"

    def delta(m: float, h: float, spec: str) -> str:
        return "(base)" if math.isnan(h) else f"{m:+{spec}} +/- {h:{spec}}"

    cols = [("rank", 4), ("design", 22), ("throughput [1/h]", 17), ("vs base", 18),
            ("kWh/good unit", 17), ("vs base", 17), ("lead time [h]", 15), ("vs base", 16),
            ("WIP [parts]", 14), ("bottleneck", 12)]
    head = " ".join(f"{c:<{w}}" if i < 2 else f"{c:>{w}}" for i, (c, w) in enumerate(cols))
    out = [head, "-" * len(head)]
    for _, r in result.iterrows():
        cells = [str(r["rank"]), r["design"] + (" *" if r["indistinguishable from best"]
                                                else ""),
                 pm(r["throughput"], r["throughput hw"], ".3f"),
                 delta(r["throughput vs base"], r["throughput vs base hw"], ".3f"),
                 pm(r["energy"], r["energy hw"], ".2f"),
                 delta(r["energy vs base"], r["energy vs base hw"], ".2f"),
                 pm(r["lead time"], r["lead time hw"], ".1f"),
                 delta(r["lead time vs base"], r["lead time vs base hw"], ".1f"),
                 pm(r["WIP"], r["WIP hw"], ".0f"), str(r["bottleneck"])]
        out.append(" ".join(f"{c:<{w}}" if i < 2 else f"{c:>{w}}"
                            for i, (c, (_, w)) in enumerate(zip(cells, cols, strict=True))))
    out.append("-" * len(head))
    out.append("mean +/- 95% half width over replications; 'vs base' = paired difference "
               "(same seeds) to base; * = not distinguishable from the best throughput;")
    out.append("bottleneck = the station most often named by the run KPI 'bottleneck' "
               "(largest active fraction)")
    return "\n".join(out)


def figures(table: pd.DataFrame, result: pd.DataFrame, out: Path) -> list[Path]:
    """Ranking bars (throughput) and paired differences to base (three KPIs); PNG paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from twin.figures.studies import ranking_figure
    from twin.figures.style import figure_style, save_png

    out.mkdir(parents=True, exist_ok=True)
    long = _by_design(table)
    ranked = stats.rank(long, "throughput_per_h", maximize=True)
    ranked.insert(1, "configuration", ranked["point"])
    paths = [save_png(ranking_figure(ranked, "throughput_per_h", figure_style()),
                      out / "ranking_throughput_per_h.png")]

    others = result[result["design"] != BASE].iloc[::-1]
    fig, axes = plt.subplots(1, len(KPIS), figsize=(4 * len(KPIS), 0.8 + 0.45 * len(others)),
                             sharey=True)
    for ax, (_col, short, unit, maxi) in zip(np.atleast_1d(axes), KPIS, strict=True):
        m = others[f"{short} vs base"].to_numpy(dtype=float)
        h = others[f"{short} vs base hw"].to_numpy(dtype=float)
        good = (m - h > 0) if maxi else (m + h < 0)
        bad = (m + h < 0) if maxi else (m - h > 0)
        colours = ["#2b7a3d" if g else "#b03a2e" if b else "#9a9a9a"
                   for g, b in zip(good, bad, strict=True)]
        ax.barh(others["design"], m, xerr=np.where(np.isfinite(h), h, 0.0), color=colours,
                capsize=3)
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_xlabel(f"{short} - base [{unit}]")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("paired difference to base, 95% interval (green: better, red: worse)",
                 fontsize=10)
    fig.tight_layout()
    path = out / "paired_difference_to_base.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    paths.append(path)

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, d in table.groupby("design", sort=False):
        d = d.sort_values("replication")
        ax.plot(d["replication"], d["throughput_per_h"], marker="o", label=name)
    ax.set_xlabel("replication (same seed across designs)")
    ax.set_ylabel("throughput [1/h]")
    ax.set_xticks(sorted(table["replication"].unique()))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("replications under common random numbers", fontsize=10)
    fig.tight_layout()
    path = out / "throughput_per_replication.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    paths.append(path)
    return paths


def main(duration: str = "14 d", warmup: str = "2 d", replications: int = 5, seed: int = 100,
         executor: str = "serial", workers: int | None = None, out: str | Path | None = None,
         studies: str | Path | None = None, designs: dict[str, dict[str, Any]] | None = None,
         log: Any = print) -> dict[str, Any]:
    """Run the study, print the comparison and write figures; returns the tables and paths."""
    designs = DESIGNS if designs is None else designs
    if BASE not in designs:
        raise ValueError(f"the designs need a {BASE!r} design to compare against")
    out = HERE / "out" if out is None else Path(out)
    t0 = time.perf_counter()
    log(f"servo-actuator line: {len(designs)} designs x {replications} replications, "
        f"{duration} after {warmup} warm-up, seeds {seed}..{seed + replications - 1}, "
        f"executor {executor}")
    with tempfile.TemporaryDirectory(prefix="twin-config-") as tmp:
        folder = Path(studies) if studies is not None else Path(tmp)
        table = run_designs(designs, folder, duration=duration, warmup=warmup,
                            replications=replications, seed=seed, executor=executor,
                            workers=workers, log=log)
    result, crn = compare(table)
    paths = figures(table, result, out)
    print()
    print(format_table(result))
    print("common random numbers, 95% half width of the throughput difference to base, "
          "paired (same seeds) vs Welch (as if independent):")
    print("  " + "; ".join(f"{k} {p:.3f} vs {w:.3f}" for k, (p, w) in crn.items()))
    print("figures: " + ", ".join(str(p) for p in paths))
    log(f"{len(table)} runs in {time.perf_counter() - t0:.0f} s")
    return {"runs": table, "comparison": result, "crn": crn, "figures": paths}


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", default="14 d")
    p.add_argument("--warmup", default="2 d")
    p.add_argument("--replications", type=int, default=5)
    p.add_argument("--seed", type=int, default=100)
    p.add_argument("--executor", default="serial", choices=["serial", "local", "dask"])
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default=None, help="folder for figures (default benchmarks/out)")
    p.add_argument("--studies", default=None,
                   help="keep the study folders here (default: a temporary folder)")
    return p.parse_args()


if __name__ == "__main__":
    a = _args()
    main(a.duration, a.warmup, a.replications, a.seed, a.executor, a.workers, a.out,
         a.studies)
