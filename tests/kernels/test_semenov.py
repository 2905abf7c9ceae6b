"""The Semenov cooling check against SciPy: the tangency (critical) temperature, the cooling
ratio, the stable and the ignition intersections of G(T) = UA (T - Tj).

Reference: the heat balance written here (Arrhenius generation with all reactant present,
linear jacket removal), maximised and solved with ``scipy.optimize`` at tight tolerance,
independent of the closed form in :mod:`twin.kernels.semenov`; Semenov's critical condition
``Tc - Tj = R Tc^2 / Ea``; its Frank-Kamenetskii limit ``ratio = e psi``.
"""

from __future__ import annotations

import math

import pytest
from scipy.optimize import brentq, minimize_scalar

from twin.kernels.semenov import FLAG_COOLING, semenov_check

R = 8.314462618  # J/(mol K)

# generation at Tp [W], Tp [K], Ea [J/mol], UA [W/K], Tj [K]
CASES = [
    (1.0e3, 338.15, 80e3, 600.0, 338.15),    # jacket at Tp, lab scale: stable, small rise
    (30.56e3, 338.15, 80e3, 2400.0, 333.15),  # the API pilot: no stable point
    (5.0e3, 350.0, 120e3, 5000.0, 345.0),     # stable
    (2.0e4, 320.0, 60e3, 800.0, 330.0),       # jacket hotter than Tp
    (1.0e2, 300.0, 150e3, 50.0, 290.0),       # steep kinetics, stable
]


def reference(generation: float, tp: float, ea: float, ua: float,
              tj: float) -> dict[str, float]:
    def gen(t: float) -> float:
        return generation * math.exp(-ea / R * (1.0 / t - 1.0 / tp))

    best = minimize_scalar(lambda t: -ua * (t - tj) / gen(t), bounds=(tj + 1e-9, tj + 400.0),
                           method="bounded", options={"xatol": 1e-9})
    tc, ratio = float(best.x), gen(best.x) / (ua * (best.x - tj))
    out = {"tc": tc, "ratio": ratio, "stable": math.inf, "ignition": math.inf}
    if ratio < 1.0:
        out["stable"] = brentq(lambda t: ua * (t - tj) - gen(t), tj, tc, xtol=1e-12)
        out["ignition"] = brentq(lambda t: ua * (t - tj) - gen(t), tc, 3000.0, xtol=1e-12)
    return out


@pytest.mark.parametrize("case", CASES)
def test_semenov_check_matches_scipy(case: tuple[float, ...]) -> None:
    ref = reference(*case)
    got = semenov_check(*case)
    assert got.critical_temperature == pytest.approx(ref["tc"], abs=1e-4)
    assert got.ratio == pytest.approx(ref["ratio"], rel=1e-9)
    assert got.limited == (ref["ratio"] >= 1.0 or case[1] >= ref["ignition"])
    assert bool(got.flags) == got.limited
    if got.flags:
        assert got.flags[0].startswith(FLAG_COOLING)
    if ref["ratio"] < 1.0:
        assert got.stable_temperature == pytest.approx(ref["stable"], abs=1e-9)
        assert got.ignition_temperature == pytest.approx(ref["ignition"], abs=1e-8)
    else:
        assert math.isinf(got.stable_temperature)


@pytest.mark.parametrize("case", CASES)
def test_critical_temperature_is_semenovs_tangency(case: tuple[float, ...]) -> None:
    """Tc - Tj = R Tc^2 / Ea: at Tc the generation curve and the removal line have the same
    ratio of slope to value."""
    _, _, ea, _, tj = case
    tc = semenov_check(*case).critical_temperature
    assert tc - tj == pytest.approx(R * tc * tc / ea, rel=1e-12)


def test_frank_kamenetskii_limit() -> None:
    """For Ea >> R Tj the ratio tends to e psi, psi = Ea G(Tj) / (UA R Tj^2)."""
    tj, ea, ua = 300.0, 3.0e6, 100.0
    g_tj = 0.2 * ua * R * tj**2 / ea  # psi = 0.2
    check = semenov_check(g_tj, tj, ea, ua, tj)
    assert check.ratio == pytest.approx(math.e * 0.2, rel=5e-3)


def test_jacket_at_the_process_temperature_is_not_limited_by_that_alone() -> None:
    """Removal at Tp is zero when Tj = Tp, yet the batch has a stable point a few kelvin up."""
    check = semenov_check(1.0e3, 338.15, 80e3, 600.0, 338.15)
    assert check.removal == 0.0
    assert not check.limited and check.ratio < 1.0
    assert 0.0 < check.stable_rise < 5.0


def test_edge_cases() -> None:
    none = semenov_check(0.0, 340.0, 80e3, 100.0, 330.0)
    assert not none.limited and none.stable_temperature == 330.0
    bare = semenov_check(10.0, 340.0, 80e3, 0.0, 330.0)
    assert bare.limited and math.isinf(bare.ratio)
    flat = semenov_check(1.0e3, 340.0, 0.0, 100.0, 330.0)  # no temperature dependence
    assert not flat.limited and flat.stable_temperature == pytest.approx(340.0, abs=1e-9)
    with pytest.raises(ValueError, match="ua"):
        semenov_check(1.0, 340.0, 80e3, -1.0, 330.0)
    with pytest.raises(ValueError, match="t_process must be finite"):
        semenov_check(1.0, math.nan, 80e3, 1.0, 330.0)
