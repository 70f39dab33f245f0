"""Quality indicators: the ``Image_Content_QI`` lists of MTD_MSIL2A/MTD_TL and ``L2A_QUALITY.xml``.

Names and order follow facts §8 and the real products (Sen2Cor 3.3 output of ``parity-a`` for
PSD ≤ 14.6, the ESA product of ``s2-l2a-t29unu-esa`` for PSD 14.9).  The percentages themselves
come from the scene classification (``ProcessingInfo.scene_percentages``); the granule means of
AOT and WV are computed here from the written images (mean of the values > 0, divided by 1000).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
from lxml import etree
from numpy.typing import NDArray

from sen2cor.io.l2a.encode import AOT_QUANTIFICATION_VALUE, WVP_QUANTIFICATION_VALUE
from sen2cor.io.l2a.mtd_base import boa_offset_applies, fmt_pct, sub
from sen2cor.io.l2a.results import ProcessingInfo

NS_QUALITY: Final[str] = "http://gs2.esa.int/DATA_STRUCTURE/l2aqiReport"
"""Namespace of ``L2A_QUALITY.xml`` (facts §8)."""

CLASS_PERCENTAGES: Final[tuple[str, ...]] = (
    "NODATA_PIXEL_PERCENTAGE", "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE", "DARK_FEATURES_PERCENTAGE",
    "CLOUD_SHADOW_PERCENTAGE", "VEGETATION_PERCENTAGE", "NOT_VEGETATED_PERCENTAGE", "WATER_PERCENTAGE",
    "UNCLASSIFIED_PERCENTAGE", "MEDIUM_PROBA_CLOUDS_PERCENTAGE", "HIGH_PROBA_CLOUDS_PERCENTAGE",
    "THIN_CIRRUS_PERCENTAGE", "SNOW_ICE_PERCENTAGE",
)
"""Per-class percentages in metadata order (facts §8; DARK_FEATURES = CAST_SHADOW of PSD 15)."""

ACCURACIES: Final[tuple[str, ...]] = (
    "RADIATIVE_TRANSFER_ACCURACY", "WATER_VAPOUR_RETRIEVAL_ACCURACY", "AOT_RETRIEVAL_ACCURACY")
"""Placeholder accuracies, always 0.0 (facts §8)."""

NEGATIVE_BOA_BANDS: Final[tuple[str, ...]] = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
"""Bands of the "Percentage of negative BOA pixels" check (facts §8)."""

ALIASES: Final[dict[str, str]] = {"CAST_SHADOW_PERCENTAGE": "DARK_FEATURES_PERCENTAGE"}
"""PSD-15 spelling accepted in ``scene_percentages``."""

VALIDITY_START: Final[str] = "UTC=2015-06-22T00:00:00"
VALIDITY_STOP: Final[str] = "UTC=2100-01-01T00:00:00"
REPORT_DATE: Final[str] = "2022-11-21T00:00:00Z"
"""Date attribute of the report: release date of Sen2Cor 2.11 (user manual issue date)."""


@dataclass(frozen=True)
class QualityValues:
    """Resolved quality values of one product (percentages complete, means computed)."""

    percentages: Mapping[str, float]
    """Every name of :data:`CLASS_PERCENTAGES` plus CLOUDY_PIXEL_PERCENTAGE and …_OVER_LAND_…."""
    degraded_msi: float
    granule_mean_aot: float
    granule_mean_wv: float
    average_sza: float


def granule_mean(dn: NDArray[np.integer] | None, quantification: float) -> float:
    """Mean of the encoded values > 0 divided by the quantification value (0.0 when none)."""
    if dn is None:
        return 0.0
    a = np.asarray(dn)
    valid = a[a > 0]
    return float(valid.mean() / quantification) if valid.size else 0.0


def resolve(info: ProcessingInfo, *, degraded_msi: float, average_sza: float,
            aot_dn: NDArray[np.integer] | None, wvp_dn: NDArray[np.integer] | None) -> QualityValues:
    """Complete the scalar quality values from ``info`` and the written AOT/WVP images."""
    pct: dict[str, float] = {name: 0.0 for name in CLASS_PERCENTAGES}
    pct["CLOUDY_PIXEL_PERCENTAGE"] = 0.0
    pct["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"] = 0.0
    for name, value in info.scene_percentages.items():
        pct[ALIASES.get(name, name)] = float(value)
    aot = info.granule_mean_aot if info.granule_mean_aot is not None else granule_mean(aot_dn, AOT_QUANTIFICATION_VALUE)
    wv = info.granule_mean_wv if info.granule_mean_wv is not None else granule_mean(wvp_dn, WVP_QUANTIFICATION_VALUE)
    sza = info.average_solar_zenith_deg if info.average_solar_zenith_deg is not None else average_sza
    return QualityValues(pct, float(degraded_msi), aot, wv, float(sza))


def image_content_qi(info: ProcessingInfo, q: QualityValues, psd: float, *, tile: bool) -> list[tuple[str, str]]:
    """``(element, text)`` pairs of ``Image_Content_QI`` in schema order.

    Product level (``tile=False``) starts with NODATA_PIXEL_PERCENTAGE; tile level with
    CLOUDY_PIXEL_PERCENTAGE and DEGRADED_MSI_DATA_PERCENTAGE.  PSD > 14.6 adds
    CLOUDY_PIXEL_OVER_LAND_PERCENTAGE and the AOT/WV/ozone items (facts §8).
    """
    new = boa_offset_applies(psd)
    items: list[tuple[str, str]] = []
    if tile:
        items.append(("CLOUDY_PIXEL_PERCENTAGE", fmt_pct(q.percentages["CLOUDY_PIXEL_PERCENTAGE"])))
    if new:
        items.append(("CLOUDY_PIXEL_OVER_LAND_PERCENTAGE",
                      fmt_pct(q.percentages["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"])))
    if tile:
        items.append(("DEGRADED_MSI_DATA_PERCENTAGE", fmt_pct(q.degraded_msi)))
    items += [(name, fmt_pct(q.percentages[name])) for name in CLASS_PERCENTAGES]
    items += [(name, "0.0") for name in ACCURACIES]
    if new:
        items += [
            ("AOT_RETRIEVAL_METHOD", info.aot_method),
            ("GRANULE_MEAN_AOT", fmt_pct(q.granule_mean_aot)),
            ("GRANULE_MEAN_WV", fmt_pct(q.granule_mean_wv)),
            ("OZONE_SOURCE", info.ozone_source),
            ("OZONE_VALUE", fmt_pct(info.ozone_du)),
        ]
    return items


def _short_version(processor_version: str) -> str:
    parts = processor_version.split(".")
    return f"{int(parts[0])}.{parts[1]}" if len(parts) >= 2 and parts[0].isdigit() else processor_version


def _check_list(report: etree._Element, parent_id: str, name: str, version: str, item_name: str,
                item_url: str) -> etree._Element:
    cl = sub(report, f"{{{NS_QUALITY}}}checkList")
    sub(cl, f"{{{NS_QUALITY}}}parentID", parent_id)
    sub(cl, f"{{{NS_QUALITY}}}name", name)
    sub(cl, f"{{{NS_QUALITY}}}version", version)
    sub(cl, f"{{{NS_QUALITY}}}item", **{"class": "http://www.esa.int/s2#pdi_level_2a_tile_container",
                                        "className": "PDI Level 2A Tile Folder",
                                        "name": item_name, "url": item_url})
    return cl


def _check(check_list: etree._Element, message: str, values: list[tuple[str, str]]) -> None:
    ck = sub(check_list, f"{{{NS_QUALITY}}}check")
    sub(ck, f"{{{NS_QUALITY}}}message", message, contentType="text/plain")
    extra = sub(ck, f"{{{NS_QUALITY}}}extraValues")
    for key, text in values:
        sub(extra, f"{{{NS_QUALITY}}}value", text, name=key)


def _bool(flag: bool) -> str:
    return "True" if flag else "False"


def build_quality_report(info: ProcessingInfo, q: QualityValues, *, mission: str, creation: datetime,
                         granule_name: str, aux_url: str) -> etree._Element:
    """The ``L2A_QUALITY.xml`` tree (facts §8): scene-class, atmospheric-correction and aux checks.

    Parameters
    ----------
    info, q:
        Settings/results and the resolved quality values.
    mission:
        ``S2A``/``S2B``/``S2C``.
    creation:
        Generation time (UTC).
    granule_name:
        Granule folder name (the ``item`` name in toolbox mode).
    aux_url:
        Path of the granule ``AUX_DATA`` folder in the final product.
    """
    n = NS_QUALITY
    root = etree.Element(f"{{{n}}}L2A_Quality_File", nsmap={None: n, "xsi": "http://www.w3.org/2001/XMLSchema-instance"})
    root.set("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation", f"{n} L2A_QUALITY.xsd")
    fixed = sub(sub(root, f"{{{n}}}L2A_Quality_Header"), f"{{{n}}}Fixed_Header")
    sub(fixed, f"{{{n}}}File_Name", "L2A_QUALITY")
    sub(fixed, f"{{{n}}}File_Description", "Quality information obtained from Sen2Cor")
    sub(fixed, f"{{{n}}}Notes")
    sub(fixed, f"{{{n}}}Mission", mission)
    sub(fixed, f"{{{n}}}File_Class", info.file_class)
    sub(fixed, f"{{{n}}}File_Type", "L2A_QLINFO")
    validity = sub(fixed, f"{{{n}}}Validity_Period")
    sub(validity, f"{{{n}}}Validity_Start", VALIDITY_START)
    sub(validity, f"{{{n}}}Validity_Stop", VALIDITY_STOP)
    sub(fixed, f"{{{n}}}File_Version", "1")
    source = sub(fixed, f"{{{n}}}Source")
    sub(source, f"{{{n}}}System", "Sen2Cor")
    sub(source, f"{{{n}}}Creator", "Sen2Cor")
    version = _short_version(info.processor_version)
    sub(source, f"{{{n}}}Creator_Version", version)
    sub(source, f"{{{n}}}Creation_Date", "UTC=" + creation.strftime("%Y-%m-%dT%H:%M:%S"))

    block = sub(root, f"{{{n}}}Data_Block", type="xml")
    report = sub(block, f"{{{n}}}report", gippVersion=info.processor_version, globalStatus="PASSED",
                 date=REPORT_DATE)
    pct = q.percentages
    sc = _check_list(report, "L2A_SC", "SCENE_CLASS_QUALITY", version, granule_name, aux_url)
    _check(sc, '"Percentage of classified pixels"', [
        ("CLOUDY_PIXEL_PERCENTAGE", fmt_pct(pct["CLOUDY_PIXEL_PERCENTAGE"])),
        ("CLOUDY_PIXEL_OVER_LAND_PERCENTAGE", fmt_pct(pct["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"])),
        ("DEGRADED_MSI_DATA_PERCENTAGE", fmt_pct(q.degraded_msi)),
        *[(name, fmt_pct(pct[name])) for name in CLASS_PERCENTAGES],
    ])

    ac = _check_list(report, "L2A_AC", "ATMOSPHERIC_CORRECTION_QUALITY", version, granule_name, aux_url)
    _check(ac, "Atmospheric correction quality values", [
        ("AOT_RETRIEVAL_ACCURACY", fmt_pct(0.0)),
        ("GRANULE_MEAN_AOT", fmt_pct(q.granule_mean_aot)),
        ("WV_RETRIEVAL_ACCURACY", fmt_pct(0.0)),
        ("GRANULE_MEAN_WV", fmt_pct(q.granule_mean_wv)),
        ("OZONE_VALUE", fmt_pct(info.ozone_du)),
        ("START_VISIBILITY_KM", fmt_pct(info.start_visibility_km)),
        ("VISIBILITY_FROM_DDV_KM", fmt_pct(info.ddv_visibility_km)),
        ("FINAL_VISIBILITY_KM", fmt_pct(info.final_visibility_km)),
        ("AVERAGE_SOLAR_ZENITH_ANGLE", fmt_pct(q.average_sza)),
        ("DDV_PIXEL_PERCENTAGE", fmt_pct(info.ddv_pixel_percentage)),
        ("DDV_REFLECTANCE_RANGE", fmt_pct(info.ddv_reflectance_range)),
        ("BLUE_PATH_RADIANCE_RESCALING_FACTOR", fmt_pct(info.blue_path_radiance_factor)),
    ])
    vis5 = (info.visibility_less_than_5_km if info.visibility_less_than_5_km is not None
            else info.final_visibility_km < 5.0)
    _check(ac, "Atmospheric correction quality control", [
        ("AC_ENABLED", _bool(info.ac_enabled)),
        ("WV_RETRIEVAL_METHOD", "SEN2COR_APDA" if info.ac_enabled else "NA"),
        ("AOT_RETRIEVAL_METHOD", info.aot_method),
        ("VISIBILITY_LESS_THAN_5_KM", _bool(vis5)),
        ("AOT_ABOVE_1", _bool(q.granule_mean_aot > 1.0)),
        ("GRANULE_WV_ABOVE_5_CM", _bool(q.granule_mean_wv > 5.0)),
    ])
    _check(ac, "Percentage of negative BOA pixels", [
        (b, fmt_pct(info.negative_boa_percentages.get(b, 0.0))) for b in NEGATIVE_BOA_BANDS])
    _check(ac, "Look up table file list", [("LUT_DATA_FILES", repr(list(info.lut_files)))])

    aux = _check_list(report, "L2A_AUX", "AUX_DATA_QUALITY", version, granule_name, aux_url)
    _check(aux, "AUX related parameters", [
        ("DEM_TYPE", info.dem_type),
        ("DEM_MEAN_ALTITUDE_KM", fmt_pct(info.dem_mean_altitude_km)),
        ("DEM_MEAN_SLOPE", fmt_pct(info.dem_mean_slope_deg)),
        ("GROUND_ELEVATION_ABOVE_3_KM", _bool(info.dem_mean_altitude_km > 3.0)),
        ("SOLAR_ZENITH_ANGLE_ABOVE_70_DEG", _bool(q.average_sza > 70.0)),
        ("OZONE_SOURCE", info.ozone_source),
    ])
    _check(aux, "AUX data file list", [("AUX_DATA_FILES", repr(list(info.aux_data_files)))])
    return root
