"""Batch and assembly stations on the compiled loop.

A *gathering* unit takes several parts before a cycle: a batch station loads up to
``batch_size`` parts (:class:`twin.simulation.stations.BatchNode`), an assembly station a base
part and then its components, each from its own queue (``AssemblyNode``). Their parts are
held in ``held`` (one row per unit); ``ux``/``uxf`` keep where each unit is.

The semantics are the SimPy engine's; their queues are SimPy's stores to the event
(:mod:`.stores`), so a batch that starts on the parts in its buffer does not also take the
parts that enter it at that instant, and a unit handed a part resumes as SimPy's process
does (a batch waiting on ``get | timeout``: one event more, the condition).

A unit holding a part for a full station notes it in ``ux`` (``UX_BLK``) for the deadlock
detector (:mod:`.deadlock`), which also reads where the units wait.
"""

from __future__ import annotations

from twin.kernels.jit import flat_kernel
from twin.simulation.compiled import deadlock as DL
from twin.simulation.compiled import loop as L
from twin.simulation.compiled import stores as ST
from twin.simulation.compiled import unit_time as UT

# kinds of equipment (column X_KIND of ``stx``)
PLAIN, BATCH, ASSEMBLY = 0, 1, 2
# columns of ``gst`` (int, one row per station): kind, batch size, least batch, first row
# and number of rows of the station's component queues in ``aseq``, output product (-1: the
# base part's), first extra queue and number of extra queues
X_KIND, X_BSIZE, X_BMIN, X_ASM0, X_ASMN, X_OUT, X_Q0, X_QN = range(8)
X_COLS = 8
# columns of ``ux`` (int, one row per unit): phase, parts held, next part to send, the station
# it is blocked on (-1: none), timers of timed waits still pending (the last is the wait's),
# whether its pending hand-over resumes nothing (it resumed at its timer)
UX_PH, UX_N, UX_SENT, UX_BLK, UX_TIMERS, UX_SKIP = range(6)
UX_COLS = 6
# columns of ``uxf`` (float, one row per unit): first part loaded [s], end of the timed wait
UF_FIRST, UF_DUE = range(2)
# phases of a gathering unit (HANDED: handed a part on its timed wait, it resumes at the
# first of its condition's events: the timer's, or the get's)
GATHER, TIMED, WORKING, SENDING, HANDED = range(5)


@flat_kernel
def _pop(q, sta, qst, qbuf, qh, ql, pqs, pqp, pqh, pql, work, wn):
    """A gathering unit takes the next part of queue ``q`` (-1: none); returns (part, wn)."""
    s = qst[q]
    if sta[s, L.CAP] == 0:  # direct hand-over from the first blocked sender
        if pql[q] == 0:
            return -1, wn
        h = pqh[q]
        snd, got = pqs[q, h], pqp[q, h]
        pqh[q] = (h + 1) % pqs.shape[1]
        pql[q] -= 1
        return got, L._admitted(snd, got, s, sta, work, wn)
    return ST.take(q, qbuf, qh, ql, work, wn)


@flat_kernel
def _wait(u, q, now, uni, gq, gqh, gql, s_t, s_i, n, ut, timed):
    """Unit ``u`` waits for a part of queue ``q``: shown idle from now on, and taken out of
    the queue by a stoppage (SimPy's ``get | next_stop``); or, a batch on its timed wait
    (``timed``), already idle (loading) and left in the queue by a stoppage (SimPy's
    ``get | timeout`` does not watch stoppages)."""
    if not timed:
        L._set(u, L.IDLE, now, uni, s_t, s_i, n)
    gq[q, (gqh[q] + gql[q]) % gq.shape[1]] = u
    gql[q] += 1
    uni[u, L.U_WQ] = q  # where a stoppage finds it (unit_time.hold)
    ut[u, UT.T_PHASE] = UT.PH_TIMED if timed else UT.PH_IDLE


@flat_kernel
def _held_up(u, ut, x):
    """Before a take (SimPy's ``_take``): whether a stoppage is in force on gathering unit
    ``u``; if so it takes the part once the stoppages are over (``unit_time.release``)."""
    if not UT.stopped(ut, u):
        return False
    x[5][u, UX_PH] = GATHER
    ut[u, UT.T_PHASE] = UT.PH_FREE
    ut[u, UT.T_WAITUP] = 1
    return True


@flat_kernel
def _begin(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t, e_i,
           s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x):
    """Unit ``u`` starts the cycle of the parts it holds as a machine does
    (:func:`.unit_time.took`, SimPy's ``_operate``): it sets up if the first part's product
    changed, asks for its operator, waits for the end of a stoppage in force, then starts
    (an assembly: the base part; a batch: every part, :func:`started`) with the cycle time
    of the first part's product. Returns the new length of the work list."""
    uni[u, L.U_PART] = x[7][u, 0]
    x[5][u, UX_PH] = WORKING
    return UT.took(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n,
                   e_t, e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x)


@flat_kernel
def started(u, s, now, pint, e_t, e_i, n, x):
    """Batch unit ``u`` of station ``s`` starts its cycle: a START of every part it holds."""
    held = x[7]
    for i in range(x[5][u, UX_N]):
        p = held[u, i]
        L._event(now, p, pint[p, 0], s, L.START, e_t, e_i, n)


@flat_kernel
def gather(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t, e_i,
           s_t, s_i, ht, hi, qbuf, qh, ql, pqs, pqp, pqh, pql, gq, gqh, gql, ut, uf, stx, op,
           opq, work, wn, x):
    """Gathering unit ``u`` takes what it can; it starts its cycle once it has what it needs,
    else waits for the next part (a batch with ``max_wait``: until the wait is over), or
    for the end of a stoppage before it takes the next. Returns the new length of the work
    list.

    As in SimPy, every take is a ``_take`` (after any stoppage in force; a stoppage while
    it waits withdraws the request) except a batch's timed wait, ``get | timeout``, which
    neither waits for the end of a stoppage nor is withdrawn by one: a batch may be handed a
    part, or its wait may end, while it is stopped. Once it has what it needs it starts
    through :func:`_begin`, which waits for the stoppage to end."""
    gst, gwait, qof, qst, aseq, ux, uxf, held, xn = x
    s = uni[u, L.U_ST]
    cap = sta[s, L.CAP]
    while True:
        k = ux[u, UX_N]
        if wn + 8 > work.shape[0]:
            n[L.FLAG_ERR] = 2
            return wn
        timed = False
        if gst[s, X_KIND] == ASSEMBLY:
            if k > gst[s, X_ASMN]:
                break
            if _held_up(u, ut, x):
                return wn
            q = s if k == 0 else aseq[gst[s, X_ASM0] + k - 1]
            p = -1
            if gql[q] > 0:  # others wait first: the first of them is served (SimPy's get)
                wn = ST.serve(q, now, sta, uni, s_t, s_i, n, qbuf, qh, ql, gq, gqh, gql, ut,
                              stx, work, wn, x)
            else:
                p, wn = _pop(q, sta, qst, qbuf, qh, ql, pqs, pqp, pqh, pql, work, wn)
        else:  # a batch (BatchNode._serve)
            if k >= gst[s, X_BSIZE]:
                break
            q = s
            wait = gwait[s]
            if k > 0 and cap != 0 and ql[s] > 0:  # parts wait in the buffer: _take
                if _held_up(u, ut, x):
                    return wn
            elif k > 0 and wait >= 0.0 and k >= gst[s, X_BMIN]:  # get | timeout
                if uxf[u, UF_FIRST] + wait - now <= 0.0:
                    break
                timed = True
            elif _held_up(u, ut, x):  # _take
                return wn
            p, wn = _pop(s, sta, qst, qbuf, qh, ql, pqs, pqp, pqh, pql, work, wn)
            if timed and p >= 0:
                # no buffer: a blocked sender hands the part over at once, and the unit
                # goes on through the get and the condition (two events, as in SimPy)
                _got(u, p, now, sta, uni, s_t, s_i, n, x)
                ut[u, UT.T_PHASE] = UT.PH_FREE
                work[wn, 0], work[wn, 1], work[wn, 2] = UT.A_HOP, u, 1
                return wn + 1
        if p < 0:
            if timed:  # wait for a part, or until the first has waited max_wait
                ux[u, UX_PH] = TIMED
                due = now + (uxf[u, UF_FIRST] + gwait[s] - now)
                uxf[u, UF_DUE] = due
                L._heap_push(ht, hi, n, due, L.EV_DUE, u)
                ux[u, UX_TIMERS] += 1
            else:
                ux[u, UX_PH] = GATHER
                DL.starving(s, x)
            _wait(u, q, now, uni, gq, gqh, gql, s_t, s_i, n, ut, timed)
            return wn
        _got(u, p, now, sta, uni, s_t, s_i, n, x)
    return _begin(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t,
                  e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x)


@flat_kernel
def _got(u, part, now, sta, uni, s_t, s_i, n, x):
    """Gathering unit ``u`` takes ``part`` (counted in the station's ``HOLD``)."""
    gst, gwait, qof, qst, aseq, ux, uxf, held, xn = x
    s = uni[u, L.U_ST]
    k = ux[u, UX_N]
    held[u, k] = part
    ux[u, UX_N] = k + 1
    ux[u, UX_PH] = GATHER
    sta[s, L.HOLD] += 1
    if k == 0 and gst[s, X_KIND] == BATCH:  # loading (idle) from the first part on
        L._set(u, L.IDLE, now, uni, s_t, s_i, n)
        uxf[u, UF_FIRST] = now


@flat_kernel
def handed(u, part, now, sta, uni, s_t, s_i, n, ut, stx, x):
    """Gathering unit ``u``, waiting for a part, is handed ``part``; it goes on gathering
    (work-list action ``unit_time.A_TOOK``) in its turn. Returns the events SimPy passes
    through from the put until the unit resumes: those of a machine (``X_HOPS``), or for a
    batch waiting on ``get | timeout`` the put, the get and the condition."""
    s = uni[u, L.U_ST]
    hops = stx[s, UT.X_HOPS]
    timed = x[5][u, UX_PH] == TIMED
    if timed:
        hops = 2 + (sta[s, L.CAP] != 0)
    ut[u, UT.T_PHASE] = UT.PH_FREE  # no longer in the queue of waiting units
    _got(u, part, now, sta, uni, s_t, s_i, n, x)
    if timed:
        x[5][u, UX_PH] = HANDED
    return hops


@flat_kernel
def due(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t, e_i,
        s_t, s_i, ht, hi, gql, ut, uf, stx, op, opq, work, wn, x):
    """The timed wait of batch unit ``u`` may be over (its timer's condition): start the
    batch on what it holds. Returns the new length of the work list, and whether the unit,
    handed a part on this wait, goes on gathering now (SimPy resumes it at this condition,
    ahead of its get's own events; the loop then calls :func:`gather`)."""
    gst, gwait, qof, qst, aseq, ux, uxf, held, xn = x
    ux[u, UX_TIMERS] -= 1
    if ux[u, UX_TIMERS] > 0:  # the timer of an earlier wait (a part came first): SimPy's
        return wn, False  # timeout fires, but the condition it was in is done
    if ux[u, UX_PH] == HANDED and uxf[u, UF_DUE] == now:
        ux[u, UX_PH] = GATHER
        ux[u, UX_SKIP] = 1  # its pending hand-over resumes nothing
        return wn, True
    if ux[u, UX_PH] != TIMED or uxf[u, UF_DUE] != now or ut[u, UT.T_PHASE] != UT.PH_TIMED:
        return wn, False  # a part came first
    gql[uni[u, L.U_ST]] -= 1  # its request is withdrawn (a batch station has one server)
    ut[u, UT.T_PHASE] = UT.PH_FREE
    return _begin(u, now, sta, uni, ufl, fleft, cycle, pint, sbuf, spos, slen, sconst, n, e_t,
                  e_i, s_t, s_i, ht, hi, ut, uf, stx, op, opq, work, wn, x), False


@flat_kernel(inline=True)
def ended(u, now, sta, uni, pint, pc, e_t, e_i, p_f, p_i, n, x):
    """Unit ``u``'s cycle is over: record the end (a batch: of every part; an assembly: the
    components are consumed, the base part becomes the output product). Returns the part to
    send on first.

    Small, so that the compiler inlines it: a plain machine records its end without a call
    (a call passes every array, which costs more than the work)."""
    s = uni[u, L.U_ST]
    part = uni[u, L.U_PART]
    if x[0][s, X_KIND] == PLAIN:
        L._event(now, part, pint[part, 0], s, L.END, e_t, e_i, n)
        return part
    return _ended(u, s, part, now, sta, pint, pc, e_t, e_i, p_f, p_i, n, x)


@flat_kernel
def _ended(u, s, part, now, sta, pint, pc, e_t, e_i, p_f, p_i, n, x):
    """:func:`ended` at a batch or assembly station."""
    gst, gwait, qof, qst, aseq, ux, uxf, held, xn = x
    kind = gst[s, X_KIND]
    ux[u, UX_PH] = SENDING
    ux[u, UX_SENT] = 1
    if kind == BATCH:
        for i in range(ux[u, UX_N]):
            p = held[u, i]
            L._event(now, p, pint[p, 0], s, L.END, e_t, e_i, n)
        return part
    L._event(now, part, pint[part, 0], s, L.END, e_t, e_i, n)
    for i in range(1, ux[u, UX_N]):
        c = held[u, i]
        L._event(now, c, pint[c, 0], s, L.CONSUMED, e_t, e_i, n)
        L._finish(c, now, L.ASSEMBLED, pint, pc, p_f, p_i, n)
    sta[s, L.HOLD] -= ux[u, UX_N] - 1
    ux[u, UX_N] = 1
    if gst[s, X_OUT] >= 0:
        pint[part, 0] = gst[s, X_OUT]
    return part


@flat_kernel
def next_part(u, x):
    """The next part gathering unit ``u`` sends on; -1 once it has sent all (it gathers
    anew) or while it gathers."""
    gst, gwait, qof, qst, aseq, ux, uxf, held, xn = x
    if ux[u, UX_PH] != SENDING:
        return -1
    if ux[u, UX_SENT] < ux[u, UX_N]:
        i = ux[u, UX_SENT]
        ux[u, UX_SENT] = i + 1
        return held[u, i]
    ux[u, UX_PH] = GATHER
    ux[u, UX_N] = 0
    ux[u, UX_SENT] = 0
    return -1
