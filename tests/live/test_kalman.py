"""The scalar Kalman filter against the Riccati equation and the exact Gaussian posterior."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import solve_discrete_are
from scipy.stats import kstest

from twin.live.kalman import ScalarKalman, steady_state_gain


@pytest.mark.parametrize(("q", "r"), [(0.01, 1.0), (1.0, 1.0), (4.0, 0.25)])
def test_gain_settles_to_the_riccati_solution(q: float, r: float) -> None:
    """The closed-form steady-state gain equals the one from SciPy's discrete algebraic
    Riccati solver (A = 1, H = 1), and the filter's gain converges to it."""
    p = float(solve_discrete_are(np.array([[1.0]]), np.array([[1.0]]), np.array([[q]]),
                                 np.array([[r]]))[0, 0])  # prior variance of the filter
    assert steady_state_gain(q, r) == pytest.approx(p / (p + r), rel=1e-9)
    kf = ScalarKalman(0.0, 100.0, q, r)
    for _ in range(200):
        step = kf.step(0.0, dt=1.0)
    assert step.gain == pytest.approx(steady_state_gain(q, r), rel=1e-9)


def test_the_filter_is_the_exact_posterior_of_a_linear_gaussian_system() -> None:
    """x_k = x_{k-1} + u_k + w_k, y_k = x_k + v_k with Gaussian x_0, w, v: the posterior of
    x_n given y_1..y_n, by conditioning the joint Gaussian of (x_1..x_n, y_1..y_n) directly,
    equals the filter's estimate and variance."""
    rng = np.random.default_rng(3)
    n, m0, p0, r = 12, 290.0, 4.0, 0.5
    dt = rng.uniform(5, 30, n)
    q = 0.02
    u = rng.normal(0.5, 0.2, n)
    y = m0 + np.cumsum(u) + rng.normal(0, 1, n)
    # joint prior of x_1..x_n: mean m0 + cumsum(u); cov p0 + sum of q dt up to min(i, j)
    mean_x = m0 + np.cumsum(u)
    var_w = np.cumsum(q * dt)
    cov_x = p0 + np.minimum.outer(var_w, var_w)
    cov_y = cov_x + r * np.eye(n)
    gain = cov_x @ np.linalg.inv(cov_y)
    post_mean = mean_x + gain @ (y - mean_x)
    post_cov = cov_x - gain @ cov_x
    kf = ScalarKalman(m0, p0, q, r)
    for k in range(n):
        step = kf.step(y[k], u[k], dt[k])
    assert step.estimate == pytest.approx(post_mean[-1], rel=1e-12, abs=1e-9)
    assert step.variance == pytest.approx(post_cov[-1, -1], rel=1e-9)


def test_innovations_are_standard_normal_when_the_model_holds() -> None:
    """Standardised innovations of a correctly specified filter are N(0, 1) (KS test at
    the 1 % level, fixed seed) and uncorrelated at lag 1."""
    rng = np.random.default_rng(11)
    q, r, n = 0.05, 0.4, 4000
    x = 300.0 + np.cumsum(rng.normal(0, math.sqrt(q), n))
    y = x + rng.normal(0, math.sqrt(r), n)
    kf = ScalarKalman(300.0, 0.0, q, r)
    z = np.array([(s := kf.step(v)).innovation / math.sqrt(s.innovation_var) for v in y])
    assert kstest(z, "norm").pvalue > 0.01
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 3 / math.sqrt(n)


def test_missing_measurements_and_bad_settings() -> None:
    kf = ScalarKalman(10.0, 1.0, 0.5, 2.0)
    step = kf.step(math.nan, u=1.0, dt=2.0)
    assert (step.estimate, step.variance) == (11.0, 2.0) and math.isnan(step.innovation)
    with pytest.raises(ValueError, match="measurement variance"):
        ScalarKalman(0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="backwards"):
        kf.step(1.0, dt=-1.0)
