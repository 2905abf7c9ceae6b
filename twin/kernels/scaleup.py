"""Scale-up of stirred, jacketed vessels: geometric similarity, agitation rules, blend time,
oxygen transfer, heat removal and equipment cost (plain Python, closed forms).

Under geometric similarity every length grows with the linear scale factor
``L = D2/D1 = (V2/V1)^(1/3)``. With ``P = Np rho N^3 D^5`` the classic agitation rules keep
one group constant and fix the speed as ``N2 = N1 L^a``:

=================================  ======  ==========================================
rule                               a       kept constant
=================================  ======  ==========================================
``constant_power_per_volume``      -2/3    P/V ~ N^3 D^2
``constant_tip_speed``             -1      pi N D
``constant_reynolds``              -2      rho N D^2 / mu
``constant_mixing_time``           0       N theta (turbulent blending, fixed D/T)
``constant_froude``                -1/2    N^2 D / g
=================================  ======  ==========================================

Every constant and correlation carries its source next to it. Functions never raise for a
correlation used outside its range: they return flags (strings starting with one of the
``FLAG_*`` codes) in their results. ``ValueError`` is reserved for impossible inputs
(negative or zero volumes, diameters, densities, viscosities; unknown rule names).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

# ---------------------------------------------------------------- constants

G_STANDARD = 9.80665
"""Standard acceleration of gravity [m/s2] (3rd CGPM 1901; exact by definition)."""

RE_LAMINAR_MAX = 10.0
"""Impeller Reynolds number below which a baffled stirred tank is laminar [-] (Paul,
Atiemo-Obeng and Kresta (eds.), Handbook of Industrial Mixing, Wiley 2004, ch. 6)."""
RE_TURBULENT_MIN = 1.0e4
"""Impeller Reynolds number above which the flow is fully turbulent and the power number is
constant [-] (same source as ``RE_LAMINAR_MAX``; power curves of Rushton, Costich and
Everett, Chem. Eng. Prog. 46 (1950) 395-404 and 467-476)."""

RULE_EXPONENTS = MappingProxyType(
    {
        "constant_power_per_volume": -2.0 / 3.0,
        "constant_tip_speed": -1.0,
        "constant_reynolds": -2.0,
        "constant_mixing_time": 0.0,
        "constant_froude": -0.5,
    }
)
"""Exponent ``a`` of ``N2/N1 = (D2/D1)^a`` per agitation rule [-]. Derived from the
definitions under geometric similarity: P/V ~ N^3 D^2, tip speed ~ N D, Re ~ N D^2,
Fr ~ N^2 D; turbulent blend time ~ 1/N at fixed D/T (``GRENVILLE_TURBULENT``)."""
RULE_CONSTANT_KLA = "constant_kla"
"""Aeration rule keeping kLa constant (agitation speed follows from the inverted van 't
Riet correlation); accepted by :func:`scale_aeration` only."""
GAS_RULES = ("constant_vvm", "constant_superficial_velocity")
"""Aeration gas-rate rules: constant gas volume per liquid volume per minute, or constant
superficial gas velocity [-]."""

GRENVILLE_TURBULENT = 5.20
"""Constant of the turbulent 95 % blend-time correlation ``N theta95 = 5.20 Np^(-1/3)
(T/D)^2`` for H = T [-] (R. K. Grenville, PhD thesis, Cranfield 1992; Grenville and Nienow
in Handbook of Industrial Mixing, Wiley 2004, ch. 9)."""
GRENVILLE_TURBULENT_MIN = 6370.0
"""Lower bound of ``Re Np^(1/3)`` for the turbulent blend-time correlation [-] (same source
as ``GRENVILLE_TURBULENT``; below it the transitional form applies)."""

VAN_T_RIET_COALESCING = (0.026, 0.4, 0.5)
"""van 't Riet kLa = c (P/V)^a vs^b, coalescing media: (c, a, b), SI units, kLa in 1/s
(K. van 't Riet, Ind. Eng. Chem. Process Des. Dev. 18 (1979) 357-364)."""
VAN_T_RIET_NON_COALESCING = (0.002, 0.7, 0.2)
"""van 't Riet kLa = c (P/V)^a vs^b, non-coalescing (ionic) media: (c, a, b), SI units
(same source)."""
VAN_T_RIET_V_MAX = 2.6
"""Largest liquid volume of the van 't Riet data set [m3] (same source; applied to both
media here, see :func:`van_t_riet_flags`)."""
VAN_T_RIET_PV_MIN = 500.0
"""Smallest gassed power per volume of the van 't Riet data [W/m3] (same source)."""
VAN_T_RIET_PV_MAX = 10000.0
"""Largest gassed power per volume of the van 't Riet data [W/m3] (same source)."""

COST_EXPONENT = 0.6
"""Default capacity exponent of the cost-capacity rule (R. Williams Jr., "Six-tenths
factor aids in approximating costs", Chem. Eng. 54(12) (1947) 124-125)."""
COST_RANGE_FACTOR = 10.0
"""Default validity of the cost-capacity rule: within a factor of ten of the reference size
(a common guideline against extrapolating the exponent beyond a tenfold capacity range,
e.g. M. S. Peters, K. D. Timmerhaus and R. E. West, Plant Design and Economics for Chemical
Engineers, 5th ed., McGraw-Hill 2003; pass ``valid`` where a sourced range is known)."""

FLAG_POWER_NUMBER = "power_number_not_constant"
"""Flag code: a scale is not turbulent, so the constant power number is not valid."""
FLAG_BLEND_TIME = "blend_time_outside_range"
"""Flag code: the turbulent blend-time correlation is used outside its range."""
FLAG_VAN_T_RIET = "van_t_riet_outside_range"
"""Flag code: the van 't Riet correlation is used outside its data range."""
FLAG_COOLING = "cooling_limited"
"""Flag code: heat generation exceeds the jacket's removal capacity."""
FLAG_COST = "cost_outside_range"
"""Flag code: the cost-capacity rule is used outside its validity range."""


# ---------------------------------------------------------------- input checks


def _positive(name: str, value: float) -> float:
    """Return ``value`` as float; raise ValueError unless it is finite and > 0."""
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def _non_negative(name: str, value: float) -> float:
    """Return ``value`` as float; raise ValueError unless it is finite and >= 0."""
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def _finite(name: str, value: float) -> float:
    """Return ``value`` as float; raise ValueError unless it is finite."""
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def _exponent(rule: str) -> float:
    """Exponent of an agitation rule; ValueError naming the known rules otherwise."""
    try:
        return RULE_EXPONENTS[rule]
    except KeyError:
        raise ValueError(
            f"unknown agitation rule {rule!r}; expected one of {sorted(RULE_EXPONENTS)}"
        ) from None


# ---------------------------------------------------------------- geometry


def scale_factor(v1: float, v2: float) -> float:
    """Linear scale factor L = (V2/V1)^(1/3) of geometrically similar vessels [-].

    Parameters
    ----------
    v1, v2 : float
        Liquid volumes at the small and the large scale [m3].

    Returns
    -------
    float
        Length ratio L = D2/D1 = T2/T1 [-].

    Raises
    ------
    ValueError
        If a volume is not a finite positive number.
    """
    return (_positive("v2", v2) / _positive("v1", v1)) ** (1.0 / 3.0)


@dataclass(frozen=True, slots=True)
class VesselGeometry:
    """Liquid geometry of a flat-bottomed cylindrical vessel.

    Attributes
    ----------
    volume : float
        Liquid volume V [m3].
    diameter : float
        Tank diameter T [m].
    liquid_height : float
        Liquid height H [m].
    jacket_area : float
        Wetted heat-transfer area A = pi T^2/4 + pi T H (bottom and wall) [m2].
    area_per_volume : float
        A/V [1/m]; equals 4/T + 1/H, i.e. 5/T for H = T.
    """

    volume: float
    diameter: float
    liquid_height: float
    jacket_area: float
    area_per_volume: float


def tank_diameter(volume: float, liquid_height: float | None = None) -> float:
    """Diameter [m] of a flat-bottomed cylinder holding ``volume``.

    Parameters
    ----------
    volume : float
        Liquid volume [m3].
    liquid_height : float, optional
        Liquid height H [m]; if omitted, H = T and T = (4 V / pi)^(1/3).

    Returns
    -------
    float
        Tank diameter T [m]: (4 V / pi)^(1/3) for H = T, else (4 V / (pi H))^(1/2).
    """
    v = _positive("volume", volume)
    if liquid_height is None:
        return (4.0 * v / math.pi) ** (1.0 / 3.0)
    return math.sqrt(4.0 * v / (math.pi * _positive("liquid_height", liquid_height)))


def vessel_geometry(volume: float, liquid_height: float | None = None) -> VesselGeometry:
    """Diameter, wetted jacket area and A/V of a flat-bottomed cylindrical vessel.

    Parameters
    ----------
    volume : float
        Liquid volume V [m3].
    liquid_height : float, optional
        Liquid height H [m]; default H = T (standard geometry).

    Returns
    -------
    VesselGeometry
        With A = pi T^2/4 + pi T H [m2] and A/V [1/m] (= 5/T for H = T).

    Notes
    -----
    The jacket covers the flat bottom and the wetted wall; heads, baffles, coils and the
    liquid surface are ignored. V = pi T^2 H / 4, so A/V = 1/H + 4/T.
    """
    v = _positive("volume", volume)
    t = tank_diameter(v, liquid_height)
    h = t if liquid_height is None else float(liquid_height)
    area = math.pi * t * t / 4.0 + math.pi * t * h
    return VesselGeometry(v, t, h, area, area / v)


# ---------------------------------------------------------------- agitation


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
    return (_positive("np_", np_) * _positive("rho", rho) * _non_negative("n", n) ** 3
            * _positive("d", d) ** 5)


def power_per_volume(np_: float, rho: float, n: float, d: float, volume: float) -> float:
    """Power per liquid volume P/V = Np rho N^3 D^5 / V [W/m3] (see :func:`power`)."""
    return power(np_, rho, n, d) / _positive("volume", volume)


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
    return (_positive("rho", rho) * _non_negative("n", n) * _positive("d", d) ** 2
            / _positive("mu", mu))


def tip_speed(n: float, d: float) -> float:
    """Impeller tip speed pi N D [m/s] for speed ``n`` [1/s] and diameter ``d`` [m]."""
    return math.pi * _non_negative("n", n) * _positive("d", d)


def froude(n: float, d: float, g: float = G_STANDARD) -> float:
    """Impeller Froude number Fr = N^2 D / g [-] (``n`` [1/s], ``d`` [m], ``g`` [m/s2])."""
    return _non_negative("n", n) ** 2 * _positive("d", d) / _positive("g", g)


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
    r = _non_negative("re", re)
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
    a = _exponent(rule)
    return _non_negative("n1", n1) * (_positive("d2", d2) / _positive("d1", d1)) ** a


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
    npv = _positive("np_", np_)
    nv = _positive("n", n)
    ratio = _positive("t", t) / _positive("d", d)
    number = _non_negative("re", re) * npv ** (1.0 / 3.0)
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
    v1 = _positive("v1", v1)
    v2 = _positive("v2", v2)
    d1 = _positive("d1", d1)
    _non_negative("n1", n1)
    _positive("rho", rho)
    _positive("mu", mu)
    _positive("np_", np_)
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
    n2 = speed_for_rule(n1, d1, _positive("d1", d1) * lf, rule)
    return _agitation(v1, v2, d1, n1, n2, rule, rho, mu, np_)


# ---------------------------------------------------------------- oxygen transfer


def _van_t_riet(coalescing: bool) -> tuple[float, float, float]:
    return VAN_T_RIET_COALESCING if coalescing else VAN_T_RIET_NON_COALESCING


def kla_van_t_riet(power_per_volume: float, superficial_velocity: float,
                   coalescing: bool) -> float:
    """Volumetric oxygen transfer coefficient kLa [1/s] by van 't Riet (1979).

    Parameters
    ----------
    power_per_volume : float
        Gassed power per liquid volume P/V [W/m3].
    superficial_velocity : float
        Superficial gas velocity vs [m/s].
    coalescing : bool
        True for coalescing (water-like) media, False for non-coalescing (ionic) media.

    Returns
    -------
    float
        kLa = 0.026 (P/V)^0.4 vs^0.5 (coalescing) or 0.002 (P/V)^0.7 vs^0.2 [1/s].

    Notes
    -----
    Constants ``VAN_T_RIET_COALESCING`` and ``VAN_T_RIET_NON_COALESCING``; the one
    implementation of the correlation (fermentation phases and the scale-up of a spec call
    it). Stated accuracy 20-40 %. Check the range with :func:`van_t_riet_flags`.
    """
    c, a, b = _van_t_riet(coalescing)
    pv = _non_negative("power_per_volume", power_per_volume)
    vs = _non_negative("superficial_velocity", superficial_velocity)
    return c * pv**a * vs**b


def power_per_volume_for_kla(kla: float, vs: float, coalescing: bool) -> float:
    """Gassed power per volume [W/m3] that gives ``kla`` at ``vs`` (inverse van 't Riet).

    Parameters
    ----------
    kla : float
        Target kLa [1/s].
    vs : float
        Superficial gas velocity [m/s], > 0.
    coalescing : bool
        Medium type, as in :func:`kla_van_t_riet`.

    Returns
    -------
    float
        P/V = (kLa / (c vs^b))^(1/a) [W/m3].
    """
    c, a, b = _van_t_riet(coalescing)
    k = _non_negative("kla", kla)
    v = _positive("vs", vs)
    return (k / (c * v**b)) ** (1.0 / a)


def van_t_riet_flags(volume: float, power_per_volume: float) -> tuple[str, ...]:
    """Flags for a use of the van 't Riet correlation outside its data range.

    Parameters
    ----------
    volume : float
        Liquid volume [m3].
    power_per_volume : float
        Gassed P/V [W/m3].

    Returns
    -------
    tuple of str
        Empty if V <= ``VAN_T_RIET_V_MAX`` and ``VAN_T_RIET_PV_MIN`` <= P/V <=
        ``VAN_T_RIET_PV_MAX`` (edges inside), else one ``FLAG_VAN_T_RIET`` message per
        violated bound.

    Notes
    -----
    van 't Riet (1979) fitted vessels up to about 2.6 m3 and 500-10000 W/m3. Secondary
    sources quote a larger volume range for the non-coalescing fit; check against the
    paper before relaxing the single 2.6 m3 limit used here for both media.
    """
    v = _positive("volume", volume)
    pv = _non_negative("power_per_volume", power_per_volume)
    flags = []
    if v > VAN_T_RIET_V_MAX:
        flags.append(f"{FLAG_VAN_T_RIET}: V = {v:.4g} m3 > {VAN_T_RIET_V_MAX:g} m3")
    if not VAN_T_RIET_PV_MIN <= pv <= VAN_T_RIET_PV_MAX:
        flags.append(f"{FLAG_VAN_T_RIET}: P/V = {pv:.4g} W/m3 outside "
                     f"[{VAN_T_RIET_PV_MIN:g}, {VAN_T_RIET_PV_MAX:g}] W/m3")
    return tuple(flags)


def gas_velocity_for_rule(vs1: float, v1: float, v2: float, gas_rule: str) -> float:
    """Superficial gas velocity [m/s] at the new scale for a gas-rate rule.

    Parameters
    ----------
    vs1 : float
        Superficial gas velocity at the reference scale [m/s].
    v1, v2 : float
        Liquid volumes [m3].
    gas_rule : str
        ``"constant_vvm"`` (Q/V constant: vs2 = vs1 L, since vs = (Q/V) H and H ~ L) or
        ``"constant_superficial_velocity"`` (vs2 = vs1).
    """
    vs = _non_negative("vs1", vs1)
    lf = scale_factor(v1, v2)
    if gas_rule == "constant_vvm":
        return vs * lf
    if gas_rule == "constant_superficial_velocity":
        return vs
    raise ValueError(f"unknown gas rule {gas_rule!r}; expected one of {list(GAS_RULES)}")


def vvm(vs: float, liquid_height: float) -> float:
    """Gas volume per liquid volume per minute [1/min] from vs [m/s] and liquid height [m].

    Notes
    -----
    Q = vs A_cross and V = A_cross H for a cylinder, so Q/V = vs/H; times 60 s/min.
    """
    return 60.0 * _non_negative("vs", vs) / _positive("liquid_height", liquid_height)


@dataclass(frozen=True, slots=True)
class AerationScaleUp:
    """Result of scaling an aerated stirred tank.

    Attributes
    ----------
    rule : str
        Agitation rule (a key of ``RULE_EXPONENTS``) or ``"constant_kla"``.
    gas_rule : str
        One of ``GAS_RULES``.
    coalescing : bool
        Medium type used in the van 't Riet correlation.
    agitation : AgitationScaleUp
        Speeds, powers, regimes and agitation flags at both scales.
    superficial_velocity1, superficial_velocity2 : float
        vs [m/s].
    vvm1, vvm2 : float
        Gas rate per liquid volume [1/min].
    gassed_power_per_volume1, gassed_power_per_volume2 : float
        Gassed P/V used in the kLa correlation [W/m3].
    kla1, kla2 : float
        kLa [1/s].
    kla_valid : bool
        True if the van 't Riet correlation is inside its range at both scales.
    flags : tuple of str
        Agitation flags followed by ``FLAG_VAN_T_RIET`` messages.
    """

    rule: str
    gas_rule: str
    coalescing: bool
    agitation: AgitationScaleUp
    superficial_velocity1: float
    superficial_velocity2: float
    vvm1: float
    vvm2: float
    gassed_power_per_volume1: float
    gassed_power_per_volume2: float
    kla1: float
    kla2: float
    kla_valid: bool
    flags: tuple[str, ...]


def scale_aeration(v1: float, v2: float, d1: float, n1: float, vs1: float, *, rule: str,
                   gas_rule: str, coalescing: bool, rho: float, mu: float, np_: float,
                   gassed_power_fraction: float = 1.0) -> AerationScaleUp:
    """Scale an aerated stirred tank: agitation rule or constant kLa, and a gas-rate rule.

    Parameters
    ----------
    v1, v2 : float
        Liquid volumes [m3].
    d1 : float
        Impeller diameter at the reference scale [m].
    n1 : float
        Impeller speed at the reference scale [1/s].
    vs1 : float
        Superficial gas velocity at the reference scale [m/s].
    rule : str
        A key of ``RULE_EXPONENTS``, or ``"constant_kla"``: the speed at the new scale is
        the one whose gassed P/V gives the reference kLa at the new vs
        (:func:`power_per_volume_for_kla`).
    gas_rule : str
        ``"constant_vvm"`` or ``"constant_superficial_velocity"``.
    coalescing : bool
        Medium type for the van 't Riet correlation.
    rho, mu, np_ : float
        Density [kg/m3], viscosity [Pa s], ungassed turbulent power number [-].
    gassed_power_fraction : float, optional
        Pg/P, the same at both scales [-]; default 1 (ungassed power used as gassed power).

    Returns
    -------
    AerationScaleUp

    Notes
    -----
    Geometry as in :func:`scale_agitation` (H = T). For ``constant_kla`` the speed follows
    from P/V ~ N^3 D^2 at constant Np: N2 = N1 ((P/V)2 / (P/V)1)^(1/3) L^(-2/3).
    """
    if rule != RULE_CONSTANT_KLA and rule not in RULE_EXPONENTS:
        raise ValueError(f"unknown aeration rule {rule!r}; expected one of "
                         f"{sorted(RULE_EXPONENTS) + [RULE_CONSTANT_KLA]}")
    frac = _positive("gassed_power_fraction", gassed_power_fraction)
    vs2 = gas_velocity_for_rule(vs1, v1, v2, gas_rule)
    vs1 = float(vs1)
    lf = scale_factor(v1, v2)
    pg1 = frac * power_per_volume(np_, rho, n1, d1, v1)
    kla1 = kla_van_t_riet(pg1, vs1, coalescing)
    if rule == RULE_CONSTANT_KLA:
        pg2 = power_per_volume_for_kla(kla1, vs2, coalescing)
        n2 = float(n1) * (pg2 / pg1) ** (1.0 / 3.0) * lf ** (-2.0 / 3.0) if pg1 > 0.0 else 0.0
        agit = _agitation(v1, v2, d1, n1, n2, rule, rho, mu, np_)
    else:
        agit = scale_agitation(v1, v2, d1, n1, rule, rho=rho, mu=mu, np_=np_)
    pg2 = frac * agit.scale2.power_per_volume
    kla2 = kla_van_t_riet(pg2, vs2, coalescing)
    riet = tuple(f"{f} (scale 1)" for f in van_t_riet_flags(v1, pg1)) + tuple(
        f"{f} (scale 2)" for f in van_t_riet_flags(v2, pg2))
    return AerationScaleUp(
        rule, gas_rule, coalescing, agit, vs1, vs2,
        vvm(vs1, agit.scale1.tank_diameter), vvm(vs2, agit.scale2.tank_diameter),
        pg1, pg2, kla1, kla2, not riet, agit.flags + riet,
    )


# ---------------------------------------------------------------- heat removal


def ua_at_scale(ua1: float, v1: float, v2: float) -> float:
    """Jacket UA [W/K] of a geometrically similar vessel at constant U.

    Parameters
    ----------
    ua1 : float
        UA at the reference scale [W/K].
    v1, v2 : float
        Liquid volumes [m3].

    Returns
    -------
    float
        UA2 = UA1 (V2/V1)^(2/3) = UA1 L^2 [W/K].

    Notes
    -----
    Same overall coefficient U at both scales (in practice U tends to fall with scale as
    the process-side film changes with agitation, so this is optimistic); area ~ L^2.
    """
    return _positive("ua1", ua1) * scale_factor(v1, v2) ** 2


def cooling_capacity(u: float, area: float, t_reaction: float, t_jacket: float) -> float:
    """Heat removal rate Q = U A (T_reaction - T_jacket) [W] (negative: the jacket heats).

    Parameters
    ----------
    u : float
        Overall heat-transfer coefficient [W/(m2 K)] (typical: glass-lined 150-400,
        stainless 300-800; docs/ENGINEERING_DATA.md, process physics).
    area : float
        Heat-transfer area [m2].
    t_reaction, t_jacket : float
        Batch and mean jacket temperatures [K].

    Notes
    -----
    Uses a single (mean) jacket temperature; for a jacket whose coolant warms appreciably
    use the log-mean difference instead.
    """
    return (_positive("u", u) * _positive("area", area)
            * (_finite("t_reaction", t_reaction) - _finite("t_jacket", t_jacket)))


@dataclass(frozen=True, slots=True)
class HeatScaleUp:
    """Heat generation against jacket removal at two scales.

    Attributes
    ----------
    scale_factor : float
        L [-].
    ua1, ua2 : float
        Jacket UA [W/K].
    generation1, generation2 : float
        Heat generated by the reaction [W] (proportional to V).
    removal1, removal2 : float
        Removal capacity UA (T_reaction - T_jacket) [W].
    ratio1, ratio2 : float
        generation / removal [-]; ratio2 / ratio1 = L. Above 1 the jacket cannot hold
        the batch temperature.
    jacket_temperature_required2 : float
        Jacket temperature that would remove the generated heat at the new scale [K].
    flags : tuple of str
        ``FLAG_COOLING`` messages for each scale whose ratio exceeds 1.
    """

    scale_factor: float
    ua1: float
    ua2: float
    generation1: float
    generation2: float
    removal1: float
    removal2: float
    ratio1: float
    ratio2: float
    jacket_temperature_required2: float
    flags: tuple[str, ...]


def scale_heat_removal(v1: float, v2: float, ua1: float, generation1: float,
                       t_reaction: float, t_jacket: float) -> HeatScaleUp:
    """Compare heat generation and jacket removal when a recipe moves from ``v1`` to ``v2``.

    Parameters
    ----------
    v1, v2 : float
        Liquid volumes [m3].
    ua1 : float
        Jacket UA at the reference scale [W/K].
    generation1 : float
        Reaction heat rate at the reference scale [W] (same recipe: same rate per volume).
    t_reaction, t_jacket : float
        Batch and jacket temperatures [K], the same at both scales.

    Returns
    -------
    HeatScaleUp

    Notes
    -----
    Generation ~ V ~ L^3, removal ~ UA ~ L^2 (:func:`ua_at_scale`, constant U), so the
    generation-to-removal ratio grows as L: an exothermic batch that is comfortably cooled in
    the laboratory can be cooling-limited in production (docs/ENGINEERING_DATA.md, scale-up).
    """
    lf = scale_factor(v1, v2)
    ua1 = _positive("ua1", ua1)
    ua2 = ua_at_scale(ua1, v1, v2)
    g1 = _non_negative("generation1", generation1)
    g2 = g1 * float(v2) / float(v1)
    dt = _finite("t_reaction", t_reaction) - _finite("t_jacket", t_jacket)
    r1, r2 = ua1 * dt, ua2 * dt
    ratio1 = g1 / r1 if r1 > 0.0 else math.inf
    ratio2 = g2 / r2 if r2 > 0.0 else math.inf
    flags = tuple(
        f"{FLAG_COOLING}: {label} generates {g:.4g} W against {r:.4g} W removal"
        for label, g, r, ratio in (("scale 1", g1, r1, ratio1), ("scale 2", g2, r2, ratio2))
        if ratio > 1.0
    )
    return HeatScaleUp(lf, ua1, ua2, g1, g2, r1, r2, ratio1, ratio2,
                       float(t_reaction) - g2 / ua2, flags)


# ---------------------------------------------------------------- cost


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
    c = _non_negative("c0", c0)
    s0v = _positive("s0", s0)
    sv = _positive("s", s)
    nv = _finite("n", n)
    if valid is None:
        lo, hi = s0v / COST_RANGE_FACTOR, s0v * COST_RANGE_FACTOR
    else:
        lo, hi = (_positive("valid[0]", valid[0]), _positive("valid[1]", valid[1]))
        if lo > hi:
            raise ValueError(f"valid range is reversed: ({lo}, {hi})")
    inside = lo <= sv <= hi
    flags: tuple[str, ...] = ()
    if not inside:
        flags = (f"{FLAG_COST}: size {sv:.4g} outside the validity range "
                 f"[{lo:.4g}, {hi:.4g}] of exponent n = {nv:g}",)
    return CostEstimate(c * (sv / s0v) ** nv, inside, (lo, hi), flags)
