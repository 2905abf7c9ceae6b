"""A validated spec dumps to data that validates to the same spec (specs are data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.data.checks import line_from_dict, load_line

LINES = sorted((Path(__file__).resolve().parents[2] / "lines").glob("*/line.toml"))


@pytest.mark.parametrize("path", LINES, ids=lambda p: p.parent.name)
def test_dump_and_reload_is_identity(path: Path) -> None:
    line = load_line(path)
    assert line_from_dict(line.model_dump(by_alias=True)) == line
    via_json = json.loads(json.dumps(line.model_dump(mode="json", by_alias=True)))
    assert line_from_dict(via_json) == line


def test_dumped_quantities_carry_si_units() -> None:
    line = load_line(next(p for p in LINES if p.parent.name == "servo_actuator"))
    data = line.model_dump(mode="json", by_alias=True)
    cnc = data["stations"]["cnc"]
    assert cnc["cycle_time"]["mean"] == "540.0 s"  # "9 min"
    assert cnc["power"]["producing"] == "18000.0 W"  # "18 kW"
    assert data["calendar"]["shifts"][0]["start"] == "06:00"
