"""Determinism and the per-station random stream guarantee.

References: (1) reproducibility: a run is a function of (spec, seed) only, so two runs give
identical tables; (2) the seed matters: another seed gives another sample path; (3) the
stream guarantee documented in ``twin.simulation.streams``: a station's draws depend only on
the run seed and its own name, so adding an unrelated branch leaves every existing station's
sample path unchanged (common random numbers).
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from lines_for_tests import expo
from pandas.testing import assert_frame_equal
from test_conservation import random_line

from twin.orchestration.run import RunResult, run

REFERENCE_LINE = Path("lines/servo_actuator/line.toml")
TABLES = ("events", "states", "parts", "stops", "stations", "energy")


def reference_spec() -> dict[str, Any]:
    with REFERENCE_LINE.open("rb") as f:
        return tomllib.load(f)


def unrelated_branch() -> dict[str, Any]:
    """A separate source -> machine -> sink branch sharing nothing with the line."""
    return {
        "zz_src": {"type": "source", "product": "ZZ", "interarrival": expo(50.0),
                   "to": "zz_m"},
        "zz_m": {"type": "machine", "servers": 2, "buffer": 3, "cycle_time": expo(70.0),
                 "failures": [{"ttf": expo(3000.0), "ttr": expo(300.0)}], "to": "zz_out"},
        "zz_out": {"type": "sink"},
    }


def with_branch(spec: dict[str, Any], first: bool) -> dict[str, Any]:
    """``spec`` plus the unrelated branch, listed before (codes shift) or after the line."""
    out = copy.deepcopy(spec)
    out["products"] = {**out["products"], "ZZ": {}}
    branch = unrelated_branch()
    out["stations"] = {**branch, **out["stations"]} if first else {**out["stations"], **branch}
    return out


def station_path(r: RunResult, station: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample path of one station: its part events (time, kind; part ids are global
    counters, so they are left out) and its state intervals."""
    ev = r.tables["events"]
    ev = ev[ev["station"].astype(str) == station]
    events = pd.DataFrame({"time": ev["time"].to_numpy(),
                           "kind": ev["kind"].astype(str).to_numpy()})
    st = r.tables["states"]
    st = st[st["station"].astype(str) == station]
    states = pd.DataFrame({"server": st["server"].to_numpy(),
                           "state": st["state"].astype(str).to_numpy(),
                           "start": st["start"].to_numpy(), "end": st["end"].to_numpy()})
    states = states.sort_values(["server", "start"], kind="stable").reset_index(drop=True)
    return events, states


@pytest.mark.parametrize("which", ["reference", "random"])
def test_same_seed_same_tables(which: str) -> None:
    """Two runs with the same spec and seed give identical tables and KPIs."""
    spec = reference_spec() if which == "reference" else random_line(3)
    duration = "6 d" if which == "reference" else "2000 s"
    a = run(spec, duration=duration, warmup="0 s", seed=5)
    b = run(spec, duration=duration, warmup="0 s", seed=5)
    for name in TABLES:
        assert_frame_equal(a.tables[name], b.tables[name], check_exact=True, obj=name)
    assert a.kpis == b.kpis
    assert a.provenance["end_wip"] == b.provenance["end_wip"]
    assert a.run_id == b.run_id


def test_different_seed_different_path() -> None:
    """Another seed gives another sample path (the seed reaches every stream)."""
    spec = reference_spec()
    a = run(spec, duration="6 d", warmup="0 s", seed=5)
    b = run(spec, duration="6 d", warmup="0 s", seed=6)
    assert a.kpis != b.kpis
    for station in ("housing_blanks", "cnc", "washing", "assembly", "eol_test", "packing"):
        ea, _ = station_path(a, station)
        eb, _ = station_path(b, station)
        assert not ea.equals(eb), f"{station}: same events under seeds 5 and 6"


@pytest.mark.parametrize("first", [True, False], ids=["branch-first", "branch-last"])
def test_unrelated_branch_keeps_existing_draws_simple(first: bool) -> None:
    """M/M/1 line: adding a separate branch leaves the source's and the machine's events
    and states exactly unchanged."""
    spec = {"line": {"name": "crn"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0), "to": "m"},
        "m": {"type": "machine", "cycle_time": expo(0.8), "to": "out"},
        "out": {"type": "sink"}}}
    base = run(spec, duration="5000 s", warmup="0 s", seed=9)
    more = run(with_branch(spec, first), duration="5000 s", warmup="0 s", seed=9)
    assert int((more.tables["events"]["station"].astype(str) == "zz_m").sum()) > 0
    for station in ("src", "m", "out"):
        ev_a, st_a = station_path(base, station)
        ev_b, st_b = station_path(more, station)
        assert len(ev_a) > 0
        assert_frame_equal(ev_a, ev_b, check_exact=True, obj=f"{station} events")
        assert_frame_equal(st_a, st_b, check_exact=True, obj=f"{station} states")


@pytest.mark.parametrize("first", [True, False], ids=["branch-first", "branch-last"])
def test_unrelated_branch_keeps_existing_draws_reference(first: bool) -> None:
    """Servo line (mix, setups, failures, maintenance, operators, rework, batch oven, shifts):
    adding a separate branch leaves every existing station's sample path unchanged."""
    spec = reference_spec()
    base = run(spec, duration="8 d", warmup="0 s", seed=4)
    more = run(with_branch(spec, first), duration="8 d", warmup="0 s", seed=4)
    for station in spec["stations"]:
        ev_a, st_a = station_path(base, station)
        ev_b, st_b = station_path(more, station)
        assert_frame_equal(ev_a, ev_b, check_exact=True, obj=f"{station} events")
        assert_frame_equal(st_a, st_b, check_exact=True, obj=f"{station} states")
    # bottleneck shares are relative to every station of the line, the new branch included
    relative = ["bottleneck_sole_fraction", "bottleneck_shifting_fraction"]
    old = base.tables["stations"].set_index("station").drop(columns=relative)
    new = more.tables["stations"].set_index("station").loc[old.index].drop(columns=relative)
    assert_frame_equal(old, new, check_exact=True, obj="station KPIs")
