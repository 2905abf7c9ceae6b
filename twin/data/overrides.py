"""Overrides: dotted paths into spec data (``"stations.assembly.servers" = 3``).

:func:`apply_overrides` sets values in a copy of the raw spec data and reports paths that do
not lead anywhere; the result is validated like any spec, and problems under an overridden
path are reported against the override that caused them.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

from twin.data.checks import Problem, SpecError, validate
from twin.data.spec import LineSpec

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """``"stations.cnc.failures[0].ttr"`` -> ``["stations", "cnc", "failures", 0, "ttr"]``."""
    parts: list[str | int] = []
    pos = 0
    for m in _PART.finditer(path):
        between = path[pos:m.start()]
        if between not in ("", "."):
            raise ValueError(f"cannot read path {path!r}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not parts or path[pos:] or path.startswith(".") or ".." in path:
        raise ValueError(f"cannot read path {path!r}")
    return parts


def apply_overrides(data: dict[str, Any],
                    overrides: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Apply ``overrides`` to a deep copy of ``data``; returns it and the path problems."""
    out = copy.deepcopy(data)
    problems: list[Problem] = []
    for key, value in overrides.items():
        where = f"overrides[{key!r}]"
        try:
            parts = split_path(key)
        except ValueError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        node: Any = out
        for depth, part in enumerate(parts[:-1]):
            nxt = _child(node, part)
            if nxt is None:
                problems.append(Problem(where, _missing(node, parts[: depth + 1])))
                break
            node = nxt
        else:
            last = parts[-1]
            if isinstance(node, dict) and isinstance(last, str):
                node[last] = copy.deepcopy(value)
            elif isinstance(node, list) and isinstance(last, int) and last < len(node):
                node[last] = copy.deepcopy(value)
            else:
                problems.append(Problem(where, _missing(node, parts)))
    return out, problems


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict) and isinstance(part, str):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _missing(node: Any, parts: list[str | int]) -> str:
    shown = ".".join(str(p) for p in parts)
    if isinstance(node, dict) and isinstance(parts[-1], str):
        close = difflib.get_close_matches(parts[-1], [str(k) for k in node], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{shown!r} does not exist in the line{hint}"
    return f"{shown!r} does not exist in the line"


def parse_assignment(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` as written on a command line (``twin run --set``).

    VALUE is read as a TOML value when it is one (``3``, ``0.25``, ``true``, ``"4 min"``,
    ``[1, 2]``, ``{ dist = "exponential", mean = "4 min" }``), else kept as the text itself,
    so quantities need no quotes: ``stations.cnc.cycle_time=4.5 min``; the spec parses their
    units like those of a line file.
    """
    path, sep, value = text.partition("=")
    path, value = path.strip(), value.strip()
    if not sep or not path:
        raise ValueError(f"{text!r}: write PATH=VALUE, e.g. stations.cnc.servers=2")
    split_path(path)  # a malformed path fails here, naming it
    try:
        return path, tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return path, value


def line_with_overrides(data: dict[str, Any], overrides: dict[str, Any],
                        base_dir: str | Path = ".", source: str = "line spec") -> LineSpec:
    """The validated line of ``data`` with ``overrides`` applied.

    Raises
    ------
    SpecError
        With every problem; a path that leads nowhere, or a value that does not validate,
        is reported against its override (``overrides['stations.cnc.servers']: ...``).
    """
    out, problems = apply_overrides(data, overrides)
    if not problems:
        line, found = validate(out, base_dir)
        problems = relocate(found, overrides)
        if line is not None:
            return line
    raise SpecError(problems, source)


def relocate(problems: list[Problem], overrides: dict[str, Any]) -> list[Problem]:
    """Report validation problems under an overridden path against that override."""
    out = []
    for p in problems:
        owner = next((k for k in overrides if p.path == k or p.path.startswith(k + ".")
                      or p.path.startswith(k + "[")), None)
        out.append(Problem(f"overrides[{owner!r}]", f"{p.path}: {p.message}") if owner else p)
    return out
