"""The ideal cycle time of a station: the planned run time per item of ISO 22400 (PRI).

Effectiveness = planned time of what was made / actual production time, so it stays at or
below 1 only if the planned time per item is one no real cycle beats. The default is
therefore the **fastest possible cycle**, not the mean:

- the lower end of the cycle-time distribution's support where it is positive: a constant's
  value, ``low`` of a uniform or triangular, ``min`` of a truncated normal, ``location`` of a
  Weibull, the smallest value of an empirical distribution;
- otherwise (supports that start at 0: exponential, lognormal, a normal truncated at 0, a
  Weibull without location) the :data:`IDEAL_QUANTILE` quantile, 5 %: one cycle in twenty is
  faster, so effectiveness can still pass 1 on a short window (state ``ideal_cycle_time`` in
  the spec for such stations).

A station's ``ideal_cycle_time`` field overrides the default.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from twin.data import distributions as D

IDEAL_QUANTILE = 0.05
"""Quantile of the cycle-time distribution used when its support starts at 0."""


def support_minimum(dist: D.DistributionBase) -> float:
    """The smallest value ``dist`` can take [s] (0 when unbounded towards 0)."""
    if isinstance(dist, D.Constant):
        return dist.value
    if isinstance(dist, D.Uniform | D.Triangular):
        return dist.low
    if isinstance(dist, D.Normal):
        return dist.min
    if isinstance(dist, D.Weibull):
        return dist.location
    if isinstance(dist, D.Empirical):
        return float(min(dist.values))
    return 0.0  # exponential, lognormal


def quantile(dist: D.DistributionBase, q: float) -> float:
    """The ``q`` quantile of ``dist`` [s] (closed forms; empirical: linear interpolation)."""
    if isinstance(dist, D.Constant):
        return dist.value
    if isinstance(dist, D.Exponential):
        return -dist.mean_ * math.log1p(-q)
    if isinstance(dist, D.Uniform):
        return dist.low + q * (dist.high - dist.low)
    if isinstance(dist, D.Triangular):
        a, c, b = dist.low, dist.mode, dist.high
        f = (c - a) / (b - a)
        if q <= f:
            return a + math.sqrt(q * (b - a) * (c - a))
        return b - math.sqrt((1.0 - q) * (b - a) * (b - c))
    if isinstance(dist, D.Normal):
        n = NormalDist(dist.mu, dist.std)
        lo = n.cdf(dist.min)
        hi = 1.0 if dist.max is None else n.cdf(dist.max)
        return n.inv_cdf(lo + q * (hi - lo))
    if isinstance(dist, D.Lognormal):
        m, s = dist._log_params()
        return math.exp(m + s * NormalDist().inv_cdf(q))
    if isinstance(dist, D.Weibull):
        return dist.location + dist.scale * (-math.log1p(-q)) ** (1.0 / dist.shape)
    if isinstance(dist, D.Empirical):
        return float(np.quantile(np.asarray(dist.values, dtype=float), q))
    if isinstance(dist, D.Gamma):
        from scipy.special import gammaincinv

        return dist.scale * float(gammaincinv(dist.shape, q))
    if isinstance(dist, D.Erlang):
        from scipy.special import gammaincinv

        return dist.mean_ / dist.k * float(gammaincinv(dist.k, q))
    raise TypeError(f"no quantile for {type(dist).__name__}")


def ideal_time(dist: D.DistributionBase) -> float:
    """Default ideal cycle time [s]: the support's lower end if positive, else the
    :data:`IDEAL_QUANTILE` quantile."""
    low = support_minimum(dist)
    return low if low > 0 else quantile(dist, IDEAL_QUANTILE)
