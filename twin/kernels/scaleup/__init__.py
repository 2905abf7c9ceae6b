"""Scale-up of stirred, jacketed vessels: geometric similarity, agitation rules, blend time,
oxygen transfer, heat removal and equipment cost (plain Python, closed forms).

Under geometric similarity every length grows with the linear scale factor
``L = D2/D1 = (V2/V1)^(1/3)``. With ``P = Np rho N^3 D^5`` the classic agitation rules keep
one group constant and fix the speed as ``N2 = N1 L^a``:

=================================  ======  ==========================================
rule                               a       kept constant
=================================  ======  ==========================================
``constant_power_per_volume``      -2/3    P/V ~ N^3 D^2
``constant_tip_speed``             -1      pi N D
``constant_reynolds``              -2      rho N D^2 / mu
``constant_mixing_time``           0       N theta (turbulent blending, fixed D/T)
``constant_froude``                -1/2    N^2 D / g
=================================  ======  ==========================================

Every constant and correlation carries its source next to it. Functions never raise for a
correlation used outside its range: they return flags (strings starting with one of the
``FLAG_*`` codes) in their results. ``ValueError`` is reserved for impossible inputs
(negative or zero volumes, diameters, densities, viscosities; unknown rule names).


The rules live in modules named for what they hold (:mod:`.geometry`, :mod:`.agitation`,
:mod:`.aeration`, :mod:`.heat`, :mod:`.cost`; constants and flag codes in :mod:`.constants`);
this package re-exports their public names.
"""

from __future__ import annotations

from twin.kernels.scaleup.aeration import (
    AerationScaleUp,
    gas_velocity_for_rule,
    kla_van_t_riet,
    power_per_volume_for_kla,
    scale_aeration,
    van_t_riet_flags,
    vvm,
)
from twin.kernels.scaleup.agitation import (
    AgitationScaleUp,
    BlendTime,
    StirredTankState,
    blend_time,
    froude,
    power,
    power_per_volume,
    regime,
    reynolds,
    scale_agitation,
    speed_for_rule,
    tip_speed,
)
from twin.kernels.scaleup.constants import (
    COST_EXPONENT,
    COST_RANGE_FACTOR,
    FLAG_BLEND_TIME,
    FLAG_COOLING,
    FLAG_COST,
    FLAG_POWER_NUMBER,
    FLAG_VAN_T_RIET,
    G_STANDARD,
    GAS_RULES,
    GRENVILLE_TURBULENT,
    GRENVILLE_TURBULENT_MIN,
    RE_LAMINAR_MAX,
    RE_TURBULENT_MIN,
    RULE_CONSTANT_KLA,
    RULE_EXPONENTS,
    VAN_T_RIET_COALESCING,
    VAN_T_RIET_NON_COALESCING,
    VAN_T_RIET_PV_MAX,
    VAN_T_RIET_PV_MIN,
    VAN_T_RIET_V_MAX,
)
from twin.kernels.scaleup.cost import (
    CostEstimate,
    scaled_cost,
)
from twin.kernels.scaleup.geometry import (
    VesselGeometry,
    scale_factor,
    tank_diameter,
    vessel_geometry,
)
from twin.kernels.scaleup.heat import (
    HeatScaleUp,
    cooling_capacity,
    scale_heat_removal,
    ua_at_scale,
)

__all__ = [
    "G_STANDARD",
    "RE_LAMINAR_MAX",
    "RE_TURBULENT_MIN",
    "RULE_EXPONENTS",
    "RULE_CONSTANT_KLA",
    "GAS_RULES",
    "GRENVILLE_TURBULENT",
    "GRENVILLE_TURBULENT_MIN",
    "VAN_T_RIET_COALESCING",
    "VAN_T_RIET_NON_COALESCING",
    "VAN_T_RIET_V_MAX",
    "VAN_T_RIET_PV_MIN",
    "VAN_T_RIET_PV_MAX",
    "COST_EXPONENT",
    "COST_RANGE_FACTOR",
    "FLAG_POWER_NUMBER",
    "FLAG_BLEND_TIME",
    "FLAG_VAN_T_RIET",
    "FLAG_COOLING",
    "FLAG_COST",
    "scale_factor",
    "VesselGeometry",
    "tank_diameter",
    "vessel_geometry",
    "power",
    "power_per_volume",
    "reynolds",
    "tip_speed",
    "froude",
    "regime",
    "speed_for_rule",
    "BlendTime",
    "blend_time",
    "StirredTankState",
    "AgitationScaleUp",
    "scale_agitation",
    "kla_van_t_riet",
    "power_per_volume_for_kla",
    "van_t_riet_flags",
    "gas_velocity_for_rule",
    "vvm",
    "AerationScaleUp",
    "scale_aeration",
    "ua_at_scale",
    "cooling_capacity",
    "HeatScaleUp",
    "scale_heat_removal",
    "CostEstimate",
    "scaled_cost",
]
