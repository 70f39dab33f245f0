"""Corner tracking started in the background gives what tracking in the foreground gives (facts §6.3)."""

from __future__ import annotations

import cv2
import numpy as np

from sen2cor.sc.parallax import LUCAS_KANADE_OPTIONS, ParallaxTracker, TrackedPoints


def _images(shape: tuple[int, int] = (240, 260)) -> tuple[np.ndarray, np.ndarray]:
    """B08-like DN with texture, and B8A the same scene shifted by a (sub-)pixel parallax in its lower half."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = 2000 + 800 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + rng.normal(0, 60, shape)
    image = base.clip(0, 65535).astype(np.uint16)
    shifted = 2000 + 800 * np.sin((xx + 0.6) / 5.0) * np.cos((yy + 0.3) / 7.0) + rng.normal(0, 60, shape)
    reference = np.where(yy > shape[0] // 2, shifted, base).clip(0, 65535).astype(np.uint16)
    return image, reference


def _same(a: TrackedPoints | None, b: TrackedPoints | None) -> None:
    assert a is not None and b is not None and a.x.size > 100
    for f in ("x", "y", "displacement"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


def test_background_tracking_equals_foreground_tracking() -> None:
    image, reference = _images()
    valid = np.ones(image.shape, dtype=bool)
    cloud = np.zeros(image.shape, dtype=bool)
    cloud[100:200, 40:220] = True
    foreground = ParallaxTracker(image, reference)
    expected_valid, expected_cloud = foreground.track(valid), foreground.track(cloud)

    background = ParallaxTracker(image, reference)
    background.start(valid)
    _same(background.track(valid), expected_valid)  # the started tracking's result
    _same(background.track(cloud), expected_cloud)  # later masks re-use its corners, as in the foreground

    other = ParallaxTracker(image, reference)
    other.start(valid)
    _same(other.track(cloud), expected_cloud)  # another mask waits for the started tracking first
    assert other.track(valid) is not None  # and the started one is not returned twice (tracked again)
    other.release()


def test_tracker_built_in_the_background_equals_one_built_at_once() -> None:
    """``from_bands(…, track=mask)`` builds the images and tracks ``mask`` on a background thread, from
    bands given as DN images read by rows: the same corners as a tracker built from the float32 bands."""
    from sen2cor.physics.toa_image import ToaImage

    rng = np.random.default_rng(8)
    dn08 = (1000 + 3000 * rng.random((240, 260))).astype(np.uint16)
    dn8a = np.roll(dn08, 1, axis=1)
    b08, b8a = ToaImage(dn08, -1000, 10000), ToaImage(dn8a, -1000, 10000)
    valid = np.ones(dn08.shape, dtype=bool)
    cloud = np.zeros(dn08.shape, dtype=bool)
    cloud[60:160, 40:220] = True
    at_once = ParallaxTracker.from_bands(np.asarray(b08), np.asarray(b8a))
    expected_valid, expected_cloud = at_once.track(valid), at_once.track(cloud)
    background = ParallaxTracker.from_bands(b08, b8a, track=valid)
    _same(background.track(valid), expected_valid)
    _same(background.track(cloud), expected_cloud)
    background.release()


def test_corners_tracked_in_raster_order_come_back_in_the_order_given() -> None:
    """OpenCV gets the corners sorted by row and column (cache locality); each corner's forward and
    backward positions are those OpenCV gives when it tracks the corners in the caller's order."""
    image, reference = _images((300, 320))
    tracker = ParallaxTracker(image, reference)
    rng = np.random.default_rng(3)
    p0 = rng.integers(12, 288, size=(600, 1, 2)).astype(np.float32)
    assert not np.array_equal(np.lexsort((p0[:, 0, 0], p0[:, 0, 1])), np.arange(len(p0)))  # not sorted
    p1, p0r = tracker._lucas_kanade(p0)

    lk = LUCAS_KANADE_OPTIONS
    expected_p1, _, _ = cv2.calcOpticalFlowPyrLK(tracker.reference8, tracker.image8, p0, None, **lk)
    expected_p0r, _, _ = cv2.calcOpticalFlowPyrLK(tracker.image8, tracker.reference8, expected_p1, None, **lk)
    assert np.abs(expected_p1 - p0).max() > 0.1  # the corners moved: the test tells them apart
    np.testing.assert_array_equal(p1, expected_p1)
    np.testing.assert_array_equal(p0r, expected_p0r)
