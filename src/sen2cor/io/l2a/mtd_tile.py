"""``MTD_TL.xml`` – the Level-2A tile (granule) metadata.

General information is rewritten for the L2A tile, the geometric information (tile geocoding and
angle grids) is carried over from the L1C tile metadata (or built from the
:class:`~sen2cor.io.l1c_model.L1CTile` when that file is missing), and the quality indicators list
the L2A image-content QI, the pixel-level masks present in ``QI_DATA`` and the preview.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from lxml import etree

from sen2cor.bands import BY_ID
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.mtd_base import (
    NS_TILE,
    L1CDocuments,
    append_copy,
    child,
    children,
    find_path,
    new_root,
    sub,
    utc,
)
from sen2cor.io.l2a.naming import L2ANames
from sen2cor.io.l2a.quality import QualityValues, image_content_qi
from sen2cor.io.l2a.results import ProcessingInfo


def utm_cs_name(epsg: int) -> str:
    """``WGS84 / UTM zone 55S`` for EPSG 32755 (326xx north, 327xx south)."""
    if 32601 <= epsg <= 32660:
        return f"WGS84 / UTM zone {epsg - 32600}N"
    if 32701 <= epsg <= 32760:
        return f"WGS84 / UTM zone {epsg - 32700}S"
    return f"EPSG:{epsg}"


def _values_list(parent: etree._Element, grid: np.ndarray) -> None:
    vl = sub(parent, "Values_List")
    for row in np.asarray(grid, dtype=np.float64):
        sub(vl, "VALUES", " ".join("NaN" if not np.isfinite(v) else repr(float(v)) for v in row))


def _angle_pair(parent: etree._Element, tag: str, zenith: np.ndarray, azimuth: np.ndarray,
                col_step: float, row_step: float) -> None:
    el = sub(parent, tag)
    for name, grid in (("Zenith", zenith), ("Azimuth", azimuth)):
        g = sub(el, name)
        sub(g, "COL_STEP", f"{col_step:g}", unit="m")
        sub(g, "ROW_STEP", f"{row_step:g}", unit="m")
        _values_list(g, grid)


def _geometric_fallback(parent: etree._Element, l1c: L1CProduct) -> None:
    grid = l1c.tile.grid
    geo = sub(parent, "Tile_Geocoding", metadataLevel="Brief")
    sub(geo, "HORIZONTAL_CS_NAME", l1c.tile.horizontal_cs_name or utm_cs_name(grid.epsg))
    sub(geo, "HORIZONTAL_CS_CODE", f"EPSG:{grid.epsg}")
    for res in sorted(grid.sizes):
        size = sub(geo, "Size", resolution=res)
        sub(size, "NROWS", grid.shape(res)[0])
        sub(size, "NCOLS", grid.shape(res)[1])
    for res in sorted(grid.sizes):
        pos = sub(geo, "Geoposition", resolution=res)
        sub(pos, "ULX", f"{grid.ulx:g}")
        sub(pos, "ULY", f"{grid.uly:g}")
        sub(pos, "XDIM", res)
        sub(pos, "YDIM", -res)
    angles = l1c.tile.angles
    ta = sub(parent, "Tile_Angles", metadataLevel="Standard")
    _angle_pair(ta, "Sun_Angles_Grid", angles.sun.zenith, angles.sun.azimuth, angles.sun.col_step_m,
                angles.sun.row_step_m)
    mean_sun = sub(ta, "Mean_Sun_Angle")
    sub(mean_sun, "ZENITH_ANGLE", repr(float(angles.mean_sun_zenith)), unit="deg")
    sub(mean_sun, "AZIMUTH_ANGLE", repr(float(angles.mean_sun_azimuth)), unit="deg")
    mvl = sub(ta, "Mean_Viewing_Incidence_Angle_List")
    for band_id, (zen, azi) in sorted(angles.mean_viewing.items(), key=lambda kv: BY_ID[kv[0]].index):
        mv = sub(mvl, "Mean_Viewing_Incidence_Angle", bandId=BY_ID[band_id].index)
        sub(mv, "ZENITH_ANGLE", repr(float(zen)), unit="deg")
        sub(mv, "AZIMUTH_ANGLE", repr(float(azi)), unit="deg")


def _pixel_level_qi(parent: etree._Element, docs: L1CDocuments, names: L2ANames,
                    qi_files: Collection[str], l2a_masks: Sequence[tuple[str, str]]) -> None:
    plq = sub(parent, "Pixel_Level_QI", geometry="FULL_RESOLUTION")
    prefix = f"GRANULE/{names.granule}/QI_DATA/"
    l1c_plq = find_path(docs.tile, "Quality_Indicators_Info", "Pixel_Level_QI")
    for mask in children(l1c_plq, "MASK_FILENAME"):
        filename = (mask.text or "").strip().rsplit("/", 1)[-1]
        if filename in qi_files:
            attrib = {k: v for k, v in mask.attrib.items()}
            sub(plq, "MASK_FILENAME", prefix + filename, **attrib)
    for mask_type, filename in l2a_masks:
        sub(plq, "MASK_FILENAME", prefix + filename, type=mask_type)


def build_tile_metadata(l1c: L1CProduct, docs: L1CDocuments, info: ProcessingInfo, names: L2ANames,
                        psd: float, quality: QualityValues, qi_files: Collection[str],
                        l2a_masks: Sequence[tuple[str, str]], pvi_file: str) -> etree._Element:
    """The ``MTD_TL.xml`` tree.

    Parameters
    ----------
    l1c, docs, info, names, psd, quality:
        As for :func:`sen2cor.io.l2a.mtd_product.build_product_metadata`.
    qi_files:
        File names present in the granule ``QI_DATA`` (L1C masks are listed only when copied).
    l2a_masks:
        ``(type, file name)`` of the L2A masks (``MSK_CLDPRB``, ``MSK_SNWPRB``, ``MSK_DDVPXL``).
    pvi_file:
        File name of the preview in ``QI_DATA``.
    """
    root = new_root(NS_TILE, "Level-2A_Tile_ID")
    l1c_general = child(docs.tile, "General_Info")
    gi = sub(root, f"{{{NS_TILE}}}General_Info")
    sub(gi, "L1C_TILE_ID", names.l1c_tile_id, metadataLevel="Brief")
    sub(gi, "TILE_ID", names.tile_id, metadataLevel="Brief")
    sub(gi, "DATASTRIP_ID", names.datastrip_id, metadataLevel="Standard")
    priority = child(l1c_general, "DOWNLINK_PRIORITY")
    sub(gi, "DOWNLINK_PRIORITY", priority.text if priority is not None else "NOMINAL", metadataLevel="Standard")
    sensing = child(l1c_general, "SENSING_TIME")
    sub(gi, "SENSING_TIME", sensing.text if sensing is not None else utc(l1c.tile.sensing_time, digits=3),
        metadataLevel="Standard")
    archive = sub(gi, "Archiving_Info", metadataLevel="Expertise")
    sub(archive, "ARCHIVING_CENTRE", names.archiving_centre)
    sub(archive, "ARCHIVING_TIME", utc(names.creation_time))

    geo = sub(root, f"{{{NS_TILE}}}Geometric_Info")
    l1c_geo = child(docs.tile, "Geometric_Info")
    if l1c_geo is not None and len(l1c_geo):
        for c in l1c_geo:
            if isinstance(c.tag, str):
                append_copy(geo, c)
    else:
        _geometric_fallback(geo, l1c)

    qi = sub(root, f"{{{NS_TILE}}}Quality_Indicators_Info", metadataLevel="Standard")
    content = sub(qi, "Image_Content_QI")
    for name, text in image_content_qi(info, quality, psd, tile=True):
        sub(content, name, text)
    _pixel_level_qi(qi, docs, names, qi_files, l2a_masks)
    sub(qi, "PVI_FILENAME", f"GRANULE/{names.granule}/QI_DATA/{pvi_file}")
    return root
