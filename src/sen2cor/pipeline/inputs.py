"""Loading everything one resolution run needs from the L1C product and the auxiliary data.

The pipeline's only contact with :mod:`sen2cor.io` for inputs: TOA bands on the working grid, sun geometry,
the L1C quality mask, DEM/terrain, ozone and CAMS fields.  Each loader returns plain arrays/values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sen2cor.bands import BAND_IDS, band
from sen2cor.config.settings import L2ASettings
from sen2cor.io.aux import read_ecmwft
from sen2cor.io.l1c_bands import BandReader
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.physics.toa_image import ToaImage

log = logging.getLogger(__name__)

DEFAULT_OZONE_DU = 331.0
"""Ozone used when neither the GIPP nor AUX_ECMWFT gives one (facts §5 item 5, source OTHER)."""

SC_BANDS = tuple(b for b in BAND_IDS if b != "B08")
"""Bands the classification and the correction work on at 20/60 m (B08 enters via the parallax step)."""


@dataclass(frozen=True)
class Ozone:
    """Ozone column (DU) and its ``OZONE_SOURCE`` tag (facts §5 item 5, §8)."""

    du: float
    source: str


def ozone(product: L1CProduct, settings: L2ASettings) -> Ozone:
    """``Ozone_Content`` 0 → mean AUX_ECMWFT ozone; otherwise the configured value (facts §5 item 5)."""
    configured = settings.user.ozone_content
    if configured:
        return Ozone(float(configured), "CONFIG")
    if product.tile.aux_ecmwft is not None:
        value = read_ecmwft(product.tile.aux_ecmwft).ozone_du
        if value is not None:
            return Ozone(value, "AUX_ECMWFT")
    log.warning("no ozone in AUX_ECMWFT and Ozone_Content is 0: using %.0f DU", DEFAULT_OZONE_DU)
    return Ozone(DEFAULT_OZONE_DU, "OTHER")


@dataclass(frozen=True)
class ResolutionInputs:
    """TOA bands (and B08 for the parallax step) on the working grid of one resolution.

    The bands are :class:`~sen2cor.physics.toa_image.ToaImage` (uint16 DN, converted to float32 reflectance
    where used) or float32 arrays.
    """

    resolution: int
    toa: dict[str, ToaImage | NDArray[np.float32]] = field(repr=False)
    b08: ToaImage | NDArray[np.float32] | None = field(default=None, repr=False)


def load_toa(reader: BandReader, resolution: int) -> ResolutionInputs:
    """Read the bands a 20 m or 60 m run works on (facts §5 item 2); missing bands are left out.

    Held as uint16 DN (:class:`ToaImage`): 12 bands of a full 20 m tile take 0.72 GB instead of 1.45 GB.
    """
    present = [b for b in SC_BANDS if b in reader.product.tile.band_files]
    # B08: 2×2 / 6×6 block mean in whole DN, as Sen2Cor imports it; decoded among the others
    b08 = ["B08"] if "B08" in reader.product.tile.band_files else []
    toa: dict[str, ToaImage | NDArray[np.float32]] = dict(reader.toa_images(present + b08, resolution))
    return ResolutionInputs(resolution, toa, toa.pop("B08", None))


def upsample_nearest(a: NDArray, factor: int, shape: tuple[int, int]) -> NDArray:
    """Nearest-neighbour up-sampling by an integer factor, cropped/padded to ``shape`` (facts §5 item 1)."""
    out = np.repeat(np.repeat(a, factor, axis=0), factor, axis=1)[: shape[0], : shape[1]]
    if out.shape != shape:
        out = np.pad(out, ((0, shape[0] - out.shape[0]), (0, shape[1] - out.shape[1])), mode="edge")
    return out


def native_band(band_id: str) -> int:
    """Native resolution of a band."""
    return band(band_id).resolution
