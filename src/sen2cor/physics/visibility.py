"""Visibility ↔ AOT550 relation and Sen2Cor's 183-step "visibility index" axis.

Sen2Cor describes the aerosol amount by a *visibility* (km), a sea-level quantity: one visibility map
is valid for every ground elevation.  The aerosol optical thickness at 550 nm above a pixel at
elevation ``z`` follows Richter's least-squares fit (facts §7.4)::

    AOT550 = exp(a(z) + b(z) · ln VIS)
    a(z) = −0.026235 z² − 0.182321 z + 1.54641
    b(z) =  0.003096 z² + 0.011604 z − 0.854022          (z in km)

Internally the atmospheric correction works with a *visibility index* ``i = 0 … 182`` defined on a
regular optical-depth axis ``depth_i = 0.182 + 0.006 i`` (the last depth forced to the 5 km value),
where ``depth = AOT550(z = 0) + 0.1283`` (facts §4).  Interpolating the RT functions linearly in
depth is therefore the same as interpolating them linearly in sea-level AOT550, which is the
aerosol coordinate of every :class:`~sen2cor.physics.lut.AtmosphericLut`.

All functions accept scalars or numpy arrays and broadcast.
"""

from __future__ import annotations

from typing import Final

import numba
import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.floating]

A_COEFFS: Final[tuple[float, float, float]] = (-0.026235, -0.182321, 1.54641)
"""Coefficients (z², z, 1) of a(z) in AOT550 = exp(a + b ln VIS), z in km. Facts §7.4 (R. Richter fit)."""

B_COEFFS: Final[tuple[float, float, float]] = (0.003096, 0.011604, -0.854022)
"""Coefficients (z², z, 1) of b(z) in AOT550 = exp(a + b ln VIS), z in km. Facts §7.4."""

DEPTH_OFFSET: Final[float] = 0.1283
"""Optical depth of the visibility-index axis minus sea-level AOT550 (facts §4, "depth = AOT550 + 0.1283")."""

VIS_INDEX_COUNT: Final[int] = 183
"""Number of visibility indices i = 0 … 182 (facts §4)."""

VIS_INDEX_DEPTH0: Final[float] = 0.182
"""Optical depth of visibility index 0 (facts §4)."""

VIS_INDEX_DEPTH_STEP: Final[float] = 0.006
"""Optical-depth step between visibility indices (facts §4)."""

VIS_INDEX_LAST_DEPTH: Final[float] = 1.3116
"""Depth forced on the last index (182), ≈ 5 km visibility (facts §4)."""

STANDARD_VISIBILITIES_KM: Final[tuple[float, ...]] = (5.0, 7.0, 10.0, 15.0, 23.0, 40.0, 80.0, 120.0)
"""The 8 visibilities of Sen2Cor's libRadtran LUTs (facts §4)."""


def _poly(coeffs: tuple[float, float, float], z: FloatArray) -> FloatArray:
    return (coeffs[0] * z + coeffs[1]) * z + coeffs[2]


def aot550_from_visibility(visibility_km: ArrayLike, elevation_km: ArrayLike = 0.0) -> FloatArray:
    """AOT at 550 nm above a ground elevation for a (sea-level) visibility.

    Parameters
    ----------
    visibility_km : array_like of float
        Visibility in km (> 0), any shape.
    elevation_km : array_like of float, default 0
        Ground elevation in km, broadcast against ``visibility_km``.

    Returns
    -------
    numpy.ndarray of float64
        AOT550 (dimensionless), broadcast shape.  Facts §7.4.
    """
    z = np.asarray(elevation_km, dtype=np.float64)
    vis = np.asarray(visibility_km, dtype=np.float64)
    return np.exp(_poly(A_COEFFS, z) + _poly(B_COEFFS, z) * np.log(vis))


def visibility_from_aot550(aot550: ArrayLike, elevation_km: ArrayLike = 0.0) -> FloatArray:
    """Inverse of :func:`aot550_from_visibility`: visibility (km) from AOT550 at a ground elevation.

    Parameters
    ----------
    aot550 : array_like of float
        AOT at 550 nm above the ground (> 0), any shape.
    elevation_km : array_like of float, default 0
        Ground elevation in km, broadcast against ``aot550``.

    Returns
    -------
    numpy.ndarray of float64
        Visibility in km, broadcast shape.  Facts §7.4.
    """
    z = np.asarray(elevation_km, dtype=np.float64)
    aot = np.asarray(aot550, dtype=np.float64)
    return np.exp((np.log(aot) - _poly(A_COEFFS, z)) / _poly(B_COEFFS, z))


def sea_level_aot550(visibility_km: ArrayLike) -> FloatArray:
    """Sea-level AOT550 of a visibility: the aerosol coordinate of every LUT (facts §4, §7.4)."""
    return aot550_from_visibility(visibility_km, 0.0)


def depth_from_index(index: ArrayLike) -> FloatArray:
    """Optical depth of visibility index ``i`` (0 … 182): 0.182 + 0.006 i, last forced to 1.3116 (facts §4).

    Parameters
    ----------
    index : array_like of int or float
        Visibility index; fractional values interpolate linearly.

    Returns
    -------
    numpy.ndarray of float64
    """
    i = np.asarray(index, dtype=np.float64)
    depth = VIS_INDEX_DEPTH0 + VIS_INDEX_DEPTH_STEP * i
    return np.where(i >= VIS_INDEX_COUNT - 1, VIS_INDEX_LAST_DEPTH, depth)


def aot550_from_index(index: ArrayLike) -> FloatArray:
    """Sea-level AOT550 of visibility index ``i``: depth_i − 0.1283 ≈ 0.0537 + 0.006 i (facts §4)."""
    return depth_from_index(index) - DEPTH_OFFSET


def visibility_from_index(index: ArrayLike) -> FloatArray:
    """Visibility (km) of visibility index ``i`` (i = 0 → ≈188 km, 24 → ≈40.8 km, 100 → ≈10 km; facts §4)."""
    return visibility_from_aot550(aot550_from_index(index), 0.0)


def index_from_visibility(visibility_km: ArrayLike) -> FloatArray:
    """Fractional visibility index of a visibility (inverse of :func:`visibility_from_index`, not rounded).

    Sen2Cor converts with ``int((depth − 0.182)/0.006 + 0.5)`` (facts §7.3 item 5); apply that rounding
    and the clip to [0, 182] yourself where the integer index is needed.
    """
    depth = sea_level_aot550(visibility_km) + DEPTH_OFFSET
    return (depth - VIS_INDEX_DEPTH0) / VIS_INDEX_DEPTH_STEP


# ---------------------------------------------------------------- fast per-pixel conversions (float32)
@numba.njit(parallel=True, cache=True)
def _sl_from_vis(v, out):  # type: ignore[no-untyped-def]
    a0 = A_COEFFS[2]
    b0 = B_COEFFS[2]
    for p in numba.prange(v.size):
        out[p] = np.exp(a0 + b0 * np.log(np.float64(v[p])))


@numba.njit(parallel=True, cache=True)
def _sl_from_index(v, out):  # type: ignore[no-untyped-def]
    last = VIS_INDEX_COUNT - 1
    for p in numba.prange(v.size):
        i = np.float64(v[p])
        d = VIS_INDEX_LAST_DEPTH if i >= last else VIS_INDEX_DEPTH0 + VIS_INDEX_DEPTH_STEP * i
        out[p] = d - DEPTH_OFFSET


@numba.njit(parallel=True, cache=True)
def _sl_from_aot(aot, z, out):  # type: ignore[no-untyped-def]
    a0 = A_COEFFS[2]
    b0 = B_COEFFS[2]
    for p in numba.prange(aot.size):
        zz = np.float64(z[p])
        a = (A_COEFFS[0] * zz + A_COEFFS[1]) * zz + A_COEFFS[2]
        b = (B_COEFFS[0] * zz + B_COEFFS[1]) * zz + B_COEFFS[2]
        out[p] = np.exp(a0 + b0 * (np.log(np.float64(aot[p])) - a) / b)


def sea_level_aot550_f32(
    visibility_km: ArrayLike | None = None,
    aot550: ArrayLike | None = None,
    vis_index: ArrayLike | None = None,
    elevation_km: ArrayLike = 0.0,
) -> npt.NDArray[np.float32]:
    """Sea-level AOT550 from exactly one of visibility, AOT550 at ``elevation_km``, or visibility index.

    Parallel float32 version of :func:`sea_level_aot550` / :func:`aot550_from_index` /
    ``sea_level_aot550(visibility_from_aot550(aot, z))`` for per-pixel maps.

    Returns
    -------
    numpy.ndarray of float32
        Broadcast shape of the inputs.
    """
    if visibility_km is not None:
        v = np.asarray(visibility_km, dtype=np.float32)
        out = np.empty(v.shape, np.float32)
        _sl_from_vis(np.ascontiguousarray(v).ravel(), out.ravel())
    elif vis_index is not None:
        v = np.asarray(vis_index, dtype=np.float32)
        out = np.empty(v.shape, np.float32)
        _sl_from_index(np.ascontiguousarray(v).ravel(), out.ravel())
    elif aot550 is not None:
        a, z = np.broadcast_arrays(np.asarray(aot550, dtype=np.float32), np.asarray(elevation_km, dtype=np.float32))
        out = np.empty(a.shape, np.float32)
        _sl_from_aot(np.ascontiguousarray(a).ravel(), np.ascontiguousarray(z).ravel(), out.ravel())
    else:
        raise ValueError("give one of visibility_km, aot550 or vis_index")
    return out
