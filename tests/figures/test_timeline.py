"""``result.plot`` and the notebook display of a run: the figures draw what the tables hold.

Each figure is checked against the recorded tables it draws (bar widths against the states
table, steps against the utility load table, profile lines against the profiles table), not
against numbers computed by the figure code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.figures.timeline import NoData
from twin.orchestration.run import RunResult, run

ROOT = Path(__file__).resolve().parents[2]
SERVO = ROOT / "lines" / "servo_actuator" / "line.toml"
API = ROOT / "lines" / "api_batch" / "line.toml"


@pytest.fixture(scope="module")
def servo() -> RunResult:
    return run(SERVO, duration="12 h", warmup="2 h", seed=11)


@pytest.fixture(scope="module")
def api() -> RunResult:
    return run(API, duration="2 d", warmup="12 h", seed=3)


def test_gantt_draws_every_state_interval_of_every_unit(servo: RunResult) -> None:
    from matplotlib.collections import PolyCollection

    states = servo.tables["states"]
    fig = servo.plot.gantt()
    ax = fig.axes[0]
    drawn: dict[int, float] = {}
    for coll in ax.collections:
        if not isinstance(coll, PolyCollection):
            continue
        for path in coll.get_paths():
            xs, ys = path.vertices[:, 0], path.vertices[:, 1]
            row = int(round(float(ys.mean())))
            drawn[row] = drawn.get(row, 0.0) + float(xs.max() - xs.min())
    per_unit = (states["end"] - states["start"]).groupby(states["unit"]).sum() / 3600.0
    assert len(drawn) == states["unit"].nunique()
    for row, unit in enumerate(sorted(states["unit"].unique())):
        assert drawn[row] == pytest.approx(per_unit[unit], rel=1e-9)
    # the time axis spans the whole run; the warm-up is marked
    duration = servo.provenance["settings"]
    assert ax.get_xlim() == pytest.approx((0.0, (duration["warmup_s"]
                                                 + duration["duration_s"]) / 3600.0))
    assert "warm-up (not in statistics)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_utility_load_steps_and_capacity_follow_the_table(api: RunResult) -> None:
    load = api.tables["utility_load"]
    fig = api.plot.utility_load()
    names = list(dict.fromkeys(load["utility"].astype(str)))
    assert len(fig.axes) == len(names)
    caps = api.provenance["parameters"]["utilities"]
    for ax, name in zip(fig.axes, names, strict=True):
        line = ax.get_lines()[0]
        sub = load[load["utility"] == name].groupby("time")["load"].last()
        assert np.allclose(line.get_xdata()[1:], sub.index.to_numpy() / 3600.0)
        assert np.allclose(line.get_ydata()[1:], sub.to_numpy() / 1e3)  # W -> kW
        cap = caps[name]["capacity"]
        dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        if cap is None:
            assert not dashed
        else:
            assert dashed[0].get_ydata()[0] == pytest.approx(float(cap.split()[0]) / 1e3)


def test_batch_profiles_draw_each_batch_in_degc(api: RunResult) -> None:
    prof = api.tables["profiles"]
    react = prof[(prof["station"] == "reactor") & (prof["variable"] == "temperature_K")]
    fig = api.plot.batch_profiles()
    temp_ax, conv_ax = fig.axes
    lines = temp_ax.get_lines()
    assert len(lines) == react.groupby(["part", "phase"]).ngroups >= 2
    first = react[react["part"] == react["part"].min()]
    assert np.allclose(lines[0].get_ydata(), first["value"].to_numpy() - 273.15)
    assert np.allclose(lines[0].get_xdata(),
                       (first["time_s"].to_numpy() - first["time_s"].min()) / 3600.0)
    assert max(max(ln.get_ydata()) for ln in conv_ax.get_lines()) <= 1.0


def test_figures_a_run_lacks_say_so(servo: RunResult, api: RunResult) -> None:
    assert servo.plot.available() == ["gantt", "levels"]
    assert api.plot.available() == ["gantt", "levels", "batch_profiles", "utility_load"]
    with pytest.raises(NoData, match="no batch profiles"):
        servo.plot.batch_profiles()
    with pytest.raises(NoData, match="stations with profiles"):
        api.plot.batch_profiles(station="packing")


def test_levels_count_parts_waiting_in_each_buffer(servo: RunResult) -> None:
    """The buffer level is arrivals minus starts and components consumed, from events (the
    assembly station joins components: without them its buffer would only grow)."""
    events = servo.tables["events"]
    fig = servo.plot.levels()
    ax = fig.axes[0]
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "assembly")
    sub = events[(events["station"] == "assembly")
                 & events["kind"].isin(["arrive", "start", "consumed"])]
    t_end = float(sub["time"].max())
    expected = int((sub["kind"] == "arrive").sum()) - int((sub["kind"] != "arrive").sum())
    assert line.get_xdata()[-1] == pytest.approx(t_end / 3600.0)
    assert line.get_ydata()[-1] == expected
    assert min(line.get_ydata()) >= 0


def test_a_run_shows_itself_in_a_notebook(servo: RunResult) -> None:
    """``_repr_html_``: run id, the window, the KPIs with their stored values (in the
    catalogue's format) and the Gantt as an embedded PNG; a figure shows itself as PNG (no
    pyplot)."""
    import base64
    import re

    doc = servo._repr_html_()
    assert servo.run_id in doc and "observation window 2 h to 14 h" in doc
    from twin.observation import catalogue

    for key in ("throughput_per_h", "good_units", "bottleneck"):
        shown = format(servo.kpis[key], catalogue.kpi(key).fmt)  # the catalogue's format
        row = re.search(rf"<tr><td>[^<]*</td><td style='text-align:right'>([^<]*)</td>"
                        rf"<td>[^<]*</td><td><code>{key}</code></td></tr>", doc)
        assert row is not None and row.group(1) == shown, key
    uri = re.search(r"src='data:image/png;base64,([^']+)'", doc)
    assert uri is not None and base64.b64decode(uri.group(1))[:4] == b"\x89PNG"
    assert servo.plot.gantt()._repr_png_()[:4] == b"\x89PNG"
    assert "result.plot.gantt()" in doc


def test_notebooks_display_runs_and_figures_without_pyplot(servo: RunResult) -> None:
    """IPython's own display formatter finds HTML for a run and PNG for a figure."""
    from IPython.core.formatters import DisplayFormatter

    formatter = DisplayFormatter()
    data, _ = formatter.format(servo)
    assert servo.run_id in data["text/html"]
    data, _ = formatter.format(servo.plot.levels())
    assert data["image/png"][:4] == b"\x89PNG"


@pytest.mark.parametrize(("span_h", "step_h"), [(2.5, 0.5), (28.0, 6.0), (16 * 24.0, 48.0)])
def test_time_axes_read_as_the_run_clock(span_h: float, step_h: float) -> None:
    """Ticks every ``step_h`` (the smallest spacing giving at most 8 ticks), labelled with the
    day, weekday and clock of the run: day 1 starts Monday 00:00."""
    from twin.figures.timeline import clock_ticks

    ticks, labels = clock_ticks(0.0, span_h)
    assert ticks == pytest.approx(list(np.arange(0.0, span_h + 1e-9, step_h)))
    for t, label in zip(ticks, labels, strict=True):
        day = int(t // 24)
        weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][day % 7]
        want = f"day {day + 1} {weekday}"
        if step_h < 24:
            want += f"\n{int(t % 24):02d}:{int(round(t % 1 * 60)):02d}"
        assert label == want


def test_gantt_time_axis_uses_the_run_clock(servo: RunResult) -> None:
    ax = servo.plot.gantt().axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[:2] == ["day 1 Mon\n00:00", "day 1 Mon\n02:00"]  # 14 h: every 2 h
    assert "Monday 00:00" in ax.get_xlabel()
