"""Cost KPIs of a run over its observation window, from the recorded tables and ``[costs]``.

Categories (all in the line's currency over the window ``[t0, t1]``):

- ``cost_electricity``: every kWh at its time-of-use price: the stations' own electricity per
  recorded state interval (power by state), the utilities' electricity per executed phase
  (its heat through the carrier's conversion, or its media volume, spread evenly over the
  phase); hours outside the tariff's periods at the flat price.
- ``cost_natural_gas``: boiler gas of the window's phases.
- ``cost_materials``: species charged (``input`` flows) per kg, products released into the
  line (``created`` events) per unit.
- ``cost_water``: process water (``water_kg``, 1,000 kg per m3).
- ``cost_labour``: every operator of every pool for its paid hours (the calendar's shift
  hours in the window; around the clock for pools on call).
- ``cost_waste``: waste per kg, wastewater per m3, COD per kg.
- ``cost_carbon``: CO2e scope 1 + 2 per tonne.
- ``cost_maintenance`` and ``cost_depreciation``: yearly share and straight-line
  depreciation of installed capital, prorated to the window (a year is 365.25 days).

``cost_total`` is their sum; ``cost_per_good_unit`` and (process lines) ``cost_per_kg``
divide it by the window's output. With a revenue price the financial KPIs of a design running
as in the window all year: ``npv`` at ``discount_rate`` over the longest equipment life,
``irr`` and ``payback_years`` (installed capital over the yearly cash flow).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from twin.data import spec as S
from twin.data.costs import Capital, CostModel
from twin.data.daily import DAY_S, drawn_evenly
from twin.observation.accumulated import Accumulated
from twin.observation.flows import J_PER_KWH, phase_electricity
from twin.observation.recorder import STATES

YEAR_S = 365.25 * 86400.0


def tou_cost(costs: CostModel, start: np.ndarray, end: np.ndarray,
             kwh: np.ndarray) -> float:
    """Cost of energy ``kwh`` [kWh] drawn evenly over each interval [start, end) [s from
    Monday 00:00] at the time-of-use tariff."""
    if costs.electricity is None or len(kwh) == 0:
        return 0.0
    return drawn_evenly(costs.electricity.segments(), start, end, kwh)


def installed_capital(line: S.LineSpec) -> dict[str, float]:
    """Installed cost per priced station (capacity exponent and installation factor)."""
    assert line.costs is not None
    return {name: _installed(line, name, cap) for name, cap in line.costs.capital.items()}


def _installed(line: S.LineSpec, name: str, cap: Capital) -> float:
    st = line.stations[name]
    if cap.base_size is None:
        servers = getattr(st, "servers", 1)
        return cap.base_cost * servers * cap.installation_factor
    size = cap.size if cap.size is not None else getattr(st, "volume", None)
    if size is None:
        raise ValueError(f"costs.capital.{name}: give 'size' (the station has no volume)")
    servers = getattr(st, "servers", 1)
    return cap.base_cost * (size / cap.base_size) ** cap.exponent * cap.installation_factor \
        * servers


def _paid_hours(line: S.LineSpec, t0: float, t1: float) -> float:
    """Operator-hours paid in [t0, t1]: pool size x shift hours (on call: every hour)."""
    total = 0.0
    windows = line.calendar.working_windows() if line.calendar is not None else None
    for pool in line.operators.values():
        if windows is None or not pool.follows_calendar:
            hours = (t1 - t0) / 3600.0
        else:
            hours = _overlap_weekly(windows, t0, t1) / 3600.0
        total += pool.count * hours
    return total


def _overlap_weekly(windows: list[tuple[float, float]], t0: float, t1: float) -> float:
    """Seconds of [t0, t1] inside weekly windows (seconds from Monday 00:00)."""
    week = 7 * DAY_S
    total = 0.0
    k0, k1 = int(math.floor(t0 / week)), int(math.floor(t1 / week))
    for k in range(k0, k1 + 1):
        for a, b in windows:
            total += max(0.0, min(t1, k * week + b) - max(t0, k * week + a))
    return total


def _utility_electricity(line: S.LineSpec, phases: pd.DataFrame) -> np.ndarray:
    """Electricity [kWh] each phase drew through its utility (heat through the carrier's
    conversion; media by volume)."""
    out = np.zeros(len(phases))
    for name, u in line.utilities.items():
        out += phase_electricity(u, name, phases)
    return out / J_PER_KWH


def _station_power(line: S.LineSpec) -> dict[str, dict[str, float]]:
    """Electric power [W] by state of each equipment station."""
    return {n: st.power.by_state() for n, st in line.stations.items()
            if isinstance(st, S.Equipment)}


def cost_kpis(line: S.LineSpec, tables: dict[str, pd.DataFrame], kpis: dict[str, Any],
              t0: float, t1: float) -> dict[str, Any]:
    """The cost KPIs of a run over the window ``[t0, t1]`` [s] (see the module docstring)."""
    costs = line.costs
    assert costs is not None
    # electricity: stations by state interval, utilities by phase
    states = tables["states"]
    power = _station_power(line)
    a = np.maximum(states["start"].to_numpy(dtype=float), t0)
    b = np.minimum(states["end"].to_numpy(dtype=float), t1)
    keep = b > a
    watts = np.array([power.get(str(n), {}).get(str(s), 0.0) for n, s in
                      zip(states["station"][keep], states["state"][keep], strict=True)])
    kwh = watts * (b[keep] - a[keep]) / J_PER_KWH
    elec = tou_cost(costs, a[keep], b[keep], kwh)
    phases = tables.get("phases")
    gas_m3 = 0.0
    if phases is not None and len(phases):
        phases = phases[phases["end"] >= t0]
        elec += tou_cost(costs, phases["start"].to_numpy(), phases["end"].to_numpy(),
                         _utility_electricity(line, phases))
        gas_m3 = float(kpis.get("natural_gas_m3", 0.0))
    flows = tables.get("flows")
    materials = 0.0
    if flows is not None and len(flows) and costs.materials.species:
        charged = flows[(flows["time"] >= t0) & (flows["kind"] == "input")]
        by_species = charged.groupby(charged["species"].astype(str))["kg"].sum()
        materials += sum(float(kg) * costs.materials.species.get(s, 0.0)
                         for s, kg in by_species.items())
    by_product: dict[str, int] = {}
    if costs.materials.products:
        ev = tables["events"]
        created = ev[(ev["kind"] == "created") & (ev["time"] >= t0) & (ev["time"] < t1)]
        by_product = {str(p): int(n) for p, n in
                      created.groupby(created["product"].astype(str)).size().items()}
    return _costs(line, kpis, t0, t1, elec, gas_m3, materials, by_product)


def accumulated_cost_kpis(line: S.LineSpec, acc: Accumulated, kpis: dict[str, Any],
                          t0: float, t1: float) -> dict[str, Any]:
    """The cost KPIs of a discrete-line run that kept only KPI accumulators
    (:class:`twin.observation.accumulated.Accumulated`, the window ``[t0, t1]`` [s]): each
    unit's electricity in each state at the tariff's integral over its intervals there
    (``price_seconds``), the products released into the line by product."""
    costs = line.costs
    assert costs is not None
    elec = 0.0
    if costs.electricity is not None:
        if acc.price_seconds is None:
            raise ValueError("a time-of-use tariff needs the accumulated price integral")
        power = _station_power(line)
        u, x = np.nonzero(acc.seconds > 0)
        watts = np.array([power.get(acc.stations[s], {}).get(STATES[k], 0.0)
                          for s, k in zip(acc.unit_station[u], x, strict=True)])
        elec = float(np.sum(watts * acc.price_seconds[u, x])) / J_PER_KWH
    return _costs(line, kpis, t0, t1, elec, 0.0, 0.0, acc.created)


def _costs(line: S.LineSpec, kpis: dict[str, Any], t0: float, t1: float, elec: float,
           gas_m3: float, materials: float, by_product: dict[str, int]) -> dict[str, Any]:
    """The cost KPIs from electricity [currency], boiler gas [m3], species charged
    [currency] and the parts released by product in the window, plus the KPIs."""
    costs = line.costs
    assert costs is not None
    window_years = (t1 - t0) / YEAR_S
    materials += sum(n * costs.materials.products.get(p, 0.0) for p, n in by_product.items())
    capital = installed_capital(line)
    capex = sum(capital.values())
    out: dict[str, Any] = {
        "cost_electricity": elec,
        "cost_natural_gas": gas_m3 * costs.natural_gas_per_m3,
        "cost_materials": materials,
        "cost_water": float(kpis.get("water_kg", 0.0)) / 1000.0 * costs.process_water_per_m3,
        "cost_labour": _paid_hours(line, t0, t1) * costs.labour_per_h,
        "cost_waste": (float(kpis.get("waste_kg", 0.0)) * costs.waste_per_kg
                       + float(kpis.get("wastewater_kg", 0.0)) / 1000.0
                       * costs.wastewater_per_m3
                       + float(kpis.get("cod_kg", 0.0)) * costs.cod_per_kg),
        "cost_carbon": float(kpis.get("co2e_total_kg", 0.0)) / 1000.0 * costs.carbon_per_t,
        "cost_maintenance": capex * costs.maintenance_share_per_year * window_years,
        "cost_depreciation": sum(capital[n] / c.life_years for n, c in costs.capital.items())
        * window_years,
    }
    total = float(sum(out.values()))
    good = float(kpis.get("good_units", 0) or 0)
    out["cost_total"] = total
    out["cost_per_good_unit"] = total / good if good > 0 else float("nan")
    if line.species:
        kg = float(kpis.get("product_kg", 0.0))
        out["cost_per_kg"] = total / kg if kg > 0 else float("nan")
    out["capital_installed"] = capex
    out.update(_financials(costs, out, kpis, window_years, line))
    return out


def _financials(costs: CostModel, out: dict[str, Any], kpis: dict[str, Any],
                window_years: float, line: S.LineSpec) -> dict[str, float]:
    """NPV, IRR and payback of running all year as in the window (NaN without a price)."""
    nan = {"revenue_per_year": float("nan"), "npv": float("nan"), "irr": float("nan"),
           "payback_years": float("nan")}
    if window_years <= 0:
        return nan
    if costs.price_per_good_unit is not None:
        revenue = float(kpis.get("good_units", 0) or 0) * costs.price_per_good_unit
    elif costs.price_per_kg is not None and line.species:
        revenue = float(kpis.get("product_kg", 0.0)) * costs.price_per_kg
    else:
        return nan
    operating = out["cost_total"] - out["cost_depreciation"]
    cash = (revenue - operating) / window_years
    capex = out["capital_installed"]
    life = max((c.life_years for c in costs.capital.values()), default=10)
    return {"revenue_per_year": revenue / window_years,
            "npv": npv(costs.discount_rate, capex, cash, life),
            "irr": irr(capex, cash, life),
            "payback_years": capex / cash if cash > 0 else float("inf")}


def npv(rate: float, capex: float, cash: float, years: int) -> float:
    """Net present value of ``-capex`` now and ``cash`` at the end of each of ``years``."""
    return -capex + sum(cash / (1.0 + rate) ** y for y in range(1, years + 1))


def irr(capex: float, cash: float, years: int) -> float:
    """Internal rate of return (the rate where :func:`npv` is 0); NaN if none in (-99 %,
    10,000 %)."""
    if capex <= 0 or cash <= 0:
        return float("nan")
    f = lambda r: npv(r, capex, cash, years)  # noqa: E731
    lo, hi = -0.99, 100.0
    if f(lo) * f(hi) > 0:
        return float("nan")
    return float(brentq(f, lo, hi, xtol=1e-12))
