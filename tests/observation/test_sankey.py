"""Sankey data (material and energy) against the stored tables of a process run: every node
closes, the window is the observation window, and the totals equal the ledger's tables
(balance, utilities, energy) recomputed independently from the flows and phases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from twin.observation.flows import J_PER_KWH
from twin.observation.sankey import (
    AMBIENT,
    GAS,
    GRID,
    INVENTORY_END,
    INVENTORY_START,
    LOSSES,
    OUT_NODES,
    RAW,
    energy_sankey,
    material_sankey,
)
from twin.orchestration.run import run

LINE = Path(__file__).resolve().parents[2] / "lines" / "api_batch" / "line.toml"


@pytest.fixture(scope="module")
def batch() -> Any:
    return run(LINE, duration="4 d", warmup="1 d", seed=3)


def _window(result: Any) -> tuple[float, float]:
    s = result.provenance["settings"]
    return s["warmup_s"], s["warmup_s"] + s["duration_s"]


def _closes(sk: Any, node: str) -> None:
    scale = max(1.0, sk.inflow(node), sk.outflow(node))
    assert sk.inflow(node) == pytest.approx(sk.outflow(node), abs=1e-9 * scale), node


def test_material_every_unit_closes_and_in_is_out_plus_inventory(batch: Any) -> None:
    t0, t1 = _window(batch)
    sk = material_sankey(batch.tables["flows"], t0, t1)
    units = {n for n, k in sk.kinds.items() if k == "unit"}
    assert {"reactor", "crystalliser", "filter", "dryer"} <= units
    for n in units:
        _closes(sk, n)
    outs = sum(sk.inflow(n) for n in OUT_NODES.values())
    assert sk.outflow(RAW) + sk.outflow(INVENTORY_START) == pytest.approx(
        outs + sk.inflow(INVENTORY_END), rel=1e-12)
    assert sk.inflow(INVENTORY_START) == 0 and sk.outflow(INVENTORY_END) == 0
    # unit-to-unit transfers follow the route of the batches
    assert sk.links[("reactor", "crystalliser")] > 0
    assert sk.links[("filter", "dryer")] > 0
    # the window: raw materials and outputs are the flows from t0 on (pandas, not the module)
    flows = batch.tables["flows"]
    window = flows[flows["time"] >= t0]
    assert sk.outflow(RAW) == pytest.approx(window.loc[window["kind"] == "input", "kg"].sum())
    assert sk.inflow("product") == pytest.approx(window.loc[window["kind"] == "output",
                                                            "kg"].sum())
    held_at_start = (flows.loc[flows["time"] < t0, "kg"]
                     * flows.loc[flows["time"] < t0, "kind"].map(
                         lambda k: 1.0 if k in ("input", "transformation") else -1.0)).sum()
    assert sk.outflow(INVENTORY_START) == pytest.approx(held_at_start, rel=1e-9)


def test_material_over_the_whole_run_equals_the_balance_table(batch: Any) -> None:
    _, t1 = _window(batch)
    sk = material_sankey(batch.tables["flows"], 0.0, t1)
    balance = batch.tables["balance"]
    assert sk.outflow(RAW) == pytest.approx(balance["input"].sum(), rel=1e-12)
    for kind, node in OUT_NODES.items():
        assert sk.inflow(node) == pytest.approx(balance[kind].sum(), rel=1e-12, abs=1e-9)
    # what the model says its vessels hold at the end (not derived from the flows)
    assert sk.inflow(INVENTORY_END) == pytest.approx(balance["inventory"].sum(), rel=1e-9)
    assert sk.outflow(INVENTORY_START) == 0


def test_energy_carriers_as_delivered_over_the_observation_window(batch: Any) -> None:
    t0, t1 = _window(batch)
    line = batch.line
    sk = energy_sankey(line, batch.tables["states"], batch.tables["phases"], t0, t1)
    for node in sk.nodes:
        if sk.kinds[node] == "plant":
            _closes(sk, node)
    # equipment electricity: the stored energy table (the observation window) by station
    energy = batch.tables["energy"].groupby("station", observed=True)["kwh"].sum()
    for station, kwh in energy.items():
        if kwh > 0:
            assert sk.links[(GRID, str(station))] == pytest.approx(kwh, rel=1e-12)
    # utilities over phases ending in the window, recomputed from the phases table
    phases = batch.tables["phases"]
    phases = phases[(phases["end"] >= t0) & (phases["end"] <= t1)]
    heat = phases.groupby("utility")["heat_J"].sum() / J_PER_KWH
    steam, chilled = line.utilities["steam"], line.utilities["chilled_water"]
    gas_kwh = heat["steam"] / steam.boiler_efficiency
    assert sk.outflow(GAS) == pytest.approx(gas_kwh, rel=1e-9)
    assert sk.inflow(LOSSES) == pytest.approx(gas_kwh * (1 - steam.boiler_efficiency), rel=1e-9)
    # cooling duty flows out of the units into the chiller; the grid gives only its electricity
    chiller = next(n for n in sk.nodes if n.startswith("chilled_water"))
    assert sk.links[(GRID, chiller)] == pytest.approx(heat["chilled_water"] / chilled.cop,
                                                      rel=1e-9)
    assert sk.inflow(chiller) == pytest.approx(heat["chilled_water"] * (1 + 1 / chilled.cop),
                                               rel=1e-9)
    assert sk.links[(chiller, AMBIENT)] == pytest.approx(sk.inflow(chiller), rel=1e-12)
    assert not any(a == GRID and sk.kinds[b] == "unit" and b not in energy.index.astype(str)
                   for a, b in sk.links)


def test_the_sankey_matches_the_kpis_of_the_window(batch: Any) -> None:
    """Gas and utility electricity of the diagram are the KPI figures of the same window."""
    t0, t1 = _window(batch)
    line = batch.line
    sk = energy_sankey(line, batch.tables["states"], batch.tables["phases"], t0, t1)
    plants = [n for n in sk.nodes if sk.kinds[n] == "plant"]
    grid_to_plants = sum(sk.links.get((GRID, p), 0.0) for p in plants)
    assert grid_to_plants == pytest.approx(batch.kpis["utility_electricity_kwh"], rel=1e-9)
    gas_m3 = sk.outflow(GAS) * J_PER_KWH / line.energy.natural_gas_lhv
    assert gas_m3 == pytest.approx(batch.kpis["natural_gas_m3"], rel=1e-9)


def test_an_empty_window_gives_an_empty_material_sankey() -> None:
    empty = pd.DataFrame({"time": [], "part": [], "station": [], "kind": [], "kg": []})
    assert material_sankey(empty, 0.0, 1.0).as_dict()["links"] == []
