"""What a co-simulation FMU offers: read from its ``modelDescription.xml`` (FMI 2.0).

A line spec names an FMU as the model of a process phase (``phase = "fmu"``); the spec is
checked against the FMU's variables when it is loaded, with the standard library only (no
FMI runtime is needed to validate a spec). Stepping the FMU is
:mod:`twin.process.fmu_phase`.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

TYPES = ("Real", "Integer", "Boolean", "String", "Enumeration")


class FmuError(ValueError):
    """An FMU file cannot be used (the message names the file and the problem)."""


@dataclass(frozen=True)
class FmuVariable:
    """One scalar variable of an FMU."""

    name: str
    vr: int  # value reference
    type: str  # Real, Integer, Boolean, String, Enumeration
    causality: str  # parameter, calculatedParameter, input, output, local, independent
    variability: str  # constant, fixed, tunable, discrete, continuous
    description: str = ""


@dataclass(frozen=True)
class FmuInfo:
    """The model description of a co-simulation FMU (FMI 2.0)."""

    path: str
    sha256: str
    guid: str
    model_name: str
    identifier: str  # the CoSimulation modelIdentifier (name of its shared library)
    variables: dict[str, FmuVariable]


def sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(path: str | Path) -> FmuInfo:
    """Read the FMU at ``path``; raise :class:`FmuError` naming the file if it is missing,
    not an FMU, not FMI 2.0 or not a co-simulation FMU."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("modelDescription.xml")
    except FileNotFoundError:
        raise FmuError(f"FMU {str(path)!r} does not exist") from None
    except (zipfile.BadZipFile, IsADirectoryError, PermissionError) as exc:
        raise FmuError(f"{str(path)!r} is not an FMU (a zip archive): {exc}") from None
    except KeyError:
        raise FmuError(f"{str(path)!r} has no modelDescription.xml: not an FMU") from None
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise FmuError(f"{str(path)!r}: modelDescription.xml is not XML ({exc})") from None
    version = root.get("fmiVersion", "")
    if not version.startswith("2."):
        raise FmuError(f"{str(path)!r} is an FMI {version or '?'} FMU; Pilot Twin reads "
                       "FMI 2.0 co-simulation FMUs")
    cosim = root.find("CoSimulation")
    if cosim is None:
        raise FmuError(f"{str(path)!r} is a model-exchange FMU; a phase needs a "
                       "co-simulation FMU (FMI 2.0 CS)")
    variables: dict[str, FmuVariable] = {}
    for node in root.iterfind("ModelVariables/ScalarVariable"):
        kind = next((child.tag for child in node if child.tag in TYPES), "")
        name = node.get("name", "")
        variables[name] = FmuVariable(
            name=name, vr=int(node.get("valueReference", "-1")), type=kind,
            causality=node.get("causality", "local"),
            variability=node.get("variability", "continuous"),
            description=node.get("description", ""))
    return FmuInfo(path=str(path), sha256=sha256(path), guid=root.get("guid", ""),
                   model_name=root.get("modelName", ""),
                   identifier=cosim.get("modelIdentifier", ""), variables=variables)
