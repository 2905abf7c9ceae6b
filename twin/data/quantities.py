"""Annotated field types for unit-bearing spec values (parsed to SI floats at load time)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

from twin.data.units import DIMENSIONS, to_si


def _quantity(dimension: str, example: str, *, bare_unit: str | None = None,
              check: Any = None) -> Any:
    def parse(value: Any) -> float:
        return to_si(value, dimension, bare_unit=bare_unit, example=example)

    unit = DIMENSIONS[dimension]

    def dump(value: float) -> str:
        # Written back with its SI unit, so a dumped spec validates to the same values.
        return f"{value!r} {unit}"

    schema = {
        "anyOf": [{"type": "string"}, {"type": "number"}],
        "description": f"a {dimension} with its unit, e.g. {example!r}",
    }
    checks = [AfterValidator(check)] if check is not None else []
    return Annotated[float, BeforeValidator(parse), *checks,
                     PlainSerializer(dump, return_type=str), WithJsonSchema(schema)]


def _absolute(kelvin: float) -> float:
    """An absolute temperature is above 0 K (the kernels divide by it)."""
    if not kelvin > 0.0:
        raise ValueError(f"an absolute temperature must be above 0 K, got {kelvin:g} K")
    return kelvin


Duration = _quantity("time", "90 s")
"""A duration; stored in seconds [s]."""
Power = _quantity("power", "15 kW")
"""A power; stored in watts [W]."""
EmissionFactor = _quantity("mass_per_energy", "0.5306 kg/kWh")
"""Mass emitted per energy; stored in [kg/J]."""

Mass = _quantity("mass", "500 kg")
"""A mass [kg]."""
Volume = _quantity("volume", "2 m3")
"""A volume [m3]."""
Temperature = _quantity("temperature", "85 degC", check=_absolute)
"""An absolute temperature [K] (write degC or K), above 0 K."""
Area = _quantity("area", "12 m2")
"""An area [m2]."""
Speed = _quantity("speed", "0.02 m/s")
"""A speed [m/s]."""
Density = _quantity("density", "1100 kg/m3")
"""A density [kg/m3]."""
MassFlow = _quantity("mass_flow", "2 kg/s")
"""A mass flow [kg/s]."""
MolarMass = _quantity("molar_mass", "0.150 kg/mol")
"""A molar mass [kg/mol]."""
MolarEnergy = _quantity("molar_energy", "-120 kJ/mol")
"""An energy per mole [J/mol] (reaction enthalpy, activation energy, heat of vaporisation)."""
SpecificEnergy = _quantity("specific_energy", "150 kJ/kg")
"""An energy per mass [J/kg]."""
SpecificHeat = _quantity("specific_heat", "1.9 kJ/(kg*K)")
"""A specific heat capacity [J/(kg K)]."""
Conductance = _quantity("conductance", "4 kW/K")
"""A heat-transfer conductance U A [W/K]."""
HeatTransferCoefficient = _quantity("heat_transfer_coefficient", "300 W/(m2*K)")
"""A heat-transfer coefficient [W/(m2 K)]."""
EnergyDensity = _quantity("energy_density", "35.9 MJ/m3")
"""An energy per volume [J/m3] (heating value of a gas)."""
VolumeFlow = _quantity("volume_flow", "20 L/h")
"""A volume flow [m3/s]."""
PowerDensity = _quantity("power_density", "1.5 kW/m3")
"""A power per volume [W/m3] (agitation)."""
Length = _quantity("length", "0.5 m")
"""A length [m]."""
ArealMass = _quantity("areal_mass", "0.2 kg/m2")
"""A mass per area [kg/m2] (coating loading)."""
Rate = _quantity("rate", "1.2e10 1/s")
"""A rate constant [1/s]."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
"""A probability in [0, 1]."""
PositiveInt = Annotated[int, Field(gt=0)]
"""A whole number greater than zero."""
