"""The MCMC posterior: closed forms of the linear-Gaussian model (flat priors with known or
estimated noise, and a stated normal prior), and a kinetic case whose credible intervals
agree with the profile-likelihood intervals."""

from __future__ import annotations

import numpy as np
import pytest

from twin.fit.calibrate import Batch, CalibrationError, Reactor, calibrate, predict
from twin.fit.mcmc import parse_prior, posterior, sample

X = np.linspace(0.0, 10.0, 12)
SIGMA = 0.3
DESIGN = np.column_stack([np.ones_like(X), X])


def _data() -> np.ndarray:
    return 1.0 + 0.5 * X + np.random.default_rng(3).normal(0.0, SIGMA, X.size)


def _run(y: np.ndarray, **options) -> object:
    def resid(z: np.ndarray) -> np.ndarray:
        return (DESIGN @ z - y) / SIGMA

    beta = np.linalg.lstsq(DESIGN, y, rcond=None)[0]
    return sample(resid, ["a", "b"], [False, False], beta, np.array([0.2, 0.03]),
                  walkers=16, steps=1000, burn=200, seed=11, **options)


def _check(post, mean: np.ndarray, sd: np.ndarray, sd_tol: float) -> None:
    for i, p in enumerate(("a", "b")):
        assert post.mean[p] == pytest.approx(mean[i], abs=0.15 * sd[i]), p
        assert post.sd[p] == pytest.approx(sd[i], rel=sd_tol), p
        assert post.ess[p] > 1000 and post.rhat[p] < 1.02
    assert not post.warnings, post.warnings


def test_linear_gaussian_known_noise_matches_the_closed_form() -> None:
    """Flat priors, known sigma: the posterior is N(beta_hat, sigma^2 (X'X)^-1)."""
    y = _data()
    beta = np.linalg.solve(DESIGN.T @ DESIGN, DESIGN.T @ y)
    cov = SIGMA ** 2 * np.linalg.inv(DESIGN.T @ DESIGN)
    _check(_run(y, noise="known"), beta, np.sqrt(np.diag(cov)), 0.08)


def test_linear_gaussian_estimated_noise_is_student_t() -> None:
    """Flat priors, noise scale integrated out (prior 1/sigma): the marginal posterior of
    each coefficient is Student t with n - p = 10 degrees of freedom, centre beta_hat, scale
    s^2 (X'X)^-1, variance nu / (nu - 2) times that (Box & Tiao 1973, 2.7)."""
    y = _data()
    beta = np.linalg.solve(DESIGN.T @ DESIGN, DESIGN.T @ y)
    r = (DESIGN @ beta - y) / SIGMA
    nu = X.size - 2
    scale = (r @ r / nu) * SIGMA ** 2 * np.linalg.inv(DESIGN.T @ DESIGN)
    post = _run(y)
    _check(post, beta, np.sqrt(np.diag(scale) * nu / (nu - 2)), 0.12)
    # the 95 % credible interval is the classical t interval
    from scipy import stats
    half = stats.t.ppf(0.975, nu) * np.sqrt(scale[1, 1])
    lo, hi = post.credible["b"]
    assert lo == pytest.approx(beta[1] - half, abs=0.1 * half)
    assert hi == pytest.approx(beta[1] + half, abs=0.1 * half)


def test_a_stated_normal_prior_gives_the_conjugate_posterior() -> None:
    """Known sigma, prior a ~ N(0.5, 0.2^2), flat on b: posterior precision X'X / sigma^2 +
    diag(1 / 0.2^2, 0), mean = its inverse times (X'y / sigma^2 + (0.5 / 0.2^2, 0))."""
    y = _data()
    prec = DESIGN.T @ DESIGN / SIGMA ** 2 + np.diag([1 / 0.04, 0.0])
    cov = np.linalg.inv(prec)
    mean = cov @ (DESIGN.T @ y / SIGMA ** 2 + np.array([0.5 / 0.04, 0.0]))
    post = _run(y, noise="known", priors={"a": "normal(0.5, 0.2)"})
    _check(post, mean, np.sqrt(np.diag(cov)), 0.08)


def test_a_lognormal_prior_on_a_log_scale_parameter_is_normal_in_its_log() -> None:
    """A rate fitted on the log scale z = ln k with a Gaussian likelihood in z (centre -9,
    sd 0.3, known noise) and the prior k ~ lognormal(median e^-8, sigma_log 0.4): the
    density of k times the Jacobian dk/dz = k is N(-8, 0.4^2) in z, so the posterior of z is
    normal with precision 1/0.3^2 + 1/0.4^2 (conjugate normal)."""
    prec = 1 / 0.09 + 1 / 0.16
    mean = (-9 / 0.09 - 8 / 0.16) / prec
    post = sample(lambda z: (z - (-9.0)) / 0.3, ["k"], [True], np.array([-9.0]),
                  np.array([0.3]), priors={"k": f"lognormal({float(np.exp(-8.0))!r}, 0.4)"},
                  noise="known", walkers=8, steps=1500, burn=300, seed=5)
    z = post.samples[:, 0]
    assert z.mean() == pytest.approx(mean, abs=0.15 / np.sqrt(prec))
    assert z.std() == pytest.approx(1 / np.sqrt(prec), rel=0.08)


@pytest.mark.parametrize("text", ["normal(1)", "gamma(1, 2)", "normal(1, -2)",
                                  "uniform(3, 1)", "lognormal(-1, 1)", "normal(a, 1)"])
def test_unreadable_priors_are_refused(text: str) -> None:
    with pytest.raises(CalibrationError, match="prior"):
        parse_prior(text)


def test_a_prior_for_a_parameter_not_fitted_is_refused() -> None:
    with pytest.raises(CalibrationError, match="'c', which is not fitted"):
        _run(_data(), priors={"c": "normal(0, 1)"})


@pytest.mark.slow
def test_kinetic_credible_intervals_agree_with_profile_intervals() -> None:
    """k_ref and Ea of a first-order reaction from two isothermal batches (330 and 360 K,
    A and B at 4 times, sd 1 %): the 95 % credible intervals (flat priors on the log scale,
    noise estimated) agree with the 95 % profile-likelihood intervals within 15 % of the
    profile interval's width at each end (Monte Carlo error of the ends about 4 %)."""
    model = Reactor(k_ref=5e-5, ea=60e3, t_ref=345.0)
    truth = {"k_ref": 8e-5, "ea": 75e3}
    rng = np.random.default_rng(17)
    t = np.repeat(np.linspace(3600.0, 3.6e4, 4), 2)
    var = np.array(["A", "B"] * 4)
    batches = []
    for i, temp in enumerate((330.0, 360.0)):
        b = Batch(f"B{i}", {"A": 1000.0}, temp, 1.0, temp, t, var, np.zeros(8),
                  np.full(8, 10.0))
        b.value = predict(model, truth, b) + rng.normal(0.0, 10.0, 8)
        batches.append(b)
    cal = calibrate(model, batches, ["k_ref", "ea"], profile=True)
    post = posterior(model, batches, ["k_ref", "ea"], cal=cal, walkers=10, steps=500,
                     burn=100, seed=2)
    for p in ("k_ref", "ea"):
        (a, b), (lo, hi) = cal.profile_ci[p], post.credible[p]
        assert lo == pytest.approx(a, abs=0.15 * (b - a)), (p, (lo, hi), (a, b))
        assert hi == pytest.approx(b, abs=0.15 * (b - a)), (p, (lo, hi), (a, b))
        assert post.rhat[p] < 1.05


def test_cli_records_the_posterior(tmp_path) -> None:
    """twin calibrate --mcmc: the report has the posterior, the samples are stored, and the
    spec's [calibration] (method mcmc) holds their mean and covariance on the log scale,
    recomputed here from the stored samples."""
    import tomllib

    import pandas as pd

    from twin.data.checks import line_from_dict, load_line
    from twin.edges.cli import main
    from twin.fit.calibrate_spec import model_for

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    spec = root / "lines" / "api_batch" / "line.toml"
    line = load_line(spec)
    model, ph = model_for(line, "reactor", 4.0e6)
    rng = np.random.default_rng(9)
    samples, records = [], []
    start = pd.Timestamp("2026-03-02T06:00:00Z")
    for i in range(2):
        t0 = start + pd.Timedelta(days=i)
        times = np.repeat(np.linspace(0.0, 4 * 3600.0, 5), 2)
        var = np.array(["A", "B"] * 5)
        b = Batch(f"B{i}", {"A": 1000.0}, ph.jacket, line.stations["reactor"].volume,
                  ph.jacket, times, var, np.zeros(10), np.ones(10))
        y = predict(model, {"k_ref": model.k_ref * 1.2}, b) + rng.normal(0, 5.0, 10)
        y[0], y[1] = 1000.0, 0.0
        for t, v, c in zip(times, var, y, strict=True):
            samples.append({"batch": b.name, "time": (t0 + pd.Timedelta(seconds=t)).isoformat(),
                            "species": v, "concentration": c / 1000.0, "unit": "mol/L"})
        records.append({"batch": b.name, "unit": "reactor", "phase": "react",
                        "start": t0.isoformat(), "end": (t0 + pd.Timedelta(hours=5)).isoformat()})
    pd.DataFrame(samples).to_csv(tmp_path / "samples.csv", index=False)
    pd.DataFrame(records).to_csv(tmp_path / "records.csv", index=False)
    out = tmp_path / "calibrated.toml"
    code = main(["calibrate", str(spec), str(tmp_path / "samples.csv"), "--records",
                 str(tmp_path / "records.csv"), "--station", "reactor", "--params",
                 "k_ref,dh", "--sd", "A=5,B=5", "--mcmc", "20", "--seed", "3",
                 "--prior", "dh=normal(-120e3, 20e3)", "-o", str(out)])
    assert code == 0
    new = line_from_dict(tomllib.loads(out.read_text()), base_dir=spec.parent)
    rec = new.calibration["reactor"]
    assert rec.method == "mcmc" and rec.parameters == ["k_ref", "dh"]
    kept = pd.read_csv(out.with_suffix(".posterior.csv"))
    assert len(kept) == 16 * 15  # 16 walkers, 20 steps less a burn-in of 5
    z = np.column_stack([np.log(kept["k_ref"]), kept["dh"]])
    assert rec.estimate[0] == pytest.approx(np.exp(z[:, 0].mean()), rel=1e-9)
    assert np.allclose(rec.covariance, np.cov(z, rowvar=False), rtol=1e-9)
    assert "## Posterior (MCMC)" in out.with_suffix(".calibration.md").read_text()
