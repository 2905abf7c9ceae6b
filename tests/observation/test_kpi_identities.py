"""KPI identities on a line with failures, setups, maintenance, shifts, operators and an
inspection with scrap and rework.

References: the ISO 22400-2 definitions of the time elements and KPIs (as written in the
docstring of ``twin.observation.kpis``), recomputed here from the raw ``states`` and
``events`` tables and from the spec values written in this file, not from the library's
helpers; and E = P x t for the electricity ledger, with the power of each state taken from the
spec below and the documented defaults (blocked and waiting draw as idle, setup as producing,
anything unset zero). Identities are exact up to floating-point rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twin.orchestration.run import RunResult, run

HOUR = 3600.0
J_PER_KWH = 3.6e6
WARMUP_S = 1.5 * 86400.0
DURATION_S = 9.0 * 86400.0  # ends on the second Thursday at noon, in a shift
T0, T1 = WARMUP_S, WARMUP_S + DURATION_S
REL = 1e-9

GRID_KG_PER_KWH = 0.5306  # the spec's default grid factor (MEE & NBS 2023)
KGCE_PER_KWH = 0.1229  # the spec's default primary energy factor (GB/T 2589)

# Power per state [kW] as written in the spec; None = not written.
POWER_KW: dict[str, dict[str, float | None]] = {
    "press": {"producing": 10.0, "idle": 2.0, "blocked": None, "setup": None,
              "waiting": 3.0, "down": 0.5, "maintenance": None, "off": 0.1},
    "paint": {"producing": 6.0, "idle": 1.5, "blocked": 1.0, "setup": None,
              "waiting": None, "down": None, "maintenance": 0.7, "off": None},
    "test": {"producing": 2.0, "idle": 0.5, "blocked": None, "setup": None,
             "waiting": None, "down": None, "maintenance": None, "off": 0.05},
    "fixer": {"producing": 0.8, "idle": 0.2, "blocked": None, "setup": None,
              "waiting": 0.4, "down": None, "maintenance": None, "off": None},
}
DEFAULT_AS = {"blocked": "idle", "waiting": "idle", "setup": "producing"}


def power_w(station: str, state: str) -> float:
    """Power [W] of a state per the documented defaults."""
    spec = POWER_KW[station]
    kw = spec.get(state)
    if kw is None:
        kw = spec[DEFAULT_AS[state]] if state in DEFAULT_AS else 0.0
    return float(kw or 0.0) * 1000.0


def _power_table(station: str) -> dict[str, str]:
    return {s: f"{kw} kW" for s, kw in POWER_KW[station].items() if kw is not None}


# Planned run time per item (the ideal cycle time: the lower end of the cycle-time
# distribution if positive, else its 5 % quantile) [s] by station and product, from the spec,
# with SciPy's quantile functions as the reference.
PRI = {
    ("press", "P"): float(stats.expon(scale=240.0).ppf(0.05)),  # exponential, mean 4 min
    ("press", "Q"): 3.0 * 60.0,  # uniform 3..7 min
    ("paint", "P"): 3.5 * 60.0,  # constant
    ("paint", "Q"): 3.5 * 60.0,
    # normal(3 min, 0.5 min) truncated at 0: 5 % quantile of the truncated law
    ("test", "P"): float(stats.truncnorm(-6.0, np.inf, loc=180.0, scale=30.0).ppf(0.05)),
    ("test", "Q"): float(stats.truncnorm(-6.0, np.inf, loc=180.0, scale=30.0).ppf(0.05)),
    ("fixer", "P"): 10.0 * 60.0,  # triangular, low 10 min
    ("fixer", "Q"): 10.0 * 60.0,
}


def kpi_line() -> dict[str, Any]:
    """Two sources (one product each, so a part's product is known from where it was
    created) -> press (2 servers, setups with a setter, operating failures) -> paint (runs
    through the night, calendar failures, maintenance) -> test (scrap, rework to a fixer
    that needs the setter) -> sink; two shifts on working days."""
    return {
        "line": {"name": "kpi_identities"},
        "calendar": {"days": ["mon", "tue", "wed", "thu", "fri"],
                     "shifts": [{"start": "06:00", "end": "14:00"},
                                {"start": "14:00", "end": "22:00"}]},
        "products": {"P": {}, "Q": {}},
        "operators": {"setters": {"count": 1}},
        "stations": {
            "srcP": {"type": "source", "product": "P",
                     "interarrival": {"dist": "exponential", "mean": "15 min"}, "to": "press"},
            "srcQ": {"type": "source", "product": "Q",
                     "interarrival": {"dist": "exponential", "mean": "20 min"},
                     "to": "press"},
            "press": {
                "type": "machine", "servers": 2, "buffer": 4,
                "cycle_time": {"dist": "exponential", "mean": "4 min"},
                "product_cycle_time": {"Q": {"dist": "uniform", "low": "3 min",
                                             "high": "7 min"}},
                "setup_time": "3 min",
                "operator": {"pool": "setters", "during": "setup"},
                "failures": [{"basis": "operating",
                              "ttf": {"dist": "exponential", "mean": "6 h"},
                              "ttr": {"dist": "exponential", "mean": "30 min"}}],
                "power": _power_table("press"),
                "to": "paint"},
            "paint": {
                "type": "machine", "buffer": 2, "cycle_time": "3.5 min",
                "follows_calendar": False,
                "failures": [{"name": "pump", "basis": "calendar",
                              "ttf": {"dist": "exponential", "mean": "20 h"},
                              "ttr": "1 h"}],
                "maintenance": {"every": "48 h", "duration": "2 h", "first": "10 h"},
                "power": _power_table("paint"),
                "to": "test"},
            "test": {
                "type": "inspection", "buffer": 2,
                "cycle_time": {"dist": "normal", "mean": "3 min", "std": "0.5 min"},
                "scrap_probability": 0.03, "rework_probability": 0.1,
                "rework_to": "fixer", "max_reworks": 2,
                "power": _power_table("test"),
                "to": "pack"},
            "fixer": {
                "type": "machine",
                "cycle_time": {"dist": "triangular", "low": "10 min", "mode": "15 min",
                               "high": "30 min"},
                "operator": {"pool": "setters", "during": "processing"},
                "power": _power_table("fixer"),
                "to": "test"},
            "pack": {"type": "sink"},
        },
    }


@pytest.fixture(scope="module")
def result() -> RunResult:
    return run(kpi_line(), duration=DURATION_S, warmup=WARMUP_S, seed=2024)


def state_seconds(r: RunResult) -> pd.DataFrame:
    """Seconds per station and state inside [T0, T1], from the raw state intervals."""
    st = r.tables["states"]
    start = st["start"].to_numpy()
    end = st["end"].to_numpy()
    secs = np.clip(np.minimum(end, T1) - np.maximum(start, T0), 0.0, None)
    frame = pd.DataFrame({"station": st["station"].astype(str).to_numpy(),
                          "state": st["state"].astype(str).to_numpy(), "s": secs})
    table = frame.groupby(["station", "state"])["s"].sum().unstack(fill_value=0.0)
    for s in ("producing", "idle", "blocked", "setup", "down", "off", "maintenance",
              "waiting"):
        if s not in table.columns:
            table[s] = 0.0
    return table


def rows(r: RunResult) -> dict[str, dict[str, Any]]:
    st = r.tables["stations"]
    return {row["station"]: row for row in st.to_dict("records")}


def test_line_exercises_every_state(result: RunResult) -> None:
    """The identities below are only meaningful if every time element is non-zero."""
    secs = state_seconds(result)
    assert secs.loc["press", "setup"] > 0 and secs.loc["press", "down"] > 0
    assert secs.loc["press", "off"] > 0 and secs.loc["press", "waiting"] > 0
    assert secs.loc["paint", "maintenance"] > 0 and secs.loc["paint", "down"] > 0
    assert secs.loc["paint", "off"] == 0  # runs through the night
    assert secs["blocked"].sum() > 0 and secs["idle"].min() > 0
    assert secs.loc["fixer", "waiting"] > 0
    ev = result.tables["events"]
    kinds = ev["kind"].astype(str)
    assert (kinds == "scrap").sum() > 10 and (kinds == "rework").sum() > 10


def test_state_intervals_partition_time(result: RunResult) -> None:
    """Each unit's state intervals tile [0, end] with no gap and no overlap."""
    st = result.tables["states"]
    for unit, g in st.groupby("unit"):
        g = g.sort_values("start", kind="stable")
        start, end = g["start"].to_numpy(), g["end"].to_numpy()
        assert start[0] == 0.0, f"unit {unit} starts at {start[0]}"
        assert end[-1] == pytest.approx(T1, rel=REL), f"unit {unit} ends at {end[-1]}"
        assert np.all(end > start)
        assert np.allclose(start[1:], end[:-1], rtol=0, atol=1e-6), f"unit {unit} gap"


def test_time_elements_partition_pot(result: RunResult) -> None:
    """APT + AUST + ADET + ADOT + idle + PDOT = POT = window x servers, every station; and
    each element equals its states summed from the raw intervals."""
    secs = state_seconds(result)
    servers = {"press": 2, "paint": 1, "test": 1, "fixer": 1}
    for name, row in rows(result).items():
        pot = (T1 - T0) * servers[name] / HOUR
        assert row["POT_h"] == pytest.approx(pot, rel=REL)
        total = (row["APT_h"] + row["AUST_h"] + row["ADET_h"] + row["ADOT_h"] + row["idle_h"]
                 + row["PDOT_h"])
        assert total == pytest.approx(row["POT_h"], rel=1e-9), name
        s = secs.loc[name] / HOUR
        assert row["APT_h"] == pytest.approx(s["producing"], rel=REL, abs=1e-12), name
        assert row["AUST_h"] == pytest.approx(s["setup"], rel=REL, abs=1e-12), name
        assert row["ADOT_h"] == pytest.approx(s["down"], rel=REL, abs=1e-12), name
        assert row["ADET_h"] == pytest.approx(s["blocked"] + s["waiting"], rel=REL,
                                              abs=1e-12), name
        assert row["idle_h"] == pytest.approx(s["idle"], rel=REL, abs=1e-12), name
        assert row["PDOT_h"] == pytest.approx(s["off"] + s["maintenance"], rel=REL,
                                              abs=1e-12), name
        assert row["PBT_h"] == pytest.approx(pot - row["PDOT_h"], rel=REL), name


def test_availability_oee_quality(result: RunResult) -> None:
    """availability = APT / PBT = allocation efficiency x utilisation efficiency;
    quality = GQ / PQ with PQ, SQ, RQ counted from the events; effectiveness =
    sum(PRI x PQ) / APT with PRI the ideal cycle time of each part's product, less the part
    of an item's time (from its ``start`` event) before the window; OEE = availability x
    effectiveness x quality."""
    ev = result.tables["events"]
    kind = ev["kind"].astype(str)
    station = ev["station"].astype(str)
    created = ev[kind == "created"]
    product = pd.Series(np.where(created["station"].astype(str) == "srcP", "P", "Q"),
                        index=created["part"].to_numpy())
    in_win = (ev["time"] >= T0) & (ev["time"] <= T1)
    problems: list[str] = []
    for name, row in rows(result).items():
        apt, pbt, aubt = row["APT_h"], row["PBT_h"], row["AUBT_h"]
        assert aubt == pytest.approx(apt + row["AUST_h"] + row["ADET_h"] + row["ADOT_h"],
                                     rel=REL)
        assert row["availability"] == pytest.approx(apt / pbt, rel=REL)
        assert row["availability"] == pytest.approx(
            row["allocation_efficiency"] * row["utilisation_efficiency"], rel=REL)
        here = in_win & (station == name)
        pq = int((here & (kind == "end")).sum())
        sq = int((here & (kind == "scrap")).sum())
        rq = int((here & (kind == "rework")).sum())
        assert (row["PQ"], row["SQ"], row["RQ"], row["GQ"]) == (pq, sq, rq, pq - sq - rq)
        assert row["quality_ratio"] == pytest.approx((pq - sq - rq) / pq, rel=REL)
        planned = 0.0
        started: dict[int, float] = {}
        mine = ev[(station == name) & kind.isin(["start", "end"])].sort_values(
            "time", kind="stable")
        for part, k, t in zip(mine["part"], mine["kind"].astype(str), mine["time"],
                              strict=True):
            if k == "start":
                started[part] = t
            elif T0 <= t <= T1:
                before = max(0.0, T0 - started.pop(part))
                planned += max(0.0, PRI[(name, product[part])] - before)
        effectiveness = planned / (apt * HOUR)
        if not math.isclose(row["effectiveness"], effectiveness, rel_tol=1e-9):
            problems.append(f"{name}: effectiveness {row['effectiveness']:.9g}, expected "
                            f"sum(PRI x PQ) / APT = {effectiveness:.9g} ({pq} parts ended)")
        assert row["oee"] == pytest.approx(
            row["availability"] * row["effectiveness"] * row["quality_ratio"], rel=REL)
        if not math.isclose(row["oee"], row["availability"] * effectiveness
                            * row["quality_ratio"], rel_tol=1e-9):
            problems.append(f"{name}: OEE {row['oee']:.9g}, expected availability x "
                            f"effectiveness x quality = "
                            f"{row['availability'] * effectiveness * row['quality_ratio']:.9g}")
    assert not problems, "\n".join(problems)


def test_line_quality(result: RunResult) -> None:
    """Line quality ratio = good / (good + scrap) of the parts finished in the window."""
    parts = result.tables["parts"]
    done = parts["done"].to_numpy()
    fate = parts["fate"].astype(str).to_numpy()
    win = (done >= T0) & (done <= T1)
    good, scrap = int((win & (fate == "good")).sum()), int((win & (fate == "scrap")).sum())
    k = result.kpis
    assert (k["good_units"], k["scrap_units"]) == (good, scrap)
    assert k["quality_ratio"] == pytest.approx(good / (good + scrap), rel=REL)


def test_energy_ledger_is_power_times_time(result: RunResult) -> None:
    """kWh of each station = sum over states of P(state) x time in state (window), with the
    spec's power table and its documented defaults; CO2e and kgce by the default factors."""
    secs = state_seconds(result)
    energy = result.tables["energy"]
    by_station = energy.groupby(energy["station"].astype(str))["kwh"].sum()
    total = 0.0
    for name in POWER_KW:
        kwh = sum(power_w(name, s) * secs.loc[name, s] for s in secs.columns) / J_PER_KWH
        total += kwh
        assert by_station.get(name, 0.0) == pytest.approx(kwh, rel=1e-9), name
        assert kwh > 0
    # per state: the ledger's rows against P x t
    for rec in energy.to_dict("records"):
        expected = power_w(rec["station"], str(rec["state"])) * rec["seconds"] / J_PER_KWH
        assert rec["kwh"] == pytest.approx(expected, rel=1e-9, abs=1e-12), rec
    k = result.kpis
    assert k["electricity_kwh"] == pytest.approx(total, rel=1e-9)
    assert k["co2e_kg"] == pytest.approx(total * GRID_KG_PER_KWH, rel=1e-9)
    assert k["kgce"] == pytest.approx(total * KGCE_PER_KWH, rel=1e-9)
    assert k["kwh_per_good_unit"] == pytest.approx(total / k["good_units"], rel=1e-9)
