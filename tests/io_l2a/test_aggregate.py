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


@pytest.mark.parametrize("shape", [(3, 3), (7, 8), (2, 5), (10, 11), (301, 257), (1, 4)])
def test_scl_decimate_is_scipys_median_then_centre(shape: tuple[int, int]) -> None:
    """The 3 × 3 median runs on OpenCV: the same values as scipy's ``median_filter`` (mode reflect), edges and
    partial blocks included."""
    from scipy import ndimage

    scl = np.random.default_rng(shape[0]).integers(0, 12, shape).astype(np.uint8)
    med = ndimage.median_filter(scl, size=3, mode="reflect")
    nr, nc = -(-shape[0] // 3), -(-shape[1] // 3)
    rows = [min(1 + 3 * i, shape[0] - 1) for i in range(nr)]
    cols = [min(1 + 3 * j, shape[1] - 1) for j in range(nc)]
    assert np.array_equal(scl_decimate(scl), med[np.ix_(rows, cols)])


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


@pytest.mark.parametrize(("shape", "dtype"), [((31, 17), np.uint16), ((32, 16), np.uint8), ((5490, 7), np.uint16)])
def test_block_mean_equals_the_mean_of_each_block(shape: tuple[int, int], dtype: type) -> None:
    """Every 3 × 3 block (partial edge blocks: the pixels they hold) is its own rounded mean; means that end
    in .5 (partial blocks of 2, 4 or 6 pixels) round half to even."""
    rng = np.random.default_rng(shape[0])
    dn = rng.integers(0, np.iinfo(dtype).max, shape).astype(dtype)
    dn[-1, -2:] = (3, 4)  # a bottom-right partial block of 1 × 2 pixels (when the shape leaves one): mean 3.5 → 4
    nr, nc = -(-shape[0] // 3), -(-shape[1] // 3)
    expected = np.zeros((nr, nc))
    for i in range(nr):
        for j in range(nc):
            expected[i, j] = np.rint(dn[3 * i:3 * i + 3, 3 * j:3 * j + 3].astype(float).mean())
    out = aggregate.block_mean(dn, out_shape=(nr + 1, nc))
    assert out.dtype == dtype and np.array_equal(out[:nr], expected) and not out[nr].any()


def test_block_mean_rejects_float_images() -> None:
    with pytest.raises(ValueError, match="integer"):
        aggregate.block_mean(np.zeros((3, 3), np.float32))


def test_l1c_block_mean_of_whole_numbers_equals_numpy_float32_mean() -> None:
    """The one-pass integer block mean of the L1C down-sampling gives NumPy's float32 mean bit for bit."""
    from sen2cor.io.l1c_bands import block_mean as l1c_block_mean

    rng = np.random.default_rng(5)
    for factor in (2, 3, 6):
        dn = rng.integers(0, 65535, (61, 67)).astype(np.uint16)
        r, c = (61 // factor) * factor, (67 // factor) * factor
        ref = dn[:r, :c].astype(np.float32).reshape(r // factor, factor, c // factor, factor).mean(
            axis=(1, 3), dtype=np.float32)
        out = l1c_block_mean(dn, factor)
        assert out.dtype == np.float32 and np.array_equal(out, ref), factor
