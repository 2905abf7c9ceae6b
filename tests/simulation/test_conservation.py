"""Flow conservation: no part is created or lost anywhere but where the spec says.

Reference: the conservation law of a flow network, evaluated on the raw event table
independently of the engine's bookkeeping. For every station s:

    parts in(s) = parts out(s) + parts held by s at the end (+ parts on their way from s)

with in(s) = ``created`` events at a source, ``arrive`` events at equipment, ``exit`` events
at a sink; out(s) = arrivals elsewhere (and exits) whose previous event is at s, plus
``scrap`` and ``consumed`` events at s. "Held at the end" is the engine's own count,
``provenance["end_wip"]``; parts on a transport are its ``"(in transit)"`` entry. For the
whole line: created = good + scrap + consumed + WIP at the end, and the parts table agrees with
the terminal events.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from lines_for_tests import const, expo

from twin.orchestration.run import RunResult, run

REFERENCE_LINE = "lines/servo_actuator/line.toml"
TRANSIT = "(in transit)"


# --------------------------------------------------------------------------- random lines


def random_line(seed: int) -> dict[str, Any]:
    """A random serial/branching line: a mixed source, 2-3 layers of machines with random
    servers, finite or unlimited buffers and setups, probabilistic or least-loaded routes
    (some with a transport delay), an assembly fed by its own component source, and an
    inspection with scrap and a rework loop, then a sink."""
    rng = np.random.default_rng(seed)
    stations: dict[str, Any] = {}
    lam = 1.0  # parts per second from the main source
    stations["src"] = {"type": "source", "mix": {"A": 0.6, "B": 0.4},
                       "lot_size": int(rng.integers(1, 4)), "interarrival": expo(1.0 / lam)}
    previous = ["src"]
    share = {"src": 1.0}  # fraction of the flow through each station
    for layer in range(int(rng.integers(2, 4))):
        names = [f"L{layer}_{j}" for j in range(int(rng.integers(1, 3)))]
        new_share = dict.fromkeys(names, 0.0)
        for prev in previous:
            if len(names) == 1:
                routes = [{"to": names[0]}]
                new_share[names[0]] += share[prev]
            elif rng.random() < 0.5:
                p = float(rng.uniform(0.2, 0.8))
                routes = [{"to": names[0], "probability": p},
                          {"to": names[1], "probability": 1.0 - p}]
                new_share[names[0]] += share[prev] * p
                new_share[names[1]] += share[prev] * (1.0 - p)
            else:  # least loaded
                routes = [{"to": n} for n in names]
                for n in names:
                    new_share[n] += share[prev] / len(names)
            if rng.random() < 0.3:
                routes[0]["delay"] = expo(float(rng.uniform(0.5, 3.0)))
            stations[prev]["routes"] = routes
        for n in names:
            servers = int(rng.integers(1, 3))
            rho = float(rng.uniform(0.5, 0.85))
            mean = rho * servers / (lam * max(new_share[n], 0.1))
            st: dict[str, Any] = {
                "type": "machine", "servers": servers,
                "cycle_time": expo(mean) if rng.random() < 0.5 else
                {"dist": "uniform", "low": f"{0.5 * mean!r} s", "high": f"{1.5 * mean!r} s"},
            }
            if rng.random() < 0.6:
                st["buffer"] = int(rng.integers(1, 5))
            if rng.random() < 0.3:
                st["setup_time"] = const(0.2 * mean)
            stations[n] = st
        previous, share = names, new_share
    for prev in previous:
        stations[prev]["routes"] = [{"to": "asm"}]
    stations["kits"] = {"type": "source", "product": "C", "interarrival": expo(0.9 / lam),
                        "to": "asm"}
    stations["asm"] = {"type": "assembly", "base": ["A", "B"], "components": {"C": 1},
                       "cycle_time": expo(0.6 / lam), "to": "insp"}
    stations["insp"] = {"type": "inspection", "cycle_time": expo(0.5 / lam),
                        "scrap_probability": float(rng.uniform(0.02, 0.1)),
                        "rework_probability": float(rng.uniform(0.05, 0.2)),
                        "rework_to": "fix", "max_reworks": 1, "to": "out"}
    stations["fix"] = {"type": "machine", "cycle_time": expo(2.0 / lam), "servers": 2,
                       "to": "insp"}
    stations["out"] = {"type": "sink"}
    return {"line": {"name": f"random{seed}"}, "products": {"A": {}, "B": {}, "C": {}},
            "stations": stations}


# --------------------------------------------------------------------------- the balance


def station_balance(r: RunResult) -> pd.DataFrame:
    """Per station: parts in, parts out (by way), held at the end (engine), and the residual
    in - out - held, which must be zero except for parts on a transport."""
    ev = r.tables["events"]
    kind = ev["kind"].astype(str).to_numpy()
    station = ev["station"].astype(str).to_numpy()
    part = ev["part"].to_numpy()
    order = np.argsort(part, kind="stable")  # per part, in the order things happened
    k, s, p = kind[order], station[order], part[order]
    same_part = np.r_[False, p[1:] == p[:-1]]
    prev_station = np.r_[[""], s[:-1]]
    entry = (k == "arrive") | (k == "exit")
    moved = same_part & entry
    assert not np.any(entry & ~same_part), "a part arrived somewhere without being created"

    rows = []
    for name, st in r.line.stations.items():
        here = s == name
        if st.type == "source":
            n_in = int(np.sum(here & (k == "created")))
        elif st.type == "sink":
            n_in = int(np.sum(here & (k == "exit")))
        else:
            n_in = int(np.sum(here & (k == "arrive")))
        onward = int(np.sum(moved & (prev_station == name)))
        scrap = int(np.sum(here & (k == "scrap")))
        consumed = int(np.sum(here & (k == "consumed")))
        exits = int(np.sum(here & (k == "exit")))
        held = int(r.provenance["end_wip"][name])
        rows.append({"station": name, "type": st.type, "in": n_in, "onward": onward,
                     "exit": exits, "scrap": scrap, "consumed": consumed, "held_end": held,
                     "residual": n_in - onward - exits - scrap - consumed - held})
    return pd.DataFrame(rows).set_index("station")


def delayed_from(r: RunResult) -> set[str]:
    """Stations with at least one route that has a transport delay."""
    return {name for name, st in r.line.stations.items()
            if any(route.delay is not None for route in st.routes)}


def check_conservation(r: RunResult) -> list[str]:
    """Every violation of station and line conservation in run ``r``."""
    problems: list[str] = []
    bal = station_balance(r)
    transit = int(r.provenance["end_wip"][TRANSIT])
    delayed = delayed_from(r)
    for name, row in bal.iterrows():
        if row["residual"] < 0 or (row["residual"] > 0 and name not in delayed):
            problems.append(
                f"station {name!r} ({row['type']}): in {row['in']} != onward {row['onward']}"
                f" + exit {row['exit']} + scrap {row['scrap']} + consumed {row['consumed']}"
                f" + held at end {row['held_end']} (residual {row['residual']})")
    if int(bal["residual"].sum()) != transit:
        problems.append(f"parts unaccounted for by stations {int(bal['residual'].sum())} "
                        f"!= parts in transit {transit}")

    ev, parts = r.tables["events"], r.tables["parts"]
    kinds = ev["kind"].astype(str)
    created = int((kinds == "created").sum())
    fate = parts["fate"].astype(str).value_counts().to_dict()
    good, scrap, consumed = (int(fate.get(f, 0)) for f in ("good", "scrap", "consumed"))
    wip = sum(int(v) for v in r.provenance["end_wip"].values())
    if created != good + scrap + consumed + wip:
        problems.append(f"line: created {created} != good {good} + scrap {scrap} + consumed "
                        f"{consumed} + WIP at end {wip}")
    for fate_name, ev_kind in (("good", "exit"), ("scrap", "scrap"),
                               ("consumed", "consumed")):
        n_ev = int((kinds == ev_kind).sum())
        if int(fate.get(fate_name, 0)) != n_ev:
            problems.append(f"parts table: {fate.get(fate_name, 0)} {fate_name} parts but "
                            f"{n_ev} '{ev_kind}' events")
    if parts["part"].duplicated().any():
        problems.append("a part left the line twice")
    return problems


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_random_line_conserves_parts(seed: int) -> None:
    """Conservation at every station and for the line, on a random branching line."""
    spec = random_line(seed)
    r = run(spec, duration=3000.0, warmup=0.0, seed=seed)
    assert int(r.kpis["good_units"]) > 500, "the random line hardly produced anything"
    problems = check_conservation(r)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("duration", ["2 d", "5 d", "9.3 d"])
def test_reference_line_conserves_parts(duration: str) -> None:
    """Conservation on the servo-actuator line (shifts, failures, setups, operators,
    assembly, inspection with rework, batch oven), ending at different times of the week."""
    r = run(REFERENCE_LINE, duration=duration, warmup="0 s", seed=11)
    assert int(r.kpis["good_units"]) > 0
    problems = check_conservation(r)
    assert not problems, "\n".join(problems)


def test_balance_detects_a_lost_part() -> None:
    """The balance itself can fail: hiding one finished part's exit adds violations."""
    spec = random_line(2)
    r = run(spec, duration=500.0, warmup=0.0, seed=2)
    before = set(check_conservation(r))
    ev = r.tables["events"]
    lost = ev.index[ev["kind"].astype(str) == "exit"][0]
    r.tables["events"] = ev.drop(index=lost).reset_index(drop=True)
    after = set(check_conservation(r))
    assert after - before, "removing an exit event went unnoticed"
