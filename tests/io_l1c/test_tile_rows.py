"""Decoding a band by JPEG 2000 tile rows on several threads (BandReader.dn, issue 8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from sen2cor.errors import ProductError
from sen2cor.io.l1c import read_l1c
from sen2cor.io.l1c_bands import BandReader, tile_row_parts
from sen2cor.testing.l1c_builder import L1CSpec, make_l1c
from sen2cor.testing.scene import synthetic_toa

TILE = 64
"""Tile size of the re-written B02 (600² at 10 m: ten tile rows, the last one 24 rows high)."""


def test_tile_row_parts() -> None:
    assert tile_row_parts(0, 600, 64) == [(0, 64), (64, 128), (128, 192), (192, 256), (256, 320), (320, 384),
                                          (384, 448), (448, 512), (512, 576), (576, 600)]
    assert tile_row_parts(70, 130, 64) == [(70, 128), (128, 130)]
    assert tile_row_parts(64, 128, 64) == [(64, 128)]
    assert tile_row_parts(5, 9, 0) == [(5, 9)]  # block height unknown: one part
    assert tile_row_parts(9, 9, 64) == []


@pytest.fixture(scope="module")
def tiled_product(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic L1C whose B02 is re-encoded in 64² JPEG 2000 tiles."""
    root = tmp_path_factory.mktemp("tiled")
    toa = synthetic_toa((600, 600))
    safe = make_l1c(root, L1CSpec(shape10=(600, 600)), toa={"B02": toa["B02"], "B11": toa["B11"]})
    path = read_l1c(safe).tile.band_files["B02"]
    with rasterio.open(path) as src:
        data, profile = src.read(), src.profile
    profile.update(blockxsize=TILE, blockysize=TILE, tiled=True, REVERSIBLE="YES", QUALITY="100")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    with rasterio.open(path) as ds:
        assert ds.block_shapes[0] == (TILE, TILE)
    return safe


def test_decoded_by_tile_rows_on_threads_equals_one_read(tiled_product: Path) -> None:
    product = read_l1c(tiled_product)
    with rasterio.open(product.tile.band_files["B02"]) as ds:
        whole = ds.read(1)
    assert whole.any()
    for threads in (1, 2, 3):
        reader = BandReader(product, threads=threads)
        np.testing.assert_array_equal(reader.dn("B02"), whole)
        # windows starting and ending inside tile rows, and a column range
        for row0, rows, col0, cols in ((70, 130, 0, 600), (1, 63, 10, 500), (63, 2, 0, 600), (500, 100, 33, 77)):
            got = reader.dn("B02", Window(col0, row0, cols, rows))
            np.testing.assert_array_equal(got, whole[row0:row0 + rows, col0:col0 + cols])
            assert got.dtype == np.uint16


def test_damaged_band_reported_from_a_worker_thread(tiled_product: Path, tmp_path: Path) -> None:
    product = read_l1c(tiled_product)
    path = product.tile.band_files["B02"]
    damaged = tmp_path / path.name
    raw = path.read_bytes()
    damaged.write_bytes(raw[: len(raw) * 2 // 3])  # the header survives, the last tiles do not
    product.tile.band_files["B02"] = damaged
    with pytest.raises(ProductError, match=r"B02.*cannot decode band B02 .*the file is damaged"):
        BandReader(product, threads=2).dn("B02")
