"""20 m → 60 m aggregation (Downsample_20_to_60, facts §9)."""

from __future__ import annotations

import numpy as np
import pytest

from sen2cor.io.l2a import aggregate
from sen2cor.io.l2a.aggregate import block_mean, scl_decimate

from .conftest import PARITY_INPUT


def test_block_mean_rounds_and_keeps_dtype() -> None:
    a = np.array([[1, 2, 3, 10, 10, 10], [4, 5, 6, 10, 10, 10], [7, 8, 9, 10, 10, 11]], np.uint16)
    out = block_mean(a)
    assert out.dtype == np.uint16
    assert out.tolist() == [[5, 10]]  # 45/9 = 5; 91/9 = 10.11 → 10


def test_block_mean_partial_edge_blocks_and_target_shape() -> None:
    a = np.full((4, 5), 9, np.uint8)
    assert block_mean(a).tolist() == [[9, 9], [9, 9]]
    assert block_mean(a, out_shape=(3, 2)).tolist() == [[9, 9], [9, 9], [0, 0]]


def test_nodata_takes_part_in_the_mean() -> None:
    a = np.full((3, 3), 900, np.uint16)
    a[2, 0] = 0
    assert block_mean(a)[0, 0] == 800  # as Sen2Cor: 7200 / 9


def test_scl_median_then_centre() -> None:
    scl = np.array([[4, 4, 4, 8, 9, 9],
                    [4, 6, 4, 9, 9, 9],
                    [4, 4, 4, 9, 9, 3]], np.uint8)
    assert scl_decimate(scl).tolist() == [[4, 9]]
    assert scl_decimate(np.full((7, 8), 5, np.uint8)).shape == (3, 3)


@pytest.mark.needs_shared_data
def test_block_mean_reproduces_sen2cor_33_bit_exactly() -> None:
    import rasterio
    granules = sorted((PARITY_INPUT.parent / "sen2cor-3.3-output" / "res20").glob("*.SAFE/GRANULE/*"))
    if not granules:
        pytest.skip("missing resource: parity-a Sen2Cor 3.3 output not found")
    g = granules[0]
    pairs = [(f"IMG_DATA/R20m/*_{k}_20m.jp2", f"IMG_DATA/R60m/*_{k}_60m.jp2") for k in ("B02", "B8A", "AOT", "WVP")]
    pairs += [(f"QI_DATA/MSK_{k}_20m.jp2", f"QI_DATA/MSK_{k}_60m.jp2") for k in ("CLDPRB", "SNWPRB")]
    for p20, p60 in pairs:
        with rasterio.open(next(g.glob(p20))) as s20, rasterio.open(next(g.glob(p60))) as s60:
            a20, a60 = s20.read(1), s60.read(1)
        assert np.array_equal(block_mean(a20, out_shape=a60.shape), a60), p20


@pytest.mark.parametrize("strip_blocks", [1, 2, 5, 1000])
def test_block_mean_by_strips_equals_one_strip(strip_blocks: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The strips of whole blocks (memory bound) change nothing, partial edge blocks included."""
    rng = np.random.default_rng(strip_blocks)
    dn = rng.integers(0, 12000, (31, 17)).astype(np.uint16)
    expected = np.zeros((11, 6))
    for i in range(11):
        for j in range(6):
            expected[i, j] = np.rint(dn[3 * i:3 * i + 3, 3 * j:3 * j + 3].astype(float).mean())
    monkeypatch.setattr(aggregate, "BLOCK_MEAN_STRIP_BLOCKS", strip_blocks)
    out = aggregate.block_mean(dn, out_shape=(12, 6))
    assert out.dtype == np.uint16 and np.array_equal(out[:11], expected) and not out[11].any()
