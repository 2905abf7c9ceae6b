"""Unit time in the compiled loop: stoppages, setups, operators and shifts (Numba, cached).

The SimPy engine's rules (:mod:`twin.simulation.units`, :mod:`twin.simulation.stations`,
:mod:`twin.simulation.line`), kept draw for draw:

- A unit's shown state is its activity unless a stoppage is in force: ``off`` (outside the
  shifts) over ``maintenance`` over ``down``. A stoppage that begins while the unit works (a
  setup or a cycle) interrupts the work, which resumes where it stopped once no stoppage is
  left (preemptive resume); work the stoppage meets at its very end ends at once, ahead of
  the instant's queued events (SimPy's urgent interruption). Operating-time failures age
  only while producing. An idle unit that stops leaves the queue of idle servers two events
  later (SimPy's stop event, then the condition it waits on: a part put meanwhile is still
  handed to it) and joins it again at the stop's end (behind the others), but a batch on its
  timed wait (``max_wait``) stays in it, as SimPy's ``get | timeout`` does; a blocked unit
  keeps its place and hands its part over even while stopped.
- At t = 0 each unit's stoppage clocks start right after the unit (:func:`clocks`), in
  station order, as the SimPy engine starts its processes.
- Calendar-time failures and planned maintenance run on elapsed time, per unit, whatever
  the unit does; a maintenance stop is due every ``every`` from ``first``.
- A setup (its own stream ``(station, "setup")``) is done before a part of another product
  than the unit's last one; the first part needs none.
- Operator pools grant requests first come first served; at a shift end every operator is
  claimed ahead of the stations (one at work finishes the task first, as the SimPy engine's
  priority requests do) and all come back at the next shift start.

Everything lives in flat arrays made by :mod:`.lower` (columns below); the kernels here are
called from :func:`.loop.run_loop` and push follow-up actions onto its work list.
"""

from __future__ import annotations

import numpy as np

from twin.kernels.jit import flat_kernel
from twin.observation.recorder import MAINTENANCE, OFF, SETUP, WAITING
from twin.simulation.compiled import loop as L

# columns of ``ut`` (int, one row per unit)
# (T_LEAVE: an idle unit that stopped withdraws its request for a part a little later)
(T_OFF, T_MAINT, T_DOWN, T_PHASE, T_SKIP, T_WORKING, T_WAITUP, T_LAST, T_OP, T_ACTW,
 T_FOLLOWS, T_MSTREAM, T_LEAVE) = range(13)
UT_COLS = 13
# columns of ``uf`` (float, one row per unit): start of the current work step, next
# maintenance due, maintenance period [s]
F_T0, F_MDUE, F_MEVERY = range(3)
UF_COLS = 3
# unit phases: no part (idle in the queue of servers, blocked, or waiting to take one),
# waiting for an operator to set up, setting up, waiting for an operator to process,
# waiting for a stoppage to end before starting, processing, and a batch loading on a timed
# wait (in the queue of servers; a stoppage leaves it there, as SimPy's ``get | timeout``)
PH_FREE, PH_IDLE, PH_SETUPQ, PH_SETUP, PH_OPQ, PH_STARTWAIT, PH_CYCLE, PH_TIMED = range(8)
# columns of ``stx`` (int, one row per station): setup stream (-1: none), operator pool
# (-1: none), when the operator is needed, events a server waiting for a part resumes
# through in SimPy (the put unless the buffer has no slots, the get, the condition on the
# get or a stoppage if it may stop)
X_SETUP, X_POOL, X_DURING, X_HOPS = range(4)
STX_COLS = 4
DURING_SETUP, DURING_PROCESSING, DURING_BOTH = range(3)
# columns of ``cf`` (int, one row per calendar-time failure mode of a unit)
C_UNIT, C_TTF, C_TTR, C_MODE = range(4)
# columns of ``op`` (int, one row per operator pool): operators, in use (by stations or away),
# shift-end claims waiting, granted, whether the pool follows the calendar, head and length
# of its line of waiting units (ring ``opq``, one row per pool)
O_CAP, O_USED, O_AWAYP, O_AWAYG, O_FOLLOWS, O_QH, O_QL = range(7)
OP_COLS = 7
# heap events and work-list actions of this module (numbered apart from the loop's own)
EV_CALFAIL, EV_CALREP, EV_MAINT, EV_MAINTEND, EV_SHIFT, EV_BOOT = range(40, 46)
EV_FIRST = 40
A_RESUME, A_GRANT, A_TOOK, A_HOP, A_OPREL, A_LEAVE, A_CLOCKS = range(40, 47)
A_FIRST = 40
MAINT_MODE = -1
"""Mode index of a planned-maintenance stop in the stop records."""
WEEK = 7 * 86400.0


@flat_kernel
def stopped(ut, u):
    """Whether a stoppage is in force on unit ``u``."""
    return ut[u, T_OFF] + ut[u, T_MAINT] + ut[u, T_DOWN] > 0


@flat_kernel
def _show_stop(u, now, ut, uni, s_t, s_i, n):
    uni[u, L.U_DOWN] = (OFF if ut[u, T_OFF] > 0 else MAINTENANCE if ut[u, T_MAINT] > 0
                        else L.DOWN if ut[u, T_DOWN] > 0 else 0)
    L._set(u, -1, now, uni, s_t, s_i, n)


@flat_kernel
def hold(u, which, now, ut, uf, uni, ufl, fleft, gq, gqh, gql, s_t, s_i, n, work, wn):
    """Begin a stoppage (column ``which``: T_OFF, T_MAINT or T_DOWN) of unit ``u``. Returns
    the new length of the work list.

    As in SimPy (``Unit.hold``): an idle unit withdraws its request for a part two events
    later (the stop event, then the condition ``get | next_stop`` it waits on), so a part
    put before that is still handed to it (:func:`leave`, action A_LEAVE); work under way is
    interrupted at once, and work that ends at this very instant ends now, ahead of the
    instant's queued events (SimPy's urgent ``Interruption``: an A_WORK row with
    ``L.W_CUT``, which :func:`urgent_first` puts at the front)."""
    ut[u, which] += 1
    _show_stop(u, now, ut, uni, s_t, s_i, n)
    if ut[u, T_PHASE] == PH_IDLE:
        if ut[u, T_LEAVE] == 0:  # (a second stop in the meantime changes nothing)
            ut[u, T_LEAVE] = 1
            work[wn, 0], work[wn, 1], work[wn, 2] = A_LEAVE, u, 2
            wn += 1
    elif ut[u, T_WORKING] == 1:
        ut[u, T_WORKING] = 0
        done = now - uf[u, F_T0]
        ut[u, T_SKIP] += 1  # its pending end of step is void
        uni[u, L.U_DUE] = -1  # a failure due now strikes at the next step (Unit.work)
        if ufl[u, L.F_LEFT] - done <= 1e-9 * max(1.0, ufl[u, L.F_DURATION]):
            # a stoppage at the very end of the work: the work is done, as in Unit.work
            # (an interrupted step with no work left returns), and ends now
            work[wn, 0], work[wn, 1], work[wn, 2] = L.A_WORK, u, L.W_CUT
            return wn + 1
        if ut[u, T_ACTW] == L.PRODUCING:  # (clamped as Unit.work: rounding may overshoot)
            for f in range(uni[u, L.U_F0], uni[u, L.U_F0] + uni[u, L.U_NF]):
                fleft[f] = max(fleft[f] - done, 0.0)
        ufl[u, L.F_LEFT] -= done
        ut[u, T_WAITUP] = 1
    return wn


@flat_kernel
def leave(u, ut, uni, gq, gqh, gql, n):
    """The stopped idle unit ``u`` withdraws its request for a part (SimPy's ``_take``
    resumed by its stop): it leaves the queue of idle servers unless a part was handed to
    it meanwhile (it keeps the part and starts it once the stop is over). Returns whether
    it is to ask again at once (no stop left: SimPy's ``_take`` goes round again)."""
    ut[u, T_LEAVE] = 0
    if ut[u, T_PHASE] != PH_IDLE:
        return False
    s = uni[u, L.U_WQ]  # the queue it waits in (an assembly has one per component)
    w = gq.shape[1]
    k = 0
    while k < gql[s] and gq[s, (gqh[s] + k) % w] != u:
        k += 1
    if k == gql[s]:  # not in its queue: the loop's state is inconsistent
        n[L.FLAG_ERR] = 4
        return False
    for j in range(k, gql[s] - 1):
        gq[s, (gqh[s] + j) % w] = gq[s, (gqh[s] + j + 1) % w]
    gql[s] -= 1
    ut[u, T_PHASE] = PH_FREE
    if stopped(ut, u):
        ut[u, T_WAITUP] = 1
        return False
    return True


@flat_kernel
def urgent_first(work, w0, wn):
    """Move the urgent rows among ``work[w0:wn]`` (work ended by a stoppage at its very
    end, :func:`hold`) to the front, keeping the order within each kind; returns the end of
    the urgent rows."""
    k = w0
    for r in range(w0, wn):
        if work[r, 0] == L.A_WORK and work[r, 2] == L.W_CUT:
            if r > k:
                L._to_front(work, k, r, r + 1)
            k += 1
    return k


@flat_kernel
def release(u, which, now, ut, uni, s_t, s_i, n, work, wn):
    """End one stoppage of unit ``u``; a unit waiting for the end of its stoppages goes on
    (pushed onto the work list). Returns the new length of the work list."""
    ut[u, which] -= 1
    _show_stop(u, now, ut, uni, s_t, s_i, n)
    if ut[u, T_WAITUP] == 1 and not stopped(ut, u):
        ut[u, T_WAITUP] = 0
        work[wn, 0], work[wn, 1] = (L.A_TAKE if ut[u, T_PHASE] == PH_FREE else A_RESUME), u
        wn += 1
    return wn


@flat_kernel(inline=True)
def work_step(u, now, ut, uf, uni, ufl, fleft, ht, hi, n, s_t, s_i):
    """Unit ``u`` works (its activity ``T_ACTW``) on: the rest of the work, or up to the first
    operating-time failure due before it ends (producing only); waits if stopped."""
    if stopped(ut, u):
        ut[u, T_WAITUP] = 1
        return
    L._set(u, ut[u, T_ACTW], now, uni, s_t, s_i, n)
    step = ufl[u, L.F_LEFT]
    due = -1
    if ut[u, T_ACTW] == L.PRODUCING:
        for f in range(uni[u, L.U_F0], uni[u, L.U_F0] + uni[u, L.U_NF]):
            if fleft[f] < step:
                step = fleft[f]
                due = f
    uni[u, L.U_DUE] = due
    ufl[u, L.F_STEP] = step
    uf[u, F_T0] = now
    ut[u, T_WORKING] = 1
    if step == 0.0 and n[L.N_ZERO] == 0:  # (a failure due now): the loop queues its end
        n[L.N_ZERO] = u + 1  # behind the zero-delay events queued so far, as SimPy does
    else:
        L._heap_push(ht, hi, n, now + step, L.EV_WORK, u)


@flat_kernel(inline=True)
def _work(u, duration, activity, now, ut, uf, uni, ufl, fleft, ht, hi, n, s_t, s_i):
    ut[u, T_ACTW] = activity
    ufl[u, L.F_LEFT] = duration
    ufl[u, L.F_DURATION] = duration
    work_step(u, now, ut, uf, uni, ufl, fleft, ht, hi, n, s_t, s_i)


@flat_kernel
def _request(u, p, op, opq, ut, work, wn):
    """Unit ``u`` asks pool ``p`` for an operator (behind shift-end claims and earlier
    requests); the head of the line gets one if one is free (SimPy checks only the head).
    Returns whether ``u`` has one now, and the new length of the work list."""
    w = opq.shape[1]
    opq[p, (op[p, O_QH] + op[p, O_QL]) % w] = u
    op[p, O_QL] += 1
    if op[p, O_AWAYP] == 0 and op[p, O_QL] == 1 and op[p, O_USED] < op[p, O_CAP]:
        op[p, O_QH] = (op[p, O_QH] + 1) % w
        op[p, O_QL] = 0
        op[p, O_USED] += 1
        ut[u, T_OP] = 1
        return True, wn
    return False, _trigger(p, op, opq, ut, work, wn)


@flat_kernel
def _trigger(p, op, opq, ut, work, wn):
    """If an operator of pool ``p`` is free, the head of its line gets it: a shift-end
    claim, or a unit (it goes on in its turn). Returns the new length of the work list."""
    if op[p, O_USED] >= op[p, O_CAP]:
        return wn
    if op[p, O_AWAYP] > 0:
        op[p, O_AWAYP] -= 1
        op[p, O_AWAYG] += 1
        op[p, O_USED] += 1
    elif op[p, O_QL] > 0:
        h = op[p, O_QH]
        v = opq[p, h]
        op[p, O_QH] = (h + 1) % opq.shape[1]
        op[p, O_QL] -= 1
        op[p, O_USED] += 1
        ut[v, T_OP] = 1
        work[wn, 0], work[wn, 1] = A_GRANT, v
        wn += 1
    return wn


@flat_kernel
def _let_go(p, op, work, wn):
    """An operator of pool ``p`` is released now; who gets it is decided in turn (SimPy's
    release event). Returns the new length of the work list."""
    op[p, O_USED] -= 1
    work[wn, 0], work[wn, 1] = A_OPREL, p
    return wn + 1


@flat_kernel(inline=True)
def took(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t, e_i,
         s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x):
    """Unit ``u`` took its part (``U_PART``, counted in the station's ``HOLD``): set up if
    the product changed (with an operator if the station needs one then), get an operator
    for processing if needed, start the cycle. Returns the new length of the work list.

    Small, so that the compiler inlines it: a station without setups and operators starts
    the cycle with one call (a call passes every array, which costs more than the work)."""
    s = uni[u, L.U_ST]
    if stx[s, X_SETUP] < 0 and stx[s, X_POOL] < 0:
        ut[u, T_LAST] = pint[uni[u, L.U_PART], 0]
        _start_cycle(u, now, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t,
                     e_i, s_t, s_i, ht, hi, ut, uf, x)
        return wn
    return _took_setup(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst,
                       n, e_t, e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x)


@flat_kernel
def _took_setup(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t,
                e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x):
    """:func:`took` at a station with setups or an operator pool."""
    s = uni[u, L.U_ST]
    prod = pint[uni[u, L.U_PART], 0]
    if stx[s, X_SETUP] >= 0 and ut[u, T_LAST] >= 0 and ut[u, T_LAST] != prod:
        if stx[s, X_POOL] >= 0 and stx[s, X_DURING] != DURING_PROCESSING:
            got, wn = _request(u, stx[s, X_POOL], op, opq, ut, work, wn)
            if not got:
                ut[u, T_PHASE] = PH_SETUPQ
                L._set(u, WAITING, now, uni, s_t, s_i, n)
                return wn
        _setup(u, now, sbuf, spos, slen, sconst, n, uni, ufl, fleft, ht, hi, s_t, s_i,
               ut, uf, stx)
        return wn
    return _after_setup(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst,
                        n, e_t, e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x)


@flat_kernel
def _setup(u, now, sbuf, spos, slen, sconst, n, uni, ufl, fleft, ht, hi, s_t, s_i, ut, uf,
           stx):
    ut[u, T_PHASE] = PH_SETUP
    d = L._draw(stx[uni[u, L.U_ST], X_SETUP], sbuf, spos, slen, sconst, n)
    _work(u, d, SETUP, now, ut, uf, uni, ufl, fleft, ht, hi, n, s_t, s_i)


@flat_kernel
def _after_setup(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n,
                 e_t, e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x):
    s = uni[u, L.U_ST]
    part = uni[u, L.U_PART]
    ut[u, T_LAST] = pint[part, 0]
    if stx[s, X_POOL] >= 0 and stx[s, X_DURING] != DURING_SETUP and ut[u, T_OP] == 0:
        got, wn = _request(u, stx[s, X_POOL], op, opq, ut, work, wn)
        if not got:
            ut[u, T_PHASE] = PH_OPQ
            L._set(u, WAITING, now, uni, s_t, s_i, n)
            return wn
    _start_cycle(u, now, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t,
                 e_i, s_t, s_i, ht, hi, ut, uf, x)
    return wn


@flat_kernel(inline=True)
def _start_cycle(u, now, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t,
                 e_i, s_t, s_i, ht, hi, ut, uf, x):
    """START the cycle (after any stoppage in force is over; a batch: of every part it
    holds) and draw its length (that of the first part's product)."""
    if stopped(ut, u):
        ut[u, T_PHASE] = PH_STARTWAIT
        ut[u, T_WAITUP] = 1
        return
    s = uni[u, L.U_ST]
    part = uni[u, L.U_PART]
    prod = pint[part, 0]
    if x[0][s, G.X_KIND] == G.BATCH:
        G.started(u, s, now, pint, e_t, e_i, n, x)
    else:
        L._event(now, part, prod, s, L.START, e_t, e_i, n)
    duration = L._draw(cycle[s, prod], sbuf, spos, slen, sconst, n)
    ut[u, T_PHASE] = PH_CYCLE
    _work(u, duration, L.PRODUCING, now, ut, uf, uni, ufl, fleft, ht, hi, n, s_t, s_i)


@flat_kernel
def act(kind, u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t,
        e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x):
    """A work-list action of this module on unit ``u``: its stoppages ended (A_RESUME), it
    was granted an operator (A_GRANT), or its setup ended (EV_WORK); or pool ``u`` released
    an operator (A_OPREL). (The loop itself handles a unit handed a part, A_TOOK and A_HOP,
    with :func:`took`.) Returns the new length of the work list."""
    if kind == A_OPREL:
        return _trigger(u, op, opq, ut, work, wn)
    ph = ut[u, T_PHASE]
    if kind == A_RESUME:
        if ph == PH_STARTWAIT:
            _start_cycle(u, now, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n,
                         e_t, e_i, s_t, s_i, ht, hi, ut, uf, x)
        else:  # setting up or processing: the work resumes
            work_step(u, now, ut, uf, uni, ufl, fleft, ht, hi, n, s_t, s_i)
    elif kind == A_GRANT:
        if ph == PH_SETUPQ:
            _setup(u, now, sbuf, spos, slen, sconst, n, uni, ufl, fleft, ht, hi, s_t, s_i,
                   ut, uf, stx)
        else:
            _start_cycle(u, now, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n,
                         e_t, e_i, s_t, s_i, ht, hi, ut, uf, x)
    else:  # the setup is over: an operator needed for the setup only goes back
        s = uni[u, L.U_ST]
        if ut[u, T_OP] == 1 and stx[s, X_DURING] == DURING_SETUP:
            ut[u, T_OP] = 0
            wn = _let_go(stx[s, X_POOL], op, work, wn)
        wn = _after_setup(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst,
                          n, e_t, e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x)
    return wn


@flat_kernel(inline=True)
def cycle_over(u, ut, stx, uni, op, opq, work, wn):
    """Unit ``u``'s cycle ended: its operator (if any) goes back. Returns the new length of
    the work list."""
    ut[u, T_PHASE] = PH_FREE
    if ut[u, T_OP] == 1:
        ut[u, T_OP] = 0
        wn = _let_go(stx[uni[u, L.U_ST], X_POOL], op, work, wn)
    return wn


@flat_kernel
def _shift_change(on, now, ut, uf, uni, ufl, fleft, gq, gqh, gql, s_t, s_i, n, op, opq,
                  work, wn):
    """A shift starts (``on``) or ends: first for the units that follow the calendar, then
    for the operator pools that do (the order of the SimPy engine's shift processes).
    Returns the new length of the work list."""
    for u in range(ut.shape[0]):
        if ut[u, T_FOLLOWS] == 1:
            if on:
                wn = release(u, T_OFF, now, ut, uni, s_t, s_i, n, work, wn)
            else:
                wn = hold(u, T_OFF, now, ut, uf, uni, ufl, fleft, gq, gqh, gql, s_t, s_i, n,
                          work, wn)
    for p in range(op.shape[0]):
        if op[p, O_FOLLOWS] == 0:
            continue
        if on:  # claims still waiting are withdrawn; the operators claimed are released
            op[p, O_AWAYP] = 0
            for _ in range(op[p, O_AWAYG]):
                wn = _let_go(p, op, work, wn)
            op[p, O_AWAYG] = 0
        else:  # every operator is claimed, ahead of the stations' requests
            for _ in range(op[p, O_CAP]):
                op[p, O_AWAYP] += 1
                wn = _trigger(p, op, opq, ut, work, wn)
    return wn


@flat_kernel
def timed(kind, who, now, sta, uni, ufl, fleft, gq, gqh, gql, sbuf, spos, slen, sconst, ht, hi,
          s_t, s_i, st_f, st_i, n, ut, uf, cf, op, opq, shc, shs, shf, work, wn):
    """A heap event of this module: a calendar-time failure or its repair (``cf`` row
    ``who``), a maintenance stop or its end (unit ``who``), a shift change (``shs``: the
    next change, working now; ``shf[0]``: the start of its week [s]), or the start at t = 0
    (SimPy's processes in station order: a source starts, an infinite supply filling what
    it can; each unit asks for its first part, then its stoppage clocks start). What it
    sets going is queued after ``wn`` rows of the work list, each as an event of its own
    (work a stoppage ends at its very end among them, which :func:`urgent_first` then puts
    first); returns the new length of the work list."""
    if kind == EV_BOOT:
        for s in range(sta.shape[0]):
            if sta[s, L.KIND] == L.SOURCE:
                work[wn, 0], work[wn, 1] = (L.A_SUPPLY if sta[s, L.SMODE] == 0 else L.A_OPEN), s
                wn += 1
            elif sta[s, L.KIND] == L.EQUIP:
                for u in range(sta[s, L.U0], sta[s, L.U0] + sta[s, L.NU]):
                    work[wn, 0], work[wn, 1] = L.A_TAKE, u
                    work[wn + 1, 0], work[wn + 1, 1] = A_CLOCKS, u
                    wn += 2
    elif kind == EV_CALFAIL:
        u = cf[who, C_UNIT]
        ttr = L._draw(cf[who, C_TTR], sbuf, spos, slen, sconst, n)
        _stop_record(now, ttr, u, cf[who, C_MODE], st_f, st_i, n)
        wn = hold(u, T_DOWN, now, ut, uf, uni, ufl, fleft, gq, gqh, gql, s_t, s_i, n, work, wn)
        L._heap_push(ht, hi, n, now + ttr, EV_CALREP, who)
    elif kind == EV_CALREP:
        wn = release(cf[who, C_UNIT], T_DOWN, now, ut, uni, s_t, s_i, n, work, wn)
        L._heap_push(ht, hi, n, now + L._draw(cf[who, C_TTF], sbuf, spos, slen, sconst, n),
                     EV_CALFAIL, who)
    elif kind == EV_MAINT:
        length = L._draw(ut[who, T_MSTREAM], sbuf, spos, slen, sconst, n)
        _stop_record(now, length, who, MAINT_MODE, st_f, st_i, n)
        wn = hold(who, T_MAINT, now, ut, uf, uni, ufl, fleft, gq, gqh, gql, s_t, s_i, n, work,
                  wn)
        L._heap_push(ht, hi, n, now + length, EV_MAINTEND, who)
    elif kind == EV_MAINTEND:
        wn = release(who, T_MAINT, now, ut, uni, s_t, s_i, n, work, wn)
        uf[who, F_MDUE] += uf[who, F_MEVERY]
        L._heap_push(ht, hi, n, now + max(0.0, uf[who, F_MDUE] - now), EV_MAINT, who)
    else:  # EV_SHIFT: change ``shs[0]`` of the week starting at ``shf[0]``
        i = shs[0]
        on = shc[i, 1] > 0.5
        if on != (shs[1] == 1):
            wn = _shift_change(on, now, ut, uf, uni, ufl, fleft, gq, gqh, gql, s_t, s_i, n,
                               op, opq, work, wn)
        shs[1] = 1 if on else 0
        i += 1
        if i == shc.shape[0]:
            i = 0
            shf[0] += WEEK
        shs[0] = i
        L._heap_push(ht, hi, n, now + (shf[0] + shc[i, 0] - now), EV_SHIFT, 0)
    return wn


@flat_kernel
def _stop_record(now, duration, u, mode, st_f, st_i, n):
    k = n[L.N_STOP]
    st_f[k, 0], st_f[k, 1] = now, duration
    st_i[k, 0], st_i[k, 1] = u, mode
    n[L.N_STOP] = k + 1


@flat_kernel
def clocks(u, cf, ut, uf, sbuf, spos, slen, sconst, ht, hi, n):
    """Unit ``u``'s stoppage clocks start (at t = 0, right after the unit, as the SimPy
    engine starts its processes): each calendar-time failure and the first maintenance stop
    are scheduled."""
    for r in range(cf.shape[0]):
        if cf[r, C_UNIT] == u:
            L._heap_push(ht, hi, n, L._draw(cf[r, C_TTF], sbuf, spos, slen, sconst, n),
                         EV_CALFAIL, r)
    if ut[u, T_MSTREAM] >= 0:
        L._heap_push(ht, hi, n, max(0.0, uf[u, F_MDUE]), EV_MAINT, u)


def start(a: dict[str, np.ndarray]) -> None:
    """The t = 0 situation of unit time, before the first event: units off if the week
    starts outside a shift, and the shift clock (the SimPy engine starts its shift processes
    before the stations; the units' stoppage clocks start with them, :func:`clocks`)."""
    n, ut, ht, hi = a["n"], a["ut"], a["ht"], a["hi"]
    shc, shs = a["shc"], a["shs"]
    if shs[0] >= 0:  # shifts
        if shs[1] == 0:  # not working at t = 0
            _shift_change(False, 0.0, ut, a["uf"], a["uni"], a["ufl"], a["fleft"], a["gq"],
                          a["gqh"], a["gql"], a["s_t"], a["s_i"], n, a["op"], a["opq"],
                          a["work"], 0)
        L._heap_push(ht, hi, n, float(shc[0, 0]), EV_SHIFT, 0)


# batch stations start every part they hold (imported last: it uses this module)
from twin.simulation.compiled import gather as G  # noqa: E402
