"""A fouled jacket (timed event ``fouling``): the heat-up of a batch takes ``1 / factor``
times as long. Reference: the closed form of a jacketed heat-up without reaction,
``t = m cp / UA ln((T0 - Tj) / (T - Tj))`` (``twin.data.process.Thermal``), is inversely
proportional to UA; every other input of the first heat-up after the fouling is the same as in
the run without it (same seed, same history up to then)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import twin
from twin.data.checks import load_line
from twin.data.scenario import Fouling, event_problems

API = Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml"


def test_fouled_jacket_slows_heat_up_by_one_over_factor_from_its_time_on() -> None:
    at = 20 * 3600.0
    fouled = [Fouling(kind="fouling", at="20 h", station="reactor", factor=0.4)]
    base = twin.run(API, duration="1.5 d", warmup="0 s", seed=2).tables["phases"]
    foul = twin.run(API, duration="1.5 d", warmup="0 s", seed=2,
                    events=fouled).tables["phases"]
    key = ["part", "phase", "start"]
    b = base[base["station"] == "reactor"].set_index(key[:2])
    f = foul[foul["station"] == "reactor"].set_index(key[:2])
    heat_b = b.xs("heat-up", level="phase")
    heat_f = f.xs("heat-up", level="phase")
    before = heat_f["start"] < at
    assert before.any() and (~before).any()
    dur_b = heat_b["end"] - heat_b["start"]
    dur_f = heat_f["end"] - heat_f["start"]
    assert dur_f[before].to_numpy() == pytest.approx(dur_b[before].to_numpy(), rel=1e-12)
    first = heat_f.index[~before][0]
    assert dur_f[first] == pytest.approx(dur_b[first] / 0.4, rel=1e-9)
    # the reaction running when the jacket fouled kept the UA it started with
    react_b = b.xs("react", level="phase")
    react_f = f.xs("react", level="phase")
    running = react_f.index[(react_f["start"] < at) & (react_f["end"] > at)]
    assert len(running) == 1
    assert react_f.loc[running, "end"].to_numpy() == pytest.approx(
        react_b.loc[running, "end"].to_numpy(), rel=1e-12)


def test_fouling_needs_a_jacket() -> None:
    line = load_line(API)
    bad = [Fouling(kind="fouling", at="1 h", station="packing", factor=0.5),
           Fouling(kind="fouling", at="1 h", station="nowhere", factor=0.5)]
    problems = event_problems(line, bad)
    assert [p.path for p in problems] == ["events[0].station", "events[1].station"]
    assert "no jacket" in problems[0].message and "nowhere" in problems[1].message


def test_a_batch_under_way_meets_the_fouled_jacket_in_its_next_phase() -> None:
    """Fouled while batch 0 is charged (16 h to 16.75 h): its heat-up, which starts after,
    takes 1 / factor as long."""
    fouled = [Fouling(kind="fouling", at="16.5 h", station="reactor", factor=0.5)]
    base = twin.run(API, duration="20 h", warmup="0 s", seed=2).tables["phases"]
    foul = twin.run(API, duration="20 h", warmup="0 s", seed=2, events=fouled).tables["phases"]

    def first(p: Any, phase: str) -> Any:
        return p[(p["station"] == "reactor") & (p["phase"] == phase)].iloc[0]

    charge = first(foul, "charge")
    assert charge["start"] < 16.5 * 3600 < charge["end"]
    b, f = first(base, "heat-up"), first(foul, "heat-up")
    assert f["start"] == b["start"]
    assert f["end"] - f["start"] == pytest.approx((b["end"] - b["start"]) / 0.5, rel=1e-9)
