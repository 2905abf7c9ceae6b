"""Figures of station state fractions, study rankings, scale-up comparisons and Pareto
fronts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.figures.style import STATE_COLOURS, FigureStyle, new_figure

STATE_FRACTIONS = [("utilisation", "producing"), ("setup_fraction", "setup"),
                   ("down_fraction", "down"), ("waiting_fraction", "waiting"),
                   ("blocked_fraction", "blocked"), ("starved_fraction", "starved")]
"""Columns of the stations table that split planned busy time, with the state each shows."""


def bottleneck_figure(frame: pd.DataFrame, bottleneck: str, style: FigureStyle) -> Any:
    """Stacked horizontal bars of the state fractions per station (``frame``: the stations
    table or its means over replications); the bottleneck's label is marked and bold."""
    data = frame.iloc[::-1]
    fig = new_figure((8.0, 0.9 + 0.38 * len(data)))
    with style.fonts():
        ax = fig.add_subplot(1, 1, 1)
        left = np.zeros(len(data))
        labels = [style.safe(s) + (f"  [{style.label('bottleneck')}]" if s == bottleneck
                                   else "") for s in data["station"].astype(str)]
        for col, key in STATE_FRACTIONS:
            vals = data[col].fillna(0.0).to_numpy(dtype=float) if col in data else \
                np.zeros(len(data))
            ax.barh(labels, vals, left=left, color=STATE_COLOURS[key], edgecolor="white",
                    linewidth=0.5, label=style.label(key))
            left += vals
        ax.set_xlim(0, max(1.0, float(left.max()) if len(left) else 1.0))
        ax.set_xlabel(style.label("fraction"))
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18 - 0.5 / max(len(data), 1)),
                  ncol=6, fontsize=7, frameon=False)
        for tick in ax.get_yticklabels():
            if "[" in tick.get_text():
                tick.set_fontweight("bold")
    return fig


def ranking_figure(ranked: pd.DataFrame, kpi: str, style: FigureStyle) -> Any:
    """Bars of the ranked KPI per configuration with 95% intervals (``ranked``: a study
    summary with configuration, mean, half_width and best)."""
    data = ranked.iloc[::-1]
    fig = new_figure((8.0, 0.8 + 0.36 * len(data)))
    with style.fonts():
        ax = fig.add_subplot(1, 1, 1)
        colours = ["#4a4a4a" if b else "#9a9a9a" for b in data["best"]]
        hw = data["half_width"].where(np.isfinite(data["half_width"]))
        ax.barh([style.safe(c) for c in data["configuration"].astype(str)], data["mean"],
                xerr=hw, color=colours, capsize=3)
        ax.set_xlabel(f"{kpi} ({style.label('mean_ci')})")
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="y", labelsize=7)
    return fig


def scaleup_figure(comparison: pd.DataFrame, style: FigureStyle) -> Any:
    """Temperatures, heat balance, reaction time and annual output against volume (the
    comparison table of a scale-up study)."""
    fig = new_figure((8.5, 5.6))
    v = comparison["volume_m3"]
    with style.fonts():
        axes = fig.subplots(2, 2)
        ax = axes[0, 0]
        ax.plot(v, comparison["peak_temperature_C"], "o-", color="#333333",
                label=style.label("peak"))
        ax.plot(v, comparison["max_mtsr_C"], "s--", color="#777777", label="MTSR")
        ax.axhline(float(comparison["mtt_C"].iloc[0]), color="#b22222", lw=1, label="MTT")
        ax.set_ylabel(style.label("temperature"))
        ax.legend(fontsize=7)
        ax = axes[0, 1]
        ax.plot(v, comparison["heat_generation_kW"], "o-", color="#333333",
                label=style.label("generation"))
        ax.plot(v, comparison["cooling_capacity_kW"], "s--", color="#777777",
                label=style.label("jacket"))
        ax.set_ylabel(style.label("heat"))
        ax.legend(fontsize=7)
        ax = axes[1, 0]
        ax.plot(v, comparison["react_time_h"], "o-", color="#333333")
        ax.set_ylabel(style.label("react_time"))
        ax = axes[1, 1]
        hw = comparison.get("annual_output_half_width_t")
        ax.errorbar(v, comparison["annual_output_t"],
                    yerr=None if hw is None else hw.where(np.isfinite(hw)), fmt="o-",
                    color="#333333", capsize=3)
        ax.set_ylabel(style.label("annual"))
        for a in axes.flat:
            if (v > 0).all() and len(v) > 1:
                a.set_xscale("log")
            a.set_xlabel(style.label("volume"))
            a.grid(alpha=0.3)
        fig.tight_layout()
    return fig


def pareto_figure(history: pd.DataFrame, front: pd.DataFrame, x: str, y: str,
                  labels: tuple[str, str], style: FigureStyle) -> Any:
    """Every candidate of an optimisation (grey) and its Pareto front (dark, joined in order of
    ``x``) in the plane of two objectives; ``history`` and ``front`` hold ``mean:<kpi>``
    columns, the front also ``confirm:<kpi>`` (independent replications, drawn as open
    rings). ``labels``: axis labels of ``x`` and ``y`` with their units."""
    fig = new_figure((6.4, 4.4))
    with style.fonts():
        ax = fig.add_subplot(1, 1, 1)
        ax.scatter(history[f"mean:{x}"], history[f"mean:{y}"], s=18, color="#b0b0b0",
                   label=style.label("candidates"), zorder=2)
        f = front.sort_values(f"mean:{x}")
        ax.plot(f[f"mean:{x}"], f[f"mean:{y}"], "-o", color="#303030", markersize=5,
                label=style.label("front"), zorder=3)
        if f"confirm:{x}" in f and f"confirm:{y}" in f:
            ax.scatter(f[f"confirm:{x}"], f[f"confirm:{y}"], s=60, facecolors="none",
                       edgecolors="#303030", label=style.label("confirmed"), zorder=4)
        ax.set_xlabel(style.safe(labels[0]))
        ax.set_ylabel(style.safe(labels[1]))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
    return fig
