"""The stations' input buffers on the compiled loop, as SimPy's stores (Numba, cached).

In a ``simpy.Store`` a put or a get takes effect at once (the part enters, or leaves), but
the store's own callbacks run when that event is processed, one event later in the same
instant; the compiled loop keeps both steps (work-list actions of :mod:`.loop`):

- a put that finds room enters the queue even when a unit waits there; when the put is done
  (``A_STORED``, after every put: SimPy's ``_trigger_get``) the first unit waiting then
  takes the first part, so the part holds its slot until then and a second part sent at
  that instant may find the queue full and wait (as an infinite supply or a batch sending
  its parts does), and a unit that began to wait after the put is served by it too;
- a put that finds room while senders wait there waits behind them, and the first of them
  enters at once (SimPy's new put serves the line of puts from its front);
- a get frees its slot for the first blocked sender only when it is done (``A_FREED``:
  SimPy's ``_trigger_put``, one sender per get), so a unit that takes a part from a full
  queue does not make room at once for the next unit's get;
- a new get that finds parts while other units wait serves the first of them.

A buffer with no slots (``buffer = 0``) hands a part straight to a waiting unit, as
:class:`twin.simulation.stations.HandOver` does.
"""

from __future__ import annotations

from twin.kernels.jit import flat_kernel
from twin.simulation.compiled import loop as L
from twin.simulation.compiled import unit_time as UT


@flat_kernel
def first(q, qbuf, qh, ql):
    """Take the first part out of queue ``q`` (not empty)."""
    h = qh[q]
    qh[q] = (h + 1) % qbuf.shape[1]
    ql[q] -= 1
    return qbuf[q, h]


@flat_kernel
def take(q, qbuf, qh, ql, work, wn):
    """A unit takes the first part of queue ``q`` (-1: none); its get is done one event
    later (``A_FREED``). Returns the part and the new length of the work list."""
    if ql[q] == 0:
        return -1, wn
    part = first(q, qbuf, qh, ql)
    work[wn, 0], work[wn, 1], work[wn, 2] = L.A_FREED, q, 1
    return part, wn + 1


@flat_kernel
def settle(cap, items, gets, puts):
    """A queue of ``cap`` slots (-1: unlimited) with ``items`` parts, ``gets`` units waiting
    and ``puts`` senders blocked, once the hand-overs already decided at this instant are
    done: (parts in it, parts given to waiting units, puts still waiting), as
    :func:`twin.simulation.stations.settle` counts them."""
    given = 0
    while True:
        taken = min(items, gets)
        items -= taken
        gets -= taken
        given += taken
        added = puts if cap < 0 else min(puts, cap - items)
        items += added
        puts -= added
        if not (gets > 0 and items > 0):
            return items, given, puts


@flat_kernel
def room(cap, items, gets, puts):
    """Whether a part put now into a queue (see :func:`settle`) enters at this instant."""
    return settle(cap, items, gets, puts + 1)[2] == 0


@flat_kernel
def load(d, sta, ql, gql, pql, gst):
    """Parts in equipment station ``d``: in its queues (an assembly's component queues too)
    and given to its units once this instant's decided hand-overs are done, and held by its
    units (``EquipmentNode.load``: least-loaded routing, WIP)."""
    cap = sta[d, L.CAP]
    items, given, _ = settle(cap, ql[d], gql[d], pql[d])
    out = sta[d, L.HOLD] + items + given
    for q in range(gst[d, G.X_Q0], gst[d, G.X_Q0] + gst[d, G.X_QN]):
        items, given, _ = settle(cap, ql[q], gql[q], pql[q])
        out += items + given
    return out


@flat_kernel
def serve(q, now, sta, uni, s_t, s_i, n, qbuf, qh, ql, gq, gqh, gql, ut, stx, work, wn, x):
    """SimPy's ``_trigger_get`` on queue ``q`` (a put into it is done, or a new get finds
    parts there while others wait): the first waiting unit takes the first part; its get is
    done one event later (:func:`freed`), and the unit goes on in its turn, as many events
    after the put as in SimPy. Returns the new length of the work list."""
    if gql[q] == 0 or ql[q] == 0:
        return wn
    part = first(q, qbuf, qh, ql)
    h = gqh[q]
    v = gq[q, h]
    gqh[q] = (h + 1) % gq.shape[1]
    gql[q] -= 1
    s = x[3][q]
    if x[0][s, G.X_KIND] == G.PLAIN:
        sta[s, L.HOLD] += 1
        uni[v, L.U_PART] = part
        ut[v, UT.T_PHASE] = UT.PH_FREE
        hops = stx[s, UT.X_HOPS] - 1  # the put is done
    else:
        hops = G.handed(v, part, now, sta, uni, s_t, s_i, n, ut, stx, x) - 1
    work[wn, 0], work[wn, 1], work[wn, 2] = L.A_FREED, q, 1
    work[wn + 1, 0] = UT.A_HOP if hops > 1 else UT.A_TOOK
    work[wn + 1, 1], work[wn + 1, 2] = v, hops - 1
    return wn + 2


@flat_kernel
def freed(q, sta, n, qbuf, qh, ql, pqs, pqp, pqh, pql, work, wn, x):
    """SimPy's ``_trigger_put`` on queue ``q`` (a get from it is done, or a new put found a
    free slot while senders wait there): a free slot admits the first blocked sender; once
    that put is done (one event later) a waiting unit is served (``A_STORED``), then the
    sender records its part's arrival and goes on (``A_ADMITTED``). Returns the new length
    of the work list."""
    s = x[3][q]
    cap = sta[s, L.CAP]
    if pql[q] == 0 or (cap > 0 and ql[q] >= cap):
        return wn
    h = pqh[q]
    snd, part = pqs[q, h], pqp[q, h]
    pqh[q] = (h + 1) % pqs.shape[1]
    pql[q] -= 1
    qbuf[q, (qh[q] + ql[q]) % qbuf.shape[1]] = part
    ql[q] += 1
    if ql[q] > qbuf.shape[1] - n[L.N_MARGIN]:
        n[L.FLAG_RING] = 1
    work[wn, 0], work[wn, 1] = L.A_STORED, q  # (as a put: see the loop)
    wn += 1
    return L._admitted(snd, part, s, sta, work, wn)  # then the sender records the arrival


# batch and assembly stations (imported last: they use this module)
from twin.simulation.compiled import gather as G  # noqa: E402
