"""Time-weighted statistics against exact rational arithmetic (independent reference)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.kernels.statistics import time_in_state, time_weighted_mean, time_weighted_stats


def _exact(times, values, t0, t1):
    """Exact time-weighted integral and covered time by Fractions, piece by piece."""
    integral = Fraction(0)
    covered = Fraction(0)
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        end = times[i + 1] if i + 1 < len(times) else max(t1, t)
        lo, hi = max(Fraction(t), Fraction(t0)), min(Fraction(end), Fraction(t1))
        if hi > lo:
            integral += (hi - lo) * Fraction(v)
            covered += hi - lo
    return integral, covered


signals = st.lists(
    st.tuples(st.integers(0, 50), st.integers(-20, 20)), min_size=1, max_size=30
).map(lambda pairs: (sorted(p[0] for p in pairs), [p[1] for p in pairs]))


@settings(max_examples=60, deadline=None)
@given(signals, st.integers(-5, 60), st.integers(0, 40))
def test_mean_and_time_in_state_are_exact(sig, t0, width) -> None:
    times, values = sig
    t1 = t0 + width
    integral, covered = _exact(times, values, t0, t1)
    mean = time_weighted_mean(times, values, t0, t1)
    if covered == 0:
        assert np.isnan(mean)
    else:
        assert mean == pytest.approx(float(integral / covered), rel=1e-12, abs=1e-12)
    codes = [v % 4 for v in values]
    spent = time_in_state(times, codes, t0, t1, 4)
    for code in range(4):
        expected, _ = _exact(times, [1 if c == code else 0 for c in codes], t0, t1)
        assert spent[code] == pytest.approx(float(expected), abs=1e-12)
    assert spent.sum() == pytest.approx(float(covered), abs=1e-12)


def test_stats_small_case() -> None:
    mean, std, lo, hi, covered = time_weighted_stats([0, 1, 3], [1, 2, 4], 0, 5)
    assert (mean, lo, hi, covered) == (pytest.approx(2.6), 1.0, 4.0, 5.0)
    assert std == pytest.approx(np.sqrt((1 * 1.6**2 + 2 * 0.6**2 + 2 * 1.4**2) / 5))


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        time_weighted_mean([0, 2, 1], [1, 1, 1], 0, 3)
    with pytest.raises(ValueError, match="state codes"):
        time_in_state([0, 1], [0, 5], 0, 2, 3)
