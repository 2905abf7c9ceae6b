"""Rolling KPI signals (``kpi.throughput``, ``kpi.yield``, ``kpi.lead_time``) and alarms on them.

The rule under test (``twin.data.alarms``, ``twin.simulation.kpi_signals``): over a trailing
window ``W``, a part finished at time ``d`` (good at a sink, or scrapped at an inspection)
counts at time ``t`` iff ``d <= t`` and ``d + W > t``. Throughput is good parts / ``W``
(0.0 from ``t = 0``); yield is good / (good + scrapped) and is held while the window is empty;
lead time is the mean ``done - created`` of the good parts and is held while no good part is in
the window. The value in force at ``t`` is the last signal row with ``time <= t``.

Independent references, none of which uses the engine's window bookkeeping:

- the ``parts`` table of the same run (``created``, ``done``, ``fate``), from which every KPI is
  recomputed by brute force at any time ``t`` with the rule above;
- closed forms for a deterministic line (constant arrivals and service: a D/D/1 queue that
  never waits, so every finish time and every window count is known exactly);
- an alarm state machine written here from the ISA-18.2 rules in ``twin.data.alarms`` (on-delay,
  deadband, direction), run on the step function of the recorded signal;
- the spec rules of ``twin.data.alarms`` / ``twin.data.checks`` for validation (exact problem
  paths, SI values of written limits).
"""

from __future__ import annotations

import copy
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from twin.data.alarms import DEFAULT_KPI_WINDOW, AlarmSpec
from twin.data.checks import Problem, line_from_dict, read_toml, validate
from twin.orchestration.run import RunResult, run

SERVO = Path(__file__).resolve().parents[2] / "lines" / "servo_actuator" / "line.toml"
HOUR = 3600.0
DAY = 24 * HOUR
SERVO_DURATION = 3 * DAY
KINDS = ("throughput", "yield", "lead_time")
LEAD_RTOL = 1e-12


# ------------------------------------------------------------------------------ line specs


def servo(alarms: dict[str, Any], scrap: float | None = None) -> dict[str, Any]:
    """The servo reference line with ``alarms`` instead of its own (and another scrap rate)."""
    data = read_toml(SERVO)
    data["alarms"] = copy.deepcopy(alarms)
    if scrap is not None:
        data["stations"]["eol_test"]["scrap_probability"] = scrap
    return data


def servo_alarms(windows: dict[str, str | None]) -> dict[str, Any]:
    """One alarm per KPI: low throughput (on-delay, deadband), low yield, high lead time."""
    alarms: dict[str, Any] = {
        "tp_low": {"tag": "kpi.throughput", "limit": "2 /h", "direction": "low",
                   "deadband": "1 /h", "on_delay": "30 min", "priority": "high"},
        "yield_low": {"tag": "kpi.yield", "limit": "97 %", "direction": "low"},
        "lead_high": {"tag": "kpi.lead_time", "limit": "10 h", "direction": "high",
                      "deadband": "30 min", "on_delay": "20 min"},
    }
    by_tag = {"throughput": "tp_low", "yield": "yield_low", "lead_time": "lead_high"}
    for kind, window in windows.items():
        if window is not None:
            alarms[by_tag[kind]]["window"] = window
    return alarms


# name: (seed, window per KPI as written (None: default), window per KPI [s], eol scrap)
SERVO_CASES: dict[str, tuple[int, dict[str, str | None], dict[str, float], float | None]] = {
    "window_4h": (1, dict.fromkeys(KINDS, "4 h"), dict.fromkeys(KINDS, 4 * HOUR), None),
    "default_window": (2, dict.fromkeys(KINDS), dict.fromkeys(KINDS, DEFAULT_KPI_WINDOW), None),
    "mixed_windows_more_scrap": (
        3, {"throughput": "4 h", "yield": None, "lead_time": "90 min"},
        {"throughput": 4 * HOUR, "yield": DEFAULT_KPI_WINDOW, "lead_time": 5400.0}, 0.05),
}


@cache
def servo_run(case: str) -> RunResult:
    seed, written, _, scrap = SERVO_CASES[case]
    return run(servo(servo_alarms(written), scrap), duration="3 d", warmup="0 s", seed=seed)


def constant(seconds: float) -> dict[str, Any]:
    return {"dist": "constant", "value": f"{seconds!r} s"}


GAP = 60.0  # constant interarrival [s]
SERVICE = 30.0  # constant machine cycle [s] (< GAP: no part ever waits)


def takt_line(alarms: dict[str, Any]) -> dict[str, Any]:
    """Deterministic source (one part every 60 s) -> 30 s machine -> sink, no scrap."""
    return {
        "line": {"name": "takt"},
        "products": {"P": {}},
        "stations": {
            "src": {"type": "source", "product": "P", "interarrival": constant(GAP),
                    "to": "m"},
            "m": {"type": "machine", "cycle_time": constant(SERVICE), "to": "out"},
            "out": {"type": "sink"},
        },
        "alarms": alarms,
    }


def minimal(alarms: dict[str, Any]) -> dict[str, Any]:
    """A small valid line: source -> m1 -> sink, with ``alarms``."""
    return {
        "line": {"name": "mini"},
        "products": {"P": {}},
        "stations": {
            "src": {"type": "source", "product": "P", "interarrival": "1 min", "to": "m1"},
            "m1": {"type": "machine", "cycle_time": "30 s", "to": "out"},
            "out": {"type": "sink"},
        },
        "alarms": alarms,
    }


# ------------------------------------------------------------------------------ references


class Finished:
    """Parts that finished (good at a sink, or scrapped), from the ``parts`` table."""

    def __init__(self, parts: pd.DataFrame) -> None:
        fate = parts["fate"].astype(str)
        p = parts[fate.isin(["good", "scrap"])]
        self.done = p["done"].to_numpy(dtype=float)
        self.good = (p["fate"].astype(str) == "good").to_numpy()
        self.lead = (p["done"] - p["created"]).to_numpy(dtype=float)

    def counts(self, t: np.ndarray, window: float) -> tuple[np.ndarray, ...]:
        """Good count, scrapped count and good lead-time sum in the window at each ``t``."""
        t = np.asarray(t, dtype=float)[:, None]
        d = self.done[None, :]
        inside = (d <= t) & (d + window > t)  # the rule, exactly this float expression
        good = inside & self.good[None, :]
        scrap = inside & ~self.good[None, :]
        lead = np.where(good, self.lead[None, :], 0.0).sum(axis=1)
        return good.sum(axis=1), scrap.sum(axis=1), lead

    def value(self, kind: str, t: np.ndarray, window: float) -> np.ndarray:
        """The KPI at each ``t`` (NaN where undefined: no part / no good part in the window)."""
        good, scrap, lead = self.counts(t, window)
        if kind == "throughput":
            return good / window
        out = np.full(good.shape, np.nan)
        if kind == "yield":
            done = good + scrap
            np.divide(good, done, out=out, where=done > 0)
        else:
            np.divide(lead, good, out=out, where=good > 0)
        return out

    def in_force(self, kind: str, t: np.ndarray, window: float) -> np.ndarray:
        """The value the signal must show at ``t``: :meth:`value`, or while it is undefined
        the last defined value (just before the last relevant part left the window); NaN
        before any relevant part finished."""
        t = np.asarray(t, dtype=float)
        out = self.value(kind, t, window)
        if kind == "throughput":
            return out
        relevant = self.done if kind == "yield" else self.done[self.good]
        for i in np.flatnonzero(np.isnan(out)):
            left = relevant[(relevant <= t[i]) & (relevant + window <= t[i])] + window
            if left.size:
                last = np.nextafter(left.max(), -math.inf)
                out[i] = self.value(kind, np.array([last]), window)[0]
        return out

    def event_times(self, window: float, end: float) -> np.ndarray:
        """Every time the rule can change a KPI (finish and departure), before ``end``."""
        t = np.unique(np.r_[self.done, self.done + window])
        return t[t < end]


def kpi_rows(result: RunResult, tag: str) -> pd.DataFrame:
    s = result.tables["signals"]
    return s[s["tag"].astype(str) == tag]


def step(result: RunResult, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """The signal as a step function: distinct times and the last value recorded at each."""
    rows = kpi_rows(result, tag)
    times = rows["time"].to_numpy(dtype=float)
    assert np.all(np.diff(times) >= 0), f"{tag}: rows out of time order"
    last = rows.groupby("time", sort=True)["value"].last()
    return last.index.to_numpy(dtype=float), last.to_numpy(dtype=float)


def at(times: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The step function's value in force at each ``t`` (NaN before its first row)."""
    i = np.searchsorted(times, np.asarray(t, dtype=float), side="right") - 1
    return np.where(i >= 0, values[np.maximum(i, 0)], np.nan)


def assert_kpi_equal(kind: str, got: np.ndarray, expected: np.ndarray, where: np.ndarray,
                     what: str) -> None:
    """Exact for counts and ratios, 1e-12 relative for lead time; NaN must match NaN."""
    if kind == "lead_time":
        ok = np.isclose(got, expected, rtol=LEAD_RTOL, atol=0.0, equal_nan=True)
    else:
        ok = (got == expected) | (np.isnan(got) & np.isnan(expected))
    bad = np.flatnonzero(~ok)
    assert bad.size == 0, (
        f"kpi.{kind} {what}: {bad.size} of {ok.size} differ, first at t = "
        f"{where[bad[:5]].tolist()}: signal {got[bad[:5]].tolist()}, "
        f"recomputed {expected[bad[:5]].tolist()}")


def expected_transitions(times: np.ndarray, values: np.ndarray, spec: AlarmSpec,
                         end: float) -> list[tuple[float, str]]:
    """Activations and returns of one alarm on a step function (ISA-18.2 as documented):
    a ``high`` alarm's condition is ``value >= limit`` (``low``: ``<= limit``); it activates
    once the condition has held for ``on_delay`` (a timer due at the time of a change fires
    before that change), and returns when the value is below ``limit - deadband`` (``low``:
    above ``limit + deadband``). No value before the first row."""
    high = spec.direction == "high"

    def beyond(v: float) -> bool:
        return v >= spec.limit if high else v <= spec.limit

    def inside(v: float) -> bool:
        return v < spec.limit - spec.deadband if high else v > spec.limit + spec.deadband

    out: list[tuple[float, str]] = []
    active, pending = False, None
    for t, v in zip(times.tolist(), values.tolist(), strict=True):
        if not active and pending is not None and pending + spec.on_delay <= t:
            out.append((pending + spec.on_delay, "activate"))
            active, pending = True, None
        if not active:
            if beyond(v):
                if spec.on_delay <= 0:
                    out.append((t, "activate"))
                    active = True
                elif pending is None:
                    pending = t
            else:
                pending = None
        elif inside(v):
            out.append((t, "rtn"))
            active = False
    if not active and pending is not None and pending + spec.on_delay <= end:
        out.append((pending + spec.on_delay, "activate"))
    return out


def transitions(result: RunResult, alarm: str) -> list[tuple[float, str]]:
    a = result.tables["alarms"]
    a = a[(a["alarm"].astype(str) == alarm) & a["event"].astype(str).isin(["activate", "rtn"])]
    return list(zip(a["time"].astype(float).tolist(), a["event"].astype(str).tolist(),
                    strict=True))


def problems_of(data: Any) -> list[Problem]:
    spec, problems = validate(data)
    assert spec is None, "expected the spec to be rejected"
    assert problems, "a rejected spec must come with problems"
    for p in problems:
        assert isinstance(p, Problem) and p.message.strip()
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# ------------------------------------------------------------- 1. values against the parts


@pytest.mark.parametrize("case", list(SERVO_CASES))
@pytest.mark.parametrize("kind", KINDS)
def test_signal_at_every_change_time_equals_recomputation_from_parts(case: str, kind: str
                                                                     ) -> None:
    """Reference: the parts table of the same run. At every distinct signal time the value in
    force (last row) equals the KPI recomputed by brute force from finished parts; yield and
    lead time are only recorded while defined; rows appear only at t = 0, at a finish ``d``
    or at a departure ``d + W`` (never by sampling)."""
    r = servo_run(case)
    window = SERVO_CASES[case][2][kind]
    parts = Finished(r.tables["parts"])
    times, values = step(r, f"kpi.{kind}")
    assert times.size > 20, "too few signal changes to test anything"
    assert_kpi_equal(kind, values, parts.value(kind, times, window), times,
                     "at its change times")
    assert not np.isnan(parts.value(kind, times, window)).any(), "recorded while undefined"
    allowed = np.r_[0.0, parts.event_times(window, SERVO_DURATION)]
    stray = np.setdiff1d(times, allowed)
    assert stray.size == 0, f"kpi.{kind} changes at no finish or departure: {stray[:5]}"


@pytest.mark.parametrize("case", list(SERVO_CASES))
@pytest.mark.parametrize("kind", KINDS)
def test_step_function_between_changes_equals_recomputation(case: str, kind: str) -> None:
    """Reference: the parts table. The step function (last row with time <= t) equals the
    brute-force KPI at 3000 random times and at every finish ``d`` and departure ``d + W``
    and one ulp before each (so the decay when a part leaves the window is checked at its
    exact time, also when nothing finished recently); while yield / lead time are undefined
    the last defined value is held."""
    r = servo_run(case)
    window = SERVO_CASES[case][2][kind]
    parts = Finished(r.tables["parts"])
    times, values = step(r, f"kpi.{kind}")
    events = parts.event_times(window, SERVO_DURATION)
    rng = np.random.default_rng(12345)
    t = np.r_[rng.uniform(0.0, SERVO_DURATION, 3000), events,
              np.nextafter(events, -math.inf)]
    t = np.sort(t[(t >= 0.0) & (t < SERVO_DURATION)])
    assert_kpi_equal(kind, at(times, values, t), parts.in_force(kind, t, window), t,
                     "between its changes")
    if kind == "throughput":  # nights: the window empties and the rate decays to zero
        first = np.flatnonzero(values > 0)[0]
        assert (values[first:] == 0.0).any(), "throughput never decayed back to 0"
        assert values.max() > 0.0


@pytest.mark.parametrize("case", list(SERVO_CASES))
def test_signals_start_correctly(case: str) -> None:
    """Reference: the parts table. Throughput is 0.0 from t = 0; yield has no row before the
    first finished part (good or scrapped) and lead time none before the first good part;
    their first rows are at exactly those times."""
    r = servo_run(case)
    parts = Finished(r.tables["parts"])
    tp = kpi_rows(r, "kpi.throughput")
    assert (tp["time"].iloc[0], tp["value"].iloc[0]) == (0.0, 0.0)
    assert tp["time"].iloc[1] == parts.done[parts.good].min()  # the first good part
    y = kpi_rows(r, "kpi.yield")
    assert y["time"].iloc[0] == parts.done.min()
    lt = kpi_rows(r, "kpi.lead_time")
    first_good = parts.good & (parts.done == parts.done[parts.good].min())
    assert lt["time"].iloc[0] == parts.done[parts.good].min()
    assert lt["value"].iloc[0] == pytest.approx(parts.lead[first_good].mean(), rel=LEAD_RTOL)
    assert parts.done.min() > 0.0  # nothing finishes at t = 0 on this line


def test_yield_sees_scrap_and_rework() -> None:
    """Reference: the parts table. The case with more scrap has scrapped and reworked parts
    (so the recomputation tests above cover both: a reworked part counts once, when it
    finishes) and its yield signal drops below 1 (the scrap at the inspection is counted)."""
    r = servo_run("mixed_windows_more_scrap")
    parts = r.tables["parts"]
    assert (parts["fate"].astype(str) == "scrap").sum() >= 3
    assert (parts["reworks"] > 0).any()
    _, values = step(r, "kpi.yield")
    assert values.min() < 1.0 and values.max() == 1.0


# ------------------------------------------------------------------------------ 3. alarms


@pytest.mark.parametrize("case", list(SERVO_CASES))
def test_kpi_alarms_follow_the_signal_step_function(case: str) -> None:
    """Reference: an ISA-18.2 state machine written here, run on the recorded step function
    (last row per time), and direct checks of each transition: an activation at ``a`` has the
    condition held on [a - on_delay, a); a return at ``r`` has the value back inside the limit by
    the deadband. The alarms do transition (throughput falls at night), so this is not vacuous."""
    r = servo_run(case)
    line = line_from_dict(servo(servo_alarms(SERVO_CASES[case][1]), SERVO_CASES[case][3]))
    counts = {}
    for name, spec in line.alarms.items():
        times, values = step(r, spec.tag)
        got = transitions(r, name)
        assert got == expected_transitions(times, values, spec, SERVO_DURATION), name
        high = spec.direction == "high"
        for t, event in got:
            if event == "activate":
                since = t - spec.on_delay
                held = np.r_[at(times, values, np.array([since])),
                             values[(times > since) & (times < t)]]
                cond = held >= spec.limit if high else held <= spec.limit
                assert cond.all(), f"{name} activated at {t} without holding for the delay"
            else:
                v = at(times, values, np.array([t]))[0]
                assert (v < spec.limit - spec.deadband) if high else (
                    v > spec.limit + spec.deadband), f"{name} returned at {t} with {v}"
        counts[name] = [e for _, e in got]
    # not vacuous: throughput falls at night below 2 /h and rises again by day
    assert counts["tp_low"].count("activate") >= 2 and counts["tp_low"].count("rtn") >= 1
    if case == "window_4h":
        assert counts["lead_high"].count("activate") >= 1
        assert counts["lead_high"].count("rtn") >= 1


# -------------------------------------------------------------------------- 4. determinism


def test_same_seed_gives_identical_signals_and_alarms() -> None:
    """Reference: reproducibility (a run is a function of spec and seed): two fresh runs of
    the same spec and seed give identical signals and alarms tables; another seed differs."""
    spec = servo(servo_alarms(dict.fromkeys(KINDS, "4 h")))
    a = run(spec, duration="2 d", warmup="0 s", seed=7)
    b = run(copy.deepcopy(spec), duration="2 d", warmup="0 s", seed=7)
    assert_frame_equal(a.tables["signals"], b.tables["signals"])
    assert_frame_equal(a.tables["alarms"], b.tables["alarms"])
    c = run(spec, duration="2 d", warmup="0 s", seed=8)
    assert not a.tables["signals"].equals(c.tables["signals"])


def test_watching_kpis_does_not_change_the_run() -> None:
    """Reference: the same line without any alarm. KPI alarms only observe: the parts and
    events tables are identical with and without them."""
    bare = read_toml(SERVO)
    bare.pop("alarms", None)
    plain = run(bare, duration="3 d", warmup="0 s", seed=1)
    watched = servo_run("window_4h")
    assert "signals" not in plain.tables
    assert_frame_equal(plain.tables["parts"], watched.tables["parts"])
    assert_frame_equal(plain.tables["events"], watched.tables["events"])


# ------------------------------------------------------------------- 5. closed form (D/D/1)


def takt_count(t: float, first: float, window: float) -> int:
    """Closed form: parts finish at ``first + GAP * k`` (k = 0, 1, ...); the number with
    ``d <= t < d + window``."""
    if t < first:
        return 0
    last = math.floor((t - first) / GAP)  # index of the last finish <= t
    gone = math.floor((t - window - first) / GAP)  # last index with d + window <= t
    return last - max(gone, -1)


@pytest.mark.parametrize("window", [600.0, 630.0])
def test_deterministic_line_matches_closed_form(window: float) -> None:
    """Reference: closed form of a deterministic line (arrivals every 60 s, 30 s service, no
    scrap). Parts finish at d_k = a_0 + 60 k + 30; in steady state the window (t - W, t] holds
    exactly 10 finishes for W = 600 s (so throughput is exactly 10/600 /s) and, for W = 630 s,
    11 on [d_k, d_k + 30) and 10 on [d_k + 30, d_k+1) (the decay lands between finishes).
    Lead time is the constant flow time 30 s, yield 1."""
    w = f"{window!r} s"
    r = run(takt_line({
        "tp": {"tag": "kpi.throughput", "limit": "1 /h", "direction": "low", "window": w},
        "yl": {"tag": "kpi.yield", "limit": 0.5, "direction": "low", "window": w},
        "lt": {"tag": "kpi.lead_time", "limit": "1 h", "window": w},
    }), duration="2 h", warmup="0 s", seed=1)
    parts = r.tables["parts"]
    good = parts[parts["fate"].astype(str) == "good"]
    created = good["created"].to_numpy(dtype=float)
    k = np.arange(created.size)
    np.testing.assert_array_equal(created, created[0] + GAP * k)  # the deterministic source
    first = created[0] + SERVICE
    np.testing.assert_array_equal(good["done"].to_numpy(dtype=float), first + GAP * k)

    times, values = step(r, "kpi.throughput")
    grid = np.r_[times, (times[:-1] + times[1:]) / 2, np.arange(0.0, 2 * HOUR, 7.5)]
    expected = np.array([takt_count(t, first, window) for t in grid.tolist()]) / window
    np.testing.assert_array_equal(at(times, values, grid), expected)
    steady = grid >= first + window
    if window == 600.0:  # 10 finishes in every window once the first 10 are out
        assert set(at(times, values, grid[grid >= first + 9 * GAP]).tolist()) == {10 / 600}
    else:  # 11 just after a finish, 10 once the oldest left 30 s later
        phase = (grid[steady] - first) % GAP
        np.testing.assert_array_equal(at(times, values, grid[steady]),
                                      np.where(phase < 30.0, 11, 10) / 630)
        changes = times[1:][values[1:] != values[:-1]]
        assert set(((changes[changes >= first + window] - first) % GAP).tolist()) == {0.0, 30.0}
    lt = kpi_rows(r, "kpi.lead_time")
    assert lt["time"].tolist() == [first] and lt["value"].tolist() == [SERVICE]
    y = kpi_rows(r, "kpi.yield")
    assert y["time"].tolist() == [first] and y["value"].tolist() == [1.0]


@pytest.mark.parametrize("alarm", [
    pytest.param({"tag": "kpi.throughput", "limit": "59 /h", "direction": "high",
                  "window": "600 s", "on_delay": "5 min"}, id="high_with_on_delay"),
    pytest.param({"tag": "kpi.throughput", "limit": "57 /h", "direction": "low",
                  "window": "600 s"}, id="low_without_on_delay"),
])
def test_alarm_ignores_same_instant_finish_and_departure(alarm: dict[str, Any]) -> None:
    """Reference: the ISA-18.2 state machine of this module on the step function, and the
    closed form. With arrivals every 60 s and W = 600 s a part leaves the window at the very
    instant another finishes: the throughput is exactly 10/600 /s = 60 /h at every t >= 630 s
    (the last row per time). So a high alarm at 59 /h with a 5 min on-delay must activate at
    630 + 300 s and stay active, and a low alarm at 57 /h must activate at 0 and return at
    630 s, once. (Known bug: the engine records a transient 9/600 at each such instant, and
    the alarm acts on it: the high alarm never activates, the low one chatters.)"""
    r = run(takt_line({"a": alarm}), duration="1 h", warmup="0 s", seed=1)
    spec = AlarmSpec(**alarm)
    times, values = step(r, "kpi.throughput")
    assert set(values[times >= 630.0].tolist()) == {10 / 600}  # the step function is right
    expected = expected_transitions(times, values, spec, HOUR)
    assert expected == ([(930.0, "activate")] if spec.direction == "high"
                        else [(0.0, "activate"), (630.0, "rtn")])
    got = transitions(r, "a")
    assert got == expected, (
        f"the alarm reacts to a zero-duration value the KPI never holds: expected {expected}, "
        f"got {len(got)} transitions {got[:6]}...")


# ----------------------------------------------------------------------------- 6. the spec


def test_window_on_a_non_kpi_tag_is_rejected() -> None:
    """Reference: the spec rule "a window applies to kpi.* tags only" (twin.data.alarms)."""
    for tag, limit in (("wip", 5), ("buffer.m1", 2)):
        p = only(problems_of(minimal({"w": {"tag": tag, "limit": limit, "window": "1 h"}})))
        assert p.path == "alarms.w" and "window" in p.message


def test_alarms_on_one_kpi_share_one_window() -> None:
    """Reference: the spec rule "alarms on one KPI tag share one window" (twin.data.checks):
    the second alarm with another window is reported at its window; the same window written
    differently, or the default written out, is accepted."""
    p = only(problems_of(minimal({
        "a": {"tag": "kpi.throughput", "limit": "2 /h", "direction": "low", "window": "4 h"},
        "b": {"tag": "kpi.throughput", "limit": "1 /h", "direction": "low"},
    })))
    assert p.path == "alarms.b.window"
    p = only(problems_of(minimal({
        "a": {"tag": "kpi.lead_time", "limit": "8 h"},
        "b": {"tag": "kpi.yield", "limit": 0.9, "direction": "low", "window": "2 h"},
        "c": {"tag": "kpi.lead_time", "limit": "12 h", "window": "30 min"},
    })))
    assert p.path == "alarms.c.window"
    for same in (("4 h", "240 min"), (None, "1 h"), ("3600 s", None)):
        alarms = {n: {"tag": "kpi.yield", "limit": 0.9, "direction": "low"}
                  for n in ("a", "b")}
        for n, w in zip(("a", "b"), same, strict=True):
            if w is not None:
                alarms[n]["window"] = w
        spec, problems = validate(minimal(alarms))
        assert problems == [] and spec is not None, same


def test_unknown_kpi_and_wrong_limit_unit_are_located() -> None:
    """Reference: the KPI names of the spec (throughput, yield, lead_time) and the dimension
    of each: an unknown name is reported at the tag, a limit of the wrong kind at the limit."""
    p = only(problems_of(minimal({"o": {"tag": "kpi.oee", "limit": 0.8, "direction": "low"}})))
    assert p.path == "alarms.o.tag" and "kpi.oee" in p.message
    p = only(problems_of(minimal({"x": {"tag": "kpi.throughput", "limit": "10 h"}})))
    assert p.path == "alarms.x.limit"
    p = only(problems_of(minimal({"x": {"tag": "kpi.lead_time", "limit": "2 /h"}})))
    assert p.path == "alarms.x.limit"
    p = only(problems_of(minimal({"x": {"tag": "kpi.yield", "limit": 0.9, "window": 0}})))
    assert p.path == "alarms.x.window"


def test_kpi_limits_are_parsed_to_si() -> None:
    """Reference: SI by hand: 2 /h = 2/3600 /s, 97 % = 0.97, 10 h = 36000 s, 4 h = 14400 s."""
    tp = AlarmSpec(tag="kpi.throughput", limit="2 /h", deadband="1 /h", direction="low",
                   window="4 h")
    assert tp.limit == 2 / 3600 and tp.deadband == pytest.approx(1 / 3600, rel=1e-12)
    assert tp.window == 14400.0 and tp.kpi_window == 14400.0 and tp.dimension == "rate"
    y = AlarmSpec(tag="kpi.yield", limit="97 %", direction="low")
    assert y.limit == pytest.approx(0.97, rel=1e-12, abs=0.0)
    assert y.window is None and y.kpi_window == DEFAULT_KPI_WINDOW == 3600.0
    assert AlarmSpec(tag="kpi.yield", limit=0.97, direction="low").limit == 0.97
    lt = AlarmSpec(tag="kpi.lead_time", limit="10 h", deadband="30 min", window="90 min")
    assert (lt.limit, lt.deadband, lt.kpi_window) == (36000.0, 1800.0, 5400.0)
    assert lt.dimension == "time"


def test_kpi_alarms_round_trip_through_dump() -> None:
    """Reference: specs are data: a validated spec with KPI alarms dumps (Python and JSON) to
    data that validates to the same spec, with the same windows and SI limits."""
    line = line_from_dict(minimal({
        "tp": {"tag": "kpi.throughput", "limit": "2 /h", "deadband": "1 /h",
               "direction": "low", "window": "4 h", "on_delay": "30 min"},
        "yl": {"tag": "kpi.yield", "limit": "97 %", "direction": "low"},
        "lt": {"tag": "kpi.lead_time", "limit": "10 h", "window": "90 min"},
    }))
    via_json = json.loads(json.dumps(line.model_dump(mode="json", by_alias=True)))
    for data in (line.model_dump(by_alias=True), via_json):
        again = line_from_dict(data)
        assert again == line
        for name, alarm in line.alarms.items():
            other = again.alarms[name]
            assert (other.window, other.kpi_window, other.limit, other.deadband) == (
                alarm.window, alarm.kpi_window, alarm.limit, alarm.deadband), name
    assert line.alarms["yl"].window is None and line.alarms["tp"].window == 14400.0
