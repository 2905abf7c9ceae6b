"""``twin shadow`` end to end: a replay of a plant's recorded files (pilot-data formats)
through the replay source, residual alarms after a fouled jacket, a sound run folder."""

from __future__ import annotations

import math
from pathlib import Path

import plant_files as pf
import pytest
import tomli_w

from twin.edges.cli import main
from twin.observation import runfolder


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A day of the reactor line whose jacket fouls (UA 2.4 -> 1.8 kW/K) from the batch
    that starts at 12 h, written as a tag map, a time series (degC) and an event log."""
    normal, fouled = pf.run_jacket(), pf.run_jacket("1.8 kW/K")
    truth = pf.true_temperature([normal, fouled], 12 * 3600.0, 60.0)
    readings = pf.temperature_readings(*truth, 0.5, 21)
    folder = tmp_path_factory.mktemp("plant")
    paths = pf.write_files(folder, readings, normal)
    (folder / "line.toml").write_text(tomli_w.dumps(pf.jacket()))
    return {"paths": paths, "readings": readings, "folder": folder}


def test_twin_shadow_replays_the_plant_and_flags_the_fouled_jacket(
        plant: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = plant["paths"]
    out = tmp_path / "runs"
    spec = plant["folder"] / "line.toml"
    code = main(["shadow", str(spec), "--source", "replay", "--tagmap", str(paths["tagmap"]),
                 "--timeseries", str(paths["timeseries"]), "--events", str(paths["events"]),
                 "--window", "none", "--arl0", "500", "--sigma",
                 "temperature.reactor=0.5 degC", "--resync-on", "start", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    (folder,) = runfolder.find_runs(out)
    assert runfolder.state(folder, deep=True).status == "completed"
    res = runfolder.read_table(folder, "residuals")
    alarms = runfolder.read_table(folder, "alarms")
    prov = runfolder.read_summary(folder)["provenance"]
    # every reading of a running batch became a residual; the replay used them all
    assert prov["source_stats"]["used"] >= len(plant["readings"])
    assert len(res) == len(plant["readings"])
    origin = prov["origin_utc"]
    assert origin.startswith("2026-01-05T02:00:00")  # the first release, at 2 h
    fault = 12 * 3600.0 - 2 * 3600.0  # since the origin
    act = alarms[alarms["event"] == "activate"]
    first_after = act.loc[act["time"] >= fault, "time"].min()
    assert first_after - fault < 3600.0
    assert math.isclose(prov["detectors"]["temperature.reactor"]["sigma"], 0.5)
    assert "temperature.reactor:" in text and "run folder:" in text
    # re-synced at every batch start: each batch's end forecast, in the run folder
    fc = runfolder.read_table(folder, "forecasts")
    starts = len(set(fc["time"]))
    assert prov["resync"]["forecasts"] == starts == 11  # batches starting at 2 h, 4 h, ...
    assert (fc["kind"] == "batch_end").sum() == starts
    assert "re-synced to the plant's state 11 times" in text


def test_bad_options_are_named(plant: dict, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    spec = plant["folder"] / "line.toml"
    paths = plant["paths"]
    base = ["shadow", str(spec), "--tagmap", str(paths["tagmap"]), "--out", str(tmp_path)]
    assert main(base + ["--source", "replay", "--sigma", "temperature.nowhere=1 K"]) == 1
    assert "--sigma 'temperature.nowhere=1 K'" in capsys.readouterr().err
    assert main(base + ["--source", "replay"]) == 1
    assert "needs --timeseries" in capsys.readouterr().err
    assert main(base + ["--source", "replay", "--events", str(paths["events"]),
                        "--window", "soon"]) == 1
    assert "--window" in capsys.readouterr().err
    assert main(base + ["--source", "replay", "--events", str(paths["events"]),
                        "--timeseries", str(paths["timeseries"]), "--resync-on", "begin"]) == 1
    assert "'begin'" in capsys.readouterr().err


def test_twin_shadow_serves_itself_over_opc_ua_while_it_follows(
        plant: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--serve-opcua`` starts the shadow's server for the follow and stops it after; the
    shadow's values reach it without error and the run folder is written as without it."""
    from tests.live.conftest import free_port

    paths, port = plant["paths"], free_port()
    code = main(["shadow", str(plant["folder"] / "line.toml"), "--source", "replay",
                 "--tagmap", str(paths["tagmap"]), "--timeseries", str(paths["timeseries"]),
                 "--events", str(paths["events"]), "--window", "none", "--until", "6h",
                 "--sigma", "temperature.reactor=0.5 degC", "--resync-on", "start",
                 "--serve-opcua", str(port), "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert f"serving the shadow over OPC UA at opc.tcp://127.0.0.1:{port}" in text
    (folder,) = runfolder.find_runs(tmp_path)
    assert len(runfolder.read_table(folder, "residuals")) > 0
    assert len(runfolder.read_table(folder, "forecasts")) > 0
