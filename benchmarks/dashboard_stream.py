"""What watching a run on the dashboard costs, and how fast records reach the page.

``python benchmarks/dashboard_stream.py [DURATION] [REPEATS]`` (defaults ``"360 d"``, 5) runs
the servo-actuator line for DURATION as fast as possible as a live run, REPEATS times each:

- ``bare``: the live run alone (no server, nobody watching): the **baseline**;
- ``watched``: the same run served by the dashboard (uvicorn on 127.0.0.1, in the run's
  process) with one client, in another process as a browser would be, reading the
  page's WebSocket stream of binary frames (updates every 250 ms, as the page asks).

It prints the medians of the run's wall time (the simulation, from start to its end time), the
slowdown ``watched / bare`` (target: below 1.10), the CPU time of the thread serving the page
over the bare wall time (the part of the slowdown that is work, not waiting), and the records
the client received per second of streaming. Each ratio is taken within one repeat (bare and
watched back to back, in alternating order), so a busy machine slows both sides. The client
checks that it received every recorded row once.
"""

from __future__ import annotations

import json
import math
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from twin.edges.dashboard.server import create_app, server_config
from twin.orchestration.live import LiveRun
from twin.orchestration.run import prepare

LINE = Path(__file__).resolve().parents[1] / "lines" / "servo_actuator" / "line.toml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CLIENT = r"""
import json, struct, sys, time
from websockets.sync.client import connect
got = {"rows": 0, "first": 0.0, "last": 0.0, "messages": 0}
url = f"ws://127.0.0.1:{sys.argv[1]}/api/live/ws?interval=250"
with connect(url, max_size=None, origin=f"http://127.0.0.1:{sys.argv[1]}") as ws:
    while True:
        data = ws.recv()
        (n,) = struct.unpack_from("<I", data)
        head = json.loads(data[4:4 + n])
        rows = 0
        for cols in head["records"].values():
            first = next(iter(cols.values()))
            rows += (first["bytes"] // {"f64": 8, "i32": 4, "u16": 2, "u8": 1}[first["type"]]
                     if isinstance(first, dict) else len(first))
        now = time.time()
        if rows:
            got["first"] = got["first"] or now
            got["last"] = now
        got["rows"] += rows
        got["messages"] += 1
        if head["end"]:
            break
print(json.dumps(got))
"""


def live_clients(server: uvicorn.Server) -> bool:
    """True once a client holds a connection to the server."""
    return bool(server.server_state.connections)


def _rows(records: dict[str, dict[str, list[Any]]]) -> int:
    return sum(len(next(iter(cols.values()))) for cols in records.values() if cols)


def bare(duration: str) -> float:
    """Wall time of one live run with nobody watching [s]."""
    live = LiveRun(prepare(LINE, duration=duration, warmup="1 d", seed=1), speed=None)
    live.start()
    live.wait()
    assert live.status == "completed", live.error
    return live.wall_time_s


def watched(duration: str, runs_dir: Path) -> dict[str, float]:
    """One live run served by the dashboard with one client reading the stream."""
    live = LiveRun(prepare(LINE, duration=duration, warmup="1 d", seed=1), speed=None)
    port = _free_port()
    server = uvicorn.Server(server_config(create_app(runs_dir, live), port=port))
    cpu: dict[str, float] = {}

    def serve() -> None:
        server.run()
        cpu["server"] = time.thread_time()  # CPU of the thread serving the page [s]

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    # The client is another process, as a browser is: it reads the stream, counts the rows
    # and reports when it received the first and the last one.
    reader = subprocess.Popen([sys.executable, "-c", CLIENT, str(port)], stdout=subprocess.PIPE,
                              text=True)
    deadline = time.monotonic() + 20
    while not live_clients(server):
        assert time.monotonic() < deadline, "the client did not connect"
        time.sleep(0.01)
    live.start()
    live.wait()
    out, _ = reader.communicate(timeout=120)
    got = json.loads(out)
    server.should_exit = True
    thread.join(10)
    assert live.status == "completed", live.error
    total = _rows(live.since(None, limit=10**9)[0])
    assert got["rows"] == total, (got["rows"], total)  # every row once, none twice
    span = max(got["last"] - got["first"], 1e-9)
    return {"wall_s": live.wall_time_s, "rows": float(total), "rows_per_s": total / span,
            "messages": float(got["messages"]), "server_cpu_s": cpu.get("server", math.nan)}


def main(duration: str = "360 d", repeats: int = 5, runs_dir: Path | None = None,
         log: Callable[..., None] = print) -> dict[str, Any]:
    """Measure; returns the medians and ratios (also printed through ``log``)."""
    import tempfile

    tmp = tempfile.TemporaryDirectory()
    root = runs_dir or Path(tmp.name)
    bare(duration)  # warm-up: imports, caches
    rows = []
    for i in range(repeats):
        if i % 2:  # alternate the order, so a drift of the machine's load favours neither
            w = watched(duration, root)
            b = bare(duration)
        else:
            b = bare(duration)
            w = watched(duration, root)
        rows.append({"bare_s": b, **w, "ratio": w["wall_s"] / b,
                     "serving": w["server_cpu_s"] / b})
        log(f"repeat {i + 1}: bare {b:.2f} s, watched {w['wall_s']:.2f} s, ratio "
            f"{w['wall_s'] / b:.3f}, serving thread {w['server_cpu_s']:.3f} s CPU, "
            f"{w['rows']:.0f} rows streamed at {w['rows_per_s']:.0f}/s "
            f"in {w['messages']:.0f} messages")
    out = {
        "duration": duration, "repeats": repeats,
        "bare_s": statistics.median(r["bare_s"] for r in rows),
        "watched_s": statistics.median(r["wall_s"] for r in rows),
        "ratio": statistics.median(r["ratio"] for r in rows),
        "serving": statistics.median(r["serving"] for r in rows),
        "rows": statistics.median(r["rows"] for r in rows),
        "rows_per_s": statistics.median(r["rows_per_s"] for r in rows),
    }
    log(f"\nservo line, {duration} as fast as possible, median of {repeats}:")
    log(f"  run wall time bare     {out['bare_s']:.2f} s")
    log(f"  run wall time watched  {out['watched_s']:.2f} s")
    log(f"  slowdown watched/bare  {out['ratio']:.3f}  (target < 1.10)")
    log(f"  serving CPU / bare     {out['serving']:.3f}  (the part of it spent serving)")
    log(f"  records streamed       {out['rows']:.0f} at {out['rows_per_s']:.0f} records/s")
    tmp.cleanup()
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "360 d",
         int(sys.argv[2]) if len(sys.argv) > 2 else 5)
