"""Pareto dominance for several objectives, each maximised or minimised."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def dominates(a: np.ndarray, b: np.ndarray, maximize: Sequence[bool]) -> bool:
    """True when ``a`` is at least as good as ``b`` in every objective and better in one."""
    sign = np.where(np.asarray(maximize), 1.0, -1.0)
    x, y = np.asarray(a) * sign, np.asarray(b) * sign
    return bool(np.all(x >= y) and np.any(x > y))


def non_dominated(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the rows of ``points`` (n x objectives) that no other row dominates.

    Equal rows do not dominate each other, so duplicates are all kept.
    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != len(maximize):
        raise ValueError(f"points must be n x {len(maximize)}, got shape {pts.shape}")
    x = pts * np.where(np.asarray(maximize), 1.0, -1.0)
    better_eq = np.all(x[:, None, :] >= x[None, :, :], axis=2)   # [i, j]: i >= j everywhere
    strictly = np.any(x[:, None, :] > x[None, :, :], axis=2)
    dominated_by = better_eq & strictly                           # [i, j]: i dominates j
    return ~dominated_by.any(axis=0)
