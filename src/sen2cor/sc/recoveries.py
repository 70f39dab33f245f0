"""Spectral recoveries applied after step 7: dark vegetation, water, soil, bright pixels and the
dark-feature clean-up.  Sen2Cor SC steps L2A_DarkVegetationRecovery, L2A_WaterPixelRecovery,
L2A_SoilRecovery, L2A_Bright_pixels_Hollstein_Fmask, L2A_TopograhicShadowCleaning; facts §6.2, §6.3.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sen2cor.sc import morphology
from sen2cor.sc.brightness import ratio
from sen2cor.sc.classes import DARK_NOT_SHADOW, NOT_CLASSIFIED, SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.thresholds import (
    BRIGHT_CLOUD_DILATION_DISK,
    BRIGHT_CLOUD_EROSION_DISK,
    BRIGHT_WATER_NDWI_MIN,
    HOLLSTEIN_B01_MAX,
    HOLLSTEIN_B03_MIN,
    HOLLSTEIN_B05_B11_MAX,
    HOLLSTEIN_B11_MINUS_B10_MIN,
    SOIL_RECOVERY_LOW_PROBABILITY,
    SOIL_RECOVERY_R_B02_B11_MAX,
    WATER_RECOVERY_B8A_MAX,
    WBI_WATER,
    ScThresholds,
)

Float32Array = NDArray[np.float32]
Mode = Literal["evolution", "classic"]
f32 = np.float32


def dark_vegetation_recovery(
    state: ScState, ndvi: Float32Array, b03: Float32Array, b8a: Float32Array, t: ScThresholds, mode: Mode
) -> None:
    """Dark or unclassified pixels with NDVI > T2_NDVI, then with B8A/B03 > T2_R_B8A_B03 → VEGETATION.

    Evolution also zeroes p and s on them (facts §6.2, §6.3).
    """
    reset = 0.0 if mode == "evolution" else None
    for test in (ndvi > t.f32("t2_ndvi"), ratio(b8a, b03) > t.f32("t2_r_b8a_b03")):
        subset = test & state.is_(SceneClass.DARK_FEATURES, NOT_CLASSIFIED)
        state.assign(subset, SceneClass.VEGETATION, cloud=reset, snow=reset)


def water_recovery(state: ScState, bands: dict[str, Float32Array], t: ScThresholds) -> None:
    """B02/B11 > T22_R_B02_B11 and B8A < B04 on dark pixels, plus B8A < 0.3 on unclassified → WATER.

    Sen2Cor's probability resets that follow are evaluated after the relabelling and never apply, in both
    modes; reproduced (facts §6.2).
    """
    b8a = bands["B8A"]
    watery = (ratio(bands["B02"], bands["B11"]) > t.f32("t22_r_b02_b11")) & (b8a < bands["B04"])
    state.assign(watery & (state.scl == SceneClass.DARK_FEATURES), SceneClass.WATER)
    state.assign(watery & (b8a < f32(WATER_RECOVERY_B8A_MAX)) & state.unclassified, SceneClass.WATER)


def soil_recovery(state: ScState, b02: Float32Array, b11: Float32Array, mode: Mode) -> None:
    """Dark pixels with B02/B11 < 0.65 → NOT_VEGETATED (facts §6.2).

    Evolution first turns unclassified pixels with 0 < p < 0.10 into NOT_VEGETATED and zeroes p and s on
    all recovered pixels (facts §6.3).
    """
    if mode == "evolution":
        low = (state.cloud > 0) & (state.cloud < f32(SOIL_RECOVERY_LOW_PROBABILITY)) & state.unclassified
        state.assign(low, SceneClass.NOT_VEGETATED, cloud=0.0, snow=0.0)
    dark_soil = (ratio(b02, b11) < f32(SOIL_RECOVERY_R_B02_B11_MAX)) & (state.scl == SceneClass.DARK_FEATURES)
    reset = 0.0 if mode == "evolution" else None
    state.assign(dark_soil, SceneClass.NOT_VEGETATED, cloud=reset, snow=reset)


def _enhance_lines(image: Float32Array) -> Float32Array:
    """Maximum response of four 3×3 line detectors (vertical, horizontal, two diagonals), divided by 6.

    ``ndimage.convolve`` with a zero border, as Sen2Cor: its float64 accumulation matters, because the
    bright-pixel test compares the result with 0 and flat areas cancel exactly.
    """
    vertical = np.array([[-1, 2, -1]] * 3, dtype=np.float64) / 6
    diagonal = (np.full((3, 3), -1.0) + 3 * np.eye(3)) / 6
    out: Float32Array | None = None
    for k in (vertical, vertical.T, diagonal, np.fliplr(diagonal)):
        r = ndimage.convolve(image, k, mode="constant", cval=0.0)
        out = r if out is None else np.maximum(out, r)
    return out if out is not None else image


def bright_pixel_recovery(
    state: ScState, bands: dict[str, Float32Array], wbi: NDArray[np.generic] | None
) -> None:
    """Evolution: bright land wrongly taken for cloud → NOT_VEGETATED (facts §6.3).

    Bright = Hollstein rule (B03 > 0.319, B05/B11 < 4.33, B11 − B10 > 0.255, B01 < 0.30) or an NDBI
    enhanced by line detectors that is positive and above the NDVI (Fmask 4.0).  Applied to low/medium/high
    cloud pixels outside the opened cloud mask (erosion disk 3, dilation disk 9), not water
    ((B03 − B8A)/(B03 + B8A) > 0.35, or ESA-CCI WBI = 2 when given) and not thin cirrus.
    """
    b01, b03, b04, b05 = bands["B01"], bands["B03"], bands["B04"], bands["B05"]
    b8a, b10, b11 = bands["B8A"], bands["B10"], bands["B11"]
    with np.errstate(divide="ignore", invalid="ignore"):
        hollstein = (
            (b03 > f32(HOLLSTEIN_B03_MIN))
            & ((b05 / b11) < f32(HOLLSTEIN_B05_B11_MAX))
            & ((b11 - b10) > f32(HOLLSTEIN_B11_MINUS_B10_MIN))
            & (b01 < f32(HOLLSTEIN_B01_MAX))
        )
        ndbi = _enhance_lines((b11 - b8a) / (b11 + b8a))
        ndvi = (b8a - b04) / (b8a + b04)
        fmask_bright = (ndbi > 0) & (ndbi > ndvi)
        water = (
            wbi == WBI_WATER if wbi is not None else ((b03 - b8a) / (b8a + b03)) > f32(BRIGHT_WATER_NDWI_MIN)
        )
    clouds = state.is_(SceneClass.UNCLASSIFIED, SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS)
    opened = morphology.dilate(
        morphology.erode(clouds, morphology.disk(BRIGHT_CLOUD_EROSION_DISK)),
        morphology.disk(BRIGHT_CLOUD_DILATION_DISK),
    )
    subset = (hollstein | fmask_bright) & clouds & ~opened & ~water & (state.scl != SceneClass.THIN_CIRRUS)
    state.assign(subset, SceneClass.NOT_VEGETATED, cloud=0.0, snow=0.0)


def dark_feature_cleaning(state: ScState) -> None:
    """Evolution end of chain (facts §6.3): "dark but not shadow" → NOT_VEGETATED, then the dark-feature
    mask is closed softly (cross dilation + 3×3 median) and relabelled DARK_FEATURES with p = s = 0.

    Sen2Cor step L2A_TopograhicShadowCleaning; it runs with or without a DEM.
    """
    state.assign(state.scl == DARK_NOT_SHADOW, SceneClass.NOT_VEGETATED, cloud=0.0, snow=0.0)
    dark = morphology.binary_median(
        morphology.dilate(state.scl == SceneClass.DARK_FEATURES, morphology.CROSS), 3
    )
    state.assign(dark, SceneClass.DARK_FEATURES, cloud=0.0, snow=0.0)
