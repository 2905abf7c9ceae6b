"""``twin fmu LINE --unit U -o FILE``: export a process unit's reactor kernel as an FMI 2.0
co-simulation FMU, and print the recipe phase that runs it in the line."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from twin.data.units import to_si


def toml_inline(value: Any) -> str:
    """``value`` (str, number, bool or dict of them) as a TOML inline value."""
    if isinstance(value, dict):
        items = [f"{k if k.replace('_', '').isalnum() else json.dumps(k)} = "
                 f"{toml_inline(v)}" for k, v in value.items()]
        return "{ " + ", ".join(items) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _cmd_fmu(args: argparse.Namespace) -> int:
    from twin.data.checks import load_line
    from twin.process.fmu_export import export_reactor

    line = load_line(args.line)
    phase = export_reactor(line, args.unit, args.output, phase=args.phase,
                           step=to_si(args.step, "time", bare_unit="s"), rtol=args.rtol)
    phase["fmu"] = os.path.relpath(Path(args.output).resolve(), Path(args.line).resolve().parent)
    print(f"wrote {args.output}: the reactor kernel of {args.unit!r} as an FMI 2.0 "
          "co-simulation FMU")
    print(f"to run it in the line, put this phase in place of {phase['name']!r} in the "
          f"recipe of {args.unit!r}:\n")
    print(f"  {toml_inline(phase)},")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``fmu`` to the ``twin`` command."""
    f = sub.add_parser("fmu", help="export a process unit's reactor kernel as a "
                       "co-simulation FMU (FMI 2.0; needs the fmi extra)")
    f.add_argument("line", help="line spec (line.toml)")
    f.add_argument("--unit", required=True, help="the process unit, e.g. reactor")
    f.add_argument("--phase", help="name of its react phase (default: the only one)")
    f.add_argument("--step", default="60 s",
                   help="communication step of the phase that runs it (default 60 s)")
    f.add_argument("--rtol", type=float, default=1e-6,
                   help="relative tolerance of the FMU's integrator (default 1e-6)")
    f.add_argument("-o", "--output", required=True, help="FMU file to write (.fmu)")
    f.set_defaults(func=_cmd_fmu)
