"""The Markov-chain reference of serial lines agrees with closed forms it must reproduce."""

from __future__ import annotations

import pytest
from serial_markov import throughput


@pytest.mark.parametrize("slots", [0, 1, 2, 5])
@pytest.mark.parametrize(("mu1", "mu2"), [(1.0, 1.3), (2.0, 0.7), (1.0, 1.0)])
def test_two_machines_are_mm1n(mu1: float, mu2: float, slots: int) -> None:
    """Two exponential machines with B slots under blocking after service behave as
    M/M/1/N with N = B + 2 (Buzacott & Shanthikumar 1993, ch. 3):
    TH = mu1 mu2 (mu1^N - mu2^N) / (mu1^(N+1) - mu2^(N+1)), and mu N / (N + 1) if equal."""
    n = slots + 2
    exact = (mu1 * n / (n + 1) if mu1 == mu2 else
             mu1 * mu2 * (mu1**n - mu2**n) / (mu1 ** (n + 1) - mu2 ** (n + 1)))
    assert throughput([mu1, mu2], [slots]) == pytest.approx(exact, rel=1e-10)


def test_hunt_three_stations_without_buffers() -> None:
    """Hunt (1956): three balanced exponential stations, no buffers, rate 22/39."""
    assert throughput([1.0, 1.0, 1.0], [0, 0]) == pytest.approx(22 / 39, rel=1e-10)


def test_an_unreliable_machine_alone_gives_its_availability() -> None:
    """A single machine in front of an ever-free one with operation-dependent failures:
    TH = mu * MTBF_ops ... for one machine, rate mu * r / (r + f) (time-based availability
    of a machine that fails only while working: 1 / (1 + f / r))."""
    mu, f, r = 1.0, 0.1, 0.5
    th = throughput([mu, 1e9], [0], fail=[f, 0.0], repair=[r, 1.0])
    assert th == pytest.approx(mu / (1 + f / r), rel=1e-6)
