"""CAMS aerosol fallback: AOD550 on the L1C ``AUX_CAMS*`` grid → per-pixel visibility index (facts §7.4).

The L1C carries a coarse (e.g. 9 × 9) grid of total AOD550 and surface geopotential Φ.  Per grid node the
visibility is VIS = exp((ln AOD550 − a(z))/b(z)) with z = Φ/g/1000 km (R. Richter's fit, facts §7.4),
clipped to [0, 650] km and kept with 0.01 km resolution; the grid is interpolated to the tile with a cubic
spline and every pixel gets the visibility index whose bin contains its visibility.  This module takes
arrays only: the GRIB reading is :mod:`sen2cor.io.aux`'s job.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import interpolate

from sen2cor.ac.constants import CAMS_MAX_VISIBILITY_KM, STANDARD_GRAVITY
from sen2cor.ac.rt import index_of_visibility
from sen2cor.physics import visibility as vis_mod

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

VISIBILITY_QUANTUM_KM = 0.01
"""CAMS visibility is stored ×100 as uint16 (facts §7.4)."""


def geopotential_to_km(geopotential: npt.ArrayLike) -> F64:
    """Surface height (km) from geopotential (m² s⁻²): z = Φ/9.80665/1000 (facts §7.4)."""
    return np.asarray(geopotential, dtype=np.float64) / STANDARD_GRAVITY / 1000.0


def cams_visibility_km(aod550: npt.ArrayLike, height_km: npt.ArrayLike) -> F64:
    """Visibility (km) of AOD550 at a surface height (facts §7.4), clipped to [0, 650], 0.01 km steps.

    Parameters
    ----------
    aod550 : array_like of float
        Total aerosol optical depth at 550 nm (> 0).
    height_km : array_like of float
        Surface height (km), broadcast against ``aod550``.

    Returns
    -------
    numpy.ndarray of float64
    """
    aod = np.maximum(np.asarray(aod550, dtype=np.float64), 1e-6)
    z = np.maximum(np.asarray(height_km, dtype=np.float64), 0.0)
    vis = vis_mod.visibility_from_aot550(aod, z)
    vis = np.clip(vis, 0.0, CAMS_MAX_VISIBILITY_KM)
    return np.floor(vis / VISIBILITY_QUANTUM_KM + 0.5) * VISIBILITY_QUANTUM_KM


def grid_to_pixels(values: npt.ArrayLike, grid_lat: npt.ArrayLike, grid_lon: npt.ArrayLike,
                   pixel_lat: npt.ArrayLike, pixel_lon: npt.ArrayLike) -> F64:
    """Cubic-spline interpolation of a regular lat/lon grid to pixel coordinates (linear for < 4 nodes).

    Parameters
    ----------
    values : array_like, shape (n_lat, n_lon)
    grid_lat, grid_lon : array_like, shapes (n_lat,), (n_lon,)
        Grid axes (any monotonic order).
    pixel_lat, pixel_lon : array_like, same shape
        Pixel coordinates (degrees).

    Returns
    -------
    numpy.ndarray of float64, pixel shape; clamped to the grid's value range.
    """
    v = np.asarray(values, dtype=np.float64)
    lat = np.asarray(grid_lat, dtype=np.float64)
    lon = np.asarray(grid_lon, dtype=np.float64)
    if lat[0] > lat[-1]:
        lat, v = lat[::-1], v[::-1]
    if lon[0] > lon[-1]:
        lon, v = lon[::-1], v[:, ::-1]
    kx = min(3, lat.size - 1)
    ky = min(3, lon.size - 1)
    if kx < 1 or ky < 1:
        return np.full(np.shape(pixel_lat), float(v.mean()))
    spline = interpolate.RectBivariateSpline(lat, lon, v, kx=kx, ky=ky)
    plat = np.clip(np.asarray(pixel_lat, dtype=np.float64), lat[0], lat[-1])
    plon = np.clip(np.asarray(pixel_lon, dtype=np.float64), lon[0], lon[-1])
    out = spline.ev(plat.ravel(), plon.ravel()).reshape(plat.shape)
    return np.clip(out, v.min(), v.max())


def visibility_index_map(aod550: npt.ArrayLike, geopotential: npt.ArrayLike, grid_lat: npt.ArrayLike,
                         grid_lon: npt.ArrayLike, pixel_lat: npt.ArrayLike, pixel_lon: npt.ArrayLike
                         ) -> npt.NDArray[np.uint8]:
    """Per-pixel visibility index from the CAMS AOD550 / geopotential grids (facts §7.4).

    The visibility is computed on the grid, spline-interpolated to the pixels, then binned into the
    183 visibility indices.

    Returns
    -------
    numpy.ndarray of uint8, pixel shape.
    """
    vis_grid = cams_visibility_km(aod550, geopotential_to_km(geopotential))
    vis = grid_to_pixels(vis_grid, grid_lat, grid_lon, pixel_lat, pixel_lon)
    return index_of_visibility(vis).astype(np.uint8)


def visibility_index_from_aod(aod550: npt.ArrayLike, height_km: npt.ArrayLike = 0.0) -> npt.NDArray[np.uint8]:
    """Visibility index of per-pixel AOD550 values already on the tile grid (facts §7.4)."""
    return index_of_visibility(cams_visibility_km(aod550, height_km)).astype(np.uint8)
