"""Level-1C pixel quality masks (both generations) and ``GENERAL_QUALITY.xml``.

A L1C granule's ``QI_DATA`` holds per-band quality masks in one of two forms:

* **before processing baseline 04.00** – GML vector files ``MSK_<TYPE>_<band>.gml`` (or the long PDGS
  names ``S2A_OPER_MSK_<TYPE>_…_<band>_MSIL1C.gml``): ``DETFOO`` (detector footprints, one polygon per
  detector), ``NODATA`` (``QT_NODATA_PIXELS``, ``QT_PARTIALLY_CORRECTED_PIXELS``), ``SATURA``
  (saturated pixels), ``DEFECT`` (``QT_DEFECTIVE_PIXELS``), ``TECQUA`` (technical quality: lost/degraded
  ancillary or MSI packets) and ``MSK_CLOUDS_B00`` (``OPAQUE``, ``CIRRUS``).  The polygons describe the
  nominal full tile in its UTM coordinates;
* **from processing baseline 04.00** – JPEG 2000 rasters at the band's resolution: ``MSK_DETFOO_<band>``
  (value = detector number, 0 = none), ``MSK_CLASSI_B00`` (60 m, three 0/1 layers) and
  ``MSK_QUALIT_<band>`` with eight 0/1 layers (ESA Sentinel-2 L1C product specification, "pixel-level
  quality masks"; the meanings of layers 3 and 4 are also used by other processors):

  =====  =================================  ===================================================
  layer  name                               meaning
  =====  =================================  ===================================================
  1      ``ANC_LOST``                       ancillary (attitude/orbit) packets lost
  2      ``ANC_DEG``                        ancillary packets degraded
  3      ``MSI_LOST``                       **MSI instrument packets lost** ("lost data")
  4      ``MSI_DEG``                        MSI instrument packets degraded
  5      ``QT_DEFECTIVE_PIXELS``            defective detector pixels
  6      ``QT_NODATA_PIXELS``               no data
  7      ``QT_PARTIALLY_CORRECTED_PIXELS``  cross-talk, partially corrected
  8      ``QT_SATURATED_PIXELS_L1A``        saturated on board (L1A)
  =====  =================================  ===================================================

  ``MSK_CLASSI_B00`` layers: 1 ``OPAQUE`` clouds, 2 ``CIRRUS``, 3 ``SNOW_ICE``.

``Handle_L1C_QLT_Mask`` (Sen2Cor ≥ 2.10; slides seed 001 "Use of the L1C Quality Masks"; facts §2.1,
§6.1 step 0): Sen2Cor reads the granule's ``GENERAL_QUALITY.xml``; when its check "Check TECQUA for data
loss" (``inspection id="Data_Loss"``) has status ``FAILED``, the check's ``extraValues`` list the affected
bands; for those bands it reads layer 3 (``MSI_LOST``) of ``MSK_QUALIT_<band>.jp2`` and marks every
pixel set in any of them SATURATED_DEFECTIVE (SCL 1), with no data in the outputs.  :func:`quality_mask`
does this.  Deliberate differences (to be listed in ``docs/differences.md``): for GML-era products the
equivalent ``MSI_LOST`` polygons of ``MSK_TECQUA`` are used (Sen2Cor 2.11 only reads rasters, so it
ignores them); a coarser output pixel is flagged when *any* of its band pixels is flagged (Sen2Cor
samples one with a nearest-neighbour resize).

Public API::

    quality_mask(tile, resolution) -> bool array | None      # Handle_L1C_QLT_Mask, SCL class 1
    read_general_quality(qi_dir) -> GeneralQuality | None
    band_mask(qi_dir, band, layer, shape, transform) -> bool array | None   # any QUALIT/CLASSI layer
    detector_footprint(qi_dir, band, shape, transform) -> uint8 array | None
    read_gml_mask(path) -> GmlMask ; rasterize_gml(mask, shape, transform, …) -> uint8 array

``tile`` is anything with ``qi_dir`` and ``grid`` (an :class:`~sen2cor.io.l1c_model.L1CTile`); it may also
carry ``mask_files`` (the ``Pixel_Level_QI`` listing of ``MTD_TL.xml``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.features import rasterize
from rasterio.warp import Resampling, reproject, transform_geom

from sen2cor.bands import band as band_info
from sen2cor.errors import AuxDataError, MetadataError
from sen2cor.grid import TileGrid
from sen2cor.io.xml import iter_local, local, parse_xml

log = logging.getLogger(__name__)

QUALIT_LAYERS: Final[tuple[str, ...]] = (
    "ANC_LOST",
    "ANC_DEG",
    "MSI_LOST",
    "MSI_DEG",
    "QT_DEFECTIVE_PIXELS",
    "QT_NODATA_PIXELS",
    "QT_PARTIALLY_CORRECTED_PIXELS",
    "QT_SATURATED_PIXELS_L1A",
)
"""Layers 1–8 of ``MSK_QUALIT_<band>.jp2`` (PB ≥ 04.00), in file order."""

CLASSI_LAYERS: Final[tuple[str, ...]] = ("OPAQUE", "CIRRUS", "SNOW_ICE")
"""Layers 1–3 of ``MSK_CLASSI_B00.jp2`` (PB ≥ 04.00)."""

SEN2COR_QLT_LAYERS: Final[tuple[str, ...]] = ("MSI_LOST",)
"""Layers Sen2Cor 2.10+ turns into SATURATED_DEFECTIVE with ``Handle_L1C_QLT_Mask`` (it reads band 3)."""

GML_LAYER_SOURCE: Final[dict[str, tuple[str, frozenset[str]]]] = {
    "ANC_LOST": ("TECQUA", frozenset({"ANC_LOST"})),
    "ANC_DEG": ("TECQUA", frozenset({"ANC_DEG"})),
    "MSI_LOST": ("TECQUA", frozenset({"MSI_LOST"})),
    "MSI_DEG": ("TECQUA", frozenset({"MSI_DEG"})),
    "QT_DEFECTIVE_PIXELS": ("DEFECT", frozenset({"QT_DEFECTIVE_PIXELS"})),
    "QT_NODATA_PIXELS": ("NODATA", frozenset({"QT_NODATA_PIXELS"})),
    "QT_PARTIALLY_CORRECTED_PIXELS": ("NODATA", frozenset({"QT_PARTIALLY_CORRECTED_PIXELS"})),
    "QT_SATURATED_PIXELS_L1A": (
        "SATURA",
        frozenset({"QT_SATURATED_PIXELS_L1A", "QT_SATURATED_PIXELS_L1B", "QT_SATURATED_PIXELS"}),
    ),
    "OPAQUE": ("CLOUDS", frozenset({"OPAQUE"})),
    "CIRRUS": ("CLOUDS", frozenset({"CIRRUS"})),
}
"""Where a raster layer's information lives in the GML generation: (``MSK_<file>``, ``maskType`` values)."""

DATA_LOSS_CHECK_ID: Final[str] = "Data_Loss"
DATA_LOSS_CHECK_NAME: Final[str] = "Check TECQUA for data loss"
"""The ``GENERAL_QUALITY.xml`` check Sen2Cor looks for (``inspection`` ``id``/``name``)."""

_DETECTOR_ID_RE: Final[re.Pattern[str]] = re.compile(r"detector_footprint-B\w{2}-(\d+)", re.IGNORECASE)
_EPSG_RE: Final[re.Pattern[str]] = re.compile(r"EPSG(?::[\d.]*)?:(\d+)\s*$", re.IGNORECASE)


class TileLike(Protocol):
    """What :func:`quality_mask` needs from a tile (satisfied by ``L1CTile``)."""

    qi_dir: Path | None
    grid: TileGrid


@dataclass(frozen=True)
class GeneralQuality:
    """The parts of ``QI_DATA/GENERAL_QUALITY.xml`` used for the L1C quality mask."""

    path: Path
    global_status: str | None
    """``report/@globalStatus`` (``PASSED``/``FAILED``)."""
    data_loss_status: str | None
    """Status of the "Check TECQUA for data loss" check, ``None`` if the report has none."""
    lost_bands: tuple[str, ...] = ()
    """Band ids listed by that check when it failed."""

    @property
    def data_loss(self) -> bool:
        return (self.data_loss_status or "").upper() == "FAILED"


@dataclass(frozen=True)
class GmlFeature:
    """One ``eop:MaskFeature``: its id, ``maskType`` and polygons as GeoJSON-like dicts."""

    feature_id: str
    mask_type: str
    polygons: tuple[dict, ...] = field(repr=False)


@dataclass(frozen=True)
class GmlMask:
    """A parsed GML mask file."""

    path: Path
    epsg: int | None
    features: tuple[GmlFeature, ...]


# ------------------------------------------------------------------------------ GENERAL_QUALITY.xml


def read_general_quality(qi_dir: Path) -> GeneralQuality | None:
    """Parse ``GENERAL_QUALITY.xml`` of a granule's ``QI_DATA`` (``None`` if the file is absent).

    Raises
    ------
    MetadataError
        The file is malformed.
    """
    qi_dir = Path(qi_dir)
    candidates = sorted(qi_dir.glob("*GENERAL_QUALITY*.xml")) if qi_dir.is_dir() else []
    if not candidates:
        return None
    path = qi_dir / "GENERAL_QUALITY.xml" if (qi_dir / "GENERAL_QUALITY.xml").is_file() else candidates[0]
    root = parse_xml(path)
    report = next(iter_local(root, "report"), None)
    global_status = report.get("globalStatus") if report is not None else None
    status: str | None = None
    lost: list[str] = []
    for check in iter_local(root, "check"):
        inspection = next((c for c in check if local(c) == "inspection"), None)
        if inspection is None:
            continue
        ident, name = inspection.get("id", ""), inspection.get("name", "").strip()
        if ident != DATA_LOSS_CHECK_ID and not name.startswith(DATA_LOSS_CHECK_NAME):
            continue
        status = inspection.get("status")
        for value in iter_local(check, "value"):
            lost.extend(_band_tokens(value.text or "", path))
        break
    return GeneralQuality(path, global_status, status, tuple(dict.fromkeys(lost)))


def _band_tokens(text: str, path: Path) -> list[str]:
    out = []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        try:
            out.append(band_info(token).id)
        except KeyError:
            log.debug("%s: ignoring non-band token %r in the data-loss check", path, token)
    return out


# ------------------------------------------------------------------------------ locating files


def find_mask_file(
    qi_dir: Path | None,
    kind: str,
    band: str,
    *,
    mask_files: Mapping[tuple[str, str], Path] | None = None,
    suffixes: Iterable[str] = (".jp2", ".tif", ".gml"),
) -> Path | None:
    """The ``MSK_<kind>`` file of ``band`` (``B00`` for product-level masks), raster first."""
    band = band.upper() if band.upper() == "B00" else band_info(band).id
    suffixes = tuple(suffixes)
    listed = (mask_files or {}).get((f"MSK_{kind}", band))
    if listed is not None:
        for cand in (listed, *(listed.with_suffix(s) for s in suffixes)):
            if cand.suffix.lower() in suffixes and cand.is_file():
                return cand
    if qi_dir is None or not Path(qi_dir).is_dir():
        return None
    qi_dir = Path(qi_dir)
    for suffix in suffixes:
        exact = qi_dir / f"MSK_{kind}_{band}{suffix}"
        if exact.is_file():
            return exact
    pattern = re.compile(rf"MSK_{kind}_.*_{band}(_MSIL1C)?\.(jp2|tif|gml)$", re.IGNORECASE)
    for suffix in suffixes:
        for p in sorted(qi_dir.iterdir()):
            if p.suffix.lower() == suffix and pattern.search(p.name):
                return p
    return None


# ------------------------------------------------------------------------------ GML masks


def read_gml_mask(path: Path) -> GmlMask:
    """Parse a Sentinel-2 ``eop:Mask`` GML file (polygons with ``posList`` of 2 or 3 dimensions)."""
    path = Path(path)
    root = parse_xml(path)
    epsg = None
    for el in root.iter():
        srs = el.get("srsName") if isinstance(el.tag, str) else None
        if srs:
            m = _EPSG_RE.search(srs.strip())
            if m:
                epsg = int(m.group(1))
                break
    features = []
    for feat in iter_local(root, "MaskFeature"):
        fid = next((v for k, v in feat.attrib.items() if k.endswith("id")), "")
        mtype_el = next(iter_local(feat, "maskType"), None)
        mtype = (mtype_el.text or "").strip() if mtype_el is not None else ""
        polys = []
        for poly in iter_local(feat, "Polygon"):
            rings = []
            for part in poly:
                if local(part) not in ("exterior", "interior"):
                    continue
                pos = next(iter_local(part, "posList"), None)
                if pos is None:
                    continue
                rings.append(_ring(pos, path))
            if rings:
                polys.append({"type": "Polygon", "coordinates": rings})
        features.append(GmlFeature(fid, mtype, tuple(polys)))
    return GmlMask(path, epsg, tuple(features))


def _ring(pos, path: Path) -> list[tuple[float, float]]:
    dim = int(pos.get("srsDimension", "2"))
    try:
        values = [float(v) for v in (pos.text or "").split()]
    except ValueError:
        raise MetadataError(f"{path}: <posList> holds a non-numeric coordinate") from None
    if dim < 2 or len(values) % dim or len(values) < 3 * dim:
        raise MetadataError(f"{path}: <posList> has {len(values)} values, not a ring of {dim}-D points")
    return [(values[i], values[i + 1]) for i in range(0, len(values), dim)]


def rasterize_gml(
    mask: GmlMask,
    shape: tuple[int, int],
    transform: Affine,
    *,
    crs: CRS | str | None = None,
    mask_types: Iterable[str] | None = None,
    detector_values: bool = False,
) -> NDArray[np.uint8]:
    """Burn the polygons of ``mask`` into a ``shape`` raster (pixel-centre rule).

    Parameters
    ----------
    mask_types:
        Only features whose ``maskType`` is in this set (default: all).
    detector_values:
        Burn the detector number parsed from ``detector_footprint-Bxx-NN-k`` ids instead of 1.
    crs:
        Target CRS; polygons in another EPSG are reprojected.
    """
    wanted = frozenset(mask_types) if mask_types is not None else None
    shapes = []
    for feat in mask.features:
        if wanted is not None and feat.mask_type not in wanted:
            continue
        value = 1
        if detector_values:
            m = _DETECTOR_ID_RE.search(feat.feature_id)
            value = int(m.group(1)) if m else 1
        for poly in feat.polygons:
            geom = poly
            if (
                crs is not None
                and mask.epsg is not None
                and CRS.from_user_input(crs) != CRS.from_epsg(mask.epsg)
            ):
                geom = transform_geom(CRS.from_epsg(mask.epsg), crs, poly)
            shapes.append((geom, value))
    if not shapes:
        return np.zeros(shape, dtype=np.uint8)
    return rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8", all_touched=False)


# ------------------------------------------------------------------------------ raster masks


def _layer_index(layer: str) -> tuple[str, int]:
    layer = layer.upper()
    if layer in QUALIT_LAYERS:
        return "QUALIT", QUALIT_LAYERS.index(layer) + 1
    if layer in CLASSI_LAYERS:
        return "CLASSI", CLASSI_LAYERS.index(layer) + 1
    raise ValueError(f"unknown L1C mask layer {layer!r}; expected one of {QUALIT_LAYERS + CLASSI_LAYERS}")


def band_mask(
    qi_dir: Path | None,
    band: str,
    layer: str,
    shape: tuple[int, int],
    transform: Affine,
    *,
    crs: CRS | str | None = None,
    mask_files: Mapping[tuple[str, str], Path] | None = None,
    include_gml: bool = True,
) -> NDArray[np.bool_] | None:
    """One quality layer of one band on the output grid, from the raster or the GML generation.

    ``layer`` is a :data:`QUALIT_LAYERS` or :data:`CLASSI_LAYERS` name (``band`` ``B00`` for CLASSI).
    Returns ``None`` when the granule has no such mask.

    Raises
    ------
    AuxDataError
        The mask file exists but cannot be read.
    """
    kind, index = _layer_index(layer)
    raster = find_mask_file(qi_dir, kind, band, mask_files=mask_files, suffixes=(".jp2", ".tif"))
    if raster is not None:
        return _raster_layer(raster, index, shape, transform, crs)
    if not include_gml or layer.upper() not in GML_LAYER_SOURCE:
        return None
    gml_kind, types = GML_LAYER_SOURCE[layer.upper()]
    gml_band = "B00" if gml_kind == "CLOUDS" else band
    gml = find_mask_file(qi_dir, gml_kind, gml_band, mask_files=mask_files, suffixes=(".gml",))
    if gml is None:
        return None
    return rasterize_gml(read_gml_mask(gml), shape, transform, crs=crs, mask_types=types).astype(bool)


def detector_footprint(
    qi_dir: Path | None,
    band: str,
    shape: tuple[int, int],
    transform: Affine,
    *,
    crs: CRS | str | None = None,
    mask_files: Mapping[tuple[str, str], Path] | None = None,
) -> NDArray[np.uint8] | None:
    """Detector number (1–12, 0 = none) of every output pixel from ``MSK_DETFOO`` (raster or GML)."""
    path = find_mask_file(qi_dir, "DETFOO", band, mask_files=mask_files)
    if path is None:
        return None
    if path.suffix.lower() == ".gml":
        return rasterize_gml(read_gml_mask(path), shape, transform, crs=crs, detector_values=True)
    try:
        with rasterio.open(path) as ds:
            data, src_t = ds.read(1), ds.transform
    except RasterioError as exc:
        raise AuxDataError(f"{path}: cannot read detector footprint mask ({exc})") from None
    return _resample_nearest(data.astype(np.uint8), src_t, shape, transform)


def _raster_layer(path: Path, index: int, shape, transform: Affine, crs) -> NDArray[np.bool_]:
    try:
        with rasterio.open(path) as ds:
            if index > ds.count:
                raise AuxDataError(f"{path}: mask has {ds.count} layers, layer {index} requested")
            data = ds.read(index)
            src_t = ds.transform
    except RasterioError as exc:
        raise AuxDataError(f"{path}: cannot read L1C quality mask ({exc})") from None
    return resample_mask(data != 0, src_t, shape, transform)


def resample_mask(
    mask: NDArray[np.bool_], src_transform: Affine, shape: tuple[int, int], dst_transform: Affine
) -> NDArray[np.bool_]:
    """Put a boolean band mask on the output grid: *any* over whole blocks when the output is coarser,
    replication when finer (same CRS, aligned integer pixel ratios); nearest neighbour otherwise."""
    src_px, dst_px = src_transform.a, dst_transform.a
    ratio = dst_px / src_px
    # output origin in source pixels
    ox = (dst_transform.c - src_transform.c) / src_px
    oy = (src_transform.f - dst_transform.f) / src_px
    aligned = (
        src_transform.b == 0
        and src_transform.d == 0
        and dst_transform.b == 0
        and dst_transform.d == 0
        and abs(src_transform.e + src_px) < 1e-9 * src_px
        and abs(dst_transform.e + dst_px) < 1e-9 * dst_px
        and abs(ox - round(ox)) < 1e-6
        and abs(oy - round(oy)) < 1e-6
    )
    nrows, ncols = shape
    if aligned and ratio >= 1 and abs(ratio - round(ratio)) < 1e-9:
        f, ox, oy = int(round(ratio)), int(round(ox)), int(round(oy))
        block = np.zeros((nrows * f, ncols * f), dtype=bool)
        r0, c0 = max(oy, 0), max(ox, 0)
        r1, c1 = min(oy + nrows * f, mask.shape[0]), min(ox + ncols * f, mask.shape[1])
        if r1 > r0 and c1 > c0:
            block[r0 - oy : r1 - oy, c0 - ox : c1 - ox] = mask[r0:r1, c0:c1]
        return block.reshape(nrows, f, ncols, f).any(axis=(1, 3))
    inv = 1.0 / ratio if ratio > 0 else 0.0
    if aligned and ratio < 1 and abs(inv - round(inv)) < 1e-9:
        f = int(round(inv))
        oyd, oxd = (
            int(round(oy * f)),
            int(round(ox * f)),
        )  # output origin in output pixels from the source origin
        rows = (np.arange(nrows) + oyd) // f
        cols = (np.arange(ncols) + oxd) // f
        out = np.zeros(shape, dtype=bool)
        rv = (rows >= 0) & (rows < mask.shape[0])
        cv = (cols >= 0) & (cols < mask.shape[1])
        out[np.ix_(rv, cv)] = mask[np.ix_(rows[rv], cols[cv])]
        return out
    return _resample_nearest(mask.astype(np.uint8), src_transform, shape, dst_transform).astype(bool)


def _resample_nearest(
    data: NDArray, src_transform: Affine, shape: tuple[int, int], dst_transform: Affine
) -> NDArray:
    out = np.zeros(shape, dtype=data.dtype)
    crs = CRS.from_epsg(4326)  # any CRS: source and destination share it, only the grids differ
    reproject(
        data,
        out,
        src_transform=src_transform,
        src_crs=crs,
        dst_transform=dst_transform,
        dst_crs=crs,
        resampling=Resampling.nearest,
    )
    return out


# ------------------------------------------------------------------------------ Handle_L1C_QLT_Mask


def quality_mask(
    tile: TileLike,
    resolution: int,
    *,
    layers: Iterable[str] = SEN2COR_QLT_LAYERS,
    bands: Iterable[str] | None = None,
    include_gml: bool = True,
) -> NDArray[np.bool_] | None:
    """The SATURATED_DEFECTIVE mask of ``Handle_L1C_QLT_Mask`` on ``tile.grid`` at ``resolution``.

    Parameters
    ----------
    tile:
        Anything with ``qi_dir`` and ``grid`` (``mask_files`` is used when present).
    resolution:
        10, 20 or 60 m.
    layers:
        Quality layers that count (Sen2Cor: ``MSI_LOST`` only).
    bands:
        Affected bands; by default those listed by a FAILED data-loss check of ``GENERAL_QUALITY.xml``
        (Sen2Cor's rule: no report, a PASSED check or no band list → no mask).
    include_gml:
        Use the GML masks of products before PB 04.00 (Sen2Cor 2.11 does not).

    Returns
    -------
    numpy.ndarray of bool or None
        True where a listed band lost data; ``None`` when there is nothing to mask.
    """
    qi_dir = tile.qi_dir
    if qi_dir is None:
        log.info("no QI_DATA folder: L1C quality mask not handled")
        return None
    if bands is None:
        report = read_general_quality(qi_dir)
        if report is None:
            log.info("%s: no GENERAL_QUALITY.xml, L1C quality mask not handled", qi_dir)
            return None
        if not report.data_loss:
            log.info(
                "%s: data-loss check %s, no L1C quality mask",
                report.path.name,
                report.data_loss_status or "absent",
            )
            return None
        if not report.lost_bands:
            log.warning("%s: data loss reported but the affected bands cannot be retrieved", report.path)
            return None
        bands = report.lost_bands
    bands = [band_info(b).id for b in bands]
    layers = [layer.upper() for layer in layers]
    grid = tile.grid
    shape, transform = grid.shape(resolution), grid.transform(resolution)
    mask_files = getattr(tile, "mask_files", None)
    result = np.zeros(shape, dtype=bool)
    found = 0
    for b in bands:
        for layer in layers:
            part = band_mask(
                qi_dir,
                b,
                layer,
                shape,
                transform,
                crs=grid.crs,
                mask_files=mask_files,
                include_gml=include_gml,
            )
            if part is None:
                log.warning("%s: no MSK_QUALIT mask for band %s (layer %s); it is skipped", qi_dir, b, layer)
                continue
            found += 1
            result |= part
    if not found:
        log.warning(
            "%s: none of the quality masks of bands %s exists; no L1C quality mask", qi_dir, ", ".join(bands)
        )
        return None
    log.info(
        "L1C quality mask from bands %s: %d pixels at %d m", ", ".join(bands), int(result.sum()), resolution
    )
    return result


__all__ = [
    "CLASSI_LAYERS",
    "QUALIT_LAYERS",
    "SEN2COR_QLT_LAYERS",
    "GeneralQuality",
    "GmlMask",
    "band_mask",
    "detector_footprint",
    "find_mask_file",
    "quality_mask",
    "rasterize_gml",
    "read_general_quality",
    "read_gml_mask",
    "resample_mask",
]
