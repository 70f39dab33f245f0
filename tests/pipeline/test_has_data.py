"""Whether a base-resolution run has any pixel with data (pipeline/stages.py ``has_data``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sen2cor.io.scratch import RawImage
from sen2cor.physics.toa_image import ToaImage
from sen2cor.pipeline.stages import DATA_CHECK_STRIP_ROWS, has_data


@pytest.mark.parametrize("where", ["none", "first", "last band, last row", "float band", "scratch band"])
def test_has_data_finds_a_single_pixel_anywhere(tmp_path: Path, where: str) -> None:
    """Bands held in memory, in scratch files or as float32 reflectance, more rows than one strip and a
    partial last strip: a single pixel with data anywhere is found, and a black tile has none."""
    shape = (2 * DATA_CHECK_STRIP_ROWS + 77, 37)
    dns = [np.zeros(shape, np.uint16) for _ in range(3)]
    floats = np.zeros(shape, np.float32)
    if where == "first":
        dns[0][0, 0] = 1
    elif where == "last band, last row":
        dns[2][-1, -1] = 1
    elif where == "float band":
        floats[-1, 5] = np.float32(1e-4)
    elif where == "scratch band":
        dns[1][DATA_CHECK_STRIP_ROWS, 36] = 9000
    bands = [ToaImage(dns[0], -1000, 10000), ToaImage(RawImage.write(tmp_path / "b.u16", dns[1]), -1000, 10000),
             ToaImage(dns[2], -1000, 10000), floats]
    assert has_data(bands, shape[0]) == (where != "none")
