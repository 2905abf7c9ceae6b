"""The ``twin`` command line.

``twin run FILE`` runs a line and prints its KPIs; ``twin validate FILE`` checks a spec and
lists every problem with its key path; ``twin schema`` prints the JSON Schema of line files;
``twin lines`` lists the reference lines; ``twin warmup`` compiles the process kernels and the
compiled engine ahead of use. Errors in user input end with exit code 1 and a plain message,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from twin.data.checks import SpecError, read_toml, validate
from twin.data.scenario import json_schema as scenario_json_schema
from twin.data.spec import json_schema
from twin.data.units import UnitError, format_duration, to_si
from twin.edges.cli_fmu import add_commands as add_fmu_commands
from twin.edges.cli_optimise import add_commands as add_optimise_commands
from twin.edges.cli_pilot import add_commands as add_pilot_commands
from twin.edges.cli_plant import add_commands as add_plant_commands
from twin.edges.cli_shadow import add_commands as add_shadow_commands
from twin.edges.cli_state import add_commands as add_state_commands
from twin.kernels.errors import IntegrationError
from twin.observation import catalogue, runfolder
from twin.observation.stability import load_warnings
from twin.orchestration.run import RunFailed, RunResult
from twin.orchestration.whatif import (
    CONFIDENCE,
    export_study,
    intervals,
    replicate,
    summary_rows,
    what_if_line,
)
from twin.process.phases import PhaseError
from twin.simulation.run_errors import RunError

NAMED_ERRORS = (RunError, IntegrationError, PhaseError)
"""Errors whose message says what and where: ``twin run`` prints no code location for them."""

LINES_DIR = Path(__file__).resolve().parents[2] / "lines"

def kpi_report(result: RunResult) -> str:
    """The KPI table printed by ``twin run``: the catalogue's ``cli`` KPIs that the run has."""
    p, k = result.provenance, result.kpis
    s = p["settings"]
    out = [
        f"line {p['line']}  seed {p['seed']}  observed {format_duration(s['duration_s'])} "
        f"after {format_duration(s['warmup_s'])} warm-up  ({p['wall_time_s']:.1f} s wall)",
        "",
    ]
    shown = [e for e in catalogue.kpis("line", "cli") if e.key in k]
    width = max(len(e.en) for e in shown)
    out += [f"  {e.en:<{width}}  {e.format(k[e.key], with_unit=True)}" for e in shown]
    out.append("  * not ISO 22400 (energy, emission and material intensities)")
    out.append("")
    st = result.stations
    columns = [e for e in catalogue.kpis("station", "cli") if e.key in st.columns]
    rows = [["station"] + [e.short for e in columns]]
    for rec in st.to_dict("records"):
        rows.append([str(rec["station"])] + [e.format(rec[e.key]) for e in columns])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.append("  " + "  ".join(c.rjust(w) if i else c.ljust(w)
                                    for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    if result.warnings:
        out += ["", "WARNINGS (the numbers above need a second look):"]
        out += [f"  ! [{w['code']}] {w['message']}" for w in result.warnings]
    return "\n".join(out)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.live:
        return _run_live(args)
    line = what_if_line(args.file, args.set)
    if args.replications != 1:
        return _run_replications(args, line)
    try:
        result = replicate(line, 1, duration=args.duration, warmup=args.warmup,
                           seed=args.seed, source=str(args.file), engine=args.engine,
                           calibrated=args.calibrated,
                           on_deadlock="continue" if args.run_on_deadlock else None,
                           record=args.record)[0]
    except RunFailed as exc:
        folder = exc.result.save(args.out) if args.out else None
        print(failure_text(exc.__cause__), file=sys.stderr)
        if folder:
            print(f"the traceback is in {folder / 'run.json'} (provenance.error)",
                  file=sys.stderr)
        return 1
    folder = result.save(args.out)
    report = None
    if args.report and result.provenance["record"] == "kpis":
        print("no report: the run kept only its KPIs (record = kpis); run it with "
              "--record tables for a report", file=sys.stderr)
    elif args.report:
        from twin.edges.report import write_report

        report = write_report(folder, folder / "report.html")
    if args.json:
        summary = result.summary()
        summary["folder"] = str(folder)
        if report is not None:
            summary["report"] = str(report)
        summary["provenance"].pop("parameters")
        print(json.dumps(summary, indent=2))
    else:
        print(kpi_report(result))
        prov = result.provenance
        print(f"\nengine: {prov['engine']}" + (f" ({prov['engine_note']})"
                                                 if prov["engine_note"] else ""))
        if prov["record"] == "kpis":
            print(f"recorded: KPIs only ({prov['record_note']})")
        print(f"run folder: {folder}")
        if report is not None:
            print(f"report: {report}")
    return 0


def _run_replications(args: argparse.Namespace, line: Any) -> int:
    """``twin run --replications N``: N runs (seeds seed, seed + 1, ...), each saved, and
    every KPI's mean with its 95% t-interval."""
    from twin.edges.query import format_table

    try:
        results = replicate(line, args.replications, duration=args.duration,
                            warmup=args.warmup, seed=args.seed, source=str(args.file),
                            engine=args.engine, calibrated=args.calibrated,
                            record=args.record,
                            on_deadlock="continue" if args.run_on_deadlock else None)
    except RunFailed as exc:
        folder = exc.result.save(args.out)
        print(f"replication seed {exc.result.provenance['seed']}: "
              f"{failure_text(exc.__cause__)}", file=sys.stderr)
        print(f"the traceback is in {folder / 'run.json'} (provenance.error)", file=sys.stderr)
        return 1
    folders = [r.save(args.out) for r in results]
    table = intervals(pd.DataFrame(summary_rows(results)).drop(columns="seed"))
    codes: dict[str, list[str]] = {}  # code -> messages, one per replication that warned
    for r in results:
        for w in r.warnings:
            codes.setdefault(w["code"], []).append(w["message"])
    warned = [f"{m[0]} ({len(m)} of {len(results)} replications)" for m in codes.values()]
    if args.json:
        print(json.dumps(runfolder.jsonable({
            "replications": len(results), "confidence": CONFIDENCE,
            "folders": [str(f) for f in folders], "intervals": table.to_dict("records"),
            "warnings": warned}), indent=2))
        return 0
    first = results[0].provenance
    print(f"line {first['line']}: {len(results)} replications, seeds {first['seed']}.."
          f"{first['seed'] + len(results) - 1}; mean and {CONFIDENCE:.0%} t-interval per KPI")
    print(format_table(table, max_rows=500))
    for message in warned:
        print(f"  ! {message}")
    print(f"\nrun folders: {Path(args.out)} ({len(folders)} runs)")
    return 0


def failure_text(exc: BaseException | None) -> str:
    """What ``twin run`` prints for a failed run: the error's type and message and, unless it
    is a named error of the engine or the kernels, where it was raised."""
    if exc is None:
        return "error: the run failed"
    lines = [f"error: the run failed: {type(exc).__name__}: {exc}"]
    lines += [f"  {note}" for note in getattr(exc, "__notes__", [])]
    if not isinstance(exc, NAMED_ERRORS):
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/twin/" in f.filename.replace("\\", "/")]
        shown = ours[-1:] + [f for f in frames[-1:] if f not in ours[-1:]]
        lines += [f"  raised at {f.filename}:{f.lineno} in {f.name}: {f.line}" for f in shown]
    return "\n".join(lines)


def _cmd_validate(args: argparse.Namespace) -> int:
    if _is_scenario(args.file):
        from twin.orchestration.scenario import Scenario

        sc = Scenario.load(args.file)
        print(f"{args.file}: valid scenario '{sc.name}' on {sc.line_path().name} with "
              f"{len(sc.points())} configuration(s)")
        return 0
    data = read_toml(args.file)
    line, problems = validate(data, Path(args.file).parent)
    if problems:
        raise SpecError(problems, str(args.file))
    assert line is not None
    print(f"{args.file}: valid line '{line.line.name}' with {len(line.stations)} stations")
    for w in load_warnings(line):
        print(f"warning: {w['message']}", file=sys.stderr)
    return 0


def _is_scenario(file: str) -> bool:
    """A scenario file: a ``.py`` script, or TOML with a ``[scenario]`` table."""
    if str(file).endswith(".py"):
        return True
    return isinstance(read_toml(file).get("scenario"), dict)


def _cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(scenario_json_schema() if args.scenario else json_schema(), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return 0


def _cmd_lines(args: argparse.Namespace) -> int:
    root = Path(args.dir) if args.dir else LINES_DIR
    found = sorted(root.glob("*/line.toml"))
    if not found:
        print(f"no reference lines under {root}")
        return 1
    width = max(len(f.parent.name) for f in found)
    for f in found:
        try:
            info = read_toml(f).get("line", {})
            desc = str(info.get("description", "")).strip().splitlines()[0:1]
        except SpecError:
            desc = ["(unreadable line file)"]
        print(f"{f.parent.name:<{width}}  {desc[0] if desc else ''}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from twin.edges.progress import ProgressBar
    from twin.edges.query import format_table
    from twin.figures.studies import ranking_figure
    from twin.figures.style import figure_style, save_png
    from twin.orchestration.sweep import SweepInterrupted, run_study

    try:
        with ProgressBar("sweep", not args.no_progress) as progress:
            study = run_study(args.scenario, args.out, executor=args.executor,
                              workers=args.workers, cluster=args.cluster, progress=progress)
    except SweepInterrupted as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 130
    results = study.results()
    failed = results[results["status"] != "completed"]
    ranked = study.summary()
    ranked.to_csv(study.root / "summary.csv", index=False)
    kpi = study.meta["rank_by"]
    figure = save_png(ranking_figure(ranked, kpi, figure_style()),
                      study.root / "figures" / f"ranking_{kpi}.png")
    shown = ranked[["rank", "configuration", "n", "mean", "half_width", "diff_to_best",
                    "diff_low", "diff_high", "indistinguishable"]]
    print(f"study {study.root}: {len(results)} runs, ranked by {kpi} "
          f"({'higher' if study.meta['maximize'] else 'lower'} is better; 95% intervals)")
    print(format_table(shown))
    if len(failed):
        print(f"{len(failed)} run(s) failed; their tracebacks are in their run.json files")
    print(f"figure: {figure}")
    return 1 if len(failed) else 0


def _damaged_lines(damaged: Any) -> list[str]:
    return [f"{d.status}: {d.path} ({d.file + ': ' if d.file else ''}{d.reason})"
            for d in damaged]


def _cmd_runs(args: argparse.Namespace) -> int:
    from twin.edges.query import RunStore, format_table

    if args.check or args.repair:
        return _check_runs(args.dir, args.repair)
    with RunStore(args.dir) as store:
        table = store.runs()
        damaged = store.damaged
    cols = [c for c in ("run_id", "status", "seed", "started_utc", "throughput_per_h",
                        "good_units", "bottleneck") if c in table.columns]
    print(format_table(table[cols], max_rows=args.limit))
    if damaged:
        print(f"{len(damaged)} run folder(s) left out above (twin runs --check verifies "
              "every folder, --repair moves damaged ones aside):")
        print("\n".join(_damaged_lines(damaged)))
    return 0


def _check_runs(root: str, repair: bool) -> int:
    """``twin runs --check``/``--repair``: every folder against its hashes and schema."""
    from twin.observation import runfolder

    if not Path(root).is_dir():
        raise ValueError(f"run folder root {root!r} is not a directory")
    states = runfolder.scan(root, deep=True)
    bad = [s for s in states if s.status == "damaged"]
    print(f"{len(states)} run folder(s) checked under {root}: {len(states) - len(bad)} sound, "
          f"{len(bad)} damaged")
    for line in _damaged_lines(bad):
        print(line)
    if repair:
        for st in bad:
            print(f"moved {st.path} to {runfolder.move_aside(st.path)}")
        return 0
    return 1 if bad else 0


def _cmd_query(args: argparse.Namespace) -> int:
    from twin.edges.query import RunStore, format_table

    with RunStore(args.dir) as store:
        for line in _damaged_lines(store.damaged):
            print(f"{line}; left out of the views", file=sys.stderr)
        table = store.query(args.sql)
    if args.csv:
        print(table.to_csv(index=False), end="")
    else:
        print(format_table(table, max_rows=args.limit))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    path = export_study(args.study, args.output)
    print(f"{path}: every KPI with its {CONFIDENCE:.0%} interval per configuration")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from twin.edges.query import format_table
    from twin.orchestration.compare import compare

    kpis = [k.strip() for k in args.kpi.split(",")] if args.kpi else None
    table = compare(args.a, args.b, kpis)
    print(f"B = {table.attrs['b']} against A = {table.attrs['a']} "
          f"(difference B - A, {table.attrs['confidence']:.0%} interval)")
    print(format_table(table, max_rows=200))
    return 0


def _cmd_scaleup(args: argparse.Namespace) -> int:
    from twin.edges.query import format_table
    from twin.figures.studies import scaleup_figure
    from twin.figures.style import figure_style, save_png
    from twin.orchestration.scaleup_study import study
    from twin.process.safety import monte_carlo

    volumes = [v.strip() for v in args.volumes.split(",") if v.strip()]
    if not volumes:
        raise ValueError("--volumes needs at least one volume, e.g. '0.05 m3, 0.5 m3'")
    result = study(args.file, args.unit, volumes, args.rule, replications=args.replications,
                   duration=args.duration, warmup=args.warmup, seed=args.seed, out=args.out,
                   executor=args.executor, calibrated=args.calibrated,
                   mtt=to_si(args.mtt, "temperature") if args.mtt else None,
                   td24=to_si(args.td24, "temperature") if args.td24 else None)
    figures = [save_png(scaleup_figure(result.table, figure_style()),
                        result.root / "figures" / "scaleup.png")]
    cols = ["volume_m3", "area_per_volume_1_m", "react_time_h", "conversion", "selectivity",
            "peak_temperature_C", "max_mtsr_C", "heat_generation_kW", "cooling_capacity_kW",
            "cooling_ratio", "stable_rise_K", "agitation_power_kW", "kwh_electricity_per_kg",
            "co2e_kg_per_kg", "annual_output_t", "time_bottleneck", "bottleneck",
            "worst_cooling_failure_C"]
    print(f"scale-up of {args.unit!r} ({result.scaled[0].rule.replace('_', ' ')}), "
          f"{args.replications} replication(s) per scale")
    print(format_table(result.table[cols].T.reset_index(), max_rows=100))
    for _, row in result.table.iterrows():
        if row["alarms"]:
            print(f"ALARM {row['volume_m3']:g} m3: {row['alarms']}")
    if args.monte_carlo:
        for s in result.scaled:
            mc = monte_carlo(s.line, args.unit, n=args.monte_carlo, seed=args.seed,
                             calibrated=args.calibrated == "sample")
            mc.to_csv(result.root / f"monte_carlo_{s.volume:g}m3.csv", index=False)
            free = mc["uncapped_peak_temperature_C"]
            print(f"{s.volume:g} m3: P(uncapped peak >= MTT {mc.attrs['mtt_C']:.1f} degC) = "
                  f"{mc.attrs['p_exceeds_mtt']:.3f}, P(stopped at the temperature limit) = "
                  f"{mc.attrs['p_aborted']:.3f} over {args.monte_carlo} samples; uncapped peak "
                  f"p50 {free.median():.1f}, p95 {free.quantile(0.95):.1f} degC (the recipe's "
                  f"own peak, capped by its temperature abort: p95 "
                  f"{mc['peak_temperature_C'].quantile(0.95):.1f} degC, P(>= MTT) = "
                  f"{mc.attrs['p_recipe_peak_exceeds_mtt']:.3f})")
    print(f"study folder: {result.root}\nfigures: {', '.join(str(f) for f in figures)}")
    return 0


def _cmd_warmup(args: argparse.Namespace) -> int:
    from twin.kernels.warmup import warm_up
    from twin.orchestration.warm import warm_compiled_engine
    from twin.process.phases import phase_kernels

    def say(name: str) -> None:
        print(f"compiling {name} ...", flush=True)

    spent = warm_up(phase_kernels(), report=say)
    if spent:
        print(f"compiled {len(spent)} kernel(s) in {sum(spent.values()):.1f} s; cached for "
              "later runs")
    else:
        print("the process kernels are compiled and cached")
    engine = warm_compiled_engine(report=say)
    print("the compiled engine is compiled and cached" if engine is None else
          f"compiled the compiled engine in {engine:.1f} s; cached for later runs")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from twin.edges.report import write_report

    out = write_report(args.folder, args.output, lang=args.lang,
                       td24=to_si(args.td24, "temperature") if args.td24 else None,
                       mtt=to_si(args.mtt, "temperature") if args.mtt else None)
    print(f"report: {out}")
    return 0


def _speed(text: str | None) -> float | None:
    """``--speed``: simulated seconds per wall-clock second (``3600``, ``"1 h"``), or ``max``."""
    if text is None or text == "max":
        return None
    try:
        return float(text)
    except ValueError:
        return to_si(text, "time", bare_unit="s")


def _serve(runs_dir: str, live: Any, host: str, port: int) -> int:
    from twin.edges.dashboard.server import serve

    print(f"dashboard: http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
    try:
        serve(runs_dir, live, host=host, port=port)
    except KeyboardInterrupt:
        pass
    return 0


def _run_live(args: argparse.Namespace) -> int:
    from twin.orchestration.live import LiveRun
    from twin.orchestration.run import prepare

    prep = prepare(args.file, duration=args.duration, warmup=args.warmup, seed=args.seed)
    live = LiveRun(prep, speed=_speed(args.speed), out=args.out).start()
    try:
        _serve(args.out, live, args.host, args.port)
    finally:
        live.stop()
    if live.folder is not None:
        print(f"run folder: {live.folder}")
    return 0 if live.status == "completed" else 1


def _cmd_dashboard(args: argparse.Namespace) -> int:
    live = None
    if args.live:
        from twin.orchestration.live import LiveRun
        from twin.orchestration.run import prepare

        prep = prepare(args.live, duration=args.duration, warmup=args.warmup, seed=args.seed)
        live = LiveRun(prep, speed=_speed(args.speed), out=args.runs_dir).start()
    try:
        return _serve(args.runs_dir, live, args.host, args.port)
    finally:
        if live is not None:
            live.stop()


def _live_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--speed", help="simulated time per wall-clock second, e.g. 3600 or "
                    "'1 h' (default: max, as fast as possible with throttled updates)")
    sp.add_argument("--host", default="127.0.0.1", help="address to serve on (default: "
                    "127.0.0.1, this machine only)")
    sp.add_argument("--port", type=int, default=8765, help="port (default: 8765)")


def _add_run(sub: Any) -> None:
    """``twin run``."""
    r = sub.add_parser("run", help="run a line and print its KPIs")
    r.add_argument("file", help="line spec (line.toml)")
    r.add_argument("--duration", help="observed period after warm-up, e.g. 30d")
    r.add_argument("--warmup", help="warm-up excluded from statistics, e.g. 1d")
    r.add_argument("--seed", type=int, help="random seed (>= 0)")
    r.add_argument("--out", default="runs", help="folder for run folders (default: runs)")
    r.add_argument("--engine", choices=["simpy", "compiled", "auto"],
                   help="simulation engine (default: the spec's run.engine, simpy); compiled "
                   "runs discrete lines with a Numba event loop, auto uses it when it can")
    r.add_argument("--record", choices=["tables", "kpis"],
                   help="what the run keeps (default: the spec's run.record, tables); kpis: "
                   "only the KPIs and the station and energy tables (the compiled engine "
                   "folds its records into accumulators: for long runs and many replications)")
    r.add_argument("--json", action="store_true", help="print the run summary as JSON")
    r.add_argument("--report", action="store_true",
                   help="also write report.html (self-contained) into the run folder")
    r.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a spec value by its dotted path, e.g. "
                   "--set stations.cnc.servers=2 --set 'stations.cnc.cycle_time=4.5 min' "
                   "(repeatable; values as in a line file, units parsed)")
    r.add_argument("--replications", type=int, default=1, metavar="N",
                   help="run N replications (seeds seed..seed+N-1) and print every KPI "
                   "with its 95%% t-interval")
    r.add_argument("--calibrated", choices=["estimate", "sample"],
                   help="'sample': the [calibration] parameters take draw number = seed of "
                   "their joint distribution (with --replications: parameter uncertainty "
                   "in the intervals); default: the spec's run.calibrated")
    r.add_argument("--run-on-deadlock", action="store_true",
                   help="record a deadlock as a warning and run on (default: stop the run)")
    r.add_argument("--live", action="store_true", help="run in the background and watch it "
                   "on the dashboard (see --speed, --host, --port)")
    _live_options(r)
    r.set_defaults(func=_cmd_run)


def _add_spec_commands(sub: Any) -> None:
    """``twin validate``, ``schema``, ``lines``."""
    v = sub.add_parser("validate", help="check a line spec and list its problems")
    v.add_argument("file")
    v.set_defaults(func=_cmd_validate)
    s = sub.add_parser("schema", help="print the JSON Schema of line specs")
    s.add_argument("-o", "--output", help="write to this file instead")
    s.add_argument("--scenario", action="store_true",
                   help="the JSON Schema of scenario files instead")
    s.set_defaults(func=_cmd_schema)
    ln = sub.add_parser("lines", help="list the reference lines")
    ln.add_argument("--dir", help="folder of lines (default: the reference lines)")
    ln.set_defaults(func=_cmd_lines)


def _add_study_commands(sub: Any) -> None:
    """``twin sweep``, ``runs``, ``query``."""
    sw = sub.add_parser("sweep", help="run (or resume) a scenario's study")
    sw.add_argument("scenario", help="scenario file (.toml) or script (.py)")
    sw.add_argument("--executor", choices=["serial", "local", "dask"], default="local")
    sw.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    sw.add_argument("--cluster", help="Dask scheduler address, e.g. tcp://HOST:8786")
    sw.add_argument("--out", default="studies", help="folder of studies (default: studies)")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    sw.set_defaults(func=_cmd_sweep)
    rs = sub.add_parser("runs", help="list the runs stored under a folder")
    rs.add_argument("dir", nargs="?", default=".", help="folder to search (default: .)")
    rs.add_argument("--limit", type=int, default=50, help="rows to show")
    rs.add_argument("--check", action="store_true",
                    help="verify every run folder (file hashes, table schemas); exit 1 if "
                         "one is damaged")
    rs.add_argument("--repair", action="store_true",
                    help="check, and move damaged folders into _damaged/ next to them "
                         "(nothing is deleted; a study re-runs them on resume)")
    rs.set_defaults(func=_cmd_runs)
    q = sub.add_parser("query", help="read-only SQL over stored runs (views: runs and every "
                       "recorded table: states, events, parts, flows, phases, alarms, ...)")
    q.add_argument("sql")
    q.add_argument("--dir", default=".", help="folder to search (default: .)")
    q.add_argument("--csv", action="store_true", help="print CSV")
    q.add_argument("--limit", type=int, default=50, help="rows to show")
    q.set_defaults(func=_cmd_query)


def _add_scaleup(sub: Any) -> None:
    """``twin scaleup``."""
    su = sub.add_parser("scaleup", help="run a process line at several scales and compare")
    su.add_argument("file", help="line spec (line.toml)")
    su.add_argument("--unit", required=True, help="the process unit whose volume sets the scale")
    su.add_argument("--volumes", required=True, help="e.g. '0.05 m3, 0.5 m3, 5 m3'")
    su.add_argument("--rule", default="constant-power-per-volume",
                    help="agitation rule: constant-power-per-volume, constant-tip-speed, "
                    "constant-reynolds, constant-mixing-time, constant-froude")
    su.add_argument("--replications", type=int, default=3)
    su.add_argument("--duration", help="observed period per run, e.g. 28d")
    su.add_argument("--warmup", help="warm-up per run")
    su.add_argument("--seed", type=int, default=1)
    su.add_argument("--executor", choices=["serial", "local", "dask"], default="serial")
    su.add_argument("--monte-carlo", type=int, default=0, metavar="N",
                    help="also propagate UA and Ea uncertainty with N samples per scale")
    su.add_argument("--calibrated", choices=["estimate", "sample"], help="'sample': "
                    "replication r takes draw seed + r of the line's [calibration] "
                    "parameters, and the Monte Carlo draws them jointly from it (instead of "
                    "independent UA and Ea spreads)")
    su.add_argument("--mtt", help="maximum technical temperature, e.g. '110 degC' "
                    "(default: lowest boiling point of the solvents charged)")
    su.add_argument("--td24", help="TD24 of the reaction mass, e.g. '180 degC' (for the "
                    "Stoessel class)")
    su.add_argument("--out", default="studies")
    su.set_defaults(func=_cmd_scaleup)


def _add_compare_commands(sub: Any) -> None:
    """``twin compare``, ``export``."""
    c = sub.add_parser("compare", help="compare two runs or studies KPI by KPI")
    c.add_argument("a", help="run folder, study folder, or STUDY#POINT")
    c.add_argument("b", help="run folder, study folder, or STUDY#POINT")
    c.add_argument("--kpi", help="comma-separated KPIs (default: all numeric)")
    c.set_defaults(func=_cmd_compare)
    ex = sub.add_parser("export", help="every KPI with its interval per configuration of a "
                        "study, to CSV or Excel")
    ex.add_argument("study", help="study folder (of twin sweep)")
    ex.add_argument("-o", "--output", required=True, help="file to write: .csv or .xlsx")
    ex.set_defaults(func=_cmd_export)


def _add_view_commands(sub: Any) -> None:
    """``twin report``, ``dashboard``, ``warmup``."""
    rp = sub.add_parser("report", help="write a self-contained HTML report of a run or study")
    rp.add_argument("folder", help="run folder, study folder or scale-up study folder")
    rp.add_argument("-o", "--output", default="report.html", help="HTML file to write "
                    "(default: report.html)")
    rp.add_argument("--lang", choices=["en", "zh"], default="en",
                    help="language of headings and table headers (default: en)")
    rp.add_argument("--td24", help="TD24 of the reaction mass, e.g. '180 degC' (gives each "
                    "batch of a process run its Stoessel class)")
    rp.add_argument("--mtt", help="maximum technical temperature, e.g. '110 degC' (default: "
                    "the lowest boiling point of the species charged to each batch before "
                    "its reaction)")
    rp.set_defaults(func=_cmd_report)
    db = sub.add_parser("dashboard", help="serve the dashboard over stored runs (replay, "
                        "comparison) and optionally a live run")
    db.add_argument("runs_dir", nargs="?", default="runs", help="folder of runs (default: runs)")
    db.add_argument("--live", metavar="FILE", help="also run this line live")
    db.add_argument("--duration", help="observed period of the live run, e.g. 7d")
    db.add_argument("--warmup", help="warm-up of the live run")
    db.add_argument("--seed", type=int, help="random seed of the live run")
    _live_options(db)
    db.set_defaults(func=_cmd_dashboard)
    wu = sub.add_parser("warmup", help="compile the process kernels and the compiled engine "
                                       "now (cached for every later run; dev.py does this at "
                                       "set-up)")
    wu.set_defaults(func=_cmd_warmup)


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``twin``."""
    p = argparse.ArgumentParser(prog="twin", description="Pilot Twin: virtual pilot testing.")
    sub = p.add_subparsers(dest="command", required=True)
    for add in (_add_run, _add_spec_commands, _add_study_commands, _add_scaleup,
                _add_compare_commands, _add_view_commands):
        add(sub)
    add_pilot_commands(sub)
    add_state_commands(sub)
    add_optimise_commands(sub)
    add_shadow_commands(sub)
    add_plant_commands(sub)
    add_fmu_commands(sub)
    return p

def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twin`` command."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (UnitError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
