"""Typed, immutable description of a Level-1C product as read from its metadata.

Produced by :func:`sen2cor.io.l1c.read_l1c`; consumed by the pipeline and the L2A writer.
Nothing here touches the file system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sen2cor.grid import TileGrid


@dataclass(frozen=True)
class AngleGrid:
    """A 5 km angle grid of ``MTD_TL.xml`` (sun, or one band's viewing angles merged over detectors).

    ``zenith``/``azimuth`` are float32 degrees, NaN where the metadata say ``NaN``; row 0 / column 0
    is centred on the tile's upper-left corner (Sentinel-2 convention).
    """

    zenith: NDArray[np.float32] = field(hash=False, compare=False)
    azimuth: NDArray[np.float32] = field(hash=False, compare=False)
    col_step_m: float = 5000.0
    row_step_m: float = 5000.0


@dataclass(frozen=True)
class TileAngles:
    """Sun and viewing geometry of the tile (``Tile_Angles`` of ``MTD_TL.xml``)."""

    sun: AngleGrid
    mean_sun_zenith: float
    mean_sun_azimuth: float
    viewing: dict[str, AngleGrid] = field(hash=False, compare=False)
    """Per band id, the viewing-angle grid with all detectors merged (NaN outside every footprint)."""
    mean_viewing: dict[str, tuple[float, float]] = field(hash=False, compare=False)
    """Per band id, ``(zenith, azimuth)`` of ``Mean_Viewing_Incidence_Angle``."""

    @property
    def mean_view_zenith(self) -> float:
        """Scene viewing zenith as Sen2Cor uses it: mean over bands of the values > 0 (facts §5)."""
        vals = [z for z, _ in self.mean_viewing.values() if z > 0]
        return float(np.mean(vals)) if vals else 0.0

    @property
    def mean_view_azimuth(self) -> float:
        """Scene viewing azimuth: mean over bands of the values > 0 (facts §5)."""
        vals = [a for _, a in self.mean_viewing.values() if a > 0]
        return float(np.mean(vals)) if vals else 0.0


@dataclass(frozen=True)
class L1CTile:
    """One granule (tile) of a Level-1C product."""

    path: Path
    """The granule folder ``GRANULE/L1C_T<tile>_A<orbit>_<time>``."""
    tile_id: str
    """Long tile identifier, e.g. ``S2A_OPER_MSI_L1C_TL_SGS__20171207T032513_A012840_T55JEJ_N02.06``."""
    tile_number: str
    """MGRS tile without the leading ``T``, e.g. ``55JEJ``."""
    datastrip_id: str
    sensing_time: datetime
    absolute_orbit: int
    grid: TileGrid
    angles: TileAngles
    band_files: dict[str, Path] = field(hash=False, compare=False)
    """Band id → JP2 file of that band (``IMG_DATA/T<tile>_<time>_<band>.jp2``)."""
    tci_file: Path | None = None
    aux_ecmwft: Path | None = None
    """``AUX_DATA/AUX_ECMWFT`` GRIB (ozone, water vapour, pressure) if present."""
    aux_cams: Path | None = None
    """``AUX_DATA/AUX_CAMSFO`` or ``AUX_CAMSRE``/``AUX_CAMSAN`` GRIB if present."""
    qi_dir: Path | None = None
    """``QI_DATA`` folder of the granule (GML or JP2 masks, reports)."""
    mask_files: dict[tuple[str, str], Path] = field(default_factory=dict, hash=False, compare=False)
    """``(mask type, band id)`` → file, from ``Pixel_Level_QI/MASK_FILENAME`` (e.g. ``("MSK_DETFOO", "B02")``)."""
    degraded_msi_data_percentage: float = 0.0
    cloudy_pixel_percentage: float | None = None
    horizontal_cs_name: str = ""


@dataclass(frozen=True)
class L1CProduct:
    """A Level-1C user product (SAFE compact) and its one tile.

    Radiometry (facts §3): for a valid DN, ``ρ_TOA = (DN + radio_add_offset[band]) / quantification_value``
    with non-positive results set to 1/quantification; DN 0 is no data.
    """

    path: Path
    """The ``.SAFE`` folder."""
    product_uri: str
    spacecraft: str
    """``S2A``, ``S2B`` or ``S2C``."""
    product_start_time: datetime
    product_stop_time: datetime
    generation_time: datetime
    datatake_id: str
    """``datatakeIdentifier``, e.g. ``GS2A_20171207T002051_012840_N02.06``."""
    datatake_type: str
    datatake_sensing_start: datetime
    relative_orbit: int
    orbit_direction: str
    processing_baseline: str
    """``dd.dd``, e.g. ``02.06`` or ``05.10``."""
    psd_version: float
    """PSD version of the L1C metadata (14.2 … 15.0) derived from its schema location / baseline."""
    quantification_value: float
    radio_add_offset: dict[str, int] = field(hash=False, compare=False)
    """Band id → ``RADIO_ADD_OFFSET`` (−1000 for PB ≥ 04.00, else 0)."""
    solar_irradiance: dict[str, float] = field(hash=False, compare=False)
    """Band id → ``SOLAR_IRRADIANCE`` in W m⁻² µm⁻¹."""
    u: float
    """Earth–Sun distance correction factor ``U``."""
    nodata_value: int
    saturated_value: int
    datastrip_path: Path | None
    """``DATASTRIP/DS_*/`` folder, if present."""
    tile: L1CTile
    product_format: str = "SAFE_COMPACT"
    mtd_file: Path | None = None

    @property
    def has_radio_offset(self) -> bool:
        """True for processing baseline ≥ 04.00 (PSD > 14.6), where DN carry a −1000 offset."""
        return any(v != 0 for v in self.radio_add_offset.values())
