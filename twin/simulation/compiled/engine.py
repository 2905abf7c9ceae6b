"""Run a discrete line on the compiled loop and hand its records to a :class:`Recorder`.

:class:`CompiledModel` has the parts of :class:`twin.simulation.line.LineModel` that the run
layer reads (``run``, ``wip``, ``inventory``, ``alarms``), so the same tables, ledgers and KPIs
are computed from its records.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from twin.data import spec as S
from twin.data.distributions import CHUNK
from twin.observation.accumulated import Accumulated
from twin.observation.recorder import EVENTS, Recorder
from twin.simulation.compiled import deadlock as DL
from twin.simulation.compiled import gather as G
from twin.simulation.compiled import loop as L
from twin.simulation.compiled import stores as ST
from twin.simulation.compiled import transit as TR
from twin.simulation.compiled import unit_time as UT
from twin.simulation.compiled.accumulate import READS, READS_BEFORE, Folder
from twin.simulation.compiled.alarms import SignalAlarms, loop_arrays
from twin.simulation.compiled.lower import STREAM_ROWS, Lowered, lower, unsupported

FIRST_ROWS = 1 << 16
"""Rows each record array starts with (doubled when it runs low)."""
FIRST_CHUNKS = 2 * CHUNK
"""Values each random stream draws at the start (one chunk more than the loop keeps in
hand, :data:`.loop.LOW`): a short run draws little more than it uses; a stream that runs
low draws ahead what the rest of the run is expected to take (:func:`_refill`). The values
are the same either way: one generator per stream, drawn chunk after chunk."""
STREAM_MOST = 64 * CHUNK
"""Most values a stream draws ahead in a long run (:func:`_refill`)."""
STREAM_BYTES = 16 * 2**20
"""Most memory [B] the drawn-ahead values of all streams of one run take."""
LOOP_ERRORS = {1: "a random stream ran out of drawn values within one event",
               2: "one event moved more parts than the room kept for it (work list, "
                  "transports or heap), or one instant held hundreds of timed events",
               3: "a part found no route for its product",
               4: "internal error: a stopped unit left a queue of idle units it was not in"}
"""What the loop's error codes (``n[FLAG_ERR]``) mean."""
UT_ARRAYS = ("ut", "uf", "stx", "cf", "op", "opq", "shc", "shs", "shf")
"""The arrays of unit time (:mod:`.unit_time`), last arguments of the loop."""


class CompiledModel:
    """A discrete line ready to run on the compiled loop (same seed, same draws as SimPy).

    With ``window = (t0, t1)`` [s] the run records KPI accumulators over that window instead
    of tables (``record = "kpis"``): the record rows are folded in and dropped whenever
    their arrays fill up and at the end (:mod:`.accumulate`); :meth:`accumulated` returns
    them, and the recorder stays empty.

    Raises
    ------
    ValueError
        If the line uses something the compiled engine does not support (the message says
        what); :func:`twin.simulation.compiled.lower.unsupported` tells beforehand.
    """

    def __init__(self, line: S.LineSpec, seed: int, recorder: Recorder,
                 events: tuple[Any, ...] = (),
                 window: tuple[float, float] | None = None,
                 lowered: Lowered | None = None,
                 spare: dict[str, np.ndarray] | None = None) -> None:
        """``lowered``: the line already lowered with the streams of ``seed`` (a run of
        many, :mod:`.replicate`); by default the line is lowered here. ``spare``: record
        arrays to reuse, from :meth:`spare` of a finished run that folded its records."""
        why = unsupported(line, tuple(events))
        if why:
            raise ValueError("the compiled engine cannot run this line: " + "; ".join(why))
        self.line, self.rec = line, recorder
        self.warnings: list[dict[str, Any]] = []  # engine warnings (deadlocks run through)
        for p in line.products:  # the same codes, in the same order, as LineModel
            recorder.product_code(p)
        for name, st in line.stations.items():
            code = recorder.add_station(name)
            if isinstance(st, S.Equipment):
                for i in range(st.servers):
                    recorder.add_unit(code, i)
        self.low = lower(line, seed) if lowered is None else lowered
        self.a = _state(self.low, spare)
        self.clock = np.zeros(1)
        self._copied = 0
        self.folder = None if window is None else Folder(
            line, self.low.names, self.a["uni"][:, L.U_ST], list(line.products), *window)
        gst = self.a["gst"]  # a station's queues: its own, then its extra ones (assembly)
        queues = {name: [s, *range(gst[s, G.X_Q0], gst[s, G.X_Q0] + gst[s, G.X_QN])]
                  for s, name in enumerate(self.low.names)}
        #: The line's signals and alarms (``None`` without alarms): :mod:`.alarms`.
        self.alarms = SignalAlarms(line, queues, keep=window is None) if line.alarms else None
        self._sg = loop_arrays([]) if self.alarms is None else self.alarms.sg
        #: From this time on [s] the loop stops recording ``start`` events (read by the
        #: accumulators only before the window, :data:`.accumulate.READS_BEFORE`).
        self._late_drop = math.inf
        #: Parts made [parts] when the loop stopped recording ``start`` events: later parts
        #: have none, so the accumulators keep start times for these only.
        self._started = math.inf
        if self.folder is not None and window is not None:  # record only what is read
            signals = SignalAlarms.READS if self.alarms is not None else frozenset()
            reads = READS | signals
            self.a["n"][L.N_DROP] = sum(1 << k for k in range(len(EVENTS)) if k not in reads)
            if READS_BEFORE.isdisjoint(signals):
                self._late_drop = window[0]

    # ------------------------------------------------------------------ running

    def run(self, until: float) -> None:
        """Advance the simulation to time ``until`` [s] (events at ``until`` are not run)."""
        a = self.a
        stop = until
        if self.clock[0] >= self._late_drop:  # in the window (from its start at 0, say)
            self._drop_late()
        elif until > self._late_drop:
            stop = self._late_drop  # run to the window's start first
        while True:
            code = L.run_loop(stop, self.clock, a["n"], a["sta"], a["uni"], a["ufl"],
                              a["fleft"], a["fint"], a["mix"], a["qual"], a["cycle"],
                              a["rptr"], a["rdest"], a["rcum"], a["rmode"], a["rel_i"],
                              a["rel_f"], a["sbuf"],
                              a["spos"], a["slen"], a["sconst"], a["ht"], a["hi"], a["qbuf"],
                              a["qh"], a["ql"], a["pqs"], a["pqp"], a["pqh"], a["pql"],
                              a["gq"], a["gqh"], a["gql"], a["pint"], a["pc"], a["s_t"],
                              a["s_i"], a["e_t"], a["e_i"], a["p_f"], a["p_i"], a["st_f"],
                              a["st_i"], a["work"], *(a[k] for k in UT_ARRAYS),
                              tuple(a[k] for k in GATHER_ARRAYS), self._sg,
                              tuple(a[k] for k in TRANSIT_ARRAYS))
            if code == L.DONE:
                if stop == until:
                    break
                self._drop_late()  # the window begins
                stop = until
            elif code == L.DEADLOCK:
                self._deadlock()
            elif code == L.REFILL:
                _refill(self.low, a, float(self.clock[0]), until)
            elif code == L.GROW:
                self._signals()
                if self.folder is not None:
                    self._fold()
                _grow(a)
            else:
                code = int(a["n"][L.FLAG_ERR])
                raise RuntimeError(
                    f"compiled engine: {LOOP_ERRORS.get(code, f'loop error {code}')} at "
                    f"t = {self.clock[0]:.6g} s (a fault of the engine, not of the line: "
                    "engine = 'simpy' runs it)")
        self.clock[0] = until
        self._signals()
        if self.alarms is not None:
            self.alarms.finish(until)
        if self.folder is not None:
            self._fold()
        else:
            self._to_recorder()

    def spare(self) -> dict[str, np.ndarray] | None:
        """The record arrays for another run to reuse: those of a run that folds its
        records into accumulators (nothing it returns refers to them); ``None`` for a run
        that hands its records to the recorder."""
        return None if self.folder is None else {k: self.a[k] for k in RECORD_ARRAYS}

    def _fold(self) -> None:
        """Fold the record rows into the accumulators and reuse their arrays."""
        n = self.a["n"]
        counters = (L.N_S, L.N_E, L.N_P, L.N_STOP)
        self.folder.fold(self.a, n, int(min(n[L.N_PARTS], self._started)),  # type: ignore[union-attr]
                         counters)
        n[list(counters)] = 0
        if self.alarms is not None:
            self.alarms.dropped()

    def _signals(self) -> None:
        """Evaluate the signals and alarms on the rows written since the last call."""
        if self.alarms is not None:
            ne = int(self.a["n"][L.N_E])
            self.alarms.take(self.a["e_t"][:ne], self.a["e_i"][:ne, 3])

    def accumulated(self) -> Accumulated:
        """The KPI accumulators of a run made with a ``window`` (after :meth:`run`)."""
        if self.folder is None:
            raise RuntimeError("this run records tables, not KPI accumulators")
        return self.folder.result(self.low.units)

    def _drop_late(self) -> None:
        """Stop recording the part events read only before the window."""
        self._started = min(self._started, int(self.a["n"][L.N_PARTS]))
        self.a["n"][L.N_DROP] |= sum(1 << k for k in READS_BEFORE)

    def _deadlock(self) -> None:
        """Report the deadlock the loop found (raise, or warn and run on)."""
        DL.report(self.a, self.low.names, self.warnings, float(self.clock[0]),
                  self.line.run.on_deadlock)

    def _to_recorder(self) -> None:
        """Hand the records made so far to the recorder (its columns, as NumPy arrays)."""
        a, rec, n = self.a, self.rec, self.a["n"]
        ns, ne, np_, nstop = (int(n[L.N_S]), int(n[L.N_E]), int(n[L.N_P]), int(n[L.N_STOP]))
        s, e, p = a["s_i"][:ns], a["e_i"][:ne], a["p_i"][:np_]
        rec.s_time, rec.s_unit, rec.s_state = a["s_t"][:ns].copy(), s[:, 0], s[:, 1]
        rec.e_time, rec.e_part, rec.e_product, rec.e_station, rec.e_kind = (
            a["e_t"][:ne].copy(), e[:, 0], e[:, 1], e[:, 2], e[:, 3])
        rec.p_id, rec.p_product, rec.p_fate, rec.p_reworks = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
        rec.p_created, rec.p_done = a["p_f"][:np_, 0], a["p_f"][:np_, 1]
        modes = self.low.modes
        if self.alarms is not None:
            rec.monitored = rec.watching = True
            rec.signals, rec.alarm_rows = self.alarms.signal_rows(), self.alarms.alarm_rows()
        rec.stops = [(float(t), int(u), "maintenance", "planned", float(d)) if m == UT.MAINT_MODE
                     else (float(t), int(u), "failure", modes[int(m)], float(d))
                     for (t, d), (u, m) in zip(a["st_f"][:nstop].tolist(),
                                               a["st_i"][:nstop].tolist(), strict=True)]

    # ------------------------------------------------------------------ what LineModel offers

    def wip(self) -> dict[str, int]:
        """Parts held by each station now, plus ``"(in transit)"`` (carried along routes
        with a transport delay, or waiting at a full destination)."""
        a = self.a
        sta = a["sta"]
        out = {}
        for s, name in enumerate(self.low.names):
            kind = sta[s, L.KIND]
            out[name] = (0 if kind == L.SINK else int(sta[s, L.HOLD]) if kind == L.SOURCE
                         else int(ST.load(s, sta, a["ql"], a["gql"], a["pql"], a["gst"])))
        out["(in transit)"] = int(a["tin"][:, TR.IN_TRANSIT].sum())
        return out

    def inventory(self) -> dict[str, float]:
        """No process material on a discrete line."""
        return {}


GATHER_ARRAYS = ("gst", "gwait", "qof", "qst", "aseq", "ux", "uxf", "held", "xn")
"""The arrays of :mod:`.gather`, in the order of the loop's ``x`` tuple."""
TRANSIT_ARRAYS = ("rdly", "tin", "tq", "tqt")
"""The arrays of :mod:`.transit`, in the order of the loop's ``tr`` tuple."""


RECORD_ARRAYS = ("pint", "pc", "s_t", "s_i", "e_t", "e_i", "p_f", "p_i", "st_f", "st_i")
"""The record rows and the per-part rows: written before they are read (up to their
counters, or at a part's creation), so a run may take over another's (:meth:`spare`)."""


def _state(low: Lowered, spare: dict[str, np.ndarray] | None = None
           ) -> dict[str, np.ndarray]:
    """Every mutable array of a run, sized for a start (the :data:`RECORD_ARRAYS` of
    ``spare`` if given), with the streams drawn and the t = 0 situation set: every unit
    idle and waiting, each source's first event scheduled."""
    a = dict(low.arrays)
    n_st, n_u = a["sta"].shape[0], a["uni"].shape[0]
    n = np.zeros(L.N_COUNTERS, np.int64)
    a["n"] = n
    parts = burst(a) - 1  # what each event has room for beyond the one part of a plain line
    draws = L.DRAWS_PER_PART * parts
    n[L.N_SLACK] = L.SLACK + L.SLACK_PER_PART * parts
    n[L.N_LOW] = L.LOW + draws
    n[L.N_MARGIN] = L.MARGIN + draws
    k = len(low.streams)
    a["sbuf"] = np.zeros((k, STREAM_ROWS + 2 * draws))
    a["drawn"] = np.zeros(k, np.int64)  # values drawn by each stream so far (_refill)
    a["spos"] = np.zeros(k, np.int64)
    a["slen"] = np.zeros(k, np.int64)
    a["sconst"] = np.array([s.constant for s in low.streams], dtype=float).reshape(k)
    for i, s in enumerate(low.streams):
        if s.draw is not None and s.needed:
            _fill(a, i, s.draw, FIRST_CHUNKS + draws)
    fint = a["fint"]
    a["fleft"] = np.zeros(fint.shape[0])
    for f in range(fint.shape[0]):  # each failure mode draws its first time to failure
        a["fleft"][f] = L._draw(fint[f, L.FI_TTF], a["sbuf"], a["spos"], a["slen"],
                                a["sconst"], n)
    servers = max(1, int(a["sta"][:, L.NU].max()) if n_st else 1)
    caps = a["sta"][:, L.CAP]
    q = int(max(256, 2 * caps.max() + 128, 4 * n[L.N_MARGIN])) if n_st else 256
    rows = L.WORK_ROWS + L.SLACK_PER_PART * parts
    n_q = a["qst"].shape[0]  # the stations' queues, then the assembly component queues
    gst = a["gst"]
    width = max(1, int(gst[:, G.X_BSIZE].max(initial=0)),
                1 + int(gst[:, G.X_ASMN].max(initial=0)))
    a.update(ux=np.zeros((n_u, G.UX_COLS), np.int64), uxf=np.zeros((n_u, 2)),
             held=np.zeros((n_u, width), np.int64), xn=a["xn"].copy())
    a["ux"][:, G.UX_BLK] = -1
    a.update(
        ht=np.zeros(2 * n[L.N_SLACK] + n_u + n_st),
        hi=np.zeros((2 * n[L.N_SLACK] + n_u + n_st, 3), np.int64),
        qbuf=np.zeros((n_q, q), np.int64), qh=np.zeros(n_q, np.int64),
        ql=np.zeros(n_q, np.int64), pqs=np.zeros((n_q, 4 * n[L.N_MARGIN]), np.int64),
        pqp=np.zeros((n_q, 4 * n[L.N_MARGIN]), np.int64), pqh=np.zeros(n_q, np.int64),
        pql=np.zeros(n_q, np.int64), gq=np.zeros((n_q, servers), np.int64),
        gqh=np.zeros(n_q, np.int64), gql=np.zeros(n_q, np.int64),
        work=np.zeros((rows, 3), np.int64))
    a.update(spare or dict(
        pint=np.zeros((FIRST_ROWS, 2), np.int64), pc=np.zeros(FIRST_ROWS),
        s_t=np.zeros(FIRST_ROWS), s_i=np.zeros((FIRST_ROWS, 2), np.int64),
        e_t=np.zeros(FIRST_ROWS), e_i=np.zeros((FIRST_ROWS, 4), np.int64),
        p_f=np.zeros((FIRST_ROWS, 2)), p_i=np.zeros((FIRST_ROWS, 4), np.int64),
        st_f=np.zeros((FIRST_ROWS, 2)), st_i=np.zeros((FIRST_ROWS, 2), np.int64)))
    a.update(tin=np.zeros((n_st, TR.TIN_COLS), np.int64), tq=np.zeros(rows + 1, np.int64),
             tqt=np.zeros(rows))
    # t = 0: every unit idle (recorded), as in LineModel; sources, units and their stoppage
    # clocks start at the first event, in station order (unit_time.EV_BOOT); the shift
    # clock before them
    uni = a["uni"]
    for u in range(n_u):
        uni[u, L.U_ACT] = L.IDLE
        uni[u, L.U_SHOWN] = L.IDLE
        i = int(n[L.N_S])
        a["s_t"][i], a["s_i"][i, 0], a["s_i"][i, 1] = 0.0, u, L.IDLE
        n[L.N_S] = i + 1
    L._heap_push(a["ht"], a["hi"], n, 0.0, UT.EV_BOOT, 0)
    UT.start(a)
    return a


def burst(a: dict[str, np.ndarray]) -> int:
    """The most parts one event of the line can move at once [parts]: a lot of a release
    schedule (each part drawing its product, routes and transport), every lot due at t = 0
    (released within the first instant), a batch that ends. The loop keeps room for that
    many before each event (:data:`.loop.SLACK_PER_PART`, :data:`.loop.DRAWS_PER_PART`), so
    that one event never runs out of rows or draws."""
    lots = a["rel_i"][:, 1]
    at_start = int(lots[a["rel_f"][:, 0] <= 0.0].sum())
    return max(1, int(lots.max(initial=1)), at_start,
               int(a["gst"][:, G.X_BSIZE].max(initial=1)))


def _fill(a: dict[str, np.ndarray], k: int, draw: Any, most: int = STREAM_ROWS) -> None:
    """Move stream ``k``'s unread values to the front and append whole chunks (while
    there is room, at most ``most`` values)."""
    pos, end = int(a["spos"][k]), int(a["slen"][k])
    buf = a["sbuf"]
    left = end - pos
    buf[k, :left] = buf[k, pos:end]
    low = int(a["n"][L.N_LOW])
    room = min(buf.shape[1], left + low + most)
    while left + low <= room - CHUNK:
        chunk = draw()
        buf[k, left:left + chunk.size] = chunk
        left += chunk.size
        a["drawn"][k] += chunk.size
    a["spos"][k], a["slen"][k] = 0, left


def _refill(low: Lowered, a: dict[str, np.ndarray], now: float, until: float) -> None:
    """Refill the streams when one runs low (at ``now`` [s], in a run to ``until`` [s]).

    A stream refilled draws ahead what the rest of the run is expected to take from it at
    its rate so far (``more``), at least :data:`.lower.STREAM_ROWS` values and at most
    :data:`STREAM_MOST` (and :data:`STREAM_BYTES` for all); the room of every stream grows
    to the most any of them draws ahead. Refilled: the streams that run low, and those that
    would run out before ``until`` with less than half of that left. So a long run returns
    from the loop to refill a few dozen times (the streams of a serial line together), not
    once per :data:`.lower.STREAM_ROWS` draws of each stream, and a short one draws no more
    than it did with room for :data:`.lower.STREAM_ROWS`."""
    n = a["n"]
    n[L.FLAG_REFILL] = 0
    floor = int(n[L.N_LOW])
    left = a["slen"] - a["spos"]
    rest = max(until - now, 0.0) / now if now > 0.0 else 0.0
    want = np.ceil((a["drawn"] - left) * rest * 1.1)  # expected draws to the end
    spare = 2 * (floor - L.LOW)  # the room kept for a burst's draws (_state)
    k = len(low.streams)
    cap = min(STREAM_MOST, max(STREAM_ROWS, STREAM_BYTES // (8 * max(k, 1)) - spare))
    more = np.clip(want + floor, STREAM_ROWS, cap).astype(np.int64)
    go = [i for i, s in enumerate(low.streams) if s.draw is not None and s.needed
          and (left[i] < floor or (left[i] < want[i] and 2 * left[i] < more[i]))]
    width = int(max(more[i] for i in go)) + spare if go else 0  # as _state's STREAM_ROWS
    if width > a["sbuf"].shape[1]:  # more room for every stream, values kept in place
        wide = np.zeros((k, width))
        wide[:, :a["sbuf"].shape[1]] = a["sbuf"]
        a["sbuf"] = wide
    for i in go:
        _fill(a, i, low.streams[i].draw, int(more[i]))


def _grow(a: dict[str, np.ndarray]) -> None:
    """Double every array that runs low (record rows, parts, queues)."""
    n = a["n"]
    for key, used in (("s_t", L.N_S), ("e_t", L.N_E), ("p_f", L.N_P), ("st_f", L.N_STOP),
                      ("pc", L.N_PARTS), ("ht", L.N_HEAP)):
        if a[key].shape[0] - n[used] < n[L.N_SLACK]:
            partner = {"s_t": "s_i", "e_t": "e_i", "p_f": "p_i", "st_f": "st_i", "pc": "pint",
                       "ht": "hi"}[key]
            for name in (key, partner):
                old = a[name]
                new = np.zeros((2 * old.shape[0],) + old.shape[1:], old.dtype)
                new[:old.shape[0]] = old
                a[name] = new
    for ring, head, size, extra in (("qbuf", "qh", "ql", None), ("pqs", "pqh", "pql", "pqp")):
        if (a[size] > a[ring].shape[1] - n[L.N_MARGIN]).any():
            for name in (ring, extra) if extra else (ring,):
                old = a[name]
                width = old.shape[1]
                new = np.zeros((old.shape[0], 2 * width), old.dtype)
                for s in range(old.shape[0]):  # unroll each ring from its head
                    idx = (a[head][s] + np.arange(a[size][s])) % width
                    new[s, :idx.size] = old[s, idx]
                a[name] = new
            a[head][:] = 0
    n[L.FLAG_RING] = 0
