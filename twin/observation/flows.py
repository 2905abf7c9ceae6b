"""The process ledger: material balance by species, utilities to final energy and CO2e,
water and wastewater, VOC emissions -- and the closure check every process run must pass.

Material balance per species over a whole run (all in kg)::

    input + transformation = output + waste + wastewater + emission + recovered + destroyed
                             + inventory

``transformation`` is signed (reactions and phase changes move mass between species; their
sum over species is zero when stoichiometry conserves mass); ``inventory`` is what the
batches still in the line hold at the end. A run whose balance does not close raises
:class:`BalanceError` with the imbalance of every species that fails.

Utilities become final energy and emissions: electricity is counted as it is; steam comes
from an on-site natural-gas boiler (gas = heat / efficiency / heating value; CO2 scope 1);
chilled water from electric chillers (electricity = heat / COP); cooling water through
pumps and fans (electricity = heat x specific power). Electricity is scope 2 with the line's
grid factor; primary energy uses kgce factors (GB/T 2589).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.daily import drawn_evenly
from twin.data.process import Utility

J_PER_KWH = 3.6e6
WATER_DENSITY = 1000.0
"""Density of process water [kg/m3] (media of carrier ``process_water`` are counted in m3)."""
KINDS_IN = ("input", "transformation")
KINDS_OUT = ("output", "waste", "wastewater", "emission", "recovered", "destroyed")


class BalanceError(RuntimeError):
    """A material balance does not close; ``table`` holds the balance by species."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table
        bad = table[~table["closed"]]
        out = bad[list(KINDS_OUT)].sum(axis=1)
        lines = [f"  {r.species}: imbalance {r.imbalance:+.6g} kg "
                 f"(in {r.input:.6g}, transformed {r.transformation:+.6g}, out {o:.6g}, "
                 f"inventory {r.inventory:.6g})"
                 for r, o in zip(bad.itertuples(), out, strict=True)]
        super().__init__("material balance does not close:\n" + "\n".join(lines))


def material_balance(flows: pd.DataFrame, species: list[str], inventory: dict[str, float],
                     rtol: float = 1e-9) -> pd.DataFrame:
    """Balance of every species over the run [kg] with its imbalance and a ``closed`` flag.

    A species closes when ``|imbalance| <= rtol * max(1 kg, largest term)``.
    """
    table = (flows.assign(species=flows["species"].astype(str))
             .pivot_table(index="species", columns="kind", values="kg", aggfunc="sum",
                          fill_value=0.0, observed=True)
             .reindex(index=species, columns=[*KINDS_IN, *KINDS_OUT], fill_value=0.0))
    table["inventory"] = [inventory.get(s, 0.0) for s in table.index]
    table["imbalance"] = (table["input"] + table["transformation"]
                          - table[list(KINDS_OUT)].sum(axis=1) - table["inventory"])
    scale = np.maximum(1.0, table[[*KINDS_IN, *KINDS_OUT, "inventory"]].abs().max(axis=1))
    table["closed"] = table["imbalance"].abs() <= rtol * scale
    return table.rename_axis("species").reset_index()


def check_closure(balance: pd.DataFrame) -> None:
    """Raise :class:`BalanceError` unless every species closes."""
    if not bool(balance["closed"].all()):
        raise BalanceError(balance)


def utility_energy(line: S.LineSpec, phases: pd.DataFrame) -> pd.DataFrame:
    """Heat, power or media drawn from each utility and its final energy, CO2e and kgce.

    Returns one row per utility: ``utility, carrier, delivered_kwh`` (heat or electricity
    delivered), ``volume_m3`` (media), ``electricity_kwh, natural_gas_m3, kg_co2e_scope1,
    kg_co2e_scope2, kgce``.
    """
    energy = line.energy
    grid = energy.grid.value * J_PER_KWH  # kg CO2e per kWh
    hourly = energy.grid.hourly is not None and len(phases) > 0
    heat = (phases.groupby("utility")["heat_J"].sum() if len(phases) else pd.Series(dtype=float))
    rows = []
    for name, u in line.utilities.items():
        delivered = float(heat.get(name, 0.0))
        elec = gas = volume = 0.0
        if u.is_medium:
            column = f"{name}_m3"
            volume = float(phases[column].sum()) if column in phases else 0.0
            delivered = 0.0
            elec = volume * u.electricity_per_m3()
        elif u.carrier == "steam":
            gas = delivered / u.boiler_efficiency / energy.natural_gas_lhv
        else:  # electricity, chilled water (chillers), cooling water (pumps and towers)
            elec = u.electricity_for_heat(delivered)
        kwh = elec / J_PER_KWH
        scope2 = kwh * grid
        if hourly:  # each phase's electricity at the factors of the hours it spans
            scope2 = drawn_evenly(energy.grid.segments(), phases["start"].to_numpy(),
                                  phases["end"].to_numpy(), phase_electricity(u, name, phases))
        rows.append({
            "utility": name, "carrier": u.carrier, "delivered_kwh": delivered / J_PER_KWH,
            "volume_m3": volume,
            "electricity_kwh": kwh, "natural_gas_m3": gas,
            "kg_co2e_scope1": gas * energy.natural_gas_co2_per_m3,
            "kg_co2e_scope2": scope2,
            "kgce": kwh * energy.kgce_per_kwh + gas * energy.natural_gas_kgce_per_m3,
        })
    return pd.DataFrame(rows, columns=["utility", "carrier", "delivered_kwh", "volume_m3",
                                       "electricity_kwh",
                                       "natural_gas_m3", "kg_co2e_scope1", "kg_co2e_scope2",
                                       "kgce"])


def phase_electricity(u: Utility, name: str, phases: pd.DataFrame) -> np.ndarray:
    """Electricity [J] each phase row drew through utility ``name`` (heat through the
    carrier's conversion; media by volume); zero for rows of other utilities."""
    if u.is_medium:
        column = f"{name}_m3"
        if column not in phases:
            return np.zeros(len(phases))
        return phases[column].fillna(0.0).to_numpy(dtype=float) * u.electricity_per_m3()
    heat = np.where((phases["utility"] == name).to_numpy(),
                    phases["heat_J"].fillna(0.0).to_numpy(dtype=float), 0.0)
    return np.asarray(u.electricity_for_heat(heat), dtype=float)


def load_integral(load: pd.DataFrame, end: float) -> pd.Series:
    """Use of each utility from its recorded load changes up to ``end`` [s] (energy [J], or
    volume [m3] for media): an
    independent check of the heat the phases report (it includes phases still running at
    ``end``, which report their heat only when they finish)."""
    out = {}
    for name, grp in load.groupby("utility"):
        t = grp["time"].to_numpy()
        w = grp["load"].to_numpy()
        out[name] = float(np.sum(w * np.diff(np.append(t, end))))
    return pd.Series(out, dtype=float)


def water_and_emissions(line: S.LineSpec, flows: pd.DataFrame,
                        phases: pd.DataFrame) -> dict[str, float]:
    """Run totals: process water, wastewater, COD, waste, VOC to air, abated and recovered.

    Process water ``water_kg`` is all water the line takes in: cleaning water of ``clean``
    phases, charges of species marked ``water = true`` (liquor, medium water), and media of
    carrier ``process_water`` (m3 at 1000 kg/m3); ``cleaning_water_kg`` is the first part.
    Wastewater is the cleaning water plus material sent to ``wastewater``; its COD is the
    cleaning COD load plus the theoretical oxygen demand (species ``cod`` [kg O2/kg]) of that
    material. Material sent to ``waste`` (solvent or solid waste) carries no COD here.
    """
    cod_of = {n: s.cod for n, s in line.species.items()}
    voc = {n for n, s in line.species.items() if s.voc}
    sp = flows["species"].astype(str)
    waste = flows[flows["kind"] == "waste"]
    to_water = flows[flows["kind"] == "wastewater"]
    cod = np.array([cod_of[name] for name in sp[to_water.index]], dtype=float)
    cod_water = float((to_water["kg"].to_numpy(dtype=float) * cod).sum())
    emitted = flows[flows["kind"] == "emission"]
    water_species = {n for n, s in line.species.items() if s.water}
    charged_water = float(flows.loc[(flows["kind"] == "input") & sp.isin(water_species),
                                    "kg"].sum())
    media_water = sum(float(phases[f"{n}_m3"].sum()) * WATER_DENSITY
                      for n, u in line.utilities.items()
                      if u.carrier == "process_water" and f"{n}_m3" in phases)
    cleaning = float(phases["water_kg"].sum()) if len(phases) else 0.0
    return {
        "water_kg": cleaning + charged_water + media_water,
        "cleaning_water_kg": cleaning,
        "wastewater_kg": (float(phases["wastewater_kg"].sum()) if len(phases) else 0.0)
        + float(to_water["kg"].sum()),
        "waste_kg": float(waste["kg"].sum()),
        "cod_kg": (float(phases["cod_kg"].sum()) if len(phases) else 0.0) + cod_water,
        "voc_emitted_kg": float(emitted.loc[sp[emitted.index].isin(voc), "kg"].sum()),
        "solvent_recovered_kg": float(flows.loc[(flows["kind"] == "recovered")
                                                & sp.isin(voc), "kg"].sum()),
        "material_recovered_kg": float(flows.loc[flows["kind"] == "recovered", "kg"].sum()),
        "voc_destroyed_kg": float(flows.loc[flows["kind"] == "destroyed", "kg"].sum()),
    }
