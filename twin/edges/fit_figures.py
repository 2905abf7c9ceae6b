"""Figures of mining and calibration (matplotlib, no display needed)."""

from __future__ import annotations

import math
from dataclasses import replace
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
    return _save(fig, path)


def parity_figure(model: Any, cal: Any, fit_batches: list[Any], test_batches: list[Any],
                  path: str | Path) -> Path:
    """Parity plot (predicted against measured) per variable, fitted batches as dots and
    held-out batches as crosses; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from twin.fit.calibrate import predict

    variables = sorted({v for b in fit_batches + test_batches for v in set(b.variable)})
    fig, axes = plt.subplots(1, len(variables), figsize=(4 * len(variables), 3.8),
                             squeeze=False)
    for ax, var in zip(axes[0], variables, strict=True):
        for batches, marker, label in ((fit_batches, ".", "fitted"),
                                       (test_batches, "x", "held out")):
            pairs = [(b.value[b.variable == var], predict(model, cal.estimate, b)[
                b.variable == var]) for b in batches]
            if pairs:
                y = np.concatenate([p[0] for p in pairs])
                yhat = np.concatenate([p[1] for p in pairs])
                ax.plot(y, yhat, marker, label=label)
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], "-", color="#c0392b", lw=1)
        unit = model.units.get(var, "")
        ax.set_xlabel(f"measured {var} [{unit}]")
        ax.set_ylabel(f"predicted {var} [{unit}]")
        ax.legend(fontsize=8)
    return _save(fig, path)


def fits_figure(model: Any, cal: Any, fit_batches: list[Any], test_batches: list[Any],
                path: str | Path, points: int = 60) -> Path:
    """The fits over time: per variable (columns), measurements of each batch (dots: fitted
    batches, crosses: held out) with the calibrated model's curve (top row) and the
    weighted residuals (prediction - measurement) / sd against time (bottom row);
    returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from twin.fit.calibrate import predict

    batches = [(b, ".") for b in fit_batches] + [(b, "x") for b in test_batches]
    variables = sorted({v for b, _ in batches for v in set(b.variable)})
    fig, axes = plt.subplots(2, len(variables), figsize=(4 * len(variables), 6.4),
                             squeeze=False, sharex="col")
    for col, var in enumerate(variables):
        top, bottom = axes[0, col], axes[1, col]
        for k, (b, marker) in enumerate(batches):
            m = b.variable == var
            if not m.any():
                continue
            colour = f"C{k % 10}"
            hours = b.time[m] / 3600.0
            grid = np.linspace(0.0, float(b.time[m].max()), points)
            dense = replace(b, time=grid, variable=np.full(points, var),
                            value=np.zeros(points), sd=np.ones(points))
            top.plot(grid / 3600.0, predict(model, cal.estimate, dense), "-", color=colour,
                     lw=1)
            top.plot(hours, b.value[m], marker, color=colour, label=b.name)
            resid = (predict(model, cal.estimate, b)[m] - b.value[m]) / b.sd[m]
            bottom.plot(hours, resid, marker, color=colour)
        bottom.axhline(0.0, color="#c0392b", lw=1)
        top.set_ylabel(f"{var} [{model.units.get(var, '')}]")
        bottom.set_ylabel(f"residual {var} / sd")
        bottom.set_xlabel("time in phase [h]")
        top.legend(fontsize=7)
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    """Lay out ``fig``, write it to ``path`` (PNG, 110 dpi) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
