"""A live run streams the recorded tables by their declared names and columns."""

from __future__ import annotations

from pathlib import Path

from twin.edges.dashboard.wire import COLUMN_KINDS
from twin.observation import schema
from twin.orchestration.live import LiveRun
from twin.orchestration.run import prepare

LINES = Path(__file__).resolve().parents[2] / "lines"


def test_stream_is_keyed_by_table_and_columns_come_from_the_schema() -> None:
    live = LiveRun(prepare(LINES / "servo_actuator" / "line.toml", duration="3 d",
                           warmup="0 s", seed=1))
    live.start()
    assert live.wait(120) and live.status == "completed"
    assert live.cursor_keys() == schema.RECORDED
    got: dict[str, dict[str, list]] = {}
    cursor = None
    while True:  # small pages: every row comes exactly once
        records, cursor = live.since(cursor, limit=500)
        if not records:
            break
        for table, cols in records.items():
            assert tuple(cols) == schema.names(table, stream=True) or table == "profiles"
            for name, values in cols.items():
                got.setdefault(table, {}).setdefault(name, []).extend(values)
    rec = live.recorder
    assert got["states"]["time"] == rec.s_time and got["states"]["state"] == rec.s_state
    assert got["events"]["kind"] == rec.e_kind
    for table, column, rows in (("parts", "part", rec.p_id), ("alarms", "alarm", rec.alarm_rows),
                                ("signals", "tag", rec.signals)):
        assert len(got.get(table, {}).get(column, [])) == len(rows), table
    assert len(rec.signals) > 0
    assert cursor == {t: len(v) if isinstance(v, list) else len(v[0])
                      for t, v in rec.buffers().items()}
    assert COLUMN_KINDS["states"] == {"time": "f64", "unit": "code", "state": "code"}
    assert COLUMN_KINDS["events"]["station"] == "code"
