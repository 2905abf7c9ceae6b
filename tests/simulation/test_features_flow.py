"""Behaviour of part flow: sources, routing, transport, batch stations, assembly, inspection.

Expectations are derived by hand: release timetables, hand-traced batch timelines,
binomial bands for random splits (4 sigma, fixed seeds), the part-level closed forms of an
inspection loop (a part passes after k reworks with probability p_r^k (1 - p_s - p_r)), and
an exact time shift for a constant transport delay (common random numbers: the delayed
line is the undelayed one shifted in time).
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from collections import Counter

import numpy as np
import pytest

from twin.orchestration.run import run

Z = 4.0


def line(stations: dict, products: tuple[str, ...] = ("A",), **extra) -> dict:
    spec = {"line": {"name": "t"}, "products": {p: {} for p in products},
            "stations": stations}
    spec.update(extra)
    return spec


def station_row(result, name: str):
    st = result.tables["stations"]
    return st[st["station"] == name].iloc[0]


def events(result, station: str | None, kind: str):
    e = result.tables["events"]
    sel = e["kind"] == kind
    if station is not None:
        sel &= e["station"] == station
    return e[sel]


def binomial_ok(k: int, n: int, p: float) -> bool:
    return abs(k - n * p) <= Z * math.sqrt(n * p * (1 - p)) + 1e-9


def poisson_source(to, mean: str = "10 s", **kw) -> dict:
    return {"type": "source", "interarrival": {"dist": "exponential", "mean": mean},
            "to": to, **kw}


# --------------------------------------------------------------------------- sources


def test_schedule_releases_quantity_every_and_product():
    spec = line({
        "src": {"type": "source", "product": "A", "to": "m",
                "schedule": [{"at": "10 s", "quantity": 3, "every": "100 s", "product": "B"},
                             {"at": "0 s", "quantity": 2},
                             {"at": "55 s", "quantity": 4}]},
        "m": {"type": "machine", "cycle_time": "1 s", "to": "out"},
        "out": {"type": "sink"},
    }, products=("A", "B"))
    r = run(spec, duration=1000.0, seed=1)
    parts = r.tables["parts"]
    created = parts.groupby(["created", "product"], observed=True).size()
    want = {(0.0, "A"): 2, (55.0, "A"): 4}
    want.update({(10.0 + 100.0 * k, "B"): 3 for k in range(10)})  # 10, 110, ..., 910
    assert {(float(t), str(p)): int(n) for (t, p), n in created.items()} == want
    assert (parts["fate"] == "good").all()


def test_source_limit():
    for src in ({"interarrival": {"dist": "exponential", "mean": "1 s"}},
                {"schedule": [{"at": "0 s", "quantity": 7, "every": "5 s"}]},
                {}):
        spec = line({
            "src": {"type": "source", "product": "A", "limit": 50, "to": "m", **src},
            "m": {"type": "machine", "buffer": 2, "cycle_time": "1 s", "to": "out"},
            "out": {"type": "sink"},
        })
        r = run(spec, duration=10000.0, seed=2)
        assert len(events(r, "src", "created")) == 50
        assert r.kpis["good_units"] == 50


def test_mix_proportions_and_lot_size_campaigns():
    mix = {"A": 0.5, "B": 0.3, "C": 0.2}
    lot = 6
    spec = line({
        "src": {"type": "source", "mix": mix, "lot_size": lot,
                "interarrival": {"dist": "exponential", "mean": "1 s"}, "to": "m"},
        "m": {"type": "machine", "cycle_time": "0.1 s", "to": "out"},
        "out": {"type": "sink"},
    }, products=("A", "B", "C"))
    r = run(spec, duration=60000.0, seed=3)
    parts = r.tables["parts"].sort_values("created", kind="stable")
    seq = parts["product"].astype(str).to_numpy()
    n_lots = seq.size // lot
    lots = seq[: n_lots * lot].reshape(n_lots, lot)
    # every consecutive block of lot_size parts is one product (a campaign)
    assert (lots == lots[:, :1]).all()
    counts = Counter(lots[:, 0])
    for p, w in mix.items():
        assert binomial_ok(counts[p], n_lots, w), (p, counts[p], n_lots * w)


# --------------------------------------------------------------------------- routing


def test_probabilistic_routing_split():
    spec = line({
        "src": poisson_source([{"to": "a", "probability": 0.3},
                               {"to": "b", "probability": 0.7}], mean="1 s", product="A"),
        "a": {"type": "machine", "cycle_time": "0.1 s", "to": "out"},
        "b": {"type": "machine", "cycle_time": "0.1 s", "to": "out"},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=50000.0, seed=4)
    na, nb = len(events(r, "a", "arrive")), len(events(r, "b", "arrive"))
    assert binomial_ok(na, na + nb, 0.3), (na, nb)


def test_product_routes():
    spec = line({
        "src": poisson_source("m", mean="5 s", mix={"A": 1, "B": 2}),
        "m": {"type": "machine", "cycle_time": "1 s",
              "routes": [{"to": "sa", "products": ["A"]}, {"to": "sb", "products": ["B"]}]},
        "sa": {"type": "sink"}, "sb": {"type": "sink"},
    }, products=("A", "B"))
    r = run(spec, duration=20000.0, seed=5)
    parts = r.tables["parts"].set_index("part")["product"].astype(str)
    a = parts[events(r, "sa", "exit")["part"]]
    b = parts[events(r, "sb", "exit")["part"]]
    assert (a == "A").all() and (b == "B").all()
    assert binomial_ok(len(a), len(a) + len(b), 1 / 3)


def two_machine_split(interarrival: str, cycle: str) -> dict:
    return line({
        "src": {"type": "source", "product": "A", "interarrival": interarrival,
                "routes": [{"to": "m1"}, {"to": "m2"}]},
        "m1": {"type": "machine", "cycle_time": cycle, "to": "out"},
        "m2": {"type": "machine", "cycle_time": cycle, "to": "out"},
        "out": {"type": "sink"},
    })


def test_least_loaded_routing_ties_go_to_first_route():
    # Arrivals every 2 s (2, 4, ..., 998), cycles of 1 s: both machines are empty at every
    # arrival -> all 499 parts go to m1.
    r = run(two_machine_split("2 s", "1 s"), duration=1000.0, seed=6)
    assert len(events(r, "m2", "arrive")) == 0
    assert len(events(r, "m1", "arrive")) == 499


def test_least_loaded_routing_alternates_when_busy():
    # Arrivals every 1 s, cycles of 1.5 s: at each arrival the machine that got the previous
    # part is still busy (load 1), the other is free (load 0) -> strict alternation.
    r = run(two_machine_split("1 s", "1.5 s"), duration=1000.0, seed=6)
    arr = events(r, None, "arrive").sort_values("time", kind="stable")
    dest = arr["station"].astype(str).tolist()
    assert dest[0] == "m1"
    assert all(a != b for a, b in zip(dest, dest[1:], strict=False))
    assert station_row(r, "m1")["PQ"] == pytest.approx(station_row(r, "m2")["PQ"], abs=1)


def test_least_loaded_routing_rule_holds_at_every_decision():
    # Random arrivals and cycles: reconstruct each machine's content (arrived - finished)
    # just before every routing decision; the part must join a least loaded machine, and
    # the first listed one (m1) on a tie.
    spec = line({
        "src": poisson_source([{"to": "m1"}, {"to": "m2"}], mean="2 s", product="A"),
        "m1": {"type": "machine", "cycle_time": {"dist": "exponential", "mean": "3 s"},
               "to": "out"},
        "m2": {"type": "machine", "cycle_time": {"dist": "exponential", "mean": "1 s"},
               "to": "out"},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=20000.0, seed=7)
    arr = {m: np.sort(events(r, m, "arrive")["time"].to_numpy()) for m in ("m1", "m2")}
    end = {m: np.sort(events(r, m, "end")["time"].to_numpy()) for m in ("m1", "m2")}

    def load(m: str, t: float) -> int:
        return int(np.searchsorted(arr[m], t, "left") - np.searchsorted(end[m], t, "left"))

    ties = 0
    for m, other in (("m1", "m2"), ("m2", "m1")):
        for t in arr[m]:
            mine, theirs = load(m, t), load(other, t)
            assert mine <= theirs
            if mine == theirs:
                assert m == "m1"
                ties += 1
    assert ties > 1000 and len(arr["m2"]) > 1000


# --------------------------------------------------------------------------- transport


@pytest.mark.parametrize("where", ["after_source", "between_machines"])
def test_transport_delay_adds_exactly_the_delay_to_lead_time(where):
    def spec(delay: str | None) -> dict:
        extra = {} if delay is None else {"delay": delay}
        to_m1 = {"to": "m1", **(extra if where == "after_source" else {})}
        to_m2 = {"to": "m2", **(extra if where == "between_machines" else {})}
        return line({
            "src": poisson_source([to_m1], mean="20 s", product="A"),
            "m1": {"type": "machine", "cycle_time": {"dist": "exponential", "mean": "10 s"},
                   "routes": [to_m2]},
            "m2": {"type": "machine", "cycle_time": {"dist": "exponential", "mean": "12 s"},
                   "to": "out"},
            "out": {"type": "sink"},
        })

    base = run(spec(None), duration=50000.0, seed=8)
    late = run(spec("30 s"), duration=50000.0, seed=8)
    # Same random streams, and a constant delay in front of a FIFO station only shifts what
    # happens after it: every part's lead time grows by exactly 30 s.
    b = base.tables["parts"].set_index("part")
    d = late.tables["parts"].set_index("part")
    common = b.index.intersection(d.index)
    assert len(common) > 2000
    extra = (d.loc[common, "done"] - d.loc[common, "created"]) - (
        b.loc[common, "done"] - b.loc[common, "created"])
    assert extra.to_numpy() == pytest.approx(np.full(len(common), 30.0))
    assert (late.kpis["lead_time_mean_h"] - base.kpis["lead_time_mean_h"]) * 3600 == \
        pytest.approx(30.0, abs=0.5)


def run_guarded(code: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with a memory cap, so a hang fails instead of
    blocking the suite."""
    pre = "import resource; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
    try:
        return subprocess.run([sys.executable, "-c", pre + textwrap.dedent(code)],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the run did not finish within {timeout} s (hang)")


GUARDED_RUN = """
    from twin.data.checks import SpecError
    from twin.orchestration.run import run
    try:
        r = run({{"line": {{"name": "t"}}, "products": {{"A": {{}}}}, "stations": {stations}}},
                duration="100 s")
    except SpecError:
        print("rejected")
    else:
        print("ran", r.kpis["good_units"])
"""


def test_infinite_source_with_transport_delay_is_rejected_or_runs():
    # An always-available supply carried to a one-slot buffer in 5 s: either the spec check
    # refuses it or the run ends, with between one part per transport (5 s) and one part per
    # second out of the 1 s machine. It must not hang.
    stations = {"src": {"type": "source", "product": "A", "to": [{"to": "m", "delay": "5 s"}]},
                "m": {"type": "machine", "buffer": 1, "cycle_time": "1 s", "to": "out"},
                "out": {"type": "sink"}}
    out = run_guarded(GUARDED_RUN.format(stations=repr(stations)))
    assert out.returncode == 0, out.stderr[-2000:]
    words = out.stdout.split()
    assert words[0] == "rejected" or (words[0] == "ran" and 19 <= int(words[1]) <= 100)


def test_infinite_source_straight_into_sink_is_rejected_or_runs():
    stations = {"src": {"type": "source", "product": "A", "to": "out"}, "out": {"type": "sink"}}
    out = run_guarded(GUARDED_RUN.format(stations=repr(stations)))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[0] in {"rejected", "ran"}


def test_line_without_equipment_runs():
    # A source straight into a sink is a valid line (e.g. to check a release plan): the run
    # and its KPIs must not fail for want of equipment stations.
    spec = line({
        "src": {"type": "source", "product": "A", "schedule": [{"at": "1 s", "quantity": 3}],
                "to": "out"},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=10.0, seed=1)
    assert r.kpis["good_units"] == 3
    assert len(r.tables["stations"]) == 0


# --------------------------------------------------------------------------- batch


def batch_line(batch: dict, schedule: list[dict]) -> dict:
    return line({
        "src": {"type": "source", "product": "A", "schedule": schedule, "to": "b"},
        "b": {"type": "batch", "cycle_time": "50 s", "to": "out", **batch},
        "out": {"type": "sink"},
    })


def batches(result) -> list[tuple[float, float, int]]:
    """(start, end, size) of each batch, from the per-part start and end events."""
    st = events(result, "b", "start").set_index("part")["time"]
    en = events(result, "b", "end").set_index("part")["time"]
    both = st.index.intersection(en.index)
    frame = [(float(st[p]), float(en[p])) for p in both]
    return sorted((s, e, n) for (s, e), n in Counter(frame).items())


def test_batch_starts_when_full():
    # batch_size 4, parts at 0, 10, 20, 30 and 100, 100, 100, 100, 100: full batches start at
    # the 4th arrival (30, then 100 for the next 4); the 9th part waits (no min_batch).
    sched = [{"at": f"{t} s"} for t in (0, 10, 20, 30)] + [{"at": "100 s", "quantity": 5}]
    r = run(batch_line({"batch_size": 4}, sched), duration=1000.0, seed=1)
    assert batches(r) == [(30.0, 80.0, 4), (100.0, 150.0, 4)]
    assert len(events(r, "b", "arrive")) == 9


def test_batch_max_wait_with_min_batch():
    # batch_size 4, min_batch 2, max_wait 100 s (from the first part loaded):
    # parts at 0 and 10 -> starts at 0 + 100 with 2; part at 300 alone waits below min_batch,
    # part at 450 makes 2 after max_wait has passed -> starts at 450; 5 parts at 600 -> a
    # full batch at 600, the 5th waits (1 < min_batch).
    sched = ([{"at": "0 s"}, {"at": "10 s"}, {"at": "300 s"}, {"at": "450 s"},
              {"at": "600 s", "quantity": 5}])
    spec = batch_line({"batch_size": 4, "min_batch": 2, "max_wait": "100 s"}, sched)
    r = run(spec, duration=2000.0, seed=1)
    assert batches(r) == [(100.0, 150.0, 2), (450.0, 500.0, 2), (600.0, 650.0, 4)]


def test_batch_min_batch_without_max_wait_starts_at_min_batch():
    # min_batch without max_wait: start as soon as min_batch parts are loaded.
    sched = [{"at": "0 s"}, {"at": "10 s"}, {"at": "200 s", "quantity": 3}]
    r = run(batch_line({"batch_size": 4, "min_batch": 2}, sched), duration=1000.0, seed=1)
    assert batches(r) == [(10.0, 60.0, 2), (200.0, 250.0, 3)]


def test_batch_sizes_bounded_under_random_arrivals():
    B, mn, wait = 6, 3, 120.0
    spec = line({
        "src": poisson_source("b", mean="30 s", product="A"),
        "b": {"type": "batch", "batch_size": B, "min_batch": mn, "max_wait": f"{wait} s",
              "cycle_time": {"dist": "uniform", "low": "100 s", "high": "200 s"},
              "to": "out"},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=2.0e5, seed=9)
    bs = batches(r)
    sizes = np.array([n for _, _, n in bs])
    assert len(bs) > 500
    assert sizes.max() == B and sizes.min() >= mn
    assert (sizes < B).any()  # max_wait does release partial batches
    # every start/end pair is one batch: batches do not overlap on the single server
    starts, ends = np.array([s for s, _, _ in bs]), np.array([e for _, e, _ in bs])
    assert (starts[1:] >= ends[:-1] - 1e-9).all()
    assert ((ends - starts) >= 100.0 - 1e-9).all() and ((ends - starts) <= 200.0 + 1e-9).all()
    # conservation: every part that entered the batch station was processed or is still there
    arrived = len(events(r, "b", "arrive"))
    assert arrived - sizes.sum() == r.provenance["end_wip"]["b"]


# --------------------------------------------------------------------------- assembly


def test_assembly_consumes_exact_component_quantities():
    spec = line({
        "housing": poisson_source("asm", mean="60 s", mix={"H1": 1, "H2": 1}),
        "screws": {"type": "source", "product": "S", "to": "asm"},
        "motor": poisson_source("asm", mean="50 s", product="M"),
        "asm": {"type": "assembly", "base": ["H1", "H2"], "components": {"S": 3, "M": 1},
                "output_product": "P", "buffer": 10, "cycle_time": "30 s", "to": "out"},
        "out": {"type": "sink"},
    }, products=("H1", "H2", "S", "M", "P"))
    r = run(spec, duration=50000.0, seed=10)
    parts = r.tables["parts"]
    product = parts.set_index("part")["product"].astype(str)
    consumed = events(r, "asm", "consumed")
    ends = events(r, "asm", "end")
    assert len(ends) > 500
    by_time = {t: Counter(product[g["part"]]) for t, g in consumed.groupby("time")}
    assert set(by_time) == set(ends["time"])  # one assembly per end time (1 server)
    for t, cnt in by_time.items():
        assert cnt == Counter({"S": 3, "M": 1}), t
    good = parts[parts["fate"] == "good"]
    assert len(good) > 500 and (good["product"] == "P").all()
    comp = parts[parts["product"].isin(["S", "M"])]
    assert (comp["fate"] == "consumed").all()
    assert (comp["fate"] == "consumed").sum() == len(consumed)
    # the assembled part keeps the base part's identity
    assert set(good["part"]) <= set(ends["part"])
    assert not set(good["part"]) & set(consumed["part"])
    created_base = events(r, "housing", "created")["part"]
    assert set(good["part"]) <= set(created_base)


# --------------------------------------------------------------------------- inspection


def inspection_line(p_scrap: float, p_rework: float, max_reworks: int) -> dict:
    return line({
        "src": poisson_source("test", mean="10 s", product="A"),
        "test": {"type": "inspection", "cycle_time": "2 s", "scrap_probability": p_scrap,
                 "rework_probability": p_rework, "rework_to": "fix",
                 "max_reworks": max_reworks, "to": "out"},
        "fix": {"type": "machine", "cycle_time": "3 s", "to": "test"},
        "out": {"type": "sink"},
    })


def test_inspection_scrap_and_rework_fractions():
    ps, pr = 0.05, 0.15
    r = run(inspection_line(ps, pr, max_reworks=20), duration=3.0e5, seed=11)
    row = station_row(r, "test")
    n = int(row["PQ"])  # inspections
    assert n > 20000
    assert binomial_ok(int(row["SQ"]), n, ps)
    assert binomial_ok(int(row["RQ"]), n, pr)
    # Part level (P(k reworks, then pass) = pr^k (1 - ps - pr)):
    # quality ratio = P(good) = (1 - ps - pr) / (1 - pr), first pass yield = 1 - ps - pr.
    k = r.kpis
    m = k["good_units"] + k["scrap_units"]
    p_good = (1 - ps - pr) / (1 - pr)
    assert binomial_ok(k["good_units"], m, p_good)
    assert binomial_ok(round(k["first_pass_yield"] * m), m, 1 - ps - pr)


def test_max_reworks_caps_the_loop():
    # p_rework 0.5, max_reworks 1: a part failing a second time is scrapped.
    ps, pr, cap = 0.1, 0.5, 1
    r = run(inspection_line(ps, pr, max_reworks=cap), duration=2.0e5, seed=12)
    parts = r.tables["parts"]
    assert parts["reworks"].max() == cap
    done = parts[parts["fate"].isin(["good", "scrap"])]
    n = len(done)
    ok = 1 - ps - pr
    # P(good) = ok (1 + pr); P(good with 1 rework) = pr ok.
    p_good = ok * sum(pr**j for j in range(cap + 1))
    assert binomial_ok(int((done["fate"] == "good").sum()), n, p_good)
    assert binomial_ok(int(((done["fate"] == "good") & (done["reworks"] == 1)).sum()), n,
                       pr * ok)
    # Every part with one rework that failed again was scrapped, never reworked twice.
    reworks = events(r, "test", "rework").groupby("part").size()
    assert reworks.max() == 1
    k = r.kpis
    m = k["good_units"] + k["scrap_units"]
    assert binomial_ok(round(k["first_pass_yield"] * m), m, ok)


def test_max_reworks_zero_scraps_every_failure():
    r = run(inspection_line(0.0, 0.3, max_reworks=0), duration=1.0e5, seed=13)
    assert len(events(r, "test", "rework")) == 0
    assert len(events(r, "fix", "arrive")) == 0
    k = r.kpis
    assert binomial_ok(k["scrap_units"], k["scrap_units"] + k["good_units"], 0.3)
