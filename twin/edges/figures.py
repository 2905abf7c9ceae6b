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


def scaleup_figures(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Figures of a scale-up study (PNG): temperatures, heat balance, time and output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    v = table["volume_m3"]
    paths = []
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    ax = axes[0, 0]
    ax.plot(v, table["peak_temperature_C"], "o-", color="#333333", label="peak")
    ax.plot(v, table["max_mtsr_C"], "s--", color="#777777", label="MTSR")
    ax.axhline(float(table["mtt_C"].iloc[0]), color="#b22222", lw=1, label="MTT")
    ax.set_ylabel("temperature [degC]")
    ax.legend()
    ax = axes[0, 1]
    ax.plot(v, table["heat_generation_kW"], "o-", color="#333333", label="generation at Tp")
    ax.plot(v, table["cooling_capacity_kW"], "s--", color="#777777", label="jacket capacity")
    ax.set_ylabel("heat flow [kW]")
    ax.legend()
    ax = axes[1, 0]
    ax.plot(v, table["react_time_h"], "o-", color="#333333")
    ax.set_ylabel("reaction time [h]")
    ax = axes[1, 1]
    ax.plot(v, table["annual_output_t"], "o-", color="#333333")
    ax.set_ylabel("annual output [t]")
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.set_xlabel("volume [m3]")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = folder / "scaleup.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths
