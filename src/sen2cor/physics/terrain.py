"""Terrain geometry from a DEM: slope, aspect, illumination, cast shadow and sky-view factor.

Sen2Cor step "aux preparation" (facts §5 item 3) and "terrain setup" (facts §7.1).  Everything here is a
function on arrays: elevations in metres on a north-up grid whose square pixels measure ``pixel_size``
metres, angles in degrees.  Nothing touches files; :mod:`sen2cor.io.dem` produces the DEM.

Public functions (called by the pipeline):

``slope_aspect(dem, pixel_size) -> (slope_deg, aspect_deg)``
    Horn's 3×3 gradient, as ``gdaldem slope/aspect -compute_edges`` which Sen2Cor runs.
``illumination(slope_deg, aspect_deg, sun_zenith_deg, sun_azimuth_deg) -> cos_beta``
    Cosine of the local solar incidence angle β.
``cast_shadow(dem, pixel_size, sun_zenith_deg, sun_azimuth_deg) -> bool``
    Ray casting towards the sun (self- and cast shadows), compiled with numba.
``sky_view_factor(slope_deg) -> vsky``
    Sen2Cor's isotropic sky-view factor ``(1 + cos slope) / 2``.
``shadow_byte(cos_beta, shadow) -> uint8``
    The merged "SDW" layer of Sen2Cor (GDAL hill-shade byte, 1 = shadow).
``derive_terrain(dem, pixel_size, sun_zenith_deg, sun_azimuth_deg) -> TerrainProducts``
    All of the above in one frozen bundle, with Sen2Cor's 3×3 median on the cast-shadow mask.
``binary_median(mask, size) -> bool``
    Median filter of a 0/1 mask as a majority vote (Sen2Cor's 3×3 median on the shadow mask).
``flat_terrain(shape, sun_zenith_deg) -> TerrainProducts``
    The no-DEM case of facts §7.1 (slope 0, cos β = cos SZA, Vsky = 1, no shadow).

Conventions: aspect is the azimuth (clockwise from north, 0–360°) of the steepest *downhill* direction, as
in ``gdaldem aspect``; flat cells get aspect 0 (``gdaldem -zero_for_flat``); a sun azimuth is the direction
*towards* the sun, clockwise from north (``Mean_Sun_Angle/AZIMUTH_ANGLE`` of ``MTD_TL.xml``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Final

import numba
import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import convolve

log = logging.getLogger(__name__)

SHADOW_MEDIAN_SIZE: Final[int] = 3
"""Median window (pixels) applied by Sen2Cor to the ray-cast shadow mask ("remove horizontal stripes");
facts §7.1."""

HILLSHADE_SHADOW_VALUE: Final[int] = 1
"""Byte value of a shadowed pixel in GDAL's hill-shade and in Sen2Cor's merged SDW layer (0 is no data);
facts §7.1."""

HILLSHADE_SCALE: Final[float] = 254.0
"""GDAL hill-shade byte = 1 + 254·cos β for lit pixels (``gdaldem hillshade``); facts §7.1 "≈ 255·cos β"."""

SHADOW_HEIGHT_TOLERANCE_M: Final[float] = 1.0e-3
"""A terrain sample must rise this much above the sun ray (metres) to cast a shadow: keeps planes and
float round-off from flagging themselves."""


@dataclass(frozen=True)
class TerrainProducts:
    """Terrain layers on one grid (all arrays share the DEM's shape)."""

    slope_deg: NDArray[np.float32] = field(repr=False)
    """Slope in degrees, 0–90."""
    aspect_deg: NDArray[np.float32] = field(repr=False)
    """Downhill azimuth in degrees clockwise from north, 0 where flat."""
    cos_beta: NDArray[np.float32] = field(repr=False)
    """Cosine of the local solar incidence angle, clipped to [0, 1] (0 = facing away from the sun)."""
    cast_shadow: NDArray[np.bool_] = field(repr=False)
    """True where the terrain is in (cast or self) shadow, after the 3×3 median."""
    sky_view: NDArray[np.float32] = field(repr=False)
    """Sky-view factor (1 + cos slope)/2."""
    flat: bool = False
    """True for :func:`flat_terrain` (no DEM)."""

    @property
    def shadow_byte(self) -> NDArray[np.uint8]:
        """Sen2Cor's SDW layer, see :func:`shadow_byte`."""
        return shadow_byte(self.cos_beta, self.cast_shadow)


def _check_pixel_size(pixel_size: float) -> float:
    size = float(pixel_size)
    if not math.isfinite(size) or size <= 0.0:
        raise ValueError(f"pixel_size must be a positive number of metres, got {pixel_size!r}")
    return size


def _check_sun(sun_zenith_deg: float, sun_azimuth_deg: float) -> tuple[float, float]:
    sza = float(sun_zenith_deg)
    saa = float(sun_azimuth_deg)
    if not (0.0 <= sza < 90.0):
        raise ValueError(f"sun zenith must be in [0, 90) degrees, got {sun_zenith_deg!r}")
    if not math.isfinite(saa):
        raise ValueError(f"sun azimuth must be finite, got {sun_azimuth_deg!r}")
    return sza, saa % 360.0


@numba.njit(parallel=True, cache=True)
def _horn_slope_aspect(p: NDArray, pixel_size: float) -> tuple[NDArray, NDArray]:  # pragma: no cover
    """Horn (1981) slope and downhill aspect (degrees) of the padded elevation ``p`` (one-pixel border)."""
    nrows, ncols = p.shape[0] - 2, p.shape[1] - 2
    slope = np.empty((nrows, ncols), dtype=np.float32)
    aspect = np.empty((nrows, ncols), dtype=np.float32)
    inv = 1.0 / (8.0 * pixel_size)
    rad2deg = 180.0 / math.pi
    for r in numba.prange(nrows):
        for c in range(ncols):
            a, b, cc = p[r, c], p[r, c + 1], p[r, c + 2]
            d, f = p[r + 1, c], p[r + 1, c + 2]
            g, h, i = p[r + 2, c], p[r + 2, c + 1], p[r + 2, c + 2]
            dzdx = ((cc + 2.0 * f + i) - (a + 2.0 * d + g)) * inv
            dzdy = ((a + 2.0 * b + cc) - (g + 2.0 * h + i)) * inv  # rows run southwards: north − south
            slope[r, c] = math.atan(math.sqrt(dzdx * dzdx + dzdy * dzdy)) * rad2deg
            if dzdx == 0.0 and dzdy == 0.0:
                aspect[r, c] = 0.0
            else:
                az = math.atan2(-dzdx, -dzdy) * rad2deg
                aspect[r, c] = az + 360.0 if az < 0.0 else az
    return slope, aspect


def slope_aspect(dem: NDArray, pixel_size: float) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Slope and aspect in degrees (Horn 1981, as ``gdaldem slope``/``aspect -compute_edges``).

    Edge cells use linearly extrapolated neighbours (``2·edge − interior``), so a plane has the same
    slope everywhere.

    Parameters
    ----------
    dem:
        Elevation in metres, 2-D, north up.
    pixel_size:
        Pixel size in metres (square pixels, same unit as the elevations).

    Returns
    -------
    slope_deg, aspect_deg:
        float32 arrays; aspect is the downhill azimuth clockwise from north, 0 where the slope is 0.
    """
    size = _check_pixel_size(pixel_size)
    z = np.asarray(dem, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"DEM must be a 2-D array, got shape {z.shape}")
    if z.shape[0] < 2 or z.shape[1] < 2:
        return np.zeros(z.shape, np.float32), np.zeros(z.shape, np.float32)
    # odd reflection = 2*edge - interior: the missing neighbour of an edge cell is extrapolated through it
    padded = np.pad(z, 1, mode="reflect", reflect_type="odd")
    return _horn_slope_aspect(padded, size)


def illumination(
    slope_deg: NDArray, aspect_deg: NDArray, sun_zenith_deg: float, sun_azimuth_deg: float
) -> NDArray[np.float32]:
    """Cosine of the local solar incidence angle β, clipped to [0, 1].

    ``cos β = cos θs·cos s + sin θs·sin s·cos(φs − a)`` with slope ``s``, aspect ``a``, sun zenith ``θs``
    and sun azimuth ``φs`` (facts §7.1; the quantity GDAL's hill-shade encodes).
    """
    sza, saa = _check_sun(sun_zenith_deg, sun_azimuth_deg)
    s = np.radians(np.asarray(slope_deg, dtype=np.float32))
    a = np.radians(np.asarray(aspect_deg, dtype=np.float32))
    tz, ta = math.radians(sza), math.radians(saa)
    cb = np.float32(math.cos(tz)) * np.cos(s) + np.float32(math.sin(tz)) * np.sin(s) * np.cos(
        np.float32(ta) - a
    )
    return np.clip(cb, 0.0, 1.0, out=cb).astype(np.float32, copy=False)


def sky_view_factor(slope_deg: NDArray) -> NDArray[np.float32]:
    """Isotropic sky-view factor ``Vsky = (1 + cos slope)/2`` used by Sen2Cor (facts §7.1)."""
    return ((1.0 + np.cos(np.radians(np.asarray(slope_deg, dtype=np.float32)))) / 2.0).astype(np.float32)


def shadow_byte(cos_beta: NDArray, shadow: NDArray[np.bool_] | None = None) -> NDArray[np.uint8]:
    """Sen2Cor's merged SDW layer: GDAL hill-shade byte with cast shadow set to 1 (facts §7.1).

    Lit pixels get ``round(1 + 254·cos β)``; pixels with cos β ≤ 0 or in ``shadow`` get 1.
    """
    cb = np.asarray(cos_beta, dtype=np.float64)
    out = np.where(cb > 0.0, np.rint(1.0 + HILLSHADE_SCALE * np.clip(cb, 0.0, 1.0)), HILLSHADE_SHADOW_VALUE)
    out = out.astype(np.uint8)
    if shadow is not None:
        out[np.asarray(shadow, dtype=bool)] = HILLSHADE_SHADOW_VALUE
    return out


@numba.njit(parallel=True, cache=True)
def _sweep_shadow(
    z: NDArray, step_major: int, drift: float, drop: float, tol: float
) -> NDArray:  # pragma: no cover
    """Shadow sweep along lines whose major axis is the second (column) axis of ``z``.

    Lines start on the sun-side column and move one column per step away from the sun while the row
    drifts by ``drift`` (|drift| ≤ 1).  ``env`` is the highest sun ray among the samples already passed,
    lowered by ``drop`` (= step length × tan(sun elevation)) per step; a sample below it is in shadow.
    With integer line offsets every pixel is visited by exactly one line, so lines run in parallel.
    """
    nrows, ncols = z.shape
    out = np.zeros((nrows, ncols), dtype=np.bool_)
    reach = int(math.ceil(abs(drift) * ncols)) + 1
    n_lines = nrows + 2 * reach
    c_start = 0 if step_major > 0 else ncols - 1
    for li in numba.prange(n_lines):
        r0 = float(li - reach)
        env = -np.inf
        for k in range(ncols):
            c = c_start + k * step_major
            r = r0 + k * drift
            ri = int(math.floor(r + 0.5))
            if r < -0.5 or r >= nrows - 0.5:
                # outside the grid: nothing to sample, the envelope keeps sinking
                env -= drop
                continue
            # linear interpolation across rows (clamped at the grid border)
            rf = min(max(r, 0.0), nrows - 1.0)
            r_lo = int(math.floor(rf))
            r_hi = min(r_lo + 1, nrows - 1)
            w = rf - r_lo
            h = z[r_lo, c] * (1.0 - w) + z[r_hi, c] * w
            if env > h + tol:
                out[ri, c] = True
            if h > env:
                env = h
            env -= drop
    return out


def cast_shadow(
    dem: NDArray, pixel_size: float, sun_zenith_deg: float, sun_azimuth_deg: float
) -> NDArray[np.bool_]:
    """Terrain shadow by ray casting towards the sun (cast and self shadow).

    A pixel is shadowed when some terrain between it and the sun rises above the ray from the pixel
    to the sun, i.e. ``h(P + d·u) > h(P) + d·tan(90° − θs)`` for a distance ``d > 0`` along the sun
    azimuth ``u``.  Implemented as one sweep per grid line parallel to the sun azimuth (O(N) for N
    pixels) with linear interpolation across lines; the Sen2Cor step is facts §7.1 (its Cython
    ``project_shadows`` on the unclipped mean sun zenith and mean sun azimuth).

    Parameters
    ----------
    dem:
        Elevation in metres, 2-D, north up.
    pixel_size:
        Pixel size in metres.
    sun_zenith_deg, sun_azimuth_deg:
        Sun position; the zenith must be in [0, 90).

    Returns
    -------
    numpy.ndarray of bool
        True in shadow.  Pixels on the sun-side border are never shadowed (no terrain known beyond).
    """
    size = _check_pixel_size(pixel_size)
    sza, saa = _check_sun(sun_zenith_deg, sun_azimuth_deg)
    z = np.ascontiguousarray(dem, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"DEM must be a 2-D array, got shape {z.shape}")
    if sza == 0.0 or z.size == 0:
        return np.zeros(z.shape, dtype=bool)
    tan_elev = 1.0 / math.tan(math.radians(sza))
    phi = math.radians(saa)
    # direction away from the sun, in (row, col) index units: east = +col, north = -row
    d_col, d_row = -math.sin(phi), math.cos(phi)
    if abs(d_col) >= abs(d_row):
        step = 1 if d_col > 0 else -1
        drift = d_row / abs(d_col)
        drop = size * math.sqrt(1.0 + drift * drift) * tan_elev
        return _sweep_shadow(z, step, drift, drop, SHADOW_HEIGHT_TOLERANCE_M)
    step = 1 if d_row > 0 else -1
    drift = d_col / abs(d_row)
    drop = size * math.sqrt(1.0 + drift * drift) * tan_elev
    zt = np.ascontiguousarray(z.T)
    return np.ascontiguousarray(_sweep_shadow(zt, step, drift, drop, SHADOW_HEIGHT_TOLERANCE_M).T)


def binary_median(mask: NDArray[np.bool_], size: int) -> NDArray[np.bool_]:
    """Median filter of a boolean mask in a ``size``×``size`` window (odd), borders replicated.

    For 0/1 data the median is a majority vote, computed here as a box count (much faster than a
    general median filter on a full tile).
    """
    if size % 2 != 1 or size < 1:
        raise ValueError(f"median window must be a positive odd number, got {size}")
    counts = convolve(np.asarray(mask, dtype=np.int32), np.ones((size, size), dtype=np.int32), mode="nearest")
    return counts > (size * size) // 2


def derive_terrain(
    dem: NDArray,
    pixel_size: float,
    sun_zenith_deg: float,
    sun_azimuth_deg: float,
    *,
    shadow_median: int = SHADOW_MEDIAN_SIZE,
) -> TerrainProducts:
    """All terrain layers of facts §7.1 for one DEM.

    Parameters
    ----------
    dem, pixel_size:
        Elevation (metres) and its pixel size (metres).
    sun_zenith_deg, sun_azimuth_deg:
        The *unclipped* mean sun zenith and the mean sun azimuth of the tile (Sen2Cor uses the unclipped
        zenith for shadows even where the AC clips it to 70°).
    shadow_median:
        Median window applied to the cast-shadow mask (Sen2Cor: 3; 0 or 1 disables it).  Sen2Cor computes
        the shadow of a 10 m run on the 20 m DEM; the pipeline does that by calling this function at 20 m.
    """
    slope, aspect = slope_aspect(dem, pixel_size)
    shadow = cast_shadow(dem, pixel_size, sun_zenith_deg, sun_azimuth_deg)
    if shadow_median and shadow_median > 1:
        shadow = binary_median(shadow, shadow_median)
    return TerrainProducts(
        slope_deg=slope,
        aspect_deg=aspect,
        cos_beta=illumination(slope, aspect, sun_zenith_deg, sun_azimuth_deg),
        cast_shadow=shadow,
        sky_view=sky_view_factor(slope),
    )


def flat_terrain(shape: tuple[int, int], sun_zenith_deg: float) -> TerrainProducts:
    """Terrain layers without a DEM (facts §7.1): slope 0, cos β = cos θs, Vsky = 1, no shadow."""
    sza, _ = _check_sun(sun_zenith_deg, 0.0)
    zeros = np.zeros(shape, dtype=np.float32)
    return TerrainProducts(
        slope_deg=zeros,
        aspect_deg=zeros.copy(),
        cos_beta=np.full(shape, math.cos(math.radians(sza)), dtype=np.float32),
        cast_shadow=np.zeros(shape, dtype=bool),
        sky_view=np.ones(shape, dtype=np.float32),
        flat=True,
    )
