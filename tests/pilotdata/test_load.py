"""Pilot data loading: every bad-data case gives its located issue (file, row, column), clean
data passes untouched, and the cleaning report accounts for every dropped row."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twin.pilotdata.formats import FORMATS
from twin.pilotdata.issues import PilotDataError
from twin.pilotdata.load import PilotTable, load

STATIONS = ["src", "cnc", "wash", "sink"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(line.strip() for line in text.strip().splitlines()) + "\n")
    return path


def only(table: PilotTable, problem: str) -> list[tuple[int | None, str | None, str]]:
    """(row, column, action) of the issues of one problem."""
    return [(i.row, i.column, i.action) for i in table.issues if i.problem == problem]


EVENTS_OK = """
id,product,station,event,time,resource
p1,A,cnc,start,2026-03-02T06:00:00+08:00,cnc-1
p1,A,cnc,complete,2026-03-02T06:09:00+08:00,cnc-1
p2,A,cnc,start,2026-03-02T06:09:30+08:00,cnc-1
p1,A,wash,start,2026-03-02T06:10:00+08:00,
p1,A,wash,complete,2026-03-02T06:14:00+08:00,
p2,A,cnc,complete,2026-03-02T06:18:00+08:00,cnc-1
"""


def test_clean_event_log_passes_untouched(tmp_path: Path) -> None:
    t = load(write(tmp_path, "ev.csv", EVENTS_OK), "events", stations=STATIONS)
    assert t.issues == [] and len(t.frame) == 6 and t.rows_read == 6
    assert str(t.frame["time"].dtype) == "datetime64[ns, UTC]"
    assert t.frame["time"].iloc[0] == pd.Timestamp("2026-03-01T22:00:00Z")
    assert list(t.frame["row"]) == [2, 3, 4, 5, 6, 7]
    assert "6 rows read, 6 kept, 0 dropped" in t.report()


def test_unsorted_rows_are_sorted_and_reported(tmp_path: Path) -> None:
    text = EVENTS_OK.replace("p2,A,cnc,start,2026-03-02T06:09:30",
                             "p2,A,cnc,start,2026-03-02T05:59:30")
    t = load(write(tmp_path, "ev.csv", text), "events")
    assert only(t, "unsorted") == [(4, "time", "sorted")]
    assert list(t.frame["row"][:2]) == [4, 2]
    assert t.frame["time"].is_monotonic_increasing


def test_duplicate_event_is_dropped(tmp_path: Path) -> None:
    text = EVENTS_OK + "p1,A,cnc,complete,2026-03-02T06:09:00+08:00,cnc-1\n"
    t = load(write(tmp_path, "ev.csv", text), "events")
    assert only(t, "duplicate") == [(8, "time", "dropped")]
    assert len(t.frame) == 6


def test_times_without_zone_are_an_error_unless_the_zone_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, "ev.csv", EVENTS_OK.replace("+08:00", ""))
    with pytest.raises(PilotDataError) as err:
        load(path, "events")
    (issue,) = err.value.issues
    assert (issue.row, issue.column, issue.problem) == (2, "time", "timezone_missing")
    assert str(path) in str(err.value)
    t = load(path, "events", timezone="Asia/Shanghai")
    assert t.issues == []
    assert t.frame["time"].iloc[0] == pd.Timestamp("2026-03-01T22:00:00Z")


def test_mixed_time_zones(tmp_path: Path) -> None:
    lines = EVENTS_OK.strip().splitlines()
    lines[3] = lines[3].replace("+08:00", "")       # row 4: no zone
    lines[5] = lines[5].replace("06:14:00+08:00", "00:14:00+02:00")  # row 6: another zone
    t = load(write(tmp_path, "ev.csv", "\n".join(lines)), "events")
    assert only(t, "timezone_mixed") == [(4, "time", "dropped"), (6, "time", "kept")]
    assert t.frame.loc[t.frame["row"] == 6, "time"].iloc[0] == pd.Timestamp(
        "2026-03-01T22:14:00Z")


def test_unknown_station(tmp_path: Path) -> None:
    text = EVENTS_OK.replace("p1,A,wash,start", "p1,A,washer,start")
    t = load(write(tmp_path, "ev.csv", text), "events", stations=STATIONS)
    assert only(t, "unknown_station") == [(5, "station", "dropped")]
    assert only(t, "missing_start") == [(6, "event", "dropped")]  # its complete is now alone


def test_missing_complete_and_work_in_progress(tmp_path: Path) -> None:
    text = EVENTS_OK.replace("p1,A,cnc,complete,2026-03-02T06:09:00+08:00,cnc-1\n", "")
    text += "p3,A,cnc,start,2026-03-02T06:18:30+08:00,cnc-1\n"
    t = load(write(tmp_path, "ev.csv", text), "events")
    assert only(t, "missing_complete") == [(2, "event", "dropped")]  # p1 went on to wash
    assert only(t, "open_at_end") == [(7, "event", "dropped")]  # p3 still at cnc at log end
    assert len(t.frame) == 4


def test_wrong_choice_and_not_a_time(tmp_path: Path) -> None:
    text = EVENTS_OK.replace("p2,A,cnc,start", "p2,A,cnc,begin").replace(
        "06:14:00+08:00", "06:74:00+08:00")
    t = load(write(tmp_path, "ev.csv", text), "events")
    assert only(t, "not_a_choice") == [(4, "event", "dropped")]
    assert only(t, "not_a_time") == [(6, "time", "dropped")]


def test_missing_column_is_fatal_and_located(tmp_path: Path) -> None:
    path = write(tmp_path, "ev.csv", EVENTS_OK.replace(",station,", ",stn,"))
    with pytest.raises(PilotDataError) as err:
        load(path, "events")
    assert [(i.row, i.column, i.problem) for i in err.value.issues] == [
        (1, "station", "missing_column")]


STATES_OK = """
station,unit,state,start,end,reason
cnc,1,producing,2026-03-02T06:00:00Z,,
cnc,1,down,2026-03-02T07:00:00Z,,spindle
cnc,1,producing,2026-03-02T08:00:00Z,,
cnc,2,idle,2026-03-02T06:00:00Z,,
"""


def test_state_log_ends_and_censoring(tmp_path: Path) -> None:
    t = load(write(tmp_path, "st.csv", STATES_OK), "states", stations=STATIONS)
    assert t.issues == []
    f = t.frame.set_index("row")
    assert f.loc[2, "end"] == pd.Timestamp("2026-03-02T07:00:00Z")
    assert list(f["censored"]) == [False, False, True, True]


def test_overlapping_states_of_one_unit(tmp_path: Path) -> None:
    text = STATES_OK.replace("down,2026-03-02T07:00:00Z,,", "down,2026-03-02T07:00:00Z,"
                             "2026-03-02T08:30:00Z,")
    t = load(write(tmp_path, "st.csv", text), "states")
    assert only(t, "overlap") == [(4, "start", "dropped")]


def test_two_states_at_one_instant_conflict(tmp_path: Path) -> None:
    text = STATES_OK + "cnc,1,idle,2026-03-02T08:00:00Z,,\n"
    t = load(write(tmp_path, "st.csv", text), "states")
    assert only(t, "conflicting") == [(4, "start", "dropped"), (6, "start", "dropped")]


TAGMAP = """
tag,signal,unit,max_gap
TI101,temperature.reactor,degC,
FI202,flow.feed,m3/h,2 min
"""

SERIES_OK = """
time,tag,value,unit,quality
2026-03-02T06:00:00Z,TI101,80,degC,good
2026-03-02T06:00:00Z,FI202,1.2,m3/h,
2026-03-02T06:01:00Z,TI101,81,degC,good
2026-03-02T06:01:00Z,FI202,1.3,m3/h,good
2026-03-02T06:02:00Z,TI101,355.15,K,good
2026-03-02T06:02:00Z,FI202,1.4,m3/h,good
"""


def tagmap(tmp_path: Path) -> PilotTable:
    return load(write(tmp_path, "tags.csv", TAGMAP), "tagmap")


def test_clean_series_in_si_with_signals(tmp_path: Path) -> None:
    t = load(write(tmp_path, "ts.csv", SERIES_OK), "timeseries", tagmap=tagmap(tmp_path))
    assert t.issues == []
    temps = t.frame[t.frame["tag"] == "TI101"]
    assert temps["value_si"].tolist() == pytest.approx([353.15, 354.15, 355.15])
    assert set(temps["signal"]) == {"temperature.reactor"}
    flows = t.frame[t.frame["tag"] == "FI202"]["value_si"].tolist()
    assert flows == pytest.approx([1.2 / 3600, 1.3 / 3600, 1.4 / 3600])


@pytest.mark.parametrize(("unit", "problem"), [
    ("", "unit_missing"), ("xyzzy", "unit_unknown"), ("bar", "unit_wrong")])
def test_missing_unknown_and_wrong_units(tmp_path: Path, unit: str, problem: str) -> None:
    text = SERIES_OK.replace("81,degC", f"81,{unit}")
    t = load(write(tmp_path, "ts.csv", text), "timeseries", tagmap=tagmap(tmp_path))
    assert only(t, problem) == [(4, "unit", "dropped")]


def test_wrong_unit_without_tag_map_follows_the_tags_first_row(tmp_path: Path) -> None:
    text = SERIES_OK.replace("81,degC", "81,kg")
    t = load(write(tmp_path, "ts.csv", text), "timeseries")
    assert only(t, "unit_wrong") == [(4, "unit", "dropped")]


def test_bad_and_uncertain_quality_flags(tmp_path: Path) -> None:
    text = SERIES_OK.replace("81,degC,good", "81,degC,bad").replace("1.4,m3/h,good",
                                                                    "1.4,m3/h,uncertain")
    t = load(write(tmp_path, "ts.csv", text), "timeseries", tagmap=tagmap(tmp_path))
    assert only(t, "bad_quality") == [(4, "quality", "dropped")]
    assert only(t, "uncertain_quality") == [(7, "quality", "kept")]
    assert len(t.frame) == 5


def test_unknown_tag(tmp_path: Path) -> None:
    text = SERIES_OK + "2026-03-02T06:03:00Z,PI303,2,bar,good\n"
    t = load(write(tmp_path, "ts.csv", text), "timeseries", tagmap=tagmap(tmp_path))
    assert only(t, "unknown_tag") == [(8, "tag", "dropped")]


def test_duplicate_and_conflicting_samples(tmp_path: Path) -> None:
    text = SERIES_OK + ("2026-03-02T06:01:00Z,TI101,81,degC,good\n"
                        "2026-03-02T06:01:00Z,FI202,9.9,m3/h,good\n")
    t = load(write(tmp_path, "ts.csv", text), "timeseries", tagmap=tagmap(tmp_path))
    assert only(t, "duplicate") == [(8, "time", "dropped")]
    assert sorted(only(t, "conflicting")) == [(5, "time", "dropped"), (9, "time", "dropped")]


def test_limits_of_the_tag_map_drop_samples_out_of_range(tmp_path: Path) -> None:
    tags = "tag,signal,unit,low,high\nTI101,temperature.reactor,degC,0,100\n" \
        "FI202,flow.feed,m3/h,,\nPI1,pressure.r,bar,5,1\n"
    tm = load(write(tmp_path, "tags.csv", tags), "tagmap")
    assert only(tm, "limits_crossed") == [(4, "high", "dropped")]
    # 100 degC = 373.15 K and 0 degC = 273.15 K (limits in the tag's unit, kept in SI too)
    row = tm.frame[tm.frame["tag"] == "TI101"].iloc[0]
    assert (row["low_si"], row["high_si"]) == pytest.approx((273.15, 373.15))
    # 374 K = 100.85 degC is above 100 degC although its number is not in the tag's unit
    text = SERIES_OK.replace("355.15,K", "374,K").replace("81,degC", "-1,degC") + \
        "2026-03-02T06:03:00Z,FI202,1e6,m3/h,good\n"
    t = load(write(tmp_path, "ts.csv", text), "timeseries", tagmap=tm)
    assert sorted(only(t, "out_of_range")) == [(4, "value", "dropped"), (6, "value", "dropped")]
    assert "outside the tag's range [0, 100] degC" in t.report()


def test_gaps_from_the_tag_map_and_from_the_median_interval(tmp_path: Path) -> None:
    rows = [f"2026-03-02T06:{m:02d}:00Z,FI202,1.0,m3/h,good" for m in (0, 1, 2, 6, 7)]
    rows += [f"2026-03-02T06:{m:02d}:00Z,TI101,80,degC,good" for m in (0, 1, 2, 3, 20, 21)]
    text = "time,tag,value,unit,quality\n" + "\n".join(rows)
    t = load(write(tmp_path, "ts.csv", text), "timeseries", tagmap=tagmap(tmp_path))
    # FI202: 4 min > 2 min in the tag map; TI101: 17 min > 5 x 1 min median
    assert sorted(only(t, "gap")) == [(5, "time", "kept"), (11, "time", "kept")]
    assert len(t.frame) == 11


BATCHES_OK = """
batch,unit,phase,start,end,charged,discharged,quantity_unit
B1,R1,charge,2026-03-02T06:00:00Z,2026-03-02T06:30:00Z,500,,kg
B1,R1,react,2026-03-02T06:30:00Z,2026-03-02T10:30:00Z,,,
B1,R1,discharge,2026-03-02T10:30:00Z,2026-03-02T11:00:00Z,,0.49,t
"""


def test_batch_records(tmp_path: Path) -> None:
    t = load(write(tmp_path, "b.csv", BATCHES_OK), "batches")
    assert t.issues == []
    assert t.frame["discharged_kg"].iloc[2] == pytest.approx(490.0)
    bad = BATCHES_OK.replace("0.49,t", "0.49,").replace(
        "R1,react,2026-03-02T06:30:00Z", "R1,react,2026-03-02T06:20:00Z")
    t = load(write(tmp_path, "b2.csv", bad), "batches")
    assert only(t, "unit_missing") == [(4, "quantity_unit", "dropped")]
    assert only(t, "overlap") == [(3, "start", "dropped")]


def test_lab_samples_in_si(tmp_path: Path) -> None:
    text = """batch,time,species,concentration,unit
    B1,2026-03-02T07:00:00Z,A,0.8,mol/L
    B1,2026-03-02T07:00:00Z,P,12,g/L
    B1,2026-03-02T08:00:00Z,A,0.5,kg
    B1,2026-03-02T08:00:00Z,P,-1,g/L
    """
    t = load(write(tmp_path, "s.csv", text), "samples")
    assert t.frame["value_si"].tolist() == pytest.approx([800.0, 12.0])
    assert t.frame["basis"].tolist() == ["molar", "mass"]
    assert only(t, "unit_wrong") == [(4, "unit", "dropped")]
    assert only(t, "negative") == [(5, "concentration", "dropped")]


def test_parquet_rows_and_format_tag(tmp_path: Path) -> None:
    frame = pd.read_csv(write(tmp_path, "ev.csv", EVENTS_OK), dtype=str)
    frame.loc[2, "station"] = "mill"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    path = tmp_path / "ev.parquet"
    pq.write_table(table.replace_schema_metadata({"pilot_twin.format": "events/1"}), path)
    t = load(path, "events", stations=STATIONS)
    assert only(t, "unknown_station") == [(3, "station", "dropped")]
    pq.write_table(table.replace_schema_metadata({"pilot_twin.format": "states/1"}), path)
    with pytest.raises(PilotDataError, match="states/1"):
        load(path, "events")


def test_every_dropped_row_has_an_issue(tmp_path: Path) -> None:
    text = EVENTS_OK + "p9,A,lathe,start,2026-03-02T06:30:00+08:00,\np9,A,cnc,complete,x,\n"
    t = load(write(tmp_path, "ev.csv", text), "events", stations=STATIONS)
    dropped = {i.row for i in t.errors()}
    assert dropped | set(t.frame["row"]) == set(range(2, 2 + t.rows_read))
    assert not dropped & set(t.frame["row"])


def test_json_schemas_describe_every_column() -> None:
    for fmt in FORMATS.values():
        schema = fmt.json_schema()
        json.dumps(schema)
        assert schema["x-format"] == f"{fmt.name}/{fmt.version}"
        assert set(schema["items"]["properties"]) == {c.name for c in fmt.columns}
        assert schema["items"]["required"] == fmt.required()


def test_docs_show_every_format_as_declared() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "PILOT_DATA.md").read_text()
    for fmt in FORMATS.values():
        assert fmt.markdown() in doc, fmt.name


def test_cli_writes_schemas_and_reports_located_problems(tmp_path: Path, capsys) -> None:
    from twin.edges.cli import main

    assert main(["pilotdata", "schema", "-o", str(tmp_path / "schemas")]) == 0
    written = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert written == sorted(f"{f.name}-{f.version}.schema.json" for f in FORMATS.values())
    path = write(tmp_path, "ev.csv", EVENTS_OK + "p9,A,cnc,complete,2026-03-02T07:00:00Z,\n")
    capsys.readouterr()
    assert main(["pilotdata", "check", "events", str(path)]) == 0
    out = capsys.readouterr().out
    assert "7 rows read, 6 kept, 1 dropped" in out and "row 8" in out
    assert main(["pilotdata", "check", "events", str(path), "--strict"]) == 1
    assert main(["pilotdata", "check", "events", str(tmp_path / "nope.csv")]) == 1
    assert "cannot read the file" in capsys.readouterr().err
