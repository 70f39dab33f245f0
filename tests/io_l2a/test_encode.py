"""Encodings of facts §3: BOA (both PSD variants), AOT/WVP, TCI, PVI, DEM — exact round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sen2cor.io.l2a import encode

from .conftest import ESA_L2A, PARITY_INPUT


def test_boa_offset_encoding_rules() -> None:
    rho = np.array([[0.0, 0.1234, -0.05, -0.2, 3.5, np.nan]], np.float32)
    dn = encode.encode_boa(rho, offset=True)
    # 0 → 1000; 0.1234 → 2234; −0.05 → 500; −0.2 → negative → 1; 3.5 → capped 32767; NaN → 0 (no data)
    assert dn.tolist() == [[1000, 2234, 500, 1, 32767, 0]]
    assert dn.dtype == np.uint16


def test_boa_psd146_encoding_rules() -> None:
    rho = np.array([[0.0, -0.3, 0.1234, np.nan]], np.float32)
    # ρ clipped to ≥ 0.0001 → DN ≥ 1; no offset
    assert encode.encode_boa(rho, offset=False).tolist() == [[1, 1, 1234, 0]]


def test_nodata_mask_from_scl() -> None:
    rho = np.full((2, 2), 0.2, np.float32)
    scl = np.array([[0, 4], [5, 0]], np.uint8)
    assert encode.encode_boa(rho, nodata=scl == 0).tolist() == [[0, 3000], [3000, 0]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, encode.BOA_DN_MAX), min_size=1, max_size=200), st.booleans())
def test_boa_decode_encode_is_identity(values: list[int], offset: bool) -> None:
    dn = np.array([values], np.uint16)
    if not offset:
        dn = np.maximum(dn, 1)
    assert np.array_equal(encode.encode_boa(encode.decode_boa(dn, offset=offset), offset=offset), dn)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.09375, 3.0, allow_nan=False, width=32), min_size=1, max_size=100))
def test_boa_encode_error_at_most_half_a_step(values: list[float]) -> None:
    rho = np.array([values], np.float32)
    back = encode.decode_boa(encode.encode_boa(rho))
    assert np.all(np.abs(back - rho) <= 0.5 / encode.BOA_QUANTIFICATION_VALUE + 1e-6)


def test_aot_wvp_dem_round_trip_and_invalid_classes() -> None:
    aot = np.array([[0.0, 0.2, 0.4567, np.nan]], np.float32)
    scl = np.array([[4, 1, 5, 4]], np.uint8)
    dn = encode.encode_aot(aot, scl)
    assert dn.tolist() == [[0, 0, 457, 0]]  # SCL 1 → 0, NaN → 0
    assert encode.decode_aot(np.array([[457]], np.uint16))[0, 0] == pytest.approx(0.457)
    wv = encode.encode_wvp(np.array([[1.914, 6.0]], np.float32))
    assert wv.tolist() == [[1914, 6000]]
    dem = encode.encode_dem(np.array([[-420.4, 0.0, 8848.0, np.nan]], np.float32))
    assert dem.tolist() == [[9580, 10000, 18848, 0]]
    assert np.array_equal(encode.decode_dem(dem)[0, :3], [-420.0, 0.0, 8848.0])


def test_scl_and_probability_ranges() -> None:
    with pytest.raises(ValueError):
        encode.check_scl(np.array([[12]]))
    with pytest.raises(ValueError):
        encode.check_probability(np.array([[101]]), "cloud")
    assert encode.check_scl(np.arange(12).reshape(3, 4)).dtype == np.uint8


def test_tci_formula() -> None:
    # offset products: DN ≤ 1000 → 1001; byte = floor(min(DN − 1000, 2500) · 254 / 2500) + 1; 0 = no data
    dn = np.array([[0, 500, 1001, 2000, 3500, 3600, 9000]], np.uint16)
    assert encode.tci_channel(dn).tolist() == [[0, 1, 1, 102, 255, 255, 255]]
    assert encode.tci_channel(dn, offset=False).tolist() == [[0, 51, 102, 204, 255, 255, 255]]
    tci = encode.encode_tci(dn, dn, dn)
    assert tci.shape == (3, 1, 7)


@pytest.mark.parametrize("offset", [True, False])
def test_tci_one_pass_kernel_equals_the_formula(offset: bool) -> None:
    """The uint16 one-pass kernel gives the whole-array formula of facts §3 bit for bit, edges included."""
    rng = np.random.default_rng(5)
    dn = rng.integers(0, 65536, (37, 41)).astype(np.uint16)
    dn.flat[:12] = [0, 1, 999, 1000, 1001, 1002, 2500, 3499, 3500, 3501, 32767, 65535]
    d = dn.astype(np.int64)
    if offset:
        d = np.maximum(d, 1001) - 1000
    expected = ((np.clip(d, 0, 2500) * 254) // 2500 + 1).astype(np.uint8)
    expected[dn == 0] = 0
    assert np.array_equal(encode.tci_channel(dn, offset=offset), expected)
    assert np.array_equal(encode.tci_channel(dn.astype(np.int64), offset=offset), expected)  # NumPy path


def test_pvi_is_343_square() -> None:
    tci = np.full((3, 40, 90), 77, np.uint8)
    pvi = encode.make_pvi(tci)
    assert pvi.shape == (3, encode.PVI_SIZE, encode.PVI_SIZE)
    assert np.all(pvi == 77)


@pytest.mark.needs_shared_data
def test_tci_bit_exact_against_sen2cor_33() -> None:
    """Our TCI from Sen2Cor's own 20 m BOA equals Sen2Cor's TCI_20m (parity-a, PB 02.06: no offset)."""
    import rasterio
    granules = sorted((PARITY_INPUT.parent / "sen2cor-3.3-output" / "res20").glob("*.SAFE/GRANULE/*"))
    if not granules:
        pytest.skip("missing resource: parity-a Sen2Cor 3.3 output not found")
    img = granules[0] / "IMG_DATA" / "R20m"

    def band(kind: str) -> np.ndarray:
        with rasterio.open(next(img.glob(f"*_{kind}_20m.jp2"))) as src:
            return src.read()

    ours = encode.encode_tci(band("B04")[0], band("B03")[0], band("B02")[0], offset=False)
    assert np.array_equal(ours, band("TCI"))


@pytest.mark.needs_shared_data
def test_boa_offset_matches_esa_product_convention() -> None:
    """ESA PB 04.00 product: every valid B02 DN ≥ 1 and DN − 1000 gives the reflectance (facts §3)."""
    import rasterio
    files = sorted(ESA_L2A.glob("*.SAFE/GRANULE/*/IMG_DATA/R60m/*_B02_60m.jp2"))
    if not files:
        pytest.skip("missing resource: ESA L2A product not found")
    with rasterio.open(files[0]) as src:
        dn = src.read(1)
    valid = dn[dn > 0]
    rho = encode.decode_boa(valid)
    assert np.array_equal(encode.encode_boa(rho), valid)
    assert valid.min() >= 1 and np.median(rho) < 0.5


def test_encoding_by_row_blocks_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """AOT/WVP and TCI encodings run by row blocks on large images (bounded temporaries; BOA is one pass):
    the blocks change no value, wherever they fall."""
    rng = np.random.default_rng(11)
    rho = rng.uniform(-0.05, 1.2, (53, 29)).astype(np.float32)
    rho[rng.random(rho.shape) < 0.05] = np.nan
    aot = rng.uniform(0.0, 2.0, rho.shape).astype(np.float32)
    scl = rng.integers(0, 12, rho.shape).astype(np.uint8)
    dn = encode.encode_boa(rho, nodata=scl == 0)
    whole = (dn, encode.encode_aot(aot, scl), encode.encode_wvp(aot * 3, scl), encode.encode_tci(dn, dn[::-1], dn))
    monkeypatch.setattr(encode, "ENCODE_BLOCK_ROWS", 4)  # 53 rows > 2 × 4: the block path
    blocks = (encode.encode_boa(rho, nodata=scl == 0), encode.encode_aot(aot, scl), encode.encode_wvp(aot * 3, scl),
              encode.encode_tci(dn, dn[::-1], dn))
    for a, b in zip(whole, blocks):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("key", ["AOT", "WVP"])
def test_map_encoded_from_rows_equals_the_whole_map(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``encode_map_rows`` asks for strips of the map and gives the DN of the whole map's encoding."""
    rng = np.random.default_rng(5)
    values = rng.uniform(0.0, 4.0, (61, 17)).astype(np.float32)
    values[rng.random(values.shape) < 0.05] = np.nan
    scl = rng.integers(0, 12, values.shape).astype(np.uint8)
    whole = {"AOT": encode.encode_aot, "WVP": encode.encode_wvp}[key](values, scl)
    monkeypatch.setattr(encode, "ENCODE_BLOCK_ROWS", 4)
    asked: list[slice] = []

    def rows(r: slice) -> np.ndarray:
        asked.append(r)
        return values[r]

    dn = encode.encode_map_rows(key, rows, scl)
    assert dn.dtype == np.uint16 and np.array_equal(dn, whole)
    assert len(asked) > 1 and sum(r.stop - r.start for r in asked) == values.shape[0]


def _boa_formula(rho: np.ndarray, offset: bool, nodata: np.ndarray | None) -> np.ndarray:
    """facts §3 written out with whole-array NumPy operations (float64, half to even)."""
    r = rho.astype(np.float64)
    invalid = ~np.isfinite(r) if nodata is None else ~np.isfinite(r) | nodata
    r = np.where(invalid, 0.0, r)
    if offset:
        dn = np.clip(np.rint(r * encode.BOA_QUANTIFICATION_VALUE - encode.BOA_ADD_OFFSET), 1, encode.BOA_DN_MAX)
    else:
        dn = np.clip(np.rint(np.maximum(r, encode.BOA_MIN_REFLECTANCE_PSD146) * encode.BOA_QUANTIFICATION_VALUE),
                     1, 65535)
    out = dn.astype(np.uint16)
    out[invalid] = 0
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [True, False])
def test_boa_one_pass_kernel_equals_the_formula(dtype: type, offset: bool) -> None:
    """The one-pass 2-D encoder gives the whole-array formula's DN: NaN/±inf, the no-data mask, clipping at
    both ends and reflectances exactly half-way between two DN (rounded half to even)."""
    rng = np.random.default_rng(3)
    rho = rng.normal(0.2, 0.6, (97, 131)).astype(dtype)
    rho[0, :40] = (np.arange(40) + 0.5) / encode.BOA_QUANTIFICATION_VALUE  # half-way values
    rho[1, :4] = (np.nan, np.inf, -np.inf, 5.0)
    nodata = rng.random(rho.shape) < 0.1
    for mask in (None, nodata):
        dn = encode.encode_boa(rho, offset=offset, nodata=mask)
        assert dn.dtype == np.uint16 and np.array_equal(dn, _boa_formula(rho, offset, mask))
        assert np.array_equal(encode.encode_boa(rho.ravel(), offset=offset,  # 1-D: the NumPy path
                                                nodata=None if mask is None else mask.ravel()), dn.ravel())
    with pytest.raises(ValueError, match="does not match"):
        encode.encode_boa(rho, nodata=nodata[1:])
