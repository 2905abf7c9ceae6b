"""Jacketed (semi-)batch reactor with a general reaction network.

Any number of species ``ns`` and reactions ``nr``. Reaction ``j`` has the volumetric rate
[mol/(m3 s)]

    r_j = k_j(T) prod_i c_i^a_ij - kb_j(T) prod_i c_i^b_ij,   c_i = max(n_i, 0) / V

with forward orders ``a`` (mass action: the reactants' stoichiometric coefficients; power
law: any non-negative orders) and, for a reversible reaction, backward orders ``b``.
Rate constants are in reference-temperature Arrhenius form,
k(T) = k_ref exp(-Ea / R (1/T - 1/T_ref)). The backward constant is a second Arrhenius pair
(``REVERSIBLE``) or k / K_c(T) with the equilibrium constant by van 't Hoff,
K_c(T) = K_ref exp(-dH / R (1/T - 1/T_ref)) (``EQUILIBRIUM``).

    dn_i/dt = F c_feed,i + V sum_j nu_ij r_j
    rho cp V dT/dt = sum_j (-dH_j) V r_j - UA (T - Tj) - F rho cp (T - T_feed)
    dV/dt = F

Isothermal (``ISOTHERMAL`` = 1): dT/dt = 0 and the jacket removes what keeps T constant.

Parameter vector ``p`` (SI units): a header, then one block of ``RX_FIELDS`` values per
reaction, the stoichiometric matrix ``nu`` (nr x ns, row-major), forward and backward orders
(nr x ns each), the feed concentrations (ns) and the releasable heat per mole of each species
(ns, see :func:`twin.kernels.network.heat_per_mole`). Build it with
:func:`twin.kernels.network.network_parameters`.

=================  =====================================================================
header index       meaning
=================  =====================================================================
``NS``, ``NR``     number of species and of reactions
``RHO_CP``         volumetric heat capacity of the reaction mass [J/(m3 K)]
``UA``             jacket heat-transfer coefficient times area [W/K]
``T_JACKET``       jacket temperature [K]
``ISOTHERMAL``     1: temperature held constant, 0: energy balance
``FEED_RATE``      volumetric dosing rate [m3/s] during [0, ``T_DOSE``)
``T_FEED``         feed temperature [K] (enthalpy reference of the feed)
``T_DOSE``         dosing time [s]
``X_TARGET``       conversion of the key species ending the phase [-] (> 1 disables)
``T_MAX``          temperature ending the phase [K] (inf disables)
``KEY``            index of the key species (conversion)
``N_KEY_TOTAL``    moles of the key species charged plus to be dosed [mol]
=================  =====================================================================

Per reaction: ``K_REF`` [(m3/mol)^(m-1)/s, m the forward order], ``EA`` [J/mol], ``T_REF``
[K], ``MODE`` (``IRREVERSIBLE``, ``REVERSIBLE``, ``EQUILIBRIUM``), ``K2`` (backward k_ref,
or K_c at T_ref in (mol/m3)^(sum nu)), ``E2`` (backward Ea, or the van 't Hoff enthalpy
[J/mol]), ``DH`` (reaction enthalpy per unit extent [J/mol], negative: exothermic).

State vector ``y``: moles of each species [mol], then ``T`` [K], ``V`` [m3], cumulative
heat released by reaction [J], cumulative heat removed through the jacket [J].
"""

from __future__ import annotations

import math

import numpy as np

from twin.kernels.jit import kernel
from twin.kernels.rhs.common import EVENT_OFF, R_GAS

NS, NR, RHO_CP, UA, T_JACKET, ISOTHERMAL, FEED_RATE, T_FEED, T_DOSE = range(9)
X_TARGET, T_MAX, KEY, N_KEY_TOTAL = 9, 10, 11, 12
HEADER = 13

K_REF, EA, T_REF, MODE, K2, E2, DH = range(7)
RX_FIELDS = 7

IRREVERSIBLE, REVERSIBLE, EQUILIBRIUM = 0, 1, 2

# state offsets after the ns species
TEMP, VOL, Q_RXN, Q_JACKET = 0, 1, 2, 3
N_EXTRA = 4


@kernel
def sizes(p: np.ndarray) -> tuple[int, int]:
    """Number of species and of reactions."""
    return int(p[NS]), int(p[NR])


@kernel
def offsets(p: np.ndarray) -> tuple[int, int, int, int, int]:
    """Start of the stoichiometric matrix, forward orders, backward orders, feed
    concentrations and heats per mole in ``p``."""
    ns, nr = sizes(p)
    nu = HEADER + RX_FIELDS * nr
    fwd = nu + nr * ns
    bwd = fwd + nr * ns
    feed = bwd + nr * ns
    return nu, fwd, bwd, feed, feed + ns


@kernel
def arrhenius(k_ref: float, ea: float, t_ref: float, T: float) -> float:
    """k_ref exp(-Ea / R (1/T - 1/T_ref))."""
    return k_ref * math.exp(-ea / R_GAS * (1.0 / T - 1.0 / t_ref))


@kernel
def _power(c: float, a: float) -> float:
    if a == 0.0:
        return 1.0
    if a == 1.0:
        return c
    if a == 2.0:
        return c * c
    return c ** a


@kernel
def rate(j: int, T: float, y: np.ndarray, p: np.ndarray) -> float:
    """Volumetric rate of reaction ``j`` [mol/(m3 s)] at temperature ``T`` [K]."""
    ns, nr = sizes(p)
    _, fwd, bwd, _, _ = offsets(p)
    base = HEADER + RX_FIELDS * j
    V = y[ns + VOL]
    kf = arrhenius(p[base + K_REF], p[base + EA], p[base + T_REF], T)
    r = kf
    for i in range(ns):
        r *= _power(max(y[i], 0.0) / V, p[fwd + j * ns + i])
    mode = int(p[base + MODE])
    if mode == IRREVERSIBLE:
        return r
    if mode == REVERSIBLE:
        kb = arrhenius(p[base + K2], p[base + E2], p[base + T_REF], T)
    else:
        kb = kf / arrhenius(p[base + K2], p[base + E2], p[base + T_REF], T)
    rb = kb
    for i in range(ns):
        rb *= _power(max(y[i], 0.0) / V, p[bwd + j * ns + i])
    return r - rb


@kernel
def feed_flow(t: float, p: np.ndarray) -> float:
    """Volumetric feed rate [m3/s] at time ``t`` [s]."""
    if t < p[T_DOSE]:
        return p[FEED_RATE]
    return 0.0


@kernel
def unfed(t: float, i: int, p: np.ndarray) -> float:
    """Moles of species ``i`` still to be dosed at time ``t`` [s]."""
    _, _, _, feed, _ = offsets(p)
    return p[FEED_RATE] * p[feed + i] * max(p[T_DOSE] - t, 0.0)


@kernel
def conversion(t: float, y: np.ndarray, p: np.ndarray) -> float:
    """Conversion of the key species (charged + to be dosed) [-]."""
    key = int(p[KEY])
    return 1.0 - (y[key] + unfed(t, key, p)) / p[N_KEY_TOTAL]


@kernel
def rhs(t: float, y: np.ndarray, p: np.ndarray, dydt: np.ndarray) -> None:
    """Mole, volume and energy balances of the jacketed semi-batch reactor."""
    ns, nr = sizes(p)
    nu, _, _, feed, _ = offsets(p)
    T = y[ns + TEMP]
    V = y[ns + VOL]
    if not (T > 0.0 and V > 0.0):
        dydt[:] = np.nan
        return
    f = feed_flow(t, p)
    for i in range(ns):
        dydt[i] = f * p[feed + i]
    q_rxn = 0.0
    for j in range(nr):
        rv = rate(j, T, y, p) * V
        for i in range(ns):
            dydt[i] += p[nu + j * ns + i] * rv
        q_rxn -= p[HEADER + RX_FIELDS * j + DH] * rv
    q_feed = f * p[RHO_CP] * (T - p[T_FEED])
    if p[ISOTHERMAL] > 0.0:
        dydt[ns + TEMP] = 0.0
        q_jac = q_rxn - q_feed
    else:
        q_jac = p[UA] * (T - p[T_JACKET])
        dydt[ns + TEMP] = (q_rxn - q_jac - q_feed) / (p[RHO_CP] * V)
    dydt[ns + VOL] = f
    dydt[ns + Q_RXN] = q_rxn
    dydt[ns + Q_JACKET] = q_jac


@kernel
def events(t: float, y: np.ndarray, p: np.ndarray, g: np.ndarray) -> None:
    """g[0]: conversion of the key species reaches ``X_TARGET``; g[1]: T reaches ``T_MAX``."""
    ns, _ = sizes(p)
    g[:] = EVENT_OFF
    if p[X_TARGET] <= 1.0:
        g[0] = conversion(t, y, p) - p[X_TARGET]
    if p[T_MAX] < math.inf:
        g[1] = y[ns + TEMP] - p[T_MAX]


@kernel
def heat_potential(y: np.ndarray, p: np.ndarray) -> float:
    """Reaction heat the material present could still release at most [J]: sum_i n_i h_i
    with the releasable heat per mole h_i (an upper bound by linear-programming duality)."""
    ns, _ = sizes(p)
    _, _, _, _, heat = offsets(p)
    q = 0.0
    for i in range(ns):
        q += max(y[i], 0.0) * p[heat + i]
    return q


@kernel
def monitor(t: float, y: np.ndarray, p: np.ndarray) -> float:
    """MTSR [K]: T + heat_potential / (rho cp V) (cooling lost now, adiabatic reaction)."""
    ns, _ = sizes(p)
    return y[ns + TEMP] + heat_potential(y, p) / (p[RHO_CP] * y[ns + VOL])
