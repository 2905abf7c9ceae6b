"""The compiled event loop for discrete lines (Numba, cached).

Everything the loop needs is in flat arrays made once by :mod:`.lower`; it never calls
Python. :func:`run_loop` advances a line from event to event until the next event is at or
after ``until`` [s] (like ``simpy.Environment.run(until)``), or until a pre-drawn random
stream or a record array runs low; it then returns, Python refills or grows the arrays and
calls again. The whole state lives in the arrays, so a call resumes where the last stopped.

Semantics are those of the SimPy engine (:mod:`twin.simulation.stations`): FIFO buffers with
blocking after service (``buffer = 0``: direct hand-over), idle servers served first come
first served, blocked senders admitted first come first served, operating-time failures
clipped into the work (the unit is down for the repair, then resumes), the same state codes
and record rows. Unit time (shifts, setups, operators, maintenance, calendar-time failures)
is in :mod:`.unit_time`.

The hand-overs an event causes are done in the same instant, in cascade, in the order the
SimPy engine's zero-delay events take: a work list stands for SimPy's queue of events of the
instant. Timed events that fall on one instant are taken as SimPy takes them: every one
scheduled before the instant, in scheduling order, ahead of the zero-delay events any of
them queued (:func:`_begin` queues a heap event's own action at the front). A process that
goes on without waiting (a sender whose part entered, a source with its next part) goes
straight on (its action at the front of the list); one that resumes through an event (a
blocked sender admitted, a server handed a part, a unit whose stoppage ended, an operator
granted) is queued at the back, once per event SimPy passes through; a blocked sender
records its part's arrival when it goes on, as SimPy's does, so even the rows of one instant
are recorded in SimPy's order. So the two engines agree on every line where no two timed
events fall on the same instant, and on most lines where they do (the tie rule in
docs/ARCHITECTURE.md).
The input buffers are SimPy's stores to the event: a put or get takes effect at once, the
store's callback (serving a waiting unit, admitting a blocked sender) one event later, so a
part handed to a waiting server holds its slot until then (:mod:`.stores`). A part sent along
a route with a transport delay starts its way once the event that sent it is over (SimPy's
urgent start of a process) and is handed over when it arrives (:mod:`.transit`).
"""

from __future__ import annotations

import numpy as np

from twin.kernels.jit import flat_kernel
from twin.simulation.compiled import alarms as AL

# node kinds
SOURCE, EQUIP, SINK = 0, 1, 2
# columns of ``sta`` (int, one row per station)
(KIND, CAP, U0, NU, HOLD, INSP, REWDEST, MAXREW, QSTREAM, RSTREAM, MADE, LIMIT, SMODE,
 ARRSTREAM, MIX0, MIXN, MIXSTREAM, LOT, LOTLEFT, LOTPROD, LOSTMODE) = range(21)
STA_COLS = 21
# columns of ``uni`` (int, one row per unit; U_WQ: the queue it waits in when idle)
U_ST, U_ACT, U_SHOWN, U_DOWN, U_PART, U_DUE, U_F0, U_NF, U_WQ = range(9)
UNI_COLS = 9
# columns of ``ufl`` (float, one row per unit): work left, cycle length, current step [s]
F_LEFT, F_DURATION, F_STEP = range(3)
# columns of ``fint`` (int, one row per failure mode of a unit)
FI_TTF, FI_TTR, FI_MODE = range(3)
# heap event kinds
EV_ARRIVAL, EV_SUPPLY, EV_WORK, EV_REPAIRED, EV_RELEASE, EV_DUE, EV_TRANSIT = range(7)
# work-list actions within one instant (from A_FREED on: those of :mod:`.stores` and
# :mod:`.gather`)
# (A_OPEN: a source starts, at t = 0: its first arrival or its lots are scheduled;
# A_LOTS: a row of a release schedule due at once, SimPy's ``timeout(0)``: its lot is
# released, as one event, in its turn among the instant's zero-delay events)
(A_TAKE, A_ADMITTED, A_SUPPLY, A_ARRIVAL, A_WORK, A_RELEASE, A_FREED, A_DUE,
 A_STORED, A_CARRIED, A_OPEN, A_LOTS) = range(12)
W_CUT = -2
"""Third column of an A_WORK row for work that a stoppage ended at its very end (SimPy's
urgent ``Interruption``): it ends now, and its pending heap event is void."""
# state codes (twin.observation.recorder.STATES)
PRODUCING, IDLE, BLOCKED, DOWN = 0, 1, 2, 4
# event codes (twin.observation.recorder.EVENTS)
CREATED, ARRIVE, START, END, SCRAP, REWORK, CONSUMED, EXIT, LOST = range(9)
# fates (twin.observation.recorder.FATES)
GOOD, SCRAPPED, ASSEMBLED = 1, 2, 3
# return codes of run_loop
DONE, REFILL, GROW, FAILED, DEADLOCK = range(5)
# indices into the counters array ``n``
# (N_DROP: the event codes not to record, one bit each; see :func:`_event`)
# (N_SLACK, N_LOW, N_MARGIN: this run's room for one event, set from its burst; see below)
# (N_ZERO: 1 + the unit whose work step of no length is to be queued, 0: none; see
# :func:`.unit_time.work_step`)
(N_HEAP, N_SEQ, N_PARTS, N_S, N_E, N_P, N_STOP, FLAG_REFILL, FLAG_ERR, FLAG_RING,
 N_DROP, N_SLACK, N_LOW, N_MARGIN, N_ZERO) = range(15)
N_COUNTERS = 15
SLACK = 4096
"""Free rows each record array and the heap keep before an event is processed (else:
GROW), plus :data:`SLACK_PER_PART` per part of the line's burst beyond the first
(``n[N_SLACK]``; the burst: the most parts one event can move, ``engine.burst``)."""
LOW = 1100
"""Pre-drawn values a stream keeps before an event is processed (else: REFILL), plus
:data:`DRAWS_PER_PART` per part of the burst beyond the first (``n[N_LOW]``)."""
WORK_ROWS = 4096
"""Rows of the work list of one instant, plus :data:`SLACK_PER_PART` per part of the burst
beyond the first."""
MARGIN = 64
"""Free places a queue's ring keeps (else: GROW before the next event), plus
:data:`DRAWS_PER_PART` per part of the burst beyond the first (``n[N_MARGIN]``)."""
SLACK_PER_PART = 8
"""Record rows, heap rows and work rows one event may use per part it moves."""
DRAWS_PER_PART = 2
"""Values one event may draw from one stream per part it moves (and places it may fill in
one queue)."""


@flat_kernel
def _heap_push(ht, hi, n, t, kind, who):
    """Schedule event ``(kind, who)`` at ``t``; equal times keep scheduling order."""
    i = n[N_HEAP]
    seq = n[N_SEQ]
    n[N_SEQ] = seq + 1
    n[N_HEAP] = i + 1
    while i > 0:
        parent = (i - 1) // 2
        if ht[parent] < t or (ht[parent] == t and hi[parent, 0] < seq):
            break
        ht[i] = ht[parent]
        hi[i, 0], hi[i, 1], hi[i, 2] = hi[parent, 0], hi[parent, 1], hi[parent, 2]
        i = parent
    ht[i] = t
    hi[i, 0], hi[i, 1], hi[i, 2] = seq, kind, who


@flat_kernel
def _heap_pop(ht, hi, n):
    """Remove the earliest event; returns ``(time, kind, who)``."""
    t0, k0, w0 = ht[0], hi[0, 1], hi[0, 2]
    size = n[N_HEAP] - 1
    n[N_HEAP] = size
    t, s, k, w = ht[size], hi[size, 0], hi[size, 1], hi[size, 2]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and (ht[c + 1] < ht[c] or (ht[c + 1] == ht[c]
                                                   and hi[c + 1, 0] < hi[c, 0])):
            c += 1
        if t < ht[c] or (t == ht[c] and s < hi[c, 0]):
            break
        ht[i] = ht[c]
        hi[i, 0], hi[i, 1], hi[i, 2] = hi[c, 0], hi[c, 1], hi[c, 2]
        i = c
    ht[i] = t
    hi[i, 0], hi[i, 1], hi[i, 2] = s, k, w
    return t0, k0, w0


@flat_kernel
def _draw(k, sbuf, spos, slen, sconst, n):
    """The next value of stream ``k`` (a constant stream draws nothing)."""
    c = sconst[k]
    if c == c:
        return c
    p = spos[k]
    if p >= slen[k]:
        n[FLAG_ERR] = 1
        return np.nan
    spos[k] = p + 1
    if slen[k] - p - 1 < n[N_LOW]:
        n[FLAG_REFILL] = 1
    return sbuf[k, p]


@flat_kernel
def _set(u, act, t, uni, s_t, s_i, n):
    """Set unit ``u``'s activity; record its effective state if that changed."""
    if act >= 0:
        uni[u, U_ACT] = act
    x = uni[u, U_DOWN] if uni[u, U_DOWN] > 0 else uni[u, U_ACT]  # a stoppage's state
    if x != uni[u, U_SHOWN]:
        uni[u, U_SHOWN] = x
        i = n[N_S]
        s_t[i] = t
        s_i[i, 0], s_i[i, 1] = u, x
        n[N_S] = i + 1


@flat_kernel(inline=True)
def _admitted(snd, part, s, sta, work, wn):
    """Queue sender ``snd``'s put of ``part`` into station ``s`` as done one event later
    (A_ADMITTED; its third column: part * stations + station, read when the sender records
    the arrival and goes on). Returns the new length of the work list."""
    work[wn, 0], work[wn, 1], work[wn, 2] = A_ADMITTED, snd, part * sta.shape[0] + s
    return wn + 1


@flat_kernel
def _event(t, part, product, station, kind, e_t, e_i, n):
    """Record part event ``kind``, unless bit ``kind`` of ``n[N_DROP]`` is set (a run that
    keeps only KPIs drops the events nothing reads)."""
    if (n[N_DROP] >> kind) & 1:
        return
    i = n[N_E]
    e_t[i] = t
    e_i[i, 0], e_i[i, 1], e_i[i, 2], e_i[i, 3] = part, product, station, kind
    n[N_E] = i + 1


@flat_kernel
def _finish(part, t, fate, pint, pc, p_f, p_i, n):
    """Record that ``part`` left the line (good or scrapped)."""
    i = n[N_P]
    p_f[i, 0], p_f[i, 1] = pc[part], t
    p_i[i, 0], p_i[i, 1], p_i[i, 2], p_i[i, 3] = part, pint[part, 0], fate, pint[part, 1]
    n[N_P] = i + 1


@flat_kernel(inline=True)
def _route(s, prod, n_prod, sta, rptr, rdest, rcum, rmode, rdly, ql, gql, pql, sbuf, spos,
           slen, sconst, n, x):
    """The next station of a part of ``prod`` leaving station ``s``: the only route, one
    drawn by probability, or the least loaded destination (ties: the first listed); and the
    stream of the route's transport delay (-1: none)."""
    row = s * n_prod + prod
    r0 = rptr[row]
    if rptr[row + 1] - r0 == 1:  # the common case (inlined: no call)
        return rdest[r0], rdly[r0]
    r = _choose(row, s, sta, rptr, rdest, rcum, rmode, ql, gql, pql, sbuf, spos, slen,
                sconst, n, x)
    return rdest[r], rdly[r]


@flat_kernel
def _choose(row, s, sta, rptr, rdest, rcum, rmode, ql, gql, pql, sbuf, spos, slen, sconst, n, x):
    """The route (index into ``rdest``) of route row ``row`` (station ``s``) when it has
    none or several."""
    r0, r1 = rptr[row], rptr[row + 1]
    if r1 == r0:  # no route for this product
        n[FLAG_ERR] = 3
        return 0
    if rmode[row] == 1:
        u01 = _draw(sta[s, RSTREAM], sbuf, spos, slen, sconst, n)
        i = r0
        while i < r1 and rcum[i] <= u01:
            i += 1
        return min(i, r1 - 1)
    best, best_load = -1, 1 << 62
    for i in range(r0, r1):
        d = rdest[i]
        load = 0 if sta[d, KIND] == SINK else ST.load(d, sta, ql, gql, pql, x[0])
        if load < best_load:
            best, best_load = i, load
    return best


@flat_kernel
def _begin(kind, who, now, wn, sta, uni, ufl, fleft, gq, gqh, gql, sbuf, spos, slen, sconst,
           ht, hi, s_t, s_i, st_f, st_i, n, ut, uf, cf, op, opq, shc, shs, shf, work, rel_i,
           rel_f):
    """Queue heap event ``(kind, who)`` at ``now`` [s] after ``wn`` rows of the work list.
    Returns the new length and the end of the rows that are the event itself (one event,
    from ``wn``: a unit's or a source's next action, a lot's parts); rows after it are
    events of their own (those unit time sets going). A length of -1: no room (FAILED)."""
    if kind >= UT.EV_FIRST:  # calendar-time failures, maintenance, shifts
        w0 = wn
        wn = UT.timed(kind, who, now, sta, uni, ufl, fleft, gq, gqh, gql, sbuf, spos, slen,
                      sconst, ht, hi, s_t, s_i, st_f, st_i, n, ut, uf, cf, op, opq, shc, shs,
                      shf, work, wn)
        end = UT.urgent_first(work, w0, wn)  # work a stoppage ended goes on first
        return wn, (end if end > w0 else -1)
    if kind == EV_RELEASE:  # a lot of a release schedule (row ``who``)
        s = rel_i[who, 0]
        if sta[s, LIMIT] >= 0 and sta[s, MADE] >= sta[s, LIMIT]:
            return wn, -1  # the source is done: no more lots from this row
        if wn + rel_i[who, 1] + 8 > work.shape[0]:
            n[FLAG_ERR] = 2
            return -1, -1
        for _ in range(rel_i[who, 1]):
            work[wn, 0], work[wn, 1], work[wn, 2] = A_RELEASE, s, rel_i[who, 2]
            wn += 1
        if rel_f[who, 1] > 0.0:  # the next lot of a repeating row
            rel_f[who, 0] += rel_f[who, 1]
            _heap_push(ht, hi, n, now + max(0.0, rel_f[who, 0] - now), EV_RELEASE, who)
        return wn, wn  # the lot's parts are released in one event
    return _action(kind, who, work, wn)


@flat_kernel
def _open(s, now, sta, rel_i, rel_f, sbuf, spos, slen, sconst, ht, hi, n, work, wn):
    """Source ``s`` starts (at t = 0): renewal arrivals schedule the first one, a release
    schedule its rows, in order (a row due at once is queued as a zero-delay event,
    A_LOTS, as SimPy's ``timeout(0)`` is). Returns the new length of the work list."""
    if sta[s, SMODE] == 1:
        if sta[s, LIMIT] != 0:
            gap = _draw(sta[s, ARRSTREAM], sbuf, spos, slen, sconst, n)
            _heap_push(ht, hi, n, now + gap, EV_ARRIVAL, s)
        return wn
    for r in range(rel_i.shape[0]):
        if rel_i[r, 0] == s:
            if rel_f[r, 0] <= now:
                work[wn, 0], work[wn, 1] = A_LOTS, r
                wn += 1
            else:
                _heap_push(ht, hi, n, now + (rel_f[r, 0] - now), EV_RELEASE, r)
    return wn


@flat_kernel(inline=True)
def _action(kind, who, work, wn):
    """:func:`_begin` for a heap event that is one action of a unit, a source or a transport
    (inlined: the common case of the loop's hot path)."""
    work[wn, 0], work[wn, 1] = (A_ARRIVAL if kind == EV_ARRIVAL else A_SUPPLY
                                if kind == EV_SUPPLY else A_DUE if kind == EV_DUE
                                else A_CARRIED if kind == EV_TRANSIT else A_WORK), who
    work[wn, 2] = kind
    if kind == EV_DUE:  # a batch's wait ends through its condition: one event later
        return wn + 1, -1
    return wn + 1, wn + 1


@flat_kernel
def _to_front(work, wi, w0, end):
    """Move rows ``w0:end`` of the work list to ``wi``, ahead of rows ``wi:w0`` (three
    reversals of ``wi:end``, in place)."""
    _reverse(work, wi, end)
    _reverse(work, wi, wi + end - w0)
    _reverse(work, wi + end - w0, end)


@flat_kernel
def _reverse(work, lo, hi):
    hi -= 1
    while lo < hi:
        for c in range(work.shape[1]):
            work[lo, c], work[hi, c] = work[hi, c], work[lo, c]
        lo += 1
        hi -= 1


@flat_kernel(inline=True)
def _room(n, s_t, e_t, p_f, st_f, pc, ht, slack):
    """Whether the record arrays and the heap keep ``slack`` free rows each: before an
    instant the loop keeps ``n[N_SLACK]`` (else GROW); a timed event taken later in the
    instant needs a quarter of :data:`SLACK` plus the line's burst. Only an instant of
    hundreds of timed events uses the rest; the loop then stops with an error rather than
    write past an array."""
    return (s_t.shape[0] - n[N_S] >= slack and e_t.shape[0] - n[N_E] >= slack
            and p_f.shape[0] - n[N_P] >= slack and st_f.shape[0] - n[N_STOP] >= slack
            and pc.shape[0] - n[N_PARTS] >= slack and ht.shape[0] - n[N_HEAP] >= slack)


@flat_kernel
def run_loop(until, clock, n, sta, uni, ufl, fleft, fint, mix, qual, cycle, rptr, rdest,
             rcum, rmode, rel_i, rel_f, sbuf, spos, slen, sconst, ht, hi, qbuf, qh, ql, pqs,
             pqp, pqh, pql, gq, gqh, gql, pint, pc, s_t, s_i, e_t, e_i, p_f, p_i, st_f, st_i,
             work, ut, uf, stx, cf, op, opq, shc, shs, shf, x, sg, tr):
    """Advance the line to ``until`` [s]; returns DONE, REFILL, GROW or FAILED.

    ``rel_i`` (source, quantity, product or -1) and ``rel_f`` (time of the next lot, period
    or 0) are the rows of the release schedules. ``clock[0]`` is the simulated time [s];
    ``n`` the counters (heap size, scheduling sequence, parts, record rows, flags). The
    other arrays are described in :mod:`.lower`, those of unit time (``ut`` to ``shf``) in
    :mod:`.unit_time`, ``x`` holds those of :mod:`.gather`, ``sg`` (watched buffer levels)
    those of :mod:`.alarms`, ``tr`` those of :mod:`.transit`. Returns DEADLOCK
    (:mod:`.deadlock`: where) when a deadlock is found.
    """
    now = clock[0]
    n_prod = cycle.shape[1]
    rdly, tq = tr[0], tr[2]
    while True:
        if sg[0].shape[0] > 0:  # the watched buffers after the last event (if changed)
            AL.levels(now, ql, sg)
        if (x[8][DL.XN_NOTED] > 0 and (n[N_HEAP] == 0 or ht[0] > now)  # the instant is over
                and DL.deadlocked(sta, uni, ut, x, tr[1])):
            clock[0] = now
            return DEADLOCK
        if n[FLAG_ERR]:
            clock[0] = now
            return FAILED
        if n[FLAG_REFILL]:
            clock[0] = now
            return REFILL
        if not _room(n, s_t, e_t, p_f, st_f, pc, ht, n[N_SLACK]) or sg[4][0] >= AL.SLACK_ROWS:
            clock[0] = now
            return GROW
        if n[FLAG_RING]:  # a buffer or a line of blocked senders nears its ring's end
            clock[0] = now
            return GROW
        if n[N_HEAP] == 0 or ht[0] >= until:
            clock[0] = now
            return DONE
        seq0 = n[N_SEQ]  # what is scheduled from here on belongs to this instant
        t, kind, who = _heap_pop(ht, hi, n)
        now = t
        wi = 0  # work[wi:wn] is SimPy's queue of this instant; work[bound:] are events of
        if kind >= UT.EV_FIRST or kind == EV_RELEASE:  # their own
            wn, bound = _begin(kind, who, now, 0, sta, uni, ufl, fleft, gq, gqh, gql, sbuf,
                               spos, slen, sconst, ht, hi, s_t, s_i, st_f, st_i, n, ut, uf, cf,
                               op, opq, shc, shs, shf, work, rel_i, rel_f)
            if wn < 0:
                return FAILED
        else:
            wn, bound = _action(kind, who, work, 0)
        while True:
            if n[N_ZERO] > 0:  # a step of no length: SimPy's timeout(0) is queued as a
                work[wn, 0], work[wn, 1], work[wn, 2] = A_WORK, n[N_ZERO] - 1, EV_WORK
                wn += 1  # zero-delay event, behind those queued before it
                n[N_ZERO] = 0
            if wi >= bound:  # the last event is over: the transports sent in it start
                if tq[0] > 0:  # (SimPy's urgent Initialize, ahead of the queued events)
                    TR.depart(ht, hi, n, tr)
                if n[N_HEAP] > 0 and ht[0] == now and hi[0, 0] < seq0:
                    # a timed event of this instant scheduled before it comes ahead of the
                    # zero-delay events the instant's events queued (as in SimPy)
                    if not _room(n, s_t, e_t, p_f, st_f, pc, ht,
                                 n[N_SLACK] - SLACK + SLACK // 4):
                        n[FLAG_ERR] = 2
                        return FAILED
                    t, kind, who = _heap_pop(ht, hi, n)
                    w0 = wn
                    wn, end = _begin(kind, who, now, w0, sta, uni, ufl, fleft, gq, gqh, gql,
                                     sbuf, spos, slen, sconst, ht, hi, s_t, s_i, st_f, st_i,
                                     n, ut, uf, cf, op, opq, shc, shs, shf, work, rel_i,
                                     rel_f)
                    if wn < 0:
                        return FAILED
                    if end > w0:  # the event itself: first in the queue, as one event
                        _to_front(work, wi, w0, end)
                        bound = wi + end - w0
                    continue
                if wi >= wn:
                    break
                bound = wi + 1
            act, a, b = work[wi, 0], work[wi, 1], work[wi, 2]
            wi += 1
            if wn + 8 > work.shape[0]:
                n[FLAG_ERR] = 2
                return FAILED
            part, dest, sender, recv, carry, hops = -1, -1, 0, -1, -1, 0
            if act == A_ARRIVAL or act == A_SUPPLY or act == A_RELEASE:  # a source releases
                s = a
                sender = -1 - s
                if sta[s, LIMIT] >= 0 and sta[s, MADE] >= sta[s, LIMIT]:
                    continue
                if act == A_RELEASE and b >= 0:  # the schedule names the product
                    prod = b
                elif sta[s, MIXN] == 1:
                    prod = int(mix[sta[s, MIX0], 1])
                else:  # drawn from the mix once per lot
                    if sta[s, LOTLEFT] == 0:
                        u01 = _draw(sta[s, MIXSTREAM], sbuf, spos, slen, sconst, n)
                        m0, mn = sta[s, MIX0], sta[s, MIXN]
                        i = 0
                        while i < mn and mix[m0 + i, 0] <= u01:
                            i += 1
                        sta[s, LOTPROD] = int(mix[m0 + min(i, mn - 1), 1])
                        sta[s, LOTLEFT] = sta[s, LOT]
                    sta[s, LOTLEFT] -= 1
                    prod = sta[s, LOTPROD]
                lost = False
                if sta[s, LOSTMODE] == 1:  # lost if the destination cannot take it now
                    dest, carry = _route(s, prod, n_prod, sta, rptr, rdest, rcum, rmode, rdly,
                                         ql, gql, pql, sbuf, spos, slen, sconst, n, x)
                    if sta[dest, KIND] == EQUIP:
                        cap = sta[dest, CAP]
                        q = x[2][dest, prod]
                        if cap == 0:
                            lost = gql[q] == 0
                        else:
                            lost = not ST.room(cap, ql[q], gql[q], pql[q])
                if lost:
                    _event(now, -1, prod, s, LOST, e_t, e_i, n)
                else:
                    part = n[N_PARTS]
                    n[N_PARTS] = part + 1
                    pint[part, 0], pint[part, 1], pc[part] = prod, 0, now
                    sta[s, MADE] += 1
                    _event(now, part, prod, s, CREATED, e_t, e_i, n)
                    if dest < 0:
                        dest, carry = _route(s, prod, n_prod, sta, rptr, rdest, rcum, rmode,
                                             rdly, ql, gql, pql, sbuf, spos, slen, sconst, n, x)
                if act == A_ARRIVAL and not (sta[s, LIMIT] >= 0
                                             and sta[s, MADE] >= sta[s, LIMIT]):
                    gap = _draw(sta[s, ARRSTREAM], sbuf, spos, slen, sconst, n)
                    _heap_push(ht, hi, n, now + gap, EV_ARRIVAL, s)
                if lost:
                    continue
            elif act == A_WORK:  # a unit's work step ended, or its repair did
                u = a
                s = uni[u, U_ST]
                due = uni[u, U_DUE]
                if b == EV_WORK or b == W_CUT:
                    if b == EV_WORK and ut[u, UT.T_SKIP] > 0:  # a step a stoppage cut short
                        ut[u, UT.T_SKIP] -= 1
                        continue
                    ut[u, UT.T_WORKING] = 0
                    # the step, or for work a stop met at its very end the time worked
                    # (``now - t0``, SimPy's interrupted step: it may differ by a rounding)
                    done = ufl[u, F_STEP] if b == EV_WORK else now - uf[u, UT.F_T0]
                    if ut[u, UT.T_ACTW] == PRODUCING:
                        for f in range(uni[u, U_F0], uni[u, U_F0] + uni[u, U_NF]):
                            fleft[f] = max(fleft[f] - done, 0.0)
                    ufl[u, F_LEFT] -= done
                    if not (ufl[u, F_LEFT] <= 1e-9 * max(1.0, ufl[u, F_DURATION])
                            and due < 0):
                        ttr = _draw(fint[due, FI_TTR], sbuf, spos, slen, sconst, n)
                        k = n[N_STOP]
                        st_f[k, 0], st_f[k, 1] = now, ttr
                        st_i[k, 0], st_i[k, 1] = u, fint[due, FI_MODE]
                        n[N_STOP] = k + 1
                        wn = UT.hold(u, UT.T_DOWN, now, ut, uf, uni, ufl, fleft, gq, gqh, gql,
                                     s_t, s_i, n, work, wn)
                        _heap_push(ht, hi, n, now + ttr, EV_REPAIRED, u)
                        continue
                else:  # repaired: back to work, with the next time to failure
                    wn = UT.release(u, UT.T_DOWN, now, ut, uni, s_t, s_i, n, work, wn)
                    fleft[due] = _draw(fint[due, FI_TTF], sbuf, spos, slen, sconst, n)
                    uni[u, U_DUE] = -1
                    if not ufl[u, F_LEFT] <= 1e-9 * max(1.0, ufl[u, F_DURATION]):
                        UT.work_step(u, now, ut, uf, uni, ufl, fleft, ht, hi, n, s_t, s_i)
                        continue
                if ut[u, UT.T_PHASE] == UT.PH_SETUP:
                    wn = UT.act(EV_WORK, u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos,
                                slen, sconst, n, e_t, e_i, s_t, s_i, ht, hi, ut, uf, stx, op,
                                opq, work, wn, x)
                    continue
                # the cycle is over
                wn = UT.cycle_over(u, ut, stx, uni, op, opq, work, wn)
                part = G.ended(u, now, sta, uni, pint, pc, e_t, e_i, p_f, p_i, n, x)
                sender = u
                if sta[s, INSP] == 1:
                    u01 = _draw(sta[s, QSTREAM], sbuf, spos, slen, sconst, n)
                    if u01 < qual[s, 0] or (u01 < qual[s, 1] and pint[part, 1] >= sta[s, MAXREW]):
                        _event(now, part, pint[part, 0], s, SCRAP, e_t, e_i, n)
                        _finish(part, now, SCRAPPED, pint, pc, p_f, p_i, n)
                        sta[s, HOLD] -= 1
                        wi -= 1  # the unit goes straight on
                        work[wi, 0], work[wi, 1] = A_TAKE, u
                        continue
                    if u01 < qual[s, 1]:
                        pint[part, 1] += 1
                        _event(now, part, pint[part, 0], s, REWORK, e_t, e_i, n)
                        dest = sta[s, REWDEST]
                if dest < 0:
                    dest, carry = _route(s, pint[part, 0], n_prod, sta, rptr, rdest, rcum,
                                         rmode, rdly, ql, gql, pql, sbuf, spos, slen, sconst,
                                         n, x)
            elif A_FREED <= act <= A_STORED or (act == UT.A_TOOK and x[0][uni[a, U_ST],
                                                                         G.X_KIND] != G.PLAIN):
                # the stores' callbacks; batch and assembly stations
                if act == A_FREED:
                    wn = ST.freed(a, sta, n, qbuf, qh, ql, pqs, pqp, pqh, pql, work, wn, x)
                elif act == A_STORED:
                    wn = ST.serve(a, now, sta, uni, s_t, s_i, n, qbuf, qh, ql, gq, gqh, gql, ut,
                                 stx, work, wn, x)
                else:
                    go = True  # handed a part while it waited: it goes on gathering
                    if act == A_DUE:
                        wn, go = G.due(a, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos,
                                       slen, sconst, n, e_t, e_i, s_t, s_i, ht, hi, gql, ut, uf,
                                       stx, op, opq, work, wn, x)
                    elif x[5][a, G.UX_SKIP] == 1:  # it went on at its timer already
                        x[5][a, G.UX_SKIP] = 0
                        go = False
                    elif x[5][a, G.UX_PH] == G.HANDED:
                        x[5][a, G.UX_PH] = G.GATHER
                    if go:
                        wn = G.gather(a, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos,
                                      slen, sconst, n, e_t, e_i, s_t, s_i, ht, hi, qbuf, qh, ql,
                                      pqs, pqp, pqh, pql, gq, gqh, gql, ut, uf, stx, op, opq,
                                      work, wn, x)
                continue
            elif act == A_TAKE and x[0][uni[a, U_ST], G.X_KIND] != G.PLAIN:
                part = G.next_part(a, x)  # a batch sends its parts one by one
                if part < 0:
                    wn = G.gather(a, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen,
                                  sconst, n, e_t, e_i, s_t, s_i, ht, hi, qbuf, qh, ql, pqs, pqp,
                                  pqh, pql, gq, gqh, gql, ut, uf, stx, op, opq, work, wn, x)
                    continue
                sender = a
                dest, carry = _route(uni[a, U_ST], pint[part, 0], n_prod, sta, rptr, rdest,
                                     rcum, rmode, rdly, ql, gql, pql, sbuf, spos, slen, sconst,
                                     n, x)
            elif act == A_TAKE:  # unit a is free: take the next part or wait for one
                u = a
                s = uni[u, U_ST]
                uni[u, U_PART] = -1
                if UT.stopped(ut, u):  # it takes a part once its stoppages are over
                    ut[u, UT.T_WAITUP] = 1
                    continue
                got = -1
                if sta[s, CAP] == 0:  # direct hand-over from the first blocked sender
                    if pql[s] > 0:
                        h = pqh[s]
                        snd, got = pqs[s, h], pqp[s, h]
                        pqh[s] = (h + 1) % pqs.shape[1]
                        pql[s] -= 1
                        wn = _admitted(snd, got, s, sta, work, wn)
                elif gql[s] > 0:  # others wait: the first of them is served (SimPy's get)
                    wn = ST.serve(s, now, sta, uni, s_t, s_i, n, qbuf, qh, ql, gq, gqh, gql, ut,
                                  stx, work, wn, x)
                else:  # the first part; its get, done next, admits a blocked sender
                    got, wn = ST.take(s, qbuf, qh, ql, work, wn)
                if got < 0:
                    _set(u, IDLE, now, uni, s_t, s_i, n)
                    gq[s, (gqh[s] + gql[s]) % gq.shape[1]] = u
                    gql[s] += 1
                    ut[u, UT.T_PHASE] = UT.PH_IDLE
                    DL.starving(s, x)
                else:
                    sta[s, HOLD] += 1
                    uni[u, U_PART] = got
                    wn = UT.took(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen,
                                 sconst, n, e_t, e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq,
                                 work, wn, x)
                continue
            elif act == UT.A_HOP:  # unit a is handed a part b events later (as in SimPy)
                work[wn, 0], work[wn, 1], work[wn, 2] = UT.A_HOP if b > 1 else UT.A_TOOK, a, b - 1
                wn += 1
                continue
            elif act == UT.A_TOOK:  # unit a was handed a part
                wn = UT.took(a, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen,
                             sconst, n, e_t, e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq,
                             work, wn, x)
                continue
            elif act >= UT.A_FIRST:  # unit time: stoppages over, an operator granted
                if act == UT.A_LEAVE:  # a stopped idle unit withdraws its request, b events on
                    if b > 1:
                        work[wn, 0], work[wn, 1], work[wn, 2] = UT.A_LEAVE, a, b - 1
                        wn += 1
                    elif UT.leave(a, ut, uni, gq, gqh, gql, n):  # its stop is over: it asks again
                        wi -= 1
                        work[wi, 0], work[wi, 1] = A_TAKE, a
                elif act == UT.A_CLOCKS:  # at t = 0, right after the unit (SimPy's order)
                    UT.clocks(a, cf, ut, uf, sbuf, spos, slen, sconst, ht, hi, n)
                else:
                    wn = UT.act(act, a, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos,
                                slen, sconst, n, e_t, e_i, s_t, s_i, ht, hi, ut, uf, stx, op,
                                opq, work, wn, x)
                continue
            elif act == A_CARRIED:  # a part carried along a route arrives: it is handed over
                part, dest, sender = TR.arrived(a, tr)
            elif act == A_OPEN:  # a source starts, at t = 0 in station order (SimPy's)
                wn = _open(a, now, sta, rel_i, rel_f, sbuf, spos, slen, sconst, ht, hi, n,
                           work, wn)
                continue
            elif act == A_LOTS:  # a release row due at once: its lot, as one event, now
                w0 = wn
                wn, end = _begin(EV_RELEASE, a, now, w0, sta, uni, ufl, fleft, gq, gqh, gql,
                                 sbuf, spos, slen, sconst, ht, hi, s_t, s_i, st_f, st_i, n,
                                 ut, uf, cf, op, opq, shc, shs, shf, work, rel_i, rel_f)
                if wn < 0:
                    return FAILED
                if end > w0:
                    _to_front(work, wi, w0, end)
                    bound = wi + end - w0
                continue
            else:  # A_ADMITTED: a blocked sender's put is done: it records the arrival
                # of its part (b: part * stations + station) and goes on, as SimPy's sender
                # does when its put event is processed (one event after it was taken in)
                got = b // sta.shape[0]  # (see _admitted)
                _event(now, got, pint[got, 0], b % sta.shape[0], ARRIVE, e_t, e_i, n)
                if a < -sta.shape[0]:  # a transport: its part is in
                    TR.entered(a, tr)
                elif a >= 0:
                    DL.unblocked(a, x)
                    sta[uni[a, U_ST], HOLD] -= 1
                    wi -= 1  # the sender goes straight on
                    work[wi, 0], work[wi, 1] = A_TAKE, a
                else:
                    s = -1 - a
                    sta[s, HOLD] -= 1
                    if sta[s, SMODE] == 0:  # infinite supply: the next part is ready
                        wi -= 1
                        work[wi, 0], work[wi, 1] = A_SUPPLY, s
                continue
            # hand ``part`` from ``sender`` (a unit, -1 - source, or a transport) over to
            # ``dest``, or send it on its way there (``carry``: the delay's stream)
            entered = True
            if carry >= 0:  # the sender goes straight on
                TR.send(part, dest, carry, now, sbuf, spos, slen, sconst, n, tr)
            elif sta[dest, KIND] == SINK:
                _event(now, part, pint[part, 0], dest, EXIT, e_t, e_i, n)
                _finish(part, now, GOOD, pint, pc, p_f, p_i, n)
            else:
                cap = sta[dest, CAP]
                q = x[2][dest, pint[part, 0]]  # its queue (an assembly has one per product)
                if cap == 0 and gql[q] > 0:  # a server waits for it: a direct hand-over
                    h = gqh[q]
                    v = gq[q, h]
                    gqh[q] = (h + 1) % gq.shape[1]
                    gql[q] -= 1
                    _event(now, part, pint[part, 0], dest, ARRIVE, e_t, e_i, n)
                    if x[0][dest, G.X_KIND] == G.PLAIN:
                        sta[dest, HOLD] += 1
                        uni[v, U_PART] = part
                        ut[v, UT.T_PHASE] = UT.PH_FREE  # no longer in the queue of idle units
                        hops = stx[dest, UT.X_HOPS]
                    else:  # a batch or assembly unit gathering parts
                        hops = G.handed(v, part, now, sta, uni, s_t, s_i, n, ut, stx, x)
                    recv = v  # it goes on once the sender has (as SimPy resumes it later)
                elif cap != 0 and pql[q] == 0 and (cap < 0 or ql[q] < cap):
                    qbuf[q, (qh[q] + ql[q]) % qbuf.shape[1]] = part
                    ql[q] += 1
                    if ql[q] > qbuf.shape[1] - n[N_MARGIN]:
                        n[FLAG_RING] = 1
                    _event(now, part, pint[part, 0], dest, ARRIVE, e_t, e_i, n)
                    # once the put is done, the first unit waiting then is served (also
                    # one that begins to wait in the meantime, as SimPy's _trigger_get)
                    work[wn, 0], work[wn, 1] = A_STORED, q
                    wn += 1
                else:  # full, or others wait: the sender holds the part, blocked
                    entered = False
                    k = (pqh[q] + pql[q]) % pqs.shape[1]
                    pqs[q, k], pqp[q, k] = sender, part
                    pql[q] += 1
                    if pql[q] > pqs.shape[1] - n[N_MARGIN]:
                        n[FLAG_RING] = 1
                    if cap != 0 and (cap < 0 or ql[q] < cap):
                        # a slot a get freed in this instant, its callback not yet run:
                        # SimPy's new put serves the line of waiting senders from its
                        # front at once (``_trigger_put``), so the first of them enters
                        wn = ST.freed(q, sta, n, qbuf, qh, ql, pqs, pqp, pqh, pql, work,
                                      wn, x)
            if sender >= 0:
                if entered:
                    sta[uni[sender, U_ST], HOLD] -= 1
                    wi -= 1  # the sender goes straight on (after a receiver's turn is queued)
                    work[wi, 0], work[wi, 1] = A_TAKE, sender
                else:
                    _set(sender, BLOCKED, now, uni, s_t, s_i, n)
                    DL.blocked(sender, dest, uni, x)
            elif sender < -sta.shape[0]:  # a transport (if full, it waits in line there)
                if entered:
                    TR.entered(sender, tr)
            else:
                s = -1 - sender
                if not entered:
                    sta[s, HOLD] += 1
                    DL.supply_blocked(s, dest, sta, x)
                elif act == A_SUPPLY:
                    wi -= 1
                    work[wi, 0], work[wi, 1] = A_SUPPLY, s
            if recv >= 0:  # the receiver goes on in its turn, as many events later as in SimPy
                work[wn, 0] = UT.A_HOP if hops > 1 else UT.A_TOOK
                work[wn, 1], work[wn, 2] = recv, hops - 1
                wn += 1


# unit time: stoppages, setups, operators, shifts; batch and assembly stations; the input
# buffers as SimPy's stores; deadlocks (imported last: they use this module)
from twin.simulation.compiled import deadlock as DL  # noqa: E402
from twin.simulation.compiled import gather as G  # noqa: E402
from twin.simulation.compiled import stores as ST  # noqa: E402
from twin.simulation.compiled import transit as TR  # noqa: E402
from twin.simulation.compiled import unit_time as UT  # noqa: E402
