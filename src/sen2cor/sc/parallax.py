"""Cloud height from the B08/B8A parallax: Shi–Tomasi corners tracked with pyramidal Lucas–Kanade
(OpenCV), the cloud-height image, the height statistics of the cloud mask, and the false-cloud /
false-snow removal that uses them.  Sen2Cor L2A_KLT_Tracker and the parallax part of
L2A_CSHD_2_KLT_GAUSSIAN_BIS; facts §6.3.

B08 (10 m) and B8A (20 m) are imaged ~0.012 of a pixel apart per metre of height … more precisely, a
displacement of d pixels between them corresponds to a height of d · resolution / 0.012 metres.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from sen2cor.sc import height_field, morphology
from sen2cor.sc.classes import SceneClass
from sen2cor.sc.corners import CornerFinder
from sen2cor.sc.state import ScState
from sen2cor.sc.strips import for_each_strip
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

LUCAS_KANADE_OPTIONS: Final[dict[str, object]] = {
    "winSize": (KLT_WINDOW_PX, KLT_WINDOW_PX),
    "maxLevel": KLT_PYRAMID_LEVELS,
    "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, KLT_MAX_ITERATIONS, KLT_EPSILON),
}
"""``cv2.calcOpticalFlowPyrLK`` options of the tracking (facts §6.3)."""


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
    img = np.empty(b08.shape, dtype=np.uint16)
    ref = np.empty(b8a.shape, dtype=np.uint16)

    def convert(rows: slice) -> None:
        # Sen2Cor rounds the block mean of B08 DNs (uint16(mean + 0.5)); 1e-3 absorbs float32 noise of ρ·1e4.
        dn = np.floor(b08[rows].astype(np.float64) * DN_SCALE + 0.5 + 1e-3)
        img[rows] = dn.clip(0, 65535).astype(np.uint16)
        ref[rows] = (b8a[rows] * np.float32(DN_SCALE)).astype(np.uint16)

    for_each_strip(convert, b08.shape[0])
    return img, ref


class ParallaxTracker:
    """Corner tracking between the Laplacian-filtered B8A (reference) and B08 (image), facts §6.3.

    Both images are Laplacian-filtered once (kernel 5, saturated to 8 bit).  :meth:`track` finds the
    Shi–Tomasi corners of the reference inside a mask (``cv2.goodFeaturesToTrack``'s selection, with the
    eigenvalue image computed once, :mod:`sen2cor.sc.corners`) and tracks them into the image and back with
    pyramidal Lucas–Kanade.  Lucas–Kanade follows every corner on its own, so a corner already tracked by
    an earlier call of the same tracker (the cloud-mask call after the valid-area call) is not tracked
    again: its result is the same.

    :meth:`start` tracks a mask on a background thread while the classification goes on: on a full 20 m
    tile the valid area has ≈ 440 000 corners, 2.4 s of tracking on two cores (7 s before the corners
    were tracked in raster order, :meth:`_lucas_kanade`), and the steps before the parallax step (cloud
    probability, recoveries) leave a core idle part of the time.
    """

    def __init__(self, image: UInt16Array | None = None, reference: UInt16Array | None = None) -> None:
        """Without images the tracker is empty until :meth:`_filter` gives it some (see :meth:`from_bands`)."""
        self._pending: tuple[NDArray[np.bool_], Future[TrackedPoints | None]] | None = None
        self._clear()
        if image is not None and reference is not None:
            self._filter(image, reference)

    def _clear(self) -> None:
        self.reference8 = self.image8 = np.empty((0, 0), dtype=np.uint8)
        self._corner_finder: CornerFinder | None = None
        self._remember_reset()

    def _filter(self, image: UInt16Array, reference: UInt16Array) -> None:
        self.reference8 = cv2.Laplacian(reference, cv2.CV_8U, ksize=KLT_LAPLACIAN_KSIZE)
        self.image8 = cv2.Laplacian(image, cv2.CV_8U, ksize=KLT_LAPLACIAN_KSIZE)

    @classmethod
    def from_bands(cls, b08: Float32Array, b8a: Float32Array, *, track: NDArray[np.bool_] | None = None
                   ) -> ParallaxTracker:
        """A tracker of B08 against B8A (:func:`parallax_images`), its corner eigenvalues computed.

        The 16-bit images are dropped before the eigenvalue image, whose OpenCV buffers are the largest
        transient of the classification, is computed.  With ``track``, the images, the eigenvalues and the
        tracking of that mask are all done on a background thread (:meth:`start`): ≈ 1 s of filtering on a
        full tile that the classification need not wait for; the tracker's methods wait for it.  ``b08``
        and ``b8a`` are read by rows (a :class:`~sen2cor.physics.toa_image.ToaImage` converts only those).
        """
        if track is None:
            tracker = cls(*parallax_images(b08, b8a))
            tracker.corner_finder()
            return tracker
        tracker = cls()
        source = [b08, b8a]

        def build_and_track() -> TrackedPoints | None:
            image, reference = parallax_images(*source)
            source.clear()  # the bands are not held while the corners are tracked
            tracker._filter(image, reference)
            del image, reference
            tracker.corner_finder()
            return tracker._track(track)

        tracker._submit(track, build_and_track)
        return tracker

    def corner_finder(self) -> CornerFinder:
        """The Shi–Tomasi selector of the reference, built on first use."""
        if self._corner_finder is None:
            self._corner_finder = CornerFinder(self.reference8, KLT_BLOCK_SIZE)
        return self._corner_finder

    def release(self) -> None:
        """Drop the images and tracked corners (about 200 MB on a full tile); the tracker is unusable after."""
        self._join()
        self._clear()

    def _remember_reset(self) -> None:
        self._known_keys = np.empty(0, dtype=np.int64)
        self._known_forward = np.empty((0, 1, 2), dtype=np.float32)
        self._known_backward = np.empty((0, 1, 2), dtype=np.float32)

    def _lucas_kanade(self, p0: Float32Array) -> tuple[Float32Array, Float32Array]:
        """``(p1, p0r)``: the corners ``p0`` (shape (n, 1, 2)) tracked forward into the image and back, in
        the order given.

        OpenCV is handed the corners in raster order (row, then column), not in the selection's order of
        decreasing strength: Lucas–Kanade follows each corner on its own, so the order changes no result,
        but corners that follow each other then read overlapping windows of the same rows, which stay in
        the CPU caches.  On the benchmark tile (438 000 corners) 14.6 → 4.7 CPU-s, identical output.
        """
        lk = LUCAS_KANADE_OPTIONS
        order = np.lexsort((p0[:, 0, 0], p0[:, 0, 1]))
        raster = np.ascontiguousarray(p0[order])
        p1_raster, _, _ = cv2.calcOpticalFlowPyrLK(self.reference8, self.image8, raster, None, **lk)
        p0r_raster, _, _ = cv2.calcOpticalFlowPyrLK(self.image8, self.reference8, p1_raster, None, **lk)
        p1, p0r = np.empty_like(p1_raster), np.empty_like(p0r_raster)
        p1[order], p0r[order] = p1_raster, p0r_raster
        return p1, p0r

    def start(self, mask: NDArray[np.bool_]) -> None:
        """Begin :meth:`track` of ``mask`` on a background thread; :meth:`track` of the same array returns
        its result.  ``mask`` must not change meanwhile."""
        self._join()
        self._submit(mask, lambda: self._track(mask))

    def _submit(self, mask: NDArray[np.bool_], work: Callable[[], TrackedPoints | None]) -> None:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sen2cor-parallax")
        self._pending = (mask, pool.submit(work))
        pool.shutdown(wait=False)  # the thread ends with its tracking

    def _join(self) -> TrackedPoints | None:
        """Wait for a background :meth:`start` (its result, None when there is none)."""
        pending, self._pending = self._pending, None
        return None if pending is None else pending[1].result()

    def track(self, mask: NDArray[np.bool_]) -> TrackedPoints | None:
        """Corners inside ``mask`` whose forward–backward error is below 0.1 px; None when none is found."""
        if self._pending is not None and self._pending[0] is mask:
            return self._join()
        self._join()  # never two trackings at once: they share the remembered corners
        return self._track(mask)

    def _track(self, mask: NDArray[np.bool_]) -> TrackedPoints | None:
        p0 = self.corner_finder().find(mask, KLT_MAX_CORNERS, KLT_QUALITY_LEVEL, KLT_MIN_DISTANCE_PX)
        if p0 is None:
            return None
        # goodFeaturesToTrack returns whole-pixel corners: row · cols + column identifies them.
        keys = p0[:, 0, 1].astype(np.int64) * self.reference8.shape[1] + p0[:, 0, 0].astype(np.int64)
        pos = np.searchsorted(self._known_keys, keys).clip(max=max(self._known_keys.size - 1, 0))
        known = self._known_keys[pos] == keys if self._known_keys.size else np.zeros(len(keys), dtype=bool)
        p1, p0r = np.empty_like(p0), np.empty_like(p0)
        p1[known], p0r[known] = self._known_forward[pos[known]], self._known_backward[pos[known]]
        new = ~known
        if new.any():
            p1[new], p0r[new] = self._lucas_kanade(np.ascontiguousarray(p0[new]))
            self._remember(keys[new], p1[new], p0r[new])
        keep = np.abs(p0 - p0r).reshape(-1, 2).max(-1) < KLT_FB_MAX_ERROR_PX
        a, b = p0[keep].reshape(-1, 2), p1[keep].reshape(-1, 2)
        d = np.sqrt((b[:, 0] - a[:, 0]) ** 2 + (b[:, 1] - a[:, 1]) ** 2)
        return TrackedPoints(a[:, 0], a[:, 1], d.astype(np.float32))

    def _remember(self, keys: NDArray[np.int64], forward: Float32Array, backward: Float32Array) -> None:
        all_keys = np.concatenate([self._known_keys, keys])
        order = np.argsort(all_keys, kind="stable")
        self._known_keys = all_keys[order]
        self._known_forward = np.concatenate([self._known_forward, forward])[order]
        self._known_backward = np.concatenate([self._known_backward, backward])[order]


def track_points(reference: UInt16Array, image: UInt16Array, mask: NDArray[np.bool_]) -> TrackedPoints | None:
    """Shi–Tomasi corners of ``reference`` inside ``mask`` tracked into ``image`` and back (facts §6.3).

    Both images are first Laplacian-filtered (kernel 5, saturated to 8 bit).  Points whose
    forward–backward error exceeds 0.1 px are dropped.  Returns None when no corner is found.
    """
    return ParallaxTracker(image, reference).track(mask)


def tracked_height_image(
    tracker: ParallaxTracker, valid: NDArray[np.bool_], resolution: int
) -> NDArray[np.uint16] | None:
    """Per-pixel cloud height (m, uint16) from the displacements of the corners tracked in ``valid``
    (facts §6.3).

    Displacements of all valid-area corners are spread by nearest neighbour (on a 40 m grid for 20 m
    runs, then bilinearly up-sampled; on the native grid at 60 m), kept on valid pixels, grey-dilated
    6×6, Gaussian-smoothed (σ = 5 px) and converted with height = d · resolution / 0.012.
    Returns None when no corner survives tracking.
    """
    points = tracker.track(valid)
    if points is None or points.x.size == 0:
        return None
    rows, cols = valid.shape
    values = KLT_HEIGHT_SCALE * points.displacement.astype(np.float64)
    x, y = points.x.astype(np.float64), points.y.astype(np.float64)
    if resolution >= 60:
        heights = height_field.cast_on_valid(
            values[height_field.nearest_point_index(x, y, (rows, cols))], valid
        )
    else:
        half = (int(np.ceil(rows / 2)), int(np.ceil(cols / 2)))
        spread = values[height_field.nearest_point_index(x / 2.0, y / 2.0, half)]
        heights = height_field.upsample_on_valid(spread, (rows, cols), valid)
    # ndimage.grey_dilation(size=6) looks at offsets −2 … +3: OpenCV anchor (2, 2).
    anchor = (KLT_HEIGHT_DILATION_PX - 1) // 2
    kernel = np.ones((KLT_HEIGHT_DILATION_PX, KLT_HEIGHT_DILATION_PX), np.uint8)
    heights = cv2.dilate(heights, kernel, anchor=(anchor, anchor))
    return height_field.smoothed_heights_m(
        heights, KLT_HEIGHT_GAUSSIAN_SIGMA_PX, KLT_HEIGHT_SCALE, resolution, KLT_PARALLAX
    )


def tracked_height_stats(
    tracker: ParallaxTracker, cloud_mask: NDArray[np.bool_], resolution: int
) -> CloudHeightStats | None:
    """Mean, σ, min, max and count of the heights (m) of corners tracked inside ``cloud_mask``."""
    points = tracker.track(cloud_mask)
    if points is None or points.displacement.size == 0:
        return None
    h = points.displacement.astype(np.float64) * resolution / KLT_PARALLAX
    return CloudHeightStats(float(h.mean()), float(h.std()), float(h.min()), float(h.max()), int(h.size))


def cloud_height_image(
    image: UInt16Array, reference: UInt16Array, valid: NDArray[np.bool_], resolution: int
) -> NDArray[np.uint16] | None:
    """:func:`tracked_height_image` of a fresh tracker of ``image`` (B08) against ``reference`` (B8A)."""
    return tracked_height_image(ParallaxTracker(image, reference), valid, resolution)


def cloud_height_stats(
    image: UInt16Array, reference: UInt16Array, cloud_mask: NDArray[np.bool_], resolution: int
) -> CloudHeightStats | None:
    """:func:`tracked_height_stats` of a fresh tracker of ``image`` (B08) against ``reference`` (B8A)."""
    return tracked_height_stats(ParallaxTracker(image, reference), cloud_mask, resolution)


def false_cloud_removal(
    state: ScState, heights: NDArray[np.uint16], b10: Float32Array, wbi: NDArray[np.generic] | None
) -> None:
    """Pixels with cloud probability tracked below 350 m with B10 under the land threshold are ground:
    NOT_VEGETATED (WATER where the ESA-CCI says water), p = 0 (facts §6.3).

    Skipped when MEDIUM + HIGH + cirrus cover 95 % or more of the valid pixels.  Thin cirrus and
    vegetation are never touched.
    """
    n_rows = state.scl.shape[0]
    tallies: list[tuple[int, int]] = []

    def count(rows: slice) -> None:
        st = state.rows(rows)
        clouds = st.is_(SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS, SceneClass.THIN_CIRRUS)
        tallies.append((np.count_nonzero(clouds & st.valid), np.count_nonzero(st.valid)))

    for_each_strip(count, n_rows)
    cloudy, valid = (sum(column) for column in zip(*tallies))
    if cloudy / max(valid, 1) >= KLT_MAX_CLOUD_FRACTION:
        return
    b10_max = np.float32(state.b10_land_threshold)
    removed: list[int] = []

    def remove(rows: slice) -> None:
        st = state.rows(rows)
        candidates = (st.cloud > 0) & ~st.is_(SceneClass.THIN_CIRRUS, SceneClass.VEGETATION) & st.valid
        ground = (heights[rows] < FALSE_CLOUD_HEIGHT_MAX_M) & (b10[rows] < b10_max) & candidates
        st.assign(ground, SceneClass.NOT_VEGETATED, cloud=0.0)
        if wbi is not None:
            st.assign(ground & (wbi[rows] == WBI_WATER), SceneClass.WATER)
        removed.append(np.count_nonzero(ground))

    for_each_strip(remove, n_rows)
    state.diagnostics["false_cloud_pixels"] = float(sum(removed))


def false_snow_removal(state: ScState, heights: NDArray[np.uint16], snow_before: NDArray[np.bool_]) -> None:
    """Snow tracked above 700 m is cloud: MEDIUM_PROBA_CLOUDS, s = 0, p = 0.5 (facts §6.3)."""
    high = (heights > FALSE_SNOW_HEIGHT_MIN_M) & snow_before
    state.assign(high, SceneClass.MEDIUM_PROBA_CLOUDS, cloud=FALSE_SNOW_CLOUD_PROBABILITY, snow=0.0)
    state.diagnostics["false_snow_pixels"] = float(np.count_nonzero(high))


def shadow_cloud_mask(cloud: Float32Array, threshold: float) -> NDArray[np.bool_]:
    """The cloud mask of the shadow geometry: 3×3 median of p above ``threshold``, dilated with a cross."""
    return morphology.dilate(morphology.median3(cloud) > np.float32(threshold), morphology.CROSS)
