"""Level-1C metadata reader: ``MTD_MSIL1C.xml`` + ``MTD_TL.xml`` → :class:`~sen2cor.io.l1c_model.L1CProduct`.

Accepts the SAFE-compact user product root (``S2[ABC]_MSIL1C_*.SAFE``), its ``MTD_MSIL1C.xml``, or one of its
tile folders (``GRANULE/L1C_*``).  PSD 14.2 … 15.0 (processing baselines 02.xx … 05.xx) are supported.
Every problem raises :class:`~sen2cor.errors.ProductError` or :class:`~sen2cor.errors.MetadataError` naming the
file and what to do.  Pixels are read by :mod:`sen2cor.io.l1c_bands`.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from lxml import etree

from sen2cor.bands import BY_INDEX, band
from sen2cor.errors import MetadataError, ProductError
from sen2cor.grid import TileGrid
from sen2cor.io.l1c_model import AngleGrid, L1CProduct, L1CTile, TileAngles
from sen2cor.io.xml import find, iter_local, local, number, parse_xml, text

log = logging.getLogger(__name__)

PRODUCT_MTD = "MTD_MSIL1C.xml"
TILE_MTD = "MTD_TL.xml"
CAMS_AUX_NAMES = ("AUX_CAMSFO", "AUX_CAMSRE", "AUX_CAMSAN")
"""CAMS GRIB names in a granule's AUX_DATA, preferred order (forecast, re-analysis, analysis)."""

_SPACECRAFT = {"Sentinel-2A": "S2A", "Sentinel-2B": "S2B", "Sentinel-2C": "S2C"}


def parse_time(value: str, file: Path, element: str) -> datetime:
    """Parse an ISO UTC time such as ``2017-12-07T00:20:51.026Z`` into an aware datetime."""
    raw = value.strip().rstrip("Z")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise MetadataError(f"{file}: <{element}> {value!r} is not an ISO time (YYYY-MM-DDThh:mm:ss[.ffffff]Z)")


def locate_product(path: Path | str) -> tuple[Path, Path | None]:
    """Return ``(product_root, tile_folder_or_None)`` for a user-given input path.

    Raises
    ------
    ProductError
        If the path does not exist or is not a Level-1C product or tile folder.
    """
    p = Path(path).expanduser().resolve()
    if not p.exists():
        raise ProductError(f"{p}: no such file or directory; give the path of an S2x_MSIL1C_*.SAFE product")
    if p.is_file():
        if p.name == PRODUCT_MTD:
            return p.parent, None
        raise ProductError(f"{p}: is a file; give the S2x_MSIL1C_*.SAFE product folder")
    if (p / PRODUCT_MTD).is_file():
        return p, None
    if (p / TILE_MTD).is_file() and p.parent.name == "GRANULE":
        root = p.parent.parent
        if (root / PRODUCT_MTD).is_file():
            return root, p
        raise ProductError(f"{root}: tile folder given but the product has no {PRODUCT_MTD}")
    if (p / "MTD_MSIL2A.xml").is_file() or p.name.startswith(("S2A_MSIL2A", "S2B_MSIL2A", "S2C_MSIL2A")):
        raise ProductError(f"{p}: is a Level-2A product, not Level-1C; give an S2x_MSIL1C_*.SAFE folder")
    raise ProductError(
        f"{p}: not a Level-1C product (no {PRODUCT_MTD}); give an S2x_MSIL1C_*.SAFE folder or one of its "
        "GRANULE/L1C_* tile folders"
    )


def _psd_version(root: etree._Element, baseline: str) -> float:
    """PSD version of the L1C metadata from its namespace and baseline (facts §9)."""
    ns = etree.QName(root).namespace or ""
    if "psd-15" in ns:
        return 15.0
    major = float(baseline)
    if major >= 4.0:
        return 14.9
    if major >= 2.07:
        return 14.5
    return 14.2


def _band_map(root: etree._Element, tag: str, attr_names: tuple[str, ...], file: Path) -> dict[str, float]:
    """``{band id: value}`` for elements like ``<SOLAR_IRRADIANCE bandId="0">``."""
    out: dict[str, float] = {}
    for el in iter_local(root, tag):
        idx = next((el.get(a) for a in attr_names if el.get(a) is not None), None)
        if idx is None or el.text is None:
            raise MetadataError(f"{file}: <{tag}> without band index or value")
        try:
            out[BY_INDEX[int(idx)].id] = float(el.text)
        except (KeyError, ValueError):
            raise MetadataError(f"{file}: <{tag} {attr_names[0]}={idx!r}> has a bad band index or value") from None
    return out


def _values_grid(el: etree._Element, file: Path) -> tuple[np.ndarray, float, float]:
    """Read a ``Zenith``/``Azimuth`` block: ``(values float32 [rows, cols], col_step, row_step)``."""
    col_step = number(el, "COL_STEP", file)
    row_step = number(el, "ROW_STEP", file)
    vl = find(el, "Values_List")
    if vl is None:
        raise MetadataError(f"{file}: angle grid without <Values_List>")
    rows = []
    for v in vl:
        if local(v) != "VALUES" or v.text is None:
            continue
        try:
            rows.append([float(x) for x in v.text.split()])
        except ValueError:
            raise MetadataError(f"{file}: <VALUES> holds a non-number: {v.text[:60]!r}") from None
    if not rows or len({len(r) for r in rows}) != 1:
        raise MetadataError(f"{file}: angle grid rows are empty or of unequal length")
    return np.asarray(rows, dtype=np.float32), col_step, row_step


def _angle_grid(el: etree._Element, file: Path) -> AngleGrid:
    zen_el, az_el = find(el, "Zenith"), find(el, "Azimuth")
    if zen_el is None or az_el is None:
        raise MetadataError(f"{file}: <{local(el)}> lacks <Zenith> or <Azimuth>")
    zen, cs, rs = _values_grid(zen_el, file)
    az, _, _ = _values_grid(az_el, file)
    return AngleGrid(zenith=zen, azimuth=az, col_step_m=cs, row_step_m=rs)


def _merge_detectors(grids: list[AngleGrid]) -> AngleGrid:
    """Merge per-detector viewing grids of one band: mean where footprints overlap, NaN outside all."""
    zen = np.stack([g.zenith for g in grids])
    # Azimuths are averaged as vectors so that 359° and 1° do not average to 180°.
    az = np.deg2rad(np.stack([g.azimuth for g in grids]))
    with np.errstate(invalid="ignore"), _nan_ok():
        z = np.nanmean(zen, axis=0)
        a = np.rad2deg(np.arctan2(np.nanmean(np.sin(az), axis=0), np.nanmean(np.cos(az), axis=0))) % 360.0
    return AngleGrid(z.astype(np.float32), a.astype(np.float32), grids[0].col_step_m, grids[0].row_step_m)


class _nan_ok:
    """Silence numpy's "Mean of empty slice" warning for all-NaN grid cells."""

    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(*exc)


def read_tile_angles(root: etree._Element, file: Path) -> TileAngles:
    """Sun and viewing angles of ``MTD_TL.xml`` (``Tile_Angles``)."""
    sun_el = find(root, "Tile_Angles/Sun_Angles_Grid")
    if sun_el is None:
        raise MetadataError(f"{file}: missing <Sun_Angles_Grid>")
    sun = _angle_grid(sun_el, file)
    mean_zen = number(root, "Mean_Sun_Angle/ZENITH_ANGLE", file)
    mean_az = number(root, "Mean_Sun_Angle/AZIMUTH_ANGLE", file)
    if not 0.0 <= mean_zen < 90.0:
        raise MetadataError(f"{file}: mean sun zenith {mean_zen}° outside [0, 90): sun below the horizon")
    per_band: dict[str, list[AngleGrid]] = {}
    for el in iter_local(root, "Viewing_Incidence_Angles_Grids"):
        bid = BY_INDEX[int(el.get("bandId", "-1"))].id if el.get("bandId", "").isdigit() else None
        if bid is None:
            raise MetadataError(f"{file}: <Viewing_Incidence_Angles_Grids> with a bad bandId")
        per_band.setdefault(bid, []).append(_angle_grid(el, file))
    viewing = {b: _merge_detectors(g) for b, g in per_band.items()}
    mean_viewing: dict[str, tuple[float, float]] = {}
    for el in iter_local(root, "Mean_Viewing_Incidence_Angle"):
        idx = el.get("bandId")
        if idx is None or not idx.isdigit():
            continue
        mean_viewing[BY_INDEX[int(idx)].id] = (number(el, "ZENITH_ANGLE", file), number(el, "AZIMUTH_ANGLE", file))
    return TileAngles(sun, mean_zen, mean_az, viewing, mean_viewing)


def read_tile_grid(root: etree._Element, file: Path) -> tuple[TileGrid, str]:
    """Tile geocoding of ``MTD_TL.xml``: EPSG, UL corner and sizes at 10/20/60 m."""
    code = text(root, "Tile_Geocoding/HORIZONTAL_CS_CODE", file)
    m = re.fullmatch(r"EPSG:(\d+)", code)
    if not m:
        raise MetadataError(f"{file}: <HORIZONTAL_CS_CODE> {code!r} is not an EPSG code")
    sizes: dict[int, tuple[int, int]] = {}
    ul: dict[int, tuple[float, float]] = {}
    for el in iter_local(root, "Size"):
        res = int(el.get("resolution", "0"))
        sizes[res] = (int(number(el, "NROWS", file)), int(number(el, "NCOLS", file)))
    for el in iter_local(root, "Geoposition"):
        res = int(el.get("resolution", "0"))
        ul[res] = (number(el, "ULX", file), number(el, "ULY", file))
    for res in (10, 20, 60):
        if res not in sizes or res not in ul:
            raise MetadataError(f"{file}: missing <Size>/<Geoposition resolution=\"{res}\">")
        if min(sizes[res]) <= 0:
            raise MetadataError(f"{file}: <Size resolution=\"{res}\"> {sizes[res]} is empty")
    ulx, uly = ul[10]
    cs_name = text(root, "Tile_Geocoding/HORIZONTAL_CS_NAME", file, default="")
    return TileGrid(epsg=int(m.group(1)), ulx=ulx, uly=uly, sizes=sizes), cs_name


def _read_tile(tile_dir: Path, image_files: list[str], product_root: Path) -> L1CTile:
    file = tile_dir / TILE_MTD
    root = parse_xml(file)
    tile_id = text(root, "TILE_ID", file)
    m_tile = re.search(r"_T(\d{2}[A-Z]{3})(_|$)", tile_id)
    m_orbit = re.search(r"_A(\d{6})_", tile_id)
    if not m_tile or not m_orbit:
        raise MetadataError(f"{file}: <TILE_ID> {tile_id!r} lacks the _A<orbit>_ and _T<tile> fields")
    grid, cs_name = read_tile_grid(root, file)
    angles = read_tile_angles(root, file)

    band_files: dict[str, Path] = {}
    tci: Path | None = None
    for rel in image_files:
        f = product_root / (rel if rel.endswith(".jp2") else rel + ".jp2")
        if f.parent.parent != tile_dir:
            continue
        suffix = f.stem.rsplit("_", 1)[-1]
        if suffix == "TCI":
            tci = f
            continue
        try:
            bid = band(suffix).id
        except KeyError:
            continue
        band_files[bid] = f
    if not band_files:  # metadata without IMAGE_FILE list (or another tile): look at the folder
        for f in sorted((tile_dir / "IMG_DATA").glob("*_B??.jp2")):
            band_files[band(f.stem.rsplit("_", 1)[-1]).id] = f
    for bid, f in band_files.items():
        if not f.is_file():
            raise ProductError(f"{f}: band {bid} image listed in the metadata is missing; the product is incomplete")
    if not band_files:
        raise ProductError(f"{tile_dir / 'IMG_DATA'}: no band images found; the product is incomplete")

    aux = tile_dir / "AUX_DATA"
    ecmwft = aux / "AUX_ECMWFT" if (aux / "AUX_ECMWFT").is_file() else None
    cams = next((aux / n for n in CAMS_AUX_NAMES if (aux / n).is_file()), None)

    mask_files: dict[tuple[str, str], Path] = {}
    for el in iter_local(root, "MASK_FILENAME"):
        if el.text is None:
            continue
        idx = el.get("bandId")
        bid = BY_INDEX[int(idx)].id if idx is not None and idx.isdigit() else "B00"
        mask_files[(el.get("type", ""), bid)] = product_root / el.text.strip()

    degraded = float(text(root, "Image_Content_QI/DEGRADED_MSI_DATA_PERCENTAGE", file, default="0"))
    cloudy_raw = text(root, "Image_Content_QI/CLOUDY_PIXEL_PERCENTAGE", file, default="")
    return L1CTile(
        path=tile_dir,
        tile_id=tile_id,
        tile_number=m_tile.group(1),
        datastrip_id=text(root, "DATASTRIP_ID", file, default=""),
        sensing_time=parse_time(text(root, "SENSING_TIME", file), file, "SENSING_TIME"),
        absolute_orbit=int(m_orbit.group(1)),
        grid=grid,
        angles=angles,
        band_files=band_files,
        tci_file=tci if tci is not None and tci.is_file() else None,
        aux_ecmwft=ecmwft,
        aux_cams=cams,
        qi_dir=tile_dir / "QI_DATA" if (tile_dir / "QI_DATA").is_dir() else None,
        mask_files=mask_files,
        degraded_msi_data_percentage=degraded,
        cloudy_pixel_percentage=float(cloudy_raw) if cloudy_raw else None,
        horizontal_cs_name=cs_name,
    )


def read_l1c(path: Path | str) -> L1CProduct:
    """Read the metadata of a Level-1C product.

    Parameters
    ----------
    path:
        The ``.SAFE`` folder, its ``MTD_MSIL1C.xml``, or a ``GRANULE/L1C_*`` tile folder.

    Raises
    ------
    ProductError
        Not a Level-1C product, or files listed in the metadata are missing.
    MetadataError
        Malformed or hostile XML, missing or invalid elements.
    """
    root_dir, tile_dir = locate_product(path)
    file = root_dir / PRODUCT_MTD
    root = parse_xml(file)
    level = text(root, "Product_Info/PROCESSING_LEVEL", file)
    if level != "Level-1C":
        raise ProductError(f"{file}: PROCESSING_LEVEL is {level!r}, not Level-1C; give a Level-1C product")
    baseline = text(root, "Product_Info/PROCESSING_BASELINE", file)
    if not re.fullmatch(r"\d\d\.\d\d", baseline):
        raise MetadataError(f"{file}: <PROCESSING_BASELINE> {baseline!r} is not dd.dd")

    dt = find(root, "Product_Info/Datatake")
    if dt is None:
        raise MetadataError(f"{file}: missing element <Datatake>")
    sc_name = text(dt, "SPACECRAFT_NAME", file)
    if sc_name not in _SPACECRAFT:
        raise MetadataError(f"{file}: <SPACECRAFT_NAME> {sc_name!r} is not Sentinel-2A/2B/2C")

    image_files = [e.text.strip() for e in iter_local(root, "IMAGE_FILE") if e.text]
    granule_dirs = sorted(d for d in (root_dir / "GRANULE").glob("L1C_*") if d.is_dir())
    if tile_dir is None:
        if not granule_dirs:
            raise ProductError(f"{root_dir / 'GRANULE'}: no L1C_* tile folder; the product is incomplete")
        if len(granule_dirs) > 1:
            log.warning("%s holds %d tiles; processing the first, %s", root_dir, len(granule_dirs), granule_dirs[0].name)
        tile_dir = granule_dirs[0]
    tile = _read_tile(tile_dir, image_files, root_dir)

    quant = number(root, "QUANTIFICATION_VALUE", file)
    if quant <= 0:
        raise MetadataError(f"{file}: <QUANTIFICATION_VALUE> {quant} must be positive")
    offsets = {b: int(v) for b, v in _band_map(root, "RADIO_ADD_OFFSET", ("band_id", "bandId"), file).items()}
    offsets = {b.id: offsets.get(b.id, 0) for b in BY_INDEX.values()}
    irradiance = _band_map(root, "SOLAR_IRRADIANCE", ("bandId", "band_id"), file)
    missing = [b.id for b in BY_INDEX.values() if b.id not in irradiance]
    if missing:
        raise MetadataError(f"{file}: <SOLAR_IRRADIANCE> missing for {', '.join(missing)}")
    specials = {
        text(sv, "SPECIAL_VALUE_TEXT", file): int(number(sv, "SPECIAL_VALUE_INDEX", file))
        for sv in iter_local(root, "Special_Values")
    }
    ds_dirs = sorted(d for d in (root_dir / "DATASTRIP").glob("DS_*") if d.is_dir())
    return L1CProduct(
        path=root_dir,
        product_uri=text(root, "Product_Info/PRODUCT_URI", file, default=root_dir.name),
        spacecraft=_SPACECRAFT[sc_name],
        product_start_time=parse_time(text(root, "PRODUCT_START_TIME", file), file, "PRODUCT_START_TIME"),
        product_stop_time=parse_time(text(root, "PRODUCT_STOP_TIME", file), file, "PRODUCT_STOP_TIME"),
        generation_time=parse_time(text(root, "Product_Info/GENERATION_TIME", file), file, "GENERATION_TIME"),
        datatake_id=dt.get("datatakeIdentifier", ""),
        datatake_type=text(dt, "DATATAKE_TYPE", file, default="INS-NOBS"),
        datatake_sensing_start=parse_time(text(dt, "DATATAKE_SENSING_START", file), file, "DATATAKE_SENSING_START"),
        relative_orbit=int(number(dt, "SENSING_ORBIT_NUMBER", file)),
        orbit_direction=text(dt, "SENSING_ORBIT_DIRECTION", file, default="DESCENDING"),
        processing_baseline=baseline,
        psd_version=_psd_version(root, baseline),
        quantification_value=quant,
        radio_add_offset=offsets,
        solar_irradiance=irradiance,
        u=number(root, "Reflectance_Conversion/U", file),
        nodata_value=specials.get("NODATA", 0),
        saturated_value=specials.get("SATURATED", 65535),
        datastrip_path=ds_dirs[0] if ds_dirs else None,
        tile=tile,
        product_format=text(root, "PRODUCT_FORMAT", file, default="SAFE_COMPACT"),
        mtd_file=file,
    )
