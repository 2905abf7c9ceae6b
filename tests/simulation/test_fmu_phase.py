"""FMI round trip: the API line's reactor kernel exported as a co-simulation FMU
(pythonfmu) and run as the model of its react phase (fmpy) gives the native kernel's
results within the communication step.

Reference: the native run of the same line and seed (the ``react`` phase integrated by
``twin.kernels.reactor`` in one call); the FMU integrates the same model step by step, so
each reaction ends at the first communication point after the native end (at most one
step later) with the same end state to the integrator's tolerance, and everything after it
is shifted by that delay. The FMU's model description is checked by fmpy's own validator.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fmpy.validation import validate_fmu

import twin
from twin.data.checks import line_from_dict, load_line
from twin.data.fmu import describe
from twin.orchestration.run import RunFailed
from twin.process.fmu_export import FmuExportError, export_reactor

API = Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml"
STEP = 30.0  # s
RUN = {"duration": "2.6 d", "warmup": "0 s", "seed": 2}


def _with_phase(phase: dict[str, Any]) -> dict[str, Any]:
    """The API line's spec with its reactor's react phase replaced by ``phase``."""
    data = tomllib.loads(API.read_text(encoding="utf-8"))
    recipe = data["stations"]["reactor"]["recipe"]
    recipe[[p["phase"] for p in recipe].index("react")] = phase
    return data


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("fmu") / "reactor.fmu"
    return export_reactor(load_line(API), "reactor", path, step=STEP)


@pytest.fixture(scope="module")
def runs(exported: dict[str, Any]) -> tuple[Any, Any]:
    native = twin.run(API, **RUN)
    fmu = twin.run(line_from_dict(_with_phase(exported), "api_batch with FMU", API.parent),
                   **RUN)
    return native, fmu


def test_exported_fmu_passes_fmpy_validation(exported: dict[str, Any]) -> None:
    assert validate_fmu(exported["fmu"]) == []
    info = describe(exported["fmu"])
    assert {"k0", "ua", "t_jacket", "n_A0", "T0"} <= {
        n for n, v in info.variables.items() if v.causality == "parameter"}
    assert {"T", "n_A", "n_B", "Q_jacket", "done"} <= {
        n for n, v in info.variables.items() if v.causality == "output"}
    assert exported["step"] == f"{STEP!r} s" and exported["end"] == "done"


def _react(result: Any) -> pd.DataFrame:
    p = result.tables["phases"]
    return p[(p["station"] == "reactor") & (p["phase"] == "react")].set_index("part")


def test_fmu_phase_gives_the_native_kernel_results_within_one_step(runs: Any) -> None:
    native, fmu = runs
    a, b = _react(native), _react(fmu)
    assert len(a) >= 2 and list(a.index) == list(b.index)
    assert (a["start"] == b["start"]).iloc[0]
    delay = (b["end"] - b["start"]) - (a["end"] - a["start"])
    assert (delay >= 0).all() and (delay < STEP).all()
    assert b["kind"].eq("fmu").all() and b["ended_by"].eq("end").all()
    assert b["temperature_K"].to_numpy() == pytest.approx(a["temperature_K"].to_numpy(),
                                                          abs=1e-4)
    assert b["heat_J"].to_numpy() == pytest.approx(a["heat_J"].to_numpy(), rel=1e-5)
    fa, fb = (r.tables["flows"] for r in runs)
    key = ["part", "species", "kind"]
    ra = fa[fa["phase"] == "react"].set_index(key)["kg"].sort_index()
    rb = fb[fb["phase"] == "react"].set_index(key)["kg"].sort_index()
    assert list(ra.index) == list(rb.index)
    assert rb.to_numpy() == pytest.approx(ra.to_numpy(), abs=1e-3)
    # the phases after the reaction are the same, shifted by the reaction's delay
    for part in a.index:
        pa = native.tables["phases"].query("part == @part and station == 'reactor'")
        pb = fmu.tables["phases"].query("part == @part and station == 'reactor'")
        after = pa["start"] >= a.loc[part, "end"]
        assert np.allclose((pb["end"] - pb["start"])[after.to_numpy()],
                           (pa["end"] - pa["start"])[after], rtol=1e-9)


def test_line_kpis_equal_within_the_step(runs: Any) -> None:
    native, fmu = runs
    assert fmu.kpis["good_units"] == native.kpis["good_units"]
    for key in ("final_energy_kwh", "natural_gas_kwh", "co2e_total_kg"):
        assert fmu.kpis[key] == pytest.approx(native.kpis[key], rel=1e-4)
    # the FMU's profile drives the batch temperature like the kernel's
    prof = fmu.tables["profiles"]
    react = prof[(prof["phase"] == "react") & (prof["variable"] == "temperature_K")]
    assert react["value"].max() == pytest.approx(
        _react(native)["peak_temperature_K"].iloc[0], abs=0.05)


def test_spec_names_what_does_not_fit_the_fmu(exported: dict[str, Any]) -> None:
    bad = dict(exported, inputs={**exported["inputs"], "nope": "temperature",
                                 "T0": "pressure"}, end="T0")
    with pytest.raises(ValueError) as err:
        line_from_dict(_with_phase(bad), "bad", API.parent)
    text = str(err.value)
    assert "stations.reactor.recipe[2]" in text
    assert "inputs.nope: the FMU has no variable 'nope'" in text
    assert "'pressure' is not a batch quantity" in text
    assert "end: 'T0' is a Real parameter; expected a Boolean/Integer/Real output" in text
    unknown = dict(exported, outputs={**exported["outputs"], "moles.Z": "n_A"})
    with pytest.raises(ValueError, match=r"recipe\[2\]\.outputs\.moles\.Z: no species "
                                         "named 'Z'"):
        line_from_dict(_with_phase(unknown), "bad", API.parent)
    with pytest.raises(ValueError, match="does not exist"):
        line_from_dict(_with_phase(dict(exported, fmu="missing.fmu")), "bad", API.parent)
    with pytest.raises(ValueError, match="changed since the spec named it"):
        line_from_dict(_with_phase(dict(exported, sha256="0" * 64)), "bad", API.parent)


def test_outputs_that_do_not_conserve_mass_stop_the_run(exported: dict[str, Any]) -> None:
    """Without the by-product and the co-reactant mapped, the batch would lose mass."""
    outputs = {k: v for k, v in exported["outputs"].items() if k not in ("moles.C",
                                                                         "moles.X")}
    line = line_from_dict(_with_phase(dict(exported, outputs=outputs)), "bad", API.parent)
    with pytest.raises(RunFailed) as err:
        twin.run(line, duration="1.5 d", warmup="0 s", seed=2)
    assert "unit 'reactor' phase 'react'" in str(err.value)
    assert "must conserve mass" in str(err.value)


def test_export_refuses_what_it_cannot_export(tmp_path: Path) -> None:
    line = load_line(API)
    with pytest.raises(FmuExportError, match="no process unit 'orders'"):
        export_reactor(line, "orders", tmp_path / "x.fmu")
    with pytest.raises(FmuExportError, match="no react phase"):
        export_reactor(line, "crystalliser", tmp_path / "x.fmu")


def test_semi_batch_dosing_steps_like_one_kernel_call(exported: dict[str, Any]) -> None:
    """With a feed (parameters of the FMU), 60 steps of 60 s give the state one call of
    the kernel over the hour gives (the dosing clock runs across steps)."""
    from fmpy import simulate_fmu

    from twin.kernels import reactor as kr
    from twin.kernels.integrate import AUTO

    start = {"k0": 2.0e3, "ea": 40e3, "dh": -80e3, "ua": 500.0, "t_jacket": 330.0,
             "x_target": 2.0, "t_max": 0.0, "feed_rate": 2e-4, "c_feed": 5e3,
             "t_feed": 300.0, "t_dose": 1800.0, "n_A0": 100.0, "T0": 330.0, "V0": 0.5,
             "heat_capacity": 0.5 * 3.6e6, "k0_2": 0.0, "scheme": 0}
    out = simulate_fmu(exported["fmu"], stop_time=3600.0, step_size=60.0,
                       output_interval=60.0, start_values=start,
                       output=["T", "n_A", "n_B", "V", "Q_jacket"])
    p = kr.reactor_parameters(
        k0=2.0e3, ea=40e3, dh=-80e3, rho_cp=3.6e6, ua=500.0, t_jacket=330.0,
        n_a_total=100.0 + 2e-4 * 5e3 * 1800.0, feed_rate=2e-4, c_feed=5e3, t_feed=300.0,
        t_dose=1800.0)
    y0 = kr.reactor_state(n_a=100.0, temperature=330.0, volume=0.5)
    _, _, _, y, _, _, _ = kr.reactor_phase(p, y0, 3600.0, 1e-6, AUTO, 200_000, 2)
    last = out[-1]
    assert last["V"] == pytest.approx(0.5 + 2e-4 * 1800.0, rel=1e-5)
    assert [last["T"], last["n_A"], last["n_B"], last["Q_jacket"]] == pytest.approx(
        [y[3], y[0], y[1], y[6]], rel=1e-4)


def test_cli_writes_the_fmu_and_prints_the_phase_that_runs_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from twin.edges.cli import main

    out = tmp_path / "r.fmu"
    assert main(["fmu", str(API), "--unit", "reactor", "--step", "2 min", "-o",
                 str(out)]) == 0
    printed = capsys.readouterr().out
    phase = tomllib.loads("phase = " + printed.strip().splitlines()[-1].rstrip(","))["phase"]
    assert (API.parent / phase["fmu"]).resolve() == out.resolve()
    assert phase["step"] == "120.0 s"
    line = line_from_dict(_with_phase(phase), "api_batch with FMU", API.parent)
    assert line.stations["reactor"].recipe[2].step == 120.0
    assert validate_fmu(str(out)) == []
