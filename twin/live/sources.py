"""Opening a live source from a connection file or from recorded files.

:func:`open_source` is what a command such as ``twin shadow --source`` calls: a connection
file (``.toml``, see :mod:`twin.live.connection`) gives an :class:`~twin.live.mqtt.MqttSource`
or an :class:`~twin.live.opcua.OpcUaSource`; recorded pilot-data files give a
:class:`~twin.live.replay.ReplaySource`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from twin.live.connection import MqttSettings, OpcUaSettings, Settings, load_connection
from twin.live.mqtt import MqttSource
from twin.live.opcua import OpcUaSource
from twin.live.readings import Source
from twin.live.replay import ReplaySource
from twin.pilotdata.load import PilotTable, load


def open_source(connection: str | Path | Settings | None, tagmap: str | Path | PilotTable,
                *, timeseries: str | Path | None = None, events: str | Path | None = None,
                speed: float = math.inf, **replay: Any) -> Source:
    """A source for the line whose tags ``tagmap`` maps.

    ``connection``: a connection file or its settings (MQTT or OPC UA); None to replay the
    recorded ``timeseries`` and/or ``events`` files at ``speed`` plant seconds per wall
    second (``replay``: further :class:`~twin.live.replay.ReplaySource` options).
    """
    tm = tagmap if isinstance(tagmap, PilotTable) else load(tagmap, "tagmap")
    if connection is None:
        if timeseries is None and events is None:
            raise ValueError("nothing to read: give a connection file, or recorded "
                             "timeseries and/or events files to replay")
        return ReplaySource(tm, timeseries=timeseries, events=events, speed=speed, **replay)
    settings = (connection if isinstance(connection, MqttSettings | OpcUaSettings)
                else load_connection(connection))
    if isinstance(settings, MqttSettings):
        return MqttSource(settings, tm)
    return OpcUaSource(settings, tm)
