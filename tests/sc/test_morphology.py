"""The OpenCV-based filters must reproduce scipy.ndimage exactly (or to float32 rounding for the Gaussian)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from sen2cor.sc import morphology as m


@pytest.fixture()
def mask() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.random((61, 47)) > 0.8


@pytest.mark.parametrize("structure", [m.square(9), m.disk(5), m.diamond(3), m.CROSS])
def test_dilate_erode_match_scipy(mask: np.ndarray, structure: np.ndarray) -> None:
    assert np.array_equal(m.dilate(mask, structure), ndimage.binary_dilation(mask, structure.astype(bool)))
    big = m.dilate(mask, m.square(5))
    assert np.array_equal(m.erode(big, structure), ndimage.binary_erosion(big, structure.astype(bool)))


@pytest.mark.parametrize("size", [3, 5, 9, 15, 17])
def test_binary_median_matches_scipy(mask: np.ndarray, size: int) -> None:
    noisy = m.dilate(mask, m.square(3))
    assert np.array_equal(m.binary_median(noisy, size), ndimage.median_filter(noisy, size))


def test_median3_and_gaussian_match_scipy() -> None:
    rng = np.random.default_rng(2)
    x = rng.random((40, 33)).astype(np.float32)
    assert np.array_equal(m.median3(x), ndimage.median_filter(x, 3))
    for sigma in (3.0, 5.0):
        # float32 accumulation in OpenCV vs float64 in SciPy: 1e-6 is the float32 rounding scale.
        np.testing.assert_allclose(m.gaussian(x, sigma), ndimage.gaussian_filter(x, sigma), atol=1e-6)


def test_remove_small_blobs_drops_three_pixels_keeps_four() -> None:
    a = np.zeros((10, 10), bool)
    a[1, 1:4] = True  # 3 px: removed
    a[6:8, 6:8] = True  # 4 px: kept
    out = m.remove_small_blobs(a, 3)
    assert not out[1, 1:4].any() and out[6:8, 6:8].all() and out.sum() == 4
