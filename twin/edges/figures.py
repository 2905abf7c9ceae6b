"""Static figures (matplotlib, no display needed) for studies and benchmarks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def ranking_figure(ranked: pd.DataFrame, kpi: str, folder: str | Path) -> Path:
    """Horizontal bars of a KPI per configuration with 95% intervals; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = ranked.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.4 * len(data)))
    colours = ["#4a4a4a" if b else "#9a9a9a" for b in data["best"]]
    ax.barh(data["configuration"].astype(str), data["mean"],
            xerr=data["half_width"].where(data["half_width"] < float("inf")), color=colours,
            capsize=3)
    ax.set_xlabel(f"{kpi} (mean, 95% interval)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = folder / f"ranking_{kpi}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
