"""Process-line parts of a spec: species, utilities, abatement and batch recipes.

A process unit (station ``type = "process"``) runs an ISA-88 style recipe on each batch it
holds: a list of phases (charge, heat, react, cool, crystallise, separate, dry, transfer,
clean, hold), each with a duration from a kernel or from the spec, a utility demand and a
material effect. A batch is a part that carries a composition (kg per species) and a
temperature. All values are SI after validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from pydantic import (
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from twin.data import fmu as F
from twin.data import registry
from twin.data.distributions import Distribution
from twin.data.model import Model, Name
from twin.data.quantities import (
    Area,
    Conductance,
    Density,
    Duration,
    EnergyDensity,
    HeatTransferCoefficient,
    Mass,
    MassFlow,
    MolarEnergy,
    MolarMass,
    PowerDensity,
    Probability,
    Rate,
    SpecificEnergy,
    SpecificHeat,
    Speed,
    Temperature,
    Volume,
    VolumeFlow,
)
from twin.data.reactions import Reaction, parse_formula
from twin.data.units import to_si

CARRIERS = ("electricity", "steam", "chilled_water", "cooling_water", "natural_gas",
            "compressed_air", "nitrogen", "process_water")


class Species(Model):
    """A chemical species (or lumped material) with the properties the models need.

    ``dh_vap`` and ``t_boil`` give the vapour pressure by Clausius-Clapeyron (for VOC from
    charging and for drying); ``cod`` is the theoretical oxygen demand [kg O2 / kg] a loss of
    it to water adds to the wastewater load.
    """

    molar_mass: MolarMass = Field(gt=0.0)
    density: Density = Field(1000.0, gt=0.0)
    cp: SpecificHeat = Field(2000.0, gt=0.0)
    state: Literal["liquid", "solid", "dissolved"] = "liquid"
    voc: bool = False
    dh_vap: MolarEnergy | None = Field(None, gt=0.0)
    t_boil: Temperature | None = Field(None, gt=0.0)
    cod: float = Field(0.0, ge=0.0, description="theoretical oxygen demand [kg O2/kg]")
    water: bool = Field(False, description="process water: what is charged of it counts in "
                        "water_kg (e.g. dyeing liquor, fermentation medium water)")
    formula: str | None = Field(None, description="chemical formula, e.g. 'C4H8O2' (element "
                                "balances of reactions are checked where given)")

    @model_validator(mode="after")
    def _vapour(self) -> Species:
        if self.voc and (self.dh_vap is None or self.t_boil is None):
            raise ValueError("a VOC needs dh_vap and t_boil (for its vapour pressure)")
        if self.formula is not None:
            parse_formula(self.formula)
        return self

    def elements(self) -> dict[str, float] | None:
        """Atoms per molecule by element (None without a formula)."""
        return None if self.formula is None else parse_formula(self.formula)


ENERGY_CARRIERS = ("electricity", "steam", "chilled_water", "cooling_water")
MEDIA = ("compressed_air", "nitrogen", "process_water")

MEDIA_ENERGY = {"compressed_air": 0.11 * 3.6e6, "nitrogen": 0.30 * 3.6e6, "process_water": 0.0}
"""Default electricity per m3 of medium [J/m3]: compressed air at about 7 bar(g) 0.11 kWh/Nm3
and PSA nitrogen (99.5 %) 0.30 kWh/Nm3 are typical specific powers of such plants (check
the plant's own figures); process water is counted by volume only."""


class Utility(Model):
    """A utility shared by units, with a finite capacity (none: unlimited).

    Energy carriers (capacity in W; phases draw heat or power) convert to final energy:
    ``steam`` from an on-site natural-gas boiler (``boiler_efficiency``), ``chilled_water``
    from electric chillers (``cop``), ``cooling_water`` through pumps and towers
    (``specific_power``: electricity per heat), ``electricity`` as it is. Media (capacity in
    m3/s; phases use volumes through ``uses``): ``compressed_air``, ``nitrogen`` and
    ``process_water``, with ``specific_energy`` [J/m3] of electricity to make them.
    """

    carrier: Literal["electricity", "steam", "chilled_water", "cooling_water",
                     "compressed_air", "nitrogen", "process_water"]
    capacity: float | None = Field(
        None, gt=0.0, description="maximum load: a power for energy carriers (e.g. '300 kW'), "
        "a volume flow for media (e.g. '50 m3/h')")
    boiler_efficiency: float = Field(0.9, gt=0.0, le=1.0)
    cop: float = Field(4.0, gt=0.0)
    specific_power: float = Field(0.02, ge=0.0, description="kWh electricity per kWh heat")
    specific_energy: EnergyDensity | None = Field(None, ge=0.0)

    @model_validator(mode="before")
    @classmethod
    def _capacity_unit(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("capacity") is not None:
            medium = data.get("carrier") in MEDIA
            data = {**data, "capacity": to_si(data["capacity"],
                                              "volume_flow" if medium else "power")}
        return data

    @field_serializer("capacity")
    def _dump_capacity(self, value: float | None) -> str | None:
        return None if value is None else f"{value!r} {'m**3/s' if self.is_medium else 'W'}"

    @property
    def is_medium(self) -> bool:
        """True for media counted by volume (air, nitrogen, water)."""
        return self.carrier in MEDIA

    def electricity_for_heat(self, heat: Any) -> Any:
        """Electricity [J] drawn to deliver ``heat`` [J] (a number or an array): all of it
        for electricity, ``heat / cop`` for chilled water, ``heat * specific_power`` for
        cooling water, none for steam (its energy is boiler gas) and for media (counted by
        volume)."""
        if self.is_medium or self.carrier == "steam":
            return heat * 0.0
        if self.carrier == "electricity":
            return heat
        if self.carrier == "chilled_water":
            return heat / self.cop
        return heat * self.specific_power

    @property
    def quantum(self) -> float:
        """Units of the capacity per SI unit as the engine counts it: whole milliwatts for
        energy carriers, whole millilitres per second for media (takes and returns add up
        exactly); a capacity below one quantum rounds to nothing."""
        return 1e6 if self.is_medium else 1e3

    def electricity_per_m3(self) -> float:
        """Electricity to make one m3 of this medium [J/m3]."""
        if self.specific_energy is not None:
            return self.specific_energy
        return MEDIA_ENERGY.get(self.carrier, 0.0)


class Abatement(Model):
    """Abatement of a VOC stream: a condenser or solvent recovery returns the captured part as
    recovered solvent; a thermal oxidiser destroys it (scope 1 CO2 is not counted here)."""

    kind: Literal["condenser", "solvent_recovery", "thermal_oxidiser"]
    efficiency: Probability


# ------------------------------------------------------------------------------ phases


class PhaseBase(Model):
    """What every phase shares: a name for records and media it uses (volumes [m3] of
    compressed air, nitrogen or process water by utility name)."""

    unit_state: ClassVar[str] = "producing"
    """The state of a unit while it runs the phase: ``producing``, or ``setup`` for work
    that is not production (cleaning): operators needed ``during = "setup"`` staff it, and
    its planned time is not production's."""

    name: str = ""
    uses: dict[Name, Volume] = Field({}, description="media used: utility name -> volume")

    @classmethod
    def union_tags(cls) -> tuple[str, ...]:
        """The tags that choose this class in a recipe: its ``phase`` values."""
        return tuple(get_args(cls.model_fields["phase"].annotation))

    def species_refs(self) -> list[tuple[str, str | None]]:
        """``(key path, species)`` of every species the phase names (checked against the
        line's ``[species]``)."""
        return []


class Charge(PhaseBase):
    """Charge materials into the batch (inputs to the line) at ``temperature``.

    Charging a vessel pushes out its head-space gas, saturated with the volatile species
    present: ``P_sat V M / (R T)`` per VOC (Raoult's law), sent to ``vent`` abatement.
    """

    phase: Literal["charge"]
    materials: dict[Name, Mass] = Field(min_length=1)
    duration: Distribution
    temperature: Temperature = 298.15

    def species_refs(self) -> list[tuple[str, str | None]]:
        return [(f"materials.{k}", k) for k in self.materials]


class Thermal(PhaseBase):
    """Heat or cool the batch to ``to`` with a jacket at ``jacket`` through ``ua``.

    Without reaction the batch approaches the jacket exponentially:
    ``t = m cp / UA ln((T0 - Tj) / (T - Tj))`` (closed form).
    """

    phase: Literal["heat", "cool"]
    to: Temperature
    jacket: Temperature
    ua: Conductance = Field(gt=0.0)
    utility: Name | None = None


class React(PhaseBase):
    """Jacketed (semi-)batch reaction A (+ co-reactant) -> B, with an optional second reaction
    (series B -> C or parallel A -> C); integrated by the reactor kernel to
    ``target_conversion`` (or ``max_time``, or the safety limit ``t_max``).

    Stoichiometry is by moles of A converted; masses must balance:
    ``M_B = M_A + ratio * M_co`` (checked).
    """

    phase: Literal["react"]
    reactant: Name
    product: Name
    co_reactant: Name | None = None
    ratio: float = Field(1.0, gt=0.0, description="mol co-reactant per mol A")
    k0: Rate = Field(gt=0.0)
    ea: MolarEnergy = Field(ge=0.0)
    dh: MolarEnergy
    second: Literal["series", "parallel"] | None = None
    by_product: Name | None = None
    k0_2: Rate = 0.0
    ea_2: MolarEnergy = 0.0
    dh_2: MolarEnergy = 0.0
    ua: Conductance = Field(gt=0.0)
    jacket: Temperature
    target_conversion: float = Field(0.99, gt=0.0, lt=1.0)
    max_time: Distribution | None = None
    t_max: Temperature | None = Field(None, description="temperature that aborts the phase")
    dose_fraction: float = Field(0.0, ge=0.0, lt=1.0,
                                 description="share of A dosed during the phase")
    dose_time: Distribution | None = None
    utility: Name | None = None

    @model_validator(mode="after")
    def _second(self) -> React:
        if (self.second is None) != (self.by_product is None):
            raise ValueError("a second reaction needs both 'second' and 'by_product'")
        if self.dose_fraction > 0 and self.dose_time is None:
            raise ValueError("dosing needs dose_time")
        return self

    def species_refs(self) -> list[tuple[str, str | None]]:
        return [("reactant", self.reactant), ("product", self.product),
                ("co_reactant", self.co_reactant), ("by_product", self.by_product)]


class ReactNetwork(PhaseBase):
    """Jacketed (semi-)batch reaction of a general network (``phase = "react"`` with a
    ``reactions`` list; reaction-network kernel): any species and reactions (equations,
    mass-action or power-law rates, reversible by a backward rate constant or an
    equilibrium constant, heats per reaction), integrated to ``target_conversion`` of the
    ``key`` species (if given; a batch that reaches ``max_time`` first is off-spec),
    ``max_time`` or the safety limit ``t_max``. Rate constants ``k`` are
    given at ``t_ref`` (default: the jacket temperature). ``isothermal`` holds the batch at
    its temperature (the jacket takes the net heat); otherwise the energy balance with the
    jacket runs. ``dose`` holds back a share of species present in the batch and doses it
    at a constant rate over ``dose_time`` (semi-batch). Species of the batch outside the
    network are inert (they count in volume and heat capacity). Every reaction must
    conserve mass by the species' molar masses, and elements where the species give a
    ``formula`` (checked).
    """

    phase: Literal["react"]
    reactions: list[Reaction] = Field(min_length=1)
    key: Name | None = Field(None, description="species whose conversion ends the phase "
                             "(default: the first reactant of the first reaction)")
    t_ref: Temperature | None = Field(None, description="reference temperature of the "
                                      "rate constants k (default: jacket)")
    ua: Conductance = Field(gt=0.0)
    jacket: Temperature
    isothermal: bool = False
    target_conversion: float | None = Field(None, gt=0.0, lt=1.0, description="conversion "
                                            "of the key species that ends the phase (none: "
                                            "it runs for max_time)")
    max_time: Distribution | None = None
    t_max: Temperature | None = Field(None, description="temperature that aborts the phase")
    dose: dict[Name, Probability] = Field({}, description="share of each species dosed "
                                          "during the phase")
    dose_time: Distribution | None = None
    utility: Name | None = None

    @model_validator(mode="after")
    def _network(self) -> ReactNetwork:
        if self.dose and self.dose_time is None:
            raise ValueError("dosing needs dose_time")
        if any(share >= 1.0 for share in self.dose.values()):
            raise ValueError("a dosed share must be below 1 (some of it is in the heel)")
        if self.target_conversion is None and self.max_time is None:
            raise ValueError("give target_conversion, max_time or both (the phase needs an "
                             "end)")
        names = self.reaction_names()
        if len(set(names)) != len(names):
            raise ValueError(f"reaction names must be unique, got {names}")
        return self

    def reaction_names(self) -> list[str]:
        """Each reaction's name (``r1``, ``r2``, ... where none is given)."""
        return [r.name or f"r{i + 1}" for i, r in enumerate(self.reactions)]

    def species_names(self) -> list[str]:
        """The network's species in order of first appearance (equations, then orders)."""
        out: dict[str, None] = {}
        for r in self.reactions:
            left, right, _ = r.sides()
            out |= dict.fromkeys(left) | dict.fromkeys(right)
            out |= dict.fromkeys(r.orders or {}) | dict.fromkeys(r.orders_reverse or {})
        return list(out)

    def key_species(self) -> str:
        """The species whose conversion ends the phase."""
        return self.key or next(iter(self.reactions[0].sides()[0]))

    @classmethod
    def union_tags(cls) -> tuple[str, ...]:
        return (NETWORK_TAG,)  # a react phase with reactions (see _phase_tag)

    def species_refs(self) -> list[tuple[str, str | None]]:
        refs: list[tuple[str, str | None]] = [("key", self.key)]
        refs += [(f"dose.{sp}", sp) for sp in self.dose]
        for i, r in enumerate(self.reactions):
            left, right, _ = r.sides()
            refs += [(f"reactions[{i}].equation", sp) for sp in {**left, **right}]
            refs += [(f"reactions[{i}].{key}.{sp}", sp) for key in ("orders", "orders_reverse")
                     for sp in (getattr(r, key) or {})]
        return refs


class Crystallise(PhaseBase):
    """Cooling crystallisation of a dissolved species into its solid form (kernel: population
    balance by moments) from the batch temperature to ``to`` over ``time``."""

    phase: Literal["crystallise"]
    solute: Name
    crystal: Name
    solvent: Name
    to: Temperature
    time: Distribution
    solubility: tuple[float, float, float] = Field(
        description="c* = A0 + A1 theta + A2 theta^2 [kg/kg solvent], theta in degC")
    k_b: float = Field(gt=0.0)
    b: float = Field(gt=0.0)
    k_g: float = Field(gt=0.0)
    g: float = Field(gt=0.0)
    crystal_density: Density = 1300.0
    dh_cryst: SpecificEnergy = 0.0
    seed_mass: Mass = Field(0.0, ge=0.0, description="seed crystals per batch (sets mu3)")
    seed_size: float = Field(100e-6, gt=0.0, description="seed size [m]")
    utility: Name | None = None

    def species_refs(self) -> list[tuple[str, str | None]]:
        return [("solute", self.solute), ("crystal", self.crystal), ("solvent", self.solvent)]


class Separate(PhaseBase):
    """Filtration or centrifugation: solids stay with ``solids_recovery``; the cake keeps
    ``cake_liquid`` kg of liquid per kg of solid; the rest (filtrate) goes to ``filtrate``:
    ``recovered`` (solvent recovery), ``waste`` (solvent or solid waste, e.g. incineration)
    or ``wastewater`` (to treatment: its COD counts)."""

    phase: Literal["separate"]
    duration: Distribution
    solids_recovery: Probability = 0.99
    cake_liquid: float = Field(0.3, ge=0.0)
    filtrate: Literal["waste", "wastewater", "recovered"] = "waste"


class Dry(PhaseBase):
    """Convective drying of the volatile liquid in the batch (drying kernel) to
    ``target_content`` kg per kg dry solid; vapour goes through ``abatement``."""

    phase: Literal["dry"]
    solvent: Name
    area: Area = Field(gt=0.0)
    h_conv: HeatTransferCoefficient = Field(gt=0.0)
    k_mass: Speed = Field(gt=0.0)
    air_temperature: Temperature
    air_flow: MassFlow = Field(gt=0.0)
    critical_content: float = Field(0.3, gt=0.0)
    equilibrium_content: float = Field(0.0, ge=0.0, description="solvent content [kg/kg "
                                       "dry] the layer dries towards (falling rate zero)")
    target_content: float = Field(0.005, gt=0.0)
    max_time: Distribution | None = None
    utility: Name | None = None

    @model_validator(mode="after")
    def _contents(self) -> Dry:
        if self.equilibrium_content >= self.critical_content:
            raise ValueError(f"equilibrium_content {self.equilibrium_content:g} must be below "
                             f"critical_content {self.critical_content:g}")
        if self.equilibrium_content >= self.target_content:
            raise ValueError(f"equilibrium_content {self.equilibrium_content:g} must be below "
                             f"target_content {self.target_content:g} (the layer would never "
                             "reach it)")
        return self

    def species_refs(self) -> list[tuple[str, str | None]]:
        return [("solvent", self.solvent)]


class Ferment(PhaseBase):
    """Aerobic (fed-)batch growth (fermentation kernel: Monod on substrate and dissolved
    oxygen, kLa-driven oxygen transfer) to ``target_biomass``, ``max_volume`` or ``max_time``.

    kLa is given, or follows van 't Riet from the agitation power per volume and the
    superficial gas velocity. Mass closes with a lumped stoichiometry: substrate + oxygen ->
    biomass + CO2 + water, CO2 from the carbon balance (carbon mass fractions of substrate
    and biomass), metabolic water the remainder. The feed is a solution of substrate in
    water at ``feed_concentration``. Metabolic heat follows Cooney's rule (460 kJ per mol
    O2) and goes to ``utility``; agitation power is drawn by the unit (its power per state).
    """

    phase: Literal["ferment"]
    biomass: Name
    substrate: Name
    water: Name
    oxygen: Name
    co2: Name
    mu_max: Rate = Field(gt=0.0)
    ks: Density = Field(gt=0.0)
    ko: Density = 0.0
    y_xs: float = Field(gt=0.0, le=1.0)
    y_xo: float = Field(gt=0.0)
    m_s: Rate = 0.0
    kla: Rate | None = Field(None, gt=0.0)
    power_per_volume: PowerDensity | None = Field(None, gt=0.0)
    gas_velocity: Speed | None = Field(None, gt=0.0)
    coalescing: bool = True
    c_star: Density = Field("7.5e-3 kg/m3", gt=0.0, validate_default=True)
    feed_concentration: Density = 0.0
    feed_rate: VolumeFlow = 0.0
    feed_exponent: Rate = 0.0
    feed_start: Distribution | None = None
    target_biomass: Density = 0.0
    max_volume: Volume = 0.0
    max_time: Distribution
    carbon_substrate: float = Field(0.40, gt=0.0, lt=1.0, description="glucose: 0.40")
    carbon_biomass: float = Field(0.488, gt=0.0, lt=1.0,
                                  description="CH1.8O0.5N0.2 (24.6 g/Cmol): 0.488")
    utility: Name | None = None

    @model_validator(mode="after")
    def _oxygen_transfer(self) -> Ferment:
        if self.kla is None and (self.power_per_volume is None or self.gas_velocity is None):
            raise ValueError("give kla, or power_per_volume and gas_velocity (van 't Riet)")
        return self

    def species_refs(self) -> list[tuple[str, str | None]]:
        return [(k, getattr(self, k)) for k in ("biomass", "substrate", "water", "oxygen", "co2")]


class Clean(PhaseBase):
    """Cleaning in place (CIP/SIP): water use and a wastewater COD load per batch."""

    phase: Literal["clean"]
    unit_state: ClassVar[str] = "setup"
    duration: Distribution
    water: Mass = Field(0.0, ge=0.0)
    cod: Mass = Field(0.0, ge=0.0, description="COD load of the cleaning water [kg O2]")
    heat: SpecificEnergy = Field(0.0, ge=0.0,
                                 description="heat per kg of water (hot CIP) [J/kg]")
    utility: Name | None = None


class Hold(PhaseBase):
    """A timed step without material effect (transfer, sampling, waiting for release)."""

    phase: Literal["transfer", "hold"]
    duration: Distribution


BATCH_INPUTS = ("temperature", "volume", "heat_capacity", "mass")
"""Batch quantities an FMU input can take (besides ``mass.<species>`` and
``moles.<species>``): temperature [K], volume [m3], heat capacity [J/K], total mass [kg]."""
BATCH_OUTPUTS = ("temperature", "heat")
"""Batch quantities an FMU output can set (besides ``mass.<species>`` and
``moles.<species>``): temperature [K] at the phase end, and ``heat``, the cumulative heat
[J] the phase exchanges with its utility (its change over the phase is the duty)."""


def species_of(quantity: str) -> str | None:
    """The species a ``mass.<species>`` or ``moles.<species>`` quantity names (else None)."""
    kind, _, species = quantity.partition(".")
    return species if kind in ("mass", "moles") and species else None


class Fmu(PhaseBase):
    """A phase whose model is a co-simulation FMU (FMI 2.0 CS), e.g. exported from a
    Modelica tool, stepped every ``step`` from the phase start until its ``end`` output
    becomes true (non-zero) or ``max_time`` is reached; the phase lasts a whole number of
    steps.

    ``parameters`` sets FMU variables to constants (in the FMU's own units) before it
    starts; ``inputs`` sets FMU variables from the batch as the phase starts (FMU variable =
    ``temperature``, ``volume``, ``heat_capacity``, ``mass``, ``mass.<species>`` or
    ``moles.<species>``, in SI); ``outputs`` reads the batch's new state from FMU outputs
    when the phase ends (``temperature``, ``heat``, ``mass.<species>``,
    ``moles.<species>`` = FMU variable). A species whose amount the FMU changes is a
    ``transformation`` flow; the changes must conserve mass. The ``fmu`` path is relative
    to the line file; the file's SHA-256 is kept in ``sha256`` (given: it must match).
    """

    phase: Literal["fmu"]
    fmu: str
    step: Duration = Field(gt=0.0)
    max_time: Distribution
    end: str | None = Field(None, description="FMU output that ends the phase when true")
    parameters: dict[str, float | bool | str] = {}
    inputs: dict[str, str] = {}
    outputs: dict[str, str] = {}
    sha256: str = ""
    utility: Name | None = None

    @field_validator("fmu")
    @classmethod
    def _resolve(cls, value: str, info: ValidationInfo) -> str:
        base = Path((info.context or {}).get("base_dir", "."))
        return str((base / value).resolve())

    @model_validator(mode="after")
    def _against_fmu(self) -> Fmu:
        info = F.describe(self.fmu)
        if self.sha256 and self.sha256 != info.sha256:
            raise ValueError(f"the FMU {self.fmu!r} changed since the spec named it "
                             f"(sha256 {info.sha256[:12]}..., spec {self.sha256[:12]}...)")
        object.__setattr__(self, "sha256", info.sha256)
        problems = fmu_problems(self, info)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def species_refs(self) -> list[tuple[str, str | None]]:
        return ([(f"inputs.{k}", species_of(q)) for k, q in self.inputs.items()]
                + [(f"outputs.{q}", species_of(q)) for q in self.outputs])


def fmu_problems(ph: Fmu, info: F.FmuInfo) -> list[str]:
    """What in ``ph``'s mapping does not fit the FMU ``info`` describes (species names are
    checked against the line elsewhere)."""
    out = []
    variables = info.variables
    settable = ("parameter", "input")

    def check(where: str, name: str, causalities: tuple[str, ...], types: tuple[str, ...]
              ) -> None:
        var = variables.get(name)
        if var is None:
            out.append(f"{where}: the FMU has no variable {name!r}")
        elif var.causality not in causalities or var.type not in types:
            out.append(f"{where}: {name!r} is a {var.type} {var.causality}; expected a "
                       f"{'/'.join(types)} {' or '.join(causalities)}")

    for name, value in ph.parameters.items():
        kind = ("Boolean",) if isinstance(value, bool) else (
            ("String",) if isinstance(value, str) else ("Real", "Integer", "Enumeration"))
        check(f"parameters.{name}", name, settable, kind)
    for name, quantity in ph.inputs.items():
        check(f"inputs.{name}", name, settable, ("Real",))
        if quantity not in BATCH_INPUTS and species_of(quantity) is None:
            out.append(f"inputs.{name}: {quantity!r} is not a batch quantity (one of "
                       f"{', '.join(BATCH_INPUTS)}, mass.<species>, moles.<species>)")
    for quantity, name in ph.outputs.items():
        check(f"outputs.{quantity}", name, ("output",), ("Real",))
        if quantity not in BATCH_OUTPUTS and species_of(quantity) is None:
            out.append(f"outputs.{quantity}: not a batch quantity (one of "
                       f"{', '.join(BATCH_OUTPUTS)}, mass.<species>, moles.<species>)")
    if ph.end is not None:
        check("end", ph.end, ("output",), ("Boolean", "Integer", "Real"))
    return out


NETWORK_TAG = "react network"
"""Tag of :class:`ReactNetwork` in the phase union (not a ``phase`` value)."""


def _phase_tag(value: Any) -> Any:
    """The union tag of a phase: its ``phase`` key, a react phase with ``reactions`` is a
    network."""
    if isinstance(value, dict):
        phase = value.get("phase")
        return NETWORK_TAG if phase == "react" and "reactions" in value else phase
    return NETWORK_TAG if isinstance(value, ReactNetwork) else getattr(value, "phase", None)


BUILTIN_PHASES = (Charge, Thermal, React, ReactNetwork, Crystallise, Separate, Dry, Ferment,
                  Clean, Hold, Fmu)
"""The built-in phase models; more are registered with
:func:`twin.data.registry.register_phase`."""

Phase = registry.union_type(PhaseBase, _phase_tag, registry.phase_class,
                            lambda: registry.phase_adapter(_phase_tag))
"""Any registered recipe phase, chosen by its ``phase`` key (and ``reactions`` for a
network)."""
