"""Jacketed (semi-)batch reactor with a general reaction network: the phase kernel and the
builder of its parameter vector.

The model (stoichiometric matrix, mass-action or power-law rates, reversible reactions by an
Arrhenius pair or an equilibrium constant with van 't Hoff, heats per reaction, isothermal or
with the energy balance and jacket, semi-batch dosing of a feed of any composition) is in
:mod:`twin.kernels.rhs.network`.

Energy closure (as in :mod:`twin.kernels.reactor`): with the feed temperature as enthalpy
reference, rho cp [V (T - T_feed)]_end - rho cp [V (T - T_feed)]_0 = Q_rxn - Q_jacket.

MTSR: the heat the material present could still release is bounded above by sum_i n_i h_i,
where the releasable heat per mole h_i >= 0 satisfies, for every reaction direction d,
-sum_i nu_id h_i >= q_d (q_d the heat of d per unit extent). Such h is a feasible point of
the dual of the linear programme "largest heat from any extents of the reactions that keep
every amount non-negative", so n . h is an upper bound of that heat for any amounts n (weak
duality), and equals it for the amounts the dual was minimised for (the charge:
:func:`twin.process.network.heat_per_mole`, outside the kernels as it solves a linear
programme). For A -> B, series A -> B -> C and parallel A -> B, A -> C it is the
legacy kernel's potential exactly.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from twin.kernels import integrate
from twin.kernels.errors import BAD_INPUT
from twin.kernels.jit import kernel
from twin.kernels.phase import PhaseResult, phase_runner
from twin.kernels.rhs import dispatch
from twin.kernels.rhs import network as m
from twin.kernels.rhs.network import EQUILIBRIUM, IRREVERSIBLE, REVERSIBLE  # noqa: F401

# totals layout
Q_RXN, Q_JACKET, T_PEAK, T_PEAK_TIME, X_END, X_ACC_MAX, MTSR_MAX, MTSR_TIME, N_FED = range(9)
N_TOTALS = 9
TOTAL_NAMES = (
    "heat_released_J",
    "heat_removed_jacket_J",
    "peak_temperature_K",
    "peak_time_s",
    "conversion",
    "max_accumulation",
    "max_mtsr_K",
    "max_mtsr_time_s",
    "moles_key_dosed",
)
# fixed profile columns, then one column of moles per species
P_TIME, P_TEMP, P_X, P_X_ACC, P_MTSR, P_VOL, P_Q_JACKET = range(7)
N_FIXED = 7
FIXED_COLUMNS = (
    "time_s",
    "temperature_K",
    "conversion",
    "accumulation",
    "mtsr_K",
    "volume_m3",
    "heat_removed_jacket_J",
)
EVENT_NAMES = ("target_conversion", "temperature_limit")


@kernel
def network_phase(
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
    p : ndarray
        Parameter vector (:func:`network_parameters`). Not modified.
    y0 : ndarray, shape (ns + 4,)
        Moles of each species [mol], T [K], V [m3], Q_rxn [J], Q_jacket [J]
        (:func:`network_state`). Not modified.
    t_end, rtol, method, max_steps, n_out
        As for :func:`twin.kernels.reactor.reactor_phase`; absolute tolerances are derived
        from the charge (moles: rtol * 1e-3 * all moles charged and dosed; T: rtol * 1 K;
        V: rtol * V0; heats: rtol * max(potential heat, rho cp V0 * 1 K)).

    Returns
    -------
    status, event, duration, y_end, totals, profile, stats
        As for :func:`twin.kernels.reactor.reactor_phase`. ``totals`` (``TOTAL_NAMES``):
        heat released by reaction [J], heat removed through the jacket [J], peak temperature
        [K] and its time [s], final conversion of the key species [-], maximum accumulation
        (releasable heat present over the potential of everything charged and dosed) [-],
        maximum MTSR [K] and its time [s], moles of the key species dosed [mol].
        ``profile`` columns: ``FIXED_COLUMNS`` then moles of each species [mol].

    Notes
    -----
    Ideally mixed liquid of constant volumetric heat capacity; the volume grows by the feed
    only; constant UA and jacket temperature; concentrations below zero (integration
    round-off) count as zero in the rates.
    """
    n_rows = max(n_out, 2)
    totals = np.full(N_TOTALS, np.nan)
    stats = np.zeros(integrate.N_STATS)
    ns, nr = m.sizes(p)
    ok = (
        ns >= 1
        and nr >= 0
        and p.size == m.offsets(p)[4] + ns
        and y0.size == ns + m.N_EXTRA
        and p[m.RHO_CP] > 0.0
        and p[m.N_KEY_TOTAL] > 0.0
        and 0 <= int(p[m.KEY]) < ns
        and y0[ns + m.VOL] > 0.0
        and y0[ns + m.TEMP] > 0.0
        and p[m.FEED_RATE] >= 0.0
        and p[m.T_DOSE] >= 0.0
    )
    profile = np.full((n_rows, N_FIXED + max(ns, 0)), np.nan)
    if not ok:
        return BAD_INPUT, -1, 0.0, y0.copy(), totals, profile, stats

    _, _, _, feed, heat = m.offsets(p)
    dosed_time = p[m.T_DOSE] if p[m.FEED_RATE] > 0.0 else 0.0
    charged = 0.0
    pot_total = 0.0
    for i in range(ns):
        n_i = y0[i] + p[m.FEED_RATE] * p[feed + i] * dosed_time
        charged += abs(n_i)
        pot_total += max(n_i, 0.0) * p[heat + i]
    vol0 = y0[ns + m.VOL]
    q_scale = max(pot_total, p[m.RHO_CP] * vol0)
    atol = np.empty(ns + m.N_EXTRA)
    for i in range(ns):
        atol[i] = rtol * 1e-3 * max(charged, 1e-300)
    atol[ns + m.TEMP] = rtol
    atol[ns + m.VOL] = rtol * vol0
    atol[ns + m.Q_RXN] = atol[ns + m.Q_JACKET] = rtol * q_scale
    tstops = np.empty(0)
    if p[m.FEED_RATE] > 0.0 and 0.0 < p[m.T_DOSE] < t_end:
        tstops = np.array([p[m.T_DOSE]])

    status, event, t, y, prof_t, prof_y, stats = integrate.solve(
        dispatch.NETWORK, y0, p, 0.0, t_end, tstops, rtol, atol, method, max_steps, n_rows,
        ns + m.TEMP,
    )
    x_acc_max = 0.0
    for r in range(n_rows):
        yr = prof_y[r]
        pot = m.heat_potential(yr, p)
        profile[r, P_TIME] = prof_t[r]
        profile[r, P_TEMP] = yr[ns + m.TEMP]
        profile[r, P_X] = m.conversion(prof_t[r], yr, p)
        profile[r, P_X_ACC] = pot / pot_total if pot_total > 0.0 else 0.0
        profile[r, P_MTSR] = yr[ns + m.TEMP] + pot / (p[m.RHO_CP] * yr[ns + m.VOL])
        profile[r, P_VOL] = yr[ns + m.VOL]
        profile[r, P_Q_JACKET] = yr[ns + m.Q_JACKET]
        for i in range(ns):
            profile[r, N_FIXED + i] = yr[i]
        x_acc_max = max(x_acc_max, profile[r, P_X_ACC])
    key = int(p[m.KEY])
    totals[Q_RXN] = y[ns + m.Q_RXN] - y0[ns + m.Q_RXN]
    totals[Q_JACKET] = y[ns + m.Q_JACKET] - y0[ns + m.Q_JACKET]
    totals[T_PEAK] = stats[integrate.Y_PEAK]
    totals[T_PEAK_TIME] = stats[integrate.T_PEAK]
    totals[X_END] = m.conversion(t, y, p)
    totals[X_ACC_MAX] = x_acc_max
    totals[MTSR_MAX] = stats[integrate.M_PEAK]
    totals[MTSR_TIME] = stats[integrate.T_M_PEAK]
    totals[N_FED] = p[m.FEED_RATE] * p[feed + key] * min(t, p[m.T_DOSE])
    return status, event, t, y, totals, profile, stats


def network_parameters(
    *,
    nu: np.ndarray,
    k_ref: np.ndarray,
    ea: np.ndarray,
    t_ref: np.ndarray,
    dh: np.ndarray,
    rho_cp: float,
    ua: float,
    t_jacket: float,
    key: int,
    n_key_total: float,
    orders: np.ndarray | None = None,
    mode: np.ndarray | None = None,
    k2: np.ndarray | None = None,
    e2: np.ndarray | None = None,
    orders_back: np.ndarray | None = None,
    isothermal: bool = False,
    feed_rate: float = 0.0,
    c_feed: np.ndarray | None = None,
    t_feed: float = 298.15,
    t_dose: float = 0.0,
    x_target: float = 2.0,
    t_max: float = math.inf,
    heat: np.ndarray | None = None,
) -> np.ndarray:
    """Build the network parameter vector (layout in :mod:`twin.kernels.rhs.network`).

    Parameters
    ----------
    nu : ndarray, shape (nr, ns)
        Stoichiometric coefficients (negative: consumed) [-].
    k_ref, ea, t_ref, dh : ndarray, shape (nr,)
        Forward rate constant at ``t_ref`` [(m3/mol)^(m-1)/s], activation energy [J/mol],
        reference temperature [K], reaction enthalpy per unit extent [J/mol].
    rho_cp, ua, t_jacket : float
        Volumetric heat capacity [J/(m3 K)], jacket UA [W/K], jacket temperature [K].
    key : int
        Index of the species whose conversion ends the phase.
    n_key_total : float
        Moles of the key species charged plus to be dosed [mol].
    orders : ndarray, shape (nr, ns), optional
        Forward orders (default: mass action, the reactants' coefficients).
    mode : ndarray of int, shape (nr,), optional
        ``IRREVERSIBLE`` (default), ``REVERSIBLE`` or ``EQUILIBRIUM`` per reaction.
    k2, e2 : ndarray, shape (nr,), optional
        Backward k_ref and Ea (``REVERSIBLE``) or K_c at ``t_ref`` [(mol/m3)^(sum nu)] and
        the van 't Hoff enthalpy [J/mol] (``EQUILIBRIUM``).
    orders_back : ndarray, shape (nr, ns), optional
        Backward orders (default: mass action, the products' coefficients).
    isothermal : bool
        Hold the temperature constant (the jacket removes the net heat).
    feed_rate, c_feed, t_feed, t_dose : float, ndarray (ns,), float, float
        Dosing rate [m3/s] during [0, t_dose) [s] of a feed with concentrations [mol/m3]
        at ``t_feed`` [K].
    x_target, t_max : float
        End conditions: key conversion [-] (> 1: none), temperature [K] (inf: none).
    heat : ndarray, shape (ns,), optional
        Releasable heat per mole of each species [J/mol] for the MTSR and accumulation
        (:func:`twin.process.network.heat_per_mole`; default none: MTSR = T).
    """
    nu = np.atleast_2d(np.asarray(nu, dtype=float))
    nr, ns = nu.shape
    zeros = np.zeros(nr)
    mode = np.zeros(nr) if mode is None else np.asarray(mode, dtype=float)
    if orders is None:
        orders = np.where(nu < 0, -nu, 0.0)
    if orders_back is None:
        orders_back = np.where(nu > 0, nu, 0.0)
    heat = np.zeros(ns) if heat is None else np.asarray(heat, dtype=float)
    head = np.empty(m.HEADER)
    head[m.NS], head[m.NR] = ns, nr
    head[m.RHO_CP], head[m.UA], head[m.T_JACKET] = rho_cp, ua, t_jacket
    head[m.ISOTHERMAL] = 1.0 if isothermal else 0.0
    head[m.FEED_RATE], head[m.T_FEED], head[m.T_DOSE] = feed_rate, t_feed, t_dose
    head[m.X_TARGET], head[m.T_MAX] = x_target, t_max
    head[m.KEY], head[m.N_KEY_TOTAL] = key, n_key_total
    rx = np.column_stack([k_ref, ea, t_ref, mode, zeros if k2 is None else k2,
                          zeros if e2 is None else e2, dh]).astype(float)
    assert rx.shape == (nr, m.RX_FIELDS)
    feed = np.zeros(ns) if c_feed is None else np.asarray(c_feed, dtype=float)
    return np.concatenate([head, rx.ravel(), nu.ravel(), np.asarray(orders, float).ravel(),
                           np.asarray(orders_back, float).ravel(), feed, heat])


def network_state(*, moles: np.ndarray, temperature: float, volume: float) -> np.ndarray:
    """Initial state: moles of each species [mol], temperature [K], volume [m3]."""
    moles = np.asarray(moles, dtype=float)
    y = np.zeros(moles.size + m.N_EXTRA)
    y[: moles.size] = moles
    y[moles.size + m.TEMP], y[moles.size + m.VOL] = temperature, volume
    return y


def profile_columns(species: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Profile column names for a network of these species."""
    return FIXED_COLUMNS + tuple(f"n_{s}_mol" for s in species)


_run = phase_runner(network_phase, EVENT_NAMES, TOTAL_NAMES, FIXED_COLUMNS)


def run_network_phase(p: np.ndarray, y0: np.ndarray, *, species: tuple[str, ...] | list[str],
                      **kwargs: object) -> PhaseResult:
    """Run :func:`network_phase` (keyword arguments as for
    :func:`twin.kernels.reactor.run_reactor_phase`: ``t_end``, ``unit``, ``phase``, ...);
    raise ``IntegrationError`` naming unit and phase on failure. ``species`` names the
    profile's mole columns."""
    res = _run(p, y0, **kwargs)
    return replace(res, profile_columns=profile_columns(species))
