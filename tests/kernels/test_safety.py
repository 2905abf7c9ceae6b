"""Thermal safety: Stoessel classes and severity (Stoessel 2008), MTSR (Gygax 1988), TMRad
(Townsend & Tou 1980) against a SciPy integration, TD24, cooling failures on the reactor kernel.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from twin.kernels import reactor as r
from twin.kernels import safety as s

R = 8.314462618


# --------------------------------------------------------------------------- Stoessel classes


def _classes_by_definition(mtsr: float, mtt: float, td24: float) -> list[int]:
    """All classes whose defining inequalities (Stoessel 2008 ch. 3.3, as written) hold."""
    defs = {
        1: mtsr < mtt < td24,
        2: mtsr < td24 <= mtt,
        3: mtt <= mtsr < td24,
        4: mtt < td24 <= mtsr,
        5: td24 <= mtsr and td24 <= mtt,
    }
    return [c for c, holds in defs.items() if holds]


@pytest.mark.parametrize(
    ("mtsr", "mtt", "td24", "expected"),
    [
        (353.15, 383.75, 433.15, 1),  # MTSR 80 degC, toluene bp 110.6 degC, TD24 160 degC
        (353.15, 423.15, 393.15, 2),  # TD24 120 degC below MTT 150 degC, MTSR below both
        (403.15, 383.75, 453.15, 3),  # MTSR 130 degC above MTT, TD24 180 degC
        (435.15, 383.75, 413.15, 4),  # MTSR 162 degC above TD24 140 degC above MTT
        (435.15, 423.15, 393.15, 5),  # TD24 120 degC below MTSR and MTT
        (383.15, 423.15, 363.15, 5),  # TD24 below both, MTSR < MTT
    ],
)
def test_stoessel_representative(mtsr: float, mtt: float, td24: float, expected: int) -> None:
    """Stoessel (2008) fig. 3.5: one representative case per class."""
    assert s.stoessel_class(mtsr, mtt, td24) == expected


@pytest.mark.parametrize(
    ("mtsr", "mtt", "td24", "expected"),
    [
        (380.0, 380.0, 400.0, 3),  # MTSR == MTT < TD24: MTT <= MTSR -> 3
        (360.0, 400.0, 400.0, 2),  # MTSR < MTT == TD24: TD24 <= MTT -> 2
        (400.0, 380.0, 400.0, 4),  # MTT < MTSR == TD24: TD24 <= MTSR -> 4
        (400.0, 420.0, 400.0, 5),  # MTSR == TD24 < MTT: TD24 <= both -> 5
        (400.0, 400.0, 380.0, 5),  # MTSR == MTT > TD24 -> 5
        (400.0, 400.0, 400.0, 5),  # all equal: TD24 <= both -> 5
        (420.0, 400.0, 400.0, 5),  # MTT == TD24 < MTSR -> 5
        (380.0, 400.0, 400.0 + 1e-9, 1),  # just off the 2/1 boundary
        (400.0 - 1e-9, 400.0, 420.0, 1),  # just off the 1/3 boundary
    ],
)
def test_stoessel_ties(mtsr: float, mtt: float, td24: float, expected: int) -> None:
    """Ties resolve as the inequalities of Stoessel (2008) are written."""
    assert s.stoessel_class(mtsr, mtt, td24) == expected


def test_stoessel_every_ordering_maps_to_exactly_one_class() -> None:
    """All 27 assignments of three levels to (MTSR, MTT, TD24) cover the 13 weak orderings of
    three temperatures (with every tie); each satisfies exactly one class definition of
    Stoessel (2008) and the function returns it; all five classes occur."""
    seen = set()
    orderings = set()
    for mtsr, mtt, td24 in itertools.product((350.0, 400.0, 450.0), repeat=3):
        ranks = tuple(sorted({mtsr, mtt, td24}).index(v) for v in (mtsr, mtt, td24))
        orderings.add(ranks)
        matching = _classes_by_definition(mtsr, mtt, td24)
        assert len(matching) == 1, (mtsr, mtt, td24, matching)
        assert s.stoessel_class(mtsr, mtt, td24) == matching[0]
        seen.add(matching[0])
    assert len(orderings) == 13
    assert seen == {1, 2, 3, 4, 5}


def test_stoessel_rejects_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        s.stoessel_class(math.nan, 400.0, 450.0)


# --------------------------------------------------------------------------- severity, MTSR


@pytest.mark.parametrize(
    ("dt_ad", "expected"),
    [
        (-20.0, "low"),
        (0.0, "low"),
        (49.999, "low"),
        (50.0, "medium"),
        (199.999, "medium"),
        (200.0, "high"),
        (399.999, "high"),
        (400.0, "very high"),
        (1200.0, "very high"),
    ],
)
def test_severity_bands(dt_ad: float, expected: str) -> None:
    """Stoessel (2008) table 2.3: < 50 K low, 50-200 medium, 200-400 high, >= 400 very high;
    each band includes its lower bound."""
    assert s.severity(dt_ad) == expected


def test_severity_rejects_nan() -> None:
    with pytest.raises(ValueError):
        s.severity(math.nan)


def test_adiabatic_rise_and_mtsr_formulas() -> None:
    """dT_ad = (-dH) c0 / (rho cp) (Stoessel eq. 2.9); MTSR = Tp + X_acc dT_ad (Gygax 1988)."""
    dt_ad = s.adiabatic_rise(-120e3, 2500.0, 1.8e6)
    assert dt_ad == pytest.approx(166.6666666666, rel=1e-12)
    assert s.adiabatic_rise(50e3, 1000.0, 2e6) == pytest.approx(-25.0)  # endothermic
    assert s.mtsr(353.15, 0.3, dt_ad) == pytest.approx(353.15 + 50.0, rel=1e-14)
    assert s.mtsr(353.15, 0.0, dt_ad) == 353.15
    assert s.mtsr(353.15, 1.0, dt_ad) == pytest.approx(353.15 + dt_ad)
    with pytest.raises(ValueError, match="x_acc"):
        s.mtsr(353.15, 1.2, dt_ad)
    with pytest.raises(ValueError, match="rho_cp"):
        s.adiabatic_rise(-1e5, 1000.0, 0.0)


# --------------------------------------------------------------------------- TMRad, TD24

DECOMPOSITIONS = [
    # q0 [W/kg], T0 [K], Ea [J/mol], cp [J/(kg K)], start temperature [K]
    (1e-2, 400.0, 100e3, 1800.0, 400.0),
    (5e-3, 450.0, 150e3, 2000.0, 430.0),
    (1e-3, 380.0, 80e3, 1500.0, 390.0),
]


@pytest.mark.parametrize(("q0", "t0", "ea", "cp", "ts"), DECOMPOSITIONS)
def test_tmrad_against_numerical_runaway(q0: float, t0: float, ea: float, cp: float,
                                         ts: float) -> None:
    """Townsend & Tou (1980): TMRad = cp R T^2 / (q(T) Ea). Reference: solve_ivp of the
    adiabatic zero-order self-heating cp dT/dt = q(T) from ``ts`` to runaway (T = ts + 500 K;
    the time beyond is below 1e-6 relative). The formula is the leading term of the exact
    time: Watson's lemma on the integral in 1/T gives the asymptotic series
    t / TMRad = 1 + 2 eps + 6 eps^2 + 24 eps^3 + ... with eps = R T/Ea, every term positive, so
    for eps <= 0.05 the remainder after 1 + 2 eps lies in (6 eps^2, 10 eps^2)."""

    def q(temp: float) -> float:
        return q0 * math.exp(-ea / R * (1.0 / temp - 1.0 / t0))

    def runaway(_t: float, y: np.ndarray) -> float:
        return y[0] - (ts + 500.0)

    runaway.terminal = True  # type: ignore[attr-defined]
    sol = solve_ivp(lambda _t, y: [q(y[0]) / cp], (0.0, 1e10), [ts], method="LSODA",
                    rtol=1e-11, atol=1e-9, events=runaway)
    assert sol.status == 1
    t_num = sol.t_events[0][0]
    tmr = s.tmr_ad(ts, q0, t0, ea, cp)
    eps = R * ts / ea
    assert eps <= 0.05
    assert 6 * eps**2 < t_num / tmr - 1.0 - 2 * eps < 10 * eps**2


@pytest.mark.parametrize(("q0", "t0", "ea", "cp", "_ts"), DECOMPOSITIONS)
def test_td24_solves_tmrad_24h(q0: float, t0: float, ea: float, cp: float, _ts: float) -> None:
    """TD24 is the root of TMRad(T) = 24 h (Stoessel 2008 ch. 2.5.5), to 1e-6 relative; TD8 is
    higher than TD24."""
    t24 = s.td24(q0, t0, ea, cp)
    assert s.tmr_ad(t24, q0, t0, ea, cp) == pytest.approx(24 * 3600.0, rel=1e-6)
    t8 = s.td24(q0, t0, ea, cp, tmr=8 * 3600.0)
    assert s.tmr_ad(t8, q0, t0, ea, cp) == pytest.approx(8 * 3600.0, rel=1e-6)
    assert t8 > t24


def test_td24_reports_missing_root() -> None:
    """TMRad < 24 h already at -100 degC, or > 24 h still at 1000 degC: no TD24 in range."""
    with pytest.raises(ValueError, match="no root"):
        s.td24(1e3, 173.15, 100e3, 1800.0)
    with pytest.raises(ValueError, match="no root"):
        s.td24(1e-30, 300.0, 100e3, 1800.0)
    with pytest.raises(ValueError, match="positive"):
        s.td24(1e-2, 400.0, -1.0, 1800.0)


# --------------------------------------------------------------------------- cooling failure

BATCH = dict(k0=1e10, ea=100e3, dh=-100e3, rho_cp=2e6, ua=2000.0, t_jacket=300.0,
             n_a_total=1000.0)
# semi-batch with accumulation: reaction time (1/k ~ 1 h at 67 degC) longer than the 30 min
# dosing, so unreacted A builds up to the end of the dosing (Stoessel 2008 ch. 7)
SEMI = dict(k0=3e8, ea=80e3, dh=-100e3, rho_cp=2e6, ua=3000.0, t_jacket=340.0,
            n_a_total=1000.0, feed_rate=0.5 / 3600, c_feed=4000.0, t_feed=300.0, t_dose=1800.0)


def test_cooling_failure_batch_closed_form() -> None:
    """Batch with all A charged, failure at t = 0 (no reaction before): the adiabatic end
    temperature is T0 + dT_ad (closed form). Failure later: T_fail + dT_ad N_A/N_A0 from the
    state at failure. Tolerance 1e-4 K: completion 1e-7 of A (5e-6 K) plus rtol 1e-8."""
    p = r.reactor_parameters(**BATCH)
    y0 = r.reactor_state(n_a=1000.0, temperature=300.0, volume=1.0)
    p_copy, y0_copy = p.copy(), y0.copy()
    dt_ad = s.adiabatic_rise(BATCH["dh"], 1000.0, BATCH["rho_cp"])
    c = s.cooling_failure(p, y0, t_fail=0.0, unit="R1", phase="react", t_end=1e8)
    assert c.normal is None and c.complete
    assert c.temperature_at_failure == 300.0
    assert c.max_temperature == pytest.approx(300.0 + dt_ad, abs=1e-4)
    assert 0.0 < c.time_to_max_rate < c.time_to_max
    np.testing.assert_array_equal(p, p_copy)
    np.testing.assert_array_equal(y0, y0_copy)

    late = s.cooling_failure(p, y0, t_fail=3.6e4, unit="R1", phase="react", t_end=1e8)
    n_a = late.normal.end_state[0]
    assert 0.0 < n_a < 1000.0
    assert late.max_temperature == pytest.approx(
        late.temperature_at_failure + dt_ad * n_a / 1000.0, abs=1e-4)
    assert late.max_temperature == pytest.approx(late.mtsr_at_failure, abs=1e-4)


def test_worst_failure_of_cooled_batch_is_at_start() -> None:
    """Batch at the jacket temperature: MTSR only falls while the jacket removes reaction heat
    (dMTSR/dt = -UA (T - Tj) / (rho cp V)), so the worst failure is at t = 0 with T0 + dT_ad."""
    p = r.reactor_parameters(**dict(BATCH, k0=1e11))
    y0 = r.reactor_state(n_a=1000.0, temperature=300.0, volume=1.0)
    scan = s.worst_cooling_failure(p, y0, t_phase=2e4, unit="R1", phase="react", t_end=1e8,
                                   n_grid=8)
    assert scan.worst.t_fail == 0.0
    assert scan.worst.max_temperature == pytest.approx(350.0, abs=1e-4)
    assert [c.t_fail for c in scan.scenarios] == sorted(c.t_fail for c in scan.scenarios)


def test_semi_batch_worst_failure_near_max_accumulation() -> None:
    """Semi-batch with accumulation: the worst failure time lies within one profile interval of
    the maximum accumulation; its maximum temperature equals the kernel's max MTSR within
    0.01 K (the kernel samples MTSR at accepted steps, the scan at other times; both integrate
    at rtol 1e-8), and is never below it by more than the completion shortfall. A failure at
    the profile time of maximum accumulation reaches the max MTSR within the MTSR change over
    one profile interval around its maximum (the profile grid limits that time)."""
    p = r.reactor_parameters(**SEMI)
    y0 = r.reactor_state(n_a=0.0, temperature=340.0, volume=0.5)
    scan = s.worst_cooling_failure(p, y0, t_phase=6000.0, unit="R2", phase="dose", t_end=86400.0)
    prof = scan.normal.profile
    dt_grid = prof[1, r.P_TIME] - prof[0, r.P_TIME]
    max_mtsr = scan.normal.totals["max_mtsr_K"]
    assert scan.normal.totals["max_accumulation"] > 0.8
    assert abs(scan.worst.t_fail - scan.t_max_accumulation) <= dt_grid
    assert abs(scan.t_max_accumulation - SEMI["t_dose"]) <= dt_grid
    assert scan.worst.max_temperature == pytest.approx(max_mtsr, abs=0.01)
    assert scan.worst.max_temperature >= max_mtsr - 1e-4
    assert scan.worst.complete
    # the cooled process stays far below the adiabatic excursion
    assert scan.normal.totals["peak_temperature_K"] < max_mtsr - 40.0

    at_acc = s.cooling_failure(p, y0, t_fail=scan.t_max_accumulation, unit="R2", phase="dose",
                               t_end=86400.0)
    k = int(np.argmax(prof[:, r.P_MTSR]))
    slope = np.abs(np.diff(prof[max(k - 1, 0):k + 2, r.P_MTSR])).max()
    assert at_acc.max_temperature == pytest.approx(max_mtsr, abs=slope + 1e-4)
    # dosing stops at the failure: the adiabatic end state holds the moles present at failure
    n_fail = at_acc.normal.end_state[:3].sum()
    assert at_acc.adiabatic.end_state[:3].sum() == pytest.approx(n_fail, rel=1e-7)
    assert at_acc.adiabatic.end_state[4] == at_acc.normal.end_state[4]


def test_cooling_failure_series_releases_both_heats() -> None:
    """Series A -> B -> C: after the failure both steps run to completion adiabatically, so the
    end temperature is T_fail + releasable heat of A and B / (rho cp V) (the kernel MTSR)."""
    p = r.reactor_parameters(**dict(BATCH, ea=80e3, k0=1e9, scheme=r.SERIES, k0_2=1e9, ea_2=85e3,
                                    dh_2=-40e3, t_jacket=320.0))
    y0 = r.reactor_state(n_a=1000.0, temperature=320.0, volume=1.0)
    c = s.cooling_failure(p, y0, t_fail=600.0, unit="R3", phase="react", t_end=1e6)
    assert c.complete
    n_a, n_b = c.normal.end_state[0], c.normal.end_state[1]
    expected = c.temperature_at_failure + (n_a * 140e3 + n_b * 40e3) / 2e6
    assert c.max_temperature == pytest.approx(expected, abs=1e-3)


# --------------------------------------------------------------------------- assessment


def test_assess_class_4_alarms() -> None:
    """MTSR 162 degC above TD24 140 degC above MTT 110.6 degC (toluene): class 4 with the MTT
    and TD24 alarms, severity medium (no severity alarm)."""
    a = s.assess(dt_ad=120.0, tp=353.15, x_acc=(435.15 - 353.15) / 120.0, mtt=383.75,
                 td24=413.15, worst_failure_temperature=430.0)
    assert a.criticality_class == 4
    assert a.severity == "medium"
    assert a.mtsr == pytest.approx(435.15)
    assert "MTSR 162.0 degC exceeds MTT 110.6 degC" in a.alarms
    assert "MTSR 162.0 degC exceeds TD24 140.0 degC" in a.alarms
    assert any(x.startswith("class 4: ") for x in a.alarms)
    assert sum("cooling failure reaches 156.9 degC" in x for x in a.alarms) == 2
    assert not any("severity" in x for x in a.alarms)


def test_assess_class_1_is_quiet_and_severity_alarm() -> None:
    """Class 1 with a small rise raises nothing; a 450 K rise raises the severity alarm."""
    quiet = s.assess(dt_ad=40.0, tp=323.15, x_acc=0.5, mtt=383.75, td24=433.15)
    assert quiet.criticality_class == 1 and quiet.alarms == []
    hot = s.assess(dt_ad=450.0, tp=323.15, x_acc=0.05, mtt=383.75, td24=433.15)
    assert hot.criticality_class == 1 and hot.severity == "very high"
    assert hot.alarms == ["severity very high: dT_ad 450.0 K"]
