"""The shadow twin on recorded plant data: residual alarms at their stated false-alarm rate
when the plant is the twin, and detection of injected faults (a fouled jacket, a slower
machine) within a stated delay. The plant is a Pilot Twin run with perturbed parameters
(tests/live/plant_files.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import plant_files as pf
import pytest
from scipy.stats import poisson

import twin
from twin.live.detectors import delay_summary, detection_delay
from twin.live.predict import batch_temperature, reference_batch
from twin.live.readings import PlantEvent, Reading
from twin.live.shadow import MonitorSettings, ShadowTwin
from twin.observation import runfolder

NOISE = 0.5  # sensor noise [K]
DT = 30.0  # sampling interval [s]


@pytest.fixture(scope="module")
def reactor() -> dict[str, object]:
    """The twin's reference run, the plant's true temperatures when it equals the twin and
    when its jacket fouls (UA 2.4 -> 1.8 kW/K) from the batch starting at 12 h, and the
    plant's events (the batches start and end at the same times in both: a batch every
    2 h, each well within it)."""
    normal = pf.run_jacket()
    fouled = pf.run_jacket("1.8 kW/K")
    reference = twin.run(pf.jacket(), duration="12 h", warmup="0 s", seed=1)
    switch = 12 * 3600.0
    return {"reference": reference, "events": pf.plant_events(normal), "normal": normal,
            "in_control": pf.true_temperature([normal], math.inf, DT),
            "faulty": pf.true_temperature([normal, fouled], switch, DT), "switch": switch}


def _shadow(reactor: dict, settings: MonitorSettings) -> ShadowTwin:
    return ShadowTwin(pf.jacket(), ["temperature.reactor"], settings,
                      reference=reactor["reference"], origin=pf.EPOCH0)


def _follow(reactor: dict, truth: tuple, seed: int, settings: MonitorSettings):
    shadow = _shadow(reactor, settings)
    for item in pf.merged(pf.temperature_readings(*truth, NOISE, seed), reactor["events"]):
        shadow.feed(item)
    return shadow.finish()


def test_batch_trajectory_reads_the_kernel_profile(reactor: dict) -> None:
    """The twin's batch temperature: undefined while charging, the charge temperature at
    the charge's end, the kernel's points along the react phase, held after."""
    tables = reactor["reference"].tables
    traj = reference_batch(tables, "reactor")
    prof = tables["profiles"]
    prof = prof[(prof["part"] == 0) & (prof["variable"] == "temperature_K")]
    start = 7200.0  # the first batch starts when the first order arrives (2 h)
    assert math.isnan(traj(0.0)) and math.isnan(traj(599.0))
    assert traj(600.0) == pytest.approx(333.15)
    for t, v in zip(prof["time_s"].to_numpy()[::17], prof["value"].to_numpy()[::17],
                    strict=True):
        assert traj(t - start) == pytest.approx(v, abs=1e-9)
    mid = prof.iloc[40:42]
    t_mid = float(mid["time_s"].mean()) - start
    assert traj(t_mid) == pytest.approx(float(mid["value"].mean()), abs=1e-9)
    assert traj(1e6) == pytest.approx(float(prof["value"].iloc[-1]))
    with pytest.raises(ValueError, match="never started"):
        batch_temperature(tables, "reactor", 999)


def test_in_control_temperature_alarms_come_at_their_stated_rate(reactor: dict) -> None:
    """Plant = twin: the standardised residuals are the sensor noise, so signals of a CUSUM
    designed for ARL0 = 200 samples come at 1 per 200 samples (Poisson test at the 0.1 %
    level over 12 days of data); every signal is an ISA-18.2 activation."""
    settings = MonitorSettings(arl0=200, shift=1.0, window=None,
                               sigma={"temperature.reactor": NOISE})
    alarms = samples = 0
    for seed in range(12):
        res = _follow(reactor, reactor["in_control"], seed, settings)
        r = res.residuals
        samples += int(r["statistic"].notna().sum())
        alarms += int(r["alarm"].sum())
        act = res.alarms[res.alarms["event"] == "activate"]
        assert len(act) == int(r["alarm"].sum())
        assert set(act["alarm"]) <= {"residual.temperature.reactor"}
        assert (act["priority"].astype(str) == "high").all()
    expected = samples / 200
    p = 2 * min(poisson.cdf(alarms, expected), poisson.sf(alarms - 1, expected))
    assert p > 1e-3, (alarms, expected)
    assert samples > 12 * 1000


def test_a_fouled_jacket_is_detected_within_its_first_batch(reactor: dict) -> None:
    """UA 2.4 -> 1.8 kW/K from the batch starting at 12 h: over 10 noise draws the CUSUM
    (ARL0 1000 samples) signals in that batch, within 40 minutes of its start."""
    settings = MonitorSettings(arl0=1000, shift=1.0, window=None,
                               sigma={"temperature.reactor": NOISE})
    delays = []
    for seed in range(10):
        res = _follow(reactor, reactor["faulty"], 100 + seed, settings)
        r = res.residuals
        delays.append(detection_delay(r.loc[r["alarm"], "time"], reactor["switch"]))
    s = delay_summary(delays, observed=10 * reactor["switch"])
    assert s["detected"] == 1.0
    assert s["max_delay_s"] < 40 * 60, s


def test_sigma_is_estimated_in_the_in_control_window(reactor: dict) -> None:
    """Without a given sigma the first 3 h of residuals give it (moving range): within
    10 % of the sensor noise; no statistic before."""
    res = _follow(reactor, reactor["in_control"], 7, MonitorSettings(window=None,
                                                                     calibrate=3 * 3600))
    r = res.residuals
    first = r["sigma"].first_valid_index()
    assert r.loc[first:, "sigma"].iloc[0] == pytest.approx(NOISE, rel=0.1)
    assert r.loc[: first - 1, "statistic"].isna().all()
    start = r["time"].iloc[0]
    assert r.loc[first - 1, "time"] < start + 3 * 3600 <= r.loc[first, "time"]


def _cell_shadow(reference: twin.RunResult, settings: MonitorSettings,
                 tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    shadow = ShadowTwin(pf.CELL, [], settings, reference=reference, origin=pf.EPOCH0)
    for item in pf.plant_events(tables):
        shadow.feed(item)
    return shadow.finish(until=float(tables["states"]["end"].max())).residuals


@pytest.fixture(scope="module")
def cell_reference() -> twin.RunResult:
    return twin.run(pf.CELL, duration="300 h", warmup="1 h", seed=999)


def test_throughput_alarms_at_their_rate_and_a_slower_machine_is_found(
        cell_reference: twin.RunResult) -> None:
    """Throughput per hour against the twin's (300-hour reference run): with the plant
    equal to the twin, CUSUM signals (ARL0 100 windows) come at 1 per 100 windows (Poisson
    test at the 0.1 % level over 1000 windows); after the machine's cycle time grows by
    30 % at 20 h (throughput 12 -> 9.2 per hour, 0.8 sigma), every run signals within
    30 h."""
    settings = MonitorSettings(arl0=100, shift=1.0, window=3600.0)
    alarms = windows = 0
    for seed in range(10):
        r = _cell_shadow(cell_reference, settings, pf.run_cell(seed, "100 h"))
        windows += len(r)
        alarms += int(r["alarm"].sum())
        assert (r["signal"] == "kpi.throughput").all()
    expected = windows / 100
    p = 2 * min(poisson.cdf(alarms, expected), poisson.sf(alarms - 1, expected))
    assert p > 1e-3, (alarms, expected)
    delays = []
    for seed in range(6):
        r = _cell_shadow(cell_reference, settings,
                         pf.run_cell(50 + seed, "50 h", slower_from=20 * 3600.0))
        delays.append(detection_delay(r.loc[r["alarm"], "time"], 20 * 3600.0))
    s = delay_summary(delays, observed=6 * 20 * 3600.0)
    assert s["detected"] == 1.0 and s["max_delay_s"] <= 30 * 3600, s


def test_the_run_folder_holds_residuals_and_alarms(reactor: dict, tmp_path: Path) -> None:
    """A shadow run folder is sound (deep check: hashes and schemas), its residual and alarm
    tables read back as written, and run.json says what was monitored and how."""
    settings = MonitorSettings(arl0=50, window=None, sigma={"temperature.reactor": NOISE})
    shadow = ShadowTwin(pf.jacket(), ["temperature.reactor", "buffer.reactor"], settings,
                        reference=reactor["reference"])
    readings = pf.temperature_readings(*reactor["faulty"], NOISE, 3)
    for item in pf.merged(readings, reactor["events"]):
        shadow.feed(item)
    res = shadow.finish()
    folder = res.save(tmp_path)
    assert runfolder.state(folder, deep=True).status == "completed"
    back = runfolder.read_table(folder, "residuals")
    pd.testing.assert_frame_equal(back, res.residuals)
    assert len(runfolder.read_table(folder, "alarms")) == len(res.alarms) > 0
    prov = runfolder.read_summary(folder)["provenance"]
    assert prov["kind"] == "shadow" and list(prov["unmonitored"]) == ["buffer.reactor"]
    det = prov["detectors"]["temperature.reactor"]
    assert det["kind"] == "cusum" and det["sigma"] == NOISE and det["arl0"] == 50
    assert prov["origin_utc"].startswith("2026-01-05T02:00:00")  # the first batch start
    kpis = runfolder.read_summary(folder)["kpis"]
    activations = int((res.alarms["event"] == "activate").sum())
    assert kpis["alarm_activations"] == activations
    # a fault the restarted chart signals again at once keeps the alarm standing
    assert 0 < activations < int(res.residuals["alarm"].sum())
    # residual = measured - predicted, and the estimate lies between prediction and data
    r = res.residuals.dropna(subset=["statistic"])
    np.testing.assert_allclose(r["residual"], r["measured"] - r["predicted"])


def test_window_kpis_are_the_plant_parts_recounted() -> None:
    """Throughput, yield and lead time per 2-hour window, as the shadow measures them from
    the plant's event log, equal the same figures recounted with NumPy from the plant run's
    parts table (fate, created, done); the predictions are the twin's window means."""
    reference = twin.run(pf.CELL_QC, duration="60 h", warmup="1 h", seed=5)
    plant = twin.run(pf.CELL_QC, duration="30 h", warmup="0 s", seed=6).tables
    settings = MonitorSettings(window=7200.0, kpis=("throughput", "yield", "lead_time"))
    shadow = ShadowTwin(pf.CELL_QC, [], settings, reference=reference, origin=pf.EPOCH0)
    for item in pf.plant_events(plant):
        shadow.feed(item)
    res = shadow.finish(until=30 * 3600.0).residuals
    parts = plant["parts"]
    fate = parts["fate"].astype(str).to_numpy()
    done, created = parts["done"].to_numpy(), parts["created"].to_numpy()
    for kpi in ("throughput", "yield", "lead_time"):
        rows = res[res["signal"] == f"kpi.{kpi}"]
        assert len(rows) == 15  # whole 2-hour windows in 30 hours
        for end, measured in zip(rows["time"], rows["measured"], strict=True):
            here = (done >= end - 7200.0) & (done < end)
            good, scrap = here & (fate == "good"), here & (fate == "scrap")
            expected = {"throughput": good.sum() / 7200.0,
                        "yield": good.sum() / (good.sum() + scrap.sum()),
                        "lead_time": float(np.mean(done[good] - created[good]))}[kpi]
            assert measured == pytest.approx(expected, rel=1e-6), (kpi, end)
    # the prediction is the twin's mean over its reference windows
    twin_good = reference.tables["parts"]
    ok = twin_good[(twin_good["fate"].astype(str) == "good") & (twin_good["done"] >= 3600)
                   & (twin_good["done"] < 3600 + 30 * 7200)]
    tp = res.loc[res["signal"] == "kpi.throughput", "predicted"].iloc[0]
    assert tp == pytest.approx(len(ok) / 30 / 7200.0)


def test_settings_and_unmonitored_kpis_are_explained() -> None:
    with pytest.raises(ValueError, match="kpis \\['oee'\\] unknown"):
        MonitorSettings(kpis=("oee",))
    with pytest.raises(ValueError, match="arl0 must exceed 1.*priority"):
        MonitorSettings(arl0=1, priority="critical")
    reference = twin.run(pf.CELL, duration="20 h", warmup="0 s", seed=5)
    shadow = ShadowTwin(pf.CELL, ["wip"], MonitorSettings(kpis=("throughput", "yield")),
                        reference=reference)
    assert set(shadow.unmonitored) == {"wip", "kpi.yield"}
    assert "reference run did not record wip" in shadow.unmonitored["wip"]
    assert "same in every window" in shadow.unmonitored["kpi.yield"]  # nothing is scrapped
    # lead times equal up to rounding in a deterministic line: no spread either
    jacket = ShadowTwin(pf.jacket(), [], MonitorSettings(kpis=("lead_time",)),
                        reference=twin.run(pf.jacket(), duration="30 h", warmup="0 s"))
    assert "no spread" in jacket.unmonitored["kpi.lead_time"]


def test_a_sampled_signal_is_monitored_by_its_window_means() -> None:
    """buffer.mill of an M/M/1-like cell sampled every minute and reported by exception
    (a reading only when the value changed): each hourly residual's measured value is the
    mean of that hour's 60 one-minute samples (recounted with NumPy), the
    prediction and sigma come from the twin's own reference run (which the shadow makes,
    recording the signal), and a machine 30 % slower from 10 h on (utilisation 0.83 -> 1.08:
    the queue grows) raises the residual alarm within 10 h in each of 3 runs."""
    settings = MonitorSettings(window=3600.0, kpis=(), arl0=200, reference=100 * 3600.0)
    shadow = ShadowTwin(pf.QUEUE, ["buffer.mill"], settings)
    assert shadow.reference.tables["signals"]["tag"].eq("buffer.mill").any()
    for seed in range(3):
        plant = pf.run_queue(seed, "20 h", slower_from=10 * 3600.0)
        samples = pf.sampled_readings(plant, "buffer.mill", 60.0, 20 * 3600.0)
        readings = pf.sampled_readings(plant, "buffer.mill", 60.0, 20 * 3600.0, True)
        assert len(readings) < len(samples) / 2
        sh = ShadowTwin(pf.QUEUE, ["buffer.mill"], settings, reference=shadow.reference,
                        origin=pf.EPOCH0)
        for item in readings:
            sh.feed(item)
        r = sh.finish(until=20 * 3600.0).residuals
        values = np.array([x.value for x in samples])
        assert len(r) == 20  # the plant data covers 20 whole hours
        for k, (end, measured) in enumerate(zip(r["time"], r["measured"], strict=True)):
            assert end == (k + 1) * 3600.0
            assert measured == pytest.approx(values[60 * k: 60 * (k + 1)].mean())
        assert (r["predicted"] == shadow.windows[0].twin.mean).all()
        d = detection_delay(r.loc[r["alarm"], "time"], 10 * 3600.0)
        assert d.delay <= 10 * 3600.0, d


def test_items_out_of_order_across_tags_are_reordered(reactor: dict) -> None:
    """A publisher that sends each half hour's readings before its events (as a live run
    polled in chunks does): held for an hour, the items give the same residuals as in time
    order; used as they come, the events that arrive after newer readings are dropped and
    counted."""
    settings = MonitorSettings(arl0=200, window=None, sigma={"temperature.reactor": NOISE})
    items = pf.merged(pf.temperature_readings(*reactor["in_control"], NOISE, 2),
                      reactor["events"])
    chunks: dict[int, list] = {}
    for it in items:
        chunks.setdefault(int((it.time - pf.EPOCH0) // 1800), []).append(it)
    shuffled = [it for k in sorted(chunks) for it in sorted(
        chunks[k], key=lambda x: isinstance(x, PlantEvent))]
    assert shuffled != items
    runs = {}
    for name, order, reorder in (("sorted", items, 0.0), ("held", shuffled, 3600.0),
                                 ("raw", shuffled, 0.0)):
        sh = _shadow(reactor, MonitorSettings(**{**settings.__dict__, "reorder": reorder}))
        for it in order:
            sh.feed(it)
        runs[name] = (sh.finish().residuals, sh.late)
    pd.testing.assert_frame_equal(runs["held"][0], runs["sorted"][0])
    assert runs["held"][1] == 0 and runs["raw"][1] > 0
    assert len(runs["raw"][0]) < len(runs["sorted"][0])


def test_a_residual_alarm_declared_in_the_line_is_the_shadow_alarm(reactor: dict) -> None:
    """``[alarms.reactor_model] tag = "residual.temperature.reactor"`` names the residual
    alarm, sets its priority, and its limit 4 is the CUSUM's h: the false-alarm rate it
    implies is the published two-sided ARL0 of k = 0.5, h = 4, 168 samples (Montgomery,
    Introduction to Statistical Quality Control, table of CUSUM ARLs). A declared residual
    of a signal no tag measures is listed as unmonitored, with the reason."""
    line = pf.jacket()
    line["alarms"] = {
        "reactor_model": {"tag": "residual.temperature.reactor", "priority": "urgent",
                          "limit": 4.0, "description": "reactor off its model"},
        "queue_model": {"tag": "residual.buffer.reactor"}}
    settings = MonitorSettings(arl0=1000, window=None, sigma={"temperature.reactor": NOISE})
    shadow = ShadowTwin(line, ["temperature.reactor"], settings,
                        reference=reactor["reference"], origin=pf.EPOCH0)
    for item in pf.merged(pf.temperature_readings(*reactor["faulty"], NOISE, 3),
                          reactor["events"]):
        shadow.feed(item)
    res = shadow.finish()
    assert (res.residuals["limit"] == 4.0).all()
    active = res.alarms[res.alarms["event"] == "activate"]
    assert len(active) > 0 and set(active["alarm"]) == {"reactor_model"}
    assert set(active["priority"].astype(str)) == {"urgent"}
    assert (active["limit"] == 4.0).all()
    assert shadow.tracks["temperature.reactor"].detector.arl0 == pytest.approx(168, rel=0.01)
    assert "queue_model" in shadow.unmonitored["buffer.reactor"]


def test_residual_alarm_tags_are_checked_against_the_line() -> None:
    from twin.data.checks import SpecError, line_from_dict

    def problems(alarms: dict) -> str:
        with pytest.raises((SpecError, ValueError)) as err:
            line_from_dict({**pf.jacket(), "alarms": alarms}, "jacket")
        return str(err.value)

    assert "no signal 'residual.temperature.nowhere'" in problems(
        {"a": {"tag": "residual.temperature.nowhere"}})
    assert "direction 'high'" in problems(
        {"a": {"tag": "residual.temperature.reactor", "direction": "low"}})
    assert "one alarm per residual" in problems(
        {"a": {"tag": "residual.kpi.throughput"}, "b": {"tag": "residual.kpi.throughput"}})
    assert "'kpi.speed' is not a rolling KPI" in problems({"a": {"tag": "residual.kpi.speed"}})
    # a plain run has no residuals: the alarm stays normal
    run = twin.run({**pf.jacket(), "alarms": {"a": {"tag": "residual.temperature.reactor"}}},
                   duration="4 h", warmup="0 s", seed=1)
    assert run.tables["alarms"].empty


def test_resync_forecasts_batch_ends_and_output_of_the_plant(tmp_path: Path) -> None:
    """At each batch start the shadow rebuilds the plant's state from the events it received
    and forecasts from it. The jacket line is deterministic, so every forecast interval is a
    point: the batch's actual end in the plant's event log, and the plant's good output by
    the end of the shift and of the day (counted from its log). The forecasts are the
    run folder's ``forecasts`` table."""
    from twin.live.resync import ResyncSettings

    plant = pf.run_jacket(duration="1 d")
    events = pf.plant_events(plant)
    reference = twin.run(pf.jacket(), duration="12 h", warmup="0 s", seed=1)
    settings = MonitorSettings(window=None, sigma={"temperature.reactor": NOISE})
    shadow = ShadowTwin(pf.jacket(), ["temperature.reactor"], settings, reference=reference,
                        resync=ResyncSettings(period=None, on=("start",), replications=9))
    truth = pf.true_temperature([plant], math.inf, DT)
    for item in pf.merged(pf.temperature_readings(*truth, NOISE, 1), events):
        shadow.feed(item)
    res = shadow.finish()
    fc = res.forecasts
    o = shadow.origin  # the first item: the shadow's clock is not the state's
    assert o > pf.EPOCH0
    starts = [e.time - o for e in events if e.event == "start"]
    assert sorted(set(fc["time"])) == pytest.approx(starts)
    ends = {e.id: e.time - o for e in events if e.event == "complete"}
    batches = fc[fc["kind"] == "batch_end"]
    assert len(batches) == len(starts)
    for r in batches.itertuples():
        if r.item in ends:  # the last batch may end after the plant's day
            assert (r.low, r.median, r.high) == pytest.approx((ends[r.item],) * 3, abs=1e-6)
    good = np.array([e.time - o for e in events
                     if e.event == "complete" and e.outcome == "good"])
    output = fc[(fc["kind"] == "output") & (fc["until"] <= 86400.0 + pf.EPOCH0 - o)]
    assert len(output) > 0
    for r in output.itertuples():
        expected = int(((good > r.time) & (good <= r.until)).sum())
        assert r.low == r.median == r.high == expected
    folder = res.save(tmp_path)
    assert runfolder.state(folder, deep=True).status == "completed"
    pd.testing.assert_frame_equal(runfolder.read_table(folder, "forecasts"), fc)
    prov = runfolder.read_summary(folder)["provenance"]["resync"]
    assert prov["forecasts"] == len(starts) and prov["failed"] == 0
    # what a server of the shadow holds: the latest forecast, every value a declared point
    from twin.live.shadow_points import ShadowValues, shadow_points

    served = ShadowValues(shadow).update()
    assert set(served) <= {p.source for p in shadow_points(shadow)}
    latest = fc[fc["time"] == fc["time"].max()]
    batch = latest[latest["kind"] == "batch_end"].iloc[0]
    assert served["forecast:reactor:batch"][1] == batch["item"]
    assert served["forecast:reactor:end_median"] == (batch["time"], batch["median"])
    day = latest[(latest["kind"] == "output") & (latest["item"] == "end of day")].iloc[0]
    assert served["forecast:end_of_day:median"][1] == day["median"]
    last = res.residuals.iloc[-1]
    assert served["shadow:temperature.reactor:measured"] == pytest.approx(
        (last["time"], last["measured"] - 273.15))  # served in degC
    # a measured batch temperature is the running batch's, never the last one's
    record = shadow.resync
    assert record is not None
    record.see(Reading(1.0, "TI", "temperature.reactor", 350.0))
    assert "temperature.reactor" in record.measured
    record.see(PlantEvent(2.0, "P9", "B", "reactor", "start"))
    assert "temperature.reactor" not in record.measured


def test_resync_on_a_period_and_its_settings_are_checked(reactor: dict) -> None:
    from twin.live.resync import ResyncSettings

    shadow = ShadowTwin(pf.jacket(), ["temperature.reactor"],
                        MonitorSettings(window=None, sigma={"temperature.reactor": NOISE}),
                        reference=reactor["reference"], origin=pf.EPOCH0,
                        resync=ResyncSettings(period=3 * 3600.0, on=(), replications=9))
    for item in pf.merged(pf.temperature_readings(*reactor["in_control"], NOISE, 2),
                          reactor["events"]):
        shadow.feed(item)
    times = sorted(set(shadow.finish().forecasts["time"]))
    assert len(times) >= 5 and min(np.diff(times)) >= 3 * 3600.0
    with pytest.raises(ValueError, match="not plant events"):
        ResyncSettings(on=("begin",))
    with pytest.raises(ValueError, match="replications"):
        ResyncSettings(replications=3, level=0.9)
