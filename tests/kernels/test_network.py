"""The reaction-network reactor kernel against closed forms, against SciPy ``solve_ivp``
(Radau, rtol 1e-10) on right-hand sides written here independently, against the legacy
single/series/parallel kernel, and its MTSR bound (:func:`twin.process.network.heat_per_mole`)
against the primal linear programme solved by SciPy ``linprog``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import linprog

from twin.kernels import network as kn
from twin.kernels import reactor as kr
from twin.kernels.phase import PhaseResult
from twin.kernels.rhs.common import R_GAS
from twin.process.network import heat_per_mole

RTOL = 1e-10


def _run(p: np.ndarray, y0: np.ndarray, t_end: float, species: tuple[str, ...]
         ) -> PhaseResult:
    return kn.run_network_phase(p, y0, species=species, t_end=t_end, unit="r", phase="p",
                                rtol=RTOL)


def _arr(k_ref: float, ea: float, t_ref: float, T: float) -> float:
    return k_ref * math.exp(-ea / R_GAS * (1.0 / T - 1.0 / t_ref))


@pytest.mark.parametrize("mode", ["pair", "equilibrium"])
def test_reversible_first_order_approaches_equilibrium_as_the_closed_form(mode: str) -> None:
    """A <=> B, isothermal, B0 = 0: c_A(t) = c_eq + (c0 - c_eq) exp(-(kf + kb) t) with
    c_eq = c0 kb / (kf + kb) (Levenspiel, Chemical Reaction Engineering, 3rd ed., eq. 3.53).
    The backward constant as its own Arrhenius pair or as kf / K with K = kf / kb."""
    kf, kb, c0, vol, temp = 2e-3, 5e-4, 800.0, 0.5, 350.0
    nu = np.array([[-1.0, 1.0]])
    back = (dict(mode=[kn.REVERSIBLE], k2=[kb], e2=[40e3]) if mode == "pair" else
            dict(mode=[kn.EQUILIBRIUM], k2=[kf / kb], e2=[-30e3]))
    p = kn.network_parameters(nu=nu, k_ref=[kf], ea=[60e3], t_ref=[temp], dh=[-30e3],
                              rho_cp=4e6, ua=0.0, t_jacket=temp, key=0, n_key_total=c0 * vol,
                              isothermal=True, **back)
    res = _run(p, kn.network_state(moles=[c0 * vol, 0.0], temperature=temp, volume=vol),
               3000.0, ("A", "B"))
    c_eq = c0 * kb / (kf + kb)
    t = res.profile[:, kn.P_TIME]
    want = c_eq + (c0 - c_eq) * np.exp(-(kf + kb) * t)
    np.testing.assert_allclose(res.profile[:, kn.N_FIXED] / vol, want, rtol=1e-7)
    assert res.end_state[0] / vol == pytest.approx(want[-1], rel=1e-9)
    # isothermal: the jacket took exactly the heat released (no feed)
    assert res.totals["heat_removed_jacket_J"] == pytest.approx(
        res.totals["heat_released_J"], rel=1e-9)
    assert res.totals["heat_released_J"] == pytest.approx(30e3 * (c0 - want[-1]) * vol,
                                                          rel=1e-7)


def test_second_order_with_equal_initial_concentrations_is_the_closed_form() -> None:
    """A + B -> C, c_A0 = c_B0: 1/c_A = 1/c_A0 + k t (Levenspiel eq. 3.13); k in m3/(mol s)."""
    k, c0, vol, temp = 3e-6, 1500.0, 2.0, 330.0
    p = kn.network_parameters(nu=[[-1.0, -1.0, 1.0]], k_ref=[k], ea=[55e3], t_ref=[temp],
                              dh=[0.0], rho_cp=4e6, ua=0.0, t_jacket=temp, key=0,
                              n_key_total=c0 * vol, isothermal=True)
    res = _run(p, kn.network_state(moles=[c0 * vol, c0 * vol, 0.0], temperature=temp,
                                   volume=vol), 4 * 3600.0, ("A", "B", "C"))
    t = res.profile[:, kn.P_TIME]
    want = 1.0 / (1.0 / c0 + k * t)
    np.testing.assert_allclose(res.profile[:, kn.N_FIXED] / vol, want, rtol=1e-7)
    np.testing.assert_allclose(res.profile[:, kn.N_FIXED + 2] / vol, c0 - want, rtol=1e-7)
    assert res.totals["conversion"] == pytest.approx(1 - want[-1] / c0, rel=1e-9)


def _compare(p: np.ndarray, y0: np.ndarray, t_end: float, f: object, species: tuple[str, ...]
             ) -> None:
    """The kernel's end state and profile against solve_ivp(Radau) of ``f``."""
    res = _run(p, y0, t_end, species)
    t = res.profile[:, kn.P_TIME]
    ref = solve_ivp(f, (0.0, t_end), y0[: len(species) + 2], method="Radau", rtol=1e-10,
                    atol=1e-10, t_eval=t, dense_output=False)
    assert ref.success
    ns = len(species)
    got = np.column_stack([res.profile[:, kn.N_FIXED + i] for i in range(ns)]
                          + [res.profile[:, kn.P_TEMP], res.profile[:, kn.P_VOL]])
    scale = np.r_[np.full(ns, np.abs(y0[:ns]).max()), 1.0, 1.0]
    err = np.abs(got - ref.y.T) / scale
    assert err.max() < 2e-7, err.max(axis=0)


def test_reversible_esterification_with_van_t_hoff_against_radau() -> None:
    """A + B <=> C + D (acid + alcohol <=> ester + water), mass action, the backward rate
    from K_c(T) by van 't Hoff, heated by a jacket from 320 K (non-isothermal)."""
    kf, ea, t_ref, k_eq, dh = 4e-6, 50e3, 340.0, 4.0, -8e3
    rho_cp, ua, tj, vol = 3.5e6, 800.0, 350.0, 0.8

    def f(t: float, y: np.ndarray) -> np.ndarray:
        a, b, c, d, T, V = y
        k = _arr(kf, ea, t_ref, T)
        K = _arr(k_eq, dh, t_ref, T)
        r = k * (a / V) * (b / V) - k / K * (c / V) * (d / V)
        dT = (-dh * r * V - ua * (T - tj)) / (rho_cp * V)
        return np.array([-r * V, -r * V, r * V, r * V, dT, 0.0])

    p = kn.network_parameters(nu=[[-1.0, -1.0, 1.0, 1.0]], k_ref=[kf], ea=[ea],
                              t_ref=[t_ref], dh=[dh], mode=[kn.EQUILIBRIUM], k2=[k_eq],
                              e2=[dh], rho_cp=rho_cp, ua=ua, t_jacket=tj, key=0,
                              n_key_total=3000.0 * vol)
    y0 = kn.network_state(moles=np.array([3000.0, 4000.0, 0.0, 500.0]) * vol,
                          temperature=320.0, volume=vol)
    _compare(p, y0, 6 * 3600.0, f, ("A", "B", "C", "D"))


def test_second_order_power_law_network_against_radau() -> None:
    """A + B -> C, C + B -> D (competitive consecutive), the second with power-law orders
    C^1 B^0.5, isothermal."""
    k1, k2, temp, vol = 2e-6, 5e-5, 330.0, 1.0

    def f(t: float, y: np.ndarray) -> np.ndarray:
        a, b, c, d, T, V = y
        r1 = k1 * (a / V) * (b / V)
        r2 = k2 * (c / V) * max(b / V, 0.0) ** 0.5
        return np.array([-r1 * V, -(r1 + r2) * V, (r1 - r2) * V, r2 * V, 0.0, 0.0])

    orders = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.5, 1.0, 0.0]])
    p = kn.network_parameters(nu=[[-1, -1, 1, 0], [0, -1, -1, 1]], k_ref=[k1, k2],
                              ea=[50e3, 70e3], t_ref=[temp, temp], dh=[0.0, 0.0],
                              orders=orders, rho_cp=4e6, ua=0.0, t_jacket=temp, key=0,
                              n_key_total=1000.0, isothermal=True)
    y0 = kn.network_state(moles=[1000.0, 1800.0, 0.0, 0.0], temperature=temp, volume=vol)
    _compare(p, y0, 8 * 3600.0, f, ("A", "B", "C", "D"))


def test_non_isothermal_semibatch_network_against_radau() -> None:
    """Series-parallel A -> B -> C, A -> D with a cooling jacket, A dosed at a constant rate
    for 1 h into a heel (energy balance with the feed term); and the energy closure
    rho cp [V (T - T_feed)]_end - [...]_0 = Q_rxn - Q_jacket."""
    k = (1e-3, 2e-4, 1e-4)
    ea = (70e3, 90e3, 60e3)
    dh = (-90e3, -50e3, -120e3)
    t_ref, rho_cp, ua, tj, t_feed = 350.0, 4e6, 1500.0, 345.0, 300.0
    rate, c_feed, t_dose = 0.1 / 3600.0, 6000.0, 3600.0

    def f(t: float, y: np.ndarray) -> np.ndarray:
        a, b, c, d, T, V = y
        fr = rate if t < t_dose else 0.0
        r1, r2, r3 = (_arr(k[i], ea[i], t_ref, T) * x for i, x in enumerate((a, b, a)))
        q = -dh[0] * r1 - dh[1] * r2 - dh[2] * r3
        dT = (q - ua * (T - tj) - fr * rho_cp * (T - t_feed)) / (rho_cp * V)
        return np.array([fr * c_feed - r1 - r3, r1 - r2, r2, r3, dT, fr])

    nu = np.array([[-1, 1, 0, 0], [0, -1, 1, 0], [-1, 0, 0, 1]], dtype=float)
    p = kn.network_parameters(nu=nu, k_ref=k, ea=ea, t_ref=[t_ref] * 3, dh=dh,
                              rho_cp=rho_cp, ua=ua, t_jacket=tj, key=0,
                              n_key_total=200.0 + rate * c_feed * t_dose, feed_rate=rate,
                              c_feed=[c_feed, 0, 0, 0], t_feed=t_feed, t_dose=t_dose)
    y0 = kn.network_state(moles=[200.0, 0.0, 0.0, 0.0], temperature=340.0, volume=0.3)
    _compare(p, y0, 3 * 3600.0, f, ("A", "B", "C", "D"))
    res = _run(p, y0, 3 * 3600.0, ("A", "B", "C", "D"))
    ye = res.end_state
    lhs = rho_cp * (ye[5] * (ye[4] - t_feed) - y0[5] * (y0[4] - t_feed))
    tot = res.totals
    assert lhs == pytest.approx(tot["heat_released_J"] - tot["heat_removed_jacket_J"],
                                rel=1e-7)
    assert tot["moles_key_dosed"] == pytest.approx(rate * c_feed * t_dose, rel=1e-12)


@pytest.mark.parametrize("scheme", [kr.SINGLE, kr.SERIES, kr.PARALLEL])
def test_legacy_schemes_are_special_cases_of_the_network(scheme: int) -> None:
    """Single, series and parallel first-order schemes with semi-batch dosing, lowered to a
    network: same states, heats, MTSR and end time as the legacy reactor kernel."""
    k0, ea, dh, k0_2, ea_2, dh_2 = 5e8, 75e3, -120e3, 2e9, 90e3, -60e3
    n_a, t0, vol, tj = 400.0, 330.0, 0.4, 335.0
    dosed, t_dose = 600.0, 5400.0
    feed_rate, c_feed = 0.2 / t_dose, dosed / 0.2
    legacy = kr.reactor_parameters(k0=k0, ea=ea, dh=dh, rho_cp=4e6, ua=600.0, t_jacket=tj,
                                   n_a_total=n_a + dosed, scheme=scheme, k0_2=k0_2, ea_2=ea_2,
                                   dh_2=dh_2, feed_rate=feed_rate, c_feed=c_feed, t_feed=t0,
                                   t_dose=t_dose, x_target=0.98)
    y_legacy = kr.reactor_state(n_a=n_a, temperature=t0, volume=vol)
    old = kr.run_reactor_phase(legacy, y_legacy, t_end=12 * 3600.0, unit="r", phase="p",
                               rtol=RTOL)
    second = {kr.SINGLE: [], kr.SERIES: [[0, -1, 1]], kr.PARALLEL: [[-1, 0, 1]]}[scheme]
    nu = np.array([[-1, 1, 0]] + second, dtype=float)
    nr = nu.shape[0]
    t_ref = 340.0
    k_ref = [k0 * math.exp(-ea / (R_GAS * t_ref)), k0_2 * math.exp(-ea_2 / (R_GAS * t_ref))]
    p = kn.network_parameters(nu=nu, k_ref=k_ref[:nr], ea=[ea, ea_2][:nr],
                              t_ref=[t_ref] * nr, dh=[dh, dh_2][:nr], rho_cp=4e6, ua=600.0,
                              t_jacket=tj, key=0, n_key_total=n_a + dosed,
                              feed_rate=feed_rate, c_feed=[c_feed, 0, 0], t_feed=t0,
                              t_dose=t_dose, x_target=0.98,
                              heat=heat_per_mole(nu, np.array([dh, dh_2][:nr]),
                                                 np.zeros(nr, bool)))
    new = _run(p, kn.network_state(moles=[n_a, 0, 0], temperature=t0, volume=vol),
               12 * 3600.0, ("A", "B", "C"))
    assert new.ended_by == old.ended_by == "target_conversion"
    assert new.duration == pytest.approx(old.duration, rel=1e-7)
    np.testing.assert_allclose(new.end_state, old.end_state, rtol=1e-7, atol=1e-6)
    for key in ("heat_released_J", "heat_removed_jacket_J", "peak_temperature_K",
                "max_mtsr_K", "max_accumulation", "conversion"):
        assert new.totals[key] == pytest.approx(old.totals[key], rel=1e-6), key


def test_releasable_heat_bounds_the_linear_programme() -> None:
    """n . h is never below the largest heat any extents can release with all amounts
    non-negative (the primal linear programme, solved here with linprog), equals it for the
    amounts it was made for, and exists exactly when that programme is bounded."""
    rng = np.random.default_rng(5)
    bounded = 0
    for _ in range(40):
        nr, ns = int(rng.integers(1, 4)), int(rng.integers(2, 5))
        nu = rng.integers(-2, 3, size=(nr, ns)).astype(float)
        dh = rng.uniform(-1e5, 2e4, nr)
        n_ref, n = rng.uniform(0.0, 10.0, ns), rng.uniform(0.0, 10.0, ns)
        lp_ref = linprog(dh, A_ub=-nu.T, b_ub=n_ref, bounds=[(0, None)] * nr, method="highs")
        lp = linprog(dh, A_ub=-nu.T, b_ub=n, bounds=[(0, None)] * nr, method="highs")
        if lp_ref.status == 3:  # unbounded: no finite bound can exist
            with pytest.raises(ValueError, match="no bound"):
                heat_per_mole(nu, dh, np.zeros(nr, bool), n_ref)
            continue
        bounded += 1
        h = heat_per_mole(nu, dh, np.zeros(nr, bool), n_ref)
        assert n_ref @ h == pytest.approx(-lp_ref.fun, rel=1e-5, abs=1e-3)
        assert n @ h >= -lp.fun * (1 - 1e-9) - 1e-6
    assert bounded >= 10
    series = heat_per_mole(np.array([[-1.0, 1, 0], [0, -1, 1]]), np.array([-3.0, -2.0]),
                              np.zeros(2, bool))
    np.testing.assert_allclose(series, [5.0, 2.0, 0.0], atol=1e-9)
    parallel = heat_per_mole(np.array([[-1.0, 1, 0], [-1, 0, 1]]), np.array([-3.0, -4.0]),
                                np.zeros(2, bool))
    np.testing.assert_allclose(parallel, [4.0, 0.0, 0.0], atol=1e-9)
    # A + 2 B -> C with A limiting: exact for the charge (1 J), where splitting the heat
    # by the least total h would put it on B (5 J)
    uneven = heat_per_mole(np.array([[-1.0, -2.0, 1.0]]), np.array([-1.0]), np.zeros(1, bool),
                           np.array([1.0, 10.0, 0.0]))
    assert np.array([1.0, 10.0, 0.0]) @ uneven == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="cycle"):
        heat_per_mole(np.array([[-1.0, 1], [1, -1]]), np.array([-1.0, -1.0]),
                         np.zeros(2, bool))


def test_stiff_robertson_network_against_radau() -> None:
    """Robertson's stiff chemical kinetics (Hairer & Wanner II, section IV.1) as a network:
    A -> B (0.04), 2 B -> B + C (3e7), B + C -> A + C (1e4), concentrations in mol/m3,
    isothermal; the kernel (switching to its stiff method) against Radau."""
    k = (0.04, 3e7, 1e4)

    def f(t: float, y: np.ndarray) -> np.ndarray:
        a, b, c, T, V = y
        r1, r2, r3 = k[0] * a, k[1] * b * b, k[2] * b * c
        return np.array([-r1 + r3, r1 - r2 - r3, r2, 0.0, 0.0])

    nu = np.array([[-1.0, 1, 0], [0, -1, 1], [1, -1, 0]])
    orders = np.array([[1.0, 0, 0], [0, 2, 0], [0, 1, 1]])
    p = kn.network_parameters(nu=nu, k_ref=k, ea=[0.0] * 3, t_ref=[300.0] * 3,
                              dh=[0.0] * 3, orders=orders, rho_cp=4e6, ua=0.0,
                              t_jacket=300.0, key=0, n_key_total=1.0, isothermal=True)
    y0 = kn.network_state(moles=[1.0, 0.0, 0.0], temperature=300.0, volume=1.0)
    res = _run(p, y0, 40.0, ("A", "B", "C"))
    assert res.stats["stiff_switch_time_s"] < 40.0  # AUTO went over to Rosenbrock
    ref = solve_ivp(lambda t, y: f(t, np.r_[y, 300.0, 1.0])[:3], (0.0, 40.0), [1.0, 0.0, 0.0],
                    method="Radau", rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.end_state[:3], ref.y[:, -1], rtol=1e-6, atol=1e-12)
