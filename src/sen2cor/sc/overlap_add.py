"""``scipy.signal.oaconvolve`` of a full tile, computed a band of blocks at a time.

The geometric cloud-shadow probability convolves the 5490² cloud mask with the small projected-cloud
kernel by overlap-add FFTs (:func:`sen2cor.sc.shadow.geometric_shadow`).  ``oaconvolve`` transforms every
block of the tile at once, which holds the padded tile, two block spectra and the block results together
(≈ 700 MB on a full tile).  :func:`oaconvolve_crop` cuts the same blocks (same block size and step,
:func:`oa_lengths`), transforms a band of block rows at a time with the same ``scipy.fft`` calls and
adds the overlaps in the same order as ``oaconvolve``, so the result is the same to the last bit
(``tests/sc/test_overlap_add.py``) with a few tens of MB in flight.  The transforms run on the strip threads
(:func:`sen2cor.sc.strips.thread_count`; pocketfft shares out whole 1-D transforms, so the values do not
depend on it): the convolution is on the classification's critical path.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import fft, special

from sen2cor.sc.strips import thread_count

Float32Array = NDArray[np.float32]

BAND_BLOCKS: Final[int] = 2
"""Block rows transformed together (performance/memory only)."""


def oa_lengths(s1: int, s2: int) -> tuple[int, int | None, int, int]:
    """(block size, overlap, image step, kernel step) of overlap-add along an axis of ``s1`` image and ``s2``
    kernel samples, as ``oaconvolve`` chooses them; overlap None: one block (a plain FFT convolution).

    The block size N minimises the cost N·log₂(2N)/(N − K) of the blocks, K = overlap = (smaller size) − 1:
    N = −K·W₋₁(−1/(2eK)) (W₋₁ the lower branch of the Lambert W function), rounded up to a fast FFT length.
    Computed here rather than imported: ``scipy.signal`` (and the ``scipy.stats`` it imports) took 0.7 s
    to import, on the classification's critical path (docs/benchmarks.md, session 23).
    """
    one_block = (s1 + s2 - 1, None, s1, s2)
    if s1 == s2 or s1 == 1 or s2 == 1:
        return one_block
    swapped = s2 > s1
    large, small = (s2, s1) if swapped else (s1, s2)
    if small >= large / 2:  # blocks would hardly be smaller than the whole
        return one_block
    overlap = small - 1
    optimum = -overlap * special.lambertw(-1 / (2 * math.e * overlap), k=-1).real
    block = fft.next_fast_len(math.ceil(optimum))
    if block >= large:
        return one_block
    step = block - small + 1
    return (block, overlap, small, step) if swapped else (block, overlap, step, small)


def _steps(size: int, block: int, overlap: int, step: int, final: int) -> int:
    """Number of blocks along one axis, as ``oaconvolve`` counts them."""
    if size <= step:
        return 1
    n = math.ceil((size + 1) / step)
    if (block - overlap) * n < final:
        n += 1
    return n


def oaconvolve_crop(
    image: NDArray[np.float32] | NDArray[np.bool_],
    kernel: Float32Array,
    offset: tuple[int, int],
    shape: tuple[int, int],
) -> Float32Array:
    """``signal.oaconvolve(image.astype(float32), kernel, mode="full")[r:r + rows, c:c + cols]``, contiguous.

    Parameters
    ----------
    image : ndarray of float32 or bool, 2-D
        Converted to float32 a band at a time.
    kernel : ndarray of float32, 2-D
    offset : (r, c)
        First row and column of the crop in the full convolution.
    shape : (rows, cols)
        Size of the crop.
    """
    s1, s2 = image.shape, kernel.shape
    final = (s1[0] + s2[0] - 1, s1[1] + s2[1] - 1)
    lens = [oa_lengths(a, b) for a, b in zip(s1, s2)]
    r0, c0 = offset
    if any(ov is None or k_step != k for (_, ov, _, k_step), k in zip(lens, s2)):
        from scipy import signal  # only here: 0.7 s to import (see oa_lengths)

        full = signal.oaconvolve(image.astype(np.float32), kernel, mode="full")  # one block along some axis
        return np.ascontiguousarray(full[r0 : r0 + shape[0], c0 : c0 + shape[1]], dtype=np.float32)
    (b0, ov0, st0, _), (b1, ov1, st1, _) = lens
    n0 = _steps(s1[0], b0, ov0, st0, final[0])
    n1 = _steps(s1[1], b1, ov1, st1, final[1])
    fshape = [b0, b1]
    workers = thread_count()
    kernel_spectrum = fft.rfftn(kernel.reshape(1, s2[0], 1, s2[1]), fshape, axes=[1, 3])
    out = np.empty(shape, dtype=np.float32)
    tail = None  # the last block's rows past the step, before the overlap-add, from the previous band
    for k0 in range(0, n0, BAND_BLOCKS):
        k1 = min(k0 + BAND_BLOCKS, n0)
        band_rows = (k1 - k0) * st0
        first = k0 * st0
        band = np.zeros((band_rows, n1 * st1), dtype=np.float32)
        taken = image[first : first + band_rows]
        band[: taken.shape[0], : s1[1]] = taken
        blocks = fft.irfftn(
            fft.rfftn(band.reshape(k1 - k0, st0, n1, st1), fshape, axes=[1, 3], workers=workers)
            * kernel_spectrum,
            fshape,
            axes=[1, 3],
            workers=workers,
        )
        next_tail = blocks[-1, b0 - ov0 :].copy()
        blocks[1:, :ov0] += blocks[:-1, b0 - ov0 :]
        if tail is not None:
            blocks[0, :ov0] += tail
        tail = next_tail
        rows_part = blocks[:, : b0 - ov0]
        rows_part[:, :, 1:, :ov1] += rows_part[:, :, :-1, b1 - ov1 :]
        result = rows_part[..., : b1 - ov1].reshape(band_rows, n1 * st1)
        lo, hi = max(first, r0), min(first + band_rows, r0 + shape[0])
        if lo < hi:
            out[lo - r0 : hi - r0] = result[lo - first : hi - first, c0 : c0 + shape[1]]
    return out
