"""Time-weighted statistics of piecewise-constant signals (level statistics).

A signal is given by its change times ``times`` (non-decreasing) and ``values``: the signal
equals ``values[i]`` on ``[times[i], times[i+1])`` and ``values[-1]`` from ``times[-1]`` on.
Before ``times[0]`` it is undefined, so only the part of the window ``[t_start, t_end]`` at or
after ``times[0]`` counts. These are vectorised NumPy functions (one pass, no Python loop),
which is as fast as a compiled loop for the array sizes a recorder produces.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def interval_durations(times: ArrayLike, t_start: float, t_end: float) -> np.ndarray:
    """Time [s] each value of the signal holds inside ``[t_start, t_end]``.

    Parameters
    ----------
    times : array_like, shape (n,)
        Change times [s], non-decreasing.
    t_start, t_end : float
        Observation window [s], ``t_start <= t_end``.

    Returns
    -------
    ndarray, shape (n,)
        Duration [s] of each piece clipped to the window (zero outside it).

    Raises
    ------
    ValueError
        If the times decrease or the window is reversed.
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError("times must be one-dimensional")
    if t_end < t_start:
        raise ValueError(f"t_end ({t_end}) is before t_start ({t_start})")
    if t.size and np.any(np.diff(t) < 0.0):
        raise ValueError("times must be non-decreasing")
    ends = np.empty_like(t)
    ends[:-1] = t[1:]
    if t.size:
        ends[-1] = max(t_end, t[-1])
    lo = np.clip(t, t_start, t_end)
    hi = np.clip(ends, t_start, t_end)
    return hi - lo


def time_weighted_mean(
    times: ArrayLike, values: ArrayLike, t_start: float, t_end: float
) -> float:
    """Time-weighted mean of a piecewise-constant signal over ``[t_start, t_end]``.

    Returns NaN if the signal is defined for zero time inside the window.
    """
    v = np.asarray(values, dtype=np.float64)
    d = interval_durations(times, t_start, t_end)
    if v.shape != d.shape:
        raise ValueError("times and values must have the same shape")
    total = d.sum()
    if total <= 0.0:
        return float("nan")
    return float(np.dot(d, v) / total)


def time_weighted_stats(
    times: ArrayLike, values: ArrayLike, t_start: float, t_end: float
) -> tuple[float, float, float, float, float]:
    """Time-weighted (mean, standard deviation, minimum, maximum, covered duration [s]).

    Minimum and maximum are over pieces that hold for a positive time in the window.
    """
    v = np.asarray(values, dtype=np.float64)
    d = interval_durations(times, t_start, t_end)
    if v.shape != d.shape:
        raise ValueError("times and values must have the same shape")
    total = float(d.sum())
    if total <= 0.0:
        nan = float("nan")
        return nan, nan, nan, nan, 0.0
    mean = float(np.dot(d, v) / total)
    var = float(np.dot(d, (v - mean) ** 2) / total)
    held = v[d > 0.0]
    return mean, var**0.5, float(held.min()), float(held.max()), total


def time_in_state(
    times: ArrayLike, codes: ArrayLike, t_start: float, t_end: float, n_codes: int
) -> np.ndarray:
    """Time [s] spent in each integer state code 0..n_codes-1 inside ``[t_start, t_end]``.

    Raises
    ------
    ValueError
        If a code is negative or not below ``n_codes``.
    """
    c = np.asarray(codes)
    d = interval_durations(times, t_start, t_end)
    if c.shape != d.shape:
        raise ValueError("times and codes must have the same shape")
    if c.size and (c.min() < 0 or c.max() >= n_codes):
        raise ValueError(f"state codes must lie in [0, {n_codes})")
    return np.bincount(c.astype(np.int64), weights=d, minlength=n_codes)[:n_codes]
