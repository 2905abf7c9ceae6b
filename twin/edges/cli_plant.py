"""``twin plant``: run a virtual plant (a line with hidden perturbations and injected faults)
that publishes to an MQTT broker and serves OPC UA, for a shadow twin to follow."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from typing import Any


def host_port(text: str, option: str = "--mqtt") -> tuple[str, int]:
    """``HOST:PORT`` of an MQTT broker option, or an error naming ``option``."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{option} {text!r}: write HOST:PORT, e.g. 127.0.0.1:1883")
    return host, int(port)


def _mqtt_settings(args: argparse.Namespace, line_name: str) -> Any:
    from twin.live.connection import MqttSettings, load_connection

    if args.mqtt_connection:
        settings = load_connection(args.mqtt_connection)
        if not isinstance(settings, MqttSettings):
            raise ValueError(f"--mqtt-connection {args.mqtt_connection}: not an MQTT "
                             "connection (kind = \"mqtt\")")
        return settings
    if not args.mqtt:
        return None
    host, port = host_port(args.mqtt)
    return MqttSettings(host=host, port=port, prefix=args.prefix or f"plant/{line_name}",
                        client_id=f"pilot-twin-plant-{line_name}",
                        username=args.mqtt_user or "", password_env=args.mqtt_password_env)


def _cmd_plant(args: argparse.Namespace) -> int:
    from twin.live.plant import make_plant, run_plant

    # the OPC UA library warns on every start that an open endpoint signs nothing: the
    # command states the endpoint and its security itself
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    plant = make_plant(args.spec, perturb=args.perturb, faults=args.fault, noise=args.noise,
                       seed=args.seed, duration=args.duration, warmup=args.warmup)
    if args.tagmap:
        plant.tagmap.frame().to_csv(args.tagmap, index=False)
    name = plant.prep.line.line.name
    mqtt = _mqtt_settings(args, name)
    speed = None if args.speed <= 0 else args.speed
    where = [f"MQTT {mqtt.host}:{mqtt.port} under {mqtt.prefix}/" if mqtt else "",
             f"OPC UA opc.tcp://{args.opcua_host}:{args.opcua}" if args.opcua else ""]
    print(f"plant {name}: {plant.prep.duration / 3600:g} h at "
          f"{'full speed' if speed is None else f'{speed:g} s per s'}; "
          + (", ".join(w for w in where if w) or "not published"), flush=True)
    try:
        folder = asyncio.run(run_plant(plant, args.out, speed=speed, mqtt=mqtt,
                                       opcua_port=args.opcua, opcua_host=args.opcua_host))
    except KeyboardInterrupt:
        print("stopped: the plant's run is not saved", flush=True)
        return 130
    from twin.observation.runfolder import read_summary

    truth = read_summary(folder)["provenance"]["plant"]
    print(json.dumps({"folder": str(folder), "truth": truth}, indent=2) if args.json
          else f"run folder: {folder}\ntruth: provenance.plant in {folder / 'run.json'}")
    return 0


def add_commands(sub: Any) -> None:
    """Add ``twin plant`` to the ``twin`` sub-command parser ``sub``."""
    p = sub.add_parser("plant", help="run a virtual plant with hidden perturbations and "
                       "faults, publishing over MQTT and OPC UA in accelerated real time")
    p.add_argument("spec", help="line spec (line.toml)")
    p.add_argument("--perturb", action="append", default=[], metavar="PATH=VALUE",
                   help="a hidden change of the spec, as --set of twin run (repeatable)")
    p.add_argument("--fault", action="append", default=[], metavar="FAULT",
                   help="'<station>.cycle_time x1.3 at 2 h', '<station> down at 2 h for 30 "
                   "min' or 'utility.<name> out at 2 h for 1 h' (repeatable)")
    p.add_argument("--noise", action="append", default=[], metavar="SIGNAL=SD",
                   help="sensor noise of a published signal, e.g. 'temperature.reactor=0.5 K' "
                   "(repeatable)")
    p.add_argument("--tagmap", metavar="FILE", help="write the tag map the plant publishes "
                   "with (pilot-data tagmap CSV) before it starts, for a shadow twin")
    p.add_argument("--speed", type=float, default=600.0, help="simulated seconds per second "
                   "(default 600; 0: as fast as possible)")
    p.add_argument("--mqtt", metavar="HOST:PORT", help="publish to this MQTT broker")
    p.add_argument("--prefix", help="MQTT topic prefix (default plant/<line>)")
    p.add_argument("--mqtt-user", help="MQTT user name")
    p.add_argument("--mqtt-password-env", default="", metavar="VAR",
                   help="environment variable holding the MQTT password")
    p.add_argument("--mqtt-connection", metavar="FILE", help="an MQTT connection file "
                   "(TLS, credentials; see docs/LIVE.md) instead of --mqtt")
    p.add_argument("--opcua", type=int, metavar="PORT", help="serve OPC UA on this port")
    p.add_argument("--opcua-host", default="127.0.0.1",
                   help="address the OPC UA server binds to (default 127.0.0.1)")
    p.add_argument("--duration", help="run length, e.g. 8h (default: the spec's)")
    p.add_argument("--warmup", help="warm-up (default: the spec's)")
    p.add_argument("--seed", type=int, help="random seed (default: the spec's)")
    p.add_argument("--out", default="runs", help="folder of the run folder (default runs)")
    p.add_argument("--json", action="store_true", help="print the folder and truth as JSON")
    p.set_defaults(func=_cmd_plant)
