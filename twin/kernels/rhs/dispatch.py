"""Select a model's right-hand side and end conditions by integer id.

Why integer dispatch: Numba 0.68 cannot cache (``cache=True``) a compiled function that receives
another compiled function as an argument or closure value (the callee is embedded as a dynamic
global, and closure caches miss in every new process). A fixed set of model ids, branched on
here, keeps one cached integrator for every model at the price of editing this module to add
one.
"""

from __future__ import annotations

import numpy as np

from twin.kernels.jit import kernel
from twin.kernels.rhs import (
    crystallisation,
    drying,
    fermentation,
    network,
    reactor,
    testproblems,
)

TEST_DECAY = 1
TEST_BLOWUP = 2
TEST_ROBERTSON = 3
REACTOR = 10
NETWORK = 11
FERMENTATION = 20
DRYING = 30
CRYSTALLISATION = 40


@kernel
def rhs(model: int, t: float, y: np.ndarray, p: np.ndarray, dydt: np.ndarray) -> None:
    """Evaluate dy/dt of ``model`` at (t, y) into ``dydt`` (NaN for an unknown model)."""
    if model == REACTOR:
        reactor.rhs(t, y, p, dydt)
    elif model == NETWORK:
        network.rhs(t, y, p, dydt)
    elif model == FERMENTATION:
        fermentation.rhs(t, y, p, dydt)
    elif model == DRYING:
        drying.rhs(t, y, p, dydt)
    elif model == CRYSTALLISATION:
        crystallisation.rhs(t, y, p, dydt)
    elif model == TEST_DECAY:
        testproblems.decay_rhs(t, y, p, dydt)
    elif model == TEST_BLOWUP:
        testproblems.blowup_rhs(t, y, p, dydt)
    elif model == TEST_ROBERTSON:
        testproblems.robertson_rhs(t, y, p, dydt)
    else:
        dydt[:] = np.nan


@kernel
def events(model: int, t: float, y: np.ndarray, p: np.ndarray, g: np.ndarray) -> None:
    """Evaluate the terminal-event functions of ``model``; an event fires when g[i] reaches 0."""
    if model == REACTOR:
        reactor.events(t, y, p, g)
    elif model == NETWORK:
        network.events(t, y, p, g)
    elif model == FERMENTATION:
        fermentation.events(t, y, p, g)
    elif model == DRYING:
        drying.events(t, y, p, g)
    elif model == CRYSTALLISATION:
        crystallisation.events(t, y, p, g)
    elif model == TEST_DECAY:
        testproblems.decay_events(t, y, p, g)
    else:
        testproblems.no_events(t, y, p, g)


@kernel
def monitor(model: int, t: float, y: np.ndarray, p: np.ndarray) -> float:
    """A model-defined scalar whose maximum over the phase is tracked (NaN if none).

    Reactor and reaction network: MTSR [K]; fermentation: oxygen uptake [kg/s]; drying:
    evaporation rate [kg/s]; crystallisation: jacket duty [W].
    """
    if model == REACTOR:
        return reactor.monitor(t, y, p)
    if model == NETWORK:
        return network.monitor(t, y, p)
    if model == FERMENTATION:
        return fermentation.monitor(t, y, p)
    if model == DRYING:
        return drying.monitor(t, y, p)
    if model == CRYSTALLISATION:
        return crystallisation.monitor(t, y, p)
    return np.nan
