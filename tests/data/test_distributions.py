"""Duration distributions: means against closed forms / scipy.stats, samplers against
scipy.stats by a Kolmogorov-Smirnov test, determinism, and rejection of bad parameters."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from twin.data.distributions import (
    Constant,
    Distribution,
    Empirical,
    Erlang,
    Exponential,
    Gamma,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
    Weibull,
)

ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)
N_DRAWS = 20_000
ALPHA = 1e-3


def dist(data: Any) -> Any:
    return ADAPTER.validate_python(data)


def draws(d: Any, seed: int = 12345, n: int = N_DRAWS) -> np.ndarray:
    """n draws through the chunked sampler (the path the engine uses)."""
    sample = d.sampler(np.random.default_rng(seed), chunk=1000)
    return np.array([sample() for _ in range(n)])


# ----------------------------------------------------------------- references (scipy.stats)

CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("exponential", {"dist": "exponential", "mean": "90 s"}, stats.expon(scale=90.0)),
    ("uniform", {"dist": "uniform", "low": "3 min", "high": "5 min"},
     stats.uniform(loc=180.0, scale=120.0)),
    ("triangular", {"dist": "triangular", "low": "14 min", "mode": "16 min", "high": "22 min"},
     stats.triang(c=(960.0 - 840.0) / (1320.0 - 840.0), loc=840.0, scale=480.0)),
    ("triangular-mode-at-low", {"dist": "triangular", "low": "1 s", "mode": "1 s", "high": "4 s"},
     stats.triang(c=0.0, loc=1.0, scale=3.0)),
    # truncated at the default min = 0: a real cut (mean 60 s, std 60 s)
    ("normal-cut-at-zero", {"dist": "normal", "mean": "1 min", "std": "1 min"},
     stats.truncnorm(a=-1.0, b=np.inf, loc=60.0, scale=60.0)),
    ("normal-two-sided", {"dist": "normal", "mean": "7 min", "std": "1 min",
                          "min": "6 min", "max": "9 min"},
     stats.truncnorm(a=-1.0, b=2.0, loc=420.0, scale=60.0)),
    ("normal-min-above-mean", {"dist": "normal", "mean": "10 s", "std": "5 s", "min": "12 s"},
     stats.truncnorm(a=0.4, b=np.inf, loc=10.0, scale=5.0)),
    ("weibull", {"dist": "weibull", "shape": 1.4, "scale": "60 h"},
     stats.weibull_min(c=1.4, scale=60 * 3600.0)),
    ("weibull-location", {"dist": "weibull", "shape": 0.7, "scale": "2 h", "location": "10 min"},
     stats.weibull_min(c=0.7, loc=600.0, scale=7200.0)),
    ("gamma", {"dist": "gamma", "shape": 2.5, "scale": "40 s"}, stats.gamma(a=2.5, scale=40.0)),
    ("gamma-shape-below-one", {"dist": "gamma", "shape": 0.6, "scale": "2 h"},
     stats.gamma(a=0.6, scale=7200.0)),
    # Erlang k = 3 with mean 90 s of the whole: three phases of 30 s (scipy's erlang, a = k)
    ("erlang", {"dist": "erlang", "k": 3, "mean": "90 s"}, stats.erlang(a=3, scale=30.0)),
    ("erlang-one-phase-is-exponential", {"dist": "erlang", "k": 1, "mean": "2 min"},
     stats.expon(scale=120.0)),
]


def _lognormal_ref(mean: float, std: float) -> Any:
    """scipy lognorm whose value (not log) has the given mean and std."""
    s2 = math.log(1.0 + (std / mean) ** 2)
    return stats.lognorm(s=math.sqrt(s2), scale=math.exp(math.log(mean) - 0.5 * s2))


CASES += [
    ("lognormal", {"dist": "lognormal", "mean": "9 min", "std": "1.5 min"},
     _lognormal_ref(540.0, 90.0)),
    ("lognormal-wide", {"dist": "lognormal", "mean": "1.5 h", "std": "3 h"},
     _lognormal_ref(5400.0, 10800.0)),
]


@pytest.mark.parametrize(("label", "data", "ref"), CASES, ids=[c[0] for c in CASES])
def test_mean_matches_scipy(label: str, data: dict[str, Any], ref: Any) -> None:
    assert dist(data).mean() == pytest.approx(ref.mean(), rel=1e-9)


@pytest.mark.parametrize(("label", "data", "ref"), CASES, ids=[c[0] for c in CASES])
def test_sampler_passes_ks_test_against_scipy(label: str, data: dict[str, Any],
                                              ref: Any) -> None:
    x = draws(dist(data))
    result = stats.kstest(x, ref.cdf)
    assert result.pvalue > ALPHA, f"{label}: KS p={result.pvalue:.2e}, D={result.statistic:.4f}"


@pytest.mark.parametrize(("label", "data", "ref"), CASES, ids=[c[0] for c in CASES])
def test_sample_mean_agrees_with_mean(label: str, data: dict[str, Any], ref: Any) -> None:
    x = draws(dist(data), seed=99)
    se = ref.std() / math.sqrt(x.size)
    assert abs(x.mean() - dist(data).mean()) < 5 * se


def test_ks_test_is_able_to_reject() -> None:
    """The KS check above can fail: a shifted reference is rejected."""
    x = draws(dist({"dist": "exponential", "mean": "90 s"}))
    assert stats.kstest(x, stats.expon(scale=100.0).cdf).pvalue < ALPHA


def test_lognormal_value_has_given_mean_and_std() -> None:
    d = dist({"dist": "lognormal", "mean": "1.5 h", "std": "0.75 h"})
    m, s = d._log_params()
    ref = stats.lognorm(s=s, scale=math.exp(m))
    assert ref.mean() == pytest.approx(5400.0, rel=1e-12)
    assert ref.std() == pytest.approx(2700.0, rel=1e-12)


def test_triangular_mean_closed_form() -> None:
    d = dist({"dist": "triangular", "low": "10 min", "mode": "20 min", "high": "45 min"})
    assert d.mean() == pytest.approx((600 + 1200 + 2700) / 3)


def test_uniform_and_exponential_closed_forms() -> None:
    assert dist({"dist": "uniform", "low": "2 s", "high": "8 s"}).mean() == 5.0
    assert dist({"dist": "exponential", "mean": "200 h"}).mean() == 720_000.0


def test_shorthand_quantity_is_constant() -> None:
    d = dist("4 min")
    assert isinstance(d, Constant)
    assert d.mean() == 240.0
    sample = d.sampler(np.random.default_rng(0))
    assert {sample() for _ in range(10)} == {240.0}
    assert np.all(d.draw(np.random.default_rng(0), 5) == 240.0)


def test_empirical_mean_and_resampling_frequencies() -> None:
    d = dist({"dist": "empirical", "values": [1, 2, 2, "4 s", "0.1 min"], "unit": "s"})
    assert isinstance(d, Empirical)
    assert d.values == [1.0, 2.0, 2.0, 4.0, 6.0]
    assert d.mean() == pytest.approx(3.0)
    x = draws(d)
    values, counts = np.unique(x, return_counts=True)
    assert list(values) == [1.0, 2.0, 4.0, 6.0]
    expected = np.array([0.2, 0.4, 0.2, 0.2]) * x.size
    assert stats.chisquare(counts, expected).pvalue > ALPHA


def test_empirical_bare_numbers_use_unit() -> None:
    d = dist({"dist": "empirical", "values": [1, 2], "unit": "min"})
    assert d.values == [60.0, 120.0]


# ----------------------------------------------------------------- determinism


@pytest.mark.parametrize(("label", "data", "ref"), CASES, ids=[c[0] for c in CASES])
def test_sampler_is_deterministic_for_a_seed(label: str, data: dict[str, Any],
                                             ref: Any) -> None:
    d = dist(data)
    a = draws(d, seed=7, n=3000)
    b = draws(d, seed=7, n=3000)
    c = draws(d, seed=8, n=3000)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sampler_independent_of_chunk_for_the_first_chunk() -> None:
    d = dist({"dist": "exponential", "mean": "90 s"})
    s1 = d.sampler(np.random.default_rng(5), chunk=64)
    first = [s1() for _ in range(64)]
    assert first == d.draw(np.random.default_rng(5), 64).tolist()


def test_draws_are_never_negative() -> None:
    for _, data, _ in CASES:
        assert draws(dist(data), n=2000).min() >= 0.0


# ----------------------------------------------------------------- invalid parameters


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"dist": "triangular", "low": "30 min", "mode": "20 min", "high": "35 min"},
                     id="triangular-mode-below-low"),
        pytest.param({"dist": "triangular", "low": "10 min", "mode": "40 min", "high": "35 min"},
                     id="triangular-mode-above-high"),
        pytest.param({"dist": "triangular", "low": "5 min", "mode": "5 min", "high": "5 min"},
                     id="triangular-degenerate"),
        pytest.param({"dist": "uniform", "low": "5 s", "high": "5 s"}, id="uniform-empty"),
        pytest.param({"dist": "uniform", "low": "-1 s", "high": "5 s"}, id="uniform-negative"),
        pytest.param({"dist": "exponential", "mean": "-90 s"}, id="exponential-negative-mean"),
        pytest.param({"dist": "exponential", "mean": "0 s"}, id="exponential-zero-mean"),
        pytest.param({"dist": "lognormal", "mean": "-1 min", "std": "1 min"},
                     id="lognormal-negative-mean"),
        pytest.param({"dist": "lognormal", "mean": "1 min", "std": "0 min"}, id="lognormal-std0"),
        pytest.param({"dist": "lognormal", "mean": "1 min", "std": "-1 min"},
                     id="lognormal-std-negative"),
        pytest.param({"dist": "normal", "mean": "1 min", "std": "0 s"}, id="normal-std0"),
        pytest.param({"dist": "normal", "mean": "1 min", "std": "-2 s"}, id="normal-std-neg"),
        pytest.param({"dist": "normal", "mean": "-10 min", "std": "1 min"},
                     id="normal-negative-mean-truncated-away"),
        pytest.param({"dist": "normal", "mean": "10 min", "std": "1 s", "min": "20 min"},
                     id="normal-truncation-keeps-nothing"),
        pytest.param({"dist": "normal", "mean": "10 min", "std": "1 min", "min": "12 min",
                      "max": "11 min"}, id="normal-max-below-min"),
        pytest.param({"dist": "weibull", "shape": 0, "scale": "1 h"}, id="weibull-shape0"),
        pytest.param({"dist": "weibull", "shape": 1.5, "scale": "-1 h"}, id="weibull-scale-neg"),
        pytest.param({"dist": "weibull", "shape": 1.5, "scale": "1 h", "location": "-1 s"},
                     id="weibull-location-neg"),
        pytest.param({"dist": "empirical", "values": []}, id="empirical-empty"),
        pytest.param({"dist": "empirical", "values": [1, -2]}, id="empirical-negative"),
        pytest.param({"dist": "empirical", "values": [1, 2], "unit": "kg"},
                     id="empirical-wrong-unit"),
        pytest.param({"dist": "empirical", "values": ["5 kg"]}, id="empirical-wrong-unit-value"),
        pytest.param({"dist": "constant", "value": "-5 s"}, id="constant-negative"),
        pytest.param("5 kg", id="constant-wrong-unit"),
        pytest.param(90, id="bare-number-without-unit"),
        pytest.param({"dist": "pareto", "mean": "1 s"}, id="unknown-distribution"),
        pytest.param({"dist": "gamma", "shape": 0, "scale": "1 s"}, id="gamma-shape0"),
        pytest.param({"dist": "gamma", "shape": 2, "scale": "-1 s"}, id="gamma-scale-neg"),
        pytest.param({"dist": "gamma", "shape": 2, "scale": "1 kg"}, id="gamma-scale-unit"),
        pytest.param({"dist": "gamma", "shape": 2}, id="gamma-missing-scale"),
        pytest.param({"dist": "gamma", "shape": 2, "mean": "1 s"}, id="gamma-mean-not-scale"),
        pytest.param({"dist": "erlang", "k": 0, "mean": "1 s"}, id="erlang-k0"),
        pytest.param({"dist": "erlang", "k": 2.5, "mean": "1 s"}, id="erlang-k-not-whole"),
        pytest.param({"dist": "erlang", "k": 3, "mean": "0 s"}, id="erlang-zero-mean"),
        pytest.param({"dist": "erlang", "k": 3, "scale": "1 s"}, id="erlang-scale-not-mean"),
        pytest.param({"mean": "1 s"}, id="no-dist-key"),
        pytest.param({"dist": "exponential", "mean": "1 s", "rate": 2}, id="unknown-key"),
        pytest.param({"dist": "exponential"}, id="missing-mean"),
    ],
)
def test_invalid_parameters_rejected(data: Any) -> None:
    with pytest.raises(ValidationError):
        dist(data)


def test_weibull_mean_is_finite_or_rejected() -> None:
    """A shape so small that the mean overflows must not give a distribution whose mean()
    raises (the engine calls mean() for planned run times)."""
    try:
        d = dist({"dist": "weibull", "shape": 0.001, "scale": "1 s"})
    except ValidationError:
        return
    assert math.isfinite(d.mean())


def test_models_are_the_documented_classes() -> None:
    assert isinstance(dist({"dist": "exponential", "mean": "1 s"}), Exponential)
    assert isinstance(dist({"dist": "uniform", "low": "1 s", "high": "2 s"}), Uniform)
    assert isinstance(dist({"dist": "triangular", "low": "1 s", "mode": "1 s", "high": "2 s"}),
                      Triangular)
    assert isinstance(dist({"dist": "normal", "mean": "1 s", "std": "1 s"}), Normal)
    assert isinstance(dist({"dist": "lognormal", "mean": "1 s", "std": "1 s"}), Lognormal)
    assert isinstance(dist({"dist": "weibull", "shape": 1, "scale": "1 s"}), Weibull)
    assert isinstance(dist({"dist": "gamma", "shape": 1, "scale": "1 s"}), Gamma)
    assert isinstance(dist({"dist": "erlang", "k": 2, "mean": "1 s"}), Erlang)


def test_gamma_and_erlang_variance_closed_forms() -> None:
    """Gamma variance = shape * scale**2; Erlang(k, mean) variance = mean**2 / k (the
    squared coefficient of variation 1/k used by M/E_k/1)."""
    g = draws(dist({"dist": "gamma", "shape": 2.5, "scale": "40 s"}), seed=3, n=40_000)
    assert g.var() == pytest.approx(2.5 * 40.0**2, rel=0.05)
    e = draws(dist({"dist": "erlang", "k": 4, "mean": "1 min"}), seed=4, n=40_000)
    assert e.var() == pytest.approx(60.0**2 / 4, rel=0.05)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"dist": "lognormal", "mean": "1 s", "std": "1e200 s"}, id="ratio-overflows"),
        pytest.param({"dist": "lognormal", "mean": "1e-300 s", "std": "1e300 s"},
                     id="ratio-infinite"),
    ],
)
def test_lognormal_extreme_ratio_rejected_or_finite(data: dict[str, Any]) -> None:
    """Accepted parameters must give finite, non-negative draws (no OverflowError, no NaN)."""
    try:
        d = dist(data)
    except ValidationError:
        return
    x = d.draw(np.random.default_rng(0), 100)
    assert np.all(np.isfinite(x)) and x.min() >= 0.0
