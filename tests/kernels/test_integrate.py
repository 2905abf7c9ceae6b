"""Integrator core: closed forms, SciPy references, event location, failure statuses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from twin.kernels import errors, integrate
from twin.kernels.rhs import dispatch

NO_STOPS = np.empty(0)


def _solve(model, y0, p, t_end, rtol, atol, method, max_steps=100_000, n_out=50):
    return integrate.solve(
        model, np.asarray(y0, float), np.asarray(p, float), 0.0, t_end, NO_STOPS, rtol,
        np.full(len(y0), atol), method, max_steps, n_out, -1,
    )


@pytest.mark.parametrize("method", [integrate.DOPRI5, integrate.ROSENBROCK, integrate.AUTO])
def test_decay_matches_exponential(method: int) -> None:
    """Reference: closed form y = y0 exp(-k t)."""
    y0 = np.array([1.0, 2.0])
    # the order-2 Rosenbrock method accumulates a global error of about 100-300 x rtol
    rtol = 1e-9 if method != integrate.ROSENBROCK else 1e-7
    tol = 200 * rtol if method != integrate.ROSENBROCK else 500 * rtol
    status, _, t, y, prof_t, prof_y, _ = _solve(
        dispatch.TEST_DECAY, y0, [0.5, -1.0], 10.0, rtol, 1e-14, method
    )
    assert status == errors.OK and t == 10.0
    np.testing.assert_allclose(y, y0 * np.exp(-5.0), rtol=tol)
    # the decimated profile follows the closed form too (Hermite interpolation, 3rd order)
    np.testing.assert_allclose(prof_y, np.outer(np.exp(-0.5 * prof_t), y0), rtol=1e-4)


@pytest.mark.parametrize("k", [0.01, 0.5, 3.0])
def test_event_time_matches_closed_form(k: float) -> None:
    """Reference: y0 exp(-k t) = c  ->  t = ln(y0/c)/k."""
    status, event, t, y, _, _, _ = _solve(
        dispatch.TEST_DECAY, [1.0], [k, 0.3], 100.0 / k, 1e-10, 1e-14, integrate.DOPRI5
    )
    assert status == errors.EVENT and event == 0
    assert t == pytest.approx(np.log(1.0 / 0.3) / k, rel=1e-9)
    assert y[0] <= 0.3 + 1e-12


def test_robertson_stiff_matches_radau() -> None:
    """Reference: SciPy Radau at rtol 1e-10 on the stiff Robertson problem."""
    y0 = [1.0, 0.0, 0.0]

    def f(t, y):
        r1, r2, r3 = 0.04 * y[0], 1e4 * y[1] * y[2], 3e7 * y[1] ** 2
        return [-r1 + r2, r1 - r2 - r3, r3]

    ref = solve_ivp(f, (0, 1e3), y0, method="Radau", rtol=1e-10, atol=[1e-14, 1e-18, 1e-14])
    status, _, _, y, _, _, stats = integrate.solve(
        dispatch.TEST_ROBERTSON, np.array(y0), np.zeros(1), 0.0, 1e3, NO_STOPS, 1e-6,
        np.array([1e-10, 1e-14, 1e-10]), integrate.AUTO, 100_000, 10, -1,
    )
    assert status == errors.OK
    assert np.isfinite(stats[integrate.T_STIFF])  # switched to the implicit method
    np.testing.assert_allclose(y, ref.y[:, -1], rtol=2e-4, atol=1e-11)


def test_explicit_only_reports_stiffness() -> None:
    """Robertson is stiff: DOPRI5 without switching must stop with status STIFF."""
    status, *_ = integrate.solve(
        dispatch.TEST_ROBERTSON, np.array([1.0, 0.0, 0.0]), np.zeros(1), 0.0, 1e3, NO_STOPS,
        1e-6, np.array([1e-10, 1e-14, 1e-10]), integrate.DOPRI5, 100_000, 10, -1,
    )
    assert status == errors.STIFF


def test_blowup_reports_step_collapse() -> None:
    """y' = y^2, y(0) = 1 is infinite at t = 1: the step size must collapse near t = 1."""
    status, _, t, _, _, _, stats = _solve(
        dispatch.TEST_BLOWUP, [1.0], [0.0], 2.0, 1e-8, 1e-10, integrate.DOPRI5
    )
    assert status in (errors.STEP_COLLAPSE, errors.NON_FINITE)
    assert t == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(errors.IntegrationError, match="unit 'u1' phase 'blow'"):
        errors.check_status(status, "u1", "blow", t=t, h=stats[integrate.H_LAST])


def test_max_steps_and_bad_input_statuses() -> None:
    """Step budget and input validation are statuses, not exceptions or results."""
    status, *_ = _solve(dispatch.TEST_DECAY, [1.0], [1.0, -1], 1e3, 1e-10, 1e-14,
                        integrate.DOPRI5, max_steps=5)
    assert status == errors.MAX_STEPS
    status, *_ = _solve(dispatch.TEST_DECAY, [np.nan], [1.0, -1], 1.0, 1e-6, 1e-9,
                        integrate.DOPRI5)
    assert status == errors.BAD_INPUT
    status, *_ = _solve(dispatch.TEST_DECAY, [1.0], [1.0, -1], -1.0, 1e-6, 1e-9,
                        integrate.DOPRI5)
    assert status == errors.BAD_INPUT


def test_tstops_are_hit_exactly() -> None:
    """A stop time is an accepted point: the integrator never steps over it."""
    stops = np.array([0.123456789, 1.5])
    status, _, t, y, _, _, _ = integrate.solve(
        dispatch.TEST_DECAY, np.ones(1), np.array([1.0, -1.0]), 0.0, 2.0, stops, 1e-10,
        np.full(1, 1e-14), integrate.DOPRI5, 10_000, 5, -1,
    )
    assert status == errors.OK and t == 2.0
    assert y[0] == pytest.approx(np.exp(-2.0), rel=1e-9)


def test_check_status_message() -> None:
    """The message names unit, phase, what failed, the step size and the time."""
    errors.check_status(errors.OK, "r", "p")
    errors.check_status(errors.EVENT, "r", "p")
    with pytest.raises(errors.IntegrationError) as info:
        errors.check_status(errors.STEP_COLLAPSE, "reactor", "react", t=532.1, h=1e-14)
    assert str(info.value) == (
        "unit 'reactor' phase 'react': step size collapsed to 1e-14 s at t=532.1 s"
    )
    assert info.value.unit == "reactor" and info.value.status == errors.STEP_COLLAPSE
    with pytest.raises(errors.IntegrationError, match="NaN or infinite"):
        errors.check_status(errors.NON_FINITE, "dryer", "dry", t=1.0)
