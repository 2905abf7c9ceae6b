"""Calibrating the reactor kernel: a certified nonlinear least-squares problem reproduced,
interval coverage over repeated noisy data sets, identifiability warnings, validation on
held-out batches, and the calibrated spec written by ``twin calibrate``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin.fit.calibrate import Batch, Reactor, calibrate, predict, validate

ROOT = Path(__file__).resolve().parents[2]


def test_nist_boxbod_certified_optimum_is_reproduced() -> None:
    """NIST StRD nonlinear regression data set BoxBOD (Box et al. 1978, biochemical oxygen
    demand): y = b1 (1 - exp(-b2 x)) is the product of a first-order reaction A -> B with
    initial A = b1 and rate constant b2. Certified values: b1 = 213.80940889 (sd
    12.354515176), b2 = 0.54723748542 (sd 0.10455993237), residual sum of squares
    1168.0088766. Here the reactor kernel (isothermal, no heat) is the model."""
    x = np.array([1.0, 2.0, 3.0, 5.0, 7.0, 10.0])
    y = np.array([109.0, 149.0, 149.0, 191.0, 213.0, 224.0])
    b = Batch("bod", {"A": 100.0}, 300.0, 1.0, 300.0, x, np.array(["B"] * 6), y, np.ones(6))
    model = Reactor(k_ref=0.75, ea=50e3, t_ref=300.0)  # NIST start 2: b1 = 100, b2 = 0.75
    cal = calibrate(model, [b], ["k_ref", "A0@bod"])
    assert cal.estimate["A0@bod"] == pytest.approx(213.80940889, rel=1e-6)
    assert cal.estimate["k_ref"] == pytest.approx(0.54723748542, rel=1e-6)
    assert cal.ssr == pytest.approx(1168.0088766, rel=1e-8)
    assert cal.se["A0@bod"] == pytest.approx(12.354515176, rel=1e-4)
    assert cal.se["k_ref"] == pytest.approx(0.10455993237, rel=1e-4)


def _batches(model: Reactor, truth: dict[str, float], rng: np.random.Generator,
             temps: tuple[float, ...] = (330.0, 340.0, 350.0, 360.0), sd: float = 10.0
             ) -> list[Batch]:
    """Isothermal batches (one per temperature) sampled for A and B at 8 times."""
    out = []
    t = np.repeat(np.linspace(600.0, 3.6e4, 8), 2)
    var = np.array(["A", "B"] * 8)
    for i, temp in enumerate(temps):
        b = Batch(f"B{i}", {"A": 1000.0}, temp, 1.0, temp, t, var, np.zeros(16),
                  np.full(16, sd))
        b.value = predict(model, truth, b) + rng.normal(0.0, sd, 16)
        out.append(b)
    return out


MODEL = Reactor(k_ref=5e-5, ea=60e3, t_ref=345.0)
TRUTH = {"k_ref": 8e-5, "ea": 75e3}


@pytest.mark.slow
def test_recovered_intervals_cover_the_truth_at_their_rate() -> None:
    """60 noisy data sets from known k_ref and Ea: both 95% Jacobian intervals contain the
    truth in 0.85-1.0 of them (3 binomial standard deviations around 0.95)."""
    rng = np.random.default_rng(31)
    hits = {"k_ref": 0, "ea": 0}
    reps = 60
    for _ in range(reps):
        cal = calibrate(MODEL, _batches(MODEL, TRUTH, rng), ["k_ref", "ea"])
        for p, t in TRUTH.items():
            lo, hi = cal.jacobian_ci[p]
            hits[p] += lo <= t <= hi
    for p in hits:
        assert 0.85 <= hits[p] / reps <= 1.0, (p, hits[p])


def test_profile_and_jacobian_intervals_agree_for_a_well_determined_fit() -> None:
    rng = np.random.default_rng(37)
    cal = calibrate(MODEL, _batches(MODEL, TRUTH, rng, sd=2.0), ["k_ref", "ea"], profile=True)
    for p in TRUTH:
        (a, b), (lo, hi) = cal.profile_ci[p], cal.jacobian_ci[p]
        assert a == pytest.approx(lo, rel=0.02) and b == pytest.approx(hi, rel=0.02)
    assert abs(cal.correlation[0, 1]) < 0.5  # k_ref at T_ref near the data: nearly apart
    assert cal.warnings == []


def test_activation_energy_from_one_temperature_is_flagged() -> None:
    rng = np.random.default_rng(41)
    one = _batches(MODEL, TRUTH, rng, temps=(345.0,))
    cal = calibrate(MODEL, one, ["k_ref", "ea"])
    assert any("ill-conditioned" in w and "weakest: ea" in w for w in cal.warnings), \
        cal.warnings


def test_validation_on_held_out_batches_passes_and_fails() -> None:
    rng = np.random.default_rng(43)
    fit_b = _batches(MODEL, TRUTH, rng)
    cal = calibrate(MODEL, fit_b, ["k_ref", "ea"])
    same = _batches(MODEL, TRUTH, rng, temps=(335.0, 355.0))
    v = validate(MODEL, cal, fit_b, same)
    assert v.passed and {r["variable"] for r in v.rows} == {"A", "B"}
    other = _batches(MODEL, TRUTH | {"ea": 95e3}, rng, temps=(320.0, 370.0))
    bad = validate(MODEL, cal, fit_b, other)
    assert not bad.passed and "VALIDATION FAILED" in bad.message
    # metrics recomputed from the predictions
    b = other[0]
    e = predict(MODEL, cal.estimate, b)[b.variable == "A"] - b.value[b.variable == "A"]
    e2 = predict(MODEL, cal.estimate, other[1])[other[1].variable == "A"] - \
        other[1].value[other[1].variable == "A"]
    row = next(r for r in bad.rows if r["variable"] == "A")
    assert row["rmse"] == pytest.approx(float(np.sqrt(np.mean(np.r_[e, e2] ** 2))))


def test_cli_writes_the_calibrated_spec_and_report(tmp_path: Path) -> None:
    """api_batch reactor: samples of A and B in three batches made with a higher Ea than
    the spec's; twin calibrate moves Ea to the truth, writes a valid spec with the new k0
    and Ea, the data hash in its header, and a report with a passed validation."""
    from twin.data.checks import line_from_dict, load_line
    from twin.edges.cli import main
    from twin.fit.calibrate_spec import model_for

    spec = ROOT / "lines" / "api_batch" / "line.toml"
    line = load_line(spec)
    model, ph = model_for(line, "reactor", 4.0e6)
    truth = {"k_ref": model.k_ref * 1.3, "ea": ph.ea * 1.1}
    rng = np.random.default_rng(47)
    samples, records = [], []
    start = pd.Timestamp("2026-03-02T06:00:00Z")
    for i, c_a in enumerate((900.0, 1000.0, 1100.0, 1000.0)):
        t0 = start + pd.Timedelta(days=i)
        times = np.repeat(np.linspace(0.0, 4 * 3600.0, 9), 2)
        var = np.array(["A", "B"] * 9)
        b = Batch(f"B{i}", {"A": c_a}, ph.jacket, line.stations["reactor"].volume, ph.jacket,
                  times, var, np.zeros(18), np.ones(18))
        y = predict(model, truth, b) + rng.normal(0, 5.0, 18)
        y[0], y[1] = c_a, 0.0  # the first sample is the charge
        for t, v, c in zip(times, var, y, strict=True):
            samples.append({"batch": b.name, "time": (t0 + pd.Timedelta(seconds=t)).isoformat(),
                            "species": v, "concentration": c / 1000.0, "unit": "mol/L"})
        records.append({"batch": b.name, "unit": "reactor", "phase": "react",
                        "start": t0.isoformat(), "end": (t0 + pd.Timedelta(hours=5)).isoformat()})
    pd.DataFrame(samples).to_csv(tmp_path / "samples.csv", index=False)
    pd.DataFrame(records).to_csv(tmp_path / "records.csv", index=False)
    out = tmp_path / "calibrated.toml"
    code = main(["calibrate", str(spec), str(tmp_path / "samples.csv"), "--records",
                 str(tmp_path / "records.csv"), "--station", "reactor", "--params", "k_ref,ea",
                 "--sd", "A=5,B=5", "--test", "B3", "-o", str(out)])
    assert code == 0
    text = out.read_text()
    assert "sha256" in text and "held out: B3" in text
    new = line_from_dict(tomllib.loads(text), base_dir=spec.parent)
    react = next(p for p in new.stations["reactor"].recipe if p.phase == "react")
    assert react.ea == pytest.approx(truth["ea"], rel=0.03)
    k_ref = react.k0 * np.exp(-react.ea / (8.314462618 * model.t_ref))
    assert k_ref == pytest.approx(truth["k_ref"], rel=0.05)
    report = out.with_suffix(".calibration.md").read_text()
    assert "predicts the held-out batches within tolerance" in report
    assert out.with_suffix(".parity.png").exists()
    rec = new.calibration["reactor"]  # the joint distribution goes with the spec
    assert rec.parameters == ["k_ref", "ea"] and rec.scale == ["log", "log"]
    assert rec.estimate[1] == pytest.approx(react.ea, rel=1e-7)
    assert rec.data_sha256 in text.splitlines()[1] and rec.t_ref == model.t_ref


def test_cli_fits_heat_of_reaction_and_ua_to_a_temperature_series(tmp_path: Path) -> None:
    """Non-isothermal: reactor temperatures (historian tag in degC, mapped by the tag map to
    temperature.reactor) and samples of A from two batches made with dH and UA off the
    spec's; twin calibrate --series recovers both within 5 %."""
    from twin.data.checks import load_line
    from twin.edges.cli import main
    from twin.fit.calibrate_spec import model_for

    spec = ROOT / "lines" / "api_batch" / "line.toml"
    line = load_line(spec)
    model, ph = model_for(line, "reactor", 4.0e6)
    truth = {"dh": ph.dh * 0.8, "ua": ph.ua * 1.2}
    rng = np.random.default_rng(53)
    samples, records, series = [], [], []
    for i, c_a in enumerate((800.0, 1200.0)):
        t0 = pd.Timestamp("2026-03-02T06:00:00Z") + pd.Timedelta(days=i)
        ts = np.arange(0.0, 4 * 3600.0 + 1, 600.0)
        b = Batch(f"B{i}", {"A": c_a}, ph.jacket, line.stations["reactor"].volume, ph.jacket,
                  np.r_[ts, ts], np.r_[np.full(ts.size, "A"), np.full(ts.size, "T")],
                  np.zeros(2 * ts.size), np.ones(2 * ts.size))
        y = predict(model, truth, b)
        a, temp = y[: ts.size] + rng.normal(0, 5.0, ts.size), y[ts.size:] + rng.normal(
            0, 0.2, ts.size)
        a[0], temp[0] = c_a, ph.jacket
        for t, ca_, tk in zip(ts, a, temp, strict=True):
            when = (t0 + pd.Timedelta(seconds=t)).isoformat()
            samples.append({"batch": b.name, "time": when, "species": "A",
                            "concentration": ca_, "unit": "mol/m3"})
            series.append({"time": when, "tag": "TI-R1", "value": tk - 273.15, "unit": "degC",
                           "quality": "good"})
        records.append({"batch": b.name, "unit": "reactor", "phase": "react",
                        "start": t0.isoformat(), "end": (t0 + pd.Timedelta(hours=5)).isoformat()})
    for name, rows in (("samples", samples), ("records", records), ("series", series)):
        pd.DataFrame(rows).to_csv(tmp_path / f"{name}.csv", index=False)
    (tmp_path / "tags.csv").write_text("tag,signal,unit\nTI-R1,temperature.reactor,degC\n")
    out = tmp_path / "cal.toml"
    assert main(["calibrate", str(spec), str(tmp_path / "samples.csv"), "--records",
                 str(tmp_path / "records.csv"), "--series", str(tmp_path / "series.csv"),
                 "--tags", str(tmp_path / "tags.csv"), "--station", "reactor",
                 "--params", "dh,ua", "--sd", "A=5,T=0.2", "-o", str(out)]) == 0
    react = tomllib.loads(out.read_text())["stations"]["reactor"]["recipe"]
    phase = next(p for p in react if p["phase"] == "react")
    assert float(phase["dh"].split()[0]) == pytest.approx(truth["dh"], rel=0.05)
    assert float(phase["ua"].split()[0]) == pytest.approx(truth["ua"], rel=0.05)


def test_fermentation_monod_and_yield_recovered_from_batches() -> None:
    """Fermentation kernel, three batches with their own initial substrate (one fed):
    biomass and substrate samples with noise; mu_max, ks and y_xs are recovered within 10 %
    and each 95% interval contains its truth (seeded data set)."""
    from twin.fit.calibrate import Fermenter

    truth = {"mu_max": 0.4 / 3600, "ks": 1.0, "y_xs": 0.5}
    model = Fermenter(mu_max=0.3 / 3600, ks=0.5, y_xs=0.4, y_xo=1.0, kla=0.5)
    rng = np.random.default_rng(59)
    batches = []
    t = np.repeat(np.arange(1, 13) * 3600.0, 2)
    var = np.array(["X", "S"] * 12)
    sd = np.where(var == "X", 0.05, 0.1)
    for i, s0 in enumerate((8.0, 15.0, 25.0)):
        feed = {"s_feed": 200.0, "f0": 2e-7, "t_feed_start": 6 * 3600.0} if i == 2 else {}
        b = Batch(f"F{i}", {"X": 0.2, "S": s0}, 303.0, 0.01, 303.0, t, var, np.zeros(24), sd,
                  feed)
        b.value = predict(model, truth, b) + rng.normal(0.0, sd)
        batches.append(b)
    cal = calibrate(model, batches, list(truth))
    for p, v in truth.items():
        assert cal.estimate[p] == pytest.approx(v, rel=0.1)
        lo, hi = cal.jacobian_ci[p]
        assert lo <= v <= hi


def test_cli_calibrates_the_production_fermenter(tmp_path: Path) -> None:
    """fermentation line, fed-batch production fermenter: biomass and glucose samples (g/L)
    of three batches made with mu_max and y_xs off the spec's; twin calibrate recovers both
    and writes them into the ferment phase."""
    from twin.data.checks import load_line
    from twin.edges.cli import main
    from twin.fit.calibrate_spec import batches_from, model_for
    from twin.pilotdata.load import load

    spec = ROOT / "lines" / "fermentation" / "line.toml"
    line = load_line(spec)
    model, ph = model_for(line, "production")
    truth = {"mu_max": ph.mu_max * 0.8, "y_xs": 0.45}
    initial = {"P0": (0.5, 20.0), "P1": (0.8, 25.0), "P2": (0.6, 30.0)}
    name = {"X": "biomass", "S": "glucose"}
    starts = {b: pd.Timestamp("2026-03-02T06:00:00Z") + pd.Timedelta(days=2 * i)
              for i, b in enumerate(initial)}
    pd.DataFrame([{"batch": b, "unit": "production", "phase": "fed-batch",
                   "start": t0.isoformat(), "end": (t0 + pd.Timedelta(hours=12)).isoformat()}
                  for b, t0 in starts.items()]).to_csv(tmp_path / "records.csv", index=False)
    records = load(tmp_path / "records.csv", "batches").frame

    def write(values: dict[tuple[str, float, str], float]) -> pd.DataFrame:
        rows = [{"batch": b, "time": (t0 + pd.Timedelta(hours=h)).isoformat(),
                 "species": name[v], "unit": "g/L",
                 "concentration": initial[b][v == "S"] if h == 0 else
                 max(values.get((b, h * 3600.0, v), 1.0), 0.0)}
                for b, t0 in starts.items() for h in range(13) for v in ("X", "S")]
        pd.DataFrame(rows).to_csv(tmp_path / "samples.csv", index=False)
        return load(tmp_path / "samples.csv", "samples").frame

    # the sample times and initial states through the same batch builder the command uses
    batches = batches_from(line, "production", write({}), records, {"X": 0.1, "S": 0.2})
    rng = np.random.default_rng(61)
    write({(b.name, t, v): y for b in batches for t, v, y in zip(
        b.time, b.variable, predict(model, truth, b) + rng.normal(0.0, b.sd), strict=True)})
    out = tmp_path / "cal.toml"
    assert main(["calibrate", str(spec), str(tmp_path / "samples.csv"), "--records",
                 str(tmp_path / "records.csv"), "--station", "production",
                 "--params", "mu_max,y_xs", "--sd", "X=0.1,S=0.2", "-o", str(out)]) == 0
    recipe = tomllib.loads(out.read_text())["stations"]["production"]["recipe"]
    phase = next(p for p in recipe if p["phase"] == "ferment")
    assert float(phase["mu_max"].split()[0]) == pytest.approx(truth["mu_max"], rel=0.05)
    assert phase["y_xs"] == pytest.approx(truth["y_xs"], rel=0.05)
