"""Scale-up studies: one recipe at several scales, compared; uncertainty; design mode.

A study scales a line to each volume (:func:`twin.orchestration.scaleup.scale_line`), runs
replications of every scale under common random numbers, and tabulates per scale: batch
time, conversion, selectivity, peak temperature and MTSR of the reaction, the heat
generation at the process temperature against the jacket's removal capacity (Semenov: the
batch is cooling-limited when generation exceeds removal), agitation power, energy and CO2e
per kg, annual output and the bottleneck. Thermal-safety classes follow Stoessel when a
TD24 is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from twin.data import process as P
from twin.data import spec as S
from twin.data.units import to_si
from twin.kernels import safety
from twin.kernels import scaleup as rules
from twin.kernels.thermo import R
from twin.observation import runfolder
from twin.orchestration.executors import Executor
from twin.orchestration.run import RunResult, execute, prepare, resolve_line
from twin.orchestration.scaleup import ScaledLine, scale_line
from twin.orchestration.statistics import mean_ci
from twin.orchestration.study import RUNS_DIR, run_planned, stored, write_study
from twin.simulation import phases as ph

HOURS_PER_YEAR = 8760.0


@dataclass
class ScaleUpStudy:
    """The result of a scale-up study: one row per scale, and where it is stored."""

    root: Path
    table: pd.DataFrame
    scaled: list[ScaledLine]


def reaction_entry(line: S.LineSpec, unit: str) -> tuple[np.ndarray, float, Any, ph.Materials]:
    """Batch composition [kg] and temperature [K] entering the unit's react phase, and the
    phase itself (phases before it are computed with their mean durations)."""
    st = line.stations[unit]
    assert isinstance(st, S.Process)
    mat = ph.Materials.from_spec(line.species)
    mass, temp = np.zeros(len(mat.names)), 298.15
    for phase in st.recipe:
        if isinstance(phase, P.React):
            return mass, temp, phase, mat
        out = ph.compute(phase, st, unit, mass, temp, mat, ph_mean)
        for code, kind, kg in out.flows:
            mass[code] += kg if kind in ("input", "transformation") else -kg
        temp = out.temperature if out.temperature is not None else temp
    raise ValueError(f"{unit!r} has no react phase")


def ph_mean(phase: Any) -> float:
    """Mean duration of a phase's distribution [s] (deterministic pre-calculation)."""
    dist = getattr(phase, "duration", None) or getattr(phase, "time", None)
    return float(dist.mean()) if dist is not None else 0.0


def semenov(line: S.LineSpec, unit: str) -> dict[str, float]:
    """Heat generation at the start of the reaction vs the jacket's removal capacity [W].

    Generation ``(-dH) k(Tp) n_A0`` (first order in A, all A present, at the process
    temperature Tp the batch enters the reaction with); removal ``UA (Tp - Tj)``.
    """
    mass, tp, react, mat = reaction_entry(line, unit)
    n_a0 = mass[mat.code(react.reactant)] / mat.molar_mass[mat.code(react.reactant)]
    n_a0 *= 1.0 - react.dose_fraction
    k = react.k0 * math.exp(-react.ea / (R * tp))
    generation = -react.dh * k * n_a0
    removal = react.ua * (tp - react.jacket)
    cap = float(mass @ mat.cp)
    volume = float((mass / mat.density).sum())
    return {"process_temperature_K": tp, "generation_W": generation, "removal_W": removal,
            "dt_ad_K": -react.dh * n_a0 / cap if cap else math.nan,
            "area_per_volume_1_m": rules.vessel_geometry(volume).area_per_volume}


def _mtt(line: S.LineSpec, unit: str) -> float:
    """Maximum technical temperature: the lowest boiling point of the VOCs charged [K]."""
    mass, _, _, mat = reaction_entry(line, unit)
    boils = [mat.t_boil[i] for i in np.flatnonzero(mass > 0) if math.isfinite(mat.t_boil[i])]
    return float(min(boils)) if boils else math.nan


def study(line: S.LineSpec | str | Path | dict[str, Any], unit: str,
          volumes: Sequence[float | str], rule: str = "constant_power_per_volume", *,
          replications: int = 3, duration: str | float | None = None,
          warmup: str | float | None = None, seed: int = 1, out: str | Path = "studies",
          executor: Executor = "serial", workers: int | None = None,
          mtt: float | None = None, td24: float | None = None,
          progress: Callable[[int, int], None] | None = None) -> ScaleUpStudy:
    """Run a scale-up study and store it under ``out/<line>_scaleup_<unit>``."""
    if replications < 1:
        raise ValueError("replications must be >= 1")
    spec, _ = resolve_line(line)
    scaled = [scale_line(spec, unit, v, rule) for v in volumes]
    root = Path(out) / f"{spec.line.name}_scaleup_{unit}"
    (root / "lines").mkdir(parents=True, exist_ok=True)
    for s in scaled:
        name = s.line.line.name
        (root / "lines" / f"{name}.toml").write_text(
            tomli_w.dumps(_toml_ready(s.line.model_dump(mode="json", by_alias=True))))
        s.derivation.to_csv(root / "lines" / f"{name}.derivation.csv", index=False)
    preps = [(i, prepare(s.line, duration=duration, warmup=warmup, seed=seed + r))
             for i, s in enumerate(scaled) for r in range(replications)]
    plan = {"line": spec.line.name, "unit": unit, "rule": scaled[0].rule if scaled else rule,
            "volumes_m3": [s.volume for s in scaled], "replications": replications,
            "seed": seed, "runs": [p.run_id for _, p in preps]}
    write_study(root, "scaleup", plan)
    run_planned(root, [p for _, p in preps], executor=executor, workers=workers,
                progress=progress)
    rows = []
    for i, s in enumerate(scaled):
        results = [_load(root, p.run_id) for j, p in preps if j == i]
        rows.append(_row(s, unit, [r for r in results if r is not None], mtt, td24))
    table = pd.DataFrame(rows)
    table.to_csv(root / "comparison.csv", index=False)
    return ScaleUpStudy(root, table, scaled)


def _time_bottleneck(results: list[dict[str, Any]]) -> str:
    """The unit with the longest mean occupation per batch (sum of its phases) [rating]."""
    frames = [r["phases"] for r in results if len(r["phases"])]
    if not frames:
        return ""
    phases = pd.concat(frames, ignore_index=True)
    phases = phases[phases["part"] >= 0]
    per_batch = (phases.assign(station=phases["station"].astype(str),
                               t=phases["end"] - phases["start"])
                 .groupby(["station", "part"])["t"].sum().groupby("station").mean())
    return str(per_batch.idxmax()) if len(per_batch) else ""


def _toml_ready(data: Any) -> Any:
    """TOML has no null: drop None values (they are the defaults)."""
    if isinstance(data, dict):
        return {k: _toml_ready(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_toml_ready(v) for v in data]
    return data


def _load(root: Path, run_id: str) -> dict[str, Any] | None:
    """A stored run's summary and phases; ``None`` if it is missing or damaged."""
    status, summary = stored(root, run_id)
    if summary is None:
        return None
    folder = root / RUNS_DIR / run_id
    try:
        phases = runfolder.read_table(folder, "phases")
    except runfolder.RunFolderError:
        return None
    return {"summary": summary, "phases": pd.DataFrame() if phases is None else phases}


def _row(s: ScaledLine, unit: str, results: list[dict[str, Any]], mtt: float | None,
         td24: float | None) -> dict[str, Any]:
    line = s.line
    ok = [r for r in results if r["summary"]["provenance"]["status"] == "completed"]
    kpis = pd.DataFrame([r["summary"]["kpis"] for r in ok])
    react = pd.concat([r["phases"] for r in ok], ignore_index=True) if ok else pd.DataFrame()
    if len(react):
        react = react[(react["station"].astype(str) == unit) & (react["kind"] == "react")]
    sem = semenov(line, unit)
    t_mtt = mtt if mtt is not None else _mtt(line, unit)
    st = line.stations[unit]
    assert isinstance(st, S.Process)
    window_h = float(kpis["window_h"].iloc[0]) if len(kpis) else math.nan
    annual = kpis["product_kg"] / window_h * HOURS_PER_YEAR / 1000.0 if len(kpis) else []
    row: dict[str, Any] = {
        "volume_m3": s.volume, "scale_factor": s.factor, "runs": len(ok),
        "area_per_volume_1_m": sem["area_per_volume_1_m"],
        "react_time_h": float((react["end"] - react["start"]).mean() / 3600) if len(react)
        else math.nan,
        "conversion": float(react["conversion"].mean()) if len(react) else math.nan,
        "selectivity": float(react["selectivity"].mean()) if len(react) else math.nan,
        "peak_temperature_C": float(react["peak_temperature_K"].max() - 273.15)
        if len(react) else math.nan,
        "max_mtsr_C": float(react["max_mtsr_K"].max() - 273.15) if len(react) else math.nan,
        "heat_generation_kW": sem["generation_W"] / 1e3,
        "cooling_capacity_kW": sem["removal_W"] / 1e3,
        "cooling_limited": bool(sem["generation_W"] > sem["removal_W"]),
        "agitation_power_kW": st.power.producing / 1e3,
        "kwh_electricity_per_kg": float(kpis["kwh_electricity_per_kg"].mean()) if len(kpis)
        else math.nan,
        "co2e_kg_per_kg": float(kpis["co2e_kg_per_kg"].mean()) if len(kpis) else math.nan,
        "annual_output_t": float(np.mean(annual)) if len(kpis) else math.nan,
        "annual_output_half_width_t": mean_ci(np.asarray(annual)).half_width
        if len(kpis) > 1 else math.nan,
        "bottleneck": kpis["bottleneck"].mode().iloc[0] if len(kpis) else "",
        "time_bottleneck": _time_bottleneck(ok),
        "mtt_C": t_mtt - 273.15,
        "dt_ad_K": sem["dt_ad_K"],
    }
    worst = cooling_failure_scan(line, unit)
    row["worst_cooling_failure_C"] = worst.max_temperature - 273.15
    row["worst_failure_at_h"] = worst.t_fail / 3600.0
    alarms = []
    if row["worst_cooling_failure_C"] >= row["mtt_C"]:
        alarms.append(f"cooling failure at {row['worst_failure_at_h']:.2f} h reaches "
                      f"{row['worst_cooling_failure_C']:.1f} degC (MTT {row['mtt_C']:.1f})")
    if math.isfinite(row["peak_temperature_C"]) and row["peak_temperature_C"] >= row["mtt_C"]:
        alarms.append(f"peak {row['peak_temperature_C']:.1f} degC reaches the MTT")
    if row["cooling_limited"]:
        alarms.append("cooling-limited: heat generation exceeds jacket capacity")
    aborted = react[react["ended_by"] == "temperature_limit"] if len(react) else react
    if len(aborted):
        alarms.append(f"reaction stopped at its temperature limit in {len(aborted)} batch(es) "
                      f"at {aborted['conversion'].mean():.1%} conversion")
    if td24 is not None and math.isfinite(row["max_mtsr_C"]):
        cls = safety.stoessel_class(row["max_mtsr_C"] + 273.15, t_mtt, td24)
        row["stoessel_class"] = cls
        if cls >= 3:
            alarms.append(f"Stoessel class {cls}")
    elif math.isfinite(row["max_mtsr_C"]) and row["max_mtsr_C"] >= row["mtt_C"]:
        alarms.append(f"MTSR {row['max_mtsr_C']:.1f} degC at or above the MTT")
    row["alarms"] = "; ".join(alarms)
    return row


def cooling_failure_scan(line: S.LineSpec, unit: str, n_grid: int = 12) -> Any:
    """The worst loss of jacket cooling during the unit's reaction (kernel simulation: the
    normal phase to the failure time, then adiabatic; see twin.kernels.safety)."""
    mass, temp, react, mat = reaction_entry(line, unit)
    p, y0, t_end = ph.reactor_inputs(react, mass, temp, mat)
    normal = ph.compute(react, line.stations[unit], unit, mass.copy(), temp, mat, ph_mean)
    scan = safety.worst_cooling_failure(p, y0, t_phase=normal.duration, unit=unit,
                                        phase=react.name or "react", t_end=t_end,
                                        n_grid=n_grid)
    return scan.worst


def monte_carlo(line: S.LineSpec, unit: str, *, n: int = 200, ua_cv: float = 0.1,
                ea_sd: float = 2000.0, k0_cv: float = 0.0, seed: int = 0,
                mtt: float | None = None) -> pd.DataFrame:
    """Propagate uncertain ``ua`` (lognormal, coefficient of variation ``ua_cv``), activation
    energy (normal, ``ea_sd`` [J/mol]) and ``k0`` (lognormal) through the reaction kernel of
    ``unit``: one kernel call per sample. Returns one row per sample (peak temperature,
    conversion, reaction time, ``aborted`` at the recipe's temperature limit) with
    ``exceeds_mtt``; ``frame.attrs`` holds ``p_exceeds_mtt`` and ``p_aborted`` (a reaction
    stopped by its ``t_max`` would have run hotter: count both as the risk)."""
    mass, temp, react, mat = reaction_entry(line, unit)
    st = line.stations[unit]
    rng = np.random.default_rng(seed)

    def lognormal(cv: float) -> np.ndarray:
        if cv <= 0:
            return np.ones(n)
        s2 = math.log1p(cv * cv)
        return rng.lognormal(-0.5 * s2, math.sqrt(s2), n)

    ua, k0 = react.ua * lognormal(ua_cv), react.k0 * lognormal(k0_cv)
    ea = react.ea + (rng.normal(0.0, ea_sd, n) if ea_sd > 0 else np.zeros(n))
    rows = []
    for i in range(n):
        variant = react.model_copy(update={"ua": float(ua[i]), "ea": float(ea[i]),
                                           "k0": float(k0[i])})
        out = ph.compute(variant, st, unit, mass.copy(), temp, mat, ph_mean)
        rows.append({"ua_W_K": ua[i], "ea_J_mol": ea[i], "k0_1_s": k0[i],
                     "peak_temperature_C": out.summary["peak_temperature_K"] - 273.15,
                     "conversion": out.summary["conversion"],
                     "react_time_h": out.duration / 3600.0,
                     "aborted": out.summary["ended_by"] == "temperature_limit"})
    frame = pd.DataFrame(rows)
    limit = (mtt if mtt is not None else _mtt(line, unit)) - 273.15
    frame["exceeds_mtt"] = frame["peak_temperature_C"] >= limit
    frame.attrs["p_exceeds_mtt"] = float(frame["exceeds_mtt"].mean())
    frame.attrs["p_aborted"] = float(frame["aborted"].mean())
    frame.attrs["mtt_C"] = limit
    return frame


def design_volume(line: S.LineSpec | str | Path | dict[str, Any], unit: str,
                  target_t_per_year: float, rule: str = "constant_power_per_volume", *,
                  low: float | str = "0.1 m3", high: float | str = "50 m3",
                  duration: str | float | None = None, warmup: str | float | None = None,
                  seed: int = 1, tolerance: float = 0.02,
                  confirm_replications: int = 3) -> dict[str, Any]:
    """Design mode: the smallest volume of ``unit`` (whole line scaled with it) whose annual
    output reaches ``target_t_per_year``, by bisection on log volume with rating runs at one
    seed; then confirmed by ``confirm_replications`` rating runs at other seeds."""
    spec, _ = resolve_line(line)
    lo, hi = to_si(low, "volume", bare_unit="m**3"), to_si(high, "volume", bare_unit="m**3")

    def output(volume: float, s: int) -> float:
        result: RunResult = execute(prepare(scale_line(spec, unit, volume, rule).line,
                                            duration=duration, warmup=warmup, seed=s))
        return result.kpis["product_kg"] / result.kpis["window_h"] * HOURS_PER_YEAR / 1000.0

    if output(hi, seed) < target_t_per_year:
        raise ValueError(f"even {hi:g} m3 does not reach {target_t_per_year:g} t/year")
    while hi / lo > 1.0 + tolerance:
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if output(mid, seed) >= target_t_per_year else (mid, hi)
    confirm = [output(hi, seed + 1000 + r) for r in range(confirm_replications)]
    interval = mean_ci(np.asarray(confirm)) if len(confirm) > 1 else None
    return {"volume_m3": hi, "target_t_per_year": target_t_per_year,
            "confirmed_t_per_year": float(np.mean(confirm)),
            "confirmed_half_width": interval.half_width if interval else math.nan,
            "meets_target": bool(np.mean(confirm) >= target_t_per_year)}
