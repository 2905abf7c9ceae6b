"""A toy phase model defined outside the package: ageing (one kernel, one registration).

An ``age`` phase holds the batch for ``duration`` at its temperature while ``reactant``
turns into ``product`` by first-order kinetics with rate constant ``k``: the converted
fraction is ``1 - exp(-k t)``. Species of equal molar mass (an isomerisation), so the mass
converted is the mass formed. The kernel is compiled with Pilot Twin's ``kernel`` (cached on
disk next to this file); :func:`register` registers the spec class, the function that
computes an outcome, the kernel (with its signature, for ``twin warmup``) and how it
scales.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numba.core import types
from pydantic import Field

from twin.data.distributions import Distribution
from twin.data.model import Name
from twin.data.process import PhaseBase
from twin.data.quantities import Rate
from twin.kernels.jit import kernel
from twin.process.materials import Materials
from twin.process.phases import Outcome, register_phase
from twin.process.scaleup import Scaling


class Age(PhaseBase):
    """Ageing: first-order conversion of ``reactant`` into ``product`` over ``duration``."""

    phase: Literal["age"]
    reactant: Name
    product: Name
    k: Rate = Field(gt=0.0)
    duration: Distribution

    def species_refs(self) -> list[tuple[str, str | None]]:
        return [("reactant", self.reactant), ("product", self.product)]


@kernel
def converted_fraction(k: float, t: float) -> float:
    """Fraction of the reactant converted after ``t`` [s] at rate constant ``k`` [1/s]."""
    return -math.expm1(-k * t)


SIGNATURE = (types.float64, types.float64)


def age(ph: Age, unit: Any, name: str, mass: np.ndarray, t: float, mat: Materials,
        draw: Callable[[Any], float]) -> Outcome:
    """What an ``age`` phase does to a batch: a ``transformation`` flow out of the reactant
    and into the product (every change of material is a flow)."""
    duration = draw(ph)
    a, b = mat.code(ph.reactant), mat.code(ph.product)
    kg = float(mass[a]) * converted_fraction(ph.k, duration)
    return Outcome(duration, flows=[(a, "transformation", -kg), (b, "transformation", kg)],
                   summary={"conversion": kg / float(mass[a]) if mass[a] > 0 else 0.0})


def scale(ph: Age, raw: dict[str, Any], where: str, scaling: Scaling) -> None:
    """In a scale-up an ``age`` phase keeps its values: a rate constant and a time are
    intensive (the derivation table says so)."""
    scaling.log(f"{where}.k", ph.k, ph.k, "unchanged (first-order rate constant: intensive)")


def register() -> None:
    """Make ``age`` a phase model."""
    register_phase(Age, age, kernels=[(converted_fraction, SIGNATURE)], scale=scale)
