"""The windowed shadow-kernel construction equals rotating the whole padded filter (facts §6.2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from sen2cor.sc import shadow


def reference_kernel(
    profile: np.ndarray, shape: tuple[int, int], azimuth: float, elevation: int
) -> np.ndarray:
    """Straightforward full-array construction: line down from the origin, centred, rotated, rolled back."""
    y_aa, x_aa = shape
    line = ndimage.zoom(profile, 1.0 / np.tan(np.deg2rad(elevation)))[:y_aa]
    filt = np.zeros(shape, dtype=np.float32)
    filt[: line.size, 0] = line
    ys, xs = int(y_aa / 2.0), int(x_aa / 2.0)
    filt = np.roll(np.roll(filt, ys, axis=0), xs, axis=1)
    az = int(azimuth + 0.5)
    filt = ndimage.rotate(filt, -az, reshape=False, order=0)
    dy, dx = {0: (-ys, xs), 1: (ys, xs), 2: (ys, -xs), 3: (-ys, -xs)}[az // 90]
    return np.roll(np.roll(filt, dy, axis=0), dx, axis=1)


@pytest.mark.parametrize("azimuth", [0.0, 37.4, 80.3, 90.0, 135.0, 200.6, 269.5, 300.0, 359.0])
@pytest.mark.parametrize("shape", [(150, 240), (151, 97)])
def test_kernel_matches_full_rotation(azimuth: float, shape: tuple[int, int]) -> None:
    profile = shadow.generic_cloud_profile(20)
    rows, cols, w = shadow._shadow_kernel(profile, shape, azimuth, 55)
    ours = np.zeros(shape, dtype=np.float32)
    ours[rows, cols] = w
    np.testing.assert_array_equal(ours, reference_kernel(profile, shape, azimuth, 55))


def test_klt_profile_is_a_normalised_gaussian() -> None:
    from sen2cor.sc.parallax import CloudHeightStats

    prof = shadow.cloud_profile(CloudHeightStats(2000.0, 300.0, 1500.0, 2600.0, 10), 20)
    # 0 … mean + 4σ = 3200 m sampled every 20 m, peak (≈1) near 2000 m
    assert (
        prof.size == 160
        and abs(int(np.argmax(prof)) - 100) <= 1
        and prof.max() == pytest.approx(1.0, abs=0.02)
    )
    generic = shadow.cloud_profile(CloudHeightStats(4900.0, 200.0, 0.0, 0.0, 5), 20)
    np.testing.assert_array_equal(generic, shadow.generic_cloud_profile(20))


@pytest.mark.parametrize("shape", [(300, 260), (120, 90)])
def test_overlap_add_path_equals_padded_fft(shape: tuple[int, int]) -> None:
    """The linear (overlap-add) convolution used for large images equals Sen2Cor's padded circular FFT."""
    rng = np.random.default_rng(5)
    mask = rng.random(shape) > 0.97
    padded = (int(shape[0] * 1.5 + 0.5), int(shape[1] * 1.5 + 0.5))
    rows, cols, w = shadow._shadow_kernel(shadow.generic_cloud_profile(60), padded, 123.0, 50)
    ours = shadow._circular_convolution(mask, padded, rows, cols, w)
    kernel = np.zeros(padded, np.float32)
    kernel[rows, cols] = w
    big = np.zeros(padded, np.float32)
    big[: shape[0], : shape[1]] = mask
    ref = np.fft.irfft2(np.fft.rfft2(big) * np.fft.rfft2(kernel), s=padded)[: shape[0], : shape[1]]
    np.testing.assert_allclose(ours, ref, atol=1e-5)  # float32 FFT rounding
