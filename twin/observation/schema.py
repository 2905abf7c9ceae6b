"""The recorded tables: the one declaration of their names, columns, kinds and units.

The :class:`~twin.observation.recorder.Recorder` builds these tables, live runs stream them,
the dashboard's wire format encodes them, run folders store them (one Parquet file each) and
``twin query`` shows each as a view of the same name: all read their columns from
:data:`TABLES`. ``docs/RUN_FOLDERS.md`` is the user-facing description.

Column kinds
------------
``time``
    Simulated time [s] from the start of the run (float).
``float``
    A measured quantity (float) in the column's ``unit``.
``int``
    A count or an index (integer).
``id``
    An identifier (integer): part id, unit number.
``code``
    A name from a registry of the run (station, product, species, state, event kind, fate):
    a categorical column in Parquet; while recording and on the live stream, the small integer
    code that indexes the registry.
``category``
    A name from a fixed list (alarm priority, event and state): categorical in Parquet, text
    while recording.
``text``
    Free text (phase and alarm names, tags, utilities).
``bool``
    True or false.

A table marked ``open`` carries further columns after the declared ones (the summary values
of each phase model, the station KPIs); only the declared ones are checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

KINDS = ("time", "float", "int", "id", "code", "category", "text", "bool")
"""Column kinds (see the module docstring)."""

WIRE_KINDS = {"time": "f64", "float": "f64", "int": "int", "id": "int", "code": "code"}
"""How the live stream encodes a column of each kind (other kinds travel as JSON)."""


@dataclass(frozen=True)
class Column:
    """One column: name, kind (:data:`KINDS`), unit (SI, ``""`` for none) and meaning."""

    name: str
    kind: str
    unit: str = ""
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """One recorded table.

    Attributes
    ----------
    name
        Table name: the Parquet file stem and the ``twin query`` view.
    doc
        What one row is.
    columns
        Declared columns, in stored order.
    when
        ``always``; ``process`` (lines with species); ``tanks`` (lines with tanks);
        ``alarms`` (lines with alarms); ``signals`` (lines with alarms, and runs that watch
        signals: a served twin, the virtual plant); ``derived`` (computed from the others at
        the end); ``shadow`` (shadow-twin runs beside a pilot line, ``twin shadow``).
    open
        More columns may follow the declared ones.
    stream
        The columns as the recorder holds them while running (and a live run streams them),
        where they differ from the stored ones; ``None``: same as stored.
    """

    name: str
    doc: str
    columns: tuple[Column, ...]
    when: str = "always"
    open: bool = False
    stream: tuple[Column, ...] | None = field(default=None)

    @property
    def names(self) -> tuple[str, ...]:
        """Stored column names, in order."""
        return tuple(c.name for c in self.columns)

    @property
    def stream_columns(self) -> tuple[Column, ...]:
        """Columns as recorded and streamed."""
        return self.stream if self.stream is not None else self.columns


def _c(name: str, kind: str, unit: str = "", doc: str = "") -> Column:
    return Column(name, kind, unit, doc)


_T, _PART = _c("time", "time", "s"), _c("part", "id", doc="part (batch) id")
_STATION = _c("station", "code", doc="station name")
_UNIT = _c("unit", "id", doc="unit number (one per server of a station)")

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("states", "one interval of one unit in one state", (
        _UNIT, _STATION, _c("server", "int", doc="server index within the station"),
        _c("state", "code", doc="producing, idle, blocked, setup, down, off, maintenance, "
                                "waiting"),
        _c("start", "time", "s"), _c("end", "time", "s")),
        stream=(_T, _c("unit", "code", doc="unit number: an index into the run's units"),
                _c("state", "code"))),
    Table("events", "one movement of one part", (
        _T, _PART, _c("product", "code"), _STATION,
        _c("kind", "code", doc="created, arrive, start, end, scrap, rework, consumed, exit, "
                               "lost (an arrival that found the line full; part -1)"))),
    Table("parts", "one part that left the line (or was consumed by an assembly)", (
        _PART, _c("product", "code"), _c("created", "time", "s"), _c("done", "time", "s"),
        _c("fate", "code", doc="wip, good, scrap, consumed"),
        _c("reworks", "int", doc="times reworked"))),
    Table("stops", "one failure or maintenance stop of one unit", (
        _c("start", "time", "s"), _UNIT, _c("kind", "text", doc="failure or maintenance"),
        _c("mode", "text", doc="failure mode or maintenance plan"),
        _c("duration", "float", "s"), _STATION, _c("server", "int")),
        stream=(_c("start", "time", "s"), _UNIT, _c("kind", "text"), _c("mode", "text"),
                _c("duration", "float", "s"))),
    Table("flows", "one material flow of one species (process lines)", (
        _T, _PART, _STATION, _c("phase", "text", doc="recipe phase name"),
        _c("species", "code"),
        _c("kind", "text", doc="input, transformation, output, waste, wastewater, emission, "
                               "recovered, destroyed"),
        _c("kg", "float", "kg")), when="process"),
    Table("phases", "one executed recipe phase; phase models add summary columns", (
        _PART, _STATION, _c("phase", "text"), _c("kind", "text", doc="phase model"),
        _c("start", "time", "s"), _c("end", "time", "s"), _c("utility", "text"),
        _c("heat_J", "float", "J"), _c("load_W", "float", "W")), when="process", open=True),
    Table("profiles", "one point of a kernel profile, long format", (
        _PART, _c("station", "text"), _c("phase", "text"), _c("time_s", "time", "s"),
        _c("variable", "text", doc="temperature_K, conversion, ..."),
        _c("value", "float", doc="in the unit its variable names")), when="process"),
    Table("utility_load", "a change of the load a utility carries", (
        _T, _c("utility", "text"), _c("load", "float", "W", "m3/s for media")),
        when="process"),
    Table("levels", "the contents of a tank from this time on", (
        _T, _STATION, _c("kg", "float", "kg")), when="tanks"),
    Table("level_events", "a tank entering its low, normal or high zone", (
        _T, _STATION, _c("zone", "text"), _c("kg", "float", "kg")), when="tanks"),
    Table("signals", "a change of a watched signal", (
        _T, _c("tag", "text"), _c("value", "float", "SI")), when="signals"),
    Table("alarms", "one ISA-18.2 alarm transition", (
        _T, _c("alarm", "text"), _c("tag", "text"), _c("priority", "category"),
        _c("event", "category", doc="activate, rtn, ack, shelve, unshelve"),
        _c("state", "category"), _c("value", "float", "SI"), _c("limit", "float", "SI")),
        when="alarms"),
    Table("residuals", "one residual of a monitored signal against the twin's prediction "
          "(shadow twin)", (
        _c("time", "time", "s", "seconds since the shadow run's origin (run.json)"),
        _c("signal", "text", doc="temperature.<station>, kpi.throughput, ..."),
        _c("measured", "float", "SI", "the plant's value (throughput: per window)"),
        _c("predicted", "float", "SI", "the twin's prediction of it"),
        _c("residual", "float", "SI", "measured - predicted"),
        _c("sigma", "float", "SI", "standard deviation the residual is scaled by (NaN "
                                   "while calibrating)"),
        _c("statistic", "float", doc="detector statistic, in standard deviations (NaN "
                                     "while calibrating)"),
        _c("limit", "float", doc="detector limit, in standard deviations"),
        _c("alarm", "bool", doc="the detector signalled (residual alarm activated)"),
        _c("estimate", "float", "SI", "Kalman estimate of the true value (NaN where none)")),
        when="shadow"),
    Table("forecasts", "one forecast item a shadow twin made when it re-synchronised to the "
          "plant's state (replications from that state)", (
        _c("time", "time", "s", "when the forecast was made: seconds since the shadow run's "
                                "origin (run.json)"),
        _c("kind", "text", doc="batch_end, output (good parts by end of shift or day) or "
                               "alarm"),
        _c("item", "text", doc="the batch (the plant's lot id), 'end of shift' / 'end of "
                               "day', or the alarm"),
        _c("station", "text", doc="where the batch is (batch_end)"),
        _c("until", "float", "s", "end of the shift or day counted (output; NaN otherwise), "
                                  "seconds since the origin"),
        _c("low", "float", doc="lower end of the prediction interval: a time [s since the "
                               "origin; inf: after the horizon] for batch_end and alarm, "
                               "good parts for output"),
        _c("median", "float", doc="median of the replications, in the unit of low"),
        _c("high", "float", doc="upper end of the prediction interval, in the unit of low"),
        _c("p", "float", doc="batch_end: share of replications in which it ended within the "
                             "horizon; alarm: share in which it activated; NaN for output")),
        when="shadow"),
    Table("energy", "electricity of one unit in one state over the observation window", (
        _c("station", "text"), _c("server", "int"), _c("state", "code"),
        _c("seconds", "float", "s"), _c("kwh", "float", "kWh"), _c("kg_co2e", "float", "kg"),
        _c("kgce", "float", "kg", "kg of standard coal equivalent")), when="derived"),
    Table("stations", "station KPIs over the observation window (ISO 22400-2 time elements)", (
        _c("station", "text"), _c("type", "text"), _c("servers", "int")),
        when="derived", open=True),
    Table("balance", "material balance of one species over the run", (
        _c("species", "text"), _c("input", "float", "kg"), _c("output", "float", "kg"),
        _c("inventory", "float", "kg"), _c("imbalance", "float", "kg"),
        _c("closed", "bool")), when="derived", open=True),
    Table("utilities", "energy and emissions of one utility over the run", (
        _c("utility", "text"), _c("carrier", "text"), _c("delivered_kwh", "float", "kWh"),
        _c("electricity_kwh", "float", "kWh"), _c("natural_gas_m3", "float", "m3"),
        _c("kg_co2e_scope1", "float", "kg"), _c("kg_co2e_scope2", "float", "kg")),
        when="derived", open=True),
    Table("emissions", "mass of one species emitted by one station", (
        _c("station", "text"), _c("species", "text"), _c("kg", "float", "kg"),
        _c("voc", "bool")), when="derived"),
)}
"""Every recorded table, by name."""

RECORDED: tuple[str, ...] = tuple(n for n, t in TABLES.items()
                                  if t.when not in ("derived", "shadow"))
"""Tables the engine records while a run goes (what a live run streams); the others are
derived from them at the end, or written by a shadow twin."""


def table(name: str) -> Table:
    """The declared table ``name``.

    Raises
    ------
    KeyError
        If no table has that name (the message lists them).
    """
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no recorded table {name!r} (tables: {', '.join(TABLES)})") from None


def names(name: str, stream: bool = False) -> tuple[str, ...]:
    """Column names of a table, stored (default) or as recorded and streamed."""
    t = table(name)
    return tuple(c.name for c in (t.stream_columns if stream else t.columns))


def wire_kinds() -> dict[str, dict[str, str]]:
    """Stream encoding of each streamed column with a numeric kind: ``{table: {column:
    f64|int|code}}`` (see :data:`WIRE_KINDS`)."""
    return {t.name: {c.name: WIRE_KINDS[c.kind] for c in t.stream_columns
                     if c.kind in WIRE_KINDS}
            for t in TABLES.values()}


def labels(series: pd.Series) -> pd.Series:
    """A name column (kind ``code`` or ``category``) as a categorical of ``str`` names.

    The recorded tables hold these as categoricals: grouping, comparing and counting on the
    codes is exact and costs no string per row, where ``astype(str)`` makes one (seconds on
    the millions of rows of a long run). Text columns (tables read back from CSV) are made
    categorical once."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = series.cat.categories
        return series if pd.api.types.is_string_dtype(cats.dtype) else \
            series.cat.rename_categories(cats.astype(str))
    return series.astype(str).astype("category")


def _fits(series: pd.Series, kind: str) -> bool:
    dtype = series.dtype
    if kind in ("time", "float"):
        return pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
    if kind in ("int", "id"):
        return pd.api.types.is_integer_dtype(dtype)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(dtype)
    # names: categorical or text
    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) \
        or pd.api.types.is_object_dtype(dtype)


def problems(name: str, frame: pd.DataFrame) -> list[str]:
    """What is wrong with a stored table against its declaration (empty if nothing).

    Checks that the declared columns are there, with values of their kind, and
    that a table not marked ``open`` has no other columns. Columns of no type (all-null
    object columns of an empty table) are not type-checked; a table with neither rows nor
    columns (nothing was recorded, e.g. no phase ran yet) has nothing to check. Names not
    declared here are not checked (a newer or foreign table).
    """
    t = TABLES.get(name)
    if t is None or (not len(frame) and not len(frame.columns)):  # nothing was recorded
        return []
    cols = list(frame.columns)
    missing = [c for c in t.names if c not in cols]
    if missing:
        return [f"columns {missing} missing (declared: {list(t.names)}; found: {cols})"]
    out = []
    extra = [c for c in cols if c not in t.names]
    if extra and not t.open:
        out.append(f"undeclared columns {extra}")
    for c in t.columns:
        col = frame[c.name]
        untyped = not len(frame) and pd.api.types.is_object_dtype(col.dtype)
        if not untyped and not _fits(col, c.kind):
            out.append(f"column {c.name!r} holds {col.dtype}, not {c.kind}")
    return out
