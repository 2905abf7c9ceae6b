"""The state of a line at a time: the one vocabulary for starting runs from a state, forking
stored runs and syncing to a plant.

A :class:`LineState` says where every part is and what every unit is doing at ``time`` [s of
the run; run time 0 is a Monday 00:00 of the line's calendar, ``origin`` its wall-clock
date]: parts waiting in buffers (with id, product, arrival time), parts and batches in
process (elapsed work time, phase, composition, temperature), units stopped (failure mode,
elapsed and remaining stop time if known), tank contents and where each source stands.
Everything that happened at ``time`` itself is over: a run started from the state goes on
with what happens after it.

It round-trips through JSON (:meth:`LineState.to_json`, :meth:`LineState.from_json`; the
file format is in ``docs/LIVE.md``) and :func:`state_problems` checks it against a line,
each problem at its key path (``stations.cnc.units[0].phase: ...``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from twin.data import spec as S
from twin.data.checks import Problem, SpecError, schema_problems
from twin.data.model import Model

STATE_VERSION = 1
"""Version of the state file format."""

WEEK_S = 7 * 86400.0
"""Length of the calendar's week [s]; run time 0 is a Monday 00:00."""

UnitStateName = Literal["producing", "idle", "blocked", "setup", "down", "off", "maintenance",
                        "waiting"]
"""A unit's state (the recorder's state names)."""


class PartState(Model):
    """One part (or batch) in the line.

    ``composition`` [kg per species] and ``temperature`` [K] are a batch's as it entered its
    current phase (the engine applies a phase's material flows when the phase ends); empty
    and ``None`` for discrete parts.
    """

    id: int = Field(ge=0)
    product: str
    name: str = Field("", description="the plant's id of the part or lot")
    created: float = Field(description="when the part entered the line [s of the run]")
    arrived: float | None = Field(None, description="when it entered its buffer [s]")
    reworks: int = Field(0, ge=0)
    composition: dict[str, float] = {}
    temperature: float | None = Field(None, gt=0.0, description="[K]")


class StopState(Model):
    """A failure or maintenance stop in force: ``elapsed`` [s] so far, ``remaining`` [s] if
    known (``None``: drawn from the repair-time distribution conditioned on ``elapsed``)."""

    kind: Literal["failure", "maintenance"]
    mode: str = Field("", description="failure mode (its name in the spec)")
    elapsed: float = Field(0.0, ge=0.0)
    remaining: float | None = Field(None, ge=0.0)


class UnitState(Model):
    """One server of a station.

    ``parts`` are the parts it holds: in process (``elapsed`` [s] of work done on them,
    stops excluded) or, when ``finished``, done and waiting to be handed on (``blocked``;
    ``to``: the station they wait for when it is not the route's choice, e.g. a rework).
    A process unit's batch is in ``phase`` (its name in the recipe, or its kind when the
    phase has no name), ``elapsed`` being the work time in that phase. ``ages``: producing
    time [s] since the last repair of each operating-time failure mode, or calendar time
    for calendar-time modes (missing: a repair just ended). ``last_product``: the product
    it last started work on (a setup is due when the next differs; missing: none is).
    """

    server: int = Field(ge=0)
    state: UnitStateName = "idle"
    since: float | None = Field(None, description="when it entered its state [s]")
    parts: list[PartState] = []
    elapsed: float = Field(0.0, ge=0.0)
    phase: str | None = None
    phase_index: int | None = Field(None, ge=0, description="position of ``phase`` in the "
                                    "recipe (needed only where phase names repeat)")
    finished: bool | None = Field(None, description="parts done, waiting to leave "
                                  "(default: state == 'blocked')")
    to: str | None = None
    stop: StopState | None = None
    ages: dict[str, float] = {}
    last_product: str | None = Field(None, description="product it last started work on "
                                     "(a different next one needs a setup)")

    @property
    def done(self) -> bool:
        """Whether its parts are finished (waiting to be handed on)."""
        return self.state == "blocked" if self.finished is None else self.finished


class SourceState(Model):
    """Where a source stands: parts released so far (``made``, for its ``limit``), time since
    its last arrival [s] (``None``: the next inter-arrival time is drawn whole) and parts
    released but still waiting to enter the line (``waiting``)."""

    made: int = Field(0, ge=0)
    since_arrival: float | None = Field(None, ge=0.0)
    waiting: list[PartState] = []


class StationState(Model):
    """One station: its input buffer (parts in arrival order), its units, and for a tank its
    contents [kg per species]; ``source`` for a source."""

    buffer: list[PartState] = []
    units: list[UnitState] = []
    level: dict[str, float] | None = None
    source: SourceState | None = None


class LineState(Model):
    """The state of a line at ``time`` [s of the run]."""

    version: int = STATE_VERSION
    line: str
    time: float = Field(ge=0.0, description="[s of the run]")
    origin: str | None = Field(None, description="wall-clock date of run time 0 (ISO 8601)")
    next_part: int | None = Field(None, ge=0, description="id of the next new part "
                                  "(default: one more than the highest id in the state)")
    stations: dict[str, StationState] = {}
    provenance: dict[str, Any] = Field({}, description="where the state comes from")

    @model_validator(mode="after")
    def _version(self) -> LineState:
        if self.version != STATE_VERSION:
            raise ValueError(f"state format version {self.version} is not supported "
                             f"(this Pilot Twin reads version {STATE_VERSION})")
        return self

    # ------------------------------------------------------------------ views

    def parts(self) -> list[tuple[str, PartState]]:
        """Every part in the state with the station that holds it."""
        out = []
        for name, st in self.stations.items():
            out += [(name, p) for p in st.buffer]
            out += [(name, p) for u in st.units for p in u.parts]
            if st.source is not None:
                out += [(name, p) for p in st.source.waiting]
        return out

    def first_new_part(self) -> int:
        """The id the next new part gets."""
        if self.next_part is not None:
            return self.next_part
        return max((p.id for _, p in self.parts()), default=-1) + 1

    def calendar(self) -> dict[str, Any]:
        """The calendar position of :attr:`time`: week, day of the week (0 = Monday) and
        time of day [s]."""
        week, in_week = divmod(self.time, WEEK_S)
        day, of_day = divmod(in_week, 86400.0)
        return {"week": int(week), "weekday": int(day), "time_of_day_s": of_day}

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> str:
        """The state as a JSON document (numbers in SI units; keys at their defaults are
        left out)."""
        data = {"version": self.version, **self.model_dump(mode="json", exclude_defaults=True)}
        return json.dumps(data, indent=1)

    def save(self, path: str | Path) -> Path:
        """Write the state file ``path``; returns it."""
        out = Path(path)
        out.write_text(self.to_json() + "\n", encoding="utf-8")
        return out

    @classmethod
    def from_json(cls, text: str, source: str = "state") -> LineState:
        """Read a state from JSON text.

        Raises
        ------
        twin.data.checks.SpecError
            With every problem at its key path (bad JSON, unknown keys, wrong types).
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError([Problem("", f"not valid JSON: {exc}")], source) from None
        return cls.parse(data, source)

    @classmethod
    def parse(cls, data: Any, source: str = "state") -> LineState:
        """A state from plain data (a dict as in the JSON file); errors as in
        :meth:`from_json`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError(schema_problems(exc), source) from None

    @classmethod
    def load(cls, path: str | Path) -> LineState:
        """Read the state file ``path`` (errors as in :meth:`from_json`)."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"), str(path))


def state_problems(state: LineState, line: S.LineSpec) -> list[Problem]:
    """Everything in ``state`` that does not fit ``line``, each at its key path: unknown
    stations, products, species, phases and failure modes; more parts than a buffer and the
    servers hold; a part in two places; times after the state's time; negative amounts."""
    out: list[Problem] = []
    if state.line != line.line.name:
        out.append(Problem("line", f"the state is of line {state.line!r}, not "
                           f"{line.line.name!r}"))
    seen: dict[int, str] = {}
    for name, st in state.stations.items():
        where = f"stations.{name}"
        spec = line.stations.get(name)
        if spec is None:
            out.append(Problem(where, f"no station named {name!r} in line {line.line.name!r}"))
            continue
        out += _station_problems(state, line, where, spec, st, seen)
    nxt = state.next_part
    if nxt is not None and seen and nxt <= max(seen):
        out.append(Problem("next_part", f"{nxt} is not above the highest part id in the "
                           f"state ({max(seen)})"))
    return out


def _station_problems(state: LineState, line: S.LineSpec, where: str, spec: Any,
                      st: StationState, seen: dict[int, str]) -> list[Problem]:
    out: list[Problem] = []
    kind = spec.type
    for i, part in enumerate(st.buffer):
        out += _part_problems(state, line, f"{where}.buffer[{i}]", part, seen)
    if st.source is not None:
        if not isinstance(spec, S.Source):
            out.append(Problem(f"{where}.source", f"{where} is a {kind}, not a source"))
        for i, part in enumerate(st.source.waiting):
            out += _part_problems(state, line, f"{where}.source.waiting[{i}]", part, seen)
    if st.level is not None:
        if not isinstance(spec, S.Tank):
            out.append(Problem(f"{where}.level", f"{where} is a {kind}, not a tank"))
        else:
            out += _amount_problems(line, f"{where}.level", st.level)
            total = sum(st.level.values())
            if total > spec.capacity * (1 + 1e-9):
                out.append(Problem(f"{where}.level", f"{total:g} kg is over the tank's "
                                   f"capacity of {spec.capacity:g} kg"))
    servers = getattr(spec, "servers", None)
    if servers is None:
        if st.units or st.buffer:
            out.append(Problem(where, f"a {kind} has no buffer or units"))
        return out
    if isinstance(spec, S.Assembly | S.Continuous) and (
            st.buffer or any(u.parts for u in st.units)):
        out.append(Problem(where, f"starting a {kind} station with parts in it is not "
                           "supported (only empty ones)"))
    cap = spec.buffer
    if cap is not None and len(st.buffer) > cap:
        out.append(Problem(f"{where}.buffer", f"{len(st.buffer)} parts in a buffer of {cap}"))
    servers_seen: set[int] = set()
    per_unit = getattr(spec, "batch_size", 1)
    for j, unit in enumerate(st.units):
        uw = f"{where}.units[{j}]"
        if unit.server >= servers:
            out.append(Problem(f"{uw}.server", f"server {unit.server} of a station with "
                               f"{servers} server(s)"))
        if unit.server in servers_seen:
            out.append(Problem(f"{uw}.server", f"server {unit.server} appears twice"))
        servers_seen.add(unit.server)
        if len(unit.parts) > per_unit and not isinstance(spec, S.Assembly):
            out.append(Problem(f"{uw}.parts", f"{len(unit.parts)} parts on a server that "
                               f"holds {per_unit}"))
        for i, part in enumerate(unit.parts):
            out += _part_problems(state, line, f"{uw}.parts[{i}]", part, seen)
        out += _unit_problems(state, line, uw, spec, unit)
    return out


def _unit_problems(state: LineState, line: S.LineSpec, uw: str, spec: Any,
                   unit: UnitState) -> list[Problem]:
    out: list[Problem] = []
    if unit.since is not None and unit.since > state.time:
        out.append(Problem(f"{uw}.since", f"{unit.since:g} s is after the state's time "
                           f"{state.time:g} s"))
    if unit.state in ("producing", "setup", "waiting") and not unit.parts and (
            not isinstance(spec, S.Continuous)):
        out.append(Problem(f"{uw}.state", f"a unit {unit.state} must hold a part"))
    if unit.state == "blocked" and not unit.parts:
        out.append(Problem(f"{uw}.state", "a blocked unit must hold the part it waits "
                           "to hand on"))
    if unit.state in ("down", "maintenance"):
        if unit.stop is None:
            out.append(Problem(f"{uw}.stop", f"a unit {unit.state} needs its stop "
                               "(kind, mode, elapsed, remaining)"))
        elif (unit.stop.kind == "failure") != (unit.state == "down"):
            out.append(Problem(f"{uw}.stop.kind", f"a {unit.stop.kind} stop for a unit "
                               f"{unit.state}"))
    elif unit.stop is not None:
        out.append(Problem(f"{uw}.stop", f"a stop for a unit {unit.state}"))
    if unit.stop is not None and unit.stop.kind == "maintenance" and spec.maintenance is None:
        out.append(Problem(f"{uw}.stop.kind", "maintenance at a station without a "
                           "maintenance plan"))
    modes = {f.name for f in spec.failures}
    if unit.stop is not None and unit.stop.kind == "failure" and unit.stop.mode not in modes:
        out.append(Problem(f"{uw}.stop.mode", f"no failure mode {unit.stop.mode!r} at this "
                           f"station (modes: {sorted(modes)})"))
    for mode, age in unit.ages.items():
        if mode not in modes:
            out.append(Problem(f"{uw}.ages.{mode}", f"no failure mode {mode!r} at this "
                               f"station (modes: {sorted(modes)})"))
        elif not (age >= 0 and math.isfinite(age)):
            out.append(Problem(f"{uw}.ages.{mode}", f"must be a time >= 0, got {age!r}"))
    if unit.last_product is not None and unit.last_product not in line.products:
        out.append(Problem(f"{uw}.last_product", f"no product named {unit.last_product!r}"))
    if unit.to is not None and unit.to not in line.stations:
        out.append(Problem(f"{uw}.to", f"no station named {unit.to!r}"))
    if isinstance(spec, S.Process):
        out += _phase_problems(uw, spec, unit)
    elif unit.phase is not None:
        out.append(Problem(f"{uw}.phase", f"a {spec.type} station has no recipe phases"))
    return out


def phase_names(recipe: list[Any]) -> list[str]:
    """The names phases are known by in states and records (name, else kind), in order."""
    return [ph.name or ph.phase for ph in recipe]


def _phase_problems(uw: str, spec: S.Process, unit: UnitState) -> list[Problem]:
    if not unit.parts or unit.done:
        return []
    product = unit.parts[0].product
    names = phase_names(spec.recipe_for(product))
    if unit.parts[0].reworks:
        names = phase_names(spec.rework_for(product))
    if unit.phase is None:
        return [Problem(f"{uw}.phase", f"a batch in process needs its phase (one of {names})")]
    if unit.phase not in names:
        return [Problem(f"{uw}.phase", f"the recipe of {product!r} has no phase "
                        f"{unit.phase!r} (phases: {names})")]
    i = unit.phase_index
    if i is not None and (i >= len(names) or names[i] != unit.phase):
        return [Problem(f"{uw}.phase_index", f"phase {i} of the recipe of {product!r} is "
                        f"not {unit.phase!r} (phases: {names})")]
    return []


def phase_position(recipe: list[Any], unit: UnitState) -> int:
    """Where ``unit``'s batch is in ``recipe`` (its phase index, else the first phase of
    its name)."""
    if unit.phase_index is not None:
        return unit.phase_index
    return phase_names(recipe).index(unit.phase)


def _part_problems(state: LineState, line: S.LineSpec, where: str, part: PartState,
                   seen: dict[int, str]) -> list[Problem]:
    out: list[Problem] = []
    if part.id in seen:
        out.append(Problem(f"{where}.id", f"part {part.id} is also at {seen[part.id]}"))
    seen[part.id] = where
    if part.product not in line.products:
        out.append(Problem(f"{where}.product", f"no product named {part.product!r} "
                           f"(products: {sorted(line.products)})"))
    for key in ("created", "arrived"):
        t = getattr(part, key)
        if t is not None and t > state.time:
            out.append(Problem(f"{where}.{key}", f"{t:g} s is after the state's time "
                               f"{state.time:g} s"))
    out += _amount_problems(line, f"{where}.composition", part.composition)
    return out


def _amount_problems(line: S.LineSpec, where: str, amounts: dict[str, float]) -> list[Problem]:
    out = []
    for species, kg in amounts.items():
        if species not in line.species:
            out.append(Problem(f"{where}.{species}", f"no species named {species!r}"))
        elif not (kg >= 0 and math.isfinite(kg)):
            out.append(Problem(f"{where}.{species}", f"amount must be >= 0 kg, got {kg!r}"))
    return out


def checked(state: LineState, line: S.LineSpec) -> LineState:
    """``state`` if it fits ``line``; else :class:`~twin.data.checks.SpecError` with every
    problem at its key path."""
    problems = state_problems(state, line)
    if problems:
        raise SpecError(problems, f"state of {state.line!r} at t = {state.time:g} s")
    return state
