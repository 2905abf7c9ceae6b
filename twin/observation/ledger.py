"""The ledger of flows: electricity by equipment and state, with CO2e and primary energy.

Energy is computed from the recorded state intervals and each station's power draw per state
(E = P * t), over the observation window (after warm-up). Emissions use the line's grid factor
(with its year and source; hour by hour when the grid factor has an hourly profile) and
primary energy the kgce factor of electricity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.data import spec as S
from twin.data.daily import weighted_each
from twin.observation.recorder import STATES
from twin.observation.schema import labels

J_PER_KWH = 3.6e6


def clipped_durations(start: np.ndarray, end: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Length [s] of each interval [start, end) inside the window [t0, t1]."""
    return np.clip(np.minimum(end, t1) - np.maximum(start, t0), 0.0, None)


def electricity(line: S.LineSpec, states: pd.DataFrame, t0: float, t1: float) -> pd.DataFrame:
    """Electricity use by station, server and state in the window [t0, t1] [s].

    Returns
    -------
    pandas.DataFrame
        Columns ``station, server, state, seconds, kwh, kg_co2e, kgce``; one row per
        combination that occurred.
    """
    secs = clipped_durations(states["start"].to_numpy(), states["end"].to_numpy(), t0, t1)
    station, state = labels(states["station"]), labels(states["state"])
    frame = pd.DataFrame({
        "station": station.cat.codes.to_numpy(),
        "server": states["server"].to_numpy(),
        "state": state.cat.codes.to_numpy(),
        "seconds": secs,
    })
    grid = line.energy.grid
    if grid.hourly is not None:  # each interval at the factors of the hours it spans
        start = np.maximum(states["start"].to_numpy(dtype=float), t0)
        frame["grid_s"] = weighted_each(grid.segments(), start, start + secs, secs)
    # added up by codes first (the same rows in the same order: the same sums), so that
    # names are made for one row per combination, not for every state interval
    frame = frame[frame["seconds"] > 0].groupby(["station", "server", "state"], sort=False,
                                                as_index=False).sum()
    for col, names in (("station", station), ("state", state)):
        frame[col] = pd.Series(names.cat.categories[frame[col].to_numpy()]).astype(str)
    return electricity_table(line, frame)


def electricity_table(line: S.LineSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """The electricity ledger (see :func:`electricity`) from seconds in the window by
    ``station, server, state`` (several rows of one combination are added up) and, when
    the grid factor has an hourly profile, ``grid_s``: the integral of the factor over
    those seconds [kg/J x s] (:func:`twin.data.daily.weighted_each`)."""
    frame = frame[frame["seconds"] > 0]
    table = frame.groupby(["station", "server", "state"], sort=True, as_index=False)[
        "seconds"].sum()
    power = {name: st.power.by_state() for name, st in line.stations.items()
             if isinstance(st, S.Equipment)}
    watts = np.array([power.get(n, {}).get(s, 0.0)
                      for n, s in zip(table["station"], table["state"], strict=True)])
    table["kwh"] = watts * table["seconds"].to_numpy() / J_PER_KWH
    grid = line.energy.grid
    if grid.hourly is None:
        table["kg_co2e"] = table["kwh"] * grid.value * J_PER_KWH
    else:  # each interval at the factors of the hours it spans
        if "grid_s" not in frame:
            raise ValueError("an hourly grid factor needs each row's factor integral (grid_s)")
        table["kg_co2e"] = watts * frame.groupby(["station", "server", "state"], sort=True)[
            "grid_s"].sum().to_numpy()
    table["kgce"] = table["kwh"] * line.energy.kgce_per_kwh
    table["state"] = pd.Categorical(table["state"], categories=list(STATES))
    return table.reset_index(drop=True)
