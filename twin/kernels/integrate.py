"""Adaptive integration of one process phase to its end condition, inside one kernel call.

:func:`solve` integrates ``dy/dt = f(t, y)`` of a model (selected by id, see
:mod:`twin.kernels.rhs.dispatch`) from ``t0`` until the first terminal event or ``t_end``:

* explicit Dormand-Prince 5(4) (:mod:`twin.kernels.dopri`) with a PI step-size controller,
* or the L-stable Rosenbrock 2(3) method (:mod:`twin.kernels.rosenbrock`) for stiff phases,
* or ``AUTO``: Dormand-Prince until its stiffness test fires 15 times in a row, then Rosenbrock.

Terminal events ``g_i(t, y) = 0`` (crossing from negative to non-negative) are located on the
continuous extension of the step by the Illinois variant of regula falsi, to a time tolerance of
a few ulps of t. Discontinuities at known times (end of dosing, end of a ramp) are passed as
``tstops``: no step crosses them. The maximum of one state component is tracked (peak
temperature) by golden-section search on the continuous extension. Accepted points are stored
with their derivatives and resampled at the end onto ``n_out`` equally spaced times by cubic
Hermite interpolation (the decimated profile for dashboards).

Numerical failure is returned as a status code (:mod:`twin.kernels.errors`), never as a
result.
"""

from __future__ import annotations

import math

import numpy as np

from twin.kernels import dopri, rosenbrock
from twin.kernels.errors import (
    BAD_INPUT,
    EVENT,
    MAX_STEPS,
    NON_FINITE,
    OK,
    SINGULAR,
    STEP_COLLAPSE,
    STIFF,
)
from twin.kernels.jit import kernel
from twin.kernels.rhs import dispatch
from twin.kernels.rhs.common import MAX_EVENTS

#: Explicit Dormand-Prince 5(4); stops with status ``STIFF`` if the problem turns stiff.
DOPRI5 = 0
#: Linearly implicit Rosenbrock 2(3) (L-stable) for the whole phase.
ROSENBROCK = 1
#: Dormand-Prince, switching to Rosenbrock for the rest of the phase when stiffness is detected.
AUTO = 2

# Layout of the ``stats`` array returned by :func:`solve`.
N_ACCEPTED, N_REJECTED, N_RHS, N_JAC, H_LAST, T_PEAK, Y_PEAK, T_STIFF = 0, 1, 2, 3, 4, 5, 6, 7
M_PEAK, T_M_PEAK = 8, 9
N_STATS = 10

_EPS = np.finfo(np.float64).eps
_SAFE, _FAC_MIN, _FAC_MAX, _BETA = 0.9, 0.2, 10.0, 0.04
_STIFF_LIMIT, _STIFF_COUNT, _NONSTIFF_COUNT = 3.25, 15, 6
_GOLDEN = 0.5 * (math.sqrt(5.0) - 1.0)


@kernel
def error_norm(
    errv: np.ndarray, y: np.ndarray, ynew: np.ndarray, rtol: float, atol: np.ndarray
) -> float:
    """Weighted RMS norm of the error estimate (inf if anything is not finite)."""
    s = 0.0
    for i in range(y.size):
        sk = atol[i] + rtol * max(abs(y[i]), abs(ynew[i]))
        if sk > 0.0:
            r = errv[i] / sk
        else:
            r = 0.0 if errv[i] == 0.0 else math.inf
        s += r * r
    res = math.sqrt(s / y.size)
    if not res < math.inf:
        return math.inf
    return res


@kernel
def _all_finite(a: np.ndarray) -> bool:
    for i in range(a.size):
        if not math.isfinite(a[i]):
            return False
    return True


@kernel
def initial_step(
    model: int,
    t: float,
    y: np.ndarray,
    f: np.ndarray,
    p: np.ndarray,
    rtol: float,
    atol: np.ndarray,
    order: int,
    h_max: float,
    work_y: np.ndarray,
    work_f: np.ndarray,
) -> float:
    """Starting step [s] by the heuristic of Hairer, Norsett & Wanner (I, section II.4)."""
    n = y.size
    dnf = 0.0
    dny = 0.0
    for i in range(n):
        sk = atol[i] + rtol * abs(y[i])
        if sk <= 0.0:
            sk = _EPS
        dnf += (f[i] / sk) ** 2
        dny += (y[i] / sk) ** 2
    if dnf <= 1e-10 or dny <= 1e-10:
        h = 1e-6 * h_max
    else:
        h = 0.01 * math.sqrt(dny / dnf)
    h = min(h, h_max)
    for i in range(n):
        work_y[i] = y[i] + h * f[i]
    dispatch.rhs(model, t + h, work_y, p, work_f)
    der2 = 0.0
    for i in range(n):
        sk = atol[i] + rtol * abs(y[i])
        if sk <= 0.0:
            sk = _EPS
        der2 += ((work_f[i] - f[i]) / sk) ** 2
    der2 = math.sqrt(der2) / h
    der12 = max(abs(der2), math.sqrt(dnf))
    if not der12 < math.inf:
        return 1e-6 * h
    if der12 <= 1e-15:
        h1 = max(1e-6 * h_max, h * 1e-3)
    else:
        h1 = (0.01 / der12) ** (1.0 / (order + 1))
    return min(100.0 * h, h1, h_max)


@kernel
def _locate_event(
    model: int,
    t: float,
    h: float,
    p: np.ndarray,
    dense: np.ndarray,
    g_old: np.ndarray,
    g_new: np.ndarray,
    work_y: np.ndarray,
    work_g: np.ndarray,
) -> tuple[int, float]:
    """Earliest crossing of any g_i from < 0 to >= 0 inside the step, as (index, theta).

    Returns (-1, 1.0) if no event fires. ``theta`` is the right end of the final bracket, so
    g is non-negative at the returned point.
    """
    best = -1
    best_theta = 2.0
    tol = 4.0 * _EPS * max(abs(t), abs(t + h)) / abs(h)
    for i in range(g_old.size):
        if not (g_old[i] < 0.0 and g_new[i] >= 0.0):
            continue
        a, fa = 0.0, g_old[i]
        b, fb = 1.0, g_new[i]
        side = 0
        for _ in range(200):
            if b - a <= tol or fb == 0.0:
                break
            c = (a * fb - b * fa) / (fb - fa)
            if not (a < c < b):
                c = 0.5 * (a + b)
            dopri.dense_eval(dense, c, work_y)
            dispatch.events(model, t + c * h, work_y, p, work_g)
            fc = work_g[i]
            if fc >= 0.0:
                b, fb = c, fc
                if side == 1:
                    fa *= 0.5
                side = 1
            else:
                a, fa = c, fc
                if side == -1:
                    fb *= 0.5
                side = -1
        if b < best_theta:
            best_theta = b
            best = i
    if best < 0:
        return -1, 1.0
    return best, best_theta


@kernel
def _interior_max(dense: np.ndarray, idx: int, theta_hi: float, work_y: np.ndarray) -> tuple[
    float, float
]:
    """Golden-section search for the maximum of component ``idx`` on [0, theta_hi]."""
    a = 0.0
    b = theta_hi
    c = b - _GOLDEN * (b - a)
    d = a + _GOLDEN * (b - a)
    dopri.dense_eval(dense, c, work_y)
    fc = work_y[idx]
    dopri.dense_eval(dense, d, work_y)
    fd = work_y[idx]
    for _ in range(60):
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - _GOLDEN * (b - a)
            dopri.dense_eval(dense, c, work_y)
            fc = work_y[idx]
        else:
            a, c, fc = c, d, fd
            d = a + _GOLDEN * (b - a)
            dopri.dense_eval(dense, d, work_y)
            fd = work_y[idx]
    if fc > fd:
        return c, fc
    return d, fd


@kernel
def _record(
    rec_t: np.ndarray, rec_y: np.ndarray, rec_f: np.ndarray, n_rec: int, t: float,
    y: np.ndarray, f: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Append (t, y, f) to the record, doubling its capacity when full."""
    if n_rec == rec_t.size:
        cap = 2 * rec_t.size
        new_t = np.empty(cap)
        new_y = np.empty((cap, y.size))
        new_f = np.empty((cap, y.size))
        new_t[:n_rec] = rec_t[:n_rec]
        new_y[:n_rec] = rec_y[:n_rec]
        new_f[:n_rec] = rec_f[:n_rec]
        rec_t, rec_y, rec_f = new_t, new_y, new_f
    rec_t[n_rec] = t
    rec_y[n_rec, :] = y
    rec_f[n_rec, :] = f
    return rec_t, rec_y, rec_f, n_rec + 1


@kernel
def resample(
    rec_t: np.ndarray, rec_y: np.ndarray, rec_f: np.ndarray, n_rec: int, n_out: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cubic Hermite resampling of recorded points onto ``n_out`` equally spaced times."""
    n = rec_y.shape[1]
    out_t = np.empty(n_out)
    out_y = np.empty((n_out, n))
    t0 = rec_t[0]
    tf = rec_t[n_rec - 1]
    j = 0
    for k in range(n_out):
        tau = t0 + (tf - t0) * k / (n_out - 1) if n_out > 1 else tf
        if k == n_out - 1:
            tau = tf
        out_t[k] = tau
        while j < n_rec - 2 and (rec_t[j + 1] < tau or rec_t[j + 1] <= rec_t[j]):
            j += 1
        if n_rec == 1 or rec_t[j + 1] <= rec_t[j]:
            out_y[k, :] = rec_y[min(j + 1, n_rec - 1)]
            continue
        dt = rec_t[j + 1] - rec_t[j]
        s = min(max((tau - rec_t[j]) / dt, 0.0), 1.0)
        s2 = s * s
        s3 = s2 * s
        h00 = 2.0 * s3 - 3.0 * s2 + 1.0
        h10 = s3 - 2.0 * s2 + s
        h01 = -2.0 * s3 + 3.0 * s2
        h11 = s3 - s2
        for i in range(n):
            out_y[k, i] = (
                h00 * rec_y[j, i] + h10 * dt * rec_f[j, i] + h01 * rec_y[j + 1, i]
                + h11 * dt * rec_f[j + 1, i]
            )
    return out_t, out_y


@kernel
def solve(
    model: int,
    y0: np.ndarray,
    p: np.ndarray,
    t0: float,
    t_end: float,
    tstops: np.ndarray,
    rtol: float,
    atol: np.ndarray,
    method: int,
    max_steps: int,
    n_out: int,
    i_peak: int,
) -> tuple[int, int, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Integrate one phase of ``model`` to its first terminal event or to ``t_end``.

    Parameters
    ----------
    model : int
        Model id from :mod:`twin.kernels.rhs.dispatch`.
    y0 : ndarray, shape (n,)
        Initial state [model units]; never modified.
    p : ndarray
        Model parameter vector [model units]; never modified.
    t0, t_end : float
        Start time and latest end time of the phase [s]; ``t_end > t0``.
    tstops : ndarray
        Times [s] of known discontinuities of f; steps end exactly on them.
    rtol : float
        Relative tolerance [-], in [1e-13, 0.1].
    atol : ndarray, shape (n,)
        Absolute tolerances [state units], non-negative.
    method : int
        ``DOPRI5``, ``ROSENBROCK`` or ``AUTO``.
    max_steps : int
        Maximum number of attempted steps.
    n_out : int
        Number of rows of the resampled profile (>= 2).
    i_peak : int
        Index of the state component whose maximum is tracked (-1: none).

    Returns
    -------
    status : int
        Status code from :mod:`twin.kernels.errors` (``OK`` or ``EVENT`` on success).
    event : int
        Index of the terminal event that fired, -1 if none.
    t : float
        Time reached [s] (event time, ``t_end``, or the time of failure).
    y : ndarray, shape (n,)
        State at ``t``.
    profile_t : ndarray, shape (n_out,)
        Equally spaced times from ``t0`` to ``t`` [s].
    profile_y : ndarray, shape (n_out, n)
        States at ``profile_t``.
    stats : ndarray, shape (N_STATS,)
        Accepted and rejected steps, rhs and Jacobian evaluations, last step size [s], time
        [s] and value of the tracked maximum, time the method switched to Rosenbrock [s] (NaN
        if it did not), maximum of the model's monitor quantity over the accepted points
        (:func:`twin.kernels.rhs.dispatch.monitor`) and its time [s].
    """
    n = y0.size
    stats = np.zeros(N_STATS)
    stats[T_STIFF] = np.nan
    stats[M_PEAK] = np.nan
    stats[T_M_PEAK] = np.nan
    stats[T_PEAK] = t0
    stats[Y_PEAK] = y0[i_peak] if 0 <= i_peak < n else np.nan
    y = y0.copy()
    f = np.empty(n)
    empty_t = np.full(max(n_out, 1), t0)
    empty_y = np.empty((max(n_out, 1), n))
    for k in range(empty_y.shape[0]):
        empty_y[k, :] = y0
    bad = (
        not (t_end > t0)
        or not (1e-13 <= rtol <= 0.1)
        or atol.size != n
        or n_out < 2
        or not _all_finite(y0)
        or not math.isfinite(t0)
    )
    for i in range(atol.size):
        if not (atol[i] >= 0.0 and atol[i] < math.inf):
            bad = True
    if bad:
        return BAD_INPUT, -1, t0, y, empty_t, empty_y, stats

    # work arrays
    k = np.empty((7, n))
    dense = np.zeros((5, n))
    ystage = np.empty(n)
    ynew = np.empty(n)
    fnew = np.empty(n)
    errv = np.empty(n)
    work_y = np.empty(n)
    work_f = np.empty(n)
    jac = np.empty((n, n))
    dfdt = np.empty(n)
    w = np.empty((n, n))
    piv = np.zeros(n, dtype=np.int64)
    g_old = np.empty(MAX_EVENTS)
    g_new = np.empty(MAX_EVENTS)
    work_g = np.empty(MAX_EVENTS)
    stops = np.sort(tstops)
    i_stop = 0
    while i_stop < stops.size and stops[i_stop] <= t0:
        i_stop += 1

    t = t0
    dispatch.rhs(model, t, y, p, f)
    stats[N_RHS] += 1
    if not _all_finite(f):
        return NON_FINITE, -1, t0, y, empty_t, empty_y, stats
    dispatch.events(model, t, y, p, g_old)
    stats[M_PEAK] = dispatch.monitor(model, t, y, p)
    stats[T_M_PEAK] = t
    for i in range(MAX_EVENTS):
        if g_old[i] >= 0.0:
            return EVENT, i, t0, y, empty_t, empty_y, stats

    cap = 256
    rec_t = np.empty(cap)
    rec_y = np.empty((cap, n))
    rec_f = np.empty((cap, n))
    n_rec = 0
    rec_t, rec_y, rec_f, n_rec = _record(rec_t, rec_y, rec_f, n_rec, t, y, f)

    implicit = method == ROSENBROCK
    order = rosenbrock.ORDER if implicit else dopri.ORDER
    span = t_end - t0
    h = initial_step(model, t, y, f, p, rtol, atol, order, span, work_y, work_f)
    stats[N_RHS] += 1
    fac_old = 1e-4
    last_rejected = False
    jac_current = False
    non_finite = False
    n_stiff = 0
    n_nonstiff = 0
    status = OK
    event = -1
    n_attempts = 0

    while True:
        if n_attempts >= max_steps:
            status = MAX_STEPS
            break
        t_lim = t_end
        if i_stop < stops.size and stops[i_stop] < t_end:
            t_lim = stops[i_stop]
        landing = False
        if t + 1.01 * h >= t_lim:
            h = t_lim - t
            landing = True
        h_min = 16.0 * _EPS * max(abs(t), span)
        if h < h_min:
            status = NON_FINITE if non_finite else STEP_COLLAPSE
            break
        stats[H_LAST] = h
        n_attempts += 1

        if implicit:
            if not jac_current:
                rosenbrock.jacobian(
                    model, t, y, f, p, rtol, atol, jac, dfdt, work_y, work_f
                )
                stats[N_JAC] += 1
                stats[N_RHS] += n + 1
                jac_current = True
            ok = rosenbrock.step(
                model, t, y, f, h, p, jac, dfdt, w, piv, k, ystage, ynew, fnew, errv
            )
            stats[N_RHS] += 2
            if not ok:
                if not _all_finite(jac.reshape(-1)):
                    non_finite = True
                    h *= 0.25
                    stats[N_REJECTED] += 1
                    continue
                status = SINGULAR
                break
        else:
            k[0, :] = f
            dopri.step(model, t, y, h, p, k, ystage, ynew, errv)
            stats[N_RHS] += 6
            fnew[:] = k[6]
        err = error_norm(errv, y, ynew, rtol, atol)
        if not (err < math.inf and _all_finite(ynew) and _all_finite(fnew)):
            non_finite = True
            h *= 0.2
            stats[N_REJECTED] += 1
            last_rejected = True
            continue

        # step-size proposal
        if implicit:
            fac = min(5.0, max(0.2, 0.8 * (err + 1e-300) ** (-1.0 / 3.0)))
            h_new = h * fac
        else:
            expo1 = 0.2 - _BETA * 0.75
            fac11 = (err + 1e-300) ** expo1
            if err <= 1.0:
                fac = fac11 / fac_old**_BETA
                fac = max(1.0 / _FAC_MAX, min(1.0 / _FAC_MIN, fac / _SAFE))
                h_new = h / fac
            else:
                h_new = h / min(1.0 / _FAC_MIN, fac11 / _SAFE)

        if err > 1.0:
            stats[N_REJECTED] += 1
            last_rejected = True
            h = h_new
            continue

        # accepted
        non_finite = False
        stats[N_ACCEPTED] += 1
        if not implicit:
            fac_old = max(err, 1e-4)
            dopri.dense_coefficients(y, ynew, k, h, dense)
        else:
            rosenbrock.dense_coefficients(y, h, k, dense)
        if last_rejected:
            h_new = min(h_new, h)
        last_rejected = False

        t_new = t_lim if landing else t + h
        dispatch.events(model, t_new, ynew, p, g_new)
        ev, theta = _locate_event(model, t, h, p, dense, g_old, g_new, work_y, work_g)
        if ev >= 0:
            if theta < 1.0:
                dopri.dense_eval(dense, theta, ynew)
                t_new = t + theta * h
                dispatch.rhs(model, t_new, ynew, p, fnew)
                stats[N_RHS] += 1
            status = EVENT
            event = ev

        if 0 <= i_peak < n:
            if ynew[i_peak] > stats[Y_PEAK]:
                stats[Y_PEAK] = ynew[i_peak]
                stats[T_PEAK] = t_new
            if f[i_peak] > 0.0 and fnew[i_peak] < 0.0:
                th_max, y_max = _interior_max(dense, i_peak, theta, work_y)
                if y_max > stats[Y_PEAK]:
                    stats[Y_PEAK] = y_max
                    stats[T_PEAK] = t + th_max * h

        m_val = dispatch.monitor(model, t_new, ynew, p)
        if m_val > stats[M_PEAK]:
            stats[M_PEAK] = m_val
            stats[T_M_PEAK] = t_new

        stiff_now = False
        if not implicit:
            if dopri.stiffness_ratio(h, k, ystage, ynew) > _STIFF_LIMIT:
                n_nonstiff = 0
                n_stiff += 1
                stiff_now = n_stiff >= _STIFF_COUNT
            else:
                n_nonstiff += 1
                if n_nonstiff >= _NONSTIFF_COUNT:
                    n_stiff = 0

        t = t_new
        y[:] = ynew
        f[:] = fnew
        g_old[:] = g_new
        jac_current = False
        rec_t, rec_y, rec_f, n_rec = _record(rec_t, rec_y, rec_f, n_rec, t, y, f)
        if status == EVENT:
            break
        if landing and t_lim == t_end:
            status = OK
            break
        if landing:
            i_stop += 1
            dispatch.rhs(model, t, y, p, f)
            stats[N_RHS] += 1
            rec_t, rec_y, rec_f, n_rec = _record(rec_t, rec_y, rec_f, n_rec, t, y, f)
            dispatch.events(model, t, y, p, g_old)
            n_stiff = 0
        if stiff_now:
            if method == DOPRI5:
                status = STIFF
                break
            implicit = True
            stats[T_STIFF] = t
        h = h_new

    if n_rec >= 2 and n_out >= 2:
        prof_t, prof_y = resample(rec_t, rec_y, rec_f, n_rec, n_out)
    else:
        prof_t, prof_y = empty_t, empty_y
    return status, event, t, y, prof_t, prof_y, stats
