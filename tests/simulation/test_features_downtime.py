"""Behaviour of stoppages: failures (operating and calendar basis), planned maintenance, shifts.

Every expectation is derived independently of the engine:

- renewal-reward theorem (Ross, *Stochastic Processes*, thm 3.6.1): a station alternating
  up periods of mean U and down periods of mean R is down a long-run fraction R / (U + R);
- with operating-time failures the failures form a renewal process in *producing* time, so
  a station producing a fraction p of the time fails at rate p / MTBF and is down
  p * MTTR / MTBF of the time;
- Weibull mean = scale * Gamma(1 + 1/shape);
- hand-traced timelines for constant times (preemptive resume), and calendar arithmetic
  for shifts.

Statistical checks use fixed seeds and a 4-sigma band from the delta method / CLT
(a false alarm has probability < 1e-4 per check).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.orchestration.run import run

Z = 4.0
HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY


def line(stations: dict, products: tuple[str, ...] = ("A",), **extra) -> dict:
    spec = {"line": {"name": "t"}, "products": {p: {} for p in products},
            "stations": stations}
    spec.update(extra)
    return spec


def station_row(result, name: str):
    st = result.tables["stations"]
    return st[st["station"] == name].iloc[0]


def state_seconds(result, station: str, state: str, t0: float, t1: float) -> float:
    s = result.tables["states"]
    s = s[(s["station"] == station) & (s["state"] == state)]
    return float(np.clip(np.minimum(s["end"], t1) - np.maximum(s["start"], t0), 0, None).sum())


def events(result, station: str, kind: str):
    e = result.tables["events"]
    return e[(e["station"] == station) & (e["kind"] == kind)]


def alternating_fraction_sigma(up_mean: float, up_sd: float, down_mean: float,
                               down_sd: float, n_cycles: float) -> float:
    """Standard error of the down fraction estimated over n up/down cycles (delta method).

    f = sum(D) / sum(U + D); Var ~ Var(D - f (U + D)) / (n (U + D)^2) with U, D independent.
    """
    f = down_mean / (up_mean + down_mean)
    var = (1 - f) ** 2 * down_sd**2 + f**2 * up_sd**2
    return math.sqrt(var / n_cycles) / (up_mean + down_mean)


def saturated(failure: dict, cycle: str = "10 s") -> dict:
    """Infinite supply -> machine (buffer 1) -> sink: the machine is never starved or blocked."""
    return line({
        "src": {"type": "source", "product": "A", "to": "m"},
        "m": {"type": "machine", "buffer": 1, "cycle_time": cycle, "failures": [failure],
              "to": "out"},
        "out": {"type": "sink"},
    })


# --------------------------------------------------------------------------- operating basis


def test_operating_failures_saturated_down_fraction_and_mtbf_mttr():
    F, R, T = 100.0, 10.0, 1.0e6
    spec = saturated({"basis": "operating", "ttf": {"dist": "exponential", "mean": f"{F} s"},
                      "ttr": {"dist": "exponential", "mean": f"{R} s"}})
    r = run(spec, duration=T, warmup=1000.0, seed=11)
    row = station_row(r, "m")
    # Saturated: the machine is always producing or down, so up time = producing time and
    # renewal-reward gives down fraction R / (F + R).
    expected = R / (F + R)
    sigma = alternating_fraction_sigma(F, F, R, R, T / (F + R))
    assert row["down_fraction"] == pytest.approx(expected, abs=Z * sigma)
    assert row["starved_fraction"] < 1e-6 and row["blocked_fraction"] == 0.0
    n = row["failures"]
    # MTBF (producing time per failure) and MTTR estimate the spec means (CV = 1 each).
    assert row["MTBF_h"] * HOUR == pytest.approx(F, rel=Z / math.sqrt(n))
    assert row["MTTR_h"] * HOUR == pytest.approx(R, rel=Z / math.sqrt(n))


def test_operating_failures_count_only_producing_time_on_a_light_load():
    # Poisson arrivals every 20 s, constant 10 s cycle: the machine produces p = 0.5 of the
    # time, fails at rate p / F and is down p R / F = 0.05 of the time (calendar basis would
    # give R / (F + R) = 0.091).
    lam, c, F, R, T = 1 / 20, 10.0, 100.0, 10.0, 1.0e6
    spec = line({
        "src": {"type": "source", "product": "A",
                "interarrival": {"dist": "exponential", "mean": f"{1 / lam} s"}, "to": "m"},
        "m": {"type": "machine", "cycle_time": f"{c} s", "to": "out",
              "failures": [{"basis": "operating",
                            "ttf": {"dist": "exponential", "mean": f"{F} s"},
                            "ttr": {"dist": "exponential", "mean": f"{R} s"}}]},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=T, warmup=2000.0, seed=12)
    row = station_row(r, "m")
    apt = row["APT_h"] * HOUR
    # Exponential time to failure in producing time: failures ~ Poisson(APT / F).
    m = apt / F
    assert abs(row["failures"] - m) <= Z * math.sqrt(m)
    p = lam * c
    expected = p * R / F
    # Var(sum of repairs) = m E[R^2] = 2 m R^2 (compound Poisson); the producing time itself
    # varies with the arrivals by ~1/sqrt(lam T) relative.
    sigma = math.sqrt(2 * m * R**2) / T + expected / math.sqrt(lam * T)
    assert row["down_fraction"] == pytest.approx(expected, abs=Z * sigma)
    assert row["utilisation"] == pytest.approx(p, abs=Z * p / math.sqrt(lam * T) + 0.01)


def test_weibull_time_to_failure_mean():
    k, scale, R, T = 2.0, 200.0, 10.0, 1.0e6
    mean = scale * math.gamma(1 + 1 / k)  # 177.245 s
    sd = scale * math.sqrt(math.gamma(1 + 2 / k) - math.gamma(1 + 1 / k) ** 2)
    spec = saturated({"basis": "operating",
                      "ttf": {"dist": "weibull", "shape": k, "scale": f"{scale} s"},
                      "ttr": f"{R} s"})
    r = run(spec, duration=T, warmup=1000.0, seed=13)
    row = station_row(r, "m")
    n = row["failures"]
    assert row["MTBF_h"] * HOUR == pytest.approx(mean, abs=Z * sd / math.sqrt(n) + 1.0)
    assert row["MTTR_h"] * HOUR == pytest.approx(R, rel=1e-9)
    sigma = alternating_fraction_sigma(mean, sd, R, 0.0, T / (mean + R))
    assert row["down_fraction"] == pytest.approx(R / (mean + R), abs=Z * sigma)


def test_operating_failure_clock_ignores_setup_time():
    # The spec documents the operating basis as "time to failure counted in producing time
    # only", and MTBF = APT / failures. With a setup on every product change (half of the
    # parts), producing time per failure must still be the ttf mean (100 s).
    F, T = 100.0, 4.0e5
    spec = line({
        "src": {"type": "source", "mix": {"A": 1, "B": 1}, "to": "m"},
        "m": {"type": "machine", "buffer": 1, "cycle_time": "10 s", "setup_time": "10 s",
              "to": "out",
              "failures": [{"basis": "operating",
                            "ttf": {"dist": "exponential", "mean": f"{F} s"},
                            "ttr": "10 s"}]},
        "out": {"type": "sink"},
    }, products=("A", "B"))
    r = run(spec, duration=T, seed=14)
    row = station_row(r, "m")
    n = row["failures"]
    assert row["AUST_h"] > 0.2 * row["APT_h"]  # setups are a large share of operating time
    assert row["MTBF_h"] * HOUR == pytest.approx(F, rel=Z / math.sqrt(n))


def test_preemptive_resume_operating_basis_several_failures_in_one_cycle():
    # Cycle 100 s, a failure after every 30 s of producing, repairs of 20 s. One part at 0:
    # failures at 30, 80, 130 (producing 0-30, 50-80, 100-130), end at 150 + 10 = 160.
    spec = line({
        "src": {"type": "source", "product": "A", "schedule": [{"at": "0 s"}], "to": "m"},
        "m": {"type": "machine", "cycle_time": "100 s", "to": "out",
              "failures": [{"basis": "operating", "ttf": "30 s", "ttr": "20 s"}]},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=1000.0, seed=1)
    assert events(r, "m", "end")["time"].tolist() == pytest.approx([160.0])
    stops = r.tables["stops"]
    assert stops["start"].tolist() == pytest.approx([30.0, 80.0, 130.0])
    assert stops["duration"].tolist() == pytest.approx([20.0, 20.0, 20.0])
    assert set(stops["kind"]) == {"failure"}
    # Idle time does not wear the machine: no further failure after the part has left.
    assert state_seconds(r, "m", "down", 0, 1000) == pytest.approx(60.0)


def test_operating_basis_does_not_age_while_idle():
    # ttf 150 s of producing. Part 1 at 0 (100 s: 50 s of life left), idle until 1000,
    # part 2 fails after 50 s at 1050, repair 20 s, ends at 1120.
    spec = line({
        "src": {"type": "source", "product": "A",
                "schedule": [{"at": "0 s"}, {"at": "1000 s"}], "to": "m"},
        "m": {"type": "machine", "cycle_time": "100 s", "to": "out",
              "failures": [{"basis": "operating", "ttf": "150 s", "ttr": "20 s"}]},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=2000.0, seed=1)
    assert events(r, "m", "end")["time"].tolist() == pytest.approx([100.0, 1120.0])
    assert r.tables["stops"]["start"].tolist() == pytest.approx([1050.0])


# --------------------------------------------------------------------------- calendar basis


@pytest.mark.parametrize("load", ["saturated", "light"])
def test_calendar_failures_down_fraction_independent_of_load(load):
    F, R, T = 100.0, 10.0, 1.0e6
    failure = {"basis": "calendar", "ttf": {"dist": "exponential", "mean": f"{F} s"},
               "ttr": {"dist": "exponential", "mean": f"{R} s"}}
    if load == "saturated":
        spec = saturated(failure)
    else:  # producing ~ 25 % of the time
        spec = line({
            "src": {"type": "source", "product": "A",
                    "interarrival": {"dist": "exponential", "mean": "40 s"}, "to": "m"},
            "m": {"type": "machine", "cycle_time": "10 s", "failures": [failure], "to": "out"},
            "out": {"type": "sink"},
        })
    r = run(spec, duration=T, warmup=1000.0, seed=21)
    row = station_row(r, "m")
    sigma = alternating_fraction_sigma(F, F, R, R, T / (F + R))
    assert row["down_fraction"] == pytest.approx(R / (F + R), abs=Z * sigma)
    n = row["failures"]
    assert abs(n - T / (F + R)) <= Z * math.sqrt(T / (F + R)) * 1.5
    assert row["MTTR_h"] * HOUR == pytest.approx(R, rel=Z / math.sqrt(n))
    if load == "light":
        assert row["utilisation"] < 0.35  # really a light load


def test_preemptive_resume_calendar_basis():
    # Failures every 150 s of elapsed time after each repair (150, 320, 490, ...), repairs
    # 20 s. A part starting at 100 is interrupted at 150 with 50 s left and ends at
    # 170 + 50 = 220 = start + cycle + repair.
    spec = line({
        "src": {"type": "source", "product": "A", "schedule": [{"at": "100 s"}], "to": "m"},
        "m": {"type": "machine", "cycle_time": "100 s", "to": "out",
              "failures": [{"basis": "calendar", "ttf": "150 s", "ttr": "20 s"}]},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=1000.0, seed=1)
    assert events(r, "m", "start")["time"].tolist() == pytest.approx([100.0])
    assert events(r, "m", "end")["time"].tolist() == pytest.approx([220.0])
    # Calendar failures go on while the machine is idle: 150, 320, 490, 660, 830, 1000?
    starts = r.tables["stops"]["start"].to_numpy()
    assert starts[:5] == pytest.approx([150.0, 320.0, 490.0, 660.0, 830.0])
    assert state_seconds(r, "m", "down", 0, 1000) == pytest.approx(100.0)


# --------------------------------------------------------------------------- maintenance


def test_planned_maintenance_deterministic_stops_and_fraction():
    # every 1000 s for 100 s, first at 500 s; window [250, 10250] holds the stops at
    # 500, 1500, ..., 9500: 10 stops, 1000 s of maintenance = 10 % of the window.
    spec = line({
        "src": {"type": "source", "product": "A",
                "interarrival": {"dist": "exponential", "mean": "60 s"}, "to": "m"},
        "m": {"type": "machine", "cycle_time": "10 s", "to": "out",
              "maintenance": {"every": "1000 s", "duration": "100 s", "first": "500 s"}},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=10000.0, warmup=250.0, seed=3)
    stops = r.tables["stops"]
    in_window = stops[stops["start"] <= 10250.0]
    assert in_window["start"].tolist() == pytest.approx([500.0 + 1000.0 * i for i in range(10)])
    assert set(in_window["kind"]) == {"maintenance"}
    assert set(in_window["mode"]) == {"planned"}
    assert in_window["duration"].tolist() == pytest.approx([100.0] * 10)
    row = station_row(r, "m")
    assert row["PDOT_h"] * HOUR == pytest.approx(1000.0)
    assert state_seconds(r, "m", "maintenance", 250.0, 10250.0) == pytest.approx(1000.0)
    assert row["down_fraction"] == 0.0


def test_parts_arriving_during_maintenance_start_after_it():
    # A part that reaches an idle machine while it is in maintenance cannot start before the
    # maintenance ends; its cycle (start -> end) is the 10 s cycle time, and a cycle that
    # was already running when the stop began is stretched by the 100 s stop.
    spec = line({
        "src": {"type": "source", "product": "A",
                "interarrival": {"dist": "exponential", "mean": "60 s"}, "to": "m"},
        "m": {"type": "machine", "cycle_time": "10 s", "to": "out",
              "maintenance": {"every": "1000 s", "duration": "100 s", "first": "500 s"}},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=20000.0, seed=3)
    stops = r.tables["stops"]["start"].to_numpy()
    starts = events(r, "m", "start")["time"].to_numpy()
    ends = events(r, "m", "end")["time"].to_numpy()
    n = ends.size
    starts = starts[:n]
    inside = [(a > s + 1e-9) & (a < s + 100.0 - 1e-9) for a in starts for s in stops]
    assert not any(inside), "a part started while the machine was in maintenance"
    for a, b in zip(starts, ends, strict=True):
        overlaps = any(a < s + 100.0 and b > s for s in stops)
        assert (b - a) == pytest.approx(110.0 if overlaps else 10.0)


def test_planned_maintenance_default_first_and_random_duration():
    # first omitted: the first stop is at `every`. Durations uniform(50, 150) s, mean 100 s:
    # maintenance fraction -> 100 / 1000.
    T, every = 1.0e6, 1000.0
    spec = line({
        "src": {"type": "source", "product": "A",
                "interarrival": {"dist": "exponential", "mean": "100 s"}, "to": "m"},
        "m": {"type": "machine", "cycle_time": "10 s", "to": "out",
              "maintenance": {"every": f"{every} s",
                              "duration": {"dist": "uniform", "low": "50 s", "high": "150 s"}}},
        "out": {"type": "sink"},
    })
    r = run(spec, duration=T, seed=4)
    stops = r.tables["stops"]
    assert stops["start"].iloc[0] == pytest.approx(every)
    assert np.diff(stops["start"].to_numpy()) == pytest.approx(np.full(len(stops) - 1, every))
    n = T / every
    sigma = (100.0 / math.sqrt(12)) / math.sqrt(n) / every
    row = station_row(r, "m")
    assert row["PDOT_h"] * HOUR / T == pytest.approx(0.1, abs=Z * sigma + 150.0 / T)
    assert stops["duration"].between(50.0, 150.0).all()


# --------------------------------------------------------------------------- shifts


def in_windows(times: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
    tw = np.mod(times, WEEK)
    ok = np.zeros(times.size, dtype=bool)
    for a, b in windows:
        ok |= (tw >= a - 1e-6) & (tw <= b + 1e-6)
    # an event exactly at the end of the week belongs to the window ending there
    ok |= (np.abs(tw) < 1e-6) & any(b == WEEK for _, b in windows)
    return ok


def shift_line(calendar: dict) -> dict:
    return line({
        "src": {"type": "source", "product": "A",
                "interarrival": {"dist": "exponential", "mean": "600 s"}, "to": "m_cal"},
        "m_cal": {"type": "machine", "cycle_time": "30 s", "to": "m_24"},
        "m_24": {"type": "machine", "cycle_time": "20 s", "follows_calendar": False,
                 "to": "out"},
        "out": {"type": "sink"},
    }, calendar=calendar)


@pytest.mark.parametrize("case", ["two_day_shifts", "night_shift", "sunday_night_wrap"])
def test_shifts_off_fraction_and_output_only_in_shifts(case):
    h = HOUR
    if case == "two_day_shifts":  # 06-14, 14-22, Monday to Friday: 80 h of 168 h
        cal = {"days": ["mon", "tue", "wed", "thu", "fri"],
               "shifts": [{"start": "06:00", "end": "14:00"}, {"start": "14:00", "end": "22:00"}]}
        windows = [(d * DAY + 6 * h, d * DAY + 22 * h) for d in range(5)]
    elif case == "night_shift":  # 22:00 to 06:00 the next day, nights starting Mon-Fri
        cal = {"days": ["mon", "tue", "wed", "thu", "fri"],
               "shifts": [{"name": "night", "start": "22:00", "end": "06:00"}]}
        windows = [(d * DAY + 22 * h, (d + 1) * DAY + 6 * h) for d in range(5)]
    else:  # nights starting Monday and Sunday; Sunday's ends Monday 06:00
        cal = {"days": ["mon", "sun"], "shifts": [{"start": "22:00", "end": "06:00"}]}
        windows = [(0.0, 6 * h), (22 * h, DAY + 6 * h), (6 * DAY + 22 * h, WEEK)]
    working = sum(b - a for a, b in windows)
    weeks = 4
    r = run(shift_line(cal), duration=weeks * WEEK, warmup=0.0, seed=5)
    cal_row, free_row = station_row(r, "m_cal"), station_row(r, "m_24")
    off_share = 1.0 - working / WEEK
    # Whole weeks in the window: the off fraction is exactly the non-working share.
    assert cal_row["PDOT_h"] / cal_row["POT_h"] == pytest.approx(off_share, abs=1e-9)
    assert state_seconds(r, "m_cal", "off", 0, weeks * WEEK) == pytest.approx(
        off_share * weeks * WEEK, abs=1e-6)
    # A station that does not follow the calendar is never off.
    assert state_seconds(r, "m_24", "off", 0, weeks * WEEK) == 0.0
    assert free_row["PDOT_h"] == 0.0
    # Output of the calendar-following station only happens in shifts ...
    ends = events(r, "m_cal", "end")["time"].to_numpy()
    assert ends.size > 0.8 * weeks * WEEK / 600.0
    assert in_windows(ends, windows).all()
    # Parts arriving off shift wait: no cycle starts outside the working windows either.
    assert in_windows(events(r, "m_cal", "start")["time"].to_numpy(), windows).all()
    # ... and it produces in every working window.
    for wk in range(weeks):
        for a, b in windows:
            if b - a >= 2 * h:
                k = ((ends >= wk * WEEK + a) & (ends <= wk * WEEK + b)).sum()
                assert k > 0
    # The station that runs through the night does produce outside shifts when fed.
    free_ends = events(r, "m_24", "end")["time"].to_numpy()
    assert (~in_windows(free_ends, windows)).any()


def _oven_with_operator(on_call: bool) -> dict:
    """A machine working around the clock (``follows_calendar = false``) that needs its one
    operator while processing; the operator works 08:00-16:00 every day unless on call.
    Parts arrive every hour from 01:00; a cycle takes 30 min."""
    return {"line": {"name": "oven"}, "run": {"duration": "3 d", "warmup": "0 s"},
            "calendar": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                         "shifts": [{"name": "day", "start": "08:00", "end": "16:00"}]},
            "products": {"P": {}},
            "operators": {"ops": {"count": 1, "follows_calendar": not on_call}},
            "stations": {
                "src": {"type": "source", "product": "P", "interarrival": "1 h", "to": "oven"},
                "oven": {"type": "machine", "cycle_time": "30 min", "follows_calendar": False,
                         "operator": {"pool": "ops", "during": "processing"}, "to": "out"},
                "out": {"type": "sink"}}}


def test_operators_work_the_shifts_of_the_calendar() -> None:
    """By hand: the operator starts a cycle every 30 min from 08:00 while parts wait and
    never at or after 16:00. Day 1: the 15 parts of 01:00-15:00 (the queue is empty at 15:30);
    days 2 and 3: 16 each (the night's parts wait). 47 good parts in 3 days. On call, every
    part starts when it arrives: 71 parts (01:00 to 71:00), all done by 71.5 h."""
    r = run(_oven_with_operator(on_call=False), seed=1)
    ev = r.tables["events"]
    starts = ev.loc[(ev["station"] == "oven") & (ev["kind"] == "start"), "time"].to_numpy()
    expected = np.r_[8 + 0.5 * np.arange(15), 32 + 0.5 * np.arange(16),
                     56 + 0.5 * np.arange(16)] * 3600
    np.testing.assert_array_equal(np.sort(starts), expected)
    assert r.kpis["good_units"] == 47
    on_call = run(_oven_with_operator(on_call=True), seed=1)
    ev = on_call.tables["events"]
    starts = ev.loc[(ev["station"] == "oven") & (ev["kind"] == "start"), "time"].to_numpy()
    np.testing.assert_array_equal(np.sort(starts), 3600.0 * np.arange(1, 72))
    assert on_call.kpis["good_units"] == 71


def test_an_operator_at_work_when_the_shift_ends_finishes_the_task() -> None:
    """Cycles of 50 min from 08:00: the one started at 15:30 ends at 16:20, after the shift;
    the next starts only at 08:00 the next day."""
    spec = _oven_with_operator(on_call=False)
    spec["stations"]["oven"]["cycle_time"] = "50 min"
    r = run(spec, seed=1)
    ev = r.tables["events"]
    oven = ev[ev["station"] == "oven"]
    starts = oven.loc[oven["kind"] == "start", "time"].to_numpy() / 3600
    ends = oven.loc[oven["kind"] == "end", "time"].to_numpy() / 3600
    day1 = starts[starts < 24]
    np.testing.assert_allclose(day1, 8 + np.arange(10) * 50 / 60)  # 08:00 ... 15:30
    assert ends[ends < 24].max() == pytest.approx(16 + 20 / 60)
    assert starts[starts > 16].min() == pytest.approx(32.0)


def test_no_operator_is_at_work_at_midnight_of_the_first_day() -> None:
    """Infinite supply in front of the oven: parts wait at time 0 (Monday 00:00), but the
    operator's shift starts at 08:00, so the first cycle starts then (it used to start at
    0 h, before the pool went home)."""
    spec = _oven_with_operator(on_call=False)
    spec["run"]["duration"] = "1 d"
    spec["stations"]["src"] = {"type": "source", "product": "P", "to": "oven"}
    spec["stations"]["oven"]["buffer"] = 2
    r = run(spec, seed=1)
    ev = r.tables["events"]
    starts = ev.loc[(ev["station"] == "oven") & (ev["kind"] == "start"), "time"].to_numpy()
    assert starts.min() == 8 * 3600.0
    np.testing.assert_array_equal(np.sort(starts) / 3600, 8 + 0.5 * np.arange(16))
