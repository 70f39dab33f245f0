"""The compiled bright-pixel test equals Sen2Cor's NumPy/SciPy formulation (bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from sen2cor.sc import recoveries
from sen2cor.sc.thresholds import (
    HOLLSTEIN_B01_MAX,
    HOLLSTEIN_B03_MIN,
    HOLLSTEIN_B05_B11_MAX,
    HOLLSTEIN_B11_MINUS_B10_MIN,
)

f32 = np.float32


def _reference(bands: dict[str, np.ndarray]) -> np.ndarray:
    """The formulation of Sen2Cor's bright-pixel test with full-image NumPy and ``ndimage.convolve``."""
    b01, b03, b04, b05 = bands["B01"], bands["B03"], bands["B04"], bands["B05"]
    b8a, b10, b11 = bands["B8A"], bands["B10"], bands["B11"]
    with np.errstate(divide="ignore", invalid="ignore"):
        hollstein = (
            (b03 > f32(HOLLSTEIN_B03_MIN))
            & ((b05 / b11) < f32(HOLLSTEIN_B05_B11_MAX))
            & ((b11 - b10) > f32(HOLLSTEIN_B11_MINUS_B10_MIN))
            & (b01 < f32(HOLLSTEIN_B01_MAX))
        )
        image = (b11 - b8a) / (b11 + b8a)
        vertical = np.array([[-1, 2, -1]] * 3, dtype=np.float64) / 6
        diagonal = (np.full((3, 3), -1.0) + 3 * np.eye(3)) / 6
        ndbi = None
        for k in (vertical, vertical.T, diagonal, np.fliplr(diagonal)):
            r = ndimage.convolve(image, k, mode="constant", cval=0.0)
            ndbi = r if ndbi is None else np.maximum(ndbi, r)
        ndvi = (b8a - b04) / (b8a + b04)
        return hollstein | ((ndbi > 0) & (ndbi > ndvi))


@pytest.mark.parametrize("shape", [(150, 41), (1, 9), (2, 2), (64, 5), (65, 7)])
def test_bright_pixels_equal_the_numpy_formulation(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    names = ("B01", "B03", "B04", "B05", "B8A", "B10", "B11")
    bands = {n: rng.uniform(0.0, 0.6, shape).astype(np.float32) for n in names}
    # Quantised reflectances make flat areas where the detectors cancel exactly, and no-data (0/0 = NaN).
    for n in ("B8A", "B11"):
        bands[n] = (np.round(bands[n] * 20) / 20).astype(np.float32)
    bands["B11"][: shape[0] // 3, : shape[1] // 2] = 0.25
    bands["B8A"][: shape[0] // 3, : shape[1] // 2] = 0.15
    bands["B8A"][-1, -1] = bands["B11"][-1, -1] = 0.0
    np.testing.assert_array_equal(recoveries.bright_pixels(bands), _reference(bands))


@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
def test_bright_pixels_by_row_chunks_equal_the_whole_image(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunks (halo of one row for the 3×3 detectors) change nothing, wherever the chunk edges fall."""
    rng = np.random.default_rng(chunk)
    names = ("B01", "B03", "B04", "B05", "B8A", "B10", "B11")
    bands = {n: (np.round(rng.uniform(0.0, 0.6, (150, 41)) * 20) / 20).astype(np.float32) for n in names}
    monkeypatch.setattr(recoveries, "BRIGHT_CHUNK_ROWS", chunk)
    np.testing.assert_array_equal(recoveries.bright_pixels(bands), _reference(bands))
