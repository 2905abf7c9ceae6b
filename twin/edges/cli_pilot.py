"""The pilot data commands of ``twin``: ``twin pilotdata schema|check`` (formats and
cleaning reports) and ``twin mine`` (a draft line spec from event and state logs)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from twin.pilotdata.formats import FORMATS


def _cmd_schema(args: argparse.Namespace) -> int:
    kinds = args.kind or list(FORMATS)
    unknown = [k for k in kinds if k not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {unknown} (formats: {', '.join(FORMATS)})")
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        for k in kinds:
            fmt = FORMATS[k]
            path = out / f"{fmt.name}-{fmt.version}.schema.json"
            path.write_text(json.dumps(fmt.json_schema(), indent=2) + "\n")
            print(path)
        return 0
    schemas = [FORMATS[k].json_schema() for k in kinds]
    print(json.dumps(schemas[0] if len(schemas) == 1 else schemas, indent=2))
    return 0


def _stations(line: str | None) -> list[str] | None:
    if not line:
        return None
    from twin.data.checks import load_line

    return list(load_line(line).stations)


def _cmd_check(args: argparse.Namespace) -> int:
    from twin.pilotdata.load import load

    tags = load(args.tags, "tagmap") if args.tags else None
    table = load(args.file, args.kind, stations=_stations(args.line), tagmap=tags,
                 timezone=args.timezone)
    print(table.report())
    return 1 if args.strict and table.errors() else 0


def _kind_of(path: str) -> str:
    """``events`` or ``states``, from the columns of a log file."""
    from twin.pilotdata.load import read_raw

    columns = set(read_raw(Path(path))[0].columns)
    if "event" in columns:
        return "events"
    if "state" in columns:
        return "states"
    raise ValueError(f"{path}: neither an event log (column 'event') nor a state log "
                     "(column 'state')")


def _load_logs(paths: list[str], stations: list[str] | None, timezone: str | None
               ) -> tuple[Any, Any, list[str]]:
    """The event logs and state logs among ``paths``, each kind concatenated."""
    import pandas as pd

    from twin.pilotdata.load import load

    frames: dict[str, list[Any]] = {"events": [], "states": []}
    reports = []
    for p in paths:
        table = load(p, _kind_of(p), stations=stations, timezone=timezone)
        frames[table.format.name].append(table.frame)
        reports.append(table.report())
    if not frames["events"]:
        raise ValueError("no event log among the files (an event log has a column 'event')")
    events = pd.concat(frames["events"], ignore_index=True)
    states = pd.concat(frames["states"], ignore_index=True) if frames["states"] else None
    return events, states, reports


def _cmd_mine(args: argparse.Namespace) -> int:
    from twin.data.checks import load_line
    from twin.edges.fit_figures import qq_figure
    from twin.fit.mine import mine
    from twin.fit.stations import Options

    line = load_line(args.line) if args.line else None
    stations = list(line.stations) if line is not None else None
    events, states, reports = _load_logs(args.logs, stations, args.timezone)
    opt = Options(seed=args.seed, rounds=args.rounds, renewal_at_start=args.renewal_at_start)
    name = args.name or Path(args.output).stem
    m = mine(events, states, line=line, name=name, end=args.end, options=opt)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(m.toml())
    report = Path(args.report) if args.report else out.with_suffix(".mining.md")
    text = "\n".join(["# Pilot data loaded", ""] + [f"```\n{r}\n```" for r in reports])
    report.write_text(m.report() + "\n" + text + "\n")
    qq = qq_figure(m.estimates, report.with_suffix(".qq.png"))
    print(f"draft spec: {out}\nmining report: {report}" + (f"\nQ-Q plots: {qq}" if qq else ""))
    if m.conformance is not None and not m.conformance.ok():
        print("conformance: the log and the spec differ:\n" + "\n".join(m.conformance.lines()))
    for p in m.problems:
        print(f"draft spec problem: {p}")
    return 0


def _pairs(text: str | None) -> dict[str, float]:
    out = {}
    for item in (text or "").split(","):
        if item.strip():
            key, _, value = item.partition("=")
            out[key.strip()] = float(value)
    return out


def _posterior(args: argparse.Namespace, model: Any, batches: list[Any], params: list[str],
               cal: Any) -> Any:
    """The MCMC posterior of ``twin calibrate --mcmc STEPS`` (``None`` without it)."""
    if not args.mcmc:
        return None
    from twin.fit.mcmc import posterior

    priors = {}
    for text in args.prior or []:
        name, sep, prior = text.partition("=")
        if not sep:
            raise ValueError(f"--prior {text!r}: expected NAME=normal(mean, sd)")
        priors[name.strip()] = prior
    return posterior(model, batches, params, cal=cal, priors=priors, noise=args.noise,
                     steps=args.mcmc, seed=args.seed)


def _posterior_section(post: Any, out: Path) -> list[str]:
    """The report's MCMC section; the kept samples go to ``<spec>.posterior.csv``."""
    import pandas as pd

    samples = out.with_suffix(".posterior.csv")
    pd.DataFrame(post.natural(), columns=post.params).to_csv(samples, index=False)
    return (["", "## Posterior (MCMC)", "", "```", post.table(), "```", ""]
            + [f"- warning: {w}" for w in post.warnings]
            + [f"- samples (natural scale, SI): {samples.name}; the calibrated spec's "
               "[calibration] records their mean and covariance on the fitted scale"])


def _write_report(out: Path, lines: list[str], model: Any, cal: Any, fit_b: list[Any],
                  test_b: list[Any]) -> Path:
    """The calibration report ``<spec>.calibration.md`` (``lines``, then the fits over time
    with their residuals and the parity plot, as PNG files beside it)."""
    from twin.edges.fit_figures import fits_figure, parity_figure

    report = out.with_suffix(".calibration.md")
    parity = parity_figure(model, cal, fit_b, test_b, out.with_suffix(".parity.png"))
    fits = fits_figure(model, cal, fit_b, test_b, out.with_suffix(".fits.png"))
    report.write_text("\n".join(lines) + f"\n\n## Fits and residuals\n\n![fits]({fits.name})"
                      f"\n\n## Parity\n\n![parity]({parity.name})\n")
    return report


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import tomli_w

    from twin.data.checks import line_from_dict, read_toml
    from twin.data.units import to_si
    from twin.fit.calibrate import calibrate, validate
    from twin.fit.calibrate_spec import (
        batches_from,
        calibrated_spec,
        data_hash,
        model_for,
        process_phase,
    )
    from twin.fit.uncertainty import record
    from twin.pilotdata.load import load

    data = read_toml(args.spec)
    line = line_from_dict(data, str(args.spec), Path(args.spec).parent)
    samples = load(args.data, "samples", timezone=args.timezone)
    records = load(args.records, "batches", timezone=args.timezone)
    model, _ = model_for(line, args.station, args.rho_cp, args.t_ref, phase=args.phase,
                         cp_dry=args.cp_dry)
    series = None
    if args.series:
        if not args.tags:
            raise ValueError("--series needs --tags (the tag map naming temperature.STATION)")
        tags = load(args.tags, "tagmap")
        series = load(args.series, "timeseries", tagmap=tags, timezone=args.timezone).frame
    t_start = to_si(args.t_start, "temperature", bare_unit="K") if args.t_start else None
    batches = batches_from(line, args.station, samples.frame, records.frame, _pairs(args.sd),
                           series, phase=args.phase, t_start=t_start)
    test = set(filter(None, (args.test or "").split(",")))
    fit_b = [b for b in batches if b.name not in test]
    test_b = [b for b in batches if b.name in test]
    params = [p.strip() for p in args.params.split(",") if p.strip()]
    cal = calibrate(model, fit_b, params, profile=args.profile)
    post = _posterior(args, model, fit_b, params, cal)
    index, phase = process_phase(line, args.station, args.phase)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = data_hash(*filter(None, (args.data, args.records, args.series, args.tags)))
    head = [f"# Calibrated by `twin calibrate` from {args.spec}",
            f"# data: {args.data}, {args.records} (sha256 {digest})",
            f"# batches fitted: {', '.join(b.name for b in fit_b)}; held out: "
            f"{', '.join(b.name for b in test_b) or 'none'}"
            + (f"; T_ref = {model.t_ref:.6g} K" if hasattr(model, "t_ref") else "")]
    head += [f"# {ln}" for ln in cal.table().splitlines()]
    head += [f"# warning: {w}" for w in cal.warnings]
    head += [f"# {ln}" for ln in (post.table().splitlines() if post else [])]
    spec = calibrated_spec(data, args.station, index, model, cal)
    try:
        spec.setdefault("calibration", {})[args.station] = record(
            model, cal, phase, index, digest=digest, posterior=post)
    except ValueError as exc:  # e.g. a reaction network's parameters: not phase keys
        head.append(f"# joint distribution not recorded: {exc}")
    out.write_text("\n".join(head) + "\n\n" + tomli_w.dumps(spec))
    lines = ["# Calibration report", "", f"spec: {args.spec}; station {args.station}; data "
             f"sha256 {digest}", "", "```", cal.table(), "```", "", "## Correlation", "",
             "| | " + " | ".join(params) + " |", "|---" * (len(params) + 1) + "|"]
    lines += [f"| {p} | " + " | ".join(f"{x:+.3f}" for x in row) + " |"
              for p, row in zip(params, cal.correlation, strict=True)]
    lines += ["", "## Identifiability", ""] + ([f"- {w}" for w in cal.warnings] or ["- none"])
    if post is not None:
        lines += _posterior_section(post, out)
    if test_b:
        v = validate(model, cal, fit_b, test_b, args.tolerance)
        lines += ["", "## Validation on held-out batches", "", v.message, "",
                  "| variable | n | RMSE | MAE | bias | R2 | fit RMSE |", "|---" * 7 + "|"]
        lines += [f"| {r['variable']} | {r['n']} | {r['rmse']:.4g} | {r['mae']:.4g} | "
                  f"{r['bias']:+.4g} | {r['r2']:.4f} | {r['rmse_fit']:.4g} |" for r in v.rows]
        print(v.message)
    report = _write_report(out, lines, model, cal, fit_b, test_b)
    print(cal.table())
    for w in cal.warnings + (post.warnings if post else []):
        print(f"warning: {w}")
    print(post.table() if post else "", end="\n" if post else "")
    print(f"calibrated spec: {out}\ncalibration report: {report}")
    return 0 if not test_b or v.passed else 2


def _cmd_calibrate_line(args: argparse.Namespace) -> int:
    import pandas as pd
    import tomli_w

    from twin.data.checks import line_from_dict, read_toml
    from twin.data.overrides import apply_overrides
    from twin.fit.aggregate import calibrate_line
    from twin.fit.calibrate_spec import data_hash

    data = read_toml(args.spec)
    line = line_from_dict(data, str(args.spec), Path(args.spec).parent)
    periods = pd.read_csv(args.data) if str(args.data).endswith(".csv") \
        else pd.read_parquet(args.data)
    for col in ("period_start", "period_end"):
        if col in periods and not pd.api.types.is_numeric_dtype(periods[col]):
            periods[col] = pd.to_datetime(periods[col], utc=True)
    params = [p.strip() for p in args.params.split(",") if p.strip()]
    cal = calibrate_line(line, periods, params, replications=args.replications,
                         seed=args.seed, warmup=args.warmup)
    spec, _ = apply_overrides(data, {p: d.model_dump(mode="json", by_alias=True,
                                                     exclude_none=True)
                                     for p, d in cal.distributions().items()})
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = data_hash(args.data)
    head = [f"# Calibrated by `twin calibrate-line` from {args.spec} to {args.data} "
            f"(sha256 {digest}), {len(periods)} periods, {args.replications} replications "
            f"from seed {args.seed}"] + [f"# {ln}" for ln in cal.table().splitlines()]
    head += [f"# warning: {w}" for w in cal.warnings]
    out.write_text("\n".join(head) + "\n\n" + tomli_w.dumps(spec))
    report = out.with_suffix(".calibration.md")
    report.write_text("\n".join(["# Calibration to aggregate data", "",
                                 f"spec: {args.spec}; data: {args.data} (sha256 {digest})",
                                 "", "```", cal.table(), "```", ""]
                                + [f"- warning: {w}" for w in cal.warnings]) + "\n")
    print(cal.table())
    for w in cal.warnings:
        print(f"warning: {w}")
    print(f"calibrated spec: {out}\ncalibration report: {report}")
    return 0


def _add_calibrate(sub: Any) -> None:
    """``twin calibrate``: a process station's parameters from lab samples."""
    ca = sub.add_parser("calibrate", help="fit a process station's kinetic, heat-transfer, "
                        "fermentation, drying or crystallisation parameters to lab samples "
                        "of several batches (weighted least squares, intervals)")
    ca.add_argument("spec", help="line spec (line.toml)")
    ca.add_argument("data", help="lab samples (format samples)")
    ca.add_argument("--records", required=True, help="batch records (format batches)")
    ca.add_argument("--station", required=True, help="the process station whose (first) "
                    "react, ferment, dry or crystallise phase is calibrated")
    ca.add_argument("--phase", help="the phase to calibrate, by name or kind (default: the "
                    "station's first react, ferment, dry or crystallise phase)")
    ca.add_argument("--params", required=True, help="comma-separated; react: k_ref, ea, dh, "
                    "ua, k_ref_2, ea_2, dh_2; react with reactions: R.k_ref, R.ea, R.dh, "
                    "R.k_ref_reverse, R.ea_reverse, R.K, R.order.SPECIES (R a reaction's "
                    "name, default r1, r2, ...), ua; ferment: mu_max, ks, ko, y_xs, y_xo, "
                    "m_s, m_o, kla, c_star; dry: h_conv, k_mass, critical_content, "
                    "equilibrium_content; crystallise: k_b, b, k_g, g; any: VAR0@BATCH (a "
                    "batch's initial value)")
    ca.add_argument("--sd", required=True, help="measurement standard deviations in SI by "
                    "variable: react A, B, C (or a network's species by name) mol/m3; "
                    "ferment X, S, O kg/m3; dry X kg/kg dry; crystallise C kg/kg solvent, "
                    "L32, L10 m, N 1/kg, mu1, mu2, mu3 m^k/kg; T K; e.g. A=5,B=5")
    ca.add_argument("--series", help="historian time series with the batch temperature "
                    "(format timeseries; needs --tags)")
    ca.add_argument("--tags", help="tag map naming the signal temperature.STATION")
    ca.add_argument("--test", help="comma-separated batches held out for validation")
    ca.add_argument("--tolerance", type=float, default=2.0, help="validation passes if the "
                    "held-out RMSE is at most this times the fit RMSE (default 2)")
    ca.add_argument("--profile", action="store_true", help="profile-likelihood intervals too")
    ca.add_argument("--mcmc", type=int, metavar="STEPS", help="also sample the Bayesian "
                    "posterior by MCMC (emcee, extra 'bayes') for STEPS steps; the spec's "
                    "[calibration] then records the posterior")
    ca.add_argument("--prior", action="append", metavar="NAME=PRIOR", help="stated prior "
                    "of a parameter (SI): normal(mean, sd), lognormal(median, sigma_log) or "
                    "uniform(low, high); default flat on the fitted scale (repeatable)")
    ca.add_argument("--noise", choices=["estimated", "known"], default="estimated",
                    help="MCMC: sd known up to a common factor (estimated, as the least-"
                    "squares intervals) or as given (known)")
    ca.add_argument("--seed", type=int, default=0, help="seed of the MCMC")
    ca.add_argument("--t-ref", type=float, help="reference temperature [K] (default: jacket)")
    ca.add_argument("--rho-cp", type=float, default=4.0e6, help="volumetric heat capacity "
                    "of the reaction mass [J/(m3 K)] (default 4e6)")
    ca.add_argument("--t-start", help="batch temperature at the phase start when no "
                    "temperature record gives it, e.g. '20 degC' (dry, crystallise; a "
                    "reactor defaults to its jacket)")
    ca.add_argument("--cp-dry", type=float, help="dry solid's heat capacity [J/(kg K)] "
                    "(dry; default: the mean of the line's solid species)")
    ca.add_argument("--timezone", help="IANA zone of times written without one")
    ca.add_argument("-o", "--output", required=True, help="calibrated spec to write")
    ca.set_defaults(func=_cmd_calibrate)


def add_commands(sub: Any) -> None:
    """Add the pilot data commands to the ``twin`` sub-command parser ``sub``."""
    pd_ = sub.add_parser("pilotdata", help="pilot data formats: JSON Schemas and checks")
    pds = pd_.add_subparsers(dest="pilotdata_command", required=True)
    s = pds.add_parser("schema", help="print (or write) the JSON Schema of pilot data formats")
    s.add_argument("kind", nargs="*", help=f"formats (default: all): {', '.join(FORMATS)}")
    s.add_argument("-o", "--output", help="folder to write <format>-<version>.schema.json to")
    s.set_defaults(func=_cmd_schema)
    c = pds.add_parser("check", help="load a pilot data file and report what was dropped "
                       "and why, with file, row and column")
    c.add_argument("kind", choices=list(FORMATS))
    c.add_argument("file", help="CSV or Parquet file")
    c.add_argument("--line", help="line spec whose stations the data must name")
    c.add_argument("--tags", help="tag map (CSV or Parquet) for a time series")
    c.add_argument("--timezone", help="IANA zone of times written without one, e.g. "
                   "Asia/Shanghai")
    c.add_argument("--strict", action="store_true", help="exit 1 if any row was dropped")
    c.set_defaults(func=_cmd_check)
    mi = sub.add_parser("mine", help="mine event and state logs into a draft line spec with "
                        "every fitted number annotated, and a mining report")
    mi.add_argument("logs", nargs="+", help="event logs and state logs (CSV or Parquet)")
    mi.add_argument("-o", "--output", required=True, help="draft spec to write (line.toml)")
    mi.add_argument("--report", help="mining report (default: OUTPUT with .mining.md)")
    mi.add_argument("--line", help="a spec to check the mined routes against (conformance)")
    mi.add_argument("--name", help="line name (default: the output file's stem)")
    mi.add_argument("--end", help="when the logs end (ISO 8601; default: their last time)")
    mi.add_argument("--timezone", help="IANA zone of times written without one")
    mi.add_argument("--seed", type=int, default=0, help="seed of the bootstrap GoF tests")
    mi.add_argument("--rounds", type=int, default=199, help="bootstrap rounds per GoF test")
    mi.add_argument("--renewal-at-start", action="store_true", help="units were new when the "
                    "state log began: count each unit's first time to failure")
    mi.set_defaults(func=_cmd_mine)
    _add_calibrate(sub)
    cl = sub.add_parser("calibrate-line", help="fit scale factors of a discrete line's "
                        "distributions to throughput, WIP and lead time by period "
                        "(simulation under common random numbers)")
    cl.add_argument("spec", help="line spec (line.toml)")
    cl.add_argument("data", help="CSV or Parquet: period_start, period_end and any of "
                    "throughput_per_h, wip_mean, lead_time_mean_h")
    cl.add_argument("--params", required=True, help="comma-separated dotted paths of "
                    "distributions, e.g. stations.cnc.cycle_time,stations.cnc.failures[0].ttf")
    cl.add_argument("--replications", type=int, default=4, help="runs per evaluation")
    cl.add_argument("--seed", type=int, default=1, help="seed of replication 0")
    cl.add_argument("--warmup", type=float, help="warm-up [s] (default: one period)")
    cl.add_argument("-o", "--output", required=True, help="calibrated spec to write")
    cl.set_defaults(func=_cmd_calibrate_line)
