"""Cost KPIs recomputed by hand from the stored tables and the prices.

Every category is recomputed here from the run's tables (states, events, parts) and the
``[costs]`` section with arithmetic of its own: the time-of-use tariff as an hour-by-hour
price list, annuity formulas for NPV (closed form) and IRR (NPV = 0 at the returned rate).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from twin.data.checks import SpecError, line_from_dict, read_toml
from twin.observation.costs import tou_cost
from twin.orchestration.run import run

LINES = Path(__file__).resolve().parents[2] / "lines"

TARIFF = {"flat": 0.68, "periods": [
    {"name": "peak", "per_kwh": 1.08, "hours": ["08:00-11:00", "13:00-17:00"]},
    {"name": "valley", "per_kwh": 0.32, "hours": ["22:00-08:00"]}]}


def hourly_price(hour: int) -> float:
    """The tariff above, written out hour by hour."""
    if hour >= 22 or hour < 8:
        return 0.32
    if 8 <= hour < 11 or 13 <= hour < 17:
        return 1.08
    return 0.68


COSTS = {
    "currency": "CNY", "year": 2025, "source": "test prices",
    "electricity": TARIFF, "labour_per_h": 65.0, "carbon_per_t": 60.0,
    "maintenance_share_per_year": 0.03, "materials": {"products": {"A": 5.0}},
    "capital": {"m": {"base_cost": 5.0e6, "installation_factor": 1.5, "life_years": 10}},
    "discount_rate": 0.08, "price_per_good_unit": 20.0,
}

LINE = {
    "line": {"name": "priced"},
    "calendar": {"shifts": [{"start": "08:00", "end": "16:00"}]},
    "operators": {"crew": {"count": 2}},
    "products": {"A": {}},
    "stations": {
        "src": {"type": "source", "product": "A", "to": "m"},
        "m": {"type": "machine", "buffer": 2, "follows_calendar": False,
              "cycle_time": {"dist": "exponential", "mean": "90 s"},
              "power": {"producing": "10 kW", "idle": "1 kW"}, "to": "out"},
        "out": {"type": "sink"},
    },
    "costs": COSTS,
}


@pytest.fixture(scope="module")
def result():
    return run(LINE, duration="2 d", warmup="6 h", seed=4)


def test_electricity_at_time_of_use_prices(result) -> None:
    t0, t1 = 6 * 3600.0, 6 * 3600.0 + 2 * 86400.0
    states = result.tables["states"]
    power = {"producing": 10.0, "idle": 1.0}
    cost = 0.0
    for st, start, end in zip(states["state"].astype(str), states["start"], states["end"],
                              strict=True):
        kw = power.get(st, 0.0)
        a, b = max(start, t0), min(end, t1)
        while a < b:  # walk hour by hour
            nxt = min(b, (math.floor(a / 3600.0) + 1) * 3600.0)
            cost += kw * (nxt - a) / 3600.0 * hourly_price(int(a // 3600) % 24)
            a = nxt
    assert result.kpis["cost_electricity"] == pytest.approx(cost, rel=1e-9)


def test_every_other_category_by_hand(result) -> None:
    k = result.kpis
    t0, t1 = 6 * 3600.0, 6 * 3600.0 + 2 * 86400.0
    years = 2 / 365.25
    ev = result.tables["events"]
    created = int(((ev["kind"] == "created") & (ev["time"] >= t0) & (ev["time"] < t1)).sum())
    assert k["cost_materials"] == pytest.approx(created * 5.0)
    # 2 operators x shift hours in [6 h, 54 h]: 08-16 on day 0 and day 1 = 16 h each
    assert k["cost_labour"] == pytest.approx(2 * 16 * 65.0)
    assert k["capital_installed"] == pytest.approx(7.5e6)
    assert k["cost_depreciation"] == pytest.approx(750000.0 * years)
    assert k["cost_maintenance"] == pytest.approx(0.03 * 7.5e6 * years)
    assert k["cost_carbon"] == pytest.approx(k["co2e_total_kg"] / 1000 * 60.0)
    parts = result.tables["parts"]
    good = int(((parts["fate"].astype(str) == "good") & (parts["done"] >= t0)
                & (parts["done"] <= t1)).sum())
    assert good == k["good_units"]
    total = sum(k[c] for c in ("cost_electricity", "cost_natural_gas", "cost_materials",
                               "cost_water", "cost_labour", "cost_waste", "cost_carbon",
                               "cost_maintenance", "cost_depreciation"))
    assert k["cost_total"] == pytest.approx(total)
    assert k["cost_per_good_unit"] == pytest.approx(total / good)


def test_financials_by_closed_form(result) -> None:
    k = result.kpis
    years = 2 / 365.25
    revenue = k["good_units"] * 20.0 / years
    cash = revenue - (k["cost_total"] - k["cost_depreciation"]) / years
    r, n, capex = 0.08, 10, 7.5e6
    annuity = (1 - (1 + r) ** -n) / r
    assert k["revenue_per_year"] == pytest.approx(revenue)
    assert k["npv"] == pytest.approx(-capex + cash * annuity, rel=1e-9)
    irr = k["irr"]
    assert -capex + cash * (1 - (1 + irr) ** -n) / irr == pytest.approx(0.0, abs=1e-3)
    assert k["payback_years"] == pytest.approx(capex / cash)


def test_tariff_integral_over_whole_and_partial_days() -> None:
    from twin.data.costs import CostModel

    costs = CostModel.model_validate({**COSTS, "capital": {}})
    day = sum(hourly_price(h) for h in range(24))            # 1 kW for a day
    assert tou_cost(costs, np.array([0.0]), np.array([86400.0]), np.array([24.0])) == \
        pytest.approx(day)
    # 1 kW from Tuesday 10:30 to Thursday 09:15
    a, b = 86400 + 10.5 * 3600, 3 * 86400 + 9.25 * 3600
    hand, t = 0.0, a
    while t < b:
        nxt = min(b, (math.floor(t / 3600) + 1) * 3600)
        hand += (nxt - t) / 3600 * hourly_price(int(t // 3600) % 24)
        t = nxt
    got = tou_cost(costs, np.array([a]), np.array([b]), np.array([(b - a) / 3600]))
    assert got == pytest.approx(hand, rel=1e-12)


@pytest.mark.parametrize(("change", "where"), [
    (lambda c: c["capital"].update(nope={"base_cost": 1.0}), "costs.capital"),
    (lambda c: c["materials"].update(species={"toluene": 1.0}), "costs.materials.species"),
    (lambda c: c["electricity"]["periods"].append(
        {"name": "x", "per_kwh": 1.0, "hours": ["10:00-12:00"]}), "overlaps"),
    (lambda c: c["electricity"]["periods"][0].update(hours=["25:00-26:00"]), "clock span"),
])
def test_bad_prices_are_located(change, where) -> None:
    data = copy.deepcopy(LINE)
    change(data["costs"])
    with pytest.raises(SpecError, match=where):
        line_from_dict(data)


def test_cost_kpis_only_where_prices_are_declared() -> None:
    plain = copy.deepcopy(LINE)
    del plain["costs"]
    assert not any(k.startswith("cost_") for k in run(plain, duration="2 h", seed=1).kpis)


def test_reference_servo_line_costs_recomputed(tmp_path: Path) -> None:
    """The servo-actuator line declares its prices: labour from its operator pools and
    calendar, capital from its priced stations, carbon from its CO2e."""
    data = read_toml(LINES / "servo_actuator" / "line.toml")
    assert "costs" in data
    result = run(LINES / "servo_actuator" / "line.toml", duration="2 d", warmup="0 s", seed=2)
    k, costs = result.kpis, data["costs"]
    assert k["cost_carbon"] == pytest.approx(k["co2e_total_kg"] / 1000 * costs["carbon_per_t"])
    installed = 0.0
    for name, cap in costs["capital"].items():
        servers = data["stations"][name].get("servers", 1)
        installed += cap["base_cost"] * servers * cap.get("installation_factor", 1.0)
    assert k["capital_installed"] == pytest.approx(installed)
    assert k["cost_per_good_unit"] == pytest.approx(k["cost_total"] / k["good_units"])
