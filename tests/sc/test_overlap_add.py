"""The banded overlap-add convolution equals ``scipy.signal.oaconvolve`` to the last bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from sen2cor.sc import overlap_add


@pytest.mark.parametrize(
    ("image_shape", "kernel_shape", "band"),
    [
        ((700, 650), (22, 121), 2),
        ((1300, 400), (9, 5), 3),
        ((300, 280), (40, 30), 8),
        ((50, 600), (30, 3), 1),
    ],
)
@pytest.mark.parametrize("workers", [1, 4])
def test_oaconvolve_crop_equals_scipy(
    image_shape: tuple[int, int], kernel_shape: tuple[int, int], band: int, workers: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On any number of FFT threads (scipy's ``oaconvolve`` runs on one)."""
    monkeypatch.setattr(overlap_add, "BAND_BLOCKS", band)
    monkeypatch.setattr(overlap_add, "thread_count", lambda: workers)
    rng = np.random.default_rng(sum(image_shape))
    image = (rng.random(image_shape) > 0.7).astype(np.float32)
    kernel = np.zeros(kernel_shape, dtype=np.float32)
    kernel[rng.integers(0, kernel_shape[0], 40), rng.integers(0, kernel_shape[1], 40)] = rng.random(40)
    full = signal.oaconvolve(image, kernel, mode="full")
    offset, shape = (kernel_shape[0] // 2, 3), image_shape
    given = image.astype(bool) if band % 2 else image  # the mask may come as bool
    ours = overlap_add.oaconvolve_crop(given, kernel, offset, shape)
    np.testing.assert_array_equal(
        ours, full[offset[0] : offset[0] + shape[0], offset[1] : offset[1] + shape[1]]
    )


def test_block_lengths_are_those_of_scipy() -> None:
    """The block size, overlap and steps of :func:`oa_lengths` are ``oaconvolve``'s, along any axis: a
    full tile's mask with the kernels of the shadow step, and a sweep of sizes (one block included)."""
    from scipy.signal._signaltools import _calc_oa_lens

    sizes = [(5490, k) for k in range(2, 400)] + [(1830, 61), (10980, 121), (2, 1), (7, 7), (3, 9), (40, 300)]
    sizes += [(a, b) for a in range(1, 80, 3) for b in range(1, 80, 5)]
    for s1, s2 in sizes:
        assert overlap_add.oa_lengths(s1, s2) == _calc_oa_lens(s1, s2), (s1, s2)
    assert overlap_add.oa_lengths(5490, 61)[1] == 60
