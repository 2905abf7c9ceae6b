"""A run's recorded rows as the messages of the wire format (:mod:`twin.live.wire`): every
signal change as a tag value, every part event as a plant event, every alarm transition.

Tags: a :class:`TagMap` names the plant tag and unit of each published signal (by default
the signal's own name in its display unit, :func:`default_tagmap`); it is written as a
pilot-data ``tagmap`` file (:meth:`TagMap.frame`), so a shadow twin reads the plant with
the same map. Times are on the plant clock: ``origin`` + run time [s since the epoch].

Part events follow the event log an MES writes (:func:`twin.fit.runlogs.event_log`):
``created`` -> ``release``, ``start``, ``end`` -> ``complete`` with the outcome of a scrap or
rework at the same part, station and time, parts named ``P<id>``, the resource named for
stations with one server. Rows of the last instant read are held back until the run moves
past it (a scrap may follow the complete in the same instant), and flushed at the end.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.alarms import display_of, signal_tags
from twin.fit.runlogs import OUTCOME_EVENTS, PILOT_EVENTS, unit_name
from twin.live.readings import PlantEvent
from twin.live.wire import AlarmMessage, RawValue
from twin.observation.recorder import EVENTS

COUNT_UNIT = "1"
"""Unit written for counts (buffer contents, WIP)."""


@dataclass(frozen=True)
class TagMap:
    """Plant tag and unit of each published signal: ``{signal: (tag, unit)}``."""

    tags: Mapping[str, tuple[str, str]]

    def frame(self, descriptions: Mapping[str, str] | None = None) -> pd.DataFrame:
        """The map as a pilot-data ``tagmap`` table (``tag``, ``signal``, ``unit``,
        ``description``)."""
        about = descriptions or {}
        return pd.DataFrame({"tag": [t for t, _ in self.tags.values()],
                             "signal": list(self.tags),
                             "unit": [u for _, u in self.tags.values()],
                             "description": [about.get(s, "") for s in self.tags]})


def default_tagmap(line: S.LineSpec, signals: Iterable[str] | None = None) -> TagMap:
    """Every signal of ``line`` (or ``signals``) under its own name, in its display unit."""
    dims = signal_tags(line)
    chosen = list(dims) if signals is None else list(signals)
    unknown = [s for s in chosen if s not in dims]
    if unknown:
        raise ValueError(f"line {line.line.name!r} has no signal {unknown[0]!r}")
    return TagMap({s: (s, display_of(dims[s])[2] or COUNT_UNIT) for s in chosen})


class RunMessages:
    """Turns a run's new rows (``LiveRun.since`` records) into wire messages.

    Parameters
    ----------
    line
        The run's line.
    recorder
        The run's recorder (its registries name the codes in the rows).
    origin
        Plant-clock time of run time 0 [s since the epoch].
    tagmap
        Which signals to publish, under which tag and unit (default: all,
        :func:`default_tagmap`).
    noise
        Standard deviation [SI] of a normal measurement error added to the published values
        of a signal, by signal (a sensor's noise; the recorded values stay exact).
    seed
        Seed of the measurement errors (same seed, same errors).
    """

    def __init__(self, line: S.LineSpec, recorder: Any, origin: float,
                 tagmap: TagMap | None = None, noise: Mapping[str, float] | None = None,
                 seed: int = 0) -> None:
        self.recorder = recorder
        self.origin = float(origin)
        self.tagmap = tagmap if tagmap is not None else default_tagmap(line)
        dims = signal_tags(line)
        self._convert = {}
        for signal, (tag, unit) in self.tagmap.tags.items():
            scale, offset, shown = display_of(dims[signal])
            if (shown or COUNT_UNIT) != unit:
                raise ValueError(f"tag {tag!r} of {signal}: publish it in {shown or COUNT_UNIT}"
                                 f", not {unit!r}")
            self._convert[signal] = (tag, unit, scale, offset)
        self.noise = dict(noise or {})
        unknown = sorted(set(self.noise) - set(self._convert))
        if unknown:
            raise ValueError(f"noise on {unknown[0]!r}: not a published signal")
        bad = [s for s, sd in self.noise.items() if not (math.isfinite(sd) and sd >= 0)]
        if bad:
            raise ValueError(f"noise on {bad[0]!r}: the standard deviation must be >= 0")
        self._rng = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(b"noise")]))
        self._servers = {n: int(getattr(st, "servers", 0)) for n, st in line.stations.items()}
        self._held: list[tuple[float, int, int, int, int]] = []

    def values(self, records: Mapping[str, Mapping[str, list[Any]]]) -> list[RawValue]:
        """A tag value per new signal row of a published signal, in recording order."""
        rows = records.get("signals")
        if not rows:
            return []
        out = []
        for t, signal, value in zip(rows["time"], rows["tag"], rows["value"], strict=True):
            conv = self._convert.get(signal)
            if conv is not None:
                tag, unit, scale, offset = conv
                sd = self.noise.get(signal)
                if sd:
                    value = value + sd * float(self._rng.standard_normal())
                out.append(RawValue(self.origin + t, tag, value * scale + offset, unit))
        return out

    def events(self, records: Mapping[str, Mapping[str, list[Any]]], final: bool = False
               ) -> list[PlantEvent]:
        """Plant events of the new event rows (and of those held back), in time order; with
        ``final`` the run is over and nothing is held back."""
        ev = records.get("events")
        if ev:
            self._held += zip(ev["time"], ev["part"], ev["product"], ev["station"], ev["kind"],
                              strict=True)
        if not self._held:
            return []
        last = self._held[-1][0]
        cut = len(self._held) if final else next(
            (i for i, r in enumerate(self._held) if r[0] >= last), len(self._held))
        rows, self._held = self._held[:cut], self._held[cut:]
        stations, products = self.recorder.stations, self.recorder.products
        outcome = {(p, s, t): EVENTS[k] for t, p, _, s, k in rows
                   if EVENTS[k] in OUTCOME_EVENTS}
        out = []
        for t, part, product, station, kind in rows:
            event = PILOT_EVENTS.get(EVENTS[kind])
            if event is None:
                continue
            name = stations[station]
            out.append(PlantEvent(
                self.origin + t, f"P{part}", products[product], name, event,
                unit_name(name, 0) if self._servers.get(name) == 1 and event != "release"
                else "",
                outcome.get((part, station, t), "good") if event == "complete" else "good"))
        return out

    def alarms(self, records: Mapping[str, Mapping[str, list[Any]]]) -> list[AlarmMessage]:
        """An alarm message per new alarm transition (values and limits in SI)."""
        rows = records.get("alarms")
        if not rows:
            return []
        return [AlarmMessage(self.origin + t, str(a), str(tag), str(p), str(e), str(s),
                             float(v), float(lim))
                for t, a, tag, p, e, s, v, lim in zip(
                    rows["time"], rows["alarm"], rows["tag"], rows["priority"], rows["event"],
                    rows["state"], rows["value"], rows["limit"], strict=True)]
