"""The user GIPP ``L2A_GIPP.xml``: typed, validated, frozen.

Defaults and allowed values are those of Sen2Cor 2.11 (facts §2.1; 2.11 ``L2A_GIPP.xsd`` and the
2.11 SNAP template). Older GIPPs are accepted: ``Nr_Processes`` (pre-2.8 name) is read as
``Nr_Threads``, and elements introduced after Sen2Cor 2.8 (:data:`ELEMENTS_ADDED_AFTER_2_8`) fall back
to their 2.11 default with a log line. Every other element is required.

The four GIPP readers are re-exported here: :func:`read_user_gipp`, :func:`read_sc_gipp`,
:func:`read_ac_gipp`, :func:`read_pb_gipp`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TypeVar

from sen2cor.config.cal_gipp import AcGipp, ScGipp, read_ac_gipp, read_sc_gipp
from sen2cor.config.pb_gipp import PbGipp, read_pb_gipp
from sen2cor.config.xmlio import GippReader, parse_gipp
from sen2cor.errors import ConfigError, MetadataError

logger = logging.getLogger(__name__)

__all__ = [
    "AcGipp",
    "PbGipp",
    "PsdScheme",
    "RegionOfInterest",
    "ScGipp",
    "UserGipp",
    "read_ac_gipp",
    "read_pb_gipp",
    "read_sc_gipp",
    "read_user_gipp",
]

USER_GIPP_ROOT: Final[str] = "Level-2A_Ground_Image_Processing_Parameter"
"""Root element of L2A_GIPP.xml (2.11 XSD)."""

LOG_LEVELS: Final[tuple[str, ...]] = ("NOTSET", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""Allowed ``Log_Level`` values (facts §2.1)."""

TILE_SIZE_10M: Final[int] = 10980
"""Tile width/height in 10 m pixels: upper bound of the ROI midpoint and window (facts §2.1)."""

ROI_MULTIPLE: Final[int] = 6
"""ROI midpoint and window must be divisible by 6 so that 10/20/60 m windows align (facts §2.1)."""

ROI_KEYWORDS: Final[tuple[str, ...]] = ("OFF", "AUTO")
"""Non-numeric values of ``row0``/``col0``."""

MAX_THREADS: Final[int] = 8
"""Upper bound of ``Nr_Threads`` (OpenJPEG decoding threads, facts §2.1)."""

PSD_VERSIONS: Final[tuple[str, ...]] = ("DEFAULT", "14.6", "14.7", "14.8", "14.9", "15.0")
"""``PSD_Version`` values: 2.11 XSD list plus 15.0 (Sen2Cor 3.x, facts §2.1)."""

AEROSOL_TYPES: Final[tuple[str, ...]] = ("RURAL", "MARITIME", "AUTO")
MID_LATITUDES: Final[tuple[str, ...]] = ("SUMMER", "WINTER", "AUTO")
OZONE_CONTENTS_DU: Final[tuple[int, ...]] = (0, 250, 290, 330, 331, 370, 377, 410, 420, 450, 460)
"""``Ozone_Content`` in Dobson units; 0 = take the ozone column from the L1C ECMWF aux data (facts §2.1)."""

BRDF_CODES: Final[tuple[int, ...]] = (0, 1, 2, 11, 12, 21, 22)
"""Supported ``BRDF_Correction`` codes (facts §7.9)."""

BRDF_LEGACY_CODES: Final[dict[int, int]] = {3: 1, 4: 2, 5: 11, 6: 21, 7: 11, 8: 21, 9: 12, 10: 22}
"""Legacy ``BRDF_Correction`` codes 3–10 and the code each one is treated as (facts §7.9)."""

INTEGER_RANGES: Final[dict[str, tuple[int, int]]] = {
    "Median_Filter": (0, 10),
    "WV_Correction": (0, 1),
    "VIS_Update_Mode": (0, 1),
    "WV_Watermask": (0, 2),
    "Database_Compression_Level": (0, 9),
}
"""Inclusive ranges of the integer elements (2.11 ``L2A_GIPP.xsd``, facts §2.1; older: WV_Correction 0–4)."""

NUMBER_RANGES: Final[dict[str, tuple[float, float]]] = {
    "BRDF_Lower_Bound": (0.1, 0.25),
    "Adj_Km": (0.0, 10.0),
    "Altitude": (0.0, 2.5),
    "Smooth_WV_Map": (0.0, 300.0),
    "WV_Threshold_Cirrus": (0.1, 1.0),
}
"""Inclusive ranges of the decimal elements (2.11 ``L2A_GIPP.xsd``, facts §2.1): km, km, km, m, cm."""

VISIBILITY_RANGE_KM: Final[tuple[float, float]] = (5.0, 120.0)
"""Allowed magnitude of ``Visibility``; a negative value forces a constant visibility (facts §2.1)."""

ELEMENTS_ADDED_AFTER_2_8: Final[tuple[str, ...]] = (
    "Common_Section/Region_Of_Interest",
    "Common_Section/Product_DOI",
    "Common_Section/Product_Generator",
    "Common_Section/Force_Exit_On_DEM_Error",
    "Common_Section/Handle_L1C_QLT_Mask",
    "Common_Section/PSD_Version",
    "Common_Section/QI_Scheme",
    "Atmospheric_Correction/Calibration/Database_Compression_Level",
)
"""Elements that older (≤ 2.8) user GIPPs lack; when absent the 2.11 default is used and logged."""

T = TypeVar("T")

LogLevel = Literal["NOTSET", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
AerosolType = Literal["RURAL", "MARITIME", "AUTO"]
MidLatitude = Literal["SUMMER", "WINTER", "AUTO"]


@dataclass(frozen=True)
class RegionOfInterest:
    """``Common_Section/Region_Of_Interest``: optional processing window (10 m pixels)."""

    row0: int | str = "OFF"
    """Row of the ROI midpoint, or ``"OFF"`` (whole tile) / ``"AUTO"`` (detected)."""
    col0: int | str = "OFF"
    """Column of the ROI midpoint, or ``"OFF"`` / ``"AUTO"``."""
    nrow_win: int = 1200
    """Window height in 10 m pixels (2.11 template default)."""
    ncol_win: int = 1200
    """Window width in 10 m pixels (2.11 template default)."""

    @property
    def mode(self) -> Literal["OFF", "AUTO", "FIXED"]:
        """``OFF`` (no ROI), ``AUTO`` (detected) or ``FIXED`` (row0/col0 given)."""
        if isinstance(self.row0, int):
            return "FIXED"
        return "AUTO" if self.row0 == "AUTO" else "OFF"


@dataclass(frozen=True)
class PsdScheme:
    """One ``PSD_Scheme`` entry: the schema names used for a product specification version."""

    psd_version: str
    psd_reference: str
    up_scheme_1c: str = "S2_User_Product_Level-1C_Metadata"
    up_scheme_2a: str = "S2_User_Product_Level-2A_Metadata"
    tile_scheme_1c: str = "S2_PDI_Level-1C_Tile_Metadata"
    tile_scheme_2a: str = "S2_PDI_Level-2A_Tile_Metadata"
    ds_scheme_1c: str = "S2_PDI_Level-1C_Datastrip_Metadata"
    ds_scheme_2a: str = "S2_PDI_Level-2A_Datastrip_Metadata"


PSD_SCHEME_ELEMENTS: Final[dict[str, str]] = {
    "up_scheme_1c": "UP_Scheme_1C",
    "up_scheme_2a": "UP_Scheme_2A",
    "tile_scheme_1c": "Tile_Scheme_1C",
    "tile_scheme_2a": "Tile_Scheme_2A",
    "ds_scheme_1c": "DS_Scheme_1C",
    "ds_scheme_2a": "DS_Scheme_2A",
}
"""Field of :class:`PsdScheme` → element name inside ``PSD_Scheme``."""

DEFAULT_PSD_SCHEMES: Final[tuple[PsdScheme, ...]] = tuple(
    PsdScheme(v, f"S2-PDGS-TAS-DI-PSD-V{v}_Schema") for v in ("14.2", "14.6", "14.7", "14.8", "14.9")
)
"""PSD schemes listed by the 2.11 user GIPP (facts §2.1)."""


@dataclass(frozen=True)
class UserGipp:
    """Parsed ``L2A_GIPP.xml``; defaults are the Sen2Cor 2.11 values (facts §2.1)."""

    # Common_Section
    log_level: LogLevel = "INFO"
    roi: RegionOfInterest = field(default_factory=RegionOfInterest)
    product_doi: str = "https://doi.org/10.5270/S2_-znk9xsj"
    """DOI written into the L2A metadata when PSD > 14.6."""
    nr_threads: int | None = None
    """OpenJPEG decoding threads 1–8; ``None`` = AUTO (from the CPU count)."""
    product_generator: str = "NONE"
    dem_directory: str = "NONE"
    """DEM folder (relative to SEN2COR_HOME or absolute); ``NONE`` = flat terrain."""
    dem_reference: str = "NONE"
    generate_dem_output: bool = False
    force_exit_on_dem_error: bool = False
    generate_tci_output: bool = True
    generate_ddv_output: bool = False
    handle_l1c_qlt_mask: bool = False
    downsample_20_to_60: bool = True
    psd_version: str = "DEFAULT"
    psd_schemes: tuple[PsdScheme, ...] = DEFAULT_PSD_SCHEMES
    gipp_scheme: str = "L2A_GIPP"
    sc_scheme: str = "L2A_CAL_SC_GIPP"
    ac_scheme: str = "L2A_CAL_AC_GIPP"
    pb_scheme: str = "L2A_PB_GIPP"
    qi_scheme: str = "L2A_QUALITY"
    # Scene_Classification
    median_filter: int = 0
    """Median window applied to the final SCL; 0 = off."""
    # Atmospheric_Correction/Look_Up_Tables
    aerosol_type: AerosolType = "RURAL"
    mid_latitude: MidLatitude = "SUMMER"
    ozone_content: int = 0
    """Dobson units; 0 = from the L1C ECMWF aux data."""
    # Atmospheric_Correction/Flags
    wv_correction: int = 1
    vis_update_mode: int = 1
    wv_watermask: int = 1
    cirrus_correction: bool = False
    dem_terrain_correction: bool = True
    brdf_correction: int = 0
    brdf_lower_bound: float = 0.22
    # Atmospheric_Correction/Calibration
    adj_km: float = 1.0
    visibility_km: float = 40.0
    """Start visibility in km; negative = forced constant visibility."""
    altitude_km: float = 0.1
    smooth_wv_map_m: float = 100.0
    wv_threshold_cirrus_cm: float = 0.25
    database_compression_level: int = 0

    @property
    def dem_enabled(self) -> bool:
        """Whether a DEM is configured (``DEM_Directory`` not ``NONE``)."""
        return self.dem_directory.upper() != "NONE"


def _roi_position(reader: GippReader, tag: str) -> int | str:
    value = reader.text(tag)
    if value.upper() in ROI_KEYWORDS:
        return value.upper()
    expected = f"OFF, AUTO or an integer from 0 to {TILE_SIZE_10M} divisible by {ROI_MULTIPLE}"
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= TILE_SIZE_10M or number % ROI_MULTIPLE:
        raise ConfigError(f"{reader.file_name}: <{tag}> '{value}' is not allowed; expected {expected}")
    return number


def _read_roi(reader: GippReader) -> RegionOfInterest:
    row0 = _roi_position(reader, "row0")
    col0 = _roi_position(reader, "col0")
    if isinstance(row0, int) != isinstance(col0, int) or (isinstance(row0, str) and row0 != col0):
        raise ConfigError(
            f"{reader.file_name}: <row0> '{row0}' and <col0> '{col0}' do not agree; "
            "expected both OFF, both AUTO or both integers"
        )
    nrow = reader.integer("nrow_win", ROI_MULTIPLE, TILE_SIZE_10M, multiple_of=ROI_MULTIPLE)
    ncol = reader.integer("ncol_win", ROI_MULTIPLE, TILE_SIZE_10M, multiple_of=ROI_MULTIPLE)
    return RegionOfInterest(row0=row0, col0=col0, nrow_win=nrow, ncol_win=ncol)


def _read_threads(common: GippReader) -> int | None:
    if common.has("Nr_Threads"):
        value = common.text("Nr_Threads")
        if value.upper() == "AUTO":
            return None
        return common.integer_value("Nr_Threads", value, 1, MAX_THREADS)
    if common.has("Nr_Processes"):
        value = common.text("Nr_Processes")
        logger.info("%s: legacy <Nr_Processes> '%s' read as <Nr_Threads>", common.file_name, value)
        if value.upper() == "AUTO":
            return None
        number = common.integer_value("Nr_Processes", value, 1, 10**6)
        if number > MAX_THREADS:
            logger.info("%s: <Nr_Processes> %d limited to %d threads", common.file_name, number, MAX_THREADS)
        return min(number, MAX_THREADS)
    raise MetadataError(f"{common.file_name}: required element <{common.path}/Nr_Threads> is missing")


def _read_psd_schemes(common: GippReader) -> tuple[PsdScheme, ...]:
    schemes = []
    for entry in common.children("PSD_Scheme"):
        version = entry.attribute("PSD_Version") or ""
        reference = entry.attribute("PSD_Reference") or ""
        if len(version) != 4 or not version.replace(".", "", 1).isdigit() or version[2] != ".":
            raise ConfigError(
                f"{entry.file_name}: <PSD_Scheme PSD_Version> '{version}' is not allowed; "
                "expected dd.d, e.g. 14.9"
            )
        if not reference.startswith("S2"):
            raise ConfigError(
                f"{entry.file_name}: <PSD_Scheme PSD_Reference> '{reference}' is not allowed; "
                "expected a name starting with S2"
            )
        names = {key: entry.string(tag) for key, tag in PSD_SCHEME_ELEMENTS.items()}
        schemes.append(PsdScheme(version, reference, **names))
    if not schemes:
        common.child("PSD_Scheme")  # raises MetadataError naming the element
    return tuple(schemes)


def _read_brdf(flags: GippReader) -> int:
    value = flags.text("BRDF_Correction")
    allowed_text = f"one of {', '.join(map(str, BRDF_CODES))} (legacy 3-10 are remapped)"
    try:
        code = int(value)
    except ValueError:
        code = -1
    if code in BRDF_CODES:
        return code
    if code in BRDF_LEGACY_CODES:
        logger.info(
            "%s: legacy <BRDF_Correction> %d is treated as %d", flags.file_name, code, BRDF_LEGACY_CODES[code]
        )
        return BRDF_LEGACY_CODES[code]
    raise ConfigError(
        f"{flags.file_name}: <BRDF_Correction> '{value}' is not allowed; expected {allowed_text}"
    )


def _read_visibility(calibration: GippReader) -> float:
    value = calibration.text("Visibility")
    low, high = VISIBILITY_RANGE_KM
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not low <= abs(number) <= high:
        raise ConfigError(
            f"{calibration.file_name}: <Visibility> '{value}' is not allowed; expected a number from "
            f"{low:g} to {high:g} km (negative: forced constant visibility)"
        )
    return number


def _optional(reader: GippReader, path: str, read: Callable[[], T], default: T) -> T:
    """Read the post-2.8 element ``path`` with ``read``; if absent, log and return the 2.11 ``default``."""
    assert path in ELEMENTS_ADDED_AFTER_2_8, f"{path} is a required element"
    if reader.has(path):
        return read()
    logger.info("%s: <%s> absent (older GIPP); using the 2.11 default %r", reader.file_name, path, default)
    return default


def read_user_gipp(path: Path) -> UserGipp:
    """Read and validate a user GIPP (``L2A_GIPP.xml``).

    Parameters
    ----------
    path
        The XML file.

    Returns
    -------
    UserGipp

    Raises
    ------
    MetadataError
        Malformed XML, entities, wrong root element or a missing required element.
    ConfigError
        A value outside its allowed set or range.
    """
    top = GippReader(path.name, parse_gipp(path, USER_GIPP_ROOT))
    d = UserGipp()
    common = top.child("Common_Section")
    atm = top.child("Atmospheric_Correction")
    luts = atm.child("Look_Up_Tables")
    flags = atm.child("Flags")
    cal = atm.child("Calibration")
    c = "Common_Section/"

    def integer(reader: GippReader, tag: str) -> int:
        low, high = INTEGER_RANGES[tag]
        return reader.integer(tag, low, high)

    def number(reader: GippReader, tag: str) -> float:
        low, high = NUMBER_RANGES[tag]
        return reader.number(tag, low, high)

    return UserGipp(
        log_level=common.choice("Log_Level", LOG_LEVELS, case_sensitive=False),  # type: ignore[arg-type]
        roi=_optional(
            top, c + "Region_Of_Interest", lambda: _read_roi(common.child("Region_Of_Interest")), d.roi
        ),
        product_doi=_optional(top, c + "Product_DOI", lambda: common.string("Product_DOI"), d.product_doi),
        nr_threads=_read_threads(common),
        product_generator=_optional(
            top, c + "Product_Generator", lambda: common.string("Product_Generator"), d.product_generator
        ),
        dem_directory=common.string("DEM_Directory"),
        dem_reference=common.string("DEM_Reference"),
        generate_dem_output=common.boolean("Generate_DEM_Output"),
        force_exit_on_dem_error=_optional(
            top,
            c + "Force_Exit_On_DEM_Error",
            lambda: common.boolean("Force_Exit_On_DEM_Error"),
            d.force_exit_on_dem_error,
        ),
        generate_tci_output=common.boolean("Generate_TCI_Output"),
        generate_ddv_output=common.boolean("Generate_DDV_Output"),
        handle_l1c_qlt_mask=_optional(
            top,
            c + "Handle_L1C_QLT_Mask",
            lambda: common.boolean("Handle_L1C_QLT_Mask"),
            d.handle_l1c_qlt_mask,
        ),
        downsample_20_to_60=common.boolean("Downsample_20_to_60"),
        psd_version=_optional(
            top, c + "PSD_Version", lambda: common.choice("PSD_Version", PSD_VERSIONS), d.psd_version
        ),
        psd_schemes=_read_psd_schemes(common),
        gipp_scheme=common.string("GIPP_Scheme"),
        sc_scheme=common.string("SC_Scheme"),
        ac_scheme=common.string("AC_Scheme"),
        pb_scheme=common.string("PB_Scheme"),
        qi_scheme=_optional(top, c + "QI_Scheme", lambda: common.string("QI_Scheme"), d.qi_scheme),
        median_filter=integer(top.child("Scene_Classification/Filters"), "Median_Filter"),
        aerosol_type=luts.choice("Aerosol_Type", AEROSOL_TYPES, case_sensitive=False),  # type: ignore[arg-type]
        mid_latitude=luts.choice("Mid_Latitude", MID_LATITUDES, case_sensitive=False),  # type: ignore[arg-type]
        ozone_content=luts.integer_choice("Ozone_Content", OZONE_CONTENTS_DU),
        wv_correction=integer(flags, "WV_Correction"),
        vis_update_mode=integer(flags, "VIS_Update_Mode"),
        wv_watermask=integer(flags, "WV_Watermask"),
        cirrus_correction=flags.boolean("Cirrus_Correction"),
        dem_terrain_correction=flags.boolean("DEM_Terrain_Correction"),
        brdf_correction=_read_brdf(flags),
        brdf_lower_bound=number(flags, "BRDF_Lower_Bound"),
        adj_km=number(cal, "Adj_Km"),
        visibility_km=_read_visibility(cal),
        altitude_km=number(cal, "Altitude"),
        smooth_wv_map_m=number(cal, "Smooth_WV_Map"),
        wv_threshold_cirrus_cm=number(cal, "WV_Threshold_Cirrus"),
        database_compression_level=_optional(
            top,
            "Atmospheric_Correction/Calibration/Database_Compression_Level",
            lambda: integer(cal, "Database_Compression_Level"),
            d.database_compression_level,
        ),
    )
