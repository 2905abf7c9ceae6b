"""ISA-18.2 alarm state machine and alarm-rate figures on hand-made signals.

References: ANSI/ISA-18.2-2016, clause 11 (alarm state transition diagram: normal,
unacknowledged, acknowledged, returned to normal unacknowledged, shelved) and clause 16
(alarm flood: more than 10 alarms in 10 minutes); EEMUA 191 (deadband, on-delay).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from twin.data.alarms import AlarmSpec
from twin.observation.alarms import (
    ACK,
    NORMAL,
    RTN_UNACK,
    SHELVED,
    UNACK,
    AlarmMonitor,
    alarm_summary,
    alarm_table,
    flood_periods,
    rate_sweep,
    standing_alarms,
)


def monitor(**alarms: dict) -> AlarmMonitor:
    return AlarmMonitor({n: AlarmSpec(**a) for n, a in alarms.items()})


def events(m: AlarmMonitor) -> list[tuple[float, str, str, str]]:
    return [(r[0], r[1], r[4], r[5]) for r in m.rows]


def feed(m: AlarmMonitor, tag: str, series: list[tuple[float, float]]) -> None:
    for t, v in series:
        m.signal(t, tag, v)


# ---------------------------------------------------------------------------- activation


def test_high_alarm_activates_at_the_limit_and_returns_below_it() -> None:
    m = monitor(hi=dict(tag="tank.t", limit="800 kg"))
    feed(m, "tank.t", [(0, 500.0), (10, 799.9), (20, 800.0), (30, 900.0), (40, 799.0)])
    assert events(m) == [(20, "hi", "activate", UNACK), (40, "hi", "rtn", RTN_UNACK)]
    assert m.rows[0][6] == 800.0 and m.rows[0][7] == 800.0  # value and limit
    assert m.state("hi") == RTN_UNACK


def test_low_alarm_mirrors_high() -> None:
    m = monitor(lo=dict(tag="buffer.b", limit=1, direction="low", deadband=1))
    feed(m, "buffer.b", [(0, 5.0), (5, 1.0), (6, 2.0), (7, 0.0), (9, 3.0)])
    # active at <= 1; returns only above 1 + 1 = 2
    assert events(m) == [(5, "lo", "activate", UNACK), (9, "lo", "rtn", RTN_UNACK)]


def test_deadband_hysteresis_prevents_chattering() -> None:
    m = monitor(hi=dict(tag="temperature.r", limit="100 degC", deadband="2 degC"))
    c = 273.15
    # oscillating around the limit: one activation, return only below 98 degC
    feed(m, "temperature.r", [(0, c + 99.0), (1, c + 100.5), (2, c + 99.5), (3, c + 100.2),
                              (4, c + 98.5), (5, c + 101.0), (6, c + 97.9)])
    assert events(m) == [(1, "hi", "activate", UNACK), (6, "hi", "rtn", RTN_UNACK)]
    # without deadband the same signal chatters
    m0 = monitor(hi=dict(tag="temperature.r", limit="100 degC"))
    feed(m0, "temperature.r", [(0, c + 99.0), (1, c + 100.5), (2, c + 99.5), (3, c + 100.2),
                               (4, c + 98.5), (5, c + 101.0), (6, c + 97.9)])
    assert [e[2] for e in events(m0)].count("activate") == 3


def test_on_delay_interrupted_does_not_activate() -> None:
    m = monitor(hi=dict(tag="utility.steam", limit="300 kW", on_delay="5 min"))
    feed(m, "utility.steam", [(0, 0.0), (100, 350e3), (100 + 299, 100e3), (500, 360e3),
                              (700, 0.0)])
    m.finish(2000)
    assert events(m) == []


def test_on_delay_held_activates_exactly_at_the_delay() -> None:
    m = monitor(hi=dict(tag="utility.steam", limit="300 kW", on_delay="5 min"))
    feed(m, "utility.steam", [(0, 0.0), (100, 350e3), (250, 310e3)])  # stays beyond
    m.signal(1000, "utility.steam", 0.0)  # the timer fires first, at its own time
    assert events(m) == [(400, "hi", "activate", UNACK), (1000, "hi", "rtn", RTN_UNACK)]
    assert m.rows[0][6] == 310e3  # the value when it activated


def test_on_delay_timer_fires_at_finish_without_engine() -> None:
    m = monitor(hi=dict(tag="wip", limit=10, on_delay="1 h"))
    m.signal(0, "wip", 12.0)
    m.finish(3599)
    assert events(m) == []
    m.finish(3600)
    assert events(m) == [(3600, "hi", "activate", UNACK)]
    assert m.standing() == ["hi"]


def test_wake_is_called_with_each_timer() -> None:
    woken: list[float] = []
    m = AlarmMonitor({"hi": AlarmSpec(tag="wip", limit=1, on_delay="10 s")}, wake=woken.append)
    m.signal(5, "wip", 1.0)
    m.shelve("hi", 6, 100)
    assert woken == [15.0, 106.0]


# ---------------------------------------------------------------------------- acknowledgement


def test_ack_before_return_then_return_goes_to_normal() -> None:
    m = monitor(hi=dict(tag="wip", limit=5))
    m.signal(0, "wip", 6.0)
    assert m.ack("hi", 10) is True
    assert m.state("hi") == ACK
    m.signal(20, "wip", 4.0)
    assert events(m) == [(0, "hi", "activate", UNACK), (10, "hi", "ack", ACK),
                         (20, "hi", "rtn", NORMAL)]
    assert m.ack("hi", 30) is False  # nothing left to acknowledge


def test_ack_after_return_clears_rtn_unack() -> None:
    m = monitor(hi=dict(tag="wip", limit=5))
    m.signal(0, "wip", 6.0)
    m.signal(20, "wip", 4.0)
    assert m.state("hi") == RTN_UNACK
    assert [a["alarm"] for a in m.active()] == ["hi"]  # still on the alarm list
    assert m.ack("hi", 30) is True
    assert events(m)[-1] == (30, "hi", "ack", NORMAL)
    assert m.active() == []


def test_rtn_unack_crossing_again_is_a_new_activation() -> None:
    m = monitor(hi=dict(tag="wip", limit=5))
    feed(m, "wip", [(0, 6.0), (1, 4.0), (2, 7.0)])
    assert [e[2:] for e in events(m)] == [("activate", UNACK), ("rtn", RTN_UNACK),
                                          ("activate", UNACK)]


# ---------------------------------------------------------------------------- shelving


def test_shelving_suppresses_and_returns_to_current_state() -> None:
    m = monitor(hi=dict(tag="wip", limit=5))
    m.signal(0, "wip", 6.0)
    m.shelve("hi", 10, 100)
    assert m.state("hi") == SHELVED
    assert m.ack("hi", 20) is False
    feed(m, "wip", [(30, 4.0), (40, 8.0)])  # tracked silently while shelved
    assert [e[2] for e in events(m)] == ["activate", "shelve"]
    m.signal(200, "wip", 9.0)  # shelf time ended at 110 while the condition held
    assert events(m)[2:] == [(110, "hi", "unshelve", NORMAL), (110, "hi", "activate", UNACK)]
    assert m.state("hi") == UNACK


def test_shelf_ending_in_normal_stays_normal() -> None:
    m = monitor(hi=dict(tag="wip", limit=5))
    m.signal(0, "wip", 6.0)
    m.shelve("hi", 10, 100)
    m.signal(50, "wip", 0.0)
    m.finish(500)
    assert events(m)[-1] == (110, "hi", "unshelve", NORMAL)
    assert m.standing() == []


def test_early_unshelve_and_reshelve_extend_correctly() -> None:
    m = monitor(hi=dict(tag="wip", limit=5))
    m.shelve("hi", 0, 100)
    m.shelve("hi", 50, 100)  # extends to 150: the timer at 100 is stale
    m.finish(120)
    assert m.state("hi") == SHELVED
    assert m.unshelve("hi", 130) is True
    assert m.unshelve("hi", 131) is False
    m.finish(200)
    assert [e[2] for e in events(m)] == ["shelve", "shelve", "unshelve"]
    with pytest.raises(ValueError, match="positive"):
        m.shelve("hi", 300, 0)


def test_time_must_not_go_backwards() -> None:
    m = monitor(hi=dict(tag="wip", limit=5))
    m.signal(10, "wip", 1.0)
    with pytest.raises(ValueError, match="backwards"):
        m.signal(5, "wip", 2.0)


def test_alarm_list_orders_by_priority() -> None:
    m = monitor(a=dict(tag="wip", limit=1, priority="low"),
                b=dict(tag="wip", limit=2, priority="urgent", description="too many"))
    m.signal(0, "wip", 3.0)
    rows = m.active()
    assert [r["alarm"] for r in rows] == ["b", "a"]
    assert rows[0]["description"] == "too many" and rows[0]["value"] == 3.0


# ---------------------------------------------------------------------------- rates and floods


def test_rate_sweep_counts_the_trailing_window() -> None:
    at, count = rate_sweep(np.array([0.0, 100.0, 600.0]))
    # at 600 the first leaves as the third enters: 2, not 3
    assert list(zip(at.tolist(), count.tolist(), strict=True)) == [(0, 1), (100, 2), (600, 2),
                                                                   (700, 1), (1200, 0)]


def test_flood_needs_more_than_ten_in_ten_minutes() -> None:
    ten = np.arange(10) * 60.0  # 10 alarms in 9 minutes: not a flood
    assert flood_periods(ten) == []
    eleven = np.arange(11) * 50.0  # 11 within 500 s
    assert flood_periods(eleven) == [(500.0, 600.0)]  # until the first leaves the window
    burst = np.r_[np.zeros(15), [3000.0]]
    assert flood_periods(burst) == [(0.0, 600.0)]


def test_alarm_summary_by_priority_rate_and_floods() -> None:
    rows = [(float(t), "a", "wip", "high", "activate", UNACK, 1.0, 1.0)
            for t in range(1000, 1012)]  # 12 in 12 s: a flood from the 11th on
    rows += [(5000.0, "b", "wip", "low", "activate", UNACK, 1.0, 1.0),
             (5001.0, "b", "wip", "low", "rtn", RTN_UNACK, 0.0, 1.0),
             (10.0, "b", "wip", "low", "activate", UNACK, 1.0, 1.0)]  # before t0
    table = alarm_table(rows)
    s = alarm_summary(table, t0=100.0, t1=100.0 + 7200.0)
    assert s["alarm_activations"] == 13
    assert s["alarm_activations_high"] == 12 and s["alarm_activations_low"] == 1
    assert s["alarm_activations_urgent"] == 0 and s["alarm_activations_medium"] == 0
    assert s["alarm_max_per_10min"] == 12
    assert s["alarm_flood_count"] == 1
    assert s["alarm_flood_duration_s"] == pytest.approx(1601.0 - 1010.0)  # 11th in, 2nd out
    assert s["alarms_standing_at_end"] == 1
    assert s["alarm_rate_per_h"] == pytest.approx(13 / 2.0)


def test_summary_of_no_alarms() -> None:
    s = alarm_summary(alarm_table([]), 0.0, 3600.0)
    assert s["alarm_activations"] == 0 and s["alarm_max_per_10min"] == 0
    assert s["alarm_flood_count"] == 0 and s["alarm_rate_per_h"] == 0.0


def test_alarm_table_dtypes() -> None:
    m = monitor(hi=dict(tag="wip", limit=5))
    m.signal(0, "wip", 6.0)
    frame = alarm_table(m.rows)
    assert list(frame.columns) == ["time", "alarm", "tag", "priority", "event", "state",
                                   "value", "limit"]
    assert isinstance(frame["event"].dtype, pd.CategoricalDtype)
    assert frame["time"].dtype == float


# ---------------------------------------------------------------------------- spec


def test_alarm_spec_parses_limits_in_the_tag_unit() -> None:
    t = AlarmSpec(tag="temperature.r", limit="100 degC", deadband="2 degC", on_delay="1 min")
    assert t.limit == pytest.approx(373.15) and t.deadband == pytest.approx(2.0)
    assert t.on_delay == 60.0 and t.dimension == "temperature"
    u = AlarmSpec(tag="utility.air", limit="36 m3/h")
    assert u.limit == pytest.approx(0.01) and u.dimension == "volume_flow"
    e = AlarmSpec(tag="emission.toluene", limit="3.6 kg/h")
    assert e.limit == pytest.approx(1e-3)
    for a in (t, u, e, AlarmSpec(tag="buffer.x", limit=4)):
        assert AlarmSpec.model_validate(a.model_dump()) == a  # dumped with SI units


@pytest.mark.parametrize("data, where", [
    (dict(tag="tank.t", limit="5 kW"), "limit"),
    (dict(tag="buffer.b", limit="5 kg"), "limit"),
    (dict(tag="temperature.r", limit=100), "limit"),
    (dict(tag="kpi.oee", limit=0.5), "tag"),
    (dict(tag="wip", limit=5, deadband=-1), "deadband"),
])
def test_alarm_spec_rejects_bad_units_with_location(data: dict, where: str) -> None:
    from pydantic import ValidationError
    with pytest.raises(ValidationError) as info:
        AlarmSpec(**data)
    assert [e["loc"] for e in info.value.errors()] == [(where,)]


def test_nan_values_are_ignored() -> None:
    m = monitor(hi=dict(tag="wip", limit=5))
    m.signal(0, "wip", math.nan)
    assert m.rows == []


@pytest.mark.parametrize(("tag", "limit", "shown", "unit"), [
    ("temperature.r", "100 degC", 100.0, "degC"),
    ("utility.steam", "320 kW", 320.0, "kW"),
    ("utility.air", "50 m3/h", 50.0, "m3/h"),
    ("emission.tol", "2 kg/h", 2.0, "kg/h"),
    ("tank.t", "800 kg", 800.0, "kg"),
    ("wip", 12, 12.0, ""),
    ("kpi.throughput", "20 /h", 20.0, "1/h"),
    ("kpi.yield", "95 %", 95.0, "%"),
    ("kpi.lead_time", "8 h", 8.0, "h"),
])
def test_alarm_values_are_displayed_in_the_units_they_were_written_in(
        tag: str, limit: object, shown: float, unit: str) -> None:
    from twin.data.alarms import AlarmSpec, display_scale

    alarm = AlarmSpec.model_validate({"tag": tag, "limit": limit})
    scale, offset, got_unit = display_scale(alarm)
    assert alarm.limit * scale + offset == pytest.approx(shown, rel=1e-12)
    assert got_unit == unit


def test_standing_alarms_are_active_ones_only() -> None:
    """ISA-18.2: a standing alarm's condition is active (unack or ack); one that returned to
    normal unacknowledged, or is shelved, does not stand. One definition for the KPI, the
    report and the dashboard (it used to differ: the report counted rtn_unack too)."""
    rows = [(10.0, "a", "wip", "high", "activate", UNACK, 1.0, 1.0),
            (20.0, "a", "wip", "high", "rtn", RTN_UNACK, 0.0, 1.0),       # returned: no
            (10.0, "b", "wip", "low", "activate", UNACK, 1.0, 1.0),
            (30.0, "b", "wip", "low", "ack", ACK, 1.0, 1.0),              # active, acked: yes
            (10.0, "c", "wip", "low", "activate", UNACK, 1.0, 1.0),       # active: yes
            (10.0, "d", "wip", "low", "activate", UNACK, 1.0, 1.0),
            (15.0, "d", "wip", "low", "shelve", SHELVED, 1.0, 1.0)]       # shelved: no
    table = alarm_table(rows)
    assert sorted(standing_alarms(table)["alarm"]) == ["b", "c"]
    assert sorted(standing_alarms(table, at=12.0)["alarm"]) == ["a", "b", "c", "d"]
    assert alarm_summary(table, 0.0, 40.0)["alarms_standing_at_end"] == 2
