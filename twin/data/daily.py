"""Time-of-day profiles: a value per period of the day, repeated every day.

A profile is a list of segments ``(start, end, value, name)`` covering one day [s after
midnight] (an electricity tariff: price per kWh; a grid emission profile: kg CO2e per kWh).
Time zero of a run is Monday 00:00, so the time of day of run time ``t`` [s] is
``t mod 86400``. :func:`drawn_evenly` prices an amount drawn evenly over each interval of run
time, which is how both time-of-use costs and hour-by-hour emissions are computed.
"""

from __future__ import annotations

import numpy as np

DAY_S = 86400.0
"""Seconds in a day."""

Segments = list[tuple[float, float, float, str]]


def value_at(segments: Segments, tod: np.ndarray) -> np.ndarray:
    """The profile's value at each time of day ``tod`` [s after midnight]."""
    out = np.zeros(len(tod))
    for a, b, v, _ in segments:
        out[(tod >= a) & (tod < b)] = v
    return out


def _integral(segments: Segments, tod: np.ndarray) -> np.ndarray:
    """Integral of the profile [value x s] from midnight to time of day ``tod`` [s]."""
    out = np.zeros(len(tod))
    for a, b, v, _ in segments:
        out += v * np.clip(np.minimum(tod, b) - a, 0.0, None)
    return out


def drawn_evenly(segments: Segments, start: np.ndarray, end: np.ndarray,
                 amount: np.ndarray) -> float:
    """Sum over intervals of ``amount`` drawn evenly over [start, end) [s of run time] times
    the profile's value there: e.g. kWh x price per kWh, or kWh x kg CO2e per kWh."""
    return float(np.sum(weighted_each(segments, start, end, amount)))


def weighted_each(segments: Segments, start: np.ndarray, end: np.ndarray,
                  amount: np.ndarray) -> np.ndarray:
    """Per interval: ``amount`` drawn evenly over [start, end) [s of run time] times the
    profile's value there (the terms :func:`drawn_evenly` sums). An interval of zero length
    takes the value at its start."""
    start, end, amount = (np.asarray(x, dtype=float) for x in (start, end, amount))
    length = end - start
    point = length <= 0.0
    out = np.zeros(len(amount))
    if point.any():
        out[point] = amount[point] * value_at(segments, np.mod(start[point], DAY_S))
    keep = ~point
    if keep.any():
        a, b = start[keep], end[keep]
        per_day = sum((hi - lo) * v for lo, hi, v, _ in segments)
        whole = (np.floor(b / DAY_S) - np.floor(a / DAY_S)) * per_day
        within = _integral(segments, np.mod(b, DAY_S)) - _integral(segments, np.mod(a, DAY_S))
        out[keep] = amount[keep] / length[keep] * (whole + within)
    return out
