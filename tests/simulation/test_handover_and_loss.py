"""Zero-slot buffers (direct hand-over), lost arrivals and Erlang service times, against
closed forms and exact Markov chains.

References: Hunt, G. C. (1956), *Sequential arrays of waiting lines*, Operations Research 4
(two exponential stations in series with no buffer between them, blocking after service);
Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory* (M/M/1/K blocking
probability; the Pollaczek-Khinchine formula for M/G/1, here M/E_k/1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lines_for_tests import (
    assert_agrees,
    const,
    expo,
    replicate,
    station_row,
    t_interval,
    waits_at,
)

from twin.data.checks import SpecError
from twin.orchestration.run import RunResult, run

SEEDS = tuple(range(201, 209))
HOUR = 3600.0
ENGINES = pytest.mark.parametrize("engine", ["simpy", "compiled"])


# --------------------------------------------------------------------------- references


def hunt_chain(mu1: float, mu2: float) -> dict[str, float]:
    """Two exponential machines, M1 never starved, no buffer between them (blocking after
    service). States: (M1 busy, M2 idle) = 0, (busy, busy) = 1, (M1 blocked, M2 busy) = 2.
    Rates: 0 -> 1 at mu1 (M1 hands over at once), 1 -> 0 at mu2, 1 -> 2 at mu1, 2 -> 1 at
    mu2 (M2 takes the blocked part). Solved numerically from the generator matrix."""
    q = np.array([[-mu1, mu1, 0.0],
                  [mu2, -(mu1 + mu2), mu1],
                  [0.0, mu2, -mu2]])
    a = np.vstack([q.T, np.ones(3)])
    p = np.linalg.lstsq(a, np.r_[0.0, 0.0, 0.0, 1.0], rcond=None)[0]
    return {"throughput": mu2 * (p[1] + p[2]), "m1_blocked": p[2], "m2_starved": p[0]}


def mm1k_blocking(rho: float, k: int) -> float:
    """P(an arrival finds K in the system) for M/M/1/K (PASTA): (1 - rho) rho^K /
    (1 - rho^(K+1))."""
    return (1.0 - rho) * rho**k / (1.0 - rho ** (k + 1))


def test_references() -> None:
    """Hunt's chain against the closed form mu1 mu2 (mu1 + mu2) / (mu1^2 + mu1 mu2 + mu2^2);
    M/M/1/K against the birth-death chain."""
    for mu1, mu2 in [(1.0, 1.0), (1.0, 0.6), (0.5, 2.0)]:
        closed = mu1 * mu2 * (mu1 + mu2) / (mu1**2 + mu1 * mu2 + mu2**2)
        assert hunt_chain(mu1, mu2)["throughput"] == pytest.approx(closed, rel=1e-12)
    rho, k = 0.8, 3
    w = rho ** np.arange(k + 1)
    assert mm1k_blocking(rho, k) == pytest.approx(w[-1] / w.sum(), rel=1e-12)


def ci_check(name: str, ci, theory: float, max_rel: float) -> str | None:  # noqa: ANN001
    print(f"{name}: simulated {ci}, theory {theory:.6g}")
    if ci.half_width > max_rel * abs(theory):
        return f"{name}: {ci} too wide to test {theory:.6g}"
    if not ci.contains(theory):
        return f"{name}: theory {theory:.6g} outside {ci}"
    return None


# --------------------------------------------------------------------------- lines


def hunt_line(mu1: float, mu2: float) -> dict:
    return {"line": {"name": "hunt"}, "products": {"A": {}}, "stations": {
        "supply": {"type": "source", "product": "A", "to": "m1"},
        "m1": {"type": "machine", "buffer": 1, "cycle_time": expo(1.0 / mu1), "to": "m2"},
        "m2": {"type": "machine", "buffer": 0, "cycle_time": expo(1.0 / mu2), "to": "out"},
        "out": {"type": "sink"}}}


def loss_line(lam: float, mu: float, slots: int) -> dict:
    return {"line": {"name": "loss"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0 / lam),
                "when_full": "lost", "to": "m"},
        "m": {"type": "machine", "buffer": slots, "cycle_time": expo(1.0 / mu), "to": "out"},
        "out": {"type": "sink"}}}


def erlang_line(lam: float, mean: float, k: int) -> dict:
    return {"line": {"name": "mek1"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0 / lam), "to": "m"},
        "m": {"type": "machine", "cycle_time": {"dist": "erlang", "k": k, "mean": f"{mean} s"},
              "to": "out"},
        "out": {"type": "sink"}}}


# --------------------------------------------------------------------------- checks


@pytest.mark.slow
@ENGINES
@pytest.mark.parametrize("mu1, mu2", [(1.0, 1.0), (1.0, 0.6)])
def test_hunt_zero_buffer_line(mu1: float, mu2: float, engine: str) -> None:
    """Two exponential machines with no buffer between them: throughput, M1 blocked and M2
    starved fractions from Hunt's three-state chain."""
    chain = hunt_chain(mu1, mu2)

    def measure(r: RunResult) -> dict[str, float]:
        return {"TH": r.kpis["throughput_per_h"] / HOUR,
                "m1_blocked": station_row(r, "m1")["blocked_fraction"],
                "m2_starved": station_row(r, "m2")["starved_fraction"]}

    est = replicate(hunt_line(mu1, mu2), SEEDS, 30_000.0, 500.0, measure, engine)
    failures = [ci_check("throughput [1/s]", est["TH"], chain["throughput"], 0.02),
                ci_check("M1 blocked", est["m1_blocked"], chain["m1_blocked"], 0.08),
                ci_check("M2 starved", est["m2_starved"], chain["m2_starved"], 0.08)]
    assert not any(failures), "\n".join(f for f in failures if f)


@pytest.mark.slow
@ENGINES
@pytest.mark.parametrize("rho, slots", [(0.8, 2), (1.2, 1)])
def test_mm1k_with_loss(rho: float, slots: int, engine: str) -> None:
    """Poisson arrivals lost when the buffer (``slots``) and the machine are full: an M/M/1/K
    queue with K = slots + 1. Checks the fraction of arrivals lost (PASTA) and the
    throughput lambda (1 - P_K)."""
    mu, k = 1.0, slots + 1
    lam = rho * mu

    def measure(r: RunResult) -> dict[str, float]:
        ev = r.tables["events"]
        ev = ev[ev["time"] >= 500.0]
        lost = int((ev["kind"] == "lost").sum())
        entered = int((ev["kind"] == "created").sum())
        assert lost == r.kpis["lost_arrivals"]
        return {"P_loss": lost / (lost + entered), "TH": r.kpis["throughput_per_h"] / HOUR}

    est = replicate(loss_line(lam, mu, slots), SEEDS, 40_000.0, 500.0, measure, engine)
    p = mm1k_blocking(rho, k)
    failures = [ci_check("P(loss)", est["P_loss"], p, 0.05),
                ci_check("throughput [1/s]", est["TH"], lam * (1.0 - p), 0.02)]
    assert not any(failures), "\n".join(f for f in failures if f)


@pytest.mark.slow
@ENGINES
@pytest.mark.parametrize("k", [2, 4])
def test_m_ek_1_pollaczek_khinchine(k: int, engine: str) -> None:
    """M/E_k/1 at rho = 0.75: Wq = lambda E[S^2] / (2 (1 - rho)) with E[S^2] = (1 + 1/k)
    E[S]^2 (Pollaczek-Khinchine), and utilisation rho."""
    mean, rho, warmup = 1.0, 0.75, 2000.0
    lam = rho / mean
    wq = lam * (1.0 + 1.0 / k) * mean**2 / (2.0 * (1.0 - rho))

    def measure(r: RunResult) -> dict[str, float]:
        return {"Wq": float(waits_at(r, "m", warmup).mean()),
                "utilisation": station_row(r, "m")["utilisation"]}

    est = replicate(erlang_line(lam, mean, k), SEEDS, 60_000.0, warmup, measure, engine)
    failures = [ci_check("Wq [s]", est["Wq"], wq, 0.08),
                ci_check("utilisation", est["utilisation"], rho, 0.02)]
    assert not any(failures), "\n".join(f for f in failures if f)


# --------------------------------------------------------------------------- behaviour


@ENGINES
def test_zero_buffer_hands_over_directly(engine: str) -> None:
    """Constant times, M1 1 s and M2 3 s with no buffer between: M1 finishes its first part
    at 1 s and hands it over at once; its second at 2 s and holds it until M2 frees at 4 s;
    from then on a part leaves every 3 s and M1 is blocked 2 s in every 3."""
    spec = {"line": {"name": "zb"}, "products": {"A": {}}, "stations": {
        "supply": {"type": "source", "product": "A", "to": "m1"},
        "m1": {"type": "machine", "buffer": 1, "cycle_time": const(1.0), "to": "m2"},
        "m2": {"type": "machine", "buffer": 0, "cycle_time": const(3.0), "to": "out"},
        "out": {"type": "sink"}}}
    r = run(spec, duration=301.0, seed=1, engine=engine)
    done = r.tables["parts"]["done"].to_numpy()
    assert done[:4].tolist() == [4.0, 7.0, 10.0, 13.0]
    ev = r.tables["events"]
    at_m2 = ev[(ev["station"] == "m2") & (ev["kind"] == "arrive")]["time"].to_numpy()
    assert at_m2[:3].tolist() == [1.0, 4.0, 7.0]
    m1 = station_row(r, "m1")
    assert m1["blocked_fraction"] == pytest.approx((301.0 - 4.0) * 2 / 3 / 301.0 + 2 / 301.0,
                                                   abs=0.01)
    assert r.provenance["end_wip"]["m2"] <= 1 and r.provenance["end_wip"]["m1"] <= 2


@ENGINES
def test_lost_arrivals_from_a_schedule(engine: str) -> None:
    """Five parts released together into a machine with one slot: one starts, one waits in
    the slot, three are lost (and counted); with ``when_full = "wait"`` none is lost."""
    def spec(when_full: str) -> dict:
        return {"line": {"name": "lots"}, "products": {"A": {}}, "stations": {
            "src": {"type": "source", "product": "A", "when_full": when_full,
                    "schedule": [{"at": "10 s", "quantity": 5}], "to": "m"},
            "m": {"type": "machine", "buffer": 1, "cycle_time": const(5.0), "to": "out"},
            "out": {"type": "sink"}}}
    lost = run(spec("lost"), duration=100.0, seed=1, engine=engine)
    ev = lost.tables["events"]
    assert lost.kpis["lost_arrivals"] == 3
    assert (ev["kind"] == "lost").sum() == 3 and (ev["kind"] == "created").sum() == 2
    assert set(ev.loc[ev["kind"] == "lost", "part"]) == {-1}
    assert lost.kpis["good_units"] == 2
    waited = run(spec("wait"), duration=100.0, seed=1, engine=engine)
    assert waited.kpis["lost_arrivals"] == 0 and waited.kpis["good_units"] == 5


def test_lost_with_infinite_supply_is_refused() -> None:
    spec = loss_line(1.0, 1.0, 1)
    del spec["stations"]["src"]["interarrival"]
    with pytest.raises(SpecError, match="when_full"):
        run(spec, duration=10.0)


def test_lost_with_a_transport_delay_is_refused() -> None:
    spec = loss_line(1.0, 1.0, 1)
    spec["stations"]["src"]["routes"] = [{"to": "m", "delay": "5 s"}]
    del spec["stations"]["src"]["to"]
    with pytest.raises(SpecError, match="transport delay"):
        run(spec, duration=10.0)


def test_negative_buffer_is_refused() -> None:
    spec = hunt_line(1.0, 1.0)
    spec["stations"]["m2"]["buffer"] = -1
    with pytest.raises(SpecError, match="buffer"):
        run(spec, duration=10.0)


@ENGINES
def test_zero_buffer_assembly_takes_parts_as_they_come(engine: str) -> None:
    """An assembly with zero-slot queues: each component source is blocked until the
    assembly takes its part; flow still closes (every created part is finished or held)."""
    spec = {"line": {"name": "asm0"}, "products": {"B": {}, "C": {}}, "stations": {
        "sb": {"type": "source", "product": "B", "interarrival": expo(2.0), "to": "asm"},
        "sc": {"type": "source", "product": "C", "interarrival": expo(1.0), "to": "asm"},
        "asm": {"type": "assembly", "buffer": 0, "base": "B", "components": {"C": 2},
                "cycle_time": expo(1.0), "to": "out"},
        "out": {"type": "sink"}}}
    r = run(spec, duration=2000.0, seed=3, engine=engine)
    assert r.provenance["engine"] == engine
    assert r.kpis["good_units"] > 100
    assert math.isfinite(r.kpis["lead_time_mean_h"])


def zero_buffer_batch_cycle(mu: float, c: float, wait: float) -> tuple[float, float]:
    """A batch station of 2 with no buffer (cycle ``c`` [s], ``max_wait`` ``wait`` [s], inf:
    none) behind one exponential machine (rate ``mu`` [1/s]) that is never starved: the mean
    time from one batch start to the next [s] and the mean parts per batch. When a batch
    starts the machine has just started a part (it handed over the last one, or has run a
    memoryless while), so batches are i.i.d. (a renewal process): the machine finishes
    within the cycle with probability 1 - exp(-mu c), is then blocked and hands its part
    over at once, else the first part comes after an exponential wait; the second comes
    within the wait with probability 1 - exp(-mu wait), after a wait of mean
    (1 - exp(-mu wait)) / mu."""
    within = -math.expm1(-mu * wait)
    return c + math.exp(-mu * c) / mu + within / mu, 1.0 + within


@ENGINES
@pytest.mark.parametrize("wait", [math.inf, 0.5])
def test_zero_buffer_batch_behind_one_machine(wait: float, engine: str) -> None:
    """Infinite supply -> exponential machine (mean 1 s) -> batch station of 2 with no
    buffer (constant cycle 1 s; full batches, or max_wait 0.5 s) -> sink: the time between
    batch starts and the parts per batch, i.i.d. over about 5,000 batches, hold the closed
    form :func:`zero_buffer_batch_cycle` (2.368 s and 2; 1.761 s and 1.393) in 99.9 %
    intervals; taking the parts from the blocked machine only after a wait would make the
    cycle 0.6 s longer."""
    oven: dict = {"type": "batch", "buffer": 0, "batch_size": 2, "cycle_time": const(1.0),
                  "to": "out"}
    if wait != math.inf:
        oven["max_wait"] = f"{wait} s"
    spec = {"line": {"name": "zb_batch"}, "products": {"A": {}}, "stations": {
        "supply": {"type": "source", "product": "A", "to": "m"},
        "m": {"type": "machine", "buffer": 1, "cycle_time": expo(1.0), "to": "oven"},
        "oven": oven, "out": {"type": "sink"}}}
    r = run(spec, duration=10_000.0, seed=5, engine=engine)
    assert r.provenance["engine"] == engine
    ev = r.tables["events"]
    starts = ev[(ev["station"] == "oven") & (ev["kind"] == "start")].groupby("time").size()
    cycle, size = zero_buffer_batch_cycle(1.0, 1.0, wait)
    assert_agrees("time between batches [s]", t_interval(np.diff(starts.index)), cycle, 0.03)
    if wait == math.inf:
        assert (starts == 2).all()
    else:
        assert_agrees("parts per batch", t_interval(starts), size, 0.03)
