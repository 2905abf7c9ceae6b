"""Equipment cost at scale: the cost-capacity rule with its validity range."""

from __future__ import annotations

from dataclasses import dataclass

from twin.kernels.scaleup.checks import (
    finite,
    non_negative,
    positive,
)
from twin.kernels.scaleup.constants import (
    COST_EXPONENT,
    COST_RANGE_FACTOR,
    FLAG_COST,
)


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """Scaled equipment cost.

    Attributes
    ----------
    cost : float
        C = C0 (S/S0)^n, in the currency of ``c0``.
    in_range : bool
        True if ``valid[0] <= S <= valid[1]``.
    valid : tuple of float
        Validity range of the size used [size unit of S].
    flags : tuple of str
        Empty in range, else one ``FLAG_COST`` message.
    """

    cost: float
    in_range: bool
    valid: tuple[float, float]
    flags: tuple[str, ...]


def scaled_cost(c0: float, s0: float, s: float, n: float = COST_EXPONENT,
                valid: tuple[float, float] | None = None) -> CostEstimate:
    """Cost-capacity rule C = C0 (S/S0)^n with an explicit out-of-range flag.

    Parameters
    ----------
    c0 : float
        Cost of the reference item (any currency, same cost index year).
    s0, s : float
        Reference and new size (capacity, volume, area...) in the same unit.
    n : float, optional
        Capacity exponent [-]; default ``COST_EXPONENT`` (0.6, Williams 1947). Use
        equipment-specific exponents where known.
    valid : (float, float), optional
        Size range in which the exponent holds; default ``(s0/10, 10 s0)``
        (``COST_RANGE_FACTOR``).

    Returns
    -------
    CostEstimate
        The cost is returned even out of range, flagged.

    Notes
    -----
    No escalation between cost-index years; installation factors are not included.
    """
    c = non_negative("c0", c0)
    s0v = positive("s0", s0)
    sv = positive("s", s)
    nv = finite("n", n)
    if valid is None:
        lo, hi = s0v / COST_RANGE_FACTOR, s0v * COST_RANGE_FACTOR
    else:
        lo, hi = (positive("valid[0]", valid[0]), positive("valid[1]", valid[1]))
        if lo > hi:
            raise ValueError(f"valid range is reversed: ({lo}, {hi})")
    inside = lo <= sv <= hi
    flags: tuple[str, ...] = ()
    if not inside:
        flags = (f"{FLAG_COST}: size {sv:.4g} outside the validity range "
                 f"[{lo:.4g}, {hi:.4g}] of exponent n = {nv:g}",)
    return CostEstimate(c * (sv / s0v) ** nv, inside, (lo, hi), flags)
