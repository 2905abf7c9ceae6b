"""Time-series figures of one run: state Gantt, buffer and tank levels, batch profiles and
utility load against capacity.

Every figure reads the recorded tables (``states``, ``events``, ``levels``, ``profiles``,
``utility_load``) and the resolved line parameters, and marks the observation window: the
time axis is the run's clock (day, weekday and time of day; day 1 starts Monday 00:00, as the
calendar and the tariffs), and the warm-up (excluded from every statistic) is shaded.
:class:`RunFigures` bundles them for one run (``result.plot`` in Python, the report's
time-series section).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin.data.process import MEDIA
from twin.figures.style import STATE_COLOURS, FigureStyle, new_figure

HOUR = 3600.0
"""Seconds per hour (figure time axes are in hours)."""

KELVIN = 273.15
"""0 degC in K (temperatures are drawn in degC)."""

TICK_STEPS_H = (1 / 6, 0.5, 1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 168.0, 336.0, 672.0)
"""Spacings of time ticks [h]: the smallest giving at most 8 ticks over the axis."""

WEEKDAYS = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
            "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日")}


def clock_ticks(t0_h: float, t1_h: float, lang: str = "en") -> tuple[list[float], list[str]]:
    """Ticks [h] over ``[t0_h, t1_h]`` and their labels on the run's clock: ``day 2 Tue`` and,
    for ticks closer than a day, the time of day under it (``06:00``)."""
    span = max(t1_h - t0_h, 1e-9)
    step = next((s for s in TICK_STEPS_H if span / s <= 8), TICK_STEPS_H[-1])
    first = np.ceil(t0_h / step - 1e-9) * step
    ticks = [float(t) for t in np.arange(first, t1_h + 1e-9, step)]
    days = WEEKDAYS.get(lang, WEEKDAYS["en"])
    labels = []
    for t in ticks:
        minutes = int(round(t * 60))
        d, r = divmod(minutes, 1440)
        day = f"day {d + 1} {days[d % 7]}" if lang != "zh" else f"第{d + 1}天 {days[d % 7]}"
        labels.append(day if step >= 24 else f"{day}\n{r // 60:02d}:{r % 60:02d}")
    return ticks, labels

class NoData(ValueError):
    """The run has nothing of what the figure draws (e.g. batch profiles of a discrete line)."""


def _si_value(value: Any) -> float:
    """``"400000.0 W"`` -> 400000.0; None or text without a number -> NaN."""
    if value is None:
        return float("nan")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).split()[0])
    except (ValueError, IndexError):
        return float("nan")


@dataclass(frozen=True)
class RunFigures:
    """The time-series figures of one run.

    Parameters
    ----------
    tables
        The run's tables by name (a dict, or a mapping that reads them on demand).
    parameters
        The resolved line parameters (``provenance["parameters"]``).
    warmup_s, duration_s
        Warm-up and observation period [s]: the observation window is
        ``[warmup_s, warmup_s + duration_s]``.
    style
        Language and font of the labels.
    """

    tables: Mapping[str, pd.DataFrame]
    parameters: dict[str, Any]
    warmup_s: float
    duration_s: float
    style: FigureStyle = field(default_factory=lambda: FigureStyle("en", None))

    @property
    def window_h(self) -> tuple[float, float]:
        """The observation window in hours since the run start."""
        return self.warmup_s / HOUR, (self.warmup_s + self.duration_s) / HOUR

    def _table(self, name: str) -> pd.DataFrame | None:
        frame = self.tables.get(name)
        return frame if frame is not None and len(frame) else None

    def available(self) -> list[str]:
        """Names of the figures this run has data for."""
        out = ["gantt"] if self._table("states") is not None else []
        if self._table("events") is not None or self._table("levels") is not None:
            out.append("levels")
        if self._table("profiles") is not None:
            out.append("batch_profiles")
        if self._table("utility_load") is not None:
            out.append("utility_load")
        return out

    def _window(self, ax: Any, xlabel: bool = True) -> None:
        """Hatch the warm-up (over what is drawn) and fix the time axis to the whole run."""
        t0, t1 = self.window_h
        if t0 > 0:
            ax.axvspan(0.0, t0, facecolor="white", alpha=0.55, hatch="///",
                       edgecolor="#777777", lw=0.0, zorder=3,
                       label=self.style.label("warmup"))
            ax.axvline(t0, color="#555555", lw=0.8, zorder=3)
        ax.set_xlim(0.0, t1)
        ticks, labels = clock_ticks(0.0, t1, self.style.lang)
        ax.set_xticks(ticks, labels, fontsize=7)
        if xlabel:
            ax.set_xlabel(self.style.label("time"))

    def gantt(self) -> Any:
        """States of every unit over the run (one row per unit, colours by state)."""
        states = self._table("states")
        if states is None:
            raise NoData("this run has no states table")
        s = self.style
        units = states.drop_duplicates("unit").sort_values("unit")
        servers = units.groupby("station", observed=True)["unit"].transform("count")
        names = [str(st) if n == 1 else f"{st} #{int(sv) + 1}" for st, sv, n in
                 zip(units["station"], units["server"], servers, strict=True)]
        row = {int(u): i for i, u in enumerate(units["unit"])}
        fig = new_figure((9.0, 1.2 + 0.32 * len(row)))
        with s.fonts():
            ax = fig.add_subplot(1, 1, 1)
            self._window(ax)
            names_of_state = states["state"].astype(str).to_numpy()
            present = set(names_of_state)
            for state in [x for x in STATE_COLOURS if x in present]:
                sub = states[names_of_state == state]
                for unit, part in sub.groupby("unit"):
                    start = part["start"].to_numpy(dtype=float) / HOUR
                    width = part["end"].to_numpy(dtype=float) / HOUR - start
                    ax.broken_barh(list(zip(start, width, strict=True)),
                                   (row[int(unit)] - 0.4, 0.8), facecolors=STATE_COLOURS[state],
                                   edgecolor="none")
                ax.barh([0], [0], color=STATE_COLOURS[state], label=s.label(state))
            ax.set_yticks(range(len(names)), [s.safe(n) for n in names], fontsize=7)
            ax.set_ylim(len(names) - 0.5, -0.5)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.5 / max(len(names), 2) - 0.12),
                      ncol=5, fontsize=7, frameon=False)
        return fig

    def levels(self) -> Any:
        """Parts in each station's input buffer (arrivals minus starts) and tank contents
        [kg], as step functions over the run."""
        events, tanks = self._table("events"), self._table("levels")
        buffers = _buffer_levels(events) if events is not None else {}
        if not buffers and tanks is None:
            raise NoData("this run has no events or tank levels")
        panels = int(bool(buffers)) + int(tanks is not None)
        fig = new_figure((9.0, 2.6 * panels + 0.6))
        with self.style.fonts():
            axes = fig.subplots(panels, 1, squeeze=False, sharex=True)[:, 0]
            k = 0
            if buffers:
                ax = axes[k]
                for name, (t, n) in buffers.items():
                    ax.step(t / HOUR, n, where="post", lw=1.0, label=self.style.safe(name))
                ax.set_ylabel(self.style.label("buffer"))
                k += 1
            if tanks is not None:
                ax = axes[k]
                for name, sub in tanks.groupby("station", observed=True):
                    ax.step(sub["time"].to_numpy(dtype=float) / HOUR, sub["kg"], where="post",
                            lw=1.0, label=self.style.safe(name))
                ax.set_ylabel(self.style.label("tank"))
            for ax in axes:
                self._window(ax, xlabel=ax is axes[-1])
                ax.grid(alpha=0.3)
                ax.legend(fontsize=7, ncol=3)
            fig.tight_layout()
        return fig

    def batch_profiles(self, station: str | None = None,
                       variables: tuple[str, ...] = ("temperature_K", "conversion")) -> Any:
        """Kernel profiles of each batch against the time since its phase started: by default
        the reactor temperature [degC] and conversion, one line per batch (batches that end
        in the warm-up dashed).

        Parameters
        ----------
        station
            The process station (default: the first with a reaction profile).
        variables
            Profile variables to draw, one panel each (``*_K`` drawn in degC).
        """
        profiles = self._table("profiles")
        if profiles is None:
            raise NoData("this run has no batch profiles (no kernel phases ran)")
        names = profiles["station"].astype(str)
        if station is None:
            have = profiles.loc[profiles["variable"] == variables[0], "station"].astype(str)
            station = str(have.iloc[0]) if len(have) else str(names.iloc[0])
        sub = profiles[(names == station) & profiles["variable"].isin(variables)]
        if not len(sub):
            raise NoData(f"no profile of {', '.join(variables)} at station {station!r}; "
                         f"stations with profiles: {sorted(set(names))}")
        shown = [v for v in variables if v in set(sub["variable"])]
        fig = new_figure((8.5, 2.4 * len(shown) + 0.6))
        with self.style.fonts():
            axes = fig.subplots(len(shown), 1, squeeze=False, sharex=True)[:, 0]
            batches = sorted(sub["part"].unique())
            colours = _batch_colours(len(batches))
            for (part, phase), one in sub.groupby(["part", "phase"], sort=True):
                t = one["time_s"].to_numpy(dtype=float)
                t0 = float(t.min())
                dashed = float(t.max()) < self.warmup_s
                for ax, var in zip(axes, shown, strict=True):
                    pts = one[one["variable"] == var]
                    y = pts["value"].to_numpy(dtype=float)
                    y = y - KELVIN if var.endswith("_K") else y
                    ax.plot((pts["time_s"].to_numpy(dtype=float) - t0) / HOUR, y,
                            color=colours[batches.index(part)], lw=1.0,
                            ls="--" if dashed else "-",
                            label=f"{self.style.label('batch')} {part} ({phase})")
            for ax, var in zip(axes, shown, strict=True):
                ax.set_ylabel(self.style.label(var))
                ax.grid(alpha=0.3)
            axes[0].set_title(self.style.safe(station), fontsize=9)
            if len(batches) <= 12:
                axes[0].legend(fontsize=6, ncol=3)
            axes[-1].set_xlabel(self.style.label("batch_time"))
            fig.tight_layout()
        return fig

    def utility_load(self) -> Any:
        """Load of each utility over the run (kW for energy carriers, m3/h for media) with its
        capacity (dashed; none drawn when unlimited)."""
        load = self._table("utility_load")
        if load is None:
            raise NoData("this run has no utility load (no utilities were used)")
        spec = self.parameters.get("utilities") or {}
        names = list(dict.fromkeys(load["utility"].astype(str)))
        fig = new_figure((9.0, 1.9 * len(names) + 0.6))
        with self.style.fonts():
            axes = fig.subplots(len(names), 1, squeeze=False, sharex=True)[:, 0]
            for ax, name in zip(axes, names, strict=True):
                t, y = _utility_steps(load[load["utility"].astype(str) == name])
                medium = (spec.get(name) or {}).get("carrier") in MEDIA
                scale = HOUR if medium else 1e-3
                ax.step(t / HOUR, y * scale, where="post", color="#2e4a62", lw=1.0,
                        label=self.style.safe(name))
                cap = _si_value((spec.get(name) or {}).get("capacity"))
                if np.isfinite(cap):
                    ax.axhline(cap * scale, color="#b22222", ls="--", lw=1.0,
                               label=self.style.label("capacity"))
                ax.set_ylabel(self.style.label("load_m3h" if medium else "load_kw"),
                              fontsize=7)
                self._window(ax, xlabel=ax is axes[-1])
                ax.grid(alpha=0.3)
                ax.legend(fontsize=7, loc="upper right")
            fig.tight_layout()
        return fig


def _buffer_levels(events: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Parts waiting at each station: +1 at ``arrive``, -1 at ``start`` or when an assembly
    ``consumed`` a component (time [s], count)."""
    kind = events["kind"].astype(str)
    moves = events[kind.isin(["arrive", "start", "consumed"])]
    out = {}
    for name, sub in moves.groupby("station", observed=True, sort=False):
        step = np.where(sub["kind"].astype(str) == "arrive", 1, -1)
        order = np.argsort(sub["time"].to_numpy(dtype=float), kind="stable")
        t = sub["time"].to_numpy(dtype=float)[order]
        n = np.cumsum(step[order])
        if n.max() > 0:
            out[str(name)] = (np.r_[0.0, t], np.r_[0, n])
    return out


def _utility_steps(load: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Load of one utility as a step function (time [s], load): each row holds the utility's
    total load from its time on; of several rows at one instant the last counts."""
    last = load.groupby("time", sort=True)["load"].last()
    return np.r_[0.0, last.index.to_numpy(dtype=float)], np.r_[0.0, last.to_numpy(dtype=float)]


def _batch_colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(0.85 * i / max(n - 1, 1)) for i in range(n)]
