"""Bayesian posterior of calibrated parameters by MCMC (optional extra ``bayes``: emcee).

The likelihood is built from the same weighted residual function as the least-squares fit
(:func:`twin.fit.calibrate.residual_function`), on the same fitted scale (log of positive
parameters) and within the same search bounds:

- ``noise="estimated"`` (default): the measurement standard deviations are known up to a
  common factor (as the least-squares intervals assume, s^2 from the residuals); with the
  prior 1/sigma on that factor, integrating it out leaves p(theta | y) ~ SSR(theta)^(-n/2)
  x prior(theta). For a linear model with flat priors this is the Student-t posterior with
  n - p degrees of freedom whose intervals are the classical t intervals (Box & Tiao 1973,
  2.7).
- ``noise="known"``: the standard deviations are as given: log L = -SSR / 2.

Priors are flat on the fitted scale (uniform in log k for a rate constant: scale-free)
unless stated per parameter on the natural scale: ``normal(mean, sd)``, ``lognormal(median,
sigma_log)`` or ``uniform(low, high)`` (SI). The sampler is emcee's ensemble (Foreman-Mackey
et al. 2013) with differential-evolution moves (ter Braak 2006; 20 % snooker updates, ter
Braak & Vrugt 2008), which mix faster than the stretch move on the nearly normal posteriors
of calibrations, seeded; walkers start in a
small ball around the least-squares estimate. Convergence is reported as emcee recommends,
by the integrated autocorrelation time tau of each parameter (a run should be longer than
50 tau) and the effective sample size (walkers x kept steps / tau), and by the split R-hat
over walkers (Gelman et al. 2013, 11.4; indicative only, walkers of an ensemble are not
independent chains). Credible intervals are equal-tailed quantiles of the kept samples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.fit.calibrate import (
    Batch,
    Calibration,
    CalibrationError,
    Model,
    _bounds,
    calibrate,
    residual_function,
)

RHAT_LIMIT = 1.05
"""Split R-hat above which the walkers are said not to have mixed (an ensemble's walkers
are not independent chains, so the stricter 1.01 of independent chains is not used)."""
PRIORS = ("normal", "lognormal", "uniform")
"""Stated prior families (natural scale, SI)."""
_PRIOR = re.compile(r"^\s*(\w+)\s*\(\s*([^,()]+)\s*,\s*([^,()]+)\s*\)\s*$")


@dataclass
class Posterior:
    """Samples of the posterior and what they say: means, standard deviations and credible
    intervals (natural scale), autocorrelation times, effective sample sizes, split R-hat,
    the mean acceptance fraction, and warnings about convergence."""

    params: list[str]
    log: list[bool]
    samples: np.ndarray
    """Kept samples on the fitted scale, (walkers x kept steps) x p."""
    mean: dict[str, float]
    sd: dict[str, float]
    credible: dict[str, tuple[float, float]]
    tau: dict[str, float]
    ess: dict[str, float]
    rhat: dict[str, float]
    acceptance: float
    confidence: float
    noise: str
    warnings: list[str] = field(default_factory=list)

    def natural(self) -> np.ndarray:
        """The kept samples on the natural scale (SI)."""
        return np.where(np.array(self.log), np.exp(self.samples), self.samples)

    def table(self) -> str:
        """Plain-text table: mean, sd, credible interval, tau, ESS and R-hat per parameter."""
        lvl = f"{self.confidence:.0%}"
        out = [f"{'parameter':<16}{'mean':>14}{'sd':>12}  {lvl} credible{'':>16}"
               f"{'tau':>8}{'ESS':>8}{'R-hat':>8}"]
        for p in self.params:
            lo, hi = self.credible[p]
            out.append(f"{p:<16}{self.mean[p]:>14.6g}{self.sd[p]:>12.4g}  "
                       f"[{lo:.6g}, {hi:.6g}]".ljust(58)
                       + f"{self.tau[p]:>8.1f}{self.ess[p]:>8.0f}{self.rhat[p]:>8.3f}")
        out.append(f"{self.samples.shape[0]} samples kept, acceptance "
                   f"{self.acceptance:.2f}, noise {self.noise}")
        return "\n".join(out)


def parse_prior(text: str) -> tuple[str, float, float]:
    """``"normal(80e3, 5e3)"`` -> ``("normal", 80000.0, 5000.0)``.

    Raises
    ------
    CalibrationError
        If the text is not one of the families of :data:`PRIORS` with two numbers.
    """
    m = _PRIOR.match(text)
    if not m or m.group(1) not in PRIORS:
        raise CalibrationError(f"cannot read prior {text!r}: expected normal(mean, sd), "
                               "lognormal(median, sigma_log) or uniform(low, high)")
    try:
        a, b = float(m.group(2)), float(m.group(3))
    except ValueError:
        raise CalibrationError(f"cannot read prior {text!r}: two numbers expected") from None
    if m.group(1) != "uniform" and not b > 0 or m.group(1) == "uniform" and not b > a \
            or m.group(1) == "lognormal" and not a > 0:
        raise CalibrationError(f"prior {text!r}: needs sd > 0, median > 0, or low < high")
    return m.group(1), a, b


def _log_prior(priors: dict[str, tuple[str, float, float]], params: list[str],
               log: list[bool]) -> Callable[[np.ndarray], float]:
    """log p(z) on the fitted scale: flat, or a stated natural-scale prior with the
    Jacobian dx/dz = x of the log scale."""
    unknown = sorted(set(priors) - set(params))
    if unknown:
        raise CalibrationError(f"prior for {unknown[0]!r}, which is not fitted "
                               f"({', '.join(params)})")
    terms = [(i, *priors[p], log[i]) for i, p in enumerate(params) if p in priors]
    half_log_2pi = 0.5 * math.log(2 * math.pi)

    def density(kind: str, a: float, b: float, x: float) -> float:
        if kind == "normal":
            return -0.5 * ((x - a) / b) ** 2 - math.log(b) - half_log_2pi
        if kind == "lognormal":
            if x <= 0:
                return -math.inf
            return -0.5 * ((math.log(x) - math.log(a)) / b) ** 2 - math.log(x * b) \
                - half_log_2pi
        return -math.log(b - a) if a <= x <= b else -math.inf

    def lp(z: np.ndarray) -> float:
        total = 0.0
        for i, kind, a, b, g in terms:
            x = math.exp(z[i]) if g else float(z[i])
            total += density(kind, a, b, x) + (z[i] if g else 0.0)
        return total

    return lp


def sample(resid: Callable[[np.ndarray], np.ndarray], params: list[str], log: list[bool],
           start: np.ndarray, spread: np.ndarray, *, bounds: tuple[np.ndarray, np.ndarray]
           | None = None, priors: dict[str, Any] | None = None, noise: str = "estimated",
           walkers: int | None = None, steps: int = 2000, burn: int | None = None,
           seed: int = 0, confidence: float = 0.95) -> Posterior:
    """MCMC over the fitted-scale parameters of a weighted residual function ``resid``
    (see the module notes). ``start``: the least-squares estimate (fitted scale);
    ``spread``: its standard errors (the walkers start within 1e-2 of them); ``priors``:
    name -> ``(family, a, b)`` or ``"family(a, b)"``; ``burn``: steps dropped (default a
    quarter).

    Raises
    ------
    CalibrationError
        If emcee is not installed, or the settings or priors cannot work.
    """
    try:
        import emcee
    except ImportError:
        raise CalibrationError("MCMC needs emcee: pip install 'pilot-twin[bayes]'") from None
    if noise not in ("estimated", "known"):
        raise CalibrationError(f"noise must be 'estimated' or 'known', got {noise!r}")
    k = len(params)
    walkers = walkers or max(4 * k, 16)
    burn = steps // 4 if burn is None else burn
    if walkers < 2 * k or walkers % 2 or steps - burn < 10 or burn < 0:
        raise CalibrationError(f"need an even number of walkers >= {2 * k} and more than 10 "
                               f"steps after the burn-in (got {walkers} walkers, {steps} "
                               f"steps, burn-in {burn})")
    stated = {p: parse_prior(v) if isinstance(v, str) else tuple(v)
              for p, v in (priors or {}).items()}
    log_prior = _log_prior(stated, params, log)
    lo, hi = bounds if bounds is not None else (np.full(k, -np.inf), np.full(k, np.inf))

    def log_prob(z: np.ndarray) -> float:
        if ((z < lo) | (z > hi)).any():
            return -np.inf
        prior = log_prior(z)
        if not np.isfinite(prior):
            return -np.inf
        try:
            r = resid(z)
        except CalibrationError:  # the model failed there: no probability
            return -np.inf
        ssr = float(r @ r)
        if not np.isfinite(ssr):
            return -np.inf
        like = -0.5 * ssr if noise == "known" else -0.5 * r.size * math.log(max(ssr, 1e-300))
        return like + prior

    rng = np.random.default_rng(seed)
    p0 = start + 1e-2 * np.maximum(np.abs(spread), 1e-8) * rng.standard_normal((walkers, k))
    p0 = np.clip(p0, lo, hi)
    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, k, log_prob, moves=moves)
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(p0, steps, progress=False)
    chain = sampler.get_chain(discard=burn)  # kept steps x walkers x p
    return _summarise(chain, params, log, float(np.mean(sampler.acceptance_fraction)),
                      confidence, noise)


def _split_rhat(x: np.ndarray) -> float:
    """Split R-hat of one parameter's chains (steps x chains): each chain cut in half."""
    n = x.shape[0] // 2
    chains = np.concatenate([x[:n], x[n:2 * n]], axis=1)
    w = chains.var(axis=0, ddof=1).mean()
    b = n * chains.mean(axis=0).var(ddof=1)
    return float(math.sqrt(((n - 1) / n * w + b / n) / w)) if w > 0 else math.nan


def _summarise(chain: np.ndarray, params: list[str], log: list[bool], acceptance: float,
               confidence: float, noise: str) -> Posterior:
    from emcee.autocorr import integrated_time

    kept, walkers, _ = chain.shape
    flat = chain.reshape(-1, len(params))
    tau = integrated_time(chain, tol=0, quiet=True)
    nat = np.where(np.array(log), np.exp(flat), flat)
    a = (1 - confidence) / 2
    post = Posterior(list(params), list(log), flat, {}, {}, {}, {}, {}, {}, acceptance,
                     confidence, noise)
    for i, p in enumerate(params):
        post.mean[p] = float(nat[:, i].mean())
        post.sd[p] = float(nat[:, i].std(ddof=1))
        lo, hi = np.quantile(nat[:, i], [a, 1 - a])
        post.credible[p] = (float(lo), float(hi))
        post.tau[p] = float(tau[i])
        post.ess[p] = float(kept * walkers / tau[i]) if tau[i] > 0 else math.nan
        post.rhat[p] = _split_rhat(chain[:, :, i])
        if kept < 50 * tau[i]:
            post.warnings.append(f"{p}: {kept} steps kept, fewer than 50 autocorrelation "
                                 f"times ({tau[i]:.1f}): run longer before trusting the "
                                 "intervals")
        if post.rhat[p] > RHAT_LIMIT:
            post.warnings.append(f"{p}: split R-hat {post.rhat[p]:.3f} > {RHAT_LIMIT}: the "
                                 "walkers have not mixed")
    if not 0.1 <= acceptance <= 0.9:
        post.warnings.append(f"mean acceptance fraction {acceptance:.2f} outside 0.1-0.9")
    return post


def posterior(model: Model, batches: list[Batch], params: list[str], *,
              cal: Calibration | None = None, **options: Any) -> Posterior:
    """The posterior of ``params`` given the observations of ``batches`` with ``model``,
    started at the least-squares calibration ``cal`` (fitted here if not given); the
    ``options`` are those of :func:`sample` (priors, noise, walkers, steps, burn, seed,
    confidence)."""
    cal = cal if cal is not None else calibrate(model, batches, params)
    if cal.params != list(params):
        raise CalibrationError(f"the calibration fitted {cal.params}, not {list(params)}")
    resid, log = residual_function(model, batches, params)
    spread = np.sqrt(np.clip(np.diag(cal.covariance), 0.0, None))
    return sample(resid, list(params), log, cal.fitted, spread,
                  bounds=_bounds(list(params), log, cal.fitted), **options)
