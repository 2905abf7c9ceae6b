"""Ranking and selection: pick the best of k simulated designs (or, under several objectives,
their Pareto set: :func:`pareto_select`) with a stated guarantee.

:func:`kn_select` is the fully sequential procedure KN of Kim and Nelson (2001, "A fully
sequential procedure for indifference-zone selection in simulation", ACM TOMACS 11(3),
251-273). With probability at least ``1 - alpha`` it returns the design with the best mean
whenever that mean is at least ``delta`` better than every other (the indifference zone); any
design returned is within ``delta`` of the best in the same sense otherwise. It allows common
random numbers: replication ``r`` of every design may share random streams, which makes the
pairwise differences less noisy and the procedure stop sooner.

The procedure only asks for observations; :class:`Selection` keeps every observation so a
caller can store them and report paired intervals afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

Evaluate = Callable[[list[tuple[int, int]]], Sequence[float]]
"""Given ``(design, replication)`` pairs, return one observation per pair, in order."""


@dataclass
class Selection:
    """Outcome of a selection.

    Attributes
    ----------
    best
        Index of the selected design.
    survivors
        Designs still in contention when the procedure stopped (only ``best`` when the
        guarantee holds; more when ``max_replications`` was reached first).
    guaranteed
        True when the procedure stopped by elimination, so the ``1 - alpha`` guarantee holds.
    observations
        Per design, the observations taken (replication ``r`` at position ``r``).
    """

    best: int
    survivors: list[int]
    guaranteed: bool
    observations: list[list[float]] = field(default_factory=list)

    @property
    def replications(self) -> list[int]:
        """Replications taken per design."""
        return [len(o) for o in self.observations]

    @property
    def means(self) -> list[float]:
        """Sample mean per design over the replications it got."""
        return [float(np.mean(o)) for o in self.observations]


def kn_constants(k: int, alpha: float, n0: int) -> float:
    """``h**2`` of procedure KN for ``k`` designs, error ``alpha`` and first stage ``n0``."""
    if k < 2:
        raise ValueError("selection needs at least 2 designs")
    if not 0.0 < alpha < 1.0 - 1.0 / k:
        raise ValueError(f"alpha must be in (0, 1 - 1/k) = (0, {1 - 1 / k:.3f}), got {alpha}")
    if n0 < 2:
        raise ValueError("the first stage needs n0 >= 2 replications")
    eta = 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)
    return 2.0 * eta * (n0 - 1)


def kn_select(evaluate: Evaluate, k: int, *, delta: float, alpha: float = 0.05, n0: int = 10,
              maximize: bool = True, max_replications: int = 1000,
              initial: Sequence[Sequence[float]] | None = None) -> Selection:
    """Select the best of ``k`` designs by procedure KN.

    Parameters
    ----------
    evaluate
        Returns observations for a list of ``(design, replication)`` pairs; it is called once
        per stage with every pair the stage needs (so a caller can run them in parallel).
    k
        Number of designs (indices ``0 .. k - 1``).
    delta
        Indifference zone, in the unit of the observations (> 0): the smallest difference in
        means worth detecting.
    alpha
        Allowed probability of a wrong selection (when the best is ``delta`` better).
    n0
        First-stage replications per design (>= 2; 10-20 is usual).
    maximize
        True when a larger mean is better.
    max_replications
        Stop here even if several designs survive (``guaranteed`` is then False and the best
        sample mean among the survivors is returned).
    initial
        Observations already taken per design (replications ``0 .. len - 1``), reused instead
        of evaluated again (e.g. from stored runs).
    """
    if delta <= 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    h2 = kn_constants(k, alpha, n0)
    obs: list[list[float]] = [list(initial[i]) if initial else [] for i in range(k)]
    sign = 1.0 if maximize else -1.0

    def take(designs: Sequence[int], upto: int) -> None:
        pairs = [(i, r) for i in designs for r in range(len(obs[i]), upto)]
        if not pairs:
            return
        values = list(evaluate(pairs))
        if len(values) != len(pairs):
            raise ValueError(f"evaluate returned {len(values)} values for {len(pairs)} pairs")
        for (i, r), v in zip(pairs, values, strict=True):
            if not np.isfinite(v):
                raise ValueError(f"design {i}, replication {r}: observation {v} is not finite")
            obs[i].append(float(v))

    alive = list(range(k))
    take(alive, n0)
    x = np.array([o[:n0] for o in obs]) * sign
    diff = x[:, None, :] - x[None, :, :]
    s2 = diff.var(axis=2, ddof=1)                      # S^2_il over the first stage
    r = n0
    while True:
        means = np.array([np.mean(obs[i][:r]) for i in range(k)]) * sign
        keep = []
        for i in alive:
            w = np.maximum(0.0, delta / (2 * r) * (h2 * s2[i] / delta**2 - r))
            if all(means[i] >= means[j] - w[j] for j in alive if j != i):
                keep.append(i)
        alive = keep or [max(alive, key=lambda i: means[i])]
        if len(alive) == 1:
            return Selection(alive[0], alive, True, obs)
        if r >= max_replications:
            best = max(alive, key=lambda i: means[i])
            return Selection(best, alive, False, obs)
        r += 1
        take(alive, r)


EvaluateMany = Callable[[list[tuple[int, int]]], Sequence[Sequence[float]]]
"""Given ``(design, replication)`` pairs, return one row of observations (one per objective)
per pair, in order."""


@dataclass
class ParetoSelection:
    """Outcome of :func:`pareto_select`.

    Attributes
    ----------
    selected
        Designs kept: those no other design beats with confidence in every objective.
    dominated_by
        For each design left out, one design that beats it with confidence.
    guaranteed
        True when every interval reached its target width (``delta / 2``), so both parts of
        the guarantee hold; False when ``max_replications`` capped a design first (then only
        the first part holds: no Pareto-optimal design is left out).
    observations
        Per design, per replication, the observation of each objective.
    """

    selected: list[int]
    dominated_by: dict[int, int]
    guaranteed: bool
    observations: list[list[list[float]]] = field(default_factory=list)

    @property
    def replications(self) -> list[int]:
        """Replications taken per design."""
        return [len(o) for o in self.observations]


def pareto_select(evaluate: EvaluateMany, k: int, *, deltas: Sequence[float],
                  maximize: Sequence[bool], alpha: float = 0.05, n0: int = 10,
                  max_replications: int = 200) -> ParetoSelection:
    """Select the Pareto set of ``k`` designs under several objectives, with a guarantee.

    A two-stage procedure of Stein's kind (C. Stein, "A two-sample test for a linear
    hypothesis whose power is independent of the variance", Ann. Math. Stat. 16 (1945)
    243-258), applied to every pairwise difference and objective at once with a Bonferroni
    split of ``alpha``. Stage one takes ``n0`` replications of every design (replication
    ``r`` of every design may share random numbers); from the first-stage variance ``S^2``
    of each paired difference, the number of replications that gives it an interval of half
    width ``delta_m / 2`` is ``N = ceil((h S / (delta_m / 2))^2)``, ``h`` the ``t`` quantile
    with ``n0 - 1`` degrees of freedom at level ``alpha / (2 P)`` (``P`` = pairs x
    objectives). Stage two brings every design to the largest ``N`` of its pairs (at most
    ``max_replications``). Because normal sample means are independent of the sample
    covariance, ``(mean_N - d) sqrt(N) / S`` has a ``t`` distribution, so all intervals
    hold together with probability at least ``1 - alpha`` (normal observations).

    A design is left out when another one is better in every objective with confidence
    (the interval of the difference lies above zero). With probability at least
    ``1 - alpha``: (a) every Pareto-optimal design is selected, and (b) when ``guaranteed``,
    no selected design is beaten by another by more than ``deltas[m]`` in every objective
    ``m``.

    Parameters
    ----------
    evaluate
        Returns one row of observations per ``(design, replication)`` pair; called once per
        stage with every pair the stage needs.
    k
        Number of designs (>= 2).
    deltas
        Indifference zone per objective, in its unit (> 0).
    maximize
        Per objective, True when a larger mean is better.
    alpha
        Allowed probability that any interval misses (0 < alpha < 0.5).
    n0
        First-stage replications per design (>= 2).
    max_replications
        Cap on the replications of any design.
    """
    m = len(maximize)
    if k < 2:
        raise ValueError("selection needs at least 2 designs")
    if len(deltas) != m or any(not d > 0 for d in deltas):
        raise ValueError(f"need one delta > 0 per objective ({m}), got {list(deltas)}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    if n0 < 2 or max_replications < n0:
        raise ValueError("need n0 >= 2 and max_replications >= n0")
    obs: list[list[list[float]]] = [[] for _ in range(k)]

    def take(upto: Sequence[int]) -> None:
        pairs = [(i, r) for i in range(k) for r in range(len(obs[i]), upto[i])]
        if not pairs:
            return
        rows = [list(map(float, row)) for row in evaluate(pairs)]
        if len(rows) != len(pairs):
            raise ValueError(f"evaluate returned {len(rows)} rows for {len(pairs)} pairs")
        for (i, r), row in zip(pairs, rows, strict=True):
            if len(row) != m or not np.isfinite(row).all():
                raise ValueError(f"design {i}, replication {r}: observations {row} are not "
                                 f"{m} finite numbers")
            obs[i].append(row)

    take([n0] * k)
    sign = np.where(np.asarray(maximize), 1.0, -1.0)
    first = np.array([o[:n0] for o in obs]) * sign          # (k, n0, m), larger is better
    comparisons = k * (k - 1) // 2 * m
    h = float(sps.t.ppf(1.0 - alpha / (2 * comparisons), n0 - 1))
    half = np.asarray(deltas, dtype=float) / 2.0
    s = np.zeros((k, k, m))
    need = [n0] * k
    for i in range(k):
        for j in range(i + 1, k):
            s[i, j] = s[j, i] = (first[j] - first[i]).std(axis=0, ddof=1)
            n = int(np.ceil(np.max((h * s[i, j] / half) ** 2)))
            need[i], need[j] = max(need[i], n), max(need[j], n)
    capped = any(n > max_replications for n in need)
    take([min(n, max_replications) for n in need])
    x = [np.array(o) * sign for o in obs]
    dominated_by: dict[int, int] = {}
    for i in range(k):
        for j in range(k):
            if i == j:
                continue
            n = min(len(x[i]), len(x[j]))                   # common replications
            diff = (x[j][:n] - x[i][:n]).mean(axis=0)       # j better than i where > 0
            low = diff - h * s[i, j] / np.sqrt(n)
            if (low > 0).all():
                dominated_by[i] = j
                break
    selected = [i for i in range(k) if i not in dominated_by]
    return ParetoSelection(selected, dominated_by, not capped, obs)
