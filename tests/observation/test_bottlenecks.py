"""Shifting bottlenecks by the active period method, against timelines worked by hand.

Reference: Roser, Nakano & Tanaka, "Shifting bottleneck detection", Proc. Winter Simulation
Conference 2002: the momentary bottleneck is the station with the longest current active
period; where it moves, the overlap of the two active periods is shifting time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin.observation.bottlenecks import active_periods, shifting_bottlenecks
from twin.orchestration.run import run

SERVO = Path(__file__).resolve().parents[2] / "lines" / "servo_actuator" / "line.toml"


def states(rows: list[tuple[str, int, str, float, float]]) -> pd.DataFrame:
    """A states table from (station, unit, state, start, end) rows."""
    return pd.DataFrame(rows, columns=["station", "unit", "state", "start", "end"])


def fractions(table: pd.DataFrame) -> dict[str, tuple[float, float]]:
    return {r.station: (r.sole_fraction, r.shifting_fraction) for r in table.itertuples()}


def test_two_stations_worked_by_hand() -> None:
    """A active [0,10] and [20,30], B active [5,25], window [0,30]. Momentary bottleneck: A on
    [0,5) (only A), B on [5,25) (its 20 s period is longer than A's 10 s ones), A on [25,30).
    Shifts: A->B at 5, overlap [5,10]; B->A at 25, overlap [20,25]. Sole: A 5+5, B 20-10;
    shifting: A 10, B 10; all over 30."""
    table = states([
        ("A", 0, "producing", 0, 10), ("A", 0, "idle", 10, 20), ("A", 0, "producing", 20, 30),
        ("B", 1, "blocked", 0, 5), ("B", 1, "producing", 5, 25), ("B", 1, "idle", 25, 30),
    ])
    periods = active_periods(table, 0, 30)
    np.testing.assert_array_equal(periods["A"], [[0, 10], [20, 30]])
    np.testing.assert_array_equal(periods["B"], [[5, 25]])
    got = fractions(shifting_bottlenecks(periods, 0, 30))
    assert got["A"] == pytest.approx((10 / 30, 10 / 30), abs=1e-12)
    assert got["B"] == pytest.approx((10 / 30, 10 / 30), abs=1e-12)


def test_active_states_merge_and_a_station_is_active_only_with_every_server_busy() -> None:
    """Producing then setup then down on one server is one period; a two-server station is
    active only while both are active ([5,10] here); starved, blocked and off are not."""
    table = states([
        ("M", 0, "producing", 0, 4), ("M", 0, "setup", 4, 6), ("M", 0, "down", 6, 9),
        ("M", 0, "idle", 9, 12), ("M", 0, "waiting", 12, 14), ("M", 0, "off", 14, 20),
        ("P", 1, "producing", 0, 10), ("P", 1, "idle", 10, 20),
        ("P", 2, "blocked", 0, 5), ("P", 2, "producing", 5, 15), ("P", 2, "idle", 15, 20),
    ])
    periods = active_periods(table, 0, 20)
    np.testing.assert_array_equal(periods["M"], [[0, 9], [12, 14]])
    np.testing.assert_array_equal(periods["P"], [[5, 10]])


def test_the_window_clips_periods() -> None:
    table = states([("A", 0, "producing", 0, 100)])
    periods = active_periods(table, 20, 50)
    np.testing.assert_array_equal(periods["A"], [[20, 50]])
    got = fractions(shifting_bottlenecks(periods, 20, 50))
    assert got["A"] == (1.0, 0.0)


def test_a_period_begun_before_the_window_counts_at_its_whole_length() -> None:
    """A active [0,105], B active [100,110], window [100,200] (after a warm-up of 100 s). A's
    period (105 s) is longer than B's (10 s): A is the bottleneck on [100,105), then B on
    [105,110); the shift at 105 overlaps [100,105] of both periods. Sole: A 0, B 5;
    shifting: A 5, B 5; over 100 s."""
    table = states([("A", 0, "producing", 0, 105), ("A", 0, "idle", 105, 200),
                    ("B", 1, "idle", 0, 100), ("B", 1, "producing", 100, 110),
                    ("B", 1, "idle", 110, 200)])
    got = fractions(shifting_bottlenecks(active_periods(table, 0, 200), 100, 200))
    assert got["A"] == pytest.approx((0.0, 0.05), abs=1e-12)
    assert got["B"] == pytest.approx((0.05, 0.05), abs=1e-12)


def test_no_active_station_means_no_bottleneck_time() -> None:
    table = states([("A", 0, "idle", 0, 10), ("B", 1, "off", 0, 10)])
    got = shifting_bottlenecks(active_periods(table, 0, 10), 0, 10)
    assert (got["bottleneck_fraction"] == 0).all()


def test_random_timelines_keep_the_books() -> None:
    """For random two- and three-station timelines: the sole fractions and the time with a
    bottleneck add up (sole time never overlaps), shifting time of a station lies within its
    active periods, and every fraction is within [0, 1]."""
    rng = np.random.default_rng(7)
    for _ in range(50):
        rows = []
        for unit, name in enumerate("ABC"[:rng.integers(2, 4)]):
            t = 0.0
            while t < 100:
                d = float(rng.exponential(5.0))
                rows.append((name, unit, str(rng.choice(["producing", "idle", "blocked"])),
                             t, min(t + d, 100.0)))
                t += d
        table = states(rows)
        periods = active_periods(table, 0, 100)
        got = shifting_bottlenecks(periods, 0, 100)
        covered = _union_length([tuple(p) for ps in periods.values() for p in ps])
        assert got["sole_fraction"].sum() <= covered / 100 + 1e-9
        assert ((got[["sole_fraction", "shifting_fraction"]] >= -1e-12).all().all())
        for r in got.itertuples():
            assert r.shifting_fraction * 100 <= _union_length(
                [tuple(p) for p in periods[r.station]]) + 1e-9



def _by_piece(periods: dict[str, np.ndarray], t0: float, t1: float
              ) -> dict[str, tuple[float, float]]:
    """The method written out piece by piece (plain loops, no search): on each elementary
    piece between period bounds the covering period that is longest (first station on a
    tie) reigns; where the reign passes straight from one station to another, the overlap of
    their periods is shifting time of both; sums in time order."""
    names = list(periods)
    cuts = sorted({t0, t1} | {float(x) for p in periods.values() for x in np.ravel(p)
                              if t0 <= x <= t1})
    reigns: list[list[float]] = []  # station, period, start, end
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        mid, top = (a + b) / 2, (0.0, -1, -1)
        for i, name in enumerate(names):
            for k, (s, e) in enumerate(periods[name]):
                if s <= mid < e and e - s > top[0]:
                    top = (e - s, i, k)
        if top[1] < 0:
            continue
        if reigns and reigns[-1][:2] == [top[1], top[2]] and reigns[-1][3] == a:
            reigns[-1][3] = b
        else:
            reigns.append([top[1], top[2], a, b])
    shifting: list[list[tuple[float, float]]] = [[] for _ in names]
    for x, y in zip(reigns[:-1], reigns[1:], strict=True):
        if x[0] != y[0] and x[3] == y[2]:
            px, py = periods[names[x[0]]][x[1]], periods[names[y[0]]][y[1]]
            lo, hi = max(px[0], py[0], t0), min(px[1], py[1], t1)
            if hi > lo:
                shifting[x[0]].append((lo, hi))
                shifting[y[0]].append((lo, hi))
    out = {}
    for i, name in enumerate(names):
        own: list[list[float]] = []
        for lo, hi in sorted(shifting[i]):
            if own and lo <= own[-1][1]:
                own[-1][1] = max(own[-1][1], hi)
            else:
                own.append([lo, hi])
        mine = [(s, e) for j, _, s, e in reigns if j == i]
        both = sum(max(0.0, min(e, hi) - max(s, lo)) for s, e in mine for lo, hi in own)
        out[name] = ((sum(e - s for s, e in mine) - both) / (t1 - t0),
                     sum(hi - lo for lo, hi in own) / (t1 - t0))
    return out


def test_random_timelines_match_the_method_piece_by_piece() -> None:
    """Random timelines of up to five stations, with periods before the window, ties of
    equal length and touching bounds: the fractions equal those of the piece-by-piece
    computation above (to rounding of the sums)."""
    rng = np.random.default_rng(11)
    for trial in range(40):
        periods = {}
        for name in "ABCDE"[:rng.integers(1, 6)]:
            t, rows = float(rng.uniform(-20, 5)), []
            while t < 120:
                a = t + float(rng.exponential(3.0))
                b = a + float(rng.exponential(4.0))
                if rng.random() < 0.3:  # whole seconds: equal lengths and shared bounds
                    a, b = float(np.ceil(a)), float(np.ceil(a) + rng.integers(1, 4))
                rows.append((a, b))
                t = b
            periods[name] = np.array(rows).reshape(-1, 2)
        t0, t1 = (0.0, 100.0) if trial % 2 else (float(rng.integers(0, 10)),
                                                   float(rng.integers(50, 130)))
        got = fractions(shifting_bottlenecks(periods, t0, t1))
        want = _by_piece(periods, t0, t1)
        assert got.keys() == want.keys()
        for name, (sole, shift) in want.items():
            assert got[name] == pytest.approx((sole, shift), abs=1e-12), (trial, name)


def _union_length(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -np.inf
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def test_servo_line_names_its_assembly_as_the_shifting_bottleneck() -> None:
    """The servo line's assembly benches are its bottleneck by design (their README); the
    burn-in chamber, working at night alone, is the bottleneck for part of the time."""
    r = run(SERVO, duration="7 d", warmup="1 d", seed=2)
    assert r.kpis["shifting_bottleneck"] == "assembly"
    st = r.tables["stations"].set_index("station")
    share = st["bottleneck_sole_fraction"] + st["bottleneck_shifting_fraction"]
    assert share.idxmax() == "assembly" and share["burn_in"] > 0
    assert share.sum() <= 2.0 and (share >= 0).all()


def test_the_bottleneck_of_stations_tied_to_rounding_is_the_first_listed() -> None:
    """Two stations always active: their active fractions are both 1, one summed in another
    order (tables or the compiled engine's accumulators) as 1 + 2e-16. The line KPI names
    the first listed either way (argmax on the raw values named the second)."""
    from twin.data.checks import line_from_dict
    from twin.observation.kpis import LineTallies, line_row

    line = line_from_dict({"line": {"name": "tie"}, "products": {"A": {}}, "stations": {
        "src": {"type": "source", "product": "A", "to": "m1"},
        "m1": {"type": "machine", "buffer": 1, "cycle_time": "1 s", "to": "m2"},
        "m2": {"type": "machine", "buffer": 1, "cycle_time": "1 s", "to": "out"},
        "out": {"type": "sink"}}})
    tally = LineTallies(10, 0, 0, 0, 10, 2.0, 5.0, 5.0, 6.0)
    energy = pd.DataFrame({"kwh": [0.0], "kg_co2e": [0.0], "kgce": [0.0]})
    for second in (1.0, 1.0 + 2e-16, 1.0 - 2e-16):
        stations = pd.DataFrame({"station": ["m1", "m2"], "active_fraction": [1.0, second],
                                 "utilisation": [0.9, 0.8], "oee": [0.7, 0.6]})
        row = line_row(line, tally, stations, energy, None, 0.0, 3600.0)
        assert row["bottleneck"] == "m1" and row["bottleneck_utilisation"] == 0.9
