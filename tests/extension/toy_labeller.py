"""A toy station type defined outside the package: a labeller.

It is the worked example of docs/EXTENDING.md: one spec class and one node class. The spec
class declares the station's keys, the signals it offers (``buffer``, inherited from
``Equipment``) and its drawing; the node class runs it and names its spec class. Nothing in
``twin/`` knows it: :func:`register` makes it a station type.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar, Literal

from pydantic import Field

from twin.data.distributions import Distribution
from twin.data.quantities import PositiveInt
from twin.data.registry import Drawing
from twin.data.spec import Equipment
from twin.observation.recorder import SETUP
from twin.simulation.flow import Context
from twin.simulation.node_types import register_station
from twin.simulation.stations import EquipmentNode
from twin.simulation.units import Unit


class Labeller(Equipment):
    """Puts one label on each part; a roll holds ``roll`` labels, and changing an empty roll
    takes ``roll_change`` (recorded as ``setup``)."""

    type: Literal["labeller"]
    roll: PositiveInt = Field(description="labels per roll")
    roll_change: Distribution = Field(description="time to change an empty roll")

    drawing: ClassVar[Drawing] = Drawing("#f2d7e6", (("roll", "roll"),))


class LabellerNode(EquipmentNode):
    """Each server labels parts from the shared input buffer and changes its roll when it is
    empty, before the next part."""

    spec_type: ClassVar[type] = Labeller
    spec: Labeller

    def __init__(self, ctx: Context, name: str, spec: Labeller) -> None:
        super().__init__(ctx, name, spec)
        self.change = spec.roll_change.sampler(ctx.streams.rng(name, "roll"))

    def _serve(self, unit: Unit) -> Generator[Any, Any, None]:
        left = self.spec.roll
        while True:
            part = yield from self._take(unit, self.queue)
            if left == 0:
                yield from unit.work(self.change(), SETUP)
                left = self.spec.roll
            yield from self._operate(unit, (part,))
            left -= 1
            yield from self._send(unit, part)


def register() -> None:
    """Make ``labeller`` a station type (the entry point of an installed extension)."""
    register_station(LabellerNode)
