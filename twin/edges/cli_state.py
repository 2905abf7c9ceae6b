"""The state commands of ``twin``: ``twin state RUN --at T`` (a stored run's state at a time,
as a state file), ``twin fork RUN --at T [--set ...]`` (a what-if from there) and
``twin forecast LINE --state FILE`` (what happens next, with intervals)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from twin.data.overrides import parse_assignment
from twin.observation import runfolder


def _cmd_state(args: argparse.Namespace) -> int:
    from twin.orchestration.fork import state_at

    state = state_at(args.run, args.at)
    if args.output:
        print(state.save(args.output))
    else:
        print(state.to_json())
    return 0


def _cmd_fork(args: argparse.Namespace) -> int:
    from twin.edges.cli import failure_text, kpi_report
    from twin.orchestration.fork import fork
    from twin.orchestration.run import RunFailed

    overrides = dict(parse_assignment(text) for text in args.set)
    try:
        result = fork(args.run, args.at, duration=args.duration, warmup=args.warmup or 0.0,
                      seed=args.seed, overrides=overrides,
                      on_deadlock="continue" if args.run_on_deadlock else None)
    except RunFailed as exc:
        folder = exc.result.save(args.out)
        print(failure_text(exc.__cause__), file=sys.stderr)
        print(f"the traceback is in {folder / 'run.json'} (provenance.error)", file=sys.stderr)
        return 1
    folder = result.save(args.out)
    if args.json:
        summary = result.summary()
        summary["folder"] = str(folder)
        summary["provenance"].pop("parameters")
        summary["provenance"]["initial_state"].pop("state")
        print(json.dumps(summary, indent=2))
        return 0
    start = result.provenance["initial_state"]
    print(f"fork of {args.run} at t = {start['time_s']:g} s"
          + (f" with {', '.join(args.set)}" if args.set else ""))
    print(kpi_report(result))
    print(f"\nrun folder: {folder} (the state it started from is in run.json: "
          "provenance.initial_state)")
    return 0


def _cmd_forecast(args: argparse.Namespace) -> int:
    from twin.orchestration.forecast import forecast

    result = forecast(args.line, args.state, replications=args.replications,
                      horizon=args.horizon, seed=args.seed, level=args.level,
                      executor=args.executor, workers=args.workers)
    if args.json:
        print(json.dumps(runfolder.jsonable(result.to_dict()), indent=2))
    else:
        print(result.text())
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``state``, ``fork`` and ``forecast`` to the ``twin`` command."""
    st = sub.add_parser("state", help="the state of a stored run at a time, as a state file")
    st.add_argument("run", help="run folder")
    st.add_argument("--at", required=True, help="time of the run, e.g. 8h (a number: s)")
    st.add_argument("-o", "--output", help="state file to write (default: print it)")
    st.set_defaults(func=_cmd_state)
    fk = sub.add_parser("fork", help="a what-if from a stored run at a time: its state then, "
                        "with --set overrides, run on")
    fk.add_argument("run", help="run folder")
    fk.add_argument("--at", required=True, help="time of the run to fork at, e.g. 8h")
    fk.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a spec value by its dotted path (repeatable), e.g. "
                    "--set stations.cnc.servers=2")
    fk.add_argument("--duration", help="how long to run on (default: the rest of the run)")
    fk.add_argument("--warmup", help="warm-up after the fork excluded from the KPIs")
    fk.add_argument("--seed", type=int, help="random seed (default: the run's)")
    fk.add_argument("--out", default="runs", help="folder for run folders (default: runs)")
    fk.add_argument("--json", action="store_true", help="print the run summary as JSON")
    fk.add_argument("--run-on-deadlock", action="store_true",
                    help="record a deadlock as a warning and run on")
    fk.set_defaults(func=_cmd_fork)
    fc = sub.add_parser("forecast", help="what happens next from a state: batch end times, "
                        "output by end of shift and day, the next alarm (with intervals)")
    fc.add_argument("line", help="line spec (line.toml)")
    fc.add_argument("--state", required=True, type=Path, help="state file (twin state)")
    fc.add_argument("--replications", type=int, default=39, metavar="N",
                    help="runs from the state (default 39: the 5th and 35th of 39 sorted "
                    "values bound a 90%% prediction interval)")
    fc.add_argument("--horizon", help="how far to look (default: to the end of the day)")
    fc.add_argument("--level", type=float, default=0.9,
                    help="coverage of the prediction intervals (default 0.9)")
    fc.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    fc.add_argument("--executor", choices=["serial", "local", "dask"], default="serial")
    fc.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    fc.add_argument("--json", action="store_true", help="print the forecast as JSON")
    fc.set_defaults(func=_cmd_forecast)
