"""ToaImage: TOA reflectance kept as uint16 DN must give exactly the float32 reflectance of dn_to_toa."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sen2cor.physics.radiometry import dn_to_toa
from sen2cor.physics.toa_image import ToaImage

PARITY = "parity-a/input/S2A_MSIL1C_20171207T002051_N0206_R116_T55JEJ_20171207T032513.SAFE"


@pytest.fixture()
def dn() -> np.ndarray:
    rng = np.random.default_rng(7)
    a = rng.integers(0, 12000, size=(37, 53)).astype(np.uint16)
    a[0, :5] = [0, 1, 999, 1000, 1001]  # no data and the offset edge (DN ≤ 1000 → 1 DN with −1000)
    return a


@pytest.mark.parametrize("offset", [0.0, -1000.0])
def test_parts_and_whole_equal_dn_to_toa(dn: np.ndarray, offset: float) -> None:
    img = ToaImage(dn, offset, 10000.0)
    ref = dn_to_toa(dn, offset, 10000.0)
    np.testing.assert_array_equal(np.asarray(img), ref)
    np.testing.assert_array_equal(img[5:9], ref[5:9])
    np.testing.assert_array_equal(img[3:7, 10:20], ref[3:7, 10:20])
    mask = dn > 5000
    np.testing.assert_array_equal(img[mask], ref[mask])
    assert img[0, 0] == 0.0 and img[0, 1] == ref[0, 1] and img[2, 3] == ref[2, 3]
    assert img.shape == dn.shape and img.dtype == np.float32 and img.nbytes == dn.nbytes
    # zeros() answers from the DN: exactly where the reflectance is 0 (the offset edge is not 0)
    np.testing.assert_array_equal(img.zeros(slice(None)), ref == 0)
    np.testing.assert_array_equal(img.zeros(slice(0, 2)), ref[0:2] == 0)
    assert img.zeros(slice(0, 1)).sum() == 1


def test_behaves_like_the_float_array_in_arithmetic(dn: np.ndarray) -> None:
    img, ref = ToaImage(dn, -1000.0, 10000.0), dn_to_toa(dn, -1000.0, 10000.0)
    np.testing.assert_array_equal(img > 0.05, ref > 0.05)
    np.testing.assert_array_equal(img * np.float32(2.0) - img, ref * np.float32(2.0) - ref)
    np.testing.assert_array_equal(np.maximum(img, np.float32(0.1)), np.maximum(ref, np.float32(0.1)))
    np.testing.assert_array_equal(np.where(img > 0, img, -1), np.where(ref > 0, ref, -1))
    assert float(img.mean()) == float(ref.mean()) and img.ravel().shape == ref.ravel().shape
    assert np.count_nonzero(img) == np.count_nonzero(ref)
    assert img.astype(np.float64).dtype == np.float64


def test_is_read_only_and_needs_uint16(dn: np.ndarray) -> None:
    img = ToaImage(dn, 0.0, 10000.0)
    with pytest.raises(TypeError):
        img[0, 0] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        np.add(np.zeros(dn.shape, np.float32), 1, out=(img,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uint16"):
        ToaImage(dn.astype(np.float32), 0.0, 10000.0)  # type: ignore[arg-type]


def test_reader_images_equal_float_reads(shared_data: Path) -> None:
    """Down-sampled (B02 10→20 m block mean), native (B8A) and up-sampled (B01 bicubic, B09 bilinear)."""
    from sen2cor.io.l1c import read_l1c
    from sen2cor.io.l1c_bands import BandReader

    reader = BandReader(read_l1c(shared_data / PARITY), threads=2)
    images = reader.toa_images(["B02", "B8A", "B01", "B09"], 20)
    for band_id, img in images.items():
        assert isinstance(img, ToaImage) and img.dn.dtype == np.uint16
        np.testing.assert_array_equal(np.asarray(img), reader.toa(band_id, 20), err_msg=band_id)


@pytest.mark.parametrize("offset", [0.0, -1000.0])
def test_uint16_kernel_equals_the_numpy_formula_for_every_dn(offset: float) -> None:
    # dn_to_toa converts uint16 in one numba pass; other dtypes take the NumPy operations: same bits
    every = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    fast, numpy_path = dn_to_toa(every, offset, 10000.0), dn_to_toa(every.astype(np.int32), offset, 10000.0)
    assert fast.dtype == numpy_path.dtype == np.float32
    np.testing.assert_array_equal(fast.view(np.uint32), numpy_path.view(np.uint32))
    strided = every[::3, 1::2]  # a view that is not contiguous
    np.testing.assert_array_equal(dn_to_toa(strided, offset, 10000.0), numpy_path[::3, 1::2])
    assert fast[0, 0] == 0.0 and fast[0, 1] > 0.0
