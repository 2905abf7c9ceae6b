"""Rework into a process station: the batch comes back holding its material, so it runs its
recipe without the charge phases (or the station's ``rework_recipe``), and the material
balance counts each lot's fabric once.

Reference: the inputs written in the recipe below (400 kg fabric and 4000 kg liquor per lot),
counted by hand against the number of lots released.
"""

from __future__ import annotations

import pytest

from twin.orchestration.run import run


def dyeing(rework_recipe: list | None = None) -> dict:
    jet = {"type": "process", "to": "inspect", "recipe": [
        {"phase": "charge", "name": "load", "duration": "15 min",
         "materials": {"fabric": "400 kg", "liquor": "4000 kg"}},
        {"phase": "hold", "name": "dye", "duration": "2 h"}]}
    if rework_recipe is not None:
        jet["rework_recipe"] = rework_recipe
    return {"line": {"name": "dyeing"}, "products": {"lot": {}},
            "species": {"fabric": {"molar_mass": "1 kg/mol", "state": "solid"},
                        "liquor": {"molar_mass": "0.018 kg/mol", "water": True}},
            "stations": {
                "src": {"type": "source", "product": "lot",
                        "schedule": [{"at": "0 s", "quantity": 6}], "to": "jet"},
                "jet": jet,
                "inspect": {"type": "inspection", "cycle_time": "10 min",
                            "rework_probability": 0.5, "rework_to": "jet", "max_reworks": 2,
                            "to": "out"},
                "out": {"type": "sink"}}}


def test_a_reworked_lot_is_not_charged_again() -> None:
    r = run(dyeing(), duration="3 d", warmup="0 s", seed=4)
    ph, fl = r.tables["phases"], r.tables["flows"]
    reworks = int((r.tables["events"]["kind"] == "rework").sum())
    assert reworks > 0  # the seed gives reworked lots
    jet = ph[ph["station"].astype(str) == "jet"]
    assert int((jet["phase"] == "load").sum()) == 6  # one charge per lot
    assert int((jet["phase"] == "dye").sum()) == 6 + reworks  # re-dyed on every return
    fabric_in = fl[(fl["kind"] == "input") & (fl["species"].astype(str) == "fabric")]["kg"]
    assert float(fabric_in.sum()) == pytest.approx(6 * 400.0)
    good = r.tables["parts"]
    assert len(good) == 6
    out = fl[(fl["kind"] == "output") & (fl["species"].astype(str) == "fabric")]["kg"]
    assert float(out.sum()) == pytest.approx(6 * 400.0)  # each lot leaves with its 400 kg


def test_stated_rework_recipe_is_used() -> None:
    r = run(dyeing([{"phase": "hold", "name": "re-dye", "duration": "1 h"}]),
            duration="3 d", warmup="0 s", seed=4)
    jet = r.tables["phases"]
    jet = jet[jet["station"].astype(str) == "jet"]
    reworks = int((r.tables["events"]["kind"] == "rework").sum())
    assert int((jet["phase"] == "re-dye").sum()) == reworks > 0
    assert int((jet["phase"] == "dye").sum()) == 6
