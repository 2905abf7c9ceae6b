"""Scenario and sweep specifications: a base line, overrides, run settings, timed events.

A scenario is data, like a line: a TOML file or a Python object, validated with errors that
name the bad path. Overrides are dotted paths into the line spec
(``"stations.assembly.servers" = 3``); timed events change the line while it runs (a failure
injected at a time, an outage of several stations, a new cycle-time or arrival distribution
from a time on). A ``[sweep]`` turns one scenario into a designed experiment over factors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from twin.data import spec as S
from twin.data.checks import Problem, SpecError, schema_problems
from twin.data.distributions import Distribution
from twin.data.optimise import OptimiseSpec
from twin.data.quantities import Duration, PositiveInt
from twin.data.spec import Model, Name


class InjectedFailure(Model):
    """Stop a station (all its servers, or one) at ``at`` for ``duration`` (state ``down``)."""

    kind: Literal["failure"]
    station: Name
    at: Duration = Field(ge=0.0)
    duration: Duration = Field(gt=0.0)
    server: int | None = Field(None, ge=0)


class Outage(Model):
    """A utility outage: the listed stations (default: all equipment) are down together."""

    kind: Literal["outage"]
    at: Duration = Field(ge=0.0)
    duration: Duration = Field(gt=0.0)
    stations: list[Name] | None = None
    utility: str = "electricity"


class Change(Model):
    """From ``at`` on, a station uses a new distribution: ``what`` is ``interarrival`` (of a
    source: a demand change) or ``cycle_time`` (of equipment: a setpoint or recipe change)."""

    kind: Literal["change"]
    at: Duration = Field(ge=0.0)
    station: Name
    what: Literal["interarrival", "cycle_time"]
    value: Distribution


class Fouling(Model):
    """From ``at`` on, the jacket of a process station transfers heat with ``factor`` times
    its ``ua`` (a fouled jacket: ``factor`` < 1): every heat, cool and react phase that
    starts from then on uses it; a phase already running keeps the UA it started with."""

    kind: Literal["fouling"]
    at: Duration = Field(ge=0.0)
    station: Name
    factor: float = Field(gt=0.0, allow_inf_nan=False)


TimedEvent = Annotated[InjectedFailure | Outage | Change | Fouling,
                       Field(discriminator="kind")]
"""Any timed event, chosen by its ``kind``."""


class ScenarioRun(Model):
    """Run settings of a scenario; unset values fall back to the line's ``[run]``."""

    duration: Duration | None = Field(None, gt=0.0)
    warmup: Literal["auto"] | Duration | None = None
    replications: PositiveInt | Literal["auto"] = 1
    seed: int = Field(1, ge=0)
    target_kpi: str = Field("throughput_per_h", description="KPI for replications = 'auto'")
    target_half_width: float = Field(
        0.05, gt=0.0, description="relative half width of the 95% CI for replications = 'auto'")
    min_replications: int = Field(5, ge=2)
    max_replications: int = Field(50, ge=2)
    engine: Literal["simpy", "compiled", "auto"] = Field(
        "auto", description="engine of every run: 'auto' runs a discrete line on the "
        "compiled engine when it supports the line (else SimPy)")
    calibrated: Literal["estimate", "sample"] | None = Field(
        None, description="'sample': each run takes draw number = its seed of the line's "
        "calibrated parameters (replication r of every point the same draw); default: the "
        "line's run.calibrated")
    record: Literal["tables", "kpis"] | None = Field(
        None, description="what every run keeps: 'tables' or 'kpis' (only KPIs, station and "
        "energy tables); default: the line's run.record")

    @model_validator(mode="after")
    def _bounds(self) -> ScenarioRun:
        if self.max_replications < self.min_replications:
            raise ValueError("max_replications must be >= min_replications")
        return self


class Factor(Model):
    """A factor of a sweep: explicit ``levels``, or a range ``low``..``high`` (numbers or
    quantities in one unit, e.g. ``"2 min"``..``"6 min"``) sampled by the design."""

    levels: list[Any] | None = Field(None, min_length=1)
    low: float | str | None = None
    high: float | str | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> Factor:
        if (self.levels is None) == (self.low is None or self.high is None):
            raise ValueError("give either 'levels' or both 'low' and 'high'")
        return self


class SweepSpec(Model):
    """A designed experiment over factors (dotted paths into the line spec)."""

    design: Literal["grid", "lhs", "sobol", "oat"] = "grid"
    samples: PositiveInt | None = Field(
        None, description="design points for lhs and sobol (sobol rounds up to a power of 2)")
    seed: int = Field(0, ge=0, description="seed of the lhs / sobol design")
    factors: dict[str, Factor] = Field(min_length=1)

    @model_validator(mode="after")
    def _samples(self) -> SweepSpec:
        if self.design in ("lhs", "sobol") and self.samples is None:
            raise ValueError(f"design {self.design!r} needs 'samples'")
        return self


class ScenarioSpec(Model):
    """A scenario: the root of a scenario TOML file."""

    name: Name
    line: str = Field(description="path of the base line file, relative to the scenario file")
    description: str = ""
    overrides: dict[str, Any] = {}
    run: ScenarioRun = ScenarioRun()
    events: list[TimedEvent] = []
    sweep: SweepSpec | None = None
    optimise: OptimiseSpec | None = None
    rank_by: str = Field("throughput_per_h", description="line KPI that ranks configurations")
    maximize: bool | None = Field(
        None, description="true: higher is better; default: the KPI's direction in the catalogue")


def parse_events(events: Any, path: str = "events") -> tuple[Any, ...]:
    """Timed events as models: each item a :data:`TimedEvent` or its data (a dict with its
    ``kind``), validated here (a :class:`SpecError` locates a bad one at ``events[i]...``)."""
    adapter = TypeAdapter(TimedEvent)
    out, problems = [], []
    for i, ev in enumerate(events):
        if isinstance(ev, InjectedFailure | Outage | Change | Fouling):
            out.append(ev)
            continue
        try:
            out.append(adapter.validate_python(ev))
        except ValidationError as err:
            kind = ev.get("kind") if isinstance(ev, dict) else None
            for p in schema_problems(err):
                key = p.path.removeprefix(f"{kind}.") if kind and p.path != kind else p.path
                problems.append(Problem(f"{path}[{i}]" + (f".{key}" if key else ""), p.message))
    if problems:
        raise SpecError(problems, "timed events")
    return tuple(out)


def event_problems(line: S.LineSpec, events: list[Any], path: str = "events") -> list[Problem]:
    """Check timed events against a line: stations exist and can take the event."""
    out: list[Problem] = []
    for i, ev in enumerate(events):
        where = f"{path}[{i}]"
        names = ev.stations or [] if isinstance(ev, Outage) else [ev.station]
        for name in names:
            st = line.stations.get(name)
            if st is None:
                out.append(Problem(f"{where}.station", f"no station named {name!r}"))
            elif isinstance(ev, InjectedFailure | Outage) and not isinstance(st, S.Equipment):
                out.append(Problem(f"{where}.station", f"{name!r} is a {st.type}: it cannot fail"))
            elif isinstance(ev, InjectedFailure) and ev.server is not None and isinstance(
                    st, S.Equipment) and ev.server >= st.servers:
                out.append(Problem(f"{where}.server", f"{name!r} has {st.servers} server(s)"))
            elif isinstance(ev, Fouling):
                if not isinstance(st, S.Process) or not any(
                        getattr(ph, "ua", None) is not None for ph in _phases(st)):
                    out.append(Problem(f"{where}.station", f"{name!r} ({st.type}) has no "
                                       "jacket: no heat, cool or react phase with a ua"))
            elif isinstance(ev, Change):
                want = S.Source if ev.what == "interarrival" else S.Equipment
                if not isinstance(st, want) or (ev.what == "interarrival"
                                                and st.interarrival is None):
                    out.append(Problem(f"{where}.what",
                                       f"{name!r} ({st.type}) has no {ev.what} to change"))
    return out


def _phases(st: S.Process) -> list[Any]:
    """Every phase of a process station's recipes."""
    recipes = [st.recipe, *st.product_recipes.values()]
    if st.rework_recipe is not None:
        recipes.append(st.rework_recipe)
    return [ph for r in recipes for ph in r]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (for editors and ``twin schema --scenario``)."""
    schema = ScenarioSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Pilot Twin scenario specification"
    return schema
