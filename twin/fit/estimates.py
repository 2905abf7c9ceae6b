"""Estimates of spec values with their evidence, as written into a mined line.

An :class:`Estimate` is one number (or distribution) of the draft spec at a dotted path,
with the note that is written beside it: family, parameters with intervals, n, AIC ranking
and goodness-of-fit p-value, or a proportion with its Wilson interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from twin.fit.families import Fit, fit, rank_by_aic, select

ALPHA = 0.05
"""A family whose goodness-of-fit p-value is below this is rejected (empirical fallback)."""
MIN_FIT = 10
"""Fewest observations fitted with a family; fewer give the mean as a constant."""


@dataclass(eq=False)
class Estimate:
    """A fitted spec value at ``path`` with its ``note``; ``fits`` and ``data`` keep what the
    mining report shows (AIC table, Q-Q plot)."""

    path: str
    value: Any
    note: str
    n: int = 0
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    p_value: float = math.nan
    fits: list[Fit] = field(default_factory=list)
    data: np.ndarray | None = None


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def describe(f: Fit) -> str:
    """``lognormal mean 360 [352, 368] s, std ...`` with the intervals of a fit."""
    parts = []
    for name, value in f.params.items():
        unit = "" if name in ("shape", "k") else " s"
        iv = f.intervals.get(name)
        ci = f" [{_fmt(iv[0])}, {_fmt(iv[1])}]" if iv else ""
        parts.append(f"{name} {_fmt(value)}{ci}{unit}")
    return f"{f.family} " + ", ".join(parts)


def duration(path: str, x: np.ndarray, censored: np.ndarray | None = None, *,
             families: list[str] | None = None, seed: int = 0, rounds: int = 199,
             confidence: float = 0.95, what: str = "") -> Estimate:
    """Fit a duration [s] by maximum likelihood among ``families``, choose by AIC, test the
    choice (bootstrap KS, uncensored data only) and fall back to the empirical distribution
    if it is rejected."""
    x = np.asarray(x, dtype=float)
    c = np.zeros(0) if censored is None else np.asarray(censored, dtype=float)
    n = int(x.size)
    head = f"{what}: " if what else ""
    level = f"{confidence:.0%} intervals"
    if n and not c.size and float(np.ptp(x)) <= 1e-6 * max(1.0, float(np.abs(x).max())):
        return Estimate(path, f"{float(x[0]):.6g} s", f"{head}all n={n} values equal: a "
                        "constant", n, data=x)
    if n < MIN_FIT:
        mean = float(x.mean()) if n else math.nan
        return Estimate(path, f"{mean:.6g} s", f"{head}only n={n} observed: their mean "
                        f"{_fmt(mean)} s as a constant", n, data=x)
    if c.size:
        fits = []
        for name in families or ["exponential", "weibull", "lognormal", "gamma"]:
            try:
                g = fit(name, x, c, confidence)
            except (ValueError, FloatingPointError, RuntimeError):
                continue
            if math.isfinite(g.aic):
                fits.append(g)
        rank_by_aic(fits)
    else:
        fits = select(x, families, seed=seed, rounds=rounds, confidence=confidence)
    best = fits[0]
    rank = f"; AIC best of {len(fits)}" + (
        f" (next {fits[1].family} {fits[1].aic - best.aic:+.1f})" if len(fits) > 1 else "")
    count = f"n={n}" + (f" + {c.size} right-censored" if c.size else "")
    if c.size:
        gof = "; no KS test with censored values"
    else:
        gof = f"; KS D={best.ks:.3f}, bootstrap p={best.p_value:.3f}"
    note = f"{head}{describe(best)} ({level}), MLE, {count}{rank}{gof}"
    if not c.size and best.p_value < ALPHA:
        values = [float(f"{v:.6g}") for v in np.sort(x)]
        return Estimate(path, {"dist": "empirical", "values": values, "unit": "s"},
                        f"{head}every family rejected ({note}): empirical, n={n}", n,
                        best.intervals, best.p_value, fits, x)
    return Estimate(path, best.spec(), note, n, best.intervals, best.p_value, fits, x)


def proportion(path: str, k: int, n: int, confidence: float = 0.95, what: str = ""
               ) -> Estimate:
    """A probability k / n with its Wilson score interval."""
    ci = stats.binomtest(k, n).proportion_ci(confidence, method="wilson") if n else None
    p = k / n if n else 0.0
    iv = {"p": (float(ci.low), float(ci.high))} if ci else {}
    text = f" [{ci.low:.4f}, {ci.high:.4f}] ({confidence:.0%} Wilson)" if ci else ""
    head = f"{what}: " if what else ""
    return Estimate(path, round(p, 6), f"{head}{k}/{n} = {p:.4f}{text}", n, iv)
