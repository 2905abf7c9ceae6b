"""Agitation: power, Reynolds, tip speed, Froude, flow regime, the speed rules and blend time
(SI units: rev/s, m, W, s)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from twin.kernels.scaleup.checks import (
    non_negative,
    positive,
    rule_exponent,
)
from twin.kernels.scaleup.constants import (
    FLAG_BLEND_TIME,
    FLAG_POWER_NUMBER,
    G_STANDARD,
    GRENVILLE_TURBULENT,
    GRENVILLE_TURBULENT_MIN,
    RE_LAMINAR_MAX,
    RE_TURBULENT_MIN,
)
from twin.kernels.scaleup.geometry import (
    scale_factor,
    tank_diameter,
)


def power(np_: float, rho: float, n: float, d: float) -> float:
    """Impeller power draw P = Np rho N^3 D^5 [W].

    Parameters
    ----------
    np_ : float
        Power number Np [-].
    rho : float
        Liquid density [kg/m3].
    n : float
        Impeller speed N [1/s] (revolutions per second).
    d : float
        Impeller diameter D [m].

    Notes
    -----
    Definition of the power number (Rushton, Costich and Everett 1950). Np is a constant of
    the impeller and geometry only in the turbulent regime (``RE_TURBULENT_MIN``).
    """
    return (positive("np_", np_) * positive("rho", rho) * non_negative("n", n) ** 3
            * positive("d", d) ** 5)


def power_per_volume(np_: float, rho: float, n: float, d: float, volume: float) -> float:
    """Power per liquid volume P/V = Np rho N^3 D^5 / V [W/m3] (see :func:`power`)."""
    return power(np_, rho, n, d) / positive("volume", volume)


def reynolds(rho: float, n: float, d: float, mu: float) -> float:
    """Impeller Reynolds number Re = rho N D^2 / mu [-].

    Parameters
    ----------
    rho : float
        Liquid density [kg/m3].
    n : float
        Impeller speed [1/s].
    d : float
        Impeller diameter [m].
    mu : float
        Dynamic viscosity [Pa s] (Newtonian liquid).
    """
    return (positive("rho", rho) * non_negative("n", n) * positive("d", d) ** 2
            / positive("mu", mu))


def tip_speed(n: float, d: float) -> float:
    """Impeller tip speed pi N D [m/s] for speed ``n`` [1/s] and diameter ``d`` [m]."""
    return math.pi * non_negative("n", n) * positive("d", d)


def froude(n: float, d: float, g: float = G_STANDARD) -> float:
    """Impeller Froude number Fr = N^2 D / g [-] (``n`` [1/s], ``d`` [m], ``g`` [m/s2])."""
    return non_negative("n", n) ** 2 * positive("d", d) / positive("g", g)


def regime(re: float) -> str:
    """Flow regime of a stirred tank from the impeller Reynolds number.

    Parameters
    ----------
    re : float
        Impeller Reynolds number [-].

    Returns
    -------
    str
        ``"laminar"`` if Re < ``RE_LAMINAR_MAX`` (10), ``"turbulent"`` if
        Re > ``RE_TURBULENT_MIN`` (1e4), ``"transitional"`` otherwise (both bounds included).
    """
    r = non_negative("re", re)
    if r < RE_LAMINAR_MAX:
        return "laminar"
    if r > RE_TURBULENT_MIN:
        return "turbulent"
    return "transitional"


def speed_for_rule(n1: float, d1: float, d2: float, rule: str) -> float:
    """Impeller speed at the new scale, N2 = N1 (D2/D1)^a, for an agitation rule.

    Parameters
    ----------
    n1 : float
        Speed at the reference scale [1/s].
    d1, d2 : float
        Impeller diameters at the reference and the new scale [m].
    rule : str
        A key of ``RULE_EXPONENTS``.

    Returns
    -------
    float
        N2 [1/s].

    Notes
    -----
    Pure algebra under geometric similarity; it knows nothing of the fluid, so it cannot
    report the regime. :func:`scale_agitation` applies the same rule and reports the regime,
    the power-number validity and the blend time at both scales.
    """
    a = rule_exponent(rule)
    return non_negative("n1", n1) * (positive("d2", d2) / positive("d1", d1)) ** a


@dataclass(frozen=True, slots=True)
class BlendTime:
    """Turbulent 95 % blend time of a baffled stirred tank.

    Attributes
    ----------
    theta95 : float
        Time to 95 % homogeneity [s].
    regime_number : float
        Re Np^(1/3) [-], compared with ``GRENVILLE_TURBULENT_MIN``.
    valid : bool
        True if Re Np^(1/3) >= ``GRENVILLE_TURBULENT_MIN``.
    flags : tuple of str
        Empty if valid, else one ``FLAG_BLEND_TIME`` message.
    """

    theta95: float
    regime_number: float
    valid: bool
    flags: tuple[str, ...]


def blend_time(np_: float, n: float, d: float, t: float, re: float) -> BlendTime:
    """Turbulent 95 % blend time theta95 = 5.20 Np^(-1/3) (T/D)^2 / N (Grenville).

    Parameters
    ----------
    np_ : float
        Power number [-].
    n : float
        Impeller speed [1/s], > 0.
    d : float
        Impeller diameter [m].
    t : float
        Tank diameter [m] (liquid height H = T).
    re : float
        Impeller Reynolds number [-].

    Returns
    -------
    BlendTime
        The turbulent value is always returned; ``valid`` and ``flags`` say whether
        Re Np^(1/3) reaches ``GRENVILLE_TURBULENT_MIN`` (below it the transitional form
        gives longer times).

    Notes
    -----
    Grenville's correlation (``GRENVILLE_TURBULENT``) for a single impeller in a baffled
    tank with H = T and a Newtonian liquid; check other geometries against the source. At
    fixed D/T, N theta95 depends on Np only, so a constant N keeps the blend time constant
    across scales (the ``constant_mixing_time`` rule).
    """
    npv = positive("np_", np_)
    nv = positive("n", n)
    ratio = positive("t", t) / positive("d", d)
    number = non_negative("re", re) * npv ** (1.0 / 3.0)
    theta = GRENVILLE_TURBULENT * npv ** (-1.0 / 3.0) * ratio * ratio / nv
    valid = number >= GRENVILLE_TURBULENT_MIN
    flags: tuple[str, ...] = ()
    if not valid:
        flags = (
            f"{FLAG_BLEND_TIME}: Re Np^(1/3) = {number:.4g} < {GRENVILLE_TURBULENT_MIN:g}; "
            "the turbulent blend-time correlation underestimates theta95",
        )
    return BlendTime(theta, number, valid, flags)


@dataclass(frozen=True, slots=True)
class StirredTankState:
    """Agitation figures of one scale.

    Attributes
    ----------
    volume : float
        Liquid volume [m3].
    tank_diameter : float
        T [m] (H = T).
    impeller_diameter : float
        D [m].
    speed : float
        N [1/s].
    power : float
        P = Np rho N^3 D^5 [W].
    power_per_volume : float
        P/V [W/m3].
    tip_speed : float
        pi N D [m/s].
    reynolds : float
        rho N D^2 / mu [-].
    regime : str
        ``"laminar"``, ``"transitional"`` or ``"turbulent"`` (:func:`regime`).
    froude : float
        N^2 D / g [-].
    blend_time : BlendTime
        Turbulent 95 % blend time with its validity flag.
    """

    volume: float
    tank_diameter: float
    impeller_diameter: float
    speed: float
    power: float
    power_per_volume: float
    tip_speed: float
    reynolds: float
    regime: str
    froude: float
    blend_time: BlendTime


@dataclass(frozen=True, slots=True)
class AgitationScaleUp:
    """Result of scaling a stirred tank under one rule.

    Attributes
    ----------
    rule : str
        The rule applied.
    scale_factor : float
        L = D2/D1 [-].
    scale1, scale2 : StirredTankState
        Reference and new scale.
    power_number_valid : bool
        True only if both scales are turbulent (constant Np assumed by ``P = Np rho N^3
        D^5`` with one Np at both scales).
    flags : tuple of str
        ``FLAG_POWER_NUMBER`` and ``FLAG_BLEND_TIME`` messages; empty if all correlations are
        inside their ranges.
    """

    rule: str
    scale_factor: float
    scale1: StirredTankState
    scale2: StirredTankState
    power_number_valid: bool
    flags: tuple[str, ...]

    @property
    def n2(self) -> float:
        """Speed at the new scale [1/s]."""
        return self.scale2.speed


def _state(volume: float, t: float, d: float, n: float, rho: float, mu: float,
           np_: float) -> StirredTankState:
    """Agitation figures of one scale (inputs already checked)."""
    p = power(np_, rho, n, d)
    re = reynolds(rho, n, d, mu)
    bt = blend_time(np_, n, d, t, re) if n > 0.0 else BlendTime(math.inf, 0.0, False, (
        f"{FLAG_BLEND_TIME}: impeller at rest",))
    return StirredTankState(volume, t, d, n, p, p / volume, tip_speed(n, d), re, regime(re),
                            froude(n, d), bt)


def _agitation(v1: float, v2: float, d1: float, n1: float, n2: float, rule: str, rho: float,
               mu: float, np_: float) -> AgitationScaleUp:
    """Both scales for given speeds; collects the regime and range flags."""
    v1 = positive("v1", v1)
    v2 = positive("v2", v2)
    d1 = positive("d1", d1)
    non_negative("n1", n1)
    positive("rho", rho)
    positive("mu", mu)
    positive("np_", np_)
    t1 = tank_diameter(v1)
    if d1 >= t1:
        raise ValueError(f"impeller diameter d1 = {d1} m does not fit a tank of "
                         f"T = {t1:.6g} m (H = T, V = {v1} m3)")
    lf = scale_factor(v1, v2)
    t2 = tank_diameter(v2)
    d2 = d1 * lf
    s1 = _state(v1, t1, d1, n1, rho, mu, np_)
    s2 = _state(v2, t2, d2, n2, rho, mu, np_)
    flags: list[str] = []
    for label, s in (("scale 1", s1), ("scale 2", s2)):
        if s.regime != "turbulent":
            flags.append(
                f"{FLAG_POWER_NUMBER}: {label} is {s.regime} (Re = {s.reynolds:.4g} <= "
                f"{RE_TURBULENT_MIN:g}); Np varies with Re, so power and P/V are estimates"
            )
    for label, s in (("scale 1", s1), ("scale 2", s2)):
        flags.extend(f"{f} ({label})" for f in s.blend_time.flags)
    valid = s1.regime == "turbulent" and s2.regime == "turbulent"
    return AgitationScaleUp(rule, lf, s1, s2, valid, tuple(flags))


def scale_agitation(v1: float, v2: float, d1: float, n1: float, rule: str, *, rho: float,
                    mu: float, np_: float) -> AgitationScaleUp:
    """Scale a stirred tank from volume ``v1`` to ``v2`` under an agitation rule.

    Parameters
    ----------
    v1, v2 : float
        Liquid volumes at the reference and the new scale [m3].
    d1 : float
        Impeller diameter at the reference scale [m] (must be smaller than the tank).
    n1 : float
        Impeller speed at the reference scale [1/s].
    rule : str
        A key of ``RULE_EXPONENTS``.
    rho : float
        Liquid density [kg/m3].
    mu : float
        Dynamic viscosity [Pa s].
    np_ : float
        Turbulent power number of the impeller [-] (e.g. about 5 for a Rushton turbine).

    Returns
    -------
    AgitationScaleUp
        Speed, power, P/V, tip speed, Re, regime, Froude number and blend time at both
        scales, the power-number validity and the flags.

    Notes
    -----
    Geometric similarity (D2 = L D1, T = (4 V/pi)^(1/3), H = T), one Newtonian liquid, one
    impeller, ungassed power, the same Np at both scales. Np is constant only if both
    scales are turbulent; otherwise ``power_number_valid`` is False and a flag says so.
    """
    lf = scale_factor(v1, v2)
    n2 = speed_for_rule(n1, d1, positive("d1", d1) * lf, rule)
    return _agitation(v1, v2, d1, n1, n2, rule, rho, mu, np_)
