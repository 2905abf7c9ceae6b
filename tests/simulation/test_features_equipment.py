"""Behaviour of equipment features: setups, operators, parallel servers, product cycle times
and the electricity ledger.

Expectations are derived by hand: timelines traced for constant times, renewal-reward for
long-run fractions (a lot of L parts of cycle c preceded by a setup S with probability q
gives a setup share q S / (L c + q S)), binomial and Poisson bands for counts, E = P t for
energy. Statistical checks use fixed seeds and 4-sigma bands.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.orchestration.run import run

Z = 4.0
J_PER_KWH = 3.6e6


def line(stations: dict, products: tuple[str, ...] = ("A",), **extra) -> dict:
    spec = {"line": {"name": "t"}, "products": {p: {} for p in products},
            "stations": stations}
    spec.update(extra)
    return spec


def station_row(result, name: str):
    st = result.tables["stations"]
    return st[st["station"] == name].iloc[0]


def events(result, station: str, kind: str):
    e = result.tables["events"]
    return e[(e["station"] == station) & (e["kind"] == kind)]


def intervals(result, station: str, state: str):
    s = result.tables["states"]
    return s[(s["station"] == station) & (s["state"] == state)]


def product_of(result) -> dict[int, str]:
    parts = result.tables["parts"]
    return dict(zip(parts["part"].tolist(), parts["product"].astype(str).tolist(), strict=True))


# --------------------------------------------------------------------------- setups


def test_setups_happen_exactly_on_product_changes():
    # Campaigns of 5 parts drawn 50/50 from {A, B}; a lot boundary changes the product with
    # probability 1/2. 5000 parts = 1000 lots -> changes ~ Binomial(999, 1/2).
    n_parts, lot, c, setup = 5000, 5, 10.0, 30.0
    spec = line({
        "src": {"type": "source", "mix": {"A": 1, "B": 1}, "lot_size": lot, "limit": n_parts,
                "to": "m"},
        "m": {"type": "machine", "buffer": 1, "cycle_time": f"{c} s",
              "setup_time": f"{setup} s", "to": "out"},
        "out": {"type": "sink"},
    }, products=("A", "B"))
    r = run(spec, duration=100000.0, seed=31)
    prod = product_of(r)
    seq = [prod[p] for p in events(r, "m", "start")["part"]]
    assert len(seq) == n_parts
    changes = sum(a != b for a, b in zip(seq, seq[1:], strict=False))
    setups = intervals(r, "m", "setup")
    assert len(setups) == changes  # the first part needs no setup
    assert (setups["end"] - setups["start"]).to_numpy() == pytest.approx(np.full(changes, setup))
    n_lots = n_parts // lot
    mean, sd = (n_lots - 1) / 2, math.sqrt((n_lots - 1) / 4)
    assert abs(changes - mean) <= Z * sd
    # Setup share of operating time: renewal-reward per lot, q = 1/2.
    row = station_row(r, "m")
    q = 0.5
    expected = q * setup / (lot * c + q * setup)
    d_rate = setup * n_parts * c / (changes * setup + n_parts * c) ** 2  # d rate / d changes
    assert row["setup_rate"] == pytest.approx(expected, abs=Z * sd * d_rate)
    assert row["AUST_h"] * 3600 == pytest.approx(changes * setup)
    # The setup precedes the first part of the new product.
    starts = events(r, "m", "start")["time"].to_numpy()
    first_of_new = [i for i in range(1, n_parts) if seq[i] != seq[i - 1]]
    assert setups["end"].to_numpy() == pytest.approx(starts[first_of_new])


def test_setup_fraction_saturated_machine_long_run():
    # Infinite supply, lots of 4 from a 3:1 mix -> change probability at a lot boundary
    # q = 2 * 0.75 * 0.25 = 0.375; setup fraction = q S / (L c + q S) = 7.5 / 47.5.
    lot, c, setup, T = 4, 10.0, 20.0, 3.0e5
    spec = line({
        "src": {"type": "source", "mix": {"A": 3, "B": 1}, "lot_size": lot, "to": "m"},
        "m": {"type": "machine", "buffer": 1, "cycle_time": f"{c} s",
              "setup_time": f"{setup} s", "to": "out"},
        "out": {"type": "sink"},
    }, products=("A", "B"))
    r = run(spec, duration=T, warmup=1000.0, seed=32)
    row = station_row(r, "m")
    q = 2 * 0.75 * 0.25
    cycle = lot * c + q * setup
    expected = q * setup / cycle
    n_lots = T / cycle
    # setups per lot ~ Bernoulli(q) (lot boundaries are independent for i.i.d. lot draws)
    sigma = setup * math.sqrt(q * (1 - q) / n_lots) / cycle
    assert row["setup_fraction"] == pytest.approx(expected, abs=Z * sigma)


# --------------------------------------------------------------------------- operators


def operator_line(count: int, during: str = "processing", setup: str | None = None,
                  mix: bool = False) -> dict:
    stations = {}
    for k in (1, 2):
        src = {"type": "source", "to": f"m{k}"}
        if mix:
            src["mix"] = {"A": 1, "B": 1}
        else:
            src["product"] = "A"
        stations[f"s{k}"] = src
        m = {"type": "machine", "buffer": 1,
             "cycle_time": {"dist": "exponential", "mean": "10 s"},
             "operator": {"pool": "crew", "during": during}, "to": "out"}
        if setup:
            m["setup_time"] = setup
        stations[f"m{k}"] = m
    stations["out"] = {"type": "sink"}
    return line(stations, products=("A", "B"), operators={"crew": {"count": count}})


def overlap_seconds(a, b) -> float:
    """Total overlap [s] between two sets of intervals (frames with start, end)."""
    total = 0.0
    bs, be = b["start"].to_numpy(), b["end"].to_numpy()
    for s, e in zip(a["start"].to_numpy(), a["end"].to_numpy(), strict=True):
        total += np.clip(np.minimum(be, e) - np.maximum(bs, s), 0, None).sum()
    return float(total)


def test_one_operator_shared_by_two_machines_never_produces_twice_at_once():
    T = 2.0e5
    r = run(operator_line(count=1), duration=T, seed=41)
    p1, p2 = intervals(r, "m1", "producing"), intervals(r, "m2", "producing")
    assert overlap_seconds(p1, p2) == 0.0
    r1, r2 = station_row(r, "m1"), station_row(r, "m2")
    assert r1["waiting_fraction"] > 0.3 and r2["waiting_fraction"] > 0.3
    # The operator is the bottleneck and always busy: the two machines together produce
    # one part per mean cycle (10 s); exponential cycles -> Poisson count.
    n = r1["PQ"] + r2["PQ"]
    assert abs(n - T / 10.0) <= Z * math.sqrt(T / 10.0)
    # Each machine is producing or waiting for the operator, and the operator is never idle:
    # waiting(m1) + waiting(m2) = producing(m1) + producing(m2) = the whole window.
    assert r1["waiting_fraction"] + r2["waiting_fraction"] == pytest.approx(1.0, abs=1e-3)
    assert r1["utilisation"] + r2["utilisation"] == pytest.approx(1.0, abs=1e-3)


def test_enough_operators_means_no_waiting():
    T = 2.0e5
    r = run(operator_line(count=2), duration=T, seed=41)
    for name in ("m1", "m2"):
        row = station_row(r, name)
        assert row["waiting_fraction"] == 0.0
        assert abs(row["PQ"] - T / 10.0) <= Z * math.sqrt(T / 10.0)
    assert overlap_seconds(intervals(r, "m1", "producing"), intervals(r, "m2", "producing")) > 0


def test_operator_needed_only_for_setup():
    # One setter for two machines, during = "setup": setups never overlap, production does.
    r = run(operator_line(count=1, during="setup", setup="15 s", mix=True), duration=1.0e5,
            seed=42)
    s1, s2 = intervals(r, "m1", "setup"), intervals(r, "m2", "setup")
    assert len(s1) > 100 and len(s2) > 100
    assert overlap_seconds(s1, s2) == 0.0
    assert overlap_seconds(intervals(r, "m1", "producing"),
                           intervals(r, "m2", "producing")) > 0.1 * 1.0e5
    assert station_row(r, "m1")["waiting_fraction"] > 0.0


# --------------------------------------------------------------------------- parallel servers


def test_parallel_servers_share_one_queue():
    # 7 parts at t = 0 into 3 servers of 10 s: starts 0,0,0,10,10,10,20 in arrival order,
    # ends 10,10,10,20,20,20,30; every server used.
    spec = line({
        "src": {"type": "source", "product": "A", "schedule": [{"at": "0 s", "quantity": 7}],
                "to": "m"},
        "m": {"type": "machine", "servers": 3, "cycle_time": "10 s", "to": "out"},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=100.0, seed=1)
    start = events(r, "m", "start").sort_values("part", kind="stable")
    assert start["time"].tolist() == pytest.approx([0, 0, 0, 10, 10, 10, 20])
    assert sorted(events(r, "m", "end")["time"]) == pytest.approx([10, 10, 10, 20, 20, 20, 30])
    busy = intervals(r, "m", "producing").groupby("server")["start"].count()
    assert sorted(busy.index.tolist()) == [0, 1, 2]
    row = station_row(r, "m")
    assert row["APT_h"] * 3600 == pytest.approx(70.0)
    assert row["POT_h"] * 3600 == pytest.approx(300.0)


def test_parallel_servers_saturated_throughput():
    # 3 servers, exponential cycles of mean 30 s, always fed: output is Poisson of rate 3/30.
    T = 2.0e5
    spec = line({
        "src": {"type": "source", "product": "A", "to": "m"},
        "m": {"type": "machine", "servers": 3, "buffer": 2,
              "cycle_time": {"dist": "exponential", "mean": "30 s"}, "to": "out"},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=T, seed=43)
    n = r.kpis["good_units"]
    assert abs(n - T / 10.0) <= Z * math.sqrt(T / 10.0)
    assert station_row(r, "m")["utilisation"] == pytest.approx(1.0, abs=1e-6)


def test_product_specific_cycle_times():
    # A: 2 s (default cycle_time), B: 5 s (product_cycle_time), mix 0.3 / 0.7, always fed:
    # mean time per part 0.3 * 2 + 0.7 * 5 = 4.1 s.
    T = 1.0e5
    spec = line({
        "src": {"type": "source", "mix": {"A": 0.3, "B": 0.7}, "to": "m"},
        "m": {"type": "machine", "buffer": 1, "cycle_time": "2 s",
              "product_cycle_time": {"B": "5 s"}, "to": "out"},
        "out": {"type": "sink"},
    }, products=("A", "B"))
    r = run(spec, duration=T, seed=44)
    prod = product_of(r)
    st = events(r, "m", "start").set_index("part")["time"]
    en = events(r, "m", "end").set_index("part")["time"]
    done = [p for p in en.index if p in prod]
    dur = (en[done] - st[done]).to_numpy()
    want = np.array([2.0 if prod[p] == "A" else 5.0 for p in done])
    assert dur == pytest.approx(want)
    n = len(done)
    n_b = int((want == 5.0).sum())
    assert abs(n_b - 0.7 * n) <= Z * math.sqrt(n * 0.21)
    # Count in T: renewal CLT, per-part time sd = 3 * sqrt(0.21).
    mu, sd = 4.1, 3.0 * math.sqrt(0.21)
    assert abs(n - T / mu) <= Z * sd * math.sqrt(T / mu) / mu + 2
    # ISO 22400 effectiveness uses the product's planned run time: exactly 1 here.
    assert station_row(r, "m")["effectiveness"] == pytest.approx(1.0, abs=1e-4)


# --------------------------------------------------------------------------- energy


def energy_line(blocked: str | None = "5 kW") -> dict:
    m1_power = {"producing": "10 kW", "idle": "2 kW"}
    if blocked is not None:
        m1_power["blocked"] = blocked
    return line({
        "src": {"type": "source", "product": "A", "schedule": [{"at": "0 s", "quantity": 10}],
                "to": "m1"},
        "m1": {"type": "machine", "cycle_time": "60 s", "power": m1_power, "to": "m2"},
        "m2": {"type": "machine", "buffer": 1, "cycle_time": "150 s",
               "power": {"producing": "3 kW", "idle": "1 kW"}, "to": "out"},
        "out": {"type": "sink"},
    })


def kwh(result, station: str) -> float:
    e = result.tables["energy"]
    return float(e.loc[e["station"] == station, "kwh"].sum())


def test_energy_ledger_by_hand():
    # Timeline (hand-traced): m1 makes 10 parts of 60 s; m2 (150 s, 1 buffer slot) takes
    # part k at 60 + 150 (k - 1) for k >= 1, so m1 is blocked 30 s before pushing part 2 and
    # 90 s before each of parts 3..9: blocked 660 s, last push at 1260 s. Window [0, 2000]:
    # m1: producing 600 s, blocked 660 s, idle 740 s; m2: producing 1500 s, idle 500 s.
    r = run(energy_line(), duration=2000.0, warmup=0.0, seed=1)
    e = r.tables["energy"].set_index(["station", "state"])["seconds"]
    assert e[("m1", "producing")] == pytest.approx(600.0)
    assert e[("m1", "blocked")] == pytest.approx(660.0)
    assert e[("m1", "idle")] == pytest.approx(740.0)
    m1 = (10e3 * 600 + 5e3 * 660 + 2e3 * 740) / J_PER_KWH  # 2.99444 kWh
    m2 = (3e3 * 1500 + 1e3 * 500) / J_PER_KWH  # 1.38889 kWh
    assert kwh(r, "m1") == pytest.approx(m1, rel=1e-9)
    assert kwh(r, "m2") == pytest.approx(m2, rel=1e-9)
    assert r.kpis["electricity_kwh"] == pytest.approx(m1 + m2, rel=1e-9)
    # Default factors: 0.5306 kg CO2e / kWh, 0.1229 kgce / kWh.
    assert r.kpis["co2e_kg"] == pytest.approx(0.5306 * (m1 + m2), rel=1e-9)
    assert r.kpis["kgce"] == pytest.approx(0.1229 * (m1 + m2), rel=1e-9)
    assert r.kpis["kwh_per_good_unit"] == pytest.approx((m1 + m2) / 10, rel=1e-9)


def test_energy_blocked_defaults_to_idle_and_window_clips():
    # No blocked power: blocked draws idle power, so m1 = 10 kW * 600 s + 2 kW * 1400 s.
    r = run(energy_line(blocked=None), duration=2000.0, seed=1)
    assert kwh(r, "m1") == pytest.approx((10e3 * 600 + 2e3 * 1400) / J_PER_KWH, rel=1e-9)
    # Warm-up 100 s: window [100, 2100]; m1 producing 500 s (20 s of part 1 + 8 parts),
    # blocked 660 s, idle 840 s.
    r = run(energy_line(), duration=2000.0, warmup=100.0, seed=1)
    assert kwh(r, "m1") == pytest.approx((10e3 * 500 + 5e3 * 660 + 2e3 * 840) / J_PER_KWH,
                                         rel=1e-9)


def test_energy_setup_defaults_to_producing_and_down_power():
    # A at 0, B at 0: A 0-60, setup 60-100 (drawn at producing power), B 100-160; a calendar
    # failure at 500 for 100 s at 0.5 kW; idle the rest of [0, 1000].
    spec = line({
        "src": {"type": "source", "product": "A",
                "schedule": [{"at": "0 s", "product": "A"}, {"at": "0 s", "product": "B"}],
                "to": "m"},
        "m": {"type": "machine", "cycle_time": "60 s", "setup_time": "40 s",
              "failures": [{"basis": "calendar", "ttf": "500 s", "ttr": "100 s"}],
              "power": {"producing": "6 kW", "idle": "1 kW", "down": "0.5 kW"}, "to": "out"},
        "out": {"type": "sink"},
    }, products=("A", "B"))
    r = run(spec, duration=1000.0, seed=1)
    expected = (6e3 * (120 + 40) + 0.5e3 * 100 + 1e3 * (1000 - 160 - 100)) / J_PER_KWH
    assert kwh(r, "m") == pytest.approx(expected, rel=1e-9)
