"""Annotated field types for unit-bearing spec values (parsed to SI floats at load time)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

from twin.data.units import DIMENSIONS, to_si


def _quantity(dimension: str, example: str, *, bare_unit: str | None = None) -> Any:
    def parse(value: Any) -> float:
        return to_si(value, dimension, bare_unit=bare_unit)

    unit = DIMENSIONS[dimension]

    def dump(value: float) -> str:
        # Written back with its SI unit, so a dumped spec validates to the same values.
        return f"{value!r} {unit}"

    schema = {
        "anyOf": [{"type": "string"}, {"type": "number"}],
        "description": f"a {dimension} with its unit, e.g. {example!r}",
    }
    return Annotated[float, BeforeValidator(parse), PlainSerializer(dump, return_type=str),
                     WithJsonSchema(schema)]


Duration = _quantity("time", "90 s")
"""A duration; stored in seconds [s]."""
Power = _quantity("power", "15 kW")
"""A power; stored in watts [W]."""
EmissionFactor = _quantity("mass_per_energy", "0.5306 kg/kWh")
"""Mass emitted per energy; stored in [kg/J]."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
"""A probability in [0, 1]."""
PositiveInt = Annotated[int, Field(gt=0)]
"""A whole number greater than zero."""
