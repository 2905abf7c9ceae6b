"""What each recipe phase does to a batch: duration, material flows, heat, profile.

:func:`compute` is called when a phase starts, with the batch's composition [kg per species]
and temperature [K]; it returns an :class:`Outcome` that the process unit applies when the
phase ends. Physics comes from the kernels (reactor, crystallisation, drying) or from closed
forms (charging vent losses, jacket heating); nothing here touches the clock.

Every material change is written as a flow so that the ledger can close the balance:
``input`` (charged from outside), ``transformation`` (reaction or phase change, signed),
``waste``, ``wastewater``, ``emission``, ``recovered``, ``destroyed`` (abated by oxidation),
``output``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from twin.data import process as P
from twin.data import registry
from twin.data.spec import Process
from twin.kernels import crystallisation as kc
from twin.kernels import drying as kd
from twin.kernels import fermentation as kf
from twin.kernels import network as kn
from twin.kernels import reactor as kr
from twin.kernels import scaleup as rules
from twin.kernels.thermo import R, jacket_time, vapour_pressure
from twin.kernels.warmup import PHASE_KERNELS
from twin.process import fmu_phase, scaleup
from twin.process.materials import Materials
from twin.process.network import kinetics_of, network_inputs

DEFAULT_MAX_REACTION_TIME = 48 * 3600.0
"""Time limit of a reaction without ``max_time`` [s]."""


class PhaseError(RuntimeError):
    """A phase cannot run as specified (the message names the unit and phase)."""


@dataclass
class Outcome:
    """The effect of one phase on one batch."""

    duration: float
    flows: list[tuple[int, str, float]] = field(default_factory=list)  # species, kind, kg
    temperature: float | None = None
    utility: str | None = None
    heat: float = 0.0  # [J] drawn from the utility (heating or cooling duty)
    uses: dict[str, float] = field(default_factory=dict)  # medium -> volume [m3]
    water: float = 0.0  # [kg] process water used
    cod: float = 0.0  # [kg O2] COD load sent to wastewater
    wastewater: float = 0.0  # [kg]
    profile: np.ndarray | None = None
    columns: tuple[str, ...] = ()
    summary: dict[str, float | str] = field(default_factory=dict)


def _abate(unit: Process, code: int, kg: float) -> list[tuple[int, str, float]]:
    """Split a VOC stream into emission and recovered/destroyed by the unit's abatement."""
    if kg <= 0.0:
        return []
    if unit.abatement is None:
        return [(code, "emission", kg)]
    kept = kg * unit.abatement.efficiency
    kind = "destroyed" if unit.abatement.kind == "thermal_oxidiser" else "recovered"
    return [(code, "emission", kg - kept), (code, kind, kept)]


def rest(out: Outcome, elapsed: float) -> Outcome:
    """What is left of ``out`` after ``elapsed`` [s] of it (a batch resumed in its phase when
    a run starts from a state): the remaining duration, and the heat, media and water of
    the remaining share of it (they are drawn at a constant rate); the material flows stay
    whole (they are applied when the phase ends). The kernel profile is left out."""
    left = max(out.duration - elapsed, 0.0)
    share = left / out.duration if out.duration > 0 else 0.0
    return replace(out, duration=left, heat=out.heat * share, water=out.water * share,
                   cod=out.cod * share, wastewater=out.wastewater * share,
                   uses={k: v * share for k, v in out.uses.items()}, profile=None,
                   columns=())


def compute(phase: P.Phase, unit: Process, name: str, mass: np.ndarray, temperature: float,
            mat: Materials, draw: Callable[[P.Phase], float]) -> Outcome:
    """The outcome of ``phase`` on a batch of ``mass`` [kg] at ``temperature`` [K].

    ``draw(phase)`` samples the phase's spec duration [s] (a distribution).
    """
    label = phase.name or phase.phase
    try:
        handler = handler_of(phase)
        outcome = handler(phase, unit, name, mass, temperature, mat, draw)
        outcome.uses = dict(phase.uses)
        return outcome
    except PhaseError as exc:
        raise PhaseError(f"unit {name!r} phase {label!r}: {exc}") from None


def _charge(ph: P.Charge, unit: Process, name: str, mass: np.ndarray, t: float, mat: Materials,
            draw: Callable[[P.Phase], float]) -> Outcome:
    added = np.zeros_like(mass)
    for sp, kg in ph.materials.items():
        added[mat.code(sp)] += kg
    new = mass + added
    cap_old, cap_in = float(mass @ mat.cp), float(added @ mat.cp)
    t_mix = (cap_old * t + cap_in * ph.temperature) / (cap_old + cap_in) if cap_old else \
        ph.temperature
    flows = [(i, "input", float(kg)) for i, kg in enumerate(added) if kg > 0]
    # Head-space gas displaced by the charged volume, saturated (Raoult) with the VOCs present.
    displaced = float((added / mat.density).sum())
    liquid = ~mat.solid
    moles = np.where(liquid, new / mat.molar_mass, 0.0)
    total = moles.sum()
    for i in np.flatnonzero(mat.voc & liquid & (new > 0)):
        p_i = moles[i] / total * vapour_pressure(t_mix, mat.dh_vap[i], mat.t_boil[i])
        kg = min(p_i * displaced * mat.molar_mass[i] / (R * t_mix), float(new[i]))
        flows += _abate(unit, int(i), kg)
    return Outcome(draw(ph), flows, temperature=t_mix,
                   summary={"charged_kg": float(added.sum()), "displaced_m3": displaced})


def _thermal(ph: P.Thermal, unit: Process, name: str, mass: np.ndarray, t: float, mat: Materials,
             draw: Callable[[P.Phase], float]) -> Outcome:
    cap = float(mass @ mat.cp)
    if cap <= 0:
        raise PhaseError("the vessel is empty")
    duration = jacket_time(cap, ph.ua, t, ph.to, ph.jacket)
    if not math.isfinite(duration):
        raise PhaseError(f"a jacket at {ph.jacket - 273.15:.1f} degC cannot bring the batch "
                         f"from {t - 273.15:.1f} to {ph.to - 273.15:.1f} degC")
    return Outcome(duration, temperature=ph.to, utility=ph.utility,
                   heat=abs(cap * (ph.to - t)), summary={"from_K": t, "to_K": ph.to})


def reactor_inputs(ph: P.React, mass: np.ndarray, t: float,
                   mat: Materials) -> tuple[np.ndarray, np.ndarray, float]:
    """Kernel parameters, initial state and time limit [s] of a react phase on a batch of
    ``mass`` [kg] at ``t`` [K] (also used by thermal-safety scans of the same reaction)."""
    a = mat.code(ph.reactant)
    n_a = mass[a] / mat.molar_mass[a]
    if n_a <= 0:
        raise PhaseError(f"no {ph.reactant} in the batch")
    volume = float((mass / mat.density).sum())
    cap = float(mass @ mat.cp)
    dosed = ph.dose_fraction * n_a
    dose_time = draw_dist(ph.dose_time) if ph.dose_time is not None and dosed else 0.0
    rho_a = mat.density[a]
    dose_volume = dosed * mat.molar_mass[a] / rho_a
    p = kr.reactor_parameters(
        k0=ph.k0, ea=ph.ea, dh=ph.dh, rho_cp=cap / volume, ua=ph.ua, t_jacket=ph.jacket,
        n_a_total=n_a,
        scheme={None: kr.SINGLE, "series": kr.SERIES, "parallel": kr.PARALLEL}[ph.second],
        k0_2=ph.k0_2, ea_2=ph.ea_2, dh_2=ph.dh_2,
        feed_rate=dose_volume / dose_time if dose_time else 0.0,
        c_feed=rho_a / mat.molar_mass[a], t_feed=t, t_dose=dose_time,
        x_target=ph.target_conversion, t_max=ph.t_max if ph.t_max else math.inf)
    y0 = kr.reactor_state(n_a=n_a - dosed, temperature=t, volume=volume - dose_volume)
    t_end = draw_dist(ph.max_time) if ph.max_time is not None else DEFAULT_MAX_REACTION_TIME
    return p, y0, t_end


def _react(ph: P.React, unit: Process, name: str, mass: np.ndarray, t: float, mat: Materials,
           draw: Callable[[P.Phase], float]) -> Outcome:
    a, b = mat.code(ph.reactant), mat.code(ph.product)
    c = mat.code(ph.by_product) if ph.by_product else None
    n_a = mass[a] / mat.molar_mass[a]
    p, y0, t_end = reactor_inputs(ph, mass, t, mat)
    res = kr.run_reactor_phase(p, y0, t_end=t_end, unit=name, phase=ph.name or "react")
    n_end = res.end_state
    d_a = (n_end[0] - n_a) * mat.molar_mass[a]
    d_b = n_end[1] * mat.molar_mass[b]
    flows = [(a, "transformation", float(d_a)), (b, "transformation", float(d_b))]
    if c is not None:
        flows.append((c, "transformation", float(n_end[2] * mat.molar_mass[c])))
    if ph.co_reactant:
        co = mat.code(ph.co_reactant)
        used = ph.ratio * (n_a - n_end[0]) * mat.molar_mass[co]
        if used > mass[co] * (1 + 1e-9):
            raise PhaseError(f"co-reactant {ph.co_reactant} runs out ({used:.3g} kg needed, "
                             f"{mass[co]:.3g} kg charged)")
        flows.append((co, "transformation", -float(used)))
    tot = res.totals
    return Outcome(res.duration, flows, temperature=float(n_end[3]), utility=ph.utility,
                   heat=abs(tot["heat_removed_jacket_J"]), profile=res.profile,
                   columns=res.profile_columns,
                   summary={"ended_by": res.ended_by, "conversion": tot["conversion"],
                            "peak_temperature_K": tot["peak_temperature_K"],
                            "max_mtsr_K": tot["max_mtsr_K"],
                            "max_accumulation": tot["max_accumulation"],
                            "heat_released_J": tot["heat_released_J"],
                            "yield": tot["yield_B"], "selectivity": tot["selectivity_B"]})


def _react_network(ph: P.ReactNetwork, unit: Process, name: str, mass: np.ndarray, t: float,
                   mat: Materials, draw: Callable[[P.Phase], float]) -> Outcome:
    kin = kinetics_of(ph)
    key = ph.key_species()
    if not mass[mat.code(key)] > 0:
        raise PhaseError(f"no {key} in the batch")
    t_dose = draw_dist(ph.dose_time) if ph.dose_time is not None and ph.dose else 0.0
    p, y0, moles = network_inputs(ph, kin, mass, t, mat, t_dose)
    t_end = draw_dist(ph.max_time) if ph.max_time is not None else DEFAULT_MAX_REACTION_TIME
    res = kn.run_network_phase(p, y0, species=kin.species, t_end=t_end, unit=name,
                               phase=ph.name or "react")
    n_end = res.end_state[: len(kin.species)]
    flows = [(mat.code(s), "transformation", float((n_end[i] - moles[i])
                                                   * mat.molar_mass[mat.code(s)]))
             for i, s in enumerate(kin.species)]
    tot = res.totals
    return Outcome(res.duration, flows, temperature=float(res.end_state[len(kin.species)]),
                   utility=ph.utility, heat=abs(tot["heat_removed_jacket_J"]),
                   profile=res.profile, columns=res.profile_columns,
                   summary={"ended_by": res.ended_by, "conversion": tot["conversion"],
                            "peak_temperature_K": tot["peak_temperature_K"],
                            "max_mtsr_K": tot["max_mtsr_K"],
                            "max_accumulation": tot["max_accumulation"],
                            "heat_released_J": tot["heat_released_J"]})


def _crystallise(ph: P.Crystallise, unit: Process, name: str, mass: np.ndarray, t: float,
                 mat: Materials, draw: Callable[[P.Phase], float]) -> Outcome:
    s, x, w = mat.code(ph.solute), mat.code(ph.crystal), mat.code(ph.solvent)
    m_solvent, m_solute = float(mass[w]), float(mass[s])
    if m_solvent <= 0:
        raise PhaseError(f"no solvent {ph.solvent} in the batch")
    k_v = math.pi / 6
    n_seed = ph.seed_mass / (ph.crystal_density * k_v * ph.seed_size ** 3)
    seeds = tuple(n_seed * ph.seed_size ** k / m_solvent for k in range(4))
    duration = draw(ph)
    p = kc.crystallisation_parameters(
        t_start=t, t_end=ph.to, t_cool=duration, solubility=ph.solubility, k_b=ph.k_b, b=ph.b,
        k_g=ph.k_g, g=ph.g, rho_c=ph.crystal_density, m_solvent=m_solvent,
        heat_capacity=float(mass @ mat.cp), dh_cryst=ph.dh_cryst, k_v=k_v)
    y0 = kc.crystallisation_state(concentration=m_solute / m_solvent, seed_moments=seeds)
    res = kc.run_crystallisation_phase(p, y0, t_end=duration, unit=name,
                                       phase=ph.name or "crystallise")
    formed = min(res.totals["crystal_mass_formed_kg"], m_solute)
    flows = [(s, "transformation", -formed), (x, "transformation", formed)]
    if ph.seed_mass:
        flows.append((x, "input", ph.seed_mass))
    return Outcome(res.duration, flows, temperature=ph.to, utility=ph.utility,
                   heat=abs(res.totals["heat_removed_J"]), profile=res.profile,
                   columns=res.profile_columns,
                   summary={"crystallised_kg": formed, "yield": res.totals["yield"],
                            "sauter_mean_size_m": res.totals["sauter_mean_size_m"]})


def _separate(ph: P.Separate, unit: Process, name: str, mass: np.ndarray, t: float, mat: Materials,
              draw: Callable[[P.Phase], float]) -> Outcome:
    solids = np.where(mat.solid, mass, 0.0)
    liquids = np.where(mat.solid, 0.0, mass)
    kept_solids = solids * ph.solids_recovery
    kept_liquid_total = min(ph.cake_liquid * float(kept_solids.sum()), float(liquids.sum()))
    share = liquids / liquids.sum() if liquids.sum() > 0 else liquids
    kept = kept_solids + share * kept_liquid_total
    out = mass - kept
    flows = [(i, ph.filtrate, float(kg)) for i, kg in enumerate(out) if kg > 0]
    return Outcome(draw(ph), flows,
                   summary={"filtrate_kg": float(out.sum()), "cake_kg": float(kept.sum())})


def _dry(ph: P.Dry, unit: Process, name: str, mass: np.ndarray, t: float, mat: Materials,
         draw: Callable[[P.Phase], float]) -> Outcome:
    w = mat.code(ph.solvent)
    m_solvent = float(mass[w])
    dry = mass.copy()
    dry[w] = 0.0
    m_dry = float(dry.sum())
    if m_dry <= 0:
        raise PhaseError("nothing but solvent to dry")
    if not math.isfinite(mat.dh_vap[w]) or not math.isfinite(mat.t_boil[w]):
        raise PhaseError(f"species {ph.solvent} needs dh_vap and t_boil to be dried")
    p = kd.drying_parameters(
        area=ph.area, m_dry=m_dry, cp_dry=float(dry @ mat.cp) / m_dry,
        cp_solvent=float(mat.cp[w]), h_conv=ph.h_conv, k_mass=ph.k_mass,
        t_air=ph.air_temperature, molar_mass=float(mat.molar_mass[w]),
        dh_vap=float(mat.dh_vap[w]), t_boil=float(mat.t_boil[w]),
        x_crit=ph.critical_content, x_eq=ph.equilibrium_content, x_target=ph.target_content,
        air_flow=ph.air_flow)
    y0 = kd.drying_state(solvent_mass=m_solvent, temperature=t)
    t_end = draw_dist(ph.max_time) if ph.max_time is not None else DEFAULT_MAX_REACTION_TIME
    res = kd.run_drying_phase(p, y0, t_end=t_end, unit=name, phase=ph.name or "dry")
    evaporated = min(res.totals["solvent_evaporated_kg"], m_solvent)
    flows = _abate(unit, w, evaporated) if mat.voc[w] else [(w, "emission", evaporated)]
    return Outcome(res.duration, flows, temperature=res.totals["temperature_K"],
                   utility=ph.utility, heat=res.totals["air_heating_J"], profile=res.profile,
                   columns=res.profile_columns,
                   summary={"ended_by": res.ended_by, "evaporated_kg": evaporated,
                            "final_content": res.totals["solvent_content_kg_kg"]})


COONEY_J_PER_KG_O2 = 460e3 / 0.032
"""Metabolic heat per kg of oxygen consumed (Cooney et al. 1969: 460 kJ/mol O2) [J/kg]."""


def _ferment(ph: P.Ferment, unit: Process, name: str, mass: np.ndarray, t: float,
             mat: Materials, draw: Callable[[P.Phase], float]) -> Outcome:
    x, s, w = mat.code(ph.biomass), mat.code(ph.substrate), mat.code(ph.water)
    o2, co2 = mat.code(ph.oxygen), mat.code(ph.co2)
    volume = float((mass / mat.density).sum())
    if volume <= 0:
        raise PhaseError("the fermenter is empty")
    kla = ph.kla if ph.kla is not None else rules.kla_van_t_riet(
        ph.power_per_volume, ph.gas_velocity, ph.coalescing)
    start = draw_dist(ph.feed_start) if ph.feed_start is not None else 0.0
    p = kf.fermentation_parameters(
        mu_max=ph.mu_max, ks=ph.ks, ko=ph.ko, y_xs=ph.y_xs, y_xo=ph.y_xo, m_s=ph.m_s,
        kla=kla, c_star=ph.c_star, s_feed=ph.feed_concentration, f0=ph.feed_rate,
        mu_feed=ph.feed_exponent, t_feed_start=start, x_target=ph.target_biomass,
        v_max=ph.max_volume)
    y0 = kf.fermentation_state(biomass=mass[x] / volume, substrate=mass[s] / volume,
                               dissolved_oxygen=ph.c_star, volume=volume)
    res = kf.run_fermentation_phase(p, y0, t_end=draw_dist(ph.max_time), unit=name,
                                    phase=ph.name or "ferment")
    tot = res.totals
    fed_s = tot["substrate_fed_kg"]
    fed_w = max(tot["feed_volume_m3"] * mat.density[w] - fed_s, 0.0)
    grown = tot["biomass_formed_kg"]
    used_s = tot["substrate_consumed_kg"]
    # Oxygen consumed: growth plus the substrate respired beyond growth (kernel: OUR).
    used_o2 = max(tot["oxygen_transferred_kg"], 0.0)
    co2_kg = max((ph.carbon_substrate * used_s - ph.carbon_biomass * grown) * 44.0 / 12.0, 0.0)
    water_made = used_s + used_o2 - grown - co2_kg
    if water_made < -1e-6 * max(used_s, 1.0):
        raise PhaseError("the yields and carbon fractions imply negative metabolic water "
                         f"({water_made:.3g} kg): check y_xs, y_xo and the carbon fractions")
    flows = [(s, "input", fed_s), (w, "input", fed_w), (o2, "input", used_o2),
             (s, "transformation", -used_s), (o2, "transformation", -used_o2),
             (x, "transformation", grown), (co2, "transformation", co2_kg),
             (w, "transformation", water_made), (co2, "emission", co2_kg)]
    return Outcome(res.duration, [f for f in flows if f[2] != 0.0], utility=ph.utility,
                   heat=used_o2 * COONEY_J_PER_KG_O2, profile=res.profile,
                   columns=res.profile_columns,
                   summary={"ended_by": res.ended_by, "biomass_formed_kg": grown,
                            "substrate_consumed_kg": used_s, "oxygen_kg": used_o2,
                            "co2_kg": co2_kg, "kla_1_s": kla,
                            "final_biomass_kg_m3": tot["biomass_conc_kg_m3"]})


def _clean(ph: P.Clean, unit: Process, name: str, mass: np.ndarray, t: float, mat: Materials,
           draw: Callable[[P.Phase], float]) -> Outcome:
    return Outcome(draw(ph), utility=ph.utility, heat=ph.heat * ph.water, water=ph.water,
                   wastewater=ph.water, cod=ph.cod)


def _hold(ph: P.Hold, unit: Process, name: str, mass: np.ndarray, t: float, mat: Materials,
          draw: Callable[[P.Phase], float]) -> Outcome:
    return Outcome(draw(ph))


def _fmu(ph: P.Fmu, unit: Process, name: str, mass: np.ndarray, t: float, mat: Materials,
         draw: Callable[[P.Phase], float]) -> Outcome:
    try:
        res = fmu_phase.run(ph, name, mass, t, mat)
        flows = fmu_phase.flows(ph, res, mass, mat)
    except fmu_phase.FmuPhaseError as exc:
        raise PhaseError(str(exc)) from None
    end, start = res["end"], res["start"]
    heat = abs(end["heat"] - start["heat"]) if "heat" in end else 0.0
    return Outcome(res["duration"], flows, temperature=end.get("temperature"),
                   utility=ph.utility, heat=heat, profile=res["profile"],
                   columns=res["columns"],
                   summary={"ended_by": res["ended_by"], "fmu_steps": res["steps"]})


def draw_dist(dist: object) -> float:
    """The mean of a distribution-valued phase limit (limits are not random) [s]."""
    return float(dist.mean())  # type: ignore[attr-defined]


_HANDLERS: dict[type, Callable[..., Outcome]] = {
    P.Charge: _charge, P.Thermal: _thermal, P.React: _react, P.ReactNetwork: _react_network,
    P.Crystallise: _crystallise,
    P.Separate: _separate, P.Dry: _dry, P.Ferment: _ferment, P.Clean: _clean, P.Hold: _hold,
    P.Fmu: _fmu,
}
_KERNELS: dict[type, tuple[Any, ...]] = {}


def register_phase(spec: type, compute: Callable[..., Outcome], kernels: Sequence[Any] = (),
                   scale: Callable[..., None] | None = None) -> type:
    """Register a phase model: its spec class ``spec`` is accepted in recipes
    (:func:`twin.data.registry.register_phase`), ``compute(phase, unit, name, mass,
    temperature, materials, draw) -> Outcome`` is what it does to a batch (as the built-in
    handlers above: every change of the batch's material a flow; ``draw(phase)`` samples
    its ``duration`` or ``time``), ``kernels`` (compiled with :func:`twin.kernels.jit.kernel`;
    a kernel that is not a phase kernel as ``(kernel, signature)``) are compiled by ``twin
    warmup``, and ``scale`` says how its values change in a scale-up
    (:func:`twin.process.scaleup.register_scaling`; default: they do not). Idempotent;
    returns ``spec``.

    Raises
    ------
    twin.data.registry.RegistrationError
        If ``spec`` cannot be registered or another function computes it.
    """
    held = _HANDLERS.get(spec)
    if held is not None and held is not compute:
        raise registry.RegistrationError(f"{spec.__name__} is already computed by "
                                         f"{held.__module__}.{held.__qualname__}")
    registry.register_phase(spec)
    _HANDLERS[spec] = compute
    _KERNELS[spec] = tuple(kernels)
    if scale is not None:
        scaleup.register_scaling(spec, scale)
    return spec


def unregister_phase(spec: type) -> None:
    """Forget a registered (not built-in) phase model."""
    registry.unregister(spec)
    _HANDLERS.pop(spec, None)
    _KERNELS.pop(spec, None)
    scaleup.unregister_scaling(spec)


def phase_kernels() -> tuple[Any, ...]:
    """Every phase kernel to compile ahead of use: the built-in ones
    (:data:`twin.kernels.warmup.PHASE_KERNELS`), then those of registered phase models
    (installed extensions loaded first)."""
    registry.load_extensions()
    extra = [k for ks in _KERNELS.values() for k in ks]
    return PHASE_KERNELS + tuple(dict.fromkeys(extra))


def handler_of(phase: P.PhaseBase) -> Callable[..., Outcome]:
    """The function that computes ``phase``.

    Raises
    ------
    PhaseError
        If its phase model has no function in this process.
    """
    found = _HANDLERS.get(type(phase))
    if found is None and registry.load_extensions():
        found = _HANDLERS.get(type(phase))
    if found is None:
        raise PhaseError(f"phase model {type(phase).__qualname__} has nothing that computes "
                         "it in this process: register it with "
                         "twin.process.phases.register_phase (or install it as an extension, "
                         f"entry point group {registry.ENTRY_POINT_GROUP!r})")
    return found
