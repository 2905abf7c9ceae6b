"""A toy station type that extends a built-in one: an oven is a batch station by another
name (a subclass of ``Batch`` run by a subclass of the batch node).

Readers that ask what a station is (the state of a run, plant states, the live twin's
points) must treat it as the batch station it is, not by its type name.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from twin.data.registry import Drawing
from twin.data.spec import Batch
from twin.simulation.node_types import register_station
from twin.simulation.stations import BatchNode


class Oven(Batch):
    """A batch station that bakes ``batch_size`` parts together."""

    type: Literal["oven"]  # type: ignore[assignment]
    drawing: ClassVar[Drawing] = Drawing("#f4d6b0", (("batch_size", "load"),))


class OvenNode(BatchNode):
    """Runs an oven as the batch station runs."""

    spec_type: ClassVar[type] = Oven


def register() -> None:
    """Make ``oven`` a station type."""
    register_station(OvenNode)
