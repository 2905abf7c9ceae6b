"""Kernels compiled without reference counting (:func:`twin.kernels.jit.flat_kernel`).

The compiled event loop passes twenty-odd arrays to each helper it calls; counting each one
in and out of every call was most of its time. A flat kernel skips the counting, so it must
not allocate: that is refused when it compiles, not left to fail at run time.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba.core.errors import NumbaError

from twin.kernels.jit import _KernelCache, flat_kernel


@flat_kernel(inline=True)
def _bump(a, i, by):
    a[i] += by


@flat_kernel
def _push(a, b, i):
    _bump(a, i, 2.0)
    b[i] = a[i] * 10.0
    return b[i]


@flat_kernel
def _loop(a, b):
    total = 0.0
    for i in range(a.shape[0]):
        total += _push(a, b, i)
    return total


@flat_kernel
def _allocates(n):
    return np.zeros(n)


def test_flat_kernels_call_each_other_and_write_their_arrays() -> None:
    a, b = np.arange(4.0), np.zeros(4)
    assert _loop(a, b) == 10.0 * sum(x + 2.0 for x in range(4))
    assert a.tolist() == [2.0, 3.0, 4.0, 5.0] and b.tolist() == [20.0, 30.0, 40.0, 50.0]


def test_flat_kernels_are_cached_and_count_no_references() -> None:
    for fn in (_bump, _push, _loop):
        assert isinstance(fn._cache, _KernelCache)
        assert fn.targetoptions["_nrt"] is False
    assert _bump.targetoptions["inline"] == "always"
    assert _push.targetoptions["inline"] == "never"


def test_a_flat_kernel_that_allocates_is_refused() -> None:
    with pytest.raises(NumbaError):
        _allocates(3)
