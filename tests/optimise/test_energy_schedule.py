"""Energy-aware scheduling: work starts where it runs outside the avoided tariff periods.

References: :func:`earliest_start` is checked against a brute-force scan over a minute grid
(every candidate start tried in order); the engine's behaviour is checked on the recorded
``events``, ``phases`` and ``states`` tables against the tariff hours written out here, and
:func:`energy_shift`'s differences against the two runs of each seed made separately.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import tomli_w

from twin.data.checks import SpecError, line_from_dict
from twin.data.energy_schedule import DAY, daily_intervals, earliest_start
from twin.edges.cli import main
from twin.optimise.schedule import energy_shift
from twin.orchestration.run import run

H = 3600.0
PEAK = [(8 * H, 11 * H), (13 * H, 17 * H)]  # the tariff's peak hours below


def _in_peak(t: np.ndarray) -> np.ndarray:
    h = np.mod(t, DAY)
    return np.any([(h >= a) & (h < b) for a, b in PEAK], axis=0)


def _overlaps_peak(start: float, duration: float, step: float = 60.0) -> bool:
    return bool(_in_peak(np.arange(start, start + duration, step)).any())


def line(schedule: dict | None = None, *, process: bool = False) -> dict:
    """Releases every 40 min into a 2 h oven (a batch of up to 4) or a process unit whose
    'bake' phase lasts 2 h; a time-of-use tariff with peak 08-11 and 13-17."""
    unit: dict = ({"type": "process", "recipe": [
        {"phase": "charge", "duration": "10 min", "materials": {"W": "10 kg"}},
        {"phase": "hold", "name": "bake", "duration": "2 h"}],
        "power": {"producing": "30 kW", "idle": "1 kW"}, "to": "out"} if process else
        {"type": "batch", "batch_size": 4, "min_batch": 1, "max_wait": "10 min",
         "cycle_time": "2 h", "follows_calendar": False,
         "power": {"producing": "30 kW", "idle": "1 kW"}, "to": "out"})
    if schedule is not None:
        unit["energy_schedule"] = schedule
    data = {"line": {"name": "oven"}, "products": {"A": {}},
            "stations": {"src": {"type": "source", "product": "A",
                                 "interarrival": "40 min", "to": "oven"},
                         "oven": unit, "out": {"type": "sink"}},
            "costs": {"currency": "CNY", "year": 2025, "source": "test",
                      "electricity": {"flat": 0.7, "periods": [
                          {"name": "peak", "per_kwh": 1.1, "hours": ["08:00-11:00",
                                                                     "13:00-17:00"]},
                          {"name": "valley", "per_kwh": 0.3, "hours": ["22:00-06:00"]}]}}}
    if process:
        data["species"] = {"W": {"molar_mass": "0.018 kg/mol"}}
    return data


# ------------------------------------------------------------------ the rule itself

def _brute(now: float, duration: float, avoided: list[tuple[float, float]]) -> float:
    """Smallest minute-grid t >= now whose [t, t + duration) misses every avoided interval;
    if none in 3 days, the smallest t outside every interval."""
    def free(t: float) -> bool:
        h = t % DAY
        return not any(a <= h < b for a, b in avoided)

    def fits(t: float) -> bool:
        return all(free(x) for x in np.arange(t, t + duration, 60.0))

    grid = np.arange(now, now + 3 * DAY, 60.0)
    for t in grid:
        if fits(t):
            return float(t)
    return float(next(t for t in grid if free(t)))


@pytest.mark.parametrize("case", range(40))
def test_earliest_start_matches_a_brute_force_scan(case: int) -> None:
    rng = np.random.default_rng(case)
    spans = []
    for _ in range(rng.integers(1, 4)):
        a = float(rng.integers(0, 24 * 60)) * 60.0
        spans.append((a, (a + float(rng.integers(30, 6 * 60)) * 60.0) % DAY or DAY))
    avoided = daily_intervals(spans)
    if sum(b - a for a, b in avoided) >= DAY:
        return
    now = float(rng.integers(0, 3 * 24 * 60)) * 60.0
    duration = float(rng.integers(1, 10 * 60)) * 60.0
    assert earliest_start(now, duration, avoided) == _brute(now, duration, avoided)


# ------------------------------------------------------------------ in the engine

def test_oven_batches_start_only_where_they_miss_the_peak() -> None:
    """Every 2 h batch of the scheduled oven runs outside 08-11 and 13-17; unscheduled, some
    batches run into the peak (so the check can fail). The oven's producing time in peak
    hours, from the states table, is zero."""
    base = run(line(), duration="3 d", warmup="0 s", seed=1)
    shifted = run(line({"avoid": ["peak"]}), duration="3 d", warmup="0 s", seed=1)

    def starts(r) -> np.ndarray:  # noqa: ANN001
        ev = r.tables["events"]
        st = ev[(ev["station"].astype(str) == "oven") & (ev["kind"].astype(str) == "start")]
        return np.unique(st["time"].to_numpy())

    assert any(_overlaps_peak(t, 2 * H) for t in starts(base))
    assert starts(shifted).size >= 3
    assert not any(_overlaps_peak(t, 2 * H) for t in starts(shifted))
    states = shifted.tables["states"]
    prod = states[(states["station"].astype(str) == "oven")
                  & (states["state"].astype(str) == "producing")]
    in_peak = sum(_in_peak(np.arange(s, e, 60.0)).sum() for s, e in
                  zip(prod["start"], prod["end"], strict=True))
    assert in_peak == 0
    assert shifted.kpis["cost_electricity"] < base.kpis["cost_electricity"]


def test_process_phase_waits_for_the_cheap_hours() -> None:
    """Only the named phase is held: every 'bake' phase runs outside the peak, the charge
    phases are not held (one starts in the peak)."""
    r = run(line({"avoid": ["peak"], "phases": ["bake"]}, process=True), duration="2 d",
            warmup="0 s", seed=1)
    ph = r.tables["phases"]
    bake = ph[ph["phase"].astype(str) == "bake"]
    assert len(bake) >= 3
    assert not any(_overlaps_peak(s, e - s) for s, e in zip(bake["start"], bake["end"],
                                                            strict=True))
    charge = ph[ph["phase"].astype(str) == "charge"]
    assert _in_peak(charge["start"].to_numpy()).any()


@pytest.mark.parametrize(("schedule", "process", "path", "message"), [
    ({"avoid": ["peek"]}, False, "stations.oven.energy_schedule.avoid[0]",
     "no tariff period named 'peek'"),
    ({"avoid": ["peak"], "phases": ["bake"]}, False, "stations.oven.energy_schedule.phases",
     "only a process station"),
    ({"avoid": ["peak"]}, True, "stations.oven.energy_schedule.phases", "name the recipe"),
    ({"avoid": ["peak"], "phases": ["bak"]}, True,
     "stations.oven.energy_schedule.phases[0]", "no recipe phase named 'bak'"),
])
def test_bad_schedules_are_located(schedule: dict, process: bool, path: str,
                                   message: str) -> None:
    with pytest.raises(SpecError) as info:
        line_from_dict(line(schedule, process=process))
    assert any(p.path == path and message in p.message for p in info.value.problems), \
        info.value.problems


def test_a_schedule_needs_a_tariff_that_leaves_time_free() -> None:
    data = line({"avoid": ["peak"]})
    no_costs = copy.deepcopy(data)
    del no_costs["costs"]
    with pytest.raises(SpecError, match=r"stations.oven.energy_schedule.avoid: needs"):
        line_from_dict(no_costs)
    data["costs"]["electricity"]["periods"][0]["hours"] = ["00:00-24:00"]
    data["costs"]["electricity"]["periods"].pop()
    with pytest.raises(SpecError, match="cover the whole day"):
        line_from_dict(data)


def test_compiled_engine_names_the_schedule() -> None:
    data = line({"avoid": ["peak"]})
    data["stations"]["oven"] = {"type": "machine", "cycle_time": "2 h", "to": "out",
                                "energy_schedule": {"avoid": ["peak"]}}
    r = run(data, duration="1 d", engine="auto")
    assert r.provenance["engine"] == "simpy"
    with pytest.raises(ValueError, match="station 'oven': an energy schedule"):
        run(data, duration="1 d", engine="compiled")


def test_energy_shift_reports_the_paired_differences() -> None:
    table = energy_shift(line_from_dict(line()), {"oven": {"avoid": ["peak"]}},
                         duration="2 d", warmup="0 s", replications=2, seed=5)
    row = table.set_index("kpi").loc["cost_electricity"]
    diffs = [run(line({"avoid": ["peak"]}), duration="2 d", warmup="0 s", seed=s)
             .kpis["cost_electricity"]
             - run(line(), duration="2 d", warmup="0 s", seed=s).kpis["cost_electricity"]
             for s in (5, 6)]
    assert row["diff"] == pytest.approx(np.mean(diffs), rel=1e-12)
    assert row["low"] <= row["diff"] <= row["high"] and row["n"] == 2
    assert row["diff"] < 0
    with pytest.raises(SpecError, match="stations.nowhere"):
        energy_shift(line_from_dict(line()), {"nowhere": {"avoid": ["peak"]}},
                     replications=1)


# ------------------------------------------------------------------ dirty grid hours

DIRTY = [0.40] * 7 + [0.80] * 3 + [0.50] * 4 + [0.85] * 3 + [0.45] * 7  # kg CO2e per kWh


def grid_line(schedule: dict | None) -> dict:
    """The oven line with an hourly grid profile dirty 07-10 and 14-17 (above 0.6 kg/kWh)."""
    data = line(schedule)
    data["energy"] = {"grid": {"value": "0.5306 kg/kWh", "year": 2023, "source": "test",
                               "hourly": [f"{f} kg/kWh" for f in DIRTY]}}
    return data


def _in_dirty(t: np.ndarray) -> np.ndarray:
    hour = np.floor(np.mod(t, DAY) / H).astype(int)
    return np.asarray(DIRTY)[hour] > 0.6


def test_oven_batches_keep_out_of_the_dirty_grid_hours() -> None:
    """``avoid_grid_above``: no scheduled batch runs in an hour whose grid factor is above the
    limit (hours written out here); unscheduled, some do; CO2e falls with the same energy
    drawn at cleaner hours."""
    base = run(grid_line(None), duration="3 d", warmup="0 s", seed=1)
    shifted = run(grid_line({"avoid_grid_above": "0.6 kg/kWh"}), duration="3 d",
                  warmup="0 s", seed=1)

    def producing_minutes_in_dirty_hours(r) -> int:  # noqa: ANN001
        s = r.tables["states"]
        prod = s[(s["station"].astype(str) == "oven") & (s["state"].astype(str) == "producing")]
        return int(sum(_in_dirty(np.arange(a, b, 60.0)).sum() for a, b in
                       zip(prod["start"], prod["end"], strict=True)))

    assert producing_minutes_in_dirty_hours(base) > 0
    assert producing_minutes_in_dirty_hours(shifted) == 0
    assert shifted.kpis["good_units"] > 0
    per_kwh = [r.kpis["co2e_scope2_kg"] / r.kpis["total_electricity_kwh"] for r in
               (base, shifted)]
    assert per_kwh[1] < per_kwh[0]


def test_a_grid_limit_needs_an_hourly_profile_and_some_clean_hours() -> None:
    data = line({"avoid_grid_above": "0.6 kg/kWh"})
    with pytest.raises(SpecError, match=r"energy_schedule.avoid_grid_above: needs an hourly"):
        line_from_dict(data)
    with pytest.raises(SpecError, match="cover the whole day"):
        line_from_dict(grid_line({"avoid_grid_above": "0.3 kg/kWh"}))
    with pytest.raises(SpecError, match="avoid_grid_above"):
        line_from_dict(line({}))  # nothing to avoid


def test_energy_shift_command_avoids_dirty_hours(tmp_path, capsys) -> None:  # noqa: ANN001
    """``twin energy-shift LINE --station oven --avoid-grid-above ...`` prints the paired
    CO2e difference; with nothing to avoid it says what to give and exits 2."""
    path = tmp_path / "oven.toml"
    path.write_text(tomli_w.dumps(grid_line(None)))
    assert main(["energy-shift", str(path), "--station", "oven", "--avoid-grid-above",
                 "0.6 kg/kWh", "--duration", "2 d", "--warmup", "0 s",
                 "--replications", "2"]) == 0
    out = capsys.readouterr().out
    assert "grid hours above 0.6 kg/kWh" in out and "co2e_total_kg" in out
    assert main(["energy-shift", str(path), "--station", "oven"]) == 2
    assert "--avoid-grid-above" in capsys.readouterr().err
