"""Scenarios: validation with located problems, designs over factors, timed events."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sweep_fixtures import (
    LINE_TOML,
    scenario_dict,
    write_line,
    write_scenario,
)

from twin.data.checks import SpecError
from twin.data.scenario import SweepSpec
from twin.data.units import registry
from twin.orchestration.design import DesignError, design_points
from twin.orchestration.run import RunResult, execute
from twin.orchestration.scenario import Scenario
from twin.orchestration.sweep import run_study

# ------------------------------------------------------------------------ validation


def problems_of(exc: pytest.ExceptionInfo[SpecError]) -> dict[str, str]:
    return {p.path: p.message for p in exc.value.problems}


BAD = [
    pytest.param({"overrides": {"stations.mm.buffer": 3}},
                 "overrides['stations.mm.buffer']", ["does not exist", "did you mean 'm'"],
                 id="unknown-station-in-override"),
    pytest.param({"overrides": {"stations.m.bufer": 3}},
                 "overrides['stations.m.bufer']", ["bufer", "did you mean 'buffer'"],
                 id="unknown-key-in-override"),
    pytest.param({"overrides": {"stations.m.buffer": -1}},
                 "overrides['stations.m.buffer']",
                 ["stations.m.buffer", "greater than or equal to 0"],
                 id="override-breaks-line"),
    pytest.param({"overrides": {"stations..m": 1}},
                 "overrides['stations..m']", ["cannot read path"], id="unreadable-path"),
    pytest.param({"events": [{"kind": "failure", "station": "nope", "at": "10 s",
                              "duration": "5 s"}]},
                 "events[0].station", ["no station named 'nope'"], id="event-missing-station"),
    pytest.param({"events": [{"kind": "outage", "stations": ["m", "out"], "at": "10 s",
                              "duration": "5 s"}]},
                 "events[0].station", ["'out' is a sink"], id="outage-of-a-sink"),
    pytest.param({"events": [{"kind": "change", "station": "m", "what": "interarrival",
                              "at": "10 s", "value": {"dist": "constant", "value": "5 s"}}]},
                 "events[0].what", ["'m' (machine) has no interarrival"],
                 id="change-interarrival-of-machine"),
    pytest.param({"events": [{"kind": "change", "station": "src", "what": "cycle_time",
                              "at": "10 s", "value": {"dist": "constant", "value": "5 s"}}]},
                 "events[0].what", ["'src' (source) has no cycle_time"],
                 id="change-cycle-time-of-source"),
    pytest.param({"events": [{"kind": "failure", "station": "m", "server": 3, "at": "10 s",
                              "duration": "5 s"}]},
                 "events[0].server", ["1 server"], id="failure-of-missing-server"),
    pytest.param({"sweep": {"design": "lhs", "samples": 4,
                            "factors": {"stations.m.buffer": {"low": 5, "high": 5}}}},
                 "sweep", ["sweep.factors['stations.m.buffer']", "high must be greater"],
                 id="factor-low-equals-high"),
    pytest.param({"sweep": {"design": "sobol", "samples": 4,
                            "factors": {"stations.m.cycle_time.mean":
                                        {"low": "2 s", "high": "3 kg"}}}},
                 "sweep", ["sweep.factors['stations.m.cycle_time.mean']", "one dimension"],
                 id="factor-units-differ"),
    pytest.param({"sweep": {"design": "grid",
                            "factors": {"stations.m.buffer": {"low": 1, "high": 5}}}},
                 "sweep", ["sweep.factors['stations.m.buffer']", "a grid needs 'levels'"],
                 id="grid-without-levels"),
    pytest.param({"sweep": {"design": "grid", "factors": {"stations.m.buffer": {"low": 1}}}},
                 "sweep.factors.stations.m.buffer", ["either 'levels' or both"],
                 id="factor-without-range"),
    pytest.param({"sweep": {"design": "lhs",
                            "factors": {"stations.m.buffer": {"low": 1, "high": 3}}}},
                 "sweep", ["needs 'samples'"], id="lhs-without-samples"),
    pytest.param({"sweep": {"design": "grid",
                            "factors": {"stations.m.buffer": {"levels": [2, -1]}}}},
                 "overrides['stations.m.buffer']", ["greater than or equal to 0"],
                 id="second-level-breaks-line"),
    pytest.param({"line": "nowhere/line.toml"}, "line", ["no line file", "nowhere"],
                 id="missing-line-file"),
    pytest.param({"run": {"min_replications": 5, "max_replications": 3}},
                 "run", ["max_replications"], id="replication-bounds"),
]


@pytest.mark.parametrize(("extra", "path", "words"), BAD)
def test_bad_scenario_names_the_path(tmp_path: Path, extra: dict[str, Any], path: str,
                                     words: list[str]) -> None:
    write_line(tmp_path)
    with pytest.raises(SpecError) as exc:
        Scenario.from_dict(scenario_dict(**extra), base_dir=tmp_path, source="my scenario")
    found = problems_of(exc)
    assert path in found, found
    for word in words:
        assert word in found[path], (word, found)
    assert path in str(exc.value)


@pytest.mark.parametrize("extra", [
    pytest.param({"overrides": {"stations.m.buffer": -1}}, id="override"),
    pytest.param({"sweep": {"design": "grid", "factors": {"x": {"low": 1, "high": 2}}}},
                 id="sweep"),
    pytest.param({"events": [{"kind": "failure", "station": "nope", "at": "1 s",
                              "duration": "1 s"}]}, id="event"),
])
def test_problems_name_the_scenario_file(tmp_path: Path, extra: dict[str, Any]) -> None:
    """Like every other problem, a bad timed event says which scenario file it is in."""
    file = write_scenario(tmp_path, scenario_dict(**extra))
    with pytest.raises(SpecError) as exc:
        Scenario.load(file)
    assert str(file) in str(exc.value).splitlines()[0]


def test_bad_design_point_is_named_in_the_source(tmp_path: Path) -> None:
    write_line(tmp_path)
    data = scenario_dict(sweep={"design": "grid",
                                "factors": {"stations.m.buffer": {"levels": [2, 3, -1]}}})
    with pytest.raises(SpecError) as exc:
        Scenario.from_dict(data, base_dir=tmp_path, source="sc")
    assert "design point 2" in exc.value.source


@pytest.mark.parametrize(("extra", "path"), [
    pytest.param({"overrides": {"stations.m.buffer": -1}}, "overrides['stations.m.buffer']",
                 id="override"),
    pytest.param({"events": [{"kind": "failure", "station": "nope", "at": "1 s",
                              "duration": "1 s"}]}, "events[0].station", id="event"),
    pytest.param({"sweep": {"design": "lhs", "samples": 2,
                            "factors": {"stations.m.buffer": {"low": 3, "high": 1}}}},
                 "sweep", id="factor"),
])
def test_invalid_toml_scenario_runs_nothing_and_writes_nothing(
        tmp_path: Path, extra: dict[str, Any], path: str) -> None:
    file = write_scenario(tmp_path, scenario_dict(**extra))
    out = tmp_path / "studies"
    with pytest.raises(SpecError) as exc:
        run_study(file, out, executor="serial")
    assert path in problems_of(exc)
    assert not out.exists()


def test_missing_scenario_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError):
        Scenario.load(tmp_path / "none.toml")
    with pytest.raises(SpecError, match="file not found"):
        Scenario.load(tmp_path / "none.py")


def test_script_without_scenario(tmp_path: Path) -> None:
    write_line(tmp_path)
    script = tmp_path / "empty.py"
    script.write_text("x = 1\n")
    with pytest.raises(SpecError, match="defines no 'scenario'") as exc:
        Scenario.load(script)
    assert str(script) in str(exc.value)


def test_script_with_a_bad_dict_names_the_script(tmp_path: Path) -> None:
    write_line(tmp_path)
    script = tmp_path / "bad.py"
    script.write_text(f"scenario = {scenario_dict(overrides={'stations.m.buffer': -1})!r}\n")
    with pytest.raises(SpecError) as exc:
        Scenario.load(script)
    assert "overrides['stations.m.buffer']" in problems_of(exc)
    assert str(script) in str(exc.value)


def test_unchecked_scenario_from_a_script_writes_nothing(tmp_path: Path) -> None:
    """A script may build a Scenario directly (skipping validation at load time); run_study
    must still reject it before creating the study folder."""
    write_line(tmp_path)
    script = tmp_path / "direct.py"
    script.write_text(textwrap.dedent("""\
        from pathlib import Path
        from twin.data.scenario import ScenarioSpec
        from twin.orchestration.scenario import Scenario

        scenario = Scenario(ScenarioSpec.model_validate(
            {"name": "direct", "line": "line.toml", "overrides": {"stations.m.buffer": -1}}),
            Path(__file__).parent)
        """))
    out = tmp_path / "studies"
    with pytest.raises(SpecError) as exc:
        run_study(script, out, executor="serial")
    assert "overrides['stations.m.buffer']" in problems_of(exc)
    assert not (out / "direct").exists(), "study folder created for an invalid scenario"


def test_valid_scenario_loads_from_toml_and_script(tmp_path: Path) -> None:
    file = write_scenario(tmp_path)
    a = Scenario.load(file)
    script = tmp_path / "ok.py"
    script.write_text(f"scenario = {scenario_dict()!r}\n")
    b = Scenario.load(script)
    assert a.spec == b.spec
    assert a.points() == [{"stations.m.servers": 1}, {"stations.m.servers": 2}]
    assert a.line_path() == (tmp_path / "line.toml").resolve()


# ------------------------------------------------------------------------ designs


def sweep(**data: Any) -> SweepSpec:
    return SweepSpec.model_validate(data)


def test_grid_is_the_full_factorial_in_order() -> None:
    points = design_points(sweep(design="grid", factors={
        "a": {"levels": [1, 2, 3]}, "b": {"levels": ["x", "y"]}, "c": {"levels": [True]}}))
    assert points == [{"a": a, "b": b, "c": True} for a in (1, 2, 3) for b in ("x", "y")]


def test_oat_is_base_then_one_factor_at_a_time() -> None:
    points = design_points(sweep(design="oat", factors={
        "a": {"levels": [1, 2]}, "b": {"low": 1, "high": 5, "integer": True},
        "t": {"low": "2 min", "high": "6 min"}}))
    assert points == [{}, {"a": 1}, {"a": 2}, {"b": 1}, {"b": 5},
                      {"t": "2.0 min"}, {"t": "6.0 min"}]


def _magnitude(value: Any, unit: str) -> float:
    q = registry().Quantity(value)
    assert f"{q.units:~}" == unit, value
    return float(q.magnitude)


@pytest.mark.parametrize("n", [7, 16])
def test_lhs_is_latin_within_range(n: int) -> None:
    spec = sweep(design="lhs", samples=n, seed=3, factors={
        "x": {"low": 0.5, "high": 2.5},
        "t": {"low": "2 min", "high": "360 s"},      # sampled and written in minutes
        "k": {"low": 1, "high": 40, "integer": True},
        "lv": {"levels": ["p", "q", "r"]}})
    points = design_points(spec)
    assert len(points) == n
    x = np.array([p["x"] for p in points])
    t = np.array([_magnitude(p["t"], "min") for p in points])
    for values, lo, hi in ((x, 0.5, 2.5), (t, 2.0, 6.0)):
        assert np.all((values >= lo) & (values <= hi))
        strata = np.floor((values - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n)), "not one sample per stratum"
    ks = [p["k"] for p in points]
    assert all(type(k) is int and 1 <= k <= 40 for k in ks)
    assert all(isinstance(p["t"], str) and p["t"].endswith(" min") for p in points)
    assert {p["lv"] for p in points} <= {"p", "q", "r"}
    # same seed, same points; another seed, other points
    assert design_points(spec) == points
    assert design_points(spec.model_copy(update={"seed": 4})) != points


@pytest.mark.parametrize(("samples", "count"), [(1, 1), (5, 8), (8, 8), (9, 16)])
def test_sobol_has_a_power_of_two_points(samples: int, count: int) -> None:
    spec = sweep(design="sobol", samples=samples, seed=1, factors={
        "x": {"low": -1.0, "high": 1.0}, "k": {"low": 2, "high": 9, "integer": True}})
    points = design_points(spec)
    assert len(points) == count
    assert all(-1.0 <= p["x"] <= 1.0 and type(p["k"]) is int and 2 <= p["k"] <= 9
               for p in points)
    assert design_points(spec) == points
    if count > 1:
        assert design_points(spec.model_copy(update={"seed": 2})) != points


def test_design_error_names_the_factor() -> None:
    with pytest.raises(DesignError, match=r"sweep.factors\['k'\]"):
        design_points(sweep(design="oat", factors={"k": {"low": 3, "high": 2}}))


# ------------------------------------------------------------------------ timed events

AT, DOWN_S = 1000.0, 500.0


def run_with(folder: Path, events: list[dict[str, Any]], line: str = LINE_TOML,
             seed: int = 3) -> tuple[str, RunResult]:
    write_line(folder, line)
    sc = Scenario.from_dict(scenario_dict(events=events, sweep=None), base_dir=folder)
    prep = sc.prepare(sc.points()[0], seed)
    return prep.run_id, execute(prep)


FAILURE = {"kind": "failure", "station": "m", "at": f"{AT} s", "duration": f"{DOWN_S} s"}
# the same line, but machine m also has planned maintenance (far beyond the run)
MAINTAINED = LINE_TOML.replace('to = "m2"',
                               'to = "m2"\nmaintenance = { every = "100 h", duration = "1 h" }')
LINES = [pytest.param(LINE_TOML, id="plain-machine"),
         pytest.param(MAINTAINED, id="machine-with-maintenance")]


def test_injected_failure_is_recorded_as_down_time(tmp_path: Path) -> None:
    _, r = run_with(tmp_path, [FAILURE])
    stops = r.tables["stops"]
    assert len(stops) == 1
    row = stops.iloc[0]
    assert (row["station"], row["kind"], row["mode"]) == ("m", "failure", "injected")
    assert (row["start"], row["duration"]) == (AT, DOWN_S)
    st = r.stations.set_index("station")
    assert st.at["m", "ADOT_h"] == pytest.approx(DOWN_S / 3600)
    assert st.at["m", "failures"] == 1
    assert st.at["m2", "ADOT_h"] == 0.0
    states = r.tables["states"]
    down = states[(states["station"] == "m") & (states["state"] == "down")]
    assert down[["start", "end"]].values.tolist() == [[AT, AT + DOWN_S]]


@pytest.mark.parametrize("line", LINES)
def test_injected_failure_stops_the_station(tmp_path: Path, line: str) -> None:
    """While down, the machine processes nothing; without the failure it would have."""
    _, r = run_with(tmp_path, [FAILURE], line)
    _, base = run_with(tmp_path, [], line)
    for result, expect_work in ((base, True), (r, False)):
        ev = result.tables["events"]
        inside = ev[(ev["station"] == "m") & ev["kind"].isin(["start", "end"])
                    & (ev["time"] > AT) & (ev["time"] < AT + DOWN_S)]
        assert (len(inside) > 0) == expect_work, (
            f"{len(inside)} start/end events at m while it was "
            f"{'up' if expect_work else 'down'}")


@pytest.mark.parametrize("line", LINES)
def test_outage_stops_every_station(tmp_path: Path, line: str) -> None:
    outage = {"kind": "outage", "at": f"{AT} s", "duration": "400 s"}
    _, r = run_with(tmp_path, [outage], line)
    stops = r.tables["stops"]
    assert sorted(stops["station"].astype(str)) == ["m", "m2"]
    assert set(stops["kind"]) == {"outage"} and set(stops["mode"]) == {"electricity"}
    st = r.stations.set_index("station")
    assert st.loc[["m", "m2"], "ADOT_h"].tolist() == pytest.approx([400 / 3600] * 2)
    ev = r.tables["events"]
    inside = ev[ev["station"].isin(["m", "m2"]) & ev["kind"].isin(["start", "end"])
                & (ev["time"] > AT) & (ev["time"] < AT + 400)]
    assert len(inside) == 0, f"{len(inside)} start/end events during the outage"


def test_change_of_interarrival_changes_the_arrival_rate(tmp_path: Path) -> None:
    t = 1500.0
    change = {"kind": "change", "station": "src", "what": "interarrival", "at": f"{t} s",
              "value": {"dist": "constant", "value": "30 s"}}
    _, r = run_with(tmp_path, [change])
    _, base = run_with(tmp_path, [])
    created = r.tables["events"].query("kind == 'created'")["time"].to_numpy()
    before, after = created[created < t], created[created >= t]
    base_created = base.tables["events"].query("kind == 'created'")["time"].to_numpy()
    # up to t the run is the base run; after t arrivals come every 30 s (mean was 10 s)
    np.testing.assert_array_equal(before, base_created[base_created < t])
    assert len(before) > 100
    assert 48 <= len(after) <= 51
    np.testing.assert_allclose(np.diff(after), 30.0)


def test_change_of_cycle_time(tmp_path: Path) -> None:
    t = 1500.0
    change = {"kind": "change", "station": "m", "what": "cycle_time", "at": f"{t} s",
              "value": {"dist": "constant", "value": "2 s"}}
    _, r = run_with(tmp_path, [change])
    ev = r.tables["events"]
    m = ev[ev["station"] == "m"]
    starts = m[m["kind"] == "start"].set_index("part")["time"]
    ends = m[m["kind"] == "end"].set_index("part")["time"]
    cycle = (ends - starts.reindex(ends.index)).dropna()
    later = cycle[starts.reindex(cycle.index) >= t]
    assert len(later) > 30
    np.testing.assert_allclose(later.to_numpy(), 2.0)
    assert not np.allclose(cycle[starts.reindex(cycle.index) < t - 10].to_numpy(), 2.0)


def test_events_change_the_run_id(tmp_path: Path) -> None:
    plain, _ = run_with(tmp_path, [])
    failed, _ = run_with(tmp_path, [FAILURE])
    longer, _ = run_with(tmp_path, [{**FAILURE, "duration": "600 s"}])
    assert len({plain, failed, longer}) == 3


# ------------------------------------------------------------------------ shipped scenarios

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_shipped_scenarios_validate() -> None:
    capacity = Scenario.load(SCENARIOS / "assembly_capacity.toml")
    points = capacity.points()
    assert len(points) == 8 and len({repr(sorted(p.items())) for p in points}) == 8
    assert capacity.spec.run.replications == 5
    breakdown = Scenario.load(SCENARIOS / "cnc_breakdown.py")
    assert breakdown.points() == [{}]
    assert [e.kind for e in breakdown.spec.events] == ["failure"]
    assert breakdown.line_path() == capacity.line_path()
