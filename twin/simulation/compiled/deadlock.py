"""Deadlock detection on the compiled loop (Numba, cached), as the SimPy engine's watchdog.

The rule is :mod:`twin.simulation.watchdog`'s: a station waits on the stations its units
hold parts for (their queues full) and, where starved units are watched, on those that
alone can send the parts its other units wait for (the *suppliers* of each queue); an
infinite supply holding a part waits on its destination; any other source can release
more; a starved unit of a station with parts on their way to it by transport moves. If
every station reached from one so waits, none can ever move again.

A station is *noted* when one of its units blocks or starts to wait for a part (only where
starved units are watched), and an infinite supply when it blocks; once the instant is
over (no more events at that time), the noted stations are checked in station order, as
:class:`twin.simulation.watchdog.DeadlockCheck` does, and each one stuck is returned to the
engine, which reports it through :func:`twin.simulation.watchdog.report_deadlock` (the
message is built here, in :func:`report`, with the SimPy engine's words).

Starved units are watched only on lines where they can be held in a deadlock
(:func:`may_starve`): elsewhere a plain line pays one test of a flag when a unit starts to
wait; and a line that also has no route cycle cannot deadlock at all, so its blocks are not
noted either (:func:`layout`). Everything lives in ``xn`` (one int64 array, the last of
the loop's ``x`` tuple): a header, then per station the watch flag, the destination an
infinite supply is blocked on, the noted flag and the search's marks, the search's stack,
and the suppliers of each queue (``qptr``: where each queue's list starts in ``sup``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from twin.data import spec as S
from twin.data.checks import successors
from twin.kernels.jit import flat_kernel
from twin.simulation.compiled import gather as G
from twin.simulation.compiled import loop as L
from twin.simulation.compiled import transit as TR
from twin.simulation.compiled import unit_time as UT
from twin.simulation.watchdog import report_deadlock, server_clause, supply_clause

# header of ``xn``: stations noted at this instant (count), the stuck station found, the next
# station to check, then where each per-station or per-queue part of ``xn`` begins, and
# whether the line cannot deadlock (:func:`layout`: nothing is noted then)
(XN_NOTED, XN_DEAD, XN_SCAN, XN_WATCH, XN_SRC, XN_REG, XN_SEEN, XN_TODO, XN_QPTR, XN_SUP,
 XN_QUIET) = range(11)
XN_HEAD = 11


@flat_kernel(inline=True)
def blocked(u, dest, uni, x):
    """Unit ``u`` holds a part for the full station ``dest``: note its station (inlined: on
    a line that cannot deadlock, a block costs one test of a flag)."""
    xn = x[8]
    if xn[XN_QUIET] == 0:
        x[5][u, G.UX_BLK] = dest
        _note(uni[u, L.U_ST], xn)


@flat_kernel
def unblocked(u, x):
    """Unit ``u``'s part was taken in: it is no longer blocked."""
    x[5][u, G.UX_BLK] = -1


@flat_kernel(inline=True)
def supply_blocked(s, dest, sta, x):
    """Source ``s`` holds a part for the full station ``dest``: an infinite supply waits
    on it (note it); any other source can release more."""
    xn = x[8]
    if sta[s, L.SMODE] == 0 and xn[XN_QUIET] == 0:
        xn[xn[XN_SRC] + s] = dest
        _note(s, xn)


@flat_kernel(inline=True)
def starving(s, x):
    """A unit of station ``s`` starts to wait for a part: note the station if its starved
    units are watched (inlined: a plain line pays one test of a flag, not a call)."""
    xn = x[8]
    if xn[xn[XN_WATCH] + s] == 1:
        _note(s, xn)


@flat_kernel
def _note(s, xn):
    i = xn[XN_REG] + s
    if xn[i] == 0:
        xn[i] = 1
        xn[XN_NOTED] += 1


@flat_kernel
def deadlocked(sta, uni, ut, x, tin):
    """Once an instant is over: the next noted station (in station order) that is stuck
    sets ``xn[XN_DEAD]`` (the stations stuck with it marked 2 in the search's marks) and
    returns True; False once every noted station is checked. ``tin``: the parts on their
    way to each station (:mod:`.transit`)."""
    xn = x[8]
    for s in range(xn[XN_SCAN], sta.shape[0]):
        i = xn[XN_REG] + s
        if xn[i] == 0:
            continue
        xn[i] = 0
        if _stuck(s, sta, uni, ut, x, tin):
            xn[XN_SCAN] = s + 1
            xn[XN_DEAD] = s
            return True
    xn[XN_SCAN] = 0
    xn[XN_NOTED] = 0
    return False


@flat_kernel
def _stuck(start, sta, uni, ut, x, tin):
    """Whether every station reached from ``start`` along the waits waits (as
    ``watchdog.stuck_stations``); marks each one reached 2 (1 while queued)."""
    ux, xn = x[5], x[8]
    seen, todo = xn[XN_SEEN], xn[XN_TODO]
    watch, src, qptr, sup = xn[XN_WATCH], xn[XN_SRC], xn[XN_QPTR], xn[XN_SUP]
    for s in range(sta.shape[0]):
        xn[seen + s] = 0
    xn[todo] = start
    xn[seen + start] = 1
    m = 1
    while m > 0:
        m -= 1
        s = xn[todo + m]
        xn[seen + s] = 2
        kind = sta[s, L.KIND]
        if kind == L.SOURCE:  # an infinite supply holding a part; others can release more
            if sta[s, L.SMODE] != 0 or sta[s, L.HOLD] == 0:
                return False
            d = xn[src + s]
            if xn[seen + d] == 0:
                xn[seen + d] = 1
                xn[todo + m] = d
                m += 1
            continue
        if kind != L.EQUIP:
            return False
        for u in range(sta[s, L.U0], sta[s, L.U0] + sta[s, L.NU]):
            d = ux[u, G.UX_BLK]
            if d >= 0:  # blocked: waits on its destination
                if xn[seen + d] == 0:
                    xn[seen + d] = 1
                    xn[todo + m] = d
                    m += 1
                continue
            # starved (where watched, not in a batch's timed wait, no part on its way to
            # the station by transport): waits on the suppliers of its queue
            if (xn[watch + s] == 0 or ut[u, UT.T_PHASE] != UT.PH_IDLE
                    or ux[u, G.UX_PH] == G.TIMED or tin[s, TR.ON_WAY] > 0):
                return False
            q = uni[u, L.U_WQ]
            k0, k1 = xn[qptr + q], xn[qptr + q + 1]
            if k1 == k0:
                return False
            for k in range(k0, k1):
                d = xn[sup + k]
                if xn[seen + d] == 0:
                    xn[seen + d] = 1
                    xn[todo + m] = d
                    m += 1
    return True


# --------------------------------------------------------------------------- lowering


def layout(line: S.LineSpec, queues: list[int], starved: bool) -> np.ndarray:
    """``xn`` for ``line`` before a run: the suppliers of each queue (``queues``: the
    station of each; an assembly's base queue is its station's, its component queues
    follow in the order of its components) and, if ``starved`` (:func:`may_starve`), the
    watch flags of the stations from which a gathering station can be reached, as
    :func:`twin.simulation.watchdog.wire` sets them for the SimPy engine.

    Without watched starved units a station waits only on the stations it sends to, so
    stations that all wait on each other lie on a route cycle: a line without one cannot
    deadlock, and its blocks are not noted (``xn[XN_QUIET]``; its units' blocks are then
    not kept in ``ux`` either, which only a deadlock's search and message read)."""
    names = list(line.stations)
    index = {n: i for i, n in enumerate(names)}
    products = list(line.products)
    n_st, n_q = len(names), len(queues)
    first = {}  # station -> its first component queue
    for q, s in enumerate(queues):
        if q >= n_st:
            first.setdefault(s, q)

    def stores(d: int, product: str | None) -> list[int]:  # Node.stores_for
        st = line.stations[names[d]]
        if not isinstance(st, S.Equipment):
            return []
        if not isinstance(st, S.Assembly):
            return [d]
        comps = {p: first[d] + i for i, p in enumerate(st.components)}
        if product is None:
            return [d, *comps.values()]
        return [d] if product in st.base else [comps[product]] if product in comps else []

    suppliers: list[list[int]] = [[] for _ in range(n_q)]
    upstream: list[set[int]] = [set() for _ in range(n_st)]
    for s, st in enumerate(line.stations.values()):  # Node.sends, in node order
        sends: list[tuple[str | None, int]] = []
        made = products
        if isinstance(st, S.Source):
            mix = st.mix or {st.product: 1.0}
            made = [p for p in products if mix.get(p, 0) > 0]
        for p in made:
            sends += [(p, index[r.to]) for r in st.routes
                      if r.products is None or p in r.products]
        if isinstance(st, S.Inspection) and st.rework_to:
            sends.append((None, index[st.rework_to]))
        for p, d in sends:
            upstream[d].add(s)
            for q in stores(d, p):
                if s not in suppliers[q]:
                    suppliers[q].append(s)
    watch = np.zeros(n_st, np.int64)
    if starved:
        todo = [s for s in range(n_st) if len(stores(s, None)) > 1]
        while todo:
            s = todo.pop()
            if not watch[s]:
                watch[s] = 1
                todo.extend(upstream[s])
    qptr = np.cumsum([0] + [len(x) for x in suppliers])
    sizes = [n_st, n_st, n_st, n_st, n_st, n_q + 1, int(qptr[-1])]
    starts = XN_HEAD + np.cumsum([0] + sizes[:-1])
    xn = np.zeros(XN_HEAD + sum(sizes), np.int64)
    xn[[XN_WATCH, XN_SRC, XN_REG, XN_SEEN, XN_TODO, XN_QPTR, XN_SUP]] = starts
    reached = _reach(_nexts(line))
    xn[XN_QUIET] = int(not starved and not any(n in reached(n) for n in names))
    xn[starts[0]:starts[0] + n_st] = watch
    xn[starts[5]:starts[5] + n_q + 1] = qptr
    xn[starts[6]:starts[6] + int(qptr[-1])] = [s for x in suppliers for s in x]
    return xn


def may_starve(line: S.LineSpec) -> list[str]:
    """Where a deadlock may hold units starved of parts, so that they must be watched: a
    route cycle through a station from which an assembly station can be reached, or one
    station that sends parts into two input queues of an assembly (a mixed kit supply may
    block on one while the units wait in the other). Elsewhere a starved unit waits only on
    stations that can always deliver in the end."""
    st_ = line.stations
    nexts = _nexts(line)
    reached = _reach(nexts)
    assemblies = {n for n, s in st_.items() if isinstance(s, S.Assembly)}
    out = [f"station {n!r} on a route cycle upstream of an assembly station"
           for n in st_ if n in reached(n) and (reached(n) | {n}) & assemblies]
    made = _products(line, nexts)
    for n in st_:
        for a in sorted(nexts[n] & assemblies):
            asm = st_[a]
            queues = {"base" if p not in asm.components else p for p in made[n]}
            if len(queues) > 1:
                out.append(f"station {n!r} sends parts into {len(queues)} input queues of the "
                           f"assembly station {a!r}")
    return out


def _nexts(line: S.LineSpec) -> dict[str, set[str]]:
    """The stations each station can send a part to (:func:`twin.data.checks.successors`)."""
    return {n: set(successors(s)) for n, s in line.stations.items()}


def _reach(nexts: dict[str, set[str]]) -> Callable[[str], set[str]]:
    """``reached(n)``: every station a part leaving ``n`` can come to (memoised)."""
    reach: dict[str, set[str]] = {}

    def reached(n: str) -> set[str]:
        if n not in reach:
            reach[n] = set()
            todo = list(nexts[n])
            while todo:
                m = todo.pop()
                if m not in reach[n]:
                    reach[n].add(m)
                    todo.extend(nexts[m])
        return reach[n]

    return reached


def _products(line: S.LineSpec, nexts: dict[str, set[str]]) -> dict[str, set[str]]:
    """The products each station can send on (sources: what they release; others: what
    reaches them, an assembly its output)."""
    made: dict[str, set[str]] = {n: set() for n in line.stations}
    for n, s in line.stations.items():
        if isinstance(s, S.Source):
            made[n] = set(s.mix or {}) | {s.product} - {None} | {
                r.product for r in s.schedule or () if r.product is not None}
    changed = True
    while changed:
        changed = False
        for n in line.stations:
            for m in nexts[n]:
                dest = line.stations[m]
                new = made[n]
                if isinstance(dest, S.Assembly):
                    new = {dest.output_product} if dest.output_product else set(dest.base)
                if isinstance(dest, S.Equipment) and not new <= made[m]:
                    made[m] |= new
                    changed = True
    return made


# --------------------------------------------------------------------------- reporting


def report(a: dict[str, np.ndarray], names: list[str], warnings: list[dict[str, Any]],
           now: float, on_deadlock: str) -> None:
    """Report the deadlock the loop found (``xn[XN_DEAD]`` and the stations marked stuck
    with it) in the SimPy engine's words: the cycle along each station's first wait, the
    stations, and how each waits unless every server holds a part for a full buffer."""
    sta, uni, ux, xn = a["sta"], a["uni"], a["ux"], a["xn"]
    qptr, sup = xn[XN_QPTR], xn[XN_SUP]

    def waits(s: int) -> tuple[list[int], list[int]]:  # (blocked into, suppliers waited on)
        if sta[s, L.KIND] == L.SOURCE:
            return [int(xn[xn[XN_SRC] + s])], []
        into, wanted = [], []
        for u in range(sta[s, L.U0], sta[s, L.U0] + sta[s, L.NU]):
            d = int(ux[u, G.UX_BLK])
            if d >= 0:
                into.append(d)
            else:
                q = int(uni[u, L.U_WQ])
                wanted += xn[sup + xn[qptr + q]:sup + xn[qptr + q + 1]].tolist()
        return into, wanted

    def first(s: int) -> int:  # the first node of Node.waits(): the first unit's wait
        if sta[s, L.KIND] == L.SOURCE or ux[sta[s, L.U0], G.UX_BLK] >= 0:
            return waits(s)[0][0]
        return waits(s)[1][0]

    s = int(xn[XN_DEAD])
    path: list[int] = []
    while s not in path:  # watchdog.cycle_of
        path.append(s)
        s = first(s)
    cycle = [names[i] for i in path[path.index(s):]] + [names[s]]
    stuck = [int(i) for i in np.flatnonzero(xn[xn[XN_SEEN]:xn[XN_SEEN] + sta.shape[0]] == 2)]
    clauses, plain = [], True
    for i in sorted(stuck, key=names.__getitem__):
        into, wanted = waits(i)
        if sta[i, L.KIND] == L.SOURCE:
            clauses.append(supply_clause(names[i], names[into[0]]))
            plain = False
        else:
            clauses.append(server_clause(names[i], sorted({names[d] for d in into}),
                                         sorted({names[d] for d in wanted})))
            plain = plain and not wanted
    report_deadlock(warnings, cycle, sorted(names[i] for i in stuck), now, on_deadlock,
                    None if plain else "; ".join(clauses))
