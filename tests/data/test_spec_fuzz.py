"""Property-based fuzzing of line spec validation.

Whatever the input, ``validate`` must not raise: it returns either a spec (and no problems)
or no spec and a non-empty list of located problems with non-empty messages.
"""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from twin.data import spec as S
from twin.data.checks import Problem, SpecError, line_from_dict, validate
from twin.data.registry import station_types

ROOT = Path(__file__).resolve().parents[2]
with (ROOT / "lines" / "servo_actuator" / "line.toml").open("rb") as _fh:
    REFERENCE: dict[str, Any] = tomllib.load(_fh)

FUZZ = settings(deadline=None, max_examples=250, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Words the schema knows, so that mutations often hit real keys and names.
KEYS = sorted({"line", "run", "energy", "calendar", "products", "operators", "stations", "type",
               "to", "routes", "probability", "delay", "cycle_time", "setup_time",
               "buffer", "servers", "batch_size", "min_batch", "max_wait", "rework_to",
               "scrap_probability", "rework_probability", "max_reworks", "mix", "product",
               "interarrival", "schedule", "limit", "lot_size", "base", "components",
               "output_product", "failures", "ttf", "ttr", "basis", "maintenance", "every",
               "duration", "first", "operator", "pool", "during", "power", "producing", "idle",
               "dist", "mean", "std", "min", "max", "low", "mode", "high", "shape", "scale",
               "location", "values", "unit", "value", "count", "name", "shifts", "days",
               "start", "end", "grid", "year", "source", "kgce_per_kwh", "seed", "warmup",
               "follows_calendar", "product_cycle_time", "description", "at", "quantity"})
NAMES = sorted(REFERENCE["stations"]) + sorted(REFERENCE["products"]) + sorted(
    REFERENCE["operators"]) + ["source", "machine", "inspection", "batch", "assembly", "sink",
                               "exponential", "normal", "lognormal", "weibull", "triangular",
                               "uniform", "empirical", "constant", "gamma", "oven"]
QUANTITIES = ["90 s", "2.5 h", "0 s", "-5 min", "5 kg", "15 kW", "85 degC", "1e308 d",
              "1e400 s", "nan s", "inf h", "90", "", " ", "s", "min", "1 s / 0", "3 m/s",
              "2 * 3 h", "0.0001 ms", "06:00", "24:00", "25:61", "1/0", "()", "[1]"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10, max_value=10),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 1e308, -1e308, 1e-308, 2**63, 10**30, 0.5, 1.0000001]),
    st.sampled_from(QUANTITIES),
    st.sampled_from(NAMES),
    st.text(max_size=12),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner,
                        max_size=4),
    ),
    max_leaves=12,
)


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every dict and list in ``node`` (including the root)."""
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, dict | list):
                out += _containers(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, dict | list):
                out += _containers(v, (*path, i))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        node = node[k]
    return node


@st.composite
def mutated_reference(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(REFERENCE)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _containers(data)
        target = _get(data, draw(st.sampled_from(paths)))
        keys = list(target.keys()) if isinstance(target, dict) else list(range(len(target)))
        op = draw(st.sampled_from(["delete", "replace", "replace", "negate", "rename",
                                   "add", "route", "huge", "swap_type"]))
        if not keys and op != "add":
            continue
        key = draw(st.sampled_from(keys)) if keys else None
        if op == "delete":
            del target[key]
        elif op == "replace":
            target[key] = draw(junk)
        elif op == "negate":
            v = target[key]
            if isinstance(v, int | float) and not isinstance(v, bool):
                target[key] = -v if v else -1
            elif isinstance(v, str):
                target[key] = "-" + v
            else:
                target[key] = -1
        elif op == "huge":
            target[key] = draw(st.sampled_from([10**40, 1e300, "1e300 s", "1e300 h", 2**63,
                                                math.inf, math.nan]))
        elif op == "rename" and isinstance(target, dict):
            new = draw(st.one_of(st.sampled_from(NAMES + KEYS), st.text(max_size=10)))
            target[new] = target.pop(key)
        elif op == "add":
            k = draw(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)))
            if isinstance(target, dict):
                target[k] = draw(junk)
            else:
                target.append(draw(junk))
        elif op == "route":
            stations = data.get("stations")
            station = None
            if isinstance(stations, dict) and stations:
                station = stations[draw(st.sampled_from(sorted(stations, key=repr)))]
            if isinstance(station, dict):
                station["to"] = draw(st.one_of(
                    st.sampled_from(NAMES), st.text(max_size=8),
                    st.lists(st.fixed_dictionaries(
                        {"to": st.sampled_from(NAMES)},
                        optional={"probability": st.floats(-1, 2),
                                  "products": st.lists(st.sampled_from(NAMES), max_size=3)}),
                        max_size=3)))
                station.pop("routes", None)
        elif op == "swap_type" and isinstance(data.get("stations"), dict):
            name = draw(st.sampled_from(sorted(data["stations"], key=repr) or ["x"]))
            if isinstance(data["stations"].get(name), dict):
                data["stations"][name]["type"] = draw(st.sampled_from(list(station_types())))
    return data


def check_outcome(data: Any) -> None:
    spec, problems = validate(data)
    assert isinstance(problems, list)
    if spec is not None:
        assert isinstance(spec, S.LineSpec)
        assert problems == []
        line_from_dict(data)  # and the raising entry point agrees
        return
    assert problems, "rejected without a problem"
    for p in problems:
        assert isinstance(p, Problem)
        assert isinstance(p.path, str)
        assert isinstance(p.message, str) and p.message.strip()
        assert "Traceback" not in p.message
    err = SpecError(problems)
    assert str(err).startswith(f"{len(problems)} problem(s)")


def test_reference_is_valid() -> None:
    assert validate(copy.deepcopy(REFERENCE))[1] == []


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(REFERENCE)
    _get(data, path[:-1])[path[-1]] = value
    return data


@FUZZ
@given(mutated_reference())
@example(_with(("stations", "washing", "cycle_time"), "10**400 s"))  # int too large for float
@example(_with(("stations", "cnc", "servers"), 10**40))
@example(_with(("run", "seed"), 2**70))
@example(_with(("stations", "housing_blanks", "mix"), {"SA-40": math.nan, "SA-60": math.inf}))
def test_mutated_reference_never_raises(data: dict[str, Any]) -> None:
    check_outcome(data)


@FUZZ
@given(junk)
def test_random_json_like_data_never_raises(data: Any) -> None:
    check_outcome(data)


station_tables = st.dictionaries(st.sampled_from(KEYS), junk, max_size=6)


@st.composite
def random_lines(draw: st.DrawFn) -> dict[str, Any]:
    """Spec-shaped data: the right top-level tables, random stations and products."""
    names = draw(st.lists(st.sampled_from(NAMES[:15]), min_size=1, max_size=6, unique=True))
    stations = {}
    for n in names:
        table = draw(station_tables)
        table.setdefault("type", draw(st.sampled_from([*station_types(), "oven"])))
        if draw(st.booleans()):
            table["to"] = draw(st.sampled_from(names))
        stations[n] = table
    data: dict[str, Any] = {
        "line": draw(st.one_of(st.just({"name": "fuzz"}), junk)),
        "products": draw(st.one_of(
            st.just({"SA-40": {}, "motor_kit": {}}),
            st.lists(st.fixed_dictionaries({"name": st.sampled_from(NAMES)}), max_size=3),
            junk)),
        "stations": stations if draw(st.booleans()) else [
            {"name": k, **v} for k, v in stations.items()],
    }
    if draw(st.booleans()):
        data["operators"] = draw(st.one_of(st.just({"technicians": {"count": 1}}), junk))
    if draw(st.booleans()):
        data["run"] = draw(st.one_of(
            st.fixed_dictionaries({}, optional={"duration": st.sampled_from(QUANTITIES),
                                                "warmup": st.sampled_from(QUANTITIES),
                                                "seed": scalars}), junk))
    return data


@FUZZ
@given(random_lines())
def test_random_spec_shaped_data_never_raises(data: dict[str, Any]) -> None:
    check_outcome(data)
