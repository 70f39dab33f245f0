"""Masked means of full-tile float32 images without the masked copy.

``values[mask].mean()`` first copies the selected pixels into a new array: on a 20 m tile up to 120 MB
per call, and the surface reflectance asks for two such means per band (the step-2 background fill,
:func:`sen2cor.ac.adjacency.background_fill`) while two bands are corrected at once: up to 480 MB of
fresh memory at the moment the chain's live arrays peak (docs/benchmarks.md, session 14).

:func:`masked_mean` returns the same float32 value bit for bit: NumPy sums a float32 array pairwise
(blocks of up to 128 values with eight running sums, halves split at a multiple of 8, starting from 0) and
divides the float32 sum by the count in float64.  The compiled sum walks the masked pixels in the order
the copy would hold them and visits the blocks of that summation tree left to right, so it needs no copy
(``tests/ac/test_means.py`` compares it with NumPy).
"""

from __future__ import annotations

from typing import Final

import numba
import numpy as np
import numpy.typing as npt

PAIRWISE_BLOCK: Final[int] = 128
"""Largest block NumPy sums with eight running sums before it splits in two (``PW_BLOCKSIZE``)."""

PAIRWISE_UNROLL: Final[int] = 8
"""Running sums of a block; NumPy splits halves at multiples of it."""


@numba.njit(inline="always", cache=True)
def _next(values, mask, cursor):  # type: ignore[no-untyped-def]
    """The next masked value after ``cursor[0]`` (advanced past it)."""
    i = cursor[0]
    while not mask[i]:
        i += 1
    cursor[0] = i + 1
    return values[i]


@numba.njit(cache=True)
def _pairwise(values, mask, cursor, n):  # type: ignore[no-untyped-def]
    """NumPy's pairwise float32 sum of the next ``n`` masked values."""
    if n < PAIRWISE_UNROLL:
        res = np.float32(0.0)
        for _ in range(n):
            res += _next(values, mask, cursor)
        return res
    if n <= PAIRWISE_BLOCK:
        r0, r1 = _next(values, mask, cursor), _next(values, mask, cursor)
        r2, r3 = _next(values, mask, cursor), _next(values, mask, cursor)
        r4, r5 = _next(values, mask, cursor), _next(values, mask, cursor)
        r6, r7 = _next(values, mask, cursor), _next(values, mask, cursor)
        i = PAIRWISE_UNROLL
        whole = n - n % PAIRWISE_UNROLL
        while i < whole:  # eight running sums, one value each per round (NumPy's unrolled loop)
            r0 += _next(values, mask, cursor)
            r1 += _next(values, mask, cursor)
            r2 += _next(values, mask, cursor)
            r3 += _next(values, mask, cursor)
            r4 += _next(values, mask, cursor)
            r5 += _next(values, mask, cursor)
            r6 += _next(values, mask, cursor)
            r7 += _next(values, mask, cursor)
            i += PAIRWISE_UNROLL
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += _next(values, mask, cursor)
            i += 1
        return res
    half = n // 2
    half -= half % PAIRWISE_UNROLL
    left = _pairwise(values, mask, cursor, half)
    return left + _pairwise(values, mask, cursor, n - half)


@numba.njit(cache=True, nogil=True)
def _masked_sum(values, mask, n):  # type: ignore[no-untyped-def]
    cursor = np.zeros(1, np.int64)
    return np.float32(0.0) + _pairwise(values, mask, cursor, n)


def masked_mean(values: npt.NDArray[np.generic], mask: npt.NDArray[np.bool_]) -> float:
    """``float(values[mask].mean())`` (NaN when ``mask`` selects nothing), without the masked copy for
    C-contiguous float32 ``values`` and a C-contiguous boolean ``mask`` of the same shape (others: NumPy)."""
    n = int(np.count_nonzero(mask))
    if n == 0:
        return float("nan")
    if (values.dtype != np.float32 or mask.dtype != np.bool_ or values.shape != mask.shape
            or not values.flags.c_contiguous or not mask.flags.c_contiguous):
        return float(values[mask].mean())
    total = np.float32(_masked_sum(values.reshape(-1), mask.reshape(-1), n))
    return float(total.dtype.type(total / np.intp(n)))  # NumPy's _mean: float32 sum / intp count, as float32
