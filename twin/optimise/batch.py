"""Optimal operation of a semi-batch reaction: jacket temperature and dosing profiles.

The batch is cut into ``segments`` equal periods of a length the optimiser chooses; in each the
jacket temperature is constant and a share of the feed is dosed at a constant rate (a
piecewise-constant, direct-method parameterisation). After the last period the batch holds at
the last jacket temperature until the target conversion. Each period is one call of the Numba
reactor kernel (:func:`twin.kernels.reactor.reactor_phase`), chained through its end state.

The optimiser (SciPy's differential evolution, seeded, so the result is reproducible)
minimises the time to the target conversion (or maximises the selectivity to B) subject to

- peak temperature <= ``t_max`` (the process limit),
- MTSR (temperature after a cooling failure with dosing stopped) <= ``mtt`` - ``margin``,
- jacket duty ``UA (T - Tj)`` <= ``cooling_capacity`` at every profile point,
- jacket temperatures within ``[tj_min, tj_max]`` (the utility's range).

:func:`constant_recipe` evaluates the usual recipe (one jacket temperature, the feed dosed
evenly over a dosing time) for comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import NonlinearConstraint, differential_evolution

from twin.kernels import integrate
from twin.kernels.errors import EVENT, OK
from twin.kernels.reactor import (
    MTSR_MAX,
    P_MTSR,
    P_N_A,
    P_TEMP,
    P_TIME,
    SINGLE,
    T_PEAK,
    reactor_parameters,
    reactor_phase,
    reactor_state,
)


@dataclass(frozen=True)
class SemiBatch:
    """A semi-batch reaction A (+ dosed A) -> B (-> C): physics and limits, all SI.

    ``n_a0`` moles of A are charged in ``v0`` [m3] at ``t0`` [K]; ``v_feed`` [m3] of feed at
    ``c_feed`` [mol/m3] and ``t_feed`` [K] are dosed. Limits: ``t_max`` [K], ``mtt`` [K]
    (maximum technical temperature, e.g. the boiling point), ``margin`` [K] below it,
    ``cooling_capacity`` [W], jacket range ``tj_min`` .. ``tj_max`` [K].
    """

    k0: float
    ea: float
    dh: float
    rho_cp: float
    ua: float
    n_a0: float
    v0: float
    t0: float
    c_feed: float
    v_feed: float
    t_feed: float
    x_target: float
    t_max: float
    mtt: float
    cooling_capacity: float
    tj_min: float
    tj_max: float
    margin: float = 0.0
    scheme: int = SINGLE
    k0_2: float = 0.0
    ea_2: float = 0.0
    dh_2: float = 0.0
    max_hold: float = 48 * 3600.0

    @property
    def n_total(self) -> float:
        """Moles of A charged and dosed [mol]."""
        return self.n_a0 + self.c_feed * self.v_feed


@dataclass
class Operation:
    """A profile and what it does.

    Attributes
    ----------
    period
        Length of each dosing/jacket period [s].
    t_jacket, dose
        Jacket temperature [K] and share of the feed dosed in each period (sums to 1).
    batch_time
        Time to the target conversion [s] (``inf`` if not reached).
    peak_temperature, max_mtsr, max_duty
        Over the whole batch [K], [K], [W].
    selectivity
        B formed per A converted at the end [-].
    profile
        Time [s], temperature [K], MTSR [K], conversion [-] and jacket duty [W] columns.
    """

    period: float
    t_jacket: np.ndarray
    dose: np.ndarray
    batch_time: float = math.inf
    peak_temperature: float = math.nan
    max_mtsr: float = math.nan
    max_duty: float = math.nan
    selectivity: float = math.nan
    profile: np.ndarray = field(default_factory=lambda: np.empty((0, 5)))

    def feasible(self, b: SemiBatch, tol: float = 1e-6) -> bool:
        """Whether it reaches the target within every limit."""
        return bool(np.isfinite(self.batch_time) and self.peak_temperature <= b.t_max + tol
                    and self.max_mtsr <= b.mtt - b.margin + tol
                    and self.max_duty <= b.cooling_capacity * (1 + tol))


def simulate(b: SemiBatch, period: float, t_jacket: np.ndarray, dose: np.ndarray,
             n_out: int = 60) -> Operation:
    """Run the batch under a piecewise-constant profile (one kernel call per period, then a
    hold at the last jacket temperature until the target conversion)."""
    t_jacket = np.asarray(t_jacket, dtype=float)
    dose = np.asarray(dose, dtype=float)
    op = Operation(period, t_jacket, dose)
    y = reactor_state(n_a=b.n_a0, temperature=b.t0, volume=b.v0)
    fed_later = b.c_feed * b.v_feed
    t, rows = 0.0, []
    segments = [(period, tj, d) for tj, d in zip(t_jacket, dose, strict=True)]
    segments.append((b.max_hold, t_jacket[-1], 0.0))
    peak, mtsr = b.t0, -math.inf
    for length, tj, share in segments:
        v = share * b.v_feed
        fed_later -= b.c_feed * v
        # the kernel's conversion counts A still to be dosed in this call only: shift the
        # target so it means the conversion of all A of the batch
        x_k = b.x_target + max(fed_later, 0.0) / b.n_total
        p = reactor_parameters(
            k0=b.k0, ea=b.ea, dh=b.dh, rho_cp=b.rho_cp, ua=b.ua, t_jacket=float(tj),
            n_a_total=b.n_total, scheme=b.scheme, k0_2=b.k0_2, ea_2=b.ea_2, dh_2=b.dh_2,
            feed_rate=v / length if v > 0 else 0.0, c_feed=b.c_feed, t_feed=b.t_feed,
            t_dose=length if v > 0 else 0.0, x_target=x_k if x_k <= 1.0 else 2.0,
            t_max=b.t_max + 1.0)
        status, event, dt, y_end, totals, prof, _ = reactor_phase(
            p, y, length, 1e-7, integrate.AUTO, 200_000, n_out)
        if status not in (OK, EVENT):
            return op
        seg = np.column_stack([prof[:, P_TIME] + t, prof[:, P_TEMP], prof[:, P_MTSR],
                               1.0 - (prof[:, P_N_A] + max(fed_later, 0.0)) / b.n_total,
                               b.ua * (prof[:, P_TEMP] - tj)])
        rows.append(seg)
        peak = max(peak, float(totals[T_PEAK]))
        mtsr = max(mtsr, float(totals[MTSR_MAX]))
        t += dt
        y = y_end
        if event == 1:      # temperature limit: infeasible
            op.peak_temperature = max(peak, b.t_max + 1.0)
            break
        if event == 0:      # target conversion reached
            op.batch_time = t
            break
    op.profile = np.vstack(rows) if rows else op.profile
    op.peak_temperature = max(op.peak_temperature if np.isfinite(op.peak_temperature)
                              else -math.inf, peak)
    op.max_mtsr = mtsr
    op.max_duty = float(np.nanmax(op.profile[:, 4])) if len(op.profile) else math.nan
    converted = b.n_total - y[0]
    op.selectivity = float(y[1] / converted) if converted > 0 else math.nan
    return op


def constant_recipe(b: SemiBatch, t_jacket: float, dosing_time: float) -> Operation:
    """The usual recipe: one jacket temperature, the feed dosed evenly over ``dosing_time``."""
    return simulate(b, dosing_time, np.array([t_jacket]), np.array([1.0]))


def optimise_operation(b: SemiBatch, *, segments: int = 4, objective: str = "time",
                       period_bounds: tuple[float, float] = (600.0, 4 * 3600.0),
                       seed: int = 0, maxiter: int = 60, popsize: int = 12) -> Operation:
    """The profile that minimises batch time (``objective = "time"``) or maximises the
    selectivity to B (``"selectivity"``) within the limits of ``b``.

    Raises
    ------
    ValueError
        If no feasible profile was found (the best infeasible one is described).
    """
    if objective not in ("time", "selectivity"):
        raise ValueError(f"objective must be 'time' or 'selectivity', got {objective!r}")
    n = segments
    bounds = [period_bounds] + [(b.tj_min, b.tj_max)] * n + [(0.0, 1.0)] * n

    def unpack(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        w = np.asarray(x[1 + n:], dtype=float)
        dose = w / w.sum() if w.sum() > 0 else np.full(n, 1.0 / n)
        return float(x[0]), np.asarray(x[1:1 + n], dtype=float), dose

    cache: dict[bytes, Operation] = {}

    def run(x: np.ndarray) -> Operation:
        key = np.asarray(x, dtype=float).tobytes()
        if key not in cache:
            cache[key] = simulate(b, *unpack(x), n_out=30)
        return cache[key]

    def cost(x: np.ndarray) -> float:
        op = run(x)
        if objective == "time":
            return op.batch_time if np.isfinite(op.batch_time) else 10 * b.max_hold
        return -op.selectivity if np.isfinite(op.selectivity) else 1.0

    def limits(x: np.ndarray) -> np.ndarray:
        op = run(x)
        reached = 0.0 if np.isfinite(op.batch_time) else 1.0
        return np.array([op.peak_temperature - b.t_max, op.max_mtsr - (b.mtt - b.margin),
                         op.max_duty / b.cooling_capacity - 1.0, reached])

    found = differential_evolution(
        cost, bounds, constraints=NonlinearConstraint(limits, -np.inf, 0.0), seed=seed,
        maxiter=maxiter, popsize=popsize, polish=False, tol=1e-8, updating="deferred")
    best = simulate(b, *unpack(found.x))
    if not best.feasible(b, tol=1e-3):
        raise ValueError(
            "no feasible profile found: best has batch time "
            f"{best.batch_time / 3600:.2f} h, peak {best.peak_temperature - 273.15:.1f} degC "
            f"(limit {b.t_max - 273.15:.1f}), MTSR {best.max_mtsr - 273.15:.1f} degC (limit "
            f"{b.mtt - b.margin - 273.15:.1f}), duty {best.max_duty / 1e3:.1f} kW (capacity "
            f"{b.cooling_capacity / 1e3:.1f})")
    return best
