"""Our Shi–Tomasi corner selection equals ``cv2.goodFeaturesToTrack`` (same corners, same order)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sen2cor.sc.corners import CornerFinder


def _image(shape: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, shape).astype(np.uint8), (5, 5), 1.5)
    img[: shape[0] // 4] = 80  # a flat band: many equal (zero) eigenvalues
    img[shape[0] // 2 :: 9, ::7] = 255  # repeated identical features: equal eigenvalues, ties
    return cv2.Laplacian(img, cv2.CV_8U, ksize=5)


@pytest.mark.parametrize(("shape", "seed"), [((120, 90), 0), ((64, 200), 1), ((9, 9), 2)])
@pytest.mark.parametrize("masking", ["all", "blob", "none"])
@pytest.mark.parametrize(
    ("max_corners", "quality", "distance"), [(1_000_000, 0.1, 5), (25, 0.01, 3), (0, 0.1, 0)]
)
def test_corners_equal_good_features_to_track(
    shape: tuple[int, int], seed: int, masking: str, max_corners: int, quality: float, distance: float
) -> None:
    img = _image(shape, seed)
    mask = np.ones(shape, dtype=bool)
    if masking == "blob":
        mask[:] = False
        mask[shape[0] // 3 :, shape[1] // 4 : 3 * shape[1] // 4] = True
    elif masking == "none":
        mask[:] = False
    finder = CornerFinder(img, 15)
    ours = finder.find(mask, max_corners, quality, distance)
    theirs = cv2.goodFeaturesToTrack(
        img,
        maxCorners=max_corners,
        qualityLevel=quality,
        minDistance=distance,
        mask=mask.view(np.uint8),
        blockSize=15,
    )
    if theirs is None or len(theirs) == 0:
        assert ours is None
    else:
        assert ours is not None
        np.testing.assert_array_equal(ours, theirs)
