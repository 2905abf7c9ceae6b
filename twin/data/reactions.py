"""Reactions of a general reaction network: equations, rate laws and their units.

A reaction is written as an equation of species names with stoichiometric coefficients,
``"A + 2 B -> C"`` (irreversible) or ``"A + B <=> C + D"`` (reversible). Its forward rate
[mol/(m3 s)] is ``k(T) prod c_i^a_i`` with the orders ``a`` of mass action (the left-hand
coefficients) unless ``orders`` gives a power law; rate constants are in
``(m3/mol)^(m-1)/s`` for a total order ``m`` and may be written in any units of that
dimension (``"0.12 L/(mol*min)"``). A reversible reaction gives its backward rate constant
(``k_reverse``, ``ea_reverse``; orders of the right-hand side unless ``orders_reverse``) or
its equilibrium constant ``K`` at the reference temperature in concentration units
(``(mol/m3)^dn``, dn = backward order minus forward order: the change in moles for mass
action; a bare number when dn = 0), which follows van 't Hoff with the reaction's ``dh``.
All values are SI after validation.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_serializer, model_validator

from twin.data.model import NAME, Model, Name
from twin.data.quantities import MolarEnergy
from twin.data.units import UnitError, to_unit

_TERM = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)?\s*\*?\s*(" + NAME[1:-1] + r")\s*$")


def parse_equation(text: str) -> tuple[dict[str, float], dict[str, float], bool]:
    """Left side, right side (species -> coefficient) and whether the reaction is reversible.

    Raises
    ------
    ValueError
        With what is wrong with the equation.
    """
    if not isinstance(text, str):
        raise ValueError(f"an equation is text such as 'A + B -> C', got {text!r}")
    if "<=>" in text:
        parts, reversible = text.split("<=>"), True
    elif "->" in text:
        parts, reversible = text.split("->"), False
    else:
        raise ValueError(f"equation {text!r} needs '->' (irreversible) or '<=>' (reversible)")
    if len(parts) != 2:
        raise ValueError(f"equation {text!r} has more than one arrow")
    sides = []
    for side, label in zip(parts, ("left", "right"), strict=True):
        terms: dict[str, float] = {}
        for term in side.split("+"):
            match = _TERM.match(term)
            if not match:
                raise ValueError(f"equation {text!r}: cannot read {term.strip()!r} on the "
                                 f"{label} side (write e.g. '2 B': a coefficient, then a "
                                 "species name)")
            coef = float(match.group(1)) if match.group(1) else 1.0
            if not coef > 0:
                raise ValueError(f"equation {text!r}: coefficient of {match.group(2)} must "
                                 "be positive")
            terms[match.group(2)] = terms.get(match.group(2), 0.0) + coef
        sides.append(terms)
    left, right = sides
    if left == right:
        raise ValueError(f"equation {text!r} changes nothing")
    return left, right, reversible


_ELEMENT = re.compile(r"([A-Z][a-z]?)(\d*(?:\.\d+)?)")


def parse_formula(text: str) -> dict[str, float]:
    """Atoms by element of a formula written as element symbols with counts (``C4H8O2``,
    ``CH1.8O0.5N0.2`` for lumped biomass; no brackets).

    Raises
    ------
    ValueError
        If the formula cannot be read.
    """
    atoms: dict[str, float] = {}
    pos = 0
    for match in _ELEMENT.finditer(text):
        if match.start() != pos:
            break
        atoms[match.group(1)] = atoms.get(match.group(1), 0.0) + float(match.group(2) or 1)
        pos = match.end()
    if pos != len(text) or not atoms:
        raise ValueError(f"cannot read formula {text!r} (element symbols with counts, e.g. "
                         "'C4H8O2'; no brackets)")
    return atoms


def _per(num: float) -> str:
    """(m3/mol)^num as a unit pint reads (``m**3/mol``, ``mol/m**3``, ...)."""
    def pw(base: str, e: float) -> str:
        return base if e == 1 else f"{base}**{e:g}"
    if num > 0:
        return f"{pw('m', 3 * num)}/{pw('mol', num)}"
    return f"{pw('mol', -num)}/{pw('m', -3 * num)}"


def rate_unit(order: float) -> str:
    """SI unit of a rate constant of total order ``order``: (m3/mol)^(order-1)/s."""
    return "1/s" if order == 1 else f"{_per(order - 1)}/s"


def equilibrium_unit(dn: float) -> str:
    """SI unit of a concentration equilibrium constant: (mol/m3)^dn."""
    return "dimensionless" if dn == 0 else _per(-dn)


class Reaction(Model):
    """One reaction of a network (see the module docstring).

    Give the forward rate constant as ``k`` at the phase's reference temperature ``t_ref``
    or as the pre-exponential factor ``k0``; activation energies ``ea`` (and ``ea_reverse``)
    make k follow Arrhenius. ``dh`` is the reaction enthalpy per unit extent (negative:
    exothermic).
    """

    name: str = Field("", description="used in calibration parameter names (default r1, "
                      "r2, ... by position)")
    equation: str
    k: float | None = Field(None, gt=0.0, description="forward rate constant at t_ref, "
                            "(m3/mol)^(m-1)/s for total order m")
    k0: float | None = Field(None, gt=0.0, description="forward pre-exponential factor")
    ea: MolarEnergy = Field(0.0, ge=0.0)
    dh: MolarEnergy = 0.0
    orders: dict[Name, float] | None = Field(
        None, description="power-law forward orders (default: mass action)")
    k_reverse: float | None = Field(None, gt=0.0, description="backward rate constant at "
                                    "t_ref")
    ea_reverse: MolarEnergy = Field(0.0, ge=0.0)
    K: float | None = Field(None, gt=0.0, description="equilibrium constant at t_ref, "
                            "(mol/m3)^dn (van 't Hoff with dh)")
    orders_reverse: dict[Name, float] | None = Field(
        None, description="power-law backward orders (default: mass action)")

    @model_validator(mode="before")
    @classmethod
    def _units(cls, data: Any) -> Any:
        """Parse the equation and read the rate and equilibrium constants in the units their
        orders give them."""
        if not isinstance(data, dict) or "equation" not in data:
            return data
        left, right, _ = parse_equation(data["equation"])
        for key in ("orders", "orders_reverse"):
            for sp, a in (data.get(key) or {}).items() if isinstance(data.get(key), dict) \
                    else ():
                if isinstance(a, bool) or not isinstance(a, int | float) or not a >= 0:
                    raise ValueError(f"{key}.{sp}: orders are numbers >= 0, got {a!r} (a "
                                     "negative order makes the rate infinite as the species "
                                     "runs out)")
        fwd = _total(data.get("orders"), left)
        bwd = _total(data.get("orders_reverse"), right)
        out = dict(data)
        for key, unit, what, why in (
                ("k", rate_unit(fwd), "rate constant", f"forward order {fwd:g}"),
                ("k0", rate_unit(fwd), "rate constant", f"forward order {fwd:g}"),
                ("k_reverse", rate_unit(bwd), "rate constant", f"backward order {bwd:g}"),
                ("K", equilibrium_unit(bwd - fwd), "equilibrium constant",
                 f"backward minus forward order {bwd - fwd:g}")):
            if out.get(key) is not None:
                example = None if unit == "dimensionless" else f"1 {unit}"
                try:
                    out[key] = to_unit(out[key], unit, what, example=example)
                except UnitError as exc:
                    raise ValueError(f"{key}: {exc} ({why})") from None
        return out

    @model_validator(mode="after")
    def _rate_law(self) -> Reaction:
        left, right, reversible = parse_equation(self.equation)
        if (self.k is None) == (self.k0 is None):
            raise ValueError("give the forward rate constant as k (at t_ref) or k0, not both "
                             "or neither")
        backward = [key for key in ("k_reverse", "K") if getattr(self, key) is not None]
        if reversible and len(backward) != 1:
            raise ValueError("a reversible reaction ('<=>') needs k_reverse or K (one of them)")
        if not reversible and (backward or self.orders_reverse is not None):
            raise ValueError(f"{', '.join(backward) or 'orders_reverse'} given for an "
                             "irreversible reaction (write '<=>' to make it reversible)")
        for key, orders, side in (("orders", self.orders, left),
                                  ("orders_reverse", self.orders_reverse, right)):
            for sp in side:
                if orders is not None and not orders.get(sp, 0.0) > 0.0:
                    raise ValueError(f"{key}.{sp}: {sp} is consumed by this direction and "
                                     "needs a positive order (else its rate goes on when it "
                                     "is used up)")
        return self

    @field_serializer("k", "k0", "k_reverse", "K")
    def _dump_constant(self, value: float | None, info: Any) -> str | float | None:
        if value is None:
            return None
        left, right, _ = parse_equation(self.equation)
        fwd, bwd = _total(self.orders, left), _total(self.orders_reverse, right)
        unit = {"k": rate_unit(fwd), "k0": rate_unit(fwd), "k_reverse": rate_unit(bwd),
                "K": equilibrium_unit(bwd - fwd)}[info.field_name]
        return value if unit == "dimensionless" else f"{value!r} {unit}"

    def sides(self) -> tuple[dict[str, float], dict[str, float], bool]:
        """Left side, right side and reversibility (:func:`parse_equation`)."""
        return parse_equation(self.equation)

    def forward_orders(self) -> dict[str, float]:
        """Forward orders by species (mass action unless ``orders`` is given)."""
        left, _, _ = self.sides()
        return dict(self.orders) if self.orders is not None else left

    def backward_orders(self) -> dict[str, float]:
        """Backward orders by species (mass action unless ``orders_reverse`` is given)."""
        _, right, _ = self.sides()
        return dict(self.orders_reverse) if self.orders_reverse is not None else right


def _total(orders: Any, side: dict[str, float]) -> float:
    """Total order of a direction: the given orders' sum, or the side's coefficients'."""
    if isinstance(orders, dict):
        try:
            return float(sum(float(v) for v in orders.values()))
        except (TypeError, ValueError):
            return float(sum(side.values()))
    return float(sum(side.values()))
