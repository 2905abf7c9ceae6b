"""The layers contract: each layer imports only the layers below it (see pyproject.toml)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layers_import_downward_only() -> None:
    """import-linter checks the contract declared in pyproject.toml."""
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Layers import downward only KEPT" in proc.stdout


def test_kernels_import_only_numerics() -> None:
    """Kernels may import numpy, numba, math and the stdlib, nothing of the rest of twin."""
    allowed_twin = "twin.kernels"
    banned = {"simpy", "pandas", "pydantic", "pint", "scipy", "matplotlib"}
    for path in (ROOT / "twin" / "kernels").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in banned, f"{path.name} imports {name}"
                if top == "twin":
                    assert name.startswith(allowed_twin), f"{path.name} imports {name}"


def test_importing_twin_is_light() -> None:
    """``import twin`` loads no engine or data libraries (no import-time work)."""
    code = ("import sys, twin; "
            "print(sorted(m for m in ('simpy','pandas','numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
