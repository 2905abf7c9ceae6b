"""Export a process unit's reactor kernel as an FMI 2.0 co-simulation FMU (pythonfmu).

:func:`export_reactor` writes an FMU whose model is the jacketed reactor kernel with the
parameters of one ``react`` phase of a line (:mod:`twin.process.fmu_reactor`), and returns
the ``fmu`` phase (a spec dict) that runs it in place of that phase. The FMU needs, where
it runs, a Python 3 with Pilot Twin installed (pythonfmu's runtime embeds the interpreter
and imports the kernel from it).

pythonfmu is an optional dependency (``pip install 'pilot-twin[fmi]'``), imported here only
when an FMU is built.
"""

from __future__ import annotations

import re
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from twin.data import process as P
from twin.data import spec as S
from twin.kernels import reactor as kr
from twin.process.phases import DEFAULT_MAX_REACTION_TIME, draw_dist

SCHEMES = {None: kr.SINGLE, "series": kr.SERIES, "parallel": kr.PARALLEL}


class FmuExportError(ValueError):
    """A unit's phase cannot be exported as an FMU (the message says why)."""


def react_phase(line: S.LineSpec, unit: str, phase: str | None = None) -> P.React:
    """The ``react`` phase ``phase`` (its name; None: the only one) of ``unit``'s recipe."""
    station = line.stations.get(unit)
    if not isinstance(station, S.Process):
        raise FmuExportError(f"line {line.line.name!r} has no process unit {unit!r}")
    found = [ph for ph in station.recipe if isinstance(ph, P.React)
             and (phase is None or ph.name == phase)]
    if len(found) != 1:
        what = f"no react phase named {phase!r}" if phase else (
            "no react phase" if not found else "several react phases: name one")
        raise FmuExportError(f"the recipe of {unit!r} has {what}")
    if found[0].dose_fraction > 0:
        raise FmuExportError(f"phase {found[0].name or 'react'!r} of {unit!r} doses A: the "
                             "feed depends on the batch charged, which the exported FMU "
                             "takes as parameters (feed_rate, c_feed, t_dose); export a "
                             "batch reaction")
    return found[0]


def _identifier(line: str, unit: str) -> str:
    """A C identifier for the FMU's model (its shared library is named after it)."""
    words = re.split(r"[^0-9A-Za-z]+", f"{line} {unit} reactor")
    name = "".join(w[:1].upper() + w[1:] for w in words if w)
    return name if name[:1].isalpha() else f"Fmu{name}"


def export_reactor(line: S.LineSpec, unit: str, path: str | Path, *, phase: str | None = None,
                   step: float = 60.0, rtol: float = 1e-6) -> dict[str, Any]:
    """Write the reactor kernel of ``unit``'s react ``phase`` as an FMU at ``path``.

    ``step`` [s] is the communication step of the returned phase and ``rtol`` the
    integrator's relative tolerance. Returns the ``fmu`` recipe phase (spec dict, SI
    strings) that runs the FMU in place of the react phase: same name and utility, the
    batch's moles, temperature, volume and heat capacity as inputs, its species,
    temperature and jacket heat as outputs, ended by ``done``.
    """
    try:
        from pythonfmu import FmuBuilder
    except ImportError:
        raise FmuExportError("exporting an FMU needs pythonfmu: "
                             "pip install 'pilot-twin[fmi]'") from None
    ph = react_phase(line, unit, phase)
    defaults = {
        "k0": ph.k0, "ea": ph.ea, "dh": ph.dh, "k0_2": ph.k0_2, "ea_2": ph.ea_2,
        "dh_2": ph.dh_2, "ua": ph.ua, "t_jacket": ph.jacket, "x_target": ph.target_conversion,
        "t_max": ph.t_max or 0.0, "ratio": ph.ratio, "rtol": rtol}
    identifier = _identifier(line.line.name, unit)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="twin_fmu_") as tmp:
        module = f"twin_fmu_{uuid.uuid4().hex[:12]}"  # fresh: pythonfmu imports it by name
        script = Path(tmp) / f"{module}.py"
        script.write_text(
            f'"""Reactor kernel of unit {unit!r}, phase {ph.name or "react"!r}, line '
            f'{line.line.name!r} (Pilot Twin)."""\n\n'
            "from twin.process.fmu_reactor import JacketedReactor, hold_namespace\n\n"
            "hold_namespace(globals())\n\n\n"
            f"class {identifier}(JacketedReactor):\n"
            f"    defaults = {defaults!r}\n"
            f"    default_scheme = {SCHEMES[ph.second]!r}\n", encoding="utf-8")
        try:
            FmuBuilder.build_FMU(script, dest=path)
        finally:
            if tmp in sys.path:
                sys.path.remove(tmp)
            sys.modules.pop(module, None)
    inputs = {"n_A0": f"moles.{ph.reactant}", "n_B0": f"moles.{ph.product}",
              "T0": "temperature", "V0": "volume", "heat_capacity": "heat_capacity"}
    outputs = {"temperature": "T", "heat": "Q_jacket", f"moles.{ph.reactant}": "n_A",
               f"moles.{ph.product}": "n_B"}
    if ph.by_product:
        inputs["n_C0"] = f"moles.{ph.by_product}"
        outputs[f"moles.{ph.by_product}"] = "n_C"
    if ph.co_reactant:
        inputs["n_co0"] = f"moles.{ph.co_reactant}"
        outputs[f"moles.{ph.co_reactant}"] = "n_co"
    limit = draw_dist(ph.max_time) if ph.max_time is not None else DEFAULT_MAX_REACTION_TIME
    out: dict[str, Any] = {"phase": "fmu", "name": ph.name or "react", "fmu": str(path),
                           "step": f"{step!r} s", "max_time": f"{limit!r} s", "end": "done",
                           "inputs": inputs, "outputs": outputs}
    if ph.utility:
        out["utility"] = ph.utility
    if ph.uses:
        out["uses"] = {k: f"{v!r} m**3" for k, v in ph.uses.items()}
    return out
