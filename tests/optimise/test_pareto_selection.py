"""Selecting a Pareto set with a guarantee (:func:`twin.optimise.selection.pareto_select`).

References: designs with known true means and normal observations (drawn here), so the true
Pareto set is known; the guarantee of the procedure (Stein 1945 two-stage intervals for every
paired difference, Bonferroni over pairs and objectives) is checked over repeated trials
against the binomial distribution of the number of trials that meet it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from twin.optimise.selection import pareto_select

# two objectives, both maximised; A-D are Pareto-optimal and so is H, equal to B (a tie:
# neither dominates); E is within the indifference zone of B (0.5 worse in each); F and G
# are beaten by B by more than delta in both, G only just (1.05)
MEANS = np.array([[10.0, 1.0], [8.0, 5.0], [5.0, 8.0], [1.0, 10.0], [7.5, 4.5], [3.0, 3.0],
                  [6.95, 3.95], [8.0, 5.0]])
PARETO = {0, 1, 2, 3, 7}
DELTAS = (1.0, 1.0)


def observer(rng: np.random.Generator, sd: float = 1.0, shared: float = 0.8):  # noqa: ANN201
    """Observations of replication r share a common part across designs (CRN) with
    correlation ``shared``."""
    common: dict[int, np.ndarray] = {}

    def evaluate(pairs: list[tuple[int, int]]) -> list[list[float]]:
        rows = []
        for i, r in pairs:
            if r not in common:
                common[r] = rng.standard_normal(2)
            own = rng.standard_normal(2)
            noise = sd * (np.sqrt(shared) * common[r] + np.sqrt(1 - shared) * own)
            rows.append(list(MEANS[i] + noise))
        return rows
    return evaluate


def test_the_pareto_set_is_kept_and_clearly_beaten_designs_left_out() -> None:
    """Over 100 trials, the event 'every Pareto-optimal design selected and no selected design
    beaten by more than delta in every objective' holds in at least 1 - alpha of them (lower
    binomial 0.1 % bound)."""
    trials, alpha = 100, 0.05
    rng = np.random.default_rng(7)
    met = 0
    for _ in range(trials):
        sel = pareto_select(observer(rng), len(MEANS), deltas=DELTAS, maximize=(True, True),
                            alpha=alpha, n0=10, max_replications=400)
        assert sel.guaranteed
        chosen = set(sel.selected)
        beaten = any((MEANS[j] - MEANS[i] > np.asarray(DELTAS)).all()
                     for i in chosen for j in range(len(MEANS)))
        met += PARETO <= chosen and not beaten
        for i, j in sel.dominated_by.items():   # every exclusion names a design that wins
            assert (MEANS[j] >= MEANS[i]).all()
    assert met >= stats.binom.ppf(0.001, trials, 1 - alpha)


def test_directions_and_common_random_numbers() -> None:
    """Minimised objectives are handled by direction (the same designs come out with the
    signs flipped), and common random numbers need fewer replications than independent
    streams for the same decisions."""
    rng = np.random.default_rng(3)
    up = pareto_select(observer(rng), len(MEANS), deltas=DELTAS, maximize=(True, True))
    flipped = observer(np.random.default_rng(3))

    def negated(pairs: list[tuple[int, int]]) -> list[list[float]]:
        return [[-v for v in row] for row in flipped(pairs)]

    down = pareto_select(negated, len(MEANS), deltas=DELTAS, maximize=(False, False))
    assert up.selected == down.selected and up.replications == down.replications
    assert 5 not in up.selected
    crn = np.mean([sum(pareto_select(observer(np.random.default_rng(s)), len(MEANS),
                                     deltas=DELTAS, maximize=(True, True)).replications)
                   for s in range(4)])
    indep = np.mean([sum(pareto_select(observer(np.random.default_rng(s), shared=0.0),
                                       len(MEANS), deltas=DELTAS,
                                       maximize=(True, True)).replications)
                     for s in range(4)])
    assert crn < 0.5 * indep


def test_the_two_stage_interval_is_exact_for_one_difference() -> None:
    """Two designs with equal means, one objective: one is left out exactly when the Stein
    interval of their difference misses zero, which happens with probability alpha exactly
    (t distribution with n0 - 1 degrees of freedom); 2,000 trials at alpha = 0.2 against the
    two-sided binomial 0.1 % bounds. A wrong quantile, variance or sample size moves it."""
    trials, alpha = 2000, 0.2
    rng = np.random.default_rng(21)

    def evaluate(pairs: list[tuple[int, int]]) -> list[list[float]]:
        return [[float(rng.normal(5.0, 1.0 + 0.5 * i))] for i, _ in pairs]

    left_out = sum(bool(pareto_select(evaluate, 2, deltas=(1.5,), maximize=(True,),
                                      alpha=alpha, n0=5).dominated_by)
                   for _ in range(trials))
    low, high = stats.binom.ppf([0.0005, 0.9995], trials, alpha)
    assert low <= left_out <= high


def test_a_cap_keeps_the_pareto_set_but_says_the_guarantee_is_partial() -> None:
    rng = np.random.default_rng(11)
    sel = pareto_select(observer(rng), len(MEANS), deltas=(0.05, 0.05),
                        maximize=(True, True), max_replications=20)
    assert not sel.guaranteed and max(sel.replications) == 20
    assert PARETO <= set(sel.selected)


@pytest.mark.parametrize("kwargs, says", [
    ({"deltas": (1.0,)}, "one delta > 0 per objective"),
    ({"deltas": (1.0, 0.0)}, "one delta > 0 per objective"),
    ({"alpha": 0.6}, "alpha"),
    ({"n0": 1}, "n0 >= 2"),
])
def test_bad_settings_are_refused(kwargs: dict, says: str) -> None:
    args = {"deltas": DELTAS, "maximize": (True, True)} | kwargs
    with pytest.raises(ValueError, match=says):
        pareto_select(observer(np.random.default_rng(0)), len(MEANS), **args)


def test_a_non_finite_observation_names_its_design_and_replication() -> None:
    def evaluate(pairs: list[tuple[int, int]]) -> list[list[float]]:
        return [[1.0, float("nan")] if (i, r) == (2, 3) else [1.0, 1.0] for i, r in pairs]

    with pytest.raises(ValueError, match="design 2, replication 3"):
        pareto_select(evaluate, 3, deltas=DELTAS, maximize=(True, True))
