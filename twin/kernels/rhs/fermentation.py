"""Fed-batch aerobic fermentation with Monod growth on substrate and dissolved oxygen.

Parameter vector ``p`` (SI units)
---------------------------------
================  =======================================================================
index             meaning
================  =======================================================================
``MU_MAX``        maximum specific growth rate [1/s]
``KS``            Monod constant of the substrate [kg/m3]
``KO``            Monod constant of dissolved oxygen [kg/m3] (<= 0: no O2 limitation)
``Y_XS``          biomass yield on substrate [kg X / kg S]
``Y_XO``          biomass yield on oxygen [kg X / kg O2]
``M_S``           substrate maintenance coefficient [kg S / (kg X s)]
``M_O``           oxygen maintenance coefficient [kg O2 / (kg X s)]
``KLA``           volumetric oxygen transfer coefficient [1/s]
``C_STAR``        oxygen saturation concentration [kg/m3]
``S_FEED``        substrate concentration in the feed [kg/m3]
``F0``            feed rate when feeding starts [m3/s]
``MU_FEED``       exponent of an exponential feed F0 exp(MU_FEED (t - T_FEED_START)) [1/s]
``T_FEED_START``  time feeding starts [s]
``T_FEED_END``    time feeding stops [s]
``X_TARGET``      biomass concentration ending the phase [kg/m3] (<= 0 disables)
``S_MIN``         substrate concentration ending the phase when reached [kg/m3] (< 0 disables)
``V_MAX``         working volume ending the phase when reached [m3] (<= 0 disables)
================  =======================================================================

State vector ``y``: biomass ``M_X`` [kg], substrate ``M_S_`` [kg], dissolved oxygen ``M_O2``
[kg], volume ``VOL`` [m3], cumulative oxygen transferred ``O2_IN`` [kg], cumulative substrate
fed ``S_IN`` [kg].
"""

from __future__ import annotations

import math

import numpy as np

from twin.kernels.jit import kernel
from twin.kernels.rhs.common import EVENT_OFF

MU_MAX, KS, KO, Y_XS, Y_XO, M_S, M_O, KLA, C_STAR = 0, 1, 2, 3, 4, 5, 6, 7, 8
S_FEED, F0, MU_FEED, T_FEED_START, T_FEED_END = 9, 10, 11, 12, 13
X_TARGET, S_MIN, V_MAX = 14, 15, 16
N_PARAMS = 17

M_X, M_SUB, M_O2, VOL, O2_IN, S_IN = 0, 1, 2, 3, 4, 5
N_STATES = 6


@kernel
def feed_rate(t: float, p: np.ndarray) -> float:
    """Volumetric feed rate [m3/s] at time ``t`` [s] (zero outside the feeding window)."""
    if t < p[T_FEED_START] or t >= p[T_FEED_END]:
        return 0.0
    return p[F0] * math.exp(p[MU_FEED] * (t - p[T_FEED_START]))


@kernel
def growth_rate(s: float, c: float, p: np.ndarray) -> float:
    """Specific growth rate mu [1/s] at substrate ``s`` and dissolved O2 ``c`` [kg/m3]."""
    s = max(s, 0.0)
    mu = p[MU_MAX] * s / (p[KS] + s) if p[KS] + s > 0.0 else 0.0
    if p[KO] > 0.0:
        c = max(c, 0.0)
        mu *= c / (p[KO] + c)
    return mu


@kernel
def rhs(t: float, y: np.ndarray, p: np.ndarray, dydt: np.ndarray) -> None:
    """Biomass, substrate, dissolved-oxygen and volume balances of the fed-batch."""
    V = y[VOL]
    if not V > 0.0:
        dydt[:] = np.nan
        return
    x = y[M_X] / V
    s = y[M_SUB] / V
    c = y[M_O2] / V
    mu = growth_rate(s, c, p)
    s_pos = max(s, 0.0)
    f_s = s_pos / (p[KS] + s_pos) if p[KS] + s_pos > 0.0 else 0.0
    f = feed_rate(t, p)
    otr = p[KLA] * (p[C_STAR] - c)
    our = (mu / p[Y_XO] + p[M_O]) * x
    dydt[M_X] = mu * x * V
    dydt[M_SUB] = f * p[S_FEED] - (mu / p[Y_XS] + p[M_S] * f_s) * x * V
    dydt[M_O2] = (otr - our) * V
    dydt[VOL] = f
    dydt[O2_IN] = otr * V
    dydt[S_IN] = f * p[S_FEED]


@kernel
def events(t: float, y: np.ndarray, p: np.ndarray, g: np.ndarray) -> None:
    """g[0]: biomass reaches X_TARGET; g[1]: substrate falls to S_MIN; g[2]: V reaches V_MAX."""
    g[:] = EVENT_OFF
    V = y[VOL]
    if p[X_TARGET] > 0.0:
        g[0] = y[M_X] / V - p[X_TARGET]
    if p[S_MIN] >= 0.0:
        g[1] = p[S_MIN] - y[M_SUB] / V
    if p[V_MAX] > 0.0:
        g[2] = V - p[V_MAX]


@kernel
def monitor(t: float, y: np.ndarray, p: np.ndarray) -> float:
    """Oxygen uptake of the whole broth, OUR V [kg O2/s]."""
    V = y[VOL]
    x = y[M_X] / V
    mu = growth_rate(y[M_SUB] / V, y[M_O2] / V, p)
    return (mu / p[Y_XO] + p[M_O]) * x * V
