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
