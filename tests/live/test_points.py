"""What a twin serves, fed a run's rows in small pieces (as a live run hands them out).

References: the run's own stored tables after it ends. Running KPIs at any time t are
recomputed by brute force from the ``parts`` and ``events`` tables with the definitions of
``twin.observation.kpis.line_kpis`` (window [warmup, t]); plant events against
``twin.fit.runlogs.event_log`` of the ``events`` table (a batch conversion); the points
against the line spec and the KPI catalogue.
"""

from __future__ import annotations

import bisect
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twin.data.alarms import signal_tags
from twin.fit.runlogs import event_log
from twin.live.messages import RunMessages
from twin.live.points import RUNNING_KPIS, PointValues, line_points
from twin.observation import catalogue
from twin.orchestration.live import LiveRun
from twin.orchestration.run import prepare

LINES = Path(__file__).resolve().parents[2] / "lines"
WARMUP = 4 * 3600.0


@cache
def servo() -> LiveRun:
    """The servo line (an end-of-line test that scraps and reworks), 1 day after 4 h."""
    prep = prepare(LINES / "servo_actuator" / "line.toml", duration="1 d", warmup="4 h",
                   seed=11)
    live = LiveRun(prep, watch=list(signal_tags(prep.line)))
    live.start()
    assert live.wait(120) and live.status == "completed", live.error
    return live


def pieces(live: LiveRun, limit: int) -> list[dict[str, Any]]:
    """The run's rows as successive ``since`` pages of at most ``limit`` rows per table."""
    out, cursor = [], None
    while True:
        records, cursor = live.since(cursor, limit=limit)
        if not records:
            return out
        out.append(records)


def brute_kpis(live: LiveRun, t: float) -> dict[str, float]:
    parts = live.result.tables["parts"]  # type: ignore[union-attr]
    events = live.result.tables["events"]  # type: ignore[union-attr]
    done = parts["done"].to_numpy()
    fate = parts["fate"].astype(str).to_numpy()
    win = (done >= WARMUP) & (done <= t)
    good, scrap = win & (fate == "good"), win & (fate == "scrap")
    gq, sq = int(good.sum()), int(scrap.sum())
    ev_win = (events["time"] >= WARMUP) & (events["time"] <= t)
    lead = (done - parts["created"].to_numpy())[good]
    hours = (t - WARMUP) / 3600.0
    return {"window_h": hours, "good_units": gq, "scrap_units": sq,
            "rework_events": int(((events["kind"] == "rework") & ev_win).sum()),
            "lost_arrivals": int(((events["kind"] == "lost") & ev_win).sum()),
            "throughput_per_h": gq / hours,
            "quality_ratio": gq / (gq + sq) if gq + sq else math.nan,
            "scrap_ratio": sq / (gq + sq) if gq + sq else math.nan,
            "first_pass_yield": int((good & (parts["reworks"].to_numpy() == 0)).sum())
            / (gq + sq) if gq + sq else math.nan,
            "lead_time_mean_h": float(lead.mean() / 3600.0) if lead.size else math.nan}


def test_points_mirror_the_line_and_the_catalogue() -> None:
    api = prepare(LINES / "api_batch" / "line.toml", duration="1 d").line
    points = {p.key: p for p in line_points(api)}
    assert points["reactor.temperature"].unit == "degC"
    assert points["Utilities.steam"].unit in ("kW", "m3/h")
    assert points["reactor.state"].kind == "str"
    kpis = catalogue.kpis("line", kind="process", alarms=True, costs=api.costs is not None)
    for k in kpis:
        point = points[f"KPIs.{k.key}"]
        assert point.unit == k.unit and point.description == k.en
    for name in api.alarms:
        assert points[f"Alarms.{name}.state"].kind == "str"
    assert set(RUNNING_KPIS) <= {k.key for k in kpis}


def test_running_kpis_equal_the_tables_at_every_page() -> None:
    live = servo()
    rec = live.recorder
    values = PointValues(live.prep.line, live.recorder, live.prep.warmup)
    names = {"events": ("time", "part", "product", "station", "kind"),
             "parts": ("part", "product", "created", "done", "fate", "reworks")}
    cols = {"events": (rec.e_time, rec.e_part, rec.e_product, rec.e_station, rec.e_kind),
            "parts": (rec.p_id, rec.p_product, rec.p_created, rec.p_done, rec.p_fate,
                      rec.p_reworks)}
    at = {"events": 0, "parts": 0}
    checked = 0
    for t in np.linspace(0.0, live.end, 40)[1:]:  # the rows recorded by each time
        records = {}
        for table, key in (("events", rec.e_time), ("parts", rec.p_done)):
            b = bisect.bisect_right(key, t)
            records[table] = {n: c[at[table]:b] for n, c in zip(names[table], cols[table],
                                                                 strict=True)}
            at[table] = b
        values.update(records, float(t))
        got, want = values.running_kpis(), brute_kpis(live, float(t))
        if t <= WARMUP:
            assert got == {}
            continue
        for key in RUNNING_KPIS:
            assert got[key] == pytest.approx(want[key], rel=1e-12, nan_ok=True), (key, t)
        checked += 1
    assert checked > 30 and values.running_kpis()["rework_events"] > 0
    values.finish(live.result.kpis)  # type: ignore[union-attr]
    kpis = live.result.kpis  # type: ignore[union-attr]
    assert values.values["kpi:good_units"] == kpis["good_units"]
    assert values.values["kpi:bottleneck"] == kpis["bottleneck"]


def test_streamed_plant_events_equal_the_event_log_of_the_stored_table() -> None:
    live = servo()
    line = live.prep.line
    messages = RunMessages(line, live.recorder, 1.0e9)
    pages = pieces(live, 4)  # pages end mid-instant: a rework after its complete
    got = [e for i, records in enumerate(pages)
           for e in messages.events(records, final=i == len(pages) - 1)]
    servers = {n: int(getattr(st, "servers", 0)) for n, st in line.stations.items()}
    log = event_log(live.result.tables, servers)  # type: ignore[union-attr]
    assert len(got) == len(log)
    assert [e.id for e in got] == log["id"].tolist()
    assert [e.event for e in got] == log["event"].tolist()
    assert [e.station for e in got] == log["station"].tolist()
    assert [e.resource for e in got] == log["resource"].tolist()
    assert [e.outcome for e in got] == log["outcome"].replace("", "good").tolist()
    assert "rework" in set(log["outcome"])  # outcomes found across page ends
    times = np.asarray([e.time for e in got]) - 1.0e9
    want = (log["time"].map(lambda s: np.datetime64(s.rstrip("Z"))) - np.datetime64(
        "2026-01-05T00:00:00")) / np.timedelta64(1, "s")
    np.testing.assert_allclose(times, want.to_numpy(dtype=float), atol=1e-5)
