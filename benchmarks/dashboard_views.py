"""How long each dashboard view takes to draw for a long run, in a real browser.

``python benchmarks/dashboard_views.py [DAYS] [REPEATS] [LINES]`` (defaults 90, 3,
``servo_actuator,api_batch``) runs each line (the servo-actuator line with two alarms; the
API process line as it is) for DAYS days (the long run) and for 1 day (the **baseline**),
saves both, serves them with the dashboard (uvicorn on 127.0.0.1) and opens each in Debian's
Chromium (Playwright). For each run it times once:

- ``first open``: the first time a run is opened, when the server reads the run folder and
  builds its answers (later opens get them from its cache);

and REPEATS times:

- ``open``: from navigation to the page holding the run's records (fetch, unpack, first draw);
- ``overview``, ``timelines 24 h``, ``timelines whole run``, ``flows``, ``alarms``: switching
  to the view until the browser has drawn it (the next animation frame after the view's code);
- ``cursor move``: moving the replay cursor to the middle of the run, on the overview.

It prints per line the medians [s] per view for both runs, and the ratio long / baseline:
the part of the cost that grows with the run. Target: under 1 s per view for a 90-day run.
Also printed: the bytes the page downloads for the long run (compressed on the wire).
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import Page, sync_playwright

from twin.data.checks import read_toml
from twin.edges.dashboard.server import create_app, server_config
from twin.orchestration.run import run

LINES = Path(__file__).resolve().parents[1] / "lines"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWS = (("overview", "overview", None), ("timelines 24 h", "timelines", "24"),
         ("timelines whole run", "timelines", "0"), ("flows", "flows", None),
         ("alarms", "alarms", None))

TIME_VIEW = """async ([view, span]) => {
    if (span !== null) document.getElementById('window').value = span;
    showView('overview');
    await new Promise(r => requestAnimationFrame(() => setTimeout(r)));
    const t0 = performance.now();
    window.twinState.flows = null;
    showView(view);
    if (view === 'flows') await new Promise(r => { const w = () =>
        window.twinState.flows ? r() : setTimeout(w, 5); w(); });
    await new Promise(r => requestAnimationFrame(() => setTimeout(r)));
    return (performance.now() - t0) / 1000;
}"""
TIME_CURSOR = """async () => {
    showView('overview');
    const slider = document.getElementById('cursor');
    await new Promise(r => requestAnimationFrame(() => setTimeout(r)));
    const t0 = performance.now();
    slider.value = Number(slider.max) / 2;
    ui.cursor = (Number(slider.value) / Number(slider.max)) * ui.run.end;
    render();
    await new Promise(r => requestAnimationFrame(() => setTimeout(r)));
    slider.value = slider.max; ui.cursor = ui.run.end;
    return (performance.now() - t0) / 1000;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _line(name: str = "servo_actuator") -> dict[str, Any]:
    """A reference line; the servo line with two alarms (it has none of its own)."""
    data = read_toml(LINES / name / "line.toml")
    if name != "servo_actuator":
        return data
    data["alarms"] = {**data.get("alarms", {}),
                      "wip_high": {"tag": "wip", "limit": 20, "priority": "high", "deadband": 2},
                      "washer_queue": {"tag": "buffer.washing", "limit": 4,
                                       "priority": "medium", "deadband": 1}}
    return data


def _open(page: Page, url: str, rid: str) -> float:
    t0 = time.perf_counter()
    page.goto(f"{url}/?source=run:{rid}")
    page.wait_for_function("s => window.twinState.ready && window.twinState.source === s",
                           arg=f"run:{rid}", timeout=120000)
    return time.perf_counter() - t0


def measure(page: Page, url: str, rid: str, repeats: int) -> dict[str, float]:
    """Median seconds per view of one stored run."""
    times: dict[str, list[float]] = {"open": []}
    for _ in range(repeats):
        times["open"].append(_open(page, url, rid))
        for label, view, window in VIEWS:
            times.setdefault(label, []).append(page.evaluate(TIME_VIEW, [view, window]))
        times.setdefault("cursor move", []).append(page.evaluate(TIME_CURSOR))
    return {k: statistics.median(v) for k, v in times.items()}


def _serve(root: Path) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = _free_port()
    srv = uvicorn.Server(server_config(create_app(root), port=port))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    return srv, thread, f"http://127.0.0.1:{port}"


def measure_line(name: str, days: float, repeats: int, log: Any = print) -> dict[str, Any]:
    """The views of line ``name`` run for ``days`` days against 1 day (see the module doc)."""
    root = Path(tempfile.mkdtemp(prefix="dashboard_views_"))
    line = _line(name)
    long_id = run(line, duration=f"{days} d", warmup="3 d", seed=1).save(root).name
    base_id = run(line, duration="1 d", warmup="3 h", seed=1).save(root).name
    srv, thread, url = _serve(root)
    wire: list[int] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            _open(page, url, base_id)  # not timed: the browser's first time
            first = {rid: _open(page, url, rid) for rid in (base_id, long_id)}
            base = {"first open": first[base_id], **measure(page, url, base_id, repeats)}

            def count(response: Any) -> None:
                size = response.headers.get("content-length")
                if size is not None:
                    wire.append(int(size))

            page.on("response", count)
            long = {"first open": first[long_id], **measure(page, url, long_id, repeats)}
            browser.close()
    finally:
        srv.should_exit = True
        thread.join(10)
    log(f"dashboard views, {name}: {days:g} days against 1 day (medians of {repeats}, "
        "seconds)")
    log(f"{'view':<22}{'1 day':>9}{f'{days:g} days':>10}{'ratio':>8}")
    rows = {}
    for key in long:
        rows[key] = {"base_s": base[key], "long_s": long[key],
                     "ratio": long[key] / base[key] if base[key] > 0 else float("nan")}
        log(f"{key:<22}{base[key]:>9.3f}{long[key]:>10.3f}{rows[key]['ratio']:>8.2f}")
    log(f"bytes on the wire for the long run, {repeats} opens: {sum(wire) / 1e6:.1f} MB")
    return {"views": rows, "wire_bytes": sum(wire)}


def main(days: float = 90.0, repeats: int = 3, log: Any = print,
         lines: tuple[str, ...] = ("servo_actuator", "api_batch")) -> dict[str, Any]:
    """Every view of every line in ``lines`` (see the module doc), by line."""
    return {name: measure_line(name, days, repeats, log) for name in lines}


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 90.0,
         int(sys.argv[2]) if len(sys.argv) > 2 else 3,
         lines=tuple(sys.argv[3].split(",")) if len(sys.argv) > 3 else
         ("servo_actuator", "api_batch"))
