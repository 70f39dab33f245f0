"""Shi–Tomasi corners exactly as OpenCV's ``goodFeaturesToTrack``, with the eigenvalue image computed once.

The parallax step looks for corners of the same B8A Laplacian twice, first in the valid area and then in the
cloud mask (facts §6.3).  ``cv2.goodFeaturesToTrack`` recomputes the minimum-eigenvalue image on every call,
and that costs a second and several hundred MB of OpenCV buffers on a 5490² tile.  :class:`CornerFinder`
computes it once with ``cv2.cornerMinEigenVal`` (what ``goodFeaturesToTrack`` calls) and repeats the
selection that follows, step by step (OpenCV ``imgproc/src/featureselect.cpp``):

1. ``maxVal`` = maximum of the eigenvalues inside the mask; values not above ``(float)(maxVal ·
   qualityLevel)`` are set to 0 (``THRESH_TOZERO``);
2. candidates: pixels off the one-pixel frame, inside the mask, non-zero and equal to the 3×3 maximum;
3. sorted by value, ties by position, later raster position first (OpenCV's deterministic comparator);
4. greedy acceptance in that order of corners at least ``minDistance`` from every accepted one (distance
   checked in float32 within the neighbouring cells of a ``round(minDistance)`` grid), up to ``maxCorners``.

``tests/sc/test_corners.py`` compares the result with ``cv2.goodFeaturesToTrack``.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np
from numpy.typing import NDArray

Float32Array = NDArray[np.float32]


@numba.njit(cache=True, parallel=True)
def _masked_max(eig, mask):  # type: ignore[no-untyped-def]
    rows, cols = eig.shape
    row_max = np.zeros(rows, dtype=np.float64)
    row_any = np.zeros(rows, dtype=np.bool_)
    for y in numba.prange(rows):
        m = -np.inf
        for x in range(cols):
            if mask[y, x] and eig[y, x] > m:
                m = eig[y, x]
        row_max[y] = m
        row_any[y] = m > -np.inf
    best = 0.0
    found = False
    for y in range(rows):
        if row_any[y] and (not found or row_max[y] > best):
            best = row_max[y]
            found = True
    return best


@numba.njit(cache=True, inline="always")
def _to_zero(v, threshold):  # type: ignore[no-untyped-def]
    """``THRESH_TOZERO``: the value if above the threshold, else 0."""
    return v if v > threshold else np.float32(0.0)


@numba.njit(cache=True, parallel=True)
def _candidates(eig, mask, threshold, flags):  # type: ignore[no-untyped-def]
    """flags[y, x]: off the frame, inside the mask, thresholded value non-zero and equal to its 3×3 maximum."""
    rows, cols = eig.shape
    for y in numba.prange(rows):
        for x in range(cols):
            flags[y, x] = False
        if y < 1 or y >= rows - 1:
            continue
        for x in range(1, cols - 1):
            v = _to_zero(eig[y, x], threshold)
            if v == 0 or not mask[y, x]:
                continue
            is_max = True
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    if _to_zero(eig[y + dy, x + dx], threshold) > v:
                        is_max = False
            flags[y, x] = is_max


@numba.njit(cache=True)
def _greedy(ys, xs, rows, cols, cell, min_distance2, max_corners, keep):  # type: ignore[no-untyped-def]
    """OpenCV's grid test: accept a corner unless an accepted one lies closer than ``minDistance``."""
    grid_w = (cols + cell - 1) // cell
    grid_h = (rows + cell - 1) // cell
    n = ys.size
    # Accepted corners per cell, as a linked list (head per cell, next per corner).
    head = np.full(grid_w * grid_h, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    accepted = 0
    for i in range(n):
        y, x = ys[i], xs[i]
        xc, yc = x // cell, y // cell
        good = True
        for yy in range(max(yc - 1, 0), min(yc + 1, grid_h - 1) + 1):
            for xx in range(max(xc - 1, 0), min(xc + 1, grid_w - 1) + 1):
                k = head[yy * grid_w + xx]
                while k >= 0 and good:
                    dx = np.float32(x) - np.float32(xs[k])
                    dy = np.float32(y) - np.float32(ys[k])
                    if dx * dx + dy * dy < min_distance2:
                        good = False
                    k = nxt[k]
        if good:
            c = yc * grid_w + xc
            nxt[i] = head[c]
            head[c] = i
            keep[i] = True
            accepted += 1
            if max_corners > 0 and accepted == max_corners:
                break


class CornerFinder:
    """``cv2.goodFeaturesToTrack(image, …, mask=…)`` for several masks over one image.

    Parameters
    ----------
    image : ndarray of uint8, shape (rows, cols)
    block_size : int
        Neighbourhood of the eigenvalue computation (``blockSize``; Sobel aperture 3).
    """

    def __init__(self, image: NDArray[np.uint8], block_size: int) -> None:
        self.eigenvalues: Float32Array = cv2.cornerMinEigenVal(image, block_size, ksize=3)

    def find(
        self, mask: NDArray[np.bool_], max_corners: int, quality_level: float, min_distance: float
    ) -> Float32Array | None:
        """Corners (x, y) as float32, shape (n, 1, 2), best first; None when there is none."""
        eig = self.eigenvalues
        rows, cols = eig.shape
        m = np.ascontiguousarray(mask, dtype=bool)
        max_val = float(_masked_max(eig, m)) if m.any() else 0.0
        threshold = np.float32(max_val * quality_level)
        flags = np.empty(eig.shape, dtype=bool)
        _candidates(eig, m, threshold, flags)
        index = np.flatnonzero(flags)
        if index.size == 0:
            return None
        values = eig.ravel()[index]
        order = np.lexsort((-index, -values))  # value descending, then later position first
        index = index[order]
        ys, xs = np.divmod(index, cols)
        if min_distance >= 1:
            keep = np.zeros(index.size, dtype=bool)
            cell = int(np.floor(min_distance + 0.5))  # cvRound
            _greedy(ys, xs, rows, cols, cell, np.float32(min_distance * min_distance), max_corners, keep)
            ys, xs = ys[keep], xs[keep]
        elif max_corners > 0:
            ys, xs = ys[:max_corners], xs[:max_corners]
        return np.stack([xs, ys], axis=-1).astype(np.float32).reshape(-1, 1, 2)
