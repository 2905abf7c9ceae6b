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
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from twin.data import process as P
from twin.data import spec as S
from twin.data.checks import line_from_dict
from twin.data.registry import RegistrationError
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


@dataclass(frozen=True)
class Scaling:
    """One change of scale, as the scaling functions see it: length factor ``lf`` (L2/L1),
    agitation ``rule`` and its exponent ``a`` (N ~ L^a), ``gas_rule``, the agitation power
    ratio ``p_ratio`` and power-per-volume ratio ``pv_ratio``, where changes are written
    (``log(path, before, after, how)``) and validity ``flags``; ``vessel`` is the scaled
    volume [m3] of the process unit whose recipe is being scaled."""

    lf: float
    rule: str
    a: float
    gas_rule: str
    p_ratio: float
    pv_ratio: float
    log: Callable[[str, Any, Any, str], None]
    flags: list[str]
    vessel: float = math.nan


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
    scaling = Scaling(lf, rule, a, gas_rule, p_ratio, pv_ratio, log, flags)
    for name, station in spec.stations.items():
        scale = _scaler(_STATION_SCALERS, type(station))
        if scale is not None:
            scale(station, data["stations"][name], f"stations.{name}", scaling)
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


def _scale_tank(st: S.Tank, raw: dict[str, Any], where: str, sc: Scaling) -> None:
    v3 = sc.lf**3
    raw["capacity"] = _q(st.capacity * v3, "kg")
    sc.log(f"{where}.capacity", st.capacity, st.capacity * v3, "x L^3")
    for sp, kg in st.initial.items():
        raw["initial"][sp] = _q(kg * v3, "kg")
        sc.log(f"{where}.initial.{sp}", kg, kg * v3, "x L^3")


def _scale_continuous(st: S.Continuous, raw: dict[str, Any], where: str, sc: Scaling) -> None:
    rate, v3 = st.rate or 0.0, sc.lf**3
    for key in ("web_speed", "width", "areal_mass"):
        raw.pop(key, None)
    raw["rate"] = _q(rate * v3, "kg/s")
    raw["lot_mass"] = _q(st.lot_mass * v3, "kg")
    sc.log(f"{where}.rate", rate, rate * v3, "x L^3 (throughput ~ volume)")
    sc.log(f"{where}.lot_mass", st.lot_mass, st.lot_mass * v3, "x L^3")


def _not_scaled(st: S.Equipment, raw: dict[str, Any], where: str, sc: Scaling) -> None:
    sc.log(where, "-", "-", "not scaled (discrete equipment keeps its cycle times)")


def _scale_process(st: S.Process, raw: dict[str, Any], where: str, sc: Scaling) -> None:
    lf = sc.lf
    raw["volume"] = _q(st.volume * lf**3, "m**3")
    sc.log(f"{where}.volume", st.volume, st.volume * lf**3, "x L^3")
    power = st.power
    for state in ("producing", "setup"):
        value = getattr(power, state)
        if value is not None and value > 0:
            raw["power"][state] = _q(value * sc.p_ratio, "W")
            sc.log(f"{where}.power.{state}", value, value * sc.p_ratio,
                   f"x L^(3a+5) = x {sc.p_ratio:.4g} (P = Np rho N^3 D^5, {sc.rule}, "
                   f"a = {sc.a:g})")
    recipes = [("recipe", st.recipe, raw["recipe"])] + [
        (f"product_recipes.{k}", r, raw["product_recipes"][k])
        for k, r in st.product_recipes.items()]
    vessel = replace(sc, vessel=st.volume * lf**3)
    for label, recipe, raw_recipe in recipes:
        for i, ph in enumerate(recipe):
            where_ph = f"{where}.{label}[{i}]"
            for medium, volume in ph.uses.items():
                raw_recipe[i]["uses"][medium] = _q(volume * lf**3, "m**3")
                sc.log(f"{where_ph}.uses.{medium}", volume, volume * lf**3, "x L^3")
            scale = _scaler(_PHASE_SCALERS, type(ph))
            if scale is not None:
                scale(ph, raw_recipe[i], where_ph, vessel)


def _scale_charge(ph: P.Charge, raw: dict[str, Any], where: str, sc: Scaling) -> None:
    v3 = sc.lf**3
    for sp, kg in ph.materials.items():
        raw["materials"][sp] = _q(kg * v3, "kg")
        sc.log(f"{where}.materials.{sp}", kg, kg * v3, "x L^3 (mass ~ volume)")


def _scale_jacket(ph: P.Thermal | P.React | P.ReactNetwork, raw: dict[str, Any], where: str,
                  sc: Scaling) -> None:
    ua = rules.ua_at_scale(ph.ua, 1.0, sc.lf**3)
    raw["ua"] = _q(ua, "W/K")
    sc.log(f"{where}.ua", ph.ua, ua, "x L^2 (constant U, jacket area ~ L^2)")


def _scale_crystallise(ph: P.Crystallise, raw: dict[str, Any], where: str,
                       sc: Scaling) -> None:
    if ph.seed_mass:
        v3 = sc.lf**3
        raw["seed_mass"] = _q(ph.seed_mass * v3, "kg")
        sc.log(f"{where}.seed_mass", ph.seed_mass, ph.seed_mass * v3, "x L^3")


def _scale_dry(ph: P.Dry, raw: dict[str, Any], where: str, sc: Scaling) -> None:
    v3 = sc.lf**3
    raw["area"] = _q(ph.area * v3, "m**2")
    raw["air_flow"] = _q(ph.air_flow * v3, "kg/s")
    sc.log(f"{where}.area", ph.area, ph.area * v3, "x L^3 (dryer sized for the batch)")
    sc.log(f"{where}.air_flow", ph.air_flow, ph.air_flow * v3, "x L^3")


def _scale_clean(ph: P.Clean, raw: dict[str, Any], where: str, sc: Scaling) -> None:
    v2 = sc.lf**2
    raw["water"] = _q(ph.water * v2, "kg")
    raw["cod"] = _q(ph.cod * v2, "kg")
    sc.log(f"{where}.water", ph.water, ph.water * v2, "x L^2 (wetted area)")
    sc.log(f"{where}.cod", ph.cod, ph.cod * v2, "x L^2 (wetted area)")


def _scale_ferment(ph: P.Ferment, raw: dict[str, Any], where: str, sc: Scaling) -> None:
    """Feed and volume x L^3; P/V and gas velocity by the rules, kLa by van 't Riet; a flag
    only where van 't Riet is used outside its range at the new scale (the vessel's volume,
    or the phase's scaled ``max_volume``)."""
    lf, gas_rule, pv_ratio, vessel, log = sc.lf, sc.gas_rule, sc.pv_ratio, sc.vessel, sc.log
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
    sc.flags.extend(f"{where}: {f}" for f in found)


_STATION_SCALERS: dict[type, Callable[[Any, dict[str, Any], str, Scaling], None]] = {
    S.Process: _scale_process, S.Tank: _scale_tank, S.Continuous: _scale_continuous,
    S.Equipment: _not_scaled}
_PHASE_SCALERS: dict[type, Callable[[Any, dict[str, Any], str, Scaling], None]] = {
    P.Charge: _scale_charge, P.Thermal: _scale_jacket, P.React: _scale_jacket,
    P.ReactNetwork: _scale_jacket, P.Crystallise: _scale_crystallise, P.Dry: _scale_dry,
    P.Clean: _scale_clean, P.Ferment: _scale_ferment}


def register_scaling(spec: type,
                     scale: Callable[[Any, dict[str, Any], str, Scaling], None]) -> None:
    """How a station type's or phase model's values change with the scale:
    ``scale(value, raw, where, scaling)`` edits ``raw`` (the value's data, SI strings as in a
    line file) and writes each change with ``scaling.log(path, before, after, how)``. A
    station type without one scales as its nearest registered base class (equipment: not
    scaled; sources and sinks: nothing to scale); a phase model without one keeps its
    values (its ``uses`` media are scaled x L^3 like every phase's).

    Raises
    ------
    twin.data.registry.RegistrationError
        If ``spec`` is neither a station nor a phase spec class.
    """
    if issubclass(spec, S.StationBase):
        _STATION_SCALERS[spec] = scale
    elif issubclass(spec, P.PhaseBase):
        _PHASE_SCALERS[spec] = scale
    else:
        raise RegistrationError(f"{spec!r} is neither a station nor a phase spec class")


def unregister_scaling(spec: type) -> None:
    """Forget the scaling registered for ``spec`` (built-in ones stay)."""
    if spec not in (*S.BUILTIN_STATIONS, S.Equipment, *P.BUILTIN_PHASES):
        _STATION_SCALERS.pop(spec, None)
        _PHASE_SCALERS.pop(spec, None)


def _scaler(table: dict[type, Any], cls: type) -> Any:
    """The scaling of ``cls`` or of its nearest base class in ``table`` (None: none)."""
    return next((table[c] for c in cls.__mro__ if c in table), None)


def copy_line(line: S.LineSpec) -> dict[str, Any]:
    """A deep copy of a line's data (SI strings), for callers building variants."""
    return copy.deepcopy(line.model_dump(mode="json", by_alias=True))
