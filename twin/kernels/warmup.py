"""Compile every phase kernel once, ahead of use (``twin warmup``; ``dev.py`` runs it at set-up).

A phase kernel compiles in tens of seconds on first use; compiled code is cached on disk
(:mod:`twin.kernels.jit`) and reused by every later process until a kernel source changes.
Compiling at set-up moves that pause out of a user's first run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from numba.core import types

from twin.kernels import crystallisation, drying, fermentation, network, reactor
from twin.kernels.jit import needs_compiling

PHASE_KERNELS: tuple[Any, ...] = (reactor.reactor_phase, crystallisation.crystallisation_phase,
                                  drying.drying_phase, fermentation.fermentation_phase,
                                  network.network_phase)
"""The phase kernels the engine calls (a new phase model adds its kernel here)."""

PHASE_SIGNATURE = (types.float64[::1], types.float64[::1], types.float64, types.float64,
                   types.int64, types.int64, types.int64)
"""How :func:`twin.kernels.phase.phase_runner` calls a phase kernel: parameters and initial
state (contiguous float arrays), time limit, rtol, method, step limit, profile rows. A tuple
of types, as Numba builds it for a call: the disk cache is keyed by the signature object, so
a string signature would be cached under a key that calls never look up."""


def warm_up(kernels: Sequence[Any] = PHASE_KERNELS,
            report: Callable[[str], None] | None = None) -> dict[str, float]:
    """Compile (or load from the disk cache) each kernel for :data:`PHASE_SIGNATURE`, or
    for its own signature when it is given as ``(kernel, signature)`` (a registered phase
    model's kernel that is not a phase kernel).

    Returns the seconds spent per kernel that had to be compiled (empty when all were
    cached); ``report(name)`` is called before each compile.
    """
    spent: dict[str, float] = {}
    for item in kernels:
        k, signature = item if isinstance(item, tuple) else (item, PHASE_SIGNATURE)
        name = getattr(k, "__name__", repr(k))
        compiling = needs_compiling(k)
        if compiling and report is not None:
            report(name)
        start = time.perf_counter()
        if hasattr(k, "compile"):  # not under NUMBA_DISABLE_JIT
            k.compile(signature)
        if compiling:
            spent[name] = time.perf_counter() - start
    return spent
