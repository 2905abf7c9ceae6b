"""The MQTT wire format of Pilot Twin: topic layout and JSON payloads, with encode and decode.

This module is the one declaration of what goes over MQTT between a pilot line (or the
virtual plant) and the twin. Every publisher and every subscriber uses it.

Topics (``prefix`` is set per connection, e.g. ``plant/line1``; no ``+`` or ``#``)::

    {prefix}/tags/{tag}        one value of a plant tag           -> RawValue
    {prefix}/events/{station}  one part or lot event at a station -> PlantEvent
    {prefix}/kpis/{name}       one value of a KPI of the twin     -> RawValue
    {prefix}/alarms/{alarm}    one ISA-18.2 alarm transition      -> AlarmMessage

A tag or station name may itself contain ``/`` (it is the rest of the topic). Payloads are
UTF-8 JSON objects; ``time`` is either an ISO 8601 timestamp *with* a time zone
(``"2026-03-02T06:15:00.250+08:00"``, ``"...Z"``) or a number of seconds since the Unix epoch
(UTC). ``seq`` is an optional non-negative integer the publisher increments per topic; the
twin uses it to drop duplicates.

Tag value (``tags`` and ``kpis``)::

    {"time": "2026-03-02T06:15:00Z", "value": 81.5, "unit": "degC",
     "quality": "good", "seq": 17}

``unit`` is the unit the value is written in (any unit Pilot Twin reads: ``degC``, ``kg``,
``kW``, ``m3/h``, ``1`` for counts); ``quality`` is ``good`` (default), ``uncertain`` or
``bad`` (the OPC UA status classes); a ``bad`` value may be ``null`` or left out.

Plant event (``events``; the fields of the pilot-data ``events`` format)::

    {"time": 1772403300.0, "id": "P-0042", "product": "housing", "event": "complete",
     "resource": "cnc.0", "outcome": "good", "seq": 118}

Alarm transition (``alarms``; the fields of the run folder's ``alarms`` table)::

    {"time": ..., "tag": "temperature.reactor", "priority": "high", "event": "activate",
     "state": "unack_active", "value": 358.2, "limit": 355.0, "seq": 3}

Anything else (not JSON, not an object, a missing or mistyped field, a time without a zone,
a non-finite value) raises :class:`WireError`, whose ``reason`` is ``malformed``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from twin.live.readings import PlantEvent
from twin.pilotdata.formats import EVENT_KINDS, OUTCOMES, QUALITIES

TopicKind = Literal["tags", "events", "kpis", "alarms"]
TOPIC_KINDS: tuple[str, ...] = ("tags", "events", "kpis", "alarms")
"""The second-to-last level of every topic: what the payload holds."""


class WireError(ValueError):
    """A topic or payload that does not follow the wire format; ``reason`` is the rejection
    reason a source counts (always ``malformed``), the message says what is wrong."""

    reason = "malformed"


@dataclass(frozen=True)
class RawValue:
    """A tag value as it came from the plant, before the tag map's checks.

    ``time`` [s since the Unix epoch, UTC, plant clock, no offset applied]; ``value`` in
    ``unit`` (not yet SI); ``quality``: ``good``, ``uncertain`` or ``bad``; ``seq``: the
    publisher's sequence number, if any.
    """

    time: float
    tag: str
    value: float
    unit: str
    quality: str = "good"
    seq: int | None = None


@dataclass(frozen=True)
class AlarmMessage:
    """One ISA-18.2 alarm transition published by a twin (the ``alarms`` table's row).

    ``time`` [s since the epoch]; ``value`` and ``limit`` in SI.
    """

    time: float
    alarm: str
    tag: str
    priority: str
    event: str
    state: str
    value: float
    limit: float
    seq: int | None = None


# --------------------------------------------------------------------------- topics


def _check_prefix(prefix: str) -> str:
    p = prefix.strip("/")
    if not p or "+" in p or "#" in p:
        raise WireError(f"topic prefix {prefix!r} must be non-empty without '+' or '#'")
    return p


def topic(prefix: str, kind: str, name: str) -> str:
    """The topic of ``name`` (a tag, station, KPI or alarm) of ``kind`` under ``prefix``."""
    if kind not in TOPIC_KINDS:
        raise WireError(f"topic kind {kind!r} is not one of {', '.join(TOPIC_KINDS)}")
    if not name or "+" in name or "#" in name or name.startswith("/"):
        raise WireError(f"name {name!r} cannot be a topic level (empty, '+', '#', leading /)")
    return f"{_check_prefix(prefix)}/{kind}/{name}"


def subscription(prefix: str, kind: str | None = None) -> str:
    """The topic filter that receives every message under ``prefix`` (of ``kind`` only if
    given)."""
    p = _check_prefix(prefix)
    if kind is None:
        return f"{p}/#"
    if kind not in TOPIC_KINDS:
        raise WireError(f"topic kind {kind!r} is not one of {', '.join(TOPIC_KINDS)}")
    return f"{p}/{kind}/#"


def parse_topic(prefix: str, name: str) -> tuple[str, str]:
    """``(kind, name)`` of a topic under ``prefix``; :class:`WireError` if it is not one."""
    p = _check_prefix(prefix) + "/"
    if not name.startswith(p):
        raise WireError(f"topic {name!r} is not under the prefix {p[:-1]!r}")
    kind, _, rest = name[len(p):].partition("/")
    if kind not in TOPIC_KINDS or not rest:
        raise WireError(f"topic {name!r} is not {p}<{'|'.join(TOPIC_KINDS)}>/<name>")
    return kind, rest


# --------------------------------------------------------------------------- fields


def format_time(t: float) -> str:
    """ISO 8601 in UTC with microseconds (``2026-03-02T06:15:00.250000+00:00``) of ``t``
    [s since the epoch]."""
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="microseconds")


def parse_time(value: Any) -> float:
    """Seconds since the epoch of an ISO 8601 time with a zone, or of epoch seconds."""
    if isinstance(value, bool):
        raise WireError(f"time {value!r} is neither ISO 8601 text nor epoch seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise WireError(f"time {value!r} is not finite")
        return float(value)
    if not isinstance(value, str):
        raise WireError(f"time {value!r} is neither ISO 8601 text nor epoch seconds")
    text = value.strip()
    try:
        stamp = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" and text
                                       else text)
    except ValueError:
        raise WireError(f"time {value!r} is not an ISO 8601 timestamp") from None
    if stamp.tzinfo is None:
        raise WireError(f"time {value!r} has no time zone (write e.g. ...+08:00 or ...Z)")
    return stamp.timestamp()


def _number(obj: dict[str, Any], key: str, required: bool = True) -> float:
    v = obj.get(key)
    if v is None and not required:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise WireError(f"{key!r} must be a finite number, got {v!r}")
    return float(v)


def _text(obj: dict[str, Any], key: str, required: bool = True, default: str = "") -> str:
    v = obj.get(key, None)
    if v is None or v == "":
        if required:
            raise WireError(f"{key!r} is missing")
        return default
    if not isinstance(v, str):
        raise WireError(f"{key!r} must be text, got {v!r}")
    return v.strip()


def _seq(obj: dict[str, Any]) -> int | None:
    v = obj.get("seq")
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise WireError(f"'seq' must be a non-negative integer, got {v!r}")
    return v


def _object(payload: bytes | str) -> dict[str, Any]:
    try:
        obj = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"the payload is not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise WireError(f"the payload is a JSON {type(obj).__name__}, not an object")
    if "time" not in obj:
        raise WireError("'time' is missing")
    return obj


def _dump(obj: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in obj.items() if v is not None},
                      separators=(",", ":"), allow_nan=False).encode()


# --------------------------------------------------------------------------- payloads


def encode_value(msg: RawValue, *, epoch: bool = False) -> bytes:
    """The payload of a tag or KPI value (time as ISO 8601 UTC, or epoch seconds)."""
    if msg.quality not in QUALITIES:
        raise WireError(f"quality {msg.quality!r} is not one of {', '.join(QUALITIES)}")
    finite = math.isfinite(msg.value)
    if not finite and msg.quality != "bad":
        raise WireError(f"value of {msg.tag!r} is not finite: {msg.value!r}")
    return _dump({"time": msg.time if epoch else format_time(msg.time),
                  "value": msg.value if finite else None,
                  "unit": msg.unit, "quality": msg.quality, "seq": msg.seq})


def decode_value(tag: str, payload: bytes | str) -> RawValue:
    """The :class:`RawValue` of tag ``tag`` (from the topic) in ``payload``."""
    obj = _object(payload)
    quality = _text(obj, "quality", required=False, default="good").lower()
    if quality not in QUALITIES:
        raise WireError(f"quality {quality!r} is not one of {', '.join(QUALITIES)}")
    return RawValue(parse_time(obj["time"]), tag, _number(obj, "value", quality != "bad"),
                    _text(obj, "unit", required=False), quality, _seq(obj))


def encode_event(ev: PlantEvent, *, epoch: bool = False) -> bytes:
    """The payload of a plant event (published on ``{prefix}/events/{ev.station}``)."""
    return _dump({"time": ev.time if epoch else format_time(ev.time), "id": ev.id,
                  "product": ev.product, "event": ev.event, "resource": ev.resource or None,
                  "outcome": ev.outcome if ev.event == "complete" else None, "seq": ev.seq})


def decode_event(station: str, payload: bytes | str) -> PlantEvent:
    """The :class:`PlantEvent` at ``station`` (from the topic) in ``payload``."""
    obj = _object(payload)
    event = _text(obj, "event").lower()
    if event not in EVENT_KINDS:
        raise WireError(f"event {event!r} is not one of {', '.join(EVENT_KINDS)}")
    outcome = _text(obj, "outcome", required=False, default="good").lower()
    if outcome not in OUTCOMES:
        raise WireError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    return PlantEvent(parse_time(obj["time"]), _text(obj, "id"), _text(obj, "product"),
                      station, event, _text(obj, "resource", required=False), outcome,
                      _seq(obj))


def encode_alarm(msg: AlarmMessage, *, epoch: bool = False) -> bytes:
    """The payload of an alarm transition (published on ``{prefix}/alarms/{msg.alarm}``)."""
    return _dump({"time": msg.time if epoch else format_time(msg.time), "tag": msg.tag,
                  "priority": msg.priority, "event": msg.event, "state": msg.state,
                  "value": msg.value if math.isfinite(msg.value) else None,
                  "limit": msg.limit if math.isfinite(msg.limit) else None, "seq": msg.seq})


def decode_alarm(alarm: str, payload: bytes | str) -> AlarmMessage:
    """The :class:`AlarmMessage` of ``alarm`` (from the topic) in ``payload``."""
    obj = _object(payload)
    return AlarmMessage(parse_time(obj["time"]), alarm, _text(obj, "tag"),
                        _text(obj, "priority"), _text(obj, "event"), _text(obj, "state"),
                        _number(obj, "value", required=False),
                        _number(obj, "limit", required=False), _seq(obj))


def decode(prefix: str, name: str, payload: bytes | str
           ) -> tuple[str, RawValue | PlantEvent | AlarmMessage]:
    """Decode a message by its topic: ``(kind, message)``; :class:`WireError` if the topic
    or payload is malformed."""
    kind, rest = parse_topic(prefix, name)
    if kind == "events":
        return kind, decode_event(rest, payload)
    if kind == "alarms":
        return kind, decode_alarm(rest, payload)
    return kind, decode_value(rest, payload)
