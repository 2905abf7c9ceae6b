"""The one decorator policy for compiled kernels.

Every kernel in Pilot Twin is compiled with ``cache=True`` (compiled code is reused across
processes), ``nogil=True`` (threads can run kernels in parallel) and NumPy's error model (a
division by zero gives inf or NaN, which the integrators report as a status, instead of
raising out of the kernel). Setting the environment
variable ``NUMBA_DISABLE_JIT=1`` runs the same functions as plain Python, which is how a test
run measures coverage of kernel code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from numba import njit

F = TypeVar("F", bound=Callable[..., object])


def kernel(func: F) -> F:
    """Compile ``func`` as a Pilot Twin kernel
    (``njit(cache=True, nogil=True, error_model="numpy")``)."""
    return njit(cache=True, nogil=True, error_model="numpy")(func)  # type: ignore[return-value]
