"""The per-pixel cloud-height image built from tracked B08/B8A displacements, as compiled kernels.

The displacements of the tracked corners are spread by nearest neighbour (SciPy ``cKDTree``), up-sampled
bilinearly (Sen2Cor's ``skimage.transform.resize``, i.e. ``ndimage.zoom(order=1, mode="mirror",
grid_mode=True)`` clipped to the input range), grey-dilated, Gaussian-smoothed in uint16
(``ndimage.gaussian_filter``) and converted to metres (facts §6.3).  On a 5490² tile those SciPy calls
allocate several float64 images and took most of the classification time outside the tracking itself, so
this module computes the same numbers with numba kernels that work row by row:

* the nearest-neighbour search buckets the points in a grid and settles every node whose nearest point is
  unique; nodes with two (or more) equidistant points — common, corners sit on whole pixels — are handed to
  the same ``cKDTree`` query as before, so ties are broken exactly as SciPy breaks them;
* the interpolation and the Gaussian repeat SciPy's arithmetic operation by operation (same weights,
  same summation order, float64), so the truncations to uint16 fall on the same side.

``tests/sc/test_height_field.py`` checks each kernel against the SciPy call it replaces, bit for bit.
"""

from __future__ import annotations

import math
from typing import Final

import numba
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.spatial import cKDTree

Float64Array = NDArray[np.float64]
UInt16Array = NDArray[np.uint16]

NEAREST_POINTS_PER_CELL: Final[float] = 2.0
"""Mean number of points per bucket of the nearest-neighbour grid (performance only)."""
NEAREST_MAX_RINGS: Final[int] = 24
"""Buckets rings searched around a node before it is handed to ``cKDTree`` (performance only)."""
NEAREST_TIE_TOLERANCE: Final[float] = 1e-9
"""Relative distance² margin under which two points count as equidistant and ``cKDTree`` decides."""


# --- nearest neighbour ----------------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True)
def _nearest_kernel(  # type: ignore[no-untyped-def]
    px, py, cell_start, cell_points, cell, ncy, ncx, rows, cols, max_rings, tol, out
):
    """Index of the unique nearest point of every grid node (x = column, y = row), or −1 if undecided."""
    for i in numba.prange(rows):
        qy = np.float64(i)
        ccy = min(i // cell, ncy - 1)
        for j in range(cols):
            qx = np.float64(j)
            ccx = min(j // cell, ncx - 1)
            best = np.inf
            second = np.inf
            best_k = -1
            r = 0
            while True:
                for cy in range(ccy - r, ccy + r + 1):
                    if cy < 0 or cy >= ncy:
                        continue
                    edge_row = cy == ccy - r or cy == ccy + r
                    cx = ccx - r
                    while cx <= ccx + r:
                        if 0 <= cx < ncx:
                            c = cy * ncx + cx
                            for n in range(cell_start[c], cell_start[c + 1]):
                                k = cell_points[n]
                                dx = px[k] - qx
                                dy = py[k] - qy
                                d2 = dx * dx + dy * dy
                                if d2 < best:
                                    second = best
                                    best = d2
                                    best_k = k
                                elif d2 < second:
                                    second = d2
                        cx += 1 if (edge_row or r == 0) else 2 * r
                # Points outside the rings searched so far are at least `bound` away.
                bound = np.inf
                if ccx - r - 1 >= 0:
                    bound = min(bound, qx - (ccx - r) * cell)
                if ccx + r + 1 < ncx:
                    bound = min(bound, (ccx + r + 1) * cell - qx)
                if ccy - r - 1 >= 0:
                    bound = min(bound, qy - (ccy - r) * cell)
                if ccy + r + 1 < ncy:
                    bound = min(bound, (ccy + r + 1) * cell - qy)
                if bound == np.inf or (best_k >= 0 and bound * bound > best * (1.0 + 2.0 * tol)):
                    break
                r += 1
                if r > max_rings:
                    best_k = -1
                    break
            if best_k >= 0 and second <= best * (1.0 + tol):
                best_k = -1  # a tie: cKDTree decides
            out[i, j] = best_k


def nearest_point_index(x: Float64Array, y: Float64Array, shape: tuple[int, int]) -> NDArray[np.int64]:
    """For every node (row i, column j) of a ``shape`` grid, the index of the point nearest to (x=j, y=i).

    Equal to ``cKDTree(np.column_stack([x, y])).query(nodes)[1]``, ties included.

    Parameters
    ----------
    x, y : ndarray of float64, shape (n,)
        Point coordinates in grid units (column, row); n ≥ 1.
    shape : (rows, cols)

    Returns
    -------
    ndarray of int64, shape (rows, cols)
    """
    rows, cols = shape
    n = x.size
    cell = max(1, int(math.sqrt(rows * cols * NEAREST_POINTS_PER_CELL / n)))
    ncy, ncx = -(-rows // cell), -(-cols // cell)
    cy = np.clip(np.floor(y / cell), 0, ncy - 1).astype(np.int64)
    cx = np.clip(np.floor(x / cell), 0, ncx - 1).astype(np.int64)
    key = cy * ncx + cx
    cell_points = np.argsort(key, kind="stable").astype(np.int64)
    cell_start = np.zeros(ncy * ncx + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=ncy * ncx), out=cell_start[1:])
    idx = np.empty(shape, dtype=np.int64)
    _nearest_kernel(
        x,
        y,
        cell_start,
        cell_points,
        cell,
        ncy,
        ncx,
        rows,
        cols,
        NEAREST_MAX_RINGS,
        NEAREST_TIE_TOLERANCE,
        idx,
    )
    undecided = np.flatnonzero(idx.ravel() < 0)
    if undecided.size:
        tree = cKDTree(np.column_stack([x, y]))
        gy, gx = np.divmod(undecided, cols)
        _, found = tree.query(np.column_stack([gx, gy]), workers=-1)
        idx.ravel()[undecided] = found
    return idx


# --- bilinear up-sampling ------------------------------------------------------------------------------


def _mirror_index(idx: int, length: int) -> int:
    """SciPy's integer mirror extension (``NI_ZoomShift`` edge offsets)."""
    if length <= 1:
        return 0
    s2 = 2 * length - 2
    if idx < 0:
        idx = s2 * (-idx // s2) + idx
        idx = idx + s2 if idx <= 1 - length else -idx
    elif idx >= length:
        idx -= s2 * (idx // s2)
        if idx >= length:
            idx = s2 - idx
    return idx


def _mirror_coordinate(cc: float, length: int) -> float:
    """SciPy's ``map_coordinate`` for ``mode="mirror"``."""
    if cc < 0:
        if length <= 1:
            return 0.0
        s2 = 2 * length - 2
        cc = s2 * int(-cc / s2) + cc
        return cc + s2 if cc <= 1 - length else -cc
    if cc > length - 1:
        if length <= 1:
            return 0.0
        s2 = 2 * length - 2
        cc -= s2 * int(cc / s2)
        if cc >= length:
            cc = s2 - cc
    return cc


def _linear_taps(
    n_in: int, n_out: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], Float64Array, Float64Array]:
    """Per output index: the two input indices and weights of ``zoom(order=1, mirror, grid_mode=True)``."""
    zoom = n_in / n_out
    i0 = np.empty(n_out, np.int64)
    i1 = np.empty(n_out, np.int64)
    w0 = np.empty(n_out, np.float64)
    w1 = np.empty(n_out, np.float64)
    for k in range(n_out):
        cc = _mirror_coordinate((k + 0.5) * zoom - 0.5, n_in)
        start = math.floor(cc)
        frac = cc - math.floor(cc)
        w0[k] = 1.0 - frac
        w1[k] = 1.0 - w0[k]
        i0[k] = _mirror_index(start, n_in)
        i1[k] = _mirror_index(start + 1, n_in)
    return i0, i1, w0, w1


@numba.njit(cache=True, inline="always")
def _uint16_like_numpy(v):  # type: ignore[no-untyped-def]
    """float64 → uint16 as NumPy casts on x86-64: truncate to int32, keep the low 16 bits (0 if out of range)."""
    if -2147483648.0 < v < 2147483648.0:
        return np.uint16(np.int64(v) & 0xFFFF)
    return np.uint16(0)


@numba.njit(cache=True, inline="always")
def _bilinear_at(values, a, b, u0, u1, p, q, v0, v1):  # type: ignore[no-untyped-def]
    """SciPy's order-1 spline sum: ((v·w_row)·w_col) over the taps (a,p), (a,q), (b,p), (b,q), in that order."""
    t = values[a, p] * u0 * v0
    t += values[a, q] * u0 * v1
    t += values[b, p] * u1 * v0
    t += values[b, q] * u1 * v1
    return t


@numba.njit(cache=True, parallel=True)
def _bilinear_kernel(values, r0, r1, wr0, wr1, c0, c1, wc0, wc1, lo, hi, valid, out):  # type: ignore[no-untyped-def]
    rows, cols = out.shape
    for i in numba.prange(rows):
        a, b, u0, u1 = r0[i], r1[i], wr0[i], wr1[i]
        for j in range(cols):
            if valid[i, j]:
                t = _bilinear_at(values, a, b, u0, u1, c0[j], c1[j], wc0[j], wc1[j])
                out[i, j] = _uint16_like_numpy(min(max(t, lo), hi))
            else:
                out[i, j] = 0


@numba.njit(cache=True, parallel=True)
def _bilinear_float_kernel(values, r0, r1, wr0, wr1, c0, c1, wc0, wc1, out):  # type: ignore[no-untyped-def]
    rows, cols = out.shape
    for i in numba.prange(rows):
        for j in range(cols):
            out[i, j] = _bilinear_at(values, r0[i], r1[i], wr0[i], wr1[i], c0[j], c1[j], wc0[j], wc1[j])


def _taps(values: Float64Array, shape: tuple[int, int]) -> tuple[NDArray[np.generic], ...]:
    out_shape = tuple(round(n * (s / n)) for n, s in zip(values.shape, shape))  # as ndimage.zoom
    if out_shape[0] < shape[0] or out_shape[1] < shape[1]:
        raise ValueError(f"cannot up-sample {values.shape} to {shape}")
    return _linear_taps(values.shape[0], out_shape[0]) + _linear_taps(values.shape[1], out_shape[1])


def upsample(values: Float64Array, shape: tuple[int, int]) -> Float64Array:
    """``ndimage.zoom(values, shape/values.shape, order=1, mode="mirror", grid_mode=True)`` cropped to
    ``shape`` (float64; kept for the tests of :func:`upsample_on_valid`)."""
    out = np.empty(shape, dtype=np.float64)
    _bilinear_float_kernel(np.ascontiguousarray(values, dtype=np.float64), *_taps(values, shape), out)
    return out


def upsample_on_valid(values: Float64Array, shape: tuple[int, int], valid: NDArray[np.bool_]) -> UInt16Array:
    """uint16 of the bilinear up-sampling of ``values`` to ``shape`` on ``valid`` pixels, 0 elsewhere.

    Equal to ``np.clip(ndimage.zoom(values, shape/values.shape, order=1, mode="mirror", grid_mode=True),
    values.min(), values.max())`` cast to uint16 where ``valid`` (the ``skimage`` resize Sen2Cor uses).
    """
    out = np.empty(shape, dtype=np.uint16)
    v = np.ascontiguousarray(values, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    _bilinear_kernel(v, *_taps(v, shape), lo, hi, np.ascontiguousarray(valid), out)
    return out


@numba.njit(cache=True, parallel=True)
def _cast_on_valid_kernel(values, valid, out):  # type: ignore[no-untyped-def]
    rows, cols = out.shape
    for i in numba.prange(rows):
        for j in range(cols):
            out[i, j] = _uint16_like_numpy(values[i, j]) if valid[i, j] else np.uint16(0)


def cast_on_valid(values: Float64Array, valid: NDArray[np.bool_]) -> UInt16Array:
    """``values`` cast to uint16 (NumPy semantics) on ``valid`` pixels, 0 elsewhere."""
    out = np.empty(values.shape, dtype=np.uint16)
    _cast_on_valid_kernel(np.ascontiguousarray(values), np.ascontiguousarray(valid), out)
    return out


# --- Gaussian smoothing in uint16 ---------------------------------------------------------------------


def gaussian_weights(sigma: float) -> Float64Array:
    """The correlation weights ``ndimage.gaussian_filter1d`` uses, read off its response to an impulse.

    SciPy's symmetric-kernel loop multiplies a lone 1 by each weight exactly, so the response *is* the kernel.
    """
    radius = int(4.0 * sigma + 0.5)
    impulse = np.zeros(4 * radius + 1, dtype=np.float64)
    impulse[2 * radius] = 1.0
    response = ndimage.gaussian_filter1d(impulse, sigma, mode="constant")
    w: Float64Array = np.ascontiguousarray(response[radius : 3 * radius + 1][::-1])
    return w


@numba.njit(cache=True, inline="always")
def _reflect(k, n):  # type: ignore[no-untyped-def]
    """``mode="reflect"`` index (d c b a | a b c d | d c b a), periodic for any offset."""
    if n == 1:
        return 0
    k = k % (2 * n)
    return k if k < n else 2 * n - 1 - k


@numba.njit(cache=True, inline="always")
def _floor_to_uint16(v):  # type: ignore[no-untyped-def]
    """``np.floor(v).clip(0, 65535).astype(np.uint16)``."""
    f = math.floor(v)
    return np.uint16(0 if f < 0 else min(f, 65535))


@numba.njit(cache=True, parallel=True)
def _gaussian_rows_kernel(src, w, out):  # type: ignore[no-untyped-def]
    """Smoothing along axis 0 (down the columns), SciPy's symmetric correlate1d order, then floor → uint16."""
    rows, cols = src.shape
    r = (w.size - 1) // 2
    for i in numba.prange(rows):
        acc = np.empty(cols, dtype=np.float64)
        for j in range(cols):
            acc[j] = np.float64(src[i, j]) * w[r]
        for k in range(r, 0, -1):
            above = src[_reflect(i - k, rows)]
            below = src[_reflect(i + k, rows)]
            wk = w[r - k]
            for j in range(cols):
                acc[j] += (np.float64(above[j]) + np.float64(below[j])) * wk
        for j in range(cols):
            out[i, j] = _floor_to_uint16(acc[j])


@numba.njit(cache=True, parallel=True)
def _gaussian_cols_to_metres_kernel(src, w, scale, resolution, parallax, out):  # type: ignore[no-untyped-def]
    """Smoothing along axis 1, floor → uint16, then ``(h / scale · resolution / parallax)`` cast to uint16."""
    rows, cols = src.shape
    r = (w.size - 1) // 2
    for i in numba.prange(rows):
        line = np.empty(cols + 2 * r, dtype=np.float64)
        for j in range(cols):
            line[j + r] = np.float64(src[i, j])
        for j in range(r):
            line[j] = np.float64(src[i, _reflect(j - r, cols)])
            line[cols + r + j] = np.float64(src[i, _reflect(cols + j, cols)])
        acc = np.empty(cols, dtype=np.float64)
        for j in range(cols):
            acc[j] = line[j + r] * w[r]
        for k in range(r, 0, -1):
            wk = w[r - k]
            for j in range(cols):
                acc[j] += (line[j + r - k] + line[j + r + k]) * wk
        for j in range(cols):
            h = np.float64(_floor_to_uint16(acc[j]))
            out[i, j] = _uint16_like_numpy(h / scale * resolution / parallax)


def smoothed_heights_m(
    displacement: UInt16Array, sigma: float, scale: float, resolution: int, parallax: float
) -> UInt16Array:
    """``gaussian_filter`` of a uint16 image (each pass truncated back to uint16, as SciPy does with a uint16
    array), then ``(h / scale · resolution / parallax).astype(uint16)``: displacement ×``scale`` → metres.

    Parameters
    ----------
    displacement : ndarray of uint16, shape (rows, cols)
        Scaled displacement (``scale`` · pixels).
    sigma : float
        Gaussian σ in pixels (truncated at 4σ, reflect border).
    """
    w = gaussian_weights(sigma)
    src = np.ascontiguousarray(displacement, dtype=np.uint16)
    tmp = np.empty_like(src)
    _gaussian_rows_kernel(src, w, tmp)
    out = np.empty_like(src)
    _gaussian_cols_to_metres_kernel(tmp, w, float(scale), float(resolution), float(parallax), out)
    return out
