"""The ``[calibration]`` record of a line spec: draws from the recorded joint distribution
(mean and covariance checked statistically), the phase moved to a draw, runs that sample the
parameters (seeded, deterministic, the same draw in every configuration), and located errors
for records that cannot be right."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from twin.data.calibration import R_GAS, CalibrationRecord, draw, draws, phase_updates
from twin.data.checks import SpecError, line_from_dict, read_toml

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "lines" / "api_batch" / "line.toml"
T_REF = 333.15
COV = [[0.04, 0.012, -0.5], [0.012, 0.01, 0.2], [-0.5, 0.2, 100.0]]


def _api_data() -> dict:
    return read_toml(API)


def _record(line_data: dict, cov: list[list[float]] = COV) -> dict:
    """A record of the api_batch react phase (index 2) at the spec's own values: k_ref at
    T_REF from k0 = 2.9e8 1/s and Ea = 80 kJ/mol, UA 2.4 kW/K (log scale) and dH = -120
    kJ/mol (linear)."""
    k_ref = 2.9e8 * math.exp(-80e3 / (R_GAS * T_REF))
    return {"phase": 2, "parameters": ["k_ref", "ua", "dh"], "scale": ["log", "log", "linear"],
            "estimate": [k_ref, 2400.0, -120e3], "covariance": cov, "t_ref": f"{T_REF} K",
            "dof": 20}


def test_draws_have_the_recorded_mean_and_covariance() -> None:
    """4000 draws: every mean within 4 standard errors of the recorded centre (sd/sqrt(n)),
    every covariance entry within 4 standard errors of the recorded one (the variance of a
    sample covariance of normal data is (s_ii s_jj + s_ij^2) / n, Anderson 2003, 3.4)."""
    rec = CalibrationRecord.model_validate(_record({}))
    n = 4000
    z = draws(rec, n)
    cov = np.array(COV)
    centre = np.array([math.log(rec.estimate[0]), math.log(2400.0), -120e3])
    assert np.all(np.abs(z.mean(axis=0) - centre) <= 4 * np.sqrt(np.diag(cov) / n))
    s = np.cov(z, rowvar=False)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov ** 2) / n)
    assert np.all(np.abs(s - cov) <= 4 * se), (s, cov)


def test_a_draw_depends_only_on_its_number() -> None:
    rec = CalibrationRecord.model_validate(_record({}))
    assert np.array_equal(draws(rec, 5, first=10), draws(rec, 20)[10:15])
    assert draw(rec, 3) == rec.natural(draws(rec, 1, 3)[0])
    assert not np.array_equal(draws(rec, 1, 3), draws(rec, 1, 4))


def test_the_phase_moves_to_the_draw() -> None:
    """At the spec's own values the moved phase holds the draw: k0 = k_ref exp(Ea/(R T_ref))
    with the spec's Ea, UA the drawn UA, dH the drawn dH; Ea drawn moves k0 with it."""
    line = line_from_dict(_api_data(), base_dir=API.parent)
    react = line.stations["reactor"].recipe[2]
    values = {k: getattr(react, k) for k in type(react).model_fields}
    rec = CalibrationRecord.model_validate(_record({}))
    new = {"k_ref": 2e-4, "ua": 2000.0, "dh": -100e3}
    up = phase_updates(rec, values, new)
    assert up["k0"] == pytest.approx(2e-4 * math.exp(80e3 / (R_GAS * T_REF)), rel=1e-10)
    assert up["ua"] == pytest.approx(2000.0, rel=1e-12)
    assert up["dh"] == pytest.approx(-100e3, rel=1e-12)
    rec2 = CalibrationRecord.model_validate(
        _record({}) | {"parameters": ["k_ref", "ea", "dh"], "estimate": [
            rec.estimate[0], 80e3, -120e3]})
    up = phase_updates(rec2, values, {"k_ref": 2e-4, "ea": 90e3, "dh": -120e3})
    assert up["ea"] == pytest.approx(90e3)
    assert up["k0"] == pytest.approx(2e-4 * math.exp(90e3 / (R_GAS * T_REF)), rel=1e-10)


def test_runs_that_sample_take_draw_number_seed() -> None:
    """prepare(calibrated="sample"): the run's spec holds draw number = its seed (same seed,
    same spec hash and run id; another seed another draw); estimates by default."""
    from twin.orchestration.run import prepare

    data = _api_data()
    data["calibration"] = {"reactor": _record(data)}
    line = line_from_dict(data, base_dir=API.parent)
    rec = line.calibration["reactor"]
    a = prepare(line, seed=7, calibrated="sample")
    b = prepare(line, seed=7, calibrated="sample")
    c = prepare(line, seed=8, calibrated="sample")
    base = prepare(line, seed=7)
    assert a.run_id == b.run_id and a.run_id != c.run_id and a.run_id != base.run_id
    want = draw(rec, 7)
    react = a.line.stations["reactor"].recipe[2]
    assert react.ua == pytest.approx(want["ua"], rel=1e-12)
    assert react.dh == pytest.approx(want["dh"], rel=1e-12)
    assert react.k0 * math.exp(-react.ea / (R_GAS * T_REF)) == pytest.approx(want["k_ref"],
                                                                              rel=1e-10)
    assert a.line.calibration["reactor"].draw == 7
    assert base.line.stations["reactor"].recipe[2].ua == 2400.0
    assert prepare(a.line, seed=7, calibrated="sample").run_id == a.run_id  # a run's own spec
    with pytest.raises(ValueError, match="holds draw 7, not 8"):
        prepare(a.line, seed=8, calibrated="sample")
    bare = line_from_dict(_api_data(), base_dir=API.parent)
    with pytest.raises(ValueError, match="no \\[calibration\\] to sample"):
        prepare(bare, seed=1, calibrated="sample")


def test_a_scaled_line_keeps_the_relative_error_of_the_draw() -> None:
    """Scale-up multiplies UA by L^2: the sampled scaled UA is the scaled UA times the
    draw's ratio to the estimate."""
    from twin.orchestration.run import prepare
    from twin.process.scaleup import scale_line

    data = _api_data()
    data["calibration"] = {"reactor": _record(data)}
    line = line_from_dict(data, base_dir=API.parent)
    big = scale_line(line, "reactor", "10 m3").line
    ua_big = big.stations["reactor"].recipe[2].ua
    sampled = prepare(big, seed=4, calibrated="sample").line
    ratio = draw(line.calibration["reactor"], 4)["ua"] / 2400.0
    assert sampled.stations["reactor"].recipe[2].ua == pytest.approx(ua_big * ratio, rel=1e-12)


def test_monte_carlo_draws_the_calibrated_parameters_jointly() -> None:
    from twin.process.safety import monte_carlo

    data = _api_data()
    data["calibration"] = {"reactor": _record(data)}
    line = line_from_dict(data, base_dir=API.parent)
    mc = monte_carlo(line, "reactor", n=3, seed=5, calibrated=True)
    for i, row in mc.iterrows():
        want = draw(line.calibration["reactor"], 5 + i)
        assert row["ua_W_K"] == pytest.approx(want["ua"], rel=1e-12)
        assert row["k0_1_s"] * math.exp(-row["ea_J_mol"] / (R_GAS * T_REF)) == \
            pytest.approx(want["k_ref"], rel=1e-10)
    bare = line_from_dict(_api_data(), base_dir=API.parent)
    with pytest.raises(ValueError, match="no \\[calibration.reactor\\]"):
        monte_carlo(bare, "reactor", n=1, calibrated=True)


@pytest.mark.parametrize(("change", "path", "message"), [
    (lambda r: r.update(covariance=[[0.04, 0.3, 0.0], [0.0, 0.01, 0.0], [0.0, 0.0, 1.0]]),
     "calibration.reactor", "not symmetric"),
    (lambda r: r.update(covariance=[[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
     "calibration.reactor", "positive semi-definite"),
    (lambda r: r.update(covariance=[[1.0]]), "calibration.reactor", "must be 3 x 3"),
    (lambda r: r.update(estimate=[1.0, -5.0, 0.0]), "calibration.reactor",
     "ua is on the log scale"),
    (lambda r: r.pop("t_ref"), "calibration.reactor", "needs t_ref"),
    (lambda r: r.update(parameters=["k_ref", "uaa", "dh"]), "calibration.reactor.parameters[1]",
     "no key 'uaa'"),
    (lambda r: r.update(phase=0), "calibration.reactor.phase", "is a charge phase"),
    (lambda r: r.update(phase=9), "calibration.reactor.phase", "has 5 phases"),
])
def test_bad_records_are_located(change, path: str, message: str) -> None:
    data = _api_data()
    rec = _record(data)
    change(rec)
    data["calibration"] = {"reactor": rec}
    with pytest.raises(SpecError) as err:
        line_from_dict(copy.deepcopy(data), base_dir=API.parent)
    assert any(p.path == path and message in p.message for p in err.value.problems), \
        err.value.problems


def test_a_record_of_an_unknown_station_is_located() -> None:
    data = _api_data()
    data["calibration"] = {"reaktor": _record(data)}
    with pytest.raises(SpecError) as err:
        line_from_dict(data, base_dir=API.parent)
    assert any(p.path == "calibration.reaktor" and "no process station" in p.message
               for p in err.value.problems)
