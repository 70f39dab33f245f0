"""Writing and reading the product images through GDAL (rasterio).

* JPEG 2000, lossless (5/3 reversible wavelet), GDAL JP2OpenJPEG with Sen2Cor's code-stream
  layout (facts §9: LRCP, one quality layer, 5 decomposition levels; tiles / code-blocks /
  precincts of 1024/64/256 at 10 m, 640/8/128 at 20 m, 192/4/64 at 60 m) and GMLJP2 + GeoJP2
  georeferencing, encoded from a GDAL MEM dataset over the image array itself.  The encoder runs
  ``threads`` OpenJPEG threads (``GDAL_NUM_THREADS``) unless ``OPJ_NUM_THREADS`` is set (the CLI sets 0: the
  calling thread, :func:`sen2cor.runtime.configure_codec`).
* GeoTIFF for ``--tif``; Cloud-Optimized GeoTIFF for the SCL with ``--sc_cog`` (1024 blocks, LZW,
  mode overviews at factors 3/6/18 at 20 m and 2/6 at 60 m, facts §9); ENVI ``.raw`` + ``.hdr``
  for ``--raw``.

Georeferencing is always the L1C grid of the same resolution (:class:`sen2cor.grid.TileGrid`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import rasterio
import rasterio.errors
import rasterio.io
import rasterio.shutil
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.io import MemoryFile

from sen2cor.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Jp2Layout:
    """Code-stream layout of one resolution (facts §9)."""

    tile: int
    codeblock: int
    precinct: int


JP2_LAYOUT: Final[dict[int, Jp2Layout]] = {
    10: Jp2Layout(tile=1024, codeblock=64, precinct=256),
    20: Jp2Layout(tile=640, codeblock=8, precinct=128),
    60: Jp2Layout(tile=192, codeblock=4, precinct=64),
}
"""Sen2Cor's JPEG 2000 tiling per resolution (facts §9; verified on the parity-a outputs)."""

JP2_DECOMPOSITION_LEVELS: Final[int] = 5
"""Wavelet decomposition levels of Sen2Cor's JPEG 2000 files (6 resolutions)."""

MEM_DATA_TYPES: Final[dict[str, str]] = {"uint8": "Byte", "uint16": "UInt16", "int16": "Int16",
                                          "uint32": "UInt32", "int32": "Int32", "float32": "Float32"}
"""GDAL data type names of the pixel types a JPEG 2000 source may have as a MEM dataset."""

RGB: Final[tuple[ColorInterp, ...]] = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
"""Colour interpretation of three-band 8-bit images (TCI, PVI): the JPEG 2000 gets an sRGB colour box."""

GTIFF_BLOCK_MULTIPLE: Final[int] = 16
"""GeoTIFF tile sizes must be multiples of 16 pixels (TIFF 6.0)."""

MIN_GDAL_BLOCK: Final[int] = 32
"""Smallest JPEG 2000 tile GDAL's JP2OpenJPEG driver accepts (small test images get one tile)."""

PREVIEW_CODEBLOCK: Final[int] = 64
"""Code-block size of the PVI (single tile, default precincts)."""

COG_BLOCKSIZE: Final[int] = 1024
"""COG block size of ``--sc_cog`` (facts §9)."""

COG_OVERVIEW_FACTORS: Final[dict[int, tuple[int, ...]]] = {10: (3, 6, 18), 20: (3, 6, 18), 60: (2, 6)}
"""Overview decimation factors of the SCL COG (facts §9; 10 m never carries an SCL)."""

GTIFF_ZSTD_LEVEL: Final[int] = 2
"""ZSTD level of ``--tif`` images.  On a 10 m band ZSTD is ≈ 10× faster to encode than DEFLATE's default
level 6 and 11 % smaller (docs/benchmarks.md, session 6).  The 40 GeoTIFF images of a full-tile product
re-encoded on one thread: level 3 12.3 CPU-s, 761 MB; level 2 9.6 CPU-s, 780 MB (+2.6 %); level 1 8.2 CPU-s,
838 MB (+10 %) (session 14).  Level 2 takes a fifth less encoding time for a few % of size; higher levels gain
a few % of size for 3–5× the time."""

GTIFF_OPTIONS: Final[dict[str, str]] = {"TILED": "YES", "blockxsize": "512", "blockysize": "512",
                                        "COMPRESS": "ZSTD", "ZSTD_LEVEL": str(GTIFF_ZSTD_LEVEL),
                                        "PREDICTOR": "2"}
"""Lossless GeoTIFF creation options for ``--tif`` (Sen2Cor does not document its own; issue 8 allows
DEFLATE or ZSTD with a predictor; docs/differences.md)."""


@dataclass(frozen=True)
class Georef:
    """CRS and affine transform of one image."""

    crs: str
    transform: Affine


def jp2_creation_options(shape: tuple[int, int], layout: Jp2Layout | None) -> dict[str, str]:
    """GDAL JP2OpenJPEG creation options for an image of ``shape`` (rows, cols).

    ``layout`` None means a single-tile preview.  Tiles are clamped to the image, and the
    number of resolutions is reduced when a tile is smaller than ``2**levels`` pixels.
    """
    rows, cols = shape
    if layout is None:
        tile_x, tile_y, cb, prec = cols, rows, PREVIEW_CODEBLOCK, None
    else:
        tile_x, tile_y = min(layout.tile, cols), min(layout.tile, rows)
        cb, prec = layout.codeblock, layout.precinct
    # GDAL needs (tile >> resolutions) > 0, i.e. at most floor(log2(tile)) - 1 decomposition levels
    smallest = max(1, min(tile_x, tile_y))
    levels = min(JP2_DECOMPOSITION_LEVELS, max(0, int(math.floor(math.log2(smallest))) - 1))
    # GDAL rejects blocks below 32 pixels; a larger block is clamped to the image again
    tile_x, tile_y = max(tile_x, MIN_GDAL_BLOCK), max(tile_y, MIN_GDAL_BLOCK)
    opts = {
        "CODEC": "JP2", "REVERSIBLE": "YES", "QUALITY": "100", "YCC": "YES",
        "PROGRESSION": "LRCP", "RESOLUTIONS": str(levels + 1),
        # lower-case keys: rasterio maps them onto GDAL's block size (upper-case BLOCKXSIZE is dropped)
        "blockxsize": str(tile_x), "blockysize": str(tile_y),
        "CODEBLOCK_WIDTH": str(cb), "CODEBLOCK_HEIGHT": str(cb),
        "GMLJP2": "YES", "GeoJP2": "YES",
    }
    if prec is None:
        opts["PRECINCTS"] = ""  # one precinct per resolution, as Sen2Cor's preview
    else:
        # highest resolution first; the lowest resolution level gets half the size (as Sen2Cor's files)
        sizes = [prec] * levels + [max(prec // 2, 2)]
        opts["PRECINCTS"] = ",".join(f"{{{p},{p}}}" for p in sizes)
    return opts


def _profile(data: NDArray[np.generic], georef: Georef) -> dict[str, object]:
    count, rows, cols = data.shape
    return {"width": cols, "height": rows, "count": count, "dtype": data.dtype.name,
            "crs": georef.crs, "transform": georef.transform}


def _as_bands(data: NDArray[np.generic]) -> NDArray[np.generic]:
    a = np.asarray(data)
    if a.ndim == 2:
        a = a[np.newaxis]
    if a.ndim != 3:
        raise ValueError(f"image must be 2-D or (bands, rows, cols), got shape {a.shape}")
    return np.ascontiguousarray(a)


def jp2_stage_blocks(opts: dict[str, str]) -> dict[str, str]:
    """Block layout of the in-memory GeoTIFF a JPEG 2000 is encoded from: one block per JPEG 2000 tile.

    CreateCopy reads the source one JPEG 2000 tile at a time; from a striped GeoTIFF (one strip per row)
    each such read spans hundreds of strips, which GDAL's GeoTIFF driver splits over ``GDAL_NUM_THREADS``
    worker threads — pure overhead for uncompressed data (≈ 34 CPU-s of worker threads in a full-tile run
    when every image was staged so, docs/benchmarks.md, session 17).  With a block per tile every read is
    one block, on the calling thread.
    GeoTIFF blocks are multiples of 16 pixels; other tile sizes (small images, the preview) stay striped."""
    bx, by = int(opts["blockxsize"]), int(opts["blockysize"])
    if bx % GTIFF_BLOCK_MULTIPLE or by % GTIFF_BLOCK_MULTIPLE:
        return {}
    return {"TILED": "YES", "blockxsize": str(bx), "blockysize": str(by)}


def _open_array(a: NDArray[np.generic], georef: Georef) -> rasterio.io.DatasetWriter | None:
    """A GDAL MEM dataset over the memory of ``a`` (``(bands, rows, cols)``, C-contiguous; no copy), or None
    where the MEM driver cannot carry ``georef`` (a CRS that is not a plain authority code, a GDAL without
    the open string's georeferencing options).  ``a`` must outlive the dataset."""
    gdal_type = MEM_DATA_TYPES.get(a.dtype.name)
    if gdal_type is None or "," in georef.crs or not a.flags.c_contiguous:
        return None
    bands, rows, cols = a.shape
    t = georef.transform
    name = (f"MEM:::DATAPOINTER={a.ctypes.data},PIXELS={cols},LINES={rows},BANDS={bands},DATATYPE={gdal_type},"
            f"PIXELOFFSET={a.itemsize},LINEOFFSET={cols * a.itemsize},BANDOFFSET={rows * cols * a.itemsize},"
            f"GEOTRANSFORM={t.c!r}/{t.a!r}/{t.b!r}/{t.f!r}/{t.d!r}/{t.e!r},SPATIALREFERENCE={georef.crs}")
    try:
        with rasterio.Env(GDAL_MEM_ENABLE_OPEN="YES"):  # GDAL ≥ 3.10 opens MEM:::DATAPOINTER only when told
            src = rasterio.open(name, "r+")
    except rasterio.errors.RasterioIOError:
        return None
    try:
        if bands == len(RGB) and a.dtype == np.uint8:
            src.colorinterp = RGB  # a true-colour image: an sRGB JPEG 2000, as from a GeoTIFF source
        if src.transform == t and src.crs == CRS.from_user_input(georef.crs):
            return src
    except BaseException:
        src.close()
        raise
    src.close()
    return None


def write_jp2(path: Path, data: NDArray[np.generic], georef: Georef, resolution: int | None,
              threads: int = 1) -> Path:
    """Write a lossless JPEG 2000 with Sen2Cor's layout for ``resolution`` (None: preview)."""
    a = _as_bands(data)
    layout = JP2_LAYOUT.get(resolution) if resolution is not None else None
    opts = jp2_creation_options(a.shape[1:], layout)
    # Encoded with CreateCopy through rasterio.shutil.copy, which releases the GIL while OpenJPEG works (a
    # dataset opened in "w" mode encodes on close holding it), so that several images encode at once on
    # several cores (EncoderPool).  The source is a MEM dataset over the array itself (a 20 m band: ≈ 8 MB
    # besides the image while it is encoded, ≈ 108 MB from a staged copy), else the array staged in an
    # in-memory GeoTIFF.
    with rasterio.Env(GDAL_NUM_THREADS=str(max(1, threads)), GDAL_PAM_ENABLED="NO"):
        src = _open_array(a, georef)
        if src is not None:
            with src:
                rasterio.shutil.copy(src, path, driver="JP2OpenJPEG", **opts)
            return path
        with MemoryFile() as mem:
            with mem.open(driver="GTiff", **_profile(a, georef), **jp2_stage_blocks(opts)) as stage:
                stage.write(a)
            with mem.open() as staged:
                rasterio.shutil.copy(staged, path, driver="JP2OpenJPEG", **opts)
    return path


def write_gtiff(path: Path, data: NDArray[np.generic], georef: Georef, threads: int = 1) -> Path:
    """Write a tiled, losslessly compressed GeoTIFF (``--tif``)."""
    a = _as_bands(data)
    with rasterio.Env(GDAL_NUM_THREADS=str(max(1, threads)), GDAL_PAM_ENABLED="NO"):
        with rasterio.open(path, "w", driver="GTiff", **_profile(a, georef), **GTIFF_OPTIONS,
                           NUM_THREADS=str(max(1, threads))) as dst:
            dst.write(a)
    return path


def write_cog(path: Path, data: NDArray[np.generic], georef: Georef, resolution: int,
              threads: int = 1) -> Path:
    """Write a Cloud-Optimized GeoTIFF with mode overviews (``--sc_cog``, facts §9)."""
    a = _as_bands(data)
    factors = [f for f in COG_OVERVIEW_FACTORS.get(resolution, ()) if f < min(a.shape[1:])]
    tmp = path.with_name(path.name + ".ovr-src.tif")
    try:
        with rasterio.Env(GDAL_NUM_THREADS=str(max(1, threads)), GDAL_PAM_ENABLED="NO"):
            with rasterio.open(tmp, "w", driver="GTiff", **_profile(a, georef), TILED="YES",
                               COMPRESS="LZW") as dst:
                dst.write(a)
                if factors:
                    dst.build_overviews(factors, Resampling.mode)
            rasterio.shutil.copy(tmp, path, driver="COG", COMPRESS="LZW", BLOCKSIZE=str(COG_BLOCKSIZE),
                                 OVERVIEWS="FORCE_USE_EXISTING" if factors else "NONE",
                                 NUM_THREADS=str(max(1, threads)))
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_envi(path: Path, data: NDArray[np.generic], georef: Georef) -> Path:
    """Write ENVI raw data (``path``, usually ``.raw``) plus its ``.hdr`` header (``--raw``)."""
    a = _as_bands(data)
    with rasterio.Env(GDAL_PAM_ENABLED="NO"):
        with rasterio.open(path, "w", driver="ENVI", **_profile(a, georef)) as dst:
            dst.write(a)
    return path


def write_image(path: Path, data: NDArray[np.generic], georef: Georef, *, fmt: str,
                resolution: int | None, threads: int = 1, cog: bool = False) -> Path:
    """Write one product image in the product's format.

    Parameters
    ----------
    path:
        Target file; its extension must match ``fmt`` (``.jp2``/``.tif``/``.raw``).
    data:
        ``(rows, cols)`` or ``(bands, rows, cols)`` integer array.
    georef:
        CRS and transform.
    fmt:
        ``JP2``, ``TIF`` or ``RAW``.
    resolution:
        Selects the JPEG 2000 layout; None for the preview.
    threads:
        Encoder threads.
    cog:
        Write a COG (SCL with ``--sc_cog``) regardless of ``fmt``.
    """
    logger.debug("writing %s", path.name)
    if cog:
        return write_cog(path, data, georef, resolution or 20, threads)
    if fmt == "JP2":
        return write_jp2(path, data, georef, resolution, threads)
    if fmt == "TIF":
        return write_gtiff(path, data, georef, threads)
    if fmt == "RAW":
        return write_envi(path, data, georef)
    raise ConfigError(f"unknown output format {fmt!r}; expected JP2, TIF or RAW")


def read_image(path: Path) -> NDArray[np.generic]:
    """Read all bands of an image: ``(rows, cols)`` for one band, else ``(bands, rows, cols)``."""
    with rasterio.open(path) as src:
        a = src.read()
    return a[0] if a.shape[0] == 1 else a


def read_georef(path: Path) -> Georef:
    """CRS (``EPSG:<code>``) and transform of an image."""
    with rasterio.open(path) as src:
        epsg = src.crs.to_epsg() if src.crs else None
        return Georef(f"EPSG:{epsg}" if epsg else str(src.crs), src.transform)
