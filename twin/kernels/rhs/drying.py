"""Convective drying of a wet layer (electrode coating, filter cake, product on trays).

Parameter vector ``p`` (SI units)
---------------------------------
=============  ==========================================================================
index          meaning
=============  ==========================================================================
``AREA``       exposed (evaporating) area [m2]
``M_DRY``      dry mass of the layer and its substrate (carrier foil, tray) [kg]
``CP_DRY``     specific heat capacity of the dry mass [J/(kg K)]
``CP_SOLV``    specific heat capacity of the liquid solvent [J/(kg K)]
``H_CONV``     convective heat-transfer coefficient air -> layer [W/(m2 K)]
``K_MASS``     gas-side mass-transfer coefficient [m/s]
``T_AIR``      drying-air temperature [K]
``RHO_V_AIR``  solvent vapour density in the bulk drying air [kg/m3]
``M_SOLV``     molar mass of the solvent [kg/mol]
``DH_VAP``     molar enthalpy of vaporisation [J/mol] (assumed constant)
``T_BOIL``     boiling temperature at ``P_REF`` [K]
``P_REF``      pressure at which ``T_BOIL`` is given [Pa]
``X_CRIT``     critical solvent content, start of the falling-rate period [kg/kg dry]
``X_EQ``       equilibrium solvent content [kg/kg dry]
``X_TARGET``   solvent content ending the phase [kg/kg dry] (< 0 disables)
``T_MAX``      layer temperature limit ending the phase [K] (inf disables)
``T_REF``      enthalpy reference temperature [K]
``AIR_FLOW``   drying-air mass flow through the heater [kg/s] (energy bookkeeping only)
``CP_AIR``     specific heat capacity of the air [J/(kg K)]
``T_AMB``      ambient temperature of the fresh air entering the heater [K]
=============  ==========================================================================

State vector ``y``: solvent mass ``M_SOLVENT`` [kg], layer temperature ``TEMP`` [K], cumulative
convective heat to the layer ``Q_CONV`` [J], cumulative latent heat of evaporation ``Q_LAT`` [J],
cumulative sensible enthalpy carried away by the vapour relative to ``T_REF`` ``H_VAP`` [J].
"""

from __future__ import annotations

import math

import numpy as np

from twin.kernels.jit import kernel
from twin.kernels.rhs.common import EVENT_OFF, R_GAS

AREA, M_DRY, CP_DRY, CP_SOLV, H_CONV, K_MASS, T_AIR, RHO_V_AIR = 0, 1, 2, 3, 4, 5, 6, 7
M_SOLV, DH_VAP, T_BOIL, P_REF, X_CRIT, X_EQ, X_TARGET, T_MAX, T_REF = (
    8, 9, 10, 11, 12, 13, 14, 15, 16,
)
AIR_FLOW, CP_AIR, T_AMB = 17, 18, 19
N_PARAMS = 20

M_SOLVENT, TEMP, Q_CONV, Q_LAT, H_VAP = 0, 1, 2, 3, 4
N_STATES = 5


@kernel
def saturation_density(T: float, p: np.ndarray) -> float:
    """Saturated solvent vapour density [kg/m3] at ``T`` [K] (Clausius-Clapeyron, ideal gas)."""
    p_sat = p[P_REF] * math.exp(-p[DH_VAP] / R_GAS * (1.0 / T - 1.0 / p[T_BOIL]))
    return p_sat * p[M_SOLV] / (R_GAS * T)


@kernel
def drying_rate_factor(x: float, p: np.ndarray) -> float:
    """Falling-rate factor [-]: 1 above X_CRIT, linear to 0 at X_EQ."""
    if x >= p[X_CRIT]:
        return 1.0
    if x <= p[X_EQ]:
        return 0.0
    return (x - p[X_EQ]) / (p[X_CRIT] - p[X_EQ])


@kernel
def evaporation_flux(m_solvent: float, T: float, p: np.ndarray) -> float:
    """Evaporation flux [kg/(m2 s)] (no condensation: clipped at zero)."""
    drive = saturation_density(T, p) - p[RHO_V_AIR]
    j = p[K_MASS] * drive * drying_rate_factor(m_solvent / p[M_DRY], p)
    return max(j, 0.0)


@kernel
def rhs(t: float, y: np.ndarray, p: np.ndarray, dydt: np.ndarray) -> None:
    """Solvent mass and layer energy balances."""
    T = y[TEMP]
    if not T > 0.0:
        dydt[:] = np.nan
        return
    m = y[M_SOLVENT]
    j_area = evaporation_flux(m, T, p) * p[AREA]
    q_conv = p[H_CONV] * p[AREA] * (p[T_AIR] - T)
    q_lat = j_area * p[DH_VAP] / p[M_SOLV]
    heat_cap = p[M_DRY] * p[CP_DRY] + max(m, 0.0) * p[CP_SOLV]
    dydt[M_SOLVENT] = -j_area
    dydt[TEMP] = (q_conv - q_lat) / heat_cap
    dydt[Q_CONV] = q_conv
    dydt[Q_LAT] = q_lat
    dydt[H_VAP] = j_area * p[CP_SOLV] * (T - p[T_REF])


@kernel
def events(t: float, y: np.ndarray, p: np.ndarray, g: np.ndarray) -> None:
    """g[0]: solvent content falls to X_TARGET; g[1]: layer temperature reaches T_MAX."""
    g[:] = EVENT_OFF
    if p[X_TARGET] >= 0.0:
        g[0] = p[X_TARGET] - y[M_SOLVENT] / p[M_DRY]
    if p[T_MAX] < math.inf:
        g[1] = y[TEMP] - p[T_MAX]


@kernel
def monitor(t: float, y: np.ndarray, p: np.ndarray) -> float:
    """Evaporation rate [kg/s] (solvent load on the exhaust or recovery unit)."""
    return evaporation_flux(y[M_SOLVENT], y[TEMP], p) * p[AREA]
