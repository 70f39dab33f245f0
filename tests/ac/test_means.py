"""masked_mean: NumPy's ``values[mask].mean()`` bit for bit, without the masked copy."""

import numpy as np
import pytest

from sen2cor.ac.means import PAIRWISE_BLOCK, masked_mean


@pytest.mark.parametrize("n", [1, 7, 8, 9, PAIRWISE_BLOCK, PAIRWISE_BLOCK + 1, 1000, 8193, 250_001])
def test_equals_numpy_mean_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    for scale in (1e-3, 1.0, 1e3):
        values = (rng.random(n, dtype=np.float32) * np.float32(scale)).astype(np.float32)
        values[rng.random(n) < 0.2] *= -1
        for fraction in (0.05, 0.5, 0.97, 1.0):
            mask = rng.random(n) < fraction
            if not mask.any():
                continue
            assert masked_mean(values, mask) == float(values[mask].mean())


def test_tile_shaped_image_and_masks() -> None:
    """A 2-D image with the masks of a scene: large runs of selected and unselected pixels."""
    rng = np.random.default_rng(5)
    rho = rng.normal(0.2, 0.1, (900, 1100)).astype(np.float32)
    mask = np.ones(rho.shape, bool)
    mask[:, :37] = False  # no-data border
    mask[300:420, 500:800] = False  # a cloud
    mask &= rng.random(rho.shape) < 0.99
    assert masked_mean(rho, mask) == float(rho[mask].mean())
    # the float32 summation order matters: an exact (float64) mean differs in the last bits
    assert float(np.float32(rho[mask].astype(np.float64).mean())) != float(rho[mask].mean())


def test_other_inputs_fall_back_to_numpy() -> None:
    rng = np.random.default_rng(6)
    values = rng.random((50, 60))  # float64
    mask = rng.random((50, 60)) < 0.5
    assert masked_mean(values, mask) == float(values[mask].mean())
    strided = rng.random((50, 120), dtype=np.float32)[:, ::2]
    assert masked_mean(strided, mask) == float(strided[mask].mean())


def test_empty_mask_is_nan() -> None:
    assert np.isnan(masked_mean(np.ones(4, np.float32), np.zeros(4, bool)))
