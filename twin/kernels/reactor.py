"""Jacketed batch and semi-batch reactor phase: integrate to target conversion or time limit.

Model (all SI): first-order reactions with Arrhenius rate constants k_i(T) = k0_i exp(-Ea_i/(R T))
in one of three schemes, A -> B; A -> B -> C (series); A -> B, A -> C (parallel). A can be dosed
at a constant volumetric rate for a dosing time, so the feed rate limits heat release (semi-batch).

    dN_A/dt = F c_feed - r1 (- r2 in parallel),  r1 = k1 N_A, r2 = k2 N_B (series) or k2 N_A
    rho cp V dT/dt = (-dH1) r1 + (-dH2) r2 - UA (T - Tj) - F rho cp (T - T_feed)
    dV/dt = F

For a batch with one reaction this is the textbook dT/dt = dT_ad k (1 - X) - UA (T - Tj)/(rho cp
V) with dT_ad = (-dH) c0 / (rho cp).

Energy closure (checked by the tests): with the feed temperature as enthalpy reference,
rho cp [V (T - T_feed)]_end - rho cp [V (T - T_feed)]_0 = Q_rxn - Q_jacket.
"""

from __future__ import annotations

import math

import numpy as np

from twin.kernels import integrate
from twin.kernels.errors import BAD_INPUT
from twin.kernels.jit import kernel
from twin.kernels.phase import phase_runner
from twin.kernels.rhs import dispatch
from twin.kernels.rhs import reactor as m
from twin.kernels.rhs.reactor import (  # noqa: F401  (re-exported layout constants)
    N_PARAMS,
    N_STATES,
    PARALLEL,
    SERIES,
    SINGLE,
)

# totals layout
Q_RXN, Q_JACKET, T_PEAK, T_PEAK_TIME, X_END, X_ACC_MAX, MTSR_MAX, MTSR_TIME = range(8)
YIELD_B, SELECTIVITY_B, N_FED = 8, 9, 10
N_TOTALS = 11
TOTAL_NAMES = (
    "heat_released_J",
    "heat_removed_jacket_J",
    "peak_temperature_K",
    "peak_time_s",
    "conversion",
    "max_accumulation",
    "max_mtsr_K",
    "max_mtsr_time_s",
    "yield_B",
    "selectivity_B",
    "moles_A_dosed",
)

# profile columns
P_TIME, P_TEMP, P_X, P_X_ACC, P_MTSR, P_N_A, P_N_B, P_N_C, P_VOL, P_Q_JACKET = range(10)
N_PROFILE = 10
PROFILE_COLUMNS = (
    "time_s",
    "temperature_K",
    "conversion",
    "accumulation",
    "mtsr_K",
    "n_A_mol",
    "n_B_mol",
    "n_C_mol",
    "volume_m3",
    "heat_removed_jacket_J",
)
EVENT_NAMES = ("target_conversion", "temperature_limit")


@kernel
def reactor_phase(
    p: np.ndarray,
    y0: np.ndarray,
    t_end: float,
    rtol: float,
    method: int,
    max_steps: int,
    n_out: int,
) -> tuple[int, int, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Integrate one reaction phase to target conversion, temperature limit or ``t_end``.

    Parameters
    ----------
    p : ndarray, shape (N_PARAMS,)
        Parameter vector, layout in :mod:`twin.kernels.rhs.reactor` (build it with
        :func:`reactor_parameters`). Not modified.
    y0 : ndarray, shape (N_STATES,)
        Initial state: N_A, N_B, N_C [mol], T [K], V [m3], Q_rxn [J], Q_jacket [J] (build it
        with :func:`reactor_state`). Not modified.
    t_end : float
        Maximum phase duration [s].
    rtol : float
        Relative tolerance of the integrator [-]; absolute tolerances are derived from the
        charge (moles: rtol * 1e-3 * N_A_total; T: rtol * 1 K; V: rtol * V0; heats: rtol *
        potential reaction heat).
    method : int
        :data:`twin.kernels.integrate.DOPRI5`, ``ROSENBROCK`` or ``AUTO``.
    max_steps : int
        Maximum number of attempted steps.
    n_out : int
        Rows of the decimated profile (>= 2).

    Returns
    -------
    status : int
        :mod:`twin.kernels.errors` code.
    event : int
        0: target conversion reached, 1: temperature limit reached, -1: ended at ``t_end``.
    duration : float
        Phase duration [s] (time of failure if the status is a failure).
    y_end : ndarray, shape (N_STATES,)
        End state.
    totals : ndarray, shape (N_TOTALS,)
        Heat released by reaction [J], heat removed through the jacket [J], peak temperature
        [K] and its time [s], final conversion of all A [-], maximum accumulation X_acc on the
        profile grid [-], maximum MTSR over accepted steps [K] and its time [s], yield of B on
        all A [-], selectivity to B (B formed per A converted) [-], moles of A dosed [mol].
    profile : ndarray, shape (n_out, N_PROFILE)
        Columns ``PROFILE_COLUMNS``: time [s], T [K], conversion X [-], accumulation X_acc [-],
        MTSR [K], N_A, N_B, N_C [mol], V [m3], cumulative jacket heat [J].
    stats : ndarray, shape (integrate.N_STATS,)
        Integrator statistics.

    Notes
    -----
    Assumptions: ideally mixed liquid phase of constant volumetric heat capacity; volume grows
    by the feed volume only (no density change on reaction); constant UA (the wetted jacket
    area is not scaled with the fill level) and constant jacket temperature; feed at constant
    temperature and composition. The accumulation X_acc is the reaction heat still releasable by
    the material present (unreacted A, and B in a series scheme) divided by the total potential
    heat of all A charged and dosed; the parallel scheme conservatively assumes the more
    exothermic path. MTSR = T + (releasable heat) / (rho cp V) (Stoessel).
    """
    n_rows = max(n_out, 2)
    totals = np.full(N_TOTALS, np.nan)
    profile = np.full((n_rows, N_PROFILE), np.nan)
    stats = np.zeros(integrate.N_STATS)
    ok = (
        p.size == m.N_PARAMS
        and y0.size == m.N_STATES
        and p[m.RHO_CP] > 0.0
        and p[m.N_A_TOTAL] > 0.0
        and y0[m.VOL] > 0.0
        and y0[m.TEMP] > 0.0
        and p[m.FEED_RATE] >= 0.0
        and p[m.T_DOSE] >= 0.0
    )
    if not ok:
        return BAD_INPUT, -1, 0.0, y0.copy(), totals, profile, stats

    pot_per_mol = m.heat_potential(np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]), p)
    q_scale = max(pot_per_mol * p[m.N_A_TOTAL], p[m.RHO_CP] * y0[m.VOL])
    atol = np.empty(m.N_STATES)
    atol[m.N_A] = atol[m.N_B] = atol[m.N_C] = rtol * 1e-3 * p[m.N_A_TOTAL]
    atol[m.TEMP] = rtol
    atol[m.VOL] = rtol * y0[m.VOL]
    atol[m.Q_RXN] = atol[m.Q_JACKET] = rtol * q_scale
    tstops = np.empty(0)
    if p[m.FEED_RATE] > 0.0 and 0.0 < p[m.T_DOSE] < t_end:
        tstops = np.array([p[m.T_DOSE]])

    status, event, t, y, prof_t, prof_y, stats = integrate.solve(
        dispatch.REACTOR, y0, p, 0.0, t_end, tstops, rtol, atol, method, max_steps, n_rows,
        m.TEMP,
    )
    pot_total = pot_per_mol * p[m.N_A_TOTAL]
    x_acc_max = 0.0
    for r in range(n_rows):
        yr = prof_y[r]
        pot = m.heat_potential(yr, p)
        profile[r, P_TIME] = prof_t[r]
        profile[r, P_TEMP] = yr[m.TEMP]
        profile[r, P_X] = m.conversion(prof_t[r], yr[m.N_A], p)
        profile[r, P_X_ACC] = pot / pot_total if pot_total > 0.0 else 0.0
        profile[r, P_MTSR] = yr[m.TEMP] + pot / (p[m.RHO_CP] * yr[m.VOL])
        profile[r, P_N_A] = yr[m.N_A]
        profile[r, P_N_B] = yr[m.N_B]
        profile[r, P_N_C] = yr[m.N_C]
        profile[r, P_VOL] = yr[m.VOL]
        profile[r, P_Q_JACKET] = yr[m.Q_JACKET]
        x_acc_max = max(x_acc_max, profile[r, P_X_ACC])
    n_fed = p[m.FEED_RATE] * p[m.C_FEED] * min(t, p[m.T_DOSE])
    converted = y0[m.N_A] + n_fed - y[m.N_A]
    totals[Q_RXN] = y[m.Q_RXN] - y0[m.Q_RXN]
    totals[Q_JACKET] = y[m.Q_JACKET] - y0[m.Q_JACKET]
    totals[T_PEAK] = stats[integrate.Y_PEAK]
    totals[T_PEAK_TIME] = stats[integrate.T_PEAK]
    totals[X_END] = m.conversion(t, y[m.N_A], p)
    totals[X_ACC_MAX] = x_acc_max
    totals[MTSR_MAX] = stats[integrate.M_PEAK]
    totals[MTSR_TIME] = stats[integrate.T_M_PEAK]
    totals[YIELD_B] = (y[m.N_B] - y0[m.N_B]) / p[m.N_A_TOTAL]
    totals[SELECTIVITY_B] = (y[m.N_B] - y0[m.N_B]) / converted if converted > 0.0 else np.nan
    totals[N_FED] = n_fed
    return status, event, t, y, totals, profile, stats


def reactor_parameters(
    *,
    k0: float,
    ea: float,
    dh: float,
    rho_cp: float,
    ua: float,
    t_jacket: float,
    n_a_total: float,
    scheme: int = SINGLE,
    k0_2: float = 0.0,
    ea_2: float = 0.0,
    dh_2: float = 0.0,
    feed_rate: float = 0.0,
    c_feed: float = 0.0,
    t_feed: float = 298.15,
    t_dose: float = 0.0,
    x_target: float = 2.0,
    t_max: float = math.inf,
) -> np.ndarray:
    """Build the reactor parameter vector.

    Parameters
    ----------
    k0 : float
        Pre-exponential factor of A -> B [1/s].
    ea : float
        Activation energy of A -> B [J/mol].
    dh : float
        Reaction enthalpy of A -> B [J/mol] (negative: exothermic).
    rho_cp : float
        Volumetric heat capacity of the reaction mass [J/(m3 K)].
    ua : float
        Jacket U times A [W/K] (U: glass-lined 150-400, stainless 300-800 W/(m2 K)).
    t_jacket : float
        Jacket temperature [K].
    n_a_total : float
        Moles of A charged plus moles of A to be dosed [mol].
    scheme : int
        ``SINGLE`` (A -> B), ``SERIES`` (A -> B -> C) or ``PARALLEL`` (A -> B, A -> C).
    k0_2, ea_2, dh_2 : float
        Arrhenius parameters [1/s], [J/mol] and enthalpy [J/mol] of the second reaction.
    feed_rate : float
        Volumetric dosing rate [m3/s] during [0, t_dose).
    c_feed : float
        Concentration of A in the feed [mol/m3].
    t_feed : float
        Feed temperature [K].
    t_dose : float
        Dosing time [s].
    x_target : float
        Conversion of all A that ends the phase [-] (> 1: no conversion end condition).
    t_max : float
        Temperature that ends the phase [K] (inf: none).
    """
    p = np.empty(m.N_PARAMS)
    p[m.K0_1], p[m.EA_1], p[m.DH_1] = k0, ea, dh
    p[m.K0_2], p[m.EA_2], p[m.DH_2] = k0_2, ea_2, dh_2
    p[m.SCHEME] = scheme
    p[m.RHO_CP], p[m.UA], p[m.T_JACKET] = rho_cp, ua, t_jacket
    p[m.FEED_RATE], p[m.C_FEED], p[m.T_FEED], p[m.T_DOSE] = feed_rate, c_feed, t_feed, t_dose
    p[m.X_TARGET], p[m.T_MAX], p[m.N_A_TOTAL] = x_target, t_max, n_a_total
    return p


def reactor_state(
    *, n_a: float, temperature: float, volume: float, n_b: float = 0.0, n_c: float = 0.0
) -> np.ndarray:
    """Initial reactor state: moles of A, B, C [mol], temperature [K], volume [m3]."""
    y = np.zeros(m.N_STATES)
    y[m.N_A], y[m.N_B], y[m.N_C], y[m.TEMP], y[m.VOL] = n_a, n_b, n_c, temperature, volume
    return y


run_reactor_phase = phase_runner(reactor_phase, EVENT_NAMES, TOTAL_NAMES, PROFILE_COLUMNS)
