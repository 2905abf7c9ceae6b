"""The ``[costs]`` section of a line: prices with their currency, year and source.

Every price is a plain number in the line's ``currency`` per the unit in its key's name
(``per_kwh``, ``per_m3``, ``per_kg``, ``per_h``, ``per_t``); the section states the price
``year`` and ``source`` so a report can show where each number came from::

    [costs]
    currency = "CNY"
    year = 2025
    source = "Zhejiang industrial time-of-use tariff (example), supplier quotes"
    natural_gas_per_m3 = 3.6
    labour_per_h = 65.0                 # per operator-hour paid (shift hours of each pool)
    carbon_per_t = 60.0                 # per t CO2e (scope 1 + 2)

    [costs.electricity]                 # time-of-use: periods of the day, else ``flat``
    flat = 0.68
    periods = [
      { name = "peak",   per_kwh = 1.08, hours = ["08:00-11:00", "13:00-17:00"] },
      { name = "valley", per_kwh = 0.32, hours = ["22:00-08:00"] },
    ]

    [costs.materials]                   # per kg charged, by species; per unit, by product
    species = { toluene = 8.5 }
    products = { housing = 120.0 }

    [costs.capital.reactor]             # C = base_cost * (size / base_size) ** exponent
    base_cost = 1.2e6
    base_size = "2.5 m3"                # omitted: base_cost is per server
    size = "5 m3"                       # omitted: the unit's own volume (process units)
    exponent = 0.6
    installation_factor = 2.5
    life_years = 10

Hours not in any period are priced ``flat``. Time zero of a run is Monday 00:00, as for the
calendar. Capital is depreciated straight-line over ``life_years`` and maintenance is a yearly
share of installed capital, both prorated to the observation window.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from twin.data.model import Model
from twin.data.quantities import PositiveInt, Volume

_SPAN = re.compile(r"^\s*([01]?\d|2[0-4]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$")


def parse_span(text: str) -> tuple[float, float]:
    """``"22:00-08:00"`` -> (79200.0, 28800.0) seconds after midnight (may wrap)."""
    m = _SPAN.match(text)
    if not m:
        raise ValueError(f"expected a clock span like '08:00-11:00', got {text!r}")
    a = int(m.group(1)) * 3600 + int(m.group(2)) * 60
    b = int(m.group(3)) * 3600 + int(m.group(4)) * 60
    if a == b or max(a, b) > 86400:
        raise ValueError(f"empty or impossible clock span {text!r}")
    return float(a), float(b)


class TariffPeriod(Model):
    """Hours of the day at one electricity price."""

    name: str
    per_kwh: float = Field(ge=0.0)
    hours: list[str] = Field(min_length=1)

    @field_validator("hours")
    @classmethod
    def _spans(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_span(text)
        return value


class Electricity(Model):
    """An electricity tariff: a flat price, optionally time-of-use periods (no overlaps)."""

    flat: float = Field(ge=0.0, description="price per kWh outside the periods")
    periods: list[TariffPeriod] = []

    @model_validator(mode="after")
    def _no_overlap(self) -> Electricity:
        minutes = [0] * 1440
        for p in self.periods:
            for text in p.hours:
                a, b = parse_span(text)
                ranges = [(a, b)] if b > a else [(a, 86400.0), (0.0, b)]
                for lo, hi in ranges:
                    for m in range(int(lo // 60), int(hi // 60)):
                        if minutes[m]:
                            raise ValueError(f"period {p.name!r} overlaps another at "
                                             f"{m // 60:02d}:{m % 60:02d}")
                        minutes[m] = 1
        return self

    def segments(self) -> list[tuple[float, float, float, str]]:
        """``(start, end, price per kWh, name)`` covering one day [s after midnight]."""
        spans: list[tuple[float, float, float, str]] = []
        for p in self.periods:
            for text in p.hours:
                a, b = parse_span(text)
                for lo, hi in ([(a, b)] if b > a else [(a, 86400.0), (0.0, b)]):
                    spans.append((lo, hi, p.per_kwh, p.name))
        spans.sort()
        out, t = [], 0.0
        for lo, hi, price, name in spans:
            if lo > t:
                out.append((t, lo, self.flat, "flat"))
            out.append((lo, hi, price, name))
            t = hi
        if t < 86400.0:
            out.append((t, 86400.0, self.flat, "flat"))
        return out


class Materials(Model):
    """Raw material prices: per kg charged (species) and per unit released (products)."""

    species: dict[str, float] = {}
    products: dict[str, float] = {}


class Capital(Model):
    """Installed cost of a station: ``base_cost * (size / base_size) ** exponent *
    installation_factor``; without ``base_size``, ``base_cost`` is per server."""

    base_cost: float = Field(ge=0.0)
    base_size: Volume | None = Field(None, gt=0.0)
    size: Volume | None = Field(None, gt=0.0, description="default: the unit's own volume")
    exponent: float = Field(0.6, gt=0.0, le=1.5)
    installation_factor: float = Field(1.0, ge=1.0)
    life_years: PositiveInt = 10

    @model_validator(mode="after")
    def _consistent(self) -> Capital:
        if self.size is not None and self.base_size is None:
            raise ValueError("'size' needs 'base_size' (the size base_cost is quoted for)")
        return self


class CostModel(Model):
    """Prices of a line (see the module docstring for the units of each key)."""

    currency: str = Field(min_length=1)
    year: int = Field(ge=1900, le=2200)
    source: str = Field(min_length=1, description="where the prices come from")
    electricity: Electricity | None = None
    natural_gas_per_m3: float = Field(0.0, ge=0.0)
    process_water_per_m3: float = Field(0.0, ge=0.0)
    labour_per_h: float = Field(0.0, ge=0.0)
    maintenance_share_per_year: float = Field(0.0, ge=0.0, le=1.0)
    waste_per_kg: float = Field(0.0, ge=0.0)
    wastewater_per_m3: float = Field(0.0, ge=0.0)
    cod_per_kg: float = Field(0.0, ge=0.0)
    carbon_per_t: float = Field(0.0, ge=0.0)
    materials: Materials = Materials()
    capital: dict[str, Capital] = {}
    discount_rate: float = Field(0.08, gt=-1.0, lt=1.0)
    price_per_good_unit: float | None = Field(None, ge=0.0, description="revenue per unit")
    price_per_kg: float | None = Field(None, ge=0.0, description="revenue per kg product")
