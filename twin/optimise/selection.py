"""Ranking and selection: pick the best of k simulated designs with a stated guarantee.

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
