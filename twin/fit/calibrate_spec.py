"""Calibration from a line spec and pilot data files, and the calibrated spec it writes.

The react phase of a process station gives the model (:class:`~twin.fit.calibrate.Reactor`:
k0 and Ea turned into k_ref at T_ref, heats, UA, scheme); lab samples (format ``samples``)
give the observations, their times counted from the start of each batch's react phase in
the batch records (format ``batches``); each batch starts from its first sample of every
species, at the jacket temperature (or its first temperature sample), in the station's
volume. Reactor temperatures come from a time series whose tag map names the signal
``temperature.<station>``. Species are the phase's
reactant (A), product (B) and by-product (C); mass concentrations are converted with the
spec's molar masses.
"""

from __future__ import annotations

import copy
import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.fit.calibrate import R_GAS, Batch, Calibration, CalibrationError, Reactor

SPEC_KEYS = {"ea": ("ea", "J/mol"), "dh": ("dh", "J/mol"), "ua": ("ua", "W/K"),
             "ea_2": ("ea_2", "J/mol"), "dh_2": ("dh_2", "J/mol")}
"""Calibrated parameters written back under the same key of the react phase (k_ref and
k_ref_2 are written as k0 and k0_2)."""


def react_phase(line: Any, station: str) -> tuple[int, Any]:
    """Index and model of the (first) react phase of ``station``'s recipe."""
    st = line.stations.get(station)
    if st is None or getattr(st, "type", "") != "process":
        raise CalibrationError(f"no process station named {station!r}")
    for i, ph in enumerate(st.recipe):
        if ph.phase == "react":
            return i, ph
    raise CalibrationError(f"station {station!r} has no react phase")


def reactor_model(line: Any, station: str, rho_cp: float, t_ref: float | None = None
                  ) -> tuple[Reactor, Any]:
    """The reactor model of a station's react phase, in reference-temperature form
    (T_ref: the jacket temperature unless given)."""
    _, ph = react_phase(line, station)
    t_ref = float(t_ref or ph.jacket)
    return Reactor(
        k_ref=ph.k0 * math.exp(-ph.ea / (R_GAS * t_ref)), ea=ph.ea, t_ref=t_ref, dh=ph.dh,
        ua=ph.ua, rho_cp=rho_cp, scheme=ph.second or "single",
        k_ref_2=ph.k0_2 * math.exp(-ph.ea_2 / (R_GAS * t_ref)) if ph.k0_2 else 0.0,
        ea_2=ph.ea_2, dh_2=ph.dh_2), ph


def batches_from(line: Any, station: str, samples: pd.DataFrame, records: pd.DataFrame,
                 sd: dict[str, float], series: pd.DataFrame | None = None) -> list[Batch]:
    """Batches from clean samples and batch records (see the module docstring); with a
    time series whose tag map names the signal ``temperature.<station>``, its samples
    during each react phase are temperature observations (T) and the first is the batch's
    initial temperature."""
    _, ph = react_phase(line, station)
    names = {ph.reactant: "A", ph.product: "B"} | ({ph.by_product: "C"} if ph.by_product
                                                   else {})
    starts = records[(records["unit"] == station) & (records["phase"] == "react")]
    start = dict(zip(starts["batch"], starts["start"], strict=True))
    end = dict(zip(starts["batch"], starts["end"], strict=True))
    temps = (series[series["signal"] == f"temperature.{station}"]
             if series is not None and "signal" in series else None)
    volume = line.stations[station].volume
    out = []
    for batch, g in samples[samples["species"].isin(names)].groupby("batch", sort=True):
        if batch not in start:
            raise CalibrationError(f"batch {batch!r} has samples but no react phase of "
                                   f"{station!r} in the batch records")
        t = (g["time"] - start[batch]).dt.total_seconds().to_numpy()
        c = g["concentration_si"].to_numpy(dtype=float).copy()
        for i, (sp, basis) in enumerate(zip(g["species"], g["basis"], strict=True)):
            if basis == "mass":
                c[i] /= line.species[sp].molar_mass
        var = np.array([names[s] for s in g["species"]])
        keep = t >= 0
        first = {v: float(c[keep & (var == v)][np.argmin(t[keep & (var == v)])])
                 for v in set(var[keep])}
        t, var, c = t[keep], var[keep], c[keep]
        t0 = ph.jacket
        if temps is not None:
            during = temps[(temps["time"] >= start[batch]) & (temps["time"] <= end[batch])]
            tt = (during["time"] - start[batch]).dt.total_seconds().to_numpy()
            if tt.size:
                t0 = float(during["value_si"].iloc[int(np.argmin(tt))])
                t = np.r_[t, tt]
                var = np.r_[var, np.full(tt.size, "T")]
                c = np.r_[c, during["value_si"].to_numpy(dtype=float)]
        missing = [v for v in var if v not in sd]
        if missing:
            raise CalibrationError(f"no measurement standard deviation for {missing[0]} "
                                   "(give --sd A=...,B=...)")
        out.append(Batch(str(batch), first, t0, volume, ph.jacket, t, var, c,
                         np.array([sd[v] for v in var])))
    if not out:
        raise CalibrationError(f"no samples of {sorted(names)} in the data")
    return out


def data_hash(*paths: str | Path) -> str:
    """SHA-256 of the data files' bytes, in the order given."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def calibrated_spec(spec: dict[str, Any], station: str, index: int, model: Reactor,
                    cal: Calibration) -> dict[str, Any]:
    """A copy of the spec dict with the calibrated parameters of the react phase replaced
    (k_ref back to k0 = k_ref exp(Ea / (R T_ref)))."""
    out = copy.deepcopy(spec)
    phase = out["stations"][station]["recipe"][index]
    est = cal.estimate
    for suffix in ("", "_2"):
        if f"k_ref{suffix}" in est or f"ea{suffix}" in est:
            k_ref = est.get(f"k_ref{suffix}", getattr(model, f"k_ref{suffix}"))
            ea = est.get(f"ea{suffix}", getattr(model, f"ea{suffix}"))
            phase[f"k0{suffix}"] = f"{model.k0(k_ref, ea):.8g} 1/s"
    for p, (key, unit) in SPEC_KEYS.items():
        if p in est:
            phase[key] = f"{est[p]:.8g} {unit}"
    return out
