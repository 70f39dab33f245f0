"""``MTD_DS.xml`` – the Level-2A datastrip metadata.

As Sen2Cor does, the L1C datastrip metadata (sensor configuration, ancillary data, quality
indicators: several MB) is carried over; the identification, processing and archiving
information, the tile list, the radiometric information and the auxiliary-data list are
rewritten for Level-2A.  Without an L1C ``MTD_DS.xml`` only the parts derivable from the
:class:`~sen2cor.io.l1c_model.L1CProduct` are written (the file then lacks the ancillary data
required by the schema; a warning was logged when the L1C documents were loaded).
"""

from __future__ import annotations

from lxml import etree

from sen2cor.bands import BANDS
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.encode import (
    AOT_QUANTIFICATION_VALUE,
    BOA_ADD_OFFSET,
    BOA_QUANTIFICATION_VALUE,
    WVP_QUANTIFICATION_VALUE,
)
from sen2cor.io.l2a.mtd_base import (
    NS_DATASTRIP,
    SPACECRAFT_NAMES,
    L1CDocuments,
    append_copy,
    boa_offset_applies,
    child,
    local,
    new_root,
    rebaseline,
    sub,
    utc,
)
from sen2cor.io.l2a.mtd_product import auxiliary_common, gipp_list, production_dem_type
from sen2cor.io.l2a.naming import L2ANames
from sen2cor.io.l2a.results import ProcessingInfo

_RADIOMETRIC_COPIED = ("SWIR_REARRANGEMENT_PROC", "SATURATED_PIXELS_PROC", "Spectral_Information_List",
                       "Image_Display_Order")


def _general_info(root: etree._Element, l1c: L1CProduct, l1c_gi: etree._Element | None,
                  names: L2ANames) -> None:
    gi = sub(root, f"{{{NS_DATASTRIP}}}General_Info")
    done = False
    for c in (l1c_gi if l1c_gi is not None else []):
        if not isinstance(c.tag, str):
            continue
        name = local(c)
        if name == "Datatake_Info":
            append_copy(gi, c)
            gi[-1].set("datatakeIdentifier", rebaseline(c.get("datatakeIdentifier", l1c.datatake_id), names.baseline))
        elif name == "Processing_Info":
            _processing_info(gi, names)
            done = True
        elif name == "Archiving_Info":
            _archiving_info(gi, names)
        else:
            append_copy(gi, c)
    if l1c_gi is None:
        dt = sub(gi, "Datatake_Info", datatakeIdentifier=rebaseline(l1c.datatake_id, names.baseline),
                 metadataLevel="Brief")
        sub(dt, "SPACECRAFT_NAME", SPACECRAFT_NAMES.get(l1c.spacecraft, l1c.spacecraft))
        sub(dt, "DATATAKE_TYPE", l1c.datatake_type)
        sub(dt, "DATATAKE_SENSING_START", utc(l1c.datatake_sensing_start, digits=3))
        sub(dt, "SENSING_ORBIT_NUMBER", l1c.relative_orbit)
        sub(dt, "SENSING_ORBIT_DIRECTION", l1c.orbit_direction)
        times = sub(gi, "Datastrip_Time_Info", metadataLevel="Brief")
        sub(times, "DATASTRIP_SENSING_START", utc(l1c.tile.sensing_time, digits=3))
        sub(times, "DATASTRIP_SENSING_STOP", utc(l1c.product_stop_time, digits=3))
    if not done:
        _processing_info(gi, names)
        if l1c_gi is None:
            _archiving_info(gi, names)


def _processing_info(parent: etree._Element, names: L2ANames) -> None:
    pi = sub(parent, "Processing_Info", metadataLevel="Expertise")
    sub(pi, "PROCESSING_BASELINE", names.baseline)
    sub(pi, "PROCESSING_CENTER", names.processing_centre)
    sub(pi, "UTC_DATE_TIME", utc(names.creation_time, digits=0))


def _archiving_info(parent: etree._Element, names: L2ANames) -> None:
    ai = sub(parent, "Archiving_Info", metadataLevel="Expertise")
    sub(ai, "ARCHIVING_CENTRE", names.archiving_centre)
    sub(ai, "ARCHIVING_TIME", utc(names.creation_time))


def _radiometric_info(parent: etree._Element, l1c_ri: etree._Element | None, psd: float) -> None:
    ri = sub(parent, "Radiometric_Info", metadataLevel="Standard")
    for name in _RADIOMETRIC_COPIED[:3]:
        append_copy(ri, child(l1c_ri, name))
    if not append_copy(ri, child(l1c_ri, "Image_Display_Order")):
        order = sub(ri, "Image_Display_Order")
        for tag, value in (("RED_CHANNEL", 3), ("GREEN_CHANNEL", 2), ("BLUE_CHANNEL", 1)):
            sub(order, tag, value)
    qv = sub(ri, "QUANTIFICATION_VALUES_LIST")
    sub(qv, "BOA_QUANTIFICATION_VALUE", BOA_QUANTIFICATION_VALUE, unit="none")
    sub(qv, "AOT_QUANTIFICATION_VALUE", AOT_QUANTIFICATION_VALUE, unit="none")
    sub(qv, "WVP_QUANTIFICATION_VALUE", WVP_QUANTIFICATION_VALUE, unit="cm")
    if boa_offset_applies(psd):
        offsets = sub(ri, "BOA_ADD_OFFSET_VALUES_LIST")
        for band in BANDS:
            sub(offsets, "BOA_ADD_OFFSET", BOA_ADD_OFFSET, band_id=band.index)
    append_copy(ri, child(l1c_ri, "Reflectance_Conversion"))


def _image_data_info(root: etree._Element, l1c_idi: etree._Element | None, names: L2ANames, psd: float) -> None:
    idi = sub(root, f"{{{NS_DATASTRIP}}}Image_Data_Info")
    tiles = sub(sub(idi, "Tiles_Information", metadataLevel="Standard"), "Tile_List")
    sub(tiles, "Tile", tileId=names.tile_id)
    append_copy(idi, child(l1c_idi, "Sensor_Configuration"))
    _radiometric_info(idi, child(l1c_idi, "Radiometric_Info"), psd)
    append_copy(idi, child(l1c_idi, "Geometric_Info"))
    append_copy(idi, child(l1c_idi, "Product_Compression"))


def _auxiliary(root: etree._Element, l1c_aux: etree._Element | None, info: ProcessingInfo) -> None:
    aux = sub(root, f"{{{NS_DATASTRIP}}}Auxiliary_Data_Info", metadataLevel="Standard")
    append_copy(aux, child(l1c_aux, "IERS_Bulletin"))
    gipp_list(aux, child(l1c_aux, "GIPP_List"), info)
    append_copy(aux, child(l1c_aux, "ECMWF_DATA_REF"))
    sub(aux, "PRODUCTION_DEM_TYPE", production_dem_type(info))
    iers = child(l1c_aux, "IERS_BULLETIN_FILENAME")
    sub(aux, "IERS_BULLETIN_FILENAME", iers.text if iers is not None else "None")
    if not append_copy(aux, child(l1c_aux, "GRI_List")):
        sub(aux, "GRI_List")
    auxiliary_common(aux, info)


def build_datastrip_metadata(l1c: L1CProduct, docs: L1CDocuments, info: ProcessingInfo, names: L2ANames,
                             psd: float) -> etree._Element:
    """The ``MTD_DS.xml`` tree (see the module docstring)."""
    ds = docs.datastrip
    root = new_root(NS_DATASTRIP, "Level-2A_DataStrip_ID")
    _general_info(root, l1c, child(ds, "General_Info"), names)
    _image_data_info(root, child(ds, "Image_Data_Info"), names, psd)
    sad = child(ds, "Satellite_Ancillary_Data_Info")
    if sad is not None:
        append_copy(root, sad, tag=f"{{{NS_DATASTRIP}}}Satellite_Ancillary_Data_Info")
    qi = child(ds, "Quality_Indicators_Info")
    if qi is not None:
        append_copy(root, qi, tag=f"{{{NS_DATASTRIP}}}Quality_Indicators_Info")
    _auxiliary(root, child(ds, "Auxiliary_Data_Info"), info)
    return root
