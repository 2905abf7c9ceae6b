"""Geometric similarity: the linear scale factor and the geometry of a standard vessel
[m, m2, m3]."""

from __future__ import annotations

import math
from dataclasses import dataclass

from twin.kernels.scaleup.checks import (
    positive,
)


def scale_factor(v1: float, v2: float) -> float:
    """Linear scale factor L = (V2/V1)^(1/3) of geometrically similar vessels [-].

    Parameters
    ----------
    v1, v2 : float
        Liquid volumes at the small and the large scale [m3].

    Returns
    -------
    float
        Length ratio L = D2/D1 = T2/T1 [-].

    Raises
    ------
    ValueError
        If a volume is not a finite positive number.
    """
    return (positive("v2", v2) / positive("v1", v1)) ** (1.0 / 3.0)


@dataclass(frozen=True, slots=True)
class VesselGeometry:
    """Liquid geometry of a flat-bottomed cylindrical vessel.

    Attributes
    ----------
    volume : float
        Liquid volume V [m3].
    diameter : float
        Tank diameter T [m].
    liquid_height : float
        Liquid height H [m].
    jacket_area : float
        Wetted heat-transfer area A = pi T^2/4 + pi T H (bottom and wall) [m2].
    area_per_volume : float
        A/V [1/m]; equals 4/T + 1/H, i.e. 5/T for H = T.
    """

    volume: float
    diameter: float
    liquid_height: float
    jacket_area: float
    area_per_volume: float


def tank_diameter(volume: float, liquid_height: float | None = None) -> float:
    """Diameter [m] of a flat-bottomed cylinder holding ``volume``.

    Parameters
    ----------
    volume : float
        Liquid volume [m3].
    liquid_height : float, optional
        Liquid height H [m]; if omitted, H = T and T = (4 V / pi)^(1/3).

    Returns
    -------
    float
        Tank diameter T [m]: (4 V / pi)^(1/3) for H = T, else (4 V / (pi H))^(1/2).
    """
    v = positive("volume", volume)
    if liquid_height is None:
        return (4.0 * v / math.pi) ** (1.0 / 3.0)
    return math.sqrt(4.0 * v / (math.pi * positive("liquid_height", liquid_height)))


def vessel_geometry(volume: float, liquid_height: float | None = None) -> VesselGeometry:
    """Diameter, wetted jacket area and A/V of a flat-bottomed cylindrical vessel.

    Parameters
    ----------
    volume : float
        Liquid volume V [m3].
    liquid_height : float, optional
        Liquid height H [m]; default H = T (standard geometry).

    Returns
    -------
    VesselGeometry
        With A = pi T^2/4 + pi T H [m2] and A/V [1/m] (= 5/T for H = T).

    Notes
    -----
    The jacket covers the flat bottom and the wetted wall; heads, baffles, coils and the
    liquid surface are ignored. V = pi T^2 H / 4, so A/V = 1/H + 4/T.
    """
    v = positive("volume", volume)
    t = tank_diameter(v, liquid_height)
    h = t if liquid_height is None else float(liquid_height)
    area = math.pi * t * t / 4.0 + math.pi * t * h
    return VesselGeometry(v, t, h, area, area / v)
