"""Validation of line specs with plain, located error messages.

:func:`validate` checks a spec in two passes: the schema (types, units, ranges, unknown keys)
and then the topology (routes to missing stations, stations no part can reach, no exit,
products without a route, ...). Every problem is reported with the key path where it is, e.g.
``stations.washing.routes[0].to: no station named 'dryer'``; nothing raises an internal error
on malformed input.
"""

from __future__ import annotations

import difflib
import tomllib
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from twin.data import alarms as A
from twin.data import distributions as D
from twin.data import process as P
from twin.data import registry
from twin.data import spec as S
from twin.data.calibration import calibration_problems
from twin.data.distributions import DISTRIBUTION_NAMES
from twin.data.energy_schedule import DAY, avoided_intervals
from twin.data.runnable import runnable_problems


@dataclass(frozen=True)
class Problem:
    """One problem in a spec: where (a dotted key path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(ValueError):
    """A line spec is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem], source: str = "line spec") -> None:
        self.problems = problems
        self.source = source
        lines = [f"{len(problems)} problem(s) in {source}:"] + [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------- schema errors

_NAMESPACES = {"stations", "products", "operators", "product_cycle_time", "mix", "components"}


def _vocabulary() -> set[str]:
    words: set[str] = set()
    classes = [*registry.station_types().values(), *registry.phase_models().values()]
    for module in (S, D):
        classes += [obj for obj in vars(module).values() if isinstance(obj, type)]
    for obj in classes:
        if issubclass(obj, BaseModel):
            for name, field in obj.model_fields.items():
                words.add(field.alias or name)
    return words


def _distribution_keys(name: str) -> set[str]:
    """The keys a ``{dist = name, ...}`` table accepts (besides ``dist``)."""
    for obj in vars(D).values():
        if (isinstance(obj, type) and issubclass(obj, D.DistributionBase)
                and "dist" in obj.model_fields
                and name in get_args(obj.model_fields["dist"].annotation)):
            return {f.alias or n for n, f in obj.model_fields.items() if n != "dist"}
    return set()


def _path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        prev = loc[i - 1] if i else None
        if isinstance(item, int):
            parts.append(f"[{item}]")
            continue
        if i >= 2 and loc[i - 2] == "stations" and item in registry.station_types():
            continue  # the discriminator tag pydantic adds for a station
        if item in DISTRIBUTION_NAMES and prev not in _NAMESPACES:
            continue  # the discriminator tag of a distribution
        if item == P.NETWORK_TAG:
            item = "react"  # the union tag of a react phase with a reaction network
        if item == "value" and prev == "constant":
            continue  # a constant is usually written as a bare quantity
        if item.startswith("function-") or item == "[key]":
            continue  # validator wrappers; '[key]' marks an error in a table's key
        parts.append(("." if parts else "") + str(item))
    return "".join(parts)


_TAGGED = {"type": "station type", "dist": "distribution", "phase": "phase model",
           "kind": "event kind"}
"""What the discriminator key of each tagged union of the spec chooses (for messages)."""
_TAG_FUNCTIONS = {"_phase_tag()": "phase"}
"""Discriminator functions of tagged unions and the key they read."""


def _message(err: dict[str, Any], vocabulary: set[str]) -> str:
    kind = err["type"]
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key, loc = str(err["loc"][-1]), err["loc"]
        if len(loc) > 1 and loc[-2] in DISTRIBUTION_NAMES:
            params = sorted(_distribution_keys(str(loc[-2])))
            close = difflib.get_close_matches(key, params, n=1)
            hint = (f"did you mean {close[0]!r}?" if close
                    else f"its parameters: {', '.join(params)}")
            return f"{key!r} is not a parameter of a {loc[-2]} distribution ({hint})"
        if key in vocabulary:  # a real key, of another kind of entry
            kind_of = (str(loc[2]) if len(loc) > 3 and loc[0] == "stations"
                       and loc[2] in registry.station_types() else None)
            return (f"{key!r} does not apply to a station of type {kind_of!r}" if kind_of
                    else f"{key!r} does not apply here")
        close = difflib.get_close_matches(key, vocabulary, n=1)
        return f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return "required key is missing"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = str(ctx.get("discriminator", "")).strip("'")
        key = _TAG_FUNCTIONS.get(key, key)
        if kind == "union_tag_not_found":
            return f"needs a {key!r} key"
        expected = str(ctx.get("expected_tags")).replace(f"'{P.NETWORK_TAG}', ", "")
        return f"unknown {_TAGGED.get(key, 'kind')} {ctx.get('tag')!r} (expected one of " \
            f"{expected})"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return msg.replace("Input should be", "must be")
    if kind == "string_pattern_mismatch":
        return (f"{err['input']!r} is not a valid name (start with a letter; letters, digits, "
                "'_' and '-' only)")
    return msg.replace("Input should be", "expected")


def schema_problems(error: ValidationError) -> list[Problem]:
    """Turn a pydantic error into located, plain problems."""
    vocabulary = _vocabulary()
    return [Problem(_path(tuple(e["loc"])), _message(e, vocabulary)) for e in error.errors()]


# --------------------------------------------------------------------------- topology


def successors(st: Any) -> list[str]:
    """The stations a station can send a part to: its routes, then its rework loop."""
    nxt = [r.to for r in st.routes]
    if isinstance(st, S.Inspection) and st.rework_to:
        nxt.append(st.rework_to)
    return nxt


def topology_problems(line: S.LineSpec) -> list[Problem]:
    """Cross-reference and flow checks on a schema-valid spec."""
    out: list[Problem] = []
    stations, products = line.stations, line.products

    def product_ref(path: str, name: str | None) -> None:
        if name is not None and name not in products:
            out.append(Problem(path, f"no product named {name!r}"))

    for name, st in stations.items():
        base = f"stations.{name}"
        for i, r in enumerate(st.routes):
            if r.to not in stations:
                close = difflib.get_close_matches(r.to, list(stations), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                out.append(Problem(f"{base}.routes[{i}].to", f"no station named {r.to!r}{hint}"))
            elif isinstance(stations[r.to], S.Source):
                out.append(Problem(f"{base}.routes[{i}].to", f"{r.to!r} is a source"))
            for p in r.products or []:
                product_ref(f"{base}.routes[{i}].products", p)
        if isinstance(st, S.Sink):
            if st.routes:
                out.append(Problem(f"{base}.routes", "a sink has no routes"))
        elif not st.routes:
            out.append(Problem(f"{base}.routes", "no route: parts could never leave"))
        probs = [r.probability for r in st.routes]
        if any(p is not None for p in probs):
            if any(p is None for p in probs):
                out.append(Problem(f"{base}.routes", "give a probability on every route or none"))
            elif abs(sum(p for p in probs if p is not None) - 1.0) > 1e-9:
                out.append(Problem(f"{base}.routes", f"probabilities sum to {sum(probs)}, not 1"))
        if isinstance(st, S.Source):
            product_ref(f"{base}.product", st.product)
            for p in st.mix or {}:
                product_ref(f"{base}.mix.{p}", p)
            for i, rel in enumerate(st.schedule or []):
                product_ref(f"{base}.schedule[{i}].product", rel.product)
            if st.when_full == "lost":
                for i, r in enumerate(st.routes):
                    dest = stations.get(r.to)
                    if r.delay is not None:
                        out.append(Problem(f"{base}.routes[{i}].delay",
                                           "lost arrivals are decided at the hand-over; a "
                                           "source with when_full = 'lost' cannot have a "
                                           "transport delay"))
                    elif dest is not None and not isinstance(
                            dest, S.Machine | S.Inspection | S.Batch | S.Assembly | S.Sink):
                        out.append(Problem(f"{base}.routes[{i}].to",
                                           f"lost arrivals need a discrete station, not "
                                           f"{r.to!r} ({dest.type})"))
            if st.interarrival is None and st.schedule is None:
                for i, r in enumerate(st.routes):
                    dest = stations.get(r.to)
                    if r.delay is not None:
                        out.append(Problem(
                            f"{base}.routes[{i}].delay",
                            "an infinite supply hands parts over directly; put the transport "
                            "delay on the next station's route",
                        ))
                    elif isinstance(dest, S.Sink):
                        out.append(Problem(
                            f"{base}.routes[{i}].to",
                            f"an infinite supply straight into the sink {r.to!r} never ends",
                        ))
                    elif isinstance(dest, S.Equipment) and dest.buffer is None:
                        out.append(Problem(
                            f"{base}.routes[{i}].to",
                            f"an infinite supply into {r.to!r} needs a finite buffer there",
                        ))
        if isinstance(st, S.Equipment):
            for p in st.product_cycle_time:
                product_ref(f"{base}.product_cycle_time.{p}", p)
            if st.operator and st.operator.pool not in line.operators:
                out.append(Problem(f"{base}.operator.pool",
                                   f"no operator pool named {st.operator.pool!r}"))
            if st.energy_schedule is not None:
                out += _energy_schedule_problems(line, base, st)
        if isinstance(st, S.Inspection) and st.rework_to is not None:
            dest = stations.get(st.rework_to)
            if dest is None:
                out.append(Problem(f"{base}.rework_to", f"no station named {st.rework_to!r}"))
            elif not isinstance(dest, S.Equipment):
                out.append(Problem(f"{base}.rework_to", f"{st.rework_to!r} cannot rework"))
        if isinstance(st, S.Process):
            out += _process_problems(line, name, st)
        if isinstance(st, S.Tank):
            for k in st.initial:
                if k not in line.species:
                    out.append(Problem(f"{base}.initial.{k}", f"no species named {k!r}"))
            dests = [stations.get(r.to) for r in st.routes]
            if len(st.routes) != 1 or not isinstance(dests[0], S.Continuous):
                out.append(Problem(f"{base}.routes",
                                   "a tank routes to exactly one continuous unit"))
            if not line.species:
                out.append(Problem(base, "a tank needs species (a process line)"))
        if isinstance(st, S.Continuous):
            product_ref(f"{base}.product", st.product)
            feeders = [n for n, x in stations.items()
                       if isinstance(x, S.Tank) and any(r.to == name for r in x.routes)]
            if len(feeders) != 1:
                out.append(Problem(base, "a continuous unit draws from exactly one tank"))
            if st.utility is not None and st.utility not in line.utilities:
                out.append(Problem(f"{base}.utility", f"no utility named {st.utility!r}"))
        for i, r in enumerate(st.routes):
            dest = stations.get(r.to)
            if isinstance(dest, S.Continuous) and not isinstance(st, S.Tank):
                out.append(Problem(f"{base}.routes[{i}].to",
                                   f"{r.to!r} is continuous: route batches to its tank"))
        if isinstance(st, S.Assembly):
            for i, b in enumerate(st.base):
                product_ref(f"{base}.base[{i}]", b)
            product_ref(f"{base}.output_product", st.output_product)
            for p in st.components:
                product_ref(f"{base}.components.{p}", p)
    out += alarm_problems(line)
    out += [Problem(path, msg) for path, msg in calibration_problems(line)]
    if out:
        return out  # flow and physical checks need sound references
    return (_flow_problems(line) + physical_problems(line)
            + [Problem(path, msg) for path, msg in runnable_problems(line)])


def _energy_schedule_problems(line: S.LineSpec, base: str, st: S.Equipment) -> list[Problem]:
    """An energy schedule names periods of the line's tariff (or a grid limit with an hourly
    grid profile), leaves part of the day free and names phases only of a process station's
    recipes."""
    sched, where = st.energy_schedule, f"{base}.energy_schedule"
    assert sched is not None
    tariff = line.costs.electricity if line.costs is not None else None
    periods = {p.name: p for p in tariff.periods} if tariff is not None else {}
    out: list[Problem] = []
    if sched.avoid and not periods:
        out.append(Problem(f"{where}.avoid", "needs time-of-use periods in "
                           "[costs.electricity].periods to avoid"))
    elif sched.avoid:
        out += [Problem(f"{where}.avoid[{i}]", f"no tariff period named {name!r}; periods: "
                        + ", ".join(sorted(periods)))
                for i, name in enumerate(sched.avoid) if name not in periods]
    if sched.avoid_grid_above is not None and line.energy.grid.hourly is None:
        out.append(Problem(f"{where}.avoid_grid_above", "needs an hourly grid emission "
                           "profile in [energy.grid].hourly"))
    if not out:
        if sum(b - a for a, b in avoided_intervals(sched, tariff, line.energy.grid)) >= DAY:
            out.append(Problem(f"{where}.avoid", "the avoided hours cover the whole day: work "
                               "could never start"))
    if isinstance(st, S.Process) and not sched.phases:
        out.append(Problem(f"{where}.phases", "name the recipe phases to schedule (a batch "
                           "is not held between phases unless they are named)"))
    if sched.phases and not isinstance(st, S.Process):
        out.append(Problem(f"{where}.phases", "only a process station has recipe phases"))
    elif sched.phases:
        recipes = [st.recipe, *st.product_recipes.values(), st.rework_recipe]
        known = {k for r in recipes if r for ph in r for k in (ph.name, ph.phase) if k}
        out += [Problem(f"{where}.phases[{i}]", f"no recipe phase named {name!r}")
                for i, name in enumerate(sched.phases) if name not in known]
    return out


def alarm_problems(line: S.LineSpec) -> list[Problem]:
    """Alarm tags name signals of this line (or their residuals, one alarm each); a
    utility's limit has its kind's dimension."""
    out: list[Problem] = []
    tags = A.signal_tags(line) | A.residual_tags(line)
    for name, alarm in line.alarms.items():
        dim = tags.get(alarm.tag)
        if dim is None:
            kind = alarm.kind
            known = sorted(t for t in tags if A.tag_kind(t) == kind) or sorted(tags)
            close = difflib.get_close_matches(alarm.tag, list(tags), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(Problem(f"alarms.{name}.tag", f"no signal {alarm.tag!r}{hint}; known: "
                               + ", ".join(known)))
        elif dim != alarm.dimension:
            out.append(Problem(f"alarms.{name}.limit",
                               f"{alarm.tag!r} is a {dim.replace('_', ' ')}, the limit a "
                               f"{alarm.dimension.replace('_', ' ')}"))
    residual: dict[str, str] = {}
    for name, alarm in line.alarms.items():
        if alarm.kind == "residual" and residual.setdefault(alarm.tag, name) != name:
            out.append(Problem(f"alarms.{name}.tag", (
                f"{alarm.tag!r} already has the alarm {residual[alarm.tag]!r}: one alarm per "
                "residual (its detector has one limit)")))
    windows: dict[str, tuple[str, float]] = {}
    for name, alarm in line.alarms.items():
        if alarm.kind != "kpi":
            continue
        first = windows.setdefault(alarm.tag, (name, alarm.kpi_window))
        if first[1] != alarm.kpi_window:
            out.append(Problem(f"alarms.{name}.window",
                               f"alarms on {alarm.tag!r} share one window: {first[0]!r} uses "
                               f"{first[1]:g} s, this one {alarm.kpi_window:g} s"))
    return out


def _process_problems(line: S.LineSpec, name: str, st: S.Process) -> list[Problem]:
    """Species and utilities referenced by a recipe exist; reactions conserve mass."""
    out: list[Problem] = []
    for key in st.product_recipes:
        if key not in line.products:
            out.append(Problem(f"stations.{name}.product_recipes.{key}",
                               f"no product named {key!r}"))
    for field, recipe in _recipes(st):
        out += _recipe_problems(line, f"stations.{name}.{field}", recipe)
    return out


def _recipe_problems(line: S.LineSpec, path: str, recipe: list[Any]) -> list[Problem]:
    """The problems of one recipe's phases (``path`` is where the recipe is)."""
    out: list[Problem] = []
    species, utilities = line.species, line.utilities
    for i, ph in enumerate(recipe):
        where = f"{path}[{i}]"
        refs = ph.species_refs()
        found = len(out)
        for key, sp in refs:
            if sp is not None and sp not in species:
                out.append(Problem(f"{where}.{key}", f"no species named {sp!r}"))
        util = getattr(ph, "utility", None)
        if util is not None and util not in utilities:
            out.append(Problem(f"{where}.utility", f"no utility named {util!r}"))
        elif util is not None and utilities[util].is_medium:
            out.append(Problem(f"{where}.utility",
                               f"{util!r} is a medium: list it under 'uses' with a volume"))
        for medium in ph.uses:
            if medium not in utilities:
                out.append(Problem(f"{where}.uses.{medium}", f"no utility named {medium!r}"))
            elif not utilities[medium].is_medium:
                out.append(Problem(f"{where}.uses.{medium}",
                                   f"{medium!r} carries energy: give it as 'utility'"))
        if isinstance(ph, P.React) and len(out) == found:
            out += _stoichiometry_problems(where, ph, species)
        if isinstance(ph, P.ReactNetwork) and len(out) == found:
            out += _network_problems(where, ph, species)
    return out


def _network_problems(where: str, ph: P.ReactNetwork,
                      species: dict[str, P.Species]) -> list[Problem]:
    """Each reaction conserves mass (molar masses, to 0.1 %) and elements (where every
    species of it has a formula); the key species is consumed by some reaction."""
    out = []
    for i, r in enumerate(ph.reactions):
        left, right, _ = r.sides()
        path = f"{where}.reactions[{i}].equation"
        m_in = sum(c * species[sp].molar_mass for sp, c in left.items())
        m_out = sum(c * species[sp].molar_mass for sp, c in right.items())
        if abs(m_in - m_out) > 1e-3 * max(m_in, m_out):
            out.append(Problem(path, (
                f"{r.equation!r} does not conserve mass: the left side weighs {m_in:.6g} "
                f"kg/mol, the right {m_out:.6g} kg/mol (by the species' molar masses)")))
        formulas = {sp: species[sp].elements() for sp in {**left, **right}}
        if all(f is not None for f in formulas.values()):
            net: dict[str, float] = {}
            for sign, side in ((-1.0, left), (1.0, right)):
                for sp, c in side.items():
                    for el, n in (formulas[sp] or {}).items():
                        net[el] = net.get(el, 0.0) + sign * c * n
            bad = {el: n for el, n in net.items() if abs(n) > 1e-9}
            if bad:
                out.append(Problem(path, f"{r.equation!r} does not conserve elements "
                                         "(right minus left: " + ", ".join(
                                             f"{el} {n:+g}" for el, n in sorted(bad.items()))
                                   + ")"))
    key = ph.key_species()
    if key not in ph.species_names():
        return out + [Problem(f"{where}.key", f"{key!r} is not a species of the network")]
    if not any(r.sides()[0].get(key, 0.0) > r.sides()[1].get(key, 0.0)
               or (r.sides()[2] and r.sides()[1].get(key, 0.0) > r.sides()[0].get(key, 0.0))
               for r in ph.reactions):
        out.append(Problem(f"{where}.key", f"no reaction consumes the key species {key!r}: "
                                           "its conversion can never rise"))
    return out


def physical_problems(line: S.LineSpec) -> list[Problem]:
    """Set-ups no plant can run: a recipe charging more than its vessel holds (volumes at the
    species' densities, counted from the recipe's charges until a phase that removes
    material; only where the station states its ``volume``), and a heating (cooling) phase
    whose jacket is not hotter (colder) than its target: the batch approaches the jacket
    temperature exponentially and never reaches a target at or beyond it."""
    out: list[Problem] = []
    for name, st in line.stations.items():
        if not isinstance(st, S.Process):
            continue
        for field, recipe in _recipes(st):
            where = f"stations.{name}.{field}"
            if "volume" in st.model_fields_set:
                out += _charge_volume_problems(line, where, st.volume, recipe)
            out += _jacket_problems(where, recipe)
    return out


def _recipes(st: S.Process) -> list[tuple[str, list[Any]]]:
    """Every recipe of a process station with its key: the recipe, the products' recipes
    and the rework recipe."""
    out = [("recipe", st.recipe)] + [(f"product_recipes.{k}", r)
                                     for k, r in st.product_recipes.items()]
    return out + ([("rework_recipe", st.rework_recipe)] if st.rework_recipe else [])


def _charge_volume_problems(line: S.LineSpec, where: str, volume: float,
                            recipe: list[Any]) -> list[Problem]:
    charged = 0.0
    for i, ph in enumerate(recipe):
        if isinstance(ph, P.Separate):
            return []  # material leaves: later charges fill a vessel partly emptied
        if not isinstance(ph, P.Charge):
            continue
        charged += sum(kg / line.species[sp].density for sp, kg in ph.materials.items()
                       if sp in line.species)
        if charged > volume * (1.0 + 1e-9):
            return [Problem(f"{where}[{i}].materials",
                            f"the recipe has charged {charged:.3g} m3 by this phase (masses "
                            f"at the species' densities), more than the vessel's "
                            f"{volume:.3g} m3")]
    return []


def _jacket_problems(where: str, recipe: list[Any]) -> list[Problem]:
    out = []
    for i, ph in enumerate(recipe):
        if not isinstance(ph, P.Thermal):
            continue
        heat = ph.phase == "heat"
        if (ph.jacket <= ph.to) if heat else (ph.jacket >= ph.to):
            out.append(Problem(f"{where}[{i}].jacket", (
                f"a jacket at {ph.jacket - 273.15:.1f} degC can never {ph.phase} the batch "
                f"to {ph.to - 273.15:.1f} degC: it must be {'hotter' if heat else 'colder'} "
                "than the target")))
    return out


def _stoichiometry_problems(where: str, ph: P.React,
                            species: dict[str, P.Species]) -> list[Problem]:
    """A -> B (+ co-reactant) and the second reaction must conserve mass."""
    out = []
    m_a = species[ph.reactant].molar_mass
    m_co = species[ph.co_reactant].molar_mass * ph.ratio if ph.co_reactant else 0.0
    m_b = species[ph.product].molar_mass
    if abs(m_b - (m_a + m_co)) > 1e-6 * m_b:
        out.append(Problem(f"{where}.product", (
            f"the reaction does not conserve mass: M({ph.product}) = {m_b:g} kg/mol but "
            f"M({ph.reactant}) + ratio x M(co-reactant) = {m_a + m_co:g} kg/mol")))
    if ph.by_product is not None:
        m_c = species[ph.by_product].molar_mass
        source = m_b if ph.second == "series" else m_a + m_co
        if abs(m_c - source) > 1e-6 * m_c:
            out.append(Problem(f"{where}.by_product", (
                f"the second reaction does not conserve mass: M({ph.by_product}) = "
                f"{m_c:g} kg/mol, expected {source:g} kg/mol")))
    return out


def _flow_problems(line: S.LineSpec) -> list[Problem]:
    stations = line.stations
    out: list[Problem] = []
    sources = [n for n, st in stations.items() if isinstance(st, S.Source)]
    sinks = [n for n, st in stations.items() if isinstance(st, S.Sink)]
    if not sources:
        out.append(Problem("stations", "no source: nothing enters the line"))
    if not sinks:
        out.append(Problem("stations", "no sink: the line has no exit"))
    # Which products can reach each station (routes filter by product, assembly transforms).
    reach: dict[str, set[str]] = {n: set() for n in stations}
    queue: deque[tuple[str, str]] = deque()
    for n in sources:
        for p in _source_products(stations[n]):
            queue.append((n, p))
    for n, st in stations.items():  # a continuous unit starts lots of its own product
        if isinstance(st, S.Continuous):
            queue.append((n, st.product))
    while queue:
        n, p = queue.popleft()
        if p in reach[n]:
            continue
        reach[n].add(p)
        st = stations[n]
        out_p = p
        if isinstance(st, S.Tank):
            continue  # batches end in the tank; its continuous unit starts new lots
        if isinstance(st, S.Assembly):
            if p in st.components:
                continue  # consumed here
            if p in st.base and st.output_product:
                out_p = st.output_product
        for r in st.routes:
            if r.products is None or out_p in r.products:
                queue.append((r.to, out_p))
        if isinstance(st, S.Inspection) and st.rework_to:
            queue.append((st.rework_to, out_p))
    for n, st in stations.items():
        base = f"stations.{n}"
        if not reach[n] and not isinstance(st, S.Source):
            out.append(Problem(base, "no part can reach this station"))
            continue
        if isinstance(st, S.Sink | S.Tank):
            continue
        routed = set()
        for r in st.routes:
            routed |= set(line.products) if r.products is None else set(r.products)
        leaving = set(reach[n])
        if isinstance(st, S.Assembly):
            leaving -= set(st.components)
            if st.output_product and leaving & set(st.base):
                leaving = (leaving - set(st.base)) | {st.output_product}
            stray = sorted(reach[n] - set(st.base) - set(st.components))
            if stray:
                out.append(Problem(base, f"product(s) {stray} arrive here but are neither a "
                                         "base nor a component: nothing could take them"))
            missing = [p for p in st.components if p not in reach[n]]
            if not reach[n] & set(st.base):
                missing.insert(0, " or ".join(st.base))
            if missing:
                out.append(Problem(base, f"product(s) {missing} never arrive to be assembled"))
        for p in sorted(leaving - routed):
            out.append(Problem(f"{base}.routes", f"no route for product {p!r}"))
    # Every station must be able to reach a sink.
    back: dict[str, set[str]] = {n: set() for n in stations}
    for n, st in stations.items():
        for m in successors(st):
            back[m].add(n)
    can_exit = set(sinks)
    frontier = list(sinks)
    while frontier:
        m = frontier.pop()
        for n in back[m]:
            if n not in can_exit:
                can_exit.add(n)
                frontier.append(n)
    if sinks:
        for n in stations:
            if n not in can_exit and reach[n]:
                out.append(Problem(f"stations.{n}", "no path from here to a sink (no exit)"))
    return out


def _source_products(st: S.Source) -> list[str]:
    made = st.products_made()
    made += [r.product for r in st.schedule or [] if r.product and r.product not in made]
    return made


# --------------------------------------------------------------------------- entry points


def validate(data: Any, base_dir: str | Path = ".") -> tuple[S.LineSpec | None, list[Problem]]:
    """Validate raw spec data; returns the spec (or ``None``) and every problem found.

    ``base_dir`` is where files named in the spec (empirical data) are looked up.
    """
    if not isinstance(data, dict):
        return None, [Problem("", f"a line spec is a table of keys, got {type(data).__name__}")]
    try:
        line = S.LineSpec.model_validate(data, context={"base_dir": str(base_dir)})
    except ValidationError as exc:
        return None, schema_problems(exc)
    problems = topology_problems(line)
    return (None if problems else line), problems


def line_from_dict(data: Any, source: str = "line spec",
                   base_dir: str | Path = ".") -> S.LineSpec:
    """Build a validated :class:`~twin.data.spec.LineSpec` from Python data.

    Raises
    ------
    SpecError
        With every problem found, each with its key path.
    """
    line, problems = validate(data, base_dir)
    if line is None:
        raise SpecError(problems, source)
    return line


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; syntax errors become a :class:`SpecError` with line and column."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SpecError([Problem("", f"file not found: {p}")], str(p)) from None
    except IsADirectoryError:
        raise SpecError([Problem("", f"{p} is a folder, not a line file")], str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([Problem("", f"TOML syntax: {exc}")], str(p)) from None
    except UnicodeDecodeError as exc:
        raise SpecError([Problem("", f"not UTF-8 text: {exc}")], str(p)) from None


def load_line(path: str | Path) -> S.LineSpec:
    """Read and validate a ``line.toml`` file (raises :class:`SpecError`)."""
    return line_from_dict(read_toml(path), str(path), Path(path).parent)
