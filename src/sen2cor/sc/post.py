"""Final scene-classification steps: post-processing with dilations (evolution with ESA-CCI maps), the
unclassified fallback, the user median filter and the probability maps.  Sen2Cor SC postprocess /
postprocessnew; facts §6.2 end, §6.3 "Post-processing", §3 (CLD/SNW encoding).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from sen2cor.sc import morphology
from sen2cor.sc.classes import NOT_CLASSIFIED, SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.strips import for_each_strip
from sen2cor.sc.thresholds import (
    POST_CLOUD_DILATION_PX,
    POST_CLOUD_MIN_PROBABILITY,
    POST_LARGE_URBAN_CLOUD_PX,
    POST_MIN_BLOB_PX,
    POST_SHADOW_DILATION_PX,
    POST_SHORELINE_SCL_PX,
    POST_SHORELINE_WBI_PX,
    POST_SNOW_DILATION_PX,
    POST_SNOW_SOIL_DISK_RADIUS,
    URBAN_DILATION_DISK_RADIUS,
    URBAN_LCM,
)

BoolArray = NDArray[np.bool_]


def unclassified_fallback(state: ScState, mode: Literal["evolution", "classic"]) -> None:
    """Pixels no step classified → NOT_VEGETATED (evolution) or UNCLASSIFIED (classic) (facts §6.2, §6.3)."""
    label = SceneClass.NOT_VEGETATED if mode == "evolution" else SceneClass.UNCLASSIFIED
    state.scl[state.scl == NOT_CLASSIFIED] = label


def median_smoothing(state: ScState, size: int) -> None:
    """The user GIPP ``Median_Filter`` (0 = off) on the final classification (facts §2.1)."""
    if size > 0:
        state.scl = ndimage.median_filter(state.scl, size)


def _edges(mask: NDArray[np.generic]) -> BoolArray:
    """Sobel(axis 0) + Sobel(axis 1) > 0 with a zero border, Sen2Cor's shoreline edge detector."""
    sx = ndimage.sobel(mask, axis=0, mode="constant")
    sy = ndimage.sobel(mask, axis=1, mode="constant")
    edges: BoolArray = (sx + sy) > 0  # native dtype, wrap-around included, as Sen2Cor
    return edges


def _dilate_and_smooth(mask: BoolArray, size: int) -> BoolArray:
    """Blobs > 3 px of ``mask`` dilated by a ``size`` square, then a ``size`` median (facts §6.3)."""
    kept = morphology.remove_small_blobs(mask, POST_MIN_BLOB_PX)
    return morphology.binary_median(morphology.dilate(kept, morphology.square(size)), size)


def dilation_post_processing(state: ScState, lcm: NDArray[np.generic], wbi: NDArray[np.generic]) -> None:
    """Evolution post-processing with cloud, cirrus, cloud-shadow and snow dilation (facts §6.3).

    Runs only when the ESA-CCI land cover and water bodies are available.  Clouds (MEDIUM/HIGH) with
    p > 0.65 that are not on a shoreline, not in (dilated) urban areas and not on a snow/soil boundary —
    plus large clouds over urban areas — are dilated 9×9 + median 9 into MEDIUM cloud.  Thin cirrus is
    dilated from that same filtered cloud mask (Sen2Cor quirk, facts §11.2) at lower priority; cloud shadows
    are dilated 5×5 (not over clouds) and snow 3×3 (not on shorelines, clouds or shadows).  The
    "not bright" land-cover test of Sen2Cor is always false (facts §11.1), so only urban areas are excluded.
    Classes 0 and 1 are never overwritten.
    """
    scl = state.scl
    clouds = (scl == SceneClass.MEDIUM_PROBA_CLOUDS) | (scl == SceneClass.HIGH_PROBA_CLOUDS)
    shoreline = morphology.dilate(_edges(scl == SceneClass.WATER), morphology.square(POST_SHORELINE_SCL_PX))
    shoreline &= morphology.dilate(_edges(wbi), morphology.square(POST_SHORELINE_WBI_PX))

    urban = morphology.dilate(lcm == URBAN_LCM, morphology.disk(URBAN_DILATION_DISK_RADIUS))
    labels, _ = ndimage.label(clouds & urban)
    sizes = np.bincount(labels.ravel())
    large_urban_clouds = (sizes > POST_LARGE_URBAN_CLOUD_PX)[labels] & (labels > 0)

    disk = morphology.disk(POST_SNOW_SOIL_DISK_RADIUS)
    snow_soil = morphology.dilate(scl == SceneClass.SNOW_ICE, disk) & morphology.dilate(
        scl == SceneClass.NOT_VEGETATED, disk
    )
    candidates = large_urban_clouds | (
        clouds & ~shoreline & ~urban & ~snow_soil & (state.cloud > np.float32(POST_CLOUD_MIN_PROBABILITY))
    )
    cloud_grown = _dilate_and_smooth(candidates, POST_CLOUD_DILATION_PX)
    state.assign(cloud_grown & ~clouds, SceneClass.MEDIUM_PROBA_CLOUDS)

    # Thin cirrus: Sen2Cor re-uses the filtered cloud candidates here (quirk kept).
    cirrus = state.scl == SceneClass.THIN_CIRRUS
    grown = cloud_grown | cirrus
    thick = state.is_(SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS)
    state.assign(grown & ~thick, SceneClass.THIN_CIRRUS)

    shadows = state.scl == SceneClass.CLOUD_SHADOWS
    grown = _dilate_and_smooth(shadows, POST_SHADOW_DILATION_PX) | shadows
    all_clouds = state.is_(
        SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS, SceneClass.THIN_CIRRUS
    )
    state.assign(grown & ~all_clouds, SceneClass.CLOUD_SHADOWS)

    snow = (state.scl == SceneClass.SNOW_ICE) & ~shoreline
    grown = _dilate_and_smooth(snow, POST_SNOW_DILATION_PX) | snow
    blocked = state.is_(
        SceneClass.MEDIUM_PROBA_CLOUDS,
        SceneClass.HIGH_PROBA_CLOUDS,
        SceneClass.THIN_CIRRUS,
        SceneClass.CLOUD_SHADOWS,
    )
    state.assign(grown & ~blocked, SceneClass.SNOW_ICE)


def probability_maps(state: ScState) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """CLD and SNW maps: uint8 ``p·100 + 0.5`` truncated, zero on NO_DATA and SATURATED_DEFECTIVE (facts §3, §6.3).

    Returns
    -------
    cloud, snow : ndarray of uint8, shape (rows, cols), 0–100
    """
    cloud = np.empty(state.scl.shape, dtype=np.uint8)
    snow = np.empty(state.scl.shape, dtype=np.uint8)

    def strip(rows: slice) -> None:
        scl = state.scl[rows]
        invalid = (scl == SceneClass.NO_DATA) | (scl == SceneClass.SATURATED_DEFECTIVE)
        for conf, out in ((state.cloud, cloud), (state.snow, snow)):
            c = np.array(conf[rows], dtype=np.float32, copy=True)
            c[invalid] = 0
            out[rows] = (c * np.float32(100) + np.float32(0.5)).astype(np.uint8)

    for_each_strip(strip, state.scl.shape[0])
    return cloud, snow
