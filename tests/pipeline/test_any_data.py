"""The no-data mask of a base-resolution run (pipeline/stages.py ``any_data``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sen2cor.io.scratch import RawImage
from sen2cor.physics.toa_image import ToaImage
from sen2cor.pipeline.stages import any_data


def test_any_data_is_the_union_of_the_bands_data(tmp_path: Path) -> None:
    """Bands held in memory, in scratch files or as float32 reflectance: a pixel is valid where any band
    has a DN (reflectance) above 0, strip by strip as over the whole image."""
    rng = np.random.default_rng(5)
    shape = (1100, 37)  # more rows than one strip, a partial last strip
    dns = [np.where(rng.random(shape) < 0.7, 0, rng.integers(1, 9000, shape)).astype(np.uint16) for _ in range(3)]
    bands = [ToaImage(dns[0], -1000, 10000), ToaImage(RawImage.write(tmp_path / "b.u16", dns[1]), -1000, 10000),
             dns[2].astype(np.float32) / 10000]
    expected = (dns[0] > 0) | (dns[1] > 0) | (dns[2] > 0)
    assert 0 < np.count_nonzero(expected) < expected.size
    assert np.array_equal(any_data(bands, shape), expected)
