"""The process ledger: material balance closure, utility capacity and load, final energy.

Independent references used here:

- the material balance recomputed from the ``flows`` table alone, per species and per batch
  (a batch that left the line must net to zero; the batches still in the line must add up to
  the run's end inventory);
- closed forms of jacket heating (``t = m cp / UA ln((T0 - Tj)/(T - Tj))``, heat ``m cp dT``);
- final energy by hand: steam from a gas boiler, ``m3 = Q / eff / LHV`` (LHV 35.9 MJ/m3) and
  2.16 kg CO2 per m3 (docs/ENGINEERING_DATA.md, energy and emissions, GB/T 2589 basis);
  chilled water
  ``kWh = Q / COP / 3.6e6``; cooling water ``kWh = Q x specific power / 3.6e6``; electricity
  scope 2 at the 2023 China grid factor 0.5306 kg CO2/kWh (MEE & NBS);
- the integral of the recorded utility load (a step function) against the heat the phases
  report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin.observation.flows import KINDS_OUT, BalanceError
from twin.observation.recorder import Recorder
from twin.orchestration.run import RunFailed, RunResult, run

API_LINE = Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml"

S = {"molar_mass": "0.018 kg/mol", "density": "1000 kg/m3", "cp": "4180 J/(kg*K)"}
SPECIES = {
    "S": S,  # non-volatile solvent: heat capacities exactly as charged
    "tol": {"molar_mass": "0.09214 kg/mol", "density": "867 kg/m3", "cp": "1700 J/(kg*K)",
            "voc": True, "dh_vap": "36600 J/mol", "t_boil": "383.75 K", "cod": 3.13},
    "B": {"molar_mass": "0.252 kg/mol", "density": "1300 kg/m3", "cp": "1400 J/(kg*K)",
          "state": "dissolved", "cod": 1.8},
    "Bs": {"molar_mass": "0.252 kg/mol", "density": "1300 kg/m3", "cp": "1200 J/(kg*K)",
           "state": "solid"},
}
CP_S = 4180.0


def k(kelvin: float) -> str:
    return f"{kelvin!r} K"


def charge(materials: dict[str, float], temperature: float = 293.15,
           minutes: float = 10.0) -> dict[str, Any]:
    return {"phase": "charge", "name": "charge", "duration": f"{minutes!r} min",
            "temperature": k(temperature), "materials": {s: f"{m!r} kg" for s, m in
                                                         materials.items()}}


def heat(to: float, jacket: float, ua: float, utility: str = "steam", name: str = "warm",
         kind: str = "heat") -> dict[str, Any]:
    return {"phase": kind, "name": name, "to": k(to), "jacket": k(jacket), "ua": f"{ua!r} W/K",
            "utility": utility}


def jacket_time(cap: float, ua: float, t0: float, t1: float, tj: float) -> float:
    return cap / ua * math.log((t0 - tj) / (t1 - tj))


def line(stations: dict[str, Any], utilities: dict[str, Any], first: str | list[str],
         batches: int = 1, name: str = "ledger") -> dict[str, Any]:
    st = {"src": {"type": "source", "product": "batch",
                  "schedule": [{"at": "0 s", "quantity": batches}], "to": first}}
    st.update(stations)
    st["out"] = {"type": "sink"}
    return {"line": {"name": name}, "products": {"batch": {}}, "species": SPECIES,
            "utilities": utilities, "stations": st}


def go(spec: dict[str, Any] | Path, duration: str = "1 d", seed: int = 2) -> RunResult:
    return run(spec, duration=duration, warmup=0, seed=seed)


# ------------------------------------------------------------------------ material balance


def test_api_line_balance_closes_per_species_and_per_batch_over_six_days() -> None:
    res = go(API_LINE, "6 d", seed=11)
    flows = res.tables["flows"].assign(species=lambda f: f["species"].astype(str))
    species = list(res.line.species)
    run_inventory = res.tables["balance"].set_index("species")["inventory"]

    # per batch from the flows alone: + input + transformation - every outgoing kind
    sign = flows["kind"].map(lambda kd: 1.0 if kd in ("input", "transformation") else -1.0)
    net = (flows.assign(net=sign * flows["kg"])
           .pivot_table(index="part", columns="species", values="net", aggfunc="sum",
                        fill_value=0.0).reindex(columns=species, fill_value=0.0))
    left = set(flows.loc[flows["kind"] == "output", "part"])
    scale = flows["kg"].abs().max()
    done, live = net.loc[sorted(left)], net.drop(index=sorted(left))
    assert len(done) >= 5 and len(live) >= 1  # batches finished and batches in process
    assert np.abs(done.to_numpy()).max() <= 1e-9 * scale  # a finished batch nets to zero
    assert live.to_numpy().min() >= -1e-9 * scale  # no batch holds negative mass
    # the batches in the line add up to the run's own end inventory
    np.testing.assert_allclose(live.sum().to_numpy(), run_inventory[species].to_numpy(),
                               rtol=1e-12, atol=1e-9 * scale)

    # per species over the run: input + transformation = outputs + inventory
    by_kind = flows.pivot_table(index="species", columns="kind", values="kg", aggfunc="sum",
                                fill_value=0.0).reindex(index=species, fill_value=0.0)
    for kd in ("input", "transformation", *KINDS_OUT):
        if kd not in by_kind:
            by_kind[kd] = 0.0
    imbalance = (by_kind["input"] + by_kind["transformation"]
                 - by_kind[list(KINDS_OUT)].sum(axis=1) - run_inventory[species])
    assert np.abs(imbalance.to_numpy()).max() <= 1e-9 * scale
    assert res.tables["balance"]["closed"].all()
    # reactions and crystallisation conserve mass: transformations sum to zero per phase
    tf = flows[flows["kind"] == "transformation"].groupby(["part", "phase"])["kg"].sum()
    assert np.abs(tf.to_numpy()).max() <= 1e-9 * scale
    # every route of material is exercised by this line
    for kd in ("input", "transformation", "output", "emission", "recovered"):
        assert (flows["kind"] == kd).any(), kd

    # water and COD from the clean phases, counted from the spec by hand
    ph = res.tables["phases"]
    cleans = ph[ph["kind"] == "clean"].groupby(ph["station"].astype(str))["part"].count()
    water = {"reactor": 400.0, "crystalliser": 400.0, "filter": 300.0}
    cod = {"reactor": 1.5, "crystalliser": 1.5, "filter": 1.0}
    assert res.kpis["water_kg"] == pytest.approx(sum(water[s] * n for s, n in cleans.items()))
    assert res.kpis["cod_kg"] == pytest.approx(sum(cod[s] * n for s, n in cleans.items()))
    emitted = flows[(flows["kind"] == "emission") & (flows["species"] == "toluene")]["kg"].sum()
    assert res.kpis["voc_emitted_kg"] == pytest.approx(emitted)


def test_a_lost_flow_breaks_the_balance_and_the_run_fails_naming_the_species(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop the record of the first toluene vent loss while the batch still loses the mass."""
    original = Recorder.flow
    dropped: list[float] = []

    def lossy(self: Recorder, t: float, part: int, station: int, phase: str, species: int,
              kind: str, kg: float) -> None:
        if not dropped and kind == "emission" and self.species[species] == "toluene":
            dropped.append(kg)
            return
        original(self, t, part, station, phase, species, kind, kg)

    monkeypatch.setattr(Recorder, "flow", lossy)
    with pytest.raises(RunFailed) as info:
        go(API_LINE, "2 d", seed=11)
    cause = info.value.__cause__
    assert isinstance(cause, BalanceError)
    assert dropped and dropped[0] > 0
    table = cause.table.set_index("species")
    assert table.loc["toluene", "imbalance"] == pytest.approx(dropped[0], rel=1e-6)
    assert not table.loc["toluene", "closed"]
    assert table.drop(index="toluene")["closed"].all()
    assert "toluene: imbalance +" in str(cause)
    assert "material balance does not close" in info.value.result.provenance["error"]


# ------------------------------------------------------------------------------- utilities


def test_small_utility_capacity_makes_the_second_unit_wait() -> None:
    m, t0, t1, tj, ua = 1000.0, 293.15, 333.15, 363.15, 2000.0
    cap = m * CP_S
    t_heat = jacket_time(cap, ua, t0, t1, tj)
    load = cap * (t1 - t0) / t_heat
    capacity = 140e3  # room for one heat-up (94.4 kW), not two
    assert load < capacity < 2 * load
    recipe = [charge({"S": m}), heat(t1, tj, ua)]
    spec = line({"r1": {"type": "process", "recipe": recipe, "to": "out"},
                 "r2": {"type": "process", "recipe": recipe, "to": "out"}},
                {"steam": {"carrier": "steam", "capacity": f"{capacity!r} W"}},
                ["r1", "r2"], batches=2)
    res = go(spec)
    ph = res.tables["phases"]
    warm = ph[ph["phase"] == "warm"].sort_values("start")
    assert len(warm) == 2
    first, second = warm.iloc[0], warm.iloc[1]
    assert first["start"] == pytest.approx(600.0)
    assert second["start"] == pytest.approx(first["end"])  # waited for the steam
    for row in (first, second):
        assert row["end"] - row["start"] == pytest.approx(t_heat, rel=1e-12)
        assert row["heat_J"] == pytest.approx(cap * (t1 - t0), rel=1e-12)
    states = res.tables["states"]
    waiting = states[(states["state"] == "waiting")]
    assert list(waiting["station"].astype(str)) == [str(second["station"])]
    assert waiting.iloc[0]["start"] == pytest.approx(600.0)
    assert waiting.iloc[0]["end"] == pytest.approx(first["end"])
    assert res.tables["utility_load"]["load"].max() <= capacity * (1 + 1e-12)


def test_phase_above_capacity_runs_at_capacity_for_longer_with_the_same_heat() -> None:
    m, t0, t1, tj, ua = 1000.0, 293.15, 333.15, 363.15, 2000.0
    cap = m * CP_S
    q = cap * (t1 - t0)
    natural = q / jacket_time(cap, ua, t0, t1, tj)  # 94.4 kW on average
    capacity = 40e3
    assert capacity < natural
    spec = line({"r": {"type": "process", "recipe": [charge({"S": m}), heat(t1, tj, ua)],
                       "to": "out"}},
                {"steam": {"carrier": "steam", "capacity": f"{capacity!r} W"}}, "r")
    res = go(spec)
    row = res.tables["phases"].set_index("phase").loc["warm"]
    assert row["heat_J"] == pytest.approx(q, rel=1e-12)
    assert row["load_W"] == pytest.approx(capacity, rel=1e-12)
    assert row["end"] - row["start"] == pytest.approx(q / capacity, rel=1e-12)
    assert res.tables["utility_load"]["load"].max() == pytest.approx(capacity, rel=1e-12)
    assert row["temperature_K"] == pytest.approx(t1)


def test_utility_final_energy_and_co2_by_hand() -> None:
    """Heat on steam (boiler 85 %), cool on chilled water (COP 3.2) and on cooling water
    (0.025 kWh/kWh), hot CIP on an electric heater."""
    m = 800.0
    cap = m * CP_S
    recipe = [charge({"S": m}),
              heat(353.15, 393.15, 1500.0, "steam", "warm"),
              heat(313.15, 298.15, 1500.0, "cw", "cool-1", "cool"),
              heat(283.15, 273.15, 1500.0, "chilled", "cool-2", "cool"),
              {"phase": "clean", "name": "CIP", "duration": "1 h", "water": "200 kg",
               "cod": "0.5 kg", "heat": "250 kJ/kg", "utility": "power"}]
    utilities = {"steam": {"carrier": "steam", "boiler_efficiency": 0.85},
                 "cw": {"carrier": "cooling_water", "specific_power": 0.025},
                 "chilled": {"carrier": "chilled_water", "cop": 3.2},
                 "power": {"carrier": "electricity"}}
    res = go(line({"r": {"type": "process", "recipe": recipe, "to": "out"}}, utilities, "r"))
    q_steam = cap * (353.15 - 293.15)
    q_cw = cap * (353.15 - 313.15)
    q_chill = cap * (313.15 - 283.15)
    q_power = 200.0 * 250e3
    gas = q_steam / 0.85 / 35.9e6
    kwh = {"steam": 0.0, "cw": q_cw * 0.025 / 3.6e6, "chilled": q_chill / 3.2 / 3.6e6,
           "power": q_power / 3.6e6}
    u = res.tables["utilities"].set_index("utility")
    assert u.loc["steam", "natural_gas_m3"] == pytest.approx(gas, rel=1e-12)
    assert u.loc["steam", "kg_co2e_scope1"] == pytest.approx(gas * 2.16, rel=1e-12)
    for name, q in (("steam", q_steam), ("cw", q_cw), ("chilled", q_chill), ("power", q_power)):
        assert u.loc[name, "delivered_kwh"] == pytest.approx(q / 3.6e6, rel=1e-12)
        assert u.loc[name, "electricity_kwh"] == pytest.approx(kwh[name], rel=1e-12)
        assert u.loc[name, "kg_co2e_scope2"] == pytest.approx(kwh[name] * 0.5306, rel=1e-12)
        # nothing is running at the end: the load integral is the delivered heat
        assert u.loc[name, "load_integral_kwh"] == pytest.approx(q / 3.6e6, rel=1e-9)
    assert u.loc["steam", "kgce"] == pytest.approx(gas * 1.2143, rel=1e-12)
    assert u.loc["chilled", "kgce"] == pytest.approx(kwh["chilled"] * 0.1229, rel=1e-12)
    assert res.kpis["natural_gas_m3"] == pytest.approx(gas, rel=1e-12)
    assert res.kpis["co2e_scope1_kg"] == pytest.approx(gas * 2.16, rel=1e-12)
    assert res.kpis["utility_electricity_kwh"] == pytest.approx(sum(kwh.values()), rel=1e-12)
    assert res.kpis["water_kg"] == pytest.approx(200.0)
    assert res.kpis["cod_kg"] == pytest.approx(0.5)


def test_load_integral_counts_a_phase_still_running_at_the_end() -> None:
    m, t0, t1, tj, ua = 1000.0, 293.15, 353.15, 373.15, 2000.0
    cap = m * CP_S
    t_heat = jacket_time(cap, ua, t0, t1, tj)
    load = cap * (t1 - t0) / t_heat
    spec = line({"r": {"type": "process", "recipe": [charge({"S": m}), heat(t1, tj, ua)],
                       "to": "out"}}, {"steam": {"carrier": "steam"}}, "r")
    end = 600.0 + 0.5 * t_heat  # stop half-way through the heat-up
    res = go(spec, f"{end!r} s")
    u = res.tables["utilities"].set_index("utility")
    assert u.loc["steam", "delivered_kwh"] == 0.0  # the phase reports its heat when it ends
    assert u.loc["steam", "load_integral_kwh"] == pytest.approx(
        load * 0.5 * t_heat / 3.6e6, rel=1e-12)


def test_load_integral_equals_delivered_heat_through_a_breakdown() -> None:
    """A 30 min repair during a heat-up: the phase delivers m cp dT; the recorded load must
    integrate to the same energy (no phase runs at the end of the day)."""
    m, t0, t1, tj, ua = 1000.0, 293.15, 353.15, 373.15, 2000.0
    q = m * CP_S * (t1 - t0)
    failures = [{"basis": "calendar", "ttf": {"dist": "constant", "value": "40 min"},
                 "ttr": {"dist": "constant", "value": "30 min"}}]
    spec = line({"r": {"type": "process", "recipe": [charge({"S": m}), heat(t1, tj, ua)],
                       "failures": failures, "to": "out"}}, {"steam": {"carrier": "steam"}}, "r")
    res = go(spec)
    states = res.tables["states"]
    assert (states["state"] == "down").any()
    u = res.tables["utilities"].set_index("utility")
    assert u.loc["steam", "delivered_kwh"] == pytest.approx(q / 3.6e6, rel=1e-12)
    assert u.loc["steam", "load_integral_kwh"] == pytest.approx(q / 3.6e6, rel=1e-9)


def test_capacity_capped_phase_after_shared_loads_is_not_deadlocked() -> None:
    """r1 and r2 heat at partial steam loads at the same time; 'big' then needs the whole
    capacity (its average load exceeds it). Once r1 and r2 are done the full 120 kW is free
    again, so both batches must get through 'big'. The UA values are ones for which the
    returned loads do not add up exactly to the capacity in floating point."""
    ua1, ua2 = 1084.8492146906146, 1015.1789923479663
    m, t0, t1, tj = 1000.0, 293.15, 333.15, 363.15
    cap = m * CP_S
    stations = {
        "r1": {"type": "process", "recipe": [charge({"S": m}), heat(t1, tj, ua1)], "to": "big"},
        "r2": {"type": "process", "recipe": [charge({"S": m}), heat(t1, tj, ua2)], "to": "big"},
        "big": {"type": "process", "recipe": [heat(353.15, 373.15, 1e6, name="boost")],
                "to": "out"},
    }
    res = go(line(stations, {"steam": {"carrier": "steam", "capacity": "120 kW"}},
                  ["r1", "r2"], batches=2), "2 d")
    end_r2 = 600.0 + jacket_time(cap, ua2, t0, t1, tj)
    boost_time = cap * 20.0 / 120e3  # capped at the capacity: heat / capacity
    ph = res.tables["phases"]
    boost = ph[ph["phase"] == "boost"].sort_values("start")
    assert len(boost) == 2, res.tables["states"].query("station == 'big'").to_string()
    assert boost.iloc[0]["start"] == pytest.approx(end_r2, rel=1e-9)
    assert boost.iloc[1]["start"] == pytest.approx(end_r2 + boost_time, rel=1e-9)
    assert res.kpis["good_units"] == 2


def test_solvent_recovered_counts_only_the_solvent() -> None:
    """Mother liquor (toluene with dissolved B and crystal fines) sent to solvent recovery:
    'solvent_recovered_kg' must be the solvent, not the dissolved product and the fines."""
    sep = {"phase": "separate", "name": "filter", "duration": "1 h", "solids_recovery": 0.99,
           "cake_liquid": 0.3, "filtrate": "recovered"}
    spec = line({"f": {"type": "process", "recipe": [charge({"tol": 1000.0, "B": 50.0,
                                                              "Bs": 200.0}), sep],
                       "to": "out"}}, {}, "f")
    res = go(spec)
    flows = res.tables["flows"]
    rec = flows[flows["kind"] == "recovered"]
    toluene = float(rec.loc[rec["species"].astype(str) == "tol", "kg"].sum())
    assert toluene > 900.0
    assert (rec["species"].astype(str) != "tol").any()  # B and fines go with the liquor
    assert res.kpis["solvent_recovered_kg"] == pytest.approx(toluene, rel=1e-12)
