"""Dark-dense-vegetation (DDV) reference pixels and their per-pixel visibility (Sen2Cor AC; facts §7.3 items 1–6).

* :func:`select_ddv` finds DDV pixels from the B12 / B8A surface reflectance at 23 km visibility, the TOA
  red and NDVI, the scene classification and the distance to clouds, relaxing the B12 threshold
  0.05 → 0.10 → 0.12 until more than AC_Min_Ddv_Area % of the valid land pixels qualify;
* :func:`red_reflectance_at_standard_visibilities` computes each DDV pixel's red surface reflectance for
  the 8 LUT visibilities (rugged-terrain equation plus a half-weight adjacency term);
* :func:`invert_visibility_index` interpolates, in optical depth, the visibility at which that reflectance
  equals the reference ρ_red = 0.5·ρ(B12), as an integer visibility index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from sen2cor.ac.constants import (
    CLEAR_CLASSES,
    CLOUD_CLASSES_AC,
    COS_BETA_SCALE,
    DDV_ADJACENCY_WEIGHT,
    DDV_CLOUD_DISTANCE_LEVEL,
    DDV_CLOUD_DISTANCE_M,
    DDV_MAX_SOLAR_ZENITH_DEG,
    DDV_MAX_WATER_FRACTION,
    DDV_NIR_SURFACE_MAX,
    MAX_VISIBILITY_KM,
)
from sen2cor.ac.filters import box_mean
from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.rt import N_VIS_INDEX, RtTable
from sen2cor.physics import visibility as vis_mod
from sen2cor.physics.toa_image import LazyImage
from sen2cor.sc.classes import SceneClass, class_mask
from sen2cor.sc.strips import for_each_strip, strip_slices

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]

DDV_STRIP_ROWS: Final[int] = 256
"""Rows per strip of the DDV selection (memory only: the result does not depend on it)."""

UNASSIGNED = 255
"""Marker of DDV pixels the inversion could not place (then given the mean index)."""


@dataclass(frozen=True)
class DdvSelection:
    """DDV reference pixels of a tile.

    Attributes
    ----------
    mask : numpy.ndarray of bool, tile shape
        DDV pixels.
    red_reference : numpy.ndarray of float32, shape (n_ddv,)
        Reference red surface reflectance ρ_red = ratio·ρ(B12) of the DDV pixels in ``np.flatnonzero(mask)``
        order.
    b12_threshold : float
        Upper B12 surface reflectance threshold that gave enough pixels (0 when none did).
    percentage : float
        DDV pixels in % of the valid (non-water) pixels, as Sen2Cor reports it.
    reflectance_range : float
        Sen2Cor's DDV_REFLECTANCE_RANGE quality value (0 when the first threshold sufficed).
    """

    mask: Mask
    red_reference: F32
    b12_threshold: float
    percentage: float
    reflectance_range: float

    @property
    def count(self) -> int:
        return int(self.red_reference.size)


def odd(n: int) -> int:
    """``n`` made odd by adding one (Sen2Cor's filter-size rule)."""
    return n + 1 if n % 2 == 0 else n


def surface_reflectance_flat(radiance: F32, lp: F32, e0t: F32, edift: F32, cos_sza: float) -> F32:
    """ρ = π(L − Lp)/(E0t·cos SZA + Edift): the flat-terrain estimate of the DDV masking (facts §7.3 item 1)."""
    return (np.float32(np.pi) * (radiance - lp) / (e0t * np.float32(cos_sza) + edift)).astype(np.float32)


class FlatReflectanceImage(LazyImage):
    """:func:`surface_reflectance_flat` of a (lazy) radiance image, computed for the part asked for.

    ``lp``, ``e0t`` and ``edift`` are table values per elevation class, looked up with the pixels'
    ``elevation_class`` (tile shape; a broadcast on flat terrain) for the part only.
    """

    __slots__ = ("cos_sza", "e0t", "edift", "elevation_class", "lp", "radiance")

    def __init__(self, radiance: LazyImage | F32, lp: F32, e0t: F32, edift: F32,
                 elevation_class: npt.NDArray[np.integer], cos_sza: float) -> None:
        self.radiance, self.lp, self.e0t, self.edift = radiance, lp, e0t, edift
        self.elevation_class, self.cos_sza = elevation_class, cos_sza

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.radiance.shape)

    def _part(self, key: Any) -> F32:
        ecl = self.elevation_class[key]
        return surface_reflectance_flat(np.asarray(self.radiance[key]), self.lp[ecl], self.e0t[ecl],
                                        self.edift[ecl], self.cos_sza)


def cloud_proximity(scl: npt.NDArray[np.uint8], resolution: int) -> Mask:
    """Pixels within ≈500 m of AC clouds (SCL 7–10): box mean of a 0/255 cloud mask over 1 km > 5 (facts §7.3)."""
    clouds = class_mask(scl, CLOUD_CLASSES_AC)
    if not clouds.any():
        return np.zeros(scl.shape, bool)
    nf = min(int(DDV_CLOUD_DISTANCE_M / resolution), 500)
    nf = odd(int(min(nf, scl.shape[0] / 2, scl.shape[1] / 2)))
    # ndimage.uniform_filter(…, mode="nearest") bit for bit, on numba's threads (3× faster on a 20 m tile)
    box = box_mean(clouds.astype(np.float32) * np.float32(255.0), nf)
    return box > DDV_CLOUD_DISTANCE_LEVEL


def select_ddv(
    toa_red: F32,
    toa_nir: F32,
    rho_b12: F32,
    rho_b8a: F32,
    scl: npt.NDArray[np.uint8],
    mean_sza_deg: float,
    params: AcParameters,
    resolution: int,
    *,
    cirrus_correction: bool = False,
) -> DdvSelection:
    """Select DDV pixels (facts §7.3 items 2–4).

    Parameters
    ----------
    toa_red, toa_nir : numpy.ndarray of float32 or LazyImage, tile shape
        TOA reflectance of B04 and B8A.
    rho_b12, rho_b8a : numpy.ndarray of float32 or LazyImage, tile shape
        Surface reflectance of B12 and B8A at 23 km visibility (:func:`surface_reflectance_flat`,
        :class:`FlatReflectanceImage`).  The selection runs by row strips, so lazy images are converted
        strip by strip.
    scl : numpy.ndarray of uint8
        Scene classification.
    mean_sza_deg : float
        Tile-mean solar zenith (unclipped is fine; DDV needs < 75°).
    params : AcParameters
    resolution : int
        Pixel size (m).
    cirrus_correction : bool
        Exclude thin-cirrus pixels (SCL 10) as Sen2Cor does with cirrus correction on.

    Returns
    -------
    DdvSelection
    """
    shape = scl.shape
    near_clouds = cloud_proximity(scl, resolution)
    sun_ok = bool(np.cos(np.deg2rad(mean_sza_deg)) * COS_BETA_SCALE > np.fix(
        np.cos(np.deg2rad(DDV_MAX_SOLAR_ZENITH_DEG)) * COS_BETA_SCALE))
    b12 = np.empty(shape, np.float32)
    base = np.empty(shape, bool)
    counts = np.zeros((len(strip_slices(shape[0], DDV_STRIP_ROWS)), 2), np.int64)  # valid, water per strip

    def strip(rows: slice) -> None:
        # pixel by pixel, so by row strips: only the strip's reflectances are converted to float32
        s = scl[rows]
        valid = s > SceneClass.SATURATED_DEFECTIVE
        x = np.where(valid & (s != SceneClass.CLOUD_SHADOWS), rho_b12[rows], np.float32(0.0))
        if cirrus_correction:
            x = np.where(s == SceneClass.THIN_CIRRUS, np.float32(0.0), x)
        x = np.where(near_clouds[rows], np.float32(0.0), x)
        red, nir = toa_red[rows], toa_nir[rows]
        ndvi = (nir - red) / np.maximum(nir + red, np.float32(0.01))
        base[rows] = (
            (x > params.ac_swir_refl_lower_th)
            & (red <= params.ac_ddv_16um_refl_th1)
            & (ndvi > params.ac_swir_refl_ndvi_th)
            & (rho_b8a[rows] < DDV_NIR_SURFACE_MAX)
            & (s == SceneClass.VEGETATION)
            & sun_ok
        )
        b12[rows] = x
        counts[rows.start // DDV_STRIP_ROWS] = np.count_nonzero(valid), np.count_nonzero(s == SceneClass.WATER)

    for_each_strip(strip, shape[0], DDV_STRIP_ROWS)
    n_valid, n_water = (int(v) for v in counts.sum(axis=0))
    empty = DdvSelection(np.zeros(scl.shape, bool), np.zeros(0, np.float32), 0.0, 0.0, 0.0)
    if n_valid == 0:
        return empty
    if n_water > DDV_MAX_WATER_FRACTION * n_valid:
        logger.info("more than 99%% of the scene is water: no DDV retrieval (facts §7.3 item 3)")
        return empty
    thresholds = (params.ac_ddv_swir_refl_th1, params.ac_ddv_swir_refl_th2, params.ac_ddv_swir_refl_th3)
    last_pct = 0.0
    for k, th in enumerate(thresholds):
        mask = base & (b12 < th)
        n = int(np.count_nonzero(mask))
        # Sen2Cor divides by the non-water pixels for the first threshold, by all valid pixels afterwards
        pct = 100.0 * n / max(n_valid - n_water, 1) if k == 0 else 100.0 * n / n_valid
        last_pct = pct
        if pct > params.ac_min_ddv_area:
            logger.info("DDV: %d pixels (%.3f %%) with B12 surface reflectance < %.2f", n, pct, th)
            ref = (params.ac_swir_22um_red_refl_ratio * b12[mask]).astype(np.float32)
            return DdvSelection(mask, ref, float(th), float(pct), 0.0 if k == 0 else float(th))
    logger.info("not enough DDV pixels (%.3f %% < %.1f %%)", last_pct, params.ac_min_ddv_area)
    return DdvSelection(np.zeros(scl.shape, bool), np.zeros(0, np.float32), 0.0, float(last_pct),
                        float(thresholds[-1]))


def red_reflectance_at_standard_visibilities(
    radiance: F32,
    mean_radiance: float,
    tables: RtTable,
    band_index: int,
    elevation_class: npt.ArrayLike,
    cos_beta: F32,
    sky_view: F32,
    cos_sza: float,
    terrain_refl: float,
) -> F32:
    """Surface reflectance of reference pixels for each standard visibility (facts §7.3 item 5).

    ρ_j = π(L + ½q_j(L − L̄) − Lp_j) / (E0t_j cosβ + Edift_j(Tsun_j cosβ/cosSZA + (1 − Tsun_j)V)
    + (E0t_j cosSZA + Edift_j)·ρ_ter·(1 − V)).

    Parameters
    ----------
    radiance : numpy.ndarray of float32, shape (n,)
        Red radiance of the reference pixels.
    mean_radiance : float
        Cell-mean red radiance L̄ of the clear pixels.
    tables : RtTable
        Tables on the 8 standard visibilities (ascending km) × elevation classes.
    band_index : int
        Row of the red band in ``tables``.
    elevation_class : array_like of int, shape (n,) or scalar
    cos_beta, sky_view : numpy.ndarray of float32, shape (n,)
    cos_sza : float
        Cosine of the cell solar zenith.
    terrain_refl : float
        AC_Terrain_Refl_Start.

    Returns
    -------
    numpy.ndarray of float32, shape (8, n)
    """
    e = np.asarray(elevation_class)
    lp = tables.lp[band_index][:, e]
    e0t = tables.e0t[band_index][:, e]
    edift = tables.edift[band_index][:, e]
    tsun = tables.tsun[band_index][:, e]
    q = tables.q[band_index][:, e]
    lp, e0t, edift, tsun, q = (np.broadcast_to(a.reshape(a.shape[0], -1), (a.shape[0], radiance.size))
                               for a in (lp, e0t, edift, tsun, q))
    l_adj = radiance[None, :] + DDV_ADJACENCY_WEIGHT * q * (radiance[None, :] - mean_radiance)
    flux = e0t * cos_beta + edift * (tsun * cos_beta / cos_sza + (1.0 - tsun) * sky_view)
    flux = flux + (e0t * cos_sza + edift) * terrain_refl * (1.0 - sky_view)
    return (np.pi * (l_adj - lp) / flux).astype(np.float32)


def standard_depths() -> npt.NDArray[np.float64]:
    """Optical depth of the 8 standard visibilities, ascending visibility (descending depth; facts §4)."""
    return vis_mod.sea_level_aot550(np.asarray(vis_mod.STANDARD_VISIBILITIES_KM)) + vis_mod.DEPTH_OFFSET


def invert_visibility_index(reference: F32, rho_vis: F32, fallback_index: int) -> npt.NDArray[np.uint8]:
    """Visibility index at which each pixel's reflectance equals its reference (facts §7.3 item 5).

    Parameters
    ----------
    reference : numpy.ndarray of float32, shape (n,)
        Reference red surface reflectance.
    rho_vis : numpy.ndarray of float32, shape (8, n)
        Reflectance at the 8 standard visibilities, ascending km (5 … 120).
    fallback_index : int
        Index used when no pixel could be placed.

    Returns
    -------
    numpy.ndarray of uint8, shape (n,)
        Indices 0 … 182: below the 5 km reflectance → 182; above the 120 km one → extrapolated towards
        190 km (indices 0–2); linear interpolation in optical depth in between, rounded.
    """
    n = reference.size
    out = np.full(n, UNASSIGNED, dtype=np.int64)
    if n == 0:
        return out.astype(np.uint8)
    depth = standard_depths()
    step = vis_mod.VIS_INDEX_DEPTH_STEP
    d0 = vis_mod.VIS_INDEX_DEPTH0
    todo = np.ones(n, bool)
    out[rho_vis[0] > reference] = N_VIS_INDEX - 1
    # beyond 120 km: extrapolate with the 80 → 120 km gradient up to ≈190 km (depth of index 0)
    top, below_top = rho_vis[-1], rho_vis[-2]
    beyond = top < reference
    out[beyond] = 0
    d120 = float(vis_mod.sea_level_aot550(MAX_VISIBILITY_KM) + vis_mod.DEPTH_OFFSET)
    d190 = d0  # depth of index 0, ≈190 km (EXTRAPOLATED_VISIBILITY_KM)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (reference - top) / (reference - below_top)
        vv = (d120 + (d190 - d120) * frac - d0) / step + 0.5
    ok = beyond & (reference <= top + (reference - below_top)) & (vv > 0) & (vv < 3)
    out[ok] = vv[ok].astype(np.int64)
    todo &= ~ok
    for j in range(1, rho_vis.shape[0]):
        lo, hi = rho_vis[j - 1], rho_vis[j]
        inside = todo & (reference >= lo) & (reference <= hi)
        if not inside.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (reference - lo) / (hi - lo)
        t = np.where(np.isfinite(t), t, 0.0)
        vv = (depth[j - 1] + (depth[j] - depth[j - 1]) * t - d0) / step + 0.5
        ok = inside & (vv > 0) & (vv < N_VIS_INDEX - 0.5)
        out[ok] = vv[ok].astype(np.int64)
        todo &= ~ok
    unplaced = out == UNASSIGNED
    if unplaced.any():
        placed = ~unplaced
        out[unplaced] = int(out[placed].mean() + 0.5) if placed.any() else fallback_index
    return out.astype(np.uint8)


def cell_mean_radiance(radiance: F32, scl: npt.NDArray[np.uint8]) -> float:
    """Mean radiance of the clear pixels (SCL 4/5/6) of a cell, else of its non-no-data pixels (facts §7.3)."""
    clear = class_mask(scl, CLEAR_CLASSES)
    if np.count_nonzero(clear) > 1:
        return float(radiance[clear].mean())
    valid = scl > SceneClass.NO_DATA
    return float(radiance[valid].mean()) if valid.any() else 0.0

