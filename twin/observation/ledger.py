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
    keys = ["station", "server", "state"]
    table = frame.groupby(keys, sort=True, as_index=False)["seconds"].sum()
    grid_s = None
    if line.energy.grid.hourly is not None:
        if "grid_s" not in frame:
            raise ValueError("an hourly grid factor needs each row's factor integral (grid_s)")
        grid_s = frame.groupby(keys, sort=True)["grid_s"].sum().to_numpy()
    return electricity_rows(line, table["station"].tolist(), table["server"].to_numpy(),
                            table["state"].tolist(), table["seconds"].to_numpy(), grid_s)


def electricity_rows(line: S.LineSpec, station: list[str], server: np.ndarray,
                     state: list[str], seconds: np.ndarray, grid_s: np.ndarray | None
                     ) -> pd.DataFrame:
    """The electricity ledger from one row per ``station, server, state`` in that sorted
    order: seconds in the window [s] and, with an hourly grid factor, the factor's integral
    over them (``grid_s`` [kg/J x s]); :func:`electricity_table` adds rows up first."""
    power = {name: st.power.by_state() for name, st in line.stations.items()
             if isinstance(st, S.Equipment)}
    watts = np.array([power.get(n, {}).get(s, 0.0) for n, s in zip(station, state, strict=True)],
                     dtype=float)
    kwh = watts * seconds / J_PER_KWH
    grid = line.energy.grid
    if grid.hourly is None:
        co2 = kwh * grid.value * J_PER_KWH
    else:  # each interval at the factors of the hours it spans
        if grid_s is None:
            raise ValueError("an hourly grid factor needs each row's factor integral (grid_s)")
        co2 = watts * grid_s
    return pd.DataFrame({
        "station": pd.array(station, dtype="str"), "server": np.asarray(server),
        "state": pd.Categorical(state, categories=list(STATES)),
        "seconds": np.asarray(seconds, float), "kwh": kwh, "kg_co2e": co2,
        "kgce": kwh * line.energy.kgce_per_kwh})
