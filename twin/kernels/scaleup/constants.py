"""Constants, rule exponents and flag codes of the scale-up rules, each with its source."""

from __future__ import annotations

from types import MappingProxyType

G_STANDARD = 9.80665
"""Standard acceleration of gravity [m/s2] (3rd CGPM 1901; exact by definition)."""

RE_LAMINAR_MAX = 10.0
"""Impeller Reynolds number below which a baffled stirred tank is laminar [-] (Paul,
Atiemo-Obeng and Kresta (eds.), Handbook of Industrial Mixing, Wiley 2004, ch. 6)."""
RE_TURBULENT_MIN = 1.0e4
"""Impeller Reynolds number above which the flow is fully turbulent and the power number is
constant [-] (same source as ``RE_LAMINAR_MAX``; power curves of Rushton, Costich and
Everett, Chem. Eng. Prog. 46 (1950) 395-404 and 467-476)."""

RULE_EXPONENTS = MappingProxyType(
    {
        "constant_power_per_volume": -2.0 / 3.0,
        "constant_tip_speed": -1.0,
        "constant_reynolds": -2.0,
        "constant_mixing_time": 0.0,
        "constant_froude": -0.5,
    }
)
"""Exponent ``a`` of ``N2/N1 = (D2/D1)^a`` per agitation rule [-]. Derived from the
definitions under geometric similarity: P/V ~ N^3 D^2, tip speed ~ N D, Re ~ N D^2,
Fr ~ N^2 D; turbulent blend time ~ 1/N at fixed D/T (``GRENVILLE_TURBULENT``)."""
RULE_CONSTANT_KLA = "constant_kla"
"""Aeration rule keeping kLa constant (agitation speed follows from the inverted van 't
Riet correlation); accepted by :func:`scale_aeration` only."""
GAS_RULES = ("constant_vvm", "constant_superficial_velocity")
"""Aeration gas-rate rules: constant gas volume per liquid volume per minute, or constant
superficial gas velocity [-]."""

GRENVILLE_TURBULENT = 5.20
"""Constant of the turbulent 95 % blend-time correlation ``N theta95 = 5.20 Np^(-1/3)
(T/D)^2`` for H = T [-] (R. K. Grenville, PhD thesis, Cranfield 1992; Grenville and Nienow
in Handbook of Industrial Mixing, Wiley 2004, ch. 9)."""
GRENVILLE_TURBULENT_MIN = 6370.0
"""Lower bound of ``Re Np^(1/3)`` for the turbulent blend-time correlation [-] (same source
as ``GRENVILLE_TURBULENT``; below it the transitional form applies)."""

VAN_T_RIET_COALESCING = (0.026, 0.4, 0.5)
"""van 't Riet kLa = c (P/V)^a vs^b, coalescing media: (c, a, b), SI units, kLa in 1/s
(K. van 't Riet, Ind. Eng. Chem. Process Des. Dev. 18 (1979) 357-364)."""
VAN_T_RIET_NON_COALESCING = (0.002, 0.7, 0.2)
"""van 't Riet kLa = c (P/V)^a vs^b, non-coalescing (ionic) media: (c, a, b), SI units
(same source)."""
VAN_T_RIET_V_MAX = 2.6
"""Largest liquid volume of the van 't Riet data set [m3] (same source; applied to both
media here, see :func:`van_t_riet_flags`)."""
VAN_T_RIET_PV_MIN = 500.0
"""Smallest gassed power per volume of the van 't Riet data [W/m3] (same source)."""
VAN_T_RIET_PV_MAX = 10000.0
"""Largest gassed power per volume of the van 't Riet data [W/m3] (same source)."""

COST_EXPONENT = 0.6
"""Default capacity exponent of the cost-capacity rule (R. Williams Jr., "Six-tenths
factor aids in approximating costs", Chem. Eng. 54(12) (1947) 124-125)."""
COST_RANGE_FACTOR = 10.0
"""Default validity of the cost-capacity rule: within a factor of ten of the reference size
(a common guideline against extrapolating the exponent beyond a tenfold capacity range,
e.g. M. S. Peters, K. D. Timmerhaus and R. E. West, Plant Design and Economics for Chemical
Engineers, 5th ed., McGraw-Hill 2003; pass ``valid`` where a sourced range is known)."""

FLAG_POWER_NUMBER = "power_number_not_constant"
"""Flag code: a scale is not turbulent, so the constant power number is not valid."""
FLAG_BLEND_TIME = "blend_time_outside_range"
"""Flag code: the turbulent blend-time correlation is used outside its range."""
FLAG_VAN_T_RIET = "van_t_riet_outside_range"
"""Flag code: the van 't Riet correlation is used outside its data range."""
FLAG_COOLING = "cooling_limited"
"""Flag code: heat generation exceeds the jacket's removal capacity."""
FLAG_COST = "cost_outside_range"
"""Flag code: the cost-capacity rule is used outside its validity range."""
