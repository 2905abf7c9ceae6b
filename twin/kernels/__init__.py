"""Pure, Numba-compiled numerical kernels (the bottom layer).

Kernels take arrays and scalars and return results; they hold no objects, globals, I/O or
random state. Every kernel is compiled through :func:`twin.kernels.jit.kernel` so that the
decorator policy lives in one place.

Modules: ``integrate`` (phase integrator with events: ``dopri`` Dormand-Prince 5(4),
``rosenbrock`` Rosenbrock 2(3)), ``errors`` (status codes, ``IntegrationError``), ``phase``
(``PhaseResult`` and status checking), process models ``reactor``, ``fermentation``,
``drying``, ``crystallisation`` (their right-hand sides live in ``rhs``), ``statistics``
(time-weighted statistics of piecewise-constant signals).

The on-disk cache of compiled kernels invalidates itself when any kernel source changes
(:mod:`twin.kernels.jit`); ``warmup`` compiles the phase kernels ahead of use (``twin warmup``).
"""
