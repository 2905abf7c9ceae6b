"""What the page needs to know about a line besides its records: stations with routes,
servers, power per state and planned times; utilities; alarms and how their values are shown;
the line diagram (the layout shared with the report); the registries the codes index."""

from __future__ import annotations

from typing import Any

from twin.data import spec as S
from twin.data.alarms import display_of, display_scale, signal_tags
from twin.edges.layout import line_layout
from twin.observation import catalogue, schema
from twin.observation.ledger import J_PER_KWH
from twin.observation.recorder import EVENTS, FATES, STATES
from twin.orchestration.live import PROFILE_VARIABLES


def _station(spec: S.LineSpec, st: Any) -> dict[str, Any]:
    """A station: type, routes [names], box colour and signal kinds (its type's
    declarations), what the page draws for it by its class (``queue_curve``: a queue level
    from arrivals and starts, not for a batch station, whose loaded parts wait after their
    start; ``profiles``: a process station's batch profiles), and for equipment servers,
    power per state [W], buffer and planned time per item [s] by product."""
    info: dict[str, Any] = {"type": st.type, "routes": [r.to for r in st.routes],
                            "description": st.description, "colour": st.drawing.colour,
                            "signals": list(st.signals),
                            "queue_curve": isinstance(st, S.Equipment)
                            and not isinstance(st, S.Batch),
                            "profiles": isinstance(st, S.Process)}
    if isinstance(st, S.Equipment):
        info["servers"] = st.servers
        info["power_W"] = st.power.by_state()
        info["buffer"] = getattr(st, "buffer", None)
        planned = {}
        for product in spec.products:
            try:
                planned[product] = st.planned_time_per_item(product)
            except Exception:  # a product the station never sees
                continue
        info["planned_s"] = planned
    for key in ("capacity", "low", "high", "rework_to"):
        if hasattr(st, key):
            info[key] = getattr(st, key)
    return info


def _alarm(name: str, a: Any) -> dict[str, Any]:
    scale, offset, unit = display_scale(a)
    return {"name": name, "tag": a.tag, "limit": a.limit, "direction": a.direction,
            "priority": a.priority, "deadband": a.deadband, "description": a.description,
            "display": {"scale": scale, "offset": offset, "unit": unit}}


def describe_line(spec: S.LineSpec | None) -> dict[str, Any]:
    """The line as the page draws it (empty parts when the spec is unknown)."""
    if spec is None:
        return {"stations": {}, "utilities": {}, "grid_kg_per_kwh": None,
                "grid_hourly_kg_per_kwh": None, "costs": False, "alarms": [],
                "signals": {}, "diagram": None}
    stations = {name: _station(spec, st) for name, st in spec.stations.items()}
    utilities = {name: {"carrier": u.carrier, "capacity": u.capacity, "medium": u.is_medium}
                 for name, u in spec.utilities.items()}
    alarms = [_alarm(name, a) for name, a in (getattr(spec, "alarms", None) or {}).items()]
    diagram = line_layout(spec.model_dump(mode="json", by_alias=True)["stations"])
    return {"stations": stations, "utilities": utilities,
            "grid_kg_per_kwh": spec.energy.grid.value * J_PER_KWH,
            "grid_hourly_kg_per_kwh": (None if spec.energy.grid.hourly is None else
                                       [f * J_PER_KWH for f in spec.energy.grid.hourly]),
            "costs": spec.costs is not None, "alarms": alarms,
            "signals": signal_display(spec), "diagram": diagram.as_dict()}


def signal_display(spec: S.LineSpec) -> dict[str, dict[str, Any]]:
    """How the page shows each signal of the line: ``{tag: {scale, offset, unit}}``
    (shown = SI x scale + offset; :data:`twin.data.alarms.DISPLAY`)."""
    out = {}
    for tag, dim in signal_tags(spec).items():
        scale, offset, unit = display_of(dim)
        out[tag] = {"scale": scale, "offset": offset, "unit": unit or "count"}
    return out


def registries() -> dict[str, Any]:
    """The names that the codes of the records index, and the KPI catalogue (labels, units)."""
    return {"state_names": list(STATES), "event_names": list(EVENTS), "fate_names": list(FATES),
            "alarm_columns": list(schema.names("alarms")),
            "profile_variables": list(PROFILE_VARIABLES),
            "kpi_catalogue": catalogue.as_rows(catalogue.kpis("line"))}
