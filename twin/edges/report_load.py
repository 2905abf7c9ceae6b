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
from twin.observation import runfolder
from twin.observation.runfolder import STUDY_FILE, read_study

LINES_DIR = Path(__file__).resolve().parents[2] / "lines"
"""The reference lines (their READMEs are found by line name for scale-up studies)."""


class ReportError(ValueError):
    """The path is not a run folder, a study folder or a scale-up study folder."""


# --------------------------------------------------------------------------- reading folders


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path`` (ReportError if it cannot be read or is not an object)."""
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
            try:
                frame = runfolder.read_table(self.folder, name)
            except runfolder.RunFolderError as exc:
                raise ReportError(str(exc)) from None
            if frame is None:
                raise KeyError(name)
            self.read[name] = frame
        return self.read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(runfolder.table_names(self.folder))

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
        state = runfolder.state(path)
        if state.status == "damaged":
            raise ReportError(f"cannot read {path / state.file}: {state.reason} (damaged run "
                              "folder)")
        return cls(path, runfolder.read_summary(path))

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
    """``run``, ``study`` (a sweep) or ``scaleup``, from the folder's declared kind."""
    if runfolder.is_run_folder(path):
        return "run"
    if (path / STUDY_FILE).is_file():
        try:
            kind = read_study(path)["kind"]
        except ValueError as exc:
            raise ReportError(str(exc)) from None
        if kind == "scaleup" and not (path / "comparison.csv").is_file():
            raise ReportError(f"{path} is a scale-up study without comparison.csv (not "
                              "finished)")
        return "study" if kind == "sweep" else kind
    raise ReportError(f"{path} is not a run folder (run.json) or a study folder (study.json)")


def load_runs(runs_dir: Path, ids: Sequence[str]) -> dict[str, RunFolder]:
    """The readable run folders among ``ids`` under ``runs_dir`` (missing or damaged ones
    are left out; the report lists them with their status)."""
    out = {}
    for rid in ids:
        if runfolder.is_run_folder(runs_dir / rid):
            try:
                out[rid] = RunFolder.load(runs_dir / rid)
            except ReportError:
                continue
    return out


def find_readme(source: str | None, base: Path) -> Path | None:
    """The README.md next to the line file a run came from, or None."""
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

