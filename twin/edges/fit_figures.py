"""Figures of mining and calibration (matplotlib, no display needed)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def qq_figure(estimates: list[Any], path: str | Path) -> Path | None:
    """Q-Q plots (fitted quantiles against the data) of every estimate fitted with a
    family, one panel each, in one PNG; None if there is none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fitted = [e for e in estimates if e.fits and e.data is not None and e.data.size]
    if not fitted:
        return None
    cols = min(3, len(fitted))
    rows = math.ceil(len(fitted) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    for ax, e in zip(axes.flat, fitted, strict=False):
        theory, data = e.fits[0].qq(e.data)
        ax.plot(theory, data, ".", ms=3, color="#333333")
        lo, hi = float(min(theory.min(), data.min())), float(max(theory.max(), data.max()))
        ax.plot([lo, hi], [lo, hi], "-", color="#c0392b", lw=1)
        ax.set_title(f"{e.path}\n{e.fits[0].family}, n={e.n}", fontsize=8)
        ax.set_xlabel("fitted quantile [s]", fontsize=8)
        ax.set_ylabel("observed [s]", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(fitted):]:
        ax.set_visible(False)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
