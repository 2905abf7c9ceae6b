"""Degenerate results are flagged: off-spec batches scrapped with their reason, phases
stretched by a starved utility, batch stations that never fill, nothing good made."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

import twin
from twin.simulation.process_unit import STARVED_STRETCH

CASES = Path(__file__).parent / "reliability_cases"
with (CASES / "rx_base.toml").open("rb") as _fh:
    RX: dict[str, Any] = tomllib.load(_fh)


def rx(**react: Any) -> dict[str, Any]:
    data = copy.deepcopy(RX)
    data["stations"]["r"]["recipe"][1].update(react)
    return data


def test_a_batch_at_its_time_limit_is_scrapped_with_its_reason() -> None:
    """One minute is far too short for this reaction (it needs about five): every batch ends
    at the time limit below its 99 % target, is scrapped at the reactor (not counted good),
    and its material (the 100 kg charged) leaves as waste; one warning lists every batch."""
    result = twin.run(rx(max_time="1 min"), duration="3 d")
    parts, phases = result.tables["parts"], result.tables["phases"]
    react = phases[phases["kind"] == "react"]
    assert len(react) >= 5 and (react["ended_by"] == "end_time").all()
    assert (react["conversion"] < 0.99).all()
    assert (parts["fate"].astype(str) == "scrap").all() and len(parts) == len(react)
    assert result.kpis["good_units"] == 0 and result.kpis["scrap_units"] == len(parts)
    flows = result.tables["flows"]
    waste = flows[(flows["kind"] == "waste") & (flows["station"].astype(str) == "r")]
    assert waste["kg"].sum() == pytest.approx(100.0 * len(parts), rel=1e-9)
    (w,) = [w for w in result.warnings if w["code"] == "off_spec_batch"]
    assert w["stations"] == ["r"] and sorted(w["units"]) == sorted(parts["part"].tolist())
    first = react.sort_values("end").iloc[0]
    assert f"conversion {100 * first['conversion']:.3g} %" in w["message"]
    assert "(target 99 %)" in w["message"] and f"{len(parts)} batch(es)" in w["message"]


def test_a_batch_reaching_its_target_goes_on() -> None:
    result = twin.run(RX, duration="3 d")
    react = result.tables["phases"].query("kind == 'react'")
    assert (react["ended_by"] == "target_conversion").all()
    assert result.kpis["good_units"] == len(react) > 0
    assert result.warnings == []


@pytest.mark.parametrize(("capacity_w", "warned"), [(1e3, True), (5e3, False), (1e5, False)])
def test_a_starved_utility_stretches_the_phase_and_is_flagged(capacity_w: float,
                                                              warned: bool) -> None:
    """The reaction's cooling duty drawn from a utility of ``capacity_w``: where the average
    need exceeds it the phase lasts heat / capacity (closed form); stretched more than
    ``STARVED_STRETCH`` times it is warned about, naming station and utility."""
    data = rx(utility="cw")
    data["utilities"] = {"cw": {"carrier": "cooling_water", "capacity": f"{capacity_w} W"}}
    result = twin.run(data, duration="3 d")
    react = result.tables["phases"].query("kind == 'react'")
    free = twin.run(RX, duration="3 d").tables["phases"].query("kind == 'react'")
    planned = float((free["end"] - free["start"]).iloc[0])
    heat = float(react["heat_J"].iloc[0])
    took = float((react["end"] - react["start"]).iloc[0])
    assert took == pytest.approx(max(planned, heat / capacity_w), rel=1e-9)
    found = [w for w in result.warnings if w["code"] == "utility_starved"]
    assert bool(found) == warned == (took > STARVED_STRETCH * planned)
    if warned:
        assert found[0]["stations"] == ["r"] and "'cw'" in found[0]["message"]
        assert f"capacity is {capacity_w:.3g} W" in found[0]["message"]
