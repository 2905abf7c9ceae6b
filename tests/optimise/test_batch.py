"""Optimal semi-batch operation: shorter than the constant recipe, within every limit.

Reference: the returned profile is replayed with SciPy's ``solve_ivp`` (Radau, rtol 1e-9) on
the semi-batch balances written out here, independently of the Numba kernels:

    dN_A/dt = F c_feed - k(T) N_A,   k = k0 exp(-Ea / (R T))
    rho cp V dT/dt = (-dH) k N_A - UA (T - Tj) - F rho cp (T - T_feed),   dV/dt = F
    MTSR = T + (-dH) N_A / (rho cp V)   (cooling fails, dosing stops: Stoessel)
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from twin.optimise.batch import SemiBatch, constant_recipe, optimise_operation, simulate

K = 273.15
R = 8.314462618

BATCH = SemiBatch(k0=2.0e8, ea=75e3, dh=-120e3, rho_cp=1.8e6, ua=1500.0, n_a0=0.0, v0=1.5,
                  t0=K + 40, c_feed=4000.0, v_feed=0.5, t_feed=K + 25, x_target=0.98,
                  t_max=K + 80, mtt=K + 110, margin=5.0, cooling_capacity=60e3,
                  tj_min=K + 10, tj_max=K + 90)


def replay(b: SemiBatch, period: float, tj: np.ndarray, dose: np.ndarray, t_end: float):
    """Integrate the balances above under the profile up to ``t_end`` [s]; returns the
    conversion at ``t_end`` and the maxima of T, MTSR and jacket duty on a dense grid."""
    y = np.array([b.n_a0, b.t0, b.v0])
    t, fed = 0.0, 0.0
    peak = mtsr = duty = -np.inf
    edges = [(period, tj[i], dose[i]) for i in range(len(tj))] + [(np.inf, tj[-1], 0.0)]
    for length, tjac, share in edges:
        stop = min(t + length, t_end)
        if stop <= t:
            break
        f = share * b.v_feed / length if share > 0 else 0.0

        def rhs(_t, s, f=f, tjac=tjac):
            n_a, temp, vol = s
            r = b.k0 * np.exp(-b.ea / (R * temp)) * n_a
            dtemp = (-b.dh * r - b.ua * (temp - tjac) - f * b.rho_cp * (temp - b.t_feed)) / (
                b.rho_cp * vol)
            return [f * b.c_feed - r, dtemp, f]

        sol = solve_ivp(rhs, (t, stop), y, method="Radau", rtol=1e-9, atol=[1e-6, 1e-9, 1e-12],
                        dense_output=True)
        grid = np.linspace(t, stop, 400)
        n_a, temp, vol = sol.sol(grid)
        peak = max(peak, temp.max())
        mtsr = max(mtsr, (temp + (-b.dh) * n_a / (b.rho_cp * vol)).max())
        duty = max(duty, (b.ua * (temp - tjac)).max())
        fed += f * (stop - t) * b.c_feed
        y = sol.y[:, -1]
        t = stop
    unfed = b.c_feed * b.v_feed - fed
    return 1 - (y[0] + unfed) / b.n_total, peak, mtsr, duty


@pytest.fixture(scope="module")
def optimal():
    return optimise_operation(BATCH, segments=4, maxiter=30, seed=1)


def test_the_constant_recipe_is_feasible_but_slow():
    c = constant_recipe(BATCH, K + 50, 4 * 3600)
    assert c.feasible(BATCH)
    x, peak, mtsr, duty = replay(BATCH, 4 * 3600, np.array([K + 50]), np.array([1.0]),
                                 c.batch_time)
    assert x == pytest.approx(BATCH.x_target, abs=2e-4)
    assert peak == pytest.approx(c.peak_temperature, abs=0.05)


def test_optimal_profile_shortens_the_batch_within_the_limits(optimal):
    c = constant_recipe(BATCH, K + 50, 4 * 3600)
    assert optimal.feasible(BATCH)
    assert optimal.batch_time < 0.6 * c.batch_time
    assert optimal.dose.sum() == pytest.approx(1.0)
    x, peak, mtsr, duty = replay(BATCH, optimal.period, optimal.t_jacket, optimal.dose,
                                 optimal.batch_time)
    assert x == pytest.approx(BATCH.x_target, abs=1e-3)          # target reached then
    assert peak <= BATCH.t_max + 0.2                              # limits hold in the replay
    assert mtsr <= BATCH.mtt - BATCH.margin + 0.2
    assert duty <= BATCH.cooling_capacity * 1.01
    assert np.all((optimal.t_jacket >= BATCH.tj_min) & (optimal.t_jacket <= BATCH.tj_max))


def test_same_seed_same_profile(optimal):
    again = optimise_operation(BATCH, segments=4, maxiter=30, seed=1)
    assert again.batch_time == optimal.batch_time
    np.testing.assert_array_equal(again.t_jacket, optimal.t_jacket)


def test_an_impossible_limit_is_reported():
    tight = SemiBatch(**{**BATCH.__dict__, "cooling_capacity": 50.0, "t_max": K + 41})
    with pytest.raises(ValueError, match="no feasible profile"):
        optimise_operation(tight, segments=2, maxiter=5, popsize=5)


def test_simulate_counts_dosed_feed_in_the_conversion():
    """All feed dosed in one period at a low jacket temperature: conversion stays below the
    target while A accumulates, and MTSR rises above T by the accumulated heat."""
    op = simulate(BATCH, 1800.0, np.array([K + 15]), np.array([1.0]), n_out=20)
    first = op.profile[op.profile[:, 0] <= 1800.0]
    assert first[-1, 3] < 0.5
    assert np.all(first[:, 2] >= first[:, 1] - 1e-9)
