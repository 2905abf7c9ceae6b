"""Transport delays on the compiled loop: parts on their way between stations (Numba, cached).

The SimPy engine carries a part along a route with a ``delay`` in a process of its own
(:meth:`twin.simulation.flow.Context.transport`); the compiled loop keeps the same steps:

- the delay is drawn when the part is sent (``Node.push``), from the route's own stream
  ``(station, "transport", route.to)``; the sender goes straight on, as if the part had
  entered;
- the transport process starts with SimPy's ``Initialize`` event, which is *urgent*: it runs
  once the event being processed is done, ahead of the zero-delay events already queued in
  the instant. Only then is the arrival scheduled (so its place among timed events of the
  same time is SimPy's). Sent parts wait in a first-in first-out list until the loop's work
  list reaches the end of the current event (:func:`depart`);
- on arrival (heap event ``EV_TRANSIT``) the part is handed over as a sender would hand it
  (a buffer, a waiting server, an assembly's queue, a sink); if the destination is full it
  waits in the destination's line of blocked senders as a *transport* sender (code
  ``-1 - n_stations - destination``, beside units ``>= 0`` and sources ``-1 - station``) and
  enters when admitted, as ``Context.transport`` does after ``yield``.

Per destination station ``tin`` counts the parts on their way there (sent, not yet arrived:
``Node.incoming``, which the SimPy watchdog counts as able to move) and the parts in transit
(from the start of their transport until they have entered: ``Context.in_transit``, the
``"(in transit)"`` WIP). Loads for least-loaded routing do not count them, as in SimPy.
"""

from __future__ import annotations

from twin.kernels.jit import flat_kernel
from twin.simulation.compiled import loop as L

# columns of ``tin`` (int, one row per station): parts on their way to it (sent, not arrived),
# parts in transit to it (transport started, not yet entered)
ON_WAY, IN_TRANSIT = range(2)
TIN_COLS = 2


@flat_kernel
def send(part, dest, k, now, sbuf, spos, slen, sconst, n, tr):
    """Send ``part`` to station ``dest`` with a delay drawn from stream ``k``; its transport
    starts once the event being processed is done (:func:`depart`)."""
    rdly, tin, tq, tqt = tr
    delay = L._draw(k, sbuf, spos, slen, sconst, n)
    m = tq[0]
    if m + 1 >= tq.shape[0]:
        n[L.FLAG_ERR] = 2
        return
    tq[1 + m] = part * tin.shape[0] + dest
    tqt[m] = now + delay
    tq[0] = m + 1
    tin[dest, ON_WAY] += 1


@flat_kernel
def depart(ht, hi, n, tr):
    """The transports sent during the last event start, in the order they were sent: each
    schedules its arrival (heap event ``EV_TRANSIT``, ``who`` = part x stations + dest)."""
    rdly, tin, tq, tqt = tr
    if n[L.N_HEAP] + tq[0] + 8 > ht.shape[0]:  # (the loop grows the heap between events)
        n[L.FLAG_ERR] = 2
        return
    for i in range(tq[0]):
        who = tq[1 + i]
        tin[who % tin.shape[0], IN_TRANSIT] += 1
        L._heap_push(ht, hi, n, tqt[i], L.EV_TRANSIT, who)
    tq[0] = 0


@flat_kernel
def arrived(who, tr):
    """A transport arrives (heap event ``who``): returns (part, destination, sender code)."""
    tin = tr[1]
    n_st = tin.shape[0]
    dest = who % n_st
    tin[dest, ON_WAY] -= 1
    return who // n_st, dest, -1 - n_st - dest


@flat_kernel
def entered(sender, tr):
    """The part of transport sender ``sender`` has entered its destination."""
    tin = tr[1]
    tin[-1 - sender - tin.shape[0], IN_TRANSIT] -= 1
