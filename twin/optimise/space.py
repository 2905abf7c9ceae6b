"""Decision space of an optimisation: variables as dotted spec paths, linear constraints.

A :class:`Dimension` knows how to propose a value through an Optuna trial, how to write it
into the spec (an integer, a float or a quantity string in the variable's unit) and its
numeric magnitude for linear constraints (in the variable's own unit).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

from twin.data.optimise import OptimiseSpec, Variable
from twin.orchestration.design import quantity_range, range_value

Kind = Literal["int", "float", "categorical"]


@dataclass(frozen=True)
class Dimension:
    """One decision variable (``path`` into the line spec)."""

    path: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    unit: str = ""
    levels: tuple[Any, ...] = ()
    step: float | None = None

    @classmethod
    def of(cls, path: str, var: Variable) -> Dimension:
        """The dimension of a declared variable (ranges parsed, units kept)."""
        if var.levels is not None:
            return cls(path, "categorical", levels=tuple(var.levels))
        lo, hi, unit = quantity_range(path, var, where="optimise.variables")
        integer = var.integer if var.integer is not None else (
            unit == "" and float(lo).is_integer() and float(hi).is_integer()
            and isinstance(var.low, int) and isinstance(var.high, int))
        return cls(path, "int" if integer else "float", lo, hi, unit, step=var.step)

    def suggest(self, trial: Any) -> Any:
        """A value proposed by an Optuna ``trial``, as the spec takes it."""
        if self.kind == "categorical":
            idx = trial.suggest_categorical(self.path, list(range(len(self.levels))))
            return self.levels[idx]
        if self.kind == "int":
            x: float = trial.suggest_int(self.path, int(self.low), int(self.high),
                                         step=int(self.step or 1))
        else:
            x = trial.suggest_float(self.path, self.low, self.high, step=self.step)
        return range_value(x, self.unit, self.kind == "int")

    def grid(self) -> list[Any]:
        """Every value of a finite dimension (categorical, integer or stepped)."""
        if self.kind == "categorical":
            return list(self.levels)
        if self.kind == "float" and self.step is None:
            raise ValueError(f"optimise.variables[{self.path!r}] is continuous: no grid")
        step = self.step or 1.0
        n = int(math.floor((self.high - self.low) / step + 1e-9)) + 1
        return [range_value(self.low + i * step, self.unit, self.kind == "int")
                for i in range(n)]

    def magnitude(self, value: Any) -> float:
        """The number a linear constraint uses for ``value`` (in this variable's unit)."""
        if isinstance(value, int | float):
            return float(value)
        return float(str(value).split()[0])


def dimensions(opt: OptimiseSpec) -> list[Dimension]:
    """The dimensions of an optimisation, in declaration order."""
    return [Dimension.of(path, var) for path, var in opt.variables.items()]


def linear_violation(opt: OptimiseSpec, dims: list[Dimension], point: dict[str, Any]) -> float:
    """Total amount by which ``point`` breaks the linear constraints (0 when it keeps them)."""
    by_path = {d.path: d for d in dims}
    total = 0.0
    for lin in opt.linear:
        value = sum(c * by_path[p].magnitude(point[p]) for p, c in lin.terms.items())
        if lin.max is not None:
            total += max(0.0, value - lin.max)
        if lin.min is not None:
            total += max(0.0, lin.min - value)
    return total


def grid_points(opt: OptimiseSpec, dims: list[Dimension], limit: int) -> list[dict[str, Any]]:
    """Every point of a finite space that keeps the linear constraints, or ``[]`` when the
    space is continuous or holds more than ``limit`` points."""
    try:
        axes = [d.grid() for d in dims]
    except ValueError:
        return []
    if math.prod(len(a) for a in axes) > limit * 50:
        return []
    points = [dict(zip([d.path for d in dims], combo, strict=True))
              for combo in itertools.product(*axes)]
    points = [p for p in points if linear_violation(opt, dims, p) == 0.0]
    return points if len(points) <= limit else []
