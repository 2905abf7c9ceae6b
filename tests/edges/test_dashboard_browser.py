"""The dashboard in a real browser (Debian's Chromium driven by Playwright).

The page's Content-Security-Policy forbids evaluating strings, so every wait below passes a
function, never a bare expression.

One server (uvicorn on 127.0.0.1, a free port) serves two stored servo-line runs, a stored
batch-process run and a live servo-line run paced so that it streams for the whole module.
Every request the page makes is recorded; all must go to that server. Screenshots of each
view are written under pytest's temporary folder and their paths printed.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
import uvicorn
from playwright.sync_api import Page, sync_playwright

from twin.data.checks import load_line, read_toml
from twin.data.daily import drawn_evenly
from twin.data.registry import station_types
from twin.edges.dashboard.server import create_app, server_config
from twin.edges.layout import MIN_LABEL_PT
from twin.observation import runfolder, schema
from twin.orchestration.live import LiveRun
from twin.orchestration.run import prepare, run

ROOT = Path(__file__).resolve().parents[2]
SERVO = ROOT / "lines" / "servo_actuator" / "line.toml"
BATCH = ROOT / "lines" / "api_batch" / "line.toml"
CHROMIUM = "/usr/bin/chromium"
REFERENCE_LINES = sorted(p.parent.name for p in (ROOT / "lines").glob("*/line.toml"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shadow_folder(root: Path) -> str:
    """A shadow run folder of the batch line in the run-folder format a shadow twin writes
    (``residuals`` and ``alarms``): a batch temperature that drifts from the twin after 10 h
    until its detector alarms, and a throughput per window."""
    t = np.arange(0.0, 20 * 3600.0, 600.0)
    drift = np.where(t > 36000.0, (t - 36000.0) / 3600.0, 0.0)
    stat = np.cumsum(np.clip(drift - 0.5, 0.0, None))
    temp = pd.DataFrame({"time": t, "signal": "temperature.reactor",
                         "measured": 338.15 + drift, "predicted": 338.15,
                         "residual": drift, "sigma": 1.0, "statistic": stat, "limit": 4.0,
                         "alarm": (stat >= 4.0) & (np.r_[0.0, stat[:-1]] < 4.0),
                         "estimate": 338.15 + 0.8 * drift})
    thr = pd.DataFrame({"time": t[::6], "signal": "kpi.throughput", "measured": 1 / 3600.0,
                        "predicted": 1.1 / 3600.0, "residual": -0.1 / 3600.0, "sigma": 0.2,
                        "statistic": 0.1, "limit": 5.0, "alarm": False, "estimate": np.nan})
    spec = load_line(BATCH)
    summary = {"run_id": "api_batch_shadow", "kpis": {}, "provenance": {
        "kind": "shadow", "line": "api_batch", "status": "completed", "seed": 0,
        "settings": {"duration_s": 20 * 3600.0, "warmup_s": 0.0, "seed": 0},
        "parameters": spec.model_dump(mode="json", by_alias=True)}}
    alarms = pd.DataFrame(columns=["time", "alarm", "tag", "priority", "event", "state",
                                   "value", "limit"])
    made = np.arange(2, 20, 2) * 3600.0  # a re-sync every 2 h
    rows = [(m, "batch_end", f"L{k}", "reactor", np.nan, m + 3600.0, m + 5400.0,
             np.inf if k == 3 else m + 7200.0, 0.9) for k, m in enumerate(made)]
    rows += [(m, "output", "end of day", "", 86400.0, 1.0, 2.0, 3.0, np.nan) for m in made]
    rows += [(m, "alarm", "reactor_hot", "", np.nan, m + 60.0, m + 600.0, np.inf, 0.3)
             for m in made]
    forecasts = pd.DataFrame(rows, columns=list(schema.names("forecasts")))
    runfolder.write(root, "api_batch_shadow", summary,
                    {"residuals": pd.concat([temp, thr], ignore_index=True), "alarms": alarms,
                     "forecasts": forecasts})
    return "api_batch_shadow"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), "Debian's chromium is needed"
    root = tmp_path_factory.mktemp("dashboard_runs")
    ids = []
    for seed in (1, 2):
        ids.append(run(SERVO, duration="2 d", warmup="1 d", seed=seed).save(root).name)
    batch = run(BATCH, duration="3 d", warmup="0 s", seed=1).save(root).name
    lines = {"servo_actuator": ids[0], "api_batch": batch}
    for name in REFERENCE_LINES:  # every reference line, for the diagram's order
        if name not in lines:
            path = ROOT / "lines" / name / "line.toml"
            lines[name] = run(path, duration="3 d", warmup="0 s", seed=1).save(root).name
    alarmed = read_toml(SERVO)
    alarmed["alarms"] = {"wip_high": {"tag": "wip", "limit": 12, "priority": "high", "deadband": 2},
                         "washer_queue": {"tag": "buffer.washing", "limit": 3,
                                          "priority": "medium", "deadband": 1}}
    with_alarms = run(alarmed, duration="2 d", warmup="2 h", seed=3).save(root).name
    shadow = _shadow_folder(root)
    data = read_toml(SERVO)
    data["alarms"] = {  # the WIP climbs over 20 within the first hours of the live run
        "wip_high": {"tag": "wip", "limit": 20, "priority": "high", "deadband": 2},
        "washer_queue": {"tag": "buffer.washing", "limit": 4, "priority": "medium",
                         "deadband": 1},
    }
    # 12 simulated days at 2 simulated hours per second: about 2 minutes, longer than the
    # module needs; stopped at the end.
    live = LiveRun(prepare(data, duration="12 d", warmup="2 h", seed=4), speed=7200.0)
    port = _free_port()
    config = server_config(create_app(root, live), port=port)  # as `twin dashboard` serves
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    live.start()
    shots = tmp_path_factory.mktemp("dashboard_screenshots")
    yield {"url": f"http://127.0.0.1:{port}", "port": port, "live": live, "stored": ids,
           "batch": batch, "shots": shots, "lines": lines, "alarmed": with_alarms,
           "root": root, "shadow": shadow}
    live.stop()
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser_page(server: dict[str, Any]) -> Iterator[tuple[Page, list[str]]]:
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.on("websocket", lambda ws: requests.append(ws.url))  # the live stream
        errors: list[str] = []
        page.on("pageerror", lambda e: (errors.append(str(e)), print("page error:", e)))
        yield page, requests
        assert not errors, errors
        browser.close()
    hosts = {urlsplit(u).netloc for u in requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {f"127.0.0.1:{server['port']}"}, hosts


def shot(page: Page, server: dict[str, Any], name: str) -> None:
    path = server["shots"] / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def goto(page: Page, server: dict[str, Any], source: str) -> None:
    """Open the page on a source (each test does: tests may run in any order or process)."""
    page.goto(f"{server['url']}/?source={source}")
    page.wait_for_function("s => window.twinState.ready && window.twinState.source === s "
                           "&& window.twinState.renders > 0", arg=source)


def view(page: Page, name: str) -> None:
    before = page.evaluate("() => window.twinState.renders")
    page.click(f"#tabs button[data-view={name}]")
    page.wait_for_function("n => window.twinState.renders > n", arg=before)


def wait_flows(page: Page) -> None:
    """The Sankeys come from the server: wait until the page drew them for its source."""
    page.wait_for_function("() => window.twinState.flows === window.twinState.source")


def plot_traces(page: Page, div: str) -> list[dict[str, Any]]:
    return page.evaluate(f"""() => (document.getElementById({div!r}).data || []).map(t => ({{
        type: t.type, n: (t.x || (t.link && t.link.value) || []).length, name: t.name }}))""")


def test_only_this_server_is_asked(browser_page: tuple[Page, list[str]],
                                   server: dict[str, Any]) -> None:
    page, requests = browser_page
    page.goto(f"{server['url']}/?source=live")
    page.wait_for_function("() => window.twinState.ready && window.twinState.renders > 0")
    assert page.evaluate("typeof Plotly") == "object"  # served from the installed package
    assert any(u.endswith("/static/plotly.min.js") for u in requests)
    hosts = {urlsplit(u).netloc for u in requests}
    assert hosts == {f"127.0.0.1:{server['port']}"}
    assert any(u.startswith("ws://127.0.0.1:") and u.split("?")[0].endswith("/api/live/ws")
               for u in requests)  # the page streams over its own server's WebSocket


def test_live_values_change_while_the_run_streams(browser_page: tuple[Page, list[str]],
                                                  server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, "live")
    page.wait_for_function("() => window.twinState.records > 0")
    first = page.evaluate("[window.twinState.records, window.twinState.now]")
    clock = page.inner_text("#clock")
    page.wait_for_function("r => window.twinState.records > r", arg=first[0], timeout=15000)
    page.wait_for_function("c => document.getElementById('clock').textContent !== c",
                           arg=clock, timeout=10000)
    later = page.evaluate("[window.twinState.records, window.twinState.now]")
    assert later[0] > first[0] and later[1] > first[1]
    assert page.inner_text("#kpi-wip_mean .value") not in ("", "-")
    units = page.locator("#diagram svg rect.unit").count()
    assert units == len(server["live"].recorder.units)
    shot(page, server, "overview_live")


def test_a_dropped_stream_resumes_without_gaps_or_repeats(
        browser_page: tuple[Page, list[str]], server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, "live")
    page.wait_for_function("() => window.twinState.records > 0")
    before = page.evaluate("window.twinState.messages")
    page.evaluate("ui.stream.close()")  # as a network drop would
    # the page reconnects from its cursor and frames come again
    page.wait_for_function("n => window.twinState.messages > n + 1", arg=before, timeout=15000)
    times = page.evaluate("Array.from(ui.run.t.events.time)")
    parts = page.evaluate("Array.from(ui.run.t.events.part)")
    rec = server["live"].recorder
    assert len(times) > 0
    assert times == rec.e_time[:len(times)]  # every event once, in order: no gap, no repeat
    assert parts == rec.e_part[:len(parts)]


def test_switching_away_from_live_ends_its_stream(browser_page: tuple[Page, list[str]],
                                                 server: dict[str, Any]) -> None:
    """A stored run that loads slowly (longer than the reconnect delay) must not bring the
    live stream back behind it."""
    page, _ = browser_page
    goto(page, server, "live")
    page.wait_for_function("() => window.twinState.records > 0")

    def slow(route: Any) -> None:
        time.sleep(2.5)  # a big stored run
        route.continue_()

    def records(url: str) -> bool:
        return "/records" in url

    stored = f"run:{server['stored'][1]}"
    page.route(records, slow)
    try:
        page.select_option("#source", stored)
        page.wait_for_function("s => window.twinState.ready && window.twinState.source === s",
                               arg=stored, timeout=20000)
    finally:
        page.unroute(records, slow)
    before = page.evaluate("window.twinState.messages")
    page.wait_for_timeout(2500)
    assert page.evaluate("window.twinState.messages") == before  # no live frames any more
    assert page.evaluate("ui.stream") is None and page.evaluate("ui.run.meta.live") is False


def test_an_alarm_appears_and_is_acknowledged(browser_page: tuple[Page, list[str]],
                                              server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, "live")
    view(page, "alarms")
    ack = page.locator("#alarm-list tr[data-alarm=wip_high] button.ack").first
    ack.wait_for(timeout=30000)
    assert page.inner_text("#alarmcount") != ""
    assert "unit" in page.locator("#alarm-list th").all_inner_texts()  # values in their units
    shot(page, server, "alarms_unacknowledged")
    ack.click()
    # the acknowledgement comes back through the stream as a journal row
    page.wait_for_function("""() => [...document.querySelectorAll(
        '#alarm-list tr[data-alarm=wip_high] td')].some(td => td.textContent === 'ack')""",
                           timeout=15000)
    assert server["live"].monitor.state("wip_high") in ("ack", "normal", "unack")
    events = [r[4] for r in server["live"].recorder.alarm_rows if r[1] == "wip_high"]
    assert "ack" in events
    feedback = page.inner_text("#alarm-feedback")  # the operator is told what happened
    assert re.fullmatch(r"wip_high acknowledged at day \d+ \w{3} \d\d:\d\d", feedback)
    shelve = page.locator("#alarm-list button.shelve").first
    assert "simulated" in shelve.inner_text() and "wall-clock" in shelve.get_attribute("title")
    rate = plot_traces(page, "alarm-rate")
    assert rate and rate[0]["type"] == "bar"
    shot(page, server, "alarms_acknowledged")


def test_gantt_and_sankey_render(browser_page: tuple[Page, list[str]],
                                 server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, "live")
    page.wait_for_function("() => window.twinState.records > 0")
    view(page, "timelines")
    gantt = plot_traces(page, "gantt")
    assert {t["type"] for t in gantt} == {"bar"} and sum(t["n"] for t in gantt) > 0
    assert "producing" in {t["name"] for t in gantt}
    assert sum(t["n"] for t in plot_traces(page, "levels")) > 0
    shot(page, server, "timelines_live")
    view(page, "flows")
    wait_flows(page)
    for div in ("sankey-material", "sankey-energy"):
        traces = plot_traces(page, div)
        assert traces[0]["type"] == "sankey" and traces[0]["n"] > 0, div
    assert page.locator("#sankey-material g.sankey-node").count() > 3
    shot(page, server, "flows_live")


def test_replay_with_a_time_cursor(browser_page: tuple[Page, list[str]],
                                   server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, "live")
    page.select_option("#source", f"run:{server['stored'][0]}")  # switch as a user does
    page.wait_for_function("s => window.twinState.ready && window.twinState.source === s",
                           arg=f"run:{server['stored'][0]}")
    view(page, "overview")
    seen = set()
    for position in (50, 300, 600, 1000):
        page.eval_on_selector("#cursor", """(el, v) => { el.value = v;
            el.dispatchEvent(new Event('input')); }""", position)
        end = 2 * 86400 + 86400  # warm-up + duration of the stored runs
        page.wait_for_function("v => Math.abs(window.twinState.now - v) < 1",
                               arg=position / 1000 * end)
        seen.add((page.inner_text("#clock"), page.inner_text("#kpi-wip_mean .value"),
                  page.inner_text("#diagram")))
    assert len({s[0] for s in seen}) == 4  # the clock follows the cursor
    assert len({s[1:] for s in seen}) > 1  # and so does the state shown
    shot(page, server, "overview_replay")
    view(page, "timelines")
    shot(page, server, "timelines_replay")


def test_batch_line_profiles_and_material(browser_page: tuple[Page, list[str]],
                                          server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, f"run:{server['batch']}")
    view(page, "timelines")
    profiles = plot_traces(page, "profiles")
    assert profiles and all(t["n"] > 0 for t in profiles)
    for hours in ("24", "8"):  # the profiles follow the time window
        page.select_option("#window", hours)
        page.wait_for_function("""h => { const r = document.getElementById('profiles')
            .layout.xaxis.range; return Math.abs(r[1] - r[0] - Number(h)) < 1e-6; }""", arg=hours)
        xs = page.evaluate("() => document.getElementById('profiles').data.flatMap(t => t.x)")
        x0, x1 = page.evaluate("() => document.getElementById('profiles').layout.xaxis.range")
        assert xs and all(x0 - 1e-9 <= x <= x1 + 1e-9 for x in xs)
    assert sum(t["n"] for t in plot_traces(page, "utility")) > 0
    shot(page, server, "timelines_batch")
    view(page, "flows")
    wait_flows(page)
    assert plot_traces(page, "sankey-material")[0]["n"] > 0
    shot(page, server, "flows_batch")


def test_two_runs_side_by_side(browser_page: tuple[Page, list[str]],
                               server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, f"run:{server['stored'][0]}")
    view(page, "compare")
    a, b = server["stored"]
    page.select_option("#cmp-a", a)
    page.select_option("#cmp-b", b)
    page.click("#cmp-go")
    page.wait_for_function("b => window.twinState.compared && window.twinState.compared[1] === b",
                           arg=b)
    rows = page.locator("#cmp-table tbody tr")
    assert rows.count() > 5
    good = page.locator("#cmp-table tbody tr", has_text="good_units").inner_text().split()
    assert len(good) == 4  # KPI, A, B, B - A
    for div in ("cmp-gantt-0", "cmp-gantt-1"):
        assert sum(t["n"] for t in plot_traces(page, div)) > 0
    curves = plot_traces(page, "cmp-curve")
    assert len(curves) == 2 and all(t["n"] > 0 for t in curves)
    # the cumulative curve counts the table's window: it ends at the table's good units
    ends = page.evaluate("() => document.getElementById('cmp-curve').data.map("
                         "t => t.y[t.y.length - 1])")
    assert ends == [int(float(good[1])), int(float(good[2]))]
    assert a in page.inner_text("#cmp-out") and b in page.inner_text("#cmp-out")
    # a signal both runs recorded, side by side: each line ends at its run's last value
    tag = page.evaluate("() => window.twinState.comparedSignal")
    ends = page.evaluate("() => document.getElementById('cmp-signal-plot').data.map("
                         "t => t.y[t.y.length - 1])")
    for rid, end in zip((a, b), ends, strict=True):
        table = pd.read_parquet(server["root"] / rid / "signals.parquet")
        assert end == table[table["tag"] == tag]["value"].iloc[-1], (rid, tag)
    shot(page, server, "compare")


AXES = """div => {
    const gd = document.getElementById(div), panel = gd.closest('.panel');
    if (!gd._fullLayout || (panel && panel.hidden)) return null;
    const axes = Object.keys(gd._fullLayout).filter(k => /^[xy]axis[0-9]*$/.test(k)
        && gd._fullLayout[k].visible !== false);
    return { axes: Object.fromEntries(axes.map(k => [k, gd._fullLayout[k].title.text || ''])),
             drawn: [...gd.querySelectorAll('.g-xtitle text, .g-ytitle text, .g-y2title text')]
                    .map(t => t.textContent),
             ticks: [...gd.querySelectorAll('.xtick text')].map(t => t.textContent) };
}"""
TIME_TITLE = "time of the run"
UNIT = re.compile(r"\[[^\]]+\]")


def check_axes(page: Page, div: str) -> dict[str, Any] | None:
    """Every axis of a drawn chart has a title, drawn on the page; value axes carry a unit
    in brackets; time axes read as clock times of the run (day, weekday, hh:mm)."""
    got = page.evaluate(AXES, div)
    if got is None:
        return None
    assert got["axes"], div
    for axis, title in got["axes"].items():
        assert title, f"{div}: {axis} has no title"
        assert title in got["drawn"], f"{div}: {axis} title {title!r} not drawn"
        if axis.startswith("x"):
            assert title.startswith(TIME_TITLE), (div, title)
            assert got["ticks"] and all(re.match(r"day \d+ (Mon|Tue|Wed|Thu|Fri|Sat|Sun)", t)
                                        for t in got["ticks"]), (div, got["ticks"])
        elif not title.startswith("unit "):  # the Gantt's category axis names the units
            assert UNIT.search(title), f"{div}: {axis} title {title!r} has no unit"
    return got


def test_every_chart_has_axis_titles_with_units(browser_page: tuple[Page, list[str]],
                                                server: dict[str, Any]) -> None:
    page, _ = browser_page
    checked = set()
    for source in (f"run:{server['batch']}", f"run:{server['alarmed']}", "live"):
        goto(page, server, source)
        for name, divs in (("timelines", ("gantt", "levels", "utility", "profiles")),
                           ("flows", ("emissions",)), ("alarms", ("alarm-rate",))):
            if not page.locator(f"#tabs button[data-view={name}]").is_visible():
                continue
            view(page, name)
            for div in divs:
                if check_axes(page, div) is not None:
                    checked.add(div)
    goto(page, server, f"run:{server['stored'][0]}")
    view(page, "compare")
    page.select_option("#cmp-a", server["stored"][0])
    page.select_option("#cmp-b", server["stored"][1])
    page.click("#cmp-go")
    page.wait_for_function("() => window.twinState.compared")
    for div in ("cmp-gantt-0", "cmp-curve"):
        assert check_axes(page, div) is not None
        checked.add(div)
    assert checked == {"gantt", "levels", "utility", "profiles", "emissions", "alarm-rate",
                       "cmp-gantt-0", "cmp-curve"}


def test_no_empty_panels_for_what_a_line_does_not_have(browser_page: tuple[Page, list[str]],
                                                        server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, f"run:{server['stored'][0]}")  # a discrete line, no utilities
    view(page, "timelines")
    hidden = page.evaluate("""() => ['utility', 'profiles', 'gantt'].map(
        d => document.getElementById(d).closest('.panel').hidden)""")
    assert hidden == [True, True, False]
    for line, rid in server["lines"].items():  # the alarms tab only where there are alarms
        goto(page, server, f"run:{rid}")
        spec = read_toml(ROOT / "lines" / line / "line.toml")
        assert page.locator("#tabs button[data-view=alarms]").is_visible() == bool(
            spec.get("alarms")), line
        view(page, "overview")  # the cost tile only on lines with prices
        assert page.locator("#kpi-cost_per_good_unit").count() == int("costs" in spec), line
    goto(page, server, f"run:{server['batch']}")
    view(page, "timelines")
    assert page.evaluate("() => document.getElementById('utility').closest('.panel').hidden") \
        is False


def test_gantt_states_are_distinguishable_with_a_legend(
        browser_page: tuple[Page, list[str]], server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, f"run:{server['stored'][0]}")
    view(page, "timelines")
    styles = page.evaluate("""() => document.getElementById('gantt').data.map(t =>
        [t.name, t.marker.color, (t.marker.pattern || {}).shape || ''])""")
    assert len(styles) >= 4
    assert len({(c, p) for _, c, p in styles}) == len(styles)  # no two states look alike
    colours = {n: c for n, c, _ in styles}
    greys = {n for n, c, _ in styles if len({c[1:3], c[3:5], c[5:7]}) == 1}
    assert greys >= {"producing", "idle"} and {"down", "blocked"} & set(colours) <= \
        set(colours) - greys  # colour only for the abnormal states
    legend = page.locator("#gantt .legend .traces").count()
    assert legend == len(styles)


def to_rgb_255(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as the integers a browser's computed style writes."""
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _on_cycle(stations: dict[str, Any]) -> set[tuple[str, str]]:
    succ = {n: {r["to"] for r in st.get("routes") or []} | (
        {st["rework_to"]} if st.get("rework_to") else set()) for n, st in stations.items()}

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            x = todo.pop()
            if x == b:
                return True
            if x not in seen:
                seen.add(x)
                todo.extend(succ[x])
        return False

    return {(a, b) for a in succ for b in succ[a] if reaches(b, a)}


@pytest.mark.parametrize("line", REFERENCE_LINES)
def test_the_diagram_runs_left_to_right_along_the_routes(
        browser_page: tuple[Page, list[str]], server: dict[str, Any], line: str) -> None:
    page, _ = browser_page
    goto(page, server, f"run:{server['lines'][line]}")
    view(page, "overview")
    drawn = page.evaluate("""() => {
        const svg = document.querySelector('#diagram svg');
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        return Object.fromEntries([...svg.querySelectorAll('g.station')].map(g => {
            const r = g.querySelector('rect.box').getBoundingClientRect();
            const size = parseFloat(getComputedStyle(g.querySelector('text.name')).fontSize);
            const fill = getComputedStyle(g.querySelector('rect.box')).fill;
            return [g.dataset.station, [r.left, r.right, size * scale, fill]]; })); }""")
    stations = load_line(ROOT / "lines" / line / "line.toml").model_dump(
        mode="json", by_alias=True)["stations"]
    assert set(drawn) == set(stations)
    cycles = _on_cycle(stations)
    for name, st in stations.items():
        for r in st.get("routes") or []:
            if (name, r["to"]) not in cycles:
                assert drawn[name][1] < drawn[r["to"]][0], f"{line}: {name} -> {r['to']}"
    assert min(size for _, _, size, _ in drawn.values()) >= MIN_LABEL_PT * 4 / 3 - 0.01  # px
    for name, st in stations.items():  # each box in its type's declared colour
        rgb = tuple(int(v) for v in re.findall(r"\d+", drawn[name][3]))
        assert rgb == to_rgb_255(station_types()[st["type"]].drawing.colour), (line, name)
    if line == "servo_actuator":  # reached only through rework_to: not drawn as a root
        assert drawn["rework_bench"][0] > drawn["eol_test"][1]
    shot(page, server, f"diagram_{line}")


def test_the_badge_counts_only_active_alarms(browser_page: tuple[Page, list[str]],
                                             server: dict[str, Any]) -> None:
    """At the end of a replay the badge equals the run's standing alarms (active, not
    returned-unacknowledged, not shelved), and no actions are offered on a stored run."""
    page, _ = browser_page
    rid = server["alarmed"]
    goto(page, server, f"run:{rid}")
    view(page, "alarms")
    alarms = pd.read_parquet(Path(server["root"]) / rid / "alarms.parquet")
    last = alarms.sort_values("time", kind="stable").groupby("alarm", observed=True).last()
    active = int(last["state"].astype(str).isin(["unack", "ack"]).sum())
    assert (last["state"].astype(str) == "rtn_unack").any() or active > 0  # something to count
    kpis = json.loads((Path(server["root"]) / rid / "run.json").read_text())["kpis"]
    assert kpis["alarms_standing_at_end"] == active
    badge = page.inner_text("#alarmcount") if page.locator("#alarmcount").is_visible() else "0"
    assert int(badge) == active
    assert page.locator("#alarm-list button").count() == 0


def test_long_windows_show_the_state_that_took_most_of_each_slot(
        browser_page: tuple[Page, list[str]], server: dict[str, Any]) -> None:
    """A window with more intervals per unit than slots is drawn as slots, each in the state
    with the most time in it: checked against the stored states table (pandas)."""
    page, _ = browser_page
    rid = server["stored"][0]
    goto(page, server, f"run:{rid}")
    slots = 40
    got = page.evaluate("""n => { const T = ui.run.end, tr = ganttTraces(ui.run, T, 0, '', n);
        return { coarse: tr.coarse, y: tr[0].y, z: tr[0].customdata,
                 legend: tr.slice(1).map(t => [t.name, t.marker.color]) }; }""", slots)
    assert got["coarse"]
    states = pd.read_parquet(Path(server["root"]) / rid / "states.parquet")
    end = states["end"].max()
    width = end / slots
    labels = page.evaluate("() => ui.run.meta.units.map((_, u) => ui.run.unitLabel(u))")
    for row, label in zip(got["z"], got["y"], strict=True):
        unit = states[states["unit"] == labels.index(label)]
        for k, shown in enumerate(row):
            a, b = k * width, (k + 1) * width
            d = (unit["end"].clip(upper=b) - unit["start"].clip(lower=a)).clip(lower=0)
            share = d.groupby(unit["state"].astype(str)).sum()
            assert shown == share.idxmax(), (label, k, shown, share.to_dict())
    assert len({c for _, c in got["legend"]}) == len(got["legend"])  # distinguishable


def test_decimated_charts_keep_every_extreme_and_every_interval_longer_than_a_slot(
        browser_page: tuple[Page, list[str]], server: dict[str, Any]) -> None:
    """What a long window draws is visually the same as the whole record: a level series cut
    to the chart's slots (MAX_SEGMENTS, about its width in pixels) keeps the lowest and
    highest value of every slot and both ends (numpy on the same series); a Gantt drawn as
    slots shows every state interval longer than a slot in a slot it covers (the stored
    states table)."""
    page, _ = browser_page
    rid = server["stored"][0]
    goto(page, server, f"run:{rid}")
    rng = np.random.default_rng(5)
    x = np.sort(rng.uniform(0.0, 100.0, 20_000))
    y = np.cumsum(rng.normal(0.0, 1.0, x.size))
    y[rng.integers(0, x.size, 30)] += rng.choice([-50.0, 50.0], 30)  # one-point spikes
    slots = page.evaluate("() => MAX_SEGMENTS")
    got = page.evaluate("([x, y]) => thin(x, y, 0, 100)", [x.tolist(), y.tolist()])
    tx, ty = np.array(got["x"]), np.array(got["y"])
    assert len(tx) <= 4 * slots < x.size and tx[0] == x[0] and tx[-1] == x[-1]
    raw_slot, thin_slot = np.floor(x / (100 / slots)), np.floor(tx / (100 / slots))
    for k in np.unique(raw_slot):
        raw, kept = y[raw_slot == k], ty[thin_slot == k]
        assert kept.min() == raw.min() and kept.max() == raw.max(), k
    n = 40
    drawn = page.evaluate("""n => { const tr = ganttTraces(ui.run, ui.run.end, 0, '', n);
        return { coarse: tr.coarse, y: tr[0].y, z: tr[0].customdata }; }""", n)
    assert drawn["coarse"]
    states = pd.read_parquet(Path(server["root"]) / rid / "states.parquet")
    width = states["end"].max() / n
    labels = page.evaluate("() => ui.run.meta.units.map((_, u) => ui.run.unitLabel(u))")
    long = 0
    for row, label in zip(drawn["z"], drawn["y"], strict=True):
        unit = states[states["unit"] == labels.index(label)]
        for a, b, state in zip(unit["start"], unit["end"], unit["state"].astype(str),
                               strict=True):
            if b - a <= width:
                continue
            long += 1
            covered = range(int(a // width), min(n, int(np.ceil(b / width))))
            assert state in [row[k] for k in covered], (label, a, b, state)
    assert long > 0


def test_a_shadow_run_shows_measured_and_twin_with_its_detector(
        browser_page: tuple[Page, list[str]], server: dict[str, Any]) -> None:
    page, _ = browser_page
    goto(page, server, f"run:{server['shadow']}")
    page.select_option("#window", "0")  # the whole run
    view(page, "timelines")
    page.wait_for_function("() => window.twinState.residuals")
    table = pd.read_parquet(server["root"] / server["shadow"] / "residuals.parquet")
    for signal in ("kpi.throughput", "temperature.reactor"):
        page.select_option("#resid-signal", signal)
        page.wait_for_function("s => window.twinState.residuals.signal === s", arg=signal)
        mine = table[table["signal"] == signal]
        got = page.evaluate("() => window.twinState.residuals")
        assert got["points"] == len(mine) and got["alarms"] == int(mine["alarm"].sum())
        # measured and twin in the unit people read: degC, per hour
        ys = page.evaluate("() => document.getElementById('resid-values').data.map("
                           "t => t.y[t.y.length - 1])")
        last = mine.iloc[-1]
        scale, offset = (1.0, -273.15) if signal.startswith("temp") else (3600.0, 0.0)
        assert ys[:2] == pytest.approx([last["measured"] * scale + offset,
                                        last["predicted"] * scale + offset], rel=1e-12)
    assert check_axes(page, "resid-values") is not None
    assert check_axes(page, "resid-stat") is not None
    # the forecasts made at each re-sync: batch ends and output, with their intervals
    fc = pd.read_parquet(server["root"] / server["shadow"] / "forecasts.parquet")
    page.wait_for_function("() => window.twinState.forecasts")
    assert page.evaluate("() => window.twinState.forecasts") == {
        "batches": int((fc["kind"] == "batch_end").sum()),
        "output": int((fc["kind"] == "output").sum())}
    bars = page.evaluate("() => document.getElementById('fc-batches').data[0]")
    first = fc[fc["kind"] == "batch_end"].iloc[0]
    assert bars["y"][0] == pytest.approx(first["median"] / 3600.0)
    assert bars["error_y"]["array"][0] == pytest.approx(0.5)
    assert bars["error_y"]["array"][3] is None  # after the horizon: no upper end
    assert check_axes(page, "fc-batches") is not None
    assert check_axes(page, "fc-output") is not None
    hidden = page.evaluate("""() => ['gantt', 'utility', 'profiles', 'levels'].map(
        d => document.getElementById(d).closest('.panel').hidden)""")
    assert hidden == [True] * 4  # no units recorded: no empty timelines
    page.select_option("#source", f"run:{server['stored'][0]}")  # and back to a line run
    page.wait_for_function("s => window.twinState.source === s && window.twinState.renders",
                           arg=f"run:{server['stored'][0]}")
    page.wait_for_function("() => !document.getElementById('gantt').closest('.panel').hidden"
                           " && document.getElementById('resid-values').closest('.panel')"
                           ".hidden")
    shot(page, server, "shadow_residuals")


def test_the_page_counts_co2e_at_the_hourly_grid_factor(browser_page: tuple[Page, list[str]],
                                                        server: dict[str, Any]) -> None:
    """The cursor KPIs count each interval's electricity at the factor of every hour it
    spans, as the stored ledger does (``twin.data.daily.drawn_evenly``); flat otherwise."""
    page, _ = browser_page
    goto(page, server, f"run:{server['stored'][0]}")
    profile = [0.35] * 6 + [0.75] * 12 + [0.45] * 6  # kg CO2e per kWh
    segments = [(3600.0 * h, 3600.0 * (h + 1), f / 3.6e6, "") for h, f in enumerate(profile)]
    for a, b in ((0.0, 1800.0), (5000.0, 90000.0), (80000.0, 80000.0 + 3 * 86400.0 + 7.0)):
        got = page.evaluate("([a, b, p]) => gridKg({grid_hourly_kg_per_kwh: p}, 1500, a, b)",
                            [a, b, profile])
        want = drawn_evenly(segments, np.array([a]), np.array([b]), np.array([1500 * (b - a)]))
        assert got == pytest.approx(want, rel=1e-12), (a, b)
    flat = page.evaluate("() => gridKg({grid_kg_per_kwh: 0.5}, 2000, 100, 3700)")
    assert flat == pytest.approx(2000 * 3600 / 3.6e6 * 0.5, rel=1e-12)
