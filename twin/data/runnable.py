"""Checks that a schema-valid, well-connected line can actually run.

A spec can be consistent and still be impossible to simulate: a zero inter-arrival time keeps
the clock at one instant forever, a zero cycle time behind an infinite supply does the same,
ten million servers never finish being built, nor does a release of a billion parts at
one instant, a utility capacity below the engine's counting
quantum is nothing. :func:`runnable_problems` refuses these with located messages, each naming
the limit it applies (the constants below).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from twin.data import spec as S

TIME_RESOLUTION = 1e-3
"""Shortest mean time [s] between events the engine accepts where a shorter one would hold
the clock still (inter-arrival times, release periods, times to failure, cycle times behind an
infinite supply)."""
MAX_SERVERS = 10_000
"""Most servers of one station, and operators of one pool."""
MAX_INFINITE_BUFFER = 100_000
"""Largest buffer an infinite supply fills at time zero [parts]."""
MAX_RELEASE = 100_000
"""Most parts one scheduled release creates at one instant."""


def _seconds(value: float) -> str:
    return f"{value:g} s"


def runnable_problems(line: S.LineSpec) -> list[tuple[str, str]]:
    """``(key path, message)`` for each thing in ``line`` that cannot run (see module doc)."""
    out: list[tuple[str, str]] = []

    def short(path: str, what: str, mean: float) -> None:
        if mean < TIME_RESOLUTION:
            out.append((path, f"{what} of {_seconds(mean)} on average would hold the "
                              "simulation clock still; the shortest the engine accepts is "
                              f"{_seconds(TIME_RESOLUTION)}"))

    if line.calendar is not None and not line.calendar.days:
        out.append(("calendar.days", "no working day: the line would never work (give at "
                                     "least one day, or leave out the calendar)"))
    for name, pool in line.operators.items():
        if pool.count > MAX_SERVERS:
            out.append((f"operators.{name}.count", f"{pool.count} operators is more than the "
                                                   f"limit of {MAX_SERVERS} per pool"))
    for name, util in line.utilities.items():
        if util.capacity is not None and round(util.capacity * util.quantum) < 1:
            unit, smallest = ("m3/s", 1 / util.quantum) if util.is_medium else ("W", 1e-3)
            out.append((f"utilities.{name}.capacity",
                        f"{util.capacity:g} {unit} rounds to nothing: capacities are counted "
                        f"in whole {'mL/s' if util.is_medium else 'mW'}, the smallest is "
                        f"{smallest:g} {unit}"))
    for name, st in line.stations.items():
        base = f"stations.{name}"
        if isinstance(st, S.Source):
            if st.interarrival is not None:
                short(f"{base}.interarrival", "an inter-arrival time", st.interarrival.mean())
            for i, rel in enumerate(st.schedule or []):
                if rel.every is not None:
                    short(f"{base}.schedule[{i}].every", "a release period", rel.every)
                if rel.quantity > MAX_RELEASE:
                    out.append((f"{base}.schedule[{i}].quantity",
                                f"{rel.quantity} parts released at one instant is more than "
                                f"the limit of {MAX_RELEASE} (release them over time: "
                                "'every', or an inter-arrival time)"))
        if isinstance(st, S.Equipment):
            if st.servers > MAX_SERVERS:
                out.append((f"{base}.servers", f"{st.servers} servers is more than the limit "
                                               f"of {MAX_SERVERS} per station"))
            for i, f in enumerate(st.failures):
                short(f"{base}.failures[{i}].ttf", "a time to failure", f.ttf.mean())
            if st.maintenance is not None:
                short(f"{base}.maintenance.every", "a maintenance period", st.maintenance.every)
    out += _infinite_supply_problems(line)
    return out


def _fastest_cycle(st: Any) -> float:
    """The shortest mean cycle time of a station over its products [s] (inf: no cycle)."""
    if not isinstance(st, S.Machine | S.Inspection | S.Batch | S.Assembly):
        return float("inf")
    return min([st.cycle_time.mean(), *(d.mean() for d in st.product_cycle_time.values())])


def _infinite_supply_problems(line: S.LineSpec) -> list[tuple[str, str]]:
    """Behind an infinite supply: no buffer too large to fill, and no path of stations with
    zero cycle time into a sink (parts would leave at time zero forever)."""
    out: list[tuple[str, str]] = []
    stations = line.stations
    for name, st in stations.items():
        if not (isinstance(st, S.Source) and st.interarrival is None and st.schedule is None):
            continue
        for r in st.routes:
            dest = stations.get(r.to)
            if (isinstance(dest, S.Equipment) and dest.buffer is not None
                    and min(dest.buffer, st.limit or dest.buffer) > MAX_INFINITE_BUFFER):
                out.append((f"stations.{r.to}.buffer",
                            f"a buffer of {dest.buffer} behind the infinite supply {name!r} is "
                            f"filled at time zero; the limit is {MAX_INFINITE_BUFFER}"))
        if st.limit is not None:
            continue  # a limited supply ends
        seen: set[str] = set()
        queue = deque((r.to, "") for r in st.routes if r.delay is None)
        while queue:  # stations reached at time zero: from the source through zero cycles
            n, first = queue.popleft()
            if n in seen:
                continue
            seen.add(n)
            dest = stations[n]
            if isinstance(dest, S.Sink) and first:
                out.append((f"stations.{first}.cycle_time",
                            f"a cycle time under {_seconds(TIME_RESOLUTION)} behind the "
                            f"infinite supply {name!r} (parts reach the sink {n!r} at time "
                            "zero, forever) would hold the clock still: give a cycle time, or "
                            "the source an inter-arrival time"))
                break
            if _fastest_cycle(dest) < TIME_RESOLUTION:
                queue.extend((r.to, first or n) for r in dest.routes if r.delay is None)
    return out
