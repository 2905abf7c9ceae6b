"""Quantities with units, parsed once into SI floats.

Line specs write quantities the way engineers do (``"90 s"``, ``"2.5 h"``, ``"15 kW"``,
``"85 degC"``). :func:`to_si` parses such a string with pint, checks its dimension and returns
a plain float in SI base units, so nothing downstream ever parses a string again.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import pint

#: Dimension names accepted by :func:`to_si`, mapped to the SI unit a value is returned in.
DIMENSIONS: dict[str, str] = {
    "time": "s",
    "power": "W",
    "energy": "J",
    "mass": "kg",
    "length": "m",
    "volume": "m**3",
    "temperature": "K",
    "dimensionless": "dimensionless",
    "rate": "1/s",
    "mass_per_energy": "kg/J",
    "area": "m**2",
    "speed": "m/s",
    "density": "kg/m**3",
    "mass_flow": "kg/s",
    "molar_mass": "kg/mol",
    "molar_energy": "J/mol",
    "specific_energy": "J/kg",
    "specific_heat": "J/(kg*K)",
    "conductance": "W/K",
    "heat_transfer_coefficient": "W/(m**2*K)",
    "energy_density": "J/m**3",
    "volume_flow": "m**3/s",
    "areal_mass": "kg/m**2",
    "power_density": "W/m**3",
}


_NUMERIC_POWER = re.compile(r"[\d.)]\s*(\*\*|\^)")
"""A power whose base is a number (``10**10**10`` would take pint forever to evaluate)."""


class UnitError(ValueError):
    """A quantity could not be parsed or has the wrong dimension."""


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The one pint registry used by Pilot Twin (built lazily, no import-time work)."""
    return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


_LENGTH_POWER = re.compile(r"\b(km|dm|cm|mm|m)([23])\b")
"""Engineers write m2 and m3 (also cm3, mm2...) for areas and volumes."""


@lru_cache(maxsize=4096)
def _parse(text: str) -> pint.Quantity:
    ureg = registry()
    try:
        return ureg.Quantity(_LENGTH_POWER.sub(r"\1**\2", text))
    except Exception as exc:  # pint raises several unrelated exception types
        raise UnitError(f"cannot read {text!r} as a quantity ({exc})") from None


def to_si(value: str | float | int, dimension: str, *, bare_unit: str | None = None,
          example: str | None = None) -> float:
    """Convert ``value`` to a float in SI base units, checking its dimension.

    Parameters
    ----------
    value
        A string with a unit (``"2.5 h"``) or a bare number. A bare number is taken in
        ``bare_unit`` if one is given; otherwise it is accepted only for dimensionless
        quantities.
    dimension
        One of :data:`DIMENSIONS` (``"time"``, ``"power"``, ...).
    bare_unit
        Unit assumed for bare numbers (e.g. ``"s"``).
    example
        A value with its unit shown in the error for a bare number (e.g. ``"0.53 kg/kWh"``);
        default: the number with the SI unit.

    Returns
    -------
    float
        The value in SI base units (s, W, J, kg, m, m3, K, ...).

    Raises
    ------
    UnitError
        If the value cannot be parsed or has another dimension.
    """
    if dimension not in DIMENSIONS:
        raise UnitError(f"unknown dimension {dimension!r}")
    return to_unit(value, DIMENSIONS[dimension], dimension, bare_unit=bare_unit,
                   example=example)


@lru_cache(maxsize=256)
def _is_dimensionless(unit: str) -> bool:
    return bool(registry().Quantity(1.0, unit).dimensionless)


def to_unit(value: str | float | int, unit: str, what: str, *,
            bare_unit: str | None = None, example: str | None = None) -> float:
    """Convert ``value`` to a float in ``unit`` (a pint unit expression such as
    ``"m**3/mol/s"``), checking its dimension; ``what`` names the quantity in errors
    (e.g. ``"rate constant"``), ``example`` shows one with a unit (default: the number with
    ``unit``). Bare numbers as for :func:`to_si` (accepted when ``unit`` is dimensionless).

    Raises
    ------
    UnitError
        If the value cannot be parsed or has another dimension.
    """
    ureg = registry()
    article = "an" if what[:1] in "aeiou" else "a"
    if isinstance(value, bool):
        raise UnitError(f"expected {article} {what}, got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise UnitError(f"{value!r} is not a finite number")
        if unit == "dimensionless":
            return float(value)
        if _is_dimensionless(unit):
            return float(ureg.Quantity(float(value), "dimensionless").to(unit).magnitude)
        if bare_unit is None:
            hint = example or f"{value!r} {unit}"
            raise UnitError(f"expected {article} {what} with a unit (e.g. {hint!r}), "
                            f"got {value!r}")
        value = f"{value!r} {bare_unit}"
    if not isinstance(value, str):
        raise UnitError(f"expected {article} {what} as text with a unit, got "
                        f"{type(value).__name__}")
    if _NUMERIC_POWER.search(value):
        raise UnitError(f"{value!r}: powers of numbers are not accepted; write e.g. 1e6")
    q = _parse(value.strip())
    if not isinstance(q, pint.Quantity):  # a bare number written as text
        q = ureg.Quantity(float(q), "dimensionless")
    if not q.is_compatible_with(unit):
        got = "no unit" if q.dimensionless else f"units of {q.dimensionality}"
        hint = "a bare number" if unit == "dimensionless" else f"e.g. in {unit}"
        raise UnitError(f"expected {article} {what} ({hint}), got {value!r} with {got}")
    try:
        mag = float(q.to(unit).magnitude)
    except (OverflowError, ValueError, TypeError):
        raise UnitError(f"{value!r} is not a finite number") from None
    if not math.isfinite(mag):
        raise UnitError(f"{value!r} is not a finite number")
    return mag


def format_duration(seconds: float) -> str:
    """Human-readable duration for reports (``'2.50 h'``, ``'3.0 d'``, ``'45.0 s'``)."""
    s = abs(seconds)
    if s >= 2 * 86400:
        return f"{seconds / 86400:.1f} d"
    if s >= 2 * 3600:
        return f"{seconds / 3600:.2f} h"
    if s >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


@lru_cache(maxsize=1024)
def si_conversion(unit: str) -> tuple[float, float, str]:
    """How to bring values written in ``unit`` to SI base units: ``si = scale * x + offset``.

    Returns ``(scale, offset, dimensionality)``, the last as pint writes it (e.g.
    ``"[substance] / [length] ** 3"``; ``"dimensionless"``). ``offset`` is non-zero only for
    temperatures on a shifted scale (degC, degF). Raises :class:`UnitError` for text that is
    not a unit.
    """
    text = unit.strip()
    if not text or _NUMERIC_POWER.search(text):
        raise UnitError(f"{unit!r} is not a unit")
    try:
        q1 = _parse(f"1 {text}")
        q0 = _parse(f"0 {text}")
    except UnitError:
        raise UnitError(f"{unit!r} is not a unit") from None
    ureg = registry()
    if not isinstance(q1, pint.Quantity) or float(q1.magnitude) != 1.0:
        raise UnitError(f"{unit!r} is not a unit")
    b1, b0 = q1.to_base_units(), q0.to_base_units()
    offset = float(b0.magnitude)
    scale = float(b1.magnitude) - offset
    dim = "dimensionless" if b1.dimensionless else str(ureg.Quantity(1, b1.units).dimensionality)
    return scale, offset, dim
