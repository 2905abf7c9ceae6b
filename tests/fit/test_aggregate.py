"""Calibrating a discrete line to aggregate period KPIs (no event log): the period KPIs
follow the line KPIs' definitions, and scale factors of a known line are recovered from
data it generated, within their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twin.data.checks import line_from_dict
from twin.fit.aggregate import (
    AggregateError,
    calibrate_line,
    period_kpis,
    scaled_line,
)
from twin.orchestration.run import run

DAY = 86400.0
PARAMS = ["stations.src.interarrival", "stations.m1.cycle_time"]


def _line():
    return line_from_dict({
        "line": {"name": "agg"}, "products": {"A": {}},
        "run": {"engine": "auto"},
        "stations": {
            "src": {"type": "source", "product": "A",
                    "interarrival": {"dist": "exponential", "mean": "10 min"}, "to": "m1"},
            "m1": {"type": "machine", "buffer": 50, "to": "m2",
                   "cycle_time": {"dist": "lognormal", "mean": "6 min", "std": "2 min"}},
            "m2": {"type": "machine", "buffer": 50, "to": "out",
                   "cycle_time": {"dist": "exponential", "mean": "4 min"}},
            "out": {"type": "sink"}}})


def _data(truth: list[float], n: int = 12, seed: int = 101) -> pd.DataFrame:
    """Daily KPIs of the line with its distributions scaled by ``truth`` (a plant)."""
    res = run(scaled_line(_line(), PARAMS, truth), duration=n * DAY, warmup=DAY, seed=seed)
    frame = period_kpis(res.tables, DAY, DAY, n)
    start = pd.Timestamp("2026-03-02T00:00:00Z") + pd.to_timedelta(np.arange(n), unit="D")
    return frame.assign(period_start=start, period_end=start + pd.Timedelta(days=1))


def test_period_kpis_of_one_period_are_the_line_kpis() -> None:
    """One period spanning the observation window gives the run's own line KPIs."""
    res = run(_line(), duration=3 * DAY, warmup=DAY, seed=5)
    one = period_kpis(res.tables, DAY, 3 * DAY, 1).iloc[0]
    for k in ("throughput_per_h", "wip_mean", "lead_time_mean_h"):
        assert one[k] == pytest.approx(res.kpis[k], rel=1e-12), k


def test_scale_factors_of_a_known_line_are_recovered() -> None:
    """Data from the line with interarrival x 1.2 and m1's cycle time x 1.25; the fit
    starts from the unscaled line and recovers both: each 95 % interval holds the truth and
    the estimates are within 10 % of it; the fitted line's means are the scaled ones."""
    truth = [1.2, 1.25]
    cal = calibrate_line(_line(), _data(truth), PARAMS, replications=3, seed=1)
    for p, t in zip(PARAMS, truth, strict=True):
        lo, hi = cal.interval[p]
        assert lo <= t <= hi, (p, cal.interval[p])
        assert cal.theta[p] == pytest.approx(t, rel=0.1)
        assert hi / lo < 1.5  # an interval that says something
    # t intervals with Welch-Satterthwaite degrees of freedom of the observed part (12
    # periods: 11) and the simulated part (3 x 12 periods: at most 35): between the smaller
    # and the sum (Satterthwaite 1946), half width t(dof) sd on the log scale
    for i, p in enumerate(PARAMS):
        assert 11 <= cal.dof[p] <= 11 + 35
        lo, hi = cal.interval[p]
        assert (np.log(hi) - np.log(lo)) / 2 == pytest.approx(
            stats.t.ppf(0.975, cal.dof[p]) * np.sqrt(cal.covariance[i, i]), rel=1e-9)
    assert cal.mean["stations.m1.cycle_time"] == pytest.approx(360.0 * cal.theta[PARAMS[1]])
    assert cal.line.stations["m1"].cycle_time.mean() == pytest.approx(
        cal.mean["stations.m1.cycle_time"])
    assert not cal.warnings, cal.warnings


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.drop(columns=["period_end"]), "no column 'period_end'"),
    (lambda d: d.drop(columns=["throughput_per_h", "wip_mean", "lead_time_mean_h"]),
     "none of the KPI columns"),
    (lambda d: d.assign(period_end=d["period_end"].where(d.index != 3,
                                                         d["period_end"] + pd.Timedelta("1h"))),
     "row 3, period_end"),
    (lambda d: d.assign(wip_mean=d["wip_mean"].where(d.index != 2, np.nan)), "row 2, wip_mean"),
    (lambda d: d.iloc[:1], "at least 2 periods"),
])
def test_unusable_data_are_located(change, message: str) -> None:
    start = pd.Timestamp("2026-03-02T00:00:00Z") + pd.to_timedelta(np.arange(5), unit="D")
    data = pd.DataFrame({"period_start": start, "period_end": start + pd.Timedelta(days=1),
                         "throughput_per_h": [5.0, 5.2, 4.9, 5.1, 5.0],
                         "wip_mean": [2.0, 2.2, 1.9, 2.4, 2.1],
                         "lead_time_mean_h": [0.4, 0.45, 0.38, 0.5, 0.41]})
    with pytest.raises(AggregateError, match=message.replace("(", "\\(")):
        calibrate_line(_line(), change(data), PARAMS)


@pytest.mark.parametrize(("params", "message"), [
    (["stations.m9.cycle_time"], "no such path"),
    (["stations.m1.buffer"], "not a distribution"),
    (PARAMS + ["stations.m2.cycle_time", "stations.src.interarrival"], "no more parameters"),
])
def test_unusable_parameters_are_named(params: list[str], message: str) -> None:
    data = _data([1.0, 1.0], n=3)
    with pytest.raises(AggregateError, match=message):
        calibrate_line(_line(), data, params)


def test_cli_writes_the_calibrated_line(tmp_path) -> None:
    """twin calibrate-line: the spec written holds the fitted distributions (their means
    the calibration's), validates, and has a report."""
    import tomli_w

    from twin.data.checks import load_line
    from twin.edges.cli import main

    spec = tmp_path / "line.toml"
    spec.write_text(tomli_w.dumps(_line().model_dump(mode="json", by_alias=True,
                                                     exclude_none=True)))
    _data([1.0, 1.25], n=6).to_csv(tmp_path / "days.csv", index=False)
    out = tmp_path / "fitted.toml"
    assert main(["calibrate-line", str(spec), str(tmp_path / "days.csv"), "--params",
                 "stations.m1.cycle_time", "--replications", "1", "-o", str(out)]) == 0
    fitted = load_line(out)
    mean = fitted.stations["m1"].cycle_time.mean()
    assert mean == pytest.approx(360.0 * 1.25, rel=0.15)
    assert "sha256" in out.read_text().splitlines()[0]
    assert out.with_suffix(".calibration.md").exists()
