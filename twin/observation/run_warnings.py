"""Warnings of a run that completed but whose results need a second look.

A warning is a plain record stored in ``run.json`` (``warnings``), printed by ``twin run`` and
shown in the report: a ``code``, a ``message``, the simulation ``time`` [s] it refers to
(``None``: the whole run) and the ``stations`` and ``units`` (part ids) concerned. Some come
from the engine while it runs (a deadlock it was told to run through, phases stretched by a
utility far below their need, batches off-spec); :func:`result_warnings` adds those read from
the tables (nothing good made, a batch station that never filled); :mod:`stability` those of
an unstable line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from twin.data import spec as S

CODES = {
    "deadlock": "stations on a cycle hold parts for each other's full buffers or tanks, or "
                "wait for parts only the cycle could send",
    "no_good_units": "no good unit finished in the observation window",
    "batch_never_full": "a batch station never collected a full batch",
    "utility_starved": "phases stretched by a utility far below their need",
    "off_spec_batch": "batches that missed their target were scrapped",
    "unstable_station": "a station is offered more work than it can do",
    "wip_grows": "the WIP grows through the observation window",
}
"""Every warning code, with what it means."""


def warning(code: str, message: str, time: float | None = None, stations: Sequence[str] = (),
            units: Sequence[Any] = ()) -> dict[str, Any]:
    """One warning record (see the module doc); ``code`` is a key of :data:`CODES`."""
    assert code in CODES, code
    return {"code": code, "message": message, "time": time, "stations": list(stations),
            "units": [int(u) for u in units]}


def result_warnings(spec: S.LineSpec, tables: dict[str, pd.DataFrame], kpis: dict[str, Any],
                    t0: float, end: float) -> list[dict[str, Any]]:
    """Warnings read from a finished run's tables and KPIs (window ``[t0, end]`` [s])."""
    out = []
    if not kpis.get("good_units"):
        out.append(warning(
            "no_good_units", f"no good unit finished between t = {t0:g} s and {end:g} s: the "
                             "line made nothing in the observation window"))
    for name, st in spec.stations.items():
        if not isinstance(st, S.Batch) or "events" not in tables:
            continue  # batch stations are judged on their part events (when recorded)
        events = tables["events"]
        here = events[events["station"].astype(str) == name]
        kinds = here["kind"].astype(str)
        arrived, started = int((kinds == "arrive").sum()), int((kinds == "start").sum())
        fix = "" if st.max_wait is not None else " (set max_wait or min_batch to run " \
                                                "partial batches)"
        if arrived and not started:
            out.append(warning(
                "batch_never_full", f"batch station {name!r} never started: {arrived} part(s) "
                                    f"arrived for batches of {st.batch_size}{fix}",
                stations=[name]))
        elif started and st.max_wait is None:
            stranded = _stranded(here, end, 4 * st.cycle_time.mean())
            if stranded is not None:
                count, since, last = stranded
                out.append(warning(
                    "batch_never_full", f"batch station {name!r}: {count} part(s) wait since "
                    f"t = {since:g} s for a batch of {st.batch_size} and nothing has arrived "
                    f"since t = {last:g} s{fix}", time=since, stations=[name]))
    return out


def _stranded(events: pd.DataFrame, end: float, quiet: float
              ) -> tuple[int, float, float] | None:
    """Parts left waiting at a batch station at ``end`` [s] whose arrivals stopped: ``(count,
    first arrival of those waiting, last arrival)`` when nothing arrived in the last
    ``quiet`` seconds and the first has waited at least that long, else ``None``."""
    kinds = events["kind"].astype(str)
    arrivals = events[kinds == "arrive"]
    per_part = arrivals.groupby("part").size().sub(
        events[kinds == "start"].groupby("part").size(), fill_value=0)
    waiting = per_part.index[per_part > 0]  # arrived more often than started: still here
    if not len(waiting):
        return None
    last_arrival = arrivals.groupby("part")["time"].max()
    since, last = float(last_arrival[waiting].min()), float(arrivals["time"].max())
    if end - last < quiet or end - since < quiet:
        return None
    return len(waiting), since, last
