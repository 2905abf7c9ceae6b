"""Tanks and continuous units: levels, lots, blocking and the balance.

References: hand-computed level trajectories for constant batch arrivals and a constant
draw rate (piecewise-linear levels), and mass conservation.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.data.checks import validate
from twin.orchestration.run import run


def line(rate: str = "400 kg/h", capacity: str = "1200 kg", gap: str = "2 h") -> dict:
    return {
        "line": {"name": "tank"}, "products": {"batch": {}, "roll": {}},
        "species": {"slurry": {"molar_mass": "0.1 kg/mol"},
                    "solvent": {"molar_mass": "0.1 kg/mol"}},
        "stations": {
            "src": {"type": "source", "product": "batch", "interarrival": gap, "to": "mixer"},
            "mixer": {"type": "process", "to": "tank", "recipe": [
                {"phase": "charge", "duration": "30 min",
                 "materials": {"slurry": "400 kg", "solvent": "100 kg"}}]},
            "tank": {"type": "tank", "capacity": capacity, "low": 0.1, "high": 0.8,
                     "to": "coater"},
            "coater": {"type": "continuous", "rate": rate, "lot_mass": "300 kg",
                       "product": "roll", "to": "out",
                       "power": {"producing": "30 kW", "idle": "5 kW"}},
            "out": {"type": "sink"},
        },
    }


def test_level_follows_batches_and_rate() -> None:
    """Batches of 500 kg every 2 h (first at 2.5 h), drawn at 400 kg/h: the tank empties
    1.25 h after each batch (500/400 h), so the level is 500 kg at 2.5 h + 2k h and 0 kg at
    3.75 h + 2k h; lots of 300 kg leave at 0.75 h and 1.25 h (the tank runs dry mid-lot)."""
    r = run(line(), duration="12 h", warmup="0 s", seed=1)
    lv = r.tables["levels"]
    for k in range(4):
        at = (2.5 + 2 * k) * 3600
        assert float(lv.loc[np.isclose(lv["time"], at), "kg"].max()) == pytest.approx(500.0)
        empty = (3.75 + 2 * k) * 3600
        assert float(lv.loc[np.isclose(lv["time"], empty), "kg"].iloc[-1]) == pytest.approx(
            0.0, abs=1e-9)
    ev = r.tables["events"]
    exits = ev[(ev["kind"] == "exit")]["time"].to_numpy() / 3600
    # lot 1 fills from 2.5 h to 3.25 h; lot 2 gets 200 kg by 3.75 h and 100 kg from 4.5 h
    assert exits[:2] == pytest.approx([3.25, 4.75])


def test_every_lot_has_lot_mass_and_composition() -> None:
    r = run(line(), duration="2 d", warmup="0 s", seed=2)
    fl = r.tables["flows"]
    out = fl[fl["kind"] == "output"].groupby("part")["kg"].sum()
    assert len(out) > 10
    assert out.to_numpy() == pytest.approx(300.0)
    by_species = fl[fl["kind"] == "output"].groupby("species", observed=True)["kg"].sum()
    assert by_species["slurry"] / by_species["solvent"] == pytest.approx(4.0)


def test_balance_closes_with_tank_inventory() -> None:
    r = run(line(rate="200 kg/h"), duration="3 d", warmup="0 s", seed=3)
    bal = r.tables["balance"].set_index("species")
    assert bool(bal["closed"].all())
    fl = r.tables["flows"]
    charged = fl.loc[fl["kind"] == "input", "kg"].sum()
    shipped = fl.loc[fl["kind"] == "output", "kg"].sum()
    assert charged - shipped == pytest.approx(bal["inventory"].sum(), rel=1e-9)


def test_full_tank_blocks_the_mixer_and_draw_rate_sets_output() -> None:
    """A coater at 150 kg/h cannot keep up with 250 kg/h of batches: the tank fills, the
    mixer blocks, and the coater runs all the time at its rate (output = rate x time)."""
    r = run(line(rate="150 kg/h", capacity="1000 kg"), duration="4 d", warmup="1 d", seed=4)
    st = r.stations.set_index("station")
    assert st.loc["mixer", "blocked_fraction"] > 0.2
    assert st.loc["coater", "utilisation"] == pytest.approx(1.0, abs=1e-6)
    assert r.tables["levels"]["kg"].max() <= 1000.0 + 1e-6
    assert r.kpis["good_units"] == pytest.approx(4 * 24 * 150 / 300, abs=1)  # 4 d window
    zones = r.tables["level_events"]["zone"].tolist()
    assert "high" in zones


@pytest.mark.parametrize("change, message", [
    (lambda d: d["stations"]["tank"].update(to="out"), "exactly one continuous unit"),
    (lambda d: d["stations"]["mixer"].update(to="coater"), "route batches to its tank"),
    (lambda d: d["stations"]["coater"].update(product="nope"), "no product named 'nope'"),
    (lambda d: d["stations"]["tank"].update(initial={"x": "1 kg"}), "no species named 'x'"),
    (lambda d: d["stations"]["tank"].update(low=0.9), "low must be below high"),
])
def test_bad_tank_specs_are_located(change, message: str) -> None:  # noqa: ANN001
    data = line()
    change(data)
    spec, problems = validate(data)
    assert spec is None
    assert any(message in p.message for p in problems), problems


def test_web_speed_sets_the_rate() -> None:
    """A coater at 0.5 m/s, 0.4 m wide, 0.2 kg/m2 wet draws 0.04 kg/s = 144 kg/h."""
    data = line()
    coater = data["stations"]["coater"]
    del coater["rate"]
    coater.update(web_speed="30 m/min", width="0.4 m", areal_mass="200 g/m2")
    spec, problems = validate(data)
    assert not problems
    assert spec.stations["coater"].rate == pytest.approx(0.04)


def test_shared_equipment_runs_each_products_recipe() -> None:
    """One mixer, two products with their own recipes: each batch gets its product's charge."""
    data = line()
    data["stations"]["src"] = {"type": "source", "mix": {"batch": 1, "roll": 1},
                               "interarrival": "2 h", "to": "mixer"}
    data["stations"]["mixer"]["product_recipes"] = {"roll": [
        {"phase": "charge", "duration": "10 min", "materials": {"slurry": "100 kg"}}]}
    r = run(data, duration="2 d", warmup="0 s", seed=5)
    ev = r.tables["events"]
    product_of = ev[ev["kind"] == "created"].set_index("part")["product"].astype(str)
    charged = r.tables["flows"].query("kind == 'input'").groupby("part")["kg"].sum()
    expected = product_of.loc[charged.index].map({"batch": 500.0, "roll": 100.0})
    assert set(expected) == {500.0, 100.0}
    assert charged.to_numpy() == pytest.approx(expected.to_numpy())
