"""Fermentation, drying and crystallisation kernels against independent SciPy references,
closed forms and conservation laws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from twin.kernels import crystallisation as cr
from twin.kernels import drying as dr
from twin.kernels import errors, integrate
from twin.kernels import fermentation as fe

R = 8.314462618
H = 3600.0

# ---------------------------------------------------------------- fermentation

FERM = dict(mu_max=0.4 / H, ks=0.1, ko=2e-4, y_xs=0.5, y_xo=1.2, kla=0.08, c_star=7.5e-3)


def _ferm_reference(kw, x0, s0, c0, v0, t_end, method="Radau"):
    """Independent concentration-form fed-batch model (dilution terms explicit)."""

    def feed(t):
        if kw.get("t_feed_start", 0.0) <= t < kw.get("t_feed_end", math.inf):
            return kw.get("f0", 0.0) * math.exp(kw.get("mu_feed", 0.0) *
                                                (t - kw.get("t_feed_start", 0.0)))
        return 0.0

    def f(t, y):
        x, s, c, v = y
        mu = kw["mu_max"] * max(s, 0) / (kw["ks"] + max(s, 0))
        if kw.get("ko", 0.0) > 0:
            mu *= max(c, 0) / (kw["ko"] + max(c, 0))
        d = feed(t) / v
        return [mu * x - d * x, -mu * x / kw["y_xs"] + d * (kw.get("s_feed", 0.0) - s),
                kw["kla"] * (kw["c_star"] - c) - mu * x / kw["y_xo"] - d * c, feed(t)]

    stops = sorted({0.0, t_end, *[t for t in (kw.get("t_feed_start", 0.0),
                                              kw.get("t_feed_end", math.inf)) if 0 < t < t_end]})
    y = [x0, s0, c0, v0]
    for a, b in zip(stops[:-1], stops[1:], strict=True):
        sol = solve_ivp(f, (a, b), y, method=method, rtol=1e-10,
                        atol=[1e-10, 1e-10, 1e-13, 1e-12])
        assert sol.success
        y = sol.y[:, -1]
    return np.asarray(y)


@pytest.mark.parametrize(
    "extra",
    [
        {},  # batch, oxygen-limited at high biomass
        dict(s_feed=400.0, f0=2e-6, t_feed_start=6 * H, t_feed_end=20 * H),  # constant feed
        dict(s_feed=400.0, f0=5e-7, mu_feed=0.15 / H, t_feed_start=5 * H, t_feed_end=18 * H),
    ],
    ids=["batch", "constant-feed", "exponential-feed"],
)
def test_fermentation_matches_radau(extra: dict) -> None:
    """Reference: solve_ivp Radau rtol 1e-10 on the concentration-form equations."""
    kw = dict(FERM, **extra)
    res = fe.run_fermentation_phase(
        fe.fermentation_parameters(**kw),
        fe.fermentation_state(biomass=0.5, substrate=15.0, dissolved_oxygen=7e-3, volume=1.0),
        t_end=20 * H, unit="F-1", phase="grow", rtol=1e-9, method=integrate.AUTO,
    )
    ref = _ferm_reference(kw, 0.5, 15.0, 7e-3, 1.0, 20 * H)
    assert res.totals["biomass_conc_kg_m3"] == pytest.approx(ref[0], rel=1e-5)
    assert res.totals["substrate_conc_kg_m3"] == pytest.approx(ref[1], rel=1e-5, abs=1e-6)
    assert res.totals["volume_m3"] == pytest.approx(ref[3], rel=1e-9)
    assert res.profile[-1, fe.P_DO] == pytest.approx(ref[2], rel=1e-4, abs=1e-8)


def _monod_time(x, x0, s0, mu_max, ks, y):
    """Closed form of batch Monod growth: mu_max t = (1 + Ks Y/Z) ln(X/X0) - Ks Y/Z ln(S/S0),
    Z = X0 + Y S0 (derived by partial fractions from dX/dt = mu_max S X/(Ks + S))."""
    z = x0 + y * s0
    s = (z - x) / y
    return ((1 + ks * y / z) * math.log(x / x0) - ks * y / z * math.log(s / s0)) / mu_max


@pytest.mark.parametrize("ks,x_target", [(0.05, 5.0), (1.0, 8.0), (3.0, 9.5)])
def test_batch_monod_event_time_closed_form(ks: float, x_target: float) -> None:
    """Closed form: time to reach the target biomass without oxygen limitation."""
    kw = dict(FERM, ko=0.0, ks=ks, kla=1.0, x_target=x_target)
    res = fe.run_fermentation_phase(
        fe.fermentation_parameters(**kw),
        fe.fermentation_state(biomass=0.5, substrate=20.0, dissolved_oxygen=7e-3, volume=1.0),
        t_end=100 * H, unit="F-1", phase="batch", rtol=1e-10, method=integrate.DOPRI5,
    )
    assert res.ended_by == "target_biomass"
    expected = _monod_time(x_target, 0.5, 20.0, kw["mu_max"], ks, kw["y_xs"])
    assert res.duration == pytest.approx(expected, rel=1e-8)


@settings(max_examples=10, deadline=None)
@given(f0=st.floats(1e-7, 5e-6), s_feed=st.floats(50.0, 500.0), kla=st.floats(0.01, 0.2))
def test_fermentation_conservation(f0: float, s_feed: float, kla: float) -> None:
    """Without maintenance: biomass formed = Y_xs x substrate consumed and dissolved-O2
    change = transferred - biomass formed / Y_xo; read-only inputs are not modified."""
    kw = dict(FERM, kla=kla, s_feed=s_feed, f0=f0, t_feed_start=2 * H, t_feed_end=10 * H)
    p = fe.fermentation_parameters(**kw)
    y0 = fe.fermentation_state(biomass=1.0, substrate=10.0, dissolved_oxygen=6e-3, volume=1.0)
    p.flags.writeable = y0.flags.writeable = False
    status, _, _, y, totals, _, _ = fe.fermentation_phase(p, y0, 12 * H, 1e-9, integrate.AUTO,
                                                          200_000, 20)
    assert errors.is_success(status)
    formed = totals[fe.BIOMASS_FORMED]
    assert formed == pytest.approx(kw["y_xs"] * totals[fe.S_CONSUMED], rel=1e-6)
    o2_change = y[fe.m.M_O2] - y0[fe.m.M_O2]
    assert o2_change == pytest.approx(totals[fe.O2_TRANSFERRED] - formed / kw["y_xo"],
                                      abs=1e-6 * totals[fe.O2_TRANSFERRED])


# ---------------------------------------------------------------- drying

NMP = dict(molar_mass=0.09913, dh_vap=53e3, t_boil=475.15)  # illustrative NMP-like solvent
WATER = dict(molar_mass=0.018015, dh_vap=40.65e3, t_boil=373.15)
DRY = dict(area=1.0, m_dry=0.2, cp_dry=900.0, cp_solvent=1700.0, h_conv=50.0, k_mass=0.05,
           x_crit=0.3, x_eq=0.002, air_flow=0.5, t_ambient=293.15)


def _dry_reference(kw, m0, temp0, t_end):
    """Independent lumped drying model for solve_ivp DOP853."""

    def f(t, y):
        m, temp = y
        psat = kw.get("p_ref", 101325.0) * math.exp(-kw["dh_vap"] / R *
                                                     (1 / temp - 1 / kw["t_boil"]))
        rho = psat * kw["molar_mass"] / (R * temp)
        x = m / kw["m_dry"]
        frac = min(1.0, max(0.0, (x - kw["x_eq"]) / (kw["x_crit"] - kw["x_eq"])))
        j = max(kw["k_mass"] * (rho - kw.get("rho_vapour_air", 0.0)) * frac, 0.0) * kw["area"]
        cap = kw["m_dry"] * kw["cp_dry"] + max(m, 0) * kw["cp_solvent"]
        q = kw["h_conv"] * kw["area"] * (kw["t_air"] - temp) - j * kw["dh_vap"] / kw["molar_mass"]
        return [-j, q / cap]

    sol = solve_ivp(f, (0, t_end), [m0, temp0], method="DOP853", rtol=1e-11, atol=1e-12)
    assert sol.success
    return sol.y[:, -1]


@pytest.mark.parametrize(
    "solvent,t_air,m0",
    [(NMP, 393.15, 0.15), (NMP, 413.15, 0.05), (WATER, 353.15, 0.1)],
    ids=["nmp-120C", "nmp-140C-thin", "water-80C"],
)
def test_drying_matches_dop853(solvent: dict, t_air: float, m0: float) -> None:
    """Reference: solve_ivp DOP853 rtol 1e-11 through constant- and falling-rate periods."""
    kw = dict(DRY, **solvent, t_air=t_air)
    t_end = 300.0
    res = dr.run_drying_phase(dr.drying_parameters(**kw),
                              dr.drying_state(solvent_mass=m0, temperature=298.15),
                              t_end=t_end, unit="D-1", phase="dry", rtol=1e-10)
    ref = _dry_reference(kw, m0, 298.15, t_end)
    assert res.end_state[0] == pytest.approx(ref[0], rel=1e-6, abs=1e-10)
    assert res.end_state[1] == pytest.approx(ref[1], abs=1e-6)


@settings(max_examples=10, deadline=None)
@given(t_air=st.floats(330.0, 450.0), h=st.floats(10.0, 150.0), m0=st.floats(0.01, 0.2))
def test_drying_energy_and_mass_closure(t_air: float, h: float, m0: float) -> None:
    """Energy: H_end - H_0 = Q_conv - Q_latent - H_vapour with H = C(m)(T - T_ref); mass:
    evaporated = m0 - m_end = Q_latent M / dH_vap."""
    kw = dict(DRY, **NMP, t_air=t_air, h_conv=h, x_target=0.01)
    p = dr.drying_parameters(**kw)
    y0 = dr.drying_state(solvent_mass=m0, temperature=300.0)
    p.flags.writeable = y0.flags.writeable = False
    status, _, t, y, tot, _, _ = dr.drying_phase(p, y0, 3600.0, 1e-9, integrate.AUTO,
                                                 200_000, 20)
    assert errors.is_success(status)

    def enthalpy(m, temp):
        return (kw["m_dry"] * kw["cp_dry"] + m * kw["cp_solvent"]) * (temp - 298.15)

    lhs = enthalpy(y[0], y[1]) - enthalpy(y0[0], y0[1])
    rhs = tot[dr.Q_CONV] - tot[dr.Q_LATENT] - tot[dr.H_VAPOUR]
    assert abs(lhs - rhs) <= 1e-7 * (abs(tot[dr.Q_CONV]) + abs(tot[dr.Q_LATENT]) + 1.0)
    assert tot[dr.EVAPORATED] == pytest.approx(tot[dr.Q_LATENT] * 0.09913 / 53e3, rel=1e-7)
    assert tot[dr.AIR_HEATING] == pytest.approx(0.5 * 1006.0 * (t_air - 293.15) * t)


def test_drying_target_event() -> None:
    """The phase ends exactly at the target solvent content."""
    kw = dict(DRY, **WATER, t_air=353.15, x_target=0.05)
    res = dr.run_drying_phase(dr.drying_parameters(**kw),
                              dr.drying_state(solvent_mass=0.1, temperature=298.15),
                              t_end=1e5, unit="D-1", phase="dry", rtol=1e-10)
    assert res.ended_by == "target_solvent_content"
    assert res.end_state[0] / kw["m_dry"] == pytest.approx(0.05, abs=1e-12)
    ref = _dry_reference(kw, 0.1, 298.15, res.duration)
    assert ref[0] / kw["m_dry"] == pytest.approx(0.05, abs=1e-8)


# ---------------------------------------------------------------- crystallisation

SOL = (0.1, 0.002, 5e-5)
CRYST = dict(t_start=333.15, t_end=293.15, t_cool=3 * H, solubility=SOL, k_b=1e8, b=2.0,
             k_g=1e-7, g=1.5, rho_c=1500.0, m_solvent=100.0, heat_capacity=4e5, dh_cryst=1e5)


def _c_star(temp):
    th = temp - 273.15
    return SOL[0] + SOL[1] * th + SOL[2] * th * th


def _cryst_reference(kw, y0, t_end):
    """Independent moment model for solve_ivp Radau."""
    kv = math.pi / 6

    def temp_of(t):
        s = min(t / kw["t_cool"], 1.0)
        s = s**3 if kw.get("profile", 0) == cr.CUBIC else s
        return kw["t_start"] + (kw["t_end"] - kw["t_start"]) * s

    def f(t, y):
        m0, m1, m2, m3, c = y
        cs = _c_star(temp_of(t))
        s = max((c - cs) / cs, 0.0)
        b, g = kw["k_b"] * s ** kw["b"], kw["k_g"] * s ** kw["g"]
        return [b, g * m0, 2 * g * m1, 3 * g * m2, -3 * kw["rho_c"] * kv * g * m2]

    stops = [0.0, kw["t_cool"], t_end] if kw["t_cool"] < t_end else [0.0, t_end]
    y = list(y0)
    for a, b_ in zip(stops[:-1], stops[1:], strict=True):
        sol = solve_ivp(f, (a, b_), y, method="Radau", rtol=1e-10,
                        atol=[1e-2, 1e-12, 1e-17, 1e-22, 1e-14])
        assert sol.success
        y = sol.y[:, -1]
    return np.asarray(y)


@pytest.mark.parametrize("profile", [cr.LINEAR, cr.CUBIC], ids=["linear", "cubic"])
@pytest.mark.parametrize("seeded", [False, True], ids=["unseeded", "seeded"])
def test_crystallisation_matches_radau(profile: int, seeded: bool) -> None:
    """Reference: solve_ivp Radau rtol 1e-10 on an independent moment model."""
    kw = dict(CRYST, profile=profile)
    c0 = _c_star(333.15)
    seeds = (1e8, 1e8 * 50e-6, 1e8 * (50e-6) ** 2, 1e8 * (50e-6) ** 3) if seeded else (0,) * 4
    y0 = cr.crystallisation_state(concentration=c0, seed_moments=seeds)
    res = cr.run_crystallisation_phase(cr.crystallisation_parameters(**kw), y0, t_end=4 * H,
                                       unit="C-1", phase="cool", rtol=1e-9)
    ref = _cryst_reference(kw, y0[:5], 4 * H)
    np.testing.assert_allclose(res.end_state[:5], ref, rtol=2e-5)


@settings(max_examples=10, deadline=None)
@given(k_g=st.floats(1e-8, 1e-6), k_b=st.floats(1e6, 1e9), t_cool=st.floats(0.5 * H, 5 * H))
def test_crystallisation_solute_conservation(k_g: float, k_b: float, t_cool: float) -> None:
    """Solute is conserved: c + rho_c k_v mu3 constant; heat removed = sensible heat of the
    slurry + heat of crystallisation of the crystal mass formed."""
    kw = dict(CRYST, k_g=k_g, k_b=k_b, t_cool=t_cool)
    c0 = _c_star(333.15)
    p = cr.crystallisation_parameters(**kw)
    y0 = cr.crystallisation_state(concentration=c0)
    p.flags.writeable = y0.flags.writeable = False
    status, _, t, y, tot, _, _ = cr.crystallisation_phase(p, y0, 6 * H, 1e-9, integrate.AUTO,
                                                          200_000, 20)
    assert errors.is_success(status)
    kv = math.pi / 6
    assert y[cr.m.CONC] + 1500.0 * kv * y[cr.m.MU3] == pytest.approx(c0, rel=1e-9)
    expected_q = 4e5 * (333.15 - 293.15) + 1e5 * tot[cr.CRYSTAL_MASS]
    assert tot[cr.HEAT_REMOVED] == pytest.approx(expected_q, rel=1e-7)
    assert tot[cr.CRYSTAL_MASS] == pytest.approx(100.0 * (c0 - y[cr.m.CONC]), rel=1e-9)


def test_model_failures_raise() -> None:
    """Invalid inputs surface as IntegrationError naming unit and phase."""
    p = fe.fermentation_parameters(**dict(FERM, y_xs=0.0))
    y0 = fe.fermentation_state(biomass=1, substrate=1, dissolved_oxygen=0, volume=1)
    with pytest.raises(errors.IntegrationError, match="unit 'F-2' phase 'grow'"):
        fe.run_fermentation_phase(p, y0, t_end=10.0, unit="F-2", phase="grow")
    p = cr.crystallisation_parameters(**dict(CRYST, solubility=(-1.0, 0.0, 0.0)))
    with pytest.raises(errors.IntegrationError, match="unit 'C-2' phase 'cool'"):
        cr.run_crystallisation_phase(p, cr.crystallisation_state(concentration=0.3),
                                     t_end=10.0, unit="C-2", phase="cool")
