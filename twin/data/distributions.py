"""Random duration distributions: their spec models, means and fast samplers.

A distribution is written in a line spec as a table with a ``dist`` key, e.g.
``{dist = "exponential", mean = "90 s"}``; a plain quantity such as ``"90 s"`` is a constant.
All values are durations stored in seconds [s].

Sampling is done in chunks: :meth:`DistributionBase.sampler` returns a zero-argument callable
that hands out one draw at a time from a block of draws made by NumPy, so the cost of a draw
inside the event loop is a Python iterator step, not a NumPy call.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from twin.data.quantities import Duration
from twin.data.units import to_si

CHUNK = 1024
"""Draws made per NumPy call by a sampler."""


class DistributionBase(BaseModel):
    """Common interface of all distributions (durations in seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              allow_inf_nan=False)

    def mean(self) -> float:
        """Expected value [s]."""
        raise NotImplementedError

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws [s] using ``rng``."""
        raise NotImplementedError

    def sampler(self, rng: np.random.Generator, chunk: int = CHUNK) -> Callable[[], float]:
        """A callable returning one draw [s] per call, drawing ``chunk`` values at a time."""

        def stream() -> Iterator[float]:
            while True:
                yield from self.draw(rng, chunk).tolist()

        return stream().__next__

    def scaled(self, factor: float) -> DistributionBase:
        """The distribution of ``factor`` x a draw: every duration parameter times
        ``factor`` (> 0), shapes unchanged (a machine 30 % slower: ``scaled(1.3)``)."""
        if isinstance(factor, bool) or not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"a scale factor must be a positive number, not {factor!r}")
        update: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in _SHAPES or value is None or isinstance(value, str):
                continue
            update[name] = ([v * factor for v in value] if isinstance(value, list)
                            else value * factor)
        return self.model_copy(update=update)


_SHAPES = frozenset({"shape", "k"})
"""Parameters of a distribution that are not durations (kept by :meth:`scaled`)."""


class Constant(DistributionBase):
    """Always the same value."""

    dist: Literal["constant"] = "constant"
    value: Duration = Field(ge=0.0)

    def mean(self) -> float:
        return self.value

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    def sampler(self, rng: np.random.Generator, chunk: int = CHUNK) -> Callable[[], float]:
        value = self.value
        return lambda: value


class Exponential(DistributionBase):
    """Exponential with the given mean (rate = 1 / mean)."""

    dist: Literal["exponential"]
    mean_: Duration = Field(alias="mean", gt=0.0)

    def mean(self) -> float:
        return self.mean_

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_, n)


class Uniform(DistributionBase):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: Duration = Field(ge=0.0)
    high: Duration

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if not self.high > self.low:
            raise ValueError("high must be greater than low")
        return self

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Triangular(DistributionBase):
    """Triangular with minimum ``low``, mode ``mode`` and maximum ``high``."""

    dist: Literal["triangular"]
    low: Duration = Field(ge=0.0)
    mode: Duration
    high: Duration

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("need low <= mode <= high and low < high")
        return self

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, n)


def _phi(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


class Normal(DistributionBase):
    """Normal with mean ``mean`` and standard deviation ``std``, truncated to [min, max].

    Notes
    -----
    Durations cannot be negative, so ``min`` defaults to 0. Truncation is done by rejection;
    :meth:`mean` returns the mean of the truncated distribution (closed form).
    """

    dist: Literal["normal"]
    mu: Duration = Field(alias="mean")
    std: Duration = Field(gt=0.0)
    min: Duration = 0.0
    max: Duration | None = Field(None, description="upper bound; none = unbounded")

    @property
    def _upper(self) -> float:
        return math.inf if self.max is None else self.max

    @model_validator(mode="after")
    def _bounds(self) -> Normal:
        if not self._upper > self.min:
            raise ValueError("max must be greater than min")
        a, b = (self.min - self.mu) / self.std, (self._upper - self.mu) / self.std
        if _cdf(b) - _cdf(a) < 1e-3:
            raise ValueError("the truncation bounds keep less than 0.1% of the distribution")
        return self

    def mean(self) -> float:
        a, b = (self.min - self.mu) / self.std, (self._upper - self.mu) / self.std
        pb = 0.0 if math.isinf(b) else _phi(b)
        return self.mu + self.std * (_phi(a) - pb) / (_cdf(b) - _cdf(a))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        out = np.empty(0)
        while out.size < n:
            x = rng.normal(self.mu, self.std, 2 * n)
            out = np.concatenate([out, x[(x >= self.min) & (x <= self._upper)]])
        return out[:n]


class Lognormal(DistributionBase):
    """Lognormal given by the mean and standard deviation of the value itself (not its log)."""

    dist: Literal["lognormal"]
    mu: Duration = Field(alias="mean", gt=0.0)
    std: Duration = Field(gt=0.0)

    @model_validator(mode="after")
    def _finite(self) -> Lognormal:
        if not self.std <= 1e3 * self.mu:
            raise ValueError("std must not exceed 1000 x mean (the distribution degenerates)")
        return self

    def _log_params(self) -> tuple[float, float]:
        s2 = math.log1p((self.std / self.mu) ** 2)
        return math.log(self.mu) - 0.5 * s2, math.sqrt(s2)

    def mean(self) -> float:
        return self.mu

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        m, s = self._log_params()
        return rng.lognormal(m, s, n)


class Weibull(DistributionBase):
    """Weibull with ``shape`` k, ``scale`` lambda [s] and optional ``location`` [s]."""

    dist: Literal["weibull"]
    shape: float = Field(gt=0.0)
    scale: Duration = Field(gt=0.0)
    location: Duration = Field(0.0, ge=0.0)

    @model_validator(mode="after")
    def _finite_mean(self) -> Weibull:
        try:
            mean = self.mean()
        except OverflowError:
            mean = math.inf
        if not math.isfinite(mean):
            raise ValueError("shape is too small: the mean is infinite")
        return self

    def mean(self) -> float:
        return self.location + self.scale * math.gamma(1.0 + 1.0 / self.shape)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.location + self.scale * rng.weibull(self.shape, n)


class Gamma(DistributionBase):
    """Gamma with ``shape`` k (dimensionless) and ``scale`` theta [s]: mean k * theta,
    variance k * theta**2. The shape need not be whole (see :class:`Erlang` for a whole one
    given by its mean)."""

    dist: Literal["gamma"]
    shape: float = Field(gt=0.0)
    scale: Duration = Field(gt=0.0)

    def mean(self) -> float:
        return self.shape * self.scale

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(self.shape, self.scale, n)


class Erlang(DistributionBase):
    """Erlang: the sum of ``k`` independent exponential phases, given by the ``mean`` [s] of
    the whole (each phase has mean ``mean / k``). A gamma with a whole shape ``k``."""

    dist: Literal["erlang"]
    k: int = Field(ge=1, le=10_000, strict=True)
    mean_: Duration = Field(alias="mean", gt=0.0)

    def mean(self) -> float:
        return self.mean_

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(float(self.k), self.mean_ / self.k, n)


class Empirical(DistributionBase):
    """Resampling (with replacement) of observed values, e.g. from a historian export.

    ``values`` are numbers in ``unit`` or strings with their own unit. Instead of ``values``,
    ``file`` names a CSV file (relative to the line file) and ``column`` the column to read
    (default: the first); its values are read once, when the spec is loaded, and the file
    name is kept in ``source``.
    """

    dist: Literal["empirical"]
    values: list[float | str] = Field(min_length=1)
    unit: str = "s"
    source: str = ""

    @model_validator(mode="before")
    @classmethod
    def _read_file(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or "file" not in data:
            return data
        data = dict(data)
        file, column = data.pop("file"), data.pop("column", None)
        if "values" in data:
            raise ValueError("give either 'values' or 'file', not both")
        base = Path((info.context or {}).get("base_dir", "."))
        data["values"] = read_column(base / str(file), column)
        data["source"] = str(file)
        return data

    @model_validator(mode="after")
    def _convert(self) -> Empirical:
        converted = [to_si(v, "time", bare_unit=self.unit) for v in self.values]
        if min(converted) < 0:
            raise ValueError("values must not be negative")
        object.__setattr__(self, "values", converted)
        object.__setattr__(self, "unit", "s")  # values are now in seconds
        return self

    def mean(self) -> float:
        return float(np.mean(self.values))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), n)


def read_column(path: Path, column: str | int | None) -> list[float]:
    """Numbers of one column of a CSV file with a header row (``column``: name or index)."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(rows) < 2:
        raise ValueError(f"{path} has no data rows")
    header = [h.strip() for h in rows[0]]
    if column is None:
        index = 0
    elif isinstance(column, int):
        index = column
    elif column in header:
        index = header.index(column)
    else:
        raise ValueError(f"{path} has no column {column!r} (columns: {header})")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not row or index >= len(row) or not row[index].strip():
            continue
        try:
            out.append(float(row[index]))
        except ValueError:
            raise ValueError(f"{path}, line {n}: {row[index]!r} is not a number") from None
    if not out:
        raise ValueError(f"{path} has no numbers in column {header[index]!r}")
    return out


def _shorthand(value: Any) -> Any:
    """A bare quantity (``"90 s"``) is a constant distribution."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    return value


_Tables = Annotated[
    Constant | Exponential | Uniform | Triangular | Normal | Lognormal | Weibull | Gamma | Erlang
    | Empirical,
    Field(discriminator="dist"),
]

Distribution = Annotated[
    _Tables,
    BeforeValidator(_shorthand, json_schema_input_type=str | float | _Tables),
]
"""Any duration distribution, written as ``{dist = "...", ...}`` or a plain quantity."""

DISTRIBUTION_NAMES = ("constant", "exponential", "uniform", "triangular", "normal", "lognormal",
                      "weibull", "gamma", "erlang", "empirical")
