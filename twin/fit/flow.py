"""The flow of parts through a line as seen in an event log: the directly-follows graph with
frequencies, routing probabilities, conformance against a spec, releases (arrival process,
product mix, lots) and the shift calendar from off periods.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.checks import successors
from twin.fit.estimates import Estimate, duration, proportion
from twin.fit.timeline import UnitHistory

START, END = "(release)", "(end)"
"""Pseudo-stations of the directly-follows graph: where parts enter and where they leave."""


def with_next(visits: pd.DataFrame) -> pd.DataFrame:
    """Visits sorted by id and start, with the station each part visited next (``next``; NaN
    for its last visit) and the gap to it (``gap_s``)."""
    v = visits.sort_values(["id", "start_s", "start_row"]).reset_index(drop=True)
    same = v["id"].shift(-1) == v["id"]
    v["next"] = v["station"].shift(-1).where(same)
    v["gap_s"] = (v["start_s"].shift(-1) - v["complete_s"]).where(same)
    return v


def exits(v: pd.DataFrame, end: float) -> np.ndarray:
    """Last visits that left the line: good outcome, and completed before the log's last
    stretch (the 99th percentile of the gaps between visits), in which a part may still be
    on its way to the next station."""
    g99 = float(np.nanpercentile(v["gap_s"], 99)) if v["gap_s"].notna().any() else 0.0
    return (v["next"].isna() & (v["outcome"] == "good") & (v["complete_s"] < end - g99)
            ).to_numpy()


def directly_follows(v: pd.DataFrame, end: float, releases: pd.DataFrame | None = None
                     ) -> Counter[tuple[str, str]]:
    """Edge counts (a, b) of the directly-follows graph, with :data:`START` and :data:`END`."""
    edges: Counter[tuple[str, str]] = Counter()
    first = v.groupby("id", sort=False).head(1)
    if releases is not None and len(releases):
        src = dict(zip(releases["id"], releases["station"], strict=True))
        edges.update((src.get(i, START), s) for i, s in zip(first["id"], first["station"],
                                                             strict=True))
    else:
        edges.update((START, s) for s in first["station"])
    nxt = v["next"].notna()
    edges.update(zip(v.loc[nxt, "station"], v.loc[nxt, "next"], strict=True))
    edges.update((s, END) for s in v.loc[exits(v, end), "station"])
    return edges


@dataclass
class Conformance:
    """Edges of the log missing from the spec and spec edges never seen in the log."""

    only_in_log: list[tuple[str, str, int]] = field(default_factory=list)
    only_in_spec: list[tuple[str, str]] = field(default_factory=list)

    def ok(self) -> bool:
        return not self.only_in_log and not self.only_in_spec

    def lines(self) -> list[str]:
        out = [f"  in the log, not in the spec: {a} -> {b} ({n} times)"
               for a, b, n in self.only_in_log]
        out += [f"  in the spec, never in the log: {a} -> {b}" for a, b in self.only_in_spec]
        return out or ["  the log and the spec have the same routes"]


def spec_edges(line: Any) -> set[tuple[str, str]]:
    """Directed edges of a spec (routes and rework loops; routes into a sink end at END)."""
    sinks = {n for n, s in line.stations.items() if isinstance(s, S.Sink)}
    out: set[tuple[str, str]] = set()
    for name, st in line.stations.items():
        for to in successors(st):
            out.add((name, END if to in sinks else to))
    return out


def conformance(edges: Counter[tuple[str, str]], line: Any) -> Conformance:
    """Compare the log's directly-follows graph with a spec, both ways. Log edges from
    :data:`START` match any edge out of a source."""
    spec = spec_edges(line)
    sources = {n for n, s in line.stations.items() if isinstance(s, S.Source)}
    first = {b for a, b in spec if a in sources}
    c = Conformance()
    for (a, b), n in sorted(edges.items()):
        ok = (b in first) if a == START else (a, b) in spec
        if not ok:
            c.only_in_log.append((a, b, n))
    seen = set(edges) | {(s, b) for (a, b) in edges if a == START for s in sources}
    c.only_in_spec = sorted(e for e in spec if e not in seen)
    return c


def routes(station: str, v: pd.DataFrame, end: float, confidence: float
           ) -> tuple[Any, list[Estimate]]:
    """The spec routes of ``station`` from where its good visits went next: one destination,
    or probabilities with Wilson intervals (the sink is ``"out"``)."""
    mine = v[(v["station"] == station) & (v["outcome"] == "good")]
    ex = exits(v, end)[(v["station"] == station) & (v["outcome"] == "good")]
    dest = Counter(mine["next"].dropna())
    dest["out"] += int(ex.sum())
    dest = Counter({k: n for k, n in dest.items() if n})
    total = sum(dest.values())
    if len(dest) <= 1:
        return (next(iter(dest)) if dest else "out"), []
    est = [proportion(f"stations.{station}.routes[{i}].probability", n, total, confidence,
                      f"share of parts from {station} to {to}")
           for i, (to, n) in enumerate(dest.most_common())]
    return [{"to": to, "probability": e.value} for (to, _), e in
            zip(dest.most_common(), est, strict=True)], est


def releases(events: pd.DataFrame, v: pd.DataFrame, seconds: Any, opt: Any
             ) -> tuple[dict[str, dict[str, Any]], list[Estimate], list[str]]:
    """Sources from the release events (or, without any, from the first starts): product
    mix with Wilson intervals, lot size, and the fitted time between releases (lots)."""
    rel = events[events["event"] == "release"]
    notes: list[str] = []
    if len(rel):
        times = pd.DataFrame({"id": rel["id"], "station": rel["station"],
                              "product": rel["product"], "t": seconds(rel["time"])})
    else:
        first = v.groupby("id", sort=False).head(1)
        times = pd.DataFrame({"id": first["id"], "station": "release",
                              "product": first["product"], "t": first["start_s"]})
        notes.append("no release events: arrivals taken as the first starts (queueing in "
                     "front of the first station is not seen)")
    first_station = dict(zip(v.groupby("id").head(1)["id"], v.groupby("id").head(1)["station"],
                             strict=True))
    out: dict[str, dict[str, Any]] = {}
    est: list[Estimate] = []
    kw = {"seed": opt.seed, "rounds": opt.rounds, "confidence": opt.confidence}
    for src, g in times.sort_values("t").groupby("station", sort=True):
        spec: dict[str, Any] = {"type": "source"}
        mix = Counter(g["product"])
        if len(mix) == 1:
            spec["product"] = next(iter(mix))
        else:
            spec["mix"] = {}
            for p, n in sorted(mix.items()):
                e = proportion(f"stations.{src}.mix.{p}", n, len(g), opt.confidence,
                               f"share of {p}")
                spec["mix"][p] = e.value
                est.append(e)
        t = g["t"].to_numpy()
        lots = np.split(t, np.flatnonzero(np.diff(t) > 0) + 1)
        size = int(np.median([len(x) for x in lots]))
        if size > 1:
            spec["lot_size"] = size
            notes.append(f"{src}: parts released in lots of {size} (median)")
        gaps = np.diff([x[0] for x in lots])
        e = duration(f"stations.{src}.interarrival", gaps,
                     what="time between releases" + (" of lots" if size > 1 else ""), **kw)
        spec["interarrival"] = e.value
        est.append(e)
        to = Counter(first_station.get(i) for i in g["id"] if i in first_station)
        spec["to"] = to.most_common(1)[0][0] if len(to) == 1 else sorted(to)
        out[src] = spec
    return out, est, notes


def calendar(units: dict[tuple[str, str], UnitHistory]) -> tuple[dict[str, Any] | None, str]:
    """Shifts from the ``off`` periods of the state log: the working windows of each weekday
    (most common over the weeks seen), as a spec calendar; None if no unit was ever off."""
    off = [h for h in units.values() if (h.state == "off").any()]
    if not off:
        return None, "no off periods in the state log: the line runs around the clock"
    h = max(off, key=lambda u: u.end[-1] - u.start[0])
    step = 900.0  # quarter hours
    t = np.arange(h.start[0], h.end[-1], step) + step / 2
    i = np.clip(np.searchsorted(h.start, t, side="right") - 1, 0, None)
    working = h.state[i] != "off"
    week = ((t % (7 * 86400)) // step).astype(int)
    share = np.bincount(week, working, 672) / np.maximum(np.bincount(week, None, 672), 1)
    slots = share >= 0.5
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    patterns: dict[str, list[tuple[int, int]]] = {}
    for d, day in enumerate(days):
        s = np.r_[False, slots[d * 96:(d + 1) * 96], False].astype(int)
        edges = np.flatnonzero(np.diff(s))
        wins = list(zip(edges[::2], edges[1::2], strict=True))
        if wins:
            patterns[day] = wins
    if not patterns:
        return None, "the line was off all the time"
    common = Counter(tuple(w) for w in patterns.values()).most_common(1)[0][0]

    def hhmm(q: int) -> str:
        return f"{q // 4:02d}:{q % 4 * 15:02d}"

    shifts = [{"start": hhmm(a), "end": hhmm(b) if b < 96 else "24:00"} for a, b in common]
    working_days = [d for d, w in patterns.items() if tuple(w) == common]
    note = (f"calendar from the off periods of {len(off)} unit(s), quarter-hour slots worked "
            f"in at least half of the weeks; days {', '.join(working_days)}")
    return {"days": working_days, "shifts": shifts}, note
