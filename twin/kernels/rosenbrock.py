"""Linearly implicit (Rosenbrock) 2(3) method for stiff phases.

The modified Rosenbrock triple of L. F. Shampine and M. W. Reichelt, "The MATLAB ODE suite",
SIAM J. Sci. Comput. 18 (1997) 1-22 (the method of ``ode23s``): an L-stable second-order
W-method with a third-order error estimate and a free continuous extension. The Jacobian and
the time derivative of f are formed by forward differences; the linear systems are solved by
an LU factorisation with partial pivoting written here (no LAPACK dependency).
"""

from __future__ import annotations

import math

import numpy as np

from twin.kernels.jit import kernel
from twin.kernels.rhs import dispatch

D = 1.0 / (2.0 + math.sqrt(2.0))
E32 = 6.0 + math.sqrt(2.0)
#: Order of the propagated solution (the error estimate is one order higher).
ORDER = 2
_SQRT_EPS = math.sqrt(np.finfo(np.float64).eps)


@kernel
def lu_factor(a: np.ndarray, piv: np.ndarray) -> bool:
    """LU-factorise the square matrix ``a`` in place with partial pivoting.

    Returns False when a pivot is zero or not finite (singular matrix).
    """
    n = a.shape[0]
    for c in range(n):
        best = c
        big = abs(a[c, c])
        for r in range(c + 1, n):
            if abs(a[r, c]) > big:
                big = abs(a[r, c])
                best = r
        if not (big > 0.0 and big < math.inf):
            return False
        piv[c] = best
        if best != c:
            for j in range(n):
                tmp = a[c, j]
                a[c, j] = a[best, j]
                a[best, j] = tmp
        inv = 1.0 / a[c, c]
        for r in range(c + 1, n):
            a[r, c] *= inv
            f = a[r, c]
            if f != 0.0:
                for j in range(c + 1, n):
                    a[r, j] -= f * a[c, j]
    return True


@kernel
def lu_solve(lu: np.ndarray, piv: np.ndarray, b: np.ndarray) -> None:
    """Solve ``A x = b`` in place in ``b`` given the factors from :func:`lu_factor`."""
    n = lu.shape[0]
    for c in range(n):
        j = piv[c]
        if j != c:
            tmp = b[c]
            b[c] = b[j]
            b[j] = tmp
    for r in range(n):
        s = b[r]
        for j in range(r):
            s -= lu[r, j] * b[j]
        b[r] = s
    for r in range(n - 1, -1, -1):
        s = b[r]
        for j in range(r + 1, n):
            s -= lu[r, j] * b[j]
        b[r] = s / lu[r, r]


@kernel
def jacobian(
    model: int,
    t: float,
    y: np.ndarray,
    f0: np.ndarray,
    p: np.ndarray,
    rtol: float,
    atol: np.ndarray,
    jac: np.ndarray,
    dfdt: np.ndarray,
    work_y: np.ndarray,
    work_f: np.ndarray,
) -> None:
    """Forward-difference Jacobian df/dy into ``jac`` and df/dt into ``dfdt`` (n + 1 rhs calls)."""
    n = y.size
    for j in range(n):
        work_y[j] = y[j]
    for j in range(n):
        scale = max(abs(y[j]), atol[j] / rtol)
        delta = _SQRT_EPS * scale if scale > 0.0 else _SQRT_EPS
        work_y[j] = y[j] + delta
        delta = work_y[j] - y[j]
        dispatch.rhs(model, t, work_y, p, work_f)
        for i in range(n):
            jac[i, j] = (work_f[i] - f0[i]) / delta
        work_y[j] = y[j]
    dt = _SQRT_EPS * max(abs(t), 1.0)
    dispatch.rhs(model, t + dt, y, p, work_f)
    for i in range(n):
        dfdt[i] = (work_f[i] - f0[i]) / dt


@kernel
def step(
    model: int,
    t: float,
    y: np.ndarray,
    f0: np.ndarray,
    h: float,
    p: np.ndarray,
    jac: np.ndarray,
    dfdt: np.ndarray,
    w: np.ndarray,
    piv: np.ndarray,
    k: np.ndarray,
    ystage: np.ndarray,
    ynew: np.ndarray,
    fnew: np.ndarray,
    errv: np.ndarray,
) -> bool:
    """Take one Rosenbrock 2(3) step of size ``h`` [s] from (t, y) with f0 = f(t, y).

    ``k`` is a 4 x n work array: rows 0-2 hold the stages, row 3 f at the midpoint. On exit
    ``ynew`` holds the solution, ``fnew`` = f(t + h, ynew) and ``errv`` the error estimate.
    Returns False if the matrix I - h d J is singular.
    """
    n = y.size
    hd = h * D
    for i in range(n):
        for j in range(n):
            w[i, j] = -hd * jac[i, j]
        w[i, i] += 1.0
    if not lu_factor(w, piv):
        return False
    k1 = k[0]
    k2 = k[1]
    k3 = k[2]
    f1 = k[3]
    for i in range(n):
        k1[i] = f0[i] + hd * dfdt[i]
    lu_solve(w, piv, k1)
    for i in range(n):
        ystage[i] = y[i] + 0.5 * h * k1[i]
    dispatch.rhs(model, t + 0.5 * h, ystage, p, f1)
    for i in range(n):
        k2[i] = f1[i] - k1[i]
    lu_solve(w, piv, k2)
    for i in range(n):
        k2[i] += k1[i]
        ynew[i] = y[i] + h * k2[i]
    dispatch.rhs(model, t + h, ynew, p, fnew)
    for i in range(n):
        k3[i] = fnew[i] - E32 * (k2[i] - f1[i]) - 2.0 * (k1[i] - f0[i]) + hd * dfdt[i]
    lu_solve(w, piv, k3)
    for i in range(n):
        errv[i] = h / 6.0 * (k1[i] - 2.0 * k2[i] + k3[i])
    return True


@kernel
def dense_coefficients(y: np.ndarray, h: float, k: np.ndarray, dense: np.ndarray) -> None:
    """Write the continuous extension y + h[th(1-th) k1 + th(th-2d) k2]/(1-2d) in the form of
    :func:`twin.kernels.dopri.dense_eval` (d0 = y, d1 = h k2, d2 = h (k1 - k2)/(1 - 2d))."""
    c = 1.0 / (1.0 - 2.0 * D)
    for i in range(y.size):
        dense[0, i] = y[i]
        dense[1, i] = h * k[1, i]
        dense[2, i] = h * (k[0, i] - k[1, i]) * c
        dense[3, i] = 0.0
        dense[4, i] = 0.0
