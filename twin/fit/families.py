"""Fitting duration distributions by maximum likelihood, in the parameters a line spec uses.

Each :class:`Family` maps the spec's parameters (``mean``/``std`` of a lognormal, ``shape``/
``scale`` of a Weibull, ...) to a SciPy distribution. :func:`fit` finds the maximum
likelihood estimate, with right-censored observations if given (a censored value x says "at
least x": it adds log S(x) to the log-likelihood), and Wald intervals on the log of each
positive parameter from the observed information (a numerical Hessian). :func:`select` fits
every candidate, ranks them by AIC and tests the best with a Kolmogorov-Smirnov statistic
whose p-value comes from a parametric bootstrap (the parameters are estimated from the same
data, so the tabulated KS p-value would be far too lenient; Lilliefors 1967).
All durations are in seconds [s].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, stats

from twin.data.distributions import DISTRIBUTION_NAMES


def _lognorm(mean: float, std: float) -> Any:
    s2 = math.log1p((std / mean) ** 2)
    return stats.lognorm(s=math.sqrt(s2), scale=math.exp(math.log(mean) - 0.5 * s2))


def _start_lognormal(x: np.ndarray) -> tuple[float, ...]:
    lx = np.log(x)
    m, s = float(lx.mean()), float(lx.std())
    return math.exp(m + 0.5 * s * s), math.exp(m + 0.5 * s * s) * math.sqrt(math.expm1(s * s))


def _start_weibull(x: np.ndarray) -> tuple[float, ...]:
    """Weibull MLE: the shape k solves sum(x^k ln x) / sum(x^k) - 1/k = mean(ln x); then
    scale = mean(x^k)^(1/k) (x is scaled by its maximum for numerical safety)."""
    top = float(x.max())
    lx = np.log(x / top)
    mean_lx = float(lx.mean())

    def score(k: float) -> float:
        w = np.exp(k * lx)
        return float((w * lx).sum() / w.sum()) - 1.0 / k - mean_lx

    k = optimize.brentq(score, 1e-3, 1e3, xtol=1e-12)
    return float(k), top * float(np.mean(np.exp(k * lx))) ** (1.0 / k)


def _start_gamma(x: np.ndarray) -> tuple[float, ...]:
    a, _, scale = stats.gamma.fit(x, floc=0.0)
    return float(a), float(scale)


def _start_triangular(x: np.ndarray) -> tuple[float, ...]:
    c, loc, scale = stats.triang.fit(x)
    return float(loc), float(loc + c * scale), float(loc + scale)


@dataclass(frozen=True)
class Family:
    """A distribution family in spec parameters.

    ``frozen(*params)`` is the SciPy distribution; ``start(x)`` the (uncensored) MLE or a
    good starting point; ``positive`` whether every parameter is > 0 (then intervals are
    built on the log scale); ``regular`` whether the likelihood is smooth at its maximum
    (not for uniform and triangular, whose MLE sits on the data's range: no Wald interval).
    """

    name: str
    params: tuple[str, ...]
    frozen: Callable[..., Any]
    start: Callable[[np.ndarray], tuple[float, ...]]
    positive: bool = True
    regular: bool = True

    def spec(self, params: tuple[float, ...]) -> dict[str, Any]:
        """The spec table of the fitted distribution (durations with units)."""
        out: dict[str, Any] = {"dist": self.name}
        for name, value in zip(self.params, params, strict=True):
            out[name] = int(value) if name == "k" else (
                round(float(value), 6) if name == "shape" else f"{float(value):.6g} s")
        return out


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("exponential", ("mean",), lambda m: stats.expon(scale=m),
           lambda x: (float(x.mean()),)),
    Family("normal", ("mean", "std"), lambda m, s: stats.norm(m, s),
           lambda x: (float(x.mean()), float(x.std()))),
    Family("lognormal", ("mean", "std"), _lognorm, _start_lognormal),
    Family("weibull", ("shape", "scale"), lambda c, s: stats.weibull_min(c, scale=s),
           _start_weibull),
    Family("gamma", ("shape", "scale"), lambda a, s: stats.gamma(a, scale=s), _start_gamma),
    Family("uniform", ("low", "high"), lambda lo, hi: stats.uniform(lo, hi - lo),
           lambda x: (float(x.min()), float(x.max())), positive=False, regular=False),
    Family("triangular", ("low", "mode", "high"),
           lambda lo, mo, hi: stats.triang((mo - lo) / (hi - lo), lo, hi - lo),
           _start_triangular, positive=False, regular=False),
)}
"""Parametric families; :func:`candidates` keeps those the engine supports."""


def candidates() -> list[str]:
    """Families the engine can sample (in :data:`DISTRIBUTION_NAMES`), plus ``erlang``."""
    names = [n for n in FAMILIES if n in DISTRIBUTION_NAMES]
    return names + (["erlang"] if "erlang" in DISTRIBUTION_NAMES else [])


@dataclass
class Fit:
    """A fitted family: parameters with intervals, log-likelihood, AIC and goodness of fit."""

    family: str
    params: dict[str, float]
    loglik: float
    aic: float
    n: int
    censored: int = 0
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    ks: float = math.nan
    p_value: float = math.nan

    def dist(self) -> Any:
        """The fitted SciPy distribution."""
        if self.family == "erlang":
            return stats.gamma(self.params["k"], scale=self.params["mean"] / self.params["k"])
        return FAMILIES[self.family].frozen(*self.params.values())

    def spec(self) -> dict[str, Any]:
        """The spec table, e.g. ``{"dist": "gamma", "shape": 2.5, "scale": "40 s"}``."""
        if self.family == "erlang":
            return {"dist": "erlang", "k": int(self.params["k"]),
                    "mean": f"{self.params['mean']:.6g} s"}
        return FAMILIES[self.family].spec(tuple(self.params.values()))

    def qq(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Q-Q plot points: fitted quantiles at (i - 0.5) / n against the sorted data."""
        xs = np.sort(np.asarray(x, dtype=float))
        p = (np.arange(1, xs.size + 1) - 0.5) / xs.size
        return self.dist().ppf(p), xs


def _loglik(dist: Any, x: np.ndarray, c: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        ll = float(np.sum(dist.logpdf(x)) + (np.sum(dist.logsf(c)) if c.size else 0.0))
    return ll if math.isfinite(ll) else -math.inf


def _hessian(f: Callable[[np.ndarray], float], z: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``z``."""
    k = z.size
    h = 1e-4 * np.maximum(1.0, np.abs(z))
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            out[i, j] = out[j, i] = (f(z + ei + ej) - f(z + ei - ej) - f(z - ei + ej)
                                     + f(z - ei - ej)) / (4 * h[i] * h[j])
    return out


def fit(family: str, x: np.ndarray, censored: np.ndarray | None = None,
        confidence: float | None = 0.95) -> Fit:
    """Maximum likelihood fit of ``family`` to observations ``x`` and right-censored values
    ``censored`` (each "at least this long"), with Wald intervals at ``confidence``.

    For positive parameters the interval is exp(log p +- z se(log p)), which keeps it
    positive and covers better at small n than one on p itself.
    """
    x = np.asarray(x, dtype=float)
    c = np.zeros(0) if censored is None else np.asarray(censored, dtype=float)
    if family == "erlang":
        return _fit_erlang(x, c, confidence)
    fam = FAMILIES[family]
    p0 = np.asarray(fam.start(x), dtype=float)
    if c.size and fam.regular:
        def nll(z: np.ndarray) -> float:
            try:
                return -_loglik(fam.frozen(*np.exp(z)), x, c)
            except (ValueError, ZeroDivisionError, OverflowError):
                return math.inf
        z = optimize.minimize(nll, np.log(p0), method="Nelder-Mead",
                              options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000}).x
        p0 = np.exp(z)
    ll = _loglik(fam.frozen(*p0), x, c)
    out = Fit(family, dict(zip(fam.params, map(float, p0), strict=True)), ll,
              2 * len(p0) - 2 * ll, int(x.size), int(c.size))
    if confidence and fam.regular and fam.positive and math.isfinite(ll):
        out.intervals = _wald(lambda z: _loglik(fam.frozen(*np.exp(z)), x, c), np.log(p0),
                              fam.params, confidence)
    return out


def _wald(ll: Callable[[np.ndarray], float], z: np.ndarray, names: tuple[str, ...],
          confidence: float) -> dict[str, tuple[float, float]]:
    """Intervals exp(z +- q se) from the observed information at the log-scale MLE ``z``."""
    info = -_hessian(ll, z)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return {}
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    q = float(stats.norm.ppf(0.5 + confidence / 2))
    return {n: (float(np.exp(zi - q * s)), float(np.exp(zi + q * s)))
            for n, zi, s in zip(names, z, se, strict=True) if np.isfinite(s)}


def _fit_erlang(x: np.ndarray, c: np.ndarray, confidence: float | None) -> Fit:
    """Erlang: the whole shape k that maximises the likelihood (each k with its mean MLE)."""
    g = fit("gamma", x, c, None)
    best: Fit | None = None
    for k in {max(1, math.floor(g.params["shape"])), max(1, math.ceil(g.params["shape"]))}:
        def ll(z: np.ndarray, k: int = k) -> float:
            return _loglik(stats.gamma(k, scale=math.exp(z[0]) / k), x, c)
        mean = float(x.mean()) if not c.size else math.exp(optimize.minimize_scalar(
            lambda z, ll=ll: -ll(np.array([z])),
            bracket=(math.log(x.mean()) - 0.1, math.log(x.mean()) + 0.1)).x)
        value = ll(np.array([math.log(mean)]))
        cand = Fit("erlang", {"k": float(k), "mean": mean}, value, 2 * 2 - 2 * value,
                   int(x.size), int(c.size))
        if confidence:
            cand.intervals = _wald(ll, np.array([math.log(mean)]), ("mean",), confidence)
        if best is None or cand.loglik > best.loglik:
            best = cand
    assert best is not None
    return best


def ks_bootstrap(f: Fit, x: np.ndarray, rng: np.random.Generator, rounds: int = 199
                 ) -> tuple[float, float]:
    """KS statistic of ``x`` against the fit and its parametric-bootstrap p-value: the share
    of ``rounds`` samples drawn from the fit, refitted the same way, whose KS statistic is at
    least the observed one (Lilliefors' correction for estimated parameters)."""
    d = float(stats.kstest(x, f.dist().cdf).statistic)
    dist, n, hits = f.dist(), x.size, 0
    for _ in range(rounds):
        y = dist.rvs(size=n, random_state=rng)
        g = fit(f.family, y, confidence=None)
        hits += float(stats.kstest(y, g.dist().cdf).statistic) >= d
    return d, (hits + 1) / (rounds + 1)


TIE = 2.0
"""Fits within this many AIC units of the lowest are a tie, won by the fewest parameters
(Burnham & Anderson 2002: such models have substantial support; prefer the simpler)."""


def rank_by_aic(fits: list[Fit]) -> None:
    """Sort ``fits`` in place by AIC, then move the simplest of the ties to the front."""
    fits.sort(key=lambda f: f.aic)
    if fits:
        ties = [f for f in fits if f.aic - fits[0].aic < TIE]
        best = min(ties, key=lambda f: (len(f.params), f.aic))
        fits.remove(best)
        fits.insert(0, best)


def select(x: np.ndarray, families: list[str] | None = None, *, seed: int = 0,
           rounds: int = 199, confidence: float = 0.95) -> list[Fit]:
    """Fit every family (default: :func:`candidates`) and return the fits by AIC, best
    first (ties: :func:`rank_by_aic`); the best has its KS statistic and bootstrap p-value.
    Families that cannot be fitted (e.g. a lognormal to data with zeros) are left out."""
    x = np.asarray(x, dtype=float)
    fits = []
    for name in families or candidates():
        if name not in ("normal", "uniform", "triangular") and x.min() <= 0:
            continue
        try:
            f = fit(name, x, confidence=confidence)
        except (ValueError, FloatingPointError, RuntimeError):
            continue
        if math.isfinite(f.aic):
            fits.append(f)
    rank_by_aic(fits)
    if fits and rounds:
        slow = not FAMILIES.get(fits[0].family, FAMILIES["gamma"]).regular  # numerical fits
        fits[0].ks, fits[0].p_value = ks_bootstrap(fits[0], x, np.random.default_rng(seed),
                                                   min(rounds, 49) if slow else rounds)
    return fits
