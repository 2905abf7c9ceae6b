"""Per-unit final energy and CO2e count every carrier, on process and discrete lines.

References: the stored ``utilities`` and ``energy`` tables of the run, and the conversion
factors written in the spec (gas = heat / boiler efficiency / LHV, chillers' electricity =
heat / COP, cooling water electricity = heat x specific power; CO2 of gas 2.16 kg/m3 scope 1,
electricity at the grid factor scope 2), recomputed here by hand from the ``phases`` table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.data.checks import load_line
from twin.orchestration.run import run

LINES = Path(__file__).resolve().parents[2] / "lines"
J_PER_KWH = 3.6e6


@pytest.fixture(scope="module")
def api() -> object:
    return run(LINES / "api_batch" / "line.toml", duration="5 d", warmup="0 s", seed=11)


def test_api_batch_per_unit_co2e_is_scope1_plus_scope2_of_the_utilities_table(api) -> None:
    """Window = whole run: CO2e per good unit = (equipment scope 2 + utilities scope 1 +
    utilities scope 2) / good units from the stored tables; it exceeds the equipment-only
    figure (the defect: steam from the gas boiler was left out)."""
    k, u, e = api.kpis, api.tables["utilities"], api.tables["energy"]
    good = k["good_units"]
    assert good > 0
    scope1 = float(u["kg_co2e_scope1"].sum())
    scope2 = float(u["kg_co2e_scope2"].sum()) + float(e["kg_co2e"].sum())
    assert scope1 > 0
    assert k["co2e_kg_per_good_unit"] == pytest.approx((scope1 + scope2) / good, rel=1e-12)
    assert k["co2e_scope1_kg_per_good_unit"] == pytest.approx(scope1 / good, rel=1e-12)
    assert k["co2e_scope2_kg_per_good_unit"] == pytest.approx(scope2 / good, rel=1e-12)
    assert k["co2e_kg_per_good_unit"] > float(e["kg_co2e"].sum()) / good * 1.1


def test_api_batch_final_energy_by_carrier_from_the_phases(api) -> None:
    """Final energy per good unit by carrier, recomputed from the phases' heat with the
    spec's factors; the total is their sum."""
    line = load_line(LINES / "api_batch" / "line.toml")
    ph, k = api.tables["phases"], api.kpis
    good = k["good_units"]
    heat = ph.groupby("utility")["heat_J"].sum()
    lhv = line.energy.natural_gas_lhv  # J/m3
    steam = float(heat["steam"]) / 0.9 / J_PER_KWH  # gas at LHV, boiler efficiency 0.9
    chilled = float(heat["chilled_water"]) / 3.5 / J_PER_KWH  # COP 3.5
    cooling = float(heat["cooling_water"]) * 0.02 / J_PER_KWH  # 0.02 kWh per kWh
    equipment = float(api.tables["energy"]["kwh"].sum())
    expected = {"steam": steam, "chilled_water": chilled, "cooling_water": cooling,
                "equipment": equipment}
    for carrier, kwh in expected.items():
        assert k[f"kwh_per_good_unit_{carrier}"] == pytest.approx(kwh / good, rel=1e-9), carrier
    assert k["kwh_per_good_unit"] == pytest.approx(sum(expected.values()) / good, rel=1e-9)
    gas_m3 = steam * J_PER_KWH / lhv
    scope1 = gas_m3 * 2.16
    scope2 = (chilled + cooling + equipment) * 0.5306
    assert k["co2e_kg_per_good_unit"] == pytest.approx((scope1 + scope2) / good, rel=1e-9)


def test_api_batch_window_counts_phases_ending_after_the_warmup() -> None:
    """With a warm-up, utilities count the phases that end in the window (by hand)."""
    r = run(LINES / "api_batch" / "line.toml", duration="3 d", warmup="1 d", seed=11)
    ph, k = r.tables["phases"], r.kpis
    win = ph[ph["end"] >= 86400.0]
    heat = win.groupby("utility")["heat_J"].sum()
    gas_m3 = float(heat["steam"]) / 0.9 / r.line.energy.natural_gas_lhv
    elec = (float(heat["chilled_water"]) / 3.5 + float(heat["cooling_water"]) * 0.02
            ) / J_PER_KWH + float(r.tables["energy"]["kwh"].sum())
    co2 = gas_m3 * 2.16 + elec * 0.5306
    assert k["co2e_total_kg"] == pytest.approx(co2, rel=1e-9)
    assert k["co2e_kg_per_good_unit"] == pytest.approx(co2 / k["good_units"], rel=1e-9)


def test_discrete_line_per_unit_energy_equals_the_energy_table() -> None:
    """A line without utilities: per-unit energy and CO2e are the energy table's sums per
    good unit (electricity only, scope 2 only)."""
    r = run(LINES / "servo_actuator" / "line.toml", duration="2 d", warmup="1 d", seed=3)
    e, k = r.tables["energy"], r.kpis
    good = k["good_units"]
    assert k["kwh_per_good_unit"] == pytest.approx(float(e["kwh"].sum()) / good, rel=1e-12)
    assert k["co2e_kg_per_good_unit"] == pytest.approx(float(e["kg_co2e"].sum()) / good,
                                                       rel=1e-12)
    assert k["co2e_scope1_kg"] == 0.0
    assert k["kwh_per_good_unit_equipment"] == k["kwh_per_good_unit"]
