"""ESA-CCI land-cover auxiliary maps and the global snow climatology, warped to the tile grid.

Sen2Cor's scene classification uses four global maps named in ``L2A_CAL_SC_GIPP.xml``
``Scene_Classification/References`` (facts §2.2) and installed in ``$SEN2COR_BIN/aux_data`` (user manual
§3.1.2, "ESACCI-LC for Sen2Cor data package"):

=========  =================================================  ==========================================
layer      default file                                       values used (facts §5 item 3, §6)
=========  =================================================  ==========================================
WBI        ``ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif``    1 land, **2 water**, 0 no data
LCM        ``ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif`` LCCS classes: **190 urban**, **200–202 bare**,
                                                              **210 water**, 0 no data
SNC        ``ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-   monthly snow occurrence: **0 no snow**,
           v2.4/…-AggOcc-500m-MONTHLY-2000-2012-2000MMDD-     1–100 %, **254 water**, **255 no data**;
           2.4.tif`` (one file per month)                     the file of the acquisition month is used
snow map   ``GlobalSnowMap.tiff`` (7200×3600, 20 px/°,        > 0 = snow possible; SC's snow branch runs
           row 0 at 90°N)                                     only if the tile's box has snow (or no map)
=========  =================================================  ==========================================

Every map is warped to the tile grid with nearest-neighbour resampling (categorical data; Sen2Cor 3.x
uses cubic spline for the water-body map, which only blurs its class edges).  A missing file is
reported once per :class:`EsaCciAux` (a log warning and a :class:`~sen2cor.errors.FallbackWarning`:
the dependent SC steps are skipped) and its layer is ``None``.  Sen2Cor also requires a DEM before it uses
the ESA-CCI information (user manual §3.1.2); that rule belongs to the pipeline.

Public API::

    aux = EsaCciAux(aux_dir)                       # locate the files, report absent ones once
    maps = aux.maps(grid, resolution, month)       # -> EsaCciMaps (arrays or None per layer)
    aux.snow_possible(grid)                        # climatology test of facts §6.1 step 3
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.warp import Resampling
from rasterio.windows import Window

from sen2cor.errors import AuxDataError, FallbackWarning
from sen2cor.grid import TileGrid
from sen2cor.io.dem import WRAPPED_LONLAT, tile_footprint_lonlat, warp_array_to_grid

log = logging.getLogger(__name__)

SNOW_MAP_FILE: Final[str] = "GlobalSnowMap.tiff"
"""``Snow_Map`` reference of ``L2A_CAL_SC_GIPP.xml`` (facts §2.2)."""
WATER_BODIES_FILE: Final[str] = "ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif"
"""``ESACCI_WaterBodies_Map`` reference (facts §2.2)."""
LAND_COVER_FILE: Final[str] = "ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif"
"""``ESACCI_LandCover_Map`` reference (facts §2.2)."""
SNOW_CONDITION_DIR: Final[str] = "ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4"
"""``ESACCI_SnowCondition_Map_Dir`` reference (facts §2.2; Sen2Cor 2.8 used a weekly product)."""

SNOW_CONDITION_MONTH_RE: Final[re.Pattern[str]] = re.compile(
    r"^ESACCI-LC-L4-Snow-Cond-AggOcc-500m-MONTHLY-2000-2012-2000(\d{2})\d{2}-2\.4\.tif$", re.IGNORECASE
)
"""Monthly snow-condition file name; the two digits after ``2000`` are the month.  Sen2Cor picks the
``month``-th file of the sorted listing, the same file when all twelve are present."""

WBI_WATER: Final[int] = 2
"""Water in the CCI water-bodies map (facts §5 item 3)."""
LCM_URBAN: Final[int] = 190
LCM_BARE: Final[tuple[int, int, int]] = (200, 201, 202)
LCM_WATER: Final[int] = 210
SNC_NO_SNOW: Final[int] = 0
SNC_WATER: Final[int] = 254
SNC_NO_DATA: Final[int] = 255

FILL_VALUES: Final[dict[str, int]] = {
    "water_bodies": 0,
    "land_cover": 0,
    "snow_condition": SNC_NO_DATA,
    "snow_map": 0,
}
"""Value given to tile pixels outside a map's coverage (each map's own no-data code)."""

WINDOW_MARGIN_DEG: Final[float] = 0.02
"""Border read around the tile footprint so that every output pixel finds its source pixel."""


@dataclass(frozen=True)
class EsaCciMaps:
    """The auxiliary layers of one tile at one resolution (``None`` where the file is absent)."""

    water_bodies: NDArray[np.uint8] | None = field(default=None, repr=False)
    """WBI: 2 = water."""
    land_cover: NDArray[np.uint8] | None = field(default=None, repr=False)
    """LCM: LCCS classes."""
    snow_condition: NDArray[np.uint8] | None = field(default=None, repr=False)
    """SNC of the acquisition month."""
    snow_map: NDArray[np.uint8] | None = field(default=None, repr=False)
    """Global snow climatology, > 0 where snow is possible."""
    files: tuple[str, ...] = ()
    """Base names of the files used (``Auxiliary_Data_Info`` of the L2A metadata)."""


class EsaCciAux:
    """The ESA-CCI / snow-climatology files of one ``aux_data`` folder.

    Parameters
    ----------
    aux_dir:
        Folder holding the maps (Sen2Cor: ``$SEN2COR_BIN/aux_data``); ``None`` = none available.
    snow_map, water_bodies, land_cover, snow_condition_dir:
        File/folder names from ``L2A_CAL_SC_GIPP.xml`` ``References`` (defaults: the 2.11 values).
    """

    def __init__(
        self,
        aux_dir: Path | None,
        *,
        snow_map: str = SNOW_MAP_FILE,
        water_bodies: str = WATER_BODIES_FILE,
        land_cover: str = LAND_COVER_FILE,
        snow_condition_dir: str = SNOW_CONDITION_DIR,
    ) -> None:
        self._reported: set[str] = set()
        base = Path(aux_dir) if aux_dir is not None else None
        self.snow_map_file = self._find(base, snow_map, "global snow map: SC runs its snow branch everywhere")
        self.water_bodies_file = self._find(
            base, water_bodies, "ESA-CCI water bodies: CCI water recovery skipped"
        )
        self.land_cover_file = self._find(
            base, land_cover, "ESA-CCI land cover: urban/bare recoveries skipped"
        )
        self.snow_condition_dir = base / snow_condition_dir if base is not None else None
        self._monthly: dict[int, Path] = {}
        if self.snow_condition_dir is not None and self.snow_condition_dir.is_dir():
            for p in sorted(self.snow_condition_dir.iterdir()):
                m = SNOW_CONDITION_MONTH_RE.match(p.name)
                if m and p.is_file():
                    self._monthly.setdefault(int(m.group(1)), p)
        else:
            self._report(
                str(self.snow_condition_dir or snow_condition_dir),
                "ESA-CCI snow condition folder: CCI snow checks skipped",
            )

    def _find(self, base: Path | None, name: str, consequence: str) -> Path | None:
        path = base / name if base is not None else None
        if path is not None and path.is_file():
            return path
        self._report(str(path or name), consequence)
        return None

    def _report(self, what: str, consequence: str) -> None:
        if what in self._reported:
            return
        self._reported.add(what)
        message = f"{what} not found ({consequence})"
        log.warning("%s", message)
        warnings.warn(message, FallbackWarning, stacklevel=3)

    def snow_condition_file(self, month: int) -> Path | None:
        """The monthly snow-condition file of ``month`` (1–12), or ``None`` (reported once)."""
        if not 1 <= int(month) <= 12:
            raise ValueError(f"month must be 1..12, got {month!r}")
        path = self._monthly.get(int(month))
        if path is None and self.snow_condition_dir is not None and self.snow_condition_dir.is_dir():
            self._report(
                f"{self.snow_condition_dir}/…-2000{int(month):02d}??-2.4.tif",
                "ESA-CCI snow condition of this month: CCI snow checks skipped",
            )
        return path

    def maps(self, grid: TileGrid, resolution: int, month: int) -> EsaCciMaps:
        """All available layers warped (nearest) to ``grid`` at ``resolution``.

        Raises
        ------
        AuxDataError
            A present file cannot be read.
        """
        footprint = tile_footprint_lonlat(grid, resolution)
        layers: dict[str, NDArray[np.uint8] | None] = {}
        used: list[str] = []
        for key, path in (
            ("water_bodies", self.water_bodies_file),
            ("land_cover", self.land_cover_file),
            ("snow_condition", self.snow_condition_file(month)),
            ("snow_map", self.snow_map_file),
        ):
            if path is None:
                layers[key] = None
                continue
            data, transform, crs = _read_lonlat_window(path, footprint)
            if data.size == 0:  # the map does not reach the tile
                layers[key] = np.full(grid.shape(resolution), FILL_VALUES[key], dtype=np.uint8)
                continue
            warped = warp_array_to_grid(
                data,
                transform,
                crs,
                grid,
                resolution,
                Resampling.nearest,
                src_nodata=None,
                dst_nodata=FILL_VALUES[key],
            )
            layers[key] = warped.astype(np.uint8, copy=False)
            used.append(path.name)
            log.info("%s warped to the tile at %d m", path.name, resolution)
        return EsaCciMaps(**layers, files=tuple(used))

    def snow_possible(self, grid: TileGrid) -> bool:
        """True when the snow climatology has snow (> 0) in the tile's lon/lat box, or no map exists.

        Sen2Cor's snow branch runs only in that case (facts §6.1 step 3).
        """
        if self.snow_map_file is None:
            return True
        resolution = min(grid.sizes)
        data, _, _ = _read_lonlat_window(
            self.snow_map_file, tile_footprint_lonlat(grid, resolution), margin=0.0
        )
        return bool(np.any(data > 0))


def _georeferencing(ds: rasterio.DatasetReader) -> tuple[Affine, CRS]:
    """The file's geographic transform.

    A plain TIFF without georeferencing (GlobalSnowMap.tiff) is taken as global: 180°W–180°E, 90°N–90°S.
    """
    if ds.crs is None or ds.transform == Affine.identity():
        return Affine(360.0 / ds.width, 0.0, -180.0, 0.0, -180.0 / ds.height, 90.0), CRS.from_epsg(4326)
    if not ds.crs.is_geographic:
        raise AuxDataError(f"{ds.name}: expected a geographic (lon/lat) map, found {ds.crs}")
    return ds.transform, ds.crs


def _read_lonlat_window(
    path: Path, footprint: tuple[float, float, float, float], *, margin: float = WINDOW_MARGIN_DEG
) -> tuple[NDArray, Affine, CRS]:
    """The part of a global lon/lat map covering ``footprint`` (two pieces joined at the antimeridian)."""
    west, south, east, north = footprint
    try:
        with warnings.catch_warnings():  # GlobalSnowMap.tiff is a plain TIFF: georeferenced below
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(path)
        with ds:
            transform, crs = _georeferencing(ds)
            if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
                raise AuxDataError(f"{path}: expected a north-up lon/lat grid, found {transform}")
            row0 = max(math.floor((transform.f - (north + margin)) / -transform.e), 0)
            row1 = min(math.ceil((transform.f - (south - margin)) / -transform.e), ds.height)
            spans = [(west - margin, east + margin)]
            if east + margin > 180.0:
                spans = [(west - margin, 180.0), (-180.0, east + margin - 360.0)]
            parts = []
            for lo, hi in spans:
                col0 = max(math.floor((lo - transform.c) / transform.a), 0)
                col1 = min(math.ceil((hi - transform.c) / transform.a), ds.width)
                if col1 <= col0 or row1 <= row0:
                    parts.append((col0, np.zeros((max(row1 - row0, 0), 0), dtype=ds.dtypes[0])))
                    continue
                parts.append((col0, ds.read(1, window=Window(col0, row0, col1 - col0, row1 - row0))))
    except RasterioError as exc:
        raise AuxDataError(f"{path}: cannot read auxiliary map ({exc})") from None
    col0 = parts[0][0]
    data = np.hstack([p for _, p in parts]) if len(parts) > 1 else parts[0][1]
    window_transform = Affine(
        transform.a, 0.0, transform.c + col0 * transform.a, 0.0, transform.e, transform.f + row0 * transform.e
    )
    return data, window_transform, (WRAPPED_LONLAT if len(parts) > 1 else crs)
