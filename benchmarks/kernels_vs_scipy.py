"""Time each process kernel against SciPy ``solve_ivp`` on the same problem, same process.

Run as ``python benchmarks/kernels_vs_scipy.py``. Each kernel is called once to compile (or
load from cache) before timing; both sides integrate the same phase to the same end time at
the same relative tolerance. The reference right-hand sides are plain Python/NumPy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from scipy.integrate import solve_ivp

from twin.kernels import crystallisation as cr
from twin.kernels import drying as dr
from twin.kernels import fermentation as fe
from twin.kernels import integrate
from twin.kernels import reactor as re

R = 8.314462618
H = 3600.0
RTOL = 1e-6


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """Best wall time [s] of ``repeat`` calls."""
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def reactor_case() -> tuple[Callable[[], object], Callable[[], object]]:
    p = re.reactor_parameters(k0=1e10, ea=80e3, dh=-250e3, rho_cp=2e6, ua=2000.0,
                              t_jacket=320.0, n_a_total=1000.0)
    y0 = re.reactor_state(n_a=1000.0, temperature=320.0, volume=1.0)

    def f(t, y):
        r1 = 1e10 * math.exp(-80e3 / (R * y[1])) * y[0]
        return [-r1, (250e3 * r1 - 2000.0 * (y[1] - 320.0)) / 2e6]

    return (
        lambda: re.reactor_phase(p, y0, 3000.0, RTOL, integrate.AUTO, 200_000, 200),
        lambda: solve_ivp(f, (0, 3000.0), [1000.0, 320.0], method="RK45", rtol=RTOL,
                          atol=[1e-6, 1e-6]),
    )


def fermentation_case() -> tuple[Callable[[], object], Callable[[], object]]:
    kw = dict(mu_max=0.4 / H, ks=0.1, ko=2e-4, y_xs=0.5, y_xo=1.2, kla=0.08, c_star=7.5e-3)
    p = fe.fermentation_parameters(**kw)
    y0 = fe.fermentation_state(biomass=0.5, substrate=15.0, dissolved_oxygen=7e-3, volume=1.0)

    def f(t, y):
        x, s, c = y
        mu = kw["mu_max"] * max(s, 0) / (0.1 + max(s, 0)) * max(c, 0) / (2e-4 + max(c, 0))
        return [mu * x, -mu * x / 0.5, 0.08 * (7.5e-3 - c) - mu * x / 1.2]

    return (
        lambda: fe.fermentation_phase(p, y0, 20 * H, RTOL, integrate.AUTO, 200_000, 200),
        lambda: solve_ivp(f, (0, 20 * H), [0.5, 15.0, 7e-3], method="Radau", rtol=RTOL,
                          atol=[1e-9, 1e-9, 1e-12]),
    )


def drying_case() -> tuple[Callable[[], object], Callable[[], object]]:
    kw = dict(area=1.0, m_dry=0.2, cp_dry=900.0, cp_solvent=1700.0, h_conv=50.0, k_mass=0.05,
              x_crit=0.3, x_eq=0.002, molar_mass=0.09913, dh_vap=53e3, t_boil=475.15,
              t_air=393.15)
    p = dr.drying_parameters(**kw)
    y0 = dr.drying_state(solvent_mass=0.15, temperature=298.15)

    def f(t, y):
        m, temp = y
        psat = 101325.0 * math.exp(-53e3 / R * (1 / temp - 1 / 475.15))
        frac = min(1.0, max(0.0, (m / 0.2 - 0.002) / (0.3 - 0.002)))
        j = max(0.05 * psat * 0.09913 / (R * temp) * frac, 0.0)
        q = 50.0 * (393.15 - temp) - j * 53e3 / 0.09913
        return [-j, q / (0.2 * 900.0 + max(m, 0) * 1700.0)]

    return (
        lambda: dr.drying_phase(p, y0, 300.0, RTOL, integrate.AUTO, 200_000, 200),
        lambda: solve_ivp(f, (0, 300.0), [0.15, 298.15], method="RK45", rtol=RTOL,
                          atol=[1e-9, 1e-6]),
    )


def crystallisation_case() -> tuple[Callable[[], object], Callable[[], object]]:
    sol = (0.1, 0.002, 5e-5)
    p = cr.crystallisation_parameters(t_start=333.15, t_end=293.15, t_cool=3 * H,
                                      solubility=sol, k_b=1e8, b=2.0, k_g=1e-7, g=1.5,
                                      rho_c=1500.0, m_solvent=100.0, heat_capacity=4e5)
    c0 = sol[0] + sol[1] * 60 + sol[2] * 3600
    y0 = cr.crystallisation_state(concentration=c0)
    kv = math.pi / 6

    def f(t, y):
        temp = 333.15 - 40.0 * min(t / (3 * H), 1.0)
        th = temp - 273.15
        cs = sol[0] + sol[1] * th + sol[2] * th * th
        s = max((y[4] - cs) / cs, 0.0)
        b, g = 1e8 * s**2, 1e-7 * s**1.5
        return [b, g * y[0], 2 * g * y[1], 3 * g * y[2], -3 * 1500.0 * kv * g * y[2]]

    return (
        lambda: cr.crystallisation_phase(p, y0, 4 * H, RTOL, integrate.AUTO, 200_000, 200),
        lambda: solve_ivp(f, (0, 4 * H), list(y0[:5]), method="RK45", rtol=RTOL,
                          atol=[1e-3, 1e-12, 1e-17, 1e-22, 1e-12]),
    )


def main() -> None:
    cases = {
        "reactor (near runaway)": reactor_case,
        "fermentation (batch, O2-limited)": fermentation_case,
        "drying (NMP layer)": drying_case,
        "crystallisation (linear cooling)": crystallisation_case,
    }
    print(f"{'case':36s} {'kernel [ms]':>12s} {'scipy [ms]':>12s} {'speed-up':>10s}")
    for name, make in cases.items():
        kernel_call, scipy_call = make()
        kernel_call()  # compile or load from cache
        t_kernel = best_of(kernel_call, 20)
        t_scipy = best_of(scipy_call, 3)
        print(f"{name:36s} {1e3 * t_kernel:12.3f} {1e3 * t_scipy:12.2f} "
              f"{t_scipy / t_kernel:9.0f}x")


if __name__ == "__main__":
    main()
