"""DEM tile catalogue: which DEM product, which tile files cover a Sentinel-2 tile, and their names.

Part of the DEM preparation of :mod:`sen2cor.io.dem` (user manual §2.2.8, facts §2.1, release note
SIIMPC-611 on SRTM tile ids).  Naming rules:

* CGIAR SRTM v4 (5°×5°): ``srtm_XX_YY.tif`` with XX = 1…72 counted from 180°W and YY = 1…24 counted from
  60°N; downloads are ``srtm_XX_YY.zip``;
* PlanetDEM DTED (1°×1°): ``eXXX_nYY.dt1`` (``w``/``s`` west/south, ``.dt2`` for level 2), named by the
  south-west corner;
* Copernicus DEM (1°×1°): ``Copernicus_DSM_{10|30}_N47_00_E008_00_DEM.tif`` (10 = 1" GLO-30, 30 = 3"
  GLO-90), from ``….tar`` on ESA PRISM/CDSE, or ``Copernicus_DSM_COG_{10|30}_…_DEM.tif`` on AWS.

Public API: :class:`DemKind`, :func:`dem_kind`, :func:`tile_footprint_lonlat`, :func:`required_tiles`,
:func:`find_local_tile`, :func:`missing_copernicus_tiles`, :class:`DemCoverageError`.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Final

from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds

from sen2cor.errors import AuxDataError
from sen2cor.grid import TileGrid
from sen2cor.io import dem_download

log = logging.getLogger(__name__)

NONE_VALUES: Final[frozenset[str]] = frozenset({"", "NONE"})
"""GIPP spellings of "not configured" for ``DEM_Directory``/``DEM_Reference``."""

SRTM_TILE_DEG: Final[float] = 5.0
"""CGIAR SRTM v4 tile size, degrees."""
SRTM_LAT_MAX_DEG: Final[float] = 60.0
"""CGIAR SRTM covers 60°S–60°N (24 tile rows of 5°)."""
SRTM_COLUMNS: Final[int] = 72
SRTM_ROWS: Final[int] = 24
SRTM_NODATA: Final[int] = -32768
"""CGIAR SRTM sea / void value, replaced by 0 m (SIIMPC-550)."""
ONE_DEG_TILE: Final[float] = 1.0
"""DTED and Copernicus DEM tile size, degrees."""

TILE_MARGIN_DEG: Final[float] = 0.01
"""Extra border (≈1 km) around the tile footprint so that the cubic-spline warp has neighbours at the
tile edges; Sen2Cor's SRTM tile-index rounding adds about 0.05° (SIIMPC-611)."""

_DTED_RE: Final[re.Pattern[str]] = re.compile(r"^[ew]\d{3}_[ns]\d{2}\.dt[012]$", re.IGNORECASE)
_SRTM_RE: Final[re.Pattern[str]] = re.compile(r"^srtm_\d{2}_\d{2}\.tif$", re.IGNORECASE)
_COP_RE: Final[re.Pattern[str]] = re.compile(
    r"Copernicus_DSM_(?:COG_)?(10|30)_([NS])(\d{2})_00_([EW])(\d{3})_00", re.IGNORECASE
)


class DemCoverageError(AuxDataError):
    """The configured DEM product has no tile for this area (e.g. SRTM beyond 60°N/56°S).

    Sen2Cor reports this as "not available" and continues flat even with ``Force_Exit_On_DEM_Error``.
    """


class DemKind(Enum):
    """The DEM products Sen2Cor 2.11 knows."""

    SRTM = "SRTM"
    DTED = "DTED"
    COPERNICUS = "COPERNICUS"
    AWS_COPERNICUS = "AWS_COPERNICUS"


@dataclass(frozen=True)
class DemTile:
    """One DEM file needed for the tile."""

    name: str
    """File name in the DEM directory."""
    west: float
    """Western edge in the (possibly unwrapped) longitude range of the footprint, degrees."""
    south: float
    remote_path: str | None = None
    """Path below ``DEM_Reference`` to download it from (``None``: not downloadable)."""
    archive: dem_download.ArchiveKind = "tif"
    optional: bool = False
    """True when the tile only covers the safety margin; its absence is not an error."""


def dem_kind(directory: Path, dem_reference: str | None) -> tuple[DemKind, bool]:
    """The DEM kind and whether it is a 1" (30 m) product, by Sen2Cor's rules (module docstring)."""
    names = listdir_lower(directory)
    if any(_DTED_RE.match(n) for n in names):
        return DemKind.DTED, any(n.lower().endswith(".dt2") for n in names)
    if (dem_reference or "").strip().upper() not in NONE_VALUES:
        return kind_from_reference(dem_reference)
    if any(_SRTM_RE.match(n) for n in names):
        return DemKind.SRTM, False
    cop = [m for n in names if (m := _COP_RE.search(n)) and n.lower().endswith(".tif")]
    if cop:
        kind = (
            DemKind.AWS_COPERNICUS if any("_COG_" in m.group(0).upper() for m in cop) else DemKind.COPERNICUS
        )
        return kind, any(m.group(1) == "10" for m in cop)
    raise AuxDataError(
        f"{directory}: DEM_Reference is NONE and the DEM directory holds no SRTM, DTED or "
        "Copernicus DEM tiles"
    )


def tile_footprint_lonlat(grid: TileGrid, resolution: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the tile in degrees; east > 180 when it crosses the antimeridian."""
    try:
        west, south, east, north = transform_bounds(
            grid.crs, "EPSG:4326", *grid.bounds(resolution), densify_pts=51
        )
    except RasterioError as exc:
        raise AuxDataError(f"cannot compute the geographic footprint of {grid.crs} tile: {exc}") from None
    if west > east:  # GDAL signals an antimeridian crossing this way
        east += 360.0
    return west, south, east, north


def required_tiles(
    kind: DemKind, arcsec_30: bool, footprint: tuple[float, float, float, float]
) -> list[DemTile]:
    """The DEM tiles covering ``footprint`` plus :data:`TILE_MARGIN_DEG`.

    Raises
    ------
    DemCoverageError
        SRTM beyond ±60° latitude.
    """
    west, south, east, north = footprint
    m = TILE_MARGIN_DEG
    tiles: list[DemTile] = []
    if kind is DemKind.SRTM:
        if north > SRTM_LAT_MAX_DEG or south < -SRTM_LAT_MAX_DEG:
            raise DemCoverageError(
                f"SRTM covers {SRTM_LAT_MAX_DEG:.0f}°S–{SRTM_LAT_MAX_DEG:.0f}°N; "
                f"the tile spans {south:.2f}…{north:.2f}°"
            )
        core_cols = _cells(west, east, SRTM_TILE_DEG, -180.0)
        core_rows = _cells(SRTM_LAT_MAX_DEG - north, SRTM_LAT_MAX_DEG - south, SRTM_TILE_DEG, 0.0)
        for k in _cells(west - m, east + m, SRTM_TILE_DEG, -180.0):
            for j in _cells(SRTM_LAT_MAX_DEG - north - m, SRTM_LAT_MAX_DEG - south + m, SRTM_TILE_DEG, 0.0):
                if not 0 <= j < SRTM_ROWS:
                    continue
                name = f"srtm_{k % SRTM_COLUMNS + 1:02d}_{j + 1:02d}"
                tiles.append(
                    DemTile(
                        name=f"{name}.tif",
                        west=-180.0 + SRTM_TILE_DEG * k,
                        south=SRTM_LAT_MAX_DEG - SRTM_TILE_DEG * (j + 1),
                        remote_path=f"{name}.zip",
                        archive="zip",
                        optional=k not in core_cols or j not in core_rows,
                    )
                )
        return tiles
    core_lons = _cells(west, east, ONE_DEG_TILE, 0.0)
    core_lats = _cells(south, north, ONE_DEG_TILE, 0.0)
    for lon in _cells(west - m, east + m, ONE_DEG_TILE, 0.0):
        for lat in _cells(south - m, north + m, ONE_DEG_TILE, 0.0):
            if not -90 <= lat < 90:
                continue
            wrapped = (lon + 180) % 360 - 180
            ew, ns = ("E" if wrapped >= 0 else "W"), ("N" if lat >= 0 else "S")
            optional = lon not in core_lons or lat not in core_lats
            if kind is DemKind.DTED:
                name = (
                    f"{ew.lower()}{abs(wrapped):03d}_{ns.lower()}{abs(lat):02d}.dt{'2' if arcsec_30 else '1'}"
                )
                tiles.append(DemTile(name, float(lon), float(lat), None, "tif", optional))
                continue
            res = "10" if arcsec_30 else "30"
            stem = f"{ns}{abs(lat):02d}_00_{ew}{abs(wrapped):03d}_00"
            if kind is DemKind.AWS_COPERNICUS:
                name = f"Copernicus_DSM_COG_{res}_{stem}_DEM.tif"
                remote = f"{name[:-4]}/{name}"
                tiles.append(DemTile(name, float(lon), float(lat), remote, "tif", optional))
            else:
                name = f"Copernicus_DSM_{res}_{stem}_DEM.tif"
                tiles.append(
                    DemTile(name, float(lon), float(lat), f"Copernicus_DSM_{res}_{stem}.tar", "tar", optional)
                )
    return tiles


def _cells(lo: float, hi: float, size: float, origin: float) -> range:
    """Indices ``k`` of the cells ``[origin + k·size, origin + (k+1)·size)`` meeting ``[lo, hi]``."""
    first = math.floor((lo - origin) / size)
    last = math.ceil((hi - origin) / size) - 1
    return range(first, max(first, last) + 1)


def kind_from_reference(dem_reference: str | None) -> tuple[DemKind, bool]:
    """DEM kind and 1" flag from ``DEM_Reference`` alone: "srtm" → SRTM, "aws" → AWS Copernicus ("dem-30m"
    → 30 m), anything else → Copernicus from ESA PRISM/CDSE ("GLO-30" → 30 m)."""
    ref = (dem_reference or "").strip()
    low = ref.lower()
    if "srtm" in low:
        return DemKind.SRTM, False
    if "aws" in low:
        return DemKind.AWS_COPERNICUS, "dem-30m" in low
    return DemKind.COPERNICUS, "GLO-30" in ref.upper()


def listdir_lower(directory: Path) -> dict[str, str]:
    """Lower-case name → real name of the files in ``directory`` (empty if it does not exist)."""
    try:
        return {p.name.lower(): p.name for p in directory.iterdir()}
    except OSError:
        return {}


def find_local_tile(directory: Path, names: dict[str, str], name: str) -> Path | None:
    real = names.get(name.lower())
    if real is not None and (directory / real).is_file():
        return directory / real
    stem = name[:-4] if name.lower().endswith(".tif") else name
    nested = directory / stem / name  # AWS bucket layout: <stem>/<stem>.tif
    if nested.is_file():
        return nested
    if name.startswith("Copernicus_DSM_") and "_COG_" not in name:  # CDSE tar layout: <stem>/DEM/<name>
        alt = directory / name.replace("_DEM.tif", "") / "DEM" / name
        if alt.is_file():
            return alt
    return None


def copernicus_key(name: str) -> tuple[str, str, str] | None:
    m = _COP_RE.search(name)
    if m is None:
        return None
    return m.group(1), f"{m.group(2).upper()}{m.group(3)}", f"{m.group(4).upper()}{m.group(5)}"


def missing_copernicus_tiles(aux_dir: Path | None, arcsec_30: bool) -> set[tuple[str, str, str] | None]:
    """Keys of the ocean tiles listed in ``CopernicusDEM_{30|90}_TIFF_missing_tiles.list`` (if present)."""
    if aux_dir is None:
        return set()
    path = Path(aux_dir) / f"CopernicusDEM_{'30' if arcsec_30 else '90'}_TIFF_missing_tiles.list"
    if not path.is_file():
        log.info("%s not present: every Copernicus DEM tile is expected to exist", path)
        return set()
    keys = set()
    for line in path.read_text(errors="replace").splitlines():
        key = copernicus_key(line)
        if key is not None:
            keys.add(key)
    return keys
