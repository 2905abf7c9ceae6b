"""Cooling crystallisation: population balance by the method of moments.

Parameter vector ``p`` (SI units; concentrations per kg of solvent)
--------------------------------------------------------------------
================  ======================================================================
index             meaning
================  ======================================================================
``T_START``       temperature at the start of cooling [K]
``T_END``         final temperature of the cooling profile [K]
``T_COOL``        duration of the cooling ramp [s]
``PROFILE``       0: linear ramp; 1: cubic (controlled) T0 + (Tf - T0) (t/T_COOL)**3
``SOL_A0``        solubility c* = A0 + A1 theta + A2 theta**2, theta = T - 273.15 K
``SOL_A1``        [kg/kg/K]
``SOL_A2``        [kg/kg/K2]
``K_B``           nucleation rate constant [1/(kg s)]
``B_EXP``         nucleation order in relative supersaturation [-]
``K_G``           growth rate constant [m/s]
``G_EXP``         growth order in relative supersaturation [-]
``RHO_C``         crystal density [kg/m3]
``K_V``           volume shape factor [-] (pi/6 for spheres)
``M_SOLVENT``     solvent mass [kg]
``HEAT_CAP``      heat capacity of the slurry and vessel [J/K]
``DH_CRYST``      heat of crystallisation released per kg crystallised [J/kg]
``YIELD_TARGET``  fraction of the initially dissolved solute crystallised ending the phase
``C_INIT``        dissolved solute at t = 0 [kg/kg] (reference of the yield)
================  ======================================================================

State vector ``y``: moments ``MU0`` [1/kg], ``MU1`` [m/kg], ``MU2`` [m2/kg], ``MU3`` [m3/kg]
of the number density per kg solvent, dissolved solute ``CONC`` [kg/kg], cumulative heat
removed by the jacket ``Q_REMOVED`` [J].
"""

from __future__ import annotations

import numpy as np

from twin.kernels.jit import kernel
from twin.kernels.rhs.common import EVENT_OFF

T_START, T_END, T_COOL, PROFILE, SOL_A0, SOL_A1, SOL_A2 = 0, 1, 2, 3, 4, 5, 6
K_B, B_EXP, K_G, G_EXP, RHO_C, K_V, M_SOLVENT, HEAT_CAP, DH_CRYST = (
    7, 8, 9, 10, 11, 12, 13, 14, 15,
)
YIELD_TARGET, C_INIT = 16, 17
N_PARAMS = 18

MU0, MU1, MU2, MU3, CONC, Q_REMOVED = 0, 1, 2, 3, 4, 5
N_STATES = 6

LINEAR, CUBIC = 0, 1


@kernel
def temperature(t: float, p: np.ndarray) -> tuple[float, float]:
    """Prescribed temperature [K] and its rate [K/s] at time ``t`` [s]."""
    dT = p[T_END] - p[T_START]
    if t >= p[T_COOL]:
        return p[T_END], 0.0
    s = max(t, 0.0) / p[T_COOL]
    if int(p[PROFILE]) == CUBIC:
        return p[T_START] + dT * s * s * s, 3.0 * dT * s * s / p[T_COOL]
    return p[T_START] + dT * s, dT / p[T_COOL]


@kernel
def solubility(T: float, p: np.ndarray) -> float:
    """Solubility [kg solute / kg solvent] at ``T`` [K]."""
    theta = T - 273.15
    return p[SOL_A0] + theta * (p[SOL_A1] + theta * p[SOL_A2])


@kernel
def kinetics(c: float, T: float, p: np.ndarray) -> tuple[float, float]:
    """Nucleation rate [1/(kg s)] and growth rate [m/s] (zero when undersaturated)."""
    c_star = solubility(T, p)
    if not c_star > 0.0:
        return np.nan, np.nan
    s = (c - c_star) / c_star
    if s <= 0.0:
        return 0.0, 0.0
    return p[K_B] * s ** p[B_EXP], p[K_G] * s ** p[G_EXP]


@kernel
def rhs(t: float, y: np.ndarray, p: np.ndarray, dydt: np.ndarray) -> None:
    """Moment equations (nuclei of zero size), solute balance and jacket heat duty."""
    T, dTdt = temperature(t, p)
    b, gr = kinetics(y[CONC], T, p)
    mass_rate = p[RHO_C] * p[K_V] * 3.0 * gr * y[MU2]
    dydt[MU0] = b
    dydt[MU1] = gr * y[MU0]
    dydt[MU2] = 2.0 * gr * y[MU1]
    dydt[MU3] = 3.0 * gr * y[MU2]
    dydt[CONC] = -mass_rate
    dydt[Q_REMOVED] = p[DH_CRYST] * mass_rate * p[M_SOLVENT] - p[HEAT_CAP] * dTdt


@kernel
def events(t: float, y: np.ndarray, p: np.ndarray, g: np.ndarray) -> None:
    """g[0]: crystallised fraction of the initial solute reaches YIELD_TARGET."""
    g[:] = EVENT_OFF
    if 0.0 < p[YIELD_TARGET] <= 1.0:
        g[0] = (p[C_INIT] - y[CONC]) / p[C_INIT] - p[YIELD_TARGET]


@kernel
def monitor(t: float, y: np.ndarray, p: np.ndarray) -> float:
    """Jacket heat duty [W] needed to follow the cooling profile."""
    T, dTdt = temperature(t, p)
    b, gr = kinetics(y[CONC], T, p)
    mass_rate = p[RHO_C] * p[K_V] * 3.0 * gr * y[MU2]
    return p[DH_CRYST] * mass_rate * p[M_SOLVENT] - p[HEAT_CAP] * dTdt
