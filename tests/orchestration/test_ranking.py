"""Sweep ranking takes each KPI's direction from the KPI catalogue; a bad ranking KPI is an
error before any run starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_fixtures import scenario_dict, write_scenario

from twin.data.checks import SpecError
from twin.orchestration.sweep import run_study


def test_ranking_by_lead_time_names_the_fastest_configuration_best(tmp_path: Path) -> None:
    """Lead time: lower is better. One vs two servers at ``m`` (arrivals every 10 s, service
    6 s): the best configuration is the one with the smallest mean lead time, recomputed
    here from the per-run KPIs."""
    file = write_scenario(tmp_path, scenario_dict(rank_by="lead_time_mean_h"))
    study = run_study(file, tmp_path / "studies", executor="serial")
    assert study.meta["maximize"] is False
    results = study.results()
    means = results.groupby("point")["lead_time_mean_h"].mean()
    ranked = study.summary()
    best = ranked.iloc[0]
    assert int(best["point"]) == int(means.idxmin())
    assert best["mean"] == pytest.approx(means.min(), rel=1e-12)
    assert best["configuration"] == "m.servers=2"


def test_ranking_direction_can_be_overridden(tmp_path: Path) -> None:
    """``maximize = true`` ranks the slowest first (the user's explicit choice wins)."""
    file = write_scenario(tmp_path, scenario_dict(rank_by="lead_time_mean_h", maximize=True))
    study = run_study(file, tmp_path / "studies", executor="serial")
    assert study.summary().iloc[0]["configuration"] == "m.servers=1"


@pytest.mark.parametrize(("rank_by", "message"), [
    ("troughput_per_h", "did you mean 'throughput_per_h'"),
    ("product_kg", "exists only for process lines"),
    ("bottleneck", "no better direction"),
])
def test_a_bad_ranking_kpi_fails_before_any_run(tmp_path: Path, rank_by: str,
                                                message: str) -> None:
    file = write_scenario(tmp_path, scenario_dict(rank_by=rank_by))
    out = tmp_path / "studies"
    with pytest.raises(SpecError, match=message) as info:
        run_study(file, out, executor="serial")
    assert "rank_by" in str(info.value)
    assert not out.exists() or not any(out.rglob("run.json"))


def test_a_misspelt_target_kpi_fails_before_any_run(tmp_path: Path) -> None:
    data = scenario_dict()
    data["run"] = {**data["run"], "target_kpi": "wip_men"}
    with pytest.raises(SpecError, match="run.target_kpi.*did you mean 'wip_mean'"):
        run_study(write_scenario(tmp_path, data), tmp_path / "studies", executor="serial")
