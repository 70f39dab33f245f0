"""Per-pixel angles from the 5 km grids: windows and lazy images equal the whole-tile interpolation."""

from __future__ import annotations

import numpy as np
import pytest

from sen2cor.ac.setup import cell_geometries, cell_grid
from sen2cor.grid import TileGrid
from sen2cor.io.l1c_model import AngleGrid
from sen2cor.physics.geometry import AngleImage, degrees_0_360, zenith_azimuth_at


@pytest.fixture
def grids() -> tuple[AngleGrid, TileGrid]:
    rng = np.random.default_rng(0)
    zen = (30.0 + rng.uniform(-2, 2, (7, 7))).astype(np.float32)
    zen[0, 0] = 0.0  # Sen2Cor replaces zero sun zeniths by the grid minimum
    zen[6, 6] = np.nan  # NaN nodes are filled from their nearest neighbour
    az = (350.0 + rng.uniform(0, 20, (7, 7))).astype(np.float32) % 360.0  # across north
    return AngleGrid(zen, az), TileGrid(32633, 300000.0, 5000000.0, {20: (1500, 1450), 60: (500, 484)})


@pytest.mark.parametrize("res", [20, 60])
def test_angle_images_equal_the_whole_tile_interpolation(grids, res: int) -> None:  # type: ignore[no-untyped-def]
    grid, tile = grids
    z_full, a_full = zenith_azimuth_at(grid, tile, res, sun=True)
    z, a = (AngleImage(grid, tile, res, which, sun=True) for which in ("zenith", "azimuth"))
    assert z.shape == z_full.shape and np.array_equal(np.asarray(z), z_full) and np.array_equal(np.asarray(a), a_full)
    rows, cols = z_full.shape
    for key in [(slice(3, 250), slice(17, 400)), slice(rows - 5, None), (slice(None), slice(cols - 1, cols)),
                (slice(0, 0), slice(None))]:
        assert np.array_equal(z[key], z_full[key]) and np.array_equal(a[key], a_full[key])
    mask = z_full > 30.0
    assert np.array_equal(z[mask], z_full[mask]) and np.array_equal(a[::7, 3], a_full[::7, 3])  # other indices
    cells = cell_grid(z_full.shape)
    assert cell_geometries(cells, z, a, 4.0, 100.0) == cell_geometries(cells, z_full, a_full, 4.0, 100.0)


def test_angle_image_of_a_window_is_the_tile_crop(grids) -> None:  # type: ignore[no-untyped-def]
    """A region of interest: the window of the tile (the angle grid stays anchored at the tile corner)."""
    grid, tile = grids
    z_full, a_full = zenith_azimuth_at(grid, tile, 20, sun=True)
    win = (100, 240, 300, 500)
    z = AngleImage(grid, tile, 20, "zenith", sun=True, window=win)
    a = AngleImage(grid, tile, 20, "azimuth", sun=True, window=win)
    crop = (slice(100, 400), slice(240, 740))
    assert z.shape == (300, 500)
    assert np.array_equal(np.asarray(z), z_full[crop]) and np.array_equal(np.asarray(a), a_full[crop])
    assert np.array_equal(z[10:20, 30:60], z_full[crop][10:20, 30:60])


def test_degrees_0_360_are_those_of_the_remainder() -> None:
    """The in-place fold equals ``np.rad2deg(a) % 360`` bit for bit over −π…π (tiny negatives give 360)."""
    a = np.concatenate([np.linspace(-np.pi, np.pi, 400_001, dtype=np.float32),
                        np.float32([-1e-9, -1e-6, 1e-6, np.float32(np.pi), -np.float32(np.pi)])])
    expected = (np.rad2deg(a) % 360.0).astype(np.float32)
    got = degrees_0_360(a.copy())
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    assert float(got.min()) >= 0.0 and float(got.max()) <= 360.0
