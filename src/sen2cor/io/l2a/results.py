"""Data containers the processing chain fills and the Level-2A writer consumes.

Two frozen dataclasses cross the boundary between ``pipeline/`` and ``io/l2a``:

* :class:`ResolutionResult` – the arrays of one resolution run (physical units, not yet encoded);
* :class:`ProcessingInfo` – product settings (baseline, centres, output format …) and the scalar
  results of a run (AOT method, ozone, visibilities, scene percentages …) that go into the
  metadata and the quality report.

Encoding to product digital numbers happens in :mod:`sen2cor.io.l2a.encode`; nothing here touches
the file system.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from sen2cor.bands import BAND_IDS, RESOLUTIONS
from sen2cor.errors import ConfigError

OutputFormat = Literal["JP2", "TIF", "RAW"]
"""Raster format of the product images: JPEG 2000 (default), GeoTIFF (``--tif``), ENVI (``--raw``)."""

AOT_METHODS: Final[tuple[str, ...]] = ("SEN2COR_DDV", "CAMS", "DEFAULT", "NA")
"""Allowed ``AOT_RETRIEVAL_METHOD`` values (facts §8)."""

OZONE_SOURCES: Final[tuple[str, ...]] = ("AUX_ECMWFT", "CONFIG", "CAMS", "OTHER")
"""Allowed ``OZONE_SOURCE`` values (facts §8)."""

DEM_TYPES: Final[tuple[str, ...]] = (
    "SRTM_90", "DTED_90", "DTED_30", "CDSE_COPERNICUS_30", "CDSE_COPERNICUS_90",
    "AWS_COPERNICUS_30", "AWS_COPERNICUS_90", "NA",
)
"""Allowed ``DEM_TYPE`` values of ``L2A_QUALITY.xml`` (facts §8)."""

DEFAULT_PRODUCT_DOI: Final[str] = "https://doi.org/10.5270/S2_-znk9xsj"
"""``Product_DOI`` default of L2A_GIPP.xml 2.11 (facts §2.1)."""

STANDALONE_BASELINE: Final[str] = "99.99"
"""``Baseline_Version`` of the stand-alone L2A_PB_GIPP.xml (facts §2.4) → product name ``N9999``."""

EMULATED_PROCESSOR_VERSION: Final[str] = "02.11.00"
"""``Idp_Sc_Version`` of Sen2Cor 2.11 (facts §2.4), written where Sen2Cor writes its own version."""

_BASELINE_RE = re.compile(r"^\d{2}\.\d{2}$")
_CENTRE_RE = re.compile(r"^[A-Z0-9_]{4}$")


def _check_2d(name: str, arr: object, shape: tuple[int, int] | None) -> tuple[int, int]:
    a = np.asarray(arr)
    if a.ndim != 2:
        raise ValueError(f"ResolutionResult.{name}: expected a 2-D array, got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"ResolutionResult.{name}: shape {a.shape} differs from {shape}")
    return (int(a.shape[0]), int(a.shape[1]))


@dataclass(frozen=True)
class ResolutionResult:
    """The arrays one resolution run produced, in physical units, all of the same shape.

    Parameters
    ----------
    resolution:
        10, 20 or 60 (metres).
    boa:
        Band id (``"B02"`` …) → float32 surface reflectance (0…1.5), NaN where there is no data; or
        uint16 product digital numbers already encoded by ``L2AWriter.encode_boa`` (0 = no data), which
        take half the memory and are written as they are.  Bands not stored at this resolution (facts §3:
        B10 never, B08 only at 10 m, B09 only at 60 m) are ignored by the writer; a 20 m ``B09`` is used
        only to aggregate the 60 m product.
    scl:
        uint8 scene classification 0–11 (facts §2.2), or None (10 m runs, ``--cr_only``).
    aot:
        float32 aerosol optical thickness at 550 nm (dimensionless).
    wvp:
        float32 column water vapour in cm.
    cloud_probability, snow_probability:
        uint8 confidences 0–100 (``MSK_CLDPRB`` / ``MSK_SNWPRB``).
    ddv_mask:
        bool dark-dense-vegetation pixels (``MSK_DDVPXL``, written when given).
    dem:
        float32 elevation in metres (``…_DEM_<res>m``, written when given).
    """

    resolution: int
    boa: Mapping[str, NDArray[np.float32] | NDArray[np.uint16]] = field(default_factory=dict, hash=False, compare=False)
    scl: NDArray[np.uint8] | None = field(default=None, hash=False, compare=False)
    aot: NDArray[np.float32] | None = field(default=None, hash=False, compare=False)
    wvp: NDArray[np.float32] | None = field(default=None, hash=False, compare=False)
    cloud_probability: NDArray[np.uint8] | None = field(default=None, hash=False, compare=False)
    snow_probability: NDArray[np.uint8] | None = field(default=None, hash=False, compare=False)
    ddv_mask: NDArray[np.bool_] | None = field(default=None, hash=False, compare=False)
    dem: NDArray[np.float32] | None = field(default=None, hash=False, compare=False)

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"ResolutionResult.resolution {self.resolution!r} not in {RESOLUTIONS}")
        shape: tuple[int, int] | None = None
        for band_id, arr in self.boa.items():
            if band_id not in BAND_IDS:
                raise ValueError(f"ResolutionResult.boa: unknown band id {band_id!r}")
            shape = _check_2d(f"boa[{band_id!r}]", arr, shape)
        for name in ("scl", "aot", "wvp", "cloud_probability", "snow_probability", "ddv_mask", "dem"):
            arr = getattr(self, name)
            if arr is not None:
                shape = _check_2d(name, arr, shape)

    @property
    def shape(self) -> tuple[int, int] | None:
        """``(rows, cols)`` shared by all arrays, or None when the result holds no array."""
        for arr in (*self.boa.values(), self.scl, self.aot, self.wvp, self.cloud_probability,
                    self.snow_probability, self.ddv_mask, self.dem):
            if arr is not None:
                return (int(arr.shape[0]), int(arr.shape[1]))
        return None


@dataclass(frozen=True)
class ProcessingInfo:
    """Product settings and scalar processing results written into metadata and quality report.

    The first group of fields are *settings* known before processing (they fix names and
    encodings); the second group are *results* the chain fills afterwards with
    :func:`dataclasses.replace`.  Defaults describe a stand-alone (toolbox) run with nothing
    retrieved yet, as used by ``--cr_only``.

    Parameters
    ----------
    processing_baseline:
        ``dd.dd`` from ``--processing_baseline`` or L2A_PB_GIPP.xml (stand-alone default 99.99).
    processing_centre, archiving_centre:
        Four characters (``^[A-Z_]{4}$``); None inherits the centre of the L1C datastrip.
    psd_version:
        PSD of the output metadata (14.6 … 14.9); None derives it from the L1C baseline
        (facts §9: < 04.00 → 14.6, otherwise 14.9).
    output_format:
        ``JP2`` (default), ``TIF`` (``--tif``) or ``RAW`` (``--raw``).
    sc_cog:
        ``--sc_cog``: SCL as Cloud-Optimized GeoTIFF.
    generate_tci:
        ``Generate_TCI_Output`` of L2A_GIPP.xml.
    product_doi:
        ``Product_DOI`` (written for PSD > 14.6).
    file_class:
        ``USER`` (toolbox) or ``OPER`` (PDGS), for ``L2A_QUALITY.xml``.
    processor_version:
        ``Idp_Sc_Version`` written as the creator version.
    aot_method:
        One of :data:`AOT_METHODS`.
    ozone_source, ozone_du:
        One of :data:`OZONE_SOURCES` and the ozone column in Dobson units.
    start_visibility_km, ddv_visibility_km, final_visibility_km:
        Visibilities of the AOT retrieval (facts §7.3).
    visibility_less_than_5_km:
        Flag of the quality report; None → ``final_visibility_km < 5``.
    ddv_pixel_percentage, ddv_reflectance_range:
        DDV statistics (facts §8).
    blue_path_radiance_factor:
        Blue path-radiance rescaling factor (1.0 when disabled).
    ac_enabled:
        False for ``--sc_only`` runs.
    average_solar_zenith_deg:
        None → mean sun zenith of the L1C tile.
    lut_files:
        LUT file names used (``g99000_wv20_rura.atm`` …).
    dem_type, dem_mean_altitude_km, dem_mean_slope_deg:
        DEM description (one of :data:`DEM_TYPES`).
    aux_data_files:
        DEM tiles and other auxiliary files used.
    gipp_files:
        GIPP type (``GIP_L2ACSC``, ``GIP_L2ACAC``, ``GIP_PROBA2``) → file name, added to the GIPP list.
    negative_boa_percentages:
        Band id → percentage of valid pixels with negative BOA reflectance.
    scene_percentages:
        Names exactly as facts §8 (``CLOUDY_PIXEL_PERCENTAGE`` …), as produced by
        ``sen2cor.sc.quality.scene_percentages``; missing names are written as 0.
    granule_mean_aot, granule_mean_wv:
        None → computed by the writer from the written AOT/WVP images (mean of values > 0 / 1000).
    snow_climatology_map, esacci_water_bodies_map, esacci_land_cover_map, esacci_snow_condition_dir:
        Names of the auxiliary maps used (``None`` when absent, as Sen2Cor writes).
    """

    processing_baseline: str = STANDALONE_BASELINE
    processing_centre: str | None = None
    archiving_centre: str | None = None
    psd_version: float | None = None
    output_format: OutputFormat = "JP2"
    sc_cog: bool = False
    generate_tci: bool = True
    product_doi: str = DEFAULT_PRODUCT_DOI
    file_class: str = "USER"
    processor_version: str = EMULATED_PROCESSOR_VERSION

    aot_method: str = "NA"
    ozone_source: str = "OTHER"
    ozone_du: float = 0.0
    start_visibility_km: float = 40.0
    ddv_visibility_km: float = 0.0
    final_visibility_km: float = 0.0
    visibility_less_than_5_km: bool | None = None
    ddv_pixel_percentage: float = 0.0
    ddv_reflectance_range: float = 0.0
    blue_path_radiance_factor: float = 1.0
    ac_enabled: bool = True
    average_solar_zenith_deg: float | None = None
    lut_files: tuple[str, ...] = ()
    dem_type: str = "NA"
    dem_mean_altitude_km: float = 0.0
    dem_mean_slope_deg: float = 0.0
    aux_data_files: tuple[str, ...] = ()
    gipp_files: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    negative_boa_percentages: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)
    scene_percentages: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)
    granule_mean_aot: float | None = None
    granule_mean_wv: float | None = None
    snow_climatology_map: str = "GlobalSnowMap.tiff"
    esacci_water_bodies_map: str = "None"
    esacci_land_cover_map: str = "None"
    esacci_snow_condition_dir: str = "None"

    def __post_init__(self) -> None:
        if not _BASELINE_RE.match(self.processing_baseline):
            raise ConfigError(
                f"processing baseline {self.processing_baseline!r} is not of the form 'dd.dd' (e.g. '99.99')")
        for name in ("processing_centre", "archiving_centre"):
            value = getattr(self, name)
            if value is not None and not _CENTRE_RE.match(value):
                raise ConfigError(f"{name} {value!r} does not match ^[A-Z_]{{4}}$ (e.g. 'SGS_')")
        if self.output_format not in ("JP2", "TIF", "RAW"):
            raise ConfigError(f"output format {self.output_format!r} not in JP2, TIF, RAW")
        if self.aot_method not in AOT_METHODS:
            raise ConfigError(f"AOT_RETRIEVAL_METHOD {self.aot_method!r} not in {AOT_METHODS}")
        if self.ozone_source not in OZONE_SOURCES:
            raise ConfigError(f"OZONE_SOURCE {self.ozone_source!r} not in {OZONE_SOURCES}")
        if self.dem_type not in DEM_TYPES:
            raise ConfigError(f"DEM_TYPE {self.dem_type!r} not in {DEM_TYPES}")
        if self.file_class not in ("USER", "OPER"):
            raise ConfigError(f"file class {self.file_class!r} not in USER, OPER")
        if self.psd_version is not None and not 14.0 <= self.psd_version < 16.0:
            raise ConfigError(f"PSD version {self.psd_version!r} outside 14.x–15.x")
