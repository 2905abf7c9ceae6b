"""The pilot data formats: one declaration per kind of record, read by the loader, the checks,
the JSON Schemas (``twin pilotdata schema``) and docs/PILOT_DATA.md.

Every format is a table (CSV with a header row, or Parquet) whose columns are declared here
with their kind, whether they are required, and for unit columns the physical dimension the
unit must have. Times are ISO 8601 timestamps with a time zone (``2026-03-02T06:15:00+08:00``
or ``...Z``); the loader turns them into UTC. A format carries a version: a Parquet file may
state the format it follows in its metadata key ``pilot_twin.format`` (``"events/1"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from twin.observation.recorder import STATES

ColumnKind = Literal["text", "time", "number", "choice", "unit"]

EVENT_KINDS = ("release", "start", "complete")
"""Values of ``event`` in an event log: a part or lot is released into the line (``station``:
the source that released it), or starts or completes work at a station."""
OUTCOMES = ("good", "scrap", "rework")
"""Values of ``outcome`` on a ``complete`` event (blank = good)."""
QUALITIES = ("good", "uncertain", "bad")
"""Values of ``quality`` in a time series (OPC UA status classes; blank = good)."""


@dataclass(frozen=True)
class Column:
    """One column of a format.

    ``dimension`` (unit columns only) names what the unit must measure: a key of
    :data:`twin.data.units.DIMENSIONS`, ``"tag"`` (the dimension of the tag's unit in the
    tag map) or ``"quantity"`` (the dimension of the row's sample quantity,
    :data:`SAMPLE_QUANTITIES`). ``formerly``: the column's names in earlier versions of the
    format (a file that has one of them and not ``name`` is read as if it had ``name``).
    """

    name: str
    kind: ColumnKind
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()
    dimension: str | None = None
    formerly: tuple[str, ...] = ()


@dataclass(frozen=True)
class Format:
    """A versioned table format.

    ``time`` is the column that orders rows and ``sequence`` the columns whose rows form one
    time-ordered sequence (one tag of a time series, one unit of a state log).
    """

    name: str
    version: int
    title: str
    description: str
    columns: tuple[Column, ...]
    time: str
    sequence: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """The format and version, as written in Parquet metadata (``events/1``)."""
        return f"{self.name}/{self.version}"

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)

    def required(self) -> list[str]:
        """Names of the columns a file must have."""
        return [c.name for c in self.columns if c.required]

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema (draft 2020-12) of the format: an array of row objects."""
        props: dict[str, Any] = {}
        for c in self.columns:
            prop: dict[str, Any] = {"description": c.description}
            if c.kind == "time":
                prop.update(type="string", format="date-time")
            elif c.kind == "number":
                prop["type"] = "number"
            elif c.kind == "choice":
                prop["enum"] = list(c.choices) + ([] if c.required else [""])
            else:
                prop["type"] = "string"
            if c.dimension:
                prop["x-dimension"] = c.dimension
            if c.formerly:
                prop["x-formerly"] = list(c.formerly)
            props[c.name] = prop
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://pilot-twin.org/schemas/pilotdata/{self.name}-{self.version}.json",
            "title": f"Pilot Twin pilot data: {self.title} (version {self.version})",
            "description": self.description,
            "x-format": self.tag,
            "type": "array",
            "items": {"type": "object", "properties": props, "required": self.required(),
                      "additionalProperties": True},
        }


    def markdown(self) -> str:
        """The format as a Markdown section (the column tables of docs/PILOT_DATA.md)."""
        out = [f"### `{self.name}` (version {self.version}): {self.title}", "",
               self.description, "", "| column | kind | required | meaning |",
               "|---|---|---|---|"]
        for c in self.columns:
            kind = c.kind + (f" ({', '.join(c.choices)})" if c.choices else "")
            kind += f" [{c.dimension}]" if c.dimension else ""
            before = f" (version 1: `{'`, `'.join(c.formerly)}`)" if c.formerly else ""
            out.append(f"| `{c.name}` | {kind} | {'yes' if c.required else 'no'} | "
                       f"{c.description}{before} |")
        return "\n".join(out)


def _c(name: str, kind: ColumnKind, description: str, **kw: Any) -> Column:
    return Column(name, kind, description, **kw)


EVENTS = Format(
    "events", 1, "part and lot event log",
    "One row per release of a part or lot into the line, or per start or completion of work "
    "on it at a station (an MES log). Every start needs a later complete of the same id at "
    "the same station; a release is optional (without it lead times start at the first "
    "start).",
    (
        _c("id", "text", "part or lot identifier"),
        _c("product", "text", "product (part type) of the part or lot"),
        _c("station", "text", "station where the work happens (a station of the line)"),
        _c("event", "choice", "release, start or complete", choices=EVENT_KINDS),
        _c("time", "time", "when it happened (ISO 8601 with a time zone)"),
        _c("resource", "text", "the machine or server of the station that did the work",
           required=False),
        _c("outcome", "choice", "on a complete: good, scrap or rework (blank: good)",
           required=False, choices=OUTCOMES),
    ),
    time="time",
)

STATE_LOG = Format(
    "states", 1, "equipment state log",
    "One row per change of state of one unit (server) of a station; a state lasts until the "
    "next row of the same unit, or until ``end`` if given.",
    (
        _c("station", "text", "station of the unit"),
        _c("unit", "text", "unit (server) of the station"),
        _c("state", "choice", "the state entered", choices=STATES),
        _c("start", "time", "when the state began (ISO 8601 with a time zone)"),
        _c("end", "time", "when it ended (optional; default: the next row of the unit)",
           required=False),
        _c("reason", "text", "failure mode or reason code", required=False),
    ),
    time="start", sequence=("station", "unit"),
)

BATCHES = Format(
    "batches", 1, "batch records",
    "One row per executed phase of a batch on a unit, with the quantities charged and "
    "discharged in it.",
    (
        _c("batch", "text", "batch identifier"),
        _c("unit", "text", "equipment unit (station) that ran the phase"),
        _c("phase", "text", "phase name (charge, react, dry, ...)"),
        _c("start", "time", "start of the phase (ISO 8601 with a time zone)"),
        _c("end", "time", "end of the phase (ISO 8601 with a time zone)"),
        _c("charged", "number", "quantity charged in the phase", required=False),
        _c("discharged", "number", "quantity discharged in the phase", required=False),
        _c("quantity_unit", "unit", "unit of charged and discharged (a mass)",
           required=False, dimension="mass"),
    ),
    time="start", sequence=("unit",),
)

TIMESERIES = Format(
    "timeseries", 1, "historian time series",
    "One row per sample of a plant tag, with its unit and quality flag.",
    (
        _c("time", "time", "sample time (ISO 8601 with a time zone)"),
        _c("tag", "text", "plant tag (mapped to a model signal by the tag map)"),
        _c("value", "number", "sample value in ``unit``"),
        _c("unit", "unit", "unit of the value (of the tag's dimension in the tag map)",
           dimension="tag"),
        _c("quality", "choice", "good, uncertain or bad (blank: good)", required=False,
           choices=QUALITIES),
    ),
    time="time", sequence=("tag",),
)

@dataclass(frozen=True)
class SampleQuantity:
    """What a lab sample measures (a value of the ``quantity`` column of ``samples``).

    ``dimensions``: the pint dimensionalities its unit may have (``"dimensionless"`` for
    mass ratios); ``si``: the SI unit values are converted to; ``species``: what the row's
    ``species`` names.
    """

    name: str
    description: str
    dimensions: tuple[str, ...]
    si: str
    species: str


SAMPLE_QUANTITIES: dict[str, SampleQuantity] = {q.name: q for q in (
    SampleQuantity("concentration", "amount or mass of the species per volume of the batch",
                   ("[substance] / [length] ** 3", "[mass] / [length] ** 3"),
                   "mol/m3 or kg/m3", "the species"),
    SampleQuantity("mass_ratio", "mass of the dissolved species per mass of solvent (a "
                   "crystalliser's solute)", ("dimensionless",), "kg/kg solvent",
                   "the dissolved species"),
    SampleQuantity("moisture", "solvent content on a dry basis: kg of solvent per kg of dry "
                   "solid", ("dimensionless",), "kg/kg dry", "the solvent"),
    SampleQuantity("moisture_wet", "solvent content on a wet basis (loss on drying): kg of "
                   "solvent per kg of wet solid, below 1; read as X = w / (1 - w) on a dry "
                   "basis", ("dimensionless",), "kg/kg wet", "the solvent"),
    SampleQuantity("sauter_mean_size", "Sauter mean crystal size D[3,2] = mu3 / mu2",
                   ("[length]",), "m", "the crystal"),
    SampleQuantity("number_mean_size", "number mean crystal size D[1,0] = mu1 / mu0",
                   ("[length]",), "m", "the crystal"),
    *(SampleQuantity(f"moment_{k}", f"moment mu{k} of the crystal size distribution per "
                     f"mass of solvent{' (the crystal number)' if k == 0 else ''}",
                     (f"{'1' if k == 0 else '[length]' + (f' ** {k}' if k > 1 else '')}"
                      " / [mass]",), f"{('m' + (str(k) if k > 1 else '')) if k else '1'}/kg",
                     "the crystal")
      for k in range(4)),
)}
"""The quantities a lab sample may measure, by name (declared once: the loader converts and
checks units by it, calibration maps each to a model variable)."""


def quantities_markdown() -> str:
    """The sample quantities as a Markdown table (docs/PILOT_DATA.md)."""
    out = ["| quantity | meaning | unit dimension | SI | `species` names |",
           "|---|---|---|---|---|"]
    out += [f"| `{q.name}` | {q.description} | {' or '.join(q.dimensions)} | {q.si} | "
            f"{q.species} |" for q in SAMPLE_QUANTITIES.values()]
    return "\n".join(out)


SAMPLES = Format(
    "samples", 2, "lab samples",
    "One row per measured quantity of a sample taken from a batch: a concentration of a "
    "species, a moisture content, a crystal size or moment (``quantity``; blank: "
    "concentration). Version 1 (concentrations only, column ``concentration``) is read as "
    "version 2.",
    (
        _c("batch", "text", "batch the sample was taken from"),
        _c("time", "time", "sampling time (ISO 8601 with a time zone)"),
        _c("species", "text", "species measured (for a moisture: the solvent; for a size "
           "or moment: the crystal)"),
        _c("quantity", "choice", "what is measured (blank: concentration)", required=False,
           choices=tuple(SAMPLE_QUANTITIES)),
        _c("value", "number", "measured value in ``unit``", formerly=("concentration",)),
        _c("unit", "unit", "unit of the value, of the quantity's dimension (mol/L, g/L, "
           "kg/kg, %, um, 1/kg, ...)", dimension="quantity"),
    ),
    time="time", sequence=("batch", "species", "quantity"),
)

TAGMAP = Format(
    "tagmap", 1, "tag map",
    "Links plant tags to model signals (``temperature.reactor``, ``buffer.cnc``) and fixes "
    "the unit each tag is recorded in; ``max_gap`` flags gaps in its time series; ``low`` "
    "and ``high`` bound its plausible values (samples and live readings outside are "
    "rejected as out of range).",
    (
        _c("tag", "text", "plant tag as written in the time series"),
        _c("signal", "text", "model signal the tag measures"),
        _c("unit", "unit", "unit the tag is recorded in", dimension="any"),
        _c("max_gap", "text", "longest normal interval between samples (e.g. '5 min'); "
           "default 5 x the median interval", required=False),
        _c("low", "number", "lowest plausible value, in ``unit`` (blank: no limit)",
           required=False),
        _c("high", "number", "highest plausible value, in ``unit`` (blank: no limit)",
           required=False),
        _c("description", "text", "free text", required=False),
    ),
    time="", sequence=("tag",),
)

FORMATS: dict[str, Format] = {f.name: f for f in (EVENTS, STATE_LOG, BATCHES, TIMESERIES,
                                                   SAMPLES, TAGMAP)}
"""Every pilot data format by name."""
