"""``twin shadow``: run the twin beside a pilot line (or a replay of its recorded files),
monitor the residuals of its tagged signals and throughput, raise residual alarms, and write
a shadow run folder (see docs/LIVE.md, "The shadow twin")."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
from pathlib import Path
from typing import Any

from twin.data.units import to_si


def _seconds(text: str | None, what: str) -> float | None:
    if text is None or text.lower() == "none":
        return None
    try:
        return to_si(text, "time", bare_unit="s")
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _sigmas(items: list[str], line: Any) -> dict[str, float]:
    """``--sigma SIGNAL=VALUE`` options in SI (a temperature as a difference: K or degC)."""
    from twin.data.alarms import parse_value, signal_tags

    tags = signal_tags(line)
    out: dict[str, float] = {}
    for item in items:
        signal, sep, value = item.partition("=")
        if not sep or signal.strip() not in tags:
            raise ValueError(f"--sigma {item!r}: expected SIGNAL=VALUE with a signal of the "
                             f"line ({', '.join(sorted(tags))})")
        dim = tags[signal.strip()]
        raw: Any = value.strip()
        try:
            raw = float(raw)
        except ValueError:
            pass
        try:
            out[signal.strip()] = parse_value(raw, dim, difference=True)
        except ValueError as exc:
            raise ValueError(f"--sigma {item!r}: {exc}") from None
    return out


def open_source(args: argparse.Namespace, tagmap: Any, stations: list[str]) -> Any:
    """The live source the options name: ``replay`` of recorded files, or a connection
    file (``.toml``: MQTT or OPC UA, see docs/LIVE.md)."""
    from twin.live.sources import open_source as open_live

    if args.source != "replay":
        return open_live(args.source, tagmap)
    if not args.timeseries and not args.events:
        raise ValueError("--source replay needs --timeseries and/or --events files")
    return open_live(None, tagmap, timeseries=args.timeseries, events=args.events,
                     speed=args.speed, stations=stations, timezone=args.timezone)


def _cmd_shadow(args: argparse.Namespace) -> int:
    from twin.data.checks import load_line
    from twin.live.shadow import MonitorSettings, ShadowTwin
    from twin.pilotdata.load import load

    line = load_line(args.file)
    tagmap = load(args.tagmap, "tagmap")
    if tagmap.errors():
        print(tagmap.report())
    settings = MonitorSettings(
        detector=args.detector, arl0=args.arl0, shift=args.shift, side=args.side,
        lam=args.lam, priority=args.priority, window=_seconds(args.window, "--window"),
        kpis=tuple(args.kpi or ["throughput"]),
        calibrate=_seconds(args.calibrate, "--calibrate") or 0.0,
        sigma=_sigmas(args.sigma, line), q=args.q,
        reorder=_seconds(args.reorder, "--reorder") or 0.0,
        reference=_seconds(args.reference, "--reference"),
        warmup=_seconds(args.warmup, "--warmup") or 0.0, seed=args.seed)
    until = _seconds(args.until, "--until")
    signals = sorted(set(tagmap.frame["signal"]))
    print(f"shadow of {line.line.name}: building the twin's predictions ...", flush=True)
    shadow = ShadowTwin(args.file, signals, settings, resync=_resync(args))
    source = open_source(args, tagmap, list(line.stations))
    try:
        if args.serve_opcua is None and args.serve_mqtt is None:
            asyncio.run(shadow.follow(source, until))
        else:
            asyncio.run(_follow_and_serve(args, shadow, source, until))
    except KeyboardInterrupt:
        print("interrupted: writing what was monitored so far")
    result = shadow.finish()
    folder = result.save(args.out)
    _print_summary(result, folder)
    return 0


async def _follow_and_serve(args: argparse.Namespace, shadow: Any, source: Any,
                            until: float | None) -> None:
    """Follow the source while serving the shadow over OPC UA and/or MQTT."""
    from contextlib import AsyncExitStack

    from twin.edges.cli_plant import host_port
    from twin.live.connection import MqttSettings
    from twin.live.serve import serve_shadow
    from twin.live.shadow_points import shadow_points

    name = f"{shadow.line.line.name}_shadow"
    async with AsyncExitStack() as stack:
        server = publisher = None
        if args.serve_opcua is not None:
            from twin.live.opcua_server import TwinServer

            server = await stack.enter_async_context(TwinServer(
                name, shadow_points(shadow), host=args.serve_host, port=args.serve_opcua))
            print(f"serving the shadow over OPC UA at {server.endpoint}", flush=True)
        if args.serve_mqtt is not None:
            from twin.live.mqtt_publisher import Publisher

            host, port = host_port(args.serve_mqtt, "--serve-mqtt")
            publisher = await stack.enter_async_context(Publisher(MqttSettings(
                host=host, port=port, prefix=args.serve_prefix or f"twin/{name}",
                client_id=f"pilot-twin-{name}", username=args.serve_mqtt_user or "",
                password_env=args.serve_mqtt_password_env)))
        await serve_shadow(shadow, source, server=server, publisher=publisher, until=until)


def _resync(args: argparse.Namespace) -> Any:
    """The re-sync settings of ``--resync`` / ``--resync-on`` (None: neither given)."""
    from twin.live.resync import ResyncSettings

    on = tuple(e for e in (args.resync_on or "").split(",") if e)
    if args.resync is None and not on:
        return None
    return ResyncSettings(
        period=_seconds(args.resync, "--resync"), on=on,
        min_gap=_seconds(args.resync_gap, "--resync-gap") or 0.0,
        replications=args.forecast_replications, level=args.forecast_level,
        horizon=_seconds(args.forecast_horizon, "--forecast-horizon"), seed=args.seed)


def _print_summary(result: Any, folder: Path) -> None:
    r = result.residuals
    sh = result.shadow
    print(f"followed {result.end / 3600:.2f} h of plant data from "
          f"{result.summary()['provenance']['origin_utc']}")
    for signal, track in sh.tracks.items():
        rows = r[r["signal"] == signal]
        alarms = rows[rows["alarm"]]
        first = f", first at {alarms['time'].iloc[0] / 3600:.2f} h" if len(alarms) else ""
        d = track.detector
        print(f"  {signal}: {len(rows)} residuals, {d.kind} ARL0 {d.arl0:g} samples "
              f"(limit {d.limit:.3f} sd), {len(alarms)} signals{first}")
    for signal, why in sh.unmonitored.items():
        print(f"  {signal}: not monitored ({why})")
    st = sh.stats
    if st:
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(st.get("rejected", {}).items()))
        print(f"source: {st.get('received', 0)} received, {st.get('used', 0)} used"
              + (f", rejected: {rejected}" if rejected else "")
              + (f", {st['disconnects']} disconnects" if st.get("disconnects") else "")
              + (f", {sh.late} late items dropped" if sh.late else ""))
    if sh.resync is not None:
        rs = sh.resync
        print(f"re-synced to the plant's state {rs.count} times (forecasts in the run "
              f"folder)" + (f", {len(rs.failures)} failed" if rs.failures else ""))
    print(f"run folder: {folder}")


def add_commands(sub: Any) -> None:
    """Add ``twin shadow`` to the ``twin`` sub-command parser ``sub``."""
    s = sub.add_parser("shadow", help="run the twin beside a pilot line: residuals of its "
                       "tagged signals and throughput, residual alarms, a shadow run folder")
    s.add_argument("file", help="the twin's line spec (line.toml)")
    s.add_argument("--source", required=True, help="'replay' (recorded pilot-data files: "
                   "--timeseries, --events) or a connection file (.toml: MQTT or OPC UA)")
    s.add_argument("--tagmap", required=True, help="tag map (pilot-data format tagmap)")
    s.add_argument("--timeseries", help="replay: historian time series file")
    s.add_argument("--events", help="replay: part and lot event log")
    s.add_argument("--speed", type=float, default=math.inf,
                   help="replay: plant seconds per wall second (default: as fast as possible)")
    s.add_argument("--timezone", help="zone of times written without one (e.g. Asia/Shanghai)")
    s.add_argument("--out", default="runs", help="folder for the run folder (default: runs)")
    s.add_argument("--until", help="stop after this much plant time, e.g. 8h (default: the "
                   "end of the source)")
    s.add_argument("--detector", choices=["cusum", "ewma"], default="cusum")
    s.add_argument("--arl0", type=float, default=1000.0, help="in-control average run "
                   "length: mean residuals between false alarms of one signal (default 1000)")
    s.add_argument("--shift", type=float, default=1.0,
                   help="mean shift to detect quickest, in residual sigmas (default 1)")
    s.add_argument("--side", choices=["two", "upper", "lower"], default="two")
    s.add_argument("--lam", type=float, default=0.1, help="EWMA weight (default 0.1)")
    s.add_argument("--priority", choices=["low", "medium", "high", "urgent"], default="high",
                   help="priority of the residual alarms (default high)")
    s.add_argument("--window", default="1h",
                   help="window of the rolling KPIs (default 1h; 'none': no KPI)")
    s.add_argument("--kpi", action="append", choices=["throughput", "yield", "lead_time"],
                   help="a rolling KPI to monitor from the plant's events (repeatable; "
                   "default: throughput)")
    s.add_argument("--calibrate", default="1h", help="in-control window at the start from "
                   "which each continuous signal's sigma is estimated (default 1h)")
    s.add_argument("--sigma", action="append", default=[], metavar="SIGNAL=VALUE",
                   help="known measurement sigma of a signal, e.g. "
                   "temperature.reactor='0.5 K' (repeatable; skips its calibration)")
    s.add_argument("--q", type=float, default=0.0, help="Kalman process-noise intensity "
                   "[SI^2/s] of continuous signals (default 0: the model is exact)")
    s.add_argument("--reorder", default="0 s", help="hold items this long (plant time) "
                   "to use them in time order when tags and events arrive out of order "
                   "(default 0; e.g. 5min for a live source)")
    s.add_argument("--reference", help="length of the twin's reference run (default: 200 "
                   "windows, at least 1 d)")
    s.add_argument("--warmup", help="warm-up of the reference run (default 0)")
    s.add_argument("--seed", type=int, default=1, help="seed of the reference run")
    s.add_argument("--resync", metavar="PERIOD", help="rebuild the plant's state from what "
                   "was received and forecast from it every PERIOD of plant time, e.g. 1h")
    s.add_argument("--resync-on", metavar="EVENTS", help="and on these plant events, e.g. "
                   "start,complete (batch starts and ends)")
    s.add_argument("--resync-gap", default="10 min", help="shortest plant time between two "
                   "re-syncs on events (default 10 min)")
    s.add_argument("--forecast-replications", type=int, default=9, metavar="N",
                   help="replications of each forecast (default 9)")
    s.add_argument("--forecast-level", type=float, default=0.8,
                   help="coverage of its prediction intervals (default 0.8)")
    s.add_argument("--forecast-horizon", help="how far it looks (default: end of the day)")
    s.add_argument("--serve-opcua", type=int, metavar="PORT", help="serve the shadow "
                   "(measured, predicted, residuals, forecasts) over OPC UA on this port")
    s.add_argument("--serve-host", default="127.0.0.1",
                   help="address its OPC UA server binds to (default 127.0.0.1)")
    s.add_argument("--serve-mqtt", metavar="HOST:PORT", help="publish the shadow's values "
                   "to this MQTT broker")
    s.add_argument("--serve-prefix", help="their topic prefix (default twin/<line>_shadow)")
    s.add_argument("--serve-mqtt-user", help="MQTT user name")
    s.add_argument("--serve-mqtt-password-env", default="", metavar="VAR",
                   help="environment variable holding the MQTT password")
    s.add_argument("-v", "--verbose", action="store_true",
                   help="log every rejected value and connection event")
    s.set_defaults(func=_cmd_shadow_logged)


def _cmd_shadow_logged(args: argparse.Namespace) -> int:
    """Show the sources' log lines (rejections, disconnects) on the terminal, then run."""
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return _cmd_shadow(args)
