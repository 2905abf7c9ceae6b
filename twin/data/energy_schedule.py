"""Energy-aware scheduling: start energy-heavy work where it runs outside costly or dirty hours.

A station (or, on a process station, named recipe phases) may declare::

    energy_schedule = { avoid = ["peak"] }                      # a whole cycle or batch
    energy_schedule = { avoid = ["peak"], phases = ["dry"] }    # process: those phases
    energy_schedule = { avoid_grid_above = "0.6 kg/kWh" }       # hours of a dirty grid

``avoid`` names periods of the line's electricity tariff (``[costs.electricity].periods``);
``avoid_grid_above`` avoids the hours whose grid emission factor (``[energy.grid].hourly``)
is above it; both may be given. Work that is ready waits (its unit idle, holding the parts)
until the earliest time from which its planned duration runs entirely outside the avoided
hours; work longer than every gap between them starts as soon as no avoided hour is running.
Tariff and grid profile repeat daily from time zero (Monday 00:00, as the calendar and the
costs). A station that follows the shift calendar still stops at the end of a shift: the rule
only chooses when work starts.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, model_validator

from twin.data.costs import parse_span
from twin.data.intervals import union
from twin.data.model import Model
from twin.data.quantities import EmissionFactor

DAY = 86400.0


class EnergySchedule(Model):
    """When a station may start energy-heavy work (see the module docstring)."""

    avoid: list[str] = Field([], description="tariff periods to keep work out of")
    avoid_grid_above: EmissionFactor | None = Field(
        None, gt=0.0, description="keep work out of the hours whose grid emission factor "
        "([energy.grid].hourly) is above this")
    phases: list[str] = Field(
        [], description="process stations: recipe phases (name or phase kind) to schedule; "
        "empty: the whole cycle or batch")

    @model_validator(mode="after")
    def _avoids_something(self) -> EnergySchedule:
        if not self.avoid and self.avoid_grid_above is None:
            raise ValueError("give the tariff periods to avoid (avoid = [...]) or a grid "
                             "emission limit (avoid_grid_above = '0.6 kg/kWh')")
        return self


def daily_intervals(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Daily spans ``(start, end)`` [s after midnight; the end may wrap past midnight] as
    sorted, merged intervals within ``[0, DAY]``."""
    flat: list[tuple[float, float]] = []
    for a, b in spans:
        flat.extend([(a, b)] if b > a else [(a, DAY), (0.0, b)])
    return union(flat)


def avoided_intervals(schedule: EnergySchedule, tariff: Any, grid: Any
                      ) -> list[tuple[float, float]]:
    """The daily intervals [s after midnight] ``schedule`` avoids, merged: the periods it
    names of ``tariff`` (a :class:`twin.data.costs.Electricity`, or ``None``) and the hours
    whose factor in ``grid`` (a :class:`twin.data.spec.GridFactor`) is above its limit."""
    spans: list[tuple[float, float]] = []
    if schedule.avoid and tariff is not None:
        hours = {p.name: p.hours for p in tariff.periods}
        spans += [parse_span(h) for name in schedule.avoid for h in hours.get(name, ())]
    limit = schedule.avoid_grid_above
    if limit is not None and grid.hourly is not None:
        spans += [(3600.0 * h, 3600.0 * (h + 1)) for h, f in enumerate(grid.hourly)
                  if f > limit]
    return daily_intervals(spans)


def earliest_start(now: float, duration: float, avoided: list[tuple[float, float]]) -> float:
    """The earliest time ``t >= now`` [s] such that ``[t, t + duration]`` misses every avoided
    interval (``avoided``: :func:`daily_intervals` output, repeating daily from time zero);
    if no gap between avoided intervals is that long, the earliest ``t >= now`` outside every
    avoided interval. ``avoided`` must leave some time of the day free.
    """
    if not avoided:
        return now
    day0 = math.floor(now / DAY) * DAY
    blocks = union([(day0 + k * DAY + a, day0 + k * DAY + b) for k in (-1, 0, 1, 2, 3)
                    for a, b in avoided])
    longest = max((blocks[i + 1][0] - blocks[i][1] for i in range(len(blocks) - 1)),
                  default=0.0)
    fits = duration <= longest
    t = now
    for a, b in blocks:
        if (t + duration <= a) if fits else (t < a):
            return t
        t = max(t, b)
    return t
