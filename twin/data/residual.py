"""Remaining durations: what is left of a random duration that has already lasted a while.

A part in process for ``elapsed`` seconds, a repair under way, the time since a source's last
arrival: a run started from a state continues each with the *conditional* remaining time
``X - elapsed`` given ``X > elapsed`` (:func:`residual`), not a fresh draw of ``X``. For a
constant it is exactly the rest; for an exponential it is a fresh draw (memoryless); for
the other distributions it is drawn by inverting the conditional survival function
``P(X > x | X > e) = S(x) / S(e)`` with SciPy's distribution of the same parameters; an
empirical distribution resamples the observed values above ``elapsed``. When nothing of the
distribution lies beyond ``elapsed`` (an overdue task), the remaining time is zero.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from twin.data import distributions as D


@functools.lru_cache(maxsize=256)
def _frozen(dist: D.DistributionBase) -> Any:
    """SciPy's frozen distribution with the parameters of ``dist`` (continuous families;
    kept, as making one costs milliseconds)."""
    from scipy import stats  # lazily: scipy.stats is heavy to import

    if isinstance(dist, D.Uniform):
        return stats.uniform(loc=dist.low, scale=dist.high - dist.low)
    if isinstance(dist, D.Triangular):
        width = dist.high - dist.low
        return stats.triang((dist.mode - dist.low) / width, loc=dist.low, scale=width)
    if isinstance(dist, D.Normal):
        upper = math.inf if dist.max is None else dist.max
        return stats.truncnorm((dist.min - dist.mu) / dist.std, (upper - dist.mu) / dist.std,
                               loc=dist.mu, scale=dist.std)
    if isinstance(dist, D.Lognormal):
        m, s = dist._log_params()
        return stats.lognorm(s, scale=math.exp(m))
    if isinstance(dist, D.Weibull):
        return stats.weibull_min(dist.shape, loc=dist.location, scale=dist.scale)
    if isinstance(dist, D.Gamma):
        return stats.gamma(dist.shape, scale=dist.scale)
    if isinstance(dist, D.Erlang):
        return stats.gamma(float(dist.k), scale=dist.mean_ / dist.k)
    raise TypeError(f"no conditional remaining time for a {type(dist).__name__}")


def residual(dist: D.DistributionBase, elapsed: float, rng: np.random.Generator) -> float:
    """One draw of the time left [s] of a duration from ``dist`` that has lasted
    ``elapsed`` [s]: ``X - elapsed`` given ``X > elapsed`` (see the module docstring)."""
    if isinstance(dist, D.Constant):
        return max(dist.value - elapsed, 0.0)
    if elapsed <= 0.0:
        return float(dist.draw(rng, 1)[0])
    if isinstance(dist, D.Exponential):
        return float(rng.exponential(dist.mean_))
    if isinstance(dist, D.Empirical):
        above = [v for v in dist.values if v > elapsed]
        return float(rng.choice(above)) - elapsed if above else 0.0
    frozen = _frozen(dist)
    survive = float(frozen.sf(elapsed))
    if survive <= 0.0:
        return 0.0
    u = 1.0 - rng.random()  # in (0, 1]
    return max(float(frozen.isf(u * survive)) - elapsed, 0.0)
