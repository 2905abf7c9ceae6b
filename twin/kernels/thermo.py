"""Small closed-form thermal relations used by process phases (plain NumPy/math, exact).

Notes
-----
Vapour pressure by Clausius-Clapeyron through the normal boiling point, as in the drying
kernel: ``p_sat = p_ref exp(-dH_vap / R (1/T - 1/T_boil))``. Jacketed heating or cooling of a
well-mixed batch without reaction approaches the jacket temperature exponentially:
``m cp dT/dt = UA (T_j - T)`` gives ``t = m cp / UA ln((T0 - Tj) / (T - Tj))``.
"""

from __future__ import annotations

import math

R = 8.314462618
"""Molar gas constant [J/(mol K)] (CODATA 2018, exact)."""
P_ATM = 101325.0
"""Standard atmosphere [Pa]."""


def vapour_pressure(t: float, dh_vap: float, t_boil: float, p_ref: float = P_ATM) -> float:
    """Saturation pressure [Pa] at ``t`` [K] from ``dh_vap`` [J/mol] and ``t_boil`` [K]."""
    return p_ref * math.exp(-dh_vap / R * (1.0 / t - 1.0 / t_boil))


def jacket_time(heat_capacity: float, ua: float, t0: float, t_target: float,
                t_jacket: float) -> float:
    """Time [s] for a batch of ``heat_capacity`` [J/K] to go from ``t0`` to ``t_target`` [K]
    with a jacket at ``t_jacket`` [K] through ``ua`` [W/K]; ``inf`` if it never gets there."""
    if t_target == t0:
        return 0.0
    a, b = t0 - t_jacket, t_target - t_jacket
    if a == 0.0 or b / a <= 0.0 or abs(b) >= abs(a):
        return math.inf
    return heat_capacity / ua * math.log(a / b)
