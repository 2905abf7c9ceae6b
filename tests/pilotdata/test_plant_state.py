"""The state of a line from plant data: a run's MES logs and batch record, cut at a time,
give the state the run's own tables give, and a run from it continues the run exactly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from twin.data.checks import line_from_dict
from twin.fit.runlogs import ORIGIN, event_log, state_log
from twin.observation.run_state import state_from_tables
from twin.orchestration.run import RunResult, run
from twin.pilotdata.load import load
from twin.pilotdata.plant_state import state_from_pilot

LINE = {
    "line": {"name": "det"}, "products": {"A": {}},
    "stations": {
        "src": {"type": "source", "product": "A", "interarrival": "50 s", "to": "m1"},
        "m1": {"type": "machine", "buffer": 5, "cycle_time": "47 s", "to": "m2",
               "maintenance": {"every": "3 h", "duration": "20 min"}},
        "m2": {"type": "machine", "buffer": 2, "cycle_time": "55 s", "to": "out"},
        "out": {"type": "sink"}}}
SPECIES = {"S": {"molar_mass": "0.018 kg/mol", "density": "1000 kg/m3",
                 "cp": "4180 J/(kg*K)"}}
BATCH = {
    "line": {"name": "proc"}, "products": {"batch": {}}, "species": SPECIES,
    "stations": {
        "src": {"type": "source", "product": "batch", "to": "r",
                "schedule": [{"at": "0 s", "quantity": 1, "every": "1 h"}]},
        "r": {"type": "process", "to": "out", "recipe": [
            {"phase": "charge", "name": "fill", "duration": "10 min",
             "materials": {"S": "100 kg"}},
            {"phase": "hold", "name": "react", "duration": "40 min"}]},
        "out": {"type": "sink"}}}


def logs(result: RunResult, at: float, tmp_path: Path) -> dict[str, object]:
    """The plant's event and state logs up to ``at`` (what its MES holds then), written as
    CSV and loaded as pilot data (work in progress kept)."""
    origin = pd.Timestamp(ORIGIN)
    cut = origin + pd.Timedelta(seconds=at)
    servers = {n: int(getattr(s, "servers", 1)) for n, s in result.line.stations.items()}
    ev = event_log(result.tables, servers)
    st = state_log(result.tables)
    ev = ev[pd.to_datetime(ev["time"]) <= cut]
    st = st[pd.to_datetime(st["start"]) <= cut]
    ev.to_csv(tmp_path / "events.csv", index=False)
    st.to_csv(tmp_path / "states.csv", index=False)
    return {"events": load(tmp_path / "events.csv", "events", keep_open=True),
            "states": load(tmp_path / "states.csv", "states")}


@pytest.mark.parametrize("at", [3 * 3600.0 + 600.0, 5 * 3600.0 + 60.0])
def test_plant_logs_give_the_state_of_the_run_and_its_continuation(tmp_path: Path,
                                                                   at: float) -> None:
    """At 3 h 10 min m1 is in maintenance (its end is not in the logs yet); at 5 h parts
    wait at the source and m1 is blocked."""
    base = run(LINE, duration="8 h", warmup=0, seed=1)
    when = pd.Timestamp(ORIGIN) + pd.Timedelta(seconds=at)
    plant = state_from_pilot(base.line, when, **logs(base, at, tmp_path))
    truth = state_from_tables(base.line, base.tables, at)
    assert plant.time == at and plant.origin == pd.Timestamp(ORIGIN).isoformat()
    for name in ("m1", "m2"):
        got, want = plant.stations[name], truth.stations[name]
        assert [p.id for p in got.buffer] == [p.id for p in want.buffer]
        assert [p.name for p in got.buffer] == [f"P{p.id}" for p in want.buffer]
        assert [(u.state, [p.id for p in u.parts], u.elapsed) for u in got.units] == \
            [(u.state, [p.id for p in u.parts], u.elapsed) for u in want.units]
    m1 = plant.stations["m1"].units[0]
    if at == 3 * 3600.0 + 600.0:  # the plant does not know when it ends: its constant
        assert m1.state == "maintenance"  # duration's rest is drawn
        assert m1.stop is not None and m1.stop.remaining is None
        assert truth.stations["m1"].units[0].stop.remaining == 600.0
    else:  # parts wait at the source, m1 holds a finished part for m2's full buffer
        assert plant.stations["src"].source.waiting
        assert m1.state == "blocked" and m1.done
    forked = run(LINE, duration=8 * 3600.0 - at, warmup=0, seed=1, initial_state=plant)
    after = [(e.time, e.part, str(e.station), str(e.kind))
             for e in base.tables["events"].itertuples() if e.time > at]
    again = [(e.time, e.part, str(e.station), str(e.kind))
             for e in forked.tables["events"].itertuples() if e.time > at]
    assert sorted(again) == sorted(after)


def test_a_batch_record_and_a_temperature_give_the_batch_in_its_phase() -> None:
    line = line_from_dict(BATCH)
    at = pd.Timestamp("2026-03-04T09:25:00+08:00")  # a Wednesday
    origin = pd.Timestamp("2026-03-02T00:00:00+08:00")
    events = pd.DataFrame({
        "id": ["L7", "L7", "L8"], "product": "batch", "station": ["src", "r", "src"],
        "event": ["release", "start", "release"],
        "time": pd.to_datetime(["2026-03-04T09:00:00+08:00", "2026-03-04T09:00:00+08:00",
                                "2026-03-04T09:20:00+08:00"], utc=True)})
    states = pd.DataFrame({"station": ["r"], "unit": ["r-1"], "state": ["producing"],
                           "start": pd.to_datetime(["2026-03-04T09:00:00+08:00"], utc=True)})
    batches = pd.DataFrame({
        "batch": ["L7"], "unit": ["r"], "phase": ["fill"],
        "start": pd.to_datetime(["2026-03-04T09:00:00+08:00"], utc=True),
        "end": pd.to_datetime(["2026-03-04T09:11:00+08:00"], utc=True), "charged_kg": [98.0]})
    series = pd.DataFrame({"time": pd.to_datetime(["2026-03-04T09:20:00+08:00"], utc=True),
                           "signal": ["temperature.r"], "value_si": [330.0]})
    state = state_from_pilot(line, at, events=events, states=states, batches=batches,
                             timeseries=series)
    assert state.origin == origin.isoformat()
    assert state.time == (at - origin).total_seconds() == 2 * 86400 + 9 * 3600 + 25 * 60
    unit = state.stations["r"].units[0]
    assert unit.phase == "react" and unit.elapsed == pytest.approx(14 * 60)
    batch = unit.parts[0]
    assert batch.name == "L7" and batch.composition == {"S": 98.0}
    assert batch.temperature == 330.0
    assert [p.name for p in state.stations["r"].buffer] == ["L8"]
    # the react phase has 40 - 14 = 26 min left: the batch leaves at 09:51
    res = run(line, duration="1 h", warmup=0, seed=1, initial_state=state)
    ev = res.tables["events"]
    done = ev[(ev["part"] == batch.id) & (ev["kind"] == "exit")]["time"].iloc[0]
    assert done == pytest.approx(state.time + 26 * 60)


def test_plant_times_need_a_zone() -> None:
    with pytest.raises(ValueError, match="needs a time zone"):
        state_from_pilot(line_from_dict(BATCH), "2026-03-04T09:25:00")
