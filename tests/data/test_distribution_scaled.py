"""``Distribution.scaled``: the law of factor x a draw. Reference: for a scale family, X ~ F
implies cX has every duration parameter times c, so with the same random stream each draw
is c times the unscaled draw (and the mean c times the mean)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter

from twin.data.distributions import Distribution

CASES = [
    "90 s",
    {"dist": "exponential", "mean": "90 s"},
    {"dist": "uniform", "low": "60 s", "high": "120 s"},
    {"dist": "triangular", "low": "60 s", "mode": "80 s", "high": "120 s"},
    {"dist": "normal", "mean": "90 s", "std": "20 s", "min": "30 s", "max": "150 s"},
    {"dist": "lognormal", "mean": "90 s", "std": "30 s"},
    {"dist": "weibull", "shape": 1.7, "scale": "90 s", "location": "10 s"},
    {"dist": "gamma", "shape": 2.5, "scale": "30 s"},
    {"dist": "erlang", "k": 3, "mean": "90 s"},
    {"dist": "empirical", "values": [60, 75, 110], "unit": "s"},
]


@pytest.mark.parametrize("spec", CASES, ids=lambda c: c if isinstance(c, str) else c["dist"])
def test_scaled_draws_are_factor_times_the_draws(spec: object) -> None:
    dist = TypeAdapter(Distribution).validate_python(spec)
    slow = dist.scaled(1.3)
    assert slow.mean() == pytest.approx(1.3 * dist.mean(), rel=1e-12)
    a = dist.draw(np.random.default_rng(4), 200)
    b = slow.draw(np.random.default_rng(4), 200)
    np.testing.assert_allclose(b, 1.3 * a, rtol=1e-12)


def test_scale_factor_must_be_positive() -> None:
    dist = TypeAdapter(Distribution).validate_python("90 s")
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive"):
            dist.scaled(bad)
