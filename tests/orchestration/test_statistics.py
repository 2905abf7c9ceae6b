"""Output analysis functions of :mod:`twin.orchestration.statistics` against independent
references: scipy.stats (t.interval, ttest_rel, ttest_ind with Welch), hand-written formulas,
brute-force search, synthetic series with a known transient, and runs of a queue whose warm-up
is known from the model (a backlog that drains at a known net rate)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import signal, stats

from twin.kernels.statistics import time_weighted_mean
from twin.orchestration.run import run
from twin.orchestration.statistics import (
    Interval,
    mean_ci,
    mser,
    paired_difference,
    rank,
    replications_needed,
    throughput_per_bin,
    warmup_from_run,
    welch_difference,
    wip_per_bin,
)

DATA = np.array([12.1, 9.8, 11.4, 10.6, 13.2, 10.1, 9.5, 11.9, 12.7, 10.4])
OTHER = np.array([10.9, 9.1, 10.2, 10.8, 11.5, 9.4, 8.8, 10.7, 11.6, 9.9])


# --------------------------------------------------------------------------- mean_ci


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_mean_ci_matches_scipy_t_interval(confidence: float) -> None:
    ci = mean_ci(DATA, confidence)
    low, high = stats.t.interval(confidence, df=DATA.size - 1, loc=DATA.mean(),
                                 scale=stats.sem(DATA))
    assert ci.low == pytest.approx(low, rel=1e-12)
    assert ci.high == pytest.approx(high, rel=1e-12)
    assert ci.mean == pytest.approx(DATA.mean(), rel=1e-12)
    assert ci.half_width == pytest.approx((high - low) / 2, rel=1e-12)
    assert ci.std == pytest.approx(np.std(DATA, ddof=1), rel=1e-12)
    assert ci.n == DATA.size and ci.dof == DATA.size - 1 and ci.confidence == confidence
    assert ci.contains(DATA.mean()) and not ci.contains(high + 1e-9)


def test_mean_ci_of_one_replication_has_infinite_half_width() -> None:
    ci = mean_ci([4.2])
    assert ci.mean == 4.2 and ci.n == 1
    assert math.isinf(ci.half_width) and math.isnan(ci.std) and math.isnan(ci.se)
    assert ci.low == -math.inf and ci.high == math.inf
    assert ci.contains(1e300)


def test_mean_ci_of_equal_values_has_zero_width() -> None:
    ci = mean_ci([3.0, 3.0, 3.0])
    assert (ci.mean, ci.half_width, ci.low, ci.high) == (3.0, 0.0, 3.0, 3.0)


def test_interval_is_frozen() -> None:
    ci = mean_ci(DATA)
    assert isinstance(ci, Interval)
    with pytest.raises(AttributeError):
        ci.mean = 0.0  # type: ignore[misc]


def test_mean_ci_rejects_bad_input_with_clear_messages() -> None:
    with pytest.raises(ValueError, match="empty"):
        mean_ci([])
    with pytest.raises(ValueError, match="2 NaN of 5"):
        mean_ci([1.0, np.nan, 2.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="1 infinite of 3"):
        mean_ci([1.0, np.inf, 2.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        mean_ci(np.ones((2, 3)))
    with pytest.raises(ValueError, match="confidence"):
        mean_ci(DATA, confidence=95)
    with pytest.raises(ValueError, match="confidence"):
        mean_ci(DATA, confidence=0.0)


# --------------------------------------------------------------------------- differences


def test_paired_difference_matches_hand_formula_and_ttest_rel() -> None:
    ci = paired_difference(DATA, OTHER, 0.95)
    d = [x - y for x, y in zip(DATA.tolist(), OTHER.tolist(), strict=True)]
    n = len(d)
    mean = sum(d) / n
    s = math.sqrt(sum((v - mean) ** 2 for v in d) / (n - 1))
    h = stats.t.ppf(0.975, n - 1) * s / math.sqrt(n)
    assert ci.mean == pytest.approx(mean, rel=1e-12)
    assert ci.std == pytest.approx(s, rel=1e-12)
    assert ci.half_width == pytest.approx(h, rel=1e-12)
    ref = stats.ttest_rel(DATA, OTHER).confidence_interval(0.95)
    assert (ci.low, ci.high) == pytest.approx((ref.low, ref.high), rel=1e-12)


def test_paired_difference_checks_lengths_and_values() -> None:
    with pytest.raises(ValueError, match="equal lengths, got 10 and 9"):
        paired_difference(DATA, OTHER[:-1])
    with pytest.raises(ValueError, match="b contains 1 NaN"):
        paired_difference(DATA, np.r_[OTHER[:-1], np.nan])
    with pytest.raises(ValueError, match="a is empty"):
        paired_difference([], [])


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.999])
def test_welch_difference_matches_scipy_ttest_ind(confidence: float) -> None:
    a = DATA
    b = np.r_[OTHER, 14.0, 7.5, 9.9]  # unequal sizes and variances
    ci = welch_difference(a, b, confidence)
    res = stats.ttest_ind(a, b, equal_var=False)
    ref = res.confidence_interval(confidence)
    assert (ci.low, ci.high) == pytest.approx((ref.low, ref.high), rel=1e-12)
    assert ci.mean == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert ci.dof == pytest.approx(res.df, rel=1e-12)
    assert ci.n == a.size + b.size


def test_welch_difference_needs_two_values_per_sample() -> None:
    with pytest.raises(ValueError, match="at least 2 values per sample, got 1 and 10"):
        welch_difference([1.0], OTHER)
    with pytest.raises(ValueError, match="a contains 1 NaN"):
        welch_difference([1.0, np.nan, 3.0], OTHER)


# --------------------------------------------------------------------------- replications


def pilot_with_std(mean: float, std: float, n: int, seed: int = 0) -> np.ndarray:
    """n values with exactly this sample mean and sample standard deviation (ddof=1)."""
    z = np.random.default_rng(seed).normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + std * z


def brute_force_n(s: float, target: float, n0: int, confidence: float) -> int:
    n = n0
    while stats.t.ppf(0.5 + confidence / 2, n - 1) * s / math.sqrt(n) > target:
        n += 1
    return n


@pytest.mark.parametrize(("std", "target", "confidence"),
                         [(4.0, 1.0, 0.95), (4.0, 0.3, 0.99), (2.5, 1.7, 0.9), (50.0, 5.0, 0.95)])
def test_replications_needed_is_the_smallest_n_meeting_the_target(
        std: float, target: float, confidence: float) -> None:
    pilot = pilot_with_std(50.0, std, 10)
    n = replications_needed(pilot, target, confidence)
    t = stats.t.ppf(0.5 + confidence / 2, [n - 1, n - 2])
    assert t[0] * std / math.sqrt(n) <= target          # holds at n
    assert n == 10 or t[1] * std / math.sqrt(n - 1) > target  # fails at n - 1
    assert n == brute_force_n(std, target, 10, confidence)


def test_replications_needed_relative_and_pilot_already_enough() -> None:
    pilot = pilot_with_std(50.0, 4.0, 10)
    assert replications_needed(pilot, 0.02, relative=True) == replications_needed(pilot, 1.0)
    assert replications_needed(-pilot, 0.02, relative=True) == replications_needed(pilot, 1.0)
    # 10 replications with s = 4 give t * 4 / sqrt(10) = 2.86: a target of 5 is already met.
    assert replications_needed(pilot, 5.0) == 10
    assert replications_needed([7.0, 7.0, 7.0], 0.1) == 3


def test_replications_needed_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 2 pilot replications"):
        replications_needed([1.0], 0.1)
    with pytest.raises(ValueError, match="half_width must be positive"):
        replications_needed(DATA, 0.0)
    with pytest.raises(ValueError, match="nonzero pilot mean"):
        replications_needed([-1.0, 1.0], 0.1, relative=True)
    with pytest.raises(ValueError, match="1 NaN of 3"):
        replications_needed([1.0, np.nan, 2.0], 0.1)


# --------------------------------------------------------------------------- MSER


def mser_by_definition(x: np.ndarray, m: int) -> tuple[int, float]:
    """MSER-m straight from the definition, one truncation point at a time."""
    k = x.size // m
    z = [float(np.mean(x[j * m:(j + 1) * m])) for j in range(k)]
    best_d, best = 0, math.inf
    for d in range(k // 2 + 1):
        tail = z[d:]
        zbar = sum(tail) / len(tail)
        value = sum((v - zbar) ** 2 for v in tail) / (k - d) ** 2
        if value < best:
            best_d, best = d, value
    return best_d * m, best


@pytest.mark.parametrize(("n", "m", "seed"), [(100, 5, 1), (103, 5, 2), (57, 1, 3), (400, 10, 4)])
def test_mser_agrees_with_the_definition(n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) + 3.0 * np.exp(-np.arange(n) / 8.0) + 1000.0  # far from 0
    tr = mser(x, batch=m)
    index, value = mser_by_definition(x, m)
    assert tr.index == index
    assert tr.statistic == pytest.approx(value, rel=1e-9)
    assert tr.batches == n // m and tr.batch == m and tr.deleted_batches * m == tr.index


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    """Stationary AR(1) with unit innovations, started from its stationary law."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n)
    e[0] /= math.sqrt(1.0 - phi**2)
    return signal.lfilter([1.0], [1.0, -phi], e)


@pytest.mark.parametrize("seed", range(10))
def test_mser5_truncates_a_known_transient(seed: int) -> None:
    """10 exp(-t/20) on top of an AR(1) around 0 (phi = 0.5, sd 1.15): the cut lands after
    the transient -- the bias left in the truncated mean, 10 sum_{t>=d} exp(-t/20) / (n - d),
    is below the mean's standard error sqrt(4 / (n - d)) (4 = long-run variance of the
    AR(1)), while without truncation it is three times as large -- and before the midpoint."""
    n, tau = 1000, 20.0
    t = np.arange(n)
    transient = 10.0 * np.exp(-t / tau)
    x = transient + ar1(n, 0.5, seed)
    d = mser(x).index
    assert 0 < d < n // 2
    bias_left = transient[d:].mean()
    assert bias_left < math.sqrt(4.0 / (n - d))
    assert transient.mean() > 3 * math.sqrt(4.0 / n)


@pytest.mark.parametrize("seed", range(10))
def test_mser5_keeps_almost_all_of_a_stationary_series(seed: int) -> None:
    tr = mser(ar1(1000, 0.5, seed))
    assert tr.index <= 50  # at most 5 % of the series


def test_mser_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 20 observations"):
        mser(np.ones(19))
    with pytest.raises(ValueError, match="1 NaN of 30"):
        mser(np.r_[np.ones(29), np.nan])
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        mser(np.ones(30), batch=0)
    with pytest.raises(ValueError, match="empty"):
        mser([])


# --------------------------------------------------------------------------- warm-up of runs


def backlog_line() -> dict:
    """200 parts released at t = 0 into an M/M/1 queue (lambda = 0.5/s, mu = 1/s): the
    backlog drains at the net rate mu - lambda = 0.5/s, so for about 400 s the WIP falls from
    200, then it fluctuates around its stationary mean L = rho / (1 - rho) = 1."""
    return {
        "line": {"name": "backlog"},
        "products": {"A": {}},
        "stations": {
            "backlog": {"type": "source", "product": "A",
                        "schedule": [{"at": "0 s", "quantity": 200}], "to": "m"},
            "src": {"type": "source", "product": "A",
                    "interarrival": {"dist": "exponential", "mean": "2 s"}, "to": "m"},
            "m": {"type": "machine", "cycle_time": {"dist": "exponential", "mean": "1 s"},
                  "to": "out"},
            "out": {"type": "sink"},
        },
    }


def test_wip_per_bin_matches_a_step_function_reference() -> None:
    """Bins against the kernels' time-weighted mean of the WIP step function built from the
    recorded part events (+1 at each 'created', -1 at each part's done time)."""
    r = run(backlog_line(), duration=2010.0, warmup=0.0, seed=3)
    bins = wip_per_bin(r, 100.0)
    assert bins.size == 20  # the last partial bin (2000 .. 2010 s) is left out
    ev, parts = r.tables["events"], r.tables["parts"]
    up = ev.loc[ev["kind"] == "created", "time"].to_numpy()
    down = parts["done"].to_numpy()
    times = np.r_[up, down]
    steps = np.r_[np.ones(up.size), -np.ones(down.size)]
    order = np.argsort(times, kind="stable")
    level = np.cumsum(steps[order])
    ref = [time_weighted_mean(times[order], level, 100.0 * i, 100.0 * (i + 1))
           for i in range(20)]
    assert bins == pytest.approx(ref, rel=1e-9, abs=1e-9)
    # The whole-window mean agrees with the run's own KPI.
    whole = run(backlog_line(), duration=2000.0, warmup=0.0, seed=3)
    assert wip_per_bin(whole, 100.0).mean() == pytest.approx(whole.kpis["wip_mean"], rel=1e-9)


def test_throughput_per_bin_counts_good_parts() -> None:
    r = run(backlog_line(), duration=1000.0, warmup=0.0, seed=4)
    tp = throughput_per_bin(r, 100.0)
    assert tp.size == 10
    parts = r.tables["parts"]
    good = parts[(parts["fate"] == "good") & (parts["done"] < 1000.0)]
    assert tp.sum() * 100.0 / 3600.0 == pytest.approx(len(good))
    # mu = 1/s while the backlog lasts (300 s: about 300 +/- 17 parts), 0.5/s at the end
    assert tp[:3].sum() * 100.0 / 3600.0 == pytest.approx(300.0, rel=0.15)
    assert tp[-3:].sum() * 100.0 / 3600.0 == pytest.approx(150.0, rel=0.3)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_warmup_from_run_finds_the_backlog_transient(seed: int) -> None:
    r = run(backlog_line(), duration=6000.0, warmup=0.0, seed=seed)
    wip = wip_per_bin(r, 20.0)
    for sig in ("wip", "throughput"):
        w = warmup_from_run(r, signal=sig, bin_s=20.0)
        # The backlog is still > 50 parts at 300 s (fluid: 200 - 0.5 t), and the cut
        # stays in the first half of the run.
        assert 300.0 <= w <= 3000.0, (sig, w)
        after = wip[int(w / 20.0):].mean()
        assert abs(after - 1.0) < 0.3, (sig, after)  # stationary L = 1
    assert wip.mean() > 5.0  # without truncation the estimate is far off


def test_warmup_from_run_rejects_bad_input() -> None:
    r = run(backlog_line(), duration=300.0, warmup=0.0, seed=1)
    with pytest.raises(ValueError, match="signal must be"):
        warmup_from_run(r, signal="queue")
    with pytest.raises(ValueError, match="shorter than one bin"):
        warmup_from_run(r, bin_s=3600.0)
    with pytest.raises(ValueError, match="at least 20 observations"):
        warmup_from_run(r, bin_s=20.0)  # 15 bins
    with pytest.raises(ValueError, match="bin_s must be positive"):
        warmup_from_run(r, bin_s=0.0)


# --------------------------------------------------------------------------- ranking


def synthetic_experiment(reps: int = 10, seed: int = 7) -> pd.DataFrame:
    """Five configurations sharing a large replication effect (sd 2, as common random
    numbers give) with small own noise (sd 0.05): true means 10, 10, 9.9, 8, 5."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0.0, 2.0, reps)
    means = {"A": 10.0, "A2": 10.0, "B": 9.9, "C": 8.0, "D": 5.0}
    rows = []
    for point, mu in means.items():
        own = rng.normal(0.0, 0.05, reps)
        for i in range(reps):
            rows.append({"point": point, "replication": i, "tp": mu + common[i] + own[i],
                         "lt": 20.0 - (mu + common[i] + own[i])})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # order must not matter


def test_rank_orders_points_and_flags_the_indistinguishable() -> None:
    table = synthetic_experiment()
    out = rank(table, "tp", maximize=True)
    assert list(out.columns[:7]) == ["point", "n", "mean", "std", "half_width", "low", "high"]
    assert set(out["point"][:2]) == {"A", "A2"}
    assert list(out["point"][2:]) == ["B", "C", "D"]
    assert list(out["rank"]) == [1, 2, 3, 4, 5]
    assert out["best"].tolist() == [True, False, False, False, False]
    flags = dict(zip(out["point"], out["indistinguishable"], strict=True))
    assert flags["A"] and flags["A2"]  # equal true means
    assert not flags["B"] and not flags["C"] and not flags["D"]  # 0.1 apart is resolved
    assert (out["comparison"][1:] == "paired").all()
    # Independent reference for one row: scipy's paired t test interval.
    best = out["point"][0]
    a = table[table["point"] == "B"].sort_values("replication")["tp"].to_numpy()
    b = table[table["point"] == best].sort_values("replication")["tp"].to_numpy()
    ref = stats.ttest_rel(a, b).confidence_interval(0.95)
    row = out[out["point"] == "B"].iloc[0]
    assert (row["diff_low"], row["diff_high"]) == pytest.approx((ref.low, ref.high), rel=1e-12)
    assert row["diff_to_best"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert row["mean"] == pytest.approx(a.mean(), rel=1e-12)


def test_rank_minimise_and_welch_when_not_paired() -> None:
    table = synthetic_experiment()
    out = rank(table, "lt", maximize=False)  # lt = 20 - tp: smaller is better
    assert set(out["point"][:2]) == {"A", "A2"}
    assert list(out["point"][2:]) == ["B", "C", "D"]
    assert out["mean"].is_monotonic_increasing
    assert out["diff_to_best"][1:].gt(0).all()  # worse points have a larger lead time
    # Without pairing the replication effect (sd 2) hides the 0.1 difference.
    unpaired = rank(table, "tp", paired=False)
    flags = dict(zip(unpaired["point"], unpaired["indistinguishable"], strict=True))
    assert flags["B"] and not flags["D"]
    assert (unpaired["comparison"][1:] == "welch").all()
    b = table[table["point"] == "D"]["tp"].to_numpy()
    a = table[table["point"] == unpaired["point"][0]]["tp"].to_numpy()
    ref = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    row = unpaired[unpaired["point"] == "D"].iloc[0]
    assert (row["diff_low"], row["diff_high"]) == pytest.approx((ref.low, ref.high), rel=1e-12)


def test_rank_falls_back_to_welch_for_different_replications() -> None:
    table = synthetic_experiment()
    table = table[~((table["point"] == "C") & (table["replication"] == 3))]
    out = rank(table, "tp")
    row = out[out["point"] == "C"].iloc[0]
    assert row["comparison"] == "welch" and row["n"] == 9
    one = pd.concat([table, pd.DataFrame([{"point": "E", "replication": 0, "tp": 1.0}])])
    row = rank(one, "tp").set_index("point").loc["E"]
    assert row["n"] == 1 and math.isinf(row["half_width"]) and row["rank"] == 6
    assert row["comparison"] == "" and row["indistinguishable"]  # one replication: no interval


def test_rank_rejects_bad_tables() -> None:
    table = synthetic_experiment()
    with pytest.raises(ValueError, match="no column 'yield'"):
        rank(table, "yield")
    with pytest.raises(ValueError, match="no column 'replication'"):
        rank(table.drop(columns="replication"), "tp")
    with pytest.raises(ValueError, match="empty"):
        rank(table.iloc[:0], "tp")
    with pytest.raises(ValueError, match="1 repeated"):
        rank(pd.concat([table, table.iloc[:1]]), "tp")
    bad = table.copy()
    bad.loc[(bad["point"] == "C") & (bad["replication"] == 2), "tp"] = np.nan
    with pytest.raises(ValueError, match="point 'C', KPI 'tp': values contains 1 NaN of 10"):
        rank(bad, "tp")
