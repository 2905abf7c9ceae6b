"""Thermal safety of a unit's reaction, from its spec (no clock, no engine run).

The react phase is the legacy one (one reaction, series or parallel pair: reactor kernel) or
a reaction network (network kernel); every function below covers both but
:func:`monte_carlo` (UA, Ea and k0 of the legacy phase).

- :func:`reaction_entry`: the batch as it enters the react phase (earlier phases computed with
  their mean durations);
- :func:`semenov`: heat generation at the process temperature against the jacket, and the
  Semenov cooling check (:func:`twin.kernels.semenov.semenov_check`): the cooling ratio and
  whether the batch is actually cooling-limited;
- :func:`max_technical_temperature`: the MTT (lowest boiling point of the VOCs charged);
- :func:`cooling_failure_scan`: the worst loss of cooling during the reaction (reactor kernel);
- :func:`assessment`: Stoessel class, severity and alarms (:func:`twin.kernels.safety.assess`);
- :func:`monte_carlo`: the peak temperature under uncertain UA, Ea and k0, both as the
  recipe runs it (stopped at its temperature limit ``t_max``) and uncapped (what the batch
  would reach without the stop: the figure the safety statistics use).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from twin.data import process as P
from twin.data import spec as S
from twin.data.calibration import draws, phase_updates
from twin.kernels import safety
from twin.kernels import scaleup as rules
from twin.kernels.semenov import semenov_check
from twin.kernels.thermo import R
from twin.process import phases as ph
from twin.process.materials import Materials
from twin.process.network import heat_per_mole, kinetics_of, network_inputs

ReactPhase = P.React | P.ReactNetwork


def mean_duration(phase: Any) -> float:
    """Mean duration of a phase's distribution [s] (deterministic pre-calculation)."""
    dist = getattr(phase, "duration", None) or getattr(phase, "time", None)
    return float(dist.mean()) if dist is not None else 0.0


def reaction_entry(line: S.LineSpec, unit: str
                   ) -> tuple[np.ndarray, float, ReactPhase, Materials]:
    """Batch composition [kg] and temperature [K] entering the unit's react phase, and the
    phase itself (phases before it are computed with their mean durations)."""
    st = line.stations[unit]
    if not isinstance(st, S.Process):
        raise ValueError(f"{unit!r} is not a process unit of line {line.line.name!r}")
    mat = Materials.from_spec(line.species)
    mass, temp = np.zeros(len(mat.names)), 298.15
    for phase in st.recipe:
        if isinstance(phase, ReactPhase):
            return mass, temp, phase, mat
        out = ph.compute(phase, st, unit, mass, temp, mat, mean_duration)
        for code, kind, kg in out.flows:
            mass[code] += kg if kind in ("input", "transformation") else -kg
        temp = out.temperature if out.temperature is not None else temp
    raise ValueError(f"{unit!r} has no react phase")


def semenov(line: S.LineSpec, unit: str) -> dict[str, Any]:
    """Heat generation at the start of the reaction against the jacket, and the cooling check.

    Generation ``(-dH) k(Tp) n_A0`` [W] (first order in A, all of A present, at the process
    temperature Tp the batch enters the reaction with); removal ``UA (Tp - Tj)`` [W]. The
    check (:func:`twin.kernels.semenov.semenov_check`) gives the cooling ratio (generation to
    removal at Semenov's critical temperature: >= 1, no stable operating point), the stable
    temperature rise above Tp, and ``cooling_limited`` only where the jacket cannot hold the
    batch. Also the adiabatic rise ``dt_ad_K`` and the vessel's A/V [1/m]. A reaction
    network: see :func:`network_heat`.
    """
    mass, tp, react, mat = reaction_entry(line, unit)
    cap = float(mass @ mat.cp)
    volume = float((mass / mat.density).sum())
    if isinstance(react, P.ReactNetwork):
        generation, ea, releasable = network_heat(react, mass, tp, mat)
    else:
        n_a0 = mass[mat.code(react.reactant)] / mat.molar_mass[mat.code(react.reactant)]
        n_a0 *= 1.0 - react.dose_fraction
        releasable = float(-react.dh * n_a0)
        k = react.k0 * math.exp(-react.ea / (R * tp))
        generation, ea = float(-react.dh * k * n_a0), react.ea
    check = semenov_check(max(generation, 0.0), tp, ea, react.ua, react.jacket)
    return {"process_temperature_K": tp, "generation_W": generation, "removal_W": check.removal,
            "cooling_ratio": check.ratio, "stable_rise_K": check.stable_rise,
            "cooling_limited": check.limited, "flags": list(check.flags),
            "dt_ad_K": releasable / cap if cap else math.nan,
            "area_per_volume_1_m": rules.vessel_geometry(volume).area_per_volume}


def _network_start(react: P.ReactNetwork, mass: np.ndarray, tp: float, mat: Materials
                   ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """Kinetics, kernel parameters, initial state and moles [mol] (charged and dosed) of a
    network's batch at ``tp`` [K], dosing over its mean dose time."""
    kin = kinetics_of(react)
    t_dose = float(react.dose_time.mean()) if react.dose_time is not None and react.dose \
        else 0.0
    p, y0, moles = network_inputs(react, kin, mass, tp, mat, t_dose)
    return kin, p, y0, moles


def network_heat(react: P.ReactNetwork, mass: np.ndarray, tp: float, mat: Materials
                 ) -> tuple[float, float, float]:
    """Heat generation [W] at the start of a network's reaction, its effective activation
    energy [J/mol] and the releasable heat of the batch [J].

    Generation: sum over reactions of (-dH_j) r_j V, each net rate r_j at the batch's
    concentrations (the dosed share not yet in) and Tp (the kernel's own rate law). The
    effective activation energy weights each reaction's by its heat generation, so that
    d ln q / dT = Ea_eff / (R Tp^2) as for the single reaction of the Semenov check (exact
    for irreversible reactions; a backward rate is taken at the forward Ea). Releasable heat:
    the network kernel's linear-programming bound sum_i h_i n_i over everything charged and
    dosed (exact for one irreversible exothermic reaction: (-dH) n_A).
    """
    from twin.kernels.rhs import network as nm

    kin, p, y0, moles = _network_start(react, mass, tp, mat)
    ns = len(kin.species)
    volume = float(y0[ns + nm.VOL])
    q = np.array([-kin.dh[j] * nm.rate(j, tp, y0, p) * volume
                  for j in range(len(kin.reactions))])
    generation = float(q.sum())
    ea = float(q @ kin.ea / generation) if generation > 0 else float(kin.ea.max())
    h = heat_per_mole(kin.nu, kin.dh, kin.mode != 0, moles)
    return generation, ea, float(h @ moles)


def max_technical_temperature(line: S.LineSpec, unit: str) -> float:
    """Maximum technical temperature: the lowest boiling point of the VOCs charged [K]."""
    mass, _, _, mat = reaction_entry(line, unit)
    boils = [mat.t_boil[i] for i in np.flatnonzero(mass > 0) if math.isfinite(mat.t_boil[i])]
    return float(min(boils)) if boils else math.nan


def cooling_failure_scan(line: S.LineSpec, unit: str, n_grid: int = 12) -> Any:
    """The worst loss of jacket cooling during the unit's reaction (kernel simulation: the
    normal phase to the failure time, then adiabatic; see twin.kernels.safety)."""
    mass, temp, react, mat = reaction_entry(line, unit)
    normal = ph.compute(react, line.stations[unit], unit, mass.copy(), temp, mat, mean_duration)
    if isinstance(react, P.ReactNetwork):
        return _network_worst_failure(react, mass, temp, mat, normal.duration, unit, n_grid)
    p, y0, t_end = ph.reactor_inputs(react, mass, temp, mat)
    scan = safety.worst_cooling_failure(p, y0, t_phase=normal.duration, unit=unit,
                                        phase=react.name or "react", t_end=t_end,
                                        n_grid=n_grid)
    return scan.worst


def _network_worst_failure(react: P.ReactNetwork, mass: np.ndarray, temp: float,
                           mat: Materials, t_phase: float, unit: str, n_grid: int,
                           completion: float = 1e-7) -> safety.CoolingFailure:
    """The worst loss of cooling of a network's batch: the scenario of
    :func:`twin.kernels.safety.cooling_failure` (normal phase to the failure; then no jacket
    heat transfer, no dosing, no temperature abort, followed to ``max_time``) at the failure
    times of :func:`twin.kernels.safety.worst_cooling_failure` (an even grid over the normal
    phase, the time of its highest accumulation and of its highest kernel MTSR), run by the
    network kernel."""
    from twin.kernels import network as kn
    from twin.kernels.rhs import network as nm

    kin, p, y0, moles = _network_start(react, mass, temp, mat)
    ns, name = len(kin.species), react.name or "react"
    h = heat_per_mole(kin.nu, kin.dh, kin.mode != 0, moles)
    t_end = float(react.max_time.mean()) if react.max_time is not None \
        else ph.DEFAULT_MAX_REACTION_TIME

    def run(q: np.ndarray, y: np.ndarray, t: float, phase: str, n_out: int = 200) -> Any:
        return kn.run_network_phase(q, y, species=kin.species, t_end=t, unit=unit,
                                    phase=phase, rtol=1e-8, n_out=n_out)

    normal = run(p, y0, t_phase, name)
    prof = normal.profile
    times = set(np.linspace(0.0, normal.duration, n_grid + 1).tolist())
    times.update((float(prof[int(np.argmax(prof[:, kn.P_X_ACC])), kn.P_TIME]),
                  normal.totals["max_mtsr_time_s"]))
    adiabatic = p.copy()
    adiabatic[[nm.UA, nm.ISOTHERMAL, nm.FEED_RATE, nm.T_DOSE]] = 0.0
    adiabatic[nm.T_MAX], adiabatic[nm.X_TARGET] = math.inf, 2.0
    cases = []
    for t_fail in sorted(times):
        before = run(p, y0, t_fail, name) if t_fail > 0 else None
        y = before.end_state.copy() if before is not None else y0.copy()
        pot, temp_fail = float(np.maximum(y[:ns], 0.0) @ h), float(y[ns + nm.TEMP])
        mtsr = temp_fail + pot / float(p[nm.RHO_CP] * y[ns + nm.VOL])
        x_acc = pot / float(h @ moles) if h @ moles > 0 else 0.0
        if pot <= 0.0:
            cases.append(safety.CoolingFailure(t_fail, temp_fail, x_acc, mtsr, temp_fail,
                                               0.0, 0.0, True, before, None))
            continue
        after = run(adiabatic, y, t_end, f"{name} (cooling failure)", 1000)
        t_prof, temps = after.profile[:, kn.P_TIME], after.profile[:, kn.P_TEMP]
        peak = max(after.totals["peak_temperature_K"], float(temps.max()), temp_fail)
        rise = np.diff(temps) / np.maximum(np.diff(t_prof), 1e-300)
        k = int(np.argmax(rise)) if rise.size else 0
        cases.append(safety.CoolingFailure(
            t_fail, temp_fail, x_acc, mtsr, peak,
            float(t_prof[int(np.argmax(temps >= temp_fail + 0.99 * (peak - temp_fail)))]),
            float(0.5 * (t_prof[k] + t_prof[min(k + 1, t_prof.size - 1)])),
            float(np.maximum(after.end_state[:ns], 0.0) @ h) <= completion * pot,
            before, after))
    return max(cases, key=lambda c: c.max_temperature)


def assessment(line: S.LineSpec, unit: str, *, max_mtsr: float, t_mtt: float,
               td24: float | None, worst_failure: float) -> safety.SafetyAssessment:
    """Stoessel class, severity and alarms of the unit's reaction
    (:func:`twin.kernels.safety.assess`): MTSR ``max_mtsr`` [K] (the reactor kernel's highest
    along the batches run), MTT ``t_mtt`` [K], TD24 [K] or ``None`` (no class), the worst
    cooling-failure temperature [K]; the adiabatic rise from :func:`semenov`."""
    dt_ad = semenov(line, unit)["dt_ad_K"]
    return safety.assess(dt_ad=dt_ad, mtt=t_mtt, td24=td24, mtsr_known=max_mtsr,
                         worst_failure_temperature=worst_failure)


def monte_carlo(line: S.LineSpec, unit: str, *, n: int = 200, ua_cv: float = 0.1,
                ea_sd: float = 2000.0, k0_cv: float = 0.0, seed: int = 0,
                mtt: float | None = None, calibrated: bool = False) -> pd.DataFrame:
    """Propagate uncertain ``ua`` (lognormal, coefficient of variation ``ua_cv``), activation
    energy (normal, ``ea_sd`` [J/mol]) and ``k0`` (lognormal) through the reaction kernel of
    ``unit``: one kernel call per sample, and a second without the temperature abort for the
    samples the recipe stopped. ``calibrated``: instead, sample i is draw ``seed + i`` of
    the joint distribution of the unit's calibrated react parameters
    (``[calibration.<unit>]``, :mod:`twin.data.calibration`; the others keep their values).

    Returns one row per sample: ``peak_temperature_C`` as the recipe runs (capped by its
    ``t_max`` abort), ``uncapped_peak_temperature_C`` (the abort removed: where the batch
    would have gone), conversion, reaction time, ``aborted`` and ``exceeds_mtt`` (uncapped
    peak at or above the MTT). ``frame.attrs``: ``p_exceeds_mtt`` (uncapped: the safety
    figure), ``p_recipe_peak_exceeds_mtt`` (capped, for reference: it cannot see runaways the
    abort cut off), ``p_aborted``, ``mtt_C`` and ``peak_basis``.
    """
    mass, temp, react, mat = reaction_entry(line, unit)
    if isinstance(react, P.ReactNetwork):
        raise ValueError(f"{unit!r} reacts by a reaction network: the Monte Carlo over UA, "
                         "Ea and k0 covers the single/series/parallel react phase (a network's "
                         "calibrated parameters are sampled by runs with calibrated = "
                         "'sample')")
    st = line.stations[unit]
    variants = (_calibrated_variants(line, unit, react, n, seed) if calibrated
                else _independent_variants(react, n, ua_cv, ea_sd, k0_cv, seed))
    rows = []
    for variant in variants:
        out = ph.compute(variant, st, unit, mass.copy(), temp, mat, mean_duration)
        aborted = out.summary["ended_by"] == "temperature_limit"
        free = out
        if aborted:
            free = ph.compute(variant.model_copy(update={"t_max": None}), st, unit,
                              mass.copy(), temp, mat, mean_duration)
        rows.append({"ua_W_K": variant.ua, "ea_J_mol": variant.ea, "k0_1_s": variant.k0,
                     "peak_temperature_C": out.summary["peak_temperature_K"] - 273.15,
                     "uncapped_peak_temperature_C": free.summary["peak_temperature_K"] - 273.15,
                     "conversion": out.summary["conversion"],
                     "react_time_h": out.duration / 3600.0, "aborted": aborted})
    frame = pd.DataFrame(rows)
    limit = (mtt if mtt is not None else max_technical_temperature(line, unit)) - 273.15
    frame["exceeds_mtt"] = frame["uncapped_peak_temperature_C"] >= limit
    frame.attrs["p_exceeds_mtt"] = float(frame["exceeds_mtt"].mean())
    capped = frame["peak_temperature_C"] >= limit
    frame.attrs["p_recipe_peak_exceeds_mtt"] = float(capped.mean())
    frame.attrs["p_aborted"] = float(frame["aborted"].mean())
    frame.attrs["mtt_C"] = limit
    frame.attrs["peak_basis"] = ("uncapped: the reaction followed past the recipe's temperature "
                                 "abort (t_max) to its own peak")
    return frame


def _independent_variants(react: P.React, n: int, ua_cv: float, ea_sd: float, k0_cv: float,
                          seed: int) -> list[P.React]:
    """The react phase with independent lognormal UA and k0 and normal Ea (n samples)."""
    rng = np.random.default_rng(seed)

    def lognormal(cv: float) -> np.ndarray:
        if cv <= 0:
            return np.ones(n)
        s2 = math.log1p(cv * cv)
        return rng.lognormal(-0.5 * s2, math.sqrt(s2), n)

    ua, k0 = react.ua * lognormal(ua_cv), react.k0 * lognormal(k0_cv)
    ea = react.ea + (rng.normal(0.0, ea_sd, n) if ea_sd > 0 else np.zeros(n))
    return [react.model_copy(update={"ua": float(ua[i]), "ea": float(ea[i]),
                                     "k0": float(k0[i])}) for i in range(n)]


def _calibrated_variants(line: S.LineSpec, unit: str, react: P.React, n: int,
                         seed: int) -> list[P.React]:
    """The react phase at draws ``seed .. seed + n - 1`` of its calibrated parameters."""
    rec = line.calibration.get(unit)
    st = line.stations[unit]
    if rec is None:
        raise ValueError(f"{unit!r} has no [calibration.{unit}] to sample from (twin "
                         "calibrate writes it)")
    if not isinstance(st, S.Process) or st.recipe[rec.phase] is not react:
        raise ValueError(f"calibration.{unit}.phase = {rec.phase} is not the react phase of "
                         f"{unit!r}")
    values = {k: getattr(react, k) for k in type(react).model_fields}
    return [react.model_copy(update=phase_updates(rec, values, rec.natural(z)))
            for z in draws(rec, n, seed)]

