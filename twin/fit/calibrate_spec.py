"""Calibration from a line spec and pilot data files, and the calibrated spec it writes.

The first react, ferment, dry or crystallise phase of a process station (or the one named)
gives the model (:class:`~twin.fit.calibrate.Reactor`: k0 and Ea turned into k_ref at
T_ref, heats, UA, scheme; :class:`~twin.fit.kinetic_models.Network` for a react phase with
``reactions``: every reaction's constants, orders and heat, UA;
:class:`~twin.fit.calibrate.Fermenter`: Monod, yields, kLa, the feed;
:class:`~twin.fit.kinetic_models.Dryer`: drying constants;
:class:`~twin.fit.kinetic_models.Crystalliser`: nucleation and growth). Lab samples (format
``samples``) give the observations, their times counted from the start of each batch's
phase in the batch records (format ``batches``, phase column = the phase kind or its name);
each batch starts from its first sample of every observed variable. What a sample measures
(species and quantity) maps to a model variable (:func:`observed`): concentrations of the
reactant (A), product (B) and by-product (C) of a react phase, of the network's species, or
of the biomass (X), substrate (S) and oxygen (O) of a ferment phase (converted between molar
and mass basis with the spec's molar masses); the dryer's solvent moisture (X, kg/kg dry);
the crystalliser's solute mass ratio (C) and crystal sizes and moments. Batch temperatures
come from a time series whose tag map names the signal ``temperature.<station>``: observed
(T) in a reactor and a dryer, and the first one is the batch's start temperature (else
``t_start``; a reactor defaults to its jacket). A reactor batch is in the station's working
volume; a network batch starts, for species it has no sample of, from what the recipe
charged before the react phase, in the volume of that charge (which also gives rho cp). A
dryer batch's dry mass is the wet mass charged in its batch record over 1 + its first
moisture (or the mass discharged over 1 + its last); a crystalliser batch cools over its
phase's duration in the batch records, its seeds spread over the solvent charged (the
solution charged over 1 + its first solute mass ratio).
"""

from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.data import process as P
from twin.data import spec as S
from twin.data.reactions import equilibrium_unit, rate_unit
from twin.fit.calibrate import (
    R_GAS,
    Batch,
    Calibration,
    CalibrationError,
    Fermenter,
    Model,
    Reactor,
)
from twin.fit.kinetic_models import Crystalliser, Dryer, Network
from twin.kernels.scaleup import kla_van_t_riet
from twin.process.network import kinetics_of

REACTOR_KEYS = {"ea": ("ea", "J/mol"), "dh": ("dh", "J/mol"), "ua": ("ua", "W/K"),
                "ea_2": ("ea_2", "J/mol"), "dh_2": ("dh_2", "J/mol")}
"""Calibrated reactor parameters written back under the same key of the react phase (k_ref
and k_ref_2 are written as k0 and k0_2)."""
PHASE_KEYS = {
    "ferment": {"mu_max": "1/s", "ks": "kg/m3", "ko": "kg/m3", "y_xs": "", "y_xo": "",
                "m_s": "1/s", "kla": "1/s", "c_star": "kg/m3"},
    "dry": {"h_conv": "W/(m2*K)", "k_mass": "m/s", "critical_content": "",
            "equilibrium_content": ""},
    "crystallise": {"k_b": "", "b": "", "k_g": "", "g": ""},
}
"""Calibrated parameters of the ferment, dry and crystallise phases: each is the phase key
of its name, written in this unit (blank: a bare number, as the spec has it)."""
PHASES = ("react", "ferment", "dry", "crystallise")
"""Phase kinds ``twin calibrate`` fits."""


def process_phase(line: Any, station: str, phase: str | None = None) -> tuple[int, Any]:
    """Index and model of the phase called (or of the kind) ``phase`` of ``station``'s
    recipe; default: its first react, ferment, dry or crystallise phase."""
    st = line.stations.get(station)
    if not isinstance(st, S.Process):
        raise CalibrationError(f"no process station named {station!r}")
    for i, ph in enumerate(st.recipe):
        if phase is None and ph.phase in PHASES:
            return i, ph
        if phase is not None and phase in (ph.phase, ph.name):
            if ph.phase not in PHASES:
                raise CalibrationError(f"phase {phase!r} of {station!r} is a {ph.phase} "
                                       f"phase (calibrated phases: {', '.join(PHASES)})")
            return i, ph
    raise CalibrationError(f"station {station!r} has no " + (
        f"phase {phase!r}" if phase else f"{', '.join(PHASES)} phase"))


def model_for(line: Any, station: str, rho_cp: float = 4.0e6, t_ref: float | None = None,
              *, phase: str | None = None, cp_dry: float | None = None
              ) -> tuple[Model, Any]:
    """The kernel model of a station's react phase (Arrhenius pairs in reference-temperature
    form, T_ref the jacket temperature unless given), ferment phase (kLa from van 't Riet
    when the spec gives power and gas velocity instead), dry phase (the solvent's
    properties from the spec; the dry solid's heat capacity ``cp_dry`` [J/(kg K)], default
    the mean of the line's solid species) or crystallise phase."""
    index, ph = process_phase(line, station, phase)
    if ph.phase == "dry":
        return _dryer(line, ph, cp_dry), ph
    if ph.phase == "crystallise":
        return Crystalliser(solubility=tuple(ph.solubility), k_b=ph.k_b, b=ph.b, k_g=ph.k_g,
                            g=ph.g, rho_c=ph.crystal_density), ph
    if isinstance(ph, P.ReactNetwork):
        kin = kinetics_of(ph)
        if t_ref is not None and t_ref != kin.t_ref:  # k_ref moved to the asked T_ref
            kin = kin.replace({f"{r}.k_ref": float(k * math.exp(-ea / R_GAS * (
                1 / t_ref - 1 / kin.t_ref))) for r, k, ea in zip(kin.reactions, kin.k_ref,
                                                                kin.ea, strict=True)})
            kin = replace(kin, t_ref=float(t_ref))
        _, volume, cap = _charge(line, station, index)
        return Network(kin, ua=ph.ua, rho_cp=cap / volume if cap else rho_cp,
                       isothermal=ph.isothermal), ph
    if ph.phase == "ferment":
        kla = ph.kla if ph.kla is not None else kla_van_t_riet(
            ph.power_per_volume, ph.gas_velocity, ph.coalescing)
        return Fermenter(mu_max=ph.mu_max, ks=ph.ks, y_xs=ph.y_xs, y_xo=ph.y_xo, kla=kla,
                         c_star=ph.c_star, ko=ph.ko, m_s=ph.m_s), ph
    t_ref = float(t_ref or ph.jacket)
    return Reactor(
        k_ref=ph.k0 * math.exp(-ph.ea / (R_GAS * t_ref)), ea=ph.ea, t_ref=t_ref, dh=ph.dh,
        ua=ph.ua, rho_cp=rho_cp, scheme=ph.second or "single",
        k_ref_2=ph.k0_2 * math.exp(-ph.ea_2 / (R_GAS * t_ref)) if ph.k0_2 else 0.0,
        ea_2=ph.ea_2, dh_2=ph.dh_2), ph


def _charge(line: Any, station: str, index: int) -> tuple[dict[str, float], float, float]:
    """Moles [mol] per species charged by the recipe before phase ``index``, their liquid
    volume [m3] (the station's volume if nothing is charged) and heat capacity [J/K]."""
    moles: dict[str, float] = {}
    volume = cap = 0.0
    for ph in line.stations[station].recipe[:index]:
        for sp, kg in getattr(ph, "materials", {}).items() if ph.phase == "charge" else ():
            s = line.species[sp]
            moles[sp] = moles.get(sp, 0.0) + kg / s.molar_mass
            volume += kg / s.density
            cap += kg * s.cp
    return moles, volume or line.stations[station].volume, cap


def _dryer(line: Any, ph: P.Dry, cp_dry: float | None) -> Dryer:
    """The drying model of a dry phase (dry mass per batch, from its batch record)."""
    solvent = line.species[ph.solvent]
    if solvent.dh_vap is None or solvent.t_boil is None:
        raise CalibrationError(f"species {ph.solvent} needs dh_vap and t_boil to be dried")
    if cp_dry is None:
        solids = [s.cp for s in line.species.values() if s.state == "solid"]
        if not solids:
            raise CalibrationError("the line has no solid species to take the dry solid's "
                                   "heat capacity from: give it (--cp-dry)")
        cp_dry = float(np.mean(solids))
    return Dryer(area=ph.area, m_dry=1.0, cp_dry=cp_dry, cp_solvent=solvent.cp,
                 molar_mass=solvent.molar_mass, dh_vap=solvent.dh_vap, t_boil=solvent.t_boil,
                 h_conv=ph.h_conv, k_mass=ph.k_mass, critical_content=ph.critical_content,
                 equilibrium_content=ph.equilibrium_content)


def observed(ph: Any) -> dict[tuple[str, str], str]:
    """What the model of phase ``ph`` observes: (species, sample quantity) -> variable."""
    if isinstance(ph, P.ReactNetwork):
        return {(s, "concentration"): s for s in ph.species_names()}
    if ph.phase == "ferment":
        return {(ph.biomass, "concentration"): "X", (ph.substrate, "concentration"): "S",
                (ph.oxygen, "concentration"): "O"}
    if ph.phase == "dry":
        return {(ph.solvent, "moisture"): "X"}
    if ph.phase == "crystallise":
        return {(ph.solute, "mass_ratio"): "C", (ph.crystal, "sauter_mean_size"): "L32",
                (ph.crystal, "number_mean_size"): "L10", (ph.crystal, "moment_0"): "N",
                (ph.crystal, "moment_1"): "mu1", (ph.crystal, "moment_2"): "mu2",
                (ph.crystal, "moment_3"): "mu3"}
    return {(ph.reactant, "concentration"): "A", (ph.product, "concentration"): "B"} | (
        {(ph.by_product, "concentration"): "C"} if ph.by_product else {})


def _values(line: Any, ph: Any, g: pd.DataFrame) -> np.ndarray:
    """Sample values in the model's units (SI); concentrations in the model's basis: mol/m3
    (reactor) or kg/m3 (fermenter), converted with the spec's molar masses where the sample
    has the other basis."""
    c = g["value_si"].to_numpy(dtype=float).copy()
    want = "mass" if ph.phase == "ferment" else "molar"
    for i, (sp, basis) in enumerate(zip(g["species"], g["basis"], strict=True)):
        if basis and basis != want:
            mm = line.species[sp].molar_mass
            c[i] = c[i] * mm if want == "mass" else c[i] / mm
    return c


def _conditions(ph: Any, batch: str, record: Any, first: dict[str, float],
                last: dict[str, float]) -> dict[str, float]:
    """Per-batch settings of a dryer (dry mass [kg]) or crystalliser (cooling time [s],
    seeds [kg/kg solvent] and their size [m]) from the batch's record and samples."""
    where = f"batch {batch!r} (batch records row {record.row})"
    if ph.phase == "dry":
        if np.isfinite(record.charged_kg) and "X" in first:
            return {"m_dry": record.charged_kg / (1.0 + first["X"])}
        if np.isfinite(record.discharged_kg) and "X" in last:
            return {"m_dry": record.discharged_kg / (1.0 + last["X"])}
        raise CalibrationError(f"{where}: the dry phase states neither the wet mass charged "
                               "nor the mass discharged (with moisture samples they give the "
                               "dry mass)")
    if ph.phase != "crystallise":
        return {}
    out = {"t_cool": (record.end - record.start).total_seconds(), "seed_mass": 0.0,
           "seed_size": ph.seed_size}
    if not out["t_cool"] > 0:
        raise CalibrationError(f"{where}: the crystallise phase takes no time (it cools "
                               "over the phase's duration)")
    if ph.seed_mass > 0:
        if not np.isfinite(record.charged_kg) or "C" not in first:
            raise CalibrationError(f"{where}: a seeded crystallisation needs the solution "
                                   "charged (column charged) and a sample of the solute's "
                                   "mass_ratio, which give the solvent the seeds spread over")
        out["seed_mass"] = ph.seed_mass / (record.charged_kg / (1.0 + first["C"]))
    return out


def batches_from(line: Any, station: str, samples: pd.DataFrame, records: pd.DataFrame,
                 sd: dict[str, float], series: pd.DataFrame | None = None, *,
                 phase: str | None = None, t_start: float | None = None) -> list[Batch]:
    """Batches from clean samples and batch records (see the module docstring); with a
    time series whose tag map names the signal ``temperature.<station>``, its samples
    during each phase are temperature observations (T; reactors and dryers) and the first
    is the batch's initial temperature (else ``t_start`` [K])."""
    index, ph = process_phase(line, station, phase)
    names = observed(ph)
    rows = records[(records["unit"] == station) & records["phase"].isin([ph.phase, ph.name])]
    rec = {r.batch: r for r in rows.itertuples(index=False)}
    temps = (series[series["signal"] == f"temperature.{station}"]
             if series is not None and "signal" in series else None)
    volume = line.stations[station].volume if ph.phase in ("react", "ferment") else 1.0
    charged: dict[str, float] = {}
    if isinstance(ph, P.ReactNetwork):
        moles, volume, _ = _charge(line, station, index)
        charged = {s: n / volume for s, n in moles.items() if (s, "concentration") in names}
    jacket = {"dry": "air_temperature", "crystallise": "to"}.get(ph.phase, "jacket")
    jacket = getattr(ph, jacket, 0.0)
    feed = {} if ph.phase != "ferment" else {
        "s_feed": ph.feed_concentration, "f0": ph.feed_rate, "mu_feed": ph.feed_exponent,
        "t_feed_start": ph.feed_start.mean() if ph.feed_start is not None else 0.0}
    keys = pd.Series(list(zip(samples["species"], samples["quantity"], strict=True)),
                     index=samples.index, dtype=object)
    out = []
    for batch, g in samples[keys.isin(list(names))].groupby("batch", sort=True):
        if batch not in rec:
            raise CalibrationError(f"batch {batch!r} has samples but no {ph.phase} phase of "
                                   f"{station!r} in the batch records")
        r = rec[batch]
        t = (g["time"] - r.start).dt.total_seconds().to_numpy()
        c = _values(line, ph, g)
        var = np.array([names[k] for k in zip(g["species"], g["quantity"], strict=True)])
        keep = t >= 0
        t, var, c = t[keep], var[keep], c[keep]
        first = {v: float(c[var == v][np.argmin(t[var == v])]) for v in set(var)}
        last = {v: float(c[var == v][np.argmax(t[var == v])]) for v in set(var)}
        t0 = t_start if t_start is not None else (jacket if ph.phase == "react" else None)
        if temps is not None:
            during = temps[(temps["time"] >= r.start) & (temps["time"] <= r.end)]
            tt = (during["time"] - r.start).dt.total_seconds().to_numpy()
            if tt.size:
                t0 = float(during["value_si"].iloc[int(np.argmin(tt))])
                if ph.phase in ("react", "dry"):
                    t = np.r_[t, tt]
                    var = np.r_[var, np.full(tt.size, "T")]
                    c = np.r_[c, during["value_si"].to_numpy(dtype=float)]
        if t0 is None and ph.phase in ("dry", "crystallise"):
            raise CalibrationError(f"batch {batch!r}: no temperature at the start of its "
                                   f"{ph.phase} phase (give a time series of "
                                   f"temperature.{station}, or the start temperature)")
        missing = [v for v in var if v not in sd]
        if missing:
            raise CalibrationError(f"no measurement standard deviation for {missing[0]} "
                                   "(give --sd A=...,B=...)")
        out.append(Batch(str(batch), charged | first, t0 if t0 is not None else 0.0, volume,
                         jacket, t, var, c,
                         np.array([sd[v] for v in var]), feed,
                         _conditions(ph, str(batch), r, first, last)))
    if not out:
        raise CalibrationError("no samples of " + ", ".join(
            f"{s} ({q})" for s, q in names) + f" in the data for the {ph.phase} phase")
    return out


def data_hash(*paths: str | Path) -> str:
    """SHA-256 of the data files' bytes, in the order given."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def calibrated_spec(spec: dict[str, Any], station: str, index: int, model: Model,
                    cal: Calibration) -> dict[str, Any]:
    """A copy of the spec dict with the calibrated parameters of the phase replaced (k_ref
    back to k0 = k_ref exp(Ea / (R T_ref)))."""
    out = copy.deepcopy(spec)
    phase = out["stations"][station]["recipe"][index]
    est = cal.estimate
    if isinstance(model, Network):
        _write_network(phase, model, est)
        return out
    if isinstance(model, Fermenter | Dryer | Crystalliser):
        kind = {Fermenter: "ferment", Dryer: "dry", Crystalliser: "crystallise"}[type(model)]
        for p, unit in PHASE_KEYS[kind].items():
            if p in est:
                phase[p] = f"{est[p]:.8g} {unit}" if unit else float(f"{est[p]:.8g}")
        return out
    for suffix in ("", "_2"):
        if f"k_ref{suffix}" in est or f"ea{suffix}" in est:
            k_ref = est.get(f"k_ref{suffix}", getattr(model, f"k_ref{suffix}"))
            ea = est.get(f"ea{suffix}", getattr(model, f"ea{suffix}"))
            phase[f"k0{suffix}"] = f"{model.k0(k_ref, ea):.8g} 1/s"
    for p, (key, unit) in REACTOR_KEYS.items():
        if p in est:
            phase[key] = f"{est[p]:.8g} {unit}"
    return out


def _write_network(phase: dict[str, Any], model: Network, est: dict[str, float]) -> None:
    """Write a network's calibrated parameters into the spec dict of its react phase:
    rate constants as k at T_ref (or k0 where the phase gives k0), in the units of their
    (possibly refitted) orders."""
    kin = model.kinetics.replace({p: v for p, v in est.items() if "@" not in p and p != "ua"})
    if "ua" in est:
        phase["ua"] = f"{est['ua']:.8g} W/K"
    phase["t_ref"] = f"{kin.t_ref!r} K"
    for j, rx in enumerate(phase["reactions"]):
        name = kin.reactions[j]
        if not any(p.startswith(f"{name}.") for p in est):
            continue
        fwd = float(kin.orders[j].sum())
        bwd = float(kin.orders_back[j].sum())
        if "k0" in rx:
            rx["k0"] = f"{kin.k_ref[j] * math.exp(kin.ea[j] / (R_GAS * kin.t_ref)):.8g} " \
                f"{rate_unit(fwd)}"
        else:
            rx["k"] = f"{kin.k_ref[j]:.8g} {rate_unit(fwd)}"
        rx["ea"], rx["dh"] = f"{kin.ea[j]:.8g} J/mol", f"{kin.dh[j]:.8g} J/mol"
        if "k_reverse" in rx:
            rx["k_reverse"] = f"{kin.k2[j]:.8g} {rate_unit(bwd)}"
            rx["ea_reverse"] = f"{kin.e2[j]:.8g} J/mol"
        if "K" in rx:  # its unit follows the orders (rewritten even if only they moved)
            unit = equilibrium_unit(bwd - fwd)
            rx["K"] = (float(f"{kin.k2[j]:.8g}") if unit == "dimensionless" else
                       f"{kin.k2[j]:.8g} {unit}")
        if any(p.startswith(f"{name}.order.") for p in est):
            rx["orders"] = {s: float(f"{kin.orders[j, i]:.8g}")
                            for i, s in enumerate(kin.species) if kin.orders[j, i] > 0}
