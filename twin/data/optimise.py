"""The ``[optimise]`` section of a scenario: decision variables, objectives and constraints.

Decision variables are dotted paths into the line spec, like sweep factors::

    [optimise]
    objectives = ["throughput_per_h"]          # direction from the KPI catalogue
    budget = 40                                # candidate designs to evaluate
    replications = 3                           # per candidate, common random numbers

    [optimise.variables."stations.m2.buffer"]
    low = 1
    high = 8                                   # integers when both bounds are integers

    [optimise.variables."stations.oven.setpoint"]
    low = "120 degC"
    high = "160 degC"                          # continuous, in one unit

    [optimise.variables."calendar"]
    levels = ["two_shifts", "three_shifts"]   # categorical

    [[optimise.linear]]                        # e.g. a total buffer budget
    terms = { "stations.m2.buffer" = 1, "stations.m3.buffer" = 1 }
    max = 10

    [[optimise.constraints]]                   # on any KPI of a run (mean over replications)
    kpi = "utilisation_max"
    max = 0.95

The variables are checked against the line when the scenario is loaded; the optimiser and its
statistics live in :mod:`twin.optimise`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from twin.data.quantities import PositiveInt
from twin.data.spec import Model


class Variable(Model):
    """A decision variable: a range ``low``..``high`` or a list of ``levels``.

    A range of two integers is an integer variable unless ``integer = false``; a range of
    quantities (``"2 min"``..``"6 min"``) is continuous and is set as a quantity in the unit
    of ``low``; ``levels`` are categorical (any values, tried as given).
    """

    low: int | float | str | None = None
    high: int | float | str | None = None
    levels: list[Any] | None = Field(None, min_length=2)
    integer: bool | None = None
    step: float | None = Field(None, gt=0.0, description="grid step of a numeric range")

    @model_validator(mode="after")
    def _one_kind(self) -> Variable:
        if (self.levels is None) == (self.low is None or self.high is None):
            raise ValueError("give either 'levels' or both 'low' and 'high'")
        if self.levels is not None and (self.integer is not None or self.step is not None):
            raise ValueError("'integer' and 'step' apply to a range, not to 'levels'")
        return self


class Objective(Model):
    """A KPI to optimise; ``sense`` defaults to the KPI's direction in the catalogue."""

    kpi: str
    sense: Literal["max", "min"] | None = None


class KpiConstraint(Model):
    """A bound on a KPI's mean over a candidate's replications (``min`` and/or ``max``)."""

    kpi: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _a_bound(self) -> KpiConstraint:
        if self.min is None and self.max is None:
            raise ValueError("give 'min' or 'max' (or both)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is above 'max'")
        return self


class LinearConstraint(Model):
    """``min <= sum(coefficient * variable) <= max`` over numeric decision variables."""

    terms: dict[str, float] = Field(min_length=1)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _a_bound(self) -> LinearConstraint:
        if self.min is None and self.max is None:
            raise ValueError("give 'min' or 'max' (or both)")
        return self


class Selection(Model):
    """Final ranking and selection: procedure KN among the best candidates (one objective),
    or the Pareto-set selection of the front (several objectives)."""

    candidates: PositiveInt = Field(5, description="best candidates taken into the selection")
    delta: float | None = Field(
        None, gt=0.0, description="indifference zone in the objective's unit; "
        "default: relative_delta times the best candidate's mean")
    relative_delta: float = Field(0.005, gt=0.0)
    alpha: float = Field(0.05, gt=0.0, lt=0.5)
    first_stage: int = Field(10, ge=2, description="replications per candidate in stage one")
    max_replications: PositiveInt = 200
    front_relative_delta: float = Field(
        0.05, gt=0.0, description="several objectives: indifference zone of the Pareto-set "
        "selection per objective, as a share of the largest |mean| on the front")


class OptimiseSpec(Model):
    """Simulation-based optimisation of a scenario."""

    variables: dict[str, Variable] = Field(min_length=1)
    objectives: list[str | Objective] = Field(min_length=1)
    constraints: list[KpiConstraint] = []
    linear: list[LinearConstraint] = []
    budget: PositiveInt = Field(40, description="candidate designs evaluated by the search")
    batch: PositiveInt = Field(4, description="candidates proposed and run together")
    replications: PositiveInt = Field(3, description="replications per candidate (CRN)")
    method: Literal["auto", "tpe", "nsga2", "grid"] = "auto"
    seed: int = Field(0, ge=0, description="seed of the search (not of the runs)")
    select: Selection = Selection()

    def objective_list(self) -> list[Objective]:
        """Objectives as :class:`Objective` (plain strings take the catalogue direction)."""
        return [o if isinstance(o, Objective) else Objective(kpi=o) for o in self.objectives]

    @model_validator(mode="after")
    def _known_paths(self) -> OptimiseSpec:
        for i, lin in enumerate(self.linear):
            unknown = [p for p in lin.terms if p not in self.variables]
            if unknown:
                raise ValueError(f"linear[{i}] names {unknown}, which are not variables")
            cats = [p for p in lin.terms if self.variables[p].levels is not None]
            if cats:
                raise ValueError(f"linear[{i}]: {cats} are categorical")
        return self
