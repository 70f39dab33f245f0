"""Empirical BRDF correction of rugged terrain (ATCOR; facts §7.9) — ``BRDF_Correction`` codes.

Pixels whose solar incidence β exceeds a threshold β_T (from the SZA) are darkened by the factor::

    G = max( (cos β / cos β_T)^e , BRDF_Lower_Bound ),   G ≤ 1

e = 1 for codes 1, 11, 12 and ½ for 2, 21, 22.  Codes > 10 treat vegetation (ρ_NIR > 0.1 and
ρ_NIR/ρ_red > AC_Vegetation_Index_Th, cleaned by a 5×5 median) separately: e = 0.75 below 720 nm,
1/3 (codes x1) or 1 (codes x2) above.  No correction on flat terrain or when snow covers > 50 %.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sen2cor.ac.constants import (
    BRDF_HIGH_SZA,
    BRDF_MAX_SNOW_FRACTION,
    BRDF_NIR_SWITCH_UM,
    BRDF_THRESHOLD_ANGLES,
    BRDF_VEGETATION_MEDIAN_PX,
    BRDF_VEGETATION_NIR_EXPONENTS,
    BRDF_VEGETATION_NIR_MIN,
    BRDF_VEGETATION_VIS_EXPONENT,
    COS_BETA_SCALE,
)
from sen2cor.bands import band as band_info
from sen2cor.sc.classes import SceneClass

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]


def threshold_angle(sza_deg: float) -> float:
    """β_T of facts §7.9: SZA+25 below 35°, +20 below 45°, +15 below 50°, +10 below 60°, else max(70, SZA+5)."""
    for limit, offset in BRDF_THRESHOLD_ANGLES:
        if sza_deg < limit:
            return sza_deg + offset
    return max(BRDF_HIGH_SZA[0], sza_deg + BRDF_HIGH_SZA[1])


def exponent(code: int) -> float:
    """e = 1 for codes 1, 11, 12; ½ for 2, 21, 22 (facts §7.9)."""
    return 1.0 if code in (1, 11, 12) else 0.5


def _factor(ratio: F32, e: float, lower: float) -> F32:
    g = np.maximum(np.power(np.maximum(ratio, 0.0), e), np.float32(lower))
    g = np.minimum(g, np.float32(1.0))
    return (np.floor(g * COS_BETA_SCALE + 0.5) / COS_BETA_SCALE).astype(np.float32)


def vegetation_mask(rho_red: F32, rho_nir: F32, ratio_threshold: float) -> npt.NDArray[np.bool_]:
    """Vegetation for the BRDF exponents: ρ_NIR > 0.1 and ρ_NIR/ρ_red > threshold, 5×5 median (facts §7.9)."""
    red = np.maximum(rho_red, np.float32(0.01))
    nir = np.maximum(rho_nir, np.float32(0.01))
    veg = (nir > BRDF_VEGETATION_NIR_MIN) & (nir / red > ratio_threshold)
    return ndimage.median_filter(veg.astype(np.uint8), size=BRDF_VEGETATION_MEDIAN_PX) > 0


def brdf_factors(
    code: int,
    lower_bound: float,
    cos_beta: F32,
    sza_deg: float,
    bands: Sequence[str],
    scl: npt.NDArray[np.uint8],
    *,
    rho_red: F32 | None = None,
    rho_nir: F32 | None = None,
    vegetation_ratio: float = 3.0,
) -> dict[str, F32]:
    """BRDF factor G per band (facts §7.9); empty dict when the correction does not apply.

    Parameters
    ----------
    code : int
        BRDF_Correction after legacy remapping (0 = off).
    lower_bound : float
        BRDF_Lower_Bound g.
    cos_beta : numpy.ndarray of float32
        Quantised, unfloored cos of the solar incidence.
    sza_deg : float
        Tile-mean solar zenith (°).
    bands : sequence of str
    scl : numpy.ndarray of uint8
    rho_red, rho_nir : numpy.ndarray of float32, optional
        Step-1 red and NIR surface reflectance (needed for codes > 10).
    vegetation_ratio : float
        AC_Vegetation_Index_Th.

    Returns
    -------
    dict of band id → numpy.ndarray of float32 (tile shape), values in [lower_bound, 1].
    """
    if code <= 0:
        return {}
    valid = scl > SceneClass.SATURATED_DEFECTIVE
    n_valid = max(int(np.count_nonzero(valid)), 1)
    if np.count_nonzero(scl == SceneClass.SNOW_ICE) / n_valid > BRDF_MAX_SNOW_FRACTION:
        logger.info("snow covers more than 50 %%: BRDF correction switched off (facts §7.9)")
        return {}
    ratio = (cos_beta / np.float32(np.cos(np.deg2rad(threshold_angle(sza_deg))))).astype(np.float32)
    g = _factor(ratio, exponent(code), lower_bound)
    g[~valid] = 1.0
    g_vis, g_nir = g, g
    if code > 10 and rho_red is not None and rho_nir is not None:
        veg = vegetation_mask(g * rho_red, g * rho_nir, vegetation_ratio) & valid
        if veg.any():
            g_vis = g.copy()
            g_vis[veg] = _factor(ratio[veg], BRDF_VEGETATION_VIS_EXPONENT, lower_bound)
            g_nir = g.copy()
            g_nir[veg] = _factor(ratio[veg], BRDF_VEGETATION_NIR_EXPONENTS[code % 10], lower_bound)
    out = {}
    for b in bands:
        bid = band_info(b).id
        out[bid] = g_nir if band_info(bid).wavelength_um >= BRDF_NIR_SWITCH_UM else g_vis
    logger.info("BRDF correction code %d: %d pixels corrected", code, int(np.count_nonzero(g < 1.0)))
    return out
