"""A react phase's reaction network lowered to the network kernel's arrays.

:class:`Kinetics` holds a network in arrays (stoichiometric matrix, orders, rate constants in
reference-temperature form, heats) built once from a :class:`~twin.data.process.ReactNetwork`
phase (:func:`kinetics_of`); :meth:`Kinetics.replace` gives a copy with named parameters
changed (calibration), :meth:`Kinetics.parameters` the kernel's parameter vector.
:func:`network_inputs` is the kernel input for one batch, as
:func:`twin.process.phases.reactor_inputs` is for the legacy schemes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from twin.data import process as P
from twin.kernels import network as kn
from twin.kernels.rhs.common import R_GAS
from twin.process.materials import Materials


@dataclass(frozen=True)
class Kinetics:
    """A reaction network in arrays (SI): ``nu``, ``orders``, ``orders_back`` (nr x ns),
    ``k_ref``, ``ea``, ``dh``, ``mode``, ``k2``, ``e2`` (nr) at the reference temperature
    ``t_ref`` [K]; ``k2``/``e2`` are the backward k_ref and Ea (``REVERSIBLE``) or K_c at
    t_ref and the van 't Hoff enthalpy, which is ``dh`` (``EQUILIBRIUM``)."""

    species: tuple[str, ...]
    reactions: tuple[str, ...]
    nu: np.ndarray
    orders: np.ndarray
    orders_back: np.ndarray
    k_ref: np.ndarray
    ea: np.ndarray
    dh: np.ndarray
    mode: np.ndarray
    k2: np.ndarray
    e2: np.ndarray
    t_ref: float

    def names(self) -> list[str]:
        """Every parameter :meth:`replace` accepts, by reaction."""
        out = []
        for j, r in enumerate(self.reactions):
            out += [f"{r}.k_ref", f"{r}.ea", f"{r}.dh"]
            if self.mode[j] == kn.REVERSIBLE:
                out += [f"{r}.k_ref_reverse", f"{r}.ea_reverse"]
            elif self.mode[j] == kn.EQUILIBRIUM:
                out += [f"{r}.K"]
            out += [f"{r}.order.{s}" for i, s in enumerate(self.species)
                    if self.orders[j, i] > 0]
        return out

    def value(self, name: str) -> float:
        """The current value of a parameter named as in :meth:`names`."""
        j, field, i = self._locate(name)
        return float(getattr(self, field)[(j, i) if i is not None else j])

    def replace(self, values: dict[str, float]) -> Kinetics:
        """A copy with the named parameters set (``r1.k_ref``, ``r2.order.B``, ...)."""
        arrays = {f: getattr(self, f).copy() for f in ("k_ref", "ea", "dh", "k2", "e2",
                                                       "orders")}
        for name, v in values.items():
            j, field, i = self._locate(name)
            arrays[field][(j, i) if i is not None else j] = v
        eq = self.mode == kn.EQUILIBRIUM
        arrays["e2"] = np.where(eq, arrays["dh"], arrays["e2"])  # van 't Hoff follows dh
        return replace(self, **arrays)

    def _locate(self, name: str) -> tuple[int, str, int | None]:
        rx, _, rest = name.partition(".")
        if rx not in self.reactions or not rest:
            raise KeyError(name)
        j = self.reactions.index(rx)
        if rest.startswith("order."):
            sp = rest.removeprefix("order.")
            if sp not in self.species or not self.orders[j, self.species.index(sp)] > 0:
                raise KeyError(name)
            return j, "orders", self.species.index(sp)
        field = {"k_ref": "k_ref", "ea": "ea", "dh": "dh", "k_ref_reverse": "k2",
                 "ea_reverse": "e2", "K": "k2"}.get(rest)
        mode = self.mode[j]
        if field is None or (rest in ("k_ref_reverse", "ea_reverse")
                             and mode != kn.REVERSIBLE) or (rest == "K"
                                                            and mode != kn.EQUILIBRIUM):
            raise KeyError(name)
        return j, field, None

    def parameters(self, *, rho_cp: float, ua: float, t_jacket: float, key: str,
                   moles: np.ndarray, dosed: np.ndarray | None = None, t_dose: float = 0.0,
                   feed_volume: float = 0.0, t_feed: float = 298.15,
                   isothermal: bool = False, x_target: float = 2.0,
                   t_max: float = math.inf, mtsr: bool = True) -> np.ndarray:
        """The kernel parameter vector for a batch holding ``moles`` [mol] (by
        :attr:`species`) in the vessel, with ``dosed`` [mol] more dosed as ``feed_volume``
        [m3] at a constant rate over ``t_dose`` [s] at ``t_feed`` [K]; other arguments as
        :func:`twin.kernels.network.network_parameters`; ``mtsr=False`` leaves out the
        releasable heat (MTSR = T, no linear programme solved: for calibration)."""
        dosed = np.zeros(len(self.species)) if dosed is None else np.asarray(dosed, float)
        feeding = t_dose > 0.0 and feed_volume > 0.0 and bool(dosed.any())
        total = np.asarray(moles, dtype=float) + dosed
        k = self.species.index(key)
        heat = (heat_per_mole(self.nu, self.dh, self.mode != kn.IRREVERSIBLE, total) if mtsr
                else None)
        nr = len(self.reactions)
        return kn.network_parameters(
            nu=self.nu, k_ref=self.k_ref, ea=self.ea, t_ref=np.full(nr, self.t_ref),
            dh=self.dh, rho_cp=rho_cp, ua=ua, t_jacket=t_jacket, key=k,
            n_key_total=max(float(total[k]), 1e-300), orders=self.orders, mode=self.mode,
            k2=self.k2, e2=self.e2, orders_back=self.orders_back, isothermal=isothermal,
            feed_rate=feed_volume / t_dose if feeding else 0.0,
            c_feed=dosed / feed_volume if feeding else None, t_feed=t_feed,
            t_dose=t_dose if feeding else 0.0, x_target=x_target, t_max=t_max, heat=heat)


def kinetics_of(ph: P.ReactNetwork) -> Kinetics:
    """The arrays of a react phase's network, rate constants at ``t_ref`` (default: the
    jacket temperature; a ``k0`` is turned into k at t_ref)."""
    species = tuple(ph.species_names())
    nr, ns = len(ph.reactions), len(species)
    t_ref = float(ph.t_ref or ph.jacket)
    arr = {f: np.zeros(nr) for f in ("k_ref", "ea", "dh", "mode", "k2", "e2")}
    nu, fwd, bwd = np.zeros((nr, ns)), np.zeros((nr, ns)), np.zeros((nr, ns))
    for j, r in enumerate(ph.reactions):
        left, right, reversible = r.sides()
        for sp, c in left.items():
            nu[j, species.index(sp)] -= c
        for sp, c in right.items():
            nu[j, species.index(sp)] += c
        for sp, a in r.forward_orders().items():
            fwd[j, species.index(sp)] = a
        for sp, a in r.backward_orders().items():
            bwd[j, species.index(sp)] = a
        arr["ea"][j], arr["dh"][j] = r.ea, r.dh
        arr["k_ref"][j] = r.k if r.k is not None else \
            (r.k0 or 0.0) * math.exp(-r.ea / (R_GAS * t_ref))
        if reversible and r.K is not None:
            arr["mode"][j], arr["k2"][j], arr["e2"][j] = kn.EQUILIBRIUM, r.K, r.dh
        elif reversible:
            arr["mode"][j], arr["k2"][j], arr["e2"][j] = kn.REVERSIBLE, r.k_reverse, \
                r.ea_reverse
    return Kinetics(species, tuple(ph.reaction_names()), nu, fwd, bwd, t_ref=t_ref,
                    **arr)


def network_inputs(ph: P.ReactNetwork, kin: Kinetics, mass: np.ndarray, t: float,
                   mat: Materials, t_dose: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kernel parameters, initial state and the moles of each network species in the batch
    [mol] for a batch of ``mass`` [kg] per species code at ``t`` [K]; ``t_dose`` [s] is the
    dosing time (0: none)."""
    codes = [mat.code(s) for s in kin.species]
    moles = np.array([mass[c] / mat.molar_mass[c] for c in codes])
    dosed = np.array([ph.dose.get(s, 0.0) for s in kin.species]) * moles
    feed_volume = float(sum(dosed[i] * mat.molar_mass[c] / mat.density[c]
                            for i, c in enumerate(codes)))
    volume = float((mass / mat.density).sum())
    cap = float(mass @ mat.cp)
    key = ph.key_species()
    p = kin.parameters(rho_cp=cap / volume, ua=ph.ua, t_jacket=ph.jacket, key=key,
                       moles=moles - dosed, dosed=dosed, t_dose=t_dose,
                       feed_volume=feed_volume, t_feed=t, isothermal=ph.isothermal,
                       x_target=ph.target_conversion or 2.0,
                       t_max=ph.t_max if ph.t_max else math.inf)
    y0 = kn.network_state(moles=moles - dosed, temperature=t, volume=volume - feed_volume)
    return p, y0, moles


def heat_per_mole(nu: np.ndarray, dh: np.ndarray, reversible: np.ndarray,
                  n_ref: np.ndarray | None = None) -> np.ndarray:
    """Releasable heat per mole of each species [J/mol] (an upper bound by linear-programming
    duality: see :mod:`twin.kernels.network`).

    The dual of the largest-heat linear programme, solved once (SciPy HiGHS): the h >= 0
    satisfying every reaction direction's constraint with the least ``n_ref . h``, so the
    bound is exact for the amounts ``n_ref`` [mol] (default: one mole of each species) and
    an upper bound for any others.

    Parameters
    ----------
    nu : ndarray, shape (nr, ns)
        Stoichiometric matrix (negative: consumed).
    dh : ndarray, shape (nr,)
        Reaction enthalpies per unit extent [J/mol].
    reversible : ndarray of bool, shape (nr,)
        Reactions that also run backwards (releasing +dh per unit of backward extent).
    n_ref : ndarray, shape (ns,), optional
        Amounts for which the bound is made tightest (e.g. the charge) [mol].

    Raises
    ------
    ValueError
        If no finite bound exists: heats that contradict each other (a cycle of reactions
        releasing heat on every turn), or reactions that make mass from nothing.
    """
    from scipy.optimize import linprog

    nu = np.atleast_2d(np.asarray(nu, dtype=float))
    dh = np.asarray(dh, dtype=float)
    rows = [nu[j] for j in range(nu.shape[0])]
    heats = [-dh[j] for j in range(nu.shape[0])]
    rows += [-nu[j] for j in range(nu.shape[0]) if reversible[j]]
    heats += [dh[j] for j in range(nu.shape[0]) if reversible[j]]
    ns = nu.shape[1]
    if not rows or max(heats) <= 0.0:
        return np.zeros(ns)
    scale = max(abs(q) for q in heats)
    w = np.ones(ns) if n_ref is None else np.abs(np.asarray(n_ref, dtype=float))
    w = w / max(w.max(), 1e-300) + 1e-6
    # -nu_d . h >= q_d  <=>  nu_d . h <= -q_d
    lp = linprog(w, A_ub=np.array(rows), b_ub=-np.array(heats) / scale,
                 bounds=[(0.0, None)] * ns, method="highs")
    if lp.status != 0:
        raise ValueError("no bound on the releasable heat: the heats of reaction contradict "
                         "each other (a cycle of reactions releases heat on every turn) or a "
                         "reaction makes mass from nothing")
    return np.maximum(lp.x, 0.0) * scale


