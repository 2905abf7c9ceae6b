"""Reading the folders a report is made from: run folders, sweep studies, scale-up studies.

A run folder holds ``run.json`` (provenance and KPIs) and the Parquet tables; a study folder
``study.json`` and ``runs/``; a scale-up study folder ``study.json``, ``comparison.csv``,
``lines/`` and ``runs/``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

LINES_DIR = Path(__file__).resolve().parents[2] / "lines"
"""The reference lines (their READMEs are found by line name for scale-up studies)."""


class ReportError(ValueError):
    """The path is not a run folder, a study folder or a scale-up study folder."""


# --------------------------------------------------------------------------- reading folders


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path} does not hold a JSON object")
    return data


@dataclass
class RunFolder:
    """A run folder as the report reads it."""

    path: Path
    summary: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> RunFolder:
        summary = read_json(path / "run.json")
        if not isinstance(summary.get("provenance"), dict):
            raise ReportError(f"{path / 'run.json'} has no provenance: not a run folder")
        return cls(path, summary)

    @property
    def provenance(self) -> dict[str, Any]:
        return self.summary["provenance"]

    @property
    def kpis(self) -> dict[str, Any]:
        return self.summary.get("kpis") or {}

    @property
    def parameters(self) -> dict[str, Any]:
        return self.provenance.get("parameters") or {}

    @property
    def failed(self) -> bool:
        return self.provenance.get("status") != "completed"

    def table(self, name: str) -> pd.DataFrame | None:
        path = self.path / f"{name}.parquet"
        return pd.read_parquet(path) if path.is_file() else None


def folder_kind(path: Path) -> str:
    if (path / "run.json").is_file():
        return "run"
    if (path / "study.json").is_file():
        meta = read_json(path / "study.json")
        if "tasks" in meta and "points" in meta:
            return "study"
        if "volumes_m3" in meta and (path / "comparison.csv").is_file():
            return "scaleup"
        raise ReportError(f"{path / 'study.json'} is neither a sweep study nor a scale-up "
                          "study")
    raise ReportError(f"{path} is not a run folder (run.json) or a study folder (study.json)")


def load_runs(runs_dir: Path, ids: Sequence[str]) -> dict[str, RunFolder]:
    out = {}
    for rid in ids:
        if (runs_dir / rid / "run.json").is_file():
            try:
                out[rid] = RunFolder.load(runs_dir / rid)
            except ReportError:
                continue
    return out


def find_readme(source: str | None, base: Path) -> Path | None:
    if not source or source == "python":
        return None
    src = Path(source)
    candidates = [src] if src.is_absolute() else [Path.cwd() / src, base / src,
                                                  LINES_DIR.parent / src]
    for c in candidates:
        readme = c.parent / "README.md"
        if c.is_file() and readme.is_file():
            return readme
    return None

