"""Dormand-Prince 5(4) explicit Runge-Kutta step with dense output and stiffness test.

Coefficients from J. R. Dormand and P. J. Prince, "A family of embedded Runge-Kutta formulae",
J. Comput. Appl. Math. 6 (1980) 19-26; dense-output coefficients and the stiffness test
(h*lambda estimate > 3.25) as described in E. Hairer, S. P. Norsett and G. Wanner, *Solving
Ordinary Differential Equations I*, 2nd ed., sections II.5-II.6 and IV.2 (code ``DOPRI5``).
"""

from __future__ import annotations

import numpy as np

from twin.kernels.jit import kernel
from twin.kernels.rhs import dispatch

C2, C3, C4, C5 = 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0
A21 = 1.0 / 5.0
A31, A32 = 3.0 / 40.0, 9.0 / 40.0
A41, A42, A43 = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
A51, A52, A53, A54 = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
A61, A62, A63 = 9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0
A64, A65 = 49.0 / 176.0, -5103.0 / 18656.0
A71, A73, A74, A75, A76 = (
    35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0,
)
E1, E3, E4, E5, E6, E7 = (
    71.0 / 57600.0, -71.0 / 16695.0, 71.0 / 1920.0, -17253.0 / 339200.0, 22.0 / 525.0,
    -1.0 / 40.0,
)
D1, D3, D4 = -12715105075.0 / 11282082432.0, 87487479700.0 / 32700410799.0, (
    -10690763975.0 / 1880347072.0
)
D5, D6, D7 = 701980252875.0 / 199316789632.0, -1453857185.0 / 822651844.0, (
    69997945.0 / 29380423.0
)

#: Order used by the step-size controller and the initial-step heuristic.
ORDER = 5


@kernel
def step(
    model: int,
    t: float,
    y: np.ndarray,
    h: float,
    p: np.ndarray,
    k: np.ndarray,
    ystage: np.ndarray,
    ynew: np.ndarray,
    errv: np.ndarray,
) -> None:
    """Take one Dormand-Prince step of size ``h`` [s] from (t, y).

    ``k[0]`` must hold f(t, y) on entry (first-same-as-last). On exit ``ynew`` holds the
    5th-order solution, ``k[6]`` = f(t + h, ynew), ``errv`` the local error estimate and
    ``ystage`` the 6th-stage argument (used by the stiffness test).
    """
    n = y.size
    for i in range(n):
        ystage[i] = y[i] + h * A21 * k[0, i]
    dispatch.rhs(model, t + C2 * h, ystage, p, k[1])
    for i in range(n):
        ystage[i] = y[i] + h * (A31 * k[0, i] + A32 * k[1, i])
    dispatch.rhs(model, t + C3 * h, ystage, p, k[2])
    for i in range(n):
        ystage[i] = y[i] + h * (A41 * k[0, i] + A42 * k[1, i] + A43 * k[2, i])
    dispatch.rhs(model, t + C4 * h, ystage, p, k[3])
    for i in range(n):
        ystage[i] = y[i] + h * (
            A51 * k[0, i] + A52 * k[1, i] + A53 * k[2, i] + A54 * k[3, i]
        )
    dispatch.rhs(model, t + C5 * h, ystage, p, k[4])
    for i in range(n):
        ystage[i] = y[i] + h * (
            A61 * k[0, i] + A62 * k[1, i] + A63 * k[2, i] + A64 * k[3, i] + A65 * k[4, i]
        )
    dispatch.rhs(model, t + h, ystage, p, k[5])
    for i in range(n):
        ynew[i] = y[i] + h * (
            A71 * k[0, i] + A73 * k[2, i] + A74 * k[3, i] + A75 * k[4, i] + A76 * k[5, i]
        )
    dispatch.rhs(model, t + h, ynew, p, k[6])
    for i in range(n):
        errv[i] = h * (
            E1 * k[0, i] + E3 * k[2, i] + E4 * k[3, i] + E5 * k[4, i] + E6 * k[5, i]
            + E7 * k[6, i]
        )


@kernel
def dense_coefficients(
    y: np.ndarray, ynew: np.ndarray, k: np.ndarray, h: float, dense: np.ndarray
) -> None:
    """Fill the 5 x n dense-output coefficients of the last step (see :func:`dense_eval`)."""
    for i in range(y.size):
        ydiff = ynew[i] - y[i]
        bspl = h * k[0, i] - ydiff
        dense[0, i] = y[i]
        dense[1, i] = ydiff
        dense[2, i] = bspl
        dense[3, i] = ydiff - h * k[6, i] - bspl
        dense[4, i] = h * (
            D1 * k[0, i] + D3 * k[2, i] + D4 * k[3, i] + D5 * k[4, i] + D6 * k[5, i]
            + D7 * k[6, i]
        )


@kernel
def dense_eval(dense: np.ndarray, theta: float, out: np.ndarray) -> None:
    """Evaluate the continuous extension at ``theta`` in [0, 1] of the last step.

    y(theta) = d0 + theta (d1 + (1 - theta) (d2 + theta (d3 + (1 - theta) d4))). The
    Rosenbrock method writes its own interpolant in the same form (d3 = d4 = 0).
    """
    th1 = 1.0 - theta
    for i in range(out.size):
        out[i] = dense[0, i] + theta * (
            dense[1, i] + th1 * (dense[2, i] + theta * (dense[3, i] + th1 * dense[4, i]))
        )


@kernel
def stiffness_ratio(h: float, k: np.ndarray, ystage: np.ndarray, ynew: np.ndarray) -> float:
    """Estimate |h lambda| from the last two stages; > 3.25 means the step is stability-bound."""
    num = 0.0
    den = 0.0
    for i in range(ynew.size):
        a = k[6, i] - k[5, i]
        b = ynew[i] - ystage[i]
        num += a * a
        den += b * b
    if den <= 0.0:
        return 0.0
    return abs(h) * np.sqrt(num / den)
