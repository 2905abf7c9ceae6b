"""Mining event and state logs into a draft line spec (``twin mine``).

:func:`mine` pairs the events into visits, converts times to seconds from the Monday of the
first week, and mines each station (:mod:`twin.fit.stations`), the releases, routes and
calendar (:mod:`twin.fit.flow`). The result is a :class:`Mining`: the draft spec (a dict
that validates as a :class:`~twin.data.spec.LineSpec`), every estimate with its evidence,
the directly-follows graph, and the conformance against a spec if one was given.
:meth:`Mining.toml` writes the spec with each fitted number annotated; :meth:`Mining.report`
the mining report.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin.data.checks import validate
from twin.fit.estimates import Estimate
from twin.fit.flow import (
    Conformance,
    calendar,
    conformance,
    directly_follows,
    releases,
    routes,
    with_next,
)
from twin.fit.stations import Options, StationMining, mine_station
from twin.fit.timeline import origin_of, seconds, unit_histories
from twin.pilotdata.checks import pair_visits


@dataclass
class Mining:
    """A mined line: ``spec`` (dict), ``estimates`` (each fitted number with its note),
    per-station results, the directly-follows ``edges``, ``conformance`` to a given spec,
    general ``notes`` and the ``problems`` found when the draft was validated."""

    spec: dict[str, Any]
    estimates: list[Estimate]
    stations: dict[str, StationMining]
    edges: Counter[tuple[str, str]]
    notes: list[str] = field(default_factory=list)
    conformance: Conformance | None = None
    problems: list[str] = field(default_factory=list)

    def estimate(self, path: str) -> Estimate:
        """The estimate at a dotted spec path (``stations.cnc.cycle_time``)."""
        return next(e for e in self.estimates if e.path == path)

    def toml(self) -> str:
        """The draft spec as TOML, each fitted value preceded by its evidence as comments."""
        return to_toml(self.spec, self.estimates, self.notes)

    def report(self) -> str:
        """The mining report (Markdown): notes, estimates, graph, conformance, problems."""
        out = [f"# Mining report: {self.spec['line']['name']}", "", "## Notes", ""]
        out += [f"- {n}" for n in self.notes]
        for name, m in self.stations.items():
            out += ["", f"## Station {name}", ""] + [f"- {n}" for n in m.notes]
            for e in m.estimates:
                out.append(f"- `{e.path}`: {e.note}")
                if len(e.fits) > 1:
                    out.append("  - AIC: " + ", ".join(f"{f.family} {f.aic:.1f}"
                                                       for f in e.fits))
        out += ["", "## Releases and routes", ""]
        shown = {id(e) for m in self.stations.values() for e in m.estimates}
        out += [f"- `{e.path}`: {e.note}" for e in self.estimates if id(e) not in shown]
        out += ["", "## Directly-follows graph", "", "| from | to | count |", "|---|---|---|"]
        out += [f"| {a} | {b} | {n} |" for (a, b), n in sorted(self.edges.items())]
        if self.conformance is not None:
            out += ["", "## Conformance with the given spec", ""] + self.conformance.lines()
        out += ["", "## Draft spec check", ""]
        out += [f"- {p}" for p in self.problems] or ["- the draft spec is valid"]
        return "\n".join(out) + "\n"


def _frame(x: Any) -> pd.DataFrame:
    return x.frame if hasattr(x, "frame") else x


def mine(events: Any, states: Any = None, *, line: Any = None, name: str = "mined",
         end: pd.Timestamp | str | None = None, options: Options | None = None) -> Mining:
    """Mine a draft line from a clean event log and optional state log (loaded
    :class:`~twin.pilotdata.load.PilotTable` or their frames).

    ``line``: a spec to check the routes against (conformance). ``end``: when the logs end
    (default: the last time in them); intervals still open then are right-censored.
    """
    opt = options or Options()
    ev, st = _frame(events), _frame(states) if states is not None else None
    visits, _, _ = pair_visits(ev)
    origin = origin_of(ev["time"], *([st["start"]] if st is not None else []))
    last = max([ev["time"].max()] + ([st["start"].max()] if st is not None else []))
    t_end = float(seconds(pd.Series([pd.Timestamp(end) if end is not None else last]),
                          origin)[0])
    visits["start_s"] = seconds(visits["start"], origin)
    visits["complete_s"] = seconds(visits["complete"], origin)
    v = with_next(visits)
    units = unit_histories(st, origin, t_end) if st is not None else {}
    notes = [f"origin: {origin.isoformat()} (Monday 00:00 UTC); log end "
             f"{(origin + pd.Timedelta(seconds=t_end)).isoformat()}",
             f"{len(v)} visits of {v['id'].nunique()} parts or lots at "
             f"{v['station'].nunique()} stations"]
    order = v.assign(k=v.groupby("id").cumcount()).groupby("station")["k"].mean().sort_values()
    sources, est, rel_notes = releases(ev, v, lambda t: seconds(t, origin), opt)
    notes += rel_notes
    mined: dict[str, StationMining] = {}
    for station in order.index:
        sv = v[v["station"] == station].reset_index(drop=True)
        own = {u: h for (s, u), h in units.items() if s == station}
        m = mine_station(str(station), sv, sv["next"], own, opt)
        to, r_est = routes(str(station), v, t_end, opt.confidence)
        m.spec["to" if isinstance(to, str) else "routes"] = to
        m.estimates += r_est
        mined[str(station)] = m
    spec: dict[str, Any] = {
        "line": {"name": name, "description": "mined from pilot logs (draft: check every "
                                              "number against its note)"},
        "run": {"duration": f"{round(t_end)} s"},
    }
    cal, cal_note = calendar(units)
    notes.append(cal_note)
    if cal is not None:
        spec["calendar"] = cal
    spec["products"] = {str(p): {} for p in sorted(set(v["product"]))}
    spec["stations"] = {**sources, **{n: m.spec for n, m in mined.items()},
                        "out": {"type": "sink"}}
    rel = ev[ev["event"] == "release"]
    edges = directly_follows(v, t_end, rel if len(rel) else None)
    result = Mining(spec, est + [e for m in mined.values() for e in m.estimates], mined, edges,
                    notes)
    if line is not None:
        result.conformance = conformance(edges, line)
    _, problems = validate(json.loads(json.dumps(spec)))
    result.problems = [str(p) for p in problems]
    return result


# --------------------------------------------------------------------------- TOML output

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def inline(value: Any) -> str:
    """A value as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, int) or np.isfinite(value) else "nan"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {inline(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def to_toml(spec: dict[str, Any], estimates: list[Estimate], notes: list[str]) -> str:
    """The spec as TOML; the notes of the estimates under a key are comments above it."""
    out = ["# Draft line spec mined from pilot logs by `twin mine`.",
           "# Every fitted number carries its evidence: family, parameters with intervals, n,",
           "# AIC ranking and goodness-of-fit p-value. Check them before trusting the line."]
    out += [f"# {n}" for n in notes]
    for section in ("line", "run", "calendar"):
        if section in spec:
            out += ["", f"[{section}]"] + [f"{_key(k)} = {inline(v)}"
                                          for k, v in spec[section].items()]
    for p in spec["products"]:
        out += ["", f"[products.{_key(p)}]"]
    for name, st in spec["stations"].items():
        out += ["", f"[stations.{_key(name)}]"]
        for k, v in st.items():
            prefix = f"stations.{name}.{k}"
            for e in estimates:
                if e.path == prefix or e.path.startswith(prefix + ".") or \
                        e.path.startswith(prefix + "["):
                    out.append(f"# {e.path.removeprefix(f'stations.{name}.')}: {e.note}")
            out.append(f"{_key(k)} = {inline(v)}")
    return "\n".join(out) + "\n"
