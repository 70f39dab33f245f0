"""``MTD_MSIL2A.xml`` – the Level-2A user-product metadata (PSD 14.6 / 14.9).

The element order follows ``S2_User_Product_Level-2A_Metadata.xsd`` (PSD 14.5, identical to
14.6 for this file).  For PSD > 14.6 the elements that PSD 14.9 adds are written at the places the
real ESA product has them (:data:`PSD149_ADDITIONS`); everything else validates against 14.5.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

import numpy as np
import rasterio.warp
from lxml import etree

from sen2cor.bands import BANDS, BY_ID
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.encode import (
    AOT_QUANTIFICATION_VALUE,
    BOA_ADD_OFFSET,
    BOA_QUANTIFICATION_VALUE,
    NODATA_DN,
    SATURATED_DN,
    WVP_QUANTIFICATION_VALUE,
)
from sen2cor.io.l2a.mtd_base import (
    NS_PRODUCT,
    SPACECRAFT_NAMES,
    L1CDocuments,
    append_copy,
    boa_offset_applies,
    child,
    children,
    find_path,
    fmt_pct,
    new_root,
    rebaseline,
    sub,
    utc,
)
from sen2cor.io.l2a.naming import L2ANames
from sen2cor.io.l2a.quality import QualityValues, image_content_qi
from sen2cor.io.l2a.results import ProcessingInfo

logger = logging.getLogger(__name__)

PSD149_ADDITIONS: Final[tuple[str, ...]] = (
    "PRODUCT_DOI", "BOA_ADD_OFFSET_VALUES_LIST", "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE",
    "AOT_RETRIEVAL_METHOD", "GRANULE_MEAN_AOT", "GRANULE_MEAN_WV", "OZONE_SOURCE", "OZONE_VALUE",
)
"""Elements written only for PSD > 14.6; absent from the PSD 14.5 schema (docs/differences.md)."""

SCENE_CLASSIFICATION_TEXTS: Final[tuple[str, ...]] = (
    "SC_NODATA", "SC_SATURATED_DEFECTIVE", "SC_DARK_FEATURE_SHADOW", "SC_CLOUD_SHADOW", "SC_VEGETATION",
    "SC_NOT_VEGETATED", "SC_WATER", "SC_UNCLASSIFIED", "SC_CLOUD_MEDIUM_PROBA", "SC_CLOUD_HIGH_PROBA",
    "SC_THIN_CIRRUS", "SC_SNOW_ICE",
)
"""``Scene_Classification_List`` texts for index 0…11 (facts §9, PSD ≤ 14.9)."""

NOT_APPLICABLE: Final[str] = "Not applicable"


def _product_info(parent: etree._Element, l1c: L1CProduct, docs: L1CDocuments, info: ProcessingInfo,
                  names: L2ANames, psd: float, image_files: Sequence[str]) -> None:
    l1c_info = find_path(docs.product, "General_Info", "Product_Info")
    pi = sub(parent, "Product_Info")
    start = child(l1c_info, "PRODUCT_START_TIME")
    stop = child(l1c_info, "PRODUCT_STOP_TIME")
    sub(pi, "PRODUCT_START_TIME", start.text if start is not None else utc(l1c.product_start_time, digits=3))
    sub(pi, "PRODUCT_STOP_TIME", stop.text if stop is not None else utc(l1c.product_stop_time, digits=3))
    sub(pi, "PRODUCT_URI", names.product)
    sub(pi, "PROCESSING_LEVEL", "Level-2A")
    sub(pi, "PRODUCT_TYPE", "S2MSI2A")
    sub(pi, "PROCESSING_BASELINE", names.baseline)
    if boa_offset_applies(psd):
        sub(pi, "PRODUCT_DOI", info.product_doi)
    sub(pi, "GENERATION_TIME", utc(names.creation_time))
    sub(pi, "PREVIEW_IMAGE_URL", NOT_APPLICABLE)
    sub(pi, "PREVIEW_GEO_INFO", NOT_APPLICABLE)
    l1c_dt = child(l1c_info, "Datatake")
    if l1c_dt is not None:
        append_copy(pi, l1c_dt)
        dt = pi[-1]
        dt.set("datatakeIdentifier", rebaseline(dt.get("datatakeIdentifier", l1c.datatake_id), names.baseline))
    else:
        dt = sub(pi, "Datatake", datatakeIdentifier=rebaseline(l1c.datatake_id, names.baseline))
        sub(dt, "SPACECRAFT_NAME", SPACECRAFT_NAMES.get(l1c.spacecraft, l1c.spacecraft))
        sub(dt, "DATATAKE_TYPE", l1c.datatake_type)
        sub(dt, "DATATAKE_SENSING_START", utc(l1c.datatake_sensing_start, digits=3))
        sub(dt, "SENSING_ORBIT_NUMBER", l1c.relative_orbit)
        sub(dt, "SENSING_ORBIT_DIRECTION", l1c.orbit_direction)
    if not append_copy(pi, child(l1c_info, "Query_Options")):
        qo = sub(pi, "Query_Options", completeSingleTile="true")
        sub(qo, "PRODUCT_FORMAT", "SAFE_COMPACT")
    org = sub(sub(pi, "Product_Organisation"), "Granule_List")
    granule = sub(org, "Granule", datastripIdentifier=names.datastrip_id, granuleIdentifier=names.tile_id,
                  imageFormat="JPEG2000" if info.output_format == "JP2" else "BINARY")
    for stem in image_files:
        sub(granule, "IMAGE_FILE", stem)


def _image_characteristics(parent: etree._Element, l1c: L1CProduct, docs: L1CDocuments, psd: float) -> None:
    l1c_pic = find_path(docs.product, "General_Info", "Product_Image_Characteristics")
    pic = sub(parent, "Product_Image_Characteristics")
    for text, index in (("NODATA", NODATA_DN), ("SATURATED", SATURATED_DN)):
        sv = sub(pic, "Special_Values")
        sub(sv, "SPECIAL_VALUE_TEXT", text)
        sub(sv, "SPECIAL_VALUE_INDEX", index)
    if not append_copy(pic, child(l1c_pic, "Image_Display_Order")):
        order = sub(pic, "Image_Display_Order")
        for tag, value in (("RED_CHANNEL", 3), ("GREEN_CHANNEL", 2), ("BLUE_CHANNEL", 1)):
            sub(order, tag, value)
    qv = sub(pic, "QUANTIFICATION_VALUES_LIST")
    sub(qv, "BOA_QUANTIFICATION_VALUE", BOA_QUANTIFICATION_VALUE, unit="none")
    sub(qv, "AOT_QUANTIFICATION_VALUE", AOT_QUANTIFICATION_VALUE, unit="none")
    sub(qv, "WVP_QUANTIFICATION_VALUE", WVP_QUANTIFICATION_VALUE, unit="cm")
    if boa_offset_applies(psd):
        offsets = sub(pic, "BOA_ADD_OFFSET_VALUES_LIST")
        for band in BANDS:
            sub(offsets, "BOA_ADD_OFFSET", BOA_ADD_OFFSET, band_id=band.index)
    if not append_copy(pic, child(l1c_pic, "Reflectance_Conversion")):
        rc = sub(pic, "Reflectance_Conversion")
        sub(rc, "U", repr(float(l1c.u)))
        irr = sub(rc, "Solar_Irradiance_List")
        for band_id, value in sorted(l1c.solar_irradiance.items(), key=lambda kv: BY_ID[kv[0]].index):
            sub(irr, "SOLAR_IRRADIANCE", value, bandId=BY_ID[band_id].index, unit="W/m²/µm")
    append_copy(pic, child(l1c_pic, "Spectral_Information_List"))
    gains = children(l1c_pic, "PHYSICAL_GAINS")
    if not gains:
        logger.warning("MTD_MSIL2A.xml: no PHYSICAL_GAINS in the L1C metadata; the element is left out")
    for gain in gains:
        append_copy(pic, gain)
    append_copy(pic, child(l1c_pic, "REFERENCE_BAND"))
    scl = sub(pic, "Scene_Classification_List")
    for index, text in enumerate(SCENE_CLASSIFICATION_TEXTS):
        sc = sub(scl, "Scene_Classification_ID")
        sub(sc, "SCENE_CLASSIFICATION_TEXT", text)
        sub(sc, "SCENE_CLASSIFICATION_INDEX", index)


def footprint_pos_list(l1c: L1CProduct) -> str:
    """``EXT_POS_LIST`` (lat lon …, closed ring) of the tile's extent, from the grid (fallback)."""
    left, bottom, right, top = l1c.tile.grid.bounds(10 if 10 in l1c.tile.grid.sizes else min(l1c.tile.grid.sizes))
    xs = [left, right, right, left, left]
    ys = [top, top, bottom, bottom, top]
    lon, lat = rasterio.warp.transform(l1c.tile.grid.crs, "EPSG:4326", xs, ys)
    return " ".join(f"{la!r} {lo!r}" for la, lo in zip(np.asarray(lat).tolist(), np.asarray(lon).tolist())) + " "


def _geometric_info(root: etree._Element, l1c: L1CProduct, docs: L1CDocuments) -> None:
    gi = sub(root, f"{{{NS_PRODUCT}}}Geometric_Info")
    l1c_gi = child(docs.product, "Geometric_Info")
    if l1c_gi is not None and len(l1c_gi):
        for c in l1c_gi:
            if isinstance(c.tag, str):
                append_copy(gi, c)
        return
    outer = sub(gi, "Product_Footprint")
    inner = sub(sub(outer, "Product_Footprint"), "Global_Footprint")
    sub(inner, "EXT_POS_LIST", footprint_pos_list(l1c))
    sub(outer, "RASTER_CS_TYPE", "POINT")
    sub(outer, "PIXEL_ORIGIN", 1)
    crs = sub(gi, "Coordinate_Reference_System")
    sub(crs, "GEO_TABLES", "EPSG", version="1")
    sub(crs, "HORIZONTAL_CS_TYPE", "GEOGRAPHIC")


def production_dem_type(info: ProcessingInfo) -> str:
    """``PRODUCTION_DEM_TYPE``: ``None`` without DEM, as Sen2Cor writes, else the DEM type."""
    return "None" if info.dem_type == "NA" else info.dem_type


def auxiliary_common(parent: etree._Element, info: ProcessingInfo) -> None:
    """``LUT_List`` … ``ESACCI_SnowCondition_Map_Dir`` (shared by product and datastrip)."""
    luts = sub(parent, "LUT_List")
    for name in info.lut_files or ("None",):
        sub(luts, "LUT_FILENAME", name)
    sub(parent, "SNOW_CLIMATOLOGY_MAP", info.snow_climatology_map)
    sub(parent, "ESACCI_WaterBodies_Map", info.esacci_water_bodies_map)
    sub(parent, "ESACCI_LandCover_Map", info.esacci_land_cover_map)
    sub(parent, "ESACCI_SnowCondition_Map_Dir", info.esacci_snow_condition_dir)


def gipp_list(parent: etree._Element, l1c_list: etree._Element | None, info: ProcessingInfo) -> None:
    """``GIPP_List``: the L1C GIPPs followed by the Level-2A ones (``GIP_L2ACSC`` …)."""
    gl = sub(parent, "GIPP_List")
    for g in children(l1c_list, "GIPP_FILENAME"):
        append_copy(gl, g)
    for gtype, name in info.gipp_files.items():
        sub(gl, "GIPP_FILENAME", name, type=gtype, version=info.processor_version.replace(".", "")[:4])


def _auxiliary(root: etree._Element, docs: L1CDocuments, info: ProcessingInfo) -> None:
    aux = sub(root, f"{{{NS_PRODUCT}}}Auxiliary_Data_Info")
    l1c_aux = child(docs.product, "Auxiliary_Data_Info")
    gipp_list(aux, child(l1c_aux, "GIPP_List"), info)
    sub(aux, "PRODUCTION_DEM_TYPE", production_dem_type(info))
    iers = child(l1c_aux, "IERS_BULLETIN_FILENAME")
    sub(aux, "IERS_BULLETIN_FILENAME", iers.text if iers is not None else "None")
    if not append_copy(aux, child(l1c_aux, "GRI_List")):
        sub(aux, "GRI_List")
    append_copy(aux, child(l1c_aux, "ECMWF_DATA_REF"))
    auxiliary_common(aux, info)


def _quality(root: etree._Element, docs: L1CDocuments, info: ProcessingInfo, q: QualityValues,
             psd: float) -> None:
    qi = sub(root, f"{{{NS_PRODUCT}}}Quality_Indicators_Info")
    l1c_qi = child(docs.product, "Quality_Indicators_Info")
    sub(qi, "Cloud_Coverage_Assessment", fmt_pct(q.percentages["CLOUDY_PIXEL_PERCENTAGE"]))
    if not append_copy(qi, child(l1c_qi, "Technical_Quality_Assessment")):
        tqa = sub(qi, "Technical_Quality_Assessment")
        sub(tqa, "DEGRADED_ANC_DATA_PERCENTAGE", "0.0")
        sub(tqa, "DEGRADED_MSI_DATA_PERCENTAGE", fmt_pct(q.degraded_msi))
    if not append_copy(qi, child(l1c_qi, "Quality_Control_Checks")):
        qcc = sub(qi, "Quality_Control_Checks")
        inspections = sub(qcc, "Quality_Inspections")
        for check in ("SENSOR_QUALITY", "GEOMETRIC_QUALITY", "GENERAL_QUALITY", "FORMAT_CORRECTNESS",
                      "RADIOMETRIC_QUALITY"):
            sub(inspections, "quality_check", "PASSED", checkType=check)
        sub(qcc, "Failed_Inspections")
    if boa_offset_applies(psd):
        _add_l2a_quality_check(find_path(qi, "Quality_Control_Checks", "Quality_Inspections"))
    content = sub(qi, "Image_Content_QI")
    for name, text in image_content_qi(info, q, psd, tile=False):
        sub(content, name, text)


def _add_l2a_quality_check(inspections: etree._Element | None) -> None:
    """PSD 14.9 products list the ``L2A_QUALITY`` check too (ESA product), in alphabetical position."""
    if inspections is None or any(c.get("checkType") == "L2A_QUALITY" for c in inspections):
        return
    check = etree.Element("quality_check", checkType="L2A_QUALITY")
    check.text = "PASSED"
    later = [c for c in inspections if (c.get("checkType") or "") > "L2A_QUALITY"]
    if later:
        later[0].addprevious(check)
    else:
        inspections.append(check)


def build_product_metadata(l1c: L1CProduct, docs: L1CDocuments, info: ProcessingInfo, names: L2ANames,
                           psd: float, quality: QualityValues, image_files: Sequence[str]) -> etree._Element:
    """The ``MTD_MSIL2A.xml`` tree.

    Parameters
    ----------
    l1c, docs:
        The input product and its parsed metadata (copied parts).
    info:
        Settings and results.
    names:
        Names of the product being written.
    psd:
        Output PSD version (:func:`sen2cor.io.l2a.mtd_base.output_psd`).
    quality:
        Resolved quality values.
    image_files:
        ``IMAGE_FILE`` entries (paths relative to the product, without extension), in order.
    """
    root = new_root(NS_PRODUCT, "Level-2A_User_Product")
    general = sub(root, f"{{{NS_PRODUCT}}}General_Info")
    _product_info(general, l1c, docs, info, names, psd, image_files)
    _image_characteristics(general, l1c, docs, psd)
    _geometric_info(root, l1c, docs)
    _auxiliary(root, docs, info)
    _quality(root, docs, info, quality, psd)
    return root
