"""Pure, Numba-compiled numerical kernels (the bottom layer).

Kernels take arrays and scalars and return results; they hold no objects, globals, I/O or
random state. Every kernel is compiled through :func:`twin.kernels.jit.kernel` so that the
decorator policy lives in one place.
"""
