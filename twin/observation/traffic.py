"""The traffic equations of a line: long-run arrivals [1/s] at every (station, product).

Parts enter from the sources at their long-run rates and move along the routes: routing
probabilities, product-specific routes, rework loops (counted up to no limit), scrap
leaving, assembly components consumed, and batches emptied into a tank leaving it as lots
of the continuous unit it feeds. The flows solve one linear system,
``lambda = external + M lambda``.

- **Sources.** A renewal or a repeating schedule gives a rate; a source with a ``limit``
  gives the rate at which it releases while it lasts (:attr:`Traffic.finite` says which
  stations it loads so); a lot released once adds nothing to the long run. An infinite
  supply (parts as fast as the line takes them) has no rate of its own: its line is left
  out (:func:`arrivals` returns ``None``), unless it only feeds components to assemblies.
- **Least-loaded routes** (several routes open to a part, none with a probability): the
  split is decided at run time, so the destinations form a **pool**
  (:attr:`Traffic.pools`), which can keep up only if the work offered to all of them is
  below their pooled capacity. The flows split in proportion to each destination's
  capacity for the product (parts per second it can do: servers x available share / work
  per part), which loads every member of a pool alike: the pool's load is then
  ``lambda / sum mu``, the bound no split can beat when the members' speeds do not depend
  on the product (with speeds by product, a split by product could do better; the load is
  that of the split in proportion). A least-loaded route back to the
  station itself counts visits, not capacity: its destinations are left out.
- **After a tank**: the mass [kg/s] emptied into it is the batches arriving there times
  the mass of a batch (its charges: exact for recipes whose phases neither remove nor add
  material, vent losses of a charge neglected); the continuous unit it feeds draws that
  mass and sends it on as lots of ``lot_mass``. A tank fed by anything else, or by recipes
  that separate, dry, ferment or run an FMU (which change the batch's mass), leaves the
  continuous unit and what follows it out (:attr:`Traffic.unknown`).

Work per part and availability are here too (:func:`work_per_item`, :func:`availability`):
the capacities that split a pool are made of them, and :mod:`twin.observation.stability`
turns flows into offered loads with the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.data import spec as S

MASS_KEEPING_PHASES = frozenset({"charge", "heat", "cool", "react", "crystallise", "clean",
                                 "transfer", "hold"})
"""Phases after which a batch holds the mass it was charged with (a reaction network is a
``react`` phase too; cleaning water does not enter the batch)."""


@dataclass(frozen=True)
class Traffic:
    """Solved traffic equations of a line."""

    rates: dict[tuple[str, str], float]
    """Long-run arrivals [1/s] at each (station, product)."""
    finite: dict[str, list[str]] = field(default_factory=dict)
    """Per station, the limited sources whose parts reach it (it is loaded so only while
    they release)."""
    pools: list[list[str]] = field(default_factory=list)
    """Stations sharing parts through least-loaded routes (each list one pool)."""
    unknown: set[str] = field(default_factory=set)
    """Stations whose load cannot be computed (after a tank of unknown mass, or sharing a
    least-loaded route back to the station that sends)."""


def release_rates(src: S.Source) -> dict[str, float] | None:
    """Parts of each product per second ``src`` releases (while it lasts, if limited);
    ``None`` for an infinite supply. Lots released once add nothing to the long-run rate;
    a release naming its product releases only that product."""
    shares = product_shares(src)
    if src.interarrival is not None:
        return {p: w / src.interarrival.mean() for p, w in shares.items()}
    if src.schedule is None:
        return None
    out: dict[str, float] = {}
    for r in src.schedule:
        if r.every is None:
            continue
        for p, w in ({r.product: 1.0} if r.product is not None else shares).items():
            out[p] = out.get(p, 0.0) + w * r.quantity / r.every
    return out


def product_shares(src: S.Source) -> dict[str, float]:
    """Share of each product among the parts ``src`` releases (its product or mix)."""
    if src.product is not None:
        return {src.product: 1.0}
    mix = src.mix or {}
    total = sum(mix.values())
    return {p: w / total for p, w in mix.items() if w > 0}


def work_per_item(st: S.Equipment, product: str) -> float | None:
    """Mean work [s] per part of ``product``: per part of a batch station's full batch; per
    batch of a process unit (its fixed-duration phases only: a lower bound); per lot of a
    continuous unit (``lot_mass / rate``)."""
    if isinstance(st, S.Process):
        return sum(ph.duration.mean() for ph in st.recipe_for(product)
                   if hasattr(ph, "duration") and ph.duration is not None)
    if isinstance(st, S.Continuous):
        assert st.rate is not None
        return st.lot_mass / st.rate
    dist = st.product_cycle_time.get(product, st.cycle_time)
    work = dist.mean()
    return work / st.batch_size if isinstance(st, S.Batch) else work


def availability(line: S.LineSpec, st: S.Equipment) -> tuple[float, float]:
    """(work inflation by operating-time failures, share of time the servers can work:
    calendar-time failures MTTF / (MTTF + MTTR), maintenance, the calendar's working share
    of the week for a station that follows it)."""
    inflate, share = 1.0, 1.0
    for f in st.failures:
        if f.basis == "operating":
            inflate += f.ttr.mean() / f.ttf.mean()
        else:
            share *= f.ttf.mean() / (f.ttf.mean() + f.ttr.mean())
    if st.maintenance is not None:
        share *= max(0.0, 1.0 - st.maintenance.duration.mean() / st.maintenance.every)
    if line.calendar is not None and st.follows_calendar:
        week = 7 * 86400.0
        share *= sum(b - a for a, b in line.calendar.working_windows()) / week
    return inflate, share


def capacity(line: S.LineSpec, st: S.Station, product: str) -> float | None:
    """Parts of ``product`` per second ``st`` can do (``None`` if not an equipment or its
    work is unknown)."""
    if not isinstance(st, S.Equipment):
        return None
    work = work_per_item(st, product)
    if not work:
        return None
    inflate, share = availability(line, st)
    return st.servers * share / (work * inflate)


def batch_mass(st: S.Station, product: str) -> float | None:
    """Mass [kg] of a batch of ``product`` leaving process unit ``st`` (its charges), or
    ``None`` when its recipe changes the batch's mass or ``st`` is no process unit."""
    if not isinstance(st, S.Process):
        return None
    recipe = st.recipe_for(product)
    if any(ph.phase not in MASS_KEEPING_PHASES for ph in recipe):
        return None
    return float(sum(sum(ph.materials.values()) for ph in recipe if ph.phase == "charge"))


def _routes_for(st: Any, product: str) -> tuple[list[S.Route], bool]:
    """Routes open to a part of ``product`` leaving ``st``, and whether they split it by
    their probabilities (False: least-loaded, decided at run time)."""
    routes = [r for r in st.routes if r.products is None or product in r.products]
    by_chance = len(routes) <= 1 or all(r.probability is not None for r in routes)
    return routes, by_chance


def _split(line: S.LineSpec, st: Any, product: str) -> tuple[list[tuple[str, float]],
                                                               list[str]]:
    """(destination, share) of the parts of ``product`` leaving ``st``, and the pool of
    destinations when the split is least-loaded (else empty)."""
    routes, by_chance = _routes_for(st, product)
    if not routes:
        return [], []
    if by_chance:
        if len(routes) == 1:
            return [(routes[0].to, 1.0)], []
        total = sum(r.probability for r in routes)
        return [(r.to, r.probability / total) for r in routes], []
    names = list(dict.fromkeys(r.to for r in routes))
    caps = [capacity(line, line.stations[n], product) for n in names]
    if any(c is None for c in caps):  # no capacity to weigh by: an even split
        return [(n, 1.0 / len(names)) for n in names], names
    total = sum(caps)  # type: ignore[arg-type]
    return [(n, c / total) for n, c in zip(names, caps, strict=True)], names  # type: ignore


def _feeds_components_only(line: S.LineSpec, src: S.Source) -> bool:
    dests = [line.stations.get(r.to) for r in src.routes]
    return bool(dests) and all(isinstance(d, S.Assembly) and set(src.products_made())
                               <= set(d.components) for d in dests)


def _downstream(line: S.LineSpec, starts: list[str]) -> set[str]:
    """``starts`` and every station reached from them."""
    todo, seen = list(starts), set()
    while todo:
        name = todo.pop()
        if name in seen or name not in line.stations:
            continue
        seen.add(name)
        st = line.stations[name]
        todo += [r.to for r in st.routes]
        if isinstance(st, S.Inspection) and st.rework_to is not None:
            todo.append(st.rework_to)
    return seen


def _merge(pools: list[list[str]]) -> list[list[str]]:
    """Pools sharing a station are one pool."""
    merged: list[set[str]] = []
    for pool in pools:
        group = set(pool)
        for other in [m for m in merged if m & group]:
            group |= other
            merged.remove(other)
        merged.append(group)
    return [sorted(m) for m in merged]


def arrivals(line: S.LineSpec) -> Traffic | None:
    """The line's traffic equations solved (see the module doc); ``None`` if an infinite
    supply feeds it (its rate is what the line lets in) or the equations are singular."""
    products = list(line.products)
    names = list(line.stations)
    index = {(n, p): i for i, (n, p) in enumerate((n, p) for n in names for p in products)}
    moves = np.zeros((len(index), len(index)))
    sources = [(n, st) for n, st in line.stations.items() if isinstance(st, S.Source)
               and not (release_rates(st) is None and _feeds_components_only(line, st))]
    external = np.zeros((len(index), max(1, len(sources))))
    pools: list[list[str]] = []
    unknown: set[str] = set()
    for k, (_, src) in enumerate(sources):
        rates = release_rates(src)
        if rates is None:
            return None
        for p, rate in rates.items():
            dests, pool = _split(line, src, p)
            pools += [pool] if pool else []
            for dest, prob in dests:
                external[index[(dest, p)], k] += rate * prob
    for name, st in line.stations.items():
        if isinstance(st, S.Source | S.Sink):
            continue
        if isinstance(st, S.Tank):
            unknown |= _tank_moves(line, name, st, index, moves)
            continue
        for p in products:
            out_p, keep = p, 1.0
            if isinstance(st, S.Assembly):
                if p not in st.base:
                    continue  # components are consumed
                out_p = st.output_product or p
            if isinstance(st, S.Inspection):
                keep = 1.0 - st.scrap_probability - st.rework_probability
                if st.rework_to is not None and st.rework_probability > 0:
                    moves[index[(st.rework_to, p)], index[(name, p)]] += st.rework_probability
            dests, pool = _split(line, st, out_p)
            if name in pool:  # a least-loaded loop back to itself: visits, not a pool
                unknown |= set(pool)
            elif pool:
                pools.append(pool)
            for dest, prob in dests:
                if not isinstance(line.stations[dest], S.Tank):
                    moves[index[(dest, out_p)], index[(name, p)]] += keep * prob
    try:
        flows = np.linalg.solve(np.eye(len(index)) - moves, external)
    except np.linalg.LinAlgError:
        return None
    total = flows.sum(axis=1)
    finite: dict[str, list[str]] = {}
    for k, (name, src) in enumerate(sources):
        if src.limit is None:
            continue
        for n in names:
            if any(flows[index[(n, p)], k] > 0 for p in products):
                finite.setdefault(n, []).append(name)
    return Traffic({key: float(total[i]) for key, i in index.items()}, finite,
                   _merge(pools), unknown)


def _tank_moves(line: S.LineSpec, name: str, tank: S.Tank, index: dict[tuple[str, str], int],
                moves: np.ndarray) -> set[str]:
    """Rows of ``moves`` from the batches emptied into ``tank`` to the lots of the
    continuous unit it feeds; the stations left unknown if that cannot be counted."""
    units = [r.to for r in tank.routes]
    unit = line.stations.get(units[0]) if len(units) == 1 else None
    feeders = [(n, st) for n, st in line.stations.items()
               if not isinstance(st, S.Tank) and any(r.to == name for r in st.routes)]
    if not isinstance(unit, S.Continuous):
        return _downstream(line, units)
    for feeder, st in feeders:
        for p in line.products:
            dests, _ = _split(line, st, p)
            share = sum(prob for dest, prob in dests if dest == name)
            if share <= 0:
                continue
            mass = batch_mass(st, p)
            if mass is None:
                return _downstream(line, units)
            moves[index[(units[0], unit.product)], index[(feeder, p)]] += (
                share * mass / unit.lot_mass)
    return set()
