"""Sun and viewing geometry on the tile's pixel grid, from the 5 km angle grids of ``MTD_TL.xml``.

Angle grids have their node (0, 0) on the tile's upper-left corner and a 5000 m step; values are
interpolated bilinearly to pixel centres.  NaN nodes (outside a detector footprint) are filled from their
nearest valid neighbour first, and zero sun-zenith nodes are replaced by the grid minimum as Sen2Cor does
(facts §5 "Angles").  Azimuths are interpolated as unit vectors so that 359° and 1° do not average to 180°.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sen2cor.errors import ProcessingError
from sen2cor.grid import TileGrid
from sen2cor.io.l1c_model import AngleGrid
from sen2cor.physics.toa_image import LazyImage

MAX_SUN_ZENITH_AC_DEG = 70.0
"""Sun zenith is clipped to 70° for the atmospheric correction (facts §3, §5 "Angles")."""


def _fill_nan(values: NDArray[np.float32]) -> NDArray[np.float32]:
    """Replace NaN nodes by their nearest valid node."""
    nan = np.isnan(values)
    if not nan.any():
        return values
    if nan.all():
        raise ProcessingError("angle grid holds only NaN values; the tile metadata are unusable")
    idx = ndimage.distance_transform_edt(nan, return_distances=False, return_indices=True)
    return values[tuple(idx)]


def _weights(n_pixels: int, pixel_m: float, step_m: float, n_nodes: int, offset_px: int = 0) -> NDArray[np.float32]:
    """``(n_pixels, n_nodes)`` linear-interpolation weights of pixel centres on the node axis."""
    pos = ((np.arange(n_pixels) + offset_px + 0.5) * pixel_m) / step_m
    pos = np.clip(pos, 0.0, n_nodes - 1.0)
    i0 = np.minimum(np.floor(pos).astype(int), n_nodes - 2) if n_nodes > 1 else np.zeros(n_pixels, int)
    frac = (pos - i0).astype(np.float32)
    w = np.zeros((n_pixels, n_nodes), dtype=np.float32)
    rows = np.arange(n_pixels)
    if n_nodes == 1:
        w[:, 0] = 1.0
        return w
    w[rows, i0] = 1.0 - frac
    w[rows, i0 + 1] = frac
    return w


def grid_to_pixels(
    values: NDArray[np.float32],
    step_m: tuple[float, float],
    pixel_m: float,
    shape: tuple[int, int],
    offset_px: tuple[int, int] = (0, 0),
) -> NDArray[np.float32]:
    """Bilinear interpolation of a node grid to the centres of ``shape`` pixels of size ``pixel_m``.

    Parameters
    ----------
    values:
        ``(rows, cols)`` node values without NaN.
    step_m:
        ``(row_step, col_step)`` in metres.
    offset_px:
        ``(row, col)`` of the first output pixel in the tile (for windows).

    Returns
    -------
    float32 array of ``shape``. Computed as two small matrix products (fast for a 10980² tile).
    """
    wr = _weights(shape[0], pixel_m, step_m[0], values.shape[0], offset_px[0])
    wc = _weights(shape[1], pixel_m, step_m[1], values.shape[1], offset_px[1])
    return (wr @ values.astype(np.float32)) @ wc.T


def _zenith_nodes(grid: AngleGrid, sun: bool) -> NDArray[np.float32]:
    zen = grid.zenith.astype(np.float32).copy()
    if sun:
        positive = zen[(zen > 0) & ~np.isnan(zen)]
        if positive.size:
            zen[zen == 0] = positive.min()
    zen = _fill_nan(zen)
    if sun and float(np.nanmax(zen)) >= 90.0:
        raise ProcessingError(f"sun zenith up to {float(np.nanmax(zen)):.1f}° in MTD_TL.xml: sun below the horizon")
    return zen


def _extent(tile: TileGrid, resolution: int, window: tuple[int, int, int, int] | None
            ) -> tuple[tuple[int, int], tuple[int, int]]:
    shape = tile.shape(resolution) if window is None else (window[2], window[3])
    offset = (0, 0) if window is None else (window[0], window[1])
    return shape, offset


def zenith_at(
    grid: AngleGrid, tile: TileGrid, resolution: int, *, sun: bool = False,
    window: tuple[int, int, int, int] | None = None,
) -> NDArray[np.float32]:
    """The zenith of :func:`zenith_azimuth_at` alone."""
    shape, offset = _extent(tile, resolution, window)
    z = grid_to_pixels(_zenith_nodes(grid, sun), (grid.row_step_m, grid.col_step_m), resolution, shape, offset)
    return z.astype(np.float32, copy=False)


def zenith_azimuth_at(
    grid: AngleGrid, tile: TileGrid, resolution: int, *, sun: bool = False,
    window: tuple[int, int, int, int] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Per-pixel ``(zenith, azimuth)`` in degrees at ``resolution`` for the whole tile.

    ``window`` = ``(row, col, nrows, ncols)`` in pixels of ``resolution`` from the tile corner restricts the
    result to that window (same values as cropping the whole-tile result).
    """
    return (zenith_at(grid, tile, resolution, sun=sun, window=window),
            azimuth_at(grid, tile, resolution, window=window))


def azimuth_at(
    grid: AngleGrid, tile: TileGrid, resolution: int, *, window: tuple[int, int, int, int] | None = None,
) -> NDArray[np.float32]:
    """The azimuth of :func:`zenith_azimuth_at` alone (interpolated as a unit vector)."""
    shape, offset = _extent(tile, resolution, window)
    step = (grid.row_step_m, grid.col_step_m)
    rad = np.deg2rad(_fill_nan(grid.azimuth.astype(np.float32)))
    s = grid_to_pixels(np.sin(rad), step, resolution, shape, offset)
    c = grid_to_pixels(np.cos(rad), step, resolution, shape, offset)
    return degrees_0_360(np.arctan2(s, c, out=s))


def degrees_0_360(radians: NDArray[np.float32]) -> NDArray[np.float32]:
    """``radians`` (−π…π, float32) as degrees in [0, 360), in place: the values of ``np.rad2deg(a) % 360``
    (−0 becomes −0, not +0), without the floor division of ``%`` (a third of a 10 m tile's azimuth time)."""
    deg = np.rad2deg(radians, out=radians)
    np.add(deg, np.float32(360.0), out=deg, where=deg < 0)
    return deg


def _at_least_two(start: int, n: int, size: int) -> tuple[int, int]:
    """``(start, n)`` of a span grown to 2 pixels where the image allows (1-pixel spans only)."""
    if n >= 2 or size < 2:
        return start, n
    start = min(start, size - 2)
    return start, 2


class AngleImage(LazyImage):
    """Per-pixel zenith or azimuth of an angle grid, interpolated only for the part that is asked for.

    ``img[rows, cols]`` (slices with step 1) interpolates that window alone; other indices interpolate the
    whole image first.  A full 20 m tile of sun zenith and azimuth is 0.24 GB that a run would otherwise
    hold from start to end while it needs the angles per cell, or once (cos SZA of flat terrain).

    Parameters
    ----------
    grid:
        The angle grid (``MTD_TL.xml``).
    tile:
        The tile grid giving the image size at ``resolution``.
    which:
        ``"zenith"`` or ``"azimuth"``.
    sun:
        Sun grid (zero-zenith nodes replaced as :func:`zenith_at` does).
    window:
        ``(row, col, nrows, ncols)`` of the image in tile pixels (a region of interest), else the tile.
    """

    __slots__ = ("_grid", "_offset", "_resolution", "_shape", "_sun", "_tile", "_which")

    def __init__(self, grid: AngleGrid, tile: TileGrid, resolution: int, which: Literal["zenith", "azimuth"], *,
                 sun: bool = False, window: tuple[int, int, int, int] | None = None) -> None:
        self._grid, self._tile, self._resolution, self._which, self._sun = grid, tile, resolution, which, sun
        self._shape, self._offset = _extent(tile, resolution, window)

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape

    def _window(self, r0: int, c0: int, nr: int, nc: int) -> NDArray[np.float32]:
        # At least 2 × 2 pixels (within the image): a single row or column would make the interpolation's
        # matrix products matrix-vector products, whose float32 sums may differ in the last bit.
        (r0e, nre), (c0e, nce) = (_at_least_two(o, n, size) for o, n, size in ((r0, nr, self._shape[0]),
                                                                                (c0, nc, self._shape[1])))
        win = (self._offset[0] + r0e, self._offset[1] + c0e, nre, nce)
        if self._which == "zenith":
            out = zenith_at(self._grid, self._tile, self._resolution, sun=self._sun, window=win)
        else:
            out = azimuth_at(self._grid, self._tile, self._resolution, window=win)
        return out[r0 - r0e:r0 - r0e + nr, c0 - c0e:c0 - c0e + nc]

    def _part(self, key: Any) -> NDArray[np.float32]:
        k = key if isinstance(key, tuple) else (key,)
        if len(k) <= 2 and all(isinstance(s, slice) for s in k):
            spans = [s.indices(n) for s, n in zip(k + (slice(None),) * (2 - len(k)), self._shape)]
            if all(step == 1 for _, _, step in spans):
                (r0, r1, _), (c0, c1, _) = spans
                return self._window(r0, c0, max(r1 - r0, 0), max(c1 - c0, 0))
        return self._window(0, 0, *self._shape)[key]


def relative_azimuth(sun_azimuth: NDArray[np.float32] | float, view_azimuth: NDArray[np.float32] | float
                     ) -> NDArray[np.float32]:
    """|SAA − VAA| folded to 0…180° (facts §4 "Interpolation")."""
    d = np.abs(np.asarray(sun_azimuth, dtype=np.float32) - np.float32(view_azimuth)) % 360.0
    return np.where(d > 180.0, 360.0 - d, d).astype(np.float32)
