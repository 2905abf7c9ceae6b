"""Energy-aware scheduling: start energy-heavy work where it runs outside costly periods.

A station (or, on a process station, named recipe phases) may declare::

    energy_schedule = { avoid = ["peak"] }                      # a whole cycle or batch
    energy_schedule = { avoid = ["peak"], phases = ["dry"] }    # process: those phases

``avoid`` names periods of the line's electricity tariff (``[costs.electricity].periods``).
Work that is ready waits (its unit idle, holding the parts) until the earliest time from which
its planned duration runs entirely outside the avoided periods; work longer than every gap
between them starts as soon as no avoided period is running. The tariff repeats daily from
time zero (Monday 00:00, as the calendar and the costs). A station that follows the shift
calendar still stops at the end of a shift: the rule only chooses when work starts.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from twin.data.costs import parse_span
from twin.data.intervals import union
from twin.data.model import Model

DAY = 86400.0


class EnergySchedule(Model):
    """When a station may start energy-heavy work (see the module docstring)."""

    avoid: list[str] = Field(min_length=1, description="tariff periods to keep work out of")
    phases: list[str] = Field(
        [], description="process stations: recipe phases (name or phase kind) to schedule; "
        "empty: the whole cycle or batch")


def daily_intervals(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Daily spans ``(start, end)`` [s after midnight; the end may wrap past midnight] as
    sorted, merged intervals within ``[0, DAY]``."""
    flat: list[tuple[float, float]] = []
    for a, b in spans:
        flat.extend([(a, b)] if b > a else [(a, DAY), (0.0, b)])
    return union(flat)


def avoided_intervals(tariff: Any, names: list[str]) -> list[tuple[float, float]]:
    """The daily intervals [s after midnight] of the periods ``names`` of ``tariff`` (a
    :class:`twin.data.costs.Electricity`), merged."""
    hours = {p.name: p.hours for p in tariff.periods}
    return daily_intervals([parse_span(h) for name in names for h in hours[name]])


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
