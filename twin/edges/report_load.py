"""Reading the folders a report is made from: run folders, sweep studies, scale-up studies.

A run folder holds ``run.json`` (provenance and KPIs) and the Parquet tables; a study folder
``study.json`` and ``runs/``; a scale-up study folder ``study.json``, ``comparison.csv``,
``lines/`` and ``runs/``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from twin.figures.style import FigureStyle
from twin.figures.timeline import RunFigures

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


class _Tables(Mapping[str, pd.DataFrame]):
    """The Parquet tables of a run folder by name, each read once on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.read:
            path = self.folder / f"{name}.parquet"
            if not path.is_file():
                raise KeyError(name)
            self.read[name] = pd.read_parquet(path)
        return self.read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(p.stem for p in self.folder.glob("*.parquet")))

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class RunFolder:
    """A run folder as the report reads it."""

    path: Path
    summary: dict[str, Any]
    tables: _Tables = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tables = _Tables(self.path)

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

    @property
    def window(self) -> tuple[float, float]:
        """Warm-up and observation period [s] (the window is ``[warmup, warmup + period]``)."""
        s = self.provenance.get("settings") or {}
        return float(s.get("warmup_s") or 0.0), float(s.get("duration_s") or 0.0)

    def table(self, name: str) -> pd.DataFrame | None:
        """The table ``name`` (read once), or None if the run has none."""
        return self.tables.get(name)

    def figures(self, style: FigureStyle) -> RunFigures:
        """The time-series figures of this run."""
        return RunFigures(self.tables, self.parameters, *self.window, style=style)


def report_id(files: Sequence[Path], lang: str) -> str:
    """The id of a report: a hash of the stored files it is made from (``run.json``,
    ``study.json``, ...) and its language, so the same folder gives the same id and any
    change to what it reports gives another (``TR-3f2a9c01de7b``)."""
    digest = hashlib.sha256(lang.encode())
    for f in files:
        digest.update(f.name.encode())
        digest.update(f.read_bytes() if f.is_file() else b"")
    return f"TR-{digest.hexdigest()[:12]}"


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

