"""Simulation-based optimisation finds what the exact Markov chain says is optimal.

Reference: the throughput of a serial line of exponential machines with finite buffers and
blocking after service is the departure rate of its continuous-time Markov chain
(``serial_markov.throughput``, built from the states reachable from an empty line; checked
against the closed form of two machines, M/M/1/N with N = B + 2, and Hunt's zero-buffer line
22/39 in ``test_serial_markov.py``). The optimiser never sees it.

Budget of every case is stated in its docstring: candidates x replications x simulated time,
plus the replications procedure KN adds.
"""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from serial_markov import throughput

from twin.data.checks import SpecError
from twin.optimise.pareto import non_dominated
from twin.optimise.search import optimise
from twin.orchestration.study import StudyInterrupted


def serial_line(means: list[float], fail: dict[int, tuple[float, float]] | None = None,
                duration: float = 6000.0) -> str:
    """Infinite supply -> machines with exponential cycle times ``means`` [s] -> sink.
    Machine ``i`` fails (operating basis) with exponential MTBF/MTTR ``fail[i]`` [s]."""
    fail = fail or {}
    out = [f'[line]\nname = "serial"\n[run]\nduration = "{duration} s"\nwarmup = "300 s"\n',
           "[products.A]\n", '[stations.supply]\ntype = "source"\nproduct = "A"\nto = "m0"\n']
    for i, m in enumerate(means):
        nxt = f"m{i + 1}" if i + 1 < len(means) else "out"
        out.append(f'[stations.m{i}]\ntype = "machine"\nbuffer = 1\n'
                   f'cycle_time = {{ dist = "exponential", mean = "{m!r} s" }}\nto = "{nxt}"\n')
        if i in fail:
            mtbf, mttr = fail[i]
            out.append(f'[[stations.m{i}.failures]]\nttf = {{ dist = "exponential", '
                       f'mean = "{mtbf} s" }}\nttr = {{ dist = "exponential", '
                       f'mean = "{mttr} s" }}\n')
    out.append('[stations.out]\ntype = "sink"\n')
    return "\n".join(out)


def allocation_scenario(n: int, total: int, **optimise_keys: object) -> str:
    """Buffers of machines 1..n-1 (the slots between machines) from 1 to ``total``, their sum
    at most ``total``."""
    names = [f"stations.m{i}.buffer" for i in range(1, n)]
    keys = "\n".join(f"{k} = {json.dumps(v)}" for k, v in optimise_keys.items())
    variables = "\n".join(f'[optimise.variables."{p}"]\nlow = 1\nhigh = {total}' for p in names)
    terms = ", ".join(f'"{p}" = 1' for p in names)
    return textwrap.dedent(f"""\
        name = "alloc"
        line = "line.toml"
        [run]
        seed = 1
        [optimise]
        objectives = ["throughput_per_h"]
        {keys}
        """) + variables + f"\n[[optimise.linear]]\nterms = {{ {terms} }}\nmax = {total}\n" + \
        "[optimise.select]\nfirst_stage = 5\n"


def exact_best(rates: list[float], total: int, fail=None, repair=None) -> tuple[float, dict]:
    """Best throughput [1/s] over allocations (spec buffers >= 1, sum <= total) and all
    throughputs by allocation."""
    n = len(rates)
    table = {}
    for b in itertools.product(range(1, total + 1), repeat=n - 1):
        if sum(b) <= total:
            table[b] = throughput(rates, list(b), fail, repair)
    return max(table.values()), table


def write(tmp: Path, line: str, scenario: str) -> Path:
    (tmp / "line.toml").write_text(line)
    path = tmp / "scenario.toml"
    path.write_text(scenario)
    return path


def chosen(result, n: int) -> tuple[int, ...]:
    return tuple(int(result.best[f"stations.m{i}.buffer"]) for i in range(1, n))


@pytest.mark.slow
@pytest.mark.parametrize(("means", "fail"), [
    ([1.0, 1.25, 1 / 1.1], {}),              # exact optimum (3, 3); (4, 2) is 0.66 % lower
    ([1.0, 1.0, 1.0], {1: (400.0, 40.0)}),   # an unreliable middle machine: (3, 3); 1.25 %
])
def test_whole_space_then_selection_finds_the_exact_optimum(tmp_path: Path, means,
                                                            fail) -> None:
    """Three machines, 6 slots: 15 allocations x 3 replications x 6,000 s, then KN (delta
    0.5 %) on the best 5; the chosen allocation's exact throughput is within 0.5 % of the
    optimum's, and the paired interval against (1, 1) holds the exact gain."""
    path = write(tmp_path, serial_line(means, fail), allocation_scenario(3, 6))
    result = optimise(path, tmp_path / "studies", executor="serial")
    rates = [1 / m for m in means]
    f = [1 / fail[i][0] if i in fail else 0.0 for i in range(3)]
    r = [1 / fail[i][1] if i in fail else 1.0 for i in range(3)]
    best, table = exact_best(rates, 6, f, r)
    assert table[chosen(result, 3)] >= 0.995 * best
    assert result.selection["guaranteed"]
    assert len(result.history) == 15
    vs = result.selection["versus_start"]          # paired interval against (1, 1)
    assert vs["low"] > 0
    gain = (table[chosen(result, 3)] - table[(1, 1)]) * 3600
    assert vs["low"] <= gain * 1.05 and gain * 0.95 <= vs["high"]


@pytest.mark.slow
@pytest.mark.parametrize(("means", "fail", "total", "budget"), [
    ([1 / 1.2, 1.0, 1 / 0.9, 1 / 1.1], {}, 7, 24),     # 35 allocations
])
def test_tpe_search_gets_within_half_a_percent(tmp_path: Path, means, fail, total,
                                               budget) -> None:
    """TPE over a space larger than its budget: ``budget`` candidates x 3 replications x
    6,000 s, then KN on the best 5; the chosen allocation's exact throughput is within 0.5 %
    of the optimum's."""
    n = len(means)
    path = write(tmp_path, serial_line(means, fail), allocation_scenario(
        n, total, method="tpe", budget=budget, batch=4))
    result = optimise(path, tmp_path / "studies", executor="serial")
    rates = [1 / m for m in means]
    f = [1 / fail[i][0] if i in fail else 0.0 for i in range(n)]
    r = [1 / fail[i][1] if i in fail else 1.0 for i in range(n)]
    best, table = exact_best(rates, total, f, r)
    assert len(table) > budget                     # the search did not see every allocation
    assert table[chosen(result, n)] >= 0.995 * best


@pytest.mark.slow
def test_a_constraint_the_unconstrained_optimum_breaks_is_respected(tmp_path: Path) -> None:
    """A WIP bound at the median of the allocations' mean WIPs (from a search of the same 6
    allocations with a bound that never binds, whose runs the constrained search reads
    back): the throughput optimum breaks it; the chosen design keeps it."""
    means = [1.0, 1.25, 1 / 1.1]
    line = serial_line(means, duration=3000.0)
    scenario = allocation_scenario(3, 4) + textwrap.dedent("""\
        [[optimise.constraints]]
        kpi = "wip_mean"
        max = BOUND
        """)
    probe = optimise(write(tmp_path, line, scenario.replace("BOUND", "1e9")),
                     tmp_path / "studies", executor="serial")
    unconstrained = probe.history.loc[probe.history["mean:throughput_per_h"].idxmax()]
    top = (int(unconstrained["x:stations.m1.buffer"]), int(unconstrained["x:stations.m2.buffer"]))
    wips = probe.history["mean:wip_mean"].sort_values().to_numpy()
    bound = float((wips[len(wips) // 2 - 1] + wips[len(wips) // 2]) / 2)   # a median bound
    top_wip = float(probe.history.loc[unconstrained.name, "mean:wip_mean"])
    assert top_wip > bound                               # the constraint binds
    result = optimise(write(tmp_path, line, scenario.replace("BOUND", repr(bound))),
                      tmp_path / "studies", executor="serial")
    hist = result.history
    row = hist[(hist["x:stations.m1.buffer"] == result.best["stations.m1.buffer"])
               & (hist["x:stations.m2.buffer"] == result.best["stations.m2.buffer"])].iloc[0]
    assert row["feasible"] and row["mean:wip_mean"] <= bound
    assert chosen(result, 3) != top


@pytest.mark.slow
def test_pareto_front_is_non_dominated_and_confirmed(tmp_path: Path) -> None:
    """Throughput up, WIP down: every candidate off the front is dominated by one on it, no
    front point dominates another, and each front point has independent confirmation
    replications whose interval holds the search's mean of throughput roughly."""
    means = [1.0, 1.25, 1 / 1.1]
    scenario = allocation_scenario(3, 4).replace(
        'objectives = ["throughput_per_h"]', 'objectives = ["throughput_per_h", "wip_mean"]')
    path = write(tmp_path, serial_line(means, duration=3000.0), scenario)
    result = optimise(path, tmp_path / "studies", executor="serial")
    front = result.front
    assert front is not None and len(front) >= 2
    pts = front[["mean:throughput_per_h", "mean:wip_mean"]].to_numpy()
    for i, a in enumerate(pts):          # brute force, independent of non_dominated
        for j, b in enumerate(pts):
            assert not (i != j and a[0] >= b[0] and a[1] <= b[1] and (a != b).any())
    hist = result.history[result.history["feasible"]]
    for _, row in hist.iterrows():
        x = np.array([row["mean:throughput_per_h"], row["mean:wip_mean"]])
        on_front = any((x == p).all() for p in pts)
        assert on_front or any(p[0] >= x[0] and p[1] <= x[1] for p in pts)
    assert front["confirm:throughput_per_h"].notna().all()
    rel = (front["confirm:throughput_per_h"] / front["mean:throughput_per_h"] - 1).abs()
    assert (rel < 0.03).all()
    # the Pareto-set selection: a point left out is beaten in both objectives by the point it
    # names, on the confirming means (throughput up, WIP down)
    assert front["selected"].any() and result.selection["alpha"] == 0.05
    for _, row in front[~front["selected"]].iterrows():
        winner = front[front.apply(lambda r: ", ".join(
            f"{c[2:]}={r[c]}" for c in front.columns if c.startswith("x:")), axis=1)
            == row["dominated_by"]].iloc[0]
        assert winner["confirm:throughput_per_h"] > row["confirm:throughput_per_h"]
        assert winner["confirm:wip_mean"] < row["confirm:wip_mean"]
    assert (tmp_path / "studies" / "alloc" / "pareto.csv").is_file()
    from twin.edges.report import build_report

    doc = build_report(tmp_path / "studies" / "alloc", "en")
    front_html = doc.split('id="front"', 1)[1].split("</section>", 1)[0]
    assert "data:image/png" in front_html  # the front drawn in the plane of the objectives


def test_non_dominated_mask() -> None:
    pts = np.array([[1.0, 5.0], [2.0, 6.0], [2.0, 4.0], [0.5, 1.0], [2.0, 4.0]])
    # maximise the first, minimise the second: (2, 4) twice dominates (1, 5) and (2, 6)
    assert non_dominated(pts, [True, False]).tolist() == [False, False, True, True, True]
    assert non_dominated(pts, [True, True]).tolist() == [False, True, False, False, False]


@pytest.mark.slow
def test_kill_and_resume_reruns_nothing_and_ends_identically(tmp_path: Path) -> None:
    """Interrupted after 20 stored runs, resumed: the result equals an uninterrupted
    optimisation's, and the resumed call ran only what was missing."""
    means = [1.0, 1.25, 1 / 1.1]
    line = serial_line(means, duration=2000.0)
    scenario = allocation_scenario(3, 6, method="tpe", budget=8, batch=4)
    whole = optimise(write(tmp_path, line, scenario), tmp_path / "a", executor="serial")

    def stop_after(n):
        seen = {"count": 0}

        def progress(done, total):
            if done > 0 and done < total:
                seen["count"] += 1
                if seen["count"] >= n:
                    raise KeyboardInterrupt
        return progress

    with pytest.raises(StudyInterrupted):
        optimise(tmp_path / "scenario.toml", tmp_path / "b", executor="serial",
                 progress=stop_after(20))
    stored = len(list((tmp_path / "b" / "alloc" / "runs").glob("serial_*")))
    again = optimise(tmp_path / "scenario.toml", tmp_path / "b", executor="serial")
    meta = json.loads((tmp_path / "b" / "alloc" / "study.json").read_text())
    total = json.loads((tmp_path / "a" / "alloc" / "study.json").read_text())["runs_executed"]
    assert meta["runs_executed"] == total - stored
    assert again.best == whole.best
    pd.testing.assert_frame_equal(again.history, whole.history)


@pytest.mark.parametrize(("fragment", "where"), [
    ('objectives = ["troughput_per_h"]', "optimise.objectives[0]"),
    ('objectives = ["bottleneck"]', "optimise.objectives[0]"),
    ('objectives = ["throughput_per_h"]\n[[optimise.constraints]]\nkpi = "wip"\nmax = 1',
     "optimise.constraints[0].kpi"),
])
def test_bad_objectives_are_refused_before_any_run(tmp_path: Path, fragment, where) -> None:
    scenario = allocation_scenario(3, 6).replace('objectives = ["throughput_per_h"]', fragment)
    path = write(tmp_path, serial_line([1.0, 1.0, 1.0]), scenario)
    with pytest.raises(SpecError) as err:
        optimise(path, tmp_path / "studies", executor="serial")
    assert where in str(err.value)
    assert not (tmp_path / "studies" / "alloc" / "runs").exists()


def test_a_variable_whose_bound_breaks_the_line_is_refused(tmp_path: Path) -> None:
    scenario = allocation_scenario(3, 6).replace("low = 1\nhigh = 6", "low = -1\nhigh = 6", 1)
    path = write(tmp_path, serial_line([1.0, 1.0, 1.0]), scenario)
    with pytest.raises(SpecError, match=r"optimise.variables\['stations.m1.buffer'\]"):
        optimise(path, tmp_path / "studies", executor="serial")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_optimisation_report(tmp_path: Path, lang: str) -> None:
    """A tiny optimisation (three allocations) reports its settings, the selected design with
    its guarantee statement, the comparison with the start and every candidate."""
    from twin.edges.report import build_report

    scenario = allocation_scenario(3, 3, replications=2).replace(
        "first_stage = 5", "first_stage = 3")
    path = write(tmp_path, serial_line([1.0, 1.25, 1 / 1.1], duration=400.0), scenario)
    result = optimise(path, tmp_path / "studies", executor="serial")
    doc = build_report(tmp_path / "studies" / "alloc", lang)
    assert len(result.history) == 3                   # (1, 1), (1, 2), (2, 1)
    for section in ('id="search"', 'id="selection"', 'id="candidates"', 'id="model"'):
        assert section in doc
    assert ("Kim &amp; Nelson" in doc) or ("无选择保证" in doc) or ("No selection" in doc)
