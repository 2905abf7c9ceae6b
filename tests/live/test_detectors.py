"""CUSUM and EWMA charts: Markov-chain ARLs against published tables and closed forms, the
designed charts against simulation, sigma estimates and detection delays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from twin.live import arl
from twin.live.detectors import Detector, delay_summary, detection_delay, sigma_estimate


@pytest.mark.parametrize(("h", "shift", "expected"), [
    (4.0, 0.0, 168.0), (4.0, 1.0, 8.38), (4.0, 2.0, 3.34),
    (5.0, 0.0, 465.0), (5.0, 1.0, 10.4), (5.0, 2.0, 4.01),
])
def test_two_sided_cusum_arl_matches_montgomery(h: float, shift: float,
                                                expected: float) -> None:
    """Montgomery, Introduction to Statistical Quality Control (6th ed.), Table 9.3: ARL of
    the tabular CUSUM with k = 1/2 (values given to 3 significant figures)."""
    got = arl.cusum_arl(0.5, h, shift, side="two")
    assert got == pytest.approx(expected, rel=0.006)


@pytest.mark.parametrize(("lam", "L", "shift", "expected"), [
    (0.05, 2.615, 0.0, 500.0), (0.05, 2.615, 1.0, 11.4),
    (0.10, 2.814, 0.0, 500.0), (0.10, 2.814, 1.0, 10.3), (0.10, 2.814, 2.0, 4.36),
    (0.20, 2.962, 0.0, 500.0), (0.20, 2.962, 1.0, 10.5),
    (0.40, 3.054, 0.0, 500.0), (0.40, 3.054, 1.0, 14.3),
])
def test_ewma_arl_matches_lucas_saccucci(lam: float, L: float, shift: float,
                                         expected: float) -> None:
    """Lucas & Saccucci (1990), Technometrics 32(1), Table 3 (as reprinted in Montgomery,
    Table 9.11): two-sided EWMA with asymptotic limits."""
    assert arl.ewma_arl(lam, L, shift) == pytest.approx(expected, rel=0.006)


def test_ewma_with_weight_one_is_the_shewhart_chart() -> None:
    """lambda = 1: a 3-sigma Shewhart chart, ARL = 1 / P(|Z| > 3) (closed form)."""
    for shift in (0.0, 1.0):
        p = norm.sf(3 - shift) + norm.cdf(-3 - shift)
        assert arl.ewma_arl(1.0, 3.0, shift) == pytest.approx(1 / p, rel=1e-3)
    # one-sided, reset at zero: with lambda = 1 only the upper tail signals
    assert arl.ewma_arl(1.0, 3.0, 0.0, side="upper") == pytest.approx(1 / norm.sf(3),
                                                                        rel=1e-3)


def test_design_inverts_the_arl() -> None:
    """The designed h and L reproduce the published pairs (Montgomery Table 9.3 read
    backwards: ARL0 168 for h = 4; Lucas & Saccucci: L = 2.814 for ARL0 500)."""
    c = Detector.design("cusum", arl0=arl.cusum_arl(0.5, 4.0, side="two"), shift=1.0)
    assert (c.k, c.h) == (0.5, pytest.approx(4.0, abs=1e-4))
    assert c.arl1 == pytest.approx(8.38, rel=0.006)
    e = Detector.design("ewma", arl0=500, shift=1.0, lam=0.1)
    assert e.L == pytest.approx(2.814, abs=2e-3)
    up = Detector.design("cusum", arl0=200, shift=2.0, side="upper")
    assert up.k == 1.0 and up.expected_arl() == pytest.approx(200, rel=1e-4)


def _run_lengths(det: Detector, z: np.ndarray) -> np.ndarray:
    signals = [i for i, v in enumerate(z.tolist()) if det.update(v)[1]]
    return np.diff(np.r_[-1, signals])


@pytest.mark.parametrize(("kind", "side"), [("cusum", "two"), ("cusum", "upper"),
                                            ("ewma", "two"), ("ewma", "lower")])
def test_designed_charts_have_their_arl_in_simulation(kind: str, side: str) -> None:
    """Monte Carlo check of the Markov-chain design: the mean of about 700 in-control run
    lengths (a restarted chart on N(0, 1) values) is within 4 standard errors of ARL0, and
    at the design shift within 4 standard errors of ARL1."""
    det = Detector.design(kind, arl0=80, shift=1.0, side=side, lam=0.2)
    rng = np.random.default_rng(20260)
    rl = _run_lengths(det, rng.standard_normal(56_000))
    se = rl.std(ddof=1) / math.sqrt(rl.size)
    assert abs(rl.mean() - 80) < 4 * se, (rl.mean(), se, rl.size)
    det.reset()
    sign = -1.0 if side == "lower" else 1.0
    rl1 = _run_lengths(det, rng.standard_normal(6_000) + sign * 1.0)
    se1 = rl1.std(ddof=1) / math.sqrt(rl1.size)
    assert abs(rl1.mean() - det.arl1) < 4 * se1 + 0.5, (rl1.mean(), det.arl1)


def test_a_chart_restarts_after_a_signal_and_skips_nan() -> None:
    det = Detector("cusum", side="upper", k=0.5, h=1.0)
    assert det.update(1.2) == (pytest.approx(0.7), False)
    stat, alarm = det.update(1.0)
    assert alarm and stat == pytest.approx(1.2)
    assert det.statistic == 0.0
    assert det.update(math.nan) == (0.0, False)
    low = Detector("cusum", side="lower", k=0.5, h=1.0)
    assert low.update(3.0) == (0.0, False) and low.update(-2.0)[1]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        Detector("shewart")
    with pytest.raises(ValueError, match="side"):
        Detector.design("cusum", arl0=100, side="both")
    with pytest.raises(ValueError, match="in-control ARL"):
        Detector.design("cusum", arl0=0.5)
    with pytest.raises(ValueError, match="shift"):
        Detector.design("ewma", arl0=100, shift=0)
    with pytest.raises(ValueError, match="lambda"):
        arl.ewma_arl(1.5, 3.0)


def test_sigma_from_an_in_control_window() -> None:
    """Moving-range estimate (Montgomery section 6.4): unbiased for independent normal
    values, and unaffected by a slow drift of the mean, which inflates the sample sd."""
    rng = np.random.default_rng(5)
    x = 2.0 * rng.standard_normal(20_000)
    assert sigma_estimate(x) == pytest.approx(2.0, rel=0.02)
    assert sigma_estimate(x, "sd") == pytest.approx(2.0, rel=0.02)
    drift = x + np.linspace(0, 40, x.size)
    assert sigma_estimate(drift) == pytest.approx(2.0, rel=0.02)
    assert sigma_estimate(drift, "sd") > 5.0
    for bad, match in (([1.0], "2 consecutive"), ([3.0, 3.0, 3.0], "sigma is 0")):
        with pytest.raises(ValueError, match=match):
            sigma_estimate(bad)
    with pytest.raises(ValueError, match="method"):
        sigma_estimate(x, "iqr")


def test_detection_delay_and_summary() -> None:
    d = detection_delay([50.0, 120.0, 400.0, 130.0], fault=100.0)
    assert (d.false_alarms, d.detected, d.delay) == (1, 120.0, 20.0)
    miss = detection_delay([10.0], fault=100.0)
    assert math.isnan(miss.delay) and miss.false_alarms == 1
    s = delay_summary([d, miss], observed=7200.0)
    assert s["detected"] == 0.5 and s["mean_delay_s"] == 20.0
    assert s["false_alarms_per_h"] == pytest.approx(1.0)
