"""Names of the Level-2A product, its folders, identifiers and files (facts §9, compact naming).

Pure string functions; :class:`L2ANames` gathers every name of one product so that the layout,
the metadata writers and the manifest use the same spelling.

Examples (Sen2Cor 2.11 stand-alone, L1C of 2017-12-07, tile 55JEJ)::

    S2A_MSIL2A_20171207T002051_N9999_R116_T55JEJ_20261121T195655.SAFE      product
    GRANULE/L2A_T55JEJ_A012840_20171207T002252                              granule folder
    S2A_OPER_MSI_L2A_TL_SGS__20261121T195656_A012840_T55JEJ_N99.99          tile id
    DATASTRIP/DS_SGS__20261121T195656_S20171207T002252                      datastrip folder
    S2A_OPER_MSI_L2A_DS_SGS__20261121T195656_S20171207T002252_N99.99        datastrip id
    T55JEJ_20171207T002051_B02_20m.jp2                                      image file
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Final

from sen2cor.errors import ConfigError, ProductError
from sen2cor.io.l1c_model import L1CProduct

COMPACT_TIME_FORMAT: Final[str] = "%Y%m%dT%H%M%S"
"""Time stamp format used in every Sentinel-2 name (``20171207T002051``)."""

FILE_CLASS_IN_IDS: Final[str] = "OPER"
"""File class inside tile/datastrip identifiers; Sen2Cor writes ``OPER`` also in toolbox mode."""

EXTENSIONS: Final[dict[str, str]] = {"JP2": ".jp2", "TIF": ".tif", "RAW": ".raw"}
"""Image file extension per output format (``--tif`` / ``--raw``)."""

_L1C_DS_RE = re.compile(r"^S2[ABC]_[A-Z_]{4}_MSI_L1C_DS_(?P<centre>[A-Z0-9_]{4})_(?P<created>\d{8}T\d{6})_S(?P<start>\d{8}T\d{6})")
_GRANULE_RE = re.compile(r"_(?P<start>\d{8}T\d{6})$")
_PRODUCT_RE = re.compile(
    r"^(?P<sc>S2[ABC])_MSIL2A_(?P<dt>\d{8}T\d{6})_N(?P<pb>\d{4})_R(?P<orbit>\d{3})_T(?P<tile>\w{5})_(?P<gen>\d{8}T\d{6})\.SAFE$")


def compact_time(value: datetime) -> str:
    """``YYYYMMDDTHHMMSS`` of ``value`` in UTC (naive datetimes are taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime(COMPACT_TIME_FORMAT)


def baseline_token(baseline: str) -> str:
    """``'99.99'`` → ``'N9999'`` (product name field).

    Raises
    ------
    ConfigError
        If ``baseline`` is not of the form ``dd.dd``.
    """
    if not re.fullmatch(r"\d{2}\.\d{2}", baseline):
        raise ConfigError(f"processing baseline {baseline!r} is not of the form 'dd.dd'")
    return "N" + baseline.replace(".", "")


def product_name(spacecraft: str, datatake_start: datetime, baseline: str, relative_orbit: int,
                 tile_number: str, generation_time: datetime) -> str:
    """``S2A_MSIL2A_<datatake>_N<bbbb>_R<orbit>_T<tile>_<generation>.SAFE`` (facts §9)."""
    return (f"{spacecraft}_MSIL2A_{compact_time(datatake_start)}_{baseline_token(baseline)}"
            f"_R{relative_orbit:03d}_T{tile_number}_{compact_time(generation_time)}.SAFE")


def l2a_product_name(l1c: L1CProduct, baseline: str, generation_time: datetime) -> str:
    """Name of the Level-2A product made from ``l1c`` at ``generation_time`` (UTC run time)."""
    return product_name(l1c.spacecraft, l1c.datatake_sensing_start, baseline, l1c.relative_orbit,
                        l1c.tile.tile_number, generation_time)


def product_name_pattern(l1c: L1CProduct, baseline: str) -> re.Pattern[str]:
    """Regular expression matching any generation time of :func:`l2a_product_name` for ``l1c``."""
    stem = (f"{l1c.spacecraft}_MSIL2A_{compact_time(l1c.datatake_sensing_start)}_{baseline_token(baseline)}"
            f"_R{l1c.relative_orbit:03d}_T{l1c.tile.tile_number}_")
    return re.compile("^" + re.escape(stem) + r"\d{8}T\d{6}\.SAFE$")


def parse_product_name(name: str) -> dict[str, str]:
    """Fields of an L2A product name (``sc``, ``dt``, ``pb``, ``orbit``, ``tile``, ``gen``).

    Raises
    ------
    ProductError
        If ``name`` is not a compact L2A product name.
    """
    m = _PRODUCT_RE.match(name)
    if m is None:
        raise ProductError(f"{name!r} is not a compact Level-2A product name")
    return m.groupdict()


def l1c_datastrip_fields(l1c: L1CProduct) -> tuple[str, str]:
    """``(centre, sensing start)`` of the L1C datastrip identifier.

    Falls back to the granule folder name for the sensing start and to ``'____'`` for the
    centre when the identifier does not follow the PSD pattern.
    """
    m = _L1C_DS_RE.match(l1c.tile.datastrip_id)
    if m is not None:
        return m["centre"], m["start"]
    g = _GRANULE_RE.search(l1c.tile.path.name)
    start = g["start"] if g else compact_time(l1c.tile.sensing_time)
    return "____", start


@dataclass(frozen=True)
class L2ANames:
    """Every name of one Level-2A product (see the module docstring for examples).

    Build with :meth:`for_product`.
    """

    product: str
    granule: str
    file_prefix: str
    tile_id: str
    datastrip_id: str
    datastrip_folder: str
    l1c_tile_id: str
    baseline: str
    processing_centre: str
    archiving_centre: str
    creation_time: datetime
    extension: str

    @classmethod
    def for_product(cls, l1c: L1CProduct, baseline: str, generation_time: datetime, *,
                    processing_centre: str | None = None, archiving_centre: str | None = None,
                    output_format: str = "JP2") -> L2ANames:
        """Names for the L2A product of ``l1c`` generated at ``generation_time``.

        ``processing_centre`` / ``archiving_centre`` default to the centre of the L1C datastrip
        (as Sen2Cor does in stand-alone mode).
        """
        l1c_centre, ds_start = l1c_datastrip_fields(l1c)
        centre = processing_centre or l1c_centre
        created = compact_time(generation_time)
        tile = l1c.tile.tile_number
        sc = l1c.spacecraft
        return cls(
            product=l2a_product_name(l1c, baseline, generation_time),
            granule=f"L2A_T{tile}_A{l1c.tile.absolute_orbit:06d}_{ds_start}",
            file_prefix=f"T{tile}_{compact_time(l1c.datatake_sensing_start)}",
            tile_id=f"{sc}_{FILE_CLASS_IN_IDS}_MSI_L2A_TL_{centre}_{created}_A{l1c.tile.absolute_orbit:06d}_T{tile}_N{baseline}",
            datastrip_id=f"{sc}_{FILE_CLASS_IN_IDS}_MSI_L2A_DS_{centre}_{created}_S{ds_start}_N{baseline}",
            datastrip_folder=f"DS_{centre}_{created}_S{ds_start}",
            l1c_tile_id=l1c.tile.tile_id,
            baseline=baseline,
            processing_centre=centre,
            archiving_centre=archiving_centre or centre,
            creation_time=generation_time,
            extension=EXTENSIONS[output_format],
        )

    def image_stem(self, kind: str, resolution: int) -> str:
        """``T55JEJ_20171207T002051_<kind>_<res>m`` for a band id or ``SCL``/``AOT``/``WVP``/``TCI``."""
        return f"{self.file_prefix}_{kind}_{resolution}m"

    def mask_stem(self, kind: str, resolution: int) -> str:
        """``MSK_<kind>_<res>m`` for ``CLDPRB``, ``SNWPRB`` and ``DDVPXL``."""
        return f"MSK_{kind}_{resolution}m"

    def pvi_stem(self) -> str:
        """``T55JEJ_20171207T002051_PVI`` (quick-look preview)."""
        return f"{self.file_prefix}_PVI"

    def dem_stem(self, resolution: int) -> str:
        """``L2A_T55JEJ_20171207T002051_DEM_<res>m`` (``Generate_DEM_Output``, facts §9)."""
        return f"L2A_{self.file_prefix}_DEM_{resolution}m"
