"""``twin calibrate`` for the dryer and the crystalliser: lab samples of moisture and of
crystal size (format ``samples`` version 2), batch records and a temperature record of
batches generated from known parameters are fitted back through the command; the
calibrated spec validates, holds the estimates, and its ``[calibration]`` record samples the
dry and crystallise phases."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin.data.checks import line_from_dict, load_line
from twin.edges.cli import main
from twin.fit.calibrate import Batch, predict
from twin.fit.calibrate_spec import model_for

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "lines" / "api_batch" / "line.toml"
START = pd.Timestamp("2026-03-02T06:00:00Z")


def _write(tmp_path: Path, samples: list[dict], records: list[dict], series: list[dict],
           tag: str, station: str) -> None:
    pd.DataFrame(samples).to_csv(tmp_path / "samples.csv", index=False)
    pd.DataFrame(records).to_csv(tmp_path / "records.csv", index=False)
    pd.DataFrame(series).to_csv(tmp_path / "series.csv", index=False)
    (tmp_path / "tags.csv").write_text(f"tag,signal,unit\n{tag},temperature.{station},degC\n")


def _calibrate(tmp_path: Path, station: str, params: str, sd: str) -> Path:
    out = tmp_path / "calibrated.toml"
    assert main(["calibrate", str(SPEC), str(tmp_path / "samples.csv"), "--records",
                 str(tmp_path / "records.csv"), "--series", str(tmp_path / "series.csv"),
                 "--tags", str(tmp_path / "tags.csv"), "--station", station,
                 "--params", params, "--sd", sd, "-o", str(out)]) == 0
    return out


def test_cli_recovers_drying_constants_from_moisture_and_layer_temperature(
        tmp_path: Path) -> None:
    """api_batch tray dryer (toluene, air at 80 degC): three batches of different wet
    masses made with h_conv, k_mass and the critical content off the spec's. Moisture is
    sampled every 10 min until nearly dry (one batch as loss on drying: % on a wet basis),
    the layer temperature every 5 min by a historian tag in degC. The dry mass of each
    batch comes from its record's wet mass charged and its first moisture. Each 95 %
    interval holds its truth, the estimates are within 10 %, the calibrated spec validates
    with them in the dry phase and its record draws move that phase."""
    from twin.data.calibration import draw, sample_line

    line = load_line(SPEC)
    model, ph = model_for(line, "dryer")
    truth = {"h_conv": 50.0, "k_mass": 0.04, "critical_content": 0.25}
    rng = np.random.default_rng(83)
    t = np.arange(0.0, 3 * 3600.0 + 1, 300.0)
    var = np.r_[np.full(t.size, "X"), np.full(t.size, "T")]
    samples, records, series = [], [], []
    for i, (wet, x0, temp0, lod) in enumerate(((1200.0, 0.45, 293.15, False),
                                               (1500.0, 0.5, 298.15, True),
                                               (1000.0, 0.4, 288.15, False))):
        t0 = START + pd.Timedelta(days=i)
        b = Batch(f"D{i}", {"X": x0}, temp0, 1.0, ph.air_temperature, np.r_[t, t], var,
                  np.zeros(2 * t.size), np.ones(2 * t.size),
                  conditions={"m_dry": wet / (1.0 + x0)})
        y = predict(model, truth, b)
        x, temp = y[: t.size], y[t.size:] + rng.normal(0.0, 0.3, t.size)
        temp[0] = temp0
        for k in np.flatnonzero((x > 0.01) & (t % 600.0 == 0)):  # lab samples until dry
            xk = x0 if k == 0 else x[k] + rng.normal(0.0, 0.003)
            value, unit = (100 * xk / (1 + xk), "%") if lod else (xk, "kg/kg")
            samples.append({"batch": b.name, "time": (t0 + pd.Timedelta(seconds=t[k])
                                                      ).isoformat(),
                            "species": "toluene", "quantity": "moisture_wet" if lod else
                            "moisture", "value": value, "unit": unit})
        series += [{"time": (t0 + pd.Timedelta(seconds=s)).isoformat(), "tag": "TI-D1",
                    "value": v - 273.15, "unit": "degC"} for s, v in zip(t, temp, strict=True)]
        records.append({"batch": b.name, "unit": "dryer", "phase": "dry",
                        "start": t0.isoformat(), "end": (t0 + pd.Timedelta(hours=3)).isoformat(),
                        "charged": wet, "quantity_unit": "kg"})
    _write(tmp_path, samples, records, series, "TI-D1", "dryer")
    out = _calibrate(tmp_path, "dryer", ",".join(truth), "X=0.003,T=0.3")
    new = line_from_dict(tomllib.loads(out.read_text()), "calibrated")
    dry = new.stations["dryer"].recipe[0]
    assert dry.phase == "dry"
    header = "\n".join(ln for ln in out.read_text().splitlines() if ln.startswith("#"))
    for p, v in truth.items():
        assert getattr(dry, p) == pytest.approx(v, rel=0.1), p
        row = next(ln for ln in header.splitlines() if ln.startswith(f"# {p} "))
        lo, hi = (float(x) for x in row.split("[")[1].split("]")[0].split(","))
        assert lo <= v <= hi, (p, lo, v, hi)
    rec = new.calibration["dryer"]
    assert rec.parameters == list(truth) and rec.phase == 0
    moved = sample_line(new, 5).stations["dryer"].recipe[0]
    d = draw(rec, 5)
    for i, p in enumerate(rec.parameters):  # draw 5 on the phase: value x draw / estimate
        assert getattr(moved, p) == pytest.approx(getattr(dry, p) * d[p] / rec.estimate[i],
                                                  rel=1e-9)
        assert getattr(moved, p) != getattr(dry, p)
    report = out.with_suffix(".calibration.md").read_text()
    assert "## Correlation" in report and "fits.png" in report and "parity.png" in report
    assert out.with_suffix(".fits.png").stat().st_size > 0


def test_cli_recovers_nucleation_and_growth_from_solute_and_crystal_size(
        tmp_path: Path) -> None:
    """api_batch cooling crystalliser (seeded with 2.5 kg): three batches of different
    solution masses, start temperatures (historian) and cooling times (their records),
    made with nucleation and growth off the spec's. The solute mass ratio (g/g) and the
    Sauter mean size (um) are sampled every 30 min. Each 95 % interval holds its truth and
    the calibrated spec holds the estimates in the crystallise phase."""
    line = load_line(SPEC)
    model, ph = model_for(line, "crystalliser")
    truth = {"k_b": 2e7, "b": 2.0, "k_g": 3e-7, "g": 1.4}
    rng = np.random.default_rng(89)
    samples, records, series = [], [], []
    for i, (solution, c0, temp0, hours) in enumerate(((2000.0, 0.25, 333.15, 4.0),
                                                      (2200.0, 0.27, 335.15, 6.0),
                                                      (1800.0, 0.23, 331.15, 8.0))):
        t0 = START + pd.Timedelta(days=i)
        t = np.arange(0.0, hours * 3600.0 + 1, 1800.0)
        var = np.r_[np.full(t.size, "C"), np.full(t.size, "L32")]
        seeds = ph.seed_mass / (solution / (1.0 + c0))
        b = Batch(f"K{i}", {"C": c0}, temp0, 1.0, ph.to, np.r_[t, t], var,
                  np.zeros(2 * t.size), np.ones(2 * t.size),
                  conditions={"t_cool": hours * 3600.0, "seed_mass": seeds,
                              "seed_size": ph.seed_size})
        y = predict(model, truth, b)
        c = y[: t.size] + rng.normal(0.0, 0.002, t.size)
        size = y[t.size:] + rng.normal(0.0, 2e-6, t.size)
        c[0] = c0
        for k, s in enumerate(t):
            when = (t0 + pd.Timedelta(seconds=s)).isoformat()
            samples.append({"batch": b.name, "time": when, "species": "B",
                            "quantity": "mass_ratio", "value": c[k], "unit": "g/g"})
            if k:
                samples.append({"batch": b.name, "time": when, "species": "B_solid",
                                "quantity": "sauter_mean_size", "value": size[k] * 1e6,
                                "unit": "um"})
        series.append({"time": t0.isoformat(), "tag": "TI-K1", "value": temp0 - 273.15,
                       "unit": "degC"})
        records.append({"batch": b.name, "unit": "crystalliser",
                        "phase": "cool-crystallise", "start": t0.isoformat(),
                        "end": (t0 + pd.Timedelta(hours=hours)).isoformat(),
                        "charged": solution, "quantity_unit": "kg"})
    _write(tmp_path, samples, records, series, "TI-K1", "crystalliser")
    out = _calibrate(tmp_path, "crystalliser", ",".join(truth), "C=0.002,L32=2e-6")
    text = out.read_text()
    new = line_from_dict(tomllib.loads(text), "calibrated")
    cryst = new.stations["crystalliser"].recipe[0]
    assert cryst.phase == "crystallise"
    for p, v in truth.items():
        row = next(ln for ln in text.splitlines() if ln.startswith(f"# {p} "))
        lo, hi = (float(x) for x in row.split("[")[1].split("]")[0].split(","))
        assert lo <= v <= hi, (p, lo, v, hi)
        assert lo <= getattr(cryst, p) <= hi
    assert new.calibration["crystalliser"].parameters == list(truth)


def _frames(tmp_path: Path, samples: str, records: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from twin.pilotdata.load import load

    (tmp_path / "s.csv").write_text("batch,time,species,quantity,value,unit\n" + samples)
    (tmp_path / "r.csv").write_text("batch,unit,phase,start,end,charged,quantity_unit\n"
                                    + records)
    return load(tmp_path / "s.csv", "samples").frame, load(tmp_path / "r.csv", "batches").frame


def test_batches_that_cannot_be_set_up_are_refused_with_their_record_row(
        tmp_path: Path) -> None:
    """A dryer batch whose record states no mass, a seeded crystalliser batch without its
    solution mass, and a batch without a start temperature: each error names the batch
    (and the row of its batch record). With them, the dry mass, cooling time and seed
    loading follow from the records (hand-computed)."""
    from twin.fit.calibrate import CalibrationError
    from twin.fit.calibrate_spec import batches_from

    line = load_line(SPEC)
    samples, records = _frames(
        tmp_path, "D1,2026-03-02T06:00:00Z,toluene,moisture,0.4,kg/kg\n"
        "D1,2026-03-02T06:30:00Z,toluene,moisture,0.3,kg/kg\n",
        "D1,dryer,dry,2026-03-02T06:00:00Z,2026-03-02T09:00:00Z,,\n")
    with pytest.raises(CalibrationError, match=r"batch 'D1' \(batch records row 2\).*neither"):
        batches_from(line, "dryer", samples, records, {"X": 0.01}, t_start=293.15)
    with pytest.raises(CalibrationError, match="'D1': no temperature at the start"):
        batches_from(line, "dryer", samples, records, {"X": 0.01})
    samples, records = _frames(
        tmp_path, "K1,2026-03-02T06:00:00Z,B,mass_ratio,0.25,g/g\n",
        "K1,crystalliser,cool-crystallise,2026-03-02T06:00:00Z,2026-03-02T12:00:00Z,,\n")
    with pytest.raises(CalibrationError, match=r"'K1' \(batch records row 2\).*seeded"):
        batches_from(line, "crystalliser", samples, records, {"C": 0.01}, t_start=333.15)
    # the wet mass charged gives the dry mass: 1000 kg / (1 + 0.4)
    samples, records = _frames(
        tmp_path, "D1,2026-03-02T06:00:00Z,toluene,moisture,0.4,kg/kg\n",
        "D1,dryer,dry,2026-03-02T06:00:00Z,2026-03-02T09:00:00Z,1,t\n")
    (b,) = batches_from(line, "dryer", samples, records, {"X": 0.01}, t_start=293.15)
    assert b.conditions["m_dry"] == pytest.approx(1000.0 / 1.4)
    assert b.jacket == pytest.approx(353.15) and b.t0 == 293.15
    # 2 t of solution at 0.25 kg solute per kg solvent hold 1600 kg of toluene: the 2.5 kg
    # of seeds are 2.5 / 1600 kg per kg solvent; it cools over its 6 h phase to 5 degC
    samples, records = _frames(
        tmp_path, "K1,2026-03-02T06:00:00Z,B,mass_ratio,0.25,g/g\n",
        "K1,crystalliser,cool-crystallise,2026-03-02T06:00:00Z,2026-03-02T12:00:00Z,2,t\n")
    (b,) = batches_from(line, "crystalliser", samples, records, {"C": 0.01}, t_start=333.15)
    assert b.conditions == pytest.approx({"t_cool": 6 * 3600.0, "seed_mass": 2.5 / 1600.0,
                                          "seed_size": 100e-6})
    assert b.jacket == pytest.approx(278.15) and b.c0 == {"C": 0.25}


def test_dry_phase_equilibrium_content_below_critical_and_target() -> None:
    data = tomllib.loads(SPEC.read_text())
    dry = data["stations"]["dryer"]["recipe"][0]
    dry["equilibrium_content"] = 0.01  # above target_content 0.005
    with pytest.raises(ValueError, match="equilibrium_content 0.01 must be below "
                       "target_content"):
        line_from_dict(data, "x", SPEC.parent)
    dry["equilibrium_content"] = 0.002
    assert line_from_dict(data, "x", SPEC.parent).stations["dryer"].recipe[0] \
        .equilibrium_content == 0.002


def test_equilibrium_content_slows_the_dry_phase_of_a_run() -> None:
    """The dry phase passes equilibrium_content to the drying kernel: 300 kg of solid with
    120 kg of toluene dried to 0.005 kg/kg takes longer when the layer dries towards 0.004
    (the falling rate goes as (X - X_eq) / (X_crit - X_eq)) than
    towards 0, and ends at the target either way."""
    from twin.process import phases
    from twin.process.materials import Materials
    from twin.process.safety import mean_duration

    line = load_line(SPEC)
    st, mat = line.stations["dryer"], Materials.from_spec(line.species)
    mass = np.zeros(len(mat.names))
    mass[mat.code("B_solid")], mass[mat.code("toluene")] = 300.0, 120.0
    runs = {}
    for x_eq in (0.0, 0.004):
        dry = st.recipe[0].model_copy(update={"equilibrium_content": x_eq})
        runs[x_eq] = phases.compute(dry, st, "dryer", mass.copy(), 293.15, mat, mean_duration)
    for out in runs.values():
        assert out.summary["ended_by"] == "target_solvent_content"
        assert out.summary["final_content"] == pytest.approx(0.005, rel=1e-6)
    assert runs[0.004].duration > 1.05 * runs[0.0].duration


def test_cli_recovers_kla_from_dissolved_oxygen(tmp_path: Path) -> None:
    """fermentation line, production fermenter (kLa from van 't Riet in the spec): biomass,
    glucose (g/L) and dissolved oxygen (mg/L) sampled hourly in two batches made with
    kLa at 0.7 x the correlation's. twin calibrate --params kla recovers it (95 % interval
    holds the truth), writes kla into the ferment phase (which then overrides the
    correlation) and records it for sampling. (kLa and y_xo together are not identifiable
    from a quasi-steady oxygen balance: only their product moves it.)"""
    from twin.data.calibration import sample_line
    from twin.fit.calibrate_spec import batches_from
    from twin.pilotdata.load import load

    spec = ROOT / "lines" / "fermentation" / "line.toml"
    line = load_line(spec)
    model, ph = model_for(line, "production")
    truth = {"kla": model.kla * 0.7}
    initial = {"P0": (0.5, 20.0), "P1": (0.8, 25.0)}
    name = {"X": "biomass", "S": "glucose", "O": "oxygen"}
    scale = {"X": 1.0, "S": 1.0, "O": 1e3}  # g/L for X and S, mg/L for O
    starts = {b: START + pd.Timedelta(days=2 * i) for i, b in enumerate(initial)}
    pd.DataFrame([{"batch": b, "unit": "production", "phase": "fed-batch",
                   "start": t0.isoformat(), "end": (t0 + pd.Timedelta(hours=12)).isoformat()}
                  for b, t0 in starts.items()]).to_csv(tmp_path / "records.csv", index=False)
    records = load(tmp_path / "records.csv", "batches").frame

    def write(values: dict[tuple[str, float, str], float]) -> pd.DataFrame:
        first = {"X": 0, "S": 1}
        rows = [{"batch": b, "time": (t0 + pd.Timedelta(minutes=m)).isoformat(),
                 "species": name[v], "unit": "mg/L" if v == "O" else "g/L",
                 "value": (initial[b][first[v]] if v != "O" else ph.c_star * 1e3) if m == 0
                 else max(values.get((b, m * 60.0, v), 1.0), 0.0) * scale[v]}
                for b, t0 in starts.items() for m in range(0, 721, 60) for v in name]
        pd.DataFrame(rows).to_csv(tmp_path / "samples.csv", index=False)
        return load(tmp_path / "samples.csv", "samples").frame

    sd = {"X": 0.1, "S": 0.2, "O": 2e-4}
    batches = batches_from(line, "production", write({}), records, sd)
    rng = np.random.default_rng(97)
    write({(b.name, t, v): y for b in batches for t, v, y in zip(
        b.time, b.variable, predict(model, truth, b) + rng.normal(0.0, b.sd), strict=True)})
    out = tmp_path / "cal.toml"
    assert main(["calibrate", str(spec), str(tmp_path / "samples.csv"), "--records",
                 str(tmp_path / "records.csv"), "--station", "production", "--params", "kla",
                 "--sd", "X=0.1,S=0.2,O=2e-4", "-o", str(out)]) == 0
    text = out.read_text()
    row = next(ln for ln in text.splitlines() if ln.startswith("# kla "))
    lo, hi = (float(x) for x in row.split("[")[1].split("]")[0].split(","))
    assert lo <= truth["kla"] <= hi
    new = line_from_dict(tomllib.loads(text), "calibrated", spec.parent)
    phase = next(p for p in new.stations["production"].recipe if p.phase == "ferment")
    assert lo <= phase.kla <= hi and hi / lo < 1.1
    assert new.calibration["production"].parameters == ["kla"]
    drawn = next(p for p in sample_line(new, 2).stations["production"].recipe
                 if p.phase == "ferment")
    assert drawn.kla != phase.kla
