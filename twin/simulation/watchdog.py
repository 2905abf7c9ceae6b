"""The run loop with its watchdogs, and the deadlock detector.

:meth:`Watchdog.run` advances a SimPy environment like ``env.run(until)`` but steps it in
chunks and, between chunks, checks that the run still makes progress:

- the clock advanced at least :data:`twin.data.runnable.TIME_RESOLUTION` over the last
  ``stall_events`` events (else :class:`StallError`, naming the stations busy at that time:
  a zero-time loop would otherwise run forever with memory growing);
- the event queue holds at most ``max_queue`` events and the process grew by at most
  ``max_memory`` bytes since the run began (else :class:`RunawayError`).

An exception raised inside a SimPy process reaches the caller as itself (type, message,
attributes and the traceback into the process), with a note of the simulation time; SimPy
alone would re-create it from its ``args``, which fails for exceptions that need more.

Deadlocks (:class:`DeadlockCheck`) are looked for when a server starts to wait for ever
unless another node moves: blocked holding a part for a full buffer (or a full tank), or
starved, waiting for a part that only some nodes can send. A node waits on the nodes it
blocks into, on those that alone can send what it is starved of, and a full tank waits on
the continuous unit that draws from it; :func:`stuck_stations` follows these waits, and if
every node reached waits so (none working, stopped for a while, due to get or hand over a
part, no part on its way by transport, no source that can release more), nothing among
them can ever move again. A node whose servers all wait is checked once the instant is
over (every event at that time processed), and the nodes noted in one instant are checked
in station order, so what is reported does not depend on the order of the instant's
events (the compiled engine checks the same way). Starved servers are watched only where
they can close such a cycle, upstream of a gathering station (an assembly, whose base
queue may fill while it waits for a component): elsewhere a starved server holds up no
full buffer, and the check costs nothing until a station blocks.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, URGENT
from simpy.resources.store import StoreGet, StorePut

from twin.data.runnable import TIME_RESOLUTION
from twin.observation.run_warnings import warning
from twin.simulation.run_errors import DeadlockError, RunawayError, RunError, StallError

LAST = NORMAL + 1
"""SimPy priority of the deadlock check: after every other event of the same instant, also
those scheduled after it."""


@dataclass(frozen=True)
class Limits:
    """Bounds a run must stay within.

    Attributes
    ----------
    stall_events
        Events after which the clock must have advanced by the time resolution.
    max_queue
        Most events scheduled at once.
    max_memory
        Most growth of the process's resident memory during the run [bytes] (checked where
        the platform reports it: Linux ``/proc``).
    check_every
        Events between two checks (the checks cost a few microseconds).
    """

    stall_events: int = 2_000_000
    max_queue: int = 5_000_000
    max_memory: float = 4e9
    check_every: int = 16_384


def resident_memory() -> float:
    """Resident memory of this process now [bytes] (NaN where ``/proc`` is not available)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError, IndexError):
        return math.nan


class Watchdog:
    """Runs an environment under :class:`Limits`.

    ``busy_stations(n)`` names the stations with the most activity in the last ``n`` recorded
    events (for the messages of the errors).
    """

    def __init__(self, env: simpy.Environment, busy_stations: Callable[[int], list[str]],
                 limits: Limits | None = None) -> None:
        self.env = env
        self.limits = limits or Limits()
        self.busy_stations = busy_stations
        self.events = 0  # events processed so far
        self._mark = (0.0, 0)  # (clock, events) when the clock last moved by the resolution
        self._memory0 = resident_memory()

    def run(self, until: float) -> None:
        """Advance the clock to ``until`` [s] (events at ``until`` itself stay pending)."""
        env = self.env
        if not until > env.now:
            raise ValueError(f"until ({until}) must be greater than the current time {env.now}")
        stop = simpy.Event(env)  # as env.run(until): before other events at that time
        stop._ok, stop._value = True, None  # noqa: SLF001 (the shape SimPy's run uses)
        stop.callbacks.append(StopSimulation.callback)  # type: ignore[union-attr]
        env.schedule(stop, URGENT, until - env.now)
        step, chunk = env.step, range(self.limits.check_every)
        try:
            while True:
                for _ in chunk:
                    step()
                self.events += len(chunk)
                self._check()
        except StopSimulation:
            return
        except simpy.core.EmptySchedule:
            return
        except Exception as exc:
            original = _original(exc)
            if not isinstance(original, RunError):
                time_note(original, env.now)
            raise original from None

    def _check(self) -> None:
        env, limits = self.env, self.limits
        now = env.now
        t0, n0 = self._mark
        if now - t0 >= TIME_RESOLUTION:
            self._mark = (now, self.events)
        elif self.events - n0 >= limits.stall_events:
            names = self.busy_stations(limits.check_every)
            raise StallError(
                f"the simulation clock stayed within {TIME_RESOLUTION:g} s of t = {now:g} s "
                f"for {self.events - n0:,} events (a loop that takes no time); busy stations: "
                f"{', '.join(names) or 'none recorded'}", now, names)
        queued = len(env._queue)  # noqa: SLF001 (no public size of the event queue)
        if queued > limits.max_queue:
            names = self.busy_stations(limits.check_every)
            raise RunawayError(
                f"{queued:,} events are scheduled at t = {now:g} s, more than the bound of "
                f"{limits.max_queue:,}; busy stations: {', '.join(names) or 'none recorded'}",
                now, names)
        grown = resident_memory() - self._memory0
        if grown > limits.max_memory:
            names = self.busy_stations(limits.check_every)
            raise RunawayError(
                f"the run grew by {grown / 1e6:,.0f} MB by t = {now:g} s, more than the bound "
                f"of {limits.max_memory / 1e6:,.0f} MB; busy stations: "
                f"{', '.join(names) or 'none recorded'}", now, names)


def _original(exc: BaseException) -> BaseException:
    """The exception a SimPy process raised, rather than SimPy's re-creation of it.

    SimPy re-raises a process's exception as ``type(e)(*e.args)`` with the original as
    ``__cause__``; where that re-creation itself fails, the original is still the failed
    event's value in SimPy's ``step`` frame.
    """
    cause = exc.__cause__
    if cause is not None and type(cause) is type(exc) and cause.args == exc.args:
        return cause
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "step" and "simpy" in frame.f_code.co_filename:
            event = frame.f_locals.get("event")
            value = getattr(event, "_value", None)
            if isinstance(value, BaseException) and value is not exc:
                return value
        tb = tb.tb_next
    return exc


def time_note(exc: BaseException, now: float) -> None:
    """Add the simulation time [s] to an exception's notes (shown with its traceback)."""
    exc.add_note(f"(at simulation time t = {now:g} s)")


def busiest(codes: Iterable[int], names: list[str], top: int = 5) -> list[str]:
    """Names of the ``top`` most frequent station codes in ``codes``."""
    return [names[c] for c, _ in Counter(codes).most_common(top)]


def granted(event: simpy.Event) -> bool:
    """Whether a pending put or get goes through at this instant: triggered, or its store
    already decided (a get that freed a slot, or a put that brought a part, whose event
    SimPy processes later in the instant, then serving the waiting puts or gets)."""
    if event.triggered:
        return True
    store = getattr(event, "resource", None)
    if isinstance(event, StorePut):
        return len(store.items) < store.capacity
    return isinstance(event, StoreGet) and bool(store.items)


def stuck_stations(start: Any) -> list[Any] | None:
    """The nodes deadlocked with ``start`` (a node whose servers all wait), or ``None`` if
    any of them can still move.

    A node is stuck when it waits (:meth:`~twin.simulation.flow.Node.waits`) only on
    nodes that are stuck too; the walk follows those waits from ``start``.
    """
    seen: dict[int, Any] = {}
    todo: list[Any] = [start]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        waits = node.waits()
        if waits is None:
            return None
        seen[id(node)] = node
        todo.extend(waits)
    return list(seen.values())


def cycle_of(start: Any) -> list[str]:
    """Names along the waits from ``start`` (a stuck node) until one repeats: the cycle,
    closed by its first node (``['a', 'b', 'a']``); or, where the waits end at a node stuck
    by itself (a batch larger than its tank), the path to it."""
    path: list[Any] = []
    node = start
    while node not in path:
        path.append(node)
        waits = node.waits()
        if not waits:
            return [n.name for n in path]
        node = waits[0]
    return [n.name for n in path[path.index(node):]] + [node.name]


def at_end_of_instant(env: simpy.Environment, callback: Any) -> None:
    """Call ``callback(event)`` once every other event of this instant is processed, also
    those scheduled after this call (at priority :data:`LAST`; such calls among themselves
    in the order made). Whatever waits for the end of an instant must wait this way: a
    zero-delay event of normal priority would come before a pending ``LAST`` one, and one
    that waits for it with another zero-delay event would never see the instant end."""
    ev = simpy.Event(env)
    ev._ok, ev._value = True, None  # noqa: SLF001 (a triggered event, as Timeout)
    ev.callbacks.append(callback)  # type: ignore[union-attr]
    env.schedule(ev, LAST)


def check_deadlock(node: Any) -> None:
    """A server of ``node`` has just started to wait (blocked or starved): if all its
    servers wait, look for a deadlock through it once this instant is over
    (:class:`DeadlockCheck`)."""
    if node.held_up():
        node.ctx.deadlocks.note(node)


class DeadlockCheck:
    """The nodes of a run whose servers all started to wait at this instant, checked for a
    deadlock once the instant is over: in station order (``node.code``), each one that
    waits only on stuck nodes is reported (:func:`report_deadlock`: raise, or warn once per
    deadlock with ``on_deadlock = "continue"``)."""

    def __init__(self, env: simpy.Environment, warnings: list[dict[str, Any]],
                 line: Any) -> None:
        self.env = env
        self.warnings = warnings
        self.line = line  # its run settings say what to do (on_deadlock)
        self._noted: dict[int, Any] = {}  # by station code

    def note(self, node: Any) -> None:
        """Check ``node`` at the end of this instant."""
        if not self._noted:  # the first of this instant: check after every other event
            at_end_of_instant(self.env, self._check)
        self._noted[node.code] = node

    def _check(self, _event: simpy.Event) -> None:
        noted, self._noted = self._noted, {}
        for code in sorted(noted):
            node = noted[code]
            if node.waits() is None:
                continue
            stuck = stuck_stations(node)
            if stuck is None:
                continue
            clauses = [n.why() for n in sorted(stuck, key=lambda n: n.name)]
            detail = (None if all(plain for _, plain in clauses)
                      else "; ".join(c for c, _ in clauses))
            report_deadlock(self.warnings, cycle_of(node), sorted(n.name for n in stuck),
                            self.env.now, self.line.run.on_deadlock, detail)


def names_text(names: list[str]) -> str:
    """``'a'``, ``'a' or 'b'``, ``'a', 'b' or 'c'``."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def server_clause(name: str, into: list[str], wanted: list[str]) -> str:
    """How the servers of station ``name`` wait, for a deadlock's message: they hold parts
    for the stations ``into`` (sorted) and wait for parts only ``wanted`` (sorted) can
    send."""
    clauses = []
    if into:
        clauses.append(f"holds parts that {names_text(into)} cannot take")
    if wanted:
        clauses.append(f"waits for parts only {names_text(wanted)} can send")
    return f"{name!r} {' and '.join(clauses)}"


def supply_clause(name: str, dest: str) -> str:
    """How the infinite supply ``name`` waits, for a deadlock's message."""
    return f"{name!r} (an infinite supply) holds a part {dest!r} cannot take"


def report_deadlock(warnings: list[dict[str, Any]], cycle: list[str], names: list[str],
                    now: float, on_deadlock: str, detail: str | None = None) -> None:
    """A deadlock of the stations ``names`` (sorted) found at ``now`` [s] along ``cycle``
    (closed by its first station): raise :class:`DeadlockError`, or with ``on_deadlock =
    "continue"`` add a warning to ``warnings``, once per deadlock: not again for a set of
    stuck stations that shares one with a deadlock already reported (stuck stations stay
    stuck, so it is that deadlock seen from a station stuck behind it). ``detail`` says
    how each waits (default: every server holds a part for a full buffer). Both engines
    report through here."""
    if any(w["code"] == "deadlock" and not set(w["stations"]).isdisjoint(names)
           for w in warnings):
        return
    if detail is None:
        detail = (f"every server of {', '.join(repr(n) for n in names)} holds a part for a "
                  "full buffer on this cycle")
    message = f"deadlock at t = {now:g} s: {' -> '.join(cycle)}: {detail}, so nothing there " \
              "can move again"
    if on_deadlock != "continue":
        raise DeadlockError(message + " (to record it and run on: run setting "
                            "on_deadlock = 'continue', or twin run --run-on-deadlock)",
                            now, cycle[:-1] if cycle[0] == cycle[-1] else cycle)
    warnings.append(warning("deadlock", message, now, names))


def wire(nodes: Iterable[Any]) -> None:
    """Prepare deadlock detection once every node is connected: the suppliers of each
    input store (nodes that can send a part into it), and which nodes watch their starved
    servers (those from which a gathering station, with several input stores, is
    reachable)."""
    nodes = list(nodes)
    upstream: dict[int, set[int]] = {id(n): set() for n in nodes}
    for n in nodes:
        for code, dest in n.sends():
            upstream[id(dest)].add(id(n))
            for store in dest.stores_for(code):
                suppliers = dest.suppliers.setdefault(id(store), [])
                if n not in suppliers:
                    suppliers.append(n)
    by_id = {id(n): n for n in nodes}
    todo = [n for n in nodes if len(n.stores_for(None)) > 1]
    while todo:
        n = todo.pop()
        if n.watch_starving:
            continue
        n.watch_starving = True
        todo.extend(by_id[u] for u in upstream[id(n)])
