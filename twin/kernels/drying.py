"""Convective drying phase of a wet layer: coatings (battery electrodes in NMP, water-based
slurries) and product dryers.

Model (all SI). The evaporation flux is gas-side mass-transfer driven,

    j = k_m (rho_sat(T) - rho_air) f(X),  rho_sat = p_sat(T) M / (R T),
    p_sat(T) = p_ref exp(-dH_vap / R (1/T - 1/T_boil))   (Clausius-Clapeyron)

with f(X) = 1 above the critical solvent content X_c (constant-rate period, the layer settles
near the wet-bulb temperature) and linear to zero at the equilibrium content X_eq below it
(falling-rate period, the layer heats towards the air temperature). The layer energy balance is

    (m_dry cp_dry + m_s cp_s) dT/dt = h A (T_air - T) - j A dH_vap / M.

Energy closure (checked by the tests): with H = (m_dry cp_dry + m_s cp_s)(T - T_ref),
H_end - H_0 = Q_conv - Q_latent - H_vapour, where H_vapour is the sensible enthalpy the vapour
carries away. The air heater duty is m_air cp_air (T_air - T_amb) per second of drying.
"""

from __future__ import annotations

import math

import numpy as np

from twin.kernels import integrate
from twin.kernels.errors import BAD_INPUT
from twin.kernels.jit import kernel
from twin.kernels.phase import phase_runner
from twin.kernels.rhs import dispatch
from twin.kernels.rhs import drying as m
from twin.kernels.rhs.drying import N_PARAMS, N_STATES  # noqa: F401

EVAPORATED, Q_CONV, Q_LATENT, H_VAPOUR, AIR_HEATING, X_FINAL, T_FINAL = range(7)
EVAP_MAX, EVAP_MAX_TIME, T_PEAK = 7, 8, 9
N_TOTALS = 10
TOTAL_NAMES = (
    "solvent_evaporated_kg",
    "heat_convected_J",
    "latent_heat_J",
    "vapour_sensible_enthalpy_J",
    "air_heating_J",
    "solvent_content_kg_kg",
    "temperature_K",
    "max_evaporation_rate_kg_s",
    "max_evaporation_rate_time_s",
    "peak_temperature_K",
)
P_TIME, P_X, P_TEMP, P_RATE, P_M_SOLVENT, P_Q_CONV = range(6)
N_PROFILE = 6
PROFILE_COLUMNS = (
    "time_s",
    "solvent_content_kg_kg",
    "temperature_K",
    "evaporation_rate_kg_s",
    "solvent_kg",
    "heat_convected_J",
)
EVENT_NAMES = ("target_solvent_content", "temperature_limit")


@kernel
def drying_phase(
    p: np.ndarray,
    y0: np.ndarray,
    t_end: float,
    rtol: float,
    method: int,
    max_steps: int,
    n_out: int,
) -> tuple[int, int, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Integrate a drying phase to the target solvent content, temperature limit or ``t_end``.

    Parameters
    ----------
    p : ndarray, shape (N_PARAMS,)
        Parameter vector, layout in :mod:`twin.kernels.rhs.drying` (build it with
        :func:`drying_parameters`). Not modified.
    y0 : ndarray, shape (N_STATES,)
        Initial state: solvent mass [kg], layer temperature [K], then three cumulative heats
        [J] (zero at the start; :func:`drying_state`). Not modified.
    t_end : float
        Maximum phase duration [s] (for a continuous coater: dryer length / web speed).
    rtol : float
        Relative tolerance [-].
    method : int
        Integration method.
    max_steps : int
        Maximum number of attempted steps.
    n_out : int
        Rows of the decimated profile (>= 2).

    Returns
    -------
    status, event, duration, y_end, totals, profile, stats
        As for :func:`twin.kernels.reactor.reactor_phase`; ``event`` 0: target solvent
        content, 1: temperature limit. ``totals`` (``TOTAL_NAMES``): solvent evaporated [kg],
        convective heat to the layer [J], latent heat [J], sensible enthalpy of the vapour
        [J], air heater energy [J], final solvent content [kg/kg dry], final temperature [K],
        maximum evaporation rate [kg/s] and its time [s], peak layer temperature [K].
        ``profile`` columns (``PROFILE_COLUMNS``): time [s], solvent content [kg/kg], T [K],
        evaporation rate [kg/s], solvent mass [kg], cumulative convective heat [J].

    Notes
    -----
    Lumped layer (no internal temperature or concentration gradients: thin coatings, Biot
    number << 1); constant air state along the dryer (the air's solvent load and cooling are
    neglected, valid for high air-to-solvent ratios); linear falling-rate curve; constant heat
    of vaporisation; no condensation (flux clipped at zero); radiation and heat loss through
    the carrier neglected.
    """
    n_rows = max(n_out, 2)
    totals = np.full(N_TOTALS, np.nan)
    profile = np.full((n_rows, N_PROFILE), np.nan)
    stats = np.zeros(integrate.N_STATS)
    ok = (
        p.size == m.N_PARAMS
        and y0.size == m.N_STATES
        and p[m.M_DRY] > 0.0
        and p[m.CP_DRY] > 0.0
        and p[m.M_SOLV] > 0.0
        and p[m.T_BOIL] > 0.0
        and p[m.AREA] > 0.0
        and y0[m.TEMP] > 0.0
        and y0[m.M_SOLVENT] >= 0.0
    )
    if not ok:
        return BAD_INPUT, -1, 0.0, y0.copy(), totals, profile, stats
    heat_cap = p[m.M_DRY] * p[m.CP_DRY] + y0[m.M_SOLVENT] * p[m.CP_SOLV]
    q_scale = max(
        y0[m.M_SOLVENT] * p[m.DH_VAP] / p[m.M_SOLV], heat_cap * abs(p[m.T_AIR] - y0[m.TEMP])
    )
    atol = np.empty(m.N_STATES)
    atol[m.M_SOLVENT] = rtol * 1e-3 * max(y0[m.M_SOLVENT], 1e-6 * p[m.M_DRY])
    atol[m.TEMP] = rtol
    atol[m.Q_CONV] = atol[m.Q_LAT] = atol[m.H_VAP] = rtol * max(q_scale, heat_cap)

    status, event, t, y, prof_t, prof_y, stats = integrate.solve(
        dispatch.DRYING, y0, p, 0.0, t_end, np.empty(0), rtol, atol, method, max_steps,
        n_rows, m.TEMP,
    )
    for r in range(n_rows):
        yr = prof_y[r]
        profile[r, P_TIME] = prof_t[r]
        profile[r, P_X] = yr[m.M_SOLVENT] / p[m.M_DRY]
        profile[r, P_TEMP] = yr[m.TEMP]
        profile[r, P_RATE] = m.evaporation_flux(yr[m.M_SOLVENT], yr[m.TEMP], p) * p[m.AREA]
        profile[r, P_M_SOLVENT] = yr[m.M_SOLVENT]
        profile[r, P_Q_CONV] = yr[m.Q_CONV]
    totals[EVAPORATED] = y0[m.M_SOLVENT] - y[m.M_SOLVENT]
    totals[Q_CONV] = y[m.Q_CONV] - y0[m.Q_CONV]
    totals[Q_LATENT] = y[m.Q_LAT] - y0[m.Q_LAT]
    totals[H_VAPOUR] = y[m.H_VAP] - y0[m.H_VAP]
    totals[AIR_HEATING] = p[m.AIR_FLOW] * p[m.CP_AIR] * (p[m.T_AIR] - p[m.T_AMB]) * t
    totals[X_FINAL] = y[m.M_SOLVENT] / p[m.M_DRY]
    totals[T_FINAL] = y[m.TEMP]
    totals[EVAP_MAX] = stats[integrate.M_PEAK]
    totals[EVAP_MAX_TIME] = stats[integrate.T_M_PEAK]
    totals[T_PEAK] = stats[integrate.Y_PEAK]
    return status, event, t, y, totals, profile, stats


def drying_parameters(
    *,
    area: float,
    m_dry: float,
    cp_dry: float,
    cp_solvent: float,
    h_conv: float,
    k_mass: float,
    t_air: float,
    molar_mass: float,
    dh_vap: float,
    t_boil: float,
    x_crit: float,
    x_eq: float = 0.0,
    rho_vapour_air: float = 0.0,
    p_ref: float = 101325.0,
    x_target: float = -1.0,
    t_max: float = math.inf,
    t_ref: float = 298.15,
    air_flow: float = 0.0,
    cp_air: float = 1006.0,
    t_ambient: float = 293.15,
) -> np.ndarray:
    """Build the drying parameter vector.

    Parameters
    ----------
    area : float
        Evaporating area [m2].
    m_dry : float
        Dry mass of layer and carrier [kg].
    cp_dry, cp_solvent : float
        Specific heat capacities of the dry mass and of the liquid solvent [J/(kg K)].
    h_conv : float
        Convective heat-transfer coefficient [W/(m2 K)] (impingement dryers: 30-150).
    k_mass : float
        Gas-side mass-transfer coefficient [m/s] (Chilton-Colburn: h / (rho cp Le^(2/3))).
    t_air : float
        Drying-air temperature [K].
    molar_mass : float
        Solvent molar mass [kg/mol] (NMP 0.09913, water 0.018015).
    dh_vap : float
        Molar enthalpy of vaporisation [J/mol] (water at 373.15 K: 40.65e3; supply the value
        for the solvent in use).
    t_boil : float
        Boiling temperature at ``p_ref`` [K] (NMP about 475 K, water 373.15 K at 101325 Pa).
    x_crit, x_eq : float
        Critical and equilibrium solvent contents [kg/kg dry].
    rho_vapour_air : float
        Solvent vapour density in the drying air [kg/m3].
    p_ref : float
        Reference pressure of ``t_boil`` [Pa].
    x_target : float
        Solvent content ending the phase [kg/kg dry] (< 0: none).
    t_max : float
        Layer temperature ending the phase [K] (inf: none).
    t_ref : float
        Enthalpy reference temperature [K].
    air_flow, cp_air, t_ambient : float
        Air mass flow [kg/s], its heat capacity [J/(kg K)] (dry air near 300 K: 1006) and
        ambient inlet temperature [K], for the heater energy.
    """
    p = np.empty(m.N_PARAMS)
    p[m.AREA], p[m.M_DRY], p[m.CP_DRY], p[m.CP_SOLV] = area, m_dry, cp_dry, cp_solvent
    p[m.H_CONV], p[m.K_MASS], p[m.T_AIR], p[m.RHO_V_AIR] = h_conv, k_mass, t_air, rho_vapour_air
    p[m.M_SOLV], p[m.DH_VAP], p[m.T_BOIL], p[m.P_REF] = molar_mass, dh_vap, t_boil, p_ref
    p[m.X_CRIT], p[m.X_EQ], p[m.X_TARGET], p[m.T_MAX] = x_crit, x_eq, x_target, t_max
    p[m.T_REF], p[m.AIR_FLOW], p[m.CP_AIR], p[m.T_AMB] = t_ref, air_flow, cp_air, t_ambient
    return p


def drying_state(*, solvent_mass: float, temperature: float) -> np.ndarray:
    """Initial state: solvent mass [kg] and layer temperature [K]; heats start at zero."""
    y = np.zeros(m.N_STATES)
    y[m.M_SOLVENT] = solvent_mass
    y[m.TEMP] = temperature
    return y


run_drying_phase = phase_runner(drying_phase, EVENT_NAMES, TOTAL_NAMES, PROFILE_COLUMNS)
