"""Change detectors on standardised residuals: CUSUM and EWMA charts designed from the
false-alarm rate the user accepts, the residual's sigma from an in-control window, and
detection delays.

A residual ``r = measured - predicted`` is standardised as ``z = r / sigma``; while the line
behaves like its model, ``z`` is close to independent N(0, 1) samples. A detector turns the
``z`` into a statistic (in standard deviations, never negative) and a limit: it signals when
the statistic exceeds the limit, then restarts, so the number of samples between false
alarms has the mean the chart was designed for (the in-control average run length ARL0;
:mod:`twin.live.arl`). A false-alarm rate of one per ``T`` seconds at one sample every
``dt`` seconds is an ARL0 of ``T / dt`` samples.

>>> det = Detector.design("cusum", arl0=500, shift=1.0)   # h found for ARL0 = 500
>>> stat, alarm = det.update(0.3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from twin.live import arl

KINDS = ("cusum", "ewma")
"""Detector kinds."""
MR_D2 = 2 / math.sqrt(math.pi)
"""Mean of the moving range of two independent N(0, 1) values (d2 for n = 2, 1.128)."""


@dataclass
class Detector:
    """A CUSUM or EWMA chart on standardised residuals.

    Attributes
    ----------
    kind
        ``cusum`` or ``ewma``.
    side
        ``two`` (both directions), ``upper`` (the residual grows) or ``lower``.
    k, h
        CUSUM reference value and decision interval [standard deviations].
    lam, L
        EWMA weight and limit factor (limit = ``L sqrt(lam / (2 - lam))``).
    arl0, shift
        The in-control ARL [samples] and the shift [standard deviations] it was designed
        for, and :attr:`arl1`, the ARL at that shift (for the record).
    """

    kind: str
    side: str = "two"
    k: float = 0.5
    h: float = 4.0
    lam: float = 0.1
    L: float = 2.814
    arl0: float = math.nan
    shift: float = 1.0
    arl1: float = math.nan
    _up: float = field(default=0.0, repr=False)
    _down: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"detector kind must be one of {KINDS}, not {self.kind!r}")
        if self.side not in arl.SIDES:
            raise ValueError(f"detector side must be one of {arl.SIDES}, not {self.side!r}")

    @classmethod
    def design(cls, kind: str, arl0: float, shift: float = 1.0, side: str = "two",
               lam: float = 0.1) -> Detector:
        """A chart whose in-control ARL is ``arl0`` [samples], tuned to detect a mean shift of
        ``shift`` standard deviations: a CUSUM with ``k = shift / 2`` and ``h`` by root
        finding; an EWMA with weight ``lam`` and ``L`` by root finding."""
        if not shift > 0:
            raise ValueError(f"the shift to detect must be positive, not {shift}")
        if kind not in KINDS:
            raise ValueError(f"detector kind must be one of {KINDS}, not {kind!r}")
        if side not in arl.SIDES:
            raise ValueError(f"detector side must be one of {arl.SIDES}, not {side!r}")
        limit, a1 = _design(kind, float(arl0), float(shift), side, float(lam))
        if kind == "cusum":
            return cls("cusum", side, k=shift / 2, h=limit, arl0=arl0, shift=shift, arl1=a1)
        return cls("ewma", side, lam=lam, L=limit, arl0=arl0, shift=shift, arl1=a1)

    @classmethod
    def with_limit(cls, kind: str, limit: float, shift: float = 1.0, side: str = "two",
                   lam: float = 0.1) -> Detector:
        """A chart with a given ``limit`` [standard deviations of its statistic: CUSUM
        ``h``, EWMA ``L sqrt(lam / (2 - lam))``], ``k = shift / 2`` for a CUSUM; its
        ``arl0`` and ``arl1`` are the ARLs that limit implies."""
        if not limit > 0:
            raise ValueError(f"a detector limit must be positive, not {limit}")
        if kind not in KINDS:
            raise ValueError(f"detector kind must be one of {KINDS}, not {kind!r}")
        chart = (cls("cusum", side, k=shift / 2, h=limit, shift=shift) if kind == "cusum" else
                 cls("ewma", side, lam=lam, L=limit / arl.ewma_limit_factor(lam),
                     shift=shift))
        chart.arl0 = chart.expected_arl(0.0)
        chart.arl1 = chart.expected_arl(shift if side != "lower" else -shift)
        return chart

    @property
    def limit(self) -> float:
        """The limit the statistic is compared with [standard deviations]."""
        return self.h if self.kind == "cusum" else self.L * arl.ewma_limit_factor(self.lam)

    def expected_arl(self, shift: float = 0.0) -> float:
        """ARL [samples] of this chart at a mean shift [standard deviations]."""
        if self.kind == "cusum":
            return arl.cusum_arl(self.k, self.h, shift, self.side)
        return arl.ewma_arl(self.lam, self.L, shift, self.side)

    def reset(self) -> None:
        """Start afresh (after a signal, or when the line is re-synchronised)."""
        self._up = self._down = 0.0

    def update(self, z: float) -> tuple[float, bool]:
        """Take one standardised residual; returns the statistic [standard deviations,
        >= 0; for a two-sided chart the larger side] and whether the chart signals. After
        a signal the chart restarts. A NaN residual is skipped (statistic unchanged)."""
        if math.isnan(z):
            return self.statistic, False
        if self.kind == "cusum":
            if self.side != "lower":
                self._up = max(0.0, self._up + z - self.k)
            if self.side != "upper":
                self._down = max(0.0, self._down - z - self.k)
        else:
            lam = self.lam
            if self.side == "two":
                self._up = lam * z + (1.0 - lam) * self._up  # the EWMA itself, signed
            elif self.side == "upper":
                self._up = max(0.0, lam * z + (1.0 - lam) * self._up)
            else:
                self._down = max(0.0, -lam * z + (1.0 - lam) * self._down)
        stat = self.statistic
        alarm = stat > self.limit
        if alarm:
            self.reset()
        return stat, alarm

    @property
    def statistic(self) -> float:
        """The current statistic [standard deviations, >= 0]."""
        if self.kind == "ewma" and self.side == "two":
            return abs(self._up)
        return max(self._up, self._down)

    def describe(self) -> dict[str, Any]:
        """The chart's settings as plain values (for ``run.json``)."""
        out: dict[str, Any] = {"kind": self.kind, "side": self.side, "arl0": self.arl0,
                               "shift": self.shift, "arl1": self.arl1, "limit": self.limit}
        if self.kind == "cusum":
            out.update(k=self.k, h=self.h)
        else:
            out.update(lam=self.lam, L=self.L)
        return out


@lru_cache(maxsize=64)
def _design(kind: str, arl0: float, shift: float, side: str, lam: float
            ) -> tuple[float, float]:
    """The limit (CUSUM ``h`` or EWMA ``L``) for ``arl0`` and the ARL at ``shift`` (a pure
    function of its arguments, kept for the next chart designed alike)."""
    signed = shift if side != "lower" else -shift
    if kind == "cusum":
        h = arl.cusum_h(arl0, shift / 2, side)
        return h, arl.cusum_arl(shift / 2, h, signed, side)
    L = arl.ewma_L(arl0, lam, side)
    return L, arl.ewma_arl(lam, L, signed, side)


def sigma_estimate(residuals: Sequence[float] | np.ndarray, method: str = "moving_range"
                   ) -> float:
    """The residual's standard deviation from an in-control window.

    ``moving_range``: mean absolute difference of consecutive values / 1.128 (d2 of two
    normal values); insensitive to slow drifts of the mean within the window, the usual
    choice for individual values (Montgomery, Introduction to Statistical Quality Control,
    section 6.4). ``sd``: the sample standard deviation (ddof 1). NaNs are left out.

    Raises
    ------
    ValueError
        With fewer than 2 values (``sd``) or 2 consecutive values (``moving_range``), or if
        the estimate is zero (a constant signal cannot be standardised).
    """
    x = np.asarray(residuals, dtype=float)
    if method == "moving_range":
        mr = np.abs(np.diff(x))
        mr = mr[np.isfinite(mr)]
        if mr.size < 1:
            raise ValueError("the in-control window needs at least 2 consecutive values")
        sigma = float(mr.mean() / MR_D2)
    elif method == "sd":
        x = x[np.isfinite(x)]
        if x.size < 2:
            raise ValueError("the in-control window needs at least 2 values")
        sigma = float(x.std(ddof=1))
    else:
        raise ValueError(f"sigma method must be moving_range or sd, not {method!r}")
    if not sigma > 0:
        raise ValueError("the residual is constant in the in-control window: its sigma is 0")
    return sigma


@dataclass(frozen=True)
class Delay:
    """What a detector did around a fault: ``false_alarms`` before ``fault`` [s], the first
    alarm at or after it (``detected``, NaN if none) and the delay [s] (NaN if none)."""

    fault: float
    false_alarms: int
    detected: float
    delay: float


def detection_delay(alarm_times: Sequence[float] | np.ndarray, fault: float) -> Delay:
    """Detection delay of the alarms at ``alarm_times`` [s] for a fault that began at
    ``fault`` [s]."""
    times = np.sort(np.asarray(alarm_times, dtype=float))
    before = int((times < fault).sum())
    after = times[times >= fault]
    first = float(after[0]) if after.size else math.nan
    return Delay(fault, before, first, first - fault)


def delay_summary(delays: Sequence[Delay], observed: float) -> dict[str, float]:
    """Detection figures over repeated runs: runs, detected share, mean / median / max
    delay [s] of the detected ones, false alarms and their rate per hour of in-control
    time ``observed`` [s, summed over the runs]."""
    d = np.array([x.delay for x in delays], dtype=float)
    hit = d[np.isfinite(d)]
    false = sum(x.false_alarms for x in delays)
    return {"runs": len(delays), "detected": float(hit.size / len(delays)) if delays else 0.0,
            "mean_delay_s": float(hit.mean()) if hit.size else math.nan,
            "median_delay_s": float(np.median(hit)) if hit.size else math.nan,
            "max_delay_s": float(hit.max()) if hit.size else math.nan,
            "false_alarms": float(false),
            "false_alarms_per_h": false / (observed / 3600.0) if observed > 0 else math.nan}
