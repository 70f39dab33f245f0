"""The 60 m B09 of the aggregated product from the 20 m B09 BOA (``Downsample_20_to_60``, facts §9)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from sen2cor.io.l1c_bands import block_mean
from sen2cor.pipeline import correction
from sen2cor.pipeline.correction import _b09_60m


def _whole_band(b09: np.ndarray) -> np.ndarray:
    """The formulation on the whole band at once (three band-size float32 temporaries)."""
    b = b09.astype(np.float32)
    out = block_mean(b, 3)
    out[block_mean((b <= 0).astype(np.float32), 3) > 0.5] = np.nan
    return out


def _reflectance(shape: tuple[int, int], seed: int = 7) -> np.ndarray:
    """Surface reflectance with no data (0), negative values and runs of either (blocks mostly no data)."""
    rng = np.random.default_rng(seed)
    rho = rng.normal(0.15, 0.1, shape).astype(np.float32)
    rho[rng.random(shape) < 0.2] = 0.0
    rho[10:40, 5:50] = 0.0
    rho[100:103, 60:66] = -0.01
    return rho


@pytest.mark.parametrize("shape", [(1000, 301), (2 * correction.B09_STRIP_ROWS, 99), (5, 8), (2, 9)])
def test_strips_give_the_whole_band_means(shape: tuple[int, int]) -> None:
    rho = _reflectance(shape)
    got = _b09_60m(rho)
    want = _whole_band(rho)
    assert got.dtype == np.float32 and got.shape == want.shape == (shape[0] // 3, shape[1] // 3)
    np.testing.assert_array_equal(got, want)  # bit for bit, NaN where they are
    if shape[0] >= 100:  # the test image holds blocks mostly without data
        assert np.isnan(got).any() and np.isfinite(got).any()


def test_float64_input_is_aggregated_in_float32() -> None:
    rho = _reflectance((700, 120)).astype(np.float64)
    np.testing.assert_array_equal(_b09_60m(rho), _whole_band(rho))


def test_no_band_size_temporaries() -> None:
    """The point of the strips: a full 20 m band held three tile-size float32 copies (≈ 360 MB) at the
    peak of the 20 m correction; now what is allocated stays well under one band."""
    rho = _reflectance((16 * correction.B09_STRIP_ROWS, 300))
    tracemalloc.start()
    try:
        _b09_60m(rho)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * rho.nbytes, f"{peak / 1e6:.1f} MB allocated for a {rho.nbytes / 1e6:.1f} MB band"
