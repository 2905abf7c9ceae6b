"""The dashboard server's endpoints, its live stream, and the requests it must refuse."""

from __future__ import annotations

import base64
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning
from starlette.websockets import WebSocketDisconnect

with warnings.catch_warnings():
    # Starlette announces, on import of its test client, a move from httpx to httpx2 (not
    # installed here); the client works with httpx. Only that warning is ignored.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`",
                            category=StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from test_wire import read_frame

from twin.data.checks import read_toml
from twin.edges.dashboard.server import LOCAL_HOSTS, create_app
from twin.orchestration.live import LiveRun
from twin.orchestration.run import prepare, run

LINE = Path(__file__).resolve().parents[2] / "lines" / "servo_actuator" / "line.toml"


def servo_with_alarms() -> dict[str, Any]:
    """The servo line with one alarm that stands all run long (WIP over 5) and one that comes
    and goes (the washer's buffer)."""
    data = read_toml(LINE)
    data["alarms"] = {
        "wip_high": {"tag": "wip", "limit": 5, "priority": "high"},
        "washer_queue": {"tag": "buffer.washing", "limit": 3, "priority": "medium",
                         "deadband": 1},
    }
    return data


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for seed in (1, 2):
        run(LINE, duration="1 d", warmup="2 h", seed=seed).save(root / "study" / "runs")
    return root


@pytest.fixture(scope="module")
def live(runs_dir: Path) -> LiveRun:
    lv = LiveRun(prepare(servo_with_alarms(), duration="2 d", warmup="2 h", seed=3),
                 speed=None, out=runs_dir)
    lv.start()
    assert lv.wait(60)
    assert lv.status == "completed", lv.error
    return lv


@pytest.fixture(scope="module")
def client(runs_dir: Path, live: LiveRun) -> TestClient:
    return client_of(runs_dir, live)


def client_of(runs_dir: Path, live: LiveRun | None = None, **kwargs: Any) -> TestClient:
    """A test client of the app; its WebSocket requests name the host ``testserver``, a name
    only tests answer to."""
    app = create_app(runs_dir, live, allowed_hosts=[*LOCAL_HOSTS, "testserver"], **kwargs)
    return TestClient(app, base_url="http://127.0.0.1")


def column(raw: Any) -> list[Any]:
    """A column as sent: a JSON list, or a packed little-endian array."""
    if isinstance(raw, dict):
        ((kind, text),) = raw.items()
        return np.frombuffer(base64.b64decode(text), {"f64": "<f8", "i32": "<i4", "u16": "<u2",
                                                           "u8": "u1"}[kind]).tolist()
    return list(raw)


def rows(cols: dict[str, Any]) -> int:
    return len(column(next(iter(cols.values()))))


def sse_messages(text: str) -> list[dict[str, Any]]:
    out = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            fields[key] = value
        if "data" in fields and "event" not in fields:  # data messages, not the end
            fields["data"] = json.loads(fields["data"])
            out.append(fields)
    return out


def test_page_and_static_files_are_served_from_here(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/plotly.min.js" in page.text and "http" not in page.text.split("<body>")[1]
    for name in ("app.js", "style.css", "plotly.min.js"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.content) > 1000, name
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_runs_lists_stored_runs_and_the_live_run(client: TestClient, live: LiveRun) -> None:
    data = client.get("/api/runs").json()
    ids = [r["id"] for r in data["runs"]]
    assert sum(i.startswith("study/runs/servo_actuator_") for i in ids) == 2
    assert live.run_id in ids  # saved when it completed
    assert data["live"]["run_id"] == live.run_id


def test_stored_run_meta_and_records(client: TestClient, runs_dir: Path) -> None:
    rid = next(r["id"] for r in client.get("/api/runs").json()["runs"]
               if r["id"].startswith("study/"))
    meta = client.get(f"/api/runs/{rid}/meta").json()
    assert meta["live"] is False and meta["line"] == "servo_actuator"
    assert "cnc" in meta["stations"] and meta["layout"]["stations"]["cnc"]["servers"] == 2
    assert meta["kpis"]["good_units"] > 0
    records = client.get(f"/api/runs/{rid}/records").json()["records"]
    import pandas as pd

    states = pd.read_parquet(runs_dir / rid / "states.parquet")
    assert column(records["states"]["time"]) == sorted(states["start"].tolist())
    assert set(records["states"]) == {"time", "unit", "state"}
    assert max(column(records["events"]["station"])) < len(meta["stations"])


def test_stored_records_as_one_binary_frame(client: TestClient) -> None:
    """``?format=frame``: the same columns as the JSON answer, in one frame of the stream
    (what the page reads); an unknown format is refused."""
    rid = client.get("/api/runs").json()["runs"][0]["id"]
    packed = client.get(f"/api/runs/{rid}/records").json()["records"]
    reply = client.get(f"/api/runs/{rid}/records?format=frame",
                       headers={"accept-encoding": "gzip"})
    assert reply.headers["content-type"] == "application/octet-stream"
    assert reply.headers["content-encoding"] == "gzip"
    framed = read_frame(reply.content)["records"]
    assert framed.keys() == packed.keys() and "events" in framed
    for table, cols in packed.items():
        assert framed[table].keys() == cols.keys()
        for name, raw in cols.items():
            assert list(framed[table][name]) == column(raw), (table, name)
    bad = client.get(f"/api/runs/{rid}/records?format=csv")
    assert bad.status_code == 400 and "format must be one of" in bad.json()["error"]


def test_stream_sends_each_record_once_and_resumes_at_the_cursor(client: TestClient,
                                                                 live: LiveRun) -> None:
    r = client.get("/api/live/stream?interval=100")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    messages = sse_messages(r.text)
    assert r.text.rstrip().endswith("event: end\ndata: {}")
    sent = {"states": 0, "events": 0, "parts": 0, "alarms": 0}
    for m in messages:
        for table in sent:
            cols = m["data"]["records"].get(table)
            if cols:
                sent[table] += rows(cols)
    rec = live.recorder
    assert sent == {"states": len(rec.s_time), "events": len(rec.e_time),
                    "parts": len(rec.p_id), "alarms": len(rec.alarm_rows)}
    times: list[float] = []
    for m in messages:
        if "events" in m["data"]["records"]:
            times += column(m["data"]["records"]["events"]["time"])
    assert times == rec.e_time  # in order, exactly
    assert messages[-1]["data"]["status"] == "completed"
    last = messages[-1]["id"]
    # resuming at the last cursor sends nothing again: only the end
    for again in (client.get(f"/api/live/stream?cursor={last}"),
                  client.get("/api/live/stream", headers={"Last-Event-ID": last})):
        assert again.status_code == 200
        assert not any(m["data"]["records"] for m in sse_messages(again.text))


def socket_frames(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    """Every frame of the live WebSocket stream, decoded, until the end frame."""
    frames = []
    with client.websocket_connect(f"/api/live/ws{query}") as ws:
        while True:
            frames.append(read_frame(ws.receive_bytes()))
            if frames[-1]["end"]:
                return frames


def test_socket_sends_each_record_once_and_resumes_at_the_cursor(client: TestClient,
                                                                 live: LiveRun) -> None:
    frames = socket_frames(client, "?interval=100&limit=500")
    rec = live.recorder
    sent = {"states": 0, "events": 0, "parts": 0, "alarms": 0}
    times: list[float] = []
    for f in frames:
        for table in sent:
            cols = f["records"].get(table)
            if cols:
                sent[table] += len(next(iter(cols.values())))
        times += f["records"].get("events", {}).get("time", [])
    assert sent == {"states": len(rec.s_time), "events": len(rec.e_time),
                    "parts": len(rec.p_id), "alarms": len(rec.alarm_rows)}
    assert len(frames) > len(rec.e_time) // 500  # the limit split the history into frames
    assert times == rec.e_time  # in order, exactly (f64 on the wire)
    stations = [c for f in frames for c in f["records"].get("events", {}).get("station", [])]
    assert stations == rec.e_station
    assert frames[-1]["status"] == "completed" and frames[-1]["records"] == {}
    again = socket_frames(client, f"?cursor={frames[-1]['id']}")
    assert again[-1]["end"] and not any(f["records"] for f in again)  # status only


def refusal(client: TestClient, query: str) -> tuple[int, str]:
    """The close code and reason of a WebSocket the server accepts only to refuse."""
    with client.websocket_connect(f"/api/live/ws{query}") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
    return closed.value.code, closed.value.reason


@pytest.mark.parametrize("query", ["?interval=5", "?cursor=a-b", "?limit=0", "?x=" + "9" * 5000])
def test_bad_socket_parameters_are_refused_with_a_reason(client: TestClient, query: str) -> None:
    code, reason = refusal(client, query)
    assert code in (4400, 4414) and reason, (code, reason)


def test_a_cursor_or_run_of_another_run_is_refused(client: TestClient, live: LiveRun) -> None:
    """A page that watched another run (the dashboard was restarted) must start again: its
    cursor would skip this run's first rows."""
    keys = live.cursor_keys()
    ahead = "-".join(["999999999"] * len(keys))
    assert refusal(client, f"?cursor={ahead}")[0] == 4409
    code, reason = refusal(client, "?run=servo_actuator_other_s9")
    assert code == 4409 and live.run_id in reason
    assert client.get(f"/api/live/stream?cursor={ahead}").status_code == 409
    frames = socket_frames(client, f"?run={live.run_id}")  # its own run: welcome
    assert all(f["run"] == live.run_id for f in frames)


def test_non_ascii_digits_in_a_cursor_are_a_bad_request(client: TestClient,
                                                         live: LiveRun) -> None:
    cursor = "-".join(["\u00b2"] * len(live.cursor_keys()))  # '²' passes str.isdigit()
    assert client.get("/api/live/stream", params={"cursor": cursor}).status_code == 400
    assert refusal(client, f"?cursor={cursor}")[0] == 4400


def test_streams_are_limited(runs_dir: Path, live: LiveRun) -> None:
    full = client_of(runs_dir, live, max_streams=0)
    assert refusal(full, "")[0] == 4503
    assert full.get("/api/live/stream").status_code == 503


def test_sse_resumes_from_last_event_id_over_its_first_url(client: TestClient) -> None:
    """EventSource reconnects to the URL it was opened with, adding Last-Event-ID."""
    first = sse_messages(client.get("/api/live/stream?interval=100").text)
    last = first[-1]["id"]
    again = client.get("/api/live/stream?cursor=", headers={"Last-Event-ID": last})
    assert not any(m["data"]["records"] for m in sse_messages(again.text))


def test_cross_origin_sockets_are_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/api/live/ws",
                                      headers={"origin": "http://evil.example"}):
            pass
    own = socket_frames(client)  # the page's own origin is welcome
    assert own[-1]["end"]


def test_live_run_matches_a_plain_run(live: LiveRun) -> None:
    from twin.orchestration.run import execute

    plain = execute(live.prep)
    assert live.result is not None
    for name, frame in plain.tables.items():
        assert frame.equals(live.result.tables[name]), name
    assert plain.kpis == pytest.approx(live.result.kpis, nan_ok=True)


def test_alarm_actions(client: TestClient, live: LiveRun) -> None:
    assert live.monitor is not None and live.monitor.state("wip_high") == "unack"
    ok = client.post("/api/live/alarms/wip_high/ack")
    assert ok.status_code == 200, ok.text
    assert live.monitor.state("wip_high") == "ack"
    assert client.post("/api/live/alarms/wip_high/ack").status_code == 409  # nothing to ack
    shelve = client.post("/api/live/alarms/washer_queue/shelve?duration_s=600")
    assert shelve.status_code == 200
    assert live.monitor.state("washer_queue") == "shelved"
    assert client.post("/api/live/alarms/no_such_alarm/ack").status_code == 404
    assert client.post("/api/live/alarms/wip_high/delete").status_code == 404
    assert client.get("/api/live/alarms/wip_high/ack").status_code == 405


def test_no_live_run(runs_dir: Path) -> None:
    c = client_of(runs_dir)
    assert c.get("/api/live").status_code == 404
    assert c.get("/api/live/stream").status_code == 404
    assert refusal(c, "")[0] == 4404
    assert c.post("/api/live/alarms/wip_high/ack").status_code == 404
    assert c.get("/api/runs").json()["live"] is None


@pytest.mark.parametrize("path", [
    "/api/runs/%2e%2e/%2e%2e/etc/passwd/meta",
    "/api/runs/..%2F..%2Fetc%2Fpasswd/meta",
    "/api/runs/%2Fetc%2Fpasswd/records",
    "/api/runs//etc/passwd/meta",
    "/api/runs/study/../study/runs/x/meta",
    "/api/runs/%252e%252e%252fetc/meta",
    "/api/runs/run%00id/meta",
    "/api/runs/" + "a" * 1000 + "/meta",
    "/api/runs/.hidden/meta",
    "/api/runs/C:%5Cwindows/meta",
])
def test_traversal_and_malformed_run_ids_are_refused(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code)
    assert "root:" not in r.text


def test_unknown_run_ids_are_404(client: TestClient) -> None:
    assert client.get("/api/runs/servo_actuator_0000000000_s1/meta").status_code == 404
    assert client.get("/api/runs/study/runs/nope/records").status_code == 404


def test_links_leading_outside_the_runs_dir_are_not_followed(
        tmp_path: Path, runs_dir: Path) -> None:
    outside = tmp_path / "outside" / "secret_run"
    outside.mkdir(parents=True)
    (outside / "run.json").write_text('{"run_id": "secret_run", "provenance": {}}')
    root = tmp_path / "runs"
    root.mkdir()
    (root / "link").symlink_to(outside.parent, target_is_directory=True)
    c = TestClient(create_app(root), base_url="http://127.0.0.1")
    assert c.get("/api/runs").json()["runs"] == []
    assert c.get("/api/runs/link/secret_run/meta").status_code == 404


@pytest.mark.parametrize("path", [
    "/static/../server.py", "/static/%2e%2e%2fserver.py", "/static/server.py",
    "/static/index.html%00.js", "/nope", "/api/nope",
])
def test_other_files_are_not_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("query", [
    "interval=1e308", "interval=nan", "interval=-5", "interval=abc", "limit=99999999999",
    "cursor=1-2-3", "cursor=" + "-".join(["99999999999999"] * 30), "cursor=a-b",
    "x=" + "9" * 5000,
])
def test_bad_stream_parameters_are_refused(client: TestClient, query: str) -> None:
    r = client.get(f"/api/live/stream?{query}")
    assert 400 <= r.status_code < 500, (query, r.status_code)


@pytest.mark.parametrize("path", [
    "/api/live/alarms/wip_high/shelve?duration_s=-1",
    "/api/live/alarms/wip_high/shelve?duration_s=inf",
    "/api/live/alarms/wip_high/shelve?duration_s=1e300",
    "/api/live/alarms/%2e%2e%2fetc/ack",
    "/api/live/alarms/" + "x" * 500 + "/ack",
])
def test_bad_alarm_actions_are_refused(client: TestClient, path: str) -> None:
    r = client.post(path)
    assert 400 <= r.status_code < 500, (path, r.status_code)


def test_other_hosts_and_origins_are_refused(client: TestClient) -> None:
    assert client.get("/api/runs", headers={"host": "evil.example"}).status_code == 400
    r = client.post("/api/live/alarms/wip_high/ack", headers={"origin": "http://evil.example"})
    assert r.status_code == 403


def test_stream_benchmark_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/dashboard_stream.py end to end on a tiny run (numbers sane, not timed)."""
    import importlib
    import math

    monkeypatch.syspath_prepend(str(LINE.parents[2] / "benchmarks"))
    bench = importlib.import_module("dashboard_stream")
    out = bench.main(duration="1 d", repeats=1, log=lambda *a: None)
    for key in ("bare_s", "watched_s", "ratio", "rows", "rows_per_s"):
        assert math.isfinite(out[key]) and out[key] > 0, key


def test_alarms_say_how_their_values_are_shown(client: TestClient) -> None:
    alarms = client.get("/api/live").json()["layout"]["alarms"]
    assert {a["name"]: a["display"] for a in alarms} == {
        "wip_high": {"scale": 1.0, "offset": 0.0, "unit": ""},
        "washer_queue": {"scale": 1.0, "offset": 0.0, "unit": ""}}


def test_sankeys_of_a_stored_and_the_live_run(client: TestClient, live: LiveRun) -> None:
    """The endpoints serve twin.observation.sankey over the observation window: equipment
    electricity equals the stored energy table, recomputed here with pandas."""
    import pandas as pd

    rid = live.run_id
    data = client.get(f"/api/runs/{rid}/sankey").json()
    assert (data["t0"], data["t1"]) == (live.prep.warmup, live.end)
    energy = pd.read_parquet(Path(live.folder) / "energy.parquet")
    grid = {b: v for a, b, v in data["energy"]["links"] if a == "grid electricity"}
    assert sum(grid.values()) == pytest.approx(energy["kwh"].sum(), rel=1e-9)
    assert data["material"] is None  # a discrete line: no material flows
    again = client.get("/api/live/sankey").json()
    assert again["energy"] == data["energy"]  # the live run is over: the same window


def test_answers_are_compressed_and_static_files_revalidated(client: TestClient) -> None:
    r = client.get("/static/plotly.min.js", headers={"accept-encoding": "gzip"})
    raw = client.get("/static/plotly.min.js", headers={"accept-encoding": "identity"})
    assert r.headers["content-encoding"] == "gzip" and "content-encoding" not in raw.headers
    assert r.content == raw.content  # the same file, decompressed by the client
    assert r.num_bytes_downloaded < raw.num_bytes_downloaded / 2
    again = client.get("/static/plotly.min.js", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content
    rid = client.get("/api/runs").json()["runs"][0]["id"]
    rec = client.get(f"/api/runs/{rid}/records", headers={"accept-encoding": "gzip"})
    assert rec.headers["content-encoding"] == "gzip" and rec.json()["records"]["states"]
    assert rec.num_bytes_downloaded < len(rec.content) / 2
