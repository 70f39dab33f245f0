"""Row-strip execution of the per-pixel steps of the scene classification.

On a 5490² tile every NumPy temporary is a 30–120 MB array that the kernel maps and zeroes afresh, which
costs more than the arithmetic itself (and the temporaries of one step add up to gigabytes).  A step that
looks at each pixel on its own gives the same result on any partition of the rows, so
:func:`sen2cor.sc.classify.classify` runs such steps strip by strip: temporaries of a few MB that the
allocator re-uses, on a small thread pool (NumPy releases the GIL inside its loops).  This is a matter of
speed and memory only; no result depends on the strip height or the number of threads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

import numba
import numpy as np
from numpy.typing import NDArray

STRIP_ROWS: Final[int] = 64
"""Rows per strip: 64 × 5490 float32 is 1.4 MB per temporary (performance only)."""

A = TypeVar("A", bound=np.generic)


def strip_slices(rows: int, height: int | None = None) -> list[slice]:
    """Consecutive row slices of at most ``height`` (default :data:`STRIP_ROWS`) rows covering ``range(rows)``."""
    h = STRIP_ROWS if height is None else height
    return [slice(r, min(r + h, rows)) for r in range(0, rows, h)]


def thread_count() -> int:
    """Threads for strip work: numba's setting (``NUMBA_NUM_THREADS`` / ``numba.set_num_threads``)."""
    return max(1, int(numba.get_num_threads()))


def for_each_strip(work: Callable[[slice], None], rows: int, height: int | None = None) -> None:
    """Call ``work(rows_slice)`` for every strip of ``range(rows)``, on a thread pool.

    ``work`` must only write to its own rows.  Exceptions are re-raised in the caller.
    """
    slices = strip_slices(rows, height)
    workers = min(thread_count(), len(slices))
    if workers <= 1:
        for s in slices:
            work(s)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sc-strip") as pool:
        for _ in pool.map(work, slices):
            pass


def band_rows(bands: Mapping[str, NDArray[A]], rows: slice) -> dict[str, NDArray[A]]:
    """Views of the rows ``rows`` of every band."""
    return {k: v[rows] for k, v in bands.items()}


def optional_rows(array: NDArray[A] | None, rows: slice) -> NDArray[A] | None:
    """``array[rows]``, or None."""
    return None if array is None else array[rows]
