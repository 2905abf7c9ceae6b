"""Batch process units at run time: each batch runs the recipe's phases in order.

A phase's outcome (duration, flows, heat) comes from :func:`twin.process.phases.compute`;
the unit waits for utility capacity, works for the duration and applies the material flows
when the phase ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any, ClassVar

import numpy as np

from twin.data import spec as S
from twin.observation.recorder import END, PRODUCING, SETUP, START, WAITING
from twin.observation.run_warnings import warning
from twin.process import phases
from twin.simulation.flow import Context, Part, quantum
from twin.simulation.stations import EquipmentNode
from twin.simulation.units import Unit

STARVED_STRETCH = 10.0
"""A phase stretched more than this many times by a utility's capacity is warned about."""


def _missed_target(phase: Any, out: phases.Outcome) -> str:
    """Why a batch is off-spec after ``phase`` (empty: it is not): a reaction that reached
    its time limit before its target conversion, or an FMU phase before its end output.
    (One stopped at its temperature limit is a safety stop the recipe handles: it goes
    on.)"""
    if out.summary.get("ended_by") != "end_time":
        return ""
    if phase.phase == "fmu" and phase.end is not None:
        return (f"reached its time limit at {out.duration:g} s before the FMU's end "
                f"output {phase.end!r} became true")
    if phase.phase != "react" or phase.target_conversion is None:
        return ""
    return (f"reached its time limit at {out.duration:g} s with conversion "
            f"{100 * float(out.summary['conversion']):.3g} % "
            f"(target {100 * phase.target_conversion:.3g} %)")


class ProcessNode(EquipmentNode):
    """A batch process unit: each batch it holds goes through the recipe's phases in order.

    A phase's outcome (duration, flows, heat) is computed when it starts
    (:func:`twin.process.phases.compute`); the unit then waits for utility capacity
    (state ``waiting``), works for the duration (in the phase's ``unit_state``: ``setup`` for
    cleaning, else ``producing``; stops extend it) and applies the material flows when the
    phase ends. A phase whose average load exceeds its utility's capacity runs at the
    capacity, for longer.
    """

    spec_type: ClassVar[type] = S.Process

    spec: S.Process

    def __init__(self, ctx: Context, name: str, spec: S.Process) -> None:
        super().__init__(ctx, name, spec)
        self.interruptible = True
        by_code = sorted(ctx.product_code, key=ctx.product_code.__getitem__)
        # indexed by product code; own lists, so fouling can swap phases without the spec
        self.recipes = [list(spec.recipe_for(p)) for p in by_code]
        self.reworks = [list(spec.rework_for(p)) for p in by_code]
        self.seen: set[int] = set()  # batches that ran their recipe here (a return is rework)
        #: Recipe phases (names or kinds) its energy schedule holds until they fit.
        self.scheduled = set(spec.energy_schedule.phases) if spec.energy_schedule else set()
        self._samplers: dict[int, Callable[[], float]] = {}
        extra = [("rework", spec.rework_recipe)] if spec.rework_recipe is not None else []
        for key, recipe in [("", spec.recipe), *spec.product_recipes.items(), *extra]:
            for i, ph in enumerate(recipe):
                dist = getattr(ph, "duration", None) or getattr(ph, "time", None)
                if dist is not None:
                    self._samplers[id(ph)] = dist.sampler(
                        ctx.streams.rng(name, "phase", *([key] if key else []), str(i)))
        tag = f"temperature.{name}"
        self.temperature_tag = tag if tag in ctx.watch else None
        self._warned: dict[str, dict[str, Any]] = {}  # this unit's warnings, by kind
        self._first_off_spec = ""  # the first off-spec batch and why

    def _draw(self, phase: Any) -> float:
        return self._samplers[id(phase)]()

    def scale_heat_transfer(self, factor: float) -> None:
        """From now on, phases that start use ``factor`` x the ``ua`` of their jacket (a
        fouled jacket: ``factor`` < 1); a phase already running keeps its own. Phases keep
        their random streams."""
        new: dict[int, Any] = {}
        for recipe in (*self.recipes, *self.reworks):
            for i, ph in enumerate(recipe):
                if getattr(ph, "ua", None) is None:
                    continue
                if id(ph) not in new:
                    new[id(ph)] = ph.model_copy(update={"ua": ph.ua * factor})
                    if id(ph) in self._samplers:
                        self._samplers[id(new[id(ph)])] = self._samplers[id(ph)]
                recipe[i] = new[id(ph)]

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        mat = self.ctx.materials
        assert mat is not None
        while True:
            part = yield from self._take(unit, self.queue)
            if part.mass is None:
                part.mass = np.zeros(len(mat.names))
            while unit.stopped:
                yield unit.wait_up()
            self._event(self.env.now, part.id, part.product, self.code, START)
            if self.temperature_tag is not None:
                self.ctx.signal(self.temperature_tag, part.temperature)
            yield from self.batch(unit, part)

    def batch(self, unit: Unit, part: Part, first: int = 0, elapsed: float = 0.0,
              draw: Callable[[Any], float] | None = None,
              request: Any = None) -> Generator[Any, Any, None]:
        """Run ``part``'s recipe from phase ``first`` on (a run from a state: ``elapsed``
        [s] of it done, its duration from ``draw``, the operator ``request`` held), then
        send it on (or scrap it)."""
        mat = self.ctx.materials
        missed = []
        rework = part.id in self.seen
        self.seen.add(part.id)
        recipe = (self.reworks if rework else self.recipes)[part.product]
        for i in range(len(recipe) - first):
            phase = recipe[first + i]  # looked up as it starts: a fouled jacket counts
            request = yield from self._staff(unit, phase, request)
            out = phases.compute(phase, self.spec, self.name, part.mass, part.temperature,
                                 mat, self._draw if i or draw is None else draw)
            reason = _missed_target(phase, out)
            if reason:
                missed.append(f"{phase.name or phase.phase}: {reason}")
            if i == 0 and elapsed:
                out = phases.rest(out, elapsed)
            elif self.avoided and {phase.name, phase.phase} & self.scheduled:
                yield from self._when_cheap(unit, out.duration)  # a phase not yet running
            yield from self._run_phase(unit, part, phase, out)
        if request is not None:
            self.pool.release(request)  # type: ignore[union-attr]
        self._event(self.env.now, part.id, part.product, self.code, END)
        if missed:
            self._off_spec(part, "; ".join(missed))
        else:
            yield from self._send(unit, part)

    def _off_spec(self, part: Part, reason: str) -> None:
        """Scrap a batch that missed a phase's target, with the reason in the run warnings
        (one warning per station, listing every such batch)."""
        self._scrap(part)
        w = self._warned.get("off_spec")
        if w is None:
            first = f"batch {part.id} at t = {self.env.now:g} s: {reason}"
            w = self._warned["off_spec"] = warning("off_spec_batch", first, self.env.now,
                                                   [self.name])
            self.ctx.warnings.append(w)
            self._first_off_spec = first
        w["units"].append(part.id)
        w["message"] = (f"{len(w['units'])} batch(es) at {self.name!r} missed their target and "
                        f"were scrapped (off-spec); the first, {self._first_off_spec}")

    def _staff(self, unit: Unit, phase: Any, request: Any) -> Generator[Any, Any, Any]:
        """Hold an operator through the phases that need one (``during``: ``setup`` means
        the cleaning phases, ``processing`` the others, ``both`` all); returns the request
        held for ``phase`` (``None``: no operator)."""
        pool = self.pool
        if pool is None:
            return None
        cleaning = phase.unit_state == "setup"
        needed = self.operator_during == "both" or (
            (self.operator_during == "setup") == cleaning)
        if needed and request is None:
            return (yield from self._operator(unit, pool))
        if not needed and request is not None:
            pool.release(request)
            return None
        return request

    def _run_phase(self, unit: Unit, part: Part, phase: Any,
                   out: phases.Outcome) -> Generator[Any, Any, None]:
        env, ctx = self.env, self.ctx
        demands = dict(out.uses)  # utility -> amount: heat [J] or medium volume [m3]
        if out.utility and out.heat > 0:
            demands[out.utility] = out.heat
        duration = out.duration
        for name, amount in demands.items():  # a capacity limits the rate: slower, same use
            capacity = ctx.line.utilities[name].capacity
            if capacity is not None and duration * capacity < amount:
                duration = amount / capacity
                if duration > STARVED_STRETCH * out.duration:
                    self._starved(phase, name, amount / out.duration if out.duration else
                                  math.inf, capacity, out.duration, duration)
        loads = {n: a / duration for n, a in demands.items() if duration > 0 and a > 0}
        emits = {sp: kg / duration for sp, kind, kg in out.flows
                 if kind == "emission" and kg > 0 and duration > 0
                 and sp in ctx.emission_tags}  # rates of watched emissions [kg/s]
        held = []
        for name in sorted(loads):  # one global order: no circular wait between units
            store = ctx.utilities.get(name)
            if store is None:
                continue
            share = min(math.ceil(loads[name] * quantum(ctx.line.utilities[name])),
                        store.capacity)
            request = store.get(share)
            if not request.triggered:
                unit.set(WAITING)
                yield request
            held.append((store, share))

        started: list[float] = []
        done = [False]

        def pause(stopped: bool) -> None:  # draws only while working (capacity stays held)
            for name, load in loads.items():
                ctx.utility_load(name, -load if stopped else load)
            for sp, rate in emits.items():
                ctx.emission_rate(sp, rate, not stopped)
            if not stopped and not started:  # the phase starts when its work first starts
                started.append(env.now)
                if (self.temperature_tag is not None and out.profile is not None
                        and "temperature_K" in out.columns):
                    env.process(self._temperature_profile(
                        env.now, duration / out.duration if out.duration else 1.0, out, done))

        # a phase is not paused by the calendar: it runs on past a shift end (operator
        # rule), and the next phase waits for the next shift
        yield from unit.run_on(
            unit.work(duration, SETUP if phase.unit_state == "setup" else PRODUCING, pause))
        pause(True)
        start = started[0]
        done[0] = True
        for store, share in held:
            store.put(share)
        load = loads.get(out.utility, 0.0) if out.utility else 0.0
        now, label = env.now, phase.name or phase.phase
        assert part.mass is not None
        for species, kind, kg in out.flows:
            ctx.rec.flow(now, part.id, self.code, label, species, kind, kg)
            part.mass[species] += kg if kind in ("input", "transformation") else -kg
        if out.temperature is not None:
            part.temperature = out.temperature
        if self.temperature_tag is not None:
            ctx.signal(self.temperature_tag, part.temperature)
        ctx.rec.phase({
            "part": part.id, "station": self.code, "phase": label, "kind": phase.phase,
            "start": start, "end": now, "planned_s": out.duration,
            "utility": out.utility or "", "heat_J": out.heat,
            "load_W": load, "water_kg": out.water, "wastewater_kg": out.wastewater,
            "cod_kg": out.cod, "temperature_K": part.temperature,
            **{f"{medium}_m3": volume for medium, volume in out.uses.items()},
            **{k: v for k, v in out.summary.items()},
        })
        if out.profile is not None:
            ctx.rec.profile(part.id, self.code, label, start,
                            duration / out.duration if out.duration else 1.0, out.profile,
                            out.columns)

    def _starved(self, phase: Any, utility: str, need: float, capacity: float,
                 planned: float, duration: float) -> None:
        """Warn (once per station and utility) that a phase runs far slower than planned for
        want of utility capacity."""
        key = f"starved:{utility}"
        if key in self._warned:
            return
        label = phase.name or phase.phase
        unit = "m3/s" if self.ctx.line.utilities[utility].is_medium else "W"
        self._warned[key] = warning("utility_starved", (
            f"phase {label!r} at {self.name!r} needs {need:.3g} {unit} of utility {utility!r} "
            f"on average but its capacity is {capacity:.3g} {unit}: the phase takes "
            f"{duration:.3g} s instead of {planned:.3g} s"), self.env.now, [self.name])
        self.ctx.warnings.append(self._warned[key])

    def _temperature_profile(self, start: float, stretch: float, out: phases.Outcome,
                             done: list[bool]) -> Generator[Any, Any, None]:
        """Play a phase's kernel temperature profile into the watched temperature signal:
        a point whenever it moved 0.1 K or more since the last one, and the peak (profile
        time stretched like the ``profiles`` table; stops do not shift it)."""
        assert out.profile is not None and self.temperature_tag is not None
        data = np.asarray(out.profile)
        times = data[:, out.columns.index("time_s")]
        temps = data[:, out.columns.index("temperature_K")]
        peak = int(np.argmax(temps))
        points: list[tuple[float, float]] = []
        last = math.nan
        for i, (t, temp) in enumerate(zip(times.tolist(), temps.tolist(), strict=True)):
            if t >= out.duration:
                break  # the phase end records the end temperature
            if i == peak or not abs(temp - last) < 0.1:
                points.append((start + t * stretch, temp))
                last = temp
        env, signal, tag = self.env, self.ctx.signal, self.temperature_tag
        for at, temp in points:
            if at > env.now:
                yield env.timeout(at - env.now)
            if done[0]:
                return
            signal(tag, temp)
