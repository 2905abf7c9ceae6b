"""Tag checks and ordering shared by every live source (twin.live.tagchecks)."""

from __future__ import annotations

import logging
import math

import pytest

from twin.live.readings import PlantEvent, SourceStats
from twin.live.tagchecks import Intake, Rejected, TagChecks
from twin.live.wire import RawValue


def test_values_come_out_in_si_on_the_corrected_clock(tagmap) -> None:
    checks = TagChecks(tagmap, clock_offset=2.5)
    r = checks.reading(RawValue(100.0, "TI101", 80.0, "degC", "good", 7))
    # 80 degC = 353.15 K (ITS-90 offset); time shifted by the stated offset
    assert (r.time, r.signal, r.value, r.quality, r.seq) == (
        102.5, "temperature.reactor", pytest.approx(353.15), "good", 7)
    # 9 m3/h = 0.0025 m3/s; a value without a unit is in the tag map's unit (m3/h)
    assert checks.reading(RawValue(0, "FI202", 9.0, "m3/h")).value == pytest.approx(0.0025)
    assert checks.reading(RawValue(0, "FI202", 9.0, "")).value == pytest.approx(0.0025)
    assert checks.reading(RawValue(0, "FI202", 1.0, "L/s")).value == pytest.approx(1e-3)
    assert checks.reading(RawValue(0, "TI101", 90.0, "degC", "uncertain")).quality == \
        "uncertain"


@pytest.mark.parametrize("raw, reason", [
    (RawValue(0, "XX9", 1.0, "degC"), "unknown_tag"),
    (RawValue(0, "TI101", 1.0, "bar"), "wrong_unit"),
    (RawValue(0, "TI101", 1.0, "furlongs"), "wrong_unit"),
    (RawValue(0, "TI101", 80.0, "degC", "bad"), "bad_quality"),
    (RawValue(0, "TI101", 151.0, "degC"), "out_of_range"),
    (RawValue(0, "TI101", -0.5, "degC"), "out_of_range"),
    (RawValue(0, "TI101", 424.0, "K"), "out_of_range"),  # 150.85 degC > 150 degC
    (RawValue(0, "TI101", math.nan, "degC"), "malformed"),
])
def test_each_check_refuses_with_its_reason(tagmap, raw, reason) -> None:
    with pytest.raises(Rejected) as err:
        TagChecks(tagmap).reading(raw)
    assert err.value.reason == reason


def test_limits_are_inclusive(tagmap) -> None:
    checks = TagChecks(tagmap)
    assert checks.reading(RawValue(0, "TI101", 150.0, "degC")).value == pytest.approx(423.15)
    assert checks.reading(RawValue(0, "TI101", 0.0, "degC")).value == pytest.approx(273.15)


def test_rejections_are_counted_and_logged_once_each(tagmap, caplog) -> None:
    stats = SourceStats()
    intake = Intake(TagChecks(tagmap), stats, source="plant")
    with caplog.at_level(logging.WARNING, logger="twin.live.tagchecks"):
        intake.value(RawValue(0, "TI101", 80.0, "degC", "bad"))
        intake.value(RawValue(1, "TI101", 999.0, "degC"))
        intake.value(RawValue(2, "XX9", 1.0, "degC"))
        intake.value(RawValue(3, "TI101", 80.0, "degC"))
    assert stats.rejected == {"bad_quality": 1, "out_of_range": 1, "unknown_tag": 1}
    assert (stats.received, stats.used) == (4, 0)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "TI101 (bad_quality)" in lines[0] and "TI101 (out_of_range)" in lines[1]
    assert "XX9 (unknown_tag)" in lines[2]
    assert [r.value for r in intake.ready()] == [pytest.approx(353.15)]
    assert stats.used == 1


def feed(intake: Intake, times: list[float], tag: str = "TI101") -> list[float]:
    out: list[float] = []
    for t in times:
        intake.value(RawValue(t, tag, 50.0 + t, "degC"))
        out += [r.time for r in intake.ready()]
    return out + [r.time for r in intake.flush()]


def test_out_of_order_within_the_lateness_is_released_in_order(tagmap) -> None:
    stats = SourceStats()
    got = feed(Intake(TagChecks(tagmap), stats, lateness=3.0), [0, 2, 1, 4, 3, 5, 9, 8, 6])
    assert got == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    assert (stats.late, stats.duplicates, stats.used) == (0, 0, 9)


def test_older_than_the_lateness_is_late_and_dropped(tagmap) -> None:
    stats = SourceStats()
    # 1 arrives after 5: 5 - 3 = 2 > 1, and 2 was already released -> late
    got = feed(Intake(TagChecks(tagmap), stats, lateness=3.0), [0, 2, 5, 1, 6])
    assert got == [0, 2, 5, 6]
    assert stats.late == 1
    stats0 = SourceStats()
    assert feed(Intake(TagChecks(tagmap), stats0), [0, 2, 1, 3]) == [0, 2, 3]
    assert stats0.late == 1


def test_watermark_is_across_tags_and_output_is_merged_in_time(tagmap) -> None:
    intake = Intake(TagChecks(tagmap), SourceStats(), lateness=1.0)
    intake.value(RawValue(0.0, "TI101", 50.0, "degC"))
    intake.value(RawValue(0.5, "FI202", 1.0, "m3/h"))
    assert intake.ready() == []
    intake.value(RawValue(1.7, "FI202", 1.0, "m3/h"))  # newest 1.7: 0 and 0.5 due
    assert [(r.tag, r.time) for r in intake.ready()] == [("TI101", 0.0), ("FI202", 0.5)]


def test_duplicates_by_seq_or_by_time_and_value(tagmap) -> None:
    stats = SourceStats()
    intake = Intake(TagChecks(tagmap), stats, lateness=10.0)
    intake.value(RawValue(0, "TI101", 50.0, "degC", seq=1))
    intake.value(RawValue(0, "TI101", 50.0, "degC", seq=1))   # a redelivery
    intake.value(RawValue(0, "TI101", 51.0, "degC", seq=1))   # same seq and time
    intake.value(RawValue(2, "TI101", 52.0, "degC"))
    intake.value(RawValue(2, "TI101", 52.0, "degC"))          # same time and value
    intake.value(RawValue(2, "TI101", 53.0, "degC"))          # same time, other value: used
    intake.value(RawValue(3, "FI202", 1.0, "m3/h", seq=1))    # seq is per tag
    intake.value(RawValue(4, "TI101", 54.0, "degC", seq=1))   # the publisher restarted
    assert stats.duplicates == 3
    assert [(r.tag, r.time) for r in intake.flush()] == [
        ("TI101", 0), ("TI101", 2), ("TI101", 2), ("FI202", 3), ("TI101", 4)]


def test_duplicate_after_release_is_a_duplicate_not_late(tagmap) -> None:
    stats = SourceStats()
    got = feed(Intake(TagChecks(tagmap), stats), [0, 1, 2, 1])
    assert got == [0, 1, 2] and (stats.duplicates, stats.late) == (1, 0)


def test_events_are_shifted_ordered_per_station_and_deduplicated(tagmap) -> None:
    stats = SourceStats()
    intake = Intake(TagChecks(tagmap, clock_offset=-1.0), stats, lateness=5.0)
    for t, pid, seq in [(10, "a", 1), (12, "b", 2), (11, "c", 3), (12, "b", 2)]:
        intake.event(PlantEvent(t, pid, "x", "cnc", "start", seq=seq))
    got = intake.flush()
    assert [(e.time, e.id) for e in got] == [(9, "a"), (10, "c"), (11, "b")]
    assert stats.duplicates == 1


def test_memory_of_seen_values_stays_bounded(tagmap) -> None:
    stats = SourceStats()
    intake = Intake(TagChecks(tagmap), stats, capacity=4)
    for i in range(3000):
        intake.value(RawValue(i * 10.0, "TI101", 50.0, "degC", seq=i))
        intake.ready()
    # kept: about 1 h (MEMORY) of 10 s samples, at most twice that between clean-ups
    assert len(intake._seen_value) <= 2 * (3600 // 10 + 1)
    assert stats.used == 3000
    intake.value(RawValue(2999 * 10.0 - 1800, "TI101", 50.0, "degC", seq=2999 - 180))
    assert (stats.duplicates, stats.late) == (1, 0)  # 30 min old: still known
