"""Output analysis of stochastic runs: confidence intervals, replication counts, warm-up
detection and ranking of configurations.

Every function is pure (no state between calls) and works on plain arrays or pandas tables,
so it applies equally to KPIs of :func:`twin.orchestration.run.run` and to any other numbers.
Distributions come from :mod:`scipy.stats`.

The approach is the one of independent replications (Law & Kelton): each replication is one
run with its own seed, after a warm-up period (found for instance with :func:`mser` or
:func:`warmup_from_run`); a KPI of each replication is one independent, identically
distributed observation, and the Student-t interval of their mean is the confidence interval
of the KPI. Configurations are compared by paired differences when their replications share
seeds (common random numbers, :func:`paired_difference`), otherwise by Welch's interval
(:func:`welch_difference`).

References
----------
.. [LK] A. M. Law, *Simulation Modeling and Analysis*, 5th ed., McGraw-Hill, 2015 (earlier
   editions with W. D. Kelton): sections 9.4 (fixed-sample and sequential procedures for the
   number of replications), 9.5 (warm-up), 10.2 (paired-t and Welch intervals), 11.2
   (common random numbers).
.. [W97] K. P. White Jr., "An effective truncation heuristic for bias reduction in simulation
   output", *Simulation* 69(6), 323-334, 1997.
.. [FW] W. W. Franklin and K. P. White Jr., "Stationarity tests and MSER-5: exploring the
   intuition behind mean-squared-error-reduction in warm-up period determination",
   *Proceedings of the Winter Simulation Conference*, 2008.
.. [WE] B. L. Welch, "The generalization of 'Student's' problem when several different
   population variances are involved", *Biometrika* 34, 28-35, 1947.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from twin.observation.stability import TREND_BATCHES, wip_trend

__all__ = [
    "Interval",
    "Truncation",
    "mean_ci",
    "mser",
    "paired_difference",
    "rank",
    "replications_needed",
    "warmup_from_run",
    "WarmupNotFound",
    "welch_difference",
    "wip_per_bin",
    "throughput_per_bin",
]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Interval:
    """A point estimate with its two-sided confidence interval.

    Attributes
    ----------
    mean : float
        Point estimate (a mean, or a mean difference), in the unit of the data.
    half_width : float
        Half width of the interval (``inf`` when it cannot be estimated, see :func:`mean_ci`).
    low, high : float
        Interval bounds, ``mean -/+ half_width``.
    n : int
        Number of observations (replications; pairs for a paired difference; both samples
        together for Welch's interval).
    std : float
        Sample standard deviation (``ddof=1``) of the observations whose mean is estimated
        (of the differences for a paired interval); NaN for ``n = 1`` and for Welch's
        interval, which has two samples (see ``se``).
    se : float
        Standard error of ``mean``.
    dof : float
        Degrees of freedom of the Student-t quantile (Welch: the Welch-Satterthwaite value).
    confidence : float
        Confidence level, e.g. 0.95.
    """

    mean: float
    half_width: float
    low: float
    high: float
    n: int
    std: float
    se: float
    dof: float
    confidence: float

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval ``[low, high]``."""
        return bool(self.low <= value <= self.high)

    def __str__(self) -> str:
        return (f"{self.mean:.6g} +/- {self.half_width:.3g} "
                f"(n={self.n}, {self.confidence:.0%})")


@dataclass(frozen=True)
class Truncation:
    """Result of a warm-up (truncation point) detection by :func:`mser`.

    Attributes
    ----------
    index : int
        Number of leading observations to delete (in the units of the original series).
    batches : int
        Number ``k`` of batch means the statistic was computed on.
    batch : int
        Batch size (5 for MSER-5).
    deleted_batches : int
        Number ``d`` of leading batch means deleted; ``index = d * batch``.
    statistic : float
        The minimum of the MSER statistic, reached at ``d``.
    """

    index: int
    batches: int
    batch: int
    deleted_batches: int
    statistic: float


# --------------------------------------------------------------------------- input checks


def _sample(values: ArrayLike, name: str = "values") -> np.ndarray:
    """A one-dimensional float array without NaN or infinity (or a ValueError saying why)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 0:
        x = x.reshape(1)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty: need at least one observation")
    n_nan = int(np.isnan(x).sum())
    if n_nan:
        raise ValueError(f"{name} contains {n_nan} NaN of {x.size} observations")
    n_inf = int(np.isinf(x).sum())
    if n_inf:
        raise ValueError(f"{name} contains {n_inf} infinite of {x.size} observations")
    return x


def _check_confidence(confidence: float) -> float:
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return c


# --------------------------------------------------------------------------- intervals


def mean_ci(values: ArrayLike, confidence: float = 0.95) -> Interval:
    """Student-t confidence interval of the mean of independent replications.

    Parameters
    ----------
    values : array_like, shape (n,)
        One value of a KPI per replication (any unit; the interval has the same unit).
    confidence : float, optional
        Two-sided confidence level ``1 - alpha``, default 0.95.

    Returns
    -------
    Interval
        ``mean +/- t_{n-1, 1-alpha/2} * s / sqrt(n)`` with ``s`` the sample standard
        deviation (``ddof=1``).

    Raises
    ------
    ValueError
        If ``values`` is empty, not one-dimensional, or contains NaN or infinite values (the
        message says how many), or ``confidence`` is not in (0, 1).

    Notes
    -----
    Assumes the values are independent and identically distributed and their mean is
    approximately normal (replications of a long enough run are; strongly skewed KPIs of
    short runs give slightly less than the stated coverage).

    With ``n = 1`` the variance cannot be estimated: the interval is returned with
    ``std = se = NaN``, ``half_width = inf``, ``low = -inf`` and ``high = inf`` (it contains
    every value), rather than raising, so callers can report "one replication, no interval".
    If all values are equal the half width is 0.

    References
    ----------
    Law, *Simulation Modeling and Analysis*, section 4.5 and 9.4.1 (fixed-sample procedure).
    """
    x = _sample(values)
    c = _check_confidence(confidence)
    n = int(x.size)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.inf, -math.inf, math.inf, 1, math.nan, math.nan, 0.0, c)
    std = float(x.std(ddof=1))
    se = std / math.sqrt(n)
    h = float(stats.t.ppf(0.5 + c / 2.0, n - 1)) * se
    return Interval(mean, h, mean - h, mean + h, n, std, se, float(n - 1), c)


def paired_difference(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> Interval:
    """Confidence interval of ``mean(a - b)`` for paired replications (paired-t interval).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        A KPI of two configurations; ``a[i]`` and ``b[i]`` come from replication ``i`` of
        each, run with the same seed (common random numbers).
    confidence : float, optional
        Two-sided confidence level, default 0.95.

    Returns
    -------
    Interval
        :func:`mean_ci` of the differences ``a - b`` (same unit as the data); ``std`` is the
        standard deviation of the differences.

    Raises
    ------
    ValueError
        If the lengths differ, or for the reasons of :func:`mean_ci` (for either sample).

    Notes
    -----
    Only the pairs need to be independent of each other; ``a[i]`` and ``b[i]`` may be
    (and with common random numbers are meant to be) positively correlated, which shrinks
    ``Var(a - b) = Var(a) + Var(b) - 2 Cov(a, b)`` and so the interval. The interval is
    valid whatever the correlation; it needs the differences to be approximately normal.

    References
    ----------
    Law, *Simulation Modeling and Analysis*, section 10.2.1 (paired-t confidence interval)
    and 11.2 (common random numbers).
    """
    x = _sample(a, "a")
    y = _sample(b, "b")
    if x.size != y.size:
        raise ValueError(f"paired samples need equal lengths, got {x.size} and {y.size}")
    return mean_ci(x - y, confidence)


def welch_difference(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> Interval:
    """Confidence interval of ``mean(a) - mean(b)`` for independent samples (Welch).

    Parameters
    ----------
    a, b : array_like
        A KPI of two configurations from independent replications (different seeds); the
        sizes may differ, each at least 2.
    confidence : float, optional
        Two-sided confidence level, default 0.95.

    Returns
    -------
    Interval
        ``(mean_a - mean_b) +/- t_{f, 1-alpha/2} sqrt(s_a^2/n_a + s_b^2/n_b)`` with ``f`` the
        Welch-Satterthwaite degrees of freedom; ``n = n_a + n_b``, ``std = NaN``, ``se`` the
        standard error of the difference.

    Raises
    ------
    ValueError
        If a sample has fewer than 2 values, or for the reasons of :func:`mean_ci`.

    Notes
    -----
    Does not assume equal variances. If both samples have zero variance the half width is 0
    (and ``dof`` NaN).

    References
    ----------
    Welch (1947); Law, *Simulation Modeling and Analysis*, section 10.2.2.
    """
    x = _sample(a, "a")
    y = _sample(b, "b")
    c = _check_confidence(confidence)
    if x.size < 2 or y.size < 2:
        raise ValueError(
            f"Welch's interval needs at least 2 values per sample, got {x.size} and {y.size}")
    va = float(x.var(ddof=1)) / x.size
    vb = float(y.var(ddof=1)) / y.size
    se = math.sqrt(va + vb)
    diff = float(x.mean() - y.mean())
    n = int(x.size + y.size)
    if se == 0.0:
        return Interval(diff, 0.0, diff, diff, n, math.nan, 0.0, math.nan, c)
    dof = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    h = float(stats.t.ppf(0.5 + c / 2.0, dof)) * se
    return Interval(diff, h, diff - h, diff + h, n, math.nan, se, float(dof), c)


# --------------------------------------------------------------------------- replications


def replications_needed(values: ArrayLike, half_width: float, confidence: float = 0.95,
                        relative: bool = False) -> int:
    """Number of replications for a target confidence-interval half width.

    Parameters
    ----------
    values : array_like, shape (n0,)
        A KPI from ``n0 >= 2`` pilot replications.
    half_width : float
        Target half width: absolute (unit of the data), or, with ``relative=True``, a fraction
        of ``|mean|`` (e.g. 0.05 for +/- 5 %).
    confidence : float, optional
        Two-sided confidence level, default 0.95.
    relative : bool, optional
        Whether ``half_width`` is relative to the pilot mean.

    Returns
    -------
    int
        The smallest ``n >= n0`` with ``t_{n-1, 1-alpha/2} * s / sqrt(n) <= target``, where
        ``s`` is the pilot standard deviation (``ddof=1``). ``n0`` if the pilot already meets
        the target (or ``s = 0``).

    Raises
    ------
    ValueError
        For fewer than 2 pilot values, a non-positive target, a relative target with a zero
        pilot mean, or the reasons of :func:`mean_ci`.

    Notes
    -----
    This is Law & Kelton's approximate number of replications ``n*_a(beta)`` (absolute) and,
    with ``relative=True``, ``n*_r(gamma)`` with the target taken as given: to make the
    *actual* relative error at most ``gamma``, Law recommends the adjusted target
    ``gamma / (1 + gamma)``. It assumes the pilot ``s`` is the true standard deviation; the
    achieved half width with ``n`` replications is random and exceeds the target about half
    the time (use the sequential procedure -- add replications and re-check -- to
    guarantee it).

    References
    ----------
    Law, *Simulation Modeling and Analysis*, section 9.4.1 (obtaining a specified precision).
    """
    x = _sample(values)
    c = _check_confidence(confidence)
    n0 = int(x.size)
    if n0 < 2:
        raise ValueError(f"need at least 2 pilot replications to estimate the variance, got {n0}")
    h = float(half_width)
    if not (h > 0.0 and math.isfinite(h)):
        raise ValueError(f"half_width must be positive and finite, got {half_width!r}")
    mean = float(x.mean())
    if relative:
        if mean == 0.0:
            raise ValueError("a relative half width needs a nonzero pilot mean")
        h *= abs(mean)
    s = float(x.std(ddof=1))
    if s == 0.0:
        return n0
    # t_{n-1} > z for every n, so n < (z s / h)^2 cannot meet the target: start there and
    # scan upwards (t_{n-1} / sqrt(n) decreases with n, so the first hit is the smallest).
    z = float(stats.norm.ppf(0.5 + c / 2.0))
    start = max(n0, math.floor((z * s / h) ** 2))
    while True:
        n = np.arange(start, start + 4096, dtype=np.float64)
        ok = stats.t.ppf(0.5 + c / 2.0, n - 1.0) * s / np.sqrt(n) <= h
        if ok.any():
            return int(n[int(np.argmax(ok))])
        start += 4096


# --------------------------------------------------------------------------- warm-up


def mser(series: ArrayLike, batch: int = 5) -> Truncation:
    """MSER-``batch`` warm-up detection (MSER-5 by default).

    Parameters
    ----------
    series : array_like, shape (n,)
        One output series in time order (e.g. WIP per hour of one long run).
    batch : int, optional
        Batch size ``m``; 5 gives MSER-5, 1 gives plain MSER.

    Returns
    -------
    Truncation
        ``index`` = number of leading observations to delete, ``d * batch``.

    Raises
    ------
    ValueError
        If the series has NaN or infinite values, ``batch < 1``, or fewer than
        ``4 * batch`` observations (fewer than 4 batch means).

    Notes
    -----
    The series is cut into ``k = n // batch`` non-overlapping batch means ``Z_1..Z_k`` (the
    last ``n mod batch`` observations are dropped). For each ``d = 0..floor(k/2)`` the
    statistic ``sum_{j>d} (Z_j - Zbar_d)^2 / (k - d)^2`` is computed, ``Zbar_d`` the mean of
    the batch means after ``d``; the truncation point is the ``d`` minimising it (the first
    one on ties). It estimates the squared standard error of the truncated mean, which
    falls while biased initial data are removed and rises again when too much data is
    thrown away. Limiting ``d`` to the first half avoids the statistic's spurious minima
    near the end of the series. A truncation at (or next to) ``k/2`` usually means the
    series is too short or never settles: run longer.

    References
    ----------
    White (1997); Franklin & White (2008); Law, *Simulation Modeling and Analysis*,
    section 9.5.1.
    """
    x = _sample(series, "series")
    m = int(batch)
    if m < 1 or m != batch:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    k = x.size // m
    if k < 4:
        raise ValueError(
            f"MSER-{m} needs at least {4 * m} observations ({4} batch means), got {x.size}")
    z = x[: k * m].reshape(k, m).mean(axis=1)
    # Suffix sums give every truncated mean and sum of squares in one pass.
    # sum_{j>d} (Z_j - Zbar_d)^2 = sum Z^2 - (sum Z)^2 / (k - d) over the tail j > d, from
    # suffix sums of the centred batch means (centring keeps the subtraction accurate).
    tail_n = np.arange(k, 0, -1, dtype=np.float64)  # k - d for d = 0..k-1
    zc = z - z.mean()
    tail_sum = np.cumsum(zc[::-1])[::-1]
    tail_sq = np.cumsum((zc * zc)[::-1])[::-1]
    ss = np.maximum(tail_sq - tail_sum**2 / tail_n, 0.0)
    d_max = k // 2
    stat = ss[: d_max + 1] / tail_n[: d_max + 1] ** 2
    d = int(np.argmin(stat))
    return Truncation(index=d * m, batches=int(k), batch=m, deleted_batches=d,
                      statistic=float(stat[d]))


def _integral_of_count(starts: np.ndarray, ends: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Integral over [0, t] of the number of intervals [start, end) covering each time.

    ``sum_i (t - start_i)^+ - sum_i (t - end_i)^+`` with sorted cumulative sums (ends may
    be ``inf``); vectorised over the times ``t``.
    """
    s = np.sort(starts)
    e = np.sort(ends[np.isfinite(ends)])
    cs = np.r_[0.0, np.cumsum(s)]
    ce = np.r_[0.0, np.cumsum(e)]
    ks = np.searchsorted(s, t, side="right")
    ke = np.searchsorted(e, t, side="right")
    return (ks * t - cs[ks]) - (ke * t - ce[ke])


def _run_end(result: Any) -> float:
    settings = result.provenance["settings"]
    return float(settings["warmup_s"] + settings["duration_s"])


def _bin_edges(end: float, bin_s: float) -> np.ndarray:
    if not (bin_s > 0.0 and math.isfinite(bin_s)):
        raise ValueError(f"bin_s must be positive and finite, got {bin_s!r}")
    n_bins = int(math.floor(end / bin_s + 1e-9))
    if n_bins < 1:
        raise ValueError(f"the run ({end:g} s) is shorter than one bin ({bin_s:g} s)")
    return np.arange(n_bins + 1, dtype=np.float64) * bin_s


def wip_per_bin(result: Any, bin_s: float = 3600.0) -> np.ndarray:
    """Time-weighted mean number of parts in the line in each full bin of a run.

    Parameters
    ----------
    result : RunResult
        A run (:func:`twin.orchestration.run.run`); its tables cover the whole run from
        time 0, including the warm-up.
    bin_s : float, optional
        Bin length [s], default one hour.

    Returns
    -------
    ndarray, shape (n_bins,)
        Mean WIP [parts] over ``[i * bin_s, (i + 1) * bin_s)`` for every bin that ends by the
        run's end (``warmup_s + duration_s`` of its provenance); a last partial bin is left
        out.

    Notes
    -----
    Parts in the line are counted as :func:`twin.observation.kpis.line_kpis` does for
    ``wip_mean``: each ``created`` event of ``tables["events"]`` (columns ``time``, ``part``,
    ``kind``) starts a part's stay, which ends at its ``done`` time in ``tables["parts"]``
    (columns ``part``, ``done``: good, scrapped or consumed by an assembly), or never if the
    part is still in the line. The integral of the count is computed for all bin edges at
    once from sorted start and end times.
    """
    edges = _bin_edges(_run_end(result), float(bin_s))
    events, parts = result.tables["events"], result.tables["parts"]
    created_ev = events[events["kind"] == "created"]
    starts = created_ev["time"].to_numpy(dtype=np.float64)
    done = pd.Series(parts["done"].to_numpy(dtype=np.float64), index=parts["part"].to_numpy())
    ends = done.reindex(created_ev["part"].to_numpy()).fillna(np.inf).to_numpy()
    area = _integral_of_count(starts, ends, edges)
    return np.diff(area) / float(bin_s)


def throughput_per_bin(result: Any, bin_s: float = 3600.0) -> np.ndarray:
    """Good parts finished per hour in each full bin of a run.

    Parameters
    ----------
    result : RunResult
        A run; see :func:`wip_per_bin`.
    bin_s : float, optional
        Bin length [s], default one hour.

    Returns
    -------
    ndarray, shape (n_bins,)
        Good parts per hour [1/h] whose ``done`` time (``tables["parts"]``, ``fate ==
        "good"``) falls in ``[i * bin_s, (i + 1) * bin_s)``, for every full bin.
    """
    edges = _bin_edges(_run_end(result), float(bin_s))
    parts = result.tables["parts"]
    good = parts["done"].to_numpy(dtype=np.float64)[
        parts["fate"].astype(str).to_numpy() == "good"]
    counts, _ = np.histogram(good, bins=edges)
    return counts * (3600.0 / float(bin_s))


def warmup_from_run(result: Any, signal: str = "wip", bin_s: float = 3600.0) -> float:
    """Warm-up time [s] of a run found by MSER-5 on a binned output signal.

    Parameters
    ----------
    result : RunResult
        Ideally one long run without warm-up (``warmup=0``), several times longer than the
        expected transient.
    signal : {"wip", "throughput"}, optional
        ``"wip"``: time-weighted parts in the line per bin (:func:`wip_per_bin`);
        ``"throughput"``: good parts per hour per bin (:func:`throughput_per_bin`).
    bin_s : float, optional
        Bin length [s], default one hour; the MSER-5 batches are 5 bins.

    Returns
    -------
    float
        Truncation time [s] from the start of the run: ``mser(series).index * bin_s``. Use it
        (rounded up, perhaps with a margin) as ``warmup`` of later replications.

    Raises
    ------
    ValueError
        For an unknown signal, or a run with fewer than 20 full bins.
    WarmupNotFound
        If the output never settles: MSER-5 truncates half of the run, or the WIP after the
        truncation still grows (:func:`twin.observation.stability.wip_trend`); a warm-up
        returned then would be meaningless.

    Notes
    -----
    Uses ``tables["events"]`` and ``tables["parts"]`` (see :func:`wip_per_bin`) and the run
    length ``provenance["settings"]`` (``warmup_s + duration_s``). The result is an estimate
    from one run; taking the largest over a few replications is more robust. Bins that are
    short compared to the time between events give noisy but unbiased bin means.

    References
    ----------
    White (1997); Franklin & White (2008).
    """
    if signal == "wip":
        series = wip_per_bin(result, bin_s)
    elif signal == "throughput":
        series = throughput_per_bin(result, bin_s)
    else:
        raise ValueError(f"signal must be 'wip' or 'throughput', got {signal!r}")
    cut = mser(series, batch=5)
    rest = series[cut.index:]
    k = min(TREND_BATCHES, rest.size)
    tau, p, grows = wip_trend(rest[: rest.size // k * k].reshape(k, -1).mean(axis=1))
    if grows and signal == "wip":
        raise WarmupNotFound(
            f"cannot find a warm-up: the WIP still grows after MSER-5's truncation at "
            f"{cut.index * bin_s / 3600.0:g} h (Mann-Kendall tau {tau:.2f}, p {p:.1g}); the "
            "line is unstable or the pilot run too short: check the stations' loads, or "
            "state the warm-up")
    if cut.deleted_batches >= cut.batches // 2:
        raise WarmupNotFound(
            f"cannot find a warm-up: MSER-5 truncates half of the {len(series) * bin_s / 3600.0:g}"
            f" h pilot run, so the {signal} never settles in it; run a longer pilot or state "
            "the warm-up")
    return float(cut.index * float(bin_s))


class WarmupNotFound(ValueError):
    """``warmup = "auto"`` found no warm-up: the output never settles in the pilot run."""


# --------------------------------------------------------------------------- ranking


def rank(table: pd.DataFrame, kpi: str, maximize: bool = True, confidence: float = 0.95,
         *, paired: bool = True) -> pd.DataFrame:
    """Rank configurations by a KPI, with intervals and comparisons against the best.

    Parameters
    ----------
    table : pandas.DataFrame
        Long table, one row per (configuration, replication): columns ``point``
        (configuration id), ``replication`` (replication index; the same index means the same
        seed, i.e. common random numbers) and the KPI column.
    kpi : str
        The KPI column to rank by.
    maximize : bool, optional
        Whether larger is better (e.g. throughput) or smaller (e.g. lead time).
    confidence : float, optional
        Level of every interval, default 0.95.
    paired : bool, optional
        Compare by paired differences when a point and the best have the same replication
        indices (default); ``False`` always uses Welch's interval (independent seeds).

    Returns
    -------
    pandas.DataFrame
        One row per point, best first: ``point``, ``n``, ``mean``, ``std``, ``half_width``,
        ``low``, ``high`` (:func:`mean_ci`), ``rank`` (1 = best; equal means share a rank),
        ``best`` (bool; among equal means the first by point id), ``diff_to_best`` (point
        minus best, unit of the KPI), ``diff_low``, ``diff_high``, ``diff_half_width``,
        ``comparison`` (``"paired"``, ``"welch"``, or ``""`` for the best itself and when a
        sample has a single replication, so no interval exists) and ``indistinguishable``
        (the difference interval contains 0: the point is not distinguishable from the
        best; True for the best and without an interval).

    Raises
    ------
    ValueError
        If columns are missing, the table is empty, a (point, replication) pair repeats, or
        a KPI value is NaN (the message names the point).

    Notes
    -----
    The intervals are individual, not simultaneous: with ``P`` points, each comparison with
    the best errs with probability ``1 - confidence``, so some of ``P - 1`` comparisons may
    err together. For a joint statement use a Bonferroni level,
    ``confidence = 1 - (1 - level) / (P - 1)``. The best point is the one with the best
    sample mean, itself a random choice; "indistinguishable" points are candidates for the
    best that need more replications to separate.

    References
    ----------
    Law, *Simulation Modeling and Analysis*, sections 10.2 (comparing two systems) and 10.3
    (comparing more than two systems, Bonferroni).
    """
    for col in ("point", "replication", kpi):
        if col not in table.columns:
            raise ValueError(f"table has no column {col!r} (columns: {list(table.columns)})")
    if len(table) == 0:
        raise ValueError("table is empty")
    c = _check_confidence(confidence)
    dup = table.duplicated(["point", "replication"])
    if dup.any():
        first = table.loc[dup, ["point", "replication"]].iloc[0].tolist()
        raise ValueError(f"{int(dup.sum())} repeated (point, replication) rows, e.g. {first}")

    samples: dict[Any, pd.Series] = {}
    rows = []
    for point, group in table.groupby("point", sort=False, observed=True):
        s = group.set_index("replication")[kpi].astype(np.float64).sort_index()
        try:
            ci = mean_ci(s.to_numpy(), c)
        except ValueError as exc:
            raise ValueError(f"point {point!r}, KPI {kpi!r}: {exc}") from None
        samples[point] = s
        rows.append({"point": point, "n": ci.n, "mean": ci.mean, "std": ci.std,
                     "half_width": ci.half_width, "low": ci.low, "high": ci.high})
    out = pd.DataFrame(rows)
    out["rank"] = out["mean"].rank(method="min", ascending=not maximize).astype(np.int64)
    out = out.sort_values(["rank", "point"], kind="stable").reset_index(drop=True)
    best = out.loc[0, "point"]
    b = samples[best]
    diffs = []
    for point in out["point"]:
        a = samples[point]
        if point == best:
            diffs.append((0.0, math.nan, math.nan, math.nan, "", True))
            continue
        same_reps = len(a) == len(b) and bool((a.index == b.index).all())
        if paired and same_reps and len(a) >= 2:
            ci = paired_difference(a.to_numpy(), b.to_numpy(), c)
            how = "paired"
        elif len(a) >= 2 and len(b) >= 2:
            ci = welch_difference(a.to_numpy(), b.to_numpy(), c)
            how = "welch"
        else:
            diff = float(a.mean() - b.mean())
            diffs.append((diff, -math.inf, math.inf, math.inf, "", True))
            continue
        diffs.append((ci.mean, ci.low, ci.high, ci.half_width, how, ci.contains(0.0)))
    d = pd.DataFrame(diffs, columns=["diff_to_best", "diff_low", "diff_high",
                                     "diff_half_width", "comparison", "indistinguishable"])
    out["best"] = out["point"] == best
    return pd.concat([out, d], axis=1)
