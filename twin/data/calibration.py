"""Calibrated parameters in a line spec, and draws from their joint distribution.

``twin calibrate`` writes a ``[calibration.<station>]`` table into the calibrated spec: the
estimates of the parameters of one phase of the station's recipe and their covariance on the
fitted scale (the log of positive parameters, so a draw never leaves their sign)::

    [calibration.reactor]
    phase = 1                               # index of the phase in the station's recipe
    parameters = ["k_ref", "ea"]            # fitted names: k_ref is k at t_ref
    scale = ["log", "log"]
    estimate = [8.03e-05, 75210.0]          # SI (1/s, J/mol)
    covariance = [[4.1e-4, 1.2e-5], [1.2e-5, 2.9e-4]]   # of (ln k_ref, ln Ea)
    t_ref = "345 K"
    dof = 62
    method = "least_squares"                # or "mcmc" (posterior mean and covariance)
    data_sha256 = "3f2a..."

A run that samples the calibrated parameters (``[run] calibration = "sample"``,
``--calibration sample``) takes draw number ``seed`` of a multivariate normal on the fitted
scale (:func:`draw`): the draws of a seed are the same in every process and executor, and
replication ``r`` of every configuration of a sweep (seed ``seed + r``) takes the same draw,
so configurations stay compared under common random numbers.

A draw moves the phase's values *relative to the estimates* (:func:`phase_updates`): a
log-scale parameter multiplies its key by draw / estimate, a linear one adds draw -
estimate. On the calibrated spec the phase then holds the draw itself; on a scaled spec (UA x
L^2) the calibrated relative error is carried to the scaled value. ``k_ref`` and ``ea`` (also
``k_ref_2``, ``ea_2``) are the reference-temperature form of the phase's ``k0`` and ``ea``:
k0 = k_ref exp(Ea / (R t_ref)); every other parameter is the phase key of its name.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from twin.data.model import Model
from twin.data.quantities import Temperature

if TYPE_CHECKING:
    from twin.data.spec import LineSpec

R_GAS = 8.314462618
"""Molar gas constant [J/(mol K)]."""
DRAW_KEY = zlib.crc32(b"calibration")
"""Spawn key of the random stream of calibrated-parameter draws (separate from every
station's streams, so sampling the parameters leaves the line's own draws unchanged)."""
SAMPLED_PHASES = ("react", "ferment", "dry", "crystallise")
"""Phase kinds whose parameters can be recorded and sampled."""
_ARRHENIUS = re.compile(r"^(k_ref|ea)(.*)$")


class CalibrationRecord(Model):
    """Estimates of one phase's parameters and their joint (normal) distribution on the
    fitted scale (see the module notes)."""

    phase: int = Field(ge=0, description="index of the calibrated phase in the recipe")
    parameters: list[str] = Field(min_length=1, description="fitted parameter names")
    scale: list[Literal["log", "linear"]] = Field(description="fitted scale of each")
    estimate: list[float] = Field(description="estimates, SI")
    covariance: list[list[float]] = Field(description="covariance on the fitted scale")
    t_ref: Temperature | None = Field(None, description="reference temperature of k_ref")
    dof: int | None = Field(None, ge=1, description="residual degrees of freedom of the fit")
    method: Literal["least_squares", "mcmc"] = "least_squares"
    data_sha256: str = ""
    draw: int | None = Field(None, description="set on a sampled spec: the draw it holds")

    @model_validator(mode="after")
    def _consistent(self) -> CalibrationRecord:
        n = len(self.parameters)
        if len(set(self.parameters)) != n:
            raise ValueError("parameters are named twice")
        for key in ("scale", "estimate"):
            if len(getattr(self, key)) != n:
                raise ValueError(f"{key} has {len(getattr(self, key))} values for {n} "
                                 "parameters")
        if len(self.covariance) != n or any(len(row) != n for row in self.covariance):
            raise ValueError(f"covariance must be {n} x {n} (one row and column per "
                             "parameter)")
        cov = np.asarray(self.covariance, dtype=float)
        if not np.all(np.isfinite(cov)):
            raise ValueError("covariance has non-finite entries")
        if not np.allclose(cov, cov.T, rtol=1e-8, atol=0.0):
            raise ValueError("covariance is not symmetric")
        eig = np.linalg.eigvalsh(cov)
        if eig.min() < -1e-9 * max(abs(eig).max(), 1e-300):
            raise ValueError(f"covariance is not positive semi-definite (eigenvalue "
                             f"{eig.min():.3g})")
        for p, s, x in zip(self.parameters, self.scale, self.estimate, strict=True):
            if s == "log" and not x > 0:
                raise ValueError(f"{p} is on the log scale but its estimate is {x:g}")
            if _ARRHENIUS.match(p) and self.t_ref is None:
                raise ValueError(f"{p} needs t_ref (k_ref is the rate constant at t_ref)")
        return self

    def centre(self) -> np.ndarray:
        """The estimates on the fitted scale."""
        return np.array([math.log(x) if s == "log" else x
                         for s, x in zip(self.scale, self.estimate, strict=True)])

    def natural(self, z: np.ndarray) -> dict[str, float]:
        """Parameter values from a point ``z`` on the fitted scale."""
        return {p: math.exp(v) if s == "log" else float(v)
                for p, s, v in zip(self.parameters, self.scale, z, strict=True)}


def phase_key(name: str) -> str:
    """The phase key a fitted parameter moves: ``k_ref`` -> ``k0``, ``k_ref_2`` -> ``k0_2``,
    anything else its own name."""
    m = _ARRHENIUS.match(name)
    return f"k0{m.group(2)}" if m and m.group(1) == "k_ref" else name


def draws(record: CalibrationRecord, n: int, first: int = 0) -> np.ndarray:
    """Draws ``first .. first + n - 1`` on the fitted scale, one row each (n x p).

    Draw ``i`` is z_hat + A u with u standard normal from its own stream
    (``SeedSequence(i, spawn_key=(DRAW_KEY,))``) and A A' the covariance (symmetric square
    root by eigen-decomposition, so a singular covariance is fine): the same ``i`` gives the
    same draw however many are taken.
    """
    cov = np.asarray(record.covariance, dtype=float)
    w, v = np.linalg.eigh(cov)
    root = v * np.sqrt(np.clip(w, 0.0, None))
    z_hat = record.centre()
    out = np.empty((n, z_hat.size))
    for k in range(n):
        seq = np.random.SeedSequence(first + k, spawn_key=(DRAW_KEY,))
        out[k] = z_hat + root @ np.random.default_rng(seq).standard_normal(z_hat.size)
    return out


def draw(record: CalibrationRecord, index: int) -> dict[str, float]:
    """Draw number ``index`` as parameter values (SI)."""
    return record.natural(draws(record, 1, index)[0])


def phase_updates(record: CalibrationRecord, values: Mapping[str, Any],
                  new: Mapping[str, float]) -> dict[str, float]:
    """The phase keys moved from the record's estimates to the parameter values ``new``
    (see the module notes); ``values`` are the phase's current values by key (SI)."""
    est = dict(zip(record.parameters, record.estimate, strict=True))
    scale = dict(zip(record.parameters, record.scale, strict=True))
    out: dict[str, float] = {}

    def current(key: str) -> float | None:
        return out[key] if key in out else values.get(key)

    for p in record.parameters:
        key, x, x_new = phase_key(p), est[p], new[p]
        now = current(key)
        if now is None:  # a key the phase leaves to a correlation (e.g. kLa): take the draw
            out[key] = x_new
        else:
            out[key] = now * (x_new / x) if scale[p] == "log" else now + (x_new - x)
        m = _ARRHENIUS.match(p)
        if m and m.group(1) == "ea":  # k0 = k_ref exp(Ea / (R T_ref)) moves with Ea
            k0 = f"k0{m.group(2)}"
            assert record.t_ref is not None
            out[k0] = (current(k0) or 0.0) * math.exp((x_new - x) / (R_GAS * record.t_ref))
    return out


def calibration_problems(line: LineSpec) -> list[tuple[str, str]]:
    """Cross-references of the ``[calibration]`` tables: a process station, a react or
    ferment phase at the index, and a key of that phase for every parameter."""
    out = []
    for name, rec in line.calibration.items():
        where = f"calibration.{name}"
        recipe = getattr(line.stations.get(name), "recipe", None)
        if recipe is None:
            out.append((where, f"no process station named {name!r}"))
            continue
        if rec.phase >= len(recipe):
            out.append((f"{where}.phase", f"{name!r} has {len(recipe)} phases"))
            continue
        ph = recipe[rec.phase]
        if ph.phase not in SAMPLED_PHASES:
            out.append((f"{where}.phase", f"phase {rec.phase} of {name!r} is a {ph.phase} "
                        f"phase (calibrated phases: {', '.join(SAMPLED_PHASES)})"))
            continue
        for i, p in enumerate(rec.parameters):
            if phase_key(p) not in type(ph).model_fields:
                out.append((f"{where}.parameters[{i}]", f"the {ph.phase} phase has no key "
                            f"{phase_key(p)!r} for parameter {p!r}"))
    return out


def sample_line(line: LineSpec, seed: int) -> LineSpec:
    """``line`` with every calibrated phase moved to draw number ``seed`` of its parameters
    (each record then says ``draw = seed``); a line without calibration, or one that holds
    draw ``seed`` already (a run's own spec, prepared again), comes back as is.

    Raises
    ------
    ValueError
        If the line holds another draw, or a draw leaves a phase's valid range.
    """
    held = {rec.draw for rec in line.calibration.values()}
    if not line.calibration or held == {seed}:
        return line
    data = line.model_dump(mode="json", by_alias=True)
    for name, rec in line.calibration.items():
        if rec.draw is not None:
            raise ValueError(f"calibration.{name} holds draw {rec.draw}, not {seed}: sample "
                             "the calibrated spec, not a sampled one")
        phase = line.stations[name].recipe[rec.phase]  # type: ignore[union-attr]
        new = draw(rec, seed)
        values = {k: getattr(phase, k) for k in type(phase).model_fields}
        moved = phase.model_copy(update=phase_updates(rec, values, new))
        data["stations"][name]["recipe"][rec.phase] = moved.model_dump(mode="json",
                                                                       by_alias=True)
        data["calibration"][name]["draw"] = seed
    try:
        return type(line).model_validate(data)
    except ValueError as exc:
        raise ValueError(f"draw {seed} of the calibrated parameters is outside a phase's "
                         f"valid range: {exc}") from None
