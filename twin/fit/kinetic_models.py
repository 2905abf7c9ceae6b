"""More process kernels as calibration models: a general reaction network, convective
drying and cooling crystallisation.

Each model has the interface :func:`twin.fit.calibrate.calibrate` uses (``names``,
``positive``, ``variables``, ``values()``, ``predict(values, batch)``) and integrates its
kernel from one observation time to the next, so predictions are exact at the samples.

- :class:`Network`: any network parameter (``<reaction>.k_ref``, ``.ea``, ``.dh``,
  ``.k_ref_reverse``, ``.ea_reverse``, ``.K``, ``.order.<species>``) and ``ua``; observed:
  each species' concentration [mol/m3] and ``T`` [K]. Rate constants are at the network's
  reference temperature (the Arrhenius pairs in reference-temperature form).
- :class:`Dryer`: ``h_conv``, ``k_mass``, ``critical_content``, ``equilibrium_content``
  (the dry phase's keys); observed: solvent content ``X`` [kg/kg dry] and layer temperature
  ``T`` [K]; a batch's ``jacket`` is the drying-air temperature and
  ``conditions["m_dry"]`` its dry mass [kg] (default: the model's).
- :class:`Crystalliser`: ``k_b``, ``b``, ``k_g``, ``g``; observed: dissolved solute ``C``
  [kg/kg solvent], Sauter mean size ``L32`` and number mean size ``L10`` [m], crystal
  number ``N`` [1/kg solvent] and moments ``mu1``, ``mu2``, ``mu3`` [m^k/kg solvent];
  a batch cools linearly from ``t0`` to ``jacket`` over ``conditions["t_cool"]`` [s] with
  seeds ``conditions["seed_mass"]`` [kg/kg solvent] of size ``conditions["seed_size"]`` [m].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.fit.calibrate import Batch, CalibrationError, initial_value, march
from twin.kernels import crystallisation as kc
from twin.kernels import drying as kd
from twin.kernels import integrate
from twin.kernels import network as kn
from twin.kernels.rhs import crystallisation as cm
from twin.kernels.rhs import drying as dm
from twin.kernels.rhs import network as nm
from twin.process.network import Kinetics


@dataclass
class Network:
    """A reaction network (:class:`~twin.process.network.Kinetics`, e.g. from
    :func:`twin.process.network.kinetics_of`) in a jacketed batch: jacket ``ua`` [W/K],
    volumetric heat capacity ``rho_cp`` [J/(m3 K)], ``isothermal`` or not."""

    kinetics: Kinetics
    ua: float = 1.0
    rho_cp: float = 4.0e6
    isothermal: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Fittable parameters."""
        return (*self.kinetics.names(), "ua")

    @property
    def positive(self) -> frozenset[str]:
        """Parameters fitted on the log scale (all but heats of reaction)."""
        return frozenset(n for n in self.names if not n.endswith(".dh"))

    @property
    def variables(self) -> tuple[str, ...]:
        """Observable variables: the species and ``T``."""
        return (*self.kinetics.species, "T")

    @property
    def units(self) -> dict[str, str]:
        """Units of the observable variables."""
        return dict.fromkeys(self.kinetics.species, "mol/m3") | {"T": "K"}

    @property
    def t_ref(self) -> float:
        """Reference temperature of the rate constants [K]."""
        return self.kinetics.t_ref

    def values(self) -> dict[str, float]:
        """Current values of the fittable parameters."""
        return {n: self.kinetics.value(n) for n in self.kinetics.names()} | {"ua": self.ua}

    def predict(self, values: dict[str, float], batch: Batch, rtol: float = 1e-10
                ) -> np.ndarray:
        """Concentrations [mol/m3] and temperatures [K] at the batch's observations."""
        own = {k: v for k, v in values.items() if "@" not in k}
        kin = self.kinetics.replace({k: v for k, v in own.items() if k != "ua"})
        species = kin.species
        moles = np.array([initial_value(values, batch, s, 0.0) * batch.volume for s in species])
        if not moles.any():
            raise CalibrationError(f"batch {batch.name} starts with none of {species}")
        key = species[int(np.argmax(moles))]
        p = kin.parameters(rho_cp=self.rho_cp, ua=own.get("ua", self.ua),
                           t_jacket=batch.jacket, key=key, moles=moles,
                           isothermal=self.isothermal, mtsr=False)
        y = kn.network_state(moles=moles, temperature=initial_value(values, batch, "T", batch.t0),
                             volume=batch.volume)
        ns = len(species)

        def step(y: np.ndarray, t_now: float, dt: float) -> tuple[int, np.ndarray]:
            status, _, _, y_end, _, _, _ = kn.network_phase(p, y, dt, rtol, integrate.AUTO,
                                                            1_000_000, 2)
            return status, y_end

        def observe(s: np.ndarray, var: str) -> float:
            return s[ns + nm.TEMP] if var == "T" else s[species.index(var)] / s[ns + nm.VOL]

        return march(step, observe, y, batch, "reaction network", values)


@dataclass
class Dryer:
    """The convective drying kernel: a layer of dry mass ``m_dry`` [kg] (heat capacity
    ``cp_dry`` [J/(kg K)]) on ``area`` [m2] losing a solvent (``molar_mass`` [kg/mol],
    ``dh_vap`` [J/mol], ``t_boil`` [K], liquid ``cp_solvent`` [J/(kg K)]) into air with
    ``rho_vapour_air`` [kg/m3] of it. Fittable: ``h_conv`` [W/(m2 K)], ``k_mass`` [m/s],
    ``critical_content`` and ``equilibrium_content`` [kg/kg dry]. A batch's
    ``conditions["m_dry"]`` [kg] overrides ``m_dry``."""

    area: float
    m_dry: float
    cp_dry: float
    cp_solvent: float
    molar_mass: float
    dh_vap: float
    t_boil: float
    h_conv: float
    k_mass: float
    critical_content: float
    equilibrium_content: float = 0.0
    rho_vapour_air: float = 0.0

    names = ("h_conv", "k_mass", "critical_content", "equilibrium_content")
    positive = frozenset(names)
    variables = ("X", "T")
    units = {"X": "kg/kg dry", "T": "K"}

    def values(self) -> dict[str, float]:
        """Current values of the fittable parameters."""
        return {k: getattr(self, k) for k in self.names}

    def predict(self, values: dict[str, float], batch: Batch, rtol: float = 1e-10
                ) -> np.ndarray:
        """Solvent contents [kg/kg dry] and layer temperatures [K] at the observations."""
        v = self.values() | {k: x for k, x in values.items() if "@" not in k}
        m_dry = batch.conditions.get("m_dry", self.m_dry)
        p = kd.drying_parameters(
            area=self.area, m_dry=m_dry, cp_dry=self.cp_dry, cp_solvent=self.cp_solvent,
            h_conv=v["h_conv"], k_mass=v["k_mass"], t_air=batch.jacket,
            molar_mass=self.molar_mass, dh_vap=self.dh_vap, t_boil=self.t_boil,
            x_crit=v["critical_content"], x_eq=v["equilibrium_content"],
            rho_vapour_air=self.rho_vapour_air)
        y = kd.drying_state(solvent_mass=initial_value(values, batch, "X", 0.0) * m_dry,
                            temperature=initial_value(values, batch, "T", batch.t0))

        def step(y: np.ndarray, t_now: float, dt: float) -> tuple[int, np.ndarray]:
            y = y.copy()
            y[dm.M_SOLVENT] = max(y[dm.M_SOLVENT], 0.0)  # round-off below zero when dry
            status, _, _, y_end, _, _, _ = kd.drying_phase(p, y, dt, rtol, integrate.AUTO,
                                                           1_000_000, 2)
            return status, y_end

        def observe(s: np.ndarray, var: str) -> float:
            return s[dm.TEMP] if var == "T" else s[dm.M_SOLVENT] / m_dry

        return march(step, observe, y, batch, "drying", values)


@dataclass
class Crystalliser:
    """The cooling crystallisation kernel (moments of the population balance):
    ``solubility`` (A0, A1, A2) of c* = A0 + A1 theta + A2 theta^2 [kg/kg solvent], theta in
    degC; crystal density ``rho_c`` [kg/m3] and volume shape factor ``k_v``. Fittable:
    nucleation ``k_b`` [1/(kg s)] and order ``b``, growth ``k_g`` [m/s] and order ``g``."""

    solubility: tuple[float, float, float]
    k_b: float
    b: float
    k_g: float
    g: float
    rho_c: float = 1300.0
    k_v: float = math.pi / 6

    names = ("k_b", "b", "k_g", "g")
    positive = frozenset(names)
    variables = ("C", "L32", "L10", "N", "mu1", "mu2", "mu3")
    units = {"C": "kg/kg solvent", "L32": "m", "L10": "m", "N": "1/kg", "mu1": "m/kg",
             "mu2": "m2/kg", "mu3": "m3/kg"}

    def values(self) -> dict[str, float]:
        """Current values of the fittable parameters."""
        return {k: getattr(self, k) for k in self.names}

    def predict(self, values: dict[str, float], batch: Batch, rtol: float = 1e-10
                ) -> np.ndarray:
        """Solute [kg/kg solvent], mean sizes [m], crystal number [1/kg solvent] and
        moments [m^k/kg solvent] at the observations."""
        v = self.values() | {k: x for k, x in values.items() if "@" not in k}
        cond = batch.conditions
        if "t_cool" not in cond:
            raise CalibrationError(f"batch {batch.name} needs conditions['t_cool'] (the "
                                   "cooling time [s])")
        t0, t1, t_cool = initial_value(values, batch, "T", batch.t0), batch.jacket, cond["t_cool"]
        seed_mass, size = cond.get("seed_mass", 0.0), cond.get("seed_size", 100e-6)
        n_seed = seed_mass / (self.rho_c * self.k_v * size ** 3)
        y = kc.crystallisation_state(concentration=initial_value(values, batch, "C", 0.0),
                                     seed_moments=tuple(n_seed * size ** k for k in range(4)))

        def step(y: np.ndarray, t_now: float, dt: float) -> tuple[int, np.ndarray]:
            # the linear ramp restarted at this segment's start (left of it: T_START)
            left = max(t_cool - t_now, 0.0)
            start = t1 + (t0 - t1) * left / t_cool
            p = kc.crystallisation_parameters(
                t_start=start, t_end=t1, t_cool=left if left > 0 else dt, solubility=
                self.solubility, k_b=v["k_b"], b=v["b"], k_g=v["k_g"], g=v["g"],
                rho_c=self.rho_c, m_solvent=1.0, heat_capacity=1.0, k_v=self.k_v)
            status, _, _, y_end, _, _, _ = kc.crystallisation_phase(p, y, dt, rtol,
                                                                    integrate.AUTO,
                                                                    1_000_000, 2)
            return status, y_end

        moment = {"N": cm.MU0, "mu1": cm.MU1, "mu2": cm.MU2, "mu3": cm.MU3}
        ratio = {"L32": (cm.MU3, cm.MU2), "L10": (cm.MU1, cm.MU0)}

        def observe(s: np.ndarray, var: str) -> float:
            if var == "C":
                return s[cm.CONC]
            if var in moment:
                return s[moment[var]]
            top, bottom = ratio[var]
            return s[top] / s[bottom] if s[bottom] > 0 else 0.0

        return march(step, observe, y, batch, "crystallisation", values)
