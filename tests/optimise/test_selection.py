"""Procedure KN (Kim & Nelson 2001) selects the best at its stated probability.

Reference: Kim, S.-H. and Nelson, B. L. (2001), ACM TOMACS 11(3) 251-273: with normal
observations and the best design ``delta`` better than all others (the slippage
configuration, the least favourable one), P(correct selection) >= 1 - alpha.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.optimise.selection import kn_constants, kn_select


def normal_designs(means, sd, seed, common=0.0):
    """Observations of designs with known means; ``common`` is the share of variance that
    replication r of every design shares (common random numbers)."""
    rng = np.random.default_rng(seed)
    shared: dict[int, float] = {}

    def evaluate(pairs):
        out = []
        for i, r in pairs:
            if r not in shared:
                shared[r] = rng.standard_normal()
            z = np.sqrt(common) * shared[r] + np.sqrt(1 - common) * rng.standard_normal()
            out.append(means[i] + sd[i] * z)
        return out

    return evaluate


def test_h2_matches_the_closed_form_for_two_designs():
    # k = 2: eta = ((2 alpha)^(-2/(n0-1)) - 1) / 2, h^2 = 2 eta (n0 - 1)
    alpha, n0 = 0.05, 10
    eta = 0.5 * ((2 * alpha) ** (-2 / (n0 - 1)) - 1)
    assert kn_constants(2, alpha, n0) == pytest.approx(2 * eta * (n0 - 1), rel=1e-12)


@pytest.mark.parametrize(("maximize", "common"), [(True, 0.0), (False, 0.0), (True, 0.8)])
def test_probability_of_correct_selection_in_the_slippage_configuration(maximize, common):
    k, delta, alpha, trials = 5, 0.5, 0.05, 300
    best = k - 1
    means = [0.0] * k
    means[best] = delta if maximize else -delta
    sd = [1.0, 1.5, 1.0, 2.0, 1.0]
    correct = 0
    for t in range(trials):
        sel = kn_select(normal_designs(means, sd, seed=t, common=common), k, delta=delta,
                        alpha=alpha, n0=10, maximize=maximize)
        assert sel.guaranteed
        correct += sel.best == best
    # one-sided binomial check: PCS >= 1 - alpha, allowing 3 standard errors of sampling noise
    se = np.sqrt(alpha * (1 - alpha) / trials)
    assert correct / trials >= 1 - alpha - 3 * se


def test_common_random_numbers_need_fewer_replications():
    k, delta = 4, 0.3
    means = [0.0, 0.1, 0.2, 0.6]
    sd = [1.0] * k
    n_ind = sum(sum(kn_select(normal_designs(means, sd, s), k, delta=delta).replications)
                for s in range(30))
    n_crn = sum(sum(kn_select(normal_designs(means, sd, s, common=0.9), k, delta=delta)
                    .replications) for s in range(30))
    assert n_crn < 0.5 * n_ind


def test_budget_cap_says_the_guarantee_does_not_hold():
    means = [0.0, 0.0, 0.0]
    sel = kn_select(normal_designs(means, [1.0] * 3, 1), 3, delta=0.01, n0=5,
                    max_replications=20)
    assert not sel.guaranteed
    assert max(sel.replications) == 20
    assert sel.best in sel.survivors


def test_initial_observations_are_reused():
    calls = []
    base = normal_designs([0.0, 1.0], [1.0, 1.0], 3)

    def evaluate(pairs):
        calls.extend(pairs)
        return base(pairs)

    first = base([(i, r) for i in range(2) for r in range(10)])
    initial = [first[:10], first[10:]]
    sel = kn_select(evaluate, 2, delta=0.5, n0=10, initial=initial)
    assert all(r >= 10 for _, r in calls)
    assert sel.observations[0][:10] == initial[0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"delta": 0.0}, "delta"), ({"delta": 1.0, "alpha": 0.9}, "alpha"),
    ({"delta": 1.0, "n0": 1}, "n0")])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kn_select(normal_designs([0, 1, 2], [1, 1, 1], 0), 3, **kwargs)
