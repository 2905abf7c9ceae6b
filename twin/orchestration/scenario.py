"""Loading scenarios (TOML files or Python scripts) and turning them into prepared runs.

A scenario file::

    [scenario]
    name = "third_bench"
    line = "../lines/servo_actuator/line.toml"

    [run]
    duration = "14 d"
    warmup = "2 d"
    replications = 10
    seed = 1

    [overrides]
    "stations.assembly.servers" = 3

    [[events]]
    kind = "failure"
    station = "cnc"
    at = "3 d"
    duration = "8 h"

    [sweep]
    design = "grid"
    factors."operators.assemblers.count" = { levels = [2, 3] }

A Python scenario script defines a module-level ``scenario`` (a :class:`Scenario`, a
:class:`~twin.data.scenario.ScenarioSpec` or a dict of the same keys).
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.data.checks import Problem, SpecError, read_toml, schema_problems
from twin.data.overrides import line_with_overrides
from twin.data.scenario import ScenarioSpec
from twin.observation import catalogue
from twin.orchestration.design import DesignError, design_points
from twin.orchestration.run import PreparedRun, prepare


@dataclass(frozen=True)
class Scenario:
    """A validated scenario and the folder its relative paths start from."""

    spec: ScenarioSpec
    base_dir: Path

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_dict(cls, data: Any, base_dir: str | Path = ".",
                  source: str = "scenario") -> Scenario:
        """Validate scenario data (the keys of :class:`ScenarioSpec`)."""
        if isinstance(data, dict) and isinstance(data.get("scenario"), dict):
            data = {**data["scenario"], **{k: v for k, v in data.items() if k != "scenario"}}
        try:
            spec = ScenarioSpec.model_validate(data)
        except ValidationError as exc:
            raise SpecError(schema_problems(exc), source) from None
        scenario = cls(spec, Path(base_dir))
        scenario.check(source)
        return scenario

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read a scenario from a ``.toml`` file or a ``.py`` script."""
        p = Path(path)
        if p.suffix == ".py":
            if not p.is_file():
                raise SpecError([Problem("", f"file not found: {p}")], str(p))
            namespace = runpy.run_path(str(p), run_name="__scenario__")
            obj = namespace.get("scenario")
            if obj is None:
                raise SpecError([Problem("", "the script defines no 'scenario'")], str(p))
            if isinstance(obj, Scenario):
                obj.check(str(p))
                return obj
            if isinstance(obj, ScenarioSpec):
                obj = obj.model_dump(by_alias=True)
            return cls.from_dict(obj, p.parent, str(p))
        return cls.from_dict(read_toml(p), p.parent, str(p))

    # ------------------------------------------------------------------ pieces

    @property
    def name(self) -> str:
        """The scenario's name (also its study folder's name)."""
        return self.spec.name

    def line_path(self) -> Path:
        """The base line file."""
        return (self.base_dir / self.spec.line).resolve()

    def line_data(self) -> dict[str, Any]:
        """The base line as raw data (before overrides)."""
        return read_toml(self.line_path())

    def points(self) -> list[dict[str, Any]]:
        """Overrides of each design point: the scenario's, then the point's factors."""
        if self.spec.sweep is None:
            return [dict(self.spec.overrides)]
        return [{**self.spec.overrides, **p} for p in design_points(self.spec.sweep)]

    def line_for(self, overrides: dict[str, Any], source: str = "") -> Any:
        """The validated line with ``overrides`` applied (problems name the override)."""
        return line_with_overrides(self.line_data(), overrides, self.line_path().parent,
                                   source or f"scenario {self.name!r}")

    def check(self, source: str = "scenario") -> None:
        """Validate everything a run needs (line, every point's overrides, events)."""
        if not self.line_path().is_file():
            raise SpecError([Problem("line", f"no line file at {self.line_path()}")], source)
        try:
            points = self.points()
        except DesignError as exc:
            raise SpecError([Problem("sweep", str(exc))], source) from None
        seen: set[str] = set()
        for i, point in enumerate(points):
            key = repr(sorted(point.items()))
            if key in seen:
                continue
            seen.add(key)
            self.line_for(point, f"{source}, design point {i}")
        try:
            prepared = self.prepare(points[0], self.spec.run.seed, warmup=0.0)
        except SpecError as exc:
            raise SpecError(exc.problems, source) from None
        problems = self.kpi_problems(catalogue.line_kind(bool(prepared.line.species)),
                                     bool(prepared.line.alarms), prepared.line.costs is not None)
        if problems:
            raise SpecError(problems, source)

    def kpi_problems(self, kind: str, alarms: bool, costs: bool = True) -> list[Problem]:
        """The ranking and target KPIs must be line KPIs of the catalogue that a line of
        ``kind`` reports; ranking needs a direction (the KPI's or ``maximize``)."""
        out = []
        for where, key in (("rank_by", self.spec.rank_by),
                           ("run.target_kpi", self.spec.run.target_kpi)):
            try:
                entry = catalogue.kpi(key)
            except catalogue.UnknownKPI as exc:
                out.append(Problem(where, str(exc)))
                continue
            if not entry.applies_to(kind, alarms, costs):
                needs = (f"lines with {entry.requires}" if entry.requires
                         else " or ".join(sorted(entry.kinds)) + " lines")
                out.append(Problem(where, f"KPI {key!r} exists only for {needs}; "
                                          f"this is a {kind} line"))
            elif (where == "rank_by" and entry.higher_is_better is None
                  and self.spec.maximize is None):
                out.append(Problem(where, f"KPI {key!r} has no better direction: "
                                          "set 'maximize' to rank by it"))
        return out

    def ranking(self) -> tuple[str, bool]:
        """The ranking KPI and whether higher is better (``maximize``, else the catalogue's
        direction of the KPI)."""
        key, maximize = self.spec.rank_by, self.spec.maximize
        if maximize is None:
            maximize = bool(catalogue.kpi(key).higher_is_better)
        return key, maximize

    def prepare(self, overrides: dict[str, Any], seed: int,
                warmup: float | None = None, record: str | None = None) -> PreparedRun:
        """A prepared run of one design point with one seed (``record``: default the
        scenario's ``run.record``)."""
        run = self.spec.run
        wu = warmup if warmup is not None else (None if run.warmup in (None, "auto")
                                                 else run.warmup)
        return prepare(self.line_for(overrides), duration=run.duration, warmup=wu, seed=seed,
                       events=self.spec.events, engine=run.engine, calibrated=run.calibrated,
                       record=record or run.record)
