"""``twin optimise SCENARIO``: simulation-based optimisation of a scenario's ``[optimise]``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import pandas as pd


def _cmd_optimise(args: argparse.Namespace) -> int:
    from twin.edges.progress import ProgressBar
    from twin.edges.query import format_table
    from twin.optimise.search import optimise
    from twin.orchestration.study import StudyInterrupted

    # the command shows its own progress: the sampler's line per trial would drown it (the
    # application, not the library, decides what its loggers print)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    try:
        with ProgressBar("optimise", not args.no_progress) as progress:
            result = optimise(args.scenario, args.out, executor=args.executor,
                              workers=args.workers, cluster=args.cluster, progress=progress)
    except StudyInterrupted as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 130
    hist = result.history
    print(f"optimisation {result.root}: {len(hist)} candidates, "
          f"{int(hist['feasible'].sum())} feasible")
    if result.front is not None:
        cols = [c for c in result.front.columns if c.startswith(("x:", "mean:", "confirm:"))
                or c == "selected"]
        info = result.selection
        print("Pareto front (means over the search's replications; confirm: independent "
              "replications; selected: kept by the Pareto-set selection at "
              f"1 - alpha = {1 - info.get('alpha', 0.05):.2f}"
              + ("" if info.get("guaranteed") else ", replication cap reached: only "
                 "'no Pareto-optimal point left out' holds") + "):")
        print(format_table(result.front[cols].rename(columns=_short)))
        print(f"table: {result.root / 'pareto.csv'}")
        return 0
    if result.best is None:
        print("no feasible design: see history.csv for each candidate's constraint violation")
        return 1
    sel = result.selection
    print("best design" + (" (procedure KN, P(correct) >= "
                           f"{1 - sel['alpha']:.0%} within {sel['delta']:.4g})"
                           if sel.get("guaranteed") else " (no selection guarantee: "
                           f"{sel.get('note', 'replication cap reached')})") + ":")
    for path, value in result.best.items():
        print(f"  {path} = {value!r}")
    vs = sel.get("versus_start")
    if vs:
        print(pd.DataFrame([vs]).to_string(index=False))
    print(f"spec: {result.root / 'best.toml'}\nhistory: {result.root / 'history.csv'}")
    return 0


def _short(column: str) -> str:
    """``x:stations.m1.buffer`` -> ``x:m1.buffer`` (as sweep labels shorten paths)."""
    head, _, path = column.partition(":")
    first, _, rest = path.partition(".")
    return f"{head}:{rest if first in ('stations', 'operators', 'products') and rest else path}"


def _cmd_energy_shift(args: argparse.Namespace) -> int:
    from twin.edges.query import format_table
    from twin.optimise.schedule import energy_shift

    if not args.avoid and args.avoid_grid_above is None:
        print("error: give --avoid PERIOD... and/or --avoid-grid-above FACTOR",
              file=sys.stderr)
        return 2
    schedule: dict[str, Any] = {"avoid": args.avoid or []}
    avoids = list(args.avoid or [])
    if args.avoid_grid_above is not None:
        schedule["avoid_grid_above"] = args.avoid_grid_above
        avoids.append(f"grid hours above {args.avoid_grid_above}")
    if args.phases:
        schedule["phases"] = args.phases
    table = energy_shift(args.line, {args.station: schedule}, duration=args.duration,
                         warmup=args.warmup, replications=args.replications, seed=args.seed)
    print(f"{args.line}: {args.station} avoids {', '.join(avoids)}"
          + (f" (phases {', '.join(args.phases)})" if args.phases else "")
          + f"; {args.replications} replications, common random numbers; diff = scheduled - "
          "base with its paired 95 % interval")
    print(format_table(table))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``twin optimise`` and ``twin energy-shift``."""
    es = sub.add_parser("energy-shift", help="what starting a station's energy-heavy work "
                        "outside costly tariff periods or dirty grid hours saves (and costs), "
                        "paired by seed")
    es.add_argument("line", help="line file with [costs.electricity] periods or an hourly "
                    "grid profile ([energy.grid].hourly)")
    es.add_argument("--station", required=True, help="station to schedule")
    es.add_argument("--avoid", nargs="+", metavar="PERIOD",
                    help="tariff periods to keep its work out of (e.g. peak)")
    es.add_argument("--avoid-grid-above", metavar="FACTOR",
                    help="keep its work out of the hours whose grid emission factor is above "
                    "this (e.g. '0.6 kg/kWh')")
    es.add_argument("--phases", nargs="+", metavar="PHASE",
                    help="process stations: the recipe phases to schedule (e.g. dry)")
    es.add_argument("--duration", help="observation period (default: the spec's)")
    es.add_argument("--warmup", help="warm-up (default: the spec's)")
    es.add_argument("--replications", type=int, default=5)
    es.add_argument("--seed", type=int, help="first seed (default: the spec's)")
    es.set_defaults(func=_cmd_energy_shift)
    op = sub.add_parser("optimise", help="optimise a scenario's [optimise] section "
                        "(search, then selection of the best with a guarantee)")
    op.add_argument("scenario", help="scenario file (.toml or .py) with an [optimise] section")
    op.add_argument("--executor", choices=["serial", "local", "dask"], default="local")
    op.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    op.add_argument("--cluster", help="Dask scheduler address, e.g. tcp://HOST:8786")
    op.add_argument("--out", default="studies", help="folder of studies (default: studies)")
    op.add_argument("--no-progress", action="store_true", help="no progress bar")
    op.set_defaults(func=_cmd_optimise)
