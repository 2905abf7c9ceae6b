"""Final energy and CO2e of a run by carrier, for every line kind, and per good unit.

Final energy is what the site buys: electricity [kWh] and natural gas [kWh at its lower
heating value]. It is reported by the carrier that used it:

- ``equipment``: the stations' own electricity (power per state x time in the state,
  :func:`twin.observation.ledger.electricity`);
- one entry per utility carrier a process line declares (``steam``: the boiler's gas,
  ``chilled_water``: the chillers' electricity, ``cooling_water``: pumps and fans,
  ``compressed_air``, ``nitrogen``, ``process_water``: electricity per m3,
  ``electricity``: electric heating or power drawn through a utility), converted by
  :func:`twin.observation.flows.utility_energy`.

CO2e: scope 1 is the natural gas burnt on site, scope 2 all electricity at the line's grid
factor; the per-unit figures are scope 1 + scope 2. Primary energy [kgce] adds both
(GB/T 2589 factors of the spec). Intensities are not ISO 22400 KPIs.

Window: equipment electricity is clipped to the observation window [t0, t1]; a utility's use
is counted for the phases that end in the window, the instant their material (and so the
product) is booked, like the process KPIs.
"""

from __future__ import annotations

from typing import Any, get_args

import pandas as pd

from twin.data import spec as S
from twin.data.process import Utility
from twin.observation.flows import J_PER_KWH, utility_energy

EQUIPMENT = "equipment"
"""The carrier name of the stations' own electricity."""

CARRIERS: tuple[str, ...] = get_args(Utility.model_fields["carrier"].annotation)
"""Utility carriers a process line may declare (``[utilities.*] carrier``)."""

COLUMNS = ("carrier", "electricity_kwh", "natural_gas_kwh", "final_energy_kwh",
           "kg_co2e_scope1", "kg_co2e_scope2", "kgce")


def window_utilities(line: S.LineSpec, phases: pd.DataFrame | None,
                     t0: float) -> pd.DataFrame:
    """The ``utilities`` rows (:func:`utility_energy`) of the phases ending at or after
    ``t0`` [s]."""
    if phases is None:
        phases = pd.DataFrame()
    if len(phases):
        phases = phases[phases["end"] >= t0]
    return utility_energy(line, phases)


def by_carrier(line: S.LineSpec, equipment: pd.DataFrame,
               utilities: pd.DataFrame | None) -> pd.DataFrame:
    """Final energy [kWh], CO2e by scope [kg] and primary energy [kgce] by carrier.

    ``equipment`` is the electricity ledger (columns ``kwh, kg_co2e, kgce``), ``utilities``
    the utility ledger (or ``None`` on a line without utilities). One row for ``equipment``
    and one per utility carrier (utilities of one carrier are summed).
    """
    lhv_kwh = line.energy.natural_gas_lhv / J_PER_KWH  # kWh per m3
    kwh = float(equipment["kwh"].sum()) if len(equipment) else 0.0
    rows = [{"carrier": EQUIPMENT, "electricity_kwh": kwh, "natural_gas_kwh": 0.0,
             "kg_co2e_scope1": 0.0,
             "kg_co2e_scope2": float(equipment["kg_co2e"].sum()) if len(equipment) else 0.0,
             "kgce": float(equipment["kgce"].sum()) if len(equipment) else 0.0}]
    if utilities is not None and len(utilities):
        grouped = utilities.groupby("carrier", sort=False)[
            ["electricity_kwh", "natural_gas_m3", "kg_co2e_scope1", "kg_co2e_scope2",
             "kgce"]].sum()
        for carrier, r in grouped.iterrows():
            rows.append({"carrier": str(carrier), "electricity_kwh": float(r["electricity_kwh"]),
                         "natural_gas_kwh": float(r["natural_gas_m3"]) * lhv_kwh,
                         "kg_co2e_scope1": float(r["kg_co2e_scope1"]),
                         "kg_co2e_scope2": float(r["kg_co2e_scope2"]),
                         "kgce": float(r["kgce"])})
    for r in rows:
        r["final_energy_kwh"] = r["electricity_kwh"] + r["natural_gas_kwh"]
    return pd.DataFrame({c: [r[c] for r in rows] for c in COLUMNS})


def energy_kpis(table: pd.DataFrame, good_units: int, process: bool) -> dict[str, Any]:
    """Totals and per-good-unit intensities from :func:`by_carrier`'s table.

    Keys: ``final_energy_kwh``, ``natural_gas_kwh``, ``total_electricity_kwh``,
    ``co2e_scope1_kg``, ``co2e_scope2_kg``, ``co2e_total_kg``, ``kgce_total``; per good unit
    ``kwh_per_good_unit`` (all final energy), ``kwh_per_good_unit_<carrier>``,
    ``co2e_kg_per_good_unit`` (scope 1 + 2), ``co2e_scope1_kg_per_good_unit``,
    ``co2e_scope2_kg_per_good_unit`` and ``kgce_per_good_unit``; NaN without good units.
    ``<carrier>`` is ``equipment`` on every line and, on a ``process`` line, every utility
    carrier of :data:`CARRIERS` (0 where the line has none), so a line kind always reports
    the same KPIs.
    """
    def per_unit(x: float) -> float:
        return x / good_units if good_units > 0 else float("nan")

    total = {c: float(table[c].to_numpy(dtype=float).sum()) for c in COLUMNS[1:]}
    co2 = total["kg_co2e_scope1"] + total["kg_co2e_scope2"]
    out: dict[str, Any] = {
        "final_energy_kwh": float(total["final_energy_kwh"]),
        "total_electricity_kwh": float(total["electricity_kwh"]),
        "natural_gas_kwh": float(total["natural_gas_kwh"]),
        "co2e_scope1_kg": float(total["kg_co2e_scope1"]),
        "co2e_scope2_kg": float(total["kg_co2e_scope2"]),
        "co2e_total_kg": co2,
        "kgce_total": float(total["kgce"]),
        "kwh_per_good_unit": per_unit(float(total["final_energy_kwh"])),
        "co2e_kg_per_good_unit": per_unit(co2),
        "co2e_scope1_kg_per_good_unit": per_unit(float(total["kg_co2e_scope1"])),
        "co2e_scope2_kg_per_good_unit": per_unit(float(total["kg_co2e_scope2"])),
        "kgce_per_good_unit": per_unit(float(total["kgce"])),
    }
    kwh = dict(zip(table["carrier"].tolist(), table["final_energy_kwh"].tolist(), strict=True))
    for carrier in (EQUIPMENT, *CARRIERS) if process else (EQUIPMENT,):
        out[f"kwh_per_good_unit_{carrier}"] = per_unit(float(kwh.get(carrier, 0.0)))
    return out
