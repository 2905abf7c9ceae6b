"""``water_kg`` counts all process water: cleaning water, charged water (a dyeing liquor) and
process-water media; counted here by hand from the recipe below."""

from __future__ import annotations

import pytest

from twin.orchestration.run import run


def dyeing_line(water_flag: bool = True) -> dict:
    """Two lots: each charges 400 kg fabric and 4000 kg liquor (water), rinses with 2 m3 of
    process water, drains the liquor to wastewater and is cleaned with 300 kg water."""
    return {"line": {"name": "dyeing"}, "products": {"lot": {}},
            "species": {"fabric": {"molar_mass": "1 kg/mol", "state": "solid"},
                        "liquor": {"molar_mass": "0.018 kg/mol", "water": water_flag}},
            "utilities": {"pw": {"carrier": "process_water"}},
            "stations": {
                "src": {"type": "source", "product": "lot",
                        "schedule": [{"at": "0 s", "quantity": 2}], "to": "jet"},
                "jet": {"type": "process", "to": "out", "recipe": [
                    {"phase": "charge", "duration": "10 min",
                     "materials": {"fabric": "400 kg", "liquor": "4000 kg"}},
                    {"phase": "hold", "name": "rinse", "duration": "30 min",
                     "uses": {"pw": "2 m3"}},
                    {"phase": "separate", "duration": "20 min", "solids_recovery": 1.0,
                     "cake_liquid": 0.0, "filtrate": "wastewater"},
                    {"phase": "clean", "duration": "30 min", "water": "300 kg"}]},
                "out": {"type": "sink"}}}


def test_water_kg_counts_liquor_media_and_cleaning_water() -> None:
    r = run(dyeing_line(), duration="1 d", warmup="0 s", seed=1)
    k = r.kpis
    assert k["water_kg"] == pytest.approx(2 * (4000.0 + 2000.0 + 300.0))
    assert k["cleaning_water_kg"] == pytest.approx(2 * 300.0)
    assert k["wastewater_kg"] == pytest.approx(2 * (4000.0 + 300.0))


def test_a_species_not_marked_as_water_is_not_counted() -> None:
    r = run(dyeing_line(water_flag=False), duration="1 d", warmup="0 s", seed=1)
    assert r.kpis["water_kg"] == pytest.approx(2 * (2000.0 + 300.0))
