"""Alarm definitions of a line (ISA-18.2): which signal, which limit, how urgent.

An alarm watches one *signal*, a named tag whose value the engine records whenever it changes:

=========================  ===========================================================  =====
tag                        value                                                        unit
=========================  ===========================================================  =====
``buffer.<station>``       parts in the station's input buffer(s) (all queues of an      count
                           assembly), not counting parts in service
``wip``                    parts in the line (created and not yet out, scrapped or       count
                           consumed)
``tank.<station>``         contents of a tank                                            kg
``utility.<name>``         load a utility carries                                        W, or
                                                                                         m3/s
                                                                                         (media)
``temperature.<station>``  batch temperature in a process unit: when a batch starts,     K
                           along the kernel profile of a phase (a point when it moved
                           0.1 K or more, and the peak), and at each phase end
``emission.<species>``     emission rate of a species from all units: each phase emits   kg/s
                           its emitted mass evenly over its working time
``kpi.throughput``         good parts (batches) leaving the line per unit time over the  1/s
                           trailing ``window``
``kpi.yield``              good parts over good and scrapped parts among those finished  --
                           in the trailing ``window`` (held while none finished)
``kpi.lead_time``          mean lead time (created to out) of the good parts finished    s
                           in the trailing ``window`` (held while none finished)
=========================  ===========================================================  =====

A ``residual.<signal>`` tag (``residual.temperature.reactor``, ``residual.kpi.throughput``)
is the change detector's statistic on the standardised residual of ``<signal>`` (measured
minus the twin's prediction), in standard deviations: a shadow twin (``twin shadow``,
:mod:`twin.live.shadow`) raises it for every signal it monitors. Declaring an alarm on it
sets that residual alarm's name, priority, on-delay, deadband and description; its ``limit``
(dimensionless, default 0) is the detector's limit when positive (CUSUM ``h``, EWMA
``L sqrt(lam / (2 - lam))``; the shadow then states the false-alarm rate it implies), or is
designed from the shadow's ARL0 when 0. A plain run has no residuals: such an alarm stays
normal there.

KPI signals are rolling figures, exact step functions on the simulation clock: they change
when a part finishes and when it leaves the window, never by sampling. Their ``window``
(default 1 h) is set on the alarm; alarms on one KPI tag share one window. The end-of-run KPIs
(:mod:`twin.observation.kpis`) are computed over the whole run and are not signals.
``limit`` (and ``deadband``) are written with a unit of the tag's kind (``"100 degC"``,
``"320 kW"``, ``"50 m3/h"``, ``"800 kg"``, ``"2 kg/h"``, ``"20 /h"``, ``"95 %"``, ``"8 h"``)
or as a bare number for counts and yields; they are stored in SI. A temperature deadband is
a difference: ``"2 K"`` or ``"2 degC"`` both mean 2 K.

A ``high`` alarm is active at or above ``limit`` and returns to normal below
``limit - deadband``; a ``low`` alarm is active at or below ``limit`` and returns above
``limit + deadband``. The condition must hold for ``on_delay`` before the alarm activates.
Tags are checked against the line by :func:`twin.data.checks.topology_problems`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_serializer,
    field_validator,
    model_validator,
)

from twin.data.model import Model
from twin.data.quantities import Duration
from twin.data.registry import STATION_SIGNALS
from twin.data.units import DIMENSIONS, UnitError, to_si

TAG_KINDS = ("buffer", "wip", "tank", "utility", "temperature", "emission", "kpi",
             "residual")
"""Kinds of signal tags (the part before the dot; ``wip`` has no dot)."""

_TAG = re.compile(
    r"^(buffer|tank|utility|temperature|emission|kpi)\.([A-Za-z][A-Za-z0-9_\-]*)$|^wip$")
_RESIDUAL = "residual."

KPI_SIGNALS = {"throughput": "rate", "yield": "dimensionless", "lead_time": "time"}
"""Rolling KPIs an alarm can watch (``kpi.<name>``), with the dimension of their values."""

DEFAULT_KPI_WINDOW = 3600.0
"""Trailing window of a KPI signal when its alarm sets none [s]."""

DIMENSION_OF_KIND = {"buffer": "count", "wip": "count", "tank": "mass",
                     "temperature": "temperature", "emission": "mass_flow"}
"""Dimension of a tag kind's values (utilities: ``power`` or ``volume_flow``)."""

PRIORITIES = ("low", "medium", "high", "urgent")
"""Alarm priorities, least urgent first."""

_LIMIT_SCHEMA = WithJsonSchema({
    "anyOf": [{"type": "string"}, {"type": "number"}],
    "description": "a value with the unit of the tag's kind (e.g. '100 degC', '320 kW', "
                   "'800 kg', '2 kg/h'), or a bare number for buffer and wip counts"})


def tag_kind(tag: str) -> str | None:
    """The kind of a tag (``"buffer"``, ``"wip"``, ...) or ``None`` if it is not a tag."""
    if tag.startswith(_RESIDUAL):
        return "residual" if _TAG.match(tag[len(_RESIDUAL):]) else None
    m = _TAG.match(tag)
    if m is None:
        return None
    return m.group(1) or "wip"


def parse_value(value: Any, dimension: str, *, difference: bool = False) -> float:
    """A limit or deadband in SI for ``dimension`` (``"count"``: a bare number).

    ``difference``: a temperature difference (``"2 degC"`` means 2 K).
    """
    if not isinstance(value, bool) and isinstance(value, int | float) and value == 0:
        return 0.0  # nothing needs a unit
    if dimension == "count":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UnitError(f"expected a number of parts, got {value!r}")
        return to_si(value, "dimensionless")
    if difference and dimension == "temperature" and isinstance(value, str):
        value = re.sub(r"(?<![A-Za-z_])(degC|°C|celsius)\b", "delta_degC", value)
        value = re.sub(r"(?<![A-Za-z_])(degF|°F|fahrenheit)\b", "delta_degF", value)
    return to_si(value, dimension)


def _utility_dimension(value: Any) -> str:
    """``power`` or ``volume_flow``: whichever the written limit is (power if neither)."""
    try:
        to_si(value, "volume_flow")
    except UnitError:
        return "power"
    return "volume_flow"


def _dimension(tag: Any, raw_limit: Any) -> str | None:
    kind = tag_kind(tag) if isinstance(tag, str) else None
    if kind is None:
        return None
    if kind == "residual":
        return "dimensionless"
    if kind == "kpi":
        return KPI_SIGNALS.get(tag[4:], "dimensionless")  # an unknown KPI: the tag says so
    return _utility_dimension(raw_limit) if kind == "utility" else DIMENSION_OF_KIND[kind]


class AlarmSpec(Model):
    """One alarm: a limit on a signal, with its direction, priority, deadband and on-delay."""

    tag: str = Field(description="the signal watched: buffer.<station>, wip, tank.<station>, "
                     "utility.<name>, temperature.<station>, emission.<species>, "
                     "kpi.throughput, kpi.yield or kpi.lead_time, or residual.<signal> "
                     "(a shadow twin's residual detector)")
    limit: Annotated[float, _LIMIT_SCHEMA]
    direction: Literal["high", "low"] = "high"
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    deadband: Annotated[float, _LIMIT_SCHEMA] = Field(
        0.0, ge=0.0, description="hysteresis to return to normal, in the limit's unit")
    on_delay: Duration = Field(0.0, ge=0.0, description="the condition must hold this long")
    window: Duration | None = Field(
        None, gt=0.0, description="trailing window of a kpi.* signal (default 1 h)")
    description: str = ""
    _dimension: str = PrivateAttr("")

    @field_validator("tag")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if tag_kind(value) is None:
            raise ValueError(
                f"{value!r} is not a signal tag (expected buffer.<station>, wip, "
                "tank.<station>, utility.<name>, temperature.<station>, "
                "emission.<species>, kpi.<name> or residual.<one of these>)")
        inner = value[len(_RESIDUAL):] if tag_kind(value) == "residual" else value
        if tag_kind(inner) == "kpi" and inner[4:] not in KPI_SIGNALS:
            raise ValueError(f"{inner!r} is not a rolling KPI (known: "
                             + ", ".join(f"kpi.{k}" for k in KPI_SIGNALS) + ")")
        return value

    @field_validator("limit", "deadband", mode="before")
    @classmethod
    def _to_si(cls, value: Any, info: ValidationInfo) -> Any:
        tag = info.data.get("tag")
        if tag is None:
            return 0.0  # the tag's own error says what is wrong
        dim = _dimension(tag, value)  # a utility's deadband: checked against the limit below
        assert dim is not None
        return parse_value(value, dim, difference=info.field_name == "deadband")

    @model_validator(mode="before")
    @classmethod
    def _residual_limit(cls, data: Any) -> Any:
        """A residual alarm's limit defaults to 0: the shadow twin designs it."""
        if (isinstance(data, dict) and isinstance(data.get("tag"), str)
                and data["tag"].startswith(_RESIDUAL) and "limit" not in data):
            return {**data, "limit": 0.0}
        return data

    @model_validator(mode="wrap")
    @classmethod
    def _keep_dimension(cls, data: Any, handler: Any) -> AlarmSpec:
        alarm = handler(data)
        raw = data.get("limit") if isinstance(data, dict) else None
        alarm._dimension = _dimension(alarm.tag, raw) or ""
        band = data.get("deadband") if isinstance(data, dict) else None
        if alarm.kind == "utility" and isinstance(band, str) and (
                _dimension(alarm.tag, band) != alarm._dimension):
            raise ValueError(f"deadband {band!r} is not a {alarm._dimension} like the limit")
        if alarm.window is not None and alarm.kind != "kpi":
            raise ValueError(f"a window applies to kpi.* tags only, not to {alarm.tag!r}")
        if alarm.kind == "residual" and (alarm.direction != "high" or alarm.limit < 0):
            raise ValueError("a residual alarm is a high alarm on a detector statistic (never "
                             "negative): direction 'high', limit 0 (designed) or positive")
        return alarm

    @property
    def dimension(self) -> str:
        """Dimension of ``limit`` and ``deadband`` (``"count"``, ``"power"``, ...)."""
        return self._dimension

    @property
    def kind(self) -> str:
        """The tag's kind (``"buffer"``, ``"utility"``, ...)."""
        kind = tag_kind(self.tag)
        assert kind is not None
        return kind

    @property
    def kpi_window(self) -> float:
        """Trailing window of a ``kpi.*`` signal [s]."""
        return DEFAULT_KPI_WINDOW if self.window is None else self.window

    @field_serializer("limit", "deadband")
    def _dump(self, value: float) -> float | str:
        # Written back with its SI unit, so a dumped spec validates to the same values.
        if self._dimension in ("count", ""):
            return value
        return f"{value!r} {DIMENSIONS[self._dimension]}"


DISPLAY = {
    "count": (1.0, 0.0, ""), "mass": (1.0, 0.0, "kg"), "temperature": (1.0, -273.15, "degC"),
    "power": (1e-3, 0.0, "kW"), "volume_flow": (3600.0, 0.0, "m3/h"),
    "mass_flow": (3600.0, 0.0, "kg/h"), "rate": (3600.0, 0.0, "1/h"),
    "dimensionless": (100.0, 0.0, "%"), "time": (1 / 3600.0, 0.0, "h"),
}
"""How people read signal values of each dimension: shown = SI value x scale + offset."""


def display_of(dimension: str) -> tuple[float, float, str]:
    """``(scale, offset, unit)`` to show values of ``dimension`` (degC for temperatures, kW,
    m3/h, kg/h, per hour, %, h; ``""`` for counts); SI if the dimension is not listed."""
    return DISPLAY.get(dimension, (1.0, 0.0, DIMENSIONS.get(dimension, "")))


def display_scale(alarm: AlarmSpec) -> tuple[float, float, str]:
    """``(scale, offset, unit)`` to show the values and limit of ``alarm``'s signal."""
    return display_of(alarm.dimension)


def signal_tags(line: Any) -> dict[str, str]:
    """Every signal tag a line can record, with the dimension of their values; a station's
    tags are the ``signals`` its station type declares (:mod:`twin.data.registry`)."""
    tags: dict[str, str] = {"wip": "count"}
    for name, st in line.stations.items():
        for kind in STATION_SIGNALS:
            if kind in type(st).signals:
                tags[f"{kind}.{name}"] = DIMENSION_OF_KIND[kind]
    for name, u in line.utilities.items():
        tags[f"utility.{name}"] = "volume_flow" if u.is_medium else "power"
    for name in line.species:
        tags[f"emission.{name}"] = "mass_flow"
    for name, dim in KPI_SIGNALS.items():
        tags[f"kpi.{name}"] = dim
    return tags


def residual_tags(line: Any) -> dict[str, str]:
    """The ``residual.<signal>`` tags of a line's signals (raised by a shadow twin), with
    their dimension (``dimensionless``: standard deviations)."""
    return {f"{_RESIDUAL}{tag}": "dimensionless" for tag in signal_tags(line)}


def kpi_windows(alarms: dict[str, AlarmSpec]) -> dict[str, float]:
    """The ``kpi.*`` tags watched by ``alarms``, with their trailing window [s]."""
    return {a.tag: a.kpi_window for a in alarms.values() if a.kind == "kpi"}
