"""Maximum likelihood fits of duration families against SciPy, interval coverage over repeated
samples, the bootstrap KS test's size and power, and unbiased fits of right-censored data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from twin.fit.families import fit, ks_bootstrap, select


def test_weibull_and_gamma_mle_match_scipy() -> None:
    """Reference: scipy.stats.<dist>.fit with the location fixed at 0 (numerical MLE)."""
    rng = np.random.default_rng(3)
    x = stats.weibull_min(1.7, scale=300).rvs(500, random_state=rng)
    c, _, scale = stats.weibull_min.fit(x, floc=0)
    f = fit("weibull", x)
    assert f.params["shape"] == pytest.approx(c, rel=1e-5)
    assert f.params["scale"] == pytest.approx(scale, rel=1e-5)
    y = stats.gamma(2.5, scale=40).rvs(500, random_state=rng)
    a, _, s = stats.gamma.fit(y, floc=0)
    g = fit("gamma", y)
    assert (g.params["shape"], g.params["scale"]) == pytest.approx((a, s), rel=1e-4)


def test_lognormal_mle_is_the_closed_form_of_the_logs() -> None:
    """Closed form: mu, sigma = mean and (population) std of log x; spec mean = exp(mu +
    sigma^2 / 2), std = mean sqrt(exp(sigma^2) - 1)."""
    x = stats.lognorm(0.4, scale=200).rvs(400, random_state=np.random.default_rng(5))
    mu, s = np.log(x).mean(), np.log(x).std()
    f = fit("lognormal", x)
    mean = np.exp(mu + s * s / 2)
    assert f.params["mean"] == pytest.approx(mean, rel=1e-9)
    assert f.params["std"] == pytest.approx(mean * np.sqrt(np.expm1(s * s)), rel=1e-9)
    assert f.loglik == pytest.approx(stats.lognorm(s, scale=np.exp(mu)).logpdf(x).sum())


def test_censored_weibull_matches_scipy_censored_data() -> None:
    """Reference: scipy.stats.weibull_min.fit on stats.CensoredData (right-censored)."""
    t = stats.weibull_min(1.5, scale=100).rvs(300, random_state=np.random.default_rng(7))
    obs, cut = t[t <= 120], np.full(int((t > 120).sum()), 120.0)
    f = fit("weibull", obs, cut)
    c, _, scale = stats.weibull_min.fit(stats.CensoredData(uncensored=obs, right=cut), floc=0)
    assert f.params["shape"] == pytest.approx(c, rel=1e-4)
    assert f.params["scale"] == pytest.approx(scale, rel=1e-4)


@pytest.mark.parametrize(("family", "dist", "truth"), [
    ("lognormal", stats.lognorm(0.3, scale=100), None),
    ("weibull", stats.weibull_min(2.0, scale=700), {"shape": 2.0, "scale": 700.0}),
    ("exponential", stats.expon(scale=600), {"mean": 600.0}),
])
def test_wald_intervals_cover_the_truth_at_their_rate(family, dist, truth) -> None:
    """95% intervals over 200 samples of n=100: coverage within [0.90, 0.99] (more than 3
    binomial standard deviations from 0.95)."""
    if truth is None:
        m, v = dist.stats()
        truth = {"mean": float(m), "std": float(np.sqrt(v))}
    rng = np.random.default_rng(11)
    hits = {k: 0 for k in truth}
    reps = 200
    for _ in range(reps):
        f = fit(family, dist.rvs(100, random_state=rng))
        for k, t in truth.items():
            lo, hi = f.intervals[k]
            hits[k] += lo <= t <= hi
    for k in truth:
        assert 0.90 <= hits[k] / reps <= 0.99, (k, hits[k] / reps)


@pytest.mark.slow
def test_bootstrap_ks_has_its_size_where_the_naive_ks_is_far_too_lenient() -> None:
    """Under the null (data from the fitted family) the bootstrap p-value rejects at about
    alpha; the tabulated KS p-value with estimated parameters rejects almost never
    (Lilliefors 1967), so the correction matters."""
    rng = np.random.default_rng(13)
    boot, naive, reps = 0, 0, 50
    for _ in range(reps):
        x = stats.norm(240, 30).rvs(80, random_state=rng)
        f = fit("normal", x)
        _, p = ks_bootstrap(f, x, rng, rounds=49)
        boot += p < 0.10
        naive += stats.kstest(x, f.dist().cdf).pvalue < 0.10
    assert 0.02 <= boot / reps <= 0.22  # 3 binomial sd around 0.10 for 50 repeats
    assert naive / reps <= 0.02


def test_wrong_family_rejected_and_right_family_chosen() -> None:
    rng = np.random.default_rng(17)
    x = stats.norm(240, 30).rvs(400, random_state=rng)
    (expo,) = select(x, ["exponential"], rounds=99)
    assert expo.p_value <= 0.01  # the smallest p-value 99 rounds can give
    chosen = [select(stats.weibull_min(2.0, scale=700).rvs(400, random_state=rng),
                     rounds=0)[0].family for _ in range(10)]
    assert chosen.count("weibull") >= 8


@pytest.mark.slow
def test_censored_fit_is_unbiased_where_dropping_the_censored_is_not() -> None:
    """Times to failure cut by the end of the log: the censored MLE of the mean stays at
    the truth; fitting only the completed times underestimates it badly."""
    rng = np.random.default_rng(19)
    truth = stats.weibull_min(1.5, scale=100)
    mean = float(truth.mean())
    est, naive = [], []
    for _ in range(60):
        t = truth.rvs(80, random_state=rng)
        window = rng.uniform(20, 200, 80)  # each unit observed for its own time
        done = t <= window
        f = fit("weibull", t[done], window[~done], confidence=None)
        est.append(f.dist().mean())
        naive.append(fit("weibull", t[done], confidence=None).dist().mean())
    est_m, se = float(np.mean(est)), float(np.std(est) / np.sqrt(len(est)))
    assert abs(est_m - mean) < 3 * se + 0.01 * mean
    assert np.mean(naive) < 0.85 * mean


def test_gamma_and_erlang_fits_are_written_as_the_engine_reads_them() -> None:
    """Erlang data (k = 3): the Erlang fit finds k = 3 and its mean MLE is the sample mean
    (closed form for a fixed whole shape); both spec tables validate as distributions."""
    from pydantic import TypeAdapter

    from twin.data.distributions import Distribution

    x = stats.gamma(3, scale=30).rvs(2000, random_state=np.random.default_rng(29))
    e = fit("erlang", x)
    assert e.params["k"] == 3 and e.params["mean"] == pytest.approx(x.mean(), rel=1e-6)
    assert e.spec() == {"dist": "erlang", "k": 3, "mean": f"{x.mean():.6g} s"}
    g = fit("gamma", x)
    adapter = TypeAdapter(Distribution)
    for f in (e, g):
        d = adapter.validate_python(f.spec())
        assert d.mean() == pytest.approx(f.dist().mean(), rel=1e-5)
