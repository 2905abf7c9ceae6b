"""A stored run's kernel profiles reach the page thinned as the live stream thins them.

Reference: the definition written out per phase (pivot of one phase's rows by time, every
k-th distinct time with k = ceil(n / PROFILE_POINTS), and the last), applied group by group
with pandas below; the server does the same for all phases at once (a 90-day process run has
hundreds of thousands of profile rows, which the per-phase loop took 9 s to thin).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from twin.edges.dashboard.stored import _thin_profiles
from twin.orchestration.live import PROFILE_POINTS, PROFILE_VARIABLES

STATIONS = ["reactor", "dryer"]


def _reference(frame: pd.DataFrame) -> dict[str, list]:
    out: dict[str, list] = {k: [] for k in ("part", "station", "phase", "time",
                                            *PROFILE_VARIABLES)}
    for (part, station, phase), group in frame.groupby(["part", "station", "phase"],
                                                       sort=False):
        wide = group.pivot_table(index="time_s", columns="variable", values="value",
                                 aggfunc="first").sort_index()
        step = max(1, math.ceil(len(wide) / PROFILE_POINTS))
        wide = wide.iloc[sorted(set(range(0, len(wide), step)) | {len(wide) - 1})]
        out["part"].append(part)
        out["station"].append(STATIONS.index(station))
        out["phase"].append(phase)
        out["time"].append(wide.index.tolist())
        for v in PROFILE_VARIABLES:
            out[v].append(wide[v].tolist() if v in wide else None)
    return out


def _phase(rng: np.random.Generator, part: int, station: str, phase: str, n: int,
           variables: tuple[str, ...]) -> pd.DataFrame:
    t = np.sort(rng.uniform(0.0, 1e4, n)) + part * 1e5
    rows = [pd.DataFrame({"part": part, "station": station, "phase": phase, "time_s": t,
                          "variable": v, "value": rng.normal(300.0, 5.0, n)})
            for v in variables]
    return pd.concat(rows)


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    both = ("temperature_K", "conversion", "volume_m3")
    parts = [
        _phase(rng, 0, "reactor", "react", 1000, both),  # thinned, step 17
        _phase(rng, 0, "reactor", "heat", 35, both),  # short: kept whole
        _phase(rng, 1, "dryer", "dry", 601, ("temperature_K", "solvent_kg")),  # no conversion
        _phase(rng, 2, "reactor", "react", 61, both),  # one past the points: step 2
    ]
    frame = pd.concat(parts, ignore_index=True)
    # a time only a non-streamed variable has (it counts as a time of the phase)
    extra = frame.iloc[[5]].assign(variable="volume_m3", time_s=frame["time_s"].iloc[5] + 0.5)
    frame = pd.concat([frame, extra], ignore_index=True)
    frame = frame.sample(frac=1.0, random_state=3).sort_values("part", kind="stable")
    # a missing value recorded first at a time of a phase kept whole: the value recorded
    # after it counts
    first = int(np.flatnonzero((frame["variable"].to_numpy() == "temperature_K")
                               & (frame["phase"].to_numpy() == "heat"))[0])
    frame = pd.concat([frame.iloc[:first + 1].assign(value=lambda f: f["value"].where(
        f.index != f.index[-1])), frame.iloc[first:]], ignore_index=True)
    return frame


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("categorical", [False, True])
def test_thinned_profiles_match_the_per_phase_definition(categorical: bool) -> None:
    """Text columns as text, or as categoricals (as the server reads them)."""
    frame = _frame()
    text = ["station", "phase", "variable"]
    read = frame.astype({c: "category" for c in text}) if categorical else frame
    got, want = _thin_profiles(read, STATIONS), _reference(frame)
    assert got.keys() == want.keys()
    for key in want:
        assert _same(got[key], want[key]), key
    assert got["conversion"][2] is None  # the dryer never recorded a conversion


def test_thinning_keeps_the_ends_and_at_most_the_points() -> None:
    frame = _frame()
    got = _thin_profiles(frame, STATIONS)
    for i, times in enumerate(got["time"]):
        mine = frame[(frame["part"] == got["part"][i]) & (frame["phase"] == got["phase"][i])]
        assert times[0] == mine["time_s"].min() and times[-1] == mine["time_s"].max()
        assert len(times) <= PROFILE_POINTS + 1
        assert times == sorted(times)


def test_no_profiles() -> None:
    empty = _frame().iloc[:0]
    assert _thin_profiles(empty, STATIONS) == {k: [] for k in ("part", "station", "phase",
                                                                 "time", *PROFILE_VARIABLES)}
