"""Unstable lines warn: offered load >= 1 before the run, a growing WIP after it, and
``warmup = "auto"`` refuses to return a warm-up for a series that never settles.

References: the offered load of a G/G/c queue rho = lambda E[S] / c; the traffic equations of
a rework loop (visits = 1 / (1 - p_rework)); availability under failures MTTF / (MTTF + MTTR)
and the working share of the week from the shift table, all by hand below; the
Mann-Kendall trend test as Kendall's tau in SciPy.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from twin.data.checks import line_from_dict
from twin.edges.cli import main
from twin.observation.stability import offered_load, wip_trend
from twin.orchestration import statistics as stats
from twin.orchestration.run import run


def queue(mean_gap: float, mean_service: float, servers: int = 1, **machine: object) -> dict:
    m = {"type": "machine", "servers": servers,
         "cycle_time": {"dist": "exponential", "mean": f"{mean_service} s"}, "to": "out",
         **machine}
    return {"line": {"name": "q"}, "products": {"A": {}},
            "stations": {"src": {"type": "source", "product": "A",
                                 "interarrival": {"dist": "exponential",
                                                  "mean": f"{mean_gap} s"}, "to": "m"},
                         "m": m, "out": {"type": "sink"}}}


def test_offered_load_of_a_queue() -> None:
    assert offered_load(line_from_dict(queue(50.0, 60.0)))["m"] == pytest.approx(1.2)
    assert offered_load(line_from_dict(queue(50.0, 60.0, 2)))["m"] == pytest.approx(0.6)


def test_offered_load_with_failures_maintenance_and_shifts() -> None:
    """Operating failures (MTTF 10 h, MTTR 1 h) add 10 % work; calendar failures (MTTF 20 h,
    MTTR 2 h) leave 20/22 of the time; maintenance 2 h every 48 h leaves 46/48; two 8-h
    shifts on five days leave 80/168 of the week."""
    data = queue(600.0, 60.0, failures=[
        {"basis": "operating", "ttf": {"dist": "exponential", "mean": "10 h"}, "ttr": "1 h"},
        {"basis": "calendar", "ttf": {"dist": "exponential", "mean": "20 h"}, "ttr": "2 h"}],
        maintenance={"every": "48 h", "duration": "2 h"})
    data["calendar"] = {"days": ["mon", "tue", "wed", "thu", "fri"],
                        "shifts": [{"start": "06:00", "end": "14:00"},
                                   {"start": "14:00", "end": "22:00"}]}
    rho = 0.1 * 1.1 / ((20 / 22) * (46 / 48) * (80 / 168))
    assert offered_load(line_from_dict(data))["m"] == pytest.approx(rho, rel=1e-12)


def test_traffic_equations_with_rework_and_scrap() -> None:
    """m is visited 1 / (1 - 0.2) times per arrival (rework loop); the packer after the test
    sees (1 - 0.1 - 0.2) / 0.8 of the arrivals."""
    data = {"line": {"name": "rw"}, "products": {"A": {}},
            "stations": {
                "src": {"type": "source", "product": "A", "interarrival": "100 s", "to": "m"},
                "m": {"type": "machine", "cycle_time": "50 s", "to": "test"},
                "test": {"type": "inspection", "cycle_time": "20 s", "scrap_probability": 0.1,
                         "rework_probability": 0.2, "rework_to": "m", "to": "pack"},
                "pack": {"type": "machine", "cycle_time": "80 s", "to": "out"},
                "out": {"type": "sink"}}}
    rho = offered_load(line_from_dict(data))
    assert rho["m"] == pytest.approx(0.5 / 0.8)
    assert rho["test"] == pytest.approx(0.2 / 0.8)
    assert rho["pack"] == pytest.approx(0.8 * 0.7 / 0.8)


def test_no_load_for_an_infinite_supply() -> None:
    data = queue(50.0, 60.0, buffer=5)
    del data["stations"]["src"]["interarrival"]
    assert offered_load(line_from_dict(data)) == {}


@pytest.fixture(scope="module")
def unstable():
    return run(queue(50.0, 60.0), duration="4 d", warmup="0 s", seed=3)


def test_unstable_line_warns_before_and_after(unstable, tmp_path) -> None:
    codes = [w["code"] for w in unstable.warnings]
    assert codes == ["unstable_station", "wip_grows"]
    assert unstable.warnings[0]["stations"] == ["m"]
    assert "1.20 times" in unstable.warnings[0]["message"]
    folder = unstable.save(tmp_path)
    stored = json.loads((folder / "run.json").read_text())["warnings"]
    assert [w["code"] for w in stored] == codes


def test_stable_line_has_no_warnings() -> None:
    r = run(queue(100.0, 50.0), duration="4 d", warmup="0 s", seed=3)
    assert r.warnings == []


def test_trend_test_on_known_series() -> None:
    rng = np.random.default_rng(1)
    assert not wip_trend(rng.normal(10.0, 1.0, 20))[2]  # stationary noise
    assert wip_trend(np.arange(20.0) + rng.normal(0.0, 1.0, 20))[2]  # a ramp
    tau, p, grows = wip_trend(np.arange(20.0)[::-1])  # a falling series is no instability
    assert tau == pytest.approx(-1.0) and not grows
    assert not math.isnan(p)


def test_auto_warmup_refuses_a_series_that_never_settles(unstable) -> None:
    with pytest.raises(stats.WarmupNotFound, match="cannot find a warm-up"):
        stats.warmup_from_run(unstable)
    stable = run(queue(100.0, 50.0), duration="4 d", warmup="0 s", seed=3)
    assert stats.warmup_from_run(stable) >= 0.0


def test_cli_prints_the_warnings(tmp_path, capsys) -> None:
    f = tmp_path / "line.toml"
    f.write_text('''[line]
name = "q"
[products.A]
[stations.src]
type = "source"
product = "A"
interarrival = { dist = "exponential", mean = "50 s" }
to = "m"
[stations.m]
type = "machine"
cycle_time = { dist = "exponential", mean = "60 s" }
to = "out"
[stations.out]
type = "sink"
''')
    assert main(["validate", str(f)]) == 0
    assert "station 'm' is offered 1.20 times" in capsys.readouterr().err
    assert main(["run", str(f), "--duration", "2d", "--out", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "WARNINGS" in out and "the WIP grows" in out


def test_report_shows_the_warnings(unstable, tmp_path) -> None:
    from twin.edges.report import write_report

    folder = unstable.save(tmp_path)
    html = write_report(folder, tmp_path / "r.html").read_text()
    assert 'id="warnings"' in html and "1.20 times the work it can do" in html


def test_equal_batch_means_are_ties_whatever_their_last_bits() -> None:
    """Batch means summed in another order (tables, or the compiled engine's accumulators)
    differ by ~1e-15; Kendall's tau must see the same ties (reference: scipy.stats.kendalltau
    of the exact series)."""
    exact = np.array([1.8, 1.9, 1.8, 1.8, 1.6, 2.6] + [5.0] * 14)
    noisy = exact.copy()
    noisy[[8, 14]] += np.array([3.6e-15, -3.6e-15])
    want = kendalltau(np.arange(exact.size), exact)
    for series in (exact, noisy):
        tau, p, _ = wip_trend(series)
        assert tau == pytest.approx(want.statistic, rel=1e-12)
        assert p == pytest.approx(want.pvalue, rel=1e-9)
