"""Replay of recorded pilot-data files as a live source (twin.live.replay)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from twin.live.readings import PlantEvent, Reading
from twin.live.replay import ReplaySource

SERIES = """time,tag,value,unit,quality
2026-03-02T06:00:00Z,TI101,80,degC,good
2026-03-02T06:00:01Z,FI202,1.2,m3/h,
2026-03-02T14:00:02+08:00,TI101,81,degC,uncertain
2026-03-02T06:00:03Z,TI101,81.5,degC,bad
2026-03-02T06:00:04Z,TI101,900,degC,good
2026-03-02T06:00:04Z,FI202,3,bar,good
2026-03-02T06:00:05Z,XX9,1,kg,good
2026-03-02T06:00:06Z,TI101,355.15,K,good
2026-03-02T06:00:06Z,TI101,355.15,K,good
2026-03-02T06:00:07Z,FI202,oops,m3/h,good
"""
EVENTS = """id,product,station,event,time,resource,outcome
p1,A,cnc,start,2026-03-02T06:00:00.5Z,cnc.0,
p1,A,cnc,complete,2026-03-02T06:00:02.5Z,cnc.0,scrap
p2,A,cnc,start,2026-03-02T06:00:05.5Z,cnc.0,
p2,A,cnc,complete,2026-03-02T06:00:06.5Z,cnc.0,
"""
T0 = 1772431200.0  # 2026-03-02T06:00:00Z (date -u -d ... +%s)


def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "ts.csv").write_text(SERIES)
    (tmp_path / "ev.csv").write_text(EVENTS)
    return tmp_path / "ts.csv", tmp_path / "ev.csv"


async def collect(src: ReplaySource) -> list[tuple[float, Reading | PlantEvent]]:
    loop = asyncio.get_running_loop()
    return [(loop.time(), item) async for item in src.items()]


def test_replay_as_fast_as_possible_merges_in_time_and_counts_drops(tmp_path, tagmap,
                                                                    caplog) -> None:
    ts, ev = files(tmp_path)
    src = ReplaySource(tagmap, timeseries=ts, events=ev, clock_offset=0.25)
    got = [item for _, item in asyncio.run(collect(src))]
    times = [i.time - T0 for i in got]
    assert times == [0.25, 0.75, 1.25, 2.25, 2.75, 5.75, 6.25, 6.75]
    kinds = ["r" if isinstance(i, Reading) else "e" for i in got]
    assert kinds == ["r", "e", "r", "r", "e", "e", "r", "e"]
    assert got[3].quality == "uncertain" and got[4].outcome == "scrap"
    assert got[6].value == pytest.approx(355.15) and got[0].value == pytest.approx(353.15)
    s = src.stats
    assert dict(s.rejected) == {"bad_quality": 1, "out_of_range": 1, "wrong_unit": 1,
                                "unknown_tag": 1, "malformed": 1}
    assert (s.duplicates, s.late, s.used) == (1, 0, 8)
    assert s.received == 14 == len(SERIES.splitlines()) - 1 + len(EVENTS.splitlines()) - 1
    assert sum("rejected" in r.getMessage() for r in caplog.records) == 5


def test_replay_at_a_finite_speed_keeps_order_and_never_runs_early(tmp_path, tagmap) -> None:
    ts, ev = files(tmp_path)
    speed = 40.0  # 6.5 plant s in ~0.16 wall s
    got = asyncio.run(collect(ReplaySource(tagmap, timeseries=ts, events=ev, speed=speed)))
    plant = [i.time for _, i in got]
    assert plant == sorted(plant) and len(got) == 8
    wall0, first = got[0][0], plant[0]
    for wall, item in got[1:]:  # each item no earlier than its plant time / speed
        assert wall - wall0 >= (item.time - first) / speed - 0.02


def test_replay_of_loaded_tables_and_close(tmp_path, tagmap) -> None:
    from twin.pilotdata.load import load

    ts, _ = files(tmp_path)
    src = ReplaySource(tagmap, timeseries=load(ts, "timeseries", tagmap=tagmap))

    async def first_two() -> list[Reading | PlantEvent]:
        out = []
        async for item in src.items():
            out.append(item)
            if len(out) == 2:
                await src.close()
        return out

    assert len(asyncio.run(first_two())) == 2
    with pytest.raises(ValueError, match="speed"):
        ReplaySource(tagmap, speed=0)
    assert math.isinf(ReplaySource(tagmap).speed)
