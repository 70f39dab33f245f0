"""The one-pass box mean is scipy's ``uniform_filter`` (edges ``nearest`` or ``reflect``) bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from sen2cor.ac.filters import box_mean, gaussian_smooth


@pytest.mark.parametrize(
    ("shape", "size"),
    [((1, 1), 5), ((3, 2), 9), ((40, 30), 103), ((257, 1100), 51), ((600, 1300), 203), ((1030, 700), 7)],
)
def test_box_mean_equals_scipy_uniform_filter(shape: tuple[int, int], size: int) -> None:
    rng = np.random.default_rng(size)
    a = rng.uniform(-0.1, 1.2, shape).astype(np.float32)
    a[rng.random(shape) < 0.1] = 0.3  # repeated values, as filled clouds / no data
    expected = ndimage.uniform_filter(a, size=size, mode="nearest")
    ours = box_mean(a, size)
    assert ours.dtype == np.float32 and np.array_equal(ours, expected)
    mask = a > 0.5  # booleans and float64 are converted to float32 first
    assert np.array_equal(box_mean(mask, size), ndimage.uniform_filter(mask.astype(np.float32), size, mode="nearest"))
    assert np.array_equal(box_mean(a.astype(np.float64), size), expected)


def test_box_mean_leaves_its_input_alone() -> None:
    a = np.random.default_rng(3).uniform(0, 1, (90, 1500)).astype(np.float32)  # 3 column blocks
    before = a.copy()
    assert box_mean(a, 31).shape == a.shape
    assert np.array_equal(a, before)


@pytest.mark.parametrize(
    ("shape", "size"),
    [((1, 1), 5), ((3, 2), 9), ((2, 7), 31), ((40, 30), 103), ((257, 1100), 51), ((1030, 700), 7)],
)
def test_box_mean_reflect_equals_scipy(shape: tuple[int, int], size: int) -> None:
    """Mirrored edges, also for boxes several times wider than the image (the mirror repeats)."""
    rng = np.random.default_rng(size + 1)
    a = rng.uniform(0.0, 3.0, shape).astype(np.float32)
    assert np.array_equal(box_mean(a, size, mode="reflect"), ndimage.uniform_filter(a, size=size, mode="reflect"))


@pytest.mark.parametrize("mode", ["nearest", "reflect"])
def test_box_mean_of_some_rows_is_those_rows_of_the_whole(mode: str) -> None:
    """``rows``: a strip's own rows without its halo, bit for bit the rows of the whole box mean (the sums
    run down from the top all the same), into ``out`` (here the input's own rows) or a new array."""
    rng = np.random.default_rng(11)
    a = rng.uniform(0.0, 1.0, (300, 1100)).astype(np.float32)  # 3 column blocks
    a[rng.random(a.shape) < 0.2] = 0.25
    for size in (1, 9, 51, 103, 401):
        whole = box_mean(a, size, mode=mode)
        for r0, r1 in ((0, 300), (0, 1), (51, 249), (120, 121), (299, 300), (200, 200), (0, 0)):
            part = box_mean(a, size, mode=mode, rows=(r0, r1))
            assert part.shape == (r1 - r0, 1100) and np.array_equal(part, whole[r0:r1]), (size, r0, r1)
            work = a.copy()
            box_mean(work, size, mode=mode, out=work[r0:r1], rows=(r0, r1))
            assert np.array_equal(work[r0:r1], whole[r0:r1]) and np.array_equal(work[:r0], a[:r0])
    with pytest.raises(ValueError, match="rows"):
        box_mean(a, 3, rows=(10, 301))


def test_box_mean_rejects_other_modes() -> None:
    with pytest.raises(ValueError, match="mode 'wrap'"):
        box_mean(np.zeros((4, 4), np.float32), 3, mode="wrap")


def test_three_box_gaussian_is_scipy_box_passes() -> None:
    """Above the exact-Gaussian work limit the smoothing is three reflect box passes, as scipy computes them."""
    a = np.random.default_rng(7).uniform(0, 60, (1600, 1600)).astype(np.float32)
    sigma = 51.0  # 1600² pixels × 409 taps × 2 > EXACT_GAUSSIAN_MAX_WORK
    width = round(np.sqrt(12.0 * sigma * sigma / 3 + 1.0))
    width += 1 - width % 2
    expected = a
    for _ in range(3):
        expected = ndimage.uniform_filter(expected, size=width, mode="reflect")
    ours = gaussian_smooth(a, sigma)
    assert ours.dtype == np.float32 and np.array_equal(ours, expected)


@pytest.mark.parametrize(("shape", "sigma"), [((300, 200), 1.5), ((257, 1031), 4.0), ((5, 900), 3.0), ((1, 1), 2.0)])
def test_exact_gaussian_by_blocks_equals_scipy(shape: tuple[int, int], sigma: float) -> None:
    """Below the work limit the exact Gaussian runs by column then row blocks on threads: scipy's values."""
    a = np.random.default_rng(int(sigma * 10)).uniform(0, 1, shape).astype(np.float32)
    ours = gaussian_smooth(a, sigma)
    assert ours.dtype == np.float32 and np.array_equal(ours, ndimage.gaussian_filter(a, sigma, mode="reflect"))
