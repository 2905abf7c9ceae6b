"""Line spec validation: every problem located by its exact key path with a plain reason."""

from __future__ import annotations

import copy
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from twin.data import spec as S
from twin.data.checks import (
    Problem,
    SpecError,
    line_from_dict,
    load_line,
    read_toml,
    validate,
)

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "lines" / "servo_actuator" / "line.toml"


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    with REFERENCE.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture
def line(reference: dict[str, Any]) -> dict[str, Any]:
    """A fresh, mutable copy of the reference line."""
    return copy.deepcopy(reference)


def problems_of(data: Any) -> list[Problem]:
    spec, problems = validate(data)
    assert spec is None, "expected the spec to be rejected"
    assert problems, "a rejected spec must come with problems"
    for p in problems:
        assert isinstance(p, Problem) and p.message.strip()
    return problems


def by_path(problems: list[Problem]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.path, []).append(p.message)
    return out


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def minimal() -> dict[str, Any]:
    """A small valid line: source -> m1 -> sink."""
    return {
        "line": {"name": "mini"},
        "products": {"P": {}},
        "stations": {
            "src": {"type": "source", "product": "P", "interarrival": "1 min", "to": "m1"},
            "m1": {"type": "machine", "cycle_time": "30 s", "to": "out"},
            "out": {"type": "sink"},
        },
    }


# ----------------------------------------------------------------- valid specs


def test_reference_line_is_valid(reference: dict[str, Any]) -> None:
    spec, problems = validate(reference)
    assert problems == []
    assert spec is not None
    assert spec.line.name == "servo_actuator"
    assert len(spec.stations) == 11


def test_reference_line_values_are_si(reference: dict[str, Any]) -> None:
    spec = line_from_dict(reference)
    cnc = spec.stations["cnc"]
    assert isinstance(cnc, S.Machine)
    assert cnc.cycle_time.mean() == pytest.approx(540.0)
    assert cnc.power.producing == 18_000.0
    assert cnc.maintenance is not None and cnc.maintenance.every == 168 * 3600.0
    assert spec.run.duration == 28 * 86400.0
    assert spec.stations["washing"].routes[0].to == "assembly"


def test_load_line_reads_reference() -> None:
    assert load_line(REFERENCE).line.name == "servo_actuator"


def test_minimal_line_is_valid() -> None:
    spec, problems = validate(minimal())
    assert problems == [] and spec is not None


def test_list_form_of_named_tables_is_accepted() -> None:
    data = minimal()
    data["stations"] = [{"name": k, **v} for k, v in data["stations"].items()]
    data["products"] = [{"name": "P"}]
    spec, problems = validate(data)
    assert problems == [] and spec is not None
    assert list(spec.stations) == ["src", "m1", "out"]


# ----------------------------------------------------------------- not a table at all


@pytest.mark.parametrize("data", [None, 5, "line", [1, 2], 3.5])
def test_non_table_input_is_a_problem(data: Any) -> None:
    p = only(problems_of(data))
    assert p.path == ""
    assert "table" in p.message


# ----------------------------------------------------------------- station types and routes


def test_unknown_station_type(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["type"] = "oven"
    p = only(problems_of(line))
    assert p.path == "stations.washing"
    assert "unknown station type 'oven'" in p.message
    assert "'machine'" in p.message  # lists what is allowed


def test_station_without_type(line: dict[str, Any]) -> None:
    del line["stations"]["washing"]["type"]
    p = only(problems_of(line))
    assert p.path == "stations.washing"
    assert "'type'" in p.message


def test_route_to_missing_station_suggests_close_name(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["to"] = "asembly"
    p = only(problems_of(line))
    assert p.path == "stations.washing.routes[0].to"
    assert p.message == "no station named 'asembly' (did you mean 'assembly'?)"


def test_route_to_missing_station_without_close_name(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["to"] = "dryer"
    p = only(problems_of(line))
    assert p.path == "stations.washing.routes[0].to"
    assert p.message == "no station named 'dryer'"


def test_route_list_index_in_path(line: dict[str, Any]) -> None:
    line["stations"]["packing"]["to"] = [{"to": "shipping", "probability": 0.5},
                                         {"to": "shiping", "probability": 0.5}]
    p = only(problems_of(line))
    assert p.path == "stations.packing.routes[1].to"
    assert "did you mean 'shipping'" in p.message


def test_route_into_a_source(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["to"] = "motor_supply"
    p = only(problems_of(line))
    assert p.path == "stations.washing.routes[0].to"
    assert "source" in p.message


def test_rework_to_missing_station(line: dict[str, Any]) -> None:
    line["stations"]["eol_test"]["rework_to"] = "rework"
    p = only(problems_of(line))
    assert p.path == "stations.eol_test.rework_to"
    assert "no station named 'rework'" in p.message


def test_both_to_and_routes(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["routes"] = [{"to": "assembly"}]
    p = only(problems_of(line))
    assert p.path == "stations.washing"
    assert "'to' or 'routes'" in p.message


# ----------------------------------------------------------------- duplicates


def test_duplicate_station_names_in_list_form() -> None:
    data = minimal()
    data["stations"] = [{"name": k, **v} for k, v in data["stations"].items()]
    data["stations"].append({"name": "m1", "type": "sink"})
    p = only(problems_of(data))
    assert p.path == "stations"
    assert "duplicate name 'm1'" in p.message
    assert "item 3" in p.message


def test_duplicate_product_names_in_list_form() -> None:
    data = minimal()
    data["products"] = [{"name": "P"}, {"name": "P", "description": "again"}]
    p = only(problems_of(data))
    assert p.path == "products"
    assert "duplicate name 'P'" in p.message


def test_list_item_without_name() -> None:
    data = minimal()
    data["operators"] = [{"count": 2}]
    p = only(problems_of(data))
    assert p.path == "operators"
    assert "item 0 needs a 'name'" in p.message


def test_duplicate_toml_tables_are_a_syntax_problem(tmp_path: Path) -> None:
    f = tmp_path / "line.toml"
    f.write_text('[line]\nname = "x"\n\n[stations.a]\ntype = "sink"\n\n'
                 '[stations.a]\ntype = "sink"\n')
    with pytest.raises(SpecError) as info:
        read_toml(f)
    p = only(info.value.problems)
    assert p.message.startswith("TOML syntax:")
    assert "line 7" in p.message
    assert str(f) in str(info.value)


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "line.toml"
    f.write_text('[line]\nname = "x\n')
    with pytest.raises(SpecError) as info:
        read_toml(f)
    p = only(info.value.problems)
    assert p.message.startswith("TOML syntax:")
    assert "line 2" in p.message and "column" in p.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        read_toml(tmp_path / "nope.toml")
    assert "file not found" in only(info.value.problems).message


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        read_toml(tmp_path)
    assert "folder" in only(info.value.problems).message


def test_non_utf8_file(tmp_path: Path) -> None:
    f = tmp_path / "line.toml"
    f.write_bytes(b'[line]\nname = "\xff\xfe"\n')
    with pytest.raises(SpecError) as info:
        read_toml(f)
    assert only(info.value.problems).message


# ----------------------------------------------------------------- capacities


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        (("stations", "cnc"), "servers", 0),
        (("stations", "cnc"), "servers", -1),
        (("stations", "burn_in"), "batch_size", 0),
        (("stations", "burn_in"), "min_batch", 0),
        (("operators", "technicians"), "count", 0),
        (("operators", "assemblers"), "count", -2),
        (("stations", "housing_blanks"), "lot_size", 0),
    ],
)
def test_capacity_must_be_positive(line: dict[str, Any], where: tuple[str, str], key: str,
                                   value: int) -> None:
    line[where[0]][where[1]][key] = value
    p = only(problems_of(line))
    assert p.path == f"{where[0]}.{where[1]}.{key}"
    assert p.message == "must be greater than 0"


def test_buffer_may_be_zero_but_not_negative(line: dict[str, Any]) -> None:
    """``buffer = 0`` is a direct hand-over (valid); a negative buffer is refused."""
    line["stations"]["washing"]["buffer"] = 0
    spec, problems = validate(line)
    assert spec is not None and not problems
    assert spec.stations["washing"].buffer == 0
    line["stations"]["washing"]["buffer"] = -3
    p = only(problems_of(line))
    assert p.path == "stations.washing.buffer"
    assert p.message == "must be greater than or equal to 0"


def test_capacity_must_be_whole_number(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["servers"] = 1.5
    p = only(problems_of(line))
    assert p.path == "stations.cnc.servers"
    assert "integer" in p.message


def test_min_batch_above_batch_size(line: dict[str, Any]) -> None:
    line["stations"]["burn_in"]["min_batch"] = 30
    p = only(problems_of(line))
    assert p.path == "stations.burn_in"
    assert "min_batch must not exceed batch_size" in p.message


# ----------------------------------------------------------------- probabilities


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("scrap_probability", 1.5, "must be less than or equal to 1"),
        ("scrap_probability", -0.01, "must be greater than or equal to 0"),
        ("rework_probability", 2, "must be less than or equal to 1"),
        ("rework_probability", -1, "must be greater than or equal to 0"),
    ],
)
def test_inspection_probability_outside_unit_interval(line: dict[str, Any], key: str,
                                                      value: float, reason: str) -> None:
    line["stations"]["eol_test"][key] = value
    p = only(problems_of(line))
    assert p.path == f"stations.eol_test.{key}"
    assert p.message == reason


def test_scrap_plus_rework_above_one(line: dict[str, Any]) -> None:
    line["stations"]["eol_test"]["scrap_probability"] = 0.6
    line["stations"]["eol_test"]["rework_probability"] = 0.6
    p = only(problems_of(line))
    assert p.path == "stations.eol_test"
    assert "must not exceed 1" in p.message


def test_route_probability_outside_unit_interval(line: dict[str, Any]) -> None:
    line["stations"]["packing"]["to"] = [{"to": "shipping", "probability": 1.2}]
    p = only(problems_of(line))
    assert p.path == "stations.packing.routes[0].probability"
    assert p.message == "must be less than or equal to 1"


def test_route_probabilities_not_summing_to_one(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["to"] = [{"to": "assembly", "probability": 0.5},
                                         {"to": "rework_bench", "probability": 0.3}]
    p = only(problems_of(line))
    assert p.path == "stations.washing.routes"
    assert "sum to 0.8" in p.message and "not 1" in p.message


def test_route_probability_on_some_routes_only(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["to"] = [{"to": "assembly", "probability": 1.0},
                                         {"to": "rework_bench"}]
    p = only(problems_of(line))
    assert p.path == "stations.washing.routes"
    assert "every route or none" in p.message


def test_route_probabilities_summing_to_one_are_valid(line: dict[str, Any]) -> None:
    line["stations"]["packing"]["to"] = [{"to": "shipping", "probability": 0.7},
                                         {"to": "shipping", "probability": 0.3}]
    spec, problems = validate(line)
    assert problems == [] and spec is not None


# ----------------------------------------------------------------- flow


def test_station_no_part_can_reach(line: dict[str, Any]) -> None:
    line["stations"]["orphan"] = {"type": "machine", "cycle_time": "1 min", "buffer": 2,
                                  "to": "shipping"}
    p = only(problems_of(line))
    assert p.path == "stations.orphan"
    assert p.message == "no part can reach this station"


def test_line_without_sink(line: dict[str, Any]) -> None:
    del line["stations"]["shipping"]
    line["stations"]["packing"]["to"] = "packing"
    problems = problems_of(line)
    assert Problem("stations", "no sink: the line has no exit") in problems


def test_line_without_source() -> None:
    data = minimal()
    del data["stations"]["src"]
    problems = problems_of(data)
    assert Problem("stations", "no source: nothing enters the line") in problems


def test_station_with_no_path_to_a_sink(line: dict[str, Any]) -> None:
    line["stations"]["packing"]["to"] = [{"to": "shipping", "probability": 0.5},
                                         {"to": "trap", "probability": 0.5}]
    line["stations"]["trap"] = {"type": "machine", "cycle_time": "1 min", "to": "trap2"}
    line["stations"]["trap2"] = {"type": "machine", "cycle_time": "1 min", "to": "trap"}
    problems = problems_of(line)
    assert by_path(problems) == {
        "stations.trap": ["no path from here to a sink (no exit)"],
        "stations.trap2": ["no path from here to a sink (no exit)"],
    }


def test_station_without_route_cannot_be_left(line: dict[str, Any]) -> None:
    del line["stations"]["packing"]["to"]
    problems = problems_of(line)
    assert Problem("stations.packing.routes", "no route: parts could never leave") in problems


def test_sink_with_routes(line: dict[str, Any]) -> None:
    line["stations"]["shipping"]["to"] = "packing"
    problems = problems_of(line)
    assert Problem("stations.shipping.routes", "a sink has no routes") in problems


def test_product_without_route(line: dict[str, Any]) -> None:
    line["stations"]["packing"]["to"] = [{"to": "shipping", "products": ["SA-40"]}]
    p = only(problems_of(line))
    assert p.path == "stations.packing.routes"
    assert p.message == "no route for product 'SA-60'"


def test_infinite_supply_into_unlimited_buffer(line: dict[str, Any]) -> None:
    del line["stations"]["cnc"]["buffer"]
    p = only(problems_of(line))
    assert p.path == "stations.housing_blanks.routes[0].to"
    assert "infinite supply into 'cnc'" in p.message
    assert "finite buffer" in p.message


def test_limited_supply_into_unlimited_buffer_is_fine(line: dict[str, Any]) -> None:
    del line["stations"]["cnc"]["buffer"]
    line["stations"]["housing_blanks"]["interarrival"] = {"dist": "exponential",
                                                          "mean": "10 min"}
    spec, problems = validate(line)
    assert problems == [] and spec is not None


def test_components_that_never_arrive(line: dict[str, Any]) -> None:
    line["stations"]["gear_supply"]["product"] = "motor_kit"
    p = only(problems_of(line))
    assert p.path == "stations.assembly"
    assert "'gear_kit'" in p.message and "never arrive" in p.message


# ----------------------------------------------------------------- references


def test_unknown_product_reference(line: dict[str, Any]) -> None:
    line["stations"]["motor_supply"]["product"] = "motor_kitt"
    p = only(problems_of(line))
    assert p.path == "stations.motor_supply.product"
    assert p.message == "no product named 'motor_kitt'"


def test_unknown_product_in_mix(line: dict[str, Any]) -> None:
    line["stations"]["housing_blanks"]["mix"] = {"SA-40": 0.7, "SA-80": 0.3}
    p = only(problems_of(line))
    assert p.path == "stations.housing_blanks.mix.SA-80"
    assert "no product named 'SA-80'" in p.message


def test_unknown_product_in_product_cycle_time(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["product_cycle_time"]["SA-90"] = "10 min"
    p = only(problems_of(line))
    assert p.path == "stations.cnc.product_cycle_time.SA-90"


def test_unknown_product_in_assembly(line: dict[str, Any]) -> None:
    line["stations"]["assembly"]["components"] = {"motor_kit": 1, "gear_kit": 1, "screws": 4}
    p = only(problems_of(line))
    assert p.path == "stations.assembly.components.screws"
    assert "no product named 'screws'" in p.message


def test_unknown_product_in_route_filter(line: dict[str, Any]) -> None:
    line["stations"]["packing"]["to"] = [{"to": "shipping", "products": ["SA-40", "SA-6O"]}]
    problems = problems_of(line)
    assert Problem("stations.packing.routes[0].products", "no product named 'SA-6O'") in problems


def test_unknown_operator_pool(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["operator"] = {"pool": "techs", "during": "setup"}
    p = only(problems_of(line))
    assert p.path == "stations.cnc.operator.pool"
    assert p.message == "no operator pool named 'techs'"


def test_product_table_must_not_be_empty(line: dict[str, Any]) -> None:
    line["products"] = {}
    problems = problems_of(line)
    assert problems[0].path == "products"


# ----------------------------------------------------------------- distributions and units


def test_distribution_with_impossible_parameters(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["setup_time"] = {"dist": "triangular", "low": "30 min",
                                             "mode": "20 min", "high": "35 min"}
    p = only(problems_of(line))
    assert p.path == "stations.cnc.setup_time"
    assert "low <= mode <= high" in p.message


def test_distribution_negative_parameter_path(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["failures"][0]["ttf"]["shape"] = -1.4
    p = only(problems_of(line))
    assert p.path == "stations.cnc.failures[0].ttf.shape"
    assert p.message == "must be greater than 0"


def test_lognormal_std_zero_path(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["cycle_time"]["std"] = "0 min"
    p = only(problems_of(line))
    assert p.path == "stations.cnc.cycle_time.std"
    assert p.message == "must be greater than 0"


def test_unknown_distribution(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["cycle_time"] = {"dist": "pareto", "mean": "9 min"}
    p = only(problems_of(line))
    assert p.path == "stations.cnc.cycle_time"
    assert "unknown distribution 'pareto'" in p.message


def test_distribution_table_wrong_unit(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["cycle_time"]["mean"] = "9 kg"
    p = only(problems_of(line))
    assert p.path == "stations.cnc.cycle_time.mean"
    assert "expected a time" in p.message and "'9 kg'" in p.message


def test_wrong_unit_for_a_shorthand_cycle_time(line: dict[str, Any]) -> None:
    """``cycle_time = "5 kg"``: the problem is at the key the user wrote."""
    line["stations"]["washing"]["cycle_time"] = "5 kg"
    p = only(problems_of(line))
    assert "expected a time" in p.message and "'5 kg'" in p.message
    assert p.path == "stations.washing.cycle_time"


def test_bare_number_cycle_time_needs_unit(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["cycle_time"] = 240
    p = only(problems_of(line))
    assert "with a unit" in p.message
    assert p.path == "stations.washing.cycle_time"


def test_wrong_unit_for_power(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["power"]["producing"] = "12 kWh"
    p = only(problems_of(line))
    assert p.path == "stations.washing.power.producing"
    assert "expected a power" in p.message


def test_warmup_not_shorter_than_duration(line: dict[str, Any]) -> None:
    line["run"]["warmup"] = "40 d"
    p = only(problems_of(line))
    assert p.path == "run"
    assert "warmup must be shorter than duration" in p.message


def test_overflowing_quantity_is_a_problem_not_a_crash(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["cycle_time"] = "10**1000 s"
    problems = problems_of(line)
    assert problems[0].path.startswith("stations.washing.cycle_time")


def test_nan_mix_weight_rejected(line: dict[str, Any]) -> None:
    """TOML allows ``nan``; a NaN weight must not pass validation."""
    line["stations"]["housing_blanks"]["mix"] = {"SA-40": math.nan, "SA-60": 0.3}
    problems = problems_of(line)
    assert problems[0].path.startswith("stations.housing_blanks")


# ----------------------------------------------------------------- keys


def test_unknown_key_with_suggestion(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["bufer"] = 6
    p = only(problems_of(line))
    assert p.path == "stations.washing.bufer"
    assert p.message == "unknown key 'bufer' (did you mean 'buffer'?)"


def test_unknown_key_in_distribution(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["cycle_time"]["sdt"] = "1 min"
    problems = by_path(problems_of(line))
    assert "stations.cnc.cycle_time.sdt" in problems
    assert "did you mean 'std'?" in problems["stations.cnc.cycle_time.sdt"][0]


def test_unknown_top_level_key(line: dict[str, Any]) -> None:
    line["statoins"] = {}
    p = only(problems_of(line))
    assert p.path == "statoins"
    assert "unknown key 'statoins'" in p.message and "'stations'" in p.message


def test_a_key_of_another_kind_of_station_says_so(line: dict[str, Any]) -> None:
    """Not "unknown key 'servers' (did you mean 'servers'?)": the key exists, elsewhere."""
    source = next(n for n, st in line["stations"].items() if st["type"] == "source")
    line["stations"][source]["servers"] = 2
    p = only(problems_of(line))
    assert p.path == f"stations.{source}.servers"
    assert p.message == "'servers' does not apply to a station of type 'source'"


def test_a_station_named_like_a_type_is_reported_with_its_own_type(
        line: dict[str, Any]) -> None:
    line["stations"]["inspection"] = line["stations"].pop("washing")  # a machine
    for st in line["stations"].values():
        st["to"] = "inspection" if st.get("to") == "washing" else st.get("to")
        if st["to"] is None:
            st.pop("to")
    line["stations"]["inspection"]["scrap_probability"] = 0.1
    p = only(problems_of(line))
    assert p.path == "stations.inspection.scrap_probability"
    assert p.message == "'scrap_probability' does not apply to a station of type 'machine'"


def test_unknown_key_without_close_word(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["zzqqxx"] = 1
    p = only(problems_of(line))
    assert p.message == "unknown key 'zzqqxx'"


@pytest.mark.parametrize(
    ("path", "expected_path"),
    [
        (("stations", "washing", "cycle_time"), "stations.washing.cycle_time"),
        (("line", "name"), "line.name"),
        (("line",), "line"),
        (("stations",), "stations"),
        (("operators", "technicians", "count"), "operators.technicians.count"),
        (("stations", "burn_in", "batch_size"), "stations.burn_in.batch_size"),
        (("stations", "assembly", "components"), "stations.assembly.components"),
    ],
)
def test_missing_required_key(line: dict[str, Any], path: tuple[str, ...],
                              expected_path: str) -> None:
    cur = line
    for k in path[:-1]:
        cur = cur[k]
    del cur[path[-1]]
    problems = problems_of(line)
    assert Problem(expected_path, "required key is missing") in problems


def test_source_needs_product_or_mix(line: dict[str, Any]) -> None:
    del line["stations"]["motor_supply"]["product"]
    p = only(problems_of(line))
    assert p.path == "stations.motor_supply"
    assert "'product' or 'mix'" in p.message


def test_invalid_station_name(line: dict[str, Any]) -> None:
    line["stations"]["1st-wash"] = line["stations"].pop("shipping")
    line["stations"]["packing"]["to"] = "1st-wash"
    problems = problems_of(line)
    named = [p for p in problems if "'1st-wash' is not a valid name" in p.message]
    assert named
    assert {p.path for p in named} == {"stations.1st-wash", "stations.packing.routes[0].to"}


def test_wrong_type_message_is_plain(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["buffer"] = "six"
    p = only(problems_of(line))
    assert p.path == "stations.washing.buffer"
    assert "integer" in p.message
    assert "Input should be" not in p.message


def test_problem_str_joins_path_and_message() -> None:
    assert str(Problem("stations.a.buffer", "must be greater than 0")) == (
        "stations.a.buffer: must be greater than 0")
    assert str(Problem("", "file not found: x")) == "file not found: x"


# ----------------------------------------------------------------- all problems together


def test_line_from_dict_raises_spec_error_with_all_problems(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["buffer"] = -1
    line["stations"]["cnc"]["bufer"] = 4
    line["stations"]["eol_test"]["scrap_probability"] = 3
    line["operators"]["technicians"]["count"] = 0
    with pytest.raises(SpecError) as info:
        line_from_dict(line, source="my_line.toml")
    err = info.value
    paths = {p.path for p in err.problems}
    assert paths == {"stations.washing.buffer", "stations.cnc.bufer",
                     "stations.eol_test.scrap_probability", "operators.technicians.count"}
    text = str(err)
    assert text.startswith("4 problem(s) in my_line.toml:")
    for p in err.problems:
        assert f"  {p.path}: {p.message}" in text


def test_line_from_dict_lists_all_topology_problems(line: dict[str, Any]) -> None:
    line["stations"]["washing"]["to"] = "asembly"
    line["stations"]["cnc"]["operator"]["pool"] = "techs"
    with pytest.raises(SpecError) as info:
        line_from_dict(line)
    assert {p.path for p in info.value.problems} == {"stations.washing.routes[0].to",
                                                     "stations.cnc.operator.pool"}


def test_spec_error_is_a_value_error() -> None:
    assert issubclass(SpecError, ValueError)


# ----------------------------------------------------------------- JSON Schema


def _walk_refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            out.add(ref)
        for v in node.values():
            _walk_refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _walk_refs(v, out)


def test_json_schema_structure() -> None:
    schema = S.json_schema()
    json.dumps(schema, allow_nan=False)  # serialisable, no NaN
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["title"] == "Pilot Twin line specification"
    assert set(schema["required"]) >= {"line", "products", "stations"}
    assert {"line", "run", "energy", "calendar", "products", "operators",
            "stations"} <= set(schema["properties"])
    assert schema.get("additionalProperties") is False
    defs = schema["$defs"]
    refs: set[str] = set()
    _walk_refs(schema, refs)
    assert refs
    for ref in refs:
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in defs, f"dangling {ref}"
    for name in ("Machine", "Source", "Sink", "Inspection", "Batch", "Assembly"):
        assert name in defs


def test_json_schema_describes_units_and_discriminators() -> None:
    text = json.dumps(S.json_schema())
    assert "a time with its unit" in text
    assert "a power with its unit" in text
    machine = S.json_schema()["$defs"]["Machine"]
    assert machine["additionalProperties"] is False
    assert "cycle_time" in machine["required"]
    assert machine["properties"]["type"]["const"] == "machine"


_TYPES = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def schema_errors(value: Any, schema: dict[str, Any], root: dict[str, Any],
                  where: str = "$") -> list[str]:
    """Errors of ``value`` against a JSON Schema (the 2020-12 keywords pydantic emits:
    $ref, anyOf/oneOf/allOf, const, enum, type, properties, patternProperties,
    additionalProperties, required, items, min/max bounds and lengths, pattern).
    ``jsonschema`` is not a dependency of the project, so this is a small stand-in."""
    errs: list[str] = []
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        errs += schema_errors(value, root["$defs"][name], root, where)
    if "anyOf" in schema and not any(
            not schema_errors(value, s, root, where) for s in schema["anyOf"]):
        errs.append(f"{where}: matches none of anyOf")
    if "oneOf" in schema:
        n = sum(not schema_errors(value, s, root, where) for s in schema["oneOf"])
        if n != 1:
            errs.append(f"{where}: matches {n} of oneOf (need exactly 1)")
    for s in schema.get("allOf", []):
        errs += schema_errors(value, s, root, where)
    if "const" in schema and value != schema["const"]:
        errs.append(f"{where}: {value!r} != const {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errs.append(f"{where}: {value!r} not in enum")
    t = schema.get("type")
    if t is not None and not _TYPES[t](value):
        return errs + [f"{where}: {value!r} is not of type {t}"]
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            errs.append(f"{where}: below minimum")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errs.append(f"{where}: not above exclusiveMinimum")
        if "maximum" in schema and value > schema["maximum"]:
            errs.append(f"{where}: above maximum")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errs.append(f"{where}: does not match pattern")
        if len(value) < schema.get("minLength", 0):
            errs.append(f"{where}: too short")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errs.append(f"{where}: too few items")
        if isinstance(schema.get("items"), dict):
            for i, v in enumerate(value):
                errs += schema_errors(v, schema["items"], root, f"{where}[{i}]")
    if isinstance(value, dict):
        if len(value) < schema.get("minProperties", 0):
            errs.append(f"{where}: too few properties")
        errs += [f"{where}: missing {r!r}" for r in schema.get("required", [])
                 if r not in value]
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            matched = False
            if k in props:
                matched = True
                errs += schema_errors(v, props[k], root, f"{where}.{k}")
            for pat, sub in patterns.items():
                if re.search(pat, k):
                    matched = True
                    errs += schema_errors(v, sub, root, f"{where}.{k}")
            if not matched:
                if extra is False:
                    errs.append(f"{where}: additional property {k!r} not allowed")
                elif isinstance(extra, dict):
                    errs += schema_errors(v, extra, root, f"{where}.{k}")
    return errs


def expanded_minimal() -> dict[str, Any]:
    """The minimal line written without any shorthand."""
    data = minimal()
    for st in data["stations"].values():
        if "to" in st:
            st["routes"] = [{"to": st.pop("to")}]
        for key in ("cycle_time", "interarrival"):
            if key in st:
                st[key] = {"dist": "constant", "value": st[key]}
    return data


def test_minimal_line_fits_json_schema() -> None:
    """A line written without any shorthand fits the exported schema."""
    data = expanded_minimal()
    assert validate(data)[1] == []
    schema = S.json_schema()
    assert schema_errors(data, schema, schema) == []


def test_reference_line_fits_json_schema(reference: dict[str, Any]) -> None:
    """The reference line is a valid line file, so the schema editors use must accept it
    (including the documented shorthands ``to = "next"`` and ``cycle_time = "4 min"``)."""
    schema = S.json_schema()
    errors = schema_errors(reference, schema, schema)
    assert errors == [], "\n".join(errors[:15])


def test_schema_check_is_able_to_reject() -> None:
    schema = S.json_schema()
    data = expanded_minimal()
    data["line"]["nmae"] = "x"
    assert any("'nmae'" in e for e in schema_errors(data, schema, schema))
    data = expanded_minimal()
    del data["line"]
    assert any("'line'" in e for e in schema_errors(data, schema, schema))
    data = expanded_minimal()
    data["stations"]["m1"]["servers"] = 0
    assert schema_errors(data, schema, schema)
    data = expanded_minimal()
    data["stations"]["m1"]["bufer"] = 4
    assert schema_errors(data, schema, schema)


def test_gamma_with_mean_instead_of_scale_points_at_the_key(line: dict[str, Any]) -> None:
    """A gamma is written with shape and scale; a ``mean`` key is named as not one of its
    parameters, and the missing scale is reported at its key."""
    line["stations"]["cnc"]["cycle_time"] = {"dist": "gamma", "shape": 2, "mean": "9 min"}
    messages = {p.path: p.message for p in problems_of(line)}
    assert messages["stations.cnc.cycle_time.mean"] == (
        "'mean' is not a parameter of a gamma distribution (its parameters: scale, shape)")
    assert messages["stations.cnc.cycle_time.scale"] == "required key is missing"


def test_erlang_phase_count_must_be_whole(line: dict[str, Any]) -> None:
    line["stations"]["cnc"]["cycle_time"] = {"dist": "erlang", "k": 2.5, "mean": "9 min"}
    p = only(problems_of(line))
    assert p.path == "stations.cnc.cycle_time.k"
