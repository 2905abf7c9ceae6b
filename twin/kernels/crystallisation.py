"""Cooling crystallisation phase: moments of the population balance along a cooling profile.

Model (all SI; per kg of solvent). With relative supersaturation S = (c - c*(T))/c*(T),
nucleation B = k_b S^b and size-independent growth G = k_g S^g (both zero when S <= 0):

    dmu0/dt = B,  dmu_j/dt = j G mu_(j-1) (j = 1..3),  dc/dt = -3 rho_c k_v G mu2

so c + rho_c k_v mu3 is conserved (checked by the tests). The temperature follows a prescribed
linear or cubic ("controlled") cooling profile; the jacket removes the sensible heat of the
slurry plus the heat of crystallisation.
"""

from __future__ import annotations

import numpy as np

from twin.kernels import integrate
from twin.kernels.errors import BAD_INPUT
from twin.kernels.jit import kernel
from twin.kernels.phase import phase_runner
from twin.kernels.rhs import crystallisation as m
from twin.kernels.rhs import dispatch
from twin.kernels.rhs.crystallisation import CUBIC, LINEAR, N_PARAMS, N_STATES  # noqa: F401

CRYSTAL_MASS, YIELD, HEAT_REMOVED, N_CRYSTALS, MEAN_SIZE, SAUTER_SIZE = range(6)
T_FINAL, S_FINAL, DUTY_MAX, DUTY_MAX_TIME = 6, 7, 8, 9
N_TOTALS = 10
TOTAL_NAMES = (
    "crystal_mass_formed_kg",
    "yield",
    "heat_removed_J",
    "number_of_crystals",
    "number_mean_size_m",
    "sauter_mean_size_m",
    "temperature_K",
    "relative_supersaturation",
    "max_jacket_duty_W",
    "max_jacket_duty_time_s",
)
P_TIME, P_TEMP, P_CONC, P_SOL, P_SUPERSAT, P_MU0, P_L10, P_L32, P_CRYSTAL_MASS = range(9)
N_PROFILE = 9
PROFILE_COLUMNS = (
    "time_s",
    "temperature_K",
    "concentration_kg_kg",
    "solubility_kg_kg",
    "relative_supersaturation",
    "mu0_1_kg",
    "number_mean_size_m",
    "sauter_mean_size_m",
    "crystal_mass_kg",
)
EVENT_NAMES = ("target_yield",)


@kernel
def crystallisation_phase(
    p: np.ndarray,
    y0: np.ndarray,
    t_end: float,
    rtol: float,
    method: int,
    max_steps: int,
    n_out: int,
) -> tuple[int, int, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Integrate a cooling crystallisation to the target yield or ``t_end``.

    Parameters
    ----------
    p : ndarray, shape (N_PARAMS,)
        Parameter vector, layout in :mod:`twin.kernels.rhs.crystallisation` (build it with
        :func:`crystallisation_parameters`); ``C_INIT`` is overwritten with y0's
        concentration in a private copy. Not modified.
    y0 : ndarray, shape (N_STATES,)
        Initial state: moments mu0..mu3 of the seed population per kg solvent [1/kg, m/kg,
        m2/kg, m3/kg], dissolved solute [kg/kg solvent], heat removed [J]
        (:func:`crystallisation_state`). Not modified.
    t_end : float
        Maximum phase duration [s].
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
        As for :func:`twin.kernels.reactor.reactor_phase`; ``event`` 0: target yield.
        ``totals`` (``TOTAL_NAMES``): crystal mass formed [kg], yield (fraction of the initial
        dissolved solute) [-], heat removed [J], number of crystals [-], number-mean size
        mu1/mu0 [m], Sauter mean size mu3/mu2 [m], final temperature [K], final relative
        supersaturation [-], maximum jacket duty [W] and its time [s]. ``profile`` columns
        (``PROFILE_COLUMNS``).

    Notes
    -----
    Well-mixed batch; size-independent growth (McCabe's law); nuclei born at zero size; no
    agglomeration, breakage or dissolution (undersaturated liquor is inert); the temperature
    follows the profile exactly (the jacket is assumed able to deliver the duty reported);
    solubility is a quadratic fit in degrees Celsius.
    """
    n_rows = max(n_out, 2)
    totals = np.full(N_TOTALS, np.nan)
    profile = np.full((n_rows, N_PROFILE), np.nan)
    stats = np.zeros(integrate.N_STATS)
    ok = (
        p.size == m.N_PARAMS
        and y0.size == m.N_STATES
        and p[m.T_COOL] > 0.0
        and y0[m.CONC] > 0.0
        and p[m.RHO_C] > 0.0
        and p[m.K_V] > 0.0
        and m.solubility(p[m.T_START], p) > 0.0
        and m.solubility(p[m.T_END], p) > 0.0
    )
    if not ok:
        return BAD_INPUT, -1, 0.0, y0.copy(), totals, profile, stats
    q = p.copy()
    q[m.C_INIT] = y0[m.CONC]
    l_ref = 1e-4  # [m] size scale of the absolute tolerances of the moments
    mu3_scale = y0[m.CONC] / (p[m.RHO_C] * p[m.K_V])
    atol = np.empty(m.N_STATES)
    for j in range(4):
        atol[j] = rtol * 1e-3 * mu3_scale / l_ref ** (3 - j)
    atol[m.CONC] = rtol * 1e-3 * y0[m.CONC]
    q_scale = p[m.HEAT_CAP] * abs(p[m.T_START] - p[m.T_END]) + abs(
        p[m.DH_CRYST] * y0[m.CONC] * p[m.M_SOLVENT]
    )
    atol[m.Q_REMOVED] = rtol * max(q_scale, 1.0)
    tstops = np.array([p[m.T_COOL]])

    status, event, t, y, prof_t, prof_y, stats = integrate.solve(
        dispatch.CRYSTALLISATION, y0, q, 0.0, t_end, tstops, rtol, atol, method, max_steps,
        n_rows, -1,
    )
    mass_factor = p[m.RHO_C] * p[m.K_V] * p[m.M_SOLVENT]
    for r in range(n_rows):
        yr = prof_y[r]
        T, _ = m.temperature(prof_t[r], q)
        c_star = m.solubility(T, q)
        profile[r, P_TIME] = prof_t[r]
        profile[r, P_TEMP] = T
        profile[r, P_CONC] = yr[m.CONC]
        profile[r, P_SOL] = c_star
        profile[r, P_SUPERSAT] = (yr[m.CONC] - c_star) / c_star
        profile[r, P_MU0] = yr[m.MU0]
        profile[r, P_L10] = yr[m.MU1] / yr[m.MU0] if yr[m.MU0] > 0.0 else 0.0
        profile[r, P_L32] = yr[m.MU3] / yr[m.MU2] if yr[m.MU2] > 0.0 else 0.0
        profile[r, P_CRYSTAL_MASS] = mass_factor * yr[m.MU3]
    T_end, _ = m.temperature(t, q)
    c_star = m.solubility(T_end, q)
    totals[CRYSTAL_MASS] = mass_factor * (y[m.MU3] - y0[m.MU3])
    totals[YIELD] = (y0[m.CONC] - y[m.CONC]) / y0[m.CONC]
    totals[HEAT_REMOVED] = y[m.Q_REMOVED] - y0[m.Q_REMOVED]
    totals[N_CRYSTALS] = y[m.MU0] * p[m.M_SOLVENT]
    totals[MEAN_SIZE] = y[m.MU1] / y[m.MU0] if y[m.MU0] > 0.0 else 0.0
    totals[SAUTER_SIZE] = y[m.MU3] / y[m.MU2] if y[m.MU2] > 0.0 else 0.0
    totals[T_FINAL] = T_end
    totals[S_FINAL] = (y[m.CONC] - c_star) / c_star
    totals[DUTY_MAX] = stats[integrate.M_PEAK]
    totals[DUTY_MAX_TIME] = stats[integrate.T_M_PEAK]
    return status, event, t, y, totals, profile, stats


def crystallisation_parameters(
    *,
    t_start: float,
    t_end: float,
    t_cool: float,
    solubility: tuple[float, float, float],
    k_b: float,
    b: float,
    k_g: float,
    g: float,
    rho_c: float,
    m_solvent: float,
    heat_capacity: float,
    dh_cryst: float = 0.0,
    k_v: float = 0.5235987755982988,
    profile: int = LINEAR,
    yield_target: float = 0.0,
) -> np.ndarray:
    """Build the crystallisation parameter vector.

    Parameters
    ----------
    t_start, t_end : float
        Start and final temperature of the cooling profile [K].
    t_cool : float
        Duration of the cooling ramp [s].
    solubility : tuple of 3 float
        (A0 [kg/kg], A1 [kg/(kg K)], A2 [kg/(kg K2)]) of c* = A0 + A1 theta + A2 theta^2 with
        theta the temperature in degrees Celsius.
    k_b, b : float
        Nucleation constant [1/(kg s)] and order [-].
    k_g, g : float
        Growth constant [m/s] and order [-].
    rho_c : float
        Crystal density [kg/m3].
    m_solvent : float
        Solvent mass [kg].
    heat_capacity : float
        Heat capacity of slurry plus vessel [J/K].
    dh_cryst : float
        Heat released per kg crystallised [J/kg] (positive: exothermic).
    k_v : float
        Volume shape factor [-] (default pi/6, spheres).
    profile : int
        ``LINEAR`` or ``CUBIC`` cooling.
    yield_target : float
        Fraction of the initial dissolved solute crystallised ending the phase (0: none).
    """
    p = np.zeros(m.N_PARAMS)
    p[m.T_START], p[m.T_END], p[m.T_COOL], p[m.PROFILE] = t_start, t_end, t_cool, profile
    p[m.SOL_A0], p[m.SOL_A1], p[m.SOL_A2] = solubility
    p[m.K_B], p[m.B_EXP], p[m.K_G], p[m.G_EXP] = k_b, b, k_g, g
    p[m.RHO_C], p[m.K_V], p[m.M_SOLVENT] = rho_c, k_v, m_solvent
    p[m.HEAT_CAP], p[m.DH_CRYST], p[m.YIELD_TARGET] = heat_capacity, dh_cryst, yield_target
    return p


def crystallisation_state(
    *, concentration: float, seed_moments: tuple[float, float, float, float] = (0, 0, 0, 0)
) -> np.ndarray:
    """Initial state: dissolved solute [kg/kg solvent] and seed moments mu0..mu3 per kg
    solvent [1/kg, m/kg, m2/kg, m3/kg]."""
    y = np.zeros(m.N_STATES)
    y[m.MU0], y[m.MU1], y[m.MU2], y[m.MU3] = seed_moments
    y[m.CONC] = concentration
    return y


run_crystallisation_phase = phase_runner(crystallisation_phase, EVENT_NAMES, TOTAL_NAMES,
                                         PROFILE_COLUMNS)
