"""The one decorator policy for compiled kernels, and their self-invalidating disk cache.

Every kernel in Pilot Twin is compiled with ``nogil=True`` (threads can run kernels in
parallel) and NumPy's error model (a division by zero gives inf or NaN, which the integrators
report as a status, instead of raising out of the kernel), and cached on disk (compiled code
is reused across processes). Setting the
environment variable ``NUMBA_DISABLE_JIT=1`` runs the same functions as plain Python, which is
how a test run measures coverage of kernel code.

Numba's own cache checks only the source file of the function it compiled, but a phase
kernel inlines code from other files (the integrator, the right-hand sides in ``rhs/``), so
an edit there used to leave stale machine code behind. Here the freshness stamp of every
kernel's cache index also carries a hash of all kernel sources (:func:`kernels_source_hash`):
editing any file under ``twin/kernels`` makes every cached kernel stale, and Numba compiles
and rewrites it on its next use. Nothing has to be deleted by hand.

:func:`needs_compiling` tells whether a kernel's next call will compile (no fresh cache), so
callers can say so before the pause; ``twin warmup`` (:mod:`twin.kernels.warmup`) compiles
everything once at set-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from numba import njit
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    InTreeCacheLocator,
    UserProvidedCacheLocator,
    UserWideCacheLocator,
)
from numba.core.dispatcher import Dispatcher

F = TypeVar("F", bound=Callable[..., object])

KERNELS_DIR = Path(__file__).resolve().parent
"""The kernel package whose sources make up the cache stamp."""


@lru_cache(maxsize=8)
def kernels_source_hash(root: Path = KERNELS_DIR) -> str:
    """SHA-256 of every ``.py`` file under ``root`` (relative path and bytes, in order)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class _KernelStamp:
    """Locator mixin: the stamp is Numba's (the function's own file) plus all kernel sources."""

    _py_file: str

    def get_source_stamp(self) -> Any:
        own = super().get_source_stamp()  # type: ignore[misc]
        return own, kernels_source_hash(Path(self._py_file).resolve().parent
                                        if _outside(self._py_file) else KERNELS_DIR)


def _outside(py_file: str) -> bool:
    """A kernel defined outside this package (tests, extensions): stamp its own folder."""
    return KERNELS_DIR not in Path(py_file).resolve().parents


class _UserProvidedLocator(_KernelStamp, UserProvidedCacheLocator):
    """``NUMBA_CACHE_DIR`` when set."""


class _InTreeLocator(_KernelStamp, InTreeCacheLocator):
    """``__pycache__`` next to the source file (the usual case)."""


class _UserWideLocator(_KernelStamp, UserWideCacheLocator):
    """The user's cache directory when ``__pycache__`` is not writable."""


class _KernelCacheImpl(CompileResultCacheImpl):
    _locator_classes = [_UserProvidedLocator, _InTreeLocator, _UserWideLocator]


class _KernelCache(FunctionCache):
    _impl_class = _KernelCacheImpl


def kernel(func: F) -> F:
    """Compile ``func`` as a Pilot Twin kernel: ``njit(nogil=True, error_model="numpy")``
    with the cache above."""
    compiled = njit(nogil=True, error_model="numpy")(func)
    if isinstance(compiled, Dispatcher):  # not under NUMBA_DISABLE_JIT
        compiled._cache = _KernelCache(func)  # what Dispatcher.enable_caching does
    return compiled  # type: ignore[no-any-return]


def flat_kernel(func: F | None = None, *, inline: bool = False) -> Any:
    """Compile ``func`` as :func:`kernel` does, without Numba's reference counting of arrays.

    For kernels that only work on arrays their caller made (they allocate none, return no
    array): a call then passes its arrays without counting each one in and out, which in an
    event loop whose steps call helpers with twenty-odd arrays was most of the time.
    ``inline=True`` (``@flat_kernel(inline=True)``) compiles the function into each caller
    (Numba's ``inline="always"``): for small helpers on the hot path of a loop, where a call
    that passes many arrays costs more than the work.
    """
    if func is None:
        return lambda f: flat_kernel(f, inline=inline)
    compiled = njit(nogil=True, error_model="numpy", _nrt=False,
                    inline="always" if inline else "never")(func)
    if isinstance(compiled, Dispatcher):
        compiled._cache = _KernelCache(func)
    return compiled


def needs_compiling(compiled: Any) -> bool:
    """Whether the next call of the kernel ``compiled`` compiles it: it has no compiled
    version in this process and its disk cache is missing or stale."""
    if not isinstance(compiled, Dispatcher) or compiled.signatures:
        return False
    cache = compiled._cache
    if not isinstance(cache, _KernelCache):
        return True
    return not cache._cache_file._load_index()
