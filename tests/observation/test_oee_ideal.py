"""OEE with an ideal cycle time: effectiveness never above 1, process stations defined.

References: SciPy's quantile functions for the default ideal cycle time; hand computations
on deterministic lines (constant arrivals and cycles) for OEE and effectiveness.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scipy import stats

from twin.data.checks import line_from_dict
from twin.data.ideal_time import IDEAL_QUANTILE
from twin.data.spec import LineSpec
from twin.orchestration.run import run

LINES = Path(__file__).resolve().parents[2] / "lines"


def machine_line(cycle: object, ideal: str | None = None) -> dict:
    """Arrivals every 100 s -> one machine -> sink."""
    m = {"type": "machine", "cycle_time": cycle, "to": "out"}
    if ideal is not None:
        m["ideal_cycle_time"] = ideal
    return {"line": {"name": "oee"}, "products": {"A": {}},
            "stations": {"src": {"type": "source", "product": "A", "interarrival": "100 s",
                                 "to": "m"},
                         "m": m, "out": {"type": "sink"}}}


def pri(cycle: object) -> float:
    spec: LineSpec = line_from_dict(machine_line(cycle))
    return spec.stations["m"].planned_time_per_item("A")


@pytest.mark.parametrize(("cycle", "expected"), [
    ("60 s", 60.0),
    ({"dist": "uniform", "low": "50 s", "high": "70 s"}, 50.0),
    ({"dist": "triangular", "low": "40 s", "mode": "50 s", "high": "75 s"}, 40.0),
    ({"dist": "normal", "mean": "60 s", "std": "5 s", "min": "45 s"}, 45.0),
    ({"dist": "weibull", "shape": 2.0, "scale": "30 s", "location": "20 s"}, 20.0),
    ({"dist": "empirical", "values": [70, 55, 61]}, 55.0),
    ({"dist": "exponential", "mean": "60 s"}, stats.expon(scale=60.0).ppf(IDEAL_QUANTILE)),
    ({"dist": "lognormal", "mean": "60 s", "std": "15 s"},
     stats.lognorm(s=math.sqrt(math.log1p(0.0625)),  # CV 0.25
                   scale=60.0 / math.sqrt(1.0625)).ppf(IDEAL_QUANTILE)),
    ({"dist": "normal", "mean": "60 s", "std": "20 s"},
     stats.truncnorm(-3.0, math.inf, loc=60.0, scale=20.0).ppf(IDEAL_QUANTILE)),
    ({"dist": "weibull", "shape": 1.5, "scale": "60 s"},
     stats.weibull_min(1.5, scale=60.0).ppf(IDEAL_QUANTILE)),
])
def test_default_ideal_cycle_time(cycle: object, expected: float) -> None:
    """Lower end of the support if positive, else the 5 % quantile (SciPy)."""
    assert pri(cycle) == pytest.approx(expected, rel=1e-9)


def test_stated_ideal_cycle_time_overrides_the_default() -> None:
    assert pri({"dist": "exponential", "mean": "60 s"}) != 42.0
    spec = line_from_dict(machine_line({"dist": "exponential", "mean": "60 s"}, "42 s"))
    assert spec.stations["m"].planned_time_per_item("A") == 42.0


def test_hand_computed_oee_on_a_deterministic_line() -> None:
    """Arrivals at 100, 200, ... s; cycle 60 s; ideal 50 s; window [150, 1150] s.
    Items start at 100, 200, ..., 1100 and end 60 s later: 10 end in the window (160 ...
    1060), the first begun 50 s before it (planned 50 - 50 = 0), the next 9 whole (450 s).
    APT = 10 (first item) + 9 x 60 + 50 (the item started at 1100) = 600 s; PBT = 1000 s.
    availability 0.6, effectiveness 450 / 600 = 0.75, OEE 0.45."""
    r = run(machine_line("60 s", "50 s"), duration="1000 s", warmup="150 s", seed=1)
    row = r.stations.set_index("station").loc["m"]
    assert row["PQ"] == 10
    assert row["APT_h"] * 3600 == pytest.approx(600.0)
    assert row["availability"] == pytest.approx(0.6)
    assert row["effectiveness"] == pytest.approx(0.75)
    assert row["oee"] == pytest.approx(0.45)


def test_effectiveness_never_above_one_with_constant_cycles() -> None:
    """Ideal = cycle (constant): the item begun before the window no longer counts whole
    (with the old rule effectiveness was 1 + 40/600 here)."""
    r = run(machine_line("60 s"), duration="1000 s", warmup="150 s", seed=1)
    row = r.stations.set_index("station").loc["m"]
    assert row["effectiveness"] <= 1.0
    assert row["effectiveness"] == pytest.approx((10.0 + 9 * 60.0) / 600.0)


def media_line(air_capacity: str) -> dict:
    return {"line": {"name": "media"}, "products": {"lot": {}},
            "species": {"W": {"molar_mass": "0.018 kg/mol"}},
            "utilities": {"air": {"carrier": "compressed_air", "capacity": air_capacity}},
            "stations": {
                "src": {"type": "source", "product": "lot", "schedule": [{"at": "0 s"}],
                        "to": "unit"},
                "unit": {"type": "process", "to": "out", "recipe": [
                    {"phase": "charge", "duration": "1 min", "materials": {"W": "10 kg"}},
                    {"phase": "hold", "name": "blow", "duration": "30 min",
                     "uses": {"air": "20 m3"}}]},
                "out": {"type": "sink"}}}


def test_process_station_oee_is_defined_and_counts_utility_slowdown() -> None:
    """20 m3 of air at 20 m3/h stretches the 30 min hold to 60 min: planned 31 min of
    phases, production 61 min, so effectiveness = 31/61; at 60 m3/h it is 1."""
    slow = run(media_line("20 m3/h"), duration="1 d", warmup="0 s", seed=1)
    row = slow.stations.set_index("station").loc["unit"]
    assert row["effectiveness"] == pytest.approx(31.0 / 61.0, rel=1e-9)
    assert row["oee"] == pytest.approx(row["availability"] * 31.0 / 61.0, rel=1e-9)
    fast = run(media_line("60 m3/h"), duration="1 d", warmup="0 s", seed=1)
    assert fast.stations.set_index("station").loc["unit", "effectiveness"] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["servo_actuator", "api_batch", "fermentation", "li_ion_cell"])
def test_effectiveness_at_most_one_on_every_reference_line(name: str) -> None:
    """Every equipment station of every reference line: effectiveness <= 1 (up to rounding
    of sums of times) where it produced, and OEE defined (not NaN) for process stations
    too."""
    r = run(LINES / name / "line.toml", duration="3 d", warmup="1 d", seed=5)
    st = r.stations
    produced = st[st["APT_h"] > 0]
    assert len(produced)
    bad = produced[~((produced["effectiveness"] >= 0)
                     & (produced["effectiveness"] <= 1.0 + 1e-12))]
    assert bad.empty, bad[["station", "type", "effectiveness"]].to_string()
    assert produced.loc[produced["PQ"] > 0, "oee"].notna().all()
    assert (produced["oee"].fillna(0.0) <= 1.0 + 1e-12).all()
