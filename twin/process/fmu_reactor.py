"""The jacketed reactor kernel as an FMI 2.0 co-simulation slave (pythonfmu).

This module runs inside an FMU that :func:`twin.process.fmu_export.export_reactor` builds;
Pilot Twin itself never imports it (it needs ``pythonfmu``, the ``fmi`` extra). Each
``doStep`` integrates :func:`twin.kernels.reactor.reactor_phase` over the step from the
current state, so the FMU follows the same model, tolerances and end conditions as the
native phase; when the target conversion or the temperature limit is reached within a
step the state is held there and ``done`` becomes true.

Variables (SI): parameters ``k0`` [1/s], ``ea`` [J/mol], ``dh`` [J/mol], ``scheme``
(0 single, 1 series, 2 parallel), ``k0_2``, ``ea_2``, ``dh_2``, ``ua`` [W/K],
``t_jacket`` [K], ``x_target`` [-] (> 1: none), ``t_max`` [K] (0: none), ``feed_rate``
[m3/s], ``c_feed`` [mol/m3], ``t_feed`` [K], ``t_dose`` [s], ``ratio`` [mol co-reactant
per mol A], ``rtol`` [-]; the batch at the start ``n_A0``, ``n_B0``, ``n_C0``, ``n_co0``
[mol], ``T0`` [K], ``V0`` [m3], ``heat_capacity`` [J/K]; outputs ``T`` [K], ``n_A``,
``n_B``, ``n_C``, ``n_co`` [mol], ``V`` [m3], ``Q_rxn``, ``Q_jacket`` [J, cumulative],
``conversion`` [-], ``done`` and ``ended_by`` (0 running, 1 target conversion, 2
temperature limit).
"""

from __future__ import annotations

import ctypes
import math
from typing import Any, ClassVar
from xml.etree.ElementTree import Element, SubElement

import numpy as np
from pythonfmu import Boolean, Fmi2Causality, Fmi2Slave, Fmi2Variability, Integer, Real

from twin.kernels import integrate
from twin.kernels import reactor as kr
from twin.kernels.errors import EVENT, OK, describe
from twin.kernels.rhs import reactor as m

PARAMETERS = {
    "k0": "pre-exponential factor of A -> B [1/s]",
    "ea": "activation energy of A -> B [J/mol]",
    "dh": "reaction enthalpy of A -> B [J/mol]",
    "k0_2": "pre-exponential factor of the second reaction [1/s]",
    "ea_2": "activation energy of the second reaction [J/mol]",
    "dh_2": "reaction enthalpy of the second reaction [J/mol]",
    "ua": "jacket U A [W/K]",
    "t_jacket": "jacket temperature [K]",
    "x_target": "conversion of all A that ends the phase [-] (> 1: none)",
    "t_max": "temperature that ends the phase [K] (0: none)",
    "feed_rate": "dosing rate [m3/s]",
    "c_feed": "concentration of A in the feed [mol/m3]",
    "t_feed": "feed temperature [K]",
    "t_dose": "dosing time [s]",
    "ratio": "mol co-reactant per mol A converted",
    "rtol": "relative tolerance of the integrator [-]",
    "n_A0": "A in the batch at the start [mol]",
    "n_B0": "B in the batch at the start [mol]",
    "n_C0": "C in the batch at the start [mol]",
    "n_co0": "co-reactant in the batch at the start [mol]",
    "T0": "batch temperature at the start [K]",
    "V0": "batch volume at the start [m3]",
    "heat_capacity": "heat capacity of the batch [J/K]",
}
OUTPUTS = {
    "T": "batch temperature [K]",
    "n_A": "A [mol]", "n_B": "B [mol]", "n_C": "C [mol]", "n_co": "co-reactant [mol]",
    "V": "batch volume [m3]",
    "Q_rxn": "heat released by reaction since the start [J]",
    "Q_jacket": "heat removed through the jacket since the start [J]",
    "conversion": "conversion of all A, charged and to be dosed [-]",
}
DEFAULTS: dict[str, float] = {
    "k0": 1.0, "ea": 0.0, "dh": 0.0, "k0_2": 0.0, "ea_2": 0.0, "dh_2": 0.0, "ua": 1.0,
    "t_jacket": 298.15, "x_target": 2.0, "t_max": 0.0, "feed_rate": 0.0, "c_feed": 0.0,
    "t_feed": 298.15, "t_dose": 0.0, "ratio": 1.0, "rtol": 1e-6, "n_A0": 1.0, "n_B0": 0.0,
    "n_C0": 0.0, "n_co0": 0.0, "T0": 298.15, "V0": 1.0, "heat_capacity": 1.0,
}


def hold_namespace(namespace: dict[str, Any]) -> None:
    """Give the FMU's script module's namespace one more reference; the script calls this
    each time it runs. pythonfmu's runtime (0.7.0) runs the script again and then releases
    a reference to the module's namespace that it does not own each time it instantiates
    the FMU: without this, the second instance in one process (a line running many
    batches) found the namespace freed and failed or crashed."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(namespace))


class JacketedReactor(Fmi2Slave):
    """Co-simulation slave of the jacketed (semi-)batch reactor kernel. Subclasses set
    ``defaults`` (parameter name -> start value) and ``default_scheme``."""

    author = "Pilot Twin"
    description = "Jacketed (semi-)batch reactor kernel of Pilot Twin (SI units)"
    defaults: ClassVar[dict[str, float]] = {}
    default_scheme: ClassVar[int] = kr.SINGLE

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, value in {**DEFAULTS, **self.defaults}.items():
            setattr(self, name, float(value))
            self.register_variable(Real(name, causality=Fmi2Causality.parameter,
                                        variability=Fmi2Variability.fixed,
                                        description=PARAMETERS[name]))
        self.scheme = int(self.default_scheme)
        self.register_variable(Integer("scheme", causality=Fmi2Causality.parameter,
                                       variability=Fmi2Variability.fixed,
                                       description="0 single, 1 series, 2 parallel"))
        for name, text in OUTPUTS.items():
            setattr(self, name, 0.0)
            self.register_variable(Real(name, causality=Fmi2Causality.output,
                                        description=text))
        self.done = False
        self.ended_by = 0
        self.register_variable(Boolean("done", causality=Fmi2Causality.output,
                                       variability=Fmi2Variability.discrete,
                                       description="an end condition has been reached"))
        self.register_variable(Integer("ended_by", causality=Fmi2Causality.output,
                                       variability=Fmi2Variability.discrete,
                                       description="0 running, 1 target conversion, "
                                       "2 temperature limit"))
        self._p = np.empty(0)
        self._y = np.empty(0)

    def to_xml(self, model_options: dict[str, str] | None = None) -> Element:
        """The model description, with the outputs as initial unknowns (FMI 2.0: outputs
        computed at initialisation are listed under ``InitialUnknowns``)."""
        root = super().to_xml(model_options or {})
        structure = root.find("ModelStructure")
        assert structure is not None
        unknowns = SubElement(structure, "InitialUnknowns")
        for i, var in enumerate(self.vars.values()):
            if var.causality == Fmi2Causality.output:
                SubElement(unknowns, "Unknown", attrib={"index": str(i + 1)})
        return root

    def exit_initialization_mode(self) -> None:
        n_total = self.n_A0 + self.feed_rate * self.c_feed * self.t_dose
        self._p = kr.reactor_parameters(
            k0=self.k0, ea=self.ea, dh=self.dh, rho_cp=self.heat_capacity / self.V0,
            ua=self.ua, t_jacket=self.t_jacket, n_a_total=n_total, scheme=self.scheme,
            k0_2=self.k0_2, ea_2=self.ea_2, dh_2=self.dh_2, feed_rate=self.feed_rate,
            c_feed=self.c_feed, t_feed=self.t_feed, t_dose=self.t_dose,
            x_target=self.x_target, t_max=self.t_max if self.t_max > 0 else math.inf)
        self._y = kr.reactor_state(n_a=self.n_A0, n_b=self.n_B0, n_c=self.n_C0,
                                   temperature=self.T0, volume=self.V0)
        self._show(0.0)

    def _show(self, t: float) -> None:
        y, p = self._y, self._p
        self.T, self.V = float(y[m.TEMP]), float(y[m.VOL])
        self.n_A, self.n_B, self.n_C = float(y[m.N_A]), float(y[m.N_B]), float(y[m.N_C])
        self.Q_rxn, self.Q_jacket = float(y[m.Q_RXN]), float(y[m.Q_JACKET])
        fed = p[m.FEED_RATE] * p[m.C_FEED] * min(t, p[m.T_DOSE])
        self.n_co = self.n_co0 - self.ratio * (self.n_A0 + fed - self.n_A)
        self.conversion = 1.0 - (self.n_A + p[m.FEED_RATE] * p[m.C_FEED]
                                 * max(p[m.T_DOSE] - t, 0.0)) / p[m.N_A_TOTAL]

    def do_step(self, current_time: float, step_size: float) -> bool:
        if self.done:
            return True
        p = self._p.copy()
        p[m.T_DOSE] = max(self._p[m.T_DOSE] - current_time, 0.0)  # the step's own clock
        status, event, duration, y, _, _, _ = kr.reactor_phase(
            p, self._y, step_size, self.rtol, integrate.AUTO, 200_000, 2)
        if status not in (OK, EVENT):
            self.log(f"the reactor kernel failed at t = {current_time + duration:g} s: "
                     f"{describe(status)}")
            return False
        self._y = np.asarray(y)
        if status == EVENT:
            self.done, self.ended_by = True, int(event) + 1
            self._show(current_time + duration)
        else:
            self._show(current_time + step_size)
        return True
