"""Signals recorded by the engine for watched tags, and alarms on them during runs.

Each signal is checked against an independent record of the same run: buffer levels and WIP
against the events table, utility loads against the utility_load table, batch temperatures
against the kernel profiles and phases tables, emission rates against the emitted mass in the
flows table. A line without alarms records no signals and gives the same tables as before.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import twin
from twin.data.checks import read_toml, validate
from twin.observation.recorder import Recorder
from twin.simulation.line import LineModel

LINES = Path(__file__).resolve().parents[2] / "lines"


def api_batch() -> dict[str, Any]:
    data = read_toml(LINES / "api_batch" / "line.toml")
    data.pop("alarms", None)
    return data


def filling_line(**alarms: dict[str, Any]) -> dict[str, Any]:
    """Arrivals every minute into a 2-minute machine: its buffer of 8 fills one part per
    2 minutes (plain machines: the lean serving loop when unwatched)."""
    return {
        "line": {"name": "filling"},
        "run": {"duration": "3 h"},
        "products": {"P": {}},
        "stations": {
            "src": {"type": "source", "product": "P", "interarrival": "1 min", "to": "m1"},
            "m1": {"type": "machine", "buffer": 8,
                   "cycle_time": {"dist": "triangular", "low": "100 s", "mode": "120 s",
                                  "high": "150 s"}, "to": "m2"},
            "m2": {"type": "machine", "buffer": 3, "cycle_time": "30 s", "to": "out"},
            "out": {"type": "sink"},
        },
        "alarms": alarms,
    }


def step_from_events(times: np.ndarray, deltas: np.ndarray) -> pd.Series:
    """A level from +1/-1 events: the value after all changes at each time, changes only."""
    frame = pd.DataFrame({"time": times, "d": deltas}).sort_values("time", kind="stable")
    level = frame.groupby("time")["d"].sum().cumsum()
    return level[level.diff().fillna(level) != 0]


def signal(result: twin.RunResult, tag: str) -> pd.Series:
    s = result.tables["signals"]
    s = s[s["tag"] == tag]
    return pd.Series(s["value"].to_numpy(), index=s["time"].to_numpy())


# ---------------------------------------------------------------------------- buffers and WIP


def test_buffer_signal_matches_events_and_alarm_fires_when_it_fills() -> None:
    r = twin.run(filling_line(full=dict(tag="buffer.m1", limit=6, priority="high"),
                              many=dict(tag="wip", limit=9, on_delay="10 min")))
    ev = r.tables["events"]
    m1 = ev[ev["station"] == "m1"]
    arrive = m1.loc[m1["kind"] == "arrive", "time"].to_numpy()
    start = m1.loc[m1["kind"] == "start", "time"].to_numpy()
    expected = step_from_events(np.r_[arrive, start],
                                np.r_[np.ones(arrive.size), -np.ones(start.size)])
    got = signal(r, "buffer.m1").iloc[1:]  # after the zero at time 0
    np.testing.assert_array_equal(got.index, expected.index)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    assert got.max() == 8  # it did fill

    alarms = r.tables["alarms"]
    first = alarms[(alarms["alarm"] == "full") & (alarms["event"] == "activate")].iloc[0]
    assert first["time"] == expected.index[np.argmax(expected.to_numpy() >= 6)]
    assert first["value"] == 6 and first["state"] == "unack"

    # WIP: created minus left, held for the on-delay before activating
    created = ev.loc[ev["kind"] == "created", "time"].to_numpy()
    gone = ev.loc[ev["kind"] == "exit", "time"].to_numpy()
    wip = step_from_events(np.r_[created, gone], np.r_[np.ones(created.size),
                                                        -np.ones(gone.size)])
    np.testing.assert_array_equal(signal(r, "wip").iloc[1:].to_numpy(), wip.to_numpy())
    ends = np.r_[wip.index[1:], r.provenance["settings"]["duration_s"]]
    beyond = wip.to_numpy() >= 9
    held = [(t, e) for t, e, b in zip(wip.index, ends, beyond, strict=True) if b]
    # consecutive intervals at or above the limit merge; the first run lasting 10 min fires
    runs: list[list[float]] = []
    for t, e in held:
        if runs and runs[-1][1] == t:
            runs[-1][1] = e
        else:
            runs.append([t, e])
    due = next(a + 600.0 for a, b in runs if b - a >= 600.0)
    many = alarms[(alarms["alarm"] == "many") & (alarms["event"] == "activate")]
    assert many["time"].iloc[0] == pytest.approx(due, abs=1e-9)
    assert r.kpis["alarm_activations"] == int((alarms["event"] == "activate").sum()) >= 2


def test_a_signal_holds_one_value_per_instant() -> None:
    """A takt line (a part every 60 s into a 60 s machine): each part arrives at the instant
    the one before it leaves, so the buffer and the WIP swap parts without ever changing for
    a positive time. By hand: buffer 0 and WIP 1 from the first arrival on. Recording every
    intermediate value made a buffer alarm at 1 chatter 118 times in two hours."""
    line = {"line": {"name": "takt"}, "run": {"duration": "2 h"}, "products": {"P": {}},
            "stations": {
                "src": {"type": "source", "product": "P", "interarrival": "60 s", "to": "m"},
                "m": {"type": "machine", "buffer": 5, "cycle_time": "60 s", "to": "out"},
                "out": {"type": "sink"}},
            "alarms": {"queue": {"tag": "buffer.m", "limit": 1},
                       "busy": {"tag": "wip", "limit": 2}}}
    r = twin.run(line)
    s = r.tables["signals"]
    assert not s.duplicated(["tag", "time"]).any()
    assert signal(r, "buffer.m").to_dict() == {0.0: 0.0}
    assert signal(r, "wip").to_dict() == {0.0: 0.0, 60.0: 1.0}
    assert r.tables["alarms"].empty


def test_assembly_buffer_counts_all_queues() -> None:
    data = read_toml(LINES / "servo_actuator" / "line.toml")
    data["alarms"] = {"q": {"tag": "buffer.assembly", "limit": 100}}
    r = twin.run(data, duration="2 d", warmup="0 s")
    ev = r.tables["events"]
    a = ev[ev["station"] == "assembly"]
    arrive = a.loc[a["kind"] == "arrive", "time"].to_numpy()
    start = a.loc[a["kind"] == "start", "time"].to_numpy()
    # each cycle takes its base part and one motor kit and one gear kit, all waiting in
    # this line (the kit supplies are infinite), at the start of the cycle
    taken = np.repeat(start, 3)
    expected = step_from_events(np.r_[arrive, taken],
                                np.r_[np.ones(arrive.size), -np.ones(taken.size)])
    got = signal(r, "buffer.assembly")
    got = got.groupby(level=0).last()
    got = got[got.diff().fillna(got) != 0]
    np.testing.assert_array_equal(got.index, expected.index)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    assert got.max() == 18  # 6 slots in each of three queues


# ---------------------------------------------------------------------------- process signals


def hot_reaction() -> dict[str, Any]:
    """The API line with a hot jacket: the reaction runs up to its 105 degC limit."""
    data = api_batch()
    data["stations"]["reactor"]["recipe"][2]["jacket"] = "80 degC"
    data["alarms"] = {
        "hot": {"tag": "temperature.reactor", "limit": "100 degC", "deadband": "2 K",
                "priority": "urgent"},
        "steam": {"tag": "utility.steam", "limit": "100 kW", "on_delay": "5 min"},
        "voc": {"tag": "emission.toluene", "limit": "1 kg/h"},
    }
    return data


@pytest.fixture(scope="module")
def hot() -> twin.RunResult:
    return twin.run(hot_reaction(), duration="3 d", warmup="0 s")


def test_batch_temperature_alarm_fires_during_a_hot_reaction(hot: twin.RunResult) -> None:
    phases, prof = hot.tables["phases"], hot.tables["profiles"]
    react = phases[(phases["station"] == "reactor") & (phases["kind"] == "react")].iloc[0]
    assert react["peak_temperature_K"] == pytest.approx(378.15)  # ran to t_max
    t = prof[(prof["part"] == react["part"]) & (prof["phase"] == "react")
             & (prof["variable"] == "temperature_K")].sort_values("time_s")
    times, temps = t["time_s"].to_numpy(), t["value"].to_numpy()
    alarms = hot.tables["alarms"]
    fired = alarms[(alarms["alarm"] == "hot") & (alarms["event"] == "activate")].iloc[0]
    # the signal follows the profile within 0.1 K: first crossing of 100 degC .. 100.1 degC
    earliest = times[np.argmax(temps >= 373.15)]
    latest = times[np.argmax(temps >= 373.25)]
    assert react["start"] < earliest <= fired["time"] <= latest < react["end"]
    assert 373.15 <= fired["value"] < 373.25 + 0.1
    # returns below 98 degC after the phase (the batch is transferred hot, then cleaned)
    back = alarms[(alarms["alarm"] == "hot") & (alarms["event"] == "rtn")].iloc[0]
    assert back["time"] > fired["time"] and back["value"] < 371.15
    # the peak is in the signal, and every phase end's temperature
    sig = signal(hot, "temperature.reactor")
    assert sig.max() == pytest.approx(react["peak_temperature_K"])
    reactor = phases[phases["station"] == "reactor"]
    for end, temp in zip(reactor["end"], reactor["temperature_K"], strict=True):
        assert sig[sig.index <= end].iloc[-1] == pytest.approx(temp)


def test_utility_load_alarm_with_on_delay(hot: twin.RunResult) -> None:
    load = hot.tables["utility_load"]
    steam = load[load["utility"] == "steam"].groupby("time")["load"].last()
    np.testing.assert_array_equal(signal(hot, "utility.steam").iloc[1:].to_numpy(),
                                  steam[steam.diff().fillna(steam) != 0].to_numpy())
    ends = np.r_[steam.index[1:], np.inf]
    due = [a + 300.0 for a, b, v in zip(steam.index, ends, steam.to_numpy(), strict=True)
           if v >= 100e3 and b - a >= 300.0]
    alarms = hot.tables["alarms"]
    fired = alarms[(alarms["alarm"] == "steam") & (alarms["event"] == "activate")]
    assert len(fired) == len(due) >= 2
    np.testing.assert_allclose(fired["time"].to_numpy(), due, rtol=0, atol=1e-6)


def test_emission_rate_integrates_to_the_emitted_mass(hot: twin.RunResult) -> None:
    sig = signal(hot, "emission.toluene")
    assert sig.iloc[-1] == 0.0  # nothing emitting at the end: every emission is booked
    integral = float(np.sum(sig.to_numpy()[:-1] * np.diff(sig.index.to_numpy())))
    flows = hot.tables["flows"]
    emitted = flows[(flows["kind"] == "emission") & (flows["species"] == "toluene")]["kg"]
    assert integral == pytest.approx(float(emitted.sum()), rel=1e-9)
    assert (hot.tables["alarms"]["alarm"] == "voc").any()  # the dryer exceeds 1 kg/h


def test_alarm_summary_in_kpis(hot: twin.RunResult) -> None:
    alarms = hot.tables["alarms"]
    k = hot.kpis
    assert k["alarm_activations"] == int((alarms["event"] == "activate").sum())
    assert k["alarm_activations_urgent"] == int(
        ((alarms["event"] == "activate") & (alarms["alarm"] == "hot")).sum()) >= 1
    assert k["alarm_rate_per_h"] == pytest.approx(k["alarm_activations"] / 72.0)
    assert {"alarm_max_per_10min", "alarm_flood_count", "alarm_flood_duration_s",
            "alarms_standing_at_end"} <= set(k)


# ---------------------------------------------------------------------------- live use


def test_live_model_lists_acknowledges_and_shelves() -> None:
    data = filling_line(full=dict(tag="buffer.m1", limit=6), slow=dict(tag="wip", limit=9,
                                                                       on_delay="10 min"))
    line, problems = validate(data)
    assert line is not None, problems
    rec = Recorder()
    model = LineModel(line, 1, rec)
    assert model.alarms is not None
    model.run(until=3600)
    listed = {a["alarm"]: a for a in model.alarms.active()}
    assert listed["full"]["state"] == "unack"
    assert model.alarms.ack("full", model.env.now)
    model.alarms.shelve("slow", model.env.now, 1800)
    assert model.alarms.state("slow") == "shelved"
    model.run(until=3600 + 1800 + 1)  # the engine wakes the monitor at the shelf end
    unshelve = [r for r in rec.alarm_rows if r[4] == "unshelve"]
    assert [r[0] for r in unshelve] == [3600 + 1800]


# ---------------------------------------------------------------------------- validation


def test_unknown_tag_and_bad_units_are_located_problems() -> None:
    data = api_batch()
    data["alarms"] = {"a": {"tag": "temperature.reactr", "limit": "100 degC"},
                      "b": {"tag": "utility.steam", "limit": "3 m3/h"}}
    line, problems = validate(data)
    assert line is None
    by_path = {p.path: p.message for p in problems}
    assert set(by_path) == {"alarms.a.tag", "alarms.b.limit"}
    assert "did you mean 'temperature.reactor'" in by_path["alarms.a.tag"]
    assert "temperature.crystalliser" in by_path["alarms.a.tag"]  # the known tags listed
    assert "power" in by_path["alarms.b.limit"]

    data["alarms"] = {"c": {"tag": "tank.reactor", "limit": "5 kW"},
                      "d": {"tag": "buffer.reactor", "limit": "5 kg"}}
    _, problems = validate(data)
    assert {p.path for p in problems} == {"alarms.c.limit", "alarms.d.limit"}

    data["alarms"] = {"e": {"tag": "tank.reactor", "limit": "5 kg"}}
    _, problems = validate(data)
    assert [p.path for p in problems] == ["alarms.e.tag"]  # the reactor is not a tank


def test_reference_lines_have_valid_alarms() -> None:
    for name in ("api_batch", "servo_actuator"):
        line = twin.load_line(LINES / name / "line.toml")
        assert line.alarms


# ---------------------------------------------------------------------------- no cost, no change


def same_tables(a: twin.RunResult, b: twin.RunResult) -> None:
    assert set(a.tables) == set(b.tables) - {"signals", "alarms"}
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True)
    rest = {k: v for k, v in b.kpis.items() if not k.startswith("alarm")}
    assert list(rest) == list(a.kpis)
    assert pd.Series(a.kpis, dtype=object).equals(pd.Series(rest, dtype=object))  # NaN == NaN


@pytest.mark.parametrize("make", ["filling", "api_batch"])
def test_unwatched_line_records_nothing_and_alarms_change_nothing(make: str) -> None:
    if make == "filling":
        watched = filling_line(full=dict(tag="buffer.m1", limit=6, on_delay="1 min"),
                               b2=dict(tag="buffer.m2", limit=2), w=dict(tag="wip", limit=9))
        settings: dict[str, Any] = {}
    else:
        watched = hot_reaction()
        watched["alarms"].update({
            "b": {"tag": "buffer.packing", "limit": 1, "on_delay": "1 h"},
            "w": {"tag": "wip", "limit": 2}, "c": {"tag": "buffer.reactor", "limit": 1}})
        settings = {"duration": "2 d", "warmup": "0 s"}
    plain = copy.deepcopy(watched)
    plain["alarms"] = {}
    a, b = twin.run(plain, **settings), twin.run(watched, **settings)
    assert "signals" not in a.tables and "alarms" not in a.tables
    assert len(b.tables["signals"]) > 0 and len(b.tables["alarms"]) > 0
    same_tables(a, b)


def test_unwatched_recorder_stays_empty() -> None:
    line, _ = validate(filling_line())
    assert line is not None
    rec = Recorder()
    model = LineModel(line, 3, rec)
    model.run(until=3600)
    assert model.alarms is None and rec.signals == [] and not rec.monitored
    assert "signals" not in rec.tables(3600)


def test_a_condition_lasting_exactly_the_on_delay_does_not_activate() -> None:
    """Parts every 100 s into a 150 s machine: its buffer holds one part on [200, 250) and
    from 300 s on (by hand). With an on-delay of 50 s the first stretch ends at the very
    instant the delay runs out, so only the second activates, at 350 s (it used to activate
    and return both at 250 s)."""
    spec = {"line": {"name": "ondelay"}, "products": {"A": {}},
            "stations": {
                "src": {"type": "source", "product": "A", "interarrival": "100 s", "to": "m"},
                "m": {"type": "machine", "cycle_time": "150 s", "buffer": 10, "to": "out"},
                "out": {"type": "sink"}},
            "alarms": {"q": {"tag": "buffer.m", "limit": 1, "on_delay": "50 s"}}}
    r = twin.run(spec, duration="420 s", warmup="0 s", seed=1)
    level = signal(r, "buffer.m")
    assert level[200.0] == 1.0 and level[250.0] == 0.0 and level[300.0] == 1.0
    alarms = r.tables["alarms"]
    assert alarms[["time", "event"]].values.tolist() == [[350.0, "activate"]]


def test_two_alarm_timers_due_at_one_instant_end_the_instant() -> None:
    """Two alarms on one tag with the same on-delay: their timers fall due at the same
    instant. Each used to defer itself to the end of the instant on a zero-delay event,
    which the other's deferral kept from ever coming: the clock stalled (StallError). By
    hand: parts every 100 s into a 150 s machine hold one part in its buffer from 300 s on,
    so both activate at 350 s."""
    spec = {"line": {"name": "twins"}, "products": {"A": {}},
            "stations": {
                "src": {"type": "source", "product": "A", "interarrival": "100 s", "to": "m"},
                "m": {"type": "machine", "cycle_time": "150 s", "buffer": 10, "to": "out"},
                "out": {"type": "sink"}},
            "alarms": {"q1": {"tag": "buffer.m", "limit": 1, "on_delay": "50 s"},
                       "q2": {"tag": "buffer.m", "limit": 1, "on_delay": "50 s"}}}
    r = twin.run(spec, duration="420 s", warmup="0 s", seed=1)
    alarms = r.tables["alarms"]
    assert sorted(alarms[["time", "alarm", "event"]].values.tolist()) == [
        [350.0, "q1", "activate"], [350.0, "q2", "activate"]]
