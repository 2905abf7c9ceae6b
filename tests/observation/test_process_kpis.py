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


def media_line(air_capacity: str = "60 m3/h") -> dict:
    return {"line": {"name": "media"}, "products": {"lot": {}},
            "species": {"W": {"molar_mass": "0.018 kg/mol"}},
            "utilities": {"air": {"carrier": "compressed_air", "capacity": air_capacity},
                          "n2": {"carrier": "nitrogen", "specific_energy": "0.5 kWh/m3"},
                          "pw": {"carrier": "process_water"}},
            "stations": {
                "src": {"type": "source", "product": "lot",
                        "schedule": [{"at": "0 s", "quantity": 2}], "to": "unit"},
                "unit": {"type": "process", "to": "out", "recipe": [
                    {"phase": "charge", "duration": "1 min", "materials": {"W": "10 kg"}},
                    {"phase": "hold", "name": "blow", "duration": "30 min",
                     "uses": {"air": "20 m3", "n2": "4 m3", "pw": "0.5 m3"}}]},
                "out": {"type": "sink"}}}


def test_media_are_counted_by_volume_with_their_electricity() -> None:
    """Compressed air at the default 0.11 kWh/m3, nitrogen at the given 0.5 kWh/m3, water by
    volume only; 20 m3 in 30 min = 40 m3/h fits the 60 m3/h compressor."""
    r = run(media_line(), duration="1 d", warmup="0 s", seed=1)
    u = r.tables["utilities"].set_index("utility")
    assert u.loc["air", "volume_m3"] == pytest.approx(40.0)  # two lots
    assert u.loc["air", "electricity_kwh"] == pytest.approx(40.0 * 0.11)
    assert u.loc["n2", "electricity_kwh"] == pytest.approx(8.0 * 0.5)
    assert u.loc["pw", "volume_m3"] == pytest.approx(1.0)
    assert u.loc["pw", "electricity_kwh"] == 0.0
    assert u.loc["air", "load_integral_m3"] == pytest.approx(40.0)
    blow = r.tables["phases"].query("phase == 'blow'")
    assert (blow["end"] - blow["start"]).to_numpy() == pytest.approx(1800.0)


def test_a_small_compressor_slows_the_phase_and_caps_the_flow() -> None:
    """At 20 m3/h, 20 m3 take 1 h instead of 30 min; the load never exceeds the capacity."""
    r = run(media_line("20 m3/h"), duration="1 d", warmup="0 s", seed=1)
    blow = r.tables["phases"].query("phase == 'blow'")
    assert (blow["end"] - blow["start"]).to_numpy() == pytest.approx(3600.0)
    load = r.tables["utility_load"].query("utility == 'air'")["load"]
    assert load.max() == pytest.approx(20.0 / 3600.0)


@pytest.mark.parametrize("change, path, message", [
    (lambda d: d["stations"]["unit"]["recipe"][1]["uses"].update(nope="1 m3"),
     "stations.unit.recipe[1].uses.nope", "no utility named 'nope'"),
    (lambda d: d["utilities"].update(air={"carrier": "compressed_air", "capacity": "5 kW"}),
     "utilities.air", "expected a volume_flow"),
])
def test_media_problems_are_located(change, path: str, message: str) -> None:  # noqa: ANN001
    from twin.data.checks import validate

    data = media_line()
    change(data)
    spec, problems = validate(data)
    assert spec is None
    assert any(p.path == path and message in p.message for p in problems), problems


def test_thermal_maxima_recomputed_from_the_phases_table() -> None:
    """``peak_temperature_max_c`` and ``mtsr_max_c`` are the highest peak temperature and MTSR
    of the reaction phases ending in the observation window, as the stored ``phases`` table
    holds them (kernel values per phase), in degC; a line without reactions has NaN."""
    from pathlib import Path

    line = Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml"
    r = run(line, duration="2 d", warmup="12 h", seed=2)
    ph = r.tables["phases"]
    react = ph[(ph["kind"] == "react") & (ph["end"] >= 12 * 3600.0)]
    assert len(react) >= 1
    assert r.kpis["peak_temperature_max_c"] == pytest.approx(
        react["peak_temperature_K"].max() - 273.15, rel=1e-12)
    assert r.kpis["mtsr_max_c"] == pytest.approx(react["max_mtsr_K"].max() - 273.15, rel=1e-12)
    assert r.kpis["mtsr_max_c"] > r.kpis["peak_temperature_max_c"]  # a batch reaction
    plain = run(media_line(), duration="1 d", warmup="0 s", seed=1)
    assert plain.kpis["mtsr_max_c"] != plain.kpis["mtsr_max_c"]  # NaN
