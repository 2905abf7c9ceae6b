"""Plain-Python side of the phase kernels: result container and status checking.

Kernels return tuples of arrays; :func:`run_phase` turns one into a :class:`PhaseResult` with
named totals and raises :class:`~twin.kernels.errors.IntegrationError` on failure;
:func:`phase_runner` makes the checked, named form of a kernel (``run_reactor_phase``, ...);
its first call in a process says so (a ``twin.kernels.phase`` log warning) when the kernel has
to be compiled rather than loaded from the disk cache.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.kernels import integrate
from twin.kernels.errors import EVENT, NON_FINITE, IntegrationError, check_status, describe
from twin.kernels.jit import needs_compiling

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhaseResult:
    """Outcome of one successfully integrated process phase.

    Attributes
    ----------
    duration : float
        Phase duration [s].
    ended_by : str
        ``"end_time"`` or the name of the end condition that stopped the phase.
    end_state : numpy.ndarray
        State vector at the end of the phase [model units].
    totals : dict[str, float]
        Named totals of the phase (energies [J], masses [kg], moles [mol], ...).
    profile : numpy.ndarray, shape (n_out, len(profile_columns))
        Decimated profile on equally spaced times (column 0 is time [s]).
    profile_columns : tuple[str, ...]
        Column names of ``profile`` with units.
    stats : dict[str, float]
        Integrator statistics (accepted/rejected steps, rhs evaluations, ...).
    """

    duration: float
    ended_by: str
    end_state: np.ndarray
    totals: dict[str, float]
    profile: np.ndarray
    profile_columns: tuple[str, ...]
    stats: dict[str, float]


_STAT_NAMES = (
    "accepted_steps",
    "rejected_steps",
    "rhs_evaluations",
    "jacobian_evaluations",
    "last_step_s",
    "time_of_peak_s",
    "peak_value",
    "stiff_switch_time_s",
    "monitor_max",
    "time_of_monitor_max_s",
)
assert len(_STAT_NAMES) == integrate.N_STATS


def run_phase(
    output: tuple,
    *,
    unit: str,
    phase: str,
    event_names: Sequence[str],
    total_names: Sequence[str],
    profile_columns: Sequence[str],
) -> PhaseResult:
    """Check the status of a phase kernel's ``output`` and wrap it in a :class:`PhaseResult`.

    Parameters
    ----------
    output : tuple
        ``(status, event, duration, end_state, totals, profile, stats)`` as returned by the
        ``*_phase`` kernels.
    unit, phase : str
        Names used in the error message if the kernel failed.
    event_names : sequence of str
        Names of the model's event slots.
    total_names, profile_columns : sequence of str
        Names of the entries of ``totals`` and of the columns of ``profile``.

    Raises
    ------
    IntegrationError
        If the kernel reports a failure status.
    """
    status, event, duration, end_state, totals, profile, stats = output
    check_status(
        status, unit, phase, t=float(duration), h=float(stats[integrate.H_LAST])
    )
    ended_by = "end_time"
    if status == EVENT:
        ended_by = event_names[event] if 0 <= event < len(event_names) else f"event {event}"
    return PhaseResult(
        duration=float(duration),
        ended_by=ended_by,
        end_state=np.asarray(end_state),
        totals={name: float(v) for name, v in zip(total_names, totals, strict=True)},
        profile=np.asarray(profile),
        profile_columns=tuple(profile_columns),
        stats={name: float(v) for name, v in zip(_STAT_NAMES, stats, strict=True)},
    )


def phase_runner(kernel: Callable[..., tuple], event_names: Sequence[str],
                 total_names: Sequence[str], profile_columns: Sequence[str]
                 ) -> Callable[..., PhaseResult]:
    """The checked form of a phase ``kernel``: ``run(p, y0, *, t_end, unit, phase, rtol=1e-6,
    method=AUTO, max_steps=200_000, n_out=200)`` calls the kernel (arguments as the kernel
    takes them) and returns its :class:`PhaseResult`, or raises ``IntegrationError`` naming
    ``unit`` and ``phase``."""
    name = getattr(kernel, "__name__", "phase kernel")

    def run(p: np.ndarray, y0: np.ndarray, *, t_end: float, unit: str, phase: str,
            rtol: float = 1e-6, method: int = integrate.AUTO, max_steps: int = 200_000,
            n_out: int = 200) -> PhaseResult:
        if needs_compiling(kernel):
            _log.warning("compiling the %s kernel (once after installing or editing the "
                         "kernels; 'twin warmup' does it ahead of time) ...", name)
        try:
            out: Any = kernel(p, y0, t_end, rtol, method, max_steps, n_out)
        except ArithmeticError as exc:  # only without JIT (compiled kernels return NaN)
            raise IntegrationError(f"unit {unit!r} phase {phase!r}: {describe(NON_FINITE)} "
                                   f"({exc})", NON_FINITE, unit, phase, math.nan,
                                   math.nan) from exc
        return run_phase(out, unit=unit, phase=phase, event_names=event_names,
                         total_names=total_names, profile_columns=profile_columns)

    run.__name__ = run.__qualname__ = f"run_{name}"
    run.__doc__ = (f"Run :func:`{name}`; raise ``IntegrationError`` naming ``unit`` and "
                   "``phase`` on failure. Arguments as the kernel takes them.")
    return run
