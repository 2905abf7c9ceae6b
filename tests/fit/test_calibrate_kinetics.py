"""Calibrating a reaction network, a dryer and a crystalliser by the same weighted least
squares: data generated from known parameters with measurement noise are fitted back, and
the 95 % intervals contain the truth at about their rate over repeated data sets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin.data.process import ReactNetwork
from twin.fit.calibrate import Batch, calibrate, predict
from twin.fit.kinetic_models import Crystalliser, Dryer, Network
from twin.process.network import kinetics_of

ROOT = Path(__file__).resolve().parents[2]


def _network(reactions: list[dict[str, Any]], t_ref: float = 340.0) -> Network:
    ph = ReactNetwork.model_validate({"phase": "react", "ua": "1 kW/K", "jacket": f"{t_ref} K",
                                      "reactions": reactions, "max_time": "1 h"})
    return Network(kinetics_of(ph), isothermal=True)


REVERSIBLE = _network([{"equation": "A + B <=> C", "k": "2e-6 m3/(mol*s)", "ea": "60 kJ/mol",
                        "dh": "-40 kJ/mol", "K": "5e-3 m3/mol"}])
TRUTH = {"r1.k_ref": 3e-6, "r1.ea": 70e3, "r1.K": 8e-3}


def _reversible_batches(model: Network, truth: dict[str, float], rng: np.random.Generator,
                        sd: float = 8.0) -> list[Batch]:
    """Isothermal batches at 325, 340 and 355 K (K follows van 't Hoff with dh), A and C
    sampled at 8 times."""
    t = np.repeat(np.linspace(900.0, 4 * 3600.0, 8), 2)
    var = np.array(["A", "C"] * 8)
    out = []
    for i, temp in enumerate((325.0, 340.0, 355.0)):
        b = Batch(f"B{i}", {"A": 1000.0, "B": 800.0 + 200 * i}, temp, 1.0, temp, t, var,
                  np.zeros(16), np.full(16, sd))
        b.value = predict(model, truth, b) + rng.normal(0.0, sd, 16)
        out.append(b)
    return out


def test_network_intervals_cover_the_truth_at_their_rate() -> None:
    """A + B <=> C with k_ref, Ea and K (at T_ref) fitted to 40 noisy data sets: each 95 %
    Jacobian interval contains the truth in 34 to 40 of them (0.95 +- 3 binomial standard
    deviations: 0.85 to 1)."""
    rng = np.random.default_rng(101)
    reps = 40
    hits = dict.fromkeys(TRUTH, 0)
    for _ in range(reps):
        cal = calibrate(REVERSIBLE, _reversible_batches(REVERSIBLE, TRUTH, rng), list(TRUTH))
        for p, t in TRUTH.items():
            lo, hi = cal.jacobian_ci[p]
            hits[p] += lo <= t <= hi
    assert all(34 <= h <= reps for h in hits.values()), hits


def test_network_orders_heat_and_ua_recovered_from_a_temperature_record() -> None:
    """Non-isothermal power-law A -> B with rate k c_A^1.5, jacketed: the order, the heat of
    reaction and UA are recovered from samples of A and a temperature record of two
    batches (each 95 % interval holds its truth; estimates within 5 %)."""
    base = _network([{"equation": "A -> B", "k": "2e-6 m**1.5/(mol**0.5*s)", "ea": "70 kJ/mol",
                      "dh": "-80 kJ/mol", "orders": {"A": 1.5}}], t_ref=340.0)
    model = Network(base.kinetics, ua=400.0, rho_cp=4e6, isothermal=False)
    truth = {"r1.order.A": 1.6, "r1.dh": -100e3, "ua": 300.0}
    rng = np.random.default_rng(7)
    t = np.arange(600.0, 3 * 3600.0 + 1, 600.0)
    batches = []
    for i, (c_a, tj) in enumerate(((1500.0, 335.0), (2000.0, 340.0))):
        var = np.r_[np.full(t.size, "A"), np.full(t.size, "T")]
        sd = np.where(var == "A", 10.0, 0.2)
        b = Batch(f"N{i}", {"A": c_a}, tj, 0.5, tj, np.r_[t, t], var, np.zeros(2 * t.size), sd)
        b.value = predict(model, truth, b) + rng.normal(0.0, sd)
        batches.append(b)
    cal = calibrate(model, batches, list(truth))
    for p, v in truth.items():
        lo, hi = cal.jacobian_ci[p]
        assert lo <= v <= hi, (p, lo, v, hi)
        assert cal.estimate[p] == pytest.approx(v, rel=0.05)


def test_unknown_network_parameter_is_named() -> None:
    from twin.fit.calibrate import CalibrationError

    b = _reversible_batches(REVERSIBLE, TRUTH, np.random.default_rng(1))
    with pytest.raises(CalibrationError, match="r1.k_ref_reverse"):
        calibrate(REVERSIBLE, b, ["r1.k_ref_reverse"])


# Water drying from a 1 kg (dry) layer on 1 m2: water M 18.015 g/mol, dH_vap 40.65 kJ/mol at
# its normal boiling point 373.15 K, liquid cp 4180 J/(kg K).
DRYER = Dryer(area=1.0, m_dry=1.0, cp_dry=1200.0, cp_solvent=4180.0, molar_mass=0.018015,
              dh_vap=40.65e3, t_boil=373.15, h_conv=40.0, k_mass=0.03, critical_content=0.4)


def test_drying_constants_recovered_from_moisture_and_temperature() -> None:
    """Two batches (air at 70 and 90 degC) sampled for moisture and layer temperature every
    5 min: h_conv, k_mass and the critical content are recovered, each 95 % interval holding
    its truth."""
    truth = {"h_conv": 55.0, "k_mass": 0.045, "critical_content": 0.3}
    rng = np.random.default_rng(3)
    t = np.arange(300.0, 2 * 3600.0 + 1, 300.0)
    batches = []
    for i, t_air in enumerate((343.15, 363.15)):
        var = np.r_[np.full(t.size, "X"), np.full(t.size, "T")]
        sd = np.where(var == "X", 0.005, 0.3)
        b = Batch(f"D{i}", {"X": 1.0}, 298.15, 1.0, t_air, np.r_[t, t], var,
                  np.zeros(2 * t.size), sd)
        b.value = predict(DRYER, truth, b) + rng.normal(0.0, sd)
        batches.append(b)
    cal = calibrate(DRYER, batches, list(truth))
    for p, v in truth.items():
        lo, hi = cal.jacobian_ci[p]
        assert lo <= v <= hi, (p, lo, v, hi)
        assert cal.estimate[p] == pytest.approx(v, rel=0.05)


CRYSTALLISER = Crystalliser(solubility=(0.02, 0.002, 0.00004), k_b=5e6, b=2.5, k_g=1e-7,
                            g=1.2)


def test_growth_and_nucleation_parameters_recovered() -> None:
    """Seeded cooling crystallisations from 60 to 5 degC over 3, 6 and 9 h: dissolved solute
    and Sauter mean size sampled; k_b, b, k_g and g are recovered, each 95 % interval
    holding its truth."""
    truth = {"k_b": 1e7, "b": 2.0, "k_g": 2e-7, "g": 1.5}
    rng = np.random.default_rng(23)
    batches = []
    for i, hours in enumerate((3.0, 6.0, 9.0)):
        t = np.linspace(0.5, hours + 1.0, 12) * 3600.0
        var = np.r_[np.full(t.size, "C"), np.full(t.size, "L32")]
        sd = np.where(var == "C", 0.002, 2e-6)
        b = Batch(f"K{i}", {"C": 0.28}, 333.15, 1.0, 278.15, np.r_[t, t], var,
                  np.zeros(2 * t.size), sd,
                  conditions={"t_cool": hours * 3600.0, "seed_mass": 0.002,
                              "seed_size": 100e-6})
        b.value = predict(CRYSTALLISER, truth, b) + rng.normal(0.0, sd)
        batches.append(b)
    cal = calibrate(CRYSTALLISER, batches, list(truth))
    for p, v in truth.items():
        lo, hi = cal.jacobian_ci[p]
        assert lo <= v <= hi, (p, lo, v, hi)


def test_cli_calibrates_a_network_and_writes_a_valid_spec(tmp_path: Path) -> None:
    """An esterification line (acid + ethanol <=> ester + water, K with van 't Hoff): acid
    and ester samples (mol/L) of three batches made with k and K off the spec's; twin
    calibrate fits r1.k_ref and r1.K, writes them into the reaction (k in its order's
    units), and the written spec validates with the truth within 5 %. Ethanol and water,
    not sampled, start from the recipe's charge."""
    import tomllib

    import pandas as pd
    import tomli_w

    from twin.data.checks import line_from_dict, load_line
    from twin.edges.cli import main
    from twin.fit.calibrate_spec import batches_from, model_for
    from twin.pilotdata.load import load

    sys.path.insert(0, str(ROOT / "tests" / "simulation"))
    from test_reaction_network import REACT, _line

    spec = tmp_path / "ester.toml"
    spec.write_text(tomli_w.dumps(_line(REACT)))
    line = load_line(spec)
    model, _ = model_for(line, "reactor")
    truth = {"r1.k_ref": model.kinetics.value("r1.k_ref") * 1.4, "r1.K": 3.0}
    starts = {f"E{i}": pd.Timestamp("2026-03-02T06:00:00Z") + pd.Timedelta(days=i)
              for i in range(3)}
    pd.DataFrame([{"batch": b, "unit": "reactor", "phase": "esterify",
                   "start": t0.isoformat(), "end": (t0 + pd.Timedelta(hours=20)).isoformat()}
                  for b, t0 in starts.items()]).to_csv(tmp_path / "records.csv", index=False)
    records = load(tmp_path / "records.csv", "batches").frame
    acid0 = {"E0": 4.5, "E1": 5.0, "E2": 5.5}  # mol/L sampled at the start

    def write(values: dict[tuple[str, float, str], float]) -> pd.DataFrame:
        rows = [{"batch": b, "time": (t0 + pd.Timedelta(hours=h)).isoformat(),
                 "species": v, "unit": "mol/L",
                 "concentration": (acid0[b] if v == "acid" else 0.0) if h == 0 else
                 values.get((b, h * 3600.0, v), 1.0) / 1000.0}
                for b, t0 in starts.items() for h in range(0, 11) for v in ("acid", "ester")]
        pd.DataFrame(rows).to_csv(tmp_path / "samples.csv", index=False)
        return load(tmp_path / "samples.csv", "samples").frame

    batches = batches_from(line, "reactor", write({}), records, {"acid": 30.0, "ester": 30.0})
    assert batches[0].c0["ethanol"] > 0 and batches[0].c0["acid"] == pytest.approx(4500.0)
    rng = np.random.default_rng(71)
    write({(b.name, t, v): y for b in batches for t, v, y in zip(
        b.time, b.variable, predict(model, truth, b) + rng.normal(0.0, b.sd), strict=True)})
    out = tmp_path / "cal.toml"
    assert main(["calibrate", str(spec), str(tmp_path / "samples.csv"), "--records",
                 str(tmp_path / "records.csv"), "--station", "reactor", "--params",
                 "r1.k_ref,r1.K", "--sd", "acid=30,ester=30", "-o", str(out)]) == 0
    new = line_from_dict(tomllib.loads(out.read_text()), "cal")
    rx = new.stations["reactor"].recipe[1].reactions[0]
    assert rx.k == pytest.approx(truth["r1.k_ref"], rel=0.05)
    assert rx.K == pytest.approx(truth["r1.K"], rel=0.05)


def test_segment_predictions_equal_one_kernel_run() -> None:
    """Predictions restart the kernel at every observation time (the crystalliser's cooling
    ramp restarted part-way); at the last time they equal one run of the phase kernel over
    the whole batch."""
    from twin.kernels import crystallisation as kc
    from twin.kernels import drying as kd

    t = np.array([1800.0, 5000.0, 9000.0, 20000.0, 30000.0])
    b = Batch("K", {"C": 0.28}, 333.15, 1.0, 278.15, t, np.full(5, "C"), np.zeros(5),
              np.ones(5), conditions={"t_cool": 6 * 3600.0, "seed_mass": 0.002,
                                      "seed_size": 100e-6})
    got = predict(CRYSTALLISER, {}, b)
    n_seed = 0.002 / (1300.0 * np.pi / 6 * 1e-12)
    p = kc.crystallisation_parameters(t_start=333.15, t_end=278.15, t_cool=6 * 3600.0,
                                      solubility=CRYSTALLISER.solubility, k_b=5e6, b=2.5,
                                      k_g=1e-7, g=1.2, rho_c=1300.0, m_solvent=1.0,
                                      heat_capacity=1.0)
    y0 = kc.crystallisation_state(concentration=0.28,
                                  seed_moments=tuple(n_seed * 1e-4 ** k for k in range(4)))
    whole = kc.run_crystallisation_phase(p, y0, t_end=9000.0, unit="k", phase="c",
                                         rtol=1e-10)
    assert got[2] == pytest.approx(whole.end_state[4], rel=1e-7)  # mid-ramp, 3rd segment
    d = Batch("D", {"X": 1.0}, 298.15, 1.0, 353.15, t, np.full(5, "X"), np.zeros(5),
              np.ones(5))
    p = kd.drying_parameters(area=1.0, m_dry=1.0, cp_dry=1200.0, cp_solvent=4180.0,
                             h_conv=40.0, k_mass=0.03, t_air=353.15, molar_mass=0.018015,
                             dh_vap=40.65e3, t_boil=373.15, x_crit=0.4)
    whole = kd.run_drying_phase(p, kd.drying_state(solvent_mass=1.0, temperature=298.15),
                                t_end=9000.0, unit="d", phase="d", rtol=1e-10)
    assert predict(DRYER, {}, d)[2] == pytest.approx(whole.end_state[0], rel=1e-7, abs=1e-10)
