"""Lower a discrete line spec into the flat arrays of the compiled loop, once per run.

Also says which lines the compiled engine can run (:func:`unsupported`) and keeps the random
streams: each is the same generator, drawn with the same calls and chunk size, as the SimPy
engine's sampler of that station and purpose (:mod:`twin.simulation.streams`), so both
engines see the same numbers in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.data import spec as S
from twin.data.distributions import CHUNK, Constant
from twin.data.registry import type_name
from twin.simulation.compiled import deadlock as DL
from twin.simulation.compiled import gather as G
from twin.simulation.compiled import loop as L
from twin.simulation.compiled import unit_time as UT
from twin.simulation.compiled.alarms import unsupported_alarms
from twin.simulation.streams import Streams, transport_keys

STREAM_ROWS = 8 * CHUNK
"""Pre-drawn values held per stream (refilled by whole chunks)."""
WEEK = 7 * 86400.0


LOWERED = (S.Source, S.Machine, S.Inspection, S.Batch, S.Assembly, S.Sink)
"""The station types the compiled engine runs (exactly these classes, not subclasses)."""


def unsupported(line: S.LineSpec, events: tuple[Any, ...] = ()) -> list[str]:
    """Why the compiled engine cannot run ``line`` (empty: it can)."""
    why: list[str] = []
    if events:
        why.append("timed scenario events")
    why += unsupported_alarms(line)
    if line.species or line.utilities:
        why.append("process materials and utilities")
    for name, st in line.stations.items():
        where = f"station {name!r}"
        if type(st) not in LOWERED:  # exactly: a registered subclass runs its own node
            why.append(f"{where}: type {st.type!r} (it runs "
                       f"{', '.join(type_name(c) for c in LOWERED)})")
            continue
        if isinstance(st, S.Equipment):
            if st.energy_schedule is not None:
                why.append(f"{where}: an energy schedule")
    return why


@dataclass
class Stream:
    """One pre-drawn random stream: its next chunk of draws (``None``: a constant), the
    distribution it draws (``None``: U(0, 1)) and the key of its generator (station,
    purpose, ...; :class:`twin.simulation.streams.Streams`)."""

    draw: Callable[[], np.ndarray] | None
    constant: float = float("nan")
    needed: bool = True
    dist: Any = None
    key: tuple[str, ...] = ()


def drawer(dist: Any, rng: np.random.Generator) -> Callable[[], np.ndarray]:
    """The next chunk of draws of ``dist`` (``None``: U(0, 1)) from ``rng``, made with the
    SimPy engine's calls."""
    if dist is None:
        return lambda: rng.random(CHUNK)
    return lambda: dist.draw(rng, CHUNK)


@dataclass
class Lowered:
    """The arrays of one run (see :mod:`.loop` for the column names)."""

    names: list[str]
    units: list[tuple[int, int]]
    modes: list[str]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    streams: list[Stream] = field(default_factory=list)


def _rows(n: int, cols: int = 0, dtype: Any = np.int64) -> np.ndarray:
    return np.zeros((n, cols) if cols else n, dtype=dtype)


def lower(line: S.LineSpec, seed: int) -> Lowered:
    """The spec as arrays, with every stream of ``seed`` ready to draw."""
    names = list(line.stations)
    index = {n: i for i, n in enumerate(names)}
    products = list(line.products)
    pcode = {p: i for i, p in enumerate(products)}
    n_st, n_prod = len(names), len(products)
    streams = Streams(seed)
    out: list[Stream] = []

    def stream(dist: Any, *key: str) -> int:
        if isinstance(dist, Constant):
            out.append(Stream(None, dist.value))
        else:
            out.append(Stream(drawer(dist, streams.rng(*key)), dist=dist, key=key))
        return len(out) - 1

    sta = _rows(n_st, L.STA_COLS)
    gst = _rows(n_st, G.X_COLS)
    gst[:, G.X_OUT] = -1
    gwait = np.full(n_st, -1.0)  # a batch's max_wait [s] (-1: none)
    qof = np.repeat(np.arange(n_st, dtype=np.int64)[:, None], max(n_prod, 1), axis=1)
    qst = list(range(n_st))  # the station of each queue (then the component queues)
    aseq: list[int] = []  # the queue of each component an assembly takes, in order
    sta[:, L.LIMIT] = -1
    sta[:, L.REWDEST] = -1
    cycle = _rows(n_st, n_prod) if n_prod else np.zeros((n_st, 1), np.int64)
    qual = np.zeros((n_st, 2))
    mix_rows: list[tuple[float, float]] = []
    units: list[tuple[int, int]] = []
    u_fail: list[tuple[int, int]] = []
    fint_rows: list[tuple[int, int, int]] = []
    modes: list[str] = []
    route_rows: list[tuple[int, float, int]] = []  # destination, cumulative p, delay stream
    rel_rows: list[tuple[int, int, int, float, float]] = []  # source, quantity, product, at, every
    rptr = [0]
    rmode = _rows(n_st * n_prod)
    pools = list(line.operators)
    stx = _rows(n_st, UT.STX_COLS)
    stx[:, UT.X_SETUP] = stx[:, UT.X_POOL] = -1
    cf_rows: list[tuple[int, int, int, int]] = []  # unit, ttf stream, ttr stream, mode
    # per unit: follows the shifts, maintenance stream, first stop due, period
    u_time: list[tuple[int, int, float, float]] = []
    windows = line.calendar.working_windows() if line.calendar is not None else []
    shifted = bool(windows) and windows != [(0.0, WEEK)]
    for s, (name, st) in enumerate(line.stations.items()):
        kind = (L.SOURCE if isinstance(st, S.Source) else L.SINK if isinstance(st, S.Sink)
                else L.EQUIP)
        sta[s, L.KIND] = kind
        sta[s, L.RSTREAM] = stream(None, name, "route")
        drawn = False
        delay = [-1 if key is None else stream(r.delay, *key)  # one stream per route
                 for r, key in zip(st.routes, transport_keys(name, st.routes), strict=True)]
        for p in products:  # routes by product: the only one, by probability, least loaded
            chosen = [(r, k) for r, k in zip(st.routes, delay, strict=True)
                      if r.products is None or p in r.products]
            if chosen and all(r.probability is not None for r, _ in chosen):
                total = sum(r.probability or 0.0 for r, _ in chosen)
                cum = np.cumsum([(r.probability or 0.0) / total for r, _ in chosen]).tolist()
                rmode[s * n_prod + pcode[p]] = 1
                drawn = drawn or len(chosen) > 1
            else:
                cum = [0.0] * len(chosen)
                rmode[s * n_prod + pcode[p]] = 2
            route_rows += [(index[r.to], c, k) for (r, k), c in zip(chosen, cum, strict=True)]
            rptr.append(len(route_rows))
        out[sta[s, L.RSTREAM]].needed = drawn
        if isinstance(st, S.Source):
            mix = st.mix or {st.product: 1.0}
            made = [p for p, w in mix.items() if w > 0]
            total = sum(mix[p] for p in made)
            sta[s, L.MIX0], sta[s, L.MIXN] = len(mix_rows), len(made)
            mix_rows += list(zip(np.cumsum([mix[p] / total for p in made]).tolist(),
                                 [float(pcode[p]) for p in made], strict=True))
            sta[s, L.MIXSTREAM] = stream(None, name, "mix")
            out[-1].needed = len(made) > 1
            sta[s, L.LOT] = st.lot_size
            sta[s, L.LIMIT] = -1 if st.limit is None else st.limit
            sta[s, L.LOSTMODE] = int(st.when_full == "lost")
            sta[s, L.SMODE] = (2 if st.schedule is not None else
                               0 if st.interarrival is None else 1)
            for rel in st.schedule or ():
                rel_rows.append((s, rel.quantity, -1 if rel.product is None
                                 else pcode[rel.product], rel.at, rel.every or 0.0))
            if st.interarrival is not None:
                sta[s, L.ARRSTREAM] = stream(st.interarrival, name, "arrival")
        elif isinstance(st, S.Equipment):
            sta[s, L.CAP] = -1 if st.buffer is None else st.buffer
            _gathering(st, s, gst, gwait, qof, qst, aseq, pcode)
            sta[s, L.U0], sta[s, L.NU] = len(units), st.servers
            default = stream(st.cycle_time, name, "cycle")
            for p in products:
                own = st.product_cycle_time.get(p)
                cycle[s, pcode[p]] = (default if own is None
                                      else stream(own, name, "cycle", p))
            if isinstance(st, S.Inspection):
                sta[s, L.INSP] = 1
                sta[s, L.QSTREAM] = stream(None, name, "quality")
                sta[s, L.MAXREW] = st.max_reworks
                sta[s, L.REWDEST] = -1 if st.rework_to is None else index[st.rework_to]
                qual[s] = (st.scrap_probability,
                           st.scrap_probability + st.rework_probability)
            if st.setup_time is not None:
                stx[s, UT.X_SETUP] = stream(st.setup_time, name, "setup")
            # as EquipmentNode.interruptible: under any calendar, also one that is all working
            # time, a waiting unit waits on its get or its next stop (one event more)
            stx[s, UT.X_HOPS] = (1 + (st.buffer != 0) + bool(
                st.failures or st.maintenance is not None
                or (line.calendar is not None and st.follows_calendar)))
            if st.operator is not None:
                stx[s, UT.X_POOL] = pools.index(st.operator.pool)
                stx[s, UT.X_DURING] = DURING[st.operator.during]
            for i in range(st.servers):
                first = len(fint_rows)
                for f in st.failures:
                    key = (name, "failure", f.name, str(i))
                    if f.name not in modes:
                        modes.append(f.name)
                    row = (stream(f.ttf, *key, "ttf"), stream(f.ttr, *key, "ttr"),
                           modes.index(f.name))
                    if f.basis == "operating":
                        fint_rows.append(row)
                    else:
                        cf_rows.append((len(units), *row))
                plan = st.maintenance
                u_time.append((
                    int(shifted and st.follows_calendar),
                    -1 if plan is None else stream(plan.duration, name, "maintenance", str(i)),
                    0.0 if plan is None else plan.every if plan.first is None else plan.first,
                    0.0 if plan is None else plan.every))
                units.append((s, i))
                u_fail.append((first, len(fint_rows) - first))
    uni = _rows(len(units), L.UNI_COLS)
    for u, ((s, _), (f0, nf)) in enumerate(zip(units, u_fail, strict=True)):
        uni[u, L.U_ST], uni[u, L.U_F0], uni[u, L.U_NF], uni[u, L.U_WQ] = s, f0, nf, s
        uni[u, L.U_PART], uni[u, L.U_DUE], uni[u, L.U_SHOWN] = -1, -1, -1
    low = Lowered(names, units, modes, streams=out)
    low.arrays.update(
        gst=gst, gwait=gwait, qof=qof, qst=np.asarray(qst, dtype=np.int64),
        aseq=np.asarray(aseq, dtype=np.int64), sta=sta, uni=uni, ufl=np.zeros((len(units), 3)),
        fint=np.asarray(fint_rows, dtype=np.int64).reshape(-1, 3),
        mix=np.asarray(mix_rows, dtype=float).reshape(-1, 2), qual=qual, cycle=cycle,
        rptr=np.asarray(rptr, dtype=np.int64),
        rdest=np.asarray([r[0] for r in route_rows], dtype=np.int64),
        rcum=np.asarray([r[1] for r in route_rows], dtype=float), rmode=rmode,
        rdly=np.asarray([r[2] for r in route_rows], dtype=np.int64),
        rel_i=np.asarray([r[:3] for r in rel_rows], dtype=np.int64).reshape(-1, 3),
        rel_f=np.asarray([r[3:] for r in rel_rows], dtype=float).reshape(-1, 2))
    low.arrays.update(_unit_time(line, u_time, stx, cf_rows, windows if shifted else []))
    low.arrays["xn"] = DL.layout(line, qst, bool(DL.may_starve(line)))
    return low


def _gathering(st: S.Equipment, s: int, gst: np.ndarray, gwait: np.ndarray, qof: np.ndarray,
               qst: list[int], aseq: list[int], pcode: dict[str, int]) -> None:
    """The batch or assembly settings of station ``s`` (its rows of :mod:`.gather`'s
    arrays), read as :class:`twin.simulation.stations.BatchNode` and ``AssemblyNode`` do."""
    if isinstance(st, S.Batch):
        gst[s, G.X_KIND], gst[s, G.X_BSIZE] = G.BATCH, st.batch_size
        gst[s, G.X_BMIN] = st.min_batch or (1 if st.max_wait is not None else st.batch_size)
        wait = st.max_wait if st.max_wait is not None else (
            0.0 if st.min_batch is not None else None)
        gwait[s] = -1.0 if wait is None else wait
    elif isinstance(st, S.Assembly):
        gst[s, G.X_KIND] = G.ASSEMBLY
        gst[s, G.X_Q0], gst[s, G.X_QN] = len(qst), len(st.components)
        gst[s, G.X_ASM0] = len(aseq)
        for p, quantity in st.components.items():
            qof[s, pcode[p]] = len(qst)
            aseq.extend([len(qst)] * quantity)
            qst.append(s)
        gst[s, G.X_ASMN] = len(aseq) - gst[s, G.X_ASM0]
        if st.output_product is not None:
            gst[s, G.X_OUT] = pcode[st.output_product]


DURING = {"setup": UT.DURING_SETUP, "processing": UT.DURING_PROCESSING, "both": UT.DURING_BOTH}


def _unit_time(line: S.LineSpec, u_time: list[tuple[int, int, float, float]],
               stx: np.ndarray, cf_rows: list[tuple[int, int, int, int]],
               windows: list[tuple[float, float]]) -> dict[str, np.ndarray]:
    """The arrays of :mod:`.unit_time`: per unit, station, calendar-time failure and
    operator pool, and the shift clock (next change, working now; -1 without shifts) with
    the week's changes (time in the week [s], working from then on) as the SimPy engine's
    shift processes have them."""
    n_u = len(u_time)
    ut = _rows(n_u, UT.UT_COLS)
    uf = np.zeros((n_u, UT.UF_COLS))
    ut[:, UT.T_LAST] = -1
    for u, (follows, mstream, due, every) in enumerate(u_time):
        ut[u, UT.T_FOLLOWS], ut[u, UT.T_MSTREAM] = follows, mstream
        uf[u, UT.F_MDUE], uf[u, UT.F_MEVERY] = due, every
    op = _rows(len(line.operators), UT.OP_COLS)
    for p, pool in enumerate(line.operators.values()):
        op[p, UT.O_CAP] = pool.count
        op[p, UT.O_FOLLOWS] = int(bool(windows) and pool.follows_calendar)
    changes = [(t, on) for a, b in windows for t, on in ((a, 1.0), (b, 0.0))]
    if windows and windows[0][0] == 0.0 and windows[-1][1] == WEEK:
        changes = changes[1:-1]  # one window across the week's end
    working = int(bool(windows) and windows[0][0] == 0.0)
    return dict(ut=ut, uf=uf, stx=stx,
                cf=np.asarray(cf_rows, dtype=np.int64).reshape(-1, 4),
                op=op, opq=_rows(len(op), max(1, n_u) + 1),
                shc=np.asarray(changes or [(0.0, 0.0)], dtype=float).reshape(-1, 2),
                shs=np.asarray([0, working] if windows else [-1, 0], dtype=np.int64),
                shf=np.zeros(1))
