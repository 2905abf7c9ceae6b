"""Small reference problems used to test the integrators themselves.

``decay``: y' = -k y (componentwise), event when y[0] falls below ``p[1]`` (if ``p[1] > 0``).
``blowup``: y' = y**2, which becomes infinite at t = 1/y0 (forces a step-size collapse).
``robertson``: the classic stiff chemical kinetics problem of Robertson (1966), rates 0.04,
3e7 and 1e4 taken from Hairer & Wanner, *Solving ODEs II*, section IV.1.
"""

from __future__ import annotations

import numpy as np

from twin.kernels.jit import kernel
from twin.kernels.rhs.common import EVENT_OFF


@kernel
def decay_rhs(t: float, y: np.ndarray, p: np.ndarray, dydt: np.ndarray) -> None:
    """y' = -p[0] y."""
    for i in range(y.size):
        dydt[i] = -p[0] * y[i]


@kernel
def decay_events(t: float, y: np.ndarray, p: np.ndarray, g: np.ndarray) -> None:
    """g[0] = p[1] - y[0] (fires when y[0] falls to p[1]); disabled when p[1] <= 0."""
    g[:] = EVENT_OFF
    if p[1] > 0.0:
        g[0] = p[1] - y[0]


@kernel
def blowup_rhs(t: float, y: np.ndarray, p: np.ndarray, dydt: np.ndarray) -> None:
    """y' = y**2."""
    for i in range(y.size):
        dydt[i] = y[i] * y[i]


@kernel
def robertson_rhs(t: float, y: np.ndarray, p: np.ndarray, dydt: np.ndarray) -> None:
    """Robertson kinetics: y1' = -0.04 y1 + 1e4 y2 y3, y2' = ..., y3' = 3e7 y2**2."""
    r1 = 0.04 * y[0]
    r2 = 1.0e4 * y[1] * y[2]
    r3 = 3.0e7 * y[1] * y[1]
    dydt[0] = -r1 + r2
    dydt[1] = r1 - r2 - r3
    dydt[2] = r3


@kernel
def no_events(t: float, y: np.ndarray, p: np.ndarray, g: np.ndarray) -> None:
    """No end condition."""
    g[:] = EVENT_OFF
