"""Fixtures for the live twin's tests: a tag map, a real MQTT broker and a real OPC UA
server on 127.0.0.1 (free ports, cleaned up even when a test fails)."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.pilotdata.load import PilotTable, load

TAGMAP_CSV = """tag,signal,unit,low,high,description
TI101,temperature.reactor,degC,0,150,reactor temperature
FI202,utility.steam,m3/h,0,,steam flow
LI301,tank.feed,kg,0,5000,feed tank contents
BUF1,buffer.cnc,1,0,50,parts waiting at the CNC
"""
"""A small tag map: a temperature in degC (0..150), a flow in m3/h (>= 0), a tank in kg and
a buffer count."""


@pytest.fixture
def tagmap(tmp_path: Path) -> PilotTable:
    """The loaded :data:`TAGMAP_CSV` (``twin.pilotdata`` format ``tagmap``)."""
    path = tmp_path / "tagmap.csv"
    path.write_text(TAGMAP_CSV)
    table = load(path, "tagmap")
    assert table.issues == []
    return table
