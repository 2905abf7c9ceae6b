"""`twin scaleup`: the comparison table, alarms, figure and CSVs; Monte Carlo; clear errors.

References: the comparison table printed is checked against the stored ``comparison.csv``
and against the Semenov balance recomputed by hand ((-dH) k(Tp) n_A0 against UA (Tp - Tj)
from the spec values); the Monte Carlo probabilities printed against the sample CSVs.
"""

from __future__ import annotations

import contextlib
import io
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from twin.edges.cli import main

API_LINE = Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml"
R_GAS = 8.314462618
ARGS = ["--unit", "reactor", "--volumes", "0.05 m3, 2.5 m3, 10 m3", "--replications", "1",
        "--duration", "3d", "--warmup", "1d", "--seed", "3"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `twin scaleup` with Monte Carlo for the module (capsys is per test)."""
    out = tmp_path_factory.mktemp("cli_scaleup")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["scaleup", str(API_LINE), *ARGS, "--monte-carlo", "20",
                     "--out", str(out)])
    return {"code": code, "out": stdout.getvalue(), "err": stderr.getvalue(),
            "root": out / "api_batch_scaleup_reactor"}


def test_scaleup_prints_the_table_and_alarms(cli_run: dict[str, Any]) -> None:
    assert cli_run["code"] == 0, cli_run["err"]
    assert cli_run["err"] == ""
    out = cli_run["out"]
    assert "scale-up of 'reactor' (constant power per volume), 1 replication(s) per scale" in out
    for key in ("volume_m3", "area_per_volume_1_m", "peak_temperature_C", "max_mtsr_C",
                "heat_generation_kW", "cooling_capacity_kW", "annual_output_t", "bottleneck"):
        assert key in out, key
    table = pd.read_csv(cli_run["root"] / "comparison.csv")
    assert list(table["volume_m3"]) == pytest.approx([0.05, 2.5, 10.0])
    # the Semenov columns by hand: generation (-dH) k(65 degC) n_A0, removal UA x 5 K
    for _, row in table.iterrows():
        lf = (row["volume_m3"] / 2.5) ** (1 / 3)
        n_a0 = 300.0 * lf**3 / 0.150
        gen = 120e3 * 2.9e8 * math.exp(-80e3 / (R_GAS * 338.15)) * n_a0
        assert row["heat_generation_kW"] == pytest.approx(gen / 1e3, rel=1e-9)
        assert row["cooling_capacity_kW"] == pytest.approx(2.4 * lf**2 * 5.0, rel=1e-9)
    # the lab vessel is not cooling-limited, the pilot and the 10 m3 plant are
    alarms = [ln for ln in out.splitlines() if ln.startswith("ALARM")]
    assert not any(ln.startswith("ALARM 0.05 m3") and "cooling-limited" in ln for ln in alarms)
    assert any(ln.startswith("ALARM 2.5 m3") and "cooling-limited" in ln for ln in alarms)
    assert any(ln.startswith("ALARM 10 m3") and "cooling-limited" in ln for ln in alarms)
    # one ALARM line per row with alarms, carrying the row's text
    with_alarms = table[table["alarms"].fillna("") != ""]
    assert len(alarms) == len(with_alarms)
    for (_, row), line in zip(with_alarms.iterrows(), alarms, strict=True):
        assert line == f"ALARM {row['volume_m3']:g} m3: {row['alarms']}"
    # printed peak temperatures are the stored ones
    peak_line = next(ln for ln in out.splitlines() if ln.startswith("peak_temperature_C"))
    printed = [float(x) for x in peak_line.split()[1:]]
    assert printed == pytest.approx(list(table["peak_temperature_C"]), abs=0.05)
    assert printed[0] < printed[1] < printed[2]


def test_scaleup_writes_figure_and_comparison(cli_run: dict[str, Any]) -> None:
    root = cli_run["root"]
    png = root / "figures" / "scaleup.png"
    assert png.is_file()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
    assert (root / "comparison.csv").is_file()
    assert f"study folder: {root}" in cli_run["out"]
    assert str(png) in cli_run["out"]


def test_scaleup_monte_carlo_prints_probabilities_and_writes_csvs(
        cli_run: dict[str, Any]) -> None:
    out = cli_run["out"]
    for v in ("0.05", "2.5", "10"):
        frame = pd.read_csv(cli_run["root"] / f"monte_carlo_{v}m3.csv")
        assert len(frame) == 20
        free = frame["uncapped_peak_temperature_C"]
        p = float((free >= 110.6).mean())
        assert frame["exceeds_mtt"].mean() == pytest.approx(p)
        line = next(ln for ln in out.splitlines()
                    if ln.startswith(f"{v} m3: P(uncapped peak >= MTT"))
        assert f"MTT 110.6 degC) = {p:.3f}," in line
        aborted = float(frame["aborted"].mean())
        assert f"temperature limit) = {aborted:.3f} over 20 samples" in line
        assert f"uncapped peak p50 {free.median():.1f}, p95 {free.quantile(0.95):.1f}" in line
        capped = frame["peak_temperature_C"]
        assert f"temperature abort: p95 {capped.quantile(0.95):.1f} degC" in line
        assert f"P(>= MTT) = {float((capped >= 110.6).mean()):.3f})" in line


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--unit", "packing", "--volumes", "1 m3"], "'packing' is not a process unit"),
        (["--unit", "nope", "--volumes", "1 m3"], "'nope' is not a process unit"),
        (["--unit", "reactor", "--volumes", "1 m3", "--rule", "faster"],
         "unknown scale-up rule 'faster'"),
        (["--unit", "reactor", "--volumes", " , "], "--volumes needs at least one volume"),
        (["--unit", "reactor", "--volumes", "0 m3"], "the volume must be positive"),
        (["--unit", "reactor", "--volumes", "2 kg"], "expected a volume"),
        (["--unit", "reactor", "--volumes", "lots"], "cannot read 'lots' as a quantity"),
    ],
)
def test_scaleup_bad_arguments_exit_1_with_a_message(
        extra: list[str], message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scaleup", str(API_LINE), *extra, "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("error: ")
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "api_batch_scaleup_reactor" / "runs").exists()


def test_scaleup_in_process_with_capsys(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scaleup", str(API_LINE), "--unit", "reactor", "--volumes", "2.5 m3",
                 "--replications", "1", "--duration", "2d", "--warmup", "1d",
                 "--rule", "constant-tip-speed", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "(constant tip speed)" in captured.out
    alarm = next(ln for ln in captured.out.splitlines() if ln.startswith("ALARM 2.5 m3: "))
    assert "cooling-limited (Semenov cooling ratio" in alarm
    assert "no stable operating point" in alarm
    assert (tmp_path / "api_batch_scaleup_reactor" / "figures" / "scaleup.png").is_file()


def test_scaleup_subprocess_exit_codes_without_traceback(tmp_path: Path) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "twin.edges.cli", "scaleup", str(API_LINE), "--unit", "reactor",
         "--volumes", "-2 m3", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1
    assert "error: the volume must be positive" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout
