"""Input checks shared by the scale-up rules (``ValueError`` for impossible inputs)."""

from __future__ import annotations

import math

from twin.kernels.scaleup.constants import (
    RULE_EXPONENTS,
)


def positive(name: str, value: float) -> float:
    """Return ``value`` as float; raise ValueError unless it is finite and > 0."""
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def non_negative(name: str, value: float) -> float:
    """Return ``value`` as float; raise ValueError unless it is finite and >= 0."""
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def finite(name: str, value: float) -> float:
    """Return ``value`` as float; raise ValueError unless it is finite."""
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def rule_exponent(rule: str) -> float:
    """Exponent of an agitation rule; ValueError naming the known rules otherwise."""
    try:
        return RULE_EXPONENTS[rule]
    except KeyError:
        raise ValueError(
            f"unknown agitation rule {rule!r}; expected one of {sorted(RULE_EXPONENTS)}"
        ) from None
