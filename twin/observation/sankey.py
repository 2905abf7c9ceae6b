"""Sankey diagrams of a run's material and energy over one window (the observation window),
computed from the recorded tables so that the dashboard and the report draw the same numbers.

**Material** [kg]: raw materials into the units that charge them, unit-to-unit transfers,
and out of the units as product, waste, wastewater, emission, recovered or destroyed. A batch
is where it last gained or lost material (units that only hold or move a batch, such as a
packing machine, are passed through); what a batch carries when it reaches the next such
unit is a transfer. What the batches hold at the start of the window comes from an
``inventory at start`` node, what they hold at its end goes to ``inventory at end``, so
``raw materials + inventory at start = outputs + inventory at end`` and every unit closes
(reactions move mass between species within a batch; their sum is zero).

**Energy** [kWh], as delivered carriers: grid electricity to equipment (its power per state)
and to the utility plants; natural gas (lower heating value) to the boiler, which delivers
steam heat to the units and loses the rest; cooling duty leaves the units into the chilled
or cooling water, whose plant rejects that heat plus the electricity it uses to ambient.
Media (m3) count as the electricity their plant uses. Every carrier node closes.

The window follows the KPIs: flows from ``t0`` on, phases ending in ``[t0, t1]``, equipment
electricity clipped to ``[t0, t1]`` (:mod:`twin.observation.ledger`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.observation.flows import J_PER_KWH, KINDS_OUT, utility_energy
from twin.observation.ledger import electricity

RAW = "raw materials"
INVENTORY_START = "inventory at start"
INVENTORY_END = "inventory at end"
GRID = "grid electricity"
GAS = "natural gas"
LOSSES = "boiler losses"
AMBIENT = "heat rejected to ambient"
OUT_NODES = {"output": "product", "waste": "waste", "wastewater": "wastewater",
             "emission": "emissions to air", "recovered": "recovered",
             "destroyed": "destroyed (abatement)"}


@dataclass
class Sankey:
    """Nodes and links ``(source, target, value)`` in ``unit``; links of the same pair add."""

    unit: str
    t0: float
    t1: float
    links: dict[tuple[str, str], float] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def add(self, source: str, target: str, value: float, kinds: tuple[str, str] = ("", "")
            ) -> None:
        if value == 0.0 or not np.isfinite(value):
            return
        key = (source, target)
        self.links[key] = self.links.get(key, 0.0) + float(value)
        for node, kind in zip(key, kinds, strict=True):
            self.kinds.setdefault(node, kind)

    @property
    def nodes(self) -> list[str]:
        out: dict[str, None] = {}
        for a, b in self.links:
            out.setdefault(a)
            out.setdefault(b)
        return list(out)

    def inflow(self, node: str) -> float:
        return sum(v for (_, b), v in self.links.items() if b == node)

    def outflow(self, node: str) -> float:
        return sum(v for (a, _), v in self.links.items() if a == node)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON: nodes with their kind, links as ``[source, target, value]``."""
        return {"unit": self.unit, "t0": self.t0, "t1": self.t1, "nodes": self.nodes,
                "kinds": [self.kinds.get(n, "") for n in self.nodes],
                "links": [[a, b, v] for (a, b), v in self.links.items() if v > 0]}


def material_sankey(flows: pd.DataFrame, t0: float, t1: float) -> Sankey:
    """Material over the window ``[t0, t1]`` [s] from the ``flows`` table (see module doc)."""
    out = Sankey("kg", t0, t1)
    if flows is None or not len(flows):
        return out
    table = flows[flows["time"] <= t1].sort_values("time", kind="stable")
    held: dict[int, float] = defaultdict(float)  # kg a batch carries
    where: dict[int, str] = {}  # the unit it is at
    start: dict[str, float] = defaultdict(float)
    started = False
    signs = {"input": 1.0, "transformation": 1.0, **{k: -1.0 for k in KINDS_OUT}}
    for t, part, station, kind, kg in zip(table["time"].to_numpy(), table["part"].to_numpy(),
                                          table["station"].astype(str), table["kind"].astype(str),
                                          table["kg"].to_numpy(dtype=float), strict=True):
        if not started and t >= t0:  # the window opens: what each batch holds, by unit
            for p, kg_held in held.items():
                start[where[p]] += kg_held
            started = True
        before = where.get(part)
        if started and before is not None and before != station and held[part] != 0.0:
            out.add(before, station, held[part], ("unit", "unit"))
        where[part] = station
        held[part] += signs[kind] * kg
        if not started or kind == "transformation":
            continue
        if kind == "input":
            out.add(RAW, station, kg, ("source", "unit"))
        else:
            out.add(station, OUT_NODES[kind], kg, ("unit", kind))
    if not started:
        for p, kg_held in held.items():
            start[where[p]] += kg_held
    for unit, kg in start.items():
        out.add(INVENTORY_START, unit, kg, ("inventory", "unit"))
    end: dict[str, float] = defaultdict(float)
    for p, kg_held in held.items():
        end[where[p]] += kg_held
    for unit, kg in end.items():
        out.add(unit, INVENTORY_END, kg, ("unit", "inventory"))
    return out


def _plant(name: str, u: S.Utility) -> str:
    kind = {"steam": "boiler", "chilled_water": "chiller", "cooling_water": "cooling tower"}
    return f"{name} ({kind.get(u.carrier, 'plant')})"


def energy_sankey(line: S.LineSpec, states: pd.DataFrame, phases: pd.DataFrame | None,
                  t0: float, t1: float) -> Sankey:
    """Energy over the window ``[t0, t1]`` [s] as delivered carriers (see module doc)."""
    out = Sankey("kWh", t0, t1)
    equipment = electricity(line, states, t0, t1).groupby("station", sort=False)["kwh"].sum()
    for station, kwh in equipment.items():
        out.add(GRID, str(station), float(kwh), ("carrier", "unit"))
    if phases is None or not len(phases) or not line.utilities:
        return out
    phases = phases[(phases["end"] >= t0) & (phases["end"] <= t1)]
    totals = utility_energy(line, phases).set_index("utility")
    for name, u in line.utilities.items():
        row, plant = totals.loc[name], _plant(name, u)
        used = phases[phases["utility"].astype(str) == name]
        by_station = used.groupby(used["station"].astype(str), sort=False)
        elec = float(row["electricity_kwh"])
        if u.carrier == "steam":
            gas = float(row["natural_gas_m3"]) * line.energy.natural_gas_lhv / J_PER_KWH
            out.add(GAS, plant, gas, ("carrier", "plant"))
            out.add(plant, LOSSES, gas - float(row["delivered_kwh"]), ("plant", "loss"))
        elif u.carrier == "electricity":
            out.add(GRID, plant, elec, ("carrier", "plant"))
        else:
            out.add(GRID, plant, elec, ("carrier", "plant"))
            if u.is_medium:  # the electricity the medium took, by unit
                column = f"{name}_m3"
                volume = by_station[column].sum() if column in used else pd.Series(dtype=float)
                share = volume / volume.sum() if volume.sum() > 0 else volume
                for station, f in share.items():
                    out.add(plant, station, elec * float(f), ("plant", "unit"))
                continue
            out.add(plant, AMBIENT, float(row["delivered_kwh"]) + elec, ("plant", "loss"))
        for station, heat in by_station["heat_J"].sum().items():
            kwh = float(heat) / J_PER_KWH
            if u.carrier in ("chilled_water", "cooling_water"):
                out.add(station, plant, kwh, ("unit", "plant"))  # duty removed from the unit
            else:
                out.add(plant, station, kwh, ("plant", "unit"))
    return out


def run_sankeys(line: S.LineSpec | None, tables: dict[str, Any], t0: float, t1: float
                ) -> dict[str, Sankey | None]:
    """The ``material`` and ``energy`` Sankeys of a run over ``[t0, t1]`` [s] from its
    tables (``flows``, ``states``, ``phases``); ``None`` for what the run has not recorded
    (no material flows on a discrete line, no energy without the line's spec)."""
    flows, states = tables.get("flows"), tables.get("states")
    material = material_sankey(flows, t0, t1) if flows is not None and len(flows) else None
    energy = (energy_sankey(line, states, tables.get("phases"), t0, t1)
              if line is not None and states is not None else None)
    return {"material": material, "energy": energy}
