"""Alarms on the compiled engine (:mod:`twin.simulation.compiled.alarms`).

A hand-checked level trace with known crossings, on-delays, deadbands and a transient value
held for no time; the same trace through the SimPy engine's
:class:`~twin.observation.alarms.AlarmMonitor` as the reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lines_for_tests import expo
from test_compiled_engine import assert_same_tables, lines

from twin.data.checks import line_from_dict
from twin.observation.alarms import AlarmMonitor, alarm_table
from twin.observation.recorder import Recorder
from twin.orchestration.run import run
from twin.simulation.compiled.alarms import SignalAlarms
from twin.simulation.compiled.engine import CompiledModel
from twin.simulation.compiled.lower import unsupported
from twin.simulation.line import LineModel

# Loop rows of buffer.m (time [s], level after a timed event). At t = 20 the level is 3 for
# no time (two events of one instant): it is never recorded, so no alarm sees it; at t = 80
# the level ends the instant where it began, which records nothing.
TRACE = [(10, 1), (20, 3), (20, 2), (30, 3), (32, 4), (40, 1), (50, 3), (52, 2), (60, 3),
         (70, 1), (80, 2), (80, 1), (90, 0)]
RECORDED = [(0, 0), (10, 1), (20, 2), (30, 3), (32, 4), (40, 1), (50, 3), (52, 2), (60, 3),
            (70, 1), (90, 0)]
ALARMS = {
    # high 3, deadband 1, 5 s: beyond from 30 -> active at 35 (value 4), < 2 at 40; beyond at
    # 50 but 2 at 52 cuts the on-delay; beyond from 60 -> active at 65, back at 70
    "high": {"tag": "buffer.m", "limit": 3, "deadband": 1, "on_delay": "5 s"},
    # low 1, deadband 1, no delay: 0 at t = 0 activates; back only above 2 (30, 50)
    "low": {"tag": "buffer.m", "limit": 1, "deadband": 1, "direction": "low",
            "priority": "high"},
    # high 1, 25 s: beyond from 10 on -> active at 35 with the value then (4); back at 90
    "slow": {"tag": "buffer.m", "limit": 1, "on_delay": "25 s"},
    # high 1, 40 s: due at 50, where the level changes (to 3, still beyond): the timer is
    # judged on the value the instant ends with, so it activates at 50 with 3
    "tie": {"tag": "buffer.m", "limit": 1, "on_delay": "40 s", "priority": "low"},
    "never": {"tag": "residual.buffer.m"},  # no residuals in a plain run
}
EXPECTED = [  # time, alarm, event, value
    (0.0, "low", "activate", 0.0), (30.0, "low", "rtn", 3.0),
    (35.0, "high", "activate", 4.0), (35.0, "slow", "activate", 4.0),
    (40.0, "high", "rtn", 1.0), (40.0, "low", "activate", 1.0),
    (50.0, "low", "rtn", 3.0), (50.0, "tie", "activate", 3.0),
    (65.0, "high", "activate", 3.0), (70.0, "high", "rtn", 1.0),
    (70.0, "low", "activate", 1.0), (90.0, "slow", "rtn", 0.0), (90.0, "tie", "rtn", 0.0)]


def small_line(alarms: dict) -> object:
    return line_from_dict({
        "line": {"name": "alarmed"}, "products": {"A": {}},
        "stations": {"src": {"type": "source", "product": "A", "to": "m",
                             "schedule": [{"at": "0 s", "quantity": 5}]},
                     "m": {"type": "machine", "cycle_time": "10 s", "to": "out"},
                     "out": {"type": "sink"}},
        "alarms": alarms})


def feed(watch: SignalAlarms, rows: list[tuple[float, int]]) -> None:
    """Hand ``rows`` to ``watch`` as the loop would write them (signal 0: buffer.m)."""
    _, _, sig_t, sig_i, cnt = watch.sg
    for i, (t, level) in enumerate(rows):
        sig_t[i], sig_i[i] = t, (0, level)
    cnt[0] = len(rows)
    watch.take(np.zeros(0), np.zeros(0, np.int64))


def test_hand_checked_trace_split_inside_an_instant() -> None:
    line = small_line(ALARMS)
    watch = SignalAlarms(line, {"m": [1]}, keep=True)
    feed(watch, TRACE[:2])  # the record arrays filled up in the middle of the instant 20
    feed(watch, TRACE[2:])
    watch.finish(100.0)
    assert watch.signal_rows() == [(float(t), "buffer.m", float(v)) for t, v in RECORDED]
    got = [(r[0], r[1], r[4], r[6]) for r in watch.alarm_rows()]
    assert got == EXPECTED
    assert watch.standing() == ["low"]
    # the SimPy engine's state machine on the same recorded signal: the same rows
    monitor = AlarmMonitor(line.alarms)
    for t, v in RECORDED:
        monitor.signal(float(t), "buffer.m", float(v))
    monitor.finish(100.0)
    key = ["time", "alarm"]
    pd.testing.assert_frame_equal(
        alarm_table(monitor.rows).sort_values(key, kind="stable").reset_index(drop=True),
        watch.table(), check_exact=True)
    assert sorted(monitor.standing()) == sorted(watch.standing())


def test_an_on_delay_running_at_the_end_fires_by_until_only() -> None:
    line = small_line({"late": {"tag": "buffer.m", "limit": 2, "on_delay": "30 s"}})
    watch = SignalAlarms(line, {"m": [1]}, keep=False)
    feed(watch, [(10, 2)])
    watch.finish(39.0)  # due at 40: not yet
    assert watch.alarm_rows() == []
    watch.finish(40.0)  # due at the end of the run: it fires (as AlarmMonitor.finish)
    assert [(r[0], r[4], r[5]) for r in watch.alarm_rows()] == [(40.0, "activate", "unack")]
    assert watch.signal_rows() == []  # not kept


# --------------------------------------------------------------------------- both engines


def run_both(spec: object, seed: int, until: float) -> tuple[dict, dict]:
    """The tables of both engines (signals and alarms included), after the same checks of
    states, parts, stops and events as the compiled engine's equality tests. Warnings are
    not compared: the SimPy engine also reports deadlocks through a batch station into an
    assembly, which the compiled engine runs through unreported (the tables stay equal)."""
    a = assert_same_tables(spec, seed, until, warnings=False)
    rec = Recorder()
    CompiledModel(spec, seed, rec).run(until)
    return a, rec.tables(until)


def assert_same_alarms(a: dict, b: dict) -> None:
    """Equal ``signals`` and ``alarms`` tables (rows of one time sorted by tag, by alarm:
    the engines may list one instant's changes of different signals in another order)."""
    for name, key in (("signals", ["time", "tag"]), ("alarms", ["time", "alarm"])):
        pd.testing.assert_frame_equal(
            a[name].sort_values(key, kind="stable").reset_index(drop=True),
            b[name].sort_values(key, kind="stable").reset_index(drop=True),
            check_exact=True, obj=name)


@st.composite
def alarmed_lines(draw: st.DrawFn) -> dict:
    """A random line of the compiled engine's tests with 1-4 alarms on its buffers and WIP:
    high or low, limits near the levels these lines reach, deadbands, on-delays of about a
    cycle (continuous, so no timer falls on an event)."""
    data = draw(lines())
    tags = ["wip"] + [f"buffer.{n}" for n, s in data["stations"].items()
                      if s["type"] not in ("source", "sink")]
    alarms = {}
    for i in range(draw(st.integers(1, 4))):
        a = {"tag": draw(st.sampled_from(tags)), "limit": draw(st.integers(0, 6)),
             "direction": draw(st.sampled_from(["high", "low"])),
             "deadband": draw(st.integers(0, 2))}
        if draw(st.booleans()):
            a["on_delay"] = f"{draw(st.floats(0.05, 3.0))} s"
        alarms[f"a{i}"] = a
    return {**data, "alarms": alarms}


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=alarmed_lines(), seed=st.integers(0, 2**31 - 1))
def test_engines_agree_on_signals_and_alarms_of_random_lines(data: dict, seed: int) -> None:
    spec = line_from_dict(data)
    assert unsupported(spec) == []
    a, b = run_both(spec, seed, 400.0)
    assert_same_alarms(a, b)


STALLED = {  # a random line (shrunk) on which the SimPy engine once stalled
    "line": {"name": "stalled"}, "products": {"A": {}, "B": {}, "K": {}},
    "run": {"on_deadlock": "continue"},
    "stations": {
        "src": {"type": "source", "mix": {"A": 0.5626747036843627, "B": 1.0}, "to": "m0a"},
        "m0a": {"type": "machine", "buffer": 1, "to": "bat",
                "cycle_time": {"dist": "erlang", "k": 3, "mean": "1.2000000000000002 s"}},
        "bat": {"type": "batch", "batch_size": 4, "max_wait": "3.1147758232307994 s",
                "cycle_time": {"dist": "gamma", "shape": 2.5, "scale": "0.6060000000000001 s"},
                "setup_time": {"dist": "erlang", "k": 3, "mean": "1.6979000775337556 s"},
                "to": "asm"},
        "asm": {"type": "assembly", "base": ["A", "B"], "components": {"K": 1},
                "cycle_time": {"dist": "normal", "mean": "0.6354390499578617 s",
                               "std": "0.1906317149873585 s"}, "to": "insp"},
        "comp": {"type": "source", "product": "K", "to": "kf"},
        "kf": {"type": "machine", "buffer": 1, "to": "asm",
               "cycle_time": {"dist": "triangular", "low": "0.08759025754179228 s",
                              "mode": "0.17518051508358456 s",
                              "high": "0.3941561589380652 s"}},
        "insp": {"type": "inspection", "cycle_time": {"dist": "lognormal",
                                                      "mean": "0.20599089510523774 s",
                                                      "std": "0.10299544755261887 s"},
                 "routes": [{"to": "out", "delay": {"dist": "exponential",
                                                    "mean": "3.0428674794024815 s"}},
                            {"to": "out2"}]},
        "out": {"type": "sink"}, "out2": {"type": "sink"}},
    "alarms": {"a0": {"tag": "buffer.bat", "limit": 0, "direction": "low", "deadband": 0,
                      "on_delay": "2.0482187614363037 s"}}}


def test_an_alarm_timer_waits_for_the_end_of_an_instant_with_a_deadlock_check_pending() -> None:
    """At t = 37.11 s the alarm's on-delay ends while a station that has just started to
    wait is to be checked for a deadlock at the end of the instant (an event after every
    other of the instant). The alarm's timer also waits for the end of the instant: it once
    did so with zero-delay events of normal priority, which always came first, so the
    clock stalled there (StallError after 2 M events). Both engines now run the line
    alike."""
    a, b = run_both(line_from_dict(STALLED), 8388608, 120.0)
    assert_same_alarms(a, b)
    assert len(a["alarms"]) > 0 and len(a["parts"]) > 10


def test_a_deterministic_queue_on_both_engines() -> None:
    """Five parts released at t = 0 into a machine of 10 s with two buffer slots: one starts,
    two wait, the fourth enters when the first slot frees at once (the server takes its
    part later in the instant), the fifth waits on its sender. Levels by hand: 2 from
    t = 0 (slots refilled at 10 and 20), 1 from 30, 0 from 40. A high alarm at 2 with a
    deadband of 1 and an on-delay of 25 s is active from 25 s (value 2) to 40 s (0 < 1)."""
    line = line_from_dict({
        "line": {"name": "queue"}, "products": {"A": {}},
        "stations": {"src": {"type": "source", "product": "A", "to": "m",
                             "schedule": [{"at": "0 s", "quantity": 5}]},
                     "m": {"type": "machine", "buffer": 2, "cycle_time": "10 s", "to": "out"},
                     "out": {"type": "sink"}},
        "alarms": {"q": {"tag": "buffer.m", "limit": 2, "deadband": 1, "on_delay": "25 s"},
                   "w": {"tag": "wip", "limit": 5}}})
    signals = [(0.0, "buffer.m", 0.0), (0.0, "wip", 0.0), (0.0, "buffer.m", 2.0),
               (0.0, "wip", 5.0), (10.0, "wip", 4.0), (20.0, "wip", 3.0),
               (30.0, "buffer.m", 1.0), (30.0, "wip", 2.0), (40.0, "buffer.m", 0.0),
               (40.0, "wip", 1.0), (50.0, "wip", 0.0)]
    alarms = [(0.0, "w", "activate", 5.0), (10.0, "w", "rtn", 4.0),
              (25.0, "q", "activate", 2.0), (40.0, "q", "rtn", 0.0)]
    for model in (LineModel, CompiledModel):
        rec = Recorder()
        model(line, 1, rec).run(100.0)
        tables = rec.tables(100.0)
        sig = tables["signals"].sort_values(["time"], kind="stable")
        # at one time: the initial zeros first, then the instant's values (tags by name)
        got = sorted(sig.itertuples(index=False, name=None),
                     key=lambda r: (r[0], r[0] == 0.0 and r[2] != 0.0, r[1]))
        assert got == signals, model.__name__
        assert [(r[0], r[1], r[4], r[6]) for r in tables["alarms"].itertuples(index=False)
                ] == alarms, model.__name__


def test_kpi_only_runs_give_the_alarm_kpis_of_the_tables() -> None:
    """A run long enough for the record arrays to fill several times (``record = "kpis"``
    folds and drops them, in the middle of instants too): its alarm KPIs equal those of the
    SimPy engine's full run, and the activations and standing alarms counted here from
    that run's ``alarms`` table."""
    spec = {"line": {"name": "alarmed"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0), "to": "m"},
        "m": {"type": "machine", "buffer": 8, "cycle_time": expo(0.9), "to": "n"},
        "n": {"type": "machine", "cycle_time": expo(0.8), "to": "out"},
        "out": {"type": "sink"}},
        "alarms": {"queue": {"tag": "buffer.m", "limit": 6, "deadband": 2,
                             "on_delay": "3 s", "priority": "high"},
                   "empty": {"tag": "buffer.n", "limit": 0, "direction": "low",
                             "on_delay": "20 s", "priority": "low"},
                   "wip": {"tag": "wip", "limit": 12, "deadband": 4}}}
    warmup, duration = 500.0, 12_000.0
    full = run(spec, duration=duration, warmup=warmup, seed=3)
    kpis_only = run(spec, duration=duration, warmup=warmup, seed=3, engine="compiled",
                    record="kpis")
    assert kpis_only.provenance["engine"] == "compiled" and "alarms" not in kpis_only.tables
    keys = [k for k in full.kpis if k.startswith("alarm")]
    assert len(keys) == 10
    assert {k: kpis_only.kpis[k] for k in keys} == {k: full.kpis[k] for k in keys}
    table = full.tables["alarms"]
    end = warmup + duration
    raised = table[(table["event"] == "activate") & (table["time"] >= warmup)
                   & (table["time"] <= end)]
    assert kpis_only.kpis["alarm_activations"] == len(raised) > 50
    for p in ("high", "low", "medium"):
        assert kpis_only.kpis[f"alarm_activations_{p}"] == (raised["priority"] == p).sum() > 0
    last = table.groupby("alarm", observed=True).tail(1)
    assert kpis_only.kpis["alarms_standing_at_end"] == last["state"].isin(["unack"]).sum()
    compiled = run(spec, duration=duration, warmup=warmup, seed=3, engine="compiled")
    assert_same_alarms(full.tables, compiled.tables)
