"""Species properties of a line as arrays indexed by species code (for the phase models)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.data import process as P


@dataclass(frozen=True)
class Materials:
    """Species properties as arrays indexed by species code."""

    names: tuple[str, ...]
    molar_mass: np.ndarray
    density: np.ndarray
    cp: np.ndarray
    solid: np.ndarray  # bool: state == "solid"
    voc: np.ndarray  # bool
    dh_vap: np.ndarray  # NaN where unknown
    t_boil: np.ndarray

    @classmethod
    def from_spec(cls, species: dict[str, P.Species]) -> Materials:
        sp = list(species.values())
        return cls(
            names=tuple(species),
            molar_mass=np.array([s.molar_mass for s in sp]),
            density=np.array([s.density for s in sp]),
            cp=np.array([s.cp for s in sp]),
            solid=np.array([s.state == "solid" for s in sp], dtype=bool),
            voc=np.array([s.voc for s in sp], dtype=bool),
            dh_vap=np.array([s.dh_vap if s.dh_vap else np.nan for s in sp]),
            t_boil=np.array([s.t_boil if s.t_boil else np.nan for s in sp]),
        )

    def code(self, name: str) -> int:
        return self.names.index(name)
