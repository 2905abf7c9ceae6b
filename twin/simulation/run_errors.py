"""Named errors of a run that cannot go on.

Every error here keeps all its constructor arguments in ``args``, so SimPy (which re-creates an
exception from its ``args`` when a process fails) and pickling (sweeps in worker processes)
give back the same type, message and attributes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class RunError(RuntimeError):
    """A run had to stop: what happened, at what simulation time [s], at which stations."""

    def __init__(self, message: str, time: float = math.nan,
                 stations: Sequence[str] = ()) -> None:
        super().__init__(message, time, tuple(stations))
        self.message = message
        self.time = time
        self.stations = tuple(stations)

    def __str__(self) -> str:
        return self.message


class DeadlockError(RunError):
    """Every server of each station on a cycle holds a part for a full buffer or tank of the
    next, or waits for a part only a station on the cycle could send: nothing on the cycle
    can ever move again. ``stations`` lists the cycle (or, for a batch larger than its tank,
    the unit holding it and the tank)."""


class StallError(RunError):
    """The simulation clock stopped advancing while events kept coming (a zero-time loop)."""


class RunawayError(RunError):
    """The event queue or the memory of a run grew beyond its bound."""

