"""Recoveries that need auxiliary maps: ESA-CCI water bodies (WBI) and land cover (LCM), and the DEM
products (slope, merged illumination/cast-shadow byte "SDW").  Each function is a no-op when its map is
missing, exactly as Sen2Cor skips the step.  Facts §6.2, §6.3.

The illumination map follows Sen2Cor's SDW convention: uint8 ≈ 255·cos β, with the value 1 marking
cast shadow (facts §7.1).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sen2cor.sc import morphology
from sen2cor.sc.classes import DARK_NOT_SHADOW, NOT_CLASSIFIED, SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.thresholds import (
    BARE_LCM_MAX,
    BARE_LCM_MIN,
    BARE_RING_CLOUDY_MAX_PCT,
    CAST_SHADOW_DILATION_PX,
    CAST_SHADOW_VALUE,
    CLASSIC_ILLUMINATION_DEEP_SHADOW_MAX,
    CLASSIC_ILLUMINATION_SHADOW_MAX,
    CLASSIC_LAND_B10_MIN,
    CLASSIC_LAND_BLOB_M,
    CLASSIC_LAND_HPC_HIGH_PCT,
    CLASSIC_LAND_HPC_LOW_PCT,
    CLASSIC_LAND_MIN_AREA_M2,
    CLASSIC_LAND_MIN_PCT,
    DEM_STEEP_SLOPE_DEG,
    LOCAL_INCIDENCE_MARGIN_DEG,
    LOCAL_INCIDENCE_SZA_MAX_DEG,
    URBAN_DILATION_DISK_RADIUS,
    URBAN_LCM,
    URBAN_RING_CLOUDY_MAX_PCT_CLASSIC,
    URBAN_RING_CLOUDY_MAX_PCT_EVOLUTION,
    WATER_B02_MAX,
    WATER_B02_MINUS_B04_MIN,
    WATER_LCM,
    WBI_WATER,
)

Float32Array = NDArray[np.float32]
Mode = Literal["evolution", "classic"]
f32 = np.float32


def cci_water_recovery(state: ScState, wbi: NDArray[np.generic] | None, mode: Mode) -> None:
    """ESA-CCI water (WBI = 2) on dark, cloud-shadow, unclassified or low-probability pixels → WATER.

    Evolution also zeroes p and s (facts §6.2, §6.3).
    """
    if wbi is None:
        return
    subset = (wbi == WBI_WATER) & state.is_(
        SceneClass.DARK_FEATURES, SceneClass.CLOUD_SHADOWS, NOT_CLASSIFIED, SceneClass.UNCLASSIFIED
    )
    reset = 0.0 if mode == "evolution" else None
    state.assign(subset, SceneClass.WATER, cloud=reset, snow=reset)


def dem_water_cleaning(
    state: ScState, slope_deg: NDArray[np.floating] | None, illumination: NDArray[np.uint8] | None, mode: Mode
) -> None:
    """Water in terrain shadow or on steep slopes → DARK_FEATURES (facts §6.2, §6.3).

    Evolution: cast shadow (SDW = 1) or slope > 15°, p = s = 0.  Classic: illumination < 128 and slope > 15°.
    """
    if slope_deg is None or illumination is None:
        return
    if mode == "evolution":
        area = (illumination == CAST_SHADOW_VALUE) | (slope_deg > DEM_STEEP_SLOPE_DEG)
        state.assign(area & (state.scl == SceneClass.WATER), SceneClass.DARK_FEATURES, cloud=0.0, snow=0.0)
    else:
        area = (illumination < CLASSIC_ILLUMINATION_SHADOW_MAX) & (slope_deg > DEM_STEEP_SLOPE_DEG)
        state.assign(area & (state.scl == SceneClass.WATER), SceneClass.DARK_FEATURES)


def _snow_shadow_candidates(bands: dict[str, Float32Array]) -> NDArray[np.bool_]:
    """Radiometric potential topographic shadow over snow: B02 − B04 > 0.034, B8A < B04, B02 > 0.20."""
    b02, b04 = bands["B02"], bands["B04"]
    return ((b02 - b04) > f32(WATER_B02_MINUS_B04_MIN)) & (bands["B8A"] < b04) & (b02 > f32(WATER_B02_MAX))


def topographic_shadow_evolution(
    state: ScState,
    bands: dict[str, Float32Array],
    illumination: NDArray[np.uint8] | None,
    sun_zenith_deg: float,
) -> None:
    """Evolution topographic shadow with the DEM cast-shadow mask (facts §6.3).

    Dark pixels and potential snow shadows inside cast shadow → DARK_FEATURES; water inside cast shadow →
    DARK_FEATURES.  Dark pixels outside the (dilated 9×9, median 9) cast shadow: if SZA < 45° those lit at
    cos β > cos(SZA + 5°) → UNCLASSIFIED (low-probability cloud), else all of them → "dark not shadow"
    (finally NOT_VEGETATED).  p = s = 0 throughout.
    """
    if illumination is None:
        return
    cast = illumination == CAST_SHADOW_VALUE
    cast_wide = morphology.binary_median(
        morphology.dilate(cast, morphology.square(CAST_SHADOW_DILATION_PX)), CAST_SHADOW_DILATION_PX
    )
    dark_not_shadow = (state.scl == SceneClass.DARK_FEATURES) & ~cast_wide
    candidates = _snow_shadow_candidates(bands) & state.is_(
        NOT_CLASSIFIED, SceneClass.UNCLASSIFIED, SceneClass.MEDIUM_PROBA_CLOUDS
    )
    dark = (state.scl == SceneClass.DARK_FEATURES) | candidates
    state.assign(dark & cast, SceneClass.DARK_FEATURES, cloud=0.0, snow=0.0)
    state.assign((state.scl == SceneClass.WATER) & cast, SceneClass.DARK_FEATURES, cloud=0.0, snow=0.0)
    if sun_zenith_deg < LOCAL_INCIDENCE_SZA_MAX_DEG:
        lit = _lit_above_sza(illumination, sun_zenith_deg)
        state.assign(dark_not_shadow & lit, SceneClass.UNCLASSIFIED, cloud=0.0, snow=0.0)
    else:
        state.assign(dark_not_shadow, DARK_NOT_SHADOW, cloud=0.0, snow=0.0)


def _lit_above_sza(illumination: NDArray[np.uint8], sun_zenith_deg: float) -> NDArray[np.bool_]:
    """cos β > cos(SZA + 5°): the local incidence is within 5° of the flat-terrain incidence or better."""
    limit = np.clip(sun_zenith_deg + LOCAL_INCIDENCE_MARGIN_DEG, 0.0, 90.0)
    lit: NDArray[np.bool_] = (illumination / 255.0) > np.cos(np.deg2rad(limit))
    return lit


def topographic_shadow_classic(
    state: ScState,
    bands: dict[str, Float32Array],
    illumination: NDArray[np.uint8] | None,
    wbi: NDArray[np.generic] | None,
) -> None:
    """Classic: potential snow shadow in terrain shadow (illumination < 128, not CCI water) → DARK_FEATURES.

    Needs the DEM and the ESA-CCI water bodies (facts §6.2).
    """
    if illumination is None or wbi is None:
        return
    area = (illumination < CLASSIC_ILLUMINATION_SHADOW_MAX) & (wbi != WBI_WATER)
    candidates = state.is_(NOT_CLASSIFIED, SceneClass.UNCLASSIFIED, SceneClass.MEDIUM_PROBA_CLOUDS)
    state.assign(area & _snow_shadow_candidates(bands) & candidates, SceneClass.DARK_FEATURES)


def dem_cloud_shadow_cleaning(state: ScState, illumination: NDArray[np.uint8] | None, mode: Mode) -> None:
    """Cloud shadow that is terrain shadow → DARK_FEATURES (facts §6.2, §6.3).

    Evolution: SDW = 1 (cast shadow), p = s = 0.  Classic: 0 < illumination < 32.
    """
    if illumination is None:
        return
    shadows = state.scl == SceneClass.CLOUD_SHADOWS
    if mode == "evolution":
        state.assign(
            shadows & (illumination == CAST_SHADOW_VALUE), SceneClass.DARK_FEATURES, cloud=0.0, snow=0.0
        )
    else:
        deep = (illumination < CLASSIC_ILLUMINATION_DEEP_SHADOW_MAX) & (illumination != 0)
        state.assign(shadows & deep, SceneClass.DARK_FEATURES)


def _blobs_with_clear_ring(
    mask: NDArray[np.bool_], state: ScState, max_cloudy_pct: float
) -> NDArray[np.bool_]:
    """Blobs of ``mask`` whose one-pixel ring is at most ``max_cloudy_pct`` % cloud or shadow.

    Rings are labelled by grey dilation (3×3) of the blob labels minus the labels, as Sen2Cor does
    (L2A_FineMorphoRecovery); a blob without ring pixels is kept.
    """
    labels, n = ndimage.label(mask)
    if n == 0:
        return np.zeros(mask.shape, dtype=bool)
    ring = ndimage.grey_dilation(labels, size=(3, 3)) - labels
    bins = ring.max() + 1
    ring_count = np.bincount(ring.ravel(), minlength=bins)
    cloudy = state.is_(
        SceneClass.UNCLASSIFIED,
        SceneClass.MEDIUM_PROBA_CLOUDS,
        SceneClass.HIGH_PROBA_CLOUDS,
        SceneClass.THIN_CIRRUS,
        SceneClass.CLOUD_SHADOWS,
    )
    cloudy_count = np.bincount(np.where(cloudy, ring, 0).ravel(), minlength=bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = cloudy_count.astype(np.float32) / ring_count.astype(np.float32) * f32(100.0)
    drop = np.zeros(n + 1, dtype=bool)
    above = np.nonzero(pct[1:] > max_cloudy_pct)[0] + 1
    drop[above[above <= n]] = True
    drop[0] = True
    kept: NDArray[np.bool_] = ~drop[labels]
    return kept


def urban_bare_recovery(state: ScState, lcm: NDArray[np.generic] | None, mode: Mode) -> None:
    """ESA-CCI urban (190) and bare (200–202) recoveries (facts §6.2, §6.3).

    Unclassified pixels there → NOT_VEGETATED; low/medium cloud blobs there whose ring is little cloudy
    (urban ≤ 20 % evolution / 35 % classic, bare ≤ 35 %) → NOT_VEGETATED.  Evolution dilates the urban mask
    with a disk of radius 9 and zeroes p and s on recovered blobs and bare pixels.
    """
    if lcm is None:
        return
    evolution = mode == "evolution"
    reset = 0.0 if evolution else None
    urban = lcm == URBAN_LCM
    if evolution:
        urban = morphology.dilate(urban, morphology.disk(URBAN_DILATION_DISK_RADIUS))
    state.assign(urban & state.unclassified, SceneClass.NOT_VEGETATED)
    low_clouds = state.is_(SceneClass.UNCLASSIFIED, SceneClass.MEDIUM_PROBA_CLOUDS) & state.valid
    limit = URBAN_RING_CLOUDY_MAX_PCT_EVOLUTION if evolution else URBAN_RING_CLOUDY_MAX_PCT_CLASSIC
    state.assign(
        _blobs_with_clear_ring(urban & low_clouds, state, limit),
        SceneClass.NOT_VEGETATED,
        cloud=reset,
        snow=reset,
    )
    bare = (lcm >= BARE_LCM_MIN) & (lcm <= BARE_LCM_MAX)
    state.assign(bare & state.unclassified, SceneClass.NOT_VEGETATED, cloud=reset, snow=reset)
    low_clouds = state.is_(SceneClass.UNCLASSIFIED, SceneClass.MEDIUM_PROBA_CLOUDS) & state.valid
    state.assign(
        _blobs_with_clear_ring(bare & low_clouds, state, BARE_RING_CLOUDY_MAX_PCT),
        SceneClass.NOT_VEGETATED,
        cloud=reset,
        snow=reset,
    )


def land_recovery_classic(
    state: ScState, bands: dict[str, Float32Array], lcm: NDArray[np.generic] | None, resolution: int
) -> None:
    """Classic: MEDIUM/HIGH clouds that are bright ground (low B10, B09/B8A below the land mean + σ) and not
    CCI water → NOT_VEGETATED (facts §6.2).  Needs the land cover and B09; skipped with < 5 % or < 121 km² land.
    """
    if lcm is None or "B09" not in bands:
        return
    b10, b09, b8a = bands["B10"], bands["B09"], bands["B8A"]
    land = state.is_(SceneClass.NOT_VEGETATED, SceneClass.VEGETATION)
    n_valid = float(np.count_nonzero(state.valid))
    n_land = float(np.count_nonzero(land))
    hpc = state.scl == SceneClass.HIGH_PROBA_CLOUDS
    hpc_pct = np.count_nonzero(hpc) / n_valid * 100.0
    if n_land / n_valid * 100.0 < CLASSIC_LAND_MIN_PCT or n_land < CLASSIC_LAND_MIN_AREA_M2 / resolution**2:
        return
    land_mean = float(b10[land].mean())
    if hpc_pct > CLASSIC_LAND_HPC_HIGH_PCT:
        t_b10 = max(CLASSIC_LAND_B10_MIN, min(land_mean, float(b10[hpc].mean() - 2 * b10[hpc].std())))
    elif hpc_pct < CLASSIC_LAND_HPC_LOW_PCT:
        t_b10 = land_mean
    else:
        labels, _ = ndimage.label(hpc)
        sizes = np.bincount(labels.ravel())
        large = (sizes > (CLASSIC_LAND_BLOB_M / resolution) ** 2)[labels] & (labels > 0)
        # Sen2Cor's min() includes CLASSIC_LAND_B10_MIN itself, so this reduces to that floor.
        t_b10 = max(
            CLASSIC_LAND_B10_MIN,
            min(CLASSIC_LAND_B10_MIN, land_mean, float(b10[large].mean() - 2 * b10[large].std())),
        )
    t_b10 = min(t_b10, land_mean)
    r = np.zeros(b10.shape, dtype=np.float32)
    r[state.valid] = b09[state.valid] / b8a[state.valid]
    t_ratio = float(r[land].mean() + r[land].std())
    clouds = state.is_(SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS)
    state.assign((lcm != WATER_LCM) & clouds & (b10 < t_b10) & (r < t_ratio), SceneClass.NOT_VEGETATED)
