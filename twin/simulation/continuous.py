"""Tanks and continuous units: material levels that change at rates between events.

A :class:`TankNode` holds process material (kg per species). Batches routed to it are
emptied into it (the batch ends there, its material stays in the line); a batch that does not
fit waits until there is room. The :class:`ContinuousNode` the tank routes to draws from it
at a constant rate in *chunks*: each chunk lasts until the next event (the current lot is full
or the tank runs empty), so flows are piecewise constant and the level is exact at every
recorded change (linear in between). Every ``lot_mass`` drawn becomes a new part (a lot)
sent downstream.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any, ClassVar

import numpy as np
import simpy

from twin.data import spec as S
from twin.observation.recorder import ASSEMBLED, CONSUMED, END, IDLE, PRODUCING, START
from twin.simulation.flow import Context, Node, Part
from twin.simulation.stations import EquipmentNode
from twin.simulation.units import Unit

EPS = 1e-9


class TankNode(Node):
    """A tank of process material with a capacity and level events."""

    spec_type: ClassVar[type] = S.Tank

    spec: S.Tank

    def __init__(self, ctx: Context, name: str, spec: S.Tank) -> None:
        super().__init__(ctx, name, spec)
        mat = ctx.materials
        assert mat is not None
        self.level = np.zeros(len(mat.names))
        for species, kg in ctx.tank_levels.get(name, spec.initial).items():
            self.level[mat.code(species)] += kg
            ctx.rec.flow(ctx.env.now, -1, self.code, "initial", mat.code(species), "input",
                         kg)
        self.waiting: deque[tuple[Part, simpy.Event]] = deque()
        self.changed = ctx.env.event()
        self.zone = ""
        self.level_tag = f"tank.{name}" if f"tank.{name}" in ctx.watch else None
        self._record()

    def connect(self, nodes: dict[str, Node]) -> None:
        super().connect(nodes)
        self.drain = nodes[self.spec.routes[0].to]

    @property
    def total(self) -> float:
        """Contents [kg]."""
        return float(self.level.sum())

    def accept(self, part: Part) -> simpy.Event | None:
        if part.mass is None:
            raise RuntimeError(f"tank {self.name!r} got a part without material")
        if self.total + float(part.mass.sum()) > self.spec.capacity * (1 + EPS):
            ev = self.env.event()
            self.waiting.append((part, ev))
            return ev
        self._empty_into(part)
        return None

    def arrived(self, part: Part) -> None:
        """Nothing to record: the part was emptied into the tank when room was made."""

    def _empty_into(self, part: Part) -> None:
        assert part.mass is not None
        now, rec = self.env.now, self.ctx.rec
        self.level += part.mass
        rec.event(now, part.id, part.product, self.code, CONSUMED)
        rec.part_done(part.id, part.product, part.created, now, ASSEMBLED, part.reworks)
        self.ctx.live.pop(part.id, None)
        if self.ctx.watch_wip:
            self.ctx.count_part(-1)
        self._record()
        self._notify()

    def draw(self, kg: float) -> np.ndarray:
        """Take ``kg`` of the mixed contents; lets waiting batches in if they now fit."""
        total = self.total
        take = self.level * (min(kg, total) / total) if total > 0 else np.zeros_like(self.level)
        self.level = np.maximum(self.level - take, 0.0)
        while self.waiting:
            part, ev = self.waiting[0]
            assert part.mass is not None
            if self.total + float(part.mass.sum()) > self.spec.capacity * (1 + EPS):
                break
            self.waiting.popleft()
            self._empty_into(part)
            ev.succeed()
        self._record()
        return take

    def _notify(self) -> None:
        ev, self.changed = self.changed, self.env.event()
        ev.succeed()

    def _record(self) -> None:
        cap, total = self.spec.capacity, self.total
        self.ctx.rec.level(self.env.now, self.code, total)
        if self.level_tag is not None:
            self.ctx.signal(self.level_tag, total)
        zone = ("low" if self.spec.low is not None and total < self.spec.low * cap else
                "high" if self.spec.high is not None and total > self.spec.high * cap else
                "normal")
        if zone != self.zone:
            if self.zone:  # not at time zero
                self.ctx.rec.level_event(self.env.now, self.code, zone, total)
            self.zone = zone

    def load(self) -> int:
        """Batches waiting to enter are still held (blocked) by the unit that sends them."""
        return 0

    def stores_for(self, code: int | None) -> list[Any]:
        return [self]

    def waits(self) -> list[Node] | None:
        """A tank with a batch waiting to enter waits for its continuous unit to draw (or
        for nothing: a batch larger than the tank never enters)."""
        if not self.waiting or self.waiting[0][1].triggered:
            return None
        return [] if self._never_fits() else [self.drain]

    def why(self) -> tuple[str, bool]:
        part = self.waiting[0][0]
        assert part.mass is not None
        if self._never_fits():
            return (f"tank {self.name!r} ({self.spec.capacity:g} kg) can never take the "
                    f"{float(part.mass.sum()):g} kg batch waiting to enter it", False)
        return (f"tank {self.name!r} has no room for the batch waiting to enter it until "
                f"{self.drain.name!r} draws", False)

    def _never_fits(self) -> bool:
        mass = self.waiting[0][0].mass
        assert mass is not None
        return float(mass.sum()) > self.spec.capacity * (1 + EPS)

    def held(self) -> np.ndarray:
        """Material in the tank [kg per species] (batches waiting to enter it are still
        parts of the line and counted as such)."""
        return self.level


class ContinuousNode(EquipmentNode):
    """Draws from its tank at a constant rate and sends on one lot per ``lot_mass``."""

    spec_type: ClassVar[type] = S.Continuous

    spec: S.Continuous

    def __init__(self, ctx: Context, name: str, spec: S.Continuous) -> None:
        super().__init__(ctx, name, spec)
        self.interruptible = True
        self.lot = np.zeros(len(ctx.materials.names)) if ctx.materials else np.zeros(0)
        self.product = ctx.product_code[spec.product]

    def connect(self, nodes: dict[str, Node]) -> None:
        super().connect(nodes)
        self.tank = next(n for n in nodes.values()
                         if isinstance(n, TankNode) and n.spec.routes[0].to == self.name)

    def accept(self, part: Part) -> simpy.Event | None:
        raise RuntimeError(f"{self.name!r} is continuous: it draws from its tank")

    def stores_for(self, code: int | None) -> list[Any]:
        return []  # it draws from its tank, whose suppliers are its own

    def sends(self) -> list[tuple[int | None, Node]]:
        return [(code, d) for code, d in super().sends() if code == self.product]

    def held(self) -> np.ndarray:
        """Material of the lot being filled [kg per species]."""
        return self.lot

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        spec, tank, ctx, env = self.spec, self.tank, self.ctx, self.env
        while True:
            while unit.stopped:
                yield unit.wait_up()
            available = tank.total
            if available <= EPS:
                unit.set(IDLE)
                changed = tank.changed
                if self.watch_starving:
                    self._starve(unit, changed, tank)
                yield changed
                unit.starved = None
                continue
            need = spec.lot_mass - float(self.lot.sum())
            chunk = min(need, available)
            load = spec.heat * spec.rate if spec.utility else 0.0
            started: list[float] = []

            def pause(stopped: bool, load: float = load, started: list[float] = started) -> None:
                if load:  # the utility is drawn only while the unit works
                    ctx.utility_load(spec.utility, -load if stopped else load)
                if not stopped and not started:
                    started.append(env.now)

            yield from unit.work(chunk / spec.rate, PRODUCING, pause)
            pause(True)
            if load:
                ctx.rec.phase({"part": -1, "station": self.code, "phase": "continuous",
                               "kind": "continuous", "start": started[0],
                               "end": env.now, "utility": spec.utility,
                               "heat_J": spec.heat * chunk, "load_W": load, "water_kg": 0.0,
                               "wastewater_kg": 0.0, "cod_kg": 0.0})
            self.lot = self.lot + tank.draw(chunk)
            if float(self.lot.sum()) >= spec.lot_mass * (1 - EPS):
                yield from self._send_lot(unit)

    def _send_lot(self, unit: Unit) -> Generator[Any, Any, None]:
        now = self.env.now
        part = self.ctx.new_part(self.product, self.code)
        part.mass, self.lot = self.lot, np.zeros_like(self.lot)
        self._event(now, part.id, part.product, self.code, START)
        self._event(now, part.id, part.product, self.code, END)
        self.holding += 1
        yield from self._send(unit, part)
