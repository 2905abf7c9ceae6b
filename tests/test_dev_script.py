"""``dev.py pilot`` installs only the runtime; ``dev.py test`` adds the test tools."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list]:
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    py = tmp_path / "python"
    py.write_text("")
    monkeypatch.setattr(dev, "PY", py)
    monkeypatch.setattr(dev, "STAMP", tmp_path / "stamp")
    calls: list = []
    monkeypatch.setattr(dev.subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    return dev, calls


def _installed(calls: list) -> list[str]:
    return [c[-1] for c in calls if "-e" in c]


def test_pilot_installs_the_runtime_only_and_test_adds_the_tools(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dev, calls = _dev(tmp_path, monkeypatch)
    dev._ensure_env(with_tests=False)
    assert _installed(calls) == [str(ROOT)]
    calls.clear()
    dev._ensure_env(with_tests=False)  # up to date: nothing installed
    assert _installed(calls) == []
    dev._ensure_env(with_tests=True)
    assert _installed(calls) == [f"{ROOT}[test]"]
    calls.clear()
    dev._ensure_env(with_tests=False)  # the test install covers the runtime
    dev._ensure_env(with_tests=True)
    assert _installed(calls) == []
