"""Spectral-ratio steps of the cloud-probability chain: NDVI (step 3), soils (5.1), water (5.2),
rocks/sand (6) and B04/B11 (6bis).  Sen2Cor SC steps L2A_CSND_3, 5_1, 5_2, 6, 6bis; facts §6.1 steps 4–9.
Step 4 (B8A/B03, senescing vegetation) is disabled in Sen2Cor and therefore absent here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sen2cor.sc.brightness import ramp, ratio
from sen2cor.sc.classes import SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.thresholds import (
    R_B04_B11_HIGH,
    R_B04_B11_LOW,
    ROCKS_B02_B11_FACTOR,
    ROCKS_B02_INTERCEPT,
    ROCKS_B02_LIMIT_MAX,
    ROCKS_B02_LIMIT_MIN,
    ROCKS_B02_SLOPE,
    SOIL_B02_LIMIT_MAX,
    SOIL_B02_LIMIT_MIN,
    SOIL_RATIO_MAX,
    VEGETATION_B02_MAX,
    WATER_B02_MAX,
    WATER_B02_MINUS_B04_MIN,
    WATER_B12_LIMIT_MAX,
    WATER_B12_LIMIT_MIN,
    ScThresholds,
)

Float32Array = NDArray[np.float32]
f32 = np.float32


def ndvi_vegetation(state: ScState, ndvi: Float32Array, b02: Float32Array, t: ScThresholds) -> None:
    """Step 3 (facts §6.1 step 4): r = Ramp(NDVI, T1_NDVI, T2_NDVI).

    r = 1 and B02 < 0.15 on an unclassified pixel → VEGETATION; for 0 < r < 1, p ← p·(1 − r).
    """
    r = ramp(ndvi, t.t1_ndvi, t.t2_ndvi)
    state.scl[(r == 1) & state.unclassified & (b02 < f32(VEGETATION_B02_MAX))] = SceneClass.VEGETATION
    r[state.scl == SceneClass.VEGETATION] = 0
    between = (r > 0) & (r < 1)
    state.cloud[between] *= 1 - r[between]


def soil_ratio(state: ScState, b02: Float32Array, b11: Float32Array, t: ScThresholds) -> None:
    """Step 5.1, soils (facts §6.1 step 6): R = B02/B11, B02 limit = clip(T11_B02·R + T12_B02, 0.15, 0.32).

    B02 < limit and R < T11_R_B02_B11 → NOT_VEGETATED (p = 0); T11 < R < T12 → p ×= Ramp(R).
    """
    r_b02_b11 = np.clip(ratio(b02, b11), f32(0), f32(SOIL_RATIO_MAX))
    limit = np.clip(
        r_b02_b11 * t.f32("t11_b02") + t.f32("t12_b02"), f32(SOIL_B02_LIMIT_MIN), f32(SOIL_B02_LIMIT_MAX)
    )
    low, high = t.f32("t11_r_b02_b11"), t.f32("t12_r_b02_b11")
    state.scl[(b02 < limit) & (r_b02_b11 < low) & state.unclassified] = SceneClass.NOT_VEGETATED
    state.cloud[state.scl == SceneClass.NOT_VEGETATED] = 0
    r = ramp(r_b02_b11, low, high)
    between = (r_b02_b11 > low) & (r_b02_b11 < high) & (b02 < limit) & state.unclassified
    state.cloud[between] *= r[between]


def water_ratio(state: ScState, bands: dict[str, Float32Array], t: ScThresholds) -> None:
    """Step 5.2, water (facts §6.1 step 7).

    With R = B02/B11, B12 limit = clip(T21_B12·R + T22_B12, 0.07, 0.21) and the common conditions
    B12 < limit, B8A < B04, B02 < 0.20: R > T22_R_B02_B11 → WATER (p = 0); T21 ≤ R < T22 →
    p ×= 1 − (R − T21)/(T22 − T21).  Extra: (B02 − B04) > 0.034, B8A < B04, B02 < 0.20 → WATER.
    """
    b02, b04, b8a, b12 = bands["B02"], bands["B04"], bands["B8A"], bands["B12"]
    r_b02_b11 = ratio(b02, bands["B11"])
    limit = np.clip(
        r_b02_b11 * t.f32("t21_b12") + t.f32("t22_b12"), f32(WATER_B12_LIMIT_MIN), f32(WATER_B12_LIMIT_MAX)
    )
    common = (b12 < limit) & (b8a < b04) & (b02 < f32(WATER_B02_MAX))
    low, high = t.f32("t21_r_b02_b11"), t.f32("t22_r_b02_b11")
    state.scl[(r_b02_b11 > high) & common & state.unclassified] = SceneClass.WATER
    state.cloud[state.scl == SceneClass.WATER] = 0
    ambiguous = (r_b02_b11 < high) & (r_b02_b11 >= low) & common
    slope = f32(-1) / (high - low)
    intercept = -low * slope + f32(1)
    state.cloud[ambiguous] *= slope * r_b02_b11[ambiguous] + intercept
    blue_water = ((b02 - b04) > f32(WATER_B02_MINUS_B04_MIN)) & (b8a < b04) & (b02 < f32(WATER_B02_MAX))
    state.scl[blue_water & state.unclassified] = SceneClass.WATER
    state.cloud[blue_water & (state.scl == SceneClass.WATER) & state.valid] = 0


def rocks_sand_ratio(
    state: ScState, b02: Float32Array, b8a: Float32Array, b11: Float32Array, t: ScThresholds
) -> None:
    """Step 6, rocks and sand (facts §6.1 step 8): R = B8A/B11, B02 limit = clip(−0.25·R + 0.475, 0.16, 0.35).

    B02 < limit, R < T1_R_B8A_B11 and B02 < 0.8·B11 → NOT_VEGETATED (p = 0); T1 < R < T2 → p ×= Ramp(R).
    """
    r_b8a_b11 = ratio(b8a, b11)
    limit = np.clip(
        r_b8a_b11 * f32(ROCKS_B02_SLOPE) + f32(ROCKS_B02_INTERCEPT),
        f32(ROCKS_B02_LIMIT_MIN),
        f32(ROCKS_B02_LIMIT_MAX),
    )
    low, high = t.f32("t1_r_b8a_b11"), t.f32("t2_r_b8a_b11")
    rocks = (b02 < limit) & (r_b8a_b11 < low) & (b02 < f32(ROCKS_B02_B11_FACTOR) * b11) & state.unclassified
    state.scl[rocks] = SceneClass.NOT_VEGETATED
    state.cloud[state.scl == SceneClass.NOT_VEGETATED] = 0
    r = ramp(r_b8a_b11, low, high)
    between = (r_b8a_b11 > low) & (r_b8a_b11 < high) & (b02 < limit) & state.unclassified & state.valid
    if between.any():
        state.cloud[between] *= r[between]


def red_swir_ratio(state: ScState, b04: Float32Array, b11: Float32Array) -> None:
    """Step 6bis (facts §6.1 step 9): R = B04/B11; R ≥ 6 → p = 0 on unclassified; 3 < R < 6 → p ×= 1 − Ramp(R, 3, 6)."""
    r = ramp(ratio(b04, b11), R_B04_B11_LOW, R_B04_B11_HIGH)
    between = (r > 0) & (r < 1)
    r[between] = 1 - r[between]
    state.cloud[(r == 1) & state.unclassified & state.valid] = 0
    state.cloud[between] *= r[between]
