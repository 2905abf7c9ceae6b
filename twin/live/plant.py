"""The virtual plant: a Pilot Twin run with hidden, perturbed parameters and injected faults
that publishes its signals and part events in accelerated real time, and records the truth.

A plant is a line spec with perturbations (``PATH=VALUE``, as ``twin run --set``: a machine
that is really slower than its spec says) and faults that begin during the run:

==========================================  =============================================
``<station>.cycle_time x<F> at <T>``        the station's cycle time is ``F`` times longer
                                            from ``T`` on (a slower machine)
``<station>.ua x<F> at <T>``                the jacket of a process station transfers
                                            ``F`` times its UA from ``T`` on (a fouled
                                            jacket: ``F`` < 1)
``<station> down at <T> for <D>``           the station fails at ``T`` for ``D``
``utility.<name> out at <T> for <D>``       the utility fails at ``T`` for ``D``: every
                                            station whose recipe uses it stops (a failed
                                            pump or boiler)
==========================================  =============================================

Times are durations with units (``2 h``, ``90 min``). Faults become the scenario's timed
events (:mod:`twin.data.scenario`), so the engine plays them like any what-if.

Sensor noise (``SIGNAL=SD``, e.g. ``temperature.reactor=0.5 K``) adds a normal measurement
error, seeded by the run's seed, to the published values of a signal; the run folder keeps
the exact values.

The plant runs as a :class:`~twin.orchestration.live.LiveRun` paced at ``speed`` simulated
seconds per second, watching every signal, and is served by :func:`twin.live.serve.serve_run`
to an MQTT broker and an OPC UA server. Its run folder holds the truth in ``run.json``
(``provenance.plant``: each perturbation with the spec's value, each fault with the time it
began on the run and plant clocks) and the tag map it published with (``tagmap.csv``, the
pilot-data format).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from twin.data import spec as S
from twin.data.alarms import parse_value, signal_tags
from twin.data.checks import read_toml
from twin.data.overrides import parse_assignment, split_path
from twin.data.scenario import Change, Fouling, InjectedFailure, Outage, event_problems
from twin.data.units import UnitError, to_si
from twin.fit.runlogs import ORIGIN
from twin.live.messages import TagMap, default_tagmap
from twin.orchestration.live import LiveRun
from twin.orchestration.run import PreparedRun, prepare
from twin.orchestration.whatif import what_if_line

TAGMAP_FILE = "tagmap.csv"
"""The plant's tag map, written into its run folder."""

_FAULT = re.compile(r"^\s*(?P<target>\S+)\s+(?P<what>x\s*\S+|down|out)\s+at\s+(?P<at>.+?)"
                    r"(?:\s+for\s+(?P<dur>.+?))?\s*$")


class FaultError(ValueError):
    """A fault that cannot be read or does not fit the line; the message quotes it."""


@dataclass(frozen=True)
class Fault:
    """One injected fault: ``kind`` (``slower``, ``fouled``, ``down``, ``outage``), the
    station or utility it hits (``target``; an outage stops ``stations``), when it begins
    (``at`` [s of run time]), ``duration`` [s] (down, outage) or ``factor`` (slower,
    fouled), and the ``text`` it was read from."""

    text: str
    kind: str
    target: str
    at: float
    duration: float | None = None
    factor: float | None = None
    stations: tuple[str, ...] = ()

    def event(self, line: S.LineSpec) -> Any:
        """The scenario's timed event that plays this fault."""
        if self.kind == "slower":
            assert self.factor is not None
            st = line.stations[self.target]
            return Change(kind="change", at=f"{self.at!r} s", station=self.target,
                          what="cycle_time",
                          value=st.cycle_time.scaled(self.factor))  # type: ignore[union-attr]
        if self.kind == "fouled":
            return Fouling(kind="fouling", at=f"{self.at!r} s", station=self.target,
                           factor=self.factor)
        if self.kind == "down":
            return InjectedFailure(kind="failure", station=self.target, at=f"{self.at!r} s",
                                   duration=f"{self.duration!r} s")
        return Outage(kind="outage", at=f"{self.at!r} s", duration=f"{self.duration!r} s",
                      stations=list(self.stations), utility=self.target)

    def truth(self, origin: float) -> dict[str, Any]:
        """What the fault was and when it began (run time [s] and plant clock)."""
        return {"fault": self.text, "kind": self.kind, "target": self.target,
                "stations": list(self.stations) if self.kind == "outage" else [self.target],
                "begins_s": self.at, "begins": _iso(origin + self.at),
                "duration_s": self.duration, "factor": self.factor}


def _iso(epoch: float) -> str:
    return pd.Timestamp(epoch, unit="s", tz="UTC").isoformat()


def _duration(text: str, fault: str, what: str) -> float:
    try:
        return to_si(text.strip(), "time")
    except (UnitError, ValueError) as exc:
        raise FaultError(f"fault {fault!r}: {what} {text.strip()!r} is not a duration "
                         f"({exc})") from None


def _users_of(line: S.LineSpec, utility: str) -> tuple[str, ...]:
    """Stations whose recipes draw on ``utility``."""
    out = []
    for name, st in line.stations.items():
        phases = [*getattr(st, "recipe", []), *(p for r in getattr(st, "product_recipes",
                                                                   {}).values() for p in r)]
        if any(getattr(ph, "utility", None) == utility for ph in phases):
            out.append(name)
    return tuple(out)


def parse_fault(text: str, line: S.LineSpec) -> Fault:
    """Read a fault (see the module docstring) and check it against ``line``.

    Raises
    ------
    FaultError
        Naming the fault and what is wrong with it.
    """
    m = _FAULT.match(text)
    if m is None:
        raise FaultError(f"fault {text!r}: write '<station>.cycle_time x1.3 at 2 h', "
                         "'<station>.ua x0.6 at 2 h', '<station> down at 2 h for 30 min' or "
                         "'utility.<name> out at 2 h for 1 h'")
    target, what, at = m["target"], m["what"], _duration(m["at"], text, "time")
    dur = _duration(m["dur"], text, "duration") if m["dur"] else None
    if what.startswith("x"):
        station, _, param = target.partition(".")
        if param not in ("cycle_time", "ua"):
            raise FaultError(f"fault {text!r}: a station's cycle_time or ua can be scaled "
                             f"(<station>.cycle_time x<factor>, <station>.ua x<factor>)")
        st = line.stations.get(station)
        if param == "cycle_time" and (st is None or getattr(st, "cycle_time", None) is None):
            raise FaultError(f"fault {text!r}: {station!r} is not a station with a cycle "
                             f"time (stations: {', '.join(line.stations)})")
        try:
            factor = float(what[1:])
        except ValueError:
            factor = float("nan")
        if not factor > 0 or factor == float("inf"):
            raise FaultError(f"fault {text!r}: the factor {what[1:]!r} must be a positive "
                             "number")
        if dur is not None:
            raise FaultError(f"fault {text!r}: the change lasts to the end (no 'for')")
        fault = Fault(text, "slower" if param == "cycle_time" else "fouled", station, at,
                      factor=factor)
        problems = event_problems(line, [fault.event(line)]) if param == "ua" else []
        if problems:
            raise FaultError(f"fault {text!r}: {problems[0].message}")
        return fault
    if dur is None or dur <= 0:
        raise FaultError(f"fault {text!r}: say how long it lasts ('for 30 min')")
    if what == "down":
        if not isinstance(line.stations.get(target), S.Equipment):
            raise FaultError(f"fault {text!r}: {target!r} is not a station with servers")
        return Fault(text, "down", target, at, duration=dur)
    kind, _, utility = target.partition(".")
    if kind != "utility" or utility not in line.utilities:
        raise FaultError(f"fault {text!r}: write utility.<name> with a utility of the line "
                         f"({', '.join(line.utilities) or 'it has none'})")
    users = _users_of(line, utility)
    if not users:
        raise FaultError(f"fault {text!r}: no station's recipe uses utility {utility!r}")
    return Fault(text, "outage", utility, at, duration=dur, stations=users)


@dataclass
class Plant:
    """A virtual plant ready to run: the prepared run (perturbed line, faults as timed
    events), the truth to record, the tag map it publishes with, its clock origin [s since
    the epoch] and the measurement noise of its sensors [SI standard deviation, by signal]."""

    prep: PreparedRun
    truth: dict[str, Any]
    tagmap: TagMap
    origin: float
    noise: dict[str, float]


def parse_noise(text: str, line: S.LineSpec) -> tuple[str, float]:
    """``SIGNAL=SD`` (``temperature.reactor=0.5 K``; counts as a bare number): the signal and
    the standard deviation of its measurement noise [SI]."""
    signal, sep, value = text.partition("=")
    dims = signal_tags(line)
    signal = signal.strip()
    if not sep or signal not in dims:
        raise ValueError(f"noise {text!r}: write SIGNAL=SD with a signal of the line "
                         f"({', '.join(dims)})")
    try:
        number = float(value)
    except ValueError:
        number = None
    try:
        sd = parse_value(number if number is not None else value.strip(), dims[signal],
                         difference=True)
    except (UnitError, ValueError) as exc:
        raise ValueError(f"noise {text!r}: {exc}") from None
    if not sd >= 0:
        raise ValueError(f"noise {text!r}: the standard deviation must be >= 0")
    return signal, sd


def make_plant(spec: str | Path, *, perturb: Sequence[str] = (), faults: Sequence[str] = (),
               noise: Sequence[str] = (), seed: int | None = None,
               duration: str | float | None = None, warmup: str | float | None = None,
               origin: str = ORIGIN) -> Plant:
    """The plant of the line file ``spec`` with perturbations ``PATH=VALUE``, faults and
    sensor noise ``SIGNAL=SD``.

    Raises
    ------
    SpecError
        A perturbation that does not fit the spec (reported against it).
    FaultError
        A fault that cannot be read or does not fit the line.
    ValueError
        A noise that names no signal or has no valid standard deviation.
    """
    line = what_if_line(spec, perturb)
    parsed = [parse_fault(f, line) for f in faults]
    sensors = dict(parse_noise(n, line) for n in noise)
    prep = prepare(line, duration=duration, warmup=warmup, seed=seed,
                   events=[f.event(line) for f in parsed])
    clock = pd.Timestamp(origin).timestamp()
    raw = read_toml(spec)
    truth = {"spec": str(spec), "seed": prep.seed, "origin": _iso(clock),
             "perturbations": [_perturbation(raw, text) for text in perturb],
             "faults": [f.truth(clock) for f in parsed],
             "noise_sd_si": sensors}
    return Plant(prep, truth, default_tagmap(prep.line), clock, sensors)


def _perturbation(raw: dict[str, Any], text: str) -> dict[str, Any]:
    path, value = parse_assignment(text)
    node: Any = raw
    for part in split_path(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
            break
    return {"path": path, "plant": value, "spec": node}


async def run_plant(plant: Plant, out: str | Path, *, speed: float | None = 600.0,
                    mqtt: Any = None, opcua_port: int | None = None,
                    opcua_host: str = "127.0.0.1", interval: float = 0.1) -> Path:
    """Run the plant, serve it, and save its run folder under ``out``; returns the folder.

    ``mqtt``: :class:`~twin.live.connection.MqttSettings` of the broker to publish to;
    ``opcua_port``: serve an OPC UA server there (None: none); ``speed``: simulated seconds
    per wall-clock second (None: as fast as possible).

    Raises
    ------
    RuntimeError
        If the run failed (with its error).
    """
    from twin.live.serve import serve_run

    line = plant.prep.line
    live = LiveRun(plant.prep, speed=speed, watch=list(signal_tags(line)))
    async with AsyncExitStack() as stack:
        server = publisher = None
        if opcua_port is not None:
            from twin.live.opcua_server import TwinServer
            from twin.live.points import line_points

            server = await stack.enter_async_context(TwinServer(
                line.line.name, line_points(line), host=opcua_host, port=opcua_port,
                origin=plant.origin))
        if mqtt is not None:
            from twin.live.mqtt_publisher import Publisher

            publisher = await stack.enter_async_context(Publisher(mqtt))
        live.start()
        try:
            stats = await serve_run(live, server=server, publisher=publisher,
                                    origin=plant.origin, tagmap=plant.tagmap,
                                    noise=plant.noise, interval=interval)
        finally:
            live.stop()
    if live.result is None:
        raise RuntimeError(f"the plant's run {live.status}: {live.error or ''}")
    plant.truth["published"] = stats.published
    live.result.provenance["plant"] = plant.truth
    folder = live.result.save(out)
    plant.tagmap.frame().to_csv(folder / TAGMAP_FILE, index=False)
    return folder
