"""The reflectance kernels give the same float32 values from DN (``DnRadiance``) as from a radiance array,
and floor cos β as ``Terrain.cos_beta_floored`` does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sen2cor.ac import kernels
from sen2cor.ac.kernels import DnRadiance, reflectance_from_tables, reflectance_from_wv_fits
from sen2cor.physics.radiometry import dn_to_toa, toa_to_radiance

FLOOR = float(np.float32(26 / 255))


@pytest.fixture()
def scene() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    shape = (61, 47)
    dn = rng.integers(0, 9000, shape).astype(np.uint16)
    dn[:3, :5] = 0  # no data
    dn[5, :4] = [999, 1000, 1001, 1002]  # the offset edge: reflectance 1/Q
    cos_beta = np.floor(rng.uniform(0.0, 1.0, shape).astype(np.float32) * 255 + 0.5) / np.float32(255)
    return {"dn": dn, "cos_beta": cos_beta.astype(np.float32), "vis": rng.integers(0, 4, shape),
            "ecls": rng.integers(0, 3, shape), "wv": np.trunc(rng.uniform(0, 4000, shape)).astype(np.float32),
            "sunlit": rng.random(shape) > 0.2, "sky": rng.uniform(0.6, 1.0, shape).astype(np.float32)}


@pytest.mark.parametrize("terrain_flux", [False, True])
def test_dn_radiance_equals_the_radiance_array(scene: dict[str, np.ndarray], terrain_flux: bool) -> None:
    e0, cos_sza, offset, q = 1850.0, 0.7312, -1000.0, 10000.0
    rad = toa_to_radiance(dn_to_toa(scene["dn"], offset, q), e0, np.float32(cos_sza))
    src = DnRadiance(scene["dn"], offset, q, e0, cos_sza)
    floored = np.maximum(scene["cos_beta"], np.float32(FLOOR))
    rng = np.random.default_rng(2)
    tables = [rng.uniform(lo, hi, (4, 3)).astype(np.float32) for lo, hi in ((0.5, 2), (10, 20), (2, 6), (0.6, 0.9))]
    common = {"terrain_refl": 0.1, "terrain_flux": terrain_flux, "floor": 0.01, "cap": 1.5}
    args = (scene["vis"], scene["ecls"], *tables)
    tail = (scene["sky"], scene["sunlit"], cos_sza)
    ref = reflectance_from_tables(rad, *args, floored, *tail, **common)
    ours = reflectance_from_tables(src, *args, scene["cos_beta"], *tail, cos_beta_floor=FLOOR, **common)
    assert ours.dtype == np.float32 and np.array_equal(ours, ref)
    assert (ours[:3, :5] == 0).all() and (ours[3:] != 0).any()

    coeffs = rng.uniform(-0.2, 0.2, (4, 3, 2)).astype(np.float32)
    coeffs[:, :, 0] += np.array([0.3, 2.5, 1.2, -0.2], np.float32)[:, None]
    ref = reflectance_from_wv_fits(rad, scene["wv"], scene["ecls"], coeffs, floored, *tail, lp_scale=0.9,
                                   **common)
    ours = reflectance_from_wv_fits(src, scene["wv"], scene["ecls"], coeffs, scene["cos_beta"], *tail,
                                    lp_scale=0.9, cos_beta_floor=FLOOR, **common)
    assert np.array_equal(ours, ref)


def test_kernels_write_strided_windows_of_a_tile(scene: dict[str, np.ndarray]) -> None:
    """A cell's window of a wider DN row band (strided, not copied) written into the window of a tile image
    (``out=``) gives the values of the contiguous cell computed on its own; nothing outside is touched."""
    rng = np.random.default_rng(3)
    tables = [rng.uniform(lo, hi, (4, 3)).astype(np.float32) for lo, hi in ((0.5, 2), (10, 20), (2, 6), (0.6, 0.9))]
    common = {"terrain_refl": 0.1, "terrain_flux": True, "floor": 0.01, "cap": 1.5, "cos_beta_floor": FLOOR}
    coeffs = rng.uniform(-0.2, 0.2, (4, 3, 2)).astype(np.float32)
    win = (slice(4, 50), slice(7, 31))
    cell = {k: np.ascontiguousarray(v[win]) for k, v in scene.items()}
    tile = np.full(scene["dn"].shape, -7.0, np.float32)
    rest = np.ones(tile.shape, bool)
    rest[win] = False

    def run(s: dict[str, np.ndarray], out: np.ndarray | None, fits: bool) -> np.ndarray:
        rad = DnRadiance(s["dn"], -1000.0, 10000.0, 1850.0, 0.7312)
        if fits:
            return reflectance_from_wv_fits(rad, s["wv"], s["ecls"], coeffs, s["cos_beta"], s["sky"], s["sunlit"],
                                            0.7312, out=out, **common)
        return reflectance_from_tables(rad, s["vis"], s["ecls"], *tables, s["cos_beta"], s["sky"], s["sunlit"],
                                       0.7312, out=out, **common)

    strided = {k: v[win] for k, v in scene.items()}
    assert not strided["dn"].flags.c_contiguous
    for fits in (False, True):
        written = run(strided, tile[win], fits)
        assert np.shares_memory(written, tile)
        np.testing.assert_array_equal(tile[win], run(cell, None, fits))
        assert (tile[rest] == -7.0).all()
    with pytest.raises(ValueError, match="float32 of shape"):
        run(cell, np.empty((3, 3), np.float32), False)


def _runs(rng: np.random.Generator, values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Rows of ``values`` in runs of 1-40 equal pixels (as the smooth maps of a tile)."""
    out = np.empty(shape, values.dtype)
    for i in range(shape[0]):
        j = 0
        while j < shape[1]:
            n = int(rng.integers(1, 40))
            out[i, j:j + n] = values[rng.integers(0, values.size)]
            j += n
    return out


@pytest.mark.parametrize("terrain_flux", [False, True])
def test_values_reused_along_a_row_equal_those_of_each_pixel(terrain_flux: bool) -> None:
    """The kernels compute F again only where its inputs change along a row, and take the radiance of most
    DN from a table: the float32 values are those of each pixel on its own (each column computed as a
    window of its own, where no value is reused and the table is short), zero and NaN cos β or sky view and
    DN beyond the table included."""
    rng = np.random.default_rng(23)
    shape = (40, 300)
    dn = rng.integers(0, 9000, shape).astype(np.uint16)
    dn[:, ::7] = rng.integers(kernels.RADIANCE_TABLE_SIZE, 65535, dn[:, ::7].shape)
    dn[3, 10:20] = 0
    cos_beta = _runs(rng, np.array([0.0, -0.0, np.nan, 0.2, 0.5, 0.5 + 1 / 255, 0.9], np.float32), shape)
    sky = _runs(rng, np.array([0.0, -0.0, 0.7, 1.0], np.float32), shape)
    sunlit = _runs(rng, np.array([False, True, True]), shape)
    vis, ecls = _runs(rng, np.arange(4, dtype=np.uint8), shape), _runs(rng, np.arange(3, dtype=np.int16), shape)
    wv = _runs(rng, np.array([0.0, 12.0, 12.5, 300.0, np.nan], np.float32), shape)
    tables = [rng.uniform(lo, hi, (4, 3)).astype(np.float32) for lo, hi in ((0.5, 2), (10, 20), (2, 6), (0.6, 0.9))]
    coeffs = rng.uniform(-0.2, 0.2, (4, 3, 2)).astype(np.float32)
    common = {"terrain_refl": 0.1, "terrain_flux": terrain_flux, "floor": 0.01, "cap": 1.5}

    def both(cols: slice) -> tuple[np.ndarray, np.ndarray]:
        rad = DnRadiance(dn[:, cols], -1000.0, 10000.0, 1850.0, 0.7312)
        tail = (cos_beta[:, cols], sky[:, cols], sunlit[:, cols], 0.7312)
        return (reflectance_from_tables(rad, vis[:, cols], ecls[:, cols], *tables, *tail, **common),
                reflectance_from_wv_fits(rad, wv[:, cols], ecls[:, cols], coeffs, *tail, lp_scale=0.9, **common))

    whole = both(slice(None))
    by_column = [both(slice(j, j + 1)) for j in range(shape[1])]
    for k in range(2):
        each = np.concatenate([c[k] for c in by_column], axis=1)
        assert np.array_equal(whole[k].view(np.uint32), each.view(np.uint32))
        assert np.unique(whole[k]).size > 1000


def test_cells_tile_only_an_exact_grid() -> None:
    from sen2cor.ac.boa import _cells_tile
    from sen2cor.ac.setup import Cell, cell_grid

    assert _cells_tile(cell_grid((5490, 5490)), (5490, 5490))
    assert _cells_tile(cell_grid((100, 50)), (100, 50))
    grid = cell_grid((4000, 2000))
    assert not _cells_tile(grid[:-1], (4000, 2000))  # a gap
    assert not _cells_tile([*grid, grid[0]], (4000, 2000))  # a cell twice
    assert not _cells_tile(grid, (4001, 2000))
    assert not _cells_tile([Cell(slice(0, 10), slice(0, 5)), Cell(slice(5, 10), slice(5, 10))], (10, 10))


@pytest.mark.parametrize("wv_top", [40.0, 4000.0])
def test_wv_fit_table_gives_the_direct_values(scene: dict[str, np.ndarray], wv_top: float,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole WV values are looked up in a per-window table (when small), others computed: same float32."""
    rng = np.random.default_rng(5)
    wv = np.trunc(rng.uniform(0, wv_top, scene["dn"].shape)).astype(np.float32)
    wv[10, :6] = [0.5, 12.25, -1.0, np.float32(wv_top) + 7, 3.0, 0.0]  # not whole, negative, beyond the table
    coeffs = rng.uniform(-0.2, 0.2, (4, 3, 2)).astype(np.float32)
    rad = toa_to_radiance(dn_to_toa(scene["dn"], -1000.0, 10000.0), 1500.0, np.float32(0.6))
    args = (rad, wv, scene["ecls"], coeffs, scene["cos_beta"], scene["sky"], scene["sunlit"], 0.6)
    common = {"terrain_refl": 0.1, "terrain_flux": True, "floor": 0.01, "cap": 1.5, "lp_scale": 1.1}
    table, _ = kernels._wv_fit_table(coeffs.astype(np.float64), wv, scene["ecls"], 1.1)
    assert (table.size > 0) == (wv_top < 100)
    ours = reflectance_from_wv_fits(*args, **common)
    monkeypatch.setattr(kernels, "FIT_TABLE_MAX_SHARE", 0.0)  # every pixel computed
    assert kernels._wv_fit_table(coeffs.astype(np.float64), wv, scene["ecls"], 1.1)[0].size == 0
    assert np.array_equal(ours, reflectance_from_wv_fits(*args, **common))


def test_row_band_reads_a_disk_band_once_per_row_of_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sen2cor.ac.boa import _RowBand
    from sen2cor.io.scratch import RawImage
    from sen2cor.physics.toa_image import ToaImage

    dn = np.random.default_rng(1).integers(0, 5000, (40, 30)).astype(np.uint16)
    raw = RawImage.write(tmp_path / "b.u16", dn)
    reads = []
    original = RawImage.rows
    monkeypatch.setattr(RawImage, "rows", lambda self, a, b: reads.append((a, b)) or original(self, a, b))
    band = _RowBand(ToaImage(raw, -1000.0, 10000.0))
    cells = [(slice(r, r + 20), slice(c, c + 10)) for r in (0, 20) for c in (0, 10, 20)]
    for win in cells:
        np.testing.assert_array_equal(band(win), dn[win])
    assert reads == [(0, 20), (20, 40)]
    in_memory = _RowBand(ToaImage(dn, -1000.0, 10000.0))
    assert np.shares_memory(in_memory(cells[1]), dn)


def test_ddv_positions_in_raster_order_of_each_cell() -> None:
    """The DDV pixels of a cell window are found in the tile's raster order as a full position image would
    find them (``ddv_indices`` retrieves cell by cell and writes each pixel's index back in tile order)."""
    from sen2cor.ac.aot import positions_in

    rng = np.random.default_rng(3)
    mask = rng.random((97, 61)) < 0.2
    order = np.flatnonzero(mask.ravel())
    position = np.full(mask.shape, -1, np.int64)
    position.ravel()[order] = np.arange(order.size)
    seen = []
    for rows, cols in [(slice(0, 40), slice(0, 30)), (slice(0, 40), slice(30, 61)), (slice(40, 97), slice(0, 61))]:
        got = positions_in(order, mask[rows, cols], rows.start, cols.start, mask.shape[1])
        assert np.array_equal(got, position[rows, cols][mask[rows, cols]])
        seen.append(got)
    assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(order.size))


@pytest.mark.parametrize("nf", [1, 3, 51])
def test_negative_check_count_by_strips_equals_whole_tile(nf: int) -> None:
    """The negative-reflectance count of one visibility step, computed by strips on threads, is the count of
    the whole-tile formula (facts §7.3 item 7): invalid pixels set to the valid mean, ρ + q·(ρ − ρ̄) with ρ̄
    the Gaussian mean of ρ capped at 0.40, compared on the land pixels."""
    from sen2cor.ac.aot import _count_below_after_adjacency
    from sen2cor.ac.constants import NEGATIVE_CHECK_REFL_CAP
    from sen2cor.ac.filters import gaussian_smooth

    rng = np.random.default_rng(5)
    shape = (1100, 173)  # several strips
    rho = rng.normal(0.05, 0.08, shape).astype(np.float32)
    rho[rng.random(shape) < 0.01] = 0.9  # above the cap
    valid = rng.random(shape) > 0.1
    land = valid & (rng.random(shape) > 0.3)
    q, threshold = 0.37, 0.01

    whole = np.where(valid, rho, np.float32(rho[valid].mean()))
    mean = gaussian_smooth(np.minimum(whole, np.float32(NEGATIVE_CHECK_REFL_CAP)), nf)
    expected = int(np.count_nonzero((whole + np.float32(q) * (whole - mean))[land] < threshold))

    assert 0 < expected < np.count_nonzero(land)
    assert _count_below_after_adjacency(rho.copy(), valid, land, nf, q, threshold) == expected


def test_aerosol_radiance_reaches_the_kernels_as_dn(scene: dict[str, np.ndarray], tmp_path: Path) -> None:
    """The aerosol retrieval's lazy radiance of a DN-backed band (in memory or in a scratch file) goes to the
    kernels as its DN (:func:`sen2cor.ac.aot.kernel_radiance`) and gives the reflectance of the converted band."""
    from sen2cor.ac.aot import kernel_radiance
    from sen2cor.io.scratch import RawImage
    from sen2cor.physics.toa_image import RadianceImage, ToaImage

    rng = np.random.default_rng(3)
    tables = [rng.uniform(lo, hi, (4, 3)).astype(np.float32) for lo, hi in ((0.5, 2), (10, 20), (2, 6), (0.6, 0.9))]
    common = {"terrain_refl": 0.1, "terrain_flux": True, "floor": 0.01, "cap": np.inf}
    args = (0, scene["ecls"], *tables, scene["cos_beta"], scene["sky"], True, 0.7312)
    for dn in (scene["dn"], RawImage.write(tmp_path / "b.u16", scene["dn"])):
        image = RadianceImage(ToaImage(dn, -1000.0, 10000.0), 1850.0, 0.7312)
        as_kernel = kernel_radiance(image)
        assert isinstance(as_kernel, DnRadiance)
        expected = reflectance_from_tables(np.asarray(image), *args, **common)
        assert np.array_equal(reflectance_from_tables(as_kernel, *args, **common), expected)
    plain = np.asarray(image)
    assert kernel_radiance(plain) is plain
