"""Overrides: dotted paths into spec data (``"stations.assembly.servers" = 3``).

:func:`apply_overrides` sets values in a copy of the raw spec data and reports paths that do
not lead anywhere; the result is validated like any spec, and problems under an overridden
path are reported against the override that caused them.
"""

from __future__ import annotations

import copy
import difflib
import re
from typing import Any

from twin.data.checks import Problem

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


def relocate(problems: list[Problem], overrides: dict[str, Any]) -> list[Problem]:
    """Report validation problems under an overridden path against that override."""
    out = []
    for p in problems:
        owner = next((k for k in overrides if p.path == k or p.path.startswith(k + ".")
                      or p.path.startswith(k + "[")), None)
        out.append(Problem(f"overrides[{owner!r}]", f"{p.path}: {p.message}") if owner else p)
    return out
