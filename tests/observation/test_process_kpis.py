"""Process KPIs: the E-factor counts every loss but recovered solvent (Sheldon's definition)."""

from __future__ import annotations

import pytest

from twin.orchestration.run import run


def test_e_factor_counts_losses_but_not_recovered_solvent() -> None:
    """Charge 100 kg solid P, 20 kg dissolved D, 300 kg solvent S; filter with 90 % solids
    recovery and 0.5 kg liquid per kg of cake solid, filtrate to solvent recovery. Product:
    90 kg P + 45 kg liquid (D and S in proportion). Losses: 10 kg P (in the filtrate) +
    the D in the filtrate; recovered S is not a loss."""
    species = {
        "P": {"molar_mass": "0.2 kg/mol", "state": "solid"},
        "D": {"molar_mass": "0.2 kg/mol", "state": "dissolved"},
        "S": {"molar_mass": "0.09 kg/mol", "voc": True, "dh_vap": "36 kJ/mol",
              "t_boil": "110 degC"},
    }
    line = {"line": {"name": "ef"}, "products": {"lot": {}}, "species": species,
            "stations": {
                "src": {"type": "source", "product": "lot", "schedule": [{"at": "0 s"}],
                        "to": "filter"},
                "filter": {"type": "process", "to": "out", "recipe": [
                    {"phase": "charge", "duration": "1 min", "temperature": "20 degC",
                     "materials": {"P": "100 kg", "D": "20 kg", "S": "300 kg"}},
                    {"phase": "separate", "duration": "1 h", "solids_recovery": 0.9,
                     "cake_liquid": 0.5, "filtrate": "recovered"}]},
                "out": {"type": "sink"}}}
    r = run(line, duration="1 d", warmup="0 s", seed=1)
    fl = r.tables["flows"]
    vented = fl.loc[fl["kind"] == "emission", "kg"].sum()  # charging vent (no abatement)
    s_left = 300.0 - vented
    d_kept = 45.0 * 20.0 / (20.0 + s_left)
    losses = 10.0 + (20.0 - d_kept) + vented
    product = 90.0 + 45.0
    assert r.kpis["product_kg"] == pytest.approx(product)
    assert r.kpis["e_factor"] == pytest.approx(losses / product, rel=1e-9)
