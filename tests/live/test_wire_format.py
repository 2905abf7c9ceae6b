"""The MQTT wire format: topics and payloads round-trip, and malformed ones are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from twin.live import wire
from twin.live.readings import PlantEvent

PREFIX = "plant/line1"


def test_topics_round_trip_and_names_may_hold_slashes() -> None:
    t = wire.topic(PREFIX, "tags", "area2/TI-101.PV")
    assert t == "plant/line1/tags/area2/TI-101.PV"
    assert wire.parse_topic(PREFIX, t) == ("tags", "area2/TI-101.PV")
    assert wire.subscription(PREFIX) == "plant/line1/#"
    assert wire.subscription(PREFIX, "events") == "plant/line1/events/#"
    for bad in ("other/tags/x", "plant/line1/values/x", "plant/line1/tags"):
        with pytest.raises(wire.WireError):
            wire.parse_topic(PREFIX, bad)
    with pytest.raises(wire.WireError, match="'\\+'"):
        wire.topic("plant/+", "tags", "x")


def test_value_round_trip_iso_and_epoch() -> None:
    msg = wire.RawValue(1772403300.25, "TI-101", 81.5, "degC", "uncertain", 17)
    for epoch in (False, True):
        payload = wire.encode_value(msg, epoch=epoch)
        assert wire.decode(PREFIX, f"{PREFIX}/tags/TI-101", payload) == ("tags", msg)
    # the ISO text is the UTC time of the epoch seconds (independent: datetime by hand)
    text = json.loads(wire.encode_value(msg))["time"]
    assert text == "2026-03-01T22:15:00.250000+00:00"
    assert datetime(2026, 3, 1, 22, 15, 0, 250000, tzinfo=UTC).timestamp() == msg.time


def test_times_with_any_zone_are_the_same_instant() -> None:
    a = wire.parse_time("2026-03-02T06:15:00+08:00")
    assert a == wire.parse_time("2026-03-01T22:15:00Z") == wire.parse_time(1772403300)
    assert a == 1772403300.0


def test_event_and_alarm_round_trip() -> None:
    ev = PlantEvent(1772403300.0, "P-1", "housing", "cnc", "complete", "cnc.0", "scrap", 4)
    name = wire.topic(PREFIX, "events", ev.station)
    assert wire.decode(PREFIX, name, wire.encode_event(ev)) == ("events", ev)
    al = wire.AlarmMessage(5.0, "TAH-1", "temperature.r", "high", "activate",
                           "unack_active", 358.2, 355.0, 1)
    assert wire.decode(PREFIX, f"{PREFIX}/alarms/TAH-1", wire.encode_alarm(al)) == (
        "alarms", al)


@pytest.mark.parametrize("payload, problem", [
    (b"\xff\xfe", "not JSON"),
    (b"not json", "not JSON"),
    (b"[1, 2]", "not an object"),
    (b'{"value": 1}', "'time' is missing"),
    (b'{"time": "2026-03-02T06:15:00", "value": 1}', "no time zone"),
    (b'{"time": "yesterday", "value": 1}', "not an ISO 8601"),
    (b'{"time": true, "value": 1}', "neither"),
    (b'{"time": 1, "value": "81.5"}', "finite number"),
    (b'{"time": 1, "value": true}', "finite number"),
    (b'{"time": 1, "value": NaN}', "finite number"),
    (b'{"time": 1, "value": 1, "quality": "meh"}', "quality"),
    (b'{"time": 1, "value": 1, "seq": -1}', "seq"),
    (b'{"time": 1, "value": 1, "seq": 1.5}', "seq"),
    (b'{"time": 1, "value": 1, "unit": 3}', "text"),
])
def test_malformed_values_are_refused(payload: bytes, problem: str) -> None:
    with pytest.raises(wire.WireError, match=problem) as err:
        wire.decode_value("TI-101", payload)
    assert err.value.reason == "malformed"


def test_malformed_events_are_refused() -> None:
    good = {"time": 1, "id": "P", "product": "x", "event": "start"}
    wire.decode_event("cnc", json.dumps(good))
    for change, problem in [({"event": "finish"}, "event"), ({"id": None}, "'id'"),
                            ({"outcome": "great"}, "outcome")]:
        with pytest.raises(wire.WireError, match=problem):
            wire.decode_event("cnc", json.dumps(good | change))


def test_a_bad_value_may_be_null_and_only_a_bad_one() -> None:
    msg = wire.RawValue(1.0, "TI101", float("nan"), "degC", "bad", 2)
    back = wire.decode_value("TI101", wire.encode_value(msg))
    assert back.quality == "bad" and back.value != back.value  # NaN
    assert json.loads(wire.encode_value(msg)).get("value") is None
    with pytest.raises(wire.WireError, match="finite"):
        wire.encode_value(wire.RawValue(1.0, "TI101", float("nan"), "degC"))
    with pytest.raises(wire.WireError, match="finite"):
        wire.decode_value("TI101", b'{"time": 1, "value": null, "quality": "uncertain"}')
