"""Thermal process safety: adiabatic rise, MTSR, TMRad/TD24, Stoessel classes, cooling failure.

Plain Python on top of the reactor kernel (:mod:`twin.kernels.reactor`); every function works in
SI units (temperatures in K, times in s, energies in J).

The cooling-failure scenario of Stoessel (Gygax 1988; Stoessel 2008, ch. 3) asks what happens if
the cooling fails at the worst moment of a process run at the process temperature Tp: the
accumulated reactants react adiabatically and raise the temperature to the maximum temperature of
the synthesis reaction, MTSR = Tp + X_acc dT_ad. Whether that is critical depends on where MTSR
lies relative to the maximum technical temperature MTT (boiling point, pressure relief set
point) and to TD24, the temperature at which a secondary decomposition reaches its maximum rate
in 24 h under adiabatic conditions. The five criticality classes follow from the order of the
three temperatures.

References
----------
- F. Stoessel, *Thermal Safety of Chemical Processes*, Wiley-VCH 2008 (ch. 2: severity by dT_ad;
  ch. 3: cooling failure scenario, MTSR, criticality classes; ch. 2.5: TMRad, TD24).
- R. Gygax, Chemical reaction engineering for safety, Chem. Eng. Sci. 43 (1988) 1759-1771.
- D. I. Townsend, J. C. Tou, Thermal hazard evaluation by an accelerating rate calorimeter,
  Thermochim. Acta 37 (1980) 1-30 (TMRad = cp R T^2 / (q Ea)).
- D. A. Frank-Kamenetskii, *Diffusion and Heat Transfer in Chemical Kinetics*, Plenum 1969
  (exponent approximation behind the TMRad formula).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from twin.kernels import reactor as r
from twin.kernels.phase import PhaseResult
from twin.kernels.rhs import reactor as m
from twin.kernels.thermo import R

KELVIN_0C = 273.15
"""0 degC in K (used for the degC figures in alarm texts only)."""
SEVERITY_LIMITS = (50.0, 200.0, 400.0)
"""Lower bounds [K] of the dT_ad severity bands medium, high and very high (Stoessel 2008)."""
SEVERITY_NAMES = ("low", "medium", "high", "very high")
"""Severity bands in increasing order."""
TMR_24H = 24.0 * 3600.0
"""Time to maximum rate defining TD24 [s]."""
TD_BRACKET = (173.15, 1273.15)
"""Default search range of :func:`td24` [K] (-100 degC to 1000 degC)."""
CLASS_MEANING = {
    1: "no critical situation: MTSR stays below MTT and TD24",
    2: "MTSR below TD24 <= MTT: decomposition only if the mass is held long at MTT",
    3: "MTT reached but not TD24: evaporative cooling or pressure relief is a safety barrier",
    4: "MTT reached and TD24 reachable if the barrier at MTT fails: the barrier must be designed",
    5: "TD24 reached below MTT: decomposition before the barrier; redesign or emergency measures",
}
"""Short meaning of each Stoessel criticality class (Stoessel 2008, table 3.1)."""


# --------------------------------------------------------------------------- closed forms


def adiabatic_rise(dh: float, c0: float, rho_cp: float) -> float:
    """Adiabatic temperature rise of a complete reaction, dT_ad = (-dH) c0 / (rho cp).

    Parameters
    ----------
    dh : float
        Reaction enthalpy [J/mol] (negative: exothermic).
    c0 : float
        Concentration of the limiting reactant in the final reaction mass [mol/m3].
    rho_cp : float
        Volumetric heat capacity of the reaction mass [J/(m3 K)] (> 0).

    Returns
    -------
    float
        dT_ad [K]; negative for an endothermic reaction.

    Raises
    ------
    ValueError
        If ``rho_cp`` is not positive or an argument is not finite.

    Notes
    -----
    Stoessel (2008) eq. 2.9. Constant heat capacity, no heat losses, complete conversion.
    """
    _finite(dh=dh, c0=c0, rho_cp=rho_cp)
    if rho_cp <= 0.0:
        raise ValueError(f"rho_cp must be positive, got {rho_cp}")
    return -dh * c0 / rho_cp


def severity(dt_ad: float) -> str:
    """Severity of a runaway from its adiabatic temperature rise (Stoessel 2008, table 2.3).

    Parameters
    ----------
    dt_ad : float
        Adiabatic temperature rise [K].

    Returns
    -------
    str
        ``"low"`` (dT_ad < 50 K), ``"medium"`` (50 <= dT_ad < 200 K), ``"high"``
        (200 <= dT_ad < 400 K) or ``"very high"`` (dT_ad >= 400 K).

    Raises
    ------
    ValueError
        If ``dt_ad`` is NaN.

    Notes
    -----
    Each band includes its lower bound: a tie at 50 K is medium, at 200 K high, at 400 K very
    high, matching ">= 400 K very high" of the source. Negative rises (endothermic) are low.
    """
    if math.isnan(dt_ad):
        raise ValueError("dt_ad is NaN")
    band = 0
    for limit in SEVERITY_LIMITS:
        if dt_ad >= limit:
            band += 1
    return SEVERITY_NAMES[band]


def mtsr(tp: float, x_acc: float, dt_ad: float) -> float:
    """Maximum temperature of the synthesis reaction, MTSR = Tp + X_acc dT_ad.

    Parameters
    ----------
    tp : float
        Process temperature at the moment of the cooling failure [K].
    x_acc : float
        Accumulation: fraction of the reaction heat not yet released [-], in [0, 1].
    dt_ad : float
        Adiabatic temperature rise of the complete reaction [K].

    Returns
    -------
    float
        MTSR [K].

    Raises
    ------
    ValueError
        If ``x_acc`` is outside [0, 1] or an argument is not finite.

    Notes
    -----
    Stoessel (2008) eq. 3.1 (Gygax 1988). The accumulated reactants react completely and
    adiabatically; dosing stops at the failure.
    """
    _finite(tp=tp, x_acc=x_acc, dt_ad=dt_ad)
    if not 0.0 <= x_acc <= 1.0:
        raise ValueError(f"x_acc must be in [0, 1], got {x_acc}")
    return tp + x_acc * dt_ad


# --------------------------------------------------------------------------- decomposition


def heat_release_rate(t: float, q0: float, t0: float, ea: float) -> float:
    """Specific heat-release rate of a zero-order decomposition, q(T) [W/kg].

    q(T) = q0 exp(-Ea/R (1/T - 1/T0)) (Arrhenius through a measured point, e.g. from DSC).

    Parameters
    ----------
    t : float
        Temperature [K] (> 0).
    q0 : float
        Heat-release rate at ``t0`` [W/kg] (> 0).
    t0 : float
        Reference temperature of ``q0`` [K] (> 0).
    ea : float
        Activation energy [J/mol] (> 0).
    """
    _check_decomposition(q0, t0, ea, 1.0)
    if not t > 0.0:
        raise ValueError(f"temperature must be positive, got {t}")
    return q0 * math.exp(-ea / R * (1.0 / t - 1.0 / t0))


def tmr_ad(t: float, q0: float, t0: float, ea: float, cp: float) -> float:
    """Adiabatic time to maximum rate from temperature ``t``, TMRad = cp R T^2 / (q(T) Ea) [s].

    Parameters
    ----------
    t : float
        Start temperature [K].
    q0, t0, ea : float
        Decomposition kinetics as in :func:`heat_release_rate` ([W/kg], [K], [J/mol]).
    cp : float
        Specific heat capacity of the mass [J/(kg K)] (> 0).

    Returns
    -------
    float
        TMRad [s].

    Notes
    -----
    Townsend & Tou (1980); Stoessel (2008) eq. 2.25. Zero-order reaction (or first order at
    small conversion, i.e. negligible reactant depletion before the runaway), adiabatic (no
    thermal inertia correction, phi = 1), constant cp. The formula follows from integrating
    cp dT/dt = q(T) to infinite rate with the Frank-Kamenetskii approximation
    1/T ~ 1/T_s - (T - T_s)/T_s^2; it underestimates the exact integral by a relative amount
    of about 2 R T / Ea (a few percent; conservative).
    """
    return cp * R * t * t / (heat_release_rate(t, q0, t0, ea) * ea)


def td24(
    q0: float,
    t0: float,
    ea: float,
    cp: float,
    *,
    tmr: float = TMR_24H,
    bracket: tuple[float, float] = TD_BRACKET,
) -> float:
    """Temperature at which TMRad equals 24 h (TD24) [K], solved by bisection.

    Parameters
    ----------
    q0 : float
        Heat-release rate at ``t0`` [W/kg].
    t0 : float
        Reference temperature [K].
    ea : float
        Activation energy [J/mol].
    cp : float
        Specific heat capacity [J/(kg K)].
    tmr : float
        Target time to maximum rate [s] (default 24 h; 8 h gives TD8).
    bracket : tuple of float
        Search range [K].

    Returns
    -------
    float
        TD24 [K], to a relative tolerance of 1e-13 in temperature.

    Raises
    ------
    ValueError
        If the inputs are not positive and finite, or if TMRad(T) = ``tmr`` has no root in
        ``bracket`` (the message gives TMRad at both ends).

    Notes
    -----
    Stoessel (2008) ch. 2.5.5. f(T) = ln TMRad(T) - ln tmr is strictly decreasing for
    T < Ea / (2 R) (d ln TMRad / dT = 2/T - Ea/(R T^2)), so the upper end of the bracket is
    capped there and the root, if bracketed, is unique. Bisection on the log form converges
    unconditionally; 200 halvings bound the loop.
    """
    _check_decomposition(q0, t0, ea, cp)
    if not (tmr > 0.0 and math.isfinite(tmr)):
        raise ValueError(f"tmr must be positive and finite, got {tmr}")
    lo, hi = float(bracket[0]), min(float(bracket[1]), ea / (2.0 * R))
    if not 0.0 < lo < hi:
        raise ValueError(
            f"no TD search range: bracket {bracket} K with TMRad monotonic only below "
            f"Ea/(2R) = {ea / (2.0 * R):.1f} K"
        )
    log_tmr = math.log(tmr)

    def f(t: float) -> float:
        return math.log(cp * R * t * t / ea) - math.log(q0) + ea / R * (1.0 / t - 1.0 / t0) \
            - log_tmr

    f_lo, f_hi = f(lo), f(hi)
    if f_lo < 0.0 or f_hi > 0.0:
        raise ValueError(
            f"TMRad = {tmr:.6g} s has no root in [{lo:.2f}, {hi:.2f}] K: TMRad is "
            f"{math.exp(f_lo + log_tmr):.4g} s at {lo:.2f} K and {math.exp(f_hi + log_tmr):.4g} s "
            f"at {hi:.2f} K"
        )
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- classes


def stoessel_class(mtsr: float, mtt: float, td24: float) -> int:
    """Stoessel criticality class 1..5 from MTSR, MTT and TD24 [K].

    Parameters
    ----------
    mtsr : float
        Maximum temperature of the synthesis reaction [K].
    mtt : float
        Maximum technical temperature [K] (boiling point at the operating pressure, relief set
        point).
    td24 : float
        Temperature at which TMRad of the decomposition is 24 h [K].

    Returns
    -------
    int
        1: MTSR < MTT < TD24; 2: MTSR < TD24 <= MTT; 3: MTT <= MTSR < TD24;
        4: MTT < TD24 <= MTSR; 5: TD24 <= MTSR and TD24 <= MTT.

    Raises
    ------
    ValueError
        If an argument is NaN.

    Notes
    -----
    Stoessel (2008) ch. 3.3. Ties resolve exactly as the inequalities are written, which
    partition all orderings (each triple falls in exactly one class; the tests enumerate them):
    MTSR == MTT < TD24 is class 3 (MTT <= MTSR); MTSR < MTT == TD24 is class 2 (TD24 <= MTT);
    MTSR == TD24 (any MTT) and MTT == TD24 <= MTSR are class 5 unless MTT < TD24, where
    MTT < TD24 == MTSR is class 4. Reaching a limit counts as reaching it, so ties fall on the
    more critical side. The decision order: class 5 if TD24 is at or below both; otherwise, if
    MTSR < TD24, MTT decides between 1 (MTSR < MTT < TD24), 2 (TD24 <= MTT) and 3
    (MTT <= MTSR); otherwise MTT < TD24 <= MTSR, class 4.
    """
    if math.isnan(mtsr) or math.isnan(mtt) or math.isnan(td24):
        raise ValueError(f"NaN temperature: MTSR {mtsr}, MTT {mtt}, TD24 {td24}")
    if td24 <= mtsr and td24 <= mtt:
        return 5
    if mtsr < td24:
        if mtt <= mtsr:
            return 3
        return 1 if mtt < td24 else 2
    return 4  # td24 <= mtsr and mtt < td24


# --------------------------------------------------------------------------- cooling failure


@dataclass(frozen=True)
class CoolingFailure:
    """One cooling-failure scenario of the reactor kernel.

    Attributes
    ----------
    t_fail : float
        Time of the failure [s] on the clock of the normal phase (the end of the normal phase
        if it ended earlier by an end condition).
    temperature_at_failure : float
        Reactor temperature at the failure [K].
    accumulation_at_failure : float
        X_acc at the failure [-] (releasable heat over the potential heat of all A).
    mtsr_at_failure : float
        Kernel MTSR at the failure [K], T + releasable heat / (rho cp V).
    max_temperature : float
        Highest temperature reached after the failure [K].
    time_to_max : float
        Time after the failure [s] at which 99 % of the temperature rise after the failure has
        occurred (the approach to the maximum is asymptotic for first-order kinetics).
    time_to_max_rate : float
        Time after the failure [s] of the highest dT/dt on the adiabatic profile grid.
    complete : bool
        True if the releasable heat fell below the completion fraction within the time limit.
    normal : PhaseResult or None
        Normal (cooled) phase up to the failure; None for a failure at t = 0.
    adiabatic : PhaseResult or None
        Adiabatic continuation; None if nothing was left to react.
    """

    t_fail: float
    temperature_at_failure: float
    accumulation_at_failure: float
    mtsr_at_failure: float
    max_temperature: float
    time_to_max: float
    time_to_max_rate: float
    complete: bool
    normal: PhaseResult | None = field(repr=False)
    adiabatic: PhaseResult | None = field(repr=False)


def cooling_failure(
    p: np.ndarray,
    y0: np.ndarray,
    *,
    t_fail: float,
    unit: str,
    phase: str,
    t_end: float,
    rtol: float = 1e-8,
    completion: float = 1e-7,
    n_out: int = 1000,
) -> CoolingFailure:
    """Simulate a loss of the jacket cooling at ``t_fail`` with the reactor kernel.

    Parameters
    ----------
    p : ndarray
        Reactor parameters (:func:`twin.kernels.reactor.reactor_parameters`). Not modified.
    y0 : ndarray
        Initial reactor state (:func:`twin.kernels.reactor.reactor_state`). Not modified.
    t_fail : float
        Time of the cooling failure [s] after the start of the normal phase (>= 0).
    unit, phase : str
        Names used in integration error messages (the adiabatic part is reported as
        ``phase + " (cooling failure)"``).
    t_end : float
        Time limit of the adiabatic continuation after the failure [s] (> 0).
    rtol : float
        Relative tolerance of both integrations [-].
    completion : float
        The reaction counts as complete when the releasable heat has fallen below this fraction
        of the releasable heat at the failure [-].
    n_out : int
        Profile rows of the adiabatic continuation (resolution of the times to the maximum).

    Returns
    -------
    CoolingFailure

    Raises
    ------
    IntegrationError
        If either integration fails.
    ValueError
        If ``t_fail`` < 0 or ``t_end`` <= 0.

    Notes
    -----
    Stoessel (2008) ch. 3.2 cooling-failure scenario. Assumptions: the normal phase runs with
    the original parameters (jacket, dosing, end conditions) up to ``t_fail``; at the failure the
    jacket is lost completely (UA = 0, no heat losses), the dosing stops at once (feed pump
    interlocked to the cooling; a continued feed would make the case worse), and the phase's
    temperature limit ``t_max`` is not applied, so the temperature is followed to its maximum.
    For the single and parallel schemes A carries all the releasable heat, so the continuation
    ends when the unreacted A falls to ``completion`` times its amount at failure (a conversion
    end condition); in the series scheme the heat of B -> C is also releasable, so the
    continuation runs to ``t_end`` and ``complete`` is judged from the end state. For a single
    exothermic reaction the adiabatic end temperature is exactly the kernel MTSR at the failure.
    """
    if not t_fail >= 0.0:
        raise ValueError(f"t_fail must be >= 0, got {t_fail}")
    if not t_end > 0.0:
        raise ValueError(f"t_end must be positive, got {t_end}")
    p = np.asarray(p, dtype=float)
    y_fail = np.array(y0, dtype=float)
    normal: PhaseResult | None = None
    t_at = 0.0
    if t_fail > 0.0:
        normal = r.run_reactor_phase(p, y_fail, t_end=t_fail, unit=unit, phase=phase, rtol=rtol)
        y_fail = normal.end_state.copy()
        t_at = normal.duration
    pot_total = _potential_per_mol(p) * float(p[m.N_A_TOTAL])
    pot_fail = float(m.heat_potential(y_fail, p))
    temp_fail = float(y_fail[m.TEMP])
    x_acc = pot_fail / pot_total if pot_total > 0.0 else 0.0
    mtsr_fail = temp_fail + pot_fail / float(p[m.RHO_CP] * y_fail[m.VOL])
    if pot_fail <= 0.0 or y_fail[m.N_A] + y_fail[m.N_B] <= 0.0:
        return CoolingFailure(t_at, temp_fail, x_acc, mtsr_fail, temp_fail, 0.0, 0.0, True,
                              normal, None)

    pa = p.copy()
    pa[m.UA] = 0.0
    pa[m.FEED_RATE] = 0.0
    pa[m.T_DOSE] = 0.0
    pa[m.T_MAX] = math.inf
    if int(p[m.SCHEME]) == m.SERIES:
        pa[m.X_TARGET] = 2.0
    else:
        # conversion in the continuation is 1 - N_A / N_A_TOTAL (nothing left to dose)
        pa[m.X_TARGET] = 1.0 - completion * y_fail[m.N_A] / p[m.N_A_TOTAL]
    adiabatic = r.run_reactor_phase(pa, y_fail, t_end=t_end, unit=unit,
                                    phase=f"{phase} (cooling failure)", rtol=rtol, n_out=n_out)
    pot_end = float(m.heat_potential(adiabatic.end_state, pa))
    complete = adiabatic.ended_by == "target_conversion" or pot_end <= completion * pot_fail

    prof_t = adiabatic.profile[:, r.P_TIME]
    prof_temp = adiabatic.profile[:, r.P_TEMP]
    t_max = max(adiabatic.totals["peak_temperature_K"], float(prof_temp.max()), temp_fail)
    time_to_max = _first_crossing(prof_t, prof_temp, temp_fail + 0.99 * (t_max - temp_fail))
    rate = np.diff(prof_temp) / np.diff(prof_t)
    k = int(np.argmax(rate))
    time_to_max_rate = float(0.5 * (prof_t[k] + prof_t[k + 1]))
    return CoolingFailure(t_at, temp_fail, x_acc, mtsr_fail, t_max, time_to_max,
                          time_to_max_rate, bool(complete), normal, adiabatic)


@dataclass(frozen=True)
class CoolingFailureScan:
    """Cooling failures at several times of one normal phase.

    Attributes
    ----------
    worst : CoolingFailure
        Scenario with the highest maximum temperature.
    scenarios : tuple of CoolingFailure
        All scenarios in order of failure time.
    normal : PhaseResult
        The undisturbed normal phase over the scanned horizon.
    t_max_accumulation : float
        Profile time of the maximum accumulation of the normal phase [s].
    """

    worst: CoolingFailure
    scenarios: tuple[CoolingFailure, ...]
    normal: PhaseResult
    t_max_accumulation: float


def worst_cooling_failure(
    p: np.ndarray,
    y0: np.ndarray,
    *,
    t_phase: float,
    unit: str,
    phase: str,
    t_end: float,
    n_grid: int = 12,
    rtol: float = 1e-8,
    completion: float = 1e-7,
) -> CoolingFailureScan:
    """Scan cooling-failure times over a normal phase and return the worst case.

    Parameters
    ----------
    p, y0 : ndarray
        Reactor parameters and initial state. Not modified.
    t_phase : float
        Duration of the normal phase to scan [s] (> 0).
    unit, phase : str
        Names for integration error messages.
    t_end : float
        Time limit of each adiabatic continuation [s].
    n_grid : int
        Number of equal intervals of the failure-time grid on [0, duration] (>= 1).
    rtol, completion : float
        As in :func:`cooling_failure`.

    Returns
    -------
    CoolingFailureScan
        The worst case is the scenario with the highest maximum temperature.

    Notes
    -----
    Failure times: the grid, the time of the maximum accumulation on the normal profile and the
    time of the kernel's maximum MTSR (over accepted steps), where the worst case of a single
    exothermic reaction lies (Stoessel 2008 ch. 7: for a semi-batch, around the end of the
    dosing). The scan is a sampling: a sharper maximum between samples is missed, but the kernel
    MTSR maximum is always among them.
    """
    if not t_phase > 0.0:
        raise ValueError(f"t_phase must be positive, got {t_phase}")
    if n_grid < 1:
        raise ValueError(f"n_grid must be >= 1, got {n_grid}")
    normal = r.run_reactor_phase(p, y0, t_end=t_phase, unit=unit, phase=phase, rtol=rtol)
    prof = normal.profile
    t_acc = float(prof[int(np.argmax(prof[:, r.P_X_ACC])), r.P_TIME])
    times = set(np.linspace(0.0, normal.duration, n_grid + 1).tolist())
    times.update((t_acc, normal.totals["max_mtsr_time_s"]))
    scenarios = tuple(
        cooling_failure(p, y0, t_fail=t, unit=unit, phase=phase, t_end=t_end, rtol=rtol,
                        completion=completion)
        for t in sorted(times)
    )
    worst = max(scenarios, key=lambda s: s.max_temperature)
    return CoolingFailureScan(worst, scenarios, normal, t_acc)


# --------------------------------------------------------------------------- assessment


@dataclass(frozen=True)
class SafetyAssessment:
    """Thermal-safety figures of one process step and the alarms they raise.

    Attributes
    ----------
    dt_ad : float
        Adiabatic temperature rise [K].
    severity : str
        Severity band of ``dt_ad`` (:func:`severity`).
    mtsr : float
        Maximum temperature of the synthesis reaction [K].
    mtt : float
        Maximum technical temperature [K].
    td24 : float or None
        Temperature of TMRad = 24 h [K] (None when unknown).
    criticality_class : int
        Stoessel class 1..5 (0: not classified, TD24 unknown).
    worst_failure_temperature : float or None
        Highest temperature of the simulated cooling failures [K], if simulated.
    alarms : list of str
        Human-readable alarms (empty when nothing is critical).
    """

    dt_ad: float
    severity: str
    mtsr: float
    mtt: float
    td24: float | None
    criticality_class: int
    worst_failure_temperature: float | None = None
    alarms: list[str] = field(default_factory=list)


def assess(
    *,
    dt_ad: float,
    tp: float = math.nan,
    x_acc: float = math.nan,
    mtt: float,
    td24: float | None,
    worst_failure_temperature: float | None = None,
    mtsr_known: float | None = None,
) -> SafetyAssessment:
    """Assess a process step: severity, MTSR, Stoessel class and alarms.

    Parameters
    ----------
    dt_ad : float
        Adiabatic temperature rise of the complete reaction [K].
    tp : float
        Process temperature at the worst moment of a cooling failure [K].
    x_acc : float
        Accumulation at that moment [-].
    mtt : float
        Maximum technical temperature [K].
    td24 : float or None
        TD24 of the reaction mass [K] (:func:`td24`); ``None`` when unknown: no class
        (``criticality_class`` 0) and no TD24 alarms.
    worst_failure_temperature : float, optional
        Highest temperature of simulated cooling failures [K] (:func:`worst_cooling_failure`).
    mtsr_known : float, optional
        The MTSR [K] when it is known directly (e.g. the reactor kernel's highest
        ``T + accumulated heat / heat capacity`` along the batch); replaces ``tp + x_acc dt_ad``.

    Returns
    -------
    SafetyAssessment

    Notes
    -----
    Alarms (texts in degC): MTSR at or above MTT; MTSR at or above TD24; TD24 at or below MTT;
    class 3 to 5 with its meaning; severity high or very high; a simulated cooling failure
    reaching MTT or TD24. Class 1 and 2 raise no class alarm (Stoessel 2008: no specific measure
    beyond keeping the accumulation low for class 2).
    """
    t_syn = mtsr(tp, x_acc, dt_ad) if mtsr_known is None else float(mtsr_known)
    sev = severity(dt_ad)
    cls = stoessel_class(t_syn, mtt, td24) if td24 is not None else 0
    limits = [("MTT", mtt)] + ([("TD24", td24)] if td24 is not None else [])
    alarms: list[str] = []
    for name, limit in limits:
        if t_syn >= limit:
            verb = "exceeds" if t_syn > limit else "reaches"
            alarms.append(f"MTSR {_c(t_syn)} degC {verb} {name} {_c(limit)} degC")
    if td24 is not None and td24 <= mtt:
        alarms.append(f"TD24 {_c(td24)} degC is not above MTT {_c(mtt)} degC")
    if cls >= 3:
        alarms.append(f"class {cls}: {CLASS_MEANING[cls]}")
    if sev in ("high", "very high"):
        alarms.append(f"severity {sev}: dT_ad {dt_ad:.1f} K")
    if worst_failure_temperature is not None:
        for name, limit in limits:
            if worst_failure_temperature >= limit:
                alarms.append(
                    f"cooling failure reaches {_c(worst_failure_temperature)} degC, "
                    f"at or above {name} {_c(limit)} degC"
                )
    return SafetyAssessment(dt_ad, sev, t_syn, mtt, td24, cls, worst_failure_temperature, alarms)


# --------------------------------------------------------------------------- helpers


def _c(t: float) -> str:
    """Temperature [K] as a degC string with one decimal."""
    return f"{t - KELVIN_0C:.1f}"


def _finite(**values: float) -> None:
    """Raise ValueError naming the first non-finite argument."""
    for name, v in values.items():
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v}")


def _check_decomposition(q0: float, t0: float, ea: float, cp: float) -> None:
    """Raise ValueError unless the decomposition inputs are positive and finite."""
    _finite(q0=q0, t0=t0, ea=ea, cp=cp)
    for name, v in (("q0", q0), ("t0", t0), ("ea", ea), ("cp", cp)):
        if v <= 0.0:
            raise ValueError(f"{name} must be positive, got {v}")


def _potential_per_mol(p: np.ndarray) -> float:
    """Releasable heat per mole of A [J/mol] as counted by the kernel's accumulation."""
    one_a = np.zeros(m.N_STATES)
    one_a[m.N_A], one_a[m.TEMP], one_a[m.VOL] = 1.0, 1.0, 1.0
    return float(m.heat_potential(one_a, p))


def _first_crossing(t: np.ndarray, y: np.ndarray, level: float) -> float:
    """First time [s] at which the sampled ``y`` reaches ``level`` (linear interpolation)."""
    above = np.nonzero(y >= level)[0]
    if above.size == 0:
        return float(t[-1])
    k = int(above[0])
    if k == 0:
        return float(t[0])
    y0, y1 = y[k - 1], y[k]
    return float(t[k - 1] + (level - y0) / (y1 - y0) * (t[k] - t[k - 1]))
