"""Jacketed (semi-)batch reactor: single, series or parallel first-order reactions.

Parameter vector ``p`` (SI units)
---------------------------------
=================  =====================================================================
index              meaning
=================  =====================================================================
``K0_1``           pre-exponential factor of reaction 1, A -> B [1/s]
``EA_1``           activation energy of reaction 1 [J/mol]
``DH_1``           reaction enthalpy of reaction 1 [J/mol] (negative = exothermic)
``K0_2``           pre-exponential factor of reaction 2 [1/s] (0 disables it)
``EA_2``           activation energy of reaction 2 [J/mol]
``DH_2``           reaction enthalpy of reaction 2 [J/mol]
``SCHEME``         0: A -> B only; 1: series A -> B -> C; 2: parallel A -> B, A -> C
``RHO_CP``         volumetric heat capacity of the reaction mass [J/(m3 K)]
``UA``             jacket heat-transfer coefficient times area [W/K]
``T_JACKET``       jacket (coolant) temperature [K]
``FEED_RATE``      volumetric dosing rate of the feed [m3/s]
``C_FEED``         concentration of A in the feed [mol/m3]
``T_FEED``         feed temperature [K] (also the enthalpy reference temperature)
``T_DOSE``         dosing time [s]: feed runs on [0, T_DOSE)
``X_TARGET``       conversion of A ending the phase [-] (> 1 disables the event)
``T_MAX``          temperature limit ending the phase [K] (inf disables the event)
``N_A_TOTAL``      moles of A charged plus moles of A to be dosed [mol]
=================  =====================================================================

State vector ``y``: ``N_A, N_B, N_C`` [mol], ``T`` [K], ``V`` [m3], ``Q_RXN`` cumulative heat
released by reaction [J], ``Q_JACKET`` cumulative heat removed through the jacket [J].
"""

from __future__ import annotations

import math

import numpy as np

from twin.kernels.jit import kernel
from twin.kernels.rhs.common import EVENT_OFF, R_GAS

K0_1, EA_1, DH_1, K0_2, EA_2, DH_2, SCHEME = 0, 1, 2, 3, 4, 5, 6
RHO_CP, UA, T_JACKET = 7, 8, 9
FEED_RATE, C_FEED, T_FEED, T_DOSE = 10, 11, 12, 13
X_TARGET, T_MAX, N_A_TOTAL = 14, 15, 16
N_PARAMS = 17

N_A, N_B, N_C, TEMP, VOL, Q_RXN, Q_JACKET = 0, 1, 2, 3, 4, 5, 6
N_STATES = 7

SINGLE, SERIES, PARALLEL = 0, 1, 2


@kernel
def rates(T: float, n_a: float, n_b: float, p: np.ndarray) -> tuple[float, float]:
    """Molar reaction rates [mol/s] of reactions 1 and 2 at temperature ``T`` [K]."""
    k1 = p[K0_1] * math.exp(-p[EA_1] / (R_GAS * T))
    r1 = k1 * n_a
    r2 = 0.0
    scheme = int(p[SCHEME])
    if scheme != SINGLE and p[K0_2] > 0.0:
        k2 = p[K0_2] * math.exp(-p[EA_2] / (R_GAS * T))
        r2 = k2 * (n_b if scheme == SERIES else n_a)
    return r1, r2


@kernel
def feed_flow(t: float, p: np.ndarray) -> float:
    """Volumetric feed rate [m3/s] at time ``t`` [s]."""
    if t < p[T_DOSE]:
        return p[FEED_RATE]
    return 0.0


@kernel
def unfed_moles(t: float, p: np.ndarray) -> float:
    """Moles of A still to be dosed at time ``t`` [s]."""
    return p[FEED_RATE] * p[C_FEED] * max(p[T_DOSE] - t, 0.0)


@kernel
def conversion(t: float, n_a: float, p: np.ndarray) -> float:
    """Conversion of all A (charged + to be dosed) [-]."""
    return 1.0 - (n_a + unfed_moles(t, p)) / p[N_A_TOTAL]


@kernel
def rhs(t: float, y: np.ndarray, p: np.ndarray, dydt: np.ndarray) -> None:
    """Mole, volume and energy balances of the jacketed semi-batch reactor."""
    T = y[TEMP]
    V = y[VOL]
    if not (T > 0.0 and V > 0.0):
        dydt[:] = np.nan
        return
    r1, r2 = rates(T, y[N_A], y[N_B], p)
    scheme = int(p[SCHEME])
    f = feed_flow(t, p)
    dydt[N_A] = f * p[C_FEED] - r1 - (r2 if scheme == PARALLEL else 0.0)
    dydt[N_B] = r1 - (r2 if scheme == SERIES else 0.0)
    dydt[N_C] = r2
    q_rxn = -p[DH_1] * r1 - p[DH_2] * r2
    q_jac = p[UA] * (T - p[T_JACKET])
    q_feed = f * p[RHO_CP] * (T - p[T_FEED])
    dydt[TEMP] = (q_rxn - q_jac - q_feed) / (p[RHO_CP] * V)
    dydt[VOL] = f
    dydt[Q_RXN] = q_rxn
    dydt[Q_JACKET] = q_jac


@kernel
def events(t: float, y: np.ndarray, p: np.ndarray, g: np.ndarray) -> None:
    """g[0]: conversion reaches ``X_TARGET``; g[1]: temperature reaches ``T_MAX``."""
    g[:] = EVENT_OFF
    if p[X_TARGET] <= 1.0:
        g[0] = conversion(t, y[N_A], p) - p[X_TARGET]
    if p[T_MAX] < math.inf:
        g[1] = y[TEMP] - p[T_MAX]


@kernel
def heat_potential(y: np.ndarray, p: np.ndarray) -> float:
    """Reaction heat still releasable by the material present in the reactor [J].

    A -> B releases -DH_1 per mole of A; in series B -> C then releases -DH_2 per mole of A or
    B; in parallel the larger of the two heats is assumed (conservative).
    """
    scheme = int(p[SCHEME])
    h1 = max(-p[DH_1], 0.0)
    h2 = max(-p[DH_2], 0.0) if p[K0_2] > 0.0 else 0.0
    if scheme == SERIES:
        return y[N_A] * (h1 + h2) + y[N_B] * h2
    if scheme == PARALLEL:
        return y[N_A] * max(h1, h2)
    return y[N_A] * h1


@kernel
def monitor(t: float, y: np.ndarray, p: np.ndarray) -> float:
    """MTSR [K]: temperature reached if cooling failed now and the accumulated reactants
    present reacted adiabatically, T + heat_potential / (rho cp V)."""
    return y[TEMP] + heat_potential(y, p) / (p[RHO_CP] * y[VOL])
