"""Images kept in scratch files (io/scratch.py) read back exactly, by rows or whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sen2cor.io.scratch import RawImage
from sen2cor.physics.toa_image import ToaImage


@pytest.fixture
def image(tmp_path: Path) -> tuple[np.ndarray, RawImage]:
    a = np.random.default_rng(0).integers(0, 20000, (37, 23)).astype(np.uint16)
    return a, RawImage.write(tmp_path / "B02_20m.u16", a)


@pytest.mark.parametrize("key", [
    slice(None), slice(3, 9), slice(30, 100), slice(-5, None), slice(5, 5), slice(None, None, 2),
    (slice(2, 8), slice(4, 10)), (slice(1, 4), 7), 0, -1, (12, slice(None, None, -1)), Ellipsis, (Ellipsis, 3),
])
def test_indexing_equals_the_array(image, key) -> None:  # type: ignore[no-untyped-def]
    a, raw = image
    assert np.array_equal(raw[key], a[key])


def test_whole_reads_masks_and_metadata(image) -> None:  # type: ignore[no-untyped-def]
    a, raw = image
    assert raw.shape == a.shape and raw.dtype == np.uint16 and raw.ndim == 2 and raw.nbytes == 0
    assert np.array_equal(np.asarray(raw), a) and np.array_equal(raw[a > 10000], a[a > 10000])
    with pytest.raises(IndexError):
        raw[37]
    with pytest.raises(ValueError, match="expected"):
        RawImage(raw.path, (38, 23), np.uint16)  # the file does not hold that shape


def test_toa_image_on_a_scratch_file_converts_like_in_memory(image) -> None:  # type: ignore[no-untyped-def]
    a, raw = image
    mem, disk = ToaImage(a, -1000.0, 10000.0), ToaImage(raw, -1000.0, 10000.0)
    for key in (slice(4, 20), (slice(0, 3), slice(5, 6)), Ellipsis):
        assert np.array_equal(disk[key], mem[key])
    assert np.array_equal(np.asarray(disk), np.asarray(mem)) and np.array_equal(disk > 0.5, mem > 0.5)
