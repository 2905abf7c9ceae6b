"""Thermal-safety assessment of a reaction-network phase: the heat generation, adiabatic rise,
cooling-failure scan and Stoessel class of a network agree with hand calculations and, for a
single reaction, with the legacy react phase of the same chemistry."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

from twin.data.checks import line_from_dict
from twin.process import safety

R = 8.314462618
TP = 323.15  # the charge temperature and the jacket [K]
K_TP, EA, DH, UA = 2e-4, 80e3, -150e3, 2000.0
SPECIES = {
    "A": {"molar_mass": "0.1 kg/mol", "density": "1000 kg/m3", "cp": "2000 J/(kg*K)"},
    "B": {"molar_mass": "0.1 kg/mol", "density": "1000 kg/m3", "cp": "2000 J/(kg*K)"},
    "C": {"molar_mass": "0.1 kg/mol", "density": "1000 kg/m3", "cp": "2000 J/(kg*K)"},
    "tol": {"molar_mass": "0.09214 kg/mol", "density": "867 kg/m3", "cp": "2000 J/(kg*K)",
            "voc": True, "dh_vap": "36.6 kJ/mol", "t_boil": "383.75 K"},
}
NETWORK = {"phase": "react", "name": "react", "ua": f"{UA} W/K", "jacket": f"{TP} K",
           "max_time": "10 h",
           "reactions": [{"equation": "A -> B", "k": f"{K_TP} 1/s", "ea": f"{EA} J/mol",
                          "dh": f"{DH} J/mol"}]}
LEGACY = {"phase": "react", "name": "react", "reactant": "A", "product": "B",
          "k0": f"{K_TP * math.exp(EA / (R * TP))!r} 1/s", "ea": f"{EA} J/mol",
          "dh": f"{DH} J/mol", "ua": f"{UA} W/K", "jacket": f"{TP} K", "max_time": "10 h"}


def _line(react: dict[str, Any]):
    recipe = [{"phase": "charge", "name": "charge", "duration": "10 min",
               "temperature": f"{TP} K", "materials": {"A": "200 kg", "tol": "800 kg"}},
              react, {"phase": "transfer", "name": "out", "duration": "20 min"}]
    return line_from_dict({
        "line": {"name": "safety"}, "products": {"batch": {}}, "species": SPECIES,
        "stations": {
            "src": {"type": "source", "product": "batch",
                    "schedule": [{"at": "0 s", "quantity": 1}], "to": "reactor"},
            "reactor": {"type": "process", "volume": "2 m3", "recipe": recipe, "to": "out"},
            "out": {"type": "sink"}}}, "safety")


def test_one_reaction_network_is_assessed_as_the_legacy_phase_and_by_hand() -> None:
    """A -> B, first order: 2000 mol of A in 200 kg of A and the toluene left after the
    charge (some evaporates: its VOC emission), all at 2000 J/(kg K).
    Hand: generation (-dH) k(Tp) n_A = 150e3 * 2e-4 * 2000 = 60 kW; dT_ad = 150e3 * 2000 /
    (2000 (200 + m_tol)), about 150 K; the network's Semenov figures equal the legacy
    phase's; the worst cooling failure of both kernels reaches the same temperature (a
    single reaction's adiabatic end is its MTSR at the failure) at nearly the same time;
    with MTSR 473.15 K, MTT 383.75 K (toluene boils) and TD24 400 K the class is 4 (Tp <
    MTT < TD24 < MTSR: Stoessel 2008, ch. 3.4), as for the legacy phase."""
    net, old = _line(NETWORK), _line(LEGACY)
    sem, ref = safety.semenov(net, "reactor"), safety.semenov(old, "reactor")
    assert sem["generation_W"] == pytest.approx(60e3, rel=1e-9)
    mass, _, _, mat = safety.reaction_entry(net, "reactor")
    dt_ad = 150e3 * 2000 / (2000 * (200 + mass[mat.code("tol")]))
    assert sem["dt_ad_K"] == pytest.approx(dt_ad, rel=1e-9)
    for key in ("generation_W", "removal_W", "cooling_ratio", "dt_ad_K", "stable_rise_K"):
        assert sem[key] == pytest.approx(ref[key], rel=1e-9, nan_ok=True), key
    worst, worst_ref = (safety.cooling_failure_scan(line, "reactor", n_grid=4)
                        for line in (net, old))
    assert worst.max_temperature == pytest.approx(worst_ref.max_temperature, abs=0.05)
    assert worst.max_temperature == pytest.approx(worst.mtsr_at_failure, abs=0.05)
    assert worst.time_to_max == pytest.approx(worst_ref.time_to_max, rel=0.02)
    assert safety.max_technical_temperature(net, "reactor") == pytest.approx(383.75)
    verdicts = [safety.assessment(line, "reactor", max_mtsr=473.15, t_mtt=383.75, td24=400.0,
                                  worst_failure=worst.max_temperature) for line in (net, old)]
    assert [v.criticality_class for v in verdicts] == [4, 4]
    assert verdicts[0].dt_ad == pytest.approx(dt_ad, rel=1e-9)
    assert verdicts[0].severity == verdicts[1].severity


def test_series_network_releases_both_heats_and_weights_activation_energies() -> None:
    """A -> B (dH1 = -150 kJ/mol) then B -> C (dH2 = -50 kJ/mol), B not charged: at the start
    only the first reaction runs, so the generation is 60 kW at its Ea; the releasable heat
    is n_A (150 + 50) kJ/mol = 400 MJ: dT_ad = 4e8 / (2000 (200 + m_tol)), about 200 K."""
    react = copy.deepcopy(NETWORK)
    react["reactions"].append({"equation": "B -> C", "k": "1e-4 1/s", "ea": "120 kJ/mol",
                               "dh": "-50 kJ/mol"})
    line = _line(react)
    sem = safety.semenov(line, "reactor")
    assert sem["generation_W"] == pytest.approx(60e3, rel=1e-9)
    mass, _, _, mat = safety.reaction_entry(line, "reactor")
    assert sem["dt_ad_K"] == pytest.approx(4e8 / (2000 * (200 + mass[mat.code("tol")])),
                                           rel=1e-9)
    # with B charged as well, both reactions generate: q2 = 50e3 * 1e-4 * 1000 = 5 kW and
    # the effective Ea is (60 * 80 + 5 * 120) / 65 kJ/mol
    mass = np.zeros(len(mat.names))
    mass[mat.code("A")], mass[mat.code("B")], mass[mat.code("tol")] = 200.0, 100.0, 800.0
    q, ea, releasable = safety.network_heat(line.stations["reactor"].recipe[1], mass, TP, mat)
    assert q == pytest.approx(65e3, rel=1e-9)
    assert ea == pytest.approx((60 * 80e3 + 5 * 120e3) / 65, rel=1e-9)
    assert releasable == pytest.approx(2000 * 200e3 + 1000 * 50e3, rel=1e-9)


def test_monte_carlo_over_legacy_parameters_refuses_a_network() -> None:
    with pytest.raises(ValueError, match="reaction network"):
        safety.monte_carlo(_line(NETWORK), "reactor", n=2)


def test_scale_up_study_of_a_network_line_gives_a_stoessel_class(tmp_path) -> None:
    """One scale, one replication of 12 h: the row has the run's MTSR, the Stoessel class
    from it (about 200 degC: above TD24 150 degC above MTT 110.6 degC: class 4), the worst
    cooling failure, and no selectivity (a network has no single product)."""
    from twin.orchestration.scaleup_study import study

    res = study(_line(NETWORK), "reactor", ["2 m3"], replications=1, duration="12 h",
                warmup=0.0, out=tmp_path, td24=423.15)
    row = res.table.iloc[0]
    assert row["max_mtsr_C"] > 150.0 and row["mtt_C"] == pytest.approx(110.6)
    assert row["stoessel_class"] == 4
    assert math.isnan(row["selectivity"])
    assert row["worst_cooling_failure_C"] == pytest.approx(row["max_mtsr_C"], abs=0.5)
