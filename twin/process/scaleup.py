"""Scale-up of a process line's spec (studies across scales: ``twin.orchestration.scaleup_study``).

:func:`scale_line` turns a line whose named process unit has volume V1 into the same line at
V2, under geometric similarity (L = (V2/V1)^(1/3)) and an agitation rule, for every process
unit, tank and continuous unit (a recipe scaled as a whole). What changes and why:

- masses charged, seeds, media volumes, feeds, tank capacities and rates: x L^3 (volume);
- jacket ``ua`` of heat, cool and react phases: x L^2 (constant U, area ~ L^2), so the
  heat-removal capacity per volume falls as 1/L -- the scale-up problem of exothermic batches;
- cleaning water and COD: x L^2 (wetted area);
- dryer area and air flow: x L^3 (sized for the batch);
- agitation: speed N2 = N1 L^a with the rule's exponent a, power x L^(3a+5)
  (P = Np rho N^3 D^5, constant Np), power per volume x L^(3a+2); the unit's producing and
  setup power draw follow the agitation power; fermentation kLa follows van 't Riet with the
  new P/V and gas velocity (``constant_vvm``: vs x L; ``constant_superficial_velocity``);
- utilities' capacities: x L^3 (the plant is scaled with the line) unless told otherwise.

Each rule is the kernel library's (:mod:`twin.kernels.scaleup`: ``speed_for_rule``,
``power``, ``ua_at_scale``, ``gas_velocity_for_rule``, ``kla_van_t_riet``), with its validity
flags: a flag is raised only where a correlation is used outside its range (van 't Riet above
2.6 m3 or outside 500-10000 W/m3). Every change is written to the derivation table with its
formula. The scaled line is an ordinary, validated spec: it runs, sweeps and reports like any
other.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from twin.data import process as P
from twin.data import spec as S
from twin.data.checks import line_from_dict
from twin.data.units import to_si
from twin.kernels import scaleup as rules

GAS_RULES = rules.GAS_RULES


def rule_name(rule: str) -> str:
    """Accept ``constant-power-per-volume`` as well as ``constant_power_per_volume``."""
    name = rule.strip().replace("-", "_")
    if name not in rules.RULE_EXPONENTS:
        known = ", ".join(k.replace("_", "-") for k in rules.RULE_EXPONENTS)
        raise ValueError(f"unknown scale-up rule {rule!r} (known: {known})")
    return name


@dataclass
class ScaledLine:
    """A line scaled to a new volume, and how every value was derived."""

    line: S.LineSpec
    volume: float
    factor: float
    rule: str
    derivation: pd.DataFrame
    flags: list[str] = field(default_factory=list)


class _Log:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __call__(self, where: str, before: Any, after: Any, how: str) -> None:
        self.rows.append({"path": where, "before": before, "after": after, "how": how})


def _q(value: float, unit: str) -> str:
    return f"{value!r} {unit}"


def scale_line(spec: S.LineSpec, unit: str, volume: float | str,
               rule: str = "constant_power_per_volume", *, gas_rule: str = "constant_vvm",
               scale_utilities: bool = True) -> ScaledLine:
    """Scale the validated line ``spec`` so that process unit ``unit`` has ``volume`` (see the
    module notes).

    Raises
    ------
    ValueError
        If the unit is not a process unit, the volume is not positive, or the rule unknown.
    """
    rule = rule_name(rule)
    if gas_rule not in GAS_RULES:
        raise ValueError(f"unknown gas rule {gas_rule!r} (known: {', '.join(GAS_RULES)})")
    st = spec.stations.get(unit)
    if not isinstance(st, S.Process):
        raise ValueError(f"{unit!r} is not a process unit of line {spec.line.name!r}")
    v2 = to_si(volume, "volume", bare_unit="m**3")
    if v2 <= 0:
        raise ValueError("the volume must be positive")
    lf = rules.scale_factor(st.volume, v2)
    a = rules.RULE_EXPONENTS[rule]
    data = spec.model_dump(mode="json", by_alias=True)
    log = _Log()
    flags: list[str] = []
    # P = Np rho N^3 D^5 at both scales (same Np and rho), N2 = N1 L^a: ratios of the kernel
    p_ratio = rules.power(1.0, 1.0, rules.speed_for_rule(1.0, 1.0, lf, rule), lf)
    pv_ratio = p_ratio / lf**3
    for name, station in spec.stations.items():
        raw = data["stations"][name]
        where = f"stations.{name}"
        if isinstance(station, S.Process):
            _scale_process(station, raw, where, lf, a, rule, gas_rule, p_ratio, pv_ratio, log,
                           flags)
        elif isinstance(station, S.Tank):
            raw["capacity"] = _q(station.capacity * lf**3, "kg")
            log(f"{where}.capacity", station.capacity, station.capacity * lf**3, "x L^3")
            for sp, kg in station.initial.items():
                raw["initial"][sp] = _q(kg * lf**3, "kg")
                log(f"{where}.initial.{sp}", kg, kg * lf**3, "x L^3")
        elif isinstance(station, S.Continuous):
            rate = station.rate or 0.0
            for key in ("web_speed", "width", "areal_mass"):
                raw.pop(key, None)
            raw["rate"] = _q(rate * lf**3, "kg/s")
            raw["lot_mass"] = _q(station.lot_mass * lf**3, "kg")
            log(f"{where}.rate", rate, rate * lf**3, "x L^3 (throughput ~ volume)")
            log(f"{where}.lot_mass", station.lot_mass, station.lot_mass * lf**3, "x L^3")
        elif isinstance(station, S.Equipment):
            log(where, "-", "-", "not scaled (discrete equipment keeps its cycle times)")
    if scale_utilities:
        for name, u in spec.utilities.items():
            if u.capacity is not None:
                raw_u = data["utilities"][name]
                unit_txt = "m**3/s" if u.is_medium else "W"
                raw_u["capacity"] = _q(u.capacity * lf**3, unit_txt)
                log(f"utilities.{name}.capacity", u.capacity, u.capacity * lf**3,
                    "x L^3 (utilities scaled with the line)")
    label = f"{v2:g}".replace(".", "p")
    data["line"]["name"] = f"{spec.line.name}_{label}m3"[:64]
    data["line"]["description"] = (f"{spec.line.description} -- scaled from {st.volume:g} to "
                                   f"{v2:g} m3 ({rule.replace('_', ' ')})")
    scaled = line_from_dict(data, f"{spec.line.name} scaled to {v2:g} m3")
    return ScaledLine(scaled, v2, lf, rule, pd.DataFrame(log.rows), flags)


def _scale_process(st: S.Process, raw: dict[str, Any], where: str, lf: float, a: float,
                   rule: str, gas_rule: str, p_ratio: float, pv_ratio: float, log: _Log,
                   flags: list[str]) -> None:
    raw["volume"] = _q(st.volume * lf**3, "m**3")
    log(f"{where}.volume", st.volume, st.volume * lf**3, "x L^3")
    power = st.power
    for state in ("producing", "setup"):
        value = getattr(power, state)
        if value is not None and value > 0:
            raw["power"][state] = _q(value * p_ratio, "W")
            log(f"{where}.power.{state}", value, value * p_ratio,
                f"x L^(3a+5) = x {p_ratio:.4g} (P = Np rho N^3 D^5, {rule}, a = {a:g})")
    recipes = [("recipe", st.recipe, raw["recipe"])] + [
        (f"product_recipes.{k}", r, raw["product_recipes"][k])
        for k, r in st.product_recipes.items()]
    for label, recipe, raw_recipe in recipes:
        for i, ph in enumerate(recipe):
            _scale_phase(ph, raw_recipe[i], f"{where}.{label}[{i}]", lf, gas_rule, pv_ratio,
                         st.volume * lf**3, log, flags)


def _scale_phase(ph: Any, raw: dict[str, Any], where: str, lf: float, gas_rule: str,
                 pv_ratio: float, vessel: float, log: _Log, flags: list[str]) -> None:
    v3, v2 = lf**3, lf**2
    for medium, volume in ph.uses.items():
        raw["uses"][medium] = _q(volume * v3, "m**3")
        log(f"{where}.uses.{medium}", volume, volume * v3, "x L^3")
    if isinstance(ph, P.Charge):
        for sp, kg in ph.materials.items():
            raw["materials"][sp] = _q(kg * v3, "kg")
            log(f"{where}.materials.{sp}", kg, kg * v3, "x L^3 (mass ~ volume)")
    if isinstance(ph, P.Thermal | P.React | P.ReactNetwork):
        ua = rules.ua_at_scale(ph.ua, 1.0, v3)
        raw["ua"] = _q(ua, "W/K")
        log(f"{where}.ua", ph.ua, ua, "x L^2 (constant U, jacket area ~ L^2)")
    if isinstance(ph, P.Crystallise) and ph.seed_mass:
        raw["seed_mass"] = _q(ph.seed_mass * v3, "kg")
        log(f"{where}.seed_mass", ph.seed_mass, ph.seed_mass * v3, "x L^3")
    if isinstance(ph, P.Dry):
        raw["area"] = _q(ph.area * v3, "m**2")
        raw["air_flow"] = _q(ph.air_flow * v3, "kg/s")
        log(f"{where}.area", ph.area, ph.area * v3, "x L^3 (dryer sized for the batch)")
        log(f"{where}.air_flow", ph.air_flow, ph.air_flow * v3, "x L^3")
    if isinstance(ph, P.Clean):
        raw["water"] = _q(ph.water * v2, "kg")
        raw["cod"] = _q(ph.cod * v2, "kg")
        log(f"{where}.water", ph.water, ph.water * v2, "x L^2 (wetted area)")
        log(f"{where}.cod", ph.cod, ph.cod * v2, "x L^2 (wetted area)")
    if isinstance(ph, P.Ferment):
        _scale_ferment(ph, raw, where, lf, gas_rule, pv_ratio, vessel, log, flags)


def _scale_ferment(ph: P.Ferment, raw: dict[str, Any], where: str, lf: float, gas_rule: str,
                   pv_ratio: float, vessel: float, log: _Log, flags: list[str]) -> None:
    """Feed and volume x L^3; P/V and gas velocity by the rules, kLa by van 't Riet; a flag
    only where van 't Riet is used outside its range at the new scale (``vessel`` [m3])."""
    vs_ratio = rules.gas_velocity_for_rule(1.0, 1.0, lf**3, gas_rule)
    raw["feed_rate"] = _q(ph.feed_rate * lf**3, "m**3/s")
    log(f"{where}.feed_rate", ph.feed_rate, ph.feed_rate * lf**3, "x L^3")
    volume = vessel
    if ph.max_volume:
        raw["max_volume"] = _q(ph.max_volume * lf**3, "m**3")
        volume = ph.max_volume * lf**3
    if ph.power_per_volume is not None and ph.gas_velocity is not None:
        pv, vs = ph.power_per_volume * pv_ratio, ph.gas_velocity * vs_ratio
        raw["power_per_volume"] = _q(pv, "W/m**3")
        raw["gas_velocity"] = _q(vs, "m/s")
        log(f"{where}.power_per_volume", ph.power_per_volume, pv, f"x L^(3a+2) = x {pv_ratio:.4g}")
        log(f"{where}.gas_velocity", ph.gas_velocity, vs, f"{gas_rule}: x {vs_ratio:.4g}")
        found = rules.van_t_riet_flags(volume, pv)
    elif ph.kla is not None:
        # van 't Riet is a power law: the kLa ratio is the correlation at the P/V and vs ratios
        ratio = (rules.kla_van_t_riet(pv_ratio, vs_ratio, ph.coalescing)
                 / rules.kla_van_t_riet(1.0, 1.0, ph.coalescing))
        raw["kla"] = _q(ph.kla * ratio, "1/s")
        _, e_pv, e_vs = (rules.VAN_T_RIET_COALESCING if ph.coalescing
                         else rules.VAN_T_RIET_NON_COALESCING)
        log(f"{where}.kla", ph.kla, ph.kla * ratio,
            f"van 't Riet: x (P/V ratio)^{e_pv} x (vs ratio)^{e_vs}")
        # P/V itself is not in the spec: only the volume range can be checked
        found = tuple(f for f in rules.van_t_riet_flags(volume, rules.VAN_T_RIET_PV_MIN)
                      if "V = " in f)
    else:
        found = ()
    flags.extend(f"{where}: {f}" for f in found)


def copy_line(line: S.LineSpec) -> dict[str, Any]:
    """A deep copy of a line's data (SI strings), for callers building variants."""
    return copy.deepcopy(line.model_dump(mode="json", by_alias=True))
