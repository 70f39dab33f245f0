"""Cloud height from the B08/B8A parallax: Shi–Tomasi corners tracked with pyramidal Lucas–Kanade
(OpenCV), the cloud-height image, the height statistics of the cloud mask, and the false-cloud /
false-snow removal that uses them.  Sen2Cor L2A_KLT_Tracker and the parallax part of
L2A_CSHD_2_KLT_GAUSSIAN_BIS; facts §6.3.

B08 (10 m) and B8A (20 m) are imaged ~0.012 of a pixel apart per metre of height … more precisely, a
displacement of d pixels between them corresponds to a height of d · resolution / 0.012 metres.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.spatial import cKDTree

from sen2cor.sc import morphology
from sen2cor.sc.classes import SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.thresholds import (
    DN_SCALE,
    FALSE_CLOUD_HEIGHT_MAX_M,
    FALSE_SNOW_CLOUD_PROBABILITY,
    FALSE_SNOW_HEIGHT_MIN_M,
    KLT_BLOCK_SIZE,
    KLT_EPSILON,
    KLT_FB_MAX_ERROR_PX,
    KLT_HEIGHT_DILATION_PX,
    KLT_HEIGHT_GAUSSIAN_SIGMA_PX,
    KLT_HEIGHT_SCALE,
    KLT_LAPLACIAN_KSIZE,
    KLT_MAX_CLOUD_FRACTION,
    KLT_MAX_CORNERS,
    KLT_MAX_ITERATIONS,
    KLT_MIN_DISTANCE_PX,
    KLT_PARALLAX,
    KLT_PYRAMID_LEVELS,
    KLT_QUALITY_LEVEL,
    KLT_WINDOW_PX,
    WBI_WATER,
)

log = logging.getLogger(__name__)

UInt16Array = NDArray[np.uint16]
Float32Array = NDArray[np.float32]


@dataclass(frozen=True)
class TrackedPoints:
    """Corners kept after forward–backward tracking.

    Attributes
    ----------
    x, y : ndarray of float32, shape (n,)
        Corner positions in the B8A image (pixels, column/row).
    displacement : ndarray of float32, shape (n,)
        Radial displacement B8A → B08 in pixels.
    """

    x: Float32Array
    y: Float32Array
    displacement: Float32Array


@dataclass(frozen=True)
class CloudHeightStats:
    """Statistics (metres) of the heights tracked inside the cloud mask (facts §6.3)."""

    mean: float
    std: float
    minimum: float
    maximum: float
    count: int


def parallax_images(b08: Float32Array, b8a: Float32Array) -> tuple[UInt16Array, UInt16Array]:
    """The two 16-bit images Sen2Cor tracks: B08 as rounded DN and B8A as truncated ``10000·ρ``.

    Parameters
    ----------
    b08 : ndarray of float32, shape (rows, cols)
        TOA B08 block-averaged from 10 m to the working grid.
    b8a : ndarray of float32, shape (rows, cols)
        TOA B8A on the working grid.
    """
    # Sen2Cor rounds the block mean of B08 DNs (uint16(mean + 0.5)); 1e-3 absorbs float32 noise of ρ·1e4.
    img = np.floor(b08.astype(np.float64) * DN_SCALE + 0.5 + 1e-3).clip(0, 65535).astype(np.uint16)
    ref = (b8a * np.float32(DN_SCALE)).astype(np.uint16)
    return img, ref


def track_points(reference: UInt16Array, image: UInt16Array, mask: NDArray[np.bool_]) -> TrackedPoints | None:
    """Shi–Tomasi corners of ``reference`` inside ``mask`` tracked into ``image`` and back (facts §6.3).

    Both images are first Laplacian-filtered (kernel 5, saturated to 8 bit).  Points whose
    forward–backward error exceeds 0.1 px are dropped.  Returns None when no corner is found.
    """
    ref8 = cv2.Laplacian(reference, cv2.CV_8U, ksize=KLT_LAPLACIAN_KSIZE)
    img8 = cv2.Laplacian(image, cv2.CV_8U, ksize=KLT_LAPLACIAN_KSIZE)
    p0 = cv2.goodFeaturesToTrack(
        ref8,
        maxCorners=KLT_MAX_CORNERS,
        qualityLevel=KLT_QUALITY_LEVEL,
        minDistance=KLT_MIN_DISTANCE_PX,
        mask=mask.astype(np.uint8),
        blockSize=KLT_BLOCK_SIZE,
    )
    if p0 is None or len(p0) == 0:
        return None
    lk = {
        "winSize": (KLT_WINDOW_PX, KLT_WINDOW_PX),
        "maxLevel": KLT_PYRAMID_LEVELS,
        "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, KLT_MAX_ITERATIONS, KLT_EPSILON),
    }
    p1, _, _ = cv2.calcOpticalFlowPyrLK(ref8, img8, p0, None, **lk)
    p0r, _, _ = cv2.calcOpticalFlowPyrLK(img8, ref8, p1, None, **lk)
    keep = np.abs(p0 - p0r).reshape(-1, 2).max(-1) < KLT_FB_MAX_ERROR_PX
    a, b = p0[keep].reshape(-1, 2), p1[keep].reshape(-1, 2)
    d = np.sqrt((b[:, 0] - a[:, 0]) ** 2 + (b[:, 1] - a[:, 1]) ** 2)
    return TrackedPoints(a[:, 0], a[:, 1], d.astype(np.float32))


def _nearest_fill(points: TrackedPoints, shape: tuple[int, int], scale: float) -> NDArray[np.float64]:
    """100·displacement of the nearest tracked point at each node of a grid ``scale`` times coarser."""
    rows, cols = shape
    tree = cKDTree(np.column_stack([points.x, points.y]).astype(np.float64) / scale)
    gy, gx = np.mgrid[0:rows, 0:cols]
    _, idx = tree.query(np.column_stack([gx.ravel(), gy.ravel()]), workers=-1)
    values = KLT_HEIGHT_SCALE * points.displacement.astype(np.float64)
    return values[idx].reshape(rows, cols)


def _resize_linear(values: NDArray[np.float64], shape: tuple[int, int]) -> NDArray[np.float64]:
    """Bilinear up-sampling with pixel-centre alignment, mirror border and clipping to the input range
    (the behaviour of ``skimage.transform.resize(order=1, preserve_range=True)``)."""
    factors = (shape[0] / values.shape[0], shape[1] / values.shape[1])
    out = ndimage.zoom(values, factors, order=1, mode="mirror", grid_mode=True)
    out = out[: shape[0], : shape[1]]
    return np.clip(out, values.min(), values.max())


def _gaussian_uint16(values: UInt16Array, sigma: float) -> UInt16Array:
    """``gaussian_filter`` on a uint16 image: each separable pass is truncated back to uint16, as SciPy does."""
    out = values
    for axis in (0, 1):
        smoothed = ndimage.gaussian_filter1d(out.astype(np.float64), sigma, axis=axis, mode="reflect")
        out = np.floor(smoothed).clip(0, 65535).astype(np.uint16)
    return out


def cloud_height_image(
    image: UInt16Array, reference: UInt16Array, valid: NDArray[np.bool_], resolution: int
) -> NDArray[np.uint16] | None:
    """Per-pixel cloud height (m, uint16) from the tracked displacements (facts §6.3).

    Displacements of all valid-area corners are spread by nearest neighbour (on a 40 m grid for 20 m
    runs, then bilinearly up-sampled; on the native grid at 60 m), kept on valid pixels, grey-dilated
    6×6, Gaussian-smoothed (σ = 5 px) and converted with height = d · resolution / 0.012.
    Returns None when no corner survives tracking.
    """
    points = track_points(reference, image, valid)
    if points is None or points.x.size == 0:
        return None
    rows, cols = image.shape
    if resolution >= 60:
        spread = _nearest_fill(points, (rows, cols), 1.0)
    else:
        half = (int(np.ceil(rows / 2)), int(np.ceil(cols / 2)))
        spread = _resize_linear(_nearest_fill(points, half, 2.0), (rows, cols))
    heights = np.zeros((rows, cols), dtype=np.uint16)
    heights[valid] = spread[valid].astype(np.uint16)
    # ndimage.grey_dilation(size=6) looks at offsets −2 … +3: OpenCV anchor (2, 2).
    half = (KLT_HEIGHT_DILATION_PX - 1) // 2
    kernel = np.ones((KLT_HEIGHT_DILATION_PX, KLT_HEIGHT_DILATION_PX), np.uint8)
    heights = cv2.dilate(heights, kernel, anchor=(half, half))
    heights = _gaussian_uint16(heights, KLT_HEIGHT_GAUSSIAN_SIGMA_PX)
    out: NDArray[np.uint16] = (heights / KLT_HEIGHT_SCALE * resolution / KLT_PARALLAX).astype(np.uint16)
    return out


def cloud_height_stats(
    image: UInt16Array, reference: UInt16Array, cloud_mask: NDArray[np.bool_], resolution: int
) -> CloudHeightStats | None:
    """Mean, σ, min, max and count of the heights (m) of corners tracked inside ``cloud_mask``."""
    points = track_points(reference, image, cloud_mask)
    if points is None or points.displacement.size == 0:
        return None
    h = points.displacement.astype(np.float64) * resolution / KLT_PARALLAX
    return CloudHeightStats(float(h.mean()), float(h.std()), float(h.min()), float(h.max()), int(h.size))


def false_cloud_removal(
    state: ScState, heights: NDArray[np.uint16], b10: Float32Array, wbi: NDArray[np.generic] | None
) -> None:
    """Pixels with cloud probability tracked below 350 m with B10 under the land threshold are ground:
    NOT_VEGETATED (WATER where the ESA-CCI says water), p = 0 (facts §6.3).

    Skipped when MEDIUM + HIGH + cirrus cover 95 % or more of the valid pixels.  Thin cirrus and
    vegetation are never touched.
    """
    clouds = state.is_(SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS, SceneClass.THIN_CIRRUS)
    if (
        np.count_nonzero(clouds & state.valid) / max(np.count_nonzero(state.valid), 1)
        >= KLT_MAX_CLOUD_FRACTION
    ):
        return
    candidates = (state.cloud > 0) & ~state.is_(SceneClass.THIN_CIRRUS, SceneClass.VEGETATION) & state.valid
    ground = (heights < FALSE_CLOUD_HEIGHT_MAX_M) & (b10 < np.float32(state.b10_land_threshold)) & candidates
    state.assign(ground, SceneClass.NOT_VEGETATED, cloud=0.0)
    if wbi is not None:
        state.assign(ground & (wbi == WBI_WATER), SceneClass.WATER)
    state.diagnostics["false_cloud_pixels"] = float(np.count_nonzero(ground))


def false_snow_removal(state: ScState, heights: NDArray[np.uint16], snow_before: NDArray[np.bool_]) -> None:
    """Snow tracked above 700 m is cloud: MEDIUM_PROBA_CLOUDS, s = 0, p = 0.5 (facts §6.3)."""
    high = (heights > FALSE_SNOW_HEIGHT_MIN_M) & snow_before
    state.assign(high, SceneClass.MEDIUM_PROBA_CLOUDS, cloud=FALSE_SNOW_CLOUD_PROBABILITY, snow=0.0)
    state.diagnostics["false_snow_pixels"] = float(np.count_nonzero(high))


def shadow_cloud_mask(cloud: Float32Array, threshold: float) -> NDArray[np.bool_]:
    """The cloud mask of the shadow geometry: 3×3 median of p above ``threshold``, dilated with a cross."""
    return morphology.dilate(morphology.median3(cloud) > np.float32(threshold), morphology.CROSS)
