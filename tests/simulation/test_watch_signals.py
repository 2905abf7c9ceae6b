"""Signals recorded for a serving twin (``watch``) without alarms: the same values the
engine records for alarms, checked against the events table, and no other table changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.simulation.test_alarm_signals import filling_line, step_from_events
from twin.data.alarms import signal_tags
from twin.data.checks import validate
from twin.data.spec import LineSpec
from twin.observation.recorder import Recorder
from twin.simulation.line import LineModel


def _line() -> LineSpec:
    line, problems = validate(filling_line())
    assert line is not None, problems
    return line


def _run(watch: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    line = _line()
    rec = Recorder()
    model = LineModel(line, 3, rec, watch=watch, kpi_window=1800.0)
    model.run(until=3 * 3600.0)
    return rec.tables(3 * 3600.0)


def test_watched_signals_match_events_and_change_no_other_table() -> None:
    line = _line()
    tags = tuple(signal_tags(line))
    watched, plain = _run(tags), _run()
    assert "signals" not in plain and "alarms" not in plain and "alarms" not in watched
    for name, table in plain.items():
        pd.testing.assert_frame_equal(watched[name], table, obj=name)
    ev = watched["events"]
    sig = watched["signals"]
    assert set(sig["tag"]) == {"buffer.m1", "buffer.m2", "wip", "kpi.throughput",
                               "kpi.yield", "kpi.lead_time"}
    m1 = ev[ev["station"] == "m1"]
    arrive = m1.loc[m1["kind"] == "arrive", "time"].to_numpy()
    start = m1.loc[m1["kind"] == "start", "time"].to_numpy()
    expected = step_from_events(np.r_[arrive, start],
                                np.r_[np.ones(arrive.size), -np.ones(start.size)])
    got = sig[sig["tag"] == "buffer.m1"].iloc[1:]  # after the zero at time 0
    np.testing.assert_array_equal(got["time"].to_numpy(), expected.index)
    np.testing.assert_array_equal(got["value"].to_numpy(), expected.to_numpy())
    # kpi.throughput over the 1800 s window, recomputed from the parts table at its changes
    parts = watched["parts"]
    done = np.sort(parts.loc[parts["fate"] == "good", "done"].to_numpy())
    thr = sig[sig["tag"] == "kpi.throughput"]
    for t, v in zip(thr["time"].to_numpy()[1:], thr["value"].to_numpy()[1:], strict=True):
        n = np.count_nonzero((done <= t) & (done + 1800.0 > t))
        assert v == pytest.approx(n / 1800.0), t


def test_watching_an_unknown_signal_is_refused_with_its_name() -> None:
    line = _line()
    with pytest.raises(ValueError, match=r"no signal 'buffer\.nowhere'.*buffer\.m1"):
        LineModel(line, 1, Recorder(), watch=["buffer.nowhere"])
