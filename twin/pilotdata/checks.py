"""The checks of each pilot data format, run by :func:`twin.pilotdata.load.load`.

``CHECKS[format]`` runs on the parsed rows in file order (units, stations, flags, ranges);
``AFTER_SORT[format]`` on the rows sorted by sequence and time (duplicates, overlaps,
unmatched starts and completes, gaps). Each problem is an issue with its row and column; a
dropped row always has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from twin.data.units import UnitError, si_conversion, to_si
from twin.pilotdata.formats import SAMPLE_QUANTITIES
from twin.pilotdata.load import Cleaning

CONCENTRATION = dict(zip(SAMPLE_QUANTITIES["concentration"].dimensions, ("molar", "mass"),
                         strict=True))
"""Dimensionalities accepted for a concentration, with the basis each gives (SI: mol/m3 and
kg/m3)."""


def _live(c: Cleaning) -> np.ndarray:
    return ~c.drop


def _stations(c: Cleaning, stations: list[str] | None) -> None:
    if stations is None:
        return
    known = set(stations)
    st = pd.Series(c.frame["station"])
    c.each((~st.isin(known) & (st != "")).to_numpy(), "station", "unknown_station",
           lambda i: f"no station named {st.iat[i]!r} in the line")


def _units(c: Cleaning, column: str, expect: Callable[[int], str | None] | None,
           needed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Check a unit column; returns scale and offset to SI per row and the dimensionality.

    ``expect(i)`` gives the dimensionality row ``i`` must have (None: any); ``needed`` marks
    the rows that must have a unit (default: all).
    """
    n = len(c.frame)
    scale, offset, dims = np.ones(n), np.zeros(n), [""] * n
    units = c.frame[column]
    needed = np.ones(n, dtype=bool) if needed is None else needed
    for i in range(n):
        if c.drop[i]:
            continue
        text = units.iat[i]
        if not text:
            if needed[i]:
                c.issue(i, column, "unit_missing", "the unit is missing", "dropped")
            continue
        try:
            scale[i], offset[i], dims[i] = si_conversion(text)
        except UnitError:
            c.issue(i, column, "unit_unknown", f"{text!r} is not a unit", "dropped")
            continue
        want = expect(i) if expect else None
        if want is not None and dims[i] != want:
            c.issue(i, column, "unit_wrong",
                    f"{text!r} measures {dims[i]}, expected {want}", "dropped")
    return scale, offset, dims


def _duplicates(c: Cleaning, key: list[str], value: list[str], what: str) -> None:
    """Rows sharing ``key``: identical ``value`` columns -> later ones dropped as duplicates;
    different values -> all of them dropped as conflicting."""
    f = c.frame
    live = _live(c)
    dup_key = f[live].duplicated(key, keep=False)
    if not dup_key.any():
        return
    for _, g in f[live][dup_key].groupby(key, sort=False):
        pos = [int(f.index.get_loc(i)) for i in g.index]
        same = g[value].astype(str).nunique().max() <= 1 if value else True
        first = int(g["row"].iat[0])
        for p in pos[1:] if same else pos:
            if same:
                c.issue(p, key[-1], "duplicate", f"repeats row {first} ({what})", "dropped")
            else:
                c.issue(p, key[-1], "conflicting",
                        f"another row has the same {what} with a different value "
                        f"(rows {', '.join(str(int(r)) for r in g['row'])})", "dropped")


# --------------------------------------------------------------------------- events


def pair_visits(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[int], list[int]]:
    """Pair each start with the next complete of the same id at the same station.

    Returns the visits (``id, product, station, resource, start, complete, outcome`` and the
    rows of both events) and the positions (in ``frame``) of starts without a complete and
    completes without a start. Releases are not paired. Ties in time keep the file order.
    """
    f = frame.reset_index(drop=True)
    work = f[f["event"] != "release"]  # releases are not paired
    order = work.sort_values(["id", "station", "time", "row"], kind="stable").index.to_numpy()
    ids, st, ev = f["id"].to_numpy(), f["station"].to_numpy(), f["event"].to_numpy()
    starts, completes, no_complete, no_start = [], [], [], []
    open_pos: int | None = None
    prev: tuple[Any, Any] | None = None
    for p in order:
        key = (ids[p], st[p])
        if key != prev and open_pos is not None:
            no_complete.append(open_pos)
            open_pos = None
        prev = key
        if ev[p] == "start":
            if open_pos is not None:
                no_complete.append(open_pos)
            open_pos = int(p)
        elif open_pos is None:
            no_start.append(int(p))
        else:
            starts.append(open_pos)
            completes.append(int(p))
            open_pos = None
    if open_pos is not None:
        no_complete.append(open_pos)
    s, e = f.iloc[starts], f.iloc[completes]
    outcome = e["outcome"].replace("", "good") if "outcome" in e else "good"
    visits = pd.DataFrame({
        "id": s["id"].to_numpy(), "product": s["product"].to_numpy(),
        "station": s["station"].to_numpy(),
        "resource": (s["resource"].to_numpy() if "resource" in s else ""),
        "start": s["time"].to_numpy(), "complete": e["time"].to_numpy(),
        "outcome": np.asarray(outcome, dtype=object),
        "start_row": s["row"].to_numpy(), "complete_row": e["row"].to_numpy(),
    })
    return visits.sort_values(["start", "start_row"]).reset_index(drop=True), no_complete, \
        no_start


def _events(c: Cleaning, stations: list[str] | None, **_: Any) -> None:
    _stations(c, stations)


def _events_sorted(c: Cleaning, keep_open: bool = False, **_: Any) -> None:
    _duplicates(c, ["id", "station", "event", "time"], [], "id, station, event and time")
    live = np.flatnonzero(_live(c))
    sub = c.frame.iloc[live]
    _, no_complete, no_start = pair_visits(sub)
    last = sub.groupby("id")["time"].transform("max").to_numpy()
    times = sub["time"].to_numpy()
    for p in no_complete:
        if times[p] == last[p]:
            c.issue(int(live[p]), "event", "open_at_end", "started but the log ends before it "
                    "completes (work in progress)", "kept" if keep_open else "dropped")
        else:
            c.issue(int(live[p]), "event", "missing_complete",
                    "a start without a complete of the same id at this station", "dropped")
    for p in no_start:
        c.issue(int(live[p]), "event", "missing_start",
                "a complete without a start of the same id at this station", "dropped")


# --------------------------------------------------------------------------- states


def _states(c: Cleaning, stations: list[str] | None, **_: Any) -> None:
    _stations(c, stations)
    f = c.frame
    c.each((f["end"] < f["start"]).to_numpy(), "end", "end_before_start",
           "the state ends before it starts")


def _states_sorted(c: Cleaning, **_: Any) -> None:
    _duplicates(c, ["station", "unit", "start"], ["state"], "unit and start")
    f, keys = c.frame, ["station", "unit"]
    for _, g in f[_live(c)].groupby(keys, sort=False):
        ends, starts, idx = g["end"].to_numpy(), g["start"].to_numpy(), g.index.to_numpy()
        rows = g["row"].to_numpy()
        for j in np.flatnonzero(ends[:-1] > starts[1:]):
            c.issue(int(idx[j + 1]), "start", "overlap", f"the unit is still in the state of "
                    f"row {rows[j]} (until {pd.Timestamp(ends[j]).isoformat()})", "dropped")
    live = _live(c)
    nxt = f[live].groupby(keys, sort=False)["start"].shift(-1)
    f["end"] = f.loc[live, "end"].fillna(nxt).reindex(f.index)
    f["censored"] = f["end"].isna()


# --------------------------------------------------------------------------- batches


def _batches(c: Cleaning, **_: Any) -> None:
    f = c.frame
    c.each((f["end"] < f["start"]).to_numpy(), "end", "end_before_start",
           "the phase ends before it starts")
    for col in ("charged", "discharged"):
        c.each((f[col] < 0).to_numpy(), col, "negative", f"{col} is negative")
    has_q = (np.isfinite(f["charged"]) | np.isfinite(f["discharged"])).to_numpy()
    scale, _, _ = _units(c, "quantity_unit", lambda i: "[mass]", needed=has_q)
    f["charged_kg"] = f["charged"] * scale
    f["discharged_kg"] = f["discharged"] * scale


def _batches_sorted(c: Cleaning, **_: Any) -> None:
    f = c.frame
    prev_end = f.groupby("unit", sort=False)["end"].shift(1)
    prev_row = f.groupby("unit", sort=False)["row"].shift(1)
    over = (f["start"] < prev_end).to_numpy()
    c.each(over, "start", "overlap",
           lambda i: f"the unit is still busy with the phase of row {int(prev_row.iat[i])}")


# --------------------------------------------------------------------------- time series


def _timeseries(c: Cleaning, tagmap: Any = None, **_: Any) -> None:
    f = c.frame
    tags = pd.Series(f["tag"])
    want: dict[str, str] = {}
    if tagmap is not None:
        tm = tagmap.frame
        want = dict(zip(tm["tag"], tm["dimensionality"], strict=True))
        c.each((~tags.isin(want.keys()) & (tags != "")).to_numpy(), "tag", "unknown_tag",
               lambda i: f"tag {tags.iat[i]!r} is not in the tag map")
        f["signal"] = tags.map(dict(zip(tm["tag"], tm["signal"], strict=True))).to_numpy()
    first: dict[str, str] = {}

    def expect(i: int) -> str | None:
        return want.get(tags.iat[i]) if want else first.get(tags.iat[i])

    if not want:  # no tag map: every row of a tag must measure what its first row does
        for i in range(len(f)):
            unit = f["unit"].iat[i]
            if unit and not c.drop[i] and tags.iat[i] not in first:
                try:
                    first[tags.iat[i]] = si_conversion(unit)[2]
                except UnitError:
                    pass
    scale, offset, _ = _units(c, "unit", expect)
    f["value_si"] = f["value"].to_numpy() * scale + offset
    if tagmap is not None:
        _limits(c, tags, tagmap.frame)
    q = pd.Series(f["quality"])
    c.each((q == "bad").to_numpy(), "quality", "bad_quality", "the sample is flagged bad")
    c.each((q == "uncertain").to_numpy(), "quality", "uncertain_quality",
           "the sample is flagged uncertain", "kept")


def _limits(c: Cleaning, tags: pd.Series, tm: pd.DataFrame) -> None:
    """Drop samples outside the tag map's ``low`` / ``high`` (compared in SI)."""
    value = c.frame["value_si"].to_numpy()
    low = tags.map(dict(zip(tm["tag"], tm["low_si"], strict=True))).to_numpy(dtype=float)
    high = tags.map(dict(zip(tm["tag"], tm["high_si"], strict=True))).to_numpy(dtype=float)
    bounds = dict(zip(tm["tag"], zip(tm["low"], tm["high"], tm["unit"], strict=True),
                      strict=True))

    def say(i: int) -> str:
        lo, hi, unit = bounds[tags.iat[i]]
        return (f"{c.frame['value'].iat[i]:g} {c.frame['unit'].iat[i]} is outside the tag's "
                f"range [{lo:g}, {hi:g}] {unit}")

    c.each((value < low) | (value > high), "value", "out_of_range", say)


def _timeseries_sorted(c: Cleaning, tagmap: Any = None, max_gap: float | None = None,
                       **_: Any) -> None:
    _duplicates(c, ["tag", "time"], ["value_si"], "tag and time")
    f = c.frame
    live = _live(c)
    gaps = dict(zip(tagmap.frame["tag"], tagmap.frame["max_gap_s"], strict=True)) \
        if tagmap is not None else {}
    for tag, g in f[live].groupby("tag", sort=False):
        dt = g["time"].diff().dt.total_seconds().to_numpy()
        limit = max_gap or gaps.get(tag) or np.nan
        if not np.isfinite(limit) and len(g) > 2:
            limit = 5.0 * float(np.nanmedian(dt))
        for j in np.flatnonzero(dt > limit):
            c.issue(int(f.index.get_loc(g.index[j])), "time", "gap",
                    f"no sample of {tag!r} for {dt[j]:.0f} s before this row "
                    f"(limit {limit:.0f} s)", "kept")


# --------------------------------------------------------------------------- samples, tag map


def _samples(c: Cleaning, **_: Any) -> None:
    """Units by the row's quantity (blank: concentration), converted to SI: ``value_si``,
    ``basis`` (``molar`` or ``mass`` for a concentration); a wet-basis moisture becomes a
    dry-basis one (``quantity`` then ``moisture``)."""
    f = c.frame
    quantity = pd.Series(f["quantity"]).replace("", "concentration").to_numpy(dtype=object)
    f["quantity"] = quantity
    c.each((f["value"] < 0).to_numpy(), "value", "negative",
           lambda i: f"the {quantity[i].replace('_', ' ')} is negative")

    def expect(i: int) -> str | None:
        q = SAMPLE_QUANTITIES.get(quantity[i])
        return None if q is None or len(q.dimensions) > 1 else q.dimensions[0]

    scale, _, dims = _units(c, "unit", expect)
    for i, d in enumerate(dims):
        if d and quantity[i] == "concentration" and d not in CONCENTRATION and not c.drop[i]:
            c.issue(i, "unit", "unit_wrong", f"{f['unit'].iat[i]!r} is not a concentration "
                    "(amount or mass per volume)", "dropped")
    value = f["value"].to_numpy() * scale
    wet = quantity == "moisture_wet"
    c.each(wet & (value >= 1.0), "value", "out_of_range",
           lambda i: f"a wet-basis moisture of {value[i]:g} kg/kg leaves no dry solid")
    with np.errstate(divide="ignore", invalid="ignore"):
        f["value_si"] = np.where(wet, value / (1.0 - value), value)
    f["quantity"] = np.where(wet, "moisture", quantity)
    f["basis"] = [CONCENTRATION.get(d, "") for d in dims]


def _samples_sorted(c: Cleaning, **_: Any) -> None:
    _duplicates(c, ["batch", "species", "quantity", "time"], ["value_si"],
                "batch, species, quantity and time")


def _tagmap(c: Cleaning, **_: Any) -> None:
    f = c.frame
    scale, offset, dims = _units(c, "unit", None)
    f["dimensionality"] = dims
    low, high = f["low"].to_numpy(), f["high"].to_numpy()
    c.each(low > high, "high", "limits_crossed",
           lambda i: f"high {high[i]:g} is below low {low[i]:g}")
    f["low_si"] = low * scale + offset  # NaN (no limit) stays NaN
    f["high_si"] = high * scale + offset
    gaps = np.full(len(f), np.nan)
    for i, text in enumerate(f["max_gap"]):
        if text and not c.drop[i]:
            try:
                gaps[i] = to_si(text, "time")
            except UnitError as exc:
                c.issue(i, "max_gap", "not_a_number", str(exc), "dropped")
    f["max_gap_s"] = gaps
    _duplicates(c, ["tag"], ["signal", "unit"], "tag")


CHECKS: dict[str, Callable[..., None]] = {
    "events": _events, "states": _states, "batches": _batches, "timeseries": _timeseries,
    "samples": _samples, "tagmap": _tagmap,
}
AFTER_SORT: dict[str, Callable[..., None]] = {
    "events": _events_sorted, "states": _states_sorted, "batches": _batches_sorted,
    "timeseries": _timeseries_sorted, "samples": _samples_sorted,
}
