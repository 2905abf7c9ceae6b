"""CO2e of electricity at an hourly grid emission factor (``[energy.grid] hourly``).

Reference: the electricity of each state interval (station power per state x seconds, from
the spec) and of each phase (heat through the carrier's conversion), split at every hour
boundary in this file and counted at that hour's factor (time zero is Monday 00:00). This
hour-by-hour walk is written independently of the closed form the library uses (whole days
plus the integral within the day).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin.data.checks import line_from_dict, read_toml, validate
from twin.data.costs import Electricity
from twin.data.daily import drawn_evenly
from twin.orchestration.run import run

LINES = Path(__file__).resolve().parents[2] / "lines"
SERVO = LINES / "servo_actuator" / "line.toml"
J_PER_KWH = 3.6e6
# a grid that is dirty by day and clean by night [kg CO2e per kWh]; mean 0.55, not the
# line's flat 0.5306, so a run that ignored the profile would fail every check below
PROFILE = [0.35] * 6 + [0.75] * 12 + [0.45] * 6


def hour_by_hour(profile: list[float], a: float, b: float, per_s: float) -> float:
    """``per_s`` [unit/s] drawn over [a, b) [s] times the factor of each hour it spans."""
    total, t = 0.0, a
    while t < b:
        hour = math.floor(t / 3600.0)
        nxt = min(b, (hour + 1) * 3600.0)
        total += per_s * (nxt - t) * profile[hour % 24]
        t = nxt
    return total


def with_profile(data: dict[str, Any], profile: list[float]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    grid = data.setdefault("energy", {}).setdefault("grid", {
        "value": "0.5306 kg/kWh", "year": 2023, "source": "test"})
    grid["hourly"] = [f"{f!r} kg/kWh" for f in profile]
    return data


def test_drawn_evenly_equals_the_hour_by_hour_walk() -> None:
    """Random intervals (zero length, within an hour, across midnight, over several days)."""
    rng = np.random.default_rng(5)
    start = rng.uniform(0.0, 9 * 86400.0, 400)
    end = start + np.concatenate([np.zeros(20), rng.exponential(3600.0, 180),
                                  rng.uniform(0.0, 4 * 86400.0, 200)])
    amount = rng.uniform(0.1, 10.0, 400)
    segments = [(3600.0 * h, 3600.0 * (h + 1), f, "") for h, f in enumerate(PROFILE)]
    want = sum(m * PROFILE[int(a // 3600) % 24] if b == a else
               hour_by_hour(PROFILE, a, b, m / (b - a))
               for a, b, m in zip(start, end, amount, strict=True))
    assert drawn_evenly(segments, start, end, amount) == pytest.approx(want, rel=1e-12)
    # a tariff with a period that wraps midnight, the way time-of-use costs use it
    tariff = Electricity(flat=0.68, periods=[{"name": "valley", "per_kwh": 0.32,
                                              "hours": ["22:00-08:00"]},
                                             {"name": "peak", "per_kwh": 1.08,
                                              "hours": ["08:00-11:00", "13:00-17:00"]}])
    price = [0.32] * 8 + [1.08] * 3 + [0.68] * 2 + [1.08] * 4 + [0.68] * 5 + [0.32] * 2
    want = sum(hour_by_hour(price, a, b, m / (b - a)) for a, b, m in
               zip(start[20:], end[20:], amount[20:], strict=True))
    got = drawn_evenly(tariff.segments(), start[20:], end[20:], amount[20:])
    assert got == pytest.approx(want, rel=1e-12)


@pytest.fixture(scope="module")
def servo() -> tuple[Any, Any]:
    data = with_profile(read_toml(SERVO), PROFILE)
    return line_from_dict(data), run(data, duration="1 d", warmup="5 h", seed=4)


def test_equipment_co2e_is_counted_hour_by_hour(servo: tuple[Any, Any]) -> None:
    line, result = servo
    states, k = result.tables["states"], result.kpis
    t0, t1 = 5 * 3600.0, 29 * 3600.0
    power = {n: st.power.by_state() for n, st in line.stations.items()
             if hasattr(st, "power") and st.power is not None}
    by_station: dict[str, float] = {}
    for row in states.itertuples(index=False):
        a, b = max(float(row.start), t0), min(float(row.end), t1)
        watts = power.get(str(row.station), {}).get(str(row.state), 0.0)
        if b > a and watts > 0:
            kg = hour_by_hour(PROFILE, a, b, watts / J_PER_KWH)
            by_station[str(row.station)] = by_station.get(str(row.station), 0.0) + kg
    assert k["co2e_scope2_kg"] == pytest.approx(sum(by_station.values()), rel=1e-9)
    stored = result.tables["energy"].groupby("station", observed=True)["kg_co2e"].sum()
    for station, kg in by_station.items():
        assert float(stored[station]) == pytest.approx(kg, rel=1e-9), station
    flat = float(result.tables["energy"]["kwh"].sum()) * 0.5306
    assert abs(k["co2e_scope2_kg"] - flat) > 0.01 * flat  # the profile made a difference


def test_a_flat_profile_gives_the_flat_factor_figures() -> None:
    """24 equal hourly factors = the flat factor: the same CO2e KPIs (same seed)."""
    data = read_toml(SERVO)
    flat = run(data, duration="12 h", warmup="2 h", seed=2).kpis
    hourly = run(with_profile(data, [0.5306] * 24), duration="12 h", warmup="2 h",
                 seed=2).kpis
    for key in ("co2e_scope2_kg", "co2e_total_kg", "co2e_kg_per_good_unit", "cost_carbon"):
        assert hourly[key] == pytest.approx(flat[key], rel=1e-12), key
    assert flat["co2e_scope2_kg"] > 0


def test_utility_electricity_of_each_phase_is_counted_hour_by_hour() -> None:
    """A process line: chilled water (COP 3.5) and cooling water (0.02 kWh per kWh of heat)
    draw their electricity evenly over each phase; steam's boiler gas stays scope 1."""
    data = with_profile(read_toml(LINES / "api_batch" / "line.toml"), PROFILE)
    line = line_from_dict(data)
    result = run(data, duration="2 d", warmup="0 s", seed=3)
    phases, table = result.tables["phases"], result.tables["utilities"]
    assert len(phases)
    for name, u in line.utilities.items():
        want = 0.0
        for row in phases[phases["utility"] == name].itertuples(index=False):
            elec = (float(row.heat_J) / u.cop if u.carrier == "chilled_water" else
                    float(row.heat_J) * u.specific_power if u.carrier == "cooling_water"
                    else float(row.heat_J) if u.carrier == "electricity" else 0.0)
            a, b = float(row.start), float(row.end)
            want += (hour_by_hour(PROFILE, a, b, elec / (b - a) / J_PER_KWH) if b > a
                     else elec / J_PER_KWH * PROFILE[int(a // 3600) % 24])
        got = float(table.loc[table["utility"] == name, "kg_co2e_scope2"].sum())
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), name
    assert float(table["kg_co2e_scope2"].sum()) > 0


@pytest.mark.parametrize("hourly, where, says", [
    (["0.5 kg/kWh"] * 23, "energy.grid.hourly", "at least 24"),
    (["0.5 kg/kWh"] * 23 + ["-0.1 kg/kWh"], "energy.grid.hourly[23]", "greater than or equal to 0"),
    ([0.5] * 24, "energy.grid.hourly[0]", "0.5306 kg/kWh"),
])
def test_a_bad_profile_is_refused_where_it_is(hourly: list[Any], where: str,
                                               says: str) -> None:
    data = with_profile(read_toml(SERVO), [0.5] * 24)
    data["energy"]["grid"]["hourly"] = hourly
    spec, problems = validate(data)
    assert spec is None
    assert any(p.path == where and says in p.message for p in problems), \
        [(p.path, p.message) for p in problems]


def test_kpi_only_runs_price_each_interval_by_its_hour_too() -> None:
    """``record = "kpis"`` on the compiled engine: the accumulators integrate the hourly
    factor over each state interval, so CO2e equals the full run's (from its tables)."""
    exp = {"dist": "exponential", "mean": "10 min"}
    data = with_profile({
        "line": {"name": "two"}, "products": {"A": {}},
        "stations": {"src": {"type": "source", "product": "A", "interarrival": exp, "to": "m"},
                     "m": {"type": "machine", "cycle_time": {"dist": "exponential",
                                                             "mean": "8 min"},
                           "power": {"producing": "20 kW", "idle": "2 kW"}, "to": "out"},
                     "out": {"type": "sink"}}}, PROFILE)
    full = run(data, duration="2 d", warmup="3 h", seed=9, engine="compiled")
    lean = run(data, duration="2 d", warmup="3 h", seed=9, engine="compiled", record="kpis")
    assert "accumulators" in lean.provenance["record_note"]
    for key in ("co2e_scope2_kg", "co2e_kg_per_good_unit", "total_electricity_kwh"):
        assert lean.kpis[key] == pytest.approx(full.kpis[key], rel=1e-12), key
