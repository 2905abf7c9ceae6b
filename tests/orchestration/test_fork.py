"""Runs started from a state: a fork of a stored run continues it exactly (deterministic
lines) or in distribution (random lines), and a wrong state is detected."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twin.data.checks import SpecError
from twin.data.scenario import InjectedFailure
from twin.data.state import LineState
from twin.observation import runfolder
from twin.observation.run_state import state_from_tables
from twin.orchestration.fork import fork, state_at
from twin.orchestration.run import RunResult, prepare, run

DISCRETE = {
    "line": {"name": "det"}, "products": {"A": {}},
    "calendar": {"days": ["mon", "tue", "wed", "thu", "fri"],
                 "shifts": [{"start": "06:00", "end": "14:00"}]},
    "stations": {
        "src": {"type": "source", "product": "A", "interarrival": "50 s", "to": "m1"},
        "m1": {"type": "machine", "buffer": 5, "cycle_time": "47 s", "to": "m2",
               "follows_calendar": False},
        "m2": {"type": "machine", "servers": 2, "buffer": 3, "cycle_time": "110 s",
               "to": "q"},
        "q": {"type": "inspection", "cycle_time": "20 s", "to": "oven",
              "rework_probability": 0.0},
        "oven": {"type": "batch", "batch_size": 4, "buffer": 8, "cycle_time": "170 s",
                 "to": "out"},
        "out": {"type": "sink"}}}

SPECIES = {"S": {"molar_mass": "0.018 kg/mol", "density": "1000 kg/m3",
                 "cp": "4180 J/(kg*K)"},
           "A": {"molar_mass": "0.150 kg/mol", "density": "1200 kg/m3",
                 "cp": "1500 J/(kg*K)", "state": "dissolved"}}
PROCESS = {
    "line": {"name": "proc"}, "products": {"batch": {}}, "species": SPECIES,
    "stations": {
        "src": {"type": "source", "product": "batch", "to": "r1",
                "schedule": [{"at": "0 s", "quantity": 1, "every": "90 min"}]},
        "r1": {"type": "process", "buffer": 3, "to": "r2", "recipe": [
            {"phase": "charge", "name": "charge", "duration": "10 min",
             "temperature": "293.15 K", "materials": {"S": "500 kg", "A": "50 kg"}},
            {"phase": "heat", "name": "heat", "to": "340 K", "jacket": "360 K",
             "ua": "2000 W/K"},
            {"phase": "hold", "name": "hold", "duration": "30 min"},
            {"phase": "cool", "name": "cool", "to": "300 K", "jacket": "290 K",
             "ua": "2000 W/K"}]},
        "r2": {"type": "process", "to": "out",
               "recipe": [{"phase": "hold", "name": "age", "duration": "100 min"}]},
        "out": {"type": "sink"}}}


def after(result: RunResult, t: float) -> list[tuple[Any, ...]]:
    """The part events after ``t``, as a sorted list (order within an instant may differ)."""
    ev = result.tables["events"]
    ev = ev[ev["time"] > t]
    return sorted(zip(ev["time"].round(6), ev["part"], ev["station"].astype(str),
                      ev["kind"].astype(str), strict=True))


@pytest.mark.parametrize("t", [3600.0 + 13, 6 * 3600.0, 9 * 3600.0 + 33.3, 14 * 3600.0 + 7])
def test_the_fork_of_a_deterministic_run_repeats_it_exactly(tmp_path: Path, t: float) -> None:
    """Before the shift (the units are off), at the shift start (an instant where parts
    start), inside the shift and after its end (m1 runs on): the calendar position is
    carried by the clock. Two servers at m2, a batch oven."""
    base = run(DISCRETE, duration="1 d", warmup=0, seed=1)
    folder = base.save(tmp_path)
    state = state_at(folder, t)
    if t == 9 * 3600.0 + 33.3:  # in the shift: both m2 servers and the oven are at work
        assert len([u for u in state.stations["m2"].units if u.parts]) == 2
        oven = state.stations["oven"].units[0]
        assert len(oven.parts) == 4 and not oven.done
    forked = fork(folder, at=t)
    assert after(forked, t) == after(base, t)
    assert len(after(base, t)) > 100
    start = forked.provenance["initial_state"]
    assert start["time_s"] == t and start["provenance"]["run_id"] == base.run_id
    assert forked.provenance["settings"]["start_s"] == t
    # recorded where it came from: the state it started from is in run.json
    saved = runfolder.read_summary(forked.save(tmp_path / "forks"))
    assert LineState.parse(saved["provenance"]["initial_state"]["state"]) == state


def test_the_fork_of_a_process_run_resumes_batches_in_their_phase(tmp_path: Path) -> None:
    base = run(PROCESS, duration="1 d", warmup=0, seed=1)
    folder = base.save(tmp_path)
    for t in (7000.0, 3 * 3600 + 700.0):
        state = state_at(folder, t)
        in_phase = [u for st in state.stations.values() for u in st.units if u.phase]
        assert in_phase and any(u.elapsed > 0 for u in in_phase)
        forked = fork(folder, at=t)
        assert after(forked, t) == after(base, t)
        ph_b, ph_f = base.tables["phases"], forked.tables["phases"]
        ends_b = ph_b[ph_b["end"] > t].sort_values(["part", "end"])["end"].to_numpy()
        ends_f = ph_f.sort_values(["part", "end"])["end"].to_numpy()
        np.testing.assert_allclose(ends_f, ends_b, rtol=0, atol=1e-6)
        assert bool(forked.tables["balance"]["closed"].all())


def test_a_run_from_a_state_refuses_the_compiled_engine_and_auto_picks_simpy() -> None:
    state = {"line": "det", "time": 100.0}
    with pytest.raises(ValueError, match="a start from a state"):
        prepare(DISCRETE, duration="1 h", engine="compiled", initial_state=state)
    prep = prepare(DISCRETE, duration="1 h", engine="auto", initial_state=state)
    assert prep.engine == "simpy" and "a start from a state" in prep.engine_note
    with pytest.raises(SpecError, match=r"stations\.press: no station named"):
        prepare(DISCRETE, duration="1 h", initial_state={**state, "stations": {"press": {}}})


# --------------------------------------------------------------------- random lines

RANDOM = {
    "line": {"name": "rnd"}, "products": {"A": {}},
    "stations": {
        "src": {"type": "source", "product": "A", "to": "m1",
                "interarrival": {"dist": "uniform", "low": "20 min", "high": "40 min"}},
        "m1": {"type": "machine", "buffer": 3, "to": "m2",
               "cycle_time": {"dist": "uniform", "low": "20 min", "high": "34 min"}},
        "m2": {"type": "machine", "buffer": 3, "to": "out",
               "cycle_time": {"dist": "uniform", "low": "24 min", "high": "34 min"},
               "failures": [{"name": "jam", "ttf": {"dist": "weibull", "shape": 2.0,
                                                    "scale": "10 h"},
                             "ttr": {"dist": "uniform", "low": "10 min",
                                     "high": "50 min"}}]},
        "out": {"type": "sink"}}}
T_FORK, HORIZON = 6 * 3600.0, 3600.0
N_PAIRS = 40


def exits_after(result: RunResult, t: float, h: float) -> float:
    """Sum over the parts that leave in (t, t + h] of the time they leave early: h minus
    (exit - t), so early exits weigh more (sensitive to what is left of each cycle)."""
    ev = result.tables["events"]
    done = ev[(ev["kind"] == "exit") & (ev["time"] > t) & (ev["time"] <= t + h)]
    return float((h - (done["time"] - t)).sum())


@functools.cache
def plant(seed: int) -> tuple[float, LineState]:
    """The KPI after T_FORK of the run with ``seed``, and its state at T_FORK."""
    base = run(RANDOM, duration=T_FORK + HORIZON, warmup=0, seed=seed)
    return (exits_after(base, T_FORK, HORIZON),
            state_from_tables(base.line, base.tables, T_FORK))


def forked_pairs(wrong: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """For seeds 1..N_PAIRS: the KPI of the run after T_FORK, and of a run started from its
    state at T_FORK with another seed (``wrong``: the state forgets the work already done)."""
    base_kpi, fork_kpi = [], []
    for seed in range(1, N_PAIRS + 1):
        kpi, state = plant(seed)
        if wrong:  # every cycle under way starts again: what a naive restart would do
            data = state.model_dump()
            for st in data["stations"].values():
                for u in st["units"]:
                    u["elapsed"] = 0.0
            state = LineState.parse(data)
        forked = run(RANDOM, duration=HORIZON, warmup=0, seed=1000 + seed,
                     initial_state=state)
        base_kpi.append(kpi)
        fork_kpi.append(exits_after(forked, T_FORK, HORIZON))
    return np.array(base_kpi), np.array(fork_kpi)


def test_a_fork_of_a_random_run_continues_it_in_distribution() -> None:
    """Given the state, the run and its fork are independent draws of the same continuation,
    so their difference is symmetric about 0: Wilcoxon's signed-rank test (SciPy) at level
    0.01 must not reject."""
    base, forked = forked_pairs()
    assert np.count_nonzero(base - forked) >= 0.75 * N_PAIRS
    assert stats.wilcoxon(base, forked).pvalue > 0.01


def test_the_distribution_check_detects_a_state_that_forgets_work_done() -> None:
    """The same check on forks whose state drops the elapsed work (cycles start afresh):
    parts leave later, and the test rejects at level 0.01."""
    base, forked = forked_pairs(wrong=True)
    assert stats.wilcoxon(base, forked).pvalue < 0.01
    assert np.mean(forked) < np.mean(base)


def test_state_of_a_run_in_a_stop_keeps_the_known_repair_time(tmp_path: Path) -> None:
    base = run(RANDOM, duration="3 d", warmup=0, seed=3)
    stops = base.tables["stops"]
    s = stops.iloc[len(stops) // 2]
    t = float(s["start"]) + 0.25 * float(s["duration"])
    state = state_from_tables(base.line, base.tables, t)
    unit = state.stations["m2"].units[0]
    assert unit.state == "down" and unit.stop is not None
    assert unit.stop.mode == "jam"
    assert unit.stop.remaining == pytest.approx(0.75 * float(s["duration"]))
    forked = run(RANDOM, duration="1 h", warmup=0, seed=9, initial_state=state)
    st = forked.tables["states"]
    down = st[(st["station"] == "m2") & (st["state"] == "down")].iloc[0]
    assert down["start"] == t
    assert down["end"] == pytest.approx(float(s["start"]) + float(s["duration"]))
    assert isinstance(base.tables["events"], pd.DataFrame)


TANK = {
    "line": {"name": "tank"}, "products": {"batch": {}, "roll": {}},
    "species": {"slurry": {"molar_mass": "0.1 kg/mol"},
                "solvent": {"molar_mass": "0.1 kg/mol"}},
    "stations": {
        "src": {"type": "source", "product": "batch", "interarrival": "2 h", "to": "mixer"},
        "mixer": {"type": "process", "to": "tank", "recipe": [
            {"phase": "charge", "duration": "30 min",
             "materials": {"slurry": "400 kg", "solvent": "100 kg"}}]},
        "tank": {"type": "tank", "capacity": "1200 kg", "to": "coater"},
        "coater": {"type": "continuous", "rate": "400 kg/h", "lot_mass": "300 kg",
                   "product": "roll", "to": "out"},
        "out": {"type": "sink"}}}


def test_a_tank_starts_at_its_level() -> None:
    """600 kg in the tank at 1 h, drawn at 400 kg/h in lots of 300 kg: lots leave at
    1 h + 0.75 h and 1 h + 1.5 h, when the tank is empty (the first new batch reaches it at
    1 h + 2 h + 0.5 h); the ledger counts the tank's contents as the run's input."""
    state = {"line": "tank", "time": 3600.0,
             "stations": {"tank": {"level": {"slurry": 480.0, "solvent": 120.0}}}}
    res = run(TANK, duration="3 h", warmup=0, seed=1, initial_state=state)
    ev = res.tables["events"]
    exits = ev[ev["kind"] == "exit"]["time"].to_numpy() / 3600
    np.testing.assert_allclose(exits[:2], [1.75, 2.5])
    lv = res.tables["levels"]
    assert float(lv["kg"].iloc[0]) == 600.0 and float(lv["time"].iloc[0]) == 3600.0
    assert float(lv.loc[np.isclose(lv["time"], 2.5 * 3600), "kg"].iloc[-1]) == \
        pytest.approx(0.0, abs=1e-9)
    assert bool(res.tables["balance"]["closed"].all())
    fl = res.tables["flows"]
    lots = fl[(fl["kind"] == "output")].groupby("species", observed=True)["kg"].sum()
    assert lots["slurry"] / lots["solvent"] == pytest.approx(4.0)


def test_timed_events_of_a_fork_are_at_times_of_the_run(tmp_path: Path) -> None:
    base = run(DISCRETE, duration="1 d", warmup=0, seed=1)
    folder = base.save(tmp_path)
    t = 9 * 3600.0
    fail = InjectedFailure(kind="failure", station="q", at="10 h", duration="20 min")
    forked = fork(folder, at=t, events=[fail])
    st = forked.tables["states"]
    down = st[(st["station"] == "q") & (st["state"] == "down")]
    assert (float(down["start"].iloc[0]), float(down["end"].iloc[0])) == (36000.0, 37200.0)
    early = InjectedFailure(kind="failure", station="q", at="8 h", duration="20 min")
    with pytest.raises(SpecError, match=r"events\[0\]\.at: 28800 s is before the state's"):
        fork(folder, at=t, events=[early])


SETUPS = {
    "line": {"name": "setup"}, "products": {"A": {}, "B": {}},
    "operators": {"crew": {"count": 1}},
    "stations": {
        "src": {"type": "source", "mix": {"A": 1, "B": 1}, "to": "m",
                "schedule": [{"at": "0 s", "product": "A", "every": "400 s"},
                             {"at": "200 s", "product": "B", "every": "400 s"}]},
        "m": {"type": "machine", "setup_time": "60 s", "cycle_time": "100 s", "to": "m2",
              "operator": {"pool": "crew", "during": "setup"}},
        "m2": {"type": "machine", "cycle_time": "150 s", "to": "out", "buffer": 3,
               "operator": {"pool": "crew", "during": "processing"}},
        "out": {"type": "sink"}}}


@pytest.mark.parametrize(("t", "m_state", "m2_state"), [
    (230.0, "waiting", "producing"), (3613.0, "setup", "waiting")])
def test_forks_with_setups_under_way_and_a_shared_operator_repeat_the_run(
        tmp_path: Path, t: float, m_state: str, m2_state: str) -> None:
    """One operator for m's setups and m2's processing: a unit holding the operator keeps
    it, one waiting for it queues behind; a setup under way takes the rest of its time; a
    part taken for a product change still needs its setup (the unit's last product)."""
    base = run(SETUPS, duration="3 h", warmup=0, seed=1)
    folder = base.save(tmp_path)
    state = state_at(folder, t)
    m, m2 = state.stations["m"].units[0], state.stations["m2"].units[0]
    assert (m.state, m2.state) == (m_state, m2_state) and m.parts and m2.parts
    assert m.last_product != m.parts[0].product  # a product change: a setup is due
    assert after(fork(folder, at=t), t) == after(base, t)
