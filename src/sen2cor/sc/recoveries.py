"""Spectral recoveries applied after step 7: dark vegetation, water, soil, bright pixels and the
dark-feature clean-up.  Sen2Cor SC steps L2A_DarkVegetationRecovery, L2A_WaterPixelRecovery,
L2A_SoilRecovery, L2A_Bright_pixels_Hollstein_Fmask, L2A_TopograhicShadowCleaning; facts §6.2, §6.3.
"""

from __future__ import annotations

from typing import Final, Literal

import numba
import numpy as np
from numpy.typing import NDArray

from sen2cor.sc import morphology
from sen2cor.sc.brightness import ratio
from sen2cor.sc.classes import DARK_NOT_SHADOW, NOT_CLASSIFIED, SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.strips import for_each_strip
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


def line_detector_weights() -> NDArray[np.float64]:
    """The four 3×3 line detectors (vertical, horizontal, two diagonals) divided by 6, shape (4, 3, 3).

    Sen2Cor applies them with ``ndimage.convolve`` (zero border, float64 accumulation); the weights here are
    already flipped for the correlation that convolution is.
    """
    vertical = np.array([[-1, 2, -1]] * 3, dtype=np.float64) / 6
    diagonal = (np.full((3, 3), -1.0) + 3 * np.eye(3)) / 6
    kernels = (vertical, vertical.T, diagonal, np.fliplr(diagonal))
    return np.ascontiguousarray(np.stack([k[::-1, ::-1] for k in kernels]))


BRIGHT_BLOCK_ROWS: Final[int] = 64
"""Rows per block of the bright-pixel kernel (performance only)."""
BRIGHT_CHUNK_ROWS: Final[int] = 512
"""Rows converted to float32 at a time for the bright-pixel kernel (memory only; any value gives the same
result)."""
_DBL_EPSILON = float(np.finfo(np.float64).eps)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _bright_kernel(b01, b03, b04, b05, b8a, b10, b11, weights, limits, out):  # type: ignore[no-untyped-def]
    """Hollstein rule or Fmask line-enhanced NDBI > max(0, NDVI), pixel by pixel (float32 like NumPy).

    The enhanced NDBI repeats ``ndimage.convolve``: per detector a float64 sum of weight × value over the
    3×3 window in C order, zero outside the image, cast to float32; the maximum over the detectors is NaN
    (never bright) when any detector is NaN, as ``np.maximum``.
    """
    rows, cols = out.shape
    b03_min, b05_b11_max, b11_b10_min, b01_max = limits[0], limits[1], limits[2], limits[3]
    n_blocks = (rows + BRIGHT_BLOCK_ROWS - 1) // BRIGHT_BLOCK_ROWS
    for block in numba.prange(n_blocks):
        r0 = block * BRIGHT_BLOCK_ROWS
        r1 = min(r0 + BRIGHT_BLOCK_ROWS, rows)
        ndbi = np.zeros((r1 - r0 + 2, cols + 2), dtype=np.float32)  # zero border = cval
        for r in range(max(r0 - 1, 0), min(r1 + 1, rows)):
            for j in range(cols):
                ndbi[r - r0 + 1, j + 1] = (b11[r, j] - b8a[r, j]) / (b11[r, j] + b8a[r, j])
        enhanced = np.empty((weights.shape[0], cols), dtype=np.float32)
        acc = np.empty(cols, dtype=np.float64)
        for i in range(r0, r1):
            for k in range(weights.shape[0]):
                acc[:] = 0.0
                for a in range(3):
                    line = ndbi[i - r0 + a]
                    for c in range(3):
                        w = weights[k, a, c]
                        if abs(w) > _DBL_EPSILON:
                            for j in range(cols):
                                acc[j] += w * np.float64(line[j + c])
                for j in range(cols):
                    enhanced[k, j] = np.float32(acc[j])
            for j in range(cols):
                hollstein = (
                    b03[i, j] > b03_min
                    and b05[i, j] / b11[i, j] < b05_b11_max
                    and b11[i, j] - b10[i, j] > b11_b10_min
                    and b01[i, j] < b01_max
                )
                best = enhanced[0, j]
                has_nan = np.isnan(best)
                for k in range(1, weights.shape[0]):
                    v = enhanced[k, j]
                    if np.isnan(v):
                        has_nan = True
                    elif v > best:
                        best = v
                ndvi = (b8a[i, j] - b04[i, j]) / (b8a[i, j] + b04[i, j])
                out[i, j] = hollstein or (not has_nan and best > 0 and best > ndvi)


def bright_pixels(bands: dict[str, Float32Array]) -> NDArray[np.bool_]:
    """Bright pixels of the bright-pixel recovery (facts §6.3), ndarray of bool, shape (rows, cols).

    Hollstein rule (B03 > 0.319, B05/B11 < 4.33, B11 − B10 > 0.255, B01 < 0.30) or the NDBI
    (B11 − B8A)/(B11 + B8A) enhanced by the line detectors of :func:`line_detector_weights` (their
    maximum) positive and above the NDVI (Fmask 4.0).  Ratios are float32 and 0/0 is never bright.
    """
    names = ("B01", "B03", "B04", "B05", "B8A", "B10", "B11")
    limits = np.array(
        [HOLLSTEIN_B03_MIN, HOLLSTEIN_B05_B11_MAX, HOLLSTEIN_B11_MINUS_B10_MIN, HOLLSTEIN_B01_MAX],
        dtype=np.float32,
    )
    weights = line_detector_weights()
    rows = bands["B01"].shape[0]
    out = np.empty(bands["B01"].shape, dtype=np.bool_)
    # By chunks of rows with one halo row on each side (the 3×3 detectors): seven float32 bands of a
    # full tile at once would take 0.84 GB (TOA images convert only the rows asked for).
    for r0 in range(0, rows, BRIGHT_CHUNK_ROWS):
        r1 = min(r0 + BRIGHT_CHUNK_ROWS, rows)
        h0, h1 = max(r0 - 1, 0), min(r1 + 1, rows)
        part = [np.ascontiguousarray(bands[n][h0:h1], dtype=np.float32) for n in names]
        chunk = np.empty(part[0].shape, dtype=np.bool_)
        _bright_kernel(*part, weights, limits, chunk)
        out[r0:r1] = chunk[r0 - h0:r1 - h0]
    return out


def bright_pixel_recovery(
    state: ScState, bands: dict[str, Float32Array], wbi: NDArray[np.generic] | None
) -> None:
    """Evolution: bright land wrongly taken for cloud → NOT_VEGETATED (facts §6.3).

    Bright pixels (:func:`bright_pixels`) among the low/medium/high cloud pixels outside the opened cloud
    mask (erosion disk 3, dilation disk 9), not water ((B03 − B8A)/(B03 + B8A) > 0.35, or ESA-CCI WBI = 2
    when given) and not thin cirrus.
    """
    bright = bright_pixels(bands)
    clouds = state.is_(SceneClass.UNCLASSIFIED, SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS)
    opened = morphology.dilate(
        morphology.erode(clouds, morphology.disk(BRIGHT_CLOUD_EROSION_DISK)),
        morphology.disk(BRIGHT_CLOUD_DILATION_DISK),
    )

    def strip(rows: slice) -> None:
        b03, b8a = bands["B03"][rows], bands["B8A"][rows]
        if wbi is not None:
            water = wbi[rows] == WBI_WATER
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                water = ((b03 - b8a) / (b8a + b03)) > f32(BRIGHT_WATER_NDWI_MIN)
        st = state.rows(rows)
        subset = bright[rows] & clouds[rows] & ~opened[rows] & ~water & (st.scl != SceneClass.THIN_CIRRUS)
        st.assign(subset, SceneClass.NOT_VEGETATED, cloud=0.0, snow=0.0)

    for_each_strip(strip, state.scl.shape[0])


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
