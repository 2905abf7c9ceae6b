"""Process KPIs and the process ledger of a run (lines that declare species).

:func:`process_ledger` closes the material balance per species (raising
:class:`~twin.observation.flows.BalanceError` if it does not close) and tabulates utility
energy and emissions; :func:`process_kpis` gives the process KPIs over the observation window.
Their units, labels and directions are declared in :mod:`twin.observation.catalogue`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.kernels.safety import KELVIN_0C
from twin.observation.flows import (
    check_closure,
    load_integral,
    material_balance,
    utility_energy,
    water_and_emissions,
)


def process_ledger(spec: S.LineSpec, tables: dict[str, pd.DataFrame],
                   inventory: dict[str, float], end: float) -> dict[str, pd.DataFrame]:
    """Balance (checked: raises BalanceError if it does not close) and utility energy."""
    balance = material_balance(tables["flows"], list(spec.species), inventory)
    check_closure(balance)
    utilities = utility_energy(spec, tables["phases"])
    measured = load_integral(tables["utility_load"], end)
    medium = [spec.utilities[u].is_medium for u in utilities["utility"]]
    used = [float(measured.get(u, 0.0)) for u in utilities["utility"]]
    utilities["load_integral_kwh"] = [np.nan if m else x / 3.6e6
                                      for x, m in zip(used, medium, strict=True)]
    utilities["load_integral_m3"] = [x if m else np.nan for x, m in zip(used, medium, strict=True)]
    flows = tables["flows"]
    emitted = flows[flows["kind"] == "emission"]
    emissions = (emitted.assign(species=emitted["species"].astype(str),
                                station=emitted["station"].astype(str))
                 .groupby(["station", "species"], as_index=False)["kg"].sum())
    emissions["voc"] = emissions["species"].map(lambda s: spec.species[s].voc).astype(bool)
    return {"balance": balance, "utilities": utilities, "emissions": emissions}


def process_kpis(spec: S.LineSpec, tables: dict[str, pd.DataFrame], kpis: dict[str, Any],
                 t0: float) -> dict[str, Any]:
    """Process KPIs over the observation window (flows and phases ending after ``t0``), like
    the line KPIs they join; not ISO 22400 (energy, emission and water intensities)."""
    flows = tables["flows"][tables["flows"]["time"] >= t0]
    phases = tables["phases"]
    phases = phases[phases["end"] >= t0] if len(phases) else phases
    utilities = utility_energy(spec, phases)
    product = float(flows.loc[flows["kind"] == "output", "kg"].sum())
    elec = float(utilities["electricity_kwh"].sum()) + kpis["electricity_kwh"]
    co2 = float(utilities[["kg_co2e_scope1", "kg_co2e_scope2"]].to_numpy().sum())
    out: dict[str, Any] = {
        "product_kg": product,
        "utility_electricity_kwh": float(utilities["electricity_kwh"].sum()),
        "natural_gas_m3": float(utilities["natural_gas_m3"].sum()),
        "co2e_scope2_utilities_kg": float(utilities["kg_co2e_scope2"].sum()),
        **water_and_emissions(spec, flows, phases),
    }
    total_co2 = co2 + kpis["co2e_kg"]
    out.update(_thermal_maxima(phases))
    out.update({
        "kwh_electricity_per_kg": elec / product if product else float("nan"),
        "co2e_kg_per_kg": total_co2 / product if product else float("nan"),
        "e_factor": _losses(spec, flows) / product if product else float("nan"),
        "water_kg_per_kg": out["water_kg"] / product if product else float("nan"),
    })
    return out


def _thermal_maxima(phases: pd.DataFrame) -> dict[str, float]:
    """The highest batch temperature and MTSR [degC] over the window's reaction phases (the
    values safety constraints of an optimisation bound); NaN without reaction phases."""
    out = {}
    for key, column in (("peak_temperature_max_c", "peak_temperature_K"),
                        ("mtsr_max_c", "max_mtsr_K")):
        values = phases[column].dropna() if column in phases else pd.Series(dtype=float)
        out[key] = float(values.max()) - KELVIN_0C if len(values) else float("nan")
    return out


def _losses(spec: S.LineSpec, flows: pd.DataFrame) -> float:
    """Material that leaves other than as product or recovered solvent [kg] (E-factor
    numerator, Sheldon): waste, wastewater, emissions, destroyed, and recovered non-solvents
    (e.g. product lost in mother liquor sent to solvent recovery)."""
    voc = {n for n, s in spec.species.items() if s.voc}
    kind, species = flows["kind"], flows["species"].astype(str)
    lost = kind.isin(["waste", "wastewater", "emission", "destroyed"]) | (
        (kind == "recovered") & ~species.isin(voc))
    return float(flows.loc[lost, "kg"].sum())
