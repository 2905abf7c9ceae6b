"""Integration status codes and the Python-level error they turn into.

Kernels never raise: they return an integer status next to their result. Plain-Python wrappers
call :func:`check_status`, which raises :class:`IntegrationError` naming the unit, the phase and
what failed, so that a numerical failure can never be mistaken for a result.
"""

from __future__ import annotations

import math

#: Integration reached the requested end time.
OK = 0
#: Integration stopped at a terminal event (end condition such as a target conversion).
EVENT = 1
#: The maximum number of steps (accepted + rejected) was exceeded.
MAX_STEPS = 2
#: The step size fell below the minimum step (the solution blows up or is discontinuous).
STEP_COLLAPSE = 3
#: The right-hand side or the state became NaN or infinite and step reduction did not help.
NON_FINITE = 4
#: The explicit method detected stiffness and switching to the implicit method was not allowed.
STIFF = 5
#: The Newton matrix of the implicit method was singular.
SINGULAR = 6
#: Invalid input (non-finite initial state, t_end <= t0, rtol out of range, ...).
BAD_INPUT = 7

_DESCRIPTIONS: dict[int, str] = {
    OK: "reached the end time",
    EVENT: "stopped at an end condition",
    MAX_STEPS: "exceeded the maximum number of integration steps",
    STEP_COLLAPSE: "step size collapsed",
    NON_FINITE: "the state or its derivative became NaN or infinite",
    STIFF: "the problem is stiff and the explicit method was not allowed to switch",
    SINGULAR: "the implicit method's Newton matrix is singular",
    BAD_INPUT: "invalid input (non-finite state, empty time span or bad tolerance)",
}


def is_success(status: int) -> bool:
    """Return True when ``status`` means the phase ran to its end (``OK`` or ``EVENT``)."""
    return int(status) in (OK, EVENT)


def describe(status: int) -> str:
    """Return a short human-readable description of an integration status code."""
    return _DESCRIPTIONS.get(int(status), f"unknown status {int(status)}")


class IntegrationError(Exception):
    """A process kernel failed numerically.

    Attributes
    ----------
    status : int
        Status code returned by the kernel (see module constants).
    unit : str
        Name of the unit (station) whose phase failed.
    phase : str
        Name of the phase (e.g. ``"react"``, ``"dry"``).
    t : float
        Time within the phase at which the failure was detected [s] (NaN if unknown).
    h : float
        Last step size [s] (NaN if unknown).
    """

    def __init__(
        self, message: str, status: int, unit: str, phase: str, t: float, h: float
    ) -> None:
        super().__init__(message, status, unit, phase, t, h)  # re-creatable from its args
        self.message = message
        self.status = int(status)
        self.unit = unit
        self.phase = phase
        self.t = t
        self.h = h

    def __str__(self) -> str:
        return self.message


def check_status(
    status: int,
    unit: str,
    phase: str,
    *,
    t: float = math.nan,
    h: float = math.nan,
    detail: str = "",
) -> None:
    """Raise :class:`IntegrationError` unless ``status`` is ``OK`` or ``EVENT``.

    Parameters
    ----------
    status : int
        Status code returned by a kernel.
    unit : str
        Name of the unit (station) running the phase, used in the message.
    phase : str
        Name of the phase, used in the message.
    t : float, optional
        Time within the phase at which the kernel stopped [s].
    h : float, optional
        Last step size attempted by the integrator [s].
    detail : str, optional
        Extra context appended to the message (e.g. the parameter set).

    Raises
    ------
    IntegrationError
        If ``status`` is a failure code, e.g.
        ``unit 'reactor' phase 'react': step size collapsed to 1e-14 s at t=532.1 s``.
    """
    code = int(status)
    if is_success(code):
        return
    what = describe(code)
    if code == STEP_COLLAPSE and math.isfinite(h):
        what = f"step size collapsed to {h:.3g} s"
    where = f" at t={t:.6g} s" if math.isfinite(t) else ""
    message = f"unit {unit!r} phase {phase!r}: {what}{where}"
    if code not in (STEP_COLLAPSE,) and math.isfinite(h):
        message += f" (last step {h:.3g} s)"
    if detail:
        message += f"; {detail}"
    raise IntegrationError(message, code, unit, phase, t, h)
