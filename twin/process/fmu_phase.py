"""A recipe phase modelled by a co-simulation FMU (FMI 2.0 CS), stepped through fmpy.

The FMU is instantiated when the phase starts, given its parameters and the batch's
quantities its inputs map, and stepped every ``step`` seconds of phase time until its
``end`` output is true or the phase's time limit is reached. The outputs then set the
batch's temperature and composition (as ``transformation`` flows, which must conserve
mass) and the heat drawn from the phase's utility. The outputs at each step are the
phase's profile (``profiles`` table; ``temperature_K`` when the temperature is mapped).

fmpy is an optional dependency (``pip install 'pilot-twin[fmi]'``), imported when a phase
first runs.
"""

from __future__ import annotations

import atexit
import math
import shutil
from functools import lru_cache
from typing import Any

import numpy as np

from twin.data import process as P
from twin.data.fmu import describe
from twin.process.materials import Materials

MASS_TOLERANCE = 1e-6
"""Largest relative change of a batch's total mass the FMU's outputs may imply [-]."""


class FmuPhaseError(RuntimeError):
    """An FMU phase cannot run (its message says why; the caller adds unit and phase)."""


def fmpy_api() -> Any:
    """The fmpy module, or an error saying how to install it."""
    try:
        import fmpy
        import fmpy.fmi2
    except ImportError:
        raise FmuPhaseError("a phase modelled by an FMU needs fmpy: "
                            "pip install 'pilot-twin[fmi]'") from None
    return fmpy


@lru_cache(maxsize=16)
def _library(path: str, sha256: str) -> Any:
    """The FMU at ``path`` (with this content) unpacked and its library loaded, once per
    process: an fmpy ``FMU2Slave`` that each phase instantiates anew. (Unloading and
    reloading an FMU's library in one process is not safe for every FMU: a pythonfmu
    FMU cannot be instantiated again after it.) The unpacked folder is removed when the
    process ends."""
    fmpy = fmpy_api()
    info = describe(path)
    folder = fmpy.extract(path)
    atexit.register(shutil.rmtree, folder, True)
    return fmpy.fmi2.FMU2Slave(guid=info.guid, unzipDirectory=folder,
                               modelIdentifier=info.identifier, instanceName=info.model_name)


def batch_quantity(quantity: str, mass: np.ndarray, temperature: float,
                   mat: Materials) -> float:
    """The value [SI] of a batch quantity an FMU input maps (see ``P.BATCH_INPUTS``)."""
    species = P.species_of(quantity)
    if species is not None:
        kg = float(mass[mat.code(species)])
        return kg if quantity.startswith("mass.") else kg / float(
            mat.molar_mass[mat.code(species)])
    if quantity == "temperature":
        return temperature
    if quantity == "volume":
        return float((mass / mat.density).sum())
    if quantity == "heat_capacity":
        return float(mass @ mat.cp)
    return float(mass.sum())  # "mass"


class _Instance:
    """One FMU instance for one phase of one batch."""

    def __init__(self, ph: P.Fmu, instance: str) -> None:
        self.vars = describe(ph.fmu).variables
        self.slave = _library(ph.fmu, ph.sha256)
        self.slave.instanceName = instance
        self.slave.instantiate()

    def set(self, name: str, value: float | bool | str) -> None:
        var = self.vars[name]
        if var.type == "Boolean":
            self.slave.setBoolean([var.vr], [bool(value)])
        elif var.type == "String":
            self.slave.setString([var.vr], [str(value)])
        elif var.type in ("Integer", "Enumeration"):
            self.slave.setInteger([var.vr], [int(value)])
        else:
            self.slave.setReal([var.vr], [float(value)])

    def get(self, name: str) -> float:
        var = self.vars[name]
        if var.type == "Boolean":
            return float(self.slave.getBoolean([var.vr])[0])
        if var.type in ("Integer", "Enumeration"):
            return float(self.slave.getInteger([var.vr])[0])
        return float(self.slave.getReal([var.vr])[0])

    def close(self) -> None:
        try:
            self.slave.terminate()
        finally:
            self.slave.fmi2FreeInstance(self.slave.component)  # the library stays loaded


def run(ph: P.Fmu, name: str, mass: np.ndarray, temperature: float,
        mat: Materials) -> dict[str, Any]:
    """Step the FMU of ``ph`` on a batch of ``mass`` [kg] at ``temperature`` [K].

    Returns the phase's ``duration`` [s], ``ended_by`` (``end`` or ``end_time``), ``steps``,
    the ``outputs`` at the end (batch quantity -> value, SI) and at the start, and the
    ``profile`` (rows: time [s], then each mapped output) with its ``columns``.
    """
    label = ph.name or ph.phase
    limit = float(ph.max_time.mean())
    mapped = list(ph.outputs.items())
    fmu: _Instance | None = None
    try:
        fmu = _Instance(ph, f"{name}.{label}")
        fmu.slave.setupExperiment(startTime=0.0)
        for var, value in ph.parameters.items():
            fmu.set(var, value)
        for var, quantity in ph.inputs.items():
            fmu.set(var, batch_quantity(quantity, mass, temperature, mat))
        fmu.slave.enterInitializationMode()
        fmu.slave.exitInitializationMode()
        rows = [[0.0, *(fmu.get(v) for _, v in mapped)]]
        t, ended = 0.0, False
        while t < limit * (1 - 1e-12) and not ended:
            h = min(ph.step, limit - t)
            fmu.slave.doStep(currentCommunicationPoint=t, communicationStepSize=h)
            t += h
            rows.append([t, *(fmu.get(v) for _, v in mapped)])
            ended = ph.end is not None and fmu.get(ph.end) != 0.0
    except Exception as exc:  # fmpy raises its own exception types (FMICallException, ...)
        if isinstance(exc, FmuPhaseError):
            raise
        raise FmuPhaseError(f"the FMU {ph.fmu!r} failed: {exc}") from exc
    finally:
        if fmu is not None:
            fmu.close()
    profile = np.asarray(rows, dtype=float)
    columns = ("time_s", *(f"fmu.{v}" for _, v in mapped))
    if "temperature" in ph.outputs:
        profile = np.column_stack([profile, profile[:, 1 + [q for q, _ in mapped].index(
            "temperature")]])
        columns = (*columns, "temperature_K")
    return {"duration": t, "ended_by": "end" if ended else "end_time", "steps": len(rows) - 1,
            "start": dict(zip(ph.outputs, rows[0][1:], strict=True)),
            "end": dict(zip(ph.outputs, rows[-1][1:], strict=True)),
            "profile": profile, "columns": columns}


def flows(ph: P.Fmu, result: dict[str, Any], mass: np.ndarray,
          mat: Materials) -> list[tuple[int, str, float]]:
    """The ``transformation`` flows [kg] the FMU's species outputs imply; raise
    :class:`FmuPhaseError` if they would make a species negative or change the batch's
    total mass."""
    out = []
    for quantity, value in result["end"].items():
        species = P.species_of(quantity)
        if species is None:
            continue
        code = mat.code(species)
        kg = value if quantity.startswith("mass.") else value * float(mat.molar_mass[code])
        if not math.isfinite(kg) or kg < -MASS_TOLERANCE * max(float(mass.sum()), 1.0):
            raise FmuPhaseError(f"the FMU's output {ph.outputs[quantity]!r} gives "
                                f"{kg:.6g} kg of {species}")
        if kg != mass[code]:
            out.append((code, "transformation", float(kg - mass[code])))
    change = sum(kg for _, _, kg in out)
    if abs(change) > MASS_TOLERANCE * max(float(mass.sum()), 1.0):
        raise FmuPhaseError(
            f"the FMU's outputs change the batch's mass by {change:.6g} kg (of "
            f"{float(mass.sum()):.6g} kg): a phase model must conserve mass, so map every "
            "species it changes")
    return out
