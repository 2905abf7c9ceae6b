"""Alarms on the compiled engine (:mod:`twin.simulation.compiled.alarms`).

A hand-checked level trace with known crossings, on-delays, deadbands and a transient value
held for no time; the same trace through the SimPy engine's
:class:`~twin.observation.alarms.AlarmMonitor` as the reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.data.checks import line_from_dict
from twin.observation.alarms import AlarmMonitor, alarm_table
from twin.simulation.compiled.alarms import SignalAlarms

# Loop rows of buffer.m (time [s], level after a timed event). At t = 20 the level is 3 for
# no time (two events of one instant): it is never recorded, so no alarm sees it.
TRACE = [(10, 1), (20, 3), (20, 2), (30, 3), (32, 4), (40, 1), (50, 3), (52, 2), (60, 3),
         (70, 1)]
RECORDED = [(0, 0), (10, 1), (20, 2), (30, 3), (32, 4), (40, 1), (50, 3), (52, 2), (60, 3),
            (70, 1)]
ALARMS = {
    # high 3, deadband 1, 5 s: beyond from 30 -> active at 35 (value 4), < 2 at 40; beyond at
    # 50 but 2 at 52 cuts the on-delay; beyond from 60 -> active at 65, back at 70
    "high": {"tag": "buffer.m", "limit": 3, "deadband": 1, "on_delay": "5 s"},
    # low 1, deadband 1, no delay: 0 at t = 0 activates; back only above 2 (30, 50)
    "low": {"tag": "buffer.m", "limit": 1, "deadband": 1, "direction": "low",
            "priority": "high"},
    # high 1, 25 s: beyond from 10 on -> active at 35 with the value then (4); never back
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
    (70.0, "low", "activate", 1.0)]


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
    watch = SignalAlarms(line, list(line.stations), keep=True)
    feed(watch, TRACE[:2])  # the record arrays filled up in the middle of the instant 20
    feed(watch, TRACE[2:])
    watch.finish(100.0)
    assert watch.signal_rows() == [(float(t), "buffer.m", float(v)) for t, v in RECORDED]
    got = [(r[0], r[1], r[4], r[6]) for r in watch.alarm_rows()]
    assert got == EXPECTED
    assert sorted(watch.standing()) == ["low", "slow", "tie"]
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
    watch = SignalAlarms(line, list(line.stations), keep=False)
    feed(watch, [(10, 2)])
    watch.finish(39.0)  # due at 40: not yet
    assert watch.alarm_rows() == []
    watch.finish(40.0)  # due at the end of the run: it fires (as AlarmMonitor.finish)
    assert [(r[0], r[4], r[5]) for r in watch.alarm_rows()] == [(40.0, "activate", "unack")]
    assert watch.signal_rows() == []  # not kept
