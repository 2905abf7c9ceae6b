"""Scale-up studies: one recipe at several scales, compared; uncertainty; design mode.

A study scales a line to each volume (:func:`twin.process.scaleup.scale_line`), runs
replications of every scale under common random numbers, and tabulates per scale: batch
time, conversion, selectivity, peak temperature and MTSR of the reaction, the heat
generation at the process temperature against the jacket's removal capacity and the Semenov
cooling ratio (cooling-limited only where the jacket has no stable operating point:
:func:`twin.process.safety.semenov`), agitation power, energy and CO2e per kg, annual output
and the bottleneck. Thermal-safety classes and alarms come from
:func:`twin.process.safety.assessment` (Stoessel; a class when a TD24 is given). The
physics is the process layer's (:mod:`twin.process`); this module runs and tabulates.
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

from twin.data import spec as S
from twin.data.units import to_si
from twin.observation import runfolder
from twin.observation.runfolder import RUNS_DIR, write_study
from twin.orchestration.executors import Executor
from twin.orchestration.run import RunResult, execute, prepare, resolve_line
from twin.orchestration.statistics import mean_ci
from twin.orchestration.study import run_planned, stored
from twin.process import safety
from twin.process.scaleup import ScaledLine, scale_line

HOURS_PER_YEAR = 8760.0


@dataclass
class ScaleUpStudy:
    """The result of a scale-up study: one row per scale, and where it is stored."""

    root: Path
    table: pd.DataFrame
    scaled: list[ScaledLine]


def study(line: S.LineSpec | str | Path | dict[str, Any], unit: str,
          volumes: Sequence[float | str], rule: str = "constant_power_per_volume", *,
          replications: int = 3, duration: str | float | None = None,
          warmup: str | float | None = None, seed: int = 1, out: str | Path = "studies",
          executor: Executor = "serial", workers: int | None = None,
          mtt: float | None = None, td24: float | None = None,
          progress: Callable[[int, int], None] | None = None,
          calibrated: str | None = None) -> ScaleUpStudy:
    """Run a scale-up study and store it under ``out/<line>_scaleup_<unit>``;
    ``calibrated="sample"``: replication ``r`` of every scale takes draw ``seed + r`` of the
    line's calibrated parameters (relative to the estimates, so a scaled UA keeps its
    calibrated relative error)."""
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
    preps = [(i, prepare(s.line, duration=duration, warmup=warmup, seed=seed + r,
                         calibrated=calibrated))
             for i, s in enumerate(scaled) for r in range(replications)]
    plan = {"line": spec.line.name, "unit": unit, "rule": scaled[0].rule if scaled else rule,
            "volumes_m3": [s.volume for s in scaled], "replications": replications,
            "seed": seed, "calibrated": calibrated or spec.run.calibrated,
            "runs": [p.run_id for _, p in preps]}
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
    sem = safety.semenov(line, unit)
    t_mtt = mtt if mtt is not None else safety.max_technical_temperature(line, unit)
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
        "selectivity": float(react["selectivity"].mean())  # a network phase has none
        if len(react) and "selectivity" in react else math.nan,
        "peak_temperature_C": float(react["peak_temperature_K"].max() - 273.15)
        if len(react) else math.nan,
        "max_mtsr_C": float(react["max_mtsr_K"].max() - 273.15) if len(react) else math.nan,
        "heat_generation_kW": sem["generation_W"] / 1e3,
        "cooling_capacity_kW": sem["removal_W"] / 1e3,
        "cooling_ratio": sem["cooling_ratio"],
        "stable_rise_K": sem["stable_rise_K"],
        "cooling_limited": bool(sem["cooling_limited"]),
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
    worst = safety.cooling_failure_scan(line, unit)
    row["worst_cooling_failure_C"] = worst.max_temperature - 273.15
    row["worst_failure_at_h"] = worst.t_fail / 3600.0
    known = math.isfinite(row["max_mtsr_C"])
    verdict = safety.assessment(line, unit, max_mtsr=row["max_mtsr_C"] + 273.15, t_mtt=t_mtt,
                                td24=td24 if known else None,
                                worst_failure=worst.max_temperature)
    if td24 is not None and known:
        row["stoessel_class"] = verdict.criticality_class
    row["alarms"] = "; ".join(_alarms(row, sem, verdict.alarms, react, s.flags))
    return row


def _alarms(row: dict[str, Any], sem: dict[str, Any], assessed: list[str], react: pd.DataFrame,
            flags: list[str]) -> list[str]:
    """The alarms of one scale: the safety assessment's (MTSR, class, severity, cooling
    failure), the peak of normal operation at the MTT, the cooling check, reactions stopped
    at their temperature limit, and correlations used outside their range."""
    alarms = list(assessed)
    if math.isfinite(row["peak_temperature_C"]) and row["peak_temperature_C"] >= row["mtt_C"]:
        alarms.append(f"peak {row['peak_temperature_C']:.1f} degC reaches the MTT")
    if row["cooling_limited"]:
        why = "; ".join(f.split(": ", 1)[-1] for f in sem["flags"])
        alarms.append(f"cooling-limited (Semenov cooling ratio {row['cooling_ratio']:.2f}): {why}")
    aborted = react[react["ended_by"] == "temperature_limit"] if len(react) else react
    if len(aborted):
        alarms.append(f"reaction stopped at its temperature limit in {len(aborted)} batch(es) "
                      f"at {aborted['conversion'].mean():.1%} conversion")
    return alarms + flags


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
