"""How columns are encoded for the page: every packed column decodes back to its values."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import numpy as np
import pytest

from twin.edges.dashboard.wire import dumps, frame, pack

DTYPES = {"f64": "<f8", "i32": "<i4", "u16": "<u2", "u8": "u1"}


def decode(raw: Any) -> tuple[str, list[Any]]:
    """(array type, values) of a column as it reaches the page, read as a browser reads it."""
    if isinstance(raw, dict):
        ((kind, text),) = raw.items()
        return kind, np.frombuffer(base64.b64decode(text), DTYPES[kind]).tolist()
    return "json", raw


def through_the_wire(cols: dict[str, list[Any]], kinds: dict[str, str]) -> dict[str, Any]:
    text = dumps({"records": pack({"t": cols}, {"t": kinds})})
    return json.loads(text)["records"]["t"]


@pytest.mark.parametrize(("values", "kind", "expected"), [
    ([0.0, 1.5, 1e12, -3.25], "f64", "f64"),
    ([1, 2, 3], "f64", "f64"),                       # integers in a float column
    ([0, 7, 255], "code", "u8"),
    ([0, 256, 65535], "code", "u16"),                # registry past 255 entries
    ([0, 70000], "code", "i32"),
    ([-1, 3], "code", "i32"),                         # an unknown code (-1) still travels
    ([0, 2**31 - 1], "int", "i32"),
    ([0, 2**40], "int", "f64"),                       # past i32: exact as a double
])
def test_declared_columns_round_trip_exactly(values: list[Any], kind: str, expected: str) -> None:
    got_kind, got = decode(through_the_wire({"c": values}, {"c": kind})["c"])
    assert got_kind == expected
    assert got == [float(v) if expected == "f64" else v for v in values]


def test_columns_that_do_not_fit_their_kind_fall_back_without_loss() -> None:
    cols = {"a": [1.0, None, 3.0], "b": ["x", "y"], "c": [0.5, 2.0]}
    out = through_the_wire(cols, {"a": "f64", "b": "code", "c": "code"})
    assert decode(out["a"]) == ("json", [1.0, None, 3.0])  # None stays null
    assert decode(out["b"]) == ("json", ["x", "y"])
    assert decode(out["c"]) == ("f64", [0.5, 2.0])           # floats are not codes


def test_undeclared_columns_are_inferred() -> None:
    out = through_the_wire({"i": [1, -5, 9], "f": [0.25, 2.0], "s": ["a"], "e": []}, {})
    assert decode(out["i"]) == ("i32", [1, -5, 9])
    assert decode(out["f"]) == ("f64", [0.25, 2.0])
    assert decode(out["s"]) == ("json", ["a"]) and out["e"] == []


def test_non_finite_values_become_null_outside_packed_columns() -> None:
    text = dumps({"kpis": {"oee": math.nan, "wip": [1.0, math.inf], "n": np.int64(3)},
                  "records": pack({"t": {"x": [math.nan, 1.0]}}, {"t": {"x": "f64"}})})
    data = json.loads(text)  # strict JSON: no NaN tokens
    assert data["kpis"] == {"oee": None, "wip": [1.0, None], "n": 3}
    kind, values = decode(data["records"]["t"]["x"])
    assert kind == "f64" and math.isnan(values[0]) and values[1] == 1.0  # NaN is a double


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown column kind 'f16'"):
        pack({"t": {"x": [1.0]}}, {"t": {"x": "f16"}})


def read_frame(data: bytes) -> dict[str, Any]:
    """A binary frame read as the page reads it (typed-array views need aligned offsets)."""
    (n,) = struct.unpack_from("<I", data)
    head = json.loads(data[4:4 + n])
    base = -(-(4 + n) // 8) * 8
    assert data[4 + n:base] == bytes(base - 4 - n)  # zero padding
    for cols in head["records"].values():
        for name, c in cols.items():
            if isinstance(c, dict):
                assert (base + c["offset"]) % 8 == 0, (name, c)
                raw = data[base + c["offset"]:base + c["offset"] + c["bytes"]]
                cols[name] = np.frombuffer(raw, DTYPES[c["type"]]).tolist()
    return head


def test_a_frame_carries_its_header_and_every_column_aligned() -> None:
    records = {
        "events": {"time": [0.5, 1.25, 3.0], "part": [7, 8, 9], "product": [0, 1, 0],
                   "station": [2, 300, 4], "kind": [1, 2, 3]},
        "stops": {"start": [10.0], "unit": [1], "kind": ["failure"], "mode": ["wear"],
                  "duration": [math.nan]},
    }
    data = frame({"now": 3.0, "status": "running", "kpis": {"oee": math.inf}}, records)
    head = read_frame(data)
    assert head["now"] == 3.0 and head["status"] == "running" and head["kpis"] == {"oee": None}
    ev = head["records"]["events"]
    assert ev == {k: [float(x) for x in v] if k == "time" else v
                  for k, v in records["events"].items()}
    stops = head["records"]["stops"]
    assert stops["kind"] == ["failure"] and stops["unit"] == [1] and math.isnan(
        stops["duration"][0])
    # the station column holds a code past 255: it travels as u16, the others as one byte
    (n,) = struct.unpack_from("<I", data)
    described = json.loads(data[4:4 + n])["records"]["events"]
    assert described["station"]["type"] == "u16" and described["kind"]["type"] == "u8"
    assert len(data) % 8 == 0


def test_an_empty_frame_is_just_a_header() -> None:
    head = read_frame(frame({"end": True}, {}))
    assert head == {"end": True, "records": {}}


def test_code_columns_given_as_arrays_travel_by_value() -> None:
    from array import array

    for col in (np.array([1, 2, 3]), array("H", [1, 2, 3])):
        assert decode(through_the_wire({"c": col}, {"c": "code"})["c"]) == ("u8", [1, 2, 3])


def test_integers_a_double_would_round_stay_exact() -> None:
    big = [0, 2**53 + 1]
    out = through_the_wire({"declared": big, "inferred": big}, {"declared": "int"})
    assert decode(out["declared"]) == ("json", big)
    assert decode(out["inferred"]) == ("json", big)
    assert decode(through_the_wire({"c": [0, 2**40]}, {})["c"]) == ("f64", [0.0, 2.0**40])
