"""Experimental designs: the points of a sweep over factors.

Each point is a dict of overrides (dotted path -> value). Designs: full factorial ``grid``
over levels, ``oat`` (one factor at a time around the base line), and space-filling
``lhs`` (Latin hypercube) and ``sobol`` (scrambled Sobol') designs from ``scipy.stats.qmc``
over ranges. Ranges may be quantities (``"2 min"``..``"6 min"``): they are sampled in the unit
of ``low`` and written back with it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from scipy.stats import qmc

from twin.data.scenario import Factor, SweepSpec
from twin.data.units import registry


class DesignError(ValueError):
    """A sweep design cannot be built; the message names the factor."""


def quantity_range(name: str, f: Factor | Any, where: str = "sweep.factors"
                   ) -> tuple[float, float, str]:
    """(low, high, unit) of a range (a sweep factor or an optimisation variable named
    ``name`` under ``where``); unit '' for plain numbers."""
    lo, hi = f.low, f.high
    if isinstance(lo, int | float) and isinstance(hi, int | float):
        a, b, unit = float(lo), float(hi), ""
    else:
        try:
            q_lo = registry().Quantity(str(lo))
            q_hi = registry().Quantity(str(hi)).to(q_lo.units)
        except Exception as exc:
            raise DesignError(f"{where}[{name!r}]: low and high must be numbers or "
                              f"quantities of one dimension ({exc})") from None
        a, b, unit = float(q_lo.magnitude), float(q_hi.magnitude), f"{q_lo.units:~}"
    if not b > a:
        raise DesignError(f"{where}[{name!r}]: high must be greater than low")
    return a, b, unit


def range_value(x: float, unit: str, integer: bool) -> Any:
    """A value of a range as the spec takes it: an int, a float (6 significant digits) or a
    quantity string in ``unit``."""
    if integer:
        v: float | int = int(round(x))
    else:
        v = float(f"{x:.6g}")
    return f"{v} {unit}" if unit else v


def _levels(name: str, f: Factor) -> list[Any]:
    if f.levels is not None:
        return list(f.levels)
    lo, hi, unit = quantity_range(name, f)
    return [range_value(lo, unit, f.integer), range_value(hi, unit, f.integer)]


def design_points(sweep: SweepSpec) -> list[dict[str, Any]]:
    """The design points of ``sweep``, in a fixed order (point index = list index)."""
    names = list(sweep.factors)
    factors = [sweep.factors[n] for n in names]
    if sweep.design == "grid":
        for n, f in zip(names, factors, strict=True):
            if f.levels is None:
                raise DesignError(f"sweep.factors[{n!r}]: a grid needs 'levels'")
        combos = itertools.product(*(f.levels or [] for f in factors))
        return [dict(zip(names, c, strict=True)) for c in combos]
    if sweep.design == "oat":
        points: list[dict[str, Any]] = [{}]
        for n, f in zip(names, factors, strict=True):
            points += [{n: v} for v in _levels(n, f)]
        return points
    assert sweep.samples is not None
    d = len(names)
    if sweep.design == "lhs":
        unit_cube = qmc.LatinHypercube(d=d, seed=sweep.seed).random(sweep.samples)
    else:
        m = max(0, math.ceil(math.log2(sweep.samples)))
        unit_cube = qmc.Sobol(d=d, scramble=True, seed=sweep.seed).random_base2(m)
    points = []
    for row in unit_cube:
        point = {}
        for n, f, u in zip(names, factors, row, strict=True):
            if f.levels is not None:
                point[n] = f.levels[min(int(u * len(f.levels)), len(f.levels) - 1)]
            else:
                lo, hi, unit = quantity_range(n, f)
                point[n] = range_value(lo + float(u) * (hi - lo), unit, f.integer)
        points.append(point)
    return points
