"""Build self-consistent Level-1C SAFE-compact products from arrays (for tests and ``make demo``).

All metadata are generated here with lxml — no real metadata file is copied.  The product follows the
PSD 14.x compact layout that :func:`sen2cor.io.l1c.read_l1c` reads::

    S2B_MSIL1C_<datatake>_N<bbbb>_R<orbit>_T<tile>_<generation>.SAFE/
      MTD_MSIL1C.xml  manifest.safe
      DATASTRIP/DS_<centre>_<generation>_S<ds start>/MTD_DS.xml
      GRANULE/L1C_T<tile>_A<abs orbit>_<ds start>/
        MTD_TL.xml  IMG_DATA/T<tile>_<datatake>_<band>.jp2  AUX_DATA/AUX_ECMWFT [AUX_CAMSFO]  QI_DATA/

Example
-------
>>> from sen2cor.testing import make_l1c
>>> path = make_l1c(tmp_path, shape10=(600, 600), baseline="05.10")   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

import numpy as np
import rasterio
from lxml import etree
from numpy.typing import NDArray

from sen2cor.bands import BANDS, BY_ID
from sen2cor.grid import TileGrid
from sen2cor.testing.grib import write_grib1
from sen2cor.testing.scene import synthetic_toa

NS_L1C_UP = "https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-1C.xsd"
NS_L1C_TILE = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-1C_Tile_Metadata.xsd"
NS_L1C_DS = "https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-1C_Datastrip_Metadata.xsd"

# Solar irradiance (W m⁻² µm⁻¹) per band as published in Sentinel-2 L1C metadata (B01…B12 in BANDS order).
SOLAR_IRRADIANCE: Mapping[str, tuple[float, ...]] = {
    "S2A": (1884.69, 1959.66, 1823.24, 1512.06, 1424.64, 1287.61, 1162.08, 1041.63, 955.32, 812.92, 367.15,
            245.59, 85.25),
    "S2B": (1874.30, 1959.75, 1824.93, 1512.79, 1425.78, 1291.13, 1175.57, 1041.28, 953.93, 817.58, 365.41,
            247.08, 87.75),
    "S2C": (1880.00, 1960.00, 1824.00, 1512.40, 1425.20, 1289.40, 1168.80, 1041.40, 954.60, 815.20, 366.30,
            246.30, 86.50),
}


@dataclass(frozen=True)
class L1CSpec:
    """Parameters of a generated product (all have realistic defaults: T32UPC, June, S2B, PB 05.10)."""

    shape10: tuple[int, int] = (600, 600)
    spacecraft: str = "S2B"
    tile: str = "32UPC"
    epsg: int = 32632
    ulx: float = 699960.0
    uly: float = 5800020.0
    datatake_start: datetime = datetime(2022, 6, 15, 10, 15, 59, 25000, tzinfo=timezone.utc)
    baseline: str = "05.10"
    relative_orbit: int = 65
    absolute_orbit: int = 27547
    sun_zenith: float = 32.0
    sun_azimuth: float = 155.0
    view_zenith: float = 5.0
    view_azimuth: float = 105.0
    ozone_du: float | None = 330.0
    tcwv_kg_m2: float = 15.0
    aod550: float | None = 0.12
    u: float = 0.9695
    centre: str = "2BPS"
    lost_packets: Mapping[str, NDArray[np.bool_]] = field(default_factory=dict)
    """Band id → boolean mask at native resolution written as lost packets into MSK_QUALIT (PB ≥ 04.00)."""


def _ts(t: datetime, ms: bool = True) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if ms else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _compact(t: datetime) -> str:
    return t.strftime("%Y%m%dT%H%M%S")


def _sub(parent: etree._Element, tag: str, text: object | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        el.text = str(text)
    return el


def _write_xml(root: etree._Element, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    etree.ElementTree(root).write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _reflectance_to_dn(toa: NDArray[np.floating], offset: int) -> NDArray[np.uint16]:
    dn = np.rint(np.asarray(toa, dtype=np.float64) * 10000.0) - offset
    dn = np.clip(dn, 1, 65534)
    dn[np.asarray(toa) <= 0] = 0
    return dn.astype(np.uint16)


def write_jp2(path: Path, data: NDArray[np.integer], grid: TileGrid, resolution: int) -> None:
    """Write a lossless single-band JP2 georeferenced on ``grid`` at ``resolution``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 1 if data.ndim == 2 else data.shape[0]
    arr = data if data.ndim == 3 else data[None]
    profile = dict(
        driver="JP2OpenJPEG", width=arr.shape[2], height=arr.shape[1], count=count, dtype=arr.dtype,
        crs=grid.crs, transform=grid.transform(resolution), REVERSIBLE="YES", QUALITY="100",
        RESOLUTIONS="2", BLOCKXSIZE="1024", BLOCKYSIZE="1024",
    )
    with rasterio.Env(GDAL_NUM_THREADS="2"), rasterio.open(path, "w", **profile) as dst:
        dst.write(arr)


def _angle_values(parent: etree._Element, values: NDArray[np.floating]) -> None:
    _sub(parent, "COL_STEP", 5000, unit="m")
    _sub(parent, "ROW_STEP", 5000, unit="m")
    vl = _sub(parent, "Values_List")
    for row in values:
        _sub(vl, "VALUES", " ".join("NaN" if np.isnan(v) else f"{v:.5f}" for v in row))


def _angle_grids(spec: L1CSpec) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """23×23 sun grids with a gentle west-east/north-south gradient around the mean angles."""
    i, j = np.mgrid[0:23, 0:23].astype(np.float64)
    zen = spec.sun_zenith + 0.04 * (j - 11) + 0.03 * (i - 11)
    az = spec.sun_azimuth + 0.05 * (j - 11) - 0.02 * (i - 11)
    return zen, az


def _mtd_tile(spec: L1CSpec, grid: TileGrid, tile_id: str, ds_id: str, sensing: datetime,
              qi_files: list[tuple[str, str, str]]) -> etree._Element:
    root = etree.Element(f"{{{NS_L1C_TILE}}}Level-1C_Tile_ID", nsmap={"n1": NS_L1C_TILE})
    gi = _sub(root, f"{{{NS_L1C_TILE}}}General_Info")
    _sub(gi, "TILE_ID", tile_id, metadataLevel="Brief")
    _sub(gi, "DATASTRIP_ID", ds_id, metadataLevel="Standard")
    _sub(gi, "DOWNLINK_PRIORITY", "NOMINAL", metadataLevel="Standard")
    _sub(gi, "SENSING_TIME", _ts(sensing), metadataLevel="Standard")
    ai = _sub(gi, "Archiving_Info", metadataLevel="Expertise")
    _sub(ai, "ARCHIVING_CENTRE", spec.centre)
    _sub(ai, "ARCHIVING_TIME", _ts(sensing + timedelta(hours=2)))
    geo = _sub(root, f"{{{NS_L1C_TILE}}}Geometric_Info")
    tg = _sub(geo, "Tile_Geocoding", metadataLevel="Brief")
    zone = spec.epsg % 100
    _sub(tg, "HORIZONTAL_CS_NAME", f"WGS84 / UTM zone {zone}{'N' if spec.epsg < 32700 else 'S'}")
    _sub(tg, "HORIZONTAL_CS_CODE", f"EPSG:{spec.epsg}")
    for res in (10, 20, 60):
        sz = _sub(tg, "Size", resolution=str(res))
        _sub(sz, "NROWS", grid.shape(res)[0])
        _sub(sz, "NCOLS", grid.shape(res)[1])
    for res in (10, 20, 60):
        gp = _sub(tg, "Geoposition", resolution=str(res))
        _sub(gp, "ULX", int(grid.ulx))
        _sub(gp, "ULY", int(grid.uly))
        _sub(gp, "XDIM", res)
        _sub(gp, "YDIM", -res)
    ta = _sub(geo, "Tile_Angles", metadataLevel="Standard")
    sun = _sub(ta, "Sun_Angles_Grid")
    zen, az = _angle_grids(spec)
    _angle_values(_sub(sun, "Zenith"), zen)
    _angle_values(_sub(sun, "Azimuth"), az)
    msa = _sub(ta, "Mean_Sun_Angle")
    _sub(msa, "ZENITH_ANGLE", f"{zen.mean():.10f}", unit="deg")
    _sub(msa, "AZIMUTH_ANGLE", f"{az.mean():.10f}", unit="deg")
    i, j = np.mgrid[0:23, 0:23].astype(np.float64)
    for b in BANDS:
        vg = _sub(ta, "Viewing_Incidence_Angles_Grids", bandId=str(b.index), detectorId="1")
        _angle_values(_sub(vg, "Zenith"), spec.view_zenith + 0.25 * (j - 11) + 0.002 * b.index)
        _angle_values(_sub(vg, "Azimuth"), np.full((23, 23), spec.view_azimuth + 0.1 * b.index))
    mvl = _sub(ta, "Mean_Viewing_Incidence_Angle_List")
    for b in BANDS:
        mv = _sub(mvl, "Mean_Viewing_Incidence_Angle", bandId=str(b.index))
        _sub(mv, "ZENITH_ANGLE", f"{spec.view_zenith + 0.002 * b.index:.6f}", unit="deg")
        _sub(mv, "AZIMUTH_ANGLE", f"{spec.view_azimuth + 0.1 * b.index:.6f}", unit="deg")
    qi = _sub(root, f"{{{NS_L1C_TILE}}}Quality_Indicators_Info", metadataLevel="Standard")
    ic = _sub(qi, "Image_Content_QI")
    _sub(ic, "CLOUDY_PIXEL_PERCENTAGE", "0.0")
    _sub(ic, "DEGRADED_MSI_DATA_PERCENTAGE", "0")
    pl = _sub(qi, "Pixel_Level_QI", geometry="FULL_RESOLUTION")
    for mtype, band_index, rel in qi_files:
        attrs = {"type": mtype} if band_index == "" else {"bandId": band_index, "type": mtype}
        _sub(pl, "MASK_FILENAME", rel, **attrs)
    return root


def _mtd_product(spec: L1CSpec, product_uri: str, gen: datetime, ds_id: str, tile_id: str,
                 image_files: list[str]) -> etree._Element:
    root = etree.Element(f"{{{NS_L1C_UP}}}Level-1C_User_Product", nsmap={"n1": NS_L1C_UP})
    gi = _sub(root, f"{{{NS_L1C_UP}}}General_Info")
    pi = _sub(gi, "Product_Info")
    t0 = spec.datatake_start
    _sub(pi, "PRODUCT_START_TIME", _ts(t0))
    _sub(pi, "PRODUCT_STOP_TIME", _ts(t0))
    _sub(pi, "PRODUCT_URI", product_uri)
    _sub(pi, "PROCESSING_LEVEL", "Level-1C")
    _sub(pi, "PRODUCT_TYPE", "S2MSI1C")
    _sub(pi, "PROCESSING_BASELINE", spec.baseline)
    _sub(pi, "GENERATION_TIME", gen.strftime("%Y-%m-%dT%H:%M:%S.000000Z"))
    _sub(pi, "PREVIEW_IMAGE_URL", "Not applicable")
    _sub(pi, "PREVIEW_GEO_INFO", "Not applicable")
    dt = _sub(pi, "Datatake", datatakeIdentifier=f"G{spec.spacecraft}_{_compact(t0)}_{spec.absolute_orbit:06d}_N{spec.baseline}")
    _sub(dt, "SPACECRAFT_NAME", f"Sentinel-{spec.spacecraft[1:]}")
    _sub(dt, "DATATAKE_TYPE", "INS-NOBS")
    _sub(dt, "DATATAKE_SENSING_START", _ts(t0))
    _sub(dt, "SENSING_ORBIT_NUMBER", spec.relative_orbit)
    _sub(dt, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    qo = _sub(pi, "Query_Options", completeSingleTile="true")
    _sub(qo, "PRODUCT_FORMAT", "SAFE_COMPACT")
    po = _sub(pi, "Product_Organisation")
    gl = _sub(po, "Granule_List")
    g = _sub(gl, "Granule", datastripIdentifier=ds_id, granuleIdentifier=tile_id, imageFormat="JPEG2000")
    for f in image_files:
        _sub(g, "IMAGE_FILE", f)
    pic = _sub(gi, "Product_Image_Characteristics")
    for b in BANDS:
        _sub(pic, "PHYSICAL_GAINS", f"{4.0 + 0.1 * b.index:.5f}", bandId=str(b.index))
    for txt, idx in (("NODATA", 0), ("SATURATED", 65535)):
        sv = _sub(pic, "Special_Values")
        _sub(sv, "SPECIAL_VALUE_TEXT", txt)
        _sub(sv, "SPECIAL_VALUE_INDEX", idx)
    _sub(pic, "QUANTIFICATION_VALUE", 10000, unit="none")
    offset = -1000 if float(spec.baseline) >= 4.0 else 0
    if offset:
        ol = _sub(pic, "Radiometric_Offset_List")
        for b in BANDS:
            _sub(ol, "RADIO_ADD_OFFSET", offset, band_id=str(b.index))
    rc = _sub(pic, "Reflectance_Conversion")
    _sub(rc, "U", f"{spec.u:.14f}")
    sil = _sub(rc, "Solar_Irradiance_List")
    for b, e0 in zip(BANDS, SOLAR_IRRADIANCE[spec.spacecraft]):
        _sub(sil, "SOLAR_IRRADIANCE", e0, bandId=str(b.index), unit="W/m²/µm")
    spl = _sub(pic, "Spectral_Information_List")
    for b in BANDS:
        si = _sub(spl, "Spectral_Information", bandId=str(b.index), physicalBand=b.id.replace("B0", "B"))
        _sub(si, "RESOLUTION", b.resolution)
        wl = _sub(si, "Wavelength")
        c = b.wavelength_um * 1000
        _sub(wl, "MIN", f"{c - b.fwhm_um * 500:.0f}", unit="nm")
        _sub(wl, "MAX", f"{c + b.fwhm_um * 500:.0f}", unit="nm")
        _sub(wl, "CENTRAL", f"{c:.1f}", unit="nm")
    qi = _sub(root, f"{{{NS_L1C_UP}}}Quality_Indicators_Info")
    _sub(qi, "Cloud_Coverage_Assessment", "0.0")
    return root


def _mtd_datastrip(spec: L1CSpec, ds_id: str, sensing: datetime) -> etree._Element:
    root = etree.Element(f"{{{NS_L1C_DS}}}Level-1C_DataStrip_ID", nsmap={"n1": NS_L1C_DS})
    gi = _sub(root, f"{{{NS_L1C_DS}}}General_Info")
    _sub(gi, "DATASTRIP_ID", ds_id)
    dsi = _sub(gi, "Datastrip_Time_Info")
    _sub(dsi, "DATASTRIP_SENSING_START", _ts(sensing))
    _sub(dsi, "DATASTRIP_SENSING_STOP", _ts(sensing + timedelta(seconds=30)))
    pi = _sub(gi, "Processing_Info")
    _sub(pi, "PROCESSING_BASELINE", spec.baseline)
    _sub(pi, "PROCESSING_CENTER", spec.centre)
    return root


def _lat_lon_box(grid: TileGrid) -> tuple[float, float]:
    """North-west corner (lat, lon) of a 1°-ish GRIB box covering the tile."""
    from rasterio.warp import transform

    left, bottom, right, top = grid.bounds(10)
    lons, lats = transform(grid.crs, "EPSG:4326", [left, right], [top, bottom])
    return float(np.ceil(max(lats) * 8) / 8 + 0.125), float(np.floor(min(lons) * 8) / 8 - 0.125)


def make_l1c(
    directory: Path | str,
    spec: L1CSpec | None = None,
    *,
    toa: Mapping[str, NDArray[np.floating]] | None = None,
    generation_time: datetime | None = None,
) -> Path:
    """Write a complete L1C product into ``directory`` and return the ``.SAFE`` path.

    Parameters
    ----------
    directory:
        Parent folder (created if needed).
    spec:
        Product parameters; defaults to :class:`L1CSpec`.
    toa:
        TOA reflectance per band id at its native resolution (0 = no data). Defaults to the synthetic scene
        of :func:`sen2cor.testing.scene.synthetic_toa`. Bands left out are not written.
    """
    spec = spec or L1CSpec()
    toa = dict(toa) if toa is not None else synthetic_toa(spec.shape10)
    r10, c10 = spec.shape10
    grid = TileGrid(spec.epsg, spec.ulx, spec.uly, {10: (r10, c10), 20: (r10 // 2, c10 // 2), 60: (r10 // 6, c10 // 6)})
    t0 = spec.datatake_start
    sensing = t0 + timedelta(seconds=121, microseconds=101000)
    gen = generation_time or (t0 + timedelta(hours=2, minutes=10))
    product_uri = (f"{spec.spacecraft}_MSIL1C_{_compact(t0)}_N{spec.baseline.replace('.', '')}_R{spec.relative_orbit:03d}"
                   f"_T{spec.tile}_{_compact(gen)}.SAFE")
    safe = Path(directory) / product_uri
    granule_name = f"L1C_T{spec.tile}_A{spec.absolute_orbit:06d}_{_compact(sensing)}"
    granule = safe / "GRANULE" / granule_name
    ds_id = f"{spec.spacecraft}_OPER_MSI_L1C_DS_{spec.centre}_{_compact(gen)}_S{_compact(sensing)}_N{spec.baseline}"
    tile_id = (f"{spec.spacecraft}_OPER_MSI_L1C_TL_{spec.centre}_{_compact(gen)}_A{spec.absolute_orbit:06d}"
               f"_T{spec.tile}_N{spec.baseline}")
    offset = -1000 if float(spec.baseline) >= 4.0 else 0
    prefix = f"T{spec.tile}_{_compact(t0)}"

    image_files = []
    for bid, refl in toa.items():
        b = BY_ID[bid]
        expected = grid.shape(b.resolution)
        if refl.shape != expected:
            raise ValueError(f"band {bid}: shape {refl.shape} != {expected} at {b.resolution} m")
        rel = f"GRANULE/{granule_name}/IMG_DATA/{prefix}_{bid}"
        write_jp2(safe / (rel + ".jp2"), _reflectance_to_dn(refl, offset), grid, b.resolution)
        image_files.append(rel)

    qi_files: list[tuple[str, str, str]] = []
    qi_dir = granule / "QI_DATA"
    qi_dir.mkdir(parents=True, exist_ok=True)
    if offset:
        for b in BANDS:
            if b.id not in toa:
                continue
            rel = f"GRANULE/{granule_name}/QI_DATA/MSK_QUALIT_{b.id}.jp2"
            planes = np.zeros((8, *grid.shape(b.resolution)), dtype=np.uint8)
            lost = spec.lost_packets.get(b.id)
            if lost is not None:
                planes[0][lost] = 1  # plane 1 = ANC_LOST (lost ancillary packets)
                planes[1][lost] = 1  # plane 2 = ANC_DEG
                planes[2][lost] = 1  # plane 3 = MSI_LOST (lost MSI packets)
            write_jp2(safe / rel, planes, grid, b.resolution)
            qi_files.append(("MSK_QUALIT", str(b.index), rel))

    _write_xml(_mtd_tile(spec, grid, tile_id, ds_id, sensing, qi_files), granule / "MTD_TL.xml")
    _write_xml(_mtd_product(spec, product_uri, gen, ds_id, tile_id, image_files), safe / "MTD_MSIL1C.xml")
    ds_dir = safe / "DATASTRIP" / f"DS_{spec.centre}_{_compact(gen)}_S{_compact(sensing)}"
    _write_xml(_mtd_datastrip(spec, ds_id, sensing), ds_dir / "MTD_DS.xml")
    (ds_dir / "QI_DATA").mkdir(exist_ok=True)
    (safe / "AUX_DATA").mkdir(exist_ok=True)
    (safe / "HTML").mkdir(exist_ok=True)
    (safe / "rep_info").mkdir(exist_ok=True)

    aux = granule / "AUX_DATA"
    aux.mkdir(parents=True, exist_ok=True)
    lat_top, lon_left = _lat_lon_box(grid)
    date = int(t0.strftime("%Y%m%d"))
    ecm = {"tcwv": np.full((9, 9), spec.tcwv_kg_m2), "msl": np.full((9, 9), 101325.0)}
    if spec.ozone_du is not None:
        ecm["tco3"] = np.full((9, 9), spec.ozone_du * 6.428e-3 / 300.0)
    write_grib1(aux / "AUX_ECMWFT", ecm, lat_top=lat_top, lon_left=lon_left, date=date)
    if spec.aod550 is not None:
        write_grib1(aux / "AUX_CAMSFO", {"z": np.full((9, 9), 981.0), "aod550": np.full((9, 9), spec.aod550)},
                    lat_top=lat_top, lon_left=lon_left, date=date)
    return safe
