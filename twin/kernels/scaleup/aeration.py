"""Oxygen transfer: the van 't Riet kLa correlation (kLa in 1/s), its range flags, and the
gas-rate rules of aeration scale-up."""

from __future__ import annotations

from dataclasses import dataclass

from twin.kernels.scaleup.agitation import (
    AgitationScaleUp,
    _agitation,
    power_per_volume,
    scale_agitation,
)
from twin.kernels.scaleup.checks import (
    non_negative,
    positive,
)
from twin.kernels.scaleup.constants import (
    FLAG_VAN_T_RIET,
    GAS_RULES,
    RULE_CONSTANT_KLA,
    RULE_EXPONENTS,
    VAN_T_RIET_COALESCING,
    VAN_T_RIET_NON_COALESCING,
    VAN_T_RIET_PV_MAX,
    VAN_T_RIET_PV_MIN,
    VAN_T_RIET_V_MAX,
)
from twin.kernels.scaleup.geometry import (
    scale_factor,
)


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
    pv = non_negative("power_per_volume", power_per_volume)
    vs = non_negative("superficial_velocity", superficial_velocity)
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
    k = non_negative("kla", kla)
    v = positive("vs", vs)
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
    v = positive("volume", volume)
    pv = non_negative("power_per_volume", power_per_volume)
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
    vs = non_negative("vs1", vs1)
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
    return 60.0 * non_negative("vs", vs) / positive("liquid_height", liquid_height)


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
    frac = positive("gassed_power_fraction", gassed_power_fraction)
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
