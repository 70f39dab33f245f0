"""Cirrus from B10: the thin/thick cirrus tests of step 7 and the B10 cirrus recoveries.
Sen2Cor SC steps L2A_CSND_7 (cirrus part) and L2A_CirrusPixelRecoveryB10; facts §6.1 step 10, §6.2, §6.3.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from sen2cor.sc.classes import SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.thresholds import (
    B10_ALTITUDE_A,
    B10_ALTITUDE_B,
    B10_LAND_FLOOR,
    B10_PERCENTILE,
    B10_WATER_FLOOR,
    CIRRUS_B02_MAX,
    CIRRUS_DEM_MAX_M,
    CLASSIC_B10_LAND_SIGMAS,
    CLASSIC_B10_WATER_SIGMAS,
    THICK_CIRRUS_CLOUD_PROBABILITY,
    ScThresholds,
)

Float32Array = NDArray[np.float32]
f32 = np.float32


def cirrus_classes(
    state: ScState,
    b02: Float32Array,
    b10: Float32Array,
    t: ScThresholds,
    dem: NDArray[np.floating] | None,
    altitude_km: float,
    mode: Literal["evolution", "classic"],
) -> None:
    """Step 7 (cirrus part, facts §6.1 step 10): thin cirrus and thick cirrus from TOA B10.

    T1_B10 < B10 < T2_B10, B02 < 0.50 and p < T_CLOUD_MP → THIN_CIRRUS (any valid class);
    B10 ≥ T2_B10 and p < T_CLOUD_HP → MEDIUM_PROBA_CLOUDS.  Both only below 1500 m.  Without a DEM,
    evolution mode uses the flat-terrain ``altitude_km`` (GIPP Altitude) and classic mode drops the
    elevation test; classic mode never applies it to thick cirrus.  Evolution sets p = 0.65, s = 0 on
    thick cirrus.
    """
    p = state.cloud
    if dem is not None:
        low_enough = dem < CIRRUS_DEM_MAX_M
    elif mode == "evolution":
        flat_m = int(np.int16(altitude_km * 1000.0))  # Sen2Cor builds an int16 flat DEM
        low_enough = np.full(p.shape, flat_m < CIRRUS_DEM_MAX_M)
    else:
        low_enough = np.ones(p.shape, dtype=bool)
    thin = (
        (b10 > t.f32("t1_b10"))
        & (b10 < t.f32("t2_b10"))
        & (b02 < f32(CIRRUS_B02_MAX))
        & (p < t.f32("t_cloud_mp"))
    )
    state.assign(thin & low_enough, SceneClass.THIN_CIRRUS)
    thick = (b10 >= t.f32("t2_b10")) & (p < t.f32("t_cloud_hp")) & state.valid
    if mode == "evolution":
        state.assign(
            thick & low_enough, SceneClass.MEDIUM_PROBA_CLOUDS, cloud=THICK_CIRRUS_CLOUD_PROBABILITY, snow=0.0
        )
    else:
        state.assign(thick, SceneClass.MEDIUM_PROBA_CLOUDS)


def b10_terrain_corrected(
    b10: Float32Array,
    sun_zenith_deg: float,
    illumination: NDArray[np.uint8] | None,
    dem: NDArray[np.floating] | None,
) -> Float32Array:
    """B10 corrected for local incidence and for the water-vapour column above the ground (facts §6.3).

    ``B10 · cos(SZA) / clip(cos β, cos SZA, 1) · exp((−0.49 − 0.011·h)·h)``, h = DEM in km, cos β = byte/255.
    Without a DEM the plain B10 is returned, as Sen2Cor does.
    """
    if dem is None or illumination is None:
        return b10
    cos_sza = np.cos(np.deg2rad(sun_zenith_deg))
    cbeta = illumination.astype(np.float32) / f32(255.0)
    h_km = dem / 1000.0
    corrected = b10 * cos_sza / np.clip(cbeta, cos_sza, 1.0)
    corrected = corrected * np.exp((B10_ALTITUDE_A + B10_ALTITUDE_B * h_km) * h_km)
    return corrected.astype(np.float32)


def _evolution_threshold(b10: Float32Array, mask: NDArray[np.bool_], floor: float, t1_b10: float) -> float:
    """min(max(2·mean − P1, floor), T1_B10) of B10 over ``mask`` (facts §6.3)."""
    values = b10[mask]
    return float(min(max(2 * values.mean() - np.percentile(values, B10_PERCENTILE), floor), t1_b10))


def cirrus_recovery_evolution(
    state: ScState,
    b10: Float32Array,
    t: ScThresholds,
    sun_zenith_deg: float,
    dem: NDArray[np.floating] | None,
    illumination: NDArray[np.uint8] | None,
) -> None:
    """Evolution B10 cirrus recovery (needs the ESA-CCI land cover; facts §6.3).

    Water threshold T_w over WATER pixels; land threshold T_land = area-weighted mix of the VEGETATION and
    NOT_VEGETATED thresholds (T = min(max(2·mean − P1, floor), T1_B10)).  T_land is stored in
    ``state.b10_land_threshold`` for the parallax false-cloud test.  With a DEM: corrected B10 in
    [T_land, T2_B10), below 1500 m, not MEDIUM/HIGH cloud → THIN_CIRRUS; water with B10 > T_w below 1500 m →
    THIN_CIRRUS.  Without a DEM: land (VEGETATION or NOT_VEGETATED) with B10 > T_land, water with B10 > T_w.
    """
    t1_b10 = float(t.f32("t1_b10"))
    water = state.scl == SceneClass.WATER
    t_water = _evolution_threshold(b10, water, B10_WATER_FLOOR, t1_b10) if water.any() else t1_b10
    veg = state.scl == SceneClass.VEGETATION
    bare = state.scl == SceneClass.NOT_VEGETATED
    n_veg, n_bare = int(np.count_nonzero(veg)), int(np.count_nonzero(bare))
    land = veg | bare
    if n_veg + n_bare:
        t_veg = _evolution_threshold(b10, veg, B10_LAND_FLOOR, t1_b10) if n_veg else 0.0
        t_bare = _evolution_threshold(b10, bare, B10_LAND_FLOOR, t1_b10) if n_bare else 0.0
        t_land = (n_veg * t_veg + n_bare * t_bare) / (n_veg + n_bare)
    else:
        t_land = t1_b10
    state.b10_land_threshold = t_land
    state.diagnostics.update(b10_land_threshold=t_land, b10_water_threshold=t_water)
    clouds = state.is_(SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS)
    if dem is not None:
        low_enough = dem < CIRRUS_DEM_MAX_M
        corrected = b10_terrain_corrected(b10, sun_zenith_deg, illumination, dem)
        on_land = (corrected >= t_land) & (corrected < t.f32("t2_b10")) & low_enough & ~clouds
        state.assign(on_land, SceneClass.THIN_CIRRUS)
        on_water = (state.scl == SceneClass.WATER) & (b10 > t_water) & low_enough
    else:
        state.assign(land & (b10 > t_land), SceneClass.THIN_CIRRUS)
        on_water = (state.scl == SceneClass.WATER) & (b10 > t_water)
    clouds = state.is_(SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS)
    state.assign(on_water & ~clouds, SceneClass.THIN_CIRRUS)


def cirrus_recovery_classic(state: ScState, b10: Float32Array, dem: NDArray[np.floating] | None) -> None:
    """Classic B10 cirrus recovery (needs the ESA-CCI land cover; facts §6.2).

    Land threshold max(mean + 3σ of B10 over NOT_VEGETATED, 0.003), water threshold max(mean + σ over
    WATER, 0.002); land (VEGETATION/NOT_VEGETATED) and water above them → THIN_CIRRUS (below 1500 m with a
    DEM).  An empty class gives a NaN threshold that never matches, as in Sen2Cor.
    """

    def stat(mask: NDArray[np.bool_], sigmas: float, floor: float) -> float:
        if not mask.any():
            return float("nan")
        v = b10[mask]
        return max(float(v.mean() + sigmas * v.std()), floor)

    t_land = stat(state.scl == SceneClass.NOT_VEGETATED, CLASSIC_B10_LAND_SIGMAS, B10_LAND_FLOOR)
    t_water = stat(state.scl == SceneClass.WATER, CLASSIC_B10_WATER_SIGMAS, B10_WATER_FLOOR)
    land = state.is_(SceneClass.NOT_VEGETATED, SceneClass.VEGETATION)
    low_enough = dem < CIRRUS_DEM_MAX_M if dem is not None else np.ones(b10.shape, dtype=bool)
    state.assign(land & (b10 > t_land) & low_enough, SceneClass.THIN_CIRRUS)
    clouds = state.is_(SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS)
    on_water = (state.scl == SceneClass.WATER) & (b10 > t_water) & low_enough & ~clouds
    state.assign(on_water, SceneClass.THIN_CIRRUS)
