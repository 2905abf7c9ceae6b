"""``twin state``, ``twin fork`` and ``twin forecast`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import tomli_w

from twin.data.state import LineState
from twin.edges.cli import main

LINE = {
    "line": {"name": "cli_fork"}, "products": {"A": {}},
    "stations": {
        "src": {"type": "source", "product": "A", "interarrival": "50 s", "to": "m1"},
        "m1": {"type": "machine", "buffer": 5, "cycle_time": "47 s", "to": "m2"},
        "m2": {"type": "machine", "buffer": 2, "cycle_time": "55 s", "to": "out"},
        "out": {"type": "sink"}}}


def stored_run(tmp_path: Path, capsys) -> tuple[Path, Path]:
    line = tmp_path / "line.toml"
    line.write_bytes(tomli_w.dumps(LINE).encode())
    assert main(["run", str(line), "--duration", "4h", "--warmup", "0s", "--seed", "1",
                 "--json", "--out", str(tmp_path / "runs")]) == 0
    return line, Path(json.loads(capsys.readouterr().out)["folder"])


def test_state_fork_and_forecast_commands(tmp_path: Path, capsys) -> None:
    line, folder = stored_run(tmp_path, capsys)
    state_file = tmp_path / "state.json"
    assert main(["state", str(folder), "--at", "1h", "-o", str(state_file)]) == 0
    assert capsys.readouterr().out.strip() == str(state_file)
    state = LineState.load(state_file)
    assert state.time == 3600.0 and state.provenance["run_id"] == folder.name

    assert main(["fork", str(folder), "--at", "1h", "--set", "stations.m2.cycle_time=45 s",
                 "--json", "--out", str(tmp_path / "forks")]) == 0
    summary = json.loads(capsys.readouterr().out)
    stored = json.loads((Path(summary["folder"]) / "run.json").read_text())
    prov = stored["provenance"]
    assert stored["run_id"] != folder.name
    assert prov["initial_state"]["time_s"] == 3600.0
    assert LineState.parse(prov["initial_state"]["state"]) == state
    assert prov["parameters"]["stations"]["m2"]["cycle_time"]["value"] == "45.0 s"
    assert prov["settings"] == {"duration_s": 3 * 3600.0, "warmup_s": 3600.0, "seed": 1,
                                "start_s": 3600.0}
    # m2 (the bottleneck at 55 s) now 45 s: more parts leave after the fork than in the run
    def exits(run_folder: Path) -> int:
        ev = pd.read_parquet(run_folder / "events.parquet")
        return int(((ev["kind"] == "exit") & (ev["time"] > 3600)).sum())

    assert exits(Path(summary["folder"])) > exits(folder) + 20

    assert main(["fork", str(folder), "--at", "1h"]) == 0
    assert "fork of" in capsys.readouterr().out

    assert main(["forecast", str(line), "--state", str(state_file), "--replications", "9",
                 "--level", "0.8", "--horizon", "7h", "--json"]) == 0
    fc = json.loads(capsys.readouterr().out)
    assert fc["time_s"] == 3600.0 and fc["horizon_s"] == 8 * 3600.0 and fc["level"] == 0.8
    assert [(o["horizon"], o["until"]) for o in fc["output"]] == [("end of shift", 28800.0)]
    assert fc["batches"] == [] and fc["next_alarm"] is None  # no batches, no alarms
    assert main(["forecast", str(line), "--state", str(state_file), "--replications", "9",
                 "--level", "0.8"]) == 0
    assert "forecast from t =" in capsys.readouterr().out


def test_bad_fork_inputs_are_reported_plainly(tmp_path: Path, capsys) -> None:
    line, folder = stored_run(tmp_path, capsys)
    assert main(["fork", str(folder), "--at", "9h"]) == 1
    assert "is outside the run" in capsys.readouterr().err
    assert main(["fork", str(folder), "--at", "1h", "--set", "stations.m2.servers=0"]) == 1
    assert "overrides['stations.m2.servers']" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"line": "cli_fork", "time": 10.0,
                               "stations": {"m9": {}}}))
    assert main(["forecast", str(line), "--state", str(bad), "--replications", "9",
                 "--level", "0.8"]) == 1
    assert "stations.m9: no station named 'm9'" in capsys.readouterr().err
    assert main(["forecast", str(line), "--state", str(bad), "--replications", "5"]) == 1
    assert "need at least 19" in capsys.readouterr().err
