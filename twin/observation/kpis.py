"""KPIs of a run, per station and for the line, from the recorded tables.

Time elements and KPIs follow ISO 22400-2 where it defines them (names in capitals), computed
over the observation window [t0, t1] (after warm-up), summed over a station's servers:

- POT planned operation time = window length x servers; PDOT planned downtime = ``off`` +
  ``maintenance``; PBT planned busy time = POT - PDOT;
- APT actual production time = ``producing``; AUST actual unit setup time = ``setup``;
  ADOT actual unit down time = ``down`` (failures); ADET actual unit delay time = ``blocked`` +
  ``waiting`` (for an operator); idle (starved) time is not allocated to an order;
- AUBT actual unit busy time = AOET = APT + AUST + ADET + ADOT; AUPT = APT + AUST;
- availability = APT / PBT = allocation efficiency (AUBT / PBT) x utilisation efficiency
  (APT / AUBT); effectiveness = sum(PRI x PQ) / APT with PRI the planned run time per item:
  the station's ideal cycle time (``ideal_cycle_time``, by default the fastest cycle of its
  cycle-time distribution, see :mod:`twin.data.ideal_time`; for a process unit without one,
  each batch's own phase durations without waiting for utilities and without stops, so its
  effectiveness is the share of production time not lost to utility capacity); an item
  begun before the window counts only the planned time left after ``t0``, so effectiveness
  <= 1 whenever no cycle beats the ideal; quality ratio = GQ / PQ; OEE = availability x
  effectiveness x quality ratio; setup rate = AUST / AUPT; scrap ratio = SQ / PQ; rework
  ratio = RQ / PQ; MTBF = APT / failures; MTTR = repair time / failures.

Not ISO 22400 (labelled so in reports): energy, CO2e and primary energy per good unit. They
count every carrier (:mod:`twin.observation.energy`): ``kwh_per_good_unit`` is all final
energy (the stations' electricity plus the utilities' electricity and natural gas at its
lower heating value), with ``kwh_per_good_unit_<carrier>`` its parts, and
``co2e_kg_per_good_unit`` is scope 1 (gas burnt on site) + scope 2 (all electricity).
``electricity_kwh``, ``co2e_kg`` and ``kgce`` stay the stations' own electricity, its scope 2
CO2e and primary energy.
``lost_arrivals``: arrivals in the window that found the line full and never entered (sources
with ``when_full = "lost"``; not ISO 22400).
The bottleneck is the station with the largest active fraction (producing, setup or down:
neither starved nor blocked) of its planned busy time. The shifting bottleneck method
(:mod:`twin.observation.bottlenecks`) adds each station's sole and shifting bottleneck
fractions and names the ``shifting_bottleneck``: the station that is the bottleneck, alone or
shifting, for the largest part of the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.registry import phase_models
from twin.observation.bottlenecks import active_periods, bottleneck_fractions
from twin.observation.energy import by_carrier, column_total, energy_kpis, window_utilities
from twin.observation.ledger import clipped_durations
from twin.observation.recorder import STATES
from twin.observation.schema import labels

HOUR = 3600.0


def time_weighted_wip(created: np.ndarray, done: np.ndarray, t0: float, t1: float) -> float:
    """Mean number of parts in the line over [t0, t1]; ``done`` is ``inf`` for parts still in."""
    return float(clipped_durations(created, done, t0, t1).sum() / (t1 - t0))


def station_kpis(line: S.LineSpec, tables: dict[str, pd.DataFrame], t0: float,
                 t1: float) -> pd.DataFrame:
    """One row of time elements, counts and KPIs per equipment station."""
    states, events, stops = tables["states"], tables["events"], tables["stops"]
    secs = clipped_durations(states["start"].to_numpy(), states["end"].to_numpy(), t0, t1)
    by_state = (pd.DataFrame({"station": labels(states["station"]),
                              "state": labels(states["state"]), "s": secs})
                .groupby(["station", "state"], observed=True)["s"].sum()
                .unstack(fill_value=0.0))
    in_window = events[(events["time"] >= t0) & (events["time"] <= t1)]
    counts = _crosstab(labels(in_window["station"]), labels(in_window["kind"]))
    items = item_starts(events, t0, t1)
    stop_win = stops[(stops["start"] >= t0) & (stops["start"] <= t1)]
    fails = stop_win[stop_win["kind"] == "failure"]
    rows = []
    for name, st in line.stations.items():
        if not isinstance(st, S.Equipment):
            continue
        t = {s: float(by_state.at[name, s]) if (name in by_state.index and s in by_state.columns)
             else 0.0 for s in STATES}
        c = {k: int(counts.at[name, k]) if (name in counts.index and k in counts.columns)
             else 0 for k in ("end", "scrap", "rework")}
        planned = planned_time(st, name, items, tables.get("phases"), t0, t1)
        n_fail = int((fails["station"] == name).sum())
        repair = float(fails.loc[fails["station"] == name, "duration"].sum())
        rows.append(station_row(name, st, t, c, planned, n_fail, repair, t0, t1))
    table = pd.DataFrame(rows)
    if len(table) and t1 > t0:
        # periods over the whole run: one that began in the warm-up counts at its length
        add_bottleneck_fractions(table, active_periods(states, 0.0, t1), t0, t1)
    return table


def _crosstab(rows: pd.Series, cols: pd.Series) -> pd.DataFrame:
    """Rows of each (row name, column name) pair, over every category of both (0 where
    none); counted on the codes (a groupby of millions of rows costs seconds)."""
    nr, nc = len(rows.cat.categories), len(cols.cat.categories)
    r, c = rows.cat.codes.to_numpy().astype(np.int64), cols.cat.codes.to_numpy()
    key = (r * nc + c)[(r >= 0) & (c >= 0)]  # a missing name (code -1) counts nowhere
    return pd.DataFrame(np.bincount(key, minlength=nr * nc).reshape(nr, nc),
                        index=rows.cat.categories, columns=cols.cat.categories)


def station_row(name: str, st: S.Equipment, t: dict[str, float], c: dict[str, int],
                planned: float, n_fail: int, repair: float, t0: float,
                t1: float) -> dict[str, object]:
    """One station's time elements, counts and KPIs over [t0, t1] [s].

    ``t``: seconds in each state of :data:`STATES`, summed over the servers, inside the
    window; ``c``: ``end``, ``scrap`` and ``rework`` events in the window; ``planned``: the
    planned run time of the items finished in it (:func:`planned_time`) [s]; ``n_fail`` and
    ``repair`` [s]: failures that began in the window and their repair time. Both recordings
    (tables, or the compiled engine's accumulators) give these, so both report the same KPIs.
    """
    pot = (t1 - t0) * st.servers
    pdot = t["off"] + t["maintenance"]
    pbt = pot - pdot
    apt, aust, adot = t["producing"], t["setup"], t["down"]
    adet = t["blocked"] + t["waiting"]
    aubt = apt + aust + adet + adot
    pq, sq, rq = c["end"], c["scrap"], c["rework"]
    gq = pq - sq - rq
    availability = _ratio(apt, pbt)
    effectiveness = _ratio(planned, apt)
    quality = _ratio(gq, pq)
    return {
        "station": name, "type": st.type, "servers": st.servers,
        "POT_h": pot / HOUR, "PDOT_h": pdot / HOUR, "PBT_h": pbt / HOUR,
        "APT_h": apt / HOUR, "AUST_h": aust / HOUR, "ADET_h": adet / HOUR,
        "ADOT_h": adot / HOUR, "AUBT_h": aubt / HOUR, "idle_h": t["idle"] / HOUR,
        "PQ": pq, "GQ": gq, "SQ": sq, "RQ": rq,
        "utilisation": availability,
        "blocked_fraction": _ratio(t["blocked"], pbt),
        "starved_fraction": _ratio(t["idle"], pbt),
        "down_fraction": _ratio(adot, pbt),
        "setup_fraction": _ratio(aust, pbt),
        "waiting_fraction": _ratio(t["waiting"], pbt),
        "active_fraction": _ratio(apt + aust + adot, pbt),
        "availability": availability,
        "allocation_efficiency": _ratio(aubt, pbt),
        "utilisation_efficiency": _ratio(apt, aubt),
        "effectiveness": effectiveness,
        "quality_ratio": quality,
        "oee": availability * effectiveness * quality,
        "throughput_rate_per_h": _ratio(pq, aubt / HOUR),
        "setup_rate": _ratio(aust, apt + aust),
        "scrap_ratio": _ratio(sq, pq),
        "rework_ratio": _ratio(rq, pq),
        "failures": n_fail,
        "MTBF_h": _ratio(apt, n_fail) / HOUR if n_fail else np.nan,
        "MTTR_h": _ratio(repair, n_fail) / HOUR if n_fail else np.nan,
    }


def add_bottleneck_fractions(table: pd.DataFrame, periods: dict[str, np.ndarray], t0: float,
                             t1: float) -> None:
    """Add each station's sole and shifting bottleneck fractions over [t0, t1] to the station
    table (in place), from the stations' active periods (:mod:`.bottlenecks`)."""
    where = {name: i for i, name in enumerate(periods)}
    rows = [where.get(name, -1) for name in table["station"].tolist()]
    for values, name in zip(bottleneck_fractions(periods, t0, t1),
                            ("bottleneck_sole_fraction", "bottleneck_shifting_fraction"),
                            strict=True):
        got = [float(values[i]) if i >= 0 else 0.0 for i in rows]
        table[name] = np.array([v if v == v else 0.0 for v in got], dtype=float)  # NaN: 0


def item_starts(events: pd.DataFrame, t0: float, t1: float) -> pd.DataFrame:
    """Items finished at each station in [t0, t1]: ``station, product, start, end`` [s], the
    start being the item's ``start`` event at that station (its last before the end);
    ``station`` and ``product`` are categoricals (the tables' names)."""
    ev = events[events["kind"].isin(["start", "end"])]
    stations, products = labels(ev["station"]), labels(ev["product"])
    names = np.asarray(stations.cat.categories, dtype=object)
    station = stations.cat.codes.to_numpy()  # codes keep stations apart as names do
    part = ev["part"].to_numpy()
    time = ev["time"].to_numpy(dtype=float)
    is_end = (ev["kind"] == "end").to_numpy()
    order = np.lexsort((np.arange(len(ev)), time, part, station))  # then as recorded
    station, part, time, is_end = station[order], part[order], time[order], is_end[order]
    product = products.cat.codes.to_numpy()[order]
    prev = np.roll(np.arange(len(order)), 1)
    paired = ((~is_end[prev]) & (part[prev] == part) & (station[prev] == station)
              if len(order) else np.zeros(0, dtype=bool))
    start = np.where(paired, time[prev], time)
    keep = is_end & (time >= t0) & (time <= t1)
    return pd.DataFrame({"station": pd.Categorical.from_codes(station[keep], names),
                         "product": pd.Categorical.from_codes(product[keep],
                                                              products.cat.categories),
                         "start": start[keep], "end": time[keep]})


def planned_time(st: S.Equipment, name: str, items: pd.DataFrame,
                 phases: pd.DataFrame | None, t0: float, t1: float) -> float:
    """Planned run time [s] of what ``st`` finished in [t0, t1]: the sum over items of the
    planned time per item (PRI, the ideal cycle time; a process batch without a stated one:
    its phases' own durations without waiting and stops, ``planned_s``), less the part of an
    item's cycle that lay before ``t0`` (at least what it produced before the window; the
    parts of a batch share it), so that planned time never exceeds the production time in
    the window when no cycle is faster than the ideal."""
    if isinstance(st, S.Process) and st.ideal_cycle_time is None:
        if phases is None or not len(phases) or "planned_s" not in phases:
            return 0.0
        setup = [k for k, cls in phase_models().items() if cls.unit_state == "setup"]
        ph = phases[(phases["station"].astype(str) == name) & ~phases["kind"].isin(setup)
                    & (phases["end"] >= t0) & (phases["end"] <= t1)]
        before = np.clip(t0 - ph["start"].to_numpy(dtype=float), 0.0, None)
        return float(np.clip(ph["planned_s"].to_numpy(dtype=float) - before, 0.0, None).sum())
    mine = items[items["station"] == name]
    code, products = mine["product"].cat.codes.to_numpy(), mine["product"].cat.categories
    per_code = np.full(len(products), np.nan)
    for c in np.unique(code):  # the products it made
        per_code[c] = st.planned_time_per_item(products[c])
    pri = per_code[code]
    before = np.clip(t0 - mine["start"].to_numpy(dtype=float), 0.0, None)
    per_cycle = pri * getattr(st, "batch_size", 1)  # a batch's parts share one cycle
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(before > 0, np.clip(1.0 - before / per_cycle, 0.0, 1.0), 1.0)
    return float((pri * left).sum())


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")


@dataclass(frozen=True)
class LineTallies:
    """What the line KPIs are made of, over the window: counts, the time-weighted WIP and
    the lead time of the good parts (mean, median, 95th percentile) [s] (NaN without good
    parts). Read from the tables (:func:`line_tallies`) or the compiled engine's
    accumulators (:mod:`twin.observation.accumulated`)."""

    good: int
    scrap: int
    rework: int
    lost: int
    first_pass: int
    wip_mean: float
    lead_mean: float
    lead_p50: float
    lead_p95: float


def line_tallies(tables: dict[str, pd.DataFrame], t0: float, t1: float) -> LineTallies:
    """The line tallies of the window [t0, t1] [s] from the recorded tables."""
    parts = tables["parts"]
    done = parts["done"].to_numpy()
    fate = parts["fate"].astype(str).to_numpy()
    in_win = (done >= t0) & (done <= t1)
    good = in_win & (fate == "good")
    scrap = in_win & (fate == "scrap")
    lead = (done - parts["created"].to_numpy())[good]
    events = tables["events"]
    ev_win = (events["time"] >= t0) & (events["time"] <= t1)
    # Parts of the line (not consumed components) for WIP: created, finished (inf if still in).
    created_ev = events[events["kind"] == "created"]
    created = created_ev["time"].to_numpy()
    finish = pd.Series(done, index=parts["part"].to_numpy()).reindex(
        created_ev["part"].to_numpy()).fillna(np.inf).to_numpy()
    nan = float("nan")
    return LineTallies(
        good=int(good.sum()), scrap=int(scrap.sum()),
        rework=int(((events["kind"] == "rework") & ev_win).sum()),
        lost=int(((events["kind"] == "lost") & ev_win).sum()),
        first_pass=int((good & (parts["reworks"].to_numpy() == 0)).sum()),
        wip_mean=time_weighted_wip(created, finish, t0, t1),
        lead_mean=float(lead.mean()) if lead.size else nan,
        lead_p50=float(np.percentile(lead, 50)) if lead.size else nan,
        lead_p95=float(np.percentile(lead, 95)) if lead.size else nan)


def line_kpis(line: S.LineSpec, tables: dict[str, pd.DataFrame], stations: pd.DataFrame,
              energy: pd.DataFrame, t0: float, t1: float) -> dict[str, float | str | int]:
    """Line-level KPIs over the window [t0, t1] [s] from the recorded tables."""
    utilities = window_utilities(line, tables.get("phases"), t0) if line.utilities else None
    return line_row(line, line_tallies(tables, t0, t1), stations, energy, utilities, t0, t1)


TIE = 1e-9
"""Fractions this close count as equal when a KPI picks the largest (sums of the same state
times in another order, as tables and accumulators make them, differ in the last bits)."""


def _first_max(values: np.ndarray) -> int:
    """The first index whose value is the largest, to within :data:`TIE`."""
    return int(np.flatnonzero(values >= values.max() - TIE)[0])


def line_row(line: S.LineSpec, tally: LineTallies, stations: pd.DataFrame,
             energy: pd.DataFrame, utilities: pd.DataFrame | None, t0: float,
             t1: float) -> dict[str, float | str | int]:
    """Line-level KPIs over the window [t0, t1] [s] from the line's tallies, the station
    KPIs, the electricity ledger and the utility ledger (``None`` without utilities)."""
    gq, sq = tally.good, tally.scrap
    pq = gq + sq
    hours = (t1 - t0) / HOUR
    kwh, co2, kgce = (column_total(energy, c) for c in ("kwh", "kg_co2e", "kgce"))
    names = stations["station"].tolist() if len(stations) else []
    bottleneck = ""
    oee = utilisation = float("nan")
    if names:
        active = stations["active_fraction"].to_numpy(dtype=float)
        at = _first_max(np.where(np.isnan(active), -1.0, active))
        bottleneck = str(names[at])
        oee = float(stations["oee"].to_numpy(dtype=float)[at])
        utilisation = float(stations["utilisation"].to_numpy(dtype=float)[at])
    shifting = ""
    if names and "bottleneck_sole_fraction" in stations:
        share = (stations["bottleneck_sole_fraction"].to_numpy(dtype=float)
                 + stations["bottleneck_shifting_fraction"].to_numpy(dtype=float))
        if share.max() > 0:
            shifting = str(names[_first_max(share)])
    return {
        "window_h": hours,
        "good_units": gq,
        "scrap_units": sq,
        "rework_events": tally.rework,
        "lost_arrivals": tally.lost,
        "throughput_per_h": gq / hours,
        "wip_mean": tally.wip_mean,
        "lead_time_mean_h": tally.lead_mean / HOUR,
        "lead_time_p50_h": tally.lead_p50 / HOUR,
        "lead_time_p95_h": tally.lead_p95 / HOUR,
        "quality_ratio": _ratio(gq, pq),
        "scrap_ratio": _ratio(sq, pq),
        "first_pass_yield": _ratio(tally.first_pass, pq),
        "bottleneck": bottleneck,
        "bottleneck_oee": oee,
        "bottleneck_utilisation": utilisation,
        "shifting_bottleneck": shifting,
        "electricity_kwh": kwh,
        "co2e_kg": co2,
        "kgce": kgce,
        **energy_kpis(by_carrier(line, energy, utilities), gq, bool(line.species)),
    }
