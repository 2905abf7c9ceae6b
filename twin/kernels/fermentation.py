"""Fed-batch aerobic fermentation phase (kLa from :func:`twin.kernels.scaleup.kla_van_t_riet`).

Model (all SI; concentrations in kg/m3, masses in kg):

    mu = mu_max S/(Ks + S) * C/(Ko + C)
    d(X V)/dt = mu X V
    d(S V)/dt = F S_feed - (mu / Y_xs + m_s S/(Ks + S)) X V
    d(C V)/dt = (OTR - OUR) V,  OTR = kLa (C* - C),  OUR = q_O2 X = (mu / Y_xo + m_o) X
    dV/dt = F,  F = F0 exp(mu_feed (t - t_start)) on [t_start, t_end_feed), 0 otherwise

Conservation (checked by the tests, without maintenance): X V - X0 V0 = Y_xs (S0 V0 + fed -
S V) and dissolved O2 change = transferred - (X V - X0 V0) / Y_xo.
"""

from __future__ import annotations

import math

import numpy as np

from twin.kernels import integrate
from twin.kernels.errors import BAD_INPUT
from twin.kernels.jit import kernel
from twin.kernels.phase import phase_runner
from twin.kernels.rhs import dispatch
from twin.kernels.rhs import fermentation as m
from twin.kernels.rhs.fermentation import N_PARAMS, N_STATES  # noqa: F401

O2_TRANSFERRED, S_FED, BIOMASS_FORMED, S_CONSUMED, X_FINAL, S_FINAL, V_FINAL = range(7)
OUR_MAX, OUR_MAX_TIME, FEED_VOLUME = 7, 8, 9
N_TOTALS = 10
TOTAL_NAMES = (
    "oxygen_transferred_kg",
    "substrate_fed_kg",
    "biomass_formed_kg",
    "substrate_consumed_kg",
    "biomass_conc_kg_m3",
    "substrate_conc_kg_m3",
    "volume_m3",
    "max_oxygen_uptake_kg_s",
    "max_oxygen_uptake_time_s",
    "feed_volume_m3",
)
P_TIME, P_X, P_S, P_DO, P_VOL, P_MU, P_OUR, P_O2_IN = range(8)
N_PROFILE = 8
PROFILE_COLUMNS = (
    "time_s",
    "biomass_kg_m3",
    "substrate_kg_m3",
    "dissolved_oxygen_kg_m3",
    "volume_m3",
    "growth_rate_1_s",
    "oxygen_uptake_kg_m3_s",
    "oxygen_transferred_kg",
)
EVENT_NAMES = ("target_biomass", "substrate_depleted", "max_volume")


@kernel
def fermentation_phase(
    p: np.ndarray,
    y0: np.ndarray,
    t_end: float,
    rtol: float,
    method: int,
    max_steps: int,
    n_out: int,
) -> tuple[int, int, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Integrate a (fed-)batch fermentation to target biomass, substrate depletion, full
    volume or ``t_end``.

    Parameters
    ----------
    p : ndarray, shape (N_PARAMS,)
        Parameter vector, layout in :mod:`twin.kernels.rhs.fermentation` (build it with
        :func:`fermentation_parameters`). Not modified.
    y0 : ndarray, shape (N_STATES,)
        Initial state: biomass [kg], substrate [kg], dissolved O2 [kg], volume [m3], O2
        transferred [kg], substrate fed [kg] (:func:`fermentation_state`). Not modified.
    t_end : float
        Maximum phase duration [s].
    rtol : float
        Relative tolerance [-]; absolute tolerances scale with the initial charge.
    method : int
        Integration method (``integrate.AUTO`` recommended: oxygen transfer is fast).
    max_steps : int
        Maximum number of attempted steps.
    n_out : int
        Rows of the decimated profile (>= 2).

    Returns
    -------
    status, event, duration, y_end, totals, profile, stats
        As for :func:`twin.kernels.reactor.reactor_phase`; ``event`` 0: target biomass, 1:
        substrate depleted, 2: maximum volume. ``totals`` (``TOTAL_NAMES``): oxygen
        transferred [kg], substrate fed [kg], biomass formed [kg], substrate consumed [kg],
        final biomass and substrate concentrations [kg/m3], final volume [m3], maximum oxygen
        uptake of the broth [kg/s] and its time [s], feed volume [m3]. ``profile`` columns
        (``PROFILE_COLUMNS``): time [s], X, S, dissolved O2 [kg/m3], V [m3], mu [1/s],
        OUR [kg/(m3 s)], cumulative O2 transferred [kg].

    Notes
    -----
    Ideally mixed broth; constant kLa and saturation concentration C* (set them from the
    aeration policy, e.g. with :func:`twin.kernels.scaleup.kla_van_t_riet`); feed free of
    biomass and oxygen; no product formation, death or lysis; maintenance uptake scaled by
    S/(Ks + S) so that it stops when the substrate is exhausted; growth and uptake clip
    negative S and C to zero.
    """
    n_rows = max(n_out, 2)
    totals = np.full(N_TOTALS, np.nan)
    profile = np.full((n_rows, N_PROFILE), np.nan)
    stats = np.zeros(integrate.N_STATS)
    ok = (
        p.size == m.N_PARAMS
        and y0.size == m.N_STATES
        and p[m.Y_XS] > 0.0
        and p[m.Y_XO] > 0.0
        and p[m.KS] >= 0.0
        and p[m.MU_MAX] >= 0.0
        and y0[m.VOL] > 0.0
        and p[m.C_STAR] > 0.0
    )
    if not ok:
        return BAD_INPUT, -1, 0.0, y0.copy(), totals, profile, stats
    mass_scale = max(y0[m.M_X] + y0[m.M_SUB], 1e-9 * y0[m.VOL])
    o2_scale = p[m.C_STAR] * y0[m.VOL]
    atol = np.empty(m.N_STATES)
    atol[m.M_X] = atol[m.M_SUB] = atol[m.S_IN] = rtol * 1e-3 * mass_scale
    atol[m.M_O2] = rtol * 1e-3 * o2_scale
    atol[m.O2_IN] = rtol * o2_scale
    atol[m.VOL] = rtol * y0[m.VOL]
    n_stop = 0
    stop_buf = np.empty(2)
    for ts in (p[m.T_FEED_START], p[m.T_FEED_END]):
        if 0.0 < ts < t_end and p[m.F0] > 0.0:
            stop_buf[n_stop] = ts
            n_stop += 1
    tstops = stop_buf[:n_stop].copy()

    status, event, t, y, prof_t, prof_y, stats = integrate.solve(
        dispatch.FERMENTATION, y0, p, 0.0, t_end, tstops, rtol, atol, method, max_steps,
        n_rows, -1,
    )
    for r in range(n_rows):
        yr = prof_y[r]
        V = yr[m.VOL]
        x = yr[m.M_X] / V
        s = yr[m.M_SUB] / V
        c = yr[m.M_O2] / V
        mu = m.growth_rate(s, c, p)
        profile[r, P_TIME] = prof_t[r]
        profile[r, P_X] = x
        profile[r, P_S] = s
        profile[r, P_DO] = c
        profile[r, P_VOL] = V
        profile[r, P_MU] = mu
        profile[r, P_OUR] = (mu / p[m.Y_XO] + p[m.M_O]) * x
        profile[r, P_O2_IN] = yr[m.O2_IN]
    fed = y[m.S_IN] - y0[m.S_IN]
    totals[O2_TRANSFERRED] = y[m.O2_IN] - y0[m.O2_IN]
    totals[S_FED] = fed
    totals[BIOMASS_FORMED] = y[m.M_X] - y0[m.M_X]
    totals[S_CONSUMED] = y0[m.M_SUB] + fed - y[m.M_SUB]
    totals[X_FINAL] = y[m.M_X] / y[m.VOL]
    totals[S_FINAL] = y[m.M_SUB] / y[m.VOL]
    totals[V_FINAL] = y[m.VOL]
    totals[OUR_MAX] = stats[integrate.M_PEAK]
    totals[OUR_MAX_TIME] = stats[integrate.T_M_PEAK]
    totals[FEED_VOLUME] = y[m.VOL] - y0[m.VOL]
    return status, event, t, y, totals, profile, stats


def fermentation_parameters(
    *,
    mu_max: float,
    ks: float,
    y_xs: float,
    y_xo: float,
    kla: float,
    c_star: float,
    ko: float = 0.0,
    m_s: float = 0.0,
    m_o: float = 0.0,
    s_feed: float = 0.0,
    f0: float = 0.0,
    mu_feed: float = 0.0,
    t_feed_start: float = 0.0,
    t_feed_end: float = math.inf,
    x_target: float = 0.0,
    s_min: float = -1.0,
    v_max: float = 0.0,
) -> np.ndarray:
    """Build the fermentation parameter vector.

    Parameters
    ----------
    mu_max : float
        Maximum specific growth rate [1/s].
    ks, ko : float
        Monod constants of substrate and dissolved oxygen [kg/m3] (ko <= 0: no O2 limit).
    y_xs, y_xo : float
        Biomass yields on substrate and on oxygen [kg/kg].
    kla : float
        Volumetric oxygen transfer coefficient [1/s].
    c_star : float
        Oxygen saturation concentration [kg/m3] (air, water, 30 degC: about 7.5e-3).
    m_s, m_o : float
        Maintenance coefficients [kg/(kg s)].
    s_feed : float
        Substrate concentration of the feed [kg/m3].
    f0, mu_feed : float
        Initial feed rate [m3/s] and exponential feed exponent [1/s] (0: constant feed).
    t_feed_start, t_feed_end : float
        Feeding window [s].
    x_target : float
        Biomass concentration ending the phase [kg/m3] (<= 0: none).
    s_min : float
        Substrate concentration ending the phase when reached from above [kg/m3] (< 0: none).
    v_max : float
        Volume ending the phase [m3] (<= 0: none).
    """
    p = np.empty(m.N_PARAMS)
    p[m.MU_MAX], p[m.KS], p[m.KO], p[m.Y_XS], p[m.Y_XO] = mu_max, ks, ko, y_xs, y_xo
    p[m.M_S], p[m.M_O], p[m.KLA], p[m.C_STAR] = m_s, m_o, kla, c_star
    p[m.S_FEED], p[m.F0], p[m.MU_FEED] = s_feed, f0, mu_feed
    p[m.T_FEED_START], p[m.T_FEED_END] = t_feed_start, t_feed_end
    p[m.X_TARGET], p[m.S_MIN], p[m.V_MAX] = x_target, s_min, v_max
    return p


def fermentation_state(
    *, biomass: float, substrate: float, dissolved_oxygen: float, volume: float
) -> np.ndarray:
    """Initial state from concentrations [kg/m3] and volume [m3]."""
    y = np.zeros(m.N_STATES)
    y[m.M_X] = biomass * volume
    y[m.M_SUB] = substrate * volume
    y[m.M_O2] = dissolved_oxygen * volume
    y[m.VOL] = volume
    return y


run_fermentation_phase = phase_runner(fermentation_phase, EVENT_NAMES, TOTAL_NAMES, PROFILE_COLUMNS)
