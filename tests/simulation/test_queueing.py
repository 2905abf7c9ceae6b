"""Statistical validation of the discrete engine against exact queueing theory.

Every check compares a simulated quantity, estimated by independent replications (fixed
seeds) with a Student-t confidence interval at 99.9 %, with a closed-form result that does not
use the engine: M/M/1, M/M/c (Erlang C), M/D/1 (Pollaczek-Khinchine) and the two-machine line
with blocking after service (an M/M/1/N birth-death chain). Each check also requires the
interval to be narrow (a bound on its relative half-width), so a real error of a few percent
makes the test fail (the bounds are about twice the half-widths expected from the run
lengths). All failures of one scenario are reported together.

References: Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory* (M/M/1,
M/M/c, M/G/1 P-K formula, M/M/1/K); Buzacott & Shanthikumar, *Stochastic Models of
Manufacturing Systems* (two-stage line with a finite buffer, blocking after service).
"""

from __future__ import annotations

import math

import pytest
from lines_for_tests import (
    CONFIDENCE,
    Interval,
    const,
    expo,
    queue_line,
    replicate,
    station_row,
    two_machine_line,
    waits_at,
)

from twin.orchestration.run import RunResult

SEEDS = tuple(range(101, 111))  # ten independent replications
ENGINES = pytest.mark.parametrize("engine", ["simpy", "compiled"])
"""Every check runs on both engines (the compiled engine: discrete lines, Numba)."""
HOUR = 3600.0


# --------------------------------------------------------------------------- references


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``a = lambda / mu``."""
    if not 0 <= a < c:
        raise ValueError("needs a < c")
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def erlang_c_via_b(c: int, a: float) -> float:
    """The same probability through the Erlang B recursion (a second, independent route)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho + rho * b)


def two_machine_chain(mu1: float, mu2: float, slots: int) -> dict[str, float]:
    """Stationary law of the two-machine line with ``slots`` slots and blocking after service.

    State n = parts in the buffer and at M2, plus one when M1 holds a finished part it
    cannot pass on (blocked): n = 0 .. N with N = slots + 2. M1 (never starved) moves the
    chain up at rate mu1 while n < N, M2 moves it down at rate mu2 while n > 0: the M/M/1/N
    birth-death chain, solved here numerically from the balance equations.
    """
    n_max = slots + 2
    weights = [(mu1 / mu2) ** n for n in range(n_max + 1)]
    total = sum(weights)
    p = [w / total for w in weights]
    return {"throughput": mu2 * (1.0 - p[0]), "m1_blocked": p[n_max], "m2_starved": p[0]}


def two_machine_throughput(mu1: float, mu2: float, slots: int) -> float:
    """Closed form of the line's throughput, N = slots + 2 (Buzacott & Shanthikumar)."""
    n = slots + 2
    if mu1 == mu2:
        return mu1 * n / (n + 1)
    return mu1 * mu2 * (mu1**n - mu2**n) / (mu1 ** (n + 1) - mu2 ** (n + 1))


def test_references_agree_with_known_values() -> None:
    """The reference formulas themselves: Erlang C by two routes, C(1, rho) = rho,
    C(2, a) = 2 rho^2 / (1 + rho), and the chain against the closed-form throughput."""
    for c, a in [(1, 0.5), (2, 1.6), (3, 2.4), (5, 3.1)]:
        assert erlang_c(c, a) == pytest.approx(erlang_c_via_b(c, a), rel=1e-12)
    assert erlang_c(1, 0.8) == pytest.approx(0.8)
    assert erlang_c(2, 1.6) == pytest.approx(2 * 0.8**2 / 1.8)
    for mu1, mu2, b in [(1.0, 1.0, 1), (1.0, 0.7, 3), (0.7, 1.0, 1), (2.0, 1.0, 0)]:
        assert two_machine_chain(mu1, mu2, b)["throughput"] == pytest.approx(
            two_machine_throughput(mu1, mu2, b), rel=1e-12)
    assert two_machine_throughput(1.0, 1.0, 1) == pytest.approx(0.75)


# --------------------------------------------------------------------------- helpers


def check(failures: list[str], name: str, ci: Interval, theory: float,
          max_rel_half_width: float) -> None:
    """Collect a failure if ``theory`` is outside the interval or the interval is too wide."""
    line = f"{name}: simulated {ci}, theory {theory:.6g}"
    print(line)  # the measured agreement, shown by pytest -rP
    if ci.half_width > max_rel_half_width * abs(theory):
        failures.append(f"{line} -- interval too wide to test (> {max_rel_half_width:.1%})")
    elif not ci.contains(theory):
        failures.append(f"{line} -- theory outside the {CONFIDENCE:.1%} interval")


def single_station(r: RunResult, t0: float) -> dict[str, float]:
    """Per-replication estimates of a one-station line: W and L from the run's KPIs,
    utilisation from the station KPIs, Wq and P(wait) from the raw event table."""
    waits = waits_at(r, "m", t0)
    return {
        "W": r.kpis["lead_time_mean_h"] * HOUR,
        "L": r.kpis["wip_mean"],
        "utilisation": station_row(r, "m")["utilisation"],
        "Wq": float(waits.mean()),
        "P_wait": float((waits > 0).mean()),
    }


# --------------------------------------------------------------------------- M/M/1


@pytest.mark.slow
@ENGINES
@pytest.mark.parametrize("rho, duration", [(0.5, 60_000.0), (0.8, 100_000.0)])
def test_mm1(rho: float, duration: float, engine: str) -> None:
    """M/M/1: W = 1 / (mu - lambda), L = lambda W, Wq = rho / (mu - lambda), utilisation
    = rho, P(wait) = rho (PASTA)."""
    mu, lam, warmup = 1.0, rho, 2000.0
    est = replicate(queue_line("mm1", lam, expo(1.0 / mu)), SEEDS, duration, warmup,
                    lambda r: single_station(r, warmup), engine)
    w = 1.0 / (mu - lam)
    failures: list[str] = []
    check(failures, "W [s]", est["W"], w, 0.10)
    check(failures, "L", est["L"], lam * w, 0.10)
    check(failures, "Wq [s]", est["Wq"], rho / (mu - lam), 0.12)
    check(failures, "utilisation", est["utilisation"], rho, 0.02)
    check(failures, "P(wait)", est["P_wait"], rho, 0.025)
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- M/M/c


@pytest.mark.slow
@ENGINES
@pytest.mark.parametrize("servers, duration", [(2, 50_000.0), (3, 40_000.0)])
def test_mmc_erlang_c(servers: int, duration: float, engine: str) -> None:
    """M/M/c at rho = 0.8: P(wait) = Erlang C, Wq = C / (c mu - lambda), W = Wq + 1/mu,
    L = lambda W, utilisation = lambda / (c mu)."""
    mu, rho, warmup = 1.0, 0.8, 2000.0
    lam = rho * servers * mu
    est = replicate(queue_line("mmc", lam, expo(1.0 / mu), servers), SEEDS, duration,
                    warmup, lambda r: single_station(r, warmup), engine)
    c_wait = erlang_c(servers, lam / mu)
    wq = c_wait / (servers * mu - lam)
    failures: list[str] = []
    check(failures, "P(wait)", est["P_wait"], c_wait, 0.03)
    check(failures, "Wq [s]", est["Wq"], wq, 0.12)
    check(failures, "W [s]", est["W"], wq + 1.0 / mu, 0.08)
    check(failures, "L", est["L"], lam * (wq + 1.0 / mu), 0.08)
    check(failures, "utilisation", est["utilisation"], rho, 0.02)
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- M/D/1


@pytest.mark.slow
@ENGINES
def test_md1_pollaczek_khinchine(engine: str) -> None:
    """M/D/1 at rho = 0.7: Wq = rho / (2 mu (1 - rho)) (P-K with zero service variance),
    W = Wq + 1/mu, L = lambda W, utilisation = rho."""
    mu, rho, warmup = 1.0, 0.7, 2000.0
    lam = rho * mu
    est = replicate(queue_line("md1", lam, const(1.0 / mu)), SEEDS, 60_000.0, warmup,
                    lambda r: single_station(r, warmup), engine)
    wq = rho / (2.0 * mu * (1.0 - rho))
    failures: list[str] = []
    check(failures, "Wq [s]", est["Wq"], wq, 0.08)
    check(failures, "W [s]", est["W"], wq + 1.0 / mu, 0.05)
    check(failures, "L", est["L"], lam * (wq + 1.0 / mu), 0.06)
    check(failures, "utilisation", est["utilisation"], rho, 0.02)
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- two machines


@pytest.mark.slow
@ENGINES
@pytest.mark.parametrize("mu1, mu2, slots", [
    (1.0, 1.0, 1),   # balanced, N = 3: TH = 3/4
    (1.0, 1.0, 3),   # balanced, N = 5: TH = 5/6
    (1.0, 0.7, 1),   # slow second machine: M1 often blocked
    (0.7, 1.0, 3),   # slow first machine: M2 often starved
])
def test_two_machines_blocking_after_service(mu1: float, mu2: float, slots: int,
                                             engine: str) -> None:
    """Two exponential machines with ``slots`` buffer slots between them, blocking after
    service, M1 never starved: an M/M/1/N chain with N = slots + 2. Checks throughput
    (closed form), M1 blocked fraction = P(N), M2 starved fraction = P(0) and
    M1 utilisation = 1 - P(N)."""
    warmup = 500.0
    chain = two_machine_chain(mu1, mu2, slots)

    def measure(r: RunResult) -> dict[str, float]:
        m1, m2 = station_row(r, "m1"), station_row(r, "m2")
        return {"TH": r.kpis["throughput_per_h"] / HOUR, "m1_blocked": m1["blocked_fraction"],
                "m1_starved": m1["starved_fraction"], "m1_util": m1["utilisation"],
                "m2_starved": m2["starved_fraction"]}

    est = replicate(two_machine_line(mu1, mu2, slots), SEEDS[:8], 40_000.0, warmup, measure,
                    engine)
    failures: list[str] = []
    check(failures, "throughput [1/s]", est["TH"], two_machine_throughput(mu1, mu2, slots),
          0.025)
    check(failures, "M1 blocked fraction", est["m1_blocked"], chain["m1_blocked"], 0.20)
    check(failures, "M1 utilisation", est["m1_util"], 1.0 - chain["m1_blocked"], 0.02)
    check(failures, "M2 starved fraction", est["m2_starved"], chain["m2_starved"], 0.10)
    # M1 has an infinite supply behind one slot: it must never wait for a part.
    if est["m1_starved"].mean > 1e-9:
        failures.append(f"M1 starved fraction {est['m1_starved']} should be 0")
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- Little's law


def jackson_line() -> tuple[dict[str, object], float, float]:
    """Open Jackson network: Poisson source (rate 0.5/s) -> a -> b (p = 0.3) or c (p = 0.7,
    two servers) -> d -> sink (p = 0.8) or back to a (p = 0.2); exponential services.

    Returns the spec, the external arrival rate and the mean number in the network from
    the product form (Jackson): traffic equations lambda_a = lambda_d = lambda0 / 0.8,
    lambda_b = 0.3 lambda_a, lambda_c = 0.7 lambda_a; each station then contributes its
    M/M/c mean number in system.
    """
    lam0 = 0.5
    mu = {"a": 1.0, "b": 0.5, "c": 0.3, "d": 0.9}
    servers = {"a": 1, "b": 1, "c": 2, "d": 1}
    lam_a = lam0 / 0.8
    lam = {"a": lam_a, "b": 0.3 * lam_a, "c": 0.7 * lam_a, "d": lam_a}
    total = 0.0
    for s in mu:
        a, c = lam[s] / mu[s], servers[s]
        rho = a / c
        total += erlang_c(c, a) * rho / (1.0 - rho) + a  # Lq + mean number in service
    spec = {"line": {"name": "jackson"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "interarrival": expo(1.0 / lam0),
                "to": "a"},
        "a": {"type": "machine", "cycle_time": expo(1.0 / mu["a"]),
              "routes": [{"to": "b", "probability": 0.3}, {"to": "c", "probability": 0.7}]},
        "b": {"type": "machine", "cycle_time": expo(1.0 / mu["b"]), "to": "d"},
        "c": {"type": "machine", "servers": 2, "cycle_time": expo(1.0 / mu["c"]), "to": "d"},
        "d": {"type": "machine", "cycle_time": expo(1.0 / mu["d"]),
              "routes": [{"to": "out", "probability": 0.8}, {"to": "a", "probability": 0.2}]},
        "out": {"type": "sink"}}}
    return spec, lam0, total


@pytest.mark.slow
@ENGINES
def test_littles_law_on_a_routed_network(engine: str) -> None:
    """Little's law WIP = TH x W on a network with probabilistic routes and feedback: the
    per-replication difference wip_mean - throughput x lead_time_mean must have a t interval
    containing 0 (it is a sample-path identity up to edge effects of zero mean in steady
    state). Also the Jackson product form: L = sum of the stations' M/M/c L, W = L / lambda0,
    and throughput = lambda0."""
    spec, lam0, l_theory = jackson_line()

    def measure(r: RunResult) -> dict[str, float]:
        k = r.kpis
        th, w, wip = k["throughput_per_h"] / HOUR, k["lead_time_mean_h"] * HOUR, k["wip_mean"]
        return {"TH": th, "W": w, "L": wip, "little_gap": wip - th * w,
                "little_rel_gap": (wip - th * w) / wip}

    est = replicate(spec, SEEDS[:8], 50_000.0, 3000.0, measure, engine)
    failures: list[str] = []
    gap, rel = est["little_gap"], est["little_rel_gap"]
    print(f"Little: WIP - TH x W = {gap}; relative {rel}")
    if not gap.contains(0.0):
        failures.append(f"Little: WIP - TH x W = {gap}, interval excludes 0")
    if rel.half_width > 0.005 or abs(rel.mean) > 0.005:
        failures.append(f"Little: relative gap (WIP - TH x W) / WIP = {rel}, expected ~0")
    check(failures, "throughput [1/s]", est["TH"], lam0, 0.02)
    check(failures, "L (Jackson)", est["L"], l_theory, 0.07)
    check(failures, "W (Jackson) [s]", est["W"], l_theory / lam0, 0.07)
    assert not failures, "\n".join(failures)
