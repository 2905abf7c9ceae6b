"""A safety constraint on a process line: the fastest operation breaks it, the chosen one keeps it.

On the API batch pilot line a hotter heat-up target (the temperature the reaction starts from)
shortens the reaction and so the lead time, but raises the MTSR (maximum temperature of the
synthesis reaction: the temperature a cooling failure would reach, Stoessel). The MTSR bound
is set between the values of the two hottest candidates, so the unconstrained optimum breaks
it. The chosen design's MTSR is recomputed from its stored ``phases`` table (the kernel's
``max_mtsr_K`` per reaction phase), independently of the ``mtsr_max_c`` KPI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.observation.runfolder import RUNS_DIR, read_table
from twin.optimise.search import optimise

LINE = Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml"
VAR = "stations.reactor.recipe[1].to"


def scenario(tmp: Path, bound: float) -> Path:
    path = tmp / "scenario.toml"
    path.write_text(f"""\
name = "safe"
line = {json.dumps(str(LINE))}
[run]
duration = "2 d"
warmup = "0 s"
seed = 1
[optimise]
objectives = ["lead_time_mean_h"]
method = "grid"
budget = 4
replications = 1
[optimise.variables."{VAR}"]
low = "50 degC"
high = "80 degC"
step = 10
[[optimise.constraints]]
kpi = "mtsr_max_c"
max = {bound!r}
""")
    return path


@pytest.mark.slow
def test_mtsr_bound_excludes_the_fastest_operation(tmp_path: Path) -> None:
    probe = optimise(scenario(tmp_path, 1e9), tmp_path / "studies", executor="serial")
    hist = probe.history.sort_values("mean:lead_time_mean_h")
    fastest, second = hist.iloc[0], hist.iloc[1]
    assert fastest["mean:mtsr_max_c"] > second["mean:mtsr_max_c"]  # faster is hotter
    bound = float((fastest["mean:mtsr_max_c"] + second["mean:mtsr_max_c"]) / 2)

    result = optimise(scenario(tmp_path, bound), tmp_path / "studies", executor="serial")
    assert result.best is not None and result.best[VAR] != fastest[f"x:{VAR}"]
    row = result.history[result.history[f"x:{VAR}"] == result.best[VAR]].iloc[0]
    assert row["feasible"] and row["mean:mtsr_max_c"] <= bound
    infeasible = result.history[result.history[f"x:{VAR}"] == fastest[f"x:{VAR}"]].iloc[0]
    assert not infeasible["feasible"]
    for run_id in row["run_ids"]:  # the chosen design's MTSR from its stored phases
        phases = read_table(tmp_path / "studies" / "safe" / RUNS_DIR / run_id, "phases")
        react = phases[phases["kind"] == "react"]
        assert len(react) and react["max_mtsr_K"].max() - 273.15 <= bound
