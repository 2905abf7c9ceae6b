"""The report and figure modules stay small: no module over 800 lines, no function over 80."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted([*(ROOT / "twin" / "edges").glob("report*.py"),
                  *(ROOT / "twin" / "figures").glob("*.py")])


def test_report_and_figure_modules_are_small() -> None:
    assert len(MODULES) >= 8
    too_long = []
    for path in MODULES:
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > 800:
            too_long.append(f"{path.name}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 80:
                    too_long.append(f"{path.name}:{node.name}: {length} lines")
    assert not too_long, too_long
