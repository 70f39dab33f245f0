"""Multilinear interpolation on rectilinear grids (the numerical core of the LUT interface).

Two operations:

* :func:`collapse_axis` interpolates a table linearly along one axis at a single coordinate (numpy;
  used for inputs that are scalars, e.g. the tile-mean view zenith, so the per-pixel kernel works on
  fewer dimensions);
* :func:`interpolate_points` evaluates a ``D``-dimensional table with ``Q`` values per node at ``N``
  points (numba, parallel over chunks of points): 2^D-vertex multilinear interpolation, inputs clamped
  to the grid range (no extrapolation), as Sen2Cor's 32-vertex hypercube interpolation (facts §4).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

_CHUNK = 16384


def collapse_axis(
    table: npt.NDArray[np.float32], axis: int, grid: npt.NDArray[np.float64], x: float
) -> npt.NDArray[np.float32]:
    """Linearly interpolate ``table`` along ``axis`` at the scalar ``x`` (clamped to the grid).

    Parameters
    ----------
    table : numpy.ndarray of float32
        Any shape; ``table.shape[axis] == grid.size``.
    axis : int
        Axis to remove.
    grid : numpy.ndarray of float64, shape (n,)
        Strictly increasing node coordinates of ``axis``.
    x : float
        Coordinate.

    Returns
    -------
    numpy.ndarray of float32
        ``table`` without ``axis``.
    """
    n = grid.size
    if n == 1:
        return np.take(table, 0, axis=axis)
    xc = min(max(float(x), float(grid[0])), float(grid[-1]))
    j = int(np.searchsorted(grid, xc, side="right")) - 1
    j = min(max(j, 0), n - 2)
    t = (xc - grid[j]) / (grid[j + 1] - grid[j])
    lo = np.take(table, j, axis=axis).astype(np.float64)
    hi = np.take(table, j + 1, axis=axis).astype(np.float64)
    return ((1.0 - t) * lo + t * hi).astype(np.float32)


@numba.njit(inline="always", cache=True)
def _locate(g, n, x):  # type: ignore[no-untyped-def]
    """Cell index j (0 … n-2) and fraction t of x on the increasing grid g[:n], clamped."""
    if x <= g[0]:
        return 0, 0.0
    if x >= g[n - 1]:
        return n - 2, 1.0
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if g[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo, (x - g[lo]) / (g[lo + 1] - g[lo])


@numba.njit(parallel=True, cache=True)
def _kernel1(table, g0, x0, out):  # type: ignore[no-untyped-def]
    n0 = g0.size
    nq = table.shape[1]
    for p in numba.prange(x0.size):
        i, t = _locate(g0, n0, np.float64(x0[p]))
        for q in range(nq):
            out[q, p] = (1.0 - t) * table[i, q] + t * table[i + 1, q]


@numba.njit(parallel=True, cache=True)
def _kernel2(table, g0, g1, x0, x1, out):  # type: ignore[no-untyped-def]
    n0 = g0.size
    n1 = g1.size
    nq = table.shape[2]
    for p in numba.prange(x0.size):
        i, t = _locate(g0, n0, np.float64(x0[p]))
        j, u = _locate(g1, n1, np.float64(x1[p]))
        a = (1.0 - t) * (1.0 - u)
        b = (1.0 - t) * u
        c = t * (1.0 - u)
        d = t * u
        for q in range(nq):
            out[q, p] = a * table[i, j, q] + b * table[i, j + 1, q] + c * table[i + 1, j, q] + d * table[i + 1, j + 1, q]


@numba.njit(parallel=True, cache=True)
def _kernel_nd(table, grids, grid_len, coords, out):  # type: ignore[no-untyped-def]
    ndim = grid_len.size
    npts = out.shape[1]
    nq = table.shape[1]
    strides = np.empty(ndim, np.int64)
    s = 1
    for k in range(ndim - 1, -1, -1):
        strides[k] = s
        s *= grid_len[k]
    ncorner = 1 << ndim
    nchunk = (npts + _CHUNK - 1) // _CHUNK
    for c in numba.prange(nchunk):
        i0 = np.empty(ndim, np.int64)
        w = np.empty(ndim, np.float64)
        acc = np.empty(nq, np.float64)
        stop = min(npts, (c + 1) * _CHUNK)
        for p in range(c * _CHUNK, stop):
            for k in range(ndim):
                j, t = _locate(grids[k], grid_len[k], np.float64(coords[k][p]))
                i0[k] = j
                w[k] = t
            for q in range(nq):
                acc[q] = 0.0
            for corner in range(ncorner):
                off = 0
                wt = 1.0
                for k in range(ndim):
                    if (corner >> k) & 1:
                        wt *= w[k]
                        off += (i0[k] + 1) * strides[k]
                    else:
                        wt *= 1.0 - w[k]
                        off += i0[k] * strides[k]
                if wt != 0.0:
                    for q in range(nq):
                        acc[q] += wt * table[off, q]
            for q in range(nq):
                out[q, p] = acc[q]


def interpolate_points(
    table: npt.NDArray[np.float32],
    grids: tuple[npt.NDArray[np.float64], ...],
    coords: tuple[npt.NDArray[np.floating], ...],
    out: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    """Multilinear interpolation of a gridded table at scattered points.

    Parameters
    ----------
    table : numpy.ndarray of float32, shape (n_1, …, n_D, Q)
        Node values; the last axis holds ``Q`` quantities interpolated together.
    grids : tuple of D numpy.ndarray of float64
        Strictly increasing coordinates of each axis (each with at least 2 nodes).
    coords : tuple of D numpy.ndarray, each shape (N,), float32 or float64 (all the same dtype)
        Point coordinates per axis; clamped to the grid range.
    out : numpy.ndarray of float32, shape (Q, N), optional
        C-contiguous array to write into.

    Returns
    -------
    numpy.ndarray of float32, shape (Q, N)
    """
    ndim = len(grids)
    if ndim == 0:
        raise ValueError("interpolate_points needs at least one axis; use the table values directly")
    if table.ndim != ndim + 1 or len(coords) != ndim:
        raise ValueError(f"table of shape {table.shape} does not match {ndim} grids / {len(coords)} coordinates")
    lens = np.array([g.size for g in grids], dtype=np.int64)
    if np.any(lens < 2) or tuple(lens) != table.shape[:-1]:
        raise ValueError(f"grid lengths {tuple(lens)} must be >= 2 and match the table shape {table.shape}")
    grids = tuple(np.ascontiguousarray(g, dtype=np.float64) for g in grids)
    padded = np.full((ndim, int(lens.max())), np.inf)
    for k, g in enumerate(grids):
        padded[k, : g.size] = g
    dtype = np.result_type(*[c.dtype for c in coords])
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    cs = tuple(np.ascontiguousarray(c, dtype=dtype).ravel() for c in coords)
    npts = cs[0].size
    if out is None:
        out = np.empty((table.shape[-1], npts), dtype=np.float32)
    elif out.shape != (table.shape[-1], npts) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous float32 of shape {(table.shape[-1], npts)}")
    tab = np.ascontiguousarray(table, dtype=np.float32)
    if ndim == 1:
        _kernel1(tab, grids[0], cs[0], out)
    elif ndim == 2:
        _kernel2(tab, grids[0], grids[1], cs[0], cs[1], out)
    else:
        _kernel_nd(tab.reshape(-1, table.shape[-1]), padded, lens, cs, out)
    return out
