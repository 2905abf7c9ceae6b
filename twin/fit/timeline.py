"""Times of pilot logs as seconds on the line's clock, and each unit's producing-time clock.

Mining works in seconds from an origin: the Monday 00:00 (UTC) of the week the logs begin,
which is how a line spec's calendar counts. A unit's *producing clock* P(t) is the time it
has spent producing up to t [s]; the work content of a visit is P(complete) - P(start), which
leaves out the stops (failures, maintenance, off shift) that interrupted it, and operating
times between failures are differences of P.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def origin_of(*times: pd.Series) -> pd.Timestamp:
    """Monday 00:00 UTC of the week of the earliest of ``times``."""
    first = min(t.min() for t in times if len(t))
    day = first.normalize()
    return day - pd.Timedelta(days=day.weekday())


def seconds(times: pd.Series | np.ndarray, origin: pd.Timestamp) -> np.ndarray:
    """UTC timestamps as seconds [s] after ``origin`` (NaT becomes NaN)."""
    delta = pd.Series(times) - origin
    return delta.dt.total_seconds().to_numpy(dtype=float)


@dataclass
class UnitHistory:
    """The state intervals of one unit, in seconds: ``start``, ``end``, ``state`` (arrays
    sorted by start). ``open_last``: the last state was still on when the log ended (its end
    is the log end: a right-censored interval)."""

    start: np.ndarray
    end: np.ndarray
    state: np.ndarray
    open_last: bool = False

    def clock(self, t: np.ndarray, states: tuple[str, ...] = ("producing",)) -> np.ndarray:
        """Time spent in ``states`` up to each time in ``t`` [s]."""
        on = np.isin(self.state, states)
        dur = np.where(on, self.end - self.start, 0.0)
        cum = np.concatenate([[0.0], np.cumsum(dur)])
        t = np.asarray(t, dtype=float)
        i = np.clip(np.searchsorted(self.start, t, side="right") - 1, 0, None)
        inside = np.where(on[i], np.clip(t - self.start[i], 0.0, self.end[i] - self.start[i]),
                          0.0)
        return np.where(t < self.start[0], 0.0, cum[i] + inside)


def unit_histories(states: pd.DataFrame, origin: pd.Timestamp, end: float
                   ) -> dict[tuple[str, str], UnitHistory]:
    """Histories of every unit of a clean state log by (station, unit); ``end`` is the log
    end [s], which closes the open last states."""
    out: dict[tuple[str, str], UnitHistory] = {}
    ordered = states.sort_values(["station", "unit", "start"])
    for (station, unit), g in ordered.groupby(["station", "unit"], sort=True):
        s = seconds(g["start"], origin)
        e = seconds(g["end"], origin)
        open_last = bool(np.isnan(e[-1]))
        e = np.where(np.isnan(e), max(end, float(np.nanmax(s))), e)
        out[(str(station), str(unit))] = UnitHistory(s, e, g["state"].to_numpy(dtype=object),
                                                    open_last)
    return out
