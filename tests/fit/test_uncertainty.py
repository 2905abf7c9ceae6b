"""Parameter uncertainty after a calibration: the record's covariance against certified
standard errors, and the prediction band from draws of the record against the delta-method
band."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from twin.data.calibration import CalibrationRecord
from twin.data.checks import load_line
from twin.fit.calibrate import Batch, Reactor, calibrate, predict
from twin.fit.uncertainty import delta_band, record, sample_band

ROOT = Path(__file__).resolve().parents[2]


def _react_phase():
    line = load_line(ROOT / "lines" / "api_batch" / "line.toml")
    return line.stations["reactor"].recipe[2]


def test_record_holds_the_certified_covariance_of_boxbod() -> None:
    """NIST StRD BoxBOD (certified b2 = 0.54723748542, sd 0.10455993237): k_ref is fitted on
    the log scale, so its recorded variance is (sd / b2)^2; the batch's initial value A0 is
    left out of the record (its marginal is the sub-matrix)."""
    x = np.array([1.0, 2.0, 3.0, 5.0, 7.0, 10.0])
    y = np.array([109.0, 149.0, 149.0, 191.0, 213.0, 224.0])
    b = Batch("bod", {"A": 100.0}, 300.0, 1.0, 300.0, x, np.array(["B"] * 6), y, np.ones(6))
    model = Reactor(k_ref=0.75, ea=50e3, t_ref=300.0)
    cal = calibrate(model, [b], ["k_ref", "A0@bod"])
    rec = CalibrationRecord.model_validate(record(model, cal, _react_phase(), 2, digest="ab"))
    assert rec.parameters == ["k_ref"] and rec.scale == ["log"] and rec.t_ref == 300.0
    assert rec.estimate[0] == pytest.approx(0.54723748542, rel=1e-6)
    assert rec.covariance[0][0] == pytest.approx((0.10455993237 / 0.54723748542) ** 2,
                                                 rel=2e-4)
    assert rec.dof == 4 and rec.data_sha256 == "ab"


def test_band_from_draws_matches_the_delta_method_band() -> None:
    """k_ref and Ea fitted to isothermal batches at 330 and 360 K (sd 1 %); predicted B at a
    new temperature (345 K): the 2.5-97.5 % quantiles over 1500 draws of the record agree
    with the delta-method band within 8 % of its width at every time (Monte Carlo error of
    a 2.5 % quantile over 1500 draws: about 2 % of the width)."""
    model = Reactor(k_ref=5e-5, ea=60e3, t_ref=345.0)
    truth = {"k_ref": 8e-5, "ea": 75e3}
    rng = np.random.default_rng(5)
    t = np.repeat(np.linspace(1800.0, 3.6e4, 5), 2)
    var = np.array(["A", "B"] * 5)
    batches = []
    for i, temp in enumerate((330.0, 360.0)):
        b = Batch(f"B{i}", {"A": 1000.0}, temp, 1.0, temp, t, var, np.zeros(10),
                  np.full(10, 10.0))
        b.value = predict(model, truth, b) + rng.normal(0.0, 10.0, 10)
        batches.append(b)
    cal = calibrate(model, batches, ["k_ref", "ea"])
    rec = record(model, cal, _react_phase(), 2)
    new = Batch("new", {"A": 1000.0}, 345.0, 1.0, 345.0, t[::2], np.array(["B"] * 5),
                np.zeros(5), np.ones(5))
    yhat, lo, hi = delta_band(model, cal, new)
    mid, s_lo, s_hi = sample_band(model, rec, new, n=1500, seed=0)
    width = hi - lo
    assert np.all(width > 5.0)  # a band worth comparing (B in mol/m3)
    assert np.all(np.abs(s_lo - lo) <= 0.08 * width), (s_lo, lo)
    assert np.all(np.abs(s_hi - hi) <= 0.08 * width), (s_hi, hi)
    assert np.all(np.abs(mid - yhat) <= 0.05 * width)
    # closed form at T = T_ref: B = A0 (1 - exp(-k t)) with k = k_ref whatever Ea, so the
    # delta-method sd is A0 k t exp(-k t) sd(ln k_ref)
    k, tt = cal.estimate["k_ref"], new.time
    sd = 1000.0 * k * tt * np.exp(-k * tt) * math.sqrt(cal.covariance[0, 0])
    assert (hi - lo) / 2 == pytest.approx(1.959963984540054 * sd, rel=1e-4)


def test_twin_run_samples_the_calibrated_parameters(tmp_path: Path, capsys) -> None:
    """twin run --calibrated sample --replications 2 --seed 3: the stored runs hold draws 3
    and 4 of the record (their spec in the provenance), the UA of each the draw's."""
    import json

    import tomli_w

    from twin.data.calibration import draw
    from twin.data.checks import read_toml
    from twin.edges.cli import main

    data = read_toml(ROOT / "lines" / "api_batch" / "line.toml")
    data["calibration"] = {"reactor": {
        "phase": 2, "parameters": ["ua"], "scale": ["log"], "estimate": [2400.0],
        "covariance": [[0.01]]}}
    spec = tmp_path / "line.toml"
    spec.write_text(tomli_w.dumps(data))
    out = tmp_path / "runs"
    assert main(["run", str(spec), "--calibrated", "sample", "--replications", "2",
                 "--seed", "3", "--duration", "1d", "--warmup", "0s", "--json",
                 "--out", str(out)]) == 0
    folders = json.loads(capsys.readouterr().out)["folders"]
    rec = load_line(spec).calibration["reactor"]
    for folder, seed in zip(folders, (3, 4), strict=True):
        params = json.loads((Path(folder) / "run.json").read_text())["provenance"]["parameters"]
        assert params["calibration"]["reactor"]["draw"] == seed
        ua = params["stations"]["reactor"]["recipe"][2]["ua"]
        assert float(ua.split()[0]) == pytest.approx(draw(rec, seed)["ua"], rel=1e-12)


def test_a_sweep_gives_replication_r_draw_seed_plus_r(tmp_path: Path) -> None:
    """A scenario with [run] calibrated = "sample": replication r of every design point
    holds draw seed + r (the same in both points: common random numbers)."""
    import json

    import tomli_w

    from twin.data.calibration import draw
    from twin.data.checks import read_toml
    from twin.orchestration.scenario import Scenario
    from twin.orchestration.sweep import run_study

    data = read_toml(ROOT / "lines" / "api_batch" / "line.toml")
    data["calibration"] = {"reactor": {
        "phase": 2, "parameters": ["ua"], "scale": ["log"], "estimate": [2400.0],
        "covariance": [[0.01]]}}
    (tmp_path / "line.toml").write_text(tomli_w.dumps(data))
    sc = Scenario.from_dict({
        "name": "mc", "line": "line.toml",
        "run": {"duration": "12 h", "warmup": "0 s", "replications": 2, "seed": 4,
                "calibrated": "sample"},
        "sweep": {"factors": {"stations.reactor.buffer": {"levels": [2, 3]}}}},
        base_dir=tmp_path)
    study = run_study(sc, tmp_path / "studies", executor="serial")
    rec = load_line(tmp_path / "line.toml").calibration["reactor"]
    for task in study.meta["tasks"]:
        run = json.loads((study.runs_dir / task["run_id"] / "run.json").read_text())
        params = run["provenance"]["parameters"]
        assert params["calibration"]["reactor"]["draw"] == 4 + task["replication"]
        ua = float(params["stations"]["reactor"]["recipe"][2]["ua"].split()[0])
        assert ua == pytest.approx(draw(rec, 4 + task["replication"])["ua"], rel=1e-12)
