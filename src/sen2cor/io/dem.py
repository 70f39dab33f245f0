"""Digital elevation model for a tile: find or download the DEM tiles, mosaic them, warp to the tile grid.

Sen2Cor 2.11 semantics of ``DEM_Directory``/``DEM_Reference`` (user manual §2.2.8, facts §2.1, release
notes SIIMPC-550/577/611/702), re-implemented with rasterio:

* ``DEM_Directory`` NONE → no DEM: flat terrain at the GIPP ``Altitude``, no DEM output.  A relative
  directory is taken inside ``$SEN2COR_HOME``.
* The DEM kind is chosen as Sen2Cor does: PlanetDEM **DTED** when the directory holds ``eXXX_nYY.dt1``-like
  files (1°×1°, named by their south-west corner); otherwise CGIAR **SRTM** when ``DEM_Reference`` contains
  "srtm" (5°×5° ``srtm_XX_YY.tif``, XX = 1…72 from 180°W, YY = 1…24 from 60°N); **AWS Copernicus** when it
  contains "aws" (``Copernicus_DSM_COG_{10|30}_N47_00_E008_00_DEM.tif``, 30 m if it contains "dem-30m");
  else **Copernicus DEM** from ESA PRISM/CDSE (``Copernicus_DSM_{10|30}_…_DEM.tif`` from
  ``….tar``, 30 m if it contains "GLO-30"; ``CDSE-GLO-30``/``CDSE-GLO-90`` mean pre-downloaded tiles).
  With ``DEM_Reference`` NONE the kind is inferred from the tiles present (a deliberate extension:
  Sen2Cor would fail).
* Which tiles cover the footprint, and their names, come from :mod:`sen2cor.io.dem_tiles`.
* Tiles are used from the DEM directory first, otherwise downloaded from ``DEM_Reference`` by
  :func:`sen2cor.io.dem_download.fetch_dem_tile` (time-outs, checks, atomic write, lock file).
* CGIAR SRTM GeoTIFFs get Sen2Cor's half-pixel origin fix (SIIMPC-577: origin moved half a pixel to the
  south-west) when read; a tile already rewritten by Sen2Cor (origin one pixel west of the 5° line) is
  recognised and left as is, so DEM directories shared with Sen2Cor give the same result.  SRTM sea
  NoData (−32768), DTED voids and any declared NoData become 0 m before resampling (SIIMPC-550).
* The tiles are mosaicked on their own geographic grid (bilinear, as Sen2Cor's first ``gdalwarp``) and
  warped to the tile grid at 10/20/60 m with cubic-spline resampling (its second ``gdalwarp``); pixels
  outside every DEM tile are 0.  A DEM that is 0 everywhere counts as "no values" (Sen2Cor: flat).
* Tiles crossing the antimeridian are mosaicked in a longitude range wrapped at 180°.

Public API (used by the pipeline):

``prepare_dem(grid, resolution, *, dem_directory, dem_reference, home=None, force_exit_on_dem_error=False, …)
-> DemProducts | None``
    The Sen2Cor policy: ``None`` means flat terrain at ``Altitude``; on any DEM failure a
    :class:`~sen2cor.errors.FallbackWarning` is emitted and logged, or :class:`~sen2cor.errors.AuxDataError`
    raised when ``Force_Exit_On_DEM_Error`` is TRUE.
``load_dem(...) -> DemProducts``
    Same without the policy (raises :class:`~sen2cor.errors.AuxDataError`; :class:`DemCoverageError` when the
    DEM product does not cover the tile, which Sen2Cor treats as "not available" even with force-exit).
``locate_dem(...) -> DemSource`` and ``warp_dem(source, grid, resolution) -> DemProducts``
    The two halves, so a run warps the located tiles at several resolutions without searching again.
``dem_output_array(elevation) -> uint16``
    ``Generate_DEM_Output`` encoding: metres + 10000, 0 = no data (SIIMPC-551).
``flat_elevation(shape, altitude_km) -> float32``
    The no-DEM elevation plane.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.warp import Resampling, reproject
from rasterio.windows import Window

from sen2cor.errors import AuxDataError, FallbackWarning
from sen2cor.grid import TileGrid
from sen2cor.io import dem_download
from sen2cor.io.dem_tiles import (
    NONE_VALUES,
    SRTM_NODATA,
    SRTM_TILE_DEG,
    TILE_MARGIN_DEG,
    DemCoverageError,
    DemKind,
    copernicus_key,
    dem_kind,
    find_local_tile,
    kind_from_reference,
    listdir_lower,
    missing_copernicus_tiles,
    required_tiles,
    tile_footprint_lonlat,
)

log = logging.getLogger(__name__)

DEM_OUTPUT_OFFSET_M: Final[int] = 10000
"""Added to the DEM written by ``Generate_DEM_Output`` (unsigned JPEG 2000); user manual §2.2.8,
SIIMPC-551."""

KERNEL_PX: Final[int] = 3
"""Source pixels kept beyond the footprint margin: the cubic-spline kernel reaches 2 pixels."""

HALF_PIXEL_TOLERANCE: Final[float] = 0.05
"""Tolerance (pixels) when recognising the raw CGIAR origin (−0.5 px, +0.5 px from the 5° lines)."""

WARP_STRIP_M: Final[float] = 1280.0
"""Width (metres) of the output strips warped by one GDAL call (see :func:`warp_array_to_grid`).
Sen2Cor's single ``gdalwarp`` keeps GDAL's 0.125 px approximation error, i.e. up to ≈10 m of DEM
displacement (a deliberate, small difference)."""

WRAPPED_LONLAT: Final[CRS] = CRS.from_proj4("+proj=longlat +datum=WGS84 +lon_wrap=180 +no_defs")
"""Geographic CRS with longitudes in [0°, 360°), for tiles crossing the antimeridian."""


@dataclass(frozen=True)
class DemSource:
    """The located DEM tiles of one tile footprint (output of :func:`locate_dem`)."""

    kind: DemKind
    files: tuple[Path, ...]
    west_offsets: tuple[float, ...]
    """Longitude added to each file's georeferencing (360 for tiles east of the antimeridian)."""
    bounds: tuple[float, float, float, float]
    """Footprint (west, south, east, north) in degrees, east possibly > 180 at the antimeridian."""
    arcsec_30: bool = False
    """True for 1" products (DTED level 2, Copernicus GLO-30)."""

    @property
    def crosses_antimeridian(self) -> bool:
        return self.bounds[2] > 180.0

    @property
    def dem_type(self) -> str:
        """``AUX_DATA_QUALITY/DEM_TYPE`` of ``L2A_QUALITY.xml`` (facts §8)."""
        res = "30" if self.arcsec_30 else "90"
        return {
            DemKind.SRTM: "SRTM_90",
            DemKind.DTED: f"DTED_{res}",
            DemKind.COPERNICUS: f"CDSE_COPERNICUS_{res}",
            DemKind.AWS_COPERNICUS: f"AWS_COPERNICUS_{res}",
        }[self.kind]


@dataclass(frozen=True)
class DemProducts:
    """The DEM of one tile at one resolution."""

    elevation: NDArray[np.float32] = field(repr=False)
    """Height in metres on ``grid.shape(resolution)``; sea and areas outside the DEM are 0."""
    resolution: int
    dem_type: str
    source_files: tuple[str, ...]
    """Base names of the DEM tiles used (``AUX_DATA_FILES`` of the quality report)."""

    @property
    def mean_altitude_km(self) -> float:
        """``DEM_MEAN_ALTITUDE_KM`` of the quality report."""
        return float(np.mean(self.elevation, dtype=np.float64)) / 1000.0


# --------------------------------------------------------------------------------------------- policy


def prepare_dem(
    grid: TileGrid,
    resolution: int,
    *,
    dem_directory: str | Path | None,
    dem_reference: str | None,
    home: Path | None = None,
    force_exit_on_dem_error: bool = False,
    aux_dir: Path | None = None,
    allow_download: bool = True,
    timeout_s: float = dem_download.DEFAULT_TIMEOUT_S,
) -> DemProducts | None:
    """The DEM for ``grid`` at ``resolution`` with Sen2Cor's fallback policy ("flat_on_error").

    Parameters
    ----------
    grid, resolution:
        Tile grid and resolution (10, 20 or 60 m).
    dem_directory, dem_reference:
        GIPP ``DEM_Directory`` and ``DEM_Reference`` (``"NONE"``/``None`` = not set).
    home:
        ``$SEN2COR_HOME``, the base of a relative ``DEM_Directory``.
    force_exit_on_dem_error:
        GIPP ``Force_Exit_On_DEM_Error``: raise instead of falling back to flat terrain.
    aux_dir:
        Sen2Cor ``aux_data`` folder holding ``CopernicusDEM_{30|90}_TIFF_missing_tiles.list`` (ocean tiles).
    allow_download, timeout_s:
        Download switch and socket time-out.

    Returns
    -------
    DemProducts or None
        ``None`` means flat terrain at the GIPP ``Altitude`` (see :func:`flat_elevation`): either no
        DEM is configured (logged at INFO) or the DEM failed (FallbackWarning + WARNING log line).

    Raises
    ------
    AuxDataError
        The DEM failed and ``force_exit_on_dem_error`` is true.
    """
    directory = resolve_dem_directory(dem_directory, home)
    if directory is None:
        log.info("DEM_Directory is NONE: flat terrain is used and no DEM is exported")
        return None
    try:
        return load_dem(
            grid,
            resolution,
            dem_directory=directory,
            dem_reference=dem_reference,
            aux_dir=aux_dir,
            allow_download=allow_download,
            timeout_s=timeout_s,
        )
    except DemCoverageError as exc:
        _fallback(f"DEM not available for this tile ({exc}); continuing with a flat terrain")
        return None
    except AuxDataError as exc:
        if force_exit_on_dem_error:
            raise AuxDataError(f"{exc} (Force_Exit_On_DEM_Error is TRUE)") from exc
        _fallback(f"DEM error ({exc}); continuing with a flat terrain (Force_Exit_On_DEM_Error is FALSE)")
        return None


def _fallback(message: str) -> None:
    log.warning("%s", message)
    warnings.warn(message, FallbackWarning, stacklevel=3)


def load_dem(
    grid: TileGrid,
    resolution: int,
    *,
    dem_directory: str | Path,
    dem_reference: str | None,
    home: Path | None = None,
    aux_dir: Path | None = None,
    allow_download: bool = True,
    timeout_s: float = dem_download.DEFAULT_TIMEOUT_S,
) -> DemProducts:
    """Locate (download) and warp the DEM; raises :class:`AuxDataError` on any failure."""
    source = locate_dem(
        grid,
        resolution,
        dem_directory=dem_directory,
        dem_reference=dem_reference,
        home=home,
        aux_dir=aux_dir,
        allow_download=allow_download,
        timeout_s=timeout_s,
    )
    return warp_dem(source, grid, resolution)


def resolve_dem_directory(dem_directory: str | Path | None, home: Path | None = None) -> Path | None:
    """``DEM_Directory`` as a path (relative ones inside ``home``), or ``None`` for NONE."""
    if dem_directory is None or str(dem_directory).strip().upper() in NONE_VALUES:
        return None
    path = Path(str(dem_directory).strip()).expanduser()
    if not path.is_absolute() and home is not None:
        path = Path(home) / path
    return path


def dem_output_array(elevation: NDArray) -> NDArray[np.uint16]:
    """``Generate_DEM_Output`` encoding: rounded metres + 10000, clipped to 1…65535 (0 = no data)."""
    h = np.rint(np.asarray(elevation, dtype=np.float64)) + DEM_OUTPUT_OFFSET_M
    return np.clip(h, 1, np.iinfo(np.uint16).max).astype(np.uint16)


def flat_elevation(shape: tuple[int, int], altitude_km: float) -> NDArray[np.float32]:
    """Constant elevation (metres) of the GIPP ``Altitude`` used when there is no DEM (facts §7.1)."""
    return np.full(shape, float(altitude_km) * 1000.0, dtype=np.float32)


# --------------------------------------------------------------------------------------------- locate


def locate_dem(
    grid: TileGrid,
    resolution: int,
    *,
    dem_directory: str | Path,
    dem_reference: str | None,
    home: Path | None = None,
    aux_dir: Path | None = None,
    allow_download: bool = True,
    timeout_s: float = dem_download.DEFAULT_TIMEOUT_S,
) -> DemSource:
    """Find the DEM tiles of the tile footprint in the DEM directory, downloading missing ones.

    Raises
    ------
    AuxDataError
        A needed tile is neither present nor downloadable; :class:`DemCoverageError` when the DEM
        product does not cover the area.
    """
    directory = resolve_dem_directory(dem_directory, home)
    if directory is None:
        raise AuxDataError("DEM_Directory is NONE")
    if not directory.is_dir() and not _is_url(dem_reference):
        raise AuxDataError(
            f"{directory}: DEM directory does not exist and DEM_Reference is not a download address"
        )
    kind, arcsec_30 = (
        dem_kind(directory, dem_reference) if directory.is_dir() else kind_from_reference(dem_reference)
    )
    footprint = tile_footprint_lonlat(grid, resolution)
    needed = required_tiles(kind, arcsec_30, footprint)
    missing_list = (
        missing_copernicus_tiles(aux_dir, arcsec_30)
        if kind in (DemKind.COPERNICUS, DemKind.AWS_COPERNICUS)
        else set()
    )
    names = listdir_lower(directory) if directory.is_dir() else {}
    files: list[Path] = []
    offsets: list[float] = []
    for tile in needed:
        if kind is not DemKind.SRTM and copernicus_key(tile.name) in missing_list:
            log.debug("DEM tile %s is listed as missing (ocean): 0 m", tile.name)
            continue
        path = find_local_tile(directory, names, tile.name)
        if path is None and allow_download and tile.remote_path is not None and _is_url(dem_reference):
            url = _join_url(str(dem_reference), tile.remote_path)
            try:
                path = dem_download.fetch_dem_tile(
                    url, directory, tile.name, archive=tile.archive, timeout_s=timeout_s
                )
            except AuxDataError:
                if not tile.optional:
                    raise
                log.info("DEM margin tile %s could not be downloaded; the margin is left at 0 m", tile.name)
                continue
        if path is None:
            if tile.optional:
                continue
            how = (
                "and no DEM_Reference address to download it from"
                if tile.remote_path is None or not _is_url(dem_reference)
                else "(downloads disabled)"
            )
            raise AuxDataError(f"{directory}: DEM tile {tile.name} is missing {how}")
        files.append(path)
        # tiles east of the antimeridian are placed at +360° when the footprint is unwrapped there
        offsets.append(360.0 if tile.west >= 180.0 else 0.0)
    if not files:
        raise AuxDataError(
            f"{directory}: no DEM tile found for the footprint {tuple(round(v, 3) for v in footprint)}"
        )
    log.info("DEM %s: %s", kind.value, ", ".join(p.name for p in files))
    return DemSource(kind, tuple(files), tuple(offsets), footprint, arcsec_30)


def _is_url(reference: str | None) -> bool:
    return bool(reference) and str(reference).strip().lower().startswith(("http://", "https://"))


def _join_url(base: str, path: str) -> str:
    base = base.strip()
    return base + path if base.endswith("/") else f"{base}/{path}"


# --------------------------------------------------------------------------------------------- warp


def warp_dem(source: DemSource, grid: TileGrid, resolution: int) -> DemProducts:
    """Mosaic the located DEM tiles and warp them (cubic spline) onto ``grid`` at ``resolution``.

    Raises
    ------
    AuxDataError
        A DEM file is unreadable, the warp fails, or the result is 0 everywhere ("no values").
    """
    west, south, east, north = source.bounds
    margin = TILE_MARGIN_DEG
    bbox = (west - margin, south - margin, east + margin, north + margin)
    pieces = [
        _read_piece(path, off, source.kind, bbox)
        for path, off in zip(source.files, source.west_offsets, strict=True)
    ]
    pieces = [p for p in pieces if p is not None]
    if not pieces:
        raise AuxDataError(
            f"DEM tiles {', '.join(p.name for p in source.files)} do not overlap the tile footprint"
        )
    mosaic, mosaic_transform = _mosaic(pieces, bbox)
    src_crs = WRAPPED_LONLAT if source.crosses_antimeridian else CRS.from_epsg(4326)
    try:
        out = warp_array_to_grid(mosaic, mosaic_transform, src_crs, grid, resolution, Resampling.cubic_spline)
        out = out.astype(np.float32, copy=False)
    except RasterioError as exc:
        raise AuxDataError(f"warping the DEM to {grid.crs} at {resolution} m failed: {exc}") from None
    out[~np.isfinite(out)] = 0.0
    if not np.any(out):
        raise AuxDataError(
            f"DEM tiles {', '.join(p.name for p in source.files)} contain no values over the tile (all 0 m)"
        )
    return DemProducts(
        elevation=out,
        resolution=resolution,
        dem_type=source.dem_type,
        source_files=tuple(p.name for p in source.files),
    )


def warp_array_to_grid(
    data: NDArray,
    transform: Affine,
    crs: CRS | str,
    grid: TileGrid,
    resolution: int,
    resampling: Resampling,
    *,
    src_nodata: float | None = float("nan"),
    dst_nodata: float = float("nan"),
) -> NDArray:
    """Warp ``data`` onto ``grid`` at ``resolution`` (same dtype as ``data``; no data → ``dst_nodata``).

    GDAL's approximate transformer (0.125 source pixel, fixed in rasterio's ``reproject``) interpolates
    coordinates linearly along each output row, which displaces a 3" DEM by up to ≈10 m across a full
    tile.  The error grows with the square of the row length, so warping in strips of
    :data:`WARP_STRIP_M` metres keeps it below ≈1 m even near UTM zone edges, for a few more GDAL calls.
    """
    nrows, ncols = grid.shape(resolution)
    t = grid.transform(resolution)
    src = np.asarray(data)
    out = np.full((nrows, ncols), dst_nodata, dtype=src.dtype)
    step = max(int(WARP_STRIP_M // abs(t.a)), 16)
    for c0 in range(0, ncols, step):
        c1 = min(c0 + step, ncols)
        strip = np.full((nrows, c1 - c0), dst_nodata, dtype=src.dtype)
        reproject(
            source=src,
            destination=strip,
            src_transform=transform,
            src_crs=crs,
            src_nodata=src_nodata,
            dst_transform=t @ Affine.translation(c0, 0),
            dst_crs=grid.crs,
            dst_nodata=dst_nodata,
            resampling=resampling,
        )
        out[:, c0:c1] = strip
    return out


@dataclass(frozen=True)
class _Piece:
    data: NDArray[np.float32] = field(repr=False)
    transform: Affine
    name: str


def _read_piece(
    path: Path, lon_offset: float, kind: DemKind, bbox: tuple[float, float, float, float]
) -> _Piece | None:
    """The part of one DEM file inside ``bbox``: georeferencing fixed, NoData → 0 m, as float32."""
    try:
        with rasterio.open(path) as ds:
            transform = ds.transform
            if ds.crs is not None and not ds.crs.is_geographic:
                raise AuxDataError(f"{path}: DEM tile is not in geographic coordinates ({ds.crs})")
            if transform.b != 0.0 or transform.d != 0.0 or transform.a <= 0 or transform.e >= 0:
                raise AuxDataError(f"{path}: DEM tile is not a north-up geographic grid ({transform})")
            if kind is DemKind.SRTM:
                transform = srtm_origin_fix(transform, path.name)
            transform = Affine.translation(lon_offset, 0.0) @ transform
            w, s, e, n = bbox
            # pixel window of bbox plus the interpolation kernel reach, clipped to the file
            k = KERNEL_PX + 1
            col0 = max(math.floor((w - transform.c) / transform.a) - k, 0)
            col1 = min(math.ceil((e - transform.c) / transform.a) + k, ds.width)
            row0 = max(math.floor((transform.f - n) / -transform.e) - k, 0)
            row1 = min(math.ceil((transform.f - s) / -transform.e) + k, ds.height)
            if col1 <= col0 or row1 <= row0:
                return None
            window = Window(col0, row0, col1 - col0, row1 - row0)
            data = ds.read(1, window=window).astype(np.float32)
            nodata = ds.nodata
            piece_transform = Affine(
                transform.a,
                0.0,
                transform.c + col0 * transform.a,
                0.0,
                transform.e,
                transform.f + row0 * transform.e,
            )
    except RasterioError as exc:
        raise AuxDataError(f"{path}: cannot read DEM tile ({exc})") from None
    void = ~np.isfinite(data)
    if nodata is not None and np.isfinite(nodata):
        void |= data == np.float32(nodata)
    if kind is DemKind.SRTM:
        void |= data == SRTM_NODATA
    data[void] = 0.0
    return _Piece(data, piece_transform, path.name)


def srtm_origin_fix(transform: Affine, name: str = "") -> Affine:
    """Sen2Cor's SRTM half-pixel fix (SIIMPC-577): origin moved half a pixel west and half a pixel south.

    Applied only to the raw CGIAR georeferencing (origin −½ pixel west and +½ pixel north of a 5° line);
    a tile already rewritten by Sen2Cor (−1 pixel, 0 pixel) or any other origin is returned unchanged.
    """
    dx, dy = transform.a, -transform.e
    off_x = (transform.c - round(transform.c / SRTM_TILE_DEG) * SRTM_TILE_DEG) / dx
    off_y = (transform.f - round(transform.f / SRTM_TILE_DEG) * SRTM_TILE_DEG) / dy
    if abs(off_x + 0.5) < HALF_PIXEL_TOLERANCE and abs(off_y - 0.5) < HALF_PIXEL_TOLERANCE:
        log.debug("%s: raw CGIAR origin, applying the SIIMPC-577 half-pixel shift", name)
        return Affine(dx, 0.0, transform.c - dx / 2.0, 0.0, -dy, transform.f - dy / 2.0)
    return transform


def _mosaic(
    pieces: Iterable[_Piece], bbox: tuple[float, float, float, float]
) -> tuple[NDArray[np.float32], Affine]:
    """Place the pieces on one geographic grid aligned with the first piece (bilinear where not aligned)."""
    pieces = list(pieces)
    ref = pieces[0].transform
    dx = min(p.transform.a for p in pieces)
    dy = min(-p.transform.e for p in pieces)
    w, s, e, n = bbox
    w, s, e, n = w - KERNEL_PX * dx, s - KERNEL_PX * dy, e + KERNEL_PX * dx, n + KERNEL_PX * dy
    # grid aligned with the first piece's pixel lattice, covering bbox and the kernel reach
    x0 = ref.c + math.floor((w - ref.c) / dx) * dx
    y0 = ref.f - math.floor((ref.f - n) / dy) * dy
    ncols = int(math.ceil((e - x0) / dx)) + 1
    nrows = int(math.ceil((y0 - s) / dy)) + 1
    transform = Affine(dx, 0.0, x0, 0.0, -dy, y0)
    mosaic = np.full((nrows, ncols), np.nan, dtype=np.float32)
    for piece in pieces:
        col_f = (piece.transform.c - x0) / dx
        row_f = (y0 - piece.transform.f) / dy
        aligned = (
            abs(piece.transform.a - dx) < 1e-9 * dx
            and abs(-piece.transform.e - dy) < 1e-9 * dy
            and abs(col_f - round(col_f)) < 1e-3
            and abs(row_f - round(row_f)) < 1e-3
        )
        if aligned:
            c0, r0 = int(round(col_f)), int(round(row_f))
            h, wd = piece.data.shape
            rs, cs = max(r0, 0), max(c0, 0)
            re_, ce = min(r0 + h, nrows), min(c0 + wd, ncols)
            if re_ > rs and ce > cs:
                target = mosaic[rs:re_, cs:ce]
                src = piece.data[rs - r0 : re_ - r0, cs - c0 : ce - c0]
                fill = np.isnan(target)
                target[fill] = src[fill]
            continue
        temp = np.full_like(mosaic, np.nan)
        try:
            reproject(
                source=piece.data,
                destination=temp,
                src_transform=piece.transform,
                src_crs=WRAPPED_LONLAT,
                dst_transform=transform,
                dst_crs=WRAPPED_LONLAT,
                dst_nodata=np.nan,
                resampling=Resampling.bilinear,
            )
        except RasterioError as exc:
            raise AuxDataError(f"{piece.name}: mosaicking the DEM tile failed ({exc})") from None
        fill = np.isnan(mosaic) & np.isfinite(temp)
        mosaic[fill] = temp[fill]
    mosaic[np.isnan(mosaic)] = 0.0  # skipped ocean tiles and uncovered margins are sea level
    return mosaic, transform
