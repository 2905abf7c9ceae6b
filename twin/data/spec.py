"""The line specification: one set of pydantic models for TOML files and Python alike.

A line is data: products, stations (with their input buffers, routes, failures and power
draw), operator pools, a shift calendar, energy factors and default run settings. Every
quantity is parsed to SI when the spec is validated (durations in [s], powers in [W]).

The schema is exported as JSON Schema by :func:`json_schema` (``twin schema``), so editors can
check line files as they are written. Cross-references between stations (routes, rework loops,
reachability) are checked by :mod:`twin.data.checks`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from twin.data import registry
from twin.data.alarms import AlarmSpec
from twin.data.calibration import CalibrationRecord
from twin.data.costs import CostModel
from twin.data.distributions import Distribution
from twin.data.energy_schedule import EnergySchedule
from twin.data.ideal_time import ideal_time
from twin.data.model import NAME, Model, Name  # noqa: F401  (re-exported)
from twin.data.process import Abatement, Phase, Species, Utility
from twin.data.quantities import (
    ArealMass,
    Duration,
    EmissionFactor,
    EnergyDensity,
    Length,
    Mass,
    MassFlow,
    PositiveInt,
    Power,
    Probability,
    SpecificEnergy,
    Speed,
    Volume,
)

# --------------------------------------------------------------------------- line parts


class LineInfo(Model):
    """What the line is."""

    name: Name
    description: str = ""
    sector: str = ""


class RunSettings(Model):
    """Default run settings; the command line or the caller may override each."""

    duration: Duration = Field(30 * 86400.0, gt=0.0)
    warmup: Duration = Field(0.0, ge=0.0)
    seed: int = Field(1, ge=0)
    engine: Literal["simpy", "compiled", "auto"] = Field(
        "simpy", description="simulation engine: the SimPy engine, the compiled (Numba) engine "
        "for discrete lines, or 'auto' (compiled when the line uses only what it supports)")
    record: Literal["tables", "kpis"] = Field(
        "tables", description="'tables': keep every record table (states, events, parts, "
        "stops) with the KPIs; 'kpis': keep only the KPIs and the station and energy tables "
        "(the compiled engine folds its records into accumulators as it goes: for large "
        "studies)")
    on_deadlock: Literal["stop", "continue"] = Field(
        "stop", description="'stop': a deadlock ends the run with an error; 'continue': it is "
        "recorded as a warning and the run goes on")
    calibrated: Literal["estimate", "sample"] = Field(
        "estimate", description="values of the parameters in [calibration]: their estimates, "
        "or a draw from their joint distribution (draw number = the run's seed)")

    @model_validator(mode="after")
    def _warmup_shorter(self) -> RunSettings:
        if self.warmup >= self.duration:
            raise ValueError("warmup must be shorter than duration")
        return self


class GridFactor(Model):
    """Grid electricity emission factor, with the year and source it belongs to.

    ``value`` is the average factor. ``hourly`` (optional, 24 factors, hour 00-01 first) is
    the factor by hour of the day, the same every day (a typical-day profile of the grid's
    average or marginal intensity): when given, electricity drawn in each hour is counted at
    that hour's factor, so moving load into cleaner hours lowers CO2e. Time zero of a run is
    Monday 00:00.
    """

    value: EmissionFactor = Field(gt=0.0)
    year: int = Field(ge=1990, le=2100)
    source: str = Field(min_length=1)
    hourly: list[Annotated[EmissionFactor, Field(ge=0.0)]] | None = Field(
        None, min_length=24, max_length=24,
        description="emission factor for each hour of the day (24 values, 00:00-01:00 first)")

    def segments(self) -> list[tuple[float, float, float, str]]:
        """``(start, end, kg CO2e per J, hour)`` covering one day [s after midnight]."""
        if self.hourly is None:
            return [(0.0, 86400.0, self.value, "flat")]
        return [(3600.0 * h, 3600.0 * (h + 1), f, f"{h:02d}")
                for h, f in enumerate(self.hourly)]


class EnergySettings(Model):
    """Conversion factors for electricity.

    Defaults: China national grid average emission factor for 2023, 0.5306 kgCO2/kWh
    (Ministry of Ecology and Environment with the National Bureau of Statistics); primary
    energy 0.1229 kgce/kWh (calorific-value basis, GB/T 2589).
    """

    grid: GridFactor = GridFactor(
        value="0.5306 kg/kWh",
        year=2023,
        source="MEE & NBS, China national grid average emission factor 2023",
    )
    kgce_per_kwh: float = Field(0.1229, gt=0.0)
    natural_gas_co2_per_m3: float = Field(
        2.16, gt=0.0, description="kg CO2 per m3 of natural gas burnt (GB/T 2589 basis)")
    natural_gas_lhv: EnergyDensity = Field("35.9 MJ/m3", gt=0.0, validate_default=True)
    natural_gas_kgce_per_m3: float = Field(
        1.2143, gt=0.0, description="kgce per m3 (GB/T 2589 reference range 1.1-1.33)")
    natural_gas_source: str = Field(
        "GB/T 2589-2020 heating value and carbon content of natural gas (2020)",
        min_length=1, description="year and source of the natural-gas factors")


class Product(Model):
    """A product (part type) made on the line."""

    description: str = ""


class OperatorPool(Model):
    """A shared pool of operators (technicians) that stations may need.

    Operators work the line's shifts (``follows_calendar``): outside them a station that keeps
    working (an oven, a formation rack) waits for one. An operator busy when a shift ends
    finishes the task first. ``follows_calendar = false``: on call around the clock.
    """

    count: PositiveInt
    follows_calendar: bool = True
    description: str = ""


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: Any) -> Any:
    """'06:30' -> seconds after midnight; '24:00' allowed as the end of a day."""
    if isinstance(value, str):
        if value.strip() == "24:00":
            return 86400.0
        m = _HHMM.match(value.strip())
        if not m:
            raise ValueError(f"expected a clock time 'HH:MM', got {value!r}")
        return int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0
    raise ValueError(f"expected a clock time 'HH:MM', got {value!r}")


def _hhmm(seconds: float) -> str:
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}"


ClockTime = Annotated[float, BeforeValidator(_clock), PlainSerializer(_hhmm, return_type=str),
                      WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}$"})]


class Shift(Model):
    """One shift in a day; ``end`` may be earlier than ``start`` (a night shift)."""

    start: ClockTime
    end: ClockTime
    name: str = ""

    @model_validator(mode="after")
    def _nonempty(self) -> Shift:
        if self.start == self.end:
            raise ValueError("a shift must not start and end at the same time")
        return self


class Calendar(Model):
    """The working calendar: shifts on working days, repeating weekly.

    Time zero of a run is Monday 00:00. Time outside shifts is planned downtime (state
    ``off``) for every station.
    """

    shifts: list[Shift] = Field(min_length=1)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = list(DAYS)

    def working_windows(self) -> list[tuple[float, float]]:
        """Working windows of one week, merged and sorted, in seconds from Monday 00:00."""
        week = 7 * 86400.0
        raw: list[tuple[float, float]] = []
        for day in self.days:
            d0 = DAYS.index(day) * 86400.0
            for s in self.shifts:
                end = s.end if s.end > s.start else s.end + 86400.0
                a, b = d0 + s.start, d0 + end
                if b <= week:
                    raw.append((a, b))
                else:  # a Sunday night shift wraps to Monday morning
                    raw.extend([(a, week), (0.0, b - week)])
        raw.sort()
        merged: list[tuple[float, float]] = []
        for a, b in raw:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged


# --------------------------------------------------------------------------- station parts


class Failure(Model):
    """A failure mode: time to failure and time to repair.

    ``basis = "operating"`` counts time to failure in producing time only (wear);
    ``"calendar"`` counts it in elapsed time, whatever the station does.
    """

    name: str = "breakdown"
    basis: Literal["operating", "calendar"] = "operating"
    ttf: Distribution = Field(description="time to failure (between repairs)")
    ttr: Distribution = Field(description="time to repair")


class Maintenance(Model):
    """Planned maintenance: every ``every`` of calendar time, for ``duration``."""

    every: Duration = Field(gt=0.0)
    duration: Distribution
    first: Duration | None = Field(None, ge=0.0, description="time of the first stop")


class PowerDraw(Model):
    """Electric power drawn in each equipment state [W].

    States left out draw: ``blocked`` and ``waiting`` as ``idle``; ``setup`` as ``producing``;
    ``down``, ``maintenance`` and ``off`` nothing.
    """

    producing: Power = Field(0.0, ge=0.0)
    idle: Power = Field(0.0, ge=0.0)
    blocked: Power | None = Field(None, ge=0.0)
    setup: Power | None = Field(None, ge=0.0)
    waiting: Power | None = Field(None, ge=0.0)
    down: Power = Field(0.0, ge=0.0)
    maintenance: Power = Field(0.0, ge=0.0)
    off: Power = Field(0.0, ge=0.0)

    def by_state(self) -> dict[str, float]:
        """Power [W] for every state name, with the defaults above filled in."""
        return {
            "producing": self.producing,
            "idle": self.idle,
            "blocked": self.idle if self.blocked is None else self.blocked,
            "setup": self.producing if self.setup is None else self.setup,
            "down": self.down,
            "off": self.off,
            "maintenance": self.maintenance,
            "waiting": self.idle if self.waiting is None else self.waiting,
        }


class Route(Model):
    """Where a part goes next: to a station, optionally only for some products, with a
    probability among the station's probabilistic routes, after a transport delay.

    Among several routes open to a part without probabilities, the part joins the
    destination holding the fewest parts (ties: the route listed first); speeds are not
    weighed, so list the faster destination first.
    """

    to: Name
    products: list[Name] | None = None
    probability: Probability | None = None
    delay: Distribution | None = None


class OperatorNeed(Model):
    """A station's need for an operator from a pool, during setup, processing or both."""

    pool: Name
    during: Literal["setup", "processing", "both"] = "both"


class StationBase(Model):
    """What all station types share.

    ``to`` is shorthand for ``routes``: ``to = "next"`` or ``to = ["a", "b"]`` (plain routes
    to each) or a list of route tables; it is folded into ``routes`` when validated.
    """

    signals: ClassVar[tuple[str, ...]] = ()
    """Signal kinds its stations offer (:data:`twin.data.registry.STATION_SIGNALS`)."""
    drawing: ClassVar[registry.Drawing] = registry.Drawing()
    """Its box in line diagrams (colour, keys shown)."""

    description: str = ""
    routes: list[Route] = []
    to: Name | list[Name | Route] | None = Field(
        None, exclude=True, description="shorthand for routes: a station name or a list")

    @model_validator(mode="before")
    @classmethod
    def _fold_to(cls, data: Any) -> Any:
        """Move ``to`` into ``routes`` before validation, so errors point at routes[i]."""
        if isinstance(data, dict) and "to" in data:
            data = dict(data)
            to = data.pop("to")
            if "routes" in data:
                raise ValueError("give either 'to' or 'routes', not both")
            names = [to] if isinstance(to, str) else to
            if isinstance(names, list):
                names = [{"to": r} if isinstance(r, str) else r for r in names]
            data["routes"] = names
        return data


class Source(StationBase):
    """Where parts enter the line.

    With ``interarrival`` parts arrive as a renewal process; with ``schedule`` they are
    released in lots at given times; with neither the supply is infinite (a new part is
    always waiting to enter the first station). An arrival that finds the next station's
    buffer full waits at the source (``when_full = "wait"``) or is lost (``"lost"``: it never
    enters the line and is recorded as a ``lost`` event, as in a loss system M/M/c/K).
    """

    type: Literal["source"]
    drawing: ClassVar[registry.Drawing] = registry.Drawing("#e8eef3")
    product: Name | None = None
    mix: dict[Name, float] | None = Field(None, description="product -> relative weight")
    interarrival: Distribution | None = None
    schedule: list[Release] | None = None
    limit: PositiveInt | None = Field(None, description="stop after this many parts")
    lot_size: PositiveInt = Field(
        1, description="parts released in a row of the product drawn from the mix (a campaign)")
    when_full: Literal["wait", "lost"] = Field(
        "wait", description="an arrival that finds the next station full: waits at the "
        "source ('wait') or is lost ('lost', balks; counted as a 'lost' event)")

    @model_validator(mode="after")
    def _one_product_rule(self) -> Source:
        if (self.product is None) == (self.mix is None):
            raise ValueError("give exactly one of 'product' or 'mix'")
        if self.mix is not None and (
            not self.mix or min(self.mix.values()) < 0 or sum(self.mix.values()) <= 0
        ):
            raise ValueError("mix weights must be >= 0 with a positive sum")
        if self.interarrival is not None and self.schedule is not None:
            raise ValueError("give 'interarrival' or 'schedule', not both")
        if self.when_full == "lost" and self.interarrival is None and self.schedule is None:
            raise ValueError("when_full = 'lost' needs arrivals ('interarrival' or "
                             "'schedule'); an infinite supply always waits")
        return self

    def products_made(self) -> list[str]:
        """Names of the products this source releases."""
        return [self.product] if self.product else [p for p, w in (self.mix or {}).items() if w]


class Release(Model):
    """A lot released by a source at a time (optionally repeating)."""

    at: Duration = Field(ge=0.0)
    quantity: PositiveInt = 1
    product: Name | None = None
    every: Duration | None = Field(None, gt=0.0, description="repeat period")


class Equipment(StationBase):
    """A station with servers, cycle times, setups, failures, maintenance, operators, power."""

    signals: ClassVar[tuple[str, ...]] = ("buffer",)

    servers: PositiveInt = 1
    buffer: int | None = Field(
        None, ge=0, description="input buffer slots in front of the servers; none = "
        "unlimited; 0 = direct hand-over (a finished part waits on the upstream machine "
        "until a server here takes it)"
    )
    cycle_time: Distribution
    product_cycle_time: dict[Name, Distribution] = Field(
        {}, description="cycle time of particular products, overriding cycle_time"
    )
    setup_time: Distribution | None = Field(None, description="setup on a product change")
    failures: list[Failure] = []
    maintenance: Maintenance | None = None
    operator: OperatorNeed | None = None
    power: PowerDraw = PowerDraw()
    follows_calendar: bool = Field(
        True, description="false: runs through off-shift time (e.g. an oven or test chamber)")
    energy_schedule: EnergySchedule | None = Field(
        None, description="start energy-heavy work outside named tariff periods (see "
        "twin.data.energy_schedule)")
    ideal_cycle_time: Duration | None = Field(
        None, gt=0.0, description="ideal (fastest) cycle time of an item, or of a batch on a "
        "batch or process station: the planned run time per item of OEE; default: the lower "
        "end of the cycle-time distribution if positive, else its 5% quantile")

    def planned_time_per_item(self, product: str) -> float:
        """Planned run time per item (ISO 22400 PRI) for ``product`` [s]: the stated
        ``ideal_cycle_time``, else :func:`twin.data.ideal_time.ideal_time` of the product's
        cycle-time distribution."""
        if self.ideal_cycle_time is not None:
            return self.ideal_cycle_time
        return ideal_time(self.product_cycle_time.get(product, self.cycle_time))


class Machine(Equipment):
    """A processing station with one or more identical parallel servers."""

    type: Literal["machine"]
    drawing: ClassVar[registry.Drawing] = registry.Drawing("#d5dbe0")


class Inspection(Equipment):
    """A test station: parts pass, go back for rework, or are scrapped."""

    type: Literal["inspection"]
    drawing: ClassVar[registry.Drawing] = registry.Drawing("#f3e6c8")
    scrap_probability: Probability = 0.0
    rework_probability: Probability = 0.0
    rework_to: Name | None = None
    max_reworks: int = Field(3, ge=0, description="a part failing more often is scrapped")

    @model_validator(mode="after")
    def _rework(self) -> Inspection:
        if self.scrap_probability + self.rework_probability > 1.0:
            raise ValueError("scrap_probability + rework_probability must not exceed 1")
        if self.rework_probability > 0 and self.rework_to is None:
            raise ValueError("rework_probability > 0 needs rework_to")
        return self


class Batch(Equipment):
    """A station that processes up to ``batch_size`` parts together (an oven, a test chamber).

    It starts when ``batch_size`` parts are loaded, or, with ``max_wait``, when at least
    ``min_batch`` parts (default 1) have waited that long since the first was loaded; with
    ``min_batch`` alone, as soon as that many are loaded and no more are waiting.
    ``cycle_time`` is per batch.
    """

    type: Literal["batch"]
    drawing: ClassVar[registry.Drawing] = registry.Drawing("#d9e4d2", (("batch_size", "batch"),))
    batch_size: PositiveInt
    min_batch: PositiveInt | None = None
    max_wait: Duration | None = Field(None, ge=0.0)

    @model_validator(mode="after")
    def _sizes(self) -> Batch:
        if self.min_batch is not None and self.min_batch > self.batch_size:
            raise ValueError("min_batch must not exceed batch_size")
        if self.servers != 1:
            raise ValueError("a batch station has one server (model more as more stations)")
        return self

    def planned_time_per_item(self, product: str) -> float:
        return super().planned_time_per_item(product) / self.batch_size


class Assembly(Equipment):
    """Joins one part of the base product with components (product -> quantity).

    Each product waits in its own queue (of ``buffer`` slots) in front of the station; the
    assembled part keeps the base part's identity and becomes ``output_product`` if given.
    """

    type: Literal["assembly"]
    drawing: ClassVar[registry.Drawing] = registry.Drawing("#dcd6e8")
    base: Annotated[list[Name], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] = (
        Field(min_length=1, description="base product(s); one queue shared by all of them"))
    components: dict[Name, PositiveInt] = Field(min_length=1)
    output_product: Name | None = None

    @model_validator(mode="after")
    def _distinct(self) -> Assembly:
        both = set(self.base) & set(self.components)
        if both:
            raise ValueError(f"{sorted(both)} cannot be both base and component")
        return self


class Process(Equipment):
    """A batch process unit (reactor, crystalliser, filter, dryer...) running a recipe.

    Each batch (part) goes through every phase of ``recipe`` in order; ``volume`` is the
    vessel's working volume [m3] (head space for vent losses); VOC from its phases pass
    ``abatement`` if given. ``cycle_time`` is not used (durations come from the phases).
    """

    type: Literal["process"]
    signals: ClassVar[tuple[str, ...]] = ("buffer", "temperature")
    drawing: ClassVar[registry.Drawing] = registry.Drawing("#cfe0ea")
    recipe: list[Phase] = Field(min_length=1)
    product_recipes: dict[Name, list[Phase]] = Field(
        {}, description="recipes of particular products on this (shared) equipment")

    rework_recipe: list[Phase] | None = Field(
        None, description="phases a batch sent back here for rework runs (it still holds "
        "its material); default: its recipe without the charge phases")

    def recipe_for(self, product: str) -> list[Any]:
        """The recipe a batch of ``product`` runs here."""
        return self.product_recipes.get(product, self.recipe)

    def rework_for(self, product: str) -> list[Any]:
        """The phases a batch of ``product`` runs when it comes back for rework: the stated
        ``rework_recipe``, else its recipe without the charge phases (the material is
        already in the batch; charging it again would create material)."""
        if self.rework_recipe is not None:
            return self.rework_recipe
        return [ph for ph in self.recipe_for(product) if ph.phase != "charge"]

    def planned_time_per_item(self, product: str) -> float:
        """The stated ``ideal_cycle_time`` of a batch [s]; else NaN: a batch's planned time
        is then what its own phases take without waiting and stops (the ``planned_s`` of
        the ``phases`` table, see :mod:`twin.observation.kpis`)."""
        return float("nan") if self.ideal_cycle_time is None else self.ideal_cycle_time
    volume: Volume = Field(1.0, gt=0.0)
    abatement: Abatement | None = None
    cycle_time: Distribution = Field("0 s", validate_default=True,
                                     description="not used: phases set durations")


class Tank(StationBase):
    """A buffer tank of process material: batches routed here are emptied into it (their
    material joins the tank; the batch ends), and the continuous unit it routes to draws
    from it at a rate. ``capacity`` [kg] blocks a batch that does not fit until there is
    room; crossing ``low`` or ``high`` (fractions of the capacity) records a level event.
    ``initial`` contents count as inputs at time zero."""

    type: Literal["tank"]
    signals: ClassVar[tuple[str, ...]] = ("tank",)
    drawing: ClassVar[registry.Drawing] = registry.Drawing("#f0f0f0")
    capacity: Mass = Field(gt=0.0)
    initial: dict[Name, Mass] = {}
    low: Probability | None = None
    high: Probability | None = None

    @model_validator(mode="after")
    def _levels(self) -> Tank:
        if sum(self.initial.values()) > self.capacity:
            raise ValueError("initial contents exceed the capacity")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError("low must be below high")
        return self


class Continuous(Equipment):
    """A continuous unit (a coating line, a continuous centrifuge, a spray dryer) drawing
    from the tank routed to it at ``rate`` [kg/s] and sending on a lot of ``product`` every
    ``lot_mass`` [kg]. Flows are piecewise constant: the rate changes only at events (tank
    empty or refilled, downstream full, stops). ``heat`` [J/kg] drawn from ``utility``.
    """

    type: Literal["continuous"]
    signals: ClassVar[tuple[str, ...]] = ()
    drawing: ClassVar[registry.Drawing] = registry.Drawing("#cde3dc")
    rate: MassFlow | None = Field(None, gt=0.0)
    web_speed: Speed | None = Field(None, gt=0.0, description="a coater: rate = speed x "
                                    "width x areal mass")
    width: Length | None = Field(None, gt=0.0)
    areal_mass: ArealMass | None = Field(None, gt=0.0, description="wet coating [kg/m2]")
    lot_mass: Mass = Field(gt=0.0)
    product: Name
    heat: SpecificEnergy = Field(0.0, ge=0.0)
    utility: Name | None = None
    cycle_time: Distribution = Field("0 s", validate_default=True,
                                     description="not used: the rate sets durations")

    @model_validator(mode="after")
    def _one_server(self) -> Continuous:
        if self.servers != 1:
            raise ValueError("a continuous unit has one server")
        web = (self.web_speed, self.width, self.areal_mass)
        if self.rate is None:
            if any(v is None for v in web):
                raise ValueError("give rate, or web_speed, width and areal_mass")
            object.__setattr__(self, "rate", self.web_speed * self.width * self.areal_mass)
        elif any(v is not None for v in web):
            raise ValueError("give either rate or web_speed/width/areal_mass")
        return self

    def planned_time_per_item(self, product: str) -> float:
        """Planned time per lot at the nominal rate [s] (or the stated ideal)."""
        if self.ideal_cycle_time is not None:
            return self.ideal_cycle_time
        return self.lot_mass / self.rate


class Sink(StationBase):
    """Where good parts leave the line."""

    type: Literal["sink"]
    drawing: ClassVar[registry.Drawing] = registry.Drawing("#e8eef3")


BUILTIN_STATIONS = (Source, Machine, Inspection, Batch, Assembly, Process, Tank, Continuous,
                    Sink)
"""The built-in station types; more are registered with
:func:`twin.data.registry.register_station`."""


def _station_type(value: Any) -> Any:
    return value.get("type") if isinstance(value, dict) else None


Station = registry.union_type(StationBase, _station_type, registry.station_class,
                              registry.station_adapter)
"""Any registered station type, chosen by its ``type``."""


def _named_list_to_dict(value: Any) -> Any:
    """Accept a list of tables with a ``name`` key as well as a table of tables."""
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for i, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ValueError(f"item {i} needs a 'name'")
            name = item["name"]
            if name in out:
                raise ValueError(f"duplicate name {name!r} (item {i})")
            out[name] = {k: v for k, v in item.items() if k != "name"}
        return out
    return value


class LineSpec(Model):
    """A whole line: the root of a ``line.toml`` file."""

    line: LineInfo
    run: RunSettings = RunSettings()
    energy: EnergySettings = EnergySettings()
    calendar: Calendar | None = None
    products: Annotated[dict[Name, Product], BeforeValidator(_named_list_to_dict)] = Field(
        min_length=1
    )
    operators: Annotated[
        dict[Name, OperatorPool], BeforeValidator(_named_list_to_dict)
    ] = {}
    stations: Annotated[dict[Name, Station], BeforeValidator(_named_list_to_dict)] = Field(
        min_length=1
    )
    species: dict[Name, Species] = Field({}, description="species of process lines")
    utilities: dict[Name, Utility] = Field({}, description="shared utilities")
    alarms: dict[Name, AlarmSpec] = Field(
        {}, description="ISA-18.2 alarms on recorded signals (see twin.data.alarms)")
    costs: CostModel | None = Field(None, description="prices (see twin.data.costs)")
    calibration: dict[Name, CalibrationRecord] = Field(
        {}, description="calibrated parameters of a station's phase with their joint "
        "distribution (written by twin calibrate; see twin.data.calibration)")

    @model_validator(mode="after")
    def _priced_names(self) -> LineSpec:
        if self.costs is None:
            return self
        for where, names, known in (
                ("costs.capital", self.costs.capital, self.stations),
                ("costs.materials.species", self.costs.materials.species, self.species),
                ("costs.materials.products", self.costs.materials.products, self.products)):
            unknown = sorted(set(names) - set(known))
            if unknown:
                raise ValueError(f"{where}: no {where.split('.')[-1].rstrip('s')} named "
                                 f"{', '.join(map(repr, unknown))}")
        return self


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a line file (for editors and ``twin schema``)."""
    schema = LineSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Pilot Twin line specification"
    return schema
