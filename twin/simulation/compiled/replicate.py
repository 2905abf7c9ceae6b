"""Many runs of one line on the compiled engine with the line lowered once.

A study runs the same line under many seeds (replications). Lowering a line
(:func:`.lower.lower`) builds its arrays and one random generator per station and purpose;
:class:`Replicas` does it once per line and gives each run a copy of the arrays with its
streams re-seeded (:func:`reseeded`): the same generators, keys and calls as a line lowered
for that seed, so a run made here draws the same numbers and gives the same results as a
run lowered on its own.
"""

from __future__ import annotations

from typing import Any

from twin.data import spec as S
from twin.observation.recorder import Recorder
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.lower import Lowered, Stream, drawer, lower
from twin.simulation.streams import Streams


def reseeded(low: Lowered, seed: int) -> Lowered:
    """``low`` with fresh copies of its arrays (a run changes them) and every stream it
    draws from the generator of ``seed`` (constants and streams the line never reads are
    kept as they are)."""
    streams = Streams(seed)
    out = [s if s.draw is None or not s.needed
           else Stream(drawer(s.dist, streams.rng(*s.key)), s.constant, s.needed, s.dist, s.key)
           for s in low.streams]
    return Lowered(low.names, low.units, low.modes,
                   {k: v.copy() for k, v in low.arrays.items()}, out)


class Replicas:
    """One discrete line, lowered at its first run, run under any number of seeds, one
    after another: a run that folds its records into KPI accumulators takes over the
    record arrays of the last such run (:meth:`CompiledModel.spare`), so their memory is
    allocated once."""

    def __init__(self, line: S.LineSpec) -> None:
        self.line = line
        self._low: Lowered | None = None
        self._last: CompiledModel | None = None

    def model(self, seed: int, recorder: Recorder, events: tuple[Any, ...] = (),
              window: tuple[float, float] | None = None) -> CompiledModel:
        """A model of the line for ``seed`` (see :class:`CompiledModel`); the model made
        before is done with (its record arrays may be reused)."""
        if self._low is None:
            self._low = lower(self.line, seed)
        spare = None
        if window is not None and self._last is not None:
            spare = self._last.spare()
        model = CompiledModel(self.line, seed, recorder, events, window,
                              lowered=reseeded(self._low, seed), spare=spare)
        self._last = model
        return model
