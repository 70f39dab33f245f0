"""The compiled height-image kernels give exactly what the SciPy calls they replace give (bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import cKDTree

from sen2cor.sc import height_field


@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("n_points", [1, 7, 400])
def test_nearest_point_index_equals_ckdtree_ties_included(scale: float, n_points: int) -> None:
    rng = np.random.default_rng(n_points)
    rows, cols = 61, 47
    # Corners sit on whole pixels: half-pixel positions at scale 2 give many equidistant pairs.
    x = rng.integers(0, int(cols * scale), n_points).astype(np.float32).astype(np.float64) / scale
    y = rng.integers(0, int(rows * scale), n_points).astype(np.float32).astype(np.float64) / scale
    keep = np.unique(np.column_stack([x, y]), axis=0, return_index=True)[1]
    x, y = x[np.sort(keep)], y[np.sort(keep)]
    ours = height_field.nearest_point_index(x, y, (rows, cols))
    gy, gx = np.mgrid[0:rows, 0:cols]
    _, theirs = cKDTree(np.column_stack([x, y])).query(np.column_stack([gx.ravel(), gy.ravel()]))
    np.testing.assert_array_equal(ours.ravel(), theirs)


def test_nearest_point_index_with_clustered_points() -> None:
    # All points in one corner: far nodes exceed the ring limit and go to cKDTree.
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 5, 50), rng.uniform(0, 5, 50)
    ours = height_field.nearest_point_index(x, y, (200, 150))
    gy, gx = np.mgrid[0:200, 0:150]
    _, theirs = cKDTree(np.column_stack([x, y])).query(np.column_stack([gx.ravel(), gy.ravel()]))
    np.testing.assert_array_equal(ours.ravel(), theirs)


@pytest.mark.parametrize(("half", "full"), [((37, 29), (74, 58)), ((38, 30), (75, 59)), ((1, 5), (2, 9))])
def test_upsample_on_valid_equals_zoom_clip_cast(half: tuple[int, int], full: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    values = 100.0 * rng.uniform(0, 8, half).astype(np.float32).astype(np.float64)
    values[: half[0] // 2] = np.floor(values[: half[0] // 2] / 100) * 100  # flat steps: exact sums matter
    valid = rng.random(full) > 0.2
    factors = (full[0] / half[0], full[1] / half[1])
    zoomed = ndimage.zoom(values, factors, order=1, mode="mirror", grid_mode=True)[: full[0], : full[1]]
    np.testing.assert_array_equal(height_field.upsample(values, full), zoomed)
    expected = np.zeros(full, np.uint16)
    expected[valid] = np.clip(zoomed, values.min(), values.max())[valid].astype(np.uint16)
    np.testing.assert_array_equal(height_field.upsample_on_valid(values, full, valid), expected)


def test_cast_on_valid_wraps_like_numpy() -> None:
    values = np.array([[0.0, 1.9, 65535.9, 70000.7], [1e6, 3e9, 12.5, 65536.0]])
    valid = np.array([[True, True, True, True], [True, True, False, True]])
    expected = np.zeros(values.shape, np.uint16)
    with np.errstate(invalid="ignore"):
        expected[valid] = values[valid].astype(np.uint16)
    np.testing.assert_array_equal(height_field.cast_on_valid(values, valid), expected)


@pytest.mark.parametrize("shape", [(90, 70), (7, 130), (3, 3)])
def test_smoothed_heights_equal_scipy_gaussian_in_uint16(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(2)
    disp = rng.integers(0, 4000, shape).astype(np.uint16)
    for k, level in enumerate((1234, 17, 40000)):  # flat areas: the sums land on whole numbers
        disp[k * shape[0] // 3 : (k + 1) * shape[0] // 3, : shape[1] // 2] = level
    out = disp
    for axis in (0, 1):
        smoothed = ndimage.gaussian_filter1d(out.astype(np.float64), 5.0, axis=axis, mode="reflect")
        out = np.floor(smoothed).clip(0, 65535).astype(np.uint16)
    expected = (out / 100.0 * 20 / 0.012).astype(np.uint16)
    np.testing.assert_array_equal(height_field.smoothed_heights_m(disp, 5.0, 100.0, 20, 0.012), expected)
