"""Scale-up relations against exact algebra, direct geometry and the published constants.

References: docs/ENGINEERING_DATA.md, scale-up (rule exponents, A/V = 5/D, cost rule);
van 't Riet, Ind. Eng.
Chem. Process Des. Dev. 18 (1979) 357-364 (kLa constants and data range); Grenville (1992)
via the Handbook of Industrial Mixing (2004) ch. 9 (turbulent blend time, Re Np^(1/3) >=
6370); Williams, Chem. Eng. 54(12) (1947) (six-tenths rule).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.kernels import scaleup as su

SCALES = [0.125, 0.5, 1.0, 2.0, 3.7, 10.0, 125.0, 8000.0]  # V2/V1
WATER = dict(rho=998.0, mu=1.0e-3, np_=5.0)  # Rushton turbine in water


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# ---------------------------------------------------------------- geometry


@pytest.mark.parametrize("ratio", SCALES)
def test_scale_factor_is_cube_root_of_volume_ratio(ratio: float) -> None:
    lf = su.scale_factor(0.01, 0.01 * ratio)
    assert rel(lf**3, ratio) < 1e-13


@pytest.mark.parametrize("volume", [1e-3, 0.05, 2.0, 50.0])
def test_area_per_volume_is_5_over_t_for_h_equal_t(volume: float) -> None:
    """docs/ENGINEERING_DATA.md, scale-up: flat bottom, H = T, bottom + wall wetted -> A/V = 5/T."""
    g = su.vessel_geometry(volume)
    # direct geometry, independent of the module: V = pi T^3/4 for H = T
    t = (4.0 * volume / math.pi) ** (1.0 / 3.0)
    assert rel(g.diameter, t) < 1e-14 and g.liquid_height == g.diameter
    assert rel(math.pi * g.diameter**2 / 4.0 * g.liquid_height, volume) < 1e-13
    bottom, wall = math.pi * t**2 / 4.0, math.pi * t * t
    assert rel(g.jacket_area, bottom + wall) < 1e-13
    assert rel(g.area_per_volume, 5.0 / t) < 1e-13


def test_area_per_volume_with_given_liquid_height() -> None:
    g = su.vessel_geometry(2.0, liquid_height=1.6)
    assert rel(math.pi * g.diameter**2 / 4.0 * 1.6, 2.0) < 1e-14
    assert rel(g.area_per_volume, 4.0 / g.diameter + 1.0 / 1.6) < 1e-13


def test_area_per_volume_falls_as_one_over_l() -> None:
    a1, a2 = su.vessel_geometry(0.01), su.vessel_geometry(10.0)
    assert rel(a1.area_per_volume / a2.area_per_volume, su.scale_factor(0.01, 10.0)) < 1e-13


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_impossible_volume_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="v1 must be a finite number > 0"):
        su.scale_factor(bad, 1.0)
    with pytest.raises(ValueError, match="volume"):
        su.vessel_geometry(bad)


# ---------------------------------------------------------------- agitation


def test_power_from_power_number_matches_direct_formula() -> None:
    np_, rho, n, d = 5.2, 1050.0, 3.5, 0.12
    assert rel(su.power(np_, rho, n, d), np_ * rho * n * n * n * d * d * d * d * d) < 1e-14
    assert rel(su.power_per_volume(np_, rho, n, d, 0.02),
               np_ * rho * n**3 * d**5 / 0.02) < 1e-14
    assert rel(su.reynolds(rho, n, d, 2e-3), rho * n * d * d / 2e-3) < 1e-14
    assert rel(su.tip_speed(n, d), math.pi * n * d) < 1e-15
    assert rel(su.froude(n, d), n * n * d / 9.80665) < 1e-15


@pytest.mark.parametrize("ratio", SCALES)
def test_constant_power_per_volume(ratio: float) -> None:
    r = su.scale_agitation(0.02, 0.02 * ratio, 0.1, 5.0, "constant_power_per_volume", **WATER)
    lf = r.scale_factor
    assert rel(r.scale2.power_per_volume, r.scale1.power_per_volume) < 1e-12
    assert rel(r.n2 / 5.0, lf ** (-2.0 / 3.0)) < 1e-13
    assert rel(r.scale2.impeller_diameter / r.scale1.impeller_diameter, lf) < 1e-13


@pytest.mark.parametrize("ratio", SCALES)
def test_constant_tip_speed(ratio: float) -> None:
    r = su.scale_agitation(0.02, 0.02 * ratio, 0.1, 5.0, "constant_tip_speed", **WATER)
    assert rel(r.scale2.tip_speed, r.scale1.tip_speed) < 1e-12
    assert rel(r.n2 / 5.0, r.scale_factor**-1) < 1e-13


@pytest.mark.parametrize("ratio", SCALES)
def test_constant_reynolds(ratio: float) -> None:
    r = su.scale_agitation(0.02, 0.02 * ratio, 0.1, 5.0, "constant_reynolds", **WATER)
    assert rel(r.scale2.reynolds, r.scale1.reynolds) < 1e-12
    assert rel(r.n2 / 5.0, r.scale_factor**-2) < 1e-13
    assert r.scale1.regime == r.scale2.regime


@pytest.mark.parametrize("ratio", SCALES)
def test_constant_froude(ratio: float) -> None:
    r = su.scale_agitation(0.02, 0.02 * ratio, 0.1, 5.0, "constant_froude", **WATER)
    assert rel(r.scale2.froude, r.scale1.froude) < 1e-12
    assert rel(r.n2 / 5.0, r.scale_factor**-0.5) < 1e-13


@pytest.mark.parametrize("ratio", SCALES)
def test_constant_mixing_time(ratio: float) -> None:
    """N2 = N1; Grenville's turbulent blend time is then the same at both scales."""
    r = su.scale_agitation(0.02, 0.02 * ratio, 0.1, 5.0, "constant_mixing_time", **WATER)
    assert r.n2 == 5.0
    assert rel(r.scale2.blend_time.theta95, r.scale1.blend_time.theta95) < 1e-12
    # P/V then grows as L^2 (P/V ~ N^3 D^2)
    assert rel(r.scale2.power_per_volume / r.scale1.power_per_volume, r.scale_factor**2) < 1e-12


def test_speed_for_rule_exponents_and_unknown_rule() -> None:
    expected = {"constant_power_per_volume": -2 / 3, "constant_tip_speed": -1,
                "constant_reynolds": -2, "constant_mixing_time": 0, "constant_froude": -1 / 2}
    assert dict(su.RULE_EXPONENTS) == pytest.approx(expected, rel=0, abs=0)
    for rule, a in expected.items():
        assert rel(su.speed_for_rule(4.0, 0.1, 0.8, rule), 4.0 * 8.0**a) < 1e-14
    with pytest.raises(ValueError, match="unknown agitation rule 'constant_torque'"):
        su.speed_for_rule(4.0, 0.1, 0.8, "constant_torque")


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(su.RULE_EXPONENTS)),
    st.floats(0.01, 50.0),
    st.floats(1e-3, 1.0),
    st.floats(0.05, 40.0),
)
def test_rule_there_and_back_returns_original_speed(rule: str, n1: float, d1: float,
                                                    lf: float) -> None:
    d2 = d1 * lf
    n2 = su.speed_for_rule(n1, d1, d2, rule)
    assert rel(su.speed_for_rule(n2, d2, d1, rule), n1) < 1e-12


def test_regime_switches_exactly_at_thresholds() -> None:
    """Laminar Re < 10, turbulent Re > 1e4 (Handbook of Industrial Mixing, ch. 6)."""
    assert su.RE_LAMINAR_MAX == 10.0 and su.RE_TURBULENT_MIN == 1.0e4
    assert su.regime(math.nextafter(10.0, 0.0)) == "laminar"
    assert su.regime(10.0) == "transitional"
    assert su.regime(1.0e4) == "transitional"
    assert su.regime(math.nextafter(1.0e4, math.inf)) == "turbulent"
    assert su.regime(0.0) == "laminar"
    with pytest.raises(ValueError, match="re must be"):
        su.regime(-1.0)


def test_power_number_flag_when_a_scale_is_not_turbulent() -> None:
    # constant tip speed in a viscous liquid: Re2 = Re1 L, so the small scale is transitional
    viscous = dict(rho=1000.0, mu=0.05, np_=5.0)
    r = su.scale_agitation(0.02, 40.0, 0.1, 5.0, "constant_tip_speed", **viscous)
    assert r.scale1.regime == "transitional" and r.scale2.regime == "turbulent"
    assert not r.power_number_valid
    assert [f for f in r.flags if f.startswith(su.FLAG_POWER_NUMBER)] == [
        f for f in r.flags if "scale 1" in f and f.startswith(su.FLAG_POWER_NUMBER)]
    ok = su.scale_agitation(0.02, 40.0, 0.1, 5.0, "constant_tip_speed", **WATER)
    assert ok.power_number_valid and ok.flags == ()


def test_power_number_flag_at_the_reynolds_threshold() -> None:
    """Binary-exact inputs put Re1 exactly at 1e4 (transitional), then just above."""
    rho, n, d, mu = 1250.0, 4.0, 0.5, 0.125  # rho N D^2 / mu = 1250 / 0.125 = 1e4 exactly
    at = su.scale_agitation(1.0, 1.0, d, n, "constant_reynolds", rho=rho, mu=mu, np_=5.0)
    above = su.scale_agitation(1.0, 1.0, d, math.nextafter(n, 5.0), "constant_reynolds",
                               rho=rho, mu=mu, np_=5.0)
    assert at.scale1.reynolds == 1.0e4
    assert not at.power_number_valid
    assert any(f.startswith(su.FLAG_POWER_NUMBER) for f in at.flags)
    assert above.scale1.reynolds > 1.0e4 and above.power_number_valid
    assert not any(f.startswith(su.FLAG_POWER_NUMBER) for f in above.flags)


def test_impeller_larger_than_tank_is_impossible() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        su.scale_agitation(0.001, 1.0, 0.2, 5.0, "constant_tip_speed", **WATER)


# ---------------------------------------------------------------- blend time


def test_grenville_blend_time_value_and_validity_edge() -> None:
    """theta95 = 5.20 Np^(-1/3) (T/D)^2 / N, valid for Re Np^(1/3) >= 6370 (Grenville)."""
    np_, n, d, t = 5.0, 2.0, 0.3, 0.9
    b = su.blend_time(np_, n, d, t, re=1e5)
    assert rel(b.theta95, 5.20 * np_ ** (-1 / 3) * 9.0 / n) < 1e-14
    assert b.valid and b.flags == ()
    assert 8.0 ** (1 / 3) == 2.0  # Np = 8 puts Re Np^(1/3) exactly on the edge at Re = 3185
    edge = su.blend_time(8.0, n, d, t, 3185.0)
    assert edge.regime_number == 6370.0 and edge.valid and edge.flags == ()
    low = su.blend_time(8.0, n, d, t, math.nextafter(3185.0, 0.0))
    assert not low.valid and low.flags[0].startswith(su.FLAG_BLEND_TIME)


# ---------------------------------------------------------------- oxygen transfer


def test_van_t_riet_constants() -> None:
    """van 't Riet (1979): 0.026 (P/V)^0.4 vs^0.5 and 0.002 (P/V)^0.7 vs^0.2 (the one
    implementation: fermentation phases and the scale-up of a spec call it)."""
    assert su.kla_van_t_riet(1000.0, 0.01, True) == pytest.approx(0.041207, rel=1e-4)  # by hand
    assert su.VAN_T_RIET_COALESCING == (0.026, 0.4, 0.5)
    assert su.VAN_T_RIET_NON_COALESCING == (0.002, 0.7, 0.2)
    for pv, vs in [(500.0, 0.002), (2000.0, 0.01), (10000.0, 0.05)]:
        assert rel(su.kla_van_t_riet(pv, vs, True), 0.026 * pv**0.4 * vs**0.5) < 1e-14
        assert rel(su.kla_van_t_riet(pv, vs, False), 0.002 * pv**0.7 * vs**0.2) < 1e-14


@pytest.mark.parametrize("coalescing", [True, False])
@pytest.mark.parametrize("pv", [1.0, 500.0, 3000.0, 10000.0, 4e4])
@pytest.mark.parametrize("vs", [1e-3, 0.01, 0.08])
def test_kla_inverse_round_trip(coalescing: bool, pv: float, vs: float) -> None:
    kla = su.kla_van_t_riet(pv, vs, coalescing)
    assert rel(su.power_per_volume_for_kla(kla, vs, coalescing), pv) < 1e-12


def test_van_t_riet_range_edges() -> None:
    assert su.van_t_riet_flags(2.6, 500.0) == ()
    assert su.van_t_riet_flags(2.6, 10000.0) == ()
    assert len(su.van_t_riet_flags(math.nextafter(2.6, 3.0), 1000.0)) == 1
    assert len(su.van_t_riet_flags(1.0, math.nextafter(500.0, 0.0))) == 1
    assert len(su.van_t_riet_flags(1.0, math.nextafter(10000.0, 2e4))) == 1
    both = su.van_t_riet_flags(20.0, 2e4)
    assert len(both) == 2 and all(f.startswith(su.FLAG_VAN_T_RIET) for f in both)


def test_gas_rules() -> None:
    lf = su.scale_factor(0.05, 50.0)
    assert rel(su.gas_velocity_for_rule(0.004, 0.05, 50.0, "constant_vvm"), 0.004 * lf) < 1e-14
    assert su.gas_velocity_for_rule(0.004, 0.05, 50.0, "constant_superficial_velocity") == 0.004
    with pytest.raises(ValueError, match="unknown gas rule"):
        su.gas_velocity_for_rule(0.004, 0.05, 50.0, "constant_flow")
    # vvm from direct geometry: Q = vs pi T^2/4, vvm = 60 Q / V
    g = su.vessel_geometry(0.05)
    q = 0.004 * math.pi * g.diameter**2 / 4.0
    assert rel(su.vvm(0.004, g.liquid_height), 60.0 * q / 0.05) < 1e-13


@pytest.mark.parametrize("coalescing", [True, False])
@pytest.mark.parametrize("gas_rule", su.GAS_RULES)
def test_constant_kla_rule(coalescing: bool, gas_rule: str) -> None:
    r = su.scale_aeration(0.05, 2.0, 0.13, 8.0, 0.004, rule="constant_kla", gas_rule=gas_rule,
                          coalescing=coalescing, **WATER)
    assert rel(r.kla2, r.kla1) < 1e-12
    s1, s2 = r.agitation.scale1, r.agitation.scale2
    assert rel(s2.power_per_volume,
               su.power_per_volume_for_kla(r.kla1, r.superficial_velocity2, coalescing)) < 1e-12
    if gas_rule == "constant_vvm":
        assert rel(r.vvm2, r.vvm1) < 1e-12
        assert rel(r.superficial_velocity2, 0.004 * r.agitation.scale_factor) < 1e-14
        assert s2.power_per_volume < s1.power_per_volume  # more gas, less power for same kLa
    else:
        assert r.superficial_velocity2 == 0.004
        assert rel(s2.power_per_volume, s1.power_per_volume) < 1e-12


def test_unknown_aeration_rule_raises() -> None:
    with pytest.raises(ValueError, match="unknown aeration rule 'constant_otr'"):
        su.scale_aeration(0.05, 2.0, 0.13, 8.0, 0.004, rule="constant_otr",
                          gas_rule="constant_vvm", coalescing=True, **WATER)


def test_aeration_flags_outside_van_t_riet_range() -> None:
    # 0.05 -> 2 m3 stays inside; 0.05 -> 20 m3 at constant P/V leaves the volume range
    inside = su.scale_aeration(0.05, 2.0, 0.13, 8.0, 0.004, rule="constant_power_per_volume",
                               gas_rule="constant_vvm", coalescing=True, **WATER)
    assert 500.0 < inside.gassed_power_per_volume1 < 10000.0
    assert inside.kla_valid and inside.flags == ()
    assert rel(inside.kla2 / inside.kla1, inside.agitation.scale_factor**0.5) < 1e-12
    big = su.scale_aeration(0.05, 20.0, 0.13, 8.0, 0.004, rule="constant_power_per_volume",
                            gas_rule="constant_vvm", coalescing=True, **WATER)
    assert not big.kla_valid
    assert [f for f in big.flags if f.startswith(su.FLAG_VAN_T_RIET)] == [
        f"{su.FLAG_VAN_T_RIET}: V = 20 m3 > 2.6 m3 (scale 2)"]


# ---------------------------------------------------------------- heat removal


@pytest.mark.parametrize("ratio", SCALES)
def test_ua_scales_with_area_and_generation_ratio_with_l(ratio: float) -> None:
    v1, v2 = 0.01, 0.01 * ratio
    a1, a2 = su.vessel_geometry(v1).jacket_area, su.vessel_geometry(v2).jacket_area
    assert rel(su.ua_at_scale(300.0 * a1, v1, v2), 300.0 * a2) < 1e-12
    h = su.scale_heat_removal(v1, v2, 300.0 * a1, 200.0, 350.0, 330.0)
    assert rel(h.removal1, su.cooling_capacity(300.0, a1, 350.0, 330.0)) < 1e-13
    assert rel(h.removal2, su.cooling_capacity(300.0, a2, 350.0, 330.0)) < 1e-12
    assert rel(h.generation2, 200.0 * ratio) < 1e-13
    assert rel(h.ratio2 / h.ratio1, su.scale_factor(v1, v2)) < 1e-12
    assert rel(h.generation2 / h.ua2, 350.0 - h.jacket_temperature_required2) < 1e-12


def test_cooling_limited_flag_appears_at_scale() -> None:
    # lab: 10 L, removal 300 W/m2K * A * 20 K; generation half of it
    v1, ua1 = 0.01, 300.0 * su.vessel_geometry(0.01).jacket_area
    g1 = 0.5 * ua1 * 20.0
    h = su.scale_heat_removal(v1, 10.0, ua1, g1, 350.0, 330.0)  # L = 10 -> ratio 5
    assert rel(h.ratio1, 0.5) < 1e-14 and rel(h.ratio2, 5.0) < 1e-12
    assert len(h.flags) == 1 and h.flags[0].startswith(su.FLAG_COOLING)
    assert "scale 2" in h.flags[0]
    assert su.cooling_capacity(300.0, 2.0, 330.0, 350.0) == -12000.0


# ---------------------------------------------------------------- cost


def test_six_tenths_rule_and_range_flag() -> None:
    c = su.scaled_cost(100_000.0, 1.0, 8.0)
    assert rel(c.cost, 100_000.0 * 8.0**0.6) < 1e-14
    assert c.in_range and c.flags == () and c.valid == (0.1, 10.0)
    edge = su.scaled_cost(100_000.0, 1.0, 10.0)
    assert edge.in_range
    out = su.scaled_cost(100_000.0, 1.0, math.nextafter(10.0, 11.0))
    assert not out.in_range and out.flags[0].startswith(su.FLAG_COST)
    assert rel(out.cost, 100_000.0 * 10.0**0.6) < 1e-14  # still returned
    custom = su.scaled_cost(5e4, 2.0, 0.5, n=0.7, valid=(1.0, 50.0))
    assert not custom.in_range and rel(custom.cost, 5e4 * 0.25**0.7) < 1e-14
    assert su.scaled_cost(5e4, 2.0, 1.0, n=0.7, valid=(1.0, 50.0)).in_range
    with pytest.raises(ValueError, match="reversed"):
        su.scaled_cost(5e4, 2.0, 1.0, valid=(50.0, 1.0))
    with pytest.raises(ValueError, match="s must be"):
        su.scaled_cost(5e4, 2.0, -1.0)
