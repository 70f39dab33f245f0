"""Nearest up-sampling of 20 m maps to 10 m strips, and per-pixel functions applied before it."""

from __future__ import annotations

import numpy as np
import pytest

from sen2cor.ac.constants import BORDER_MASK_MAX, CLEAR_CLASSES, CLOUD_CLASSES_AC
from sen2cor.ac.filters import box_mean
from sen2cor.ac.strips import StripSetup, step2_masks, upsample_rows, upsample_rows_of
from sen2cor.io.l2a.encode import encode_aot
from sen2cor.sc.classes import SceneClass, class_mask


@pytest.mark.parametrize(("base", "shape", "span"), [((50, 40), (100, 80), (0, 100)), ((50, 40), (100, 80), (33, 61)),
                                                     ((17, 9), (51, 27), (50, 51)), ((61, 61), (183, 183), (7, 90))])
def test_upsample_rows_is_nearest_and_commutes_with_per_pixel_encoding(base: tuple[int, int], shape: tuple[int, int],
                                                                      span: tuple[int, int]) -> None:
    rng = np.random.default_rng(base[0])
    aot = rng.uniform(0.0, 1.2, base).astype(np.float32)
    aot[3, 4] = np.nan
    r0, r1 = span
    rows = (np.arange(r0, r1) * base[0]) // shape[0]
    cols = (np.arange(shape[1]) * base[1]) // shape[1]
    up = upsample_rows(aot, shape, r0, r1)
    np.testing.assert_array_equal(up, aot[np.ix_(rows, cols)])
    ours = upsample_rows_of(lambda sl: encode_aot(aot[sl]), base, shape, r0, r1)
    assert ours.dtype == np.uint16 and np.array_equal(ours, encode_aot(up))


@pytest.mark.parametrize(("base", "shape", "span"), [((50, 40), (100, 80), (0, 100)), ((50, 40), (100, 80), (33, 61)),
                                                     ((17, 9), (51, 27), (50, 51)), ((61, 61), (183, 183), (7, 90))])
def test_step2_masks_from_the_coarse_classes_equal_those_of_the_upsampled_strip(
        base: tuple[int, int], shape: tuple[int, int], span: tuple[int, int]) -> None:
    """The 10 m step-2 masks made in one pass from the 20 m SCL are those of its up-sampled strip (every SCL
    code and a few undefined ones), and so is the no-data border's box mean."""
    rng = np.random.default_rng(base[1])
    scl = rng.integers(0, 16, base).astype(np.uint8)
    scl[:4] = 0
    setup = StripSetup(shape=shape, bands=(), cells=[], geometries=[], tables=[], mean_index=0,
                       params=None, solar_irradiance={}, altitude_km=0.0, elevation_class=0,  # type: ignore[arg-type]
                       lp_factors={}, box=7, replace_clouds=True, high_cloud=False, any_nodata=True, step2=True)
    r0, r1 = span
    ours = step2_masks(setup, scl, shape, r0, r1)
    up = upsample_rows(scl, shape, r0, r1)
    frac = box_mean((up > SceneClass.SATURATED_DEFECTIVE).astype(np.float32), setup.box)
    ref = {"valid": up > SceneClass.SATURATED_DEFECTIVE, "clouds": class_mask(up, CLOUD_CLASSES_AC),
           "clear": class_mask(up, CLEAR_CLASSES), "border": (frac > 0) & (frac < BORDER_MASK_MAX)}
    for name in ("valid", "clouds", "clear", "border"):
        assert np.array_equal(getattr(ours, name), ref[name]), name
    assert ours.valid.any() and ours.clouds.any() and ours.clear.any()


def test_fill_sums_of_row_parts_equal_the_joined_strip() -> None:
    """Step-1 strips are summed as row parts; their sums are the joined strip's up to float64 rounding, and
    the float32 fill values are the same."""
    from sen2cor.ac.strips import FillSums

    rng = np.random.default_rng(4)
    scl = rng.integers(0, 12, (301, 257)).astype(np.uint8)
    rho = {b: rng.uniform(-0.05, 0.9, scl.shape).astype(np.float32) for b in ("B02", "B08")}
    joined, parted = FillSums(("B02", "B08")), FillSums(("B02", "B08"))
    joined.add(FillSums.of(rho, scl))
    for rows in (slice(0, 150), slice(150, 301)):
        parted.add(FillSums.of({b: r[rows] for b, r in rho.items()}, scl[rows]))
    for b in rho:
        np.testing.assert_allclose(parted._s[b], joined._s[b], rtol=1e-13, atol=0)
        assert parted._s[b][1] == np.count_nonzero(scl > 1) == joined._s[b][1]
        assert parted._s[b][3] == joined._s[b][3] > 0
        assert np.float32(parted._s[b][0] / parted._s[b][1]) == np.float32(joined._s[b][0] / joined._s[b][1])
        assert np.float32(parted._s[b][2] / parted._s[b][3]) == np.float32(joined._s[b][2] / joined._s[b][3])


def test_fill_sums_equal_numpy_masked_sums() -> None:
    """The compiled sums equal NumPy's sums of the masked pixels (valid: SCL > 1; clear: vegetation, not
    vegetated, water) up to float64 rounding, with the same counts and the same float32 fill values."""
    from sen2cor.ac.strips import FillSums

    rng = np.random.default_rng(7)
    scl = rng.integers(0, 12, (1024, 2000)).astype(np.uint8)
    rho = rng.uniform(-0.05, 0.9, scl.shape).astype(np.float32)
    sv, nv, sc, nc = FillSums.of({"B04": rho}, scl)["B04"]
    valid, clear = scl > 1, np.isin(scl, (4, 5, 6))
    assert (nv, nc) == (np.count_nonzero(valid), np.count_nonzero(clear))
    np.testing.assert_allclose((sv, sc), (rho[valid].sum(dtype=np.float64), rho[clear].sum(dtype=np.float64)),
                               rtol=1e-12, atol=0)
    assert np.float32(sv / nv) == np.float32(rho[valid].sum(dtype=np.float64) / nv)
    assert np.float32(sc / nc) == np.float32(rho[clear].sum(dtype=np.float64) / nc)
