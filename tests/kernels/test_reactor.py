"""Reactor phase kernel: SciPy references, closed forms, conservation, failures.

The SciPy reference right-hand side below is written independently of the kernel (plain
NumPy, concentrations of the textbook batch form where possible).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from twin.kernels import errors, integrate
from twin.kernels import reactor as r

R = 8.314462618


def _reference(p_kw: dict, y0_kw: dict, t_end: float, method: str = "DOP853"):
    """Independent semi-batch reactor model for solve_ivp; returns the OdeResult."""
    k0, ea, dh = p_kw["k0"], p_kw["ea"], p_kw["dh"]
    k02, ea2, dh2 = p_kw.get("k0_2", 0.0), p_kw.get("ea_2", 0.0), p_kw.get("dh_2", 0.0)
    scheme = p_kw.get("scheme", r.SINGLE)
    rho_cp, ua, tj = p_kw["rho_cp"], p_kw["ua"], p_kw["t_jacket"]
    fv, cf = p_kw.get("feed_rate", 0.0), p_kw.get("c_feed", 0.0)
    tf, td = p_kw.get("t_feed", 298.15), p_kw.get("t_dose", 0.0)

    def f(t, y):
        na, nb, _, temp, vol = y
        flow = fv if t < td else 0.0
        r1 = k0 * math.exp(-ea / (R * temp)) * na
        k2 = k02 * math.exp(-ea2 / (R * temp))
        r2 = 0.0 if scheme == r.SINGLE else k2 * (nb if scheme == r.SERIES else na)
        dna = flow * cf - r1 - (r2 if scheme == r.PARALLEL else 0.0)
        dnb = r1 - (r2 if scheme == r.SERIES else 0.0)
        heat = -dh * r1 - dh2 * r2 - ua * (temp - tj) - flow * rho_cp * (temp - tf)
        return [dna, dnb, r2, heat / (rho_cp * vol), flow]

    y0 = [y0_kw["n_a"], y0_kw.get("n_b", 0.0), 0.0, y0_kw["temperature"], y0_kw["volume"]]
    stops = [0.0] + ([td] if 0 < td < t_end else []) + [t_end]
    ts, ys = [], []
    y = y0
    for a, b in zip(stops[:-1], stops[1:], strict=True):  # restart at the dosing end
        sol = solve_ivp(f, (a, b), y, method=method, rtol=1e-11, atol=1e-9, dense_output=True)
        assert sol.success
        ts.append(sol.t)
        ys.append(sol.y)
        y = sol.y[:, -1]
    return np.concatenate(ts), np.concatenate(ys, axis=1)


BASE = dict(k0=1e10, ea=80e3, dh=-100e3, rho_cp=2e6, ua=500.0, t_jacket=330.0, n_a_total=1000.0)
CASES = {
    "batch-mild": (dict(BASE), dict(n_a=1000.0, temperature=330.0, volume=1.0), 600.0),
    # near runaway: weak cooling, high adiabatic rise, sharp temperature peak
    "batch-near-runaway": (
        dict(BASE, dh=-250e3, ua=2000.0, t_jacket=320.0),
        dict(n_a=1000.0, temperature=320.0, volume=1.0),
        3000.0,
    ),
    "series": (
        dict(BASE, scheme=r.SERIES, k0_2=5e11, ea_2=95e3, dh_2=-60e3),
        dict(n_a=1000.0, temperature=330.0, volume=1.0),
        2000.0,
    ),
    "parallel": (
        dict(BASE, scheme=r.PARALLEL, k0_2=1e14, ea_2=110e3, dh_2=-150e3),
        dict(n_a=1000.0, temperature=335.0, volume=1.0),
        2000.0,
    ),
    "semi-batch": (
        dict(BASE, n_a_total=1000.0, feed_rate=0.5 / 3600, c_feed=4000.0, t_feed=300.0,
             t_dose=1800.0, ua=1500.0),
        dict(n_a=0.0, temperature=340.0, volume=0.5),
        4000.0,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_reactor_matches_scipy(case: str) -> None:
    """Reference: solve_ivp DOP853, rtol 1e-11, independent model; T within 1e-5 K-ish."""
    p_kw, y_kw, t_end = CASES[case]
    p = r.reactor_parameters(**p_kw)
    y0 = r.reactor_state(**y_kw)
    res = r.run_reactor_phase(p, y0, t_end=t_end, unit="reactor", phase=case, rtol=1e-10,
                              method=integrate.DOPRI5)
    assert res.ended_by == "end_time" and res.duration == t_end
    t_ref, y_ref = _reference(p_kw, y_kw, t_end)
    scale = p_kw["n_a_total"]
    np.testing.assert_allclose(res.end_state[:3], y_ref[:3, -1], rtol=0, atol=1e-7 * scale)
    assert res.end_state[3] == pytest.approx(y_ref[3, -1], abs=1e-6)
    # peak temperature: reference maximum of its dense trajectory
    fine = np.linspace(0, t_end, 200_001)
    assert res.totals["peak_temperature_K"] >= y_ref[3].max() - 1e-6
    assert res.totals["peak_temperature_K"] == pytest.approx(y_ref[3].max(), abs=2e-3)
    # the decimated profile lies on the reference trajectory
    prof = res.profile
    t_interp = np.interp(prof[:, r.P_TIME], t_ref, y_ref[3])
    assert np.max(np.abs(prof[:, r.P_TEMP] - t_interp)) < 0.5
    del fine


def test_near_runaway_with_auto_and_rosenbrock() -> None:
    """The near-runaway batch with the default AUTO method and with Rosenbrock at rtol 1e-7
    stays within 0.05 K of the DOP853 reference at the peak."""
    p_kw, y_kw, t_end = CASES["batch-near-runaway"]
    _, y_ref = _reference(p_kw, y_kw, t_end)
    for method, tol in ((integrate.AUTO, 1e-3), (integrate.ROSENBROCK, 0.05)):
        res = r.run_reactor_phase(r.reactor_parameters(**p_kw), r.reactor_state(**y_kw),
                                  t_end=t_end, unit="reactor", phase="react", rtol=1e-7,
                                  method=method)
        assert res.totals["peak_temperature_K"] == pytest.approx(y_ref[3].max(), abs=tol)
        assert y_ref[3].max() - y_kw["temperature"] > 100.0  # it is a sharp excursion


@pytest.mark.parametrize("k", [1e-4, 3e-3, 0.05])
def test_isothermal_t99(k: float) -> None:
    """Closed form: isothermal first order reaches X = 0.99 at t = ln(100)/k."""
    p = r.reactor_parameters(k0=k, ea=0.0, dh=0.0, rho_cp=2e6, ua=0.0, t_jacket=300.0,
                             n_a_total=10.0, x_target=0.99)
    res = r.run_reactor_phase(p, r.reactor_state(n_a=10.0, temperature=300.0, volume=1.0),
                              t_end=1e9, unit="r", phase="iso", rtol=1e-10)
    assert res.ended_by == "target_conversion"
    assert res.duration == pytest.approx(math.log(100.0) / k, rel=1e-8)
    assert res.totals["conversion"] == pytest.approx(0.99, abs=1e-10)


def test_adiabatic_temperature_follows_conversion() -> None:
    """Closed form: adiabatic batch T = T0 + dT_ad X along the whole trajectory."""
    c0, dh, rho_cp, t0 = 2000.0, -80e3, 2e6, 300.0
    p = r.reactor_parameters(k0=5e8, ea=70e3, dh=dh, rho_cp=rho_cp, ua=0.0, t_jacket=300.0,
                             n_a_total=c0 * 0.8)
    res = r.run_reactor_phase(p, r.reactor_state(n_a=c0 * 0.8, temperature=t0, volume=0.8),
                              t_end=5000.0, unit="r", phase="adiabatic", rtol=1e-9)
    dt_ad = -dh * c0 / rho_cp
    prof = res.profile
    np.testing.assert_allclose(prof[:, r.P_TEMP], t0 + dt_ad * prof[:, r.P_X], atol=1e-6)
    # no cooling: MTSR is T0 + dT_ad all along
    np.testing.assert_allclose(prof[:, r.P_MTSR], t0 + dt_ad, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(
    ua=st.floats(0.0, 3000.0),
    tj=st.floats(290.0, 350.0),
    dh=st.floats(-200e3, 0.0),
    scheme=st.sampled_from([r.SINGLE, r.SERIES, r.PARALLEL]),
    dose=st.booleans(),
)
def test_conservation(ua: float, tj: float, dh: float, scheme: int, dose: bool) -> None:
    """Moles: N_A + N_B + N_C = N0 + dosed; energy: rho cp [V (T - T_feed)] change =
    Q_rxn - Q_jacket; input arrays are read-only and unchanged."""
    n0 = 0.0 if dose else 1000.0
    kw = dict(BASE, ua=ua, t_jacket=tj, dh=dh, scheme=scheme, k0_2=1e9, ea_2=80e3, dh_2=-30e3,
              t_feed=310.0)
    if dose:
        kw.update(feed_rate=1e-4, c_feed=5000.0, t_dose=2000.0)
    p = r.reactor_parameters(**kw)
    y0 = r.reactor_state(n_a=n0, temperature=320.0, volume=0.8)
    p.flags.writeable = False
    y0.flags.writeable = False
    p_copy, y0_copy = p.copy(), y0.copy()
    status, _, t, y, totals, _, _ = r.reactor_phase(p, y0, 3000.0, 1e-9, integrate.AUTO,
                                                    200_000, 50)
    assert errors.is_success(status)
    np.testing.assert_array_equal(p, p_copy)
    np.testing.assert_array_equal(y0, y0_copy)
    n_fed = totals[r.N_FED]
    # explicit RK steps keep linear invariants to round-off; the Rosenbrock path (AUTO may
    # switch) uses a finite-difference Jacobian, so allow a drift of order rtol
    assert y[:3].sum() == pytest.approx(n0 + n_fed, rel=1e-7)
    lhs = 2e6 * (y[4] * (y[3] - 310.0) - y0[4] * (y0[3] - 310.0))
    rhs = totals[r.Q_RXN] - totals[r.Q_JACKET]
    scale = abs(totals[r.Q_RXN]) + abs(totals[r.Q_JACKET]) + 2e6
    assert abs(lhs - rhs) <= 1e-6 * scale


def test_semi_batch_accumulation_and_mtsr() -> None:
    """During dosing the accumulation stays small when the reaction is fast; the max MTSR is
    no smaller than any profile MTSR, and the dosing ends at t_dose."""
    p_kw, y_kw, t_end = CASES["semi-batch"]
    res = r.run_reactor_phase(r.reactor_parameters(**p_kw), r.reactor_state(**y_kw),
                              t_end=t_end, unit="reactor", phase="dose")
    prof = res.profile
    assert res.totals["max_mtsr_K"] >= prof[:, r.P_MTSR].max() - 1e-9
    assert res.totals["moles_A_dosed"] == pytest.approx(1000.0, rel=1e-12)
    assert prof[-1, r.P_VOL] == pytest.approx(0.75, rel=1e-6)
    assert 0.0 <= res.totals["max_accumulation"] < 0.5


def test_absurd_parameters_raise_integration_error() -> None:
    """A negative activation energy of absurd size overflows exp(): NaN/inf must surface as
    IntegrationError naming the unit and the phase, never as a result."""
    p = r.reactor_parameters(k0=1e10, ea=-5e6, dh=-1e5, rho_cp=2e6, ua=100.0, t_jacket=300.0,
                             n_a_total=10.0)
    y0 = r.reactor_state(n_a=10.0, temperature=300.0, volume=1.0)
    with pytest.raises(errors.IntegrationError, match=r"unit 'R-101' phase 'react'.*infinite"):
        r.run_reactor_phase(p, y0, t_end=100.0, unit="R-101", phase="react")
    with pytest.raises(errors.IntegrationError, match="invalid input"):
        r.run_reactor_phase(r.reactor_parameters(**dict(BASE, rho_cp=0.0)), y0, t_end=10.0,
                            unit="R-101", phase="react")
    with pytest.raises(errors.IntegrationError, match="maximum number"):
        r.run_reactor_phase(r.reactor_parameters(**BASE), y0, t_end=1e4, unit="R-101",
                            phase="react", max_steps=3)


def test_temperature_limit_event() -> None:
    """The temperature-limit end condition stops at T = T_max (located to 1e-8 K)."""
    p_kw, y_kw, t_end = CASES["batch-near-runaway"]
    res = r.run_reactor_phase(r.reactor_parameters(**dict(p_kw, t_max=400.0)),
                              r.reactor_state(**y_kw), t_end=t_end, unit="r", phase="p",
                              rtol=1e-10)
    assert res.ended_by == "temperature_limit"
    assert res.end_state[3] == pytest.approx(400.0, abs=1e-8)
