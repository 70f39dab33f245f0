"""Snow branch of the scene classification: the four snow filters, the ring test, the ESA-CCI
snow-condition checks, and the later snow recoveries.  Sen2Cor SC steps L2A_CSND_2_1 … 2_5,
L2A_SnowPostProcessingCCI, L2A_SnowRecovery, L2A_SnowSoilBorders; facts §6.1 step 3, §6.2, §6.3.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from sen2cor.sc import morphology
from sen2cor.sc.brightness import ramp, ratio
from sen2cor.sc.classes import NOT_CLASSIFIED, NOT_SNOW, SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.thresholds import (
    SNC_MEAN_MAX,
    SNC_NO_DATA,
    SNC_NO_SNOW,
    SNC_WATER,
    SNOW_B05_B8A_MIN,
    SNOW_CCI_CLOUD_PROBABILITY,
    SNOW_RING_ITERATIONS,
    SNOW_SOIL_BORDER_DISK_RADIUS,
    ScThresholds,
)

Float32Array = NDArray[np.float32]


def scene_could_have_snow(snow_map: NDArray[np.generic] | None) -> bool:
    """Whether the snow branch runs: the global snow climatology has snow (> 0) over the tile.

    ``snow_map`` is the climatology already cut to the tile footprint; ``None`` (map missing) → ``True``,
    as Sen2Cor ("global snow map not present, snow detection will be performed"; facts §6.1 step 3).
    """
    return snow_map is None or bool(np.any(snow_map > 0))


def snc_mostly_dry(snc: NDArray[np.generic]) -> bool:
    """Sen2Cor's "mean of non-water SNC < 10" test (the tile is not only sea)."""
    land = snc != SNC_WATER
    return bool(snc[land].sum() > 0) and float(snc[land].mean()) < SNC_MEAN_MAX


def _lock_not_snow(state: ScState, filter_value: Float32Array) -> None:
    """Unclassified pixels where a snow filter is 0 are locked as "not snow" until the ring test."""
    state.scl[(filter_value == 0) & state.unclassified] = NOT_SNOW


def snow_filters(
    state: ScState,
    bands: dict[str, Float32Array],
    ndsi: Float32Array,
    t: ScThresholds,
    snc: NDArray[np.generic] | None,
    *,
    snc_dry: bool | None = None,
) -> None:
    """Snow filters 1–4 (facts §6.1 step 3): the snow confidence ``s``.

    1. s = Ramp(NDSI, T1_NDSI_SNW, T2_NDSI_SNW), zero where the cloud confidence is zero and, if the
       CCI snow-condition map says the tile is mostly dry, on CCI water;
    1bis. s = 0 where B05/B8A < 0.85;
    2–4. s ×= Ramp(B8A) · Ramp(B02) · Ramp(B02/B04).
    Each zero filter locks an unclassified pixel as "not snow".  ``snc_dry`` is the "mostly dry" test of
    the whole tile's SNC, for calls on a part of it (computed from ``snc`` when None).
    """
    s = ramp(ndsi, t.t1_ndsi_snw, t.t2_ndsi_snw)
    s[(state.cloud == 0) & state.valid] = 0
    if snc is not None and (snc_mostly_dry(snc) if snc_dry is None else snc_dry):
        s[(snc == SNC_WATER) & state.valid] = 0
    state.scl[(s == 0) & state.unclassified] = NOT_SNOW
    state.snow[...] = s

    state.snow[ratio(bands["B05"], bands["B8A"]) < np.float32(SNOW_B05_B8A_MIN)] = 0
    _lock_not_snow(state, state.snow)

    for r in (
        ramp(bands["B8A"], t.t1_b8a, t.t2_b8a),
        ramp(bands["B02"], t.t1_b02, t.t2_b02),
        ramp(ratio(bands["B02"], bands["B04"]), t.t1_r_b02_b04, t.t2_r_b02_b04),
    ):
        _lock_not_snow(state, r)
        state.snow *= r


def _rows_with(mask: NDArray[np.bool_]) -> slice | None:
    """The rows from the first to the last that hold a True pixel of ``mask`` (None: no such row)."""
    rows = np.flatnonzero(mask.any(axis=1))
    return slice(int(rows[0]), int(rows[-1]) + 1) if rows.size else None


def snow_ring_test(state: ScState, b12: Float32Array, t: ScThresholds) -> None:
    """Snow filter 5 (facts §6.1 step 3): s > T1_SNOW → SNOW_ICE; ring pixels lose their cloud confidence.

    The ring is the snow mask dilated by a 7×7 diamond minus the snow itself; ring pixels with
    B12 < T2_SNOW and all snow pixels get p = 0.  The "not snow" lock is then released.
    """
    snow = (state.snow > t.f32("t1_snow")) & state.valid
    state.scl[snow] = SceneClass.SNOW_ICE
    ring = morphology.dilate(snow, morphology.diamond(SNOW_RING_ITERATIONS)) ^ snow
    rows = _rows_with(ring)
    if rows is not None:  # B12 compared on the rows with ring pixels only (TOA images convert just those rows)
        ring[rows] &= np.asarray(b12[rows]) < t.f32("t2_snow")
    state.cloud[ring | (state.scl == SceneClass.SNOW_ICE)] = 0
    state.scl[(state.scl == NOT_SNOW) & state.valid] = NOT_CLASSIFIED


def snow_cci_check(
    state: ScState, snc: NDArray[np.generic] | None, mode: Literal["evolution", "classic"]
) -> None:
    """ESA-CCI snow-condition post-check of the snow class (facts §6.1 step 3).

    Evolution: snow where SNC ∈ {0, 255} → MEDIUM cloud with p = 0.50, s = 0.  Both modes: if the tile
    is mostly dry, snow on CCI water → MEDIUM cloud (Sen2Cor's accompanying s = 0 reset is evaluated after
    the relabelling and so never applies; reproduced).  Skipped when ``snc`` is None.
    """
    if snc is None:
        return
    if mode == "evolution":
        no_snow = ((snc == SNC_NO_SNOW) | (snc == SNC_NO_DATA)) & (state.scl == SceneClass.SNOW_ICE)
        state.assign(no_snow, SceneClass.MEDIUM_PROBA_CLOUDS, cloud=SNOW_CCI_CLOUD_PROBABILITY, snow=0.0)
        dry = (
            bool(np.count_nonzero(snc != SNC_WATER) > 0)
            and float(snc[snc != SNC_WATER].mean()) < SNC_MEAN_MAX
        )
    else:
        dry = snc_mostly_dry(snc)
    if dry:
        state.assign((snc == SNC_WATER) & (state.scl == SceneClass.SNOW_ICE), SceneClass.MEDIUM_PROBA_CLOUDS)


def snow_recovery(
    state: ScState, b11: Float32Array, reference: Float32Array, mode: Literal["evolution", "classic"]
) -> None:
    """Snow recovery (facts §6.2/§6.3): unclassified pixels within a 7×7 diamond of snow with B11 < reference.

    ``reference`` is B03 in classic mode and — Sen2Cor quirk, facts §11.3 — B04 in evolution mode.
    Evolution also sets p = 0, s = 1.
    """
    near_snow = morphology.dilate(state.scl == SceneClass.SNOW_ICE, morphology.diamond(SNOW_RING_ITERATIONS))
    subset = near_snow & state.unclassified
    rows = _rows_with(subset)
    if rows is None:
        return
    # compare the bands on the rows with candidates only (TOA images convert just those rows)
    subset[rows] &= np.asarray(b11[rows]) < np.asarray(reference[rows])
    if mode == "evolution":
        state.assign(subset, SceneClass.SNOW_ICE, cloud=0.0, snow=1.0)
    else:
        state.assign(subset, SceneClass.SNOW_ICE)


def snow_soil_borders(state: ScState) -> None:
    """Evolution: MEDIUM/HIGH clouds where dilated snow meets dilated bare soil → NOT_VEGETATED (facts §6.3)."""
    disk = morphology.disk(SNOW_SOIL_BORDER_DISK_RADIUS)
    near_snow = morphology.dilate(state.scl == SceneClass.SNOW_ICE, disk)
    near_soil = morphology.dilate(state.scl == SceneClass.NOT_VEGETATED, disk)
    clouds = state.is_(SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS)
    state.assign(near_snow & near_soil & clouds, SceneClass.NOT_VEGETATED, cloud=0.0, snow=0.0)
