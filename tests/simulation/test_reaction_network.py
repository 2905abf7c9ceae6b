"""A react phase with a general reaction network in a process line: the batch reaches the
chemical equilibrium the spec's K sets (checked from the recorded flows by hand), every
species' transformation follows the stoichiometry, the profile names each species, and bad
networks give located errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from twin.data.checks import SpecError, line_from_dict
from twin.orchestration.run import run

# Esterification CH3COOH + C2H5OH <=> CH3COOC2H5 + H2O; molar masses from the formulas
# (IUPAC standard atomic weights C 12.011, H 1.008, O 15.999).
SPECIES: dict[str, dict[str, Any]] = {
    "acid": {"molar_mass": "0.060052 kg/mol", "density": "1049 kg/m3", "cp": "2050 J/(kg*K)",
             "formula": "C2H4O2"},
    "ethanol": {"molar_mass": "0.046069 kg/mol", "density": "789 kg/m3",
                "cp": "2440 J/(kg*K)", "formula": "C2H6O"},
    "ester": {"molar_mass": "0.088106 kg/mol", "density": "902 kg/m3", "cp": "1920 J/(kg*K)",
              "formula": "C4H8O2"},
    "water": {"molar_mass": "0.018015 kg/mol", "density": "997 kg/m3", "cp": "4180 J/(kg*K)",
              "formula": "H2O"},
    "solvent": {"molar_mass": "0.1 kg/mol", "density": "900 kg/m3", "cp": "2000 J/(kg*K)"},
}
K_EQ = 4.0


def _line(react: dict[str, Any]) -> dict[str, Any]:
    recipe = [{"phase": "charge", "name": "charge", "duration": "10 min",
               "temperature": "343.15 K",
               "materials": {"acid": "300 kg", "ethanol": "345 kg", "solvent": "200 kg"}},
              {"name": "esterify", **react},
              {"phase": "transfer", "name": "out", "duration": "20 min"}]
    return {"line": {"name": "ester"}, "products": {"batch": {}}, "species": SPECIES,
            "stations": {
                "src": {"type": "source", "product": "batch",
                        "schedule": [{"at": "0 s", "quantity": 2}], "to": "reactor"},
                "reactor": {"type": "process", "volume": "2 m3", "recipe": recipe,
                            "to": "out"},
                "out": {"type": "sink"}}}


REACT = {"phase": "react", "isothermal": True, "ua": "1 kW/K", "jacket": "343.15 K",
         "max_time": "20 h",
         "reactions": [{"equation": "acid + ethanol <=> ester + water",
                        "k": "5e-3 L/(mol*min)", "ea": "50 kJ/mol", "dh": "-4 kJ/mol",
                        "K": K_EQ}]}


def test_isothermal_esterification_reaches_the_equilibrium_of_k() -> None:
    """After 20 h (over 30 time constants 1 / (k (c_acid + c_ethanol))) the batch is at
    equilibrium: [ester][water] / ([acid][ethanol]) = K, from the recorded flows; acid
    consumed = ester formed = water formed = ethanol consumed (in moles)."""
    res = run(_line(REACT), duration="4 d", warmup=0, seed=1)
    flows = res.tables["flows"]
    moles = {sp: float(flows[(flows["part"] == 0) & (flows["species"].astype(str) == sp)
                             & (flows["kind"] == "transformation")]["kg"].sum())
             / float(SPECIES[sp]["molar_mass"].split()[0]) for sp in SPECIES}
    assert moles["ester"] > 0
    for sp, sign in (("acid", -1), ("ethanol", -1), ("water", 1)):
        assert sign * moles[sp] == pytest.approx(moles["ester"], rel=1e-6), sp
    n_acid = 300.0 / 0.060052 + moles["acid"]
    n_eth = 345.0 / 0.046069 + moles["ethanol"]
    q = moles["ester"] * moles["water"] / (n_acid * n_eth)  # volumes cancel (dn = 0)
    assert q == pytest.approx(K_EQ, rel=1e-4)
    ph = res.tables["phases"]
    row = ph[(ph["phase"] == "esterify") & (ph["part"] == 0)].iloc[0]
    assert row["ended_by"] == "end_time"  # no target: runs to max_time, not off-spec
    assert row["heat_J"] == pytest.approx(4e3 * moles["ester"], rel=1e-6)  # isothermal
    prof = res.tables["profiles"]
    names = set(prof[prof["phase"] == "esterify"]["variable"].astype(str))
    assert {"n_acid_mol", "n_ethanol_mol", "n_ester_mol", "n_water_mol", "mtsr_K"} <= names
    assert len(ph[ph["phase"] == "esterify"]) == 2  # both batches reacted


def _problems(react: dict[str, Any], species: dict[str, Any] | None = None) -> str:
    line = _line(react)
    if species is not None:
        line["species"] = species
    with pytest.raises(SpecError) as err:
        line_from_dict(line, "net")
    return str(err.value)


def _with(**reaction: Any) -> dict[str, Any]:
    return {**REACT, "reactions": [{**REACT["reactions"][0], **reaction}]}


@pytest.mark.parametrize("react, species, where, words", [
    (_with(equation="acid + ethanol <=> ester + brine"), None,
     "recipe[1].reactions[0].equation", ["no species named 'brine'"]),
    (_with(equation="acid + ethanol <=> ester", K="4 L/mol"), None,
     "recipe[1].reactions[0].equation", ["does not conserve mass"]),
    (_with(equation="acid + ethanol <=> ester + water"),
     {**SPECIES, "water": {**SPECIES["water"], "formula": "H2O2"}},
     "recipe[1].reactions[0].equation", ["does not conserve elements", "O +1"]),
    (_with(orders={"acid": -1.0, "ethanol": 1.0}), None, "recipe[1].react.reactions[0]",
     ["orders.acid", ">= 0"]),
    (_with(equation="acid + ethanol -> ester + water", K=None,
           orders={"acid": 0.0, "ethanol": 1.0}, k="1e-5 1/s"), None,
     "recipe[1].react.reactions[0]",
     ["orders.acid", "positive order"]),
    (_with(K=None), None, "recipe[1].react.reactions[0]", ["needs k_reverse or K"]),
    (_with(k="2e-4 1/s"), None, "recipe[1].react.reactions[0]",
     ["rate constant", "forward order 2"]),
    (_with(equation="acid + ethanol => ester + water"), None, "recipe[1].react.reactions[0]",
     ["needs '->'"]),
    ({**_with(equation="acid + ethanol -> ester + water", K=None), "key": "water"}, None,
     "recipe[1].key", ["no reaction consumes"]),
    ({**REACT, "key": "solvent"}, None, "recipe[1].key", ["not a species of the network"]),
    ({k: v for k, v in REACT.items() if k != "max_time"}, None, "recipe[1].react",
     ["give target_conversion, max_time or both"]),
])
def test_bad_networks_are_located(react: dict[str, Any], species: dict[str, Any] | None,
                                  where: str, words: list[str]) -> None:
    text = _problems(react, species)
    line = next(ln for ln in text.splitlines() if where in ln)
    for w in words:
        assert w in line, line


def test_network_phase_round_trips_through_its_dump() -> None:
    """A dumped spec (constants written in SI with their units) validates to the same."""
    spec = line_from_dict(_line(_with(k="0.012 L/(mol*h)", orders={"acid": 1.5,
                                                                  "ethanol": 0.5})), "net")
    again = line_from_dict(spec.model_dump(mode="json", by_alias=True), "net")
    assert again == spec
    r = spec.stations["reactor"].recipe[1].reactions[0]
    assert r.k == pytest.approx(0.012e-3 / 3600.0)  # 1 L = 1e-3 m3, 1 h = 3600 s
    assert math.isclose(r.K, K_EQ)


def test_the_documented_example_runs() -> None:
    """docs/REACTIONS.md's example (reversible esterification, a power-law side reaction,
    ethanol dosed) validates and runs: the phase reaches its target conversion and both
    reactions move mass; the run's ledger closes (a run whose balance fails raises)."""
    import re
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "REACTIONS.md").read_text()
    block = re.search(r"```toml\n(.*?)```", text, re.S)
    assert block is not None
    data = tomllib.loads(block.group(1) + """
[line]
name = "docs"
[products.batch]
[utilities.cooling_water]
carrier = "cooling_water"
[stations.src]
type = "source"
product = "batch"
schedule = [{ at = "0 s", quantity = 1 }]
to = "reactor"
[stations.reactor]
type = "process"
to = "out"
[stations.out]
type = "sink"
""")
    res = run(data, duration="1 d", warmup=0, seed=1)
    ph = res.tables["phases"]
    row = ph[ph["phase"] == "esterify"].iloc[0]
    assert row["ended_by"] == "target_conversion"
    assert row["conversion"] == pytest.approx(0.6, abs=1e-6)
    flows = res.tables["flows"]
    made = flows[(flows["kind"] == "transformation") & (flows["kg"] > 0)]
    assert {"ester", "ether", "water"} <= set(made["species"].astype(str))


def test_scale_up_scales_a_network_phase_ua_and_keeps_its_reactions() -> None:
    """Scaling the 2 m3 reactor to 16 m3 (linear factor L = 2): the network phase's UA goes
    x L^2 (constant U, jacket area ~ L^2), its reactions stay as they were, and the
    scaled spec validates again (dumped with its constants' units)."""
    from twin.process.scaleup import scale_line

    spec = line_from_dict(_line(REACT), "net")
    scaled = scale_line(spec, "reactor", "16 m3")
    old, new = spec.stations["reactor"].recipe[1], scaled.line.stations["reactor"].recipe[1]
    assert new.ua == pytest.approx(old.ua * 4.0, rel=1e-12)
    assert new.reactions == old.reactions
