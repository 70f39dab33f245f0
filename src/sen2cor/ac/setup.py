"""Atmospheric-correction set-up: LUT choices, tile cells with their own sun geometry, terrain state.

* :func:`resolve_season`, :func:`resolve_ozone`, :func:`aerosol_candidates` turn the GIPP settings and the
  scene (latitude, date, ECMWF ozone) into the LUT selection (facts §4, §5 items 4–5);
* :func:`cell_grid` / :func:`cell_geometries` split the tile into 915 × 1830-pixel cells, each with the
  mean sun angles of its pixels and the tile-mean view angles (facts §7.2);
* :func:`prepare_terrain` builds the per-pixel elevation classes, quantised illumination cos β, sky-view
  factor and sunlit flag for flat or rugged terrain (facts §7.1).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sen2cor.ac.constants import (
    CELL_COLUMNS,
    CELL_ROWS,
    COS_BETA_FLOOR,
    COS_BETA_SCALE,
    ELEVATION_CLASS_M,
    LUT_TOP_ELEVATION_KM,
    MAX_ELEVATION_M,
    MAX_SOLAR_ZENITH_DEG,
    SKY_VIEW_SCALE,
)
from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.rt import Geometry
from sen2cor.errors import FallbackWarning
from sen2cor.physics import lut_selection
from sen2cor.sc.classes import SceneClass, class_mask

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]

DEFAULT_OZONE_DU: Final[float] = 331.0
"""Ozone assumed when neither the GIPP nor the ECMWF data give one (source ``OTHER``; facts §5 item 5)."""

FLAT_FOR_CLASSES: Final[tuple[int, ...]] = (
    SceneClass.NO_DATA,
    SceneClass.SATURATED_DEFECTIVE,
    SceneClass.MEDIUM_PROBA_CLOUDS,
    SceneClass.HIGH_PROBA_CLOUDS,
    SceneClass.THIN_CIRRUS,
)
"""Large blobs of these classes are treated as flat when DEM_Terrain_Correction is on (facts §7.1)."""

FLAT_BLOB_SIZE_M: Final[float] = 2000.0
"""Blobs larger than (2000 m / pixel)² pixels are flattened (facts §7.1)."""


# ------------------------------------------------------------------------------------------------ LUT choice
def resolve_season(params: AcParameters, latitude_deg: float, day_of_year: int, year: int = 2001) -> str:
    """Mid-latitude atmosphere for ``Mid_Latitude`` (AUTO from latitude and date; facts §5 item 4)."""
    return lut_selection.resolve_season(params.mid_latitude, latitude_deg, day_of_year, year)


def resolve_ozone(params: AcParameters, ecmwf_ozone_du: float | None) -> tuple[float, str]:
    """Ozone column (DU) and its source tag (AUX_ECMWFT | CONFIG | OTHER; facts §5 item 5, §8)."""
    if params.ozone_content > 0:
        return float(params.ozone_content), "CONFIG"
    if ecmwf_ozone_du is not None and ecmwf_ozone_du > 0:
        return float(ecmwf_ozone_du), "AUX_ECMWFT"
    msg = f"no ozone from the GIPP or AUX_ECMWFT: using {DEFAULT_OZONE_DU} DU (facts §5 item 5)"
    logger.warning(msg)
    warnings.warn(msg, FallbackWarning, stacklevel=2)
    return DEFAULT_OZONE_DU, "OTHER"


def aerosol_candidates(params: AcParameters) -> tuple[str, ...]:
    """Aerosol models to try: AUTO runs both and keeps the better double ratio (facts §7.3 item 9)."""
    a = params.aerosol_type.upper()
    return ("RURAL", "MARITIME") if a == "AUTO" else (a,)


# ------------------------------------------------------------------------------------------------ cells
@dataclass(frozen=True)
class Cell:
    """One processing cell: a window of the tile (row/column slices)."""

    rows: slice
    cols: slice


def cell_grid(shape: tuple[int, int]) -> list[Cell]:
    """Split a tile of ``shape`` (rows, cols) into cells of 1830 rows × 915 columns (facts §7.2).

    The last row/column of cells takes the remainder; row-major order (top-left first).
    """
    nrows, ncols = shape
    cells = []
    for r0 in range(0, max(nrows, 1), CELL_ROWS):
        for c0 in range(0, max(ncols, 1), CELL_COLUMNS):
            cells.append(Cell(slice(r0, min(r0 + CELL_ROWS, nrows)), slice(c0, min(c0 + CELL_COLUMNS, ncols))))
    return cells


def cell_geometries(
    cells: list[Cell],
    sun_zenith: npt.ArrayLike,
    sun_azimuth: npt.ArrayLike,
    view_zenith: float,
    view_azimuth: float,
) -> list[Geometry]:
    """Mean sun angles of each cell (SZA clipped to 70°) with the tile-mean view angles (facts §5, §7.2)."""
    def cell_mean(angle: npt.ArrayLike, c: Cell) -> float:
        if np.ndim(angle) != 2:
            return float(np.asarray(angle, dtype=np.float64))
        # the cell alone (a lazy angle image interpolates just the cell)
        return float(np.nanmean(np.asarray(angle[c.rows, c.cols], dtype=np.float64)))  # type: ignore[index]

    out = []
    for c in cells:
        z, a = cell_mean(sun_zenith, c), cell_mean(sun_azimuth, c)
        out.append(Geometry(min(z, MAX_SOLAR_ZENITH_DEG), a, abs(float(view_zenith)), float(view_azimuth)))
    return out


def scene_geometry(sun_zenith: npt.ArrayLike, sun_azimuth: npt.ArrayLike, view_zenith: float,
                   view_azimuth: float) -> Geometry:
    """Tile-mean geometry (SZA clipped to 70°): Sen2Cor's scene-centre / radiance-conversion geometry."""
    z = float(np.nanmean(sun_zenith))
    a = float(np.nanmean(sun_azimuth))
    return Geometry(min(z, MAX_SOLAR_ZENITH_DEG), a, abs(float(view_zenith)), float(view_azimuth))


# ------------------------------------------------------------------------------------------------ terrain
COS_BETA_MIN: Final[float] = float(np.float32(COS_BETA_FLOOR / COS_BETA_SCALE))
"""cos β floor of the reflectance retrieval, 26/255 as float32 (β ≤ 84.1°; facts §7.1, §10)."""


@dataclass(frozen=True)
class TerrainInputs:
    """Optional per-pixel terrain arrays (from :mod:`sen2cor.physics.terrain`), all of the tile shape.

    Attributes
    ----------
    slope_deg : numpy.ndarray of float32, optional
        Terrain slope (degrees).
    aspect_deg : numpy.ndarray of float32, optional
        Aspect (degrees clockwise from north).
    cos_beta : numpy.ndarray of float32, optional
        Cosine of the local solar incidence angle; computed from slope/aspect if absent.
    cast_shadow : numpy.ndarray of bool, optional
        True where the direct sun is blocked by surrounding terrain.
    sky_view : numpy.ndarray of float32, optional
        Sky-view factor 0–1; (1 + cos slope)/2 if absent.
    """

    slope_deg: F32 | None = None
    aspect_deg: F32 | None = None
    cos_beta: F32 | None = None
    cast_shadow: npt.NDArray[np.bool_] | None = None
    sky_view: F32 | None = None


@dataclass(frozen=True)
class Terrain:
    """Terrain state of the AC (facts §7.1); arrays may be read-only broadcasts of a constant when flat.

    Attributes
    ----------
    elevation_class : numpy.ndarray of int16, tile shape
        20 m elevation class (elevation ≈ 0.02·class km).
    n_classes : int
        Number of classes in the RT tables (126, 151 or 176).
    mean_class : int
        Class of the mean elevation.
    cos_beta : numpy.ndarray of float32, tile shape
        Quantised cos of the solar incidence angle (byte/255), not floored.
    sky_view : numpy.ndarray of float32, tile shape
        Sky-view factor quantised to percent.
    sunlit : numpy.ndarray of bool, tile shape
        False in cast shadow (b = 0 of facts §7.6).
    flat : bool
        True without DEM or for quasi-flat terrain.
    terrain_iteration : bool
        Terrain-reflected flux and the step-2 terrain iteration are active.
    mean_altitude_km : float
        Mean ground elevation (km).
    """

    elevation_class: npt.NDArray[np.int16]
    n_classes: int
    mean_class: int
    cos_beta: F32
    sky_view: F32
    sunlit: npt.NDArray[np.bool_]
    flat: bool
    terrain_iteration: bool
    mean_altitude_km: float

    @property
    def cos_beta_floored(self) -> F32:
        """cos β floored at 26/255 (β ≤ 84.1°) as used by the reflectance retrieval (facts §7.1, §10)."""
        return self.cos_beta_floored_at(...)

    def cos_beta_floored_at(self, window: Any) -> F32:
        """:attr:`cos_beta_floored` of a window (any index of the tile) only."""
        return np.maximum(self.cos_beta[window], np.float32(COS_BETA_MIN))

    @property
    def max_elevation_km(self) -> float:
        return float(self.n_classes - 1) * ELEVATION_CLASS_M / 1000.0


def quantise_cos(cos_value: npt.ArrayLike) -> F32:
    """cos → round(255·cos)/255, Sen2Cor's byte storage of the illumination (facts §7.1).

    The float32 operations run in place in one new array (no temporaries per step: a 10 m strip is 45 MB).
    """
    c = np.clip(np.asarray(cos_value, dtype=np.float32), 0.0, 1.0)
    if c.ndim == 0:
        return (np.floor(c * COS_BETA_SCALE + np.float32(0.5)) / np.float32(COS_BETA_SCALE)).astype(np.float32)
    c *= np.float32(COS_BETA_SCALE)
    c += np.float32(0.5)
    np.floor(c, out=c)
    c /= np.float32(COS_BETA_SCALE)
    return c


def _cos_deg(angle: npt.ArrayLike) -> npt.NDArray[np.floating]:
    """cos of an angle in degrees: ``np.cos(np.deg2rad(angle))``, one new array."""
    r = np.deg2rad(angle)
    return np.cos(r, out=r) if isinstance(r, np.ndarray) and r.ndim > 0 else np.cos(r)


def n_elevation_classes(max_elevation_m: float) -> int:
    """126 classes up to 2.5 km, 151 up to 3.0 km, 176 above (facts §4 "Elevation")."""
    if max_elevation_m > 3000.0:
        return 176
    if max_elevation_m > LUT_TOP_ELEVATION_KM * 1000.0:
        return 151
    return 126


def per_class(values: npt.NDArray[np.generic], elevation_class: npt.NDArray[np.integer]) -> npt.NDArray[np.generic]:
    """``values[elevation_class]``: a table value per pixel from its elevation class.

    With one class everywhere (flat terrain: a broadcast array) the result stays a broadcast of that
    class's value instead of a new full-size array.
    """
    ecl = np.asarray(elevation_class)
    if ecl.size and all(st == 0 for st in ecl.strides):
        return np.broadcast_to(values[ecl.flat[0]], ecl.shape)
    return values[ecl]


def flat_terrain(shape: tuple[int, int], sza: F32, altitude_km: float) -> Terrain:
    """Flat terrain at ``altitude_km`` (clipped to the LUT range) lit at the per-pixel SZA (facts §7.1)."""
    alt_m = float(np.clip(altitude_km * 1000.0, 0.0, MAX_ELEVATION_M))
    cls = int(np.floor(alt_m / ELEVATION_CLASS_M + 0.5))
    one = sza.size > 0 and all(st == 0 for st in np.asarray(sza).strides)  # a broadcast of one angle
    cos_beta = np.broadcast_to(quantise_cos(_cos_deg(sza.flat[0] if one else sza)), shape)
    return Terrain(
        elevation_class=np.broadcast_to(np.int16(cls), shape),
        n_classes=n_elevation_classes(alt_m),
        mean_class=cls,
        cos_beta=cos_beta,
        sky_view=np.broadcast_to(np.float32(1.0), shape),
        sunlit=np.broadcast_to(np.True_, shape),
        flat=True,
        terrain_iteration=False,
        mean_altitude_km=alt_m / 1000.0,
    )


def prepare_terrain(
    shape: tuple[int, int],
    sun_zenith: npt.ArrayLike,
    sun_azimuth: npt.ArrayLike,
    scl: npt.NDArray[np.uint8],
    params: AcParameters,
    resolution: int,
    elevation_km: F32 | None = None,
    inputs: TerrainInputs | None = None,
) -> Terrain:
    """Terrain state for the AC (facts §7.1).

    Parameters
    ----------
    shape : (int, int)
        Tile shape at the working resolution.
    sun_zenith, sun_azimuth : array_like of float
        Per-pixel (tile shape) or scalar sun angles in degrees (SZA clipped to 70° here).
    scl : numpy.ndarray of uint8
        Scene classification (for flattening large cloud / no-data blobs).
    params : AcParameters
    resolution : int
        Pixel size (m).
    elevation_km : numpy.ndarray of float32, optional
        DEM (km); None → flat at ``params.altitude``.
    inputs : TerrainInputs, optional
        Slope/aspect/illumination/shadow/sky-view; without them a DEM only sets elevation classes.

    Returns
    -------
    Terrain
    """
    given = np.asarray(sun_zenith, dtype=np.float32)
    if given.ndim == 0:  # one angle for the tile: kept as a broadcast, not a tile-size array
        sza = np.broadcast_to(np.minimum(given, np.float32(MAX_SOLAR_ZENITH_DEG)), shape)
    else:
        sza = np.minimum(np.broadcast_to(given, shape), MAX_SOLAR_ZENITH_DEG)
    if np.isnan(sza).any():
        sza = np.where(np.isnan(sza), np.float32(np.nanmean(sza)), sza)
    if elevation_km is None:
        return flat_terrain(shape, sza, params.altitude)
    valid = scl > SceneClass.SATURATED_DEFECTIVE
    dem_m = np.clip(np.asarray(elevation_km, dtype=np.float32) * 1000.0, 0.0, MAX_ELEVATION_M)
    positive = dem_m[valid & (dem_m > 0)]
    mean_m = float(positive.mean()) if positive.size else float(params.altitude * 1000.0)
    slope = None if inputs is None else inputs.slope_deg
    steep_fraction = 0.0
    if slope is not None and valid.any():
        steep_fraction = float(np.count_nonzero(slope[valid] > params.ac_slope_th)) / float(np.count_nonzero(valid))
    hdiff = float(np.ptp(positive)) if positive.size else 0.0
    if hdiff < params.ac_dem_p2p_val and steep_fraction < params.ac_topo_corr_th:
        logger.info("quasi-flat DEM (peak-to-peak %.1f m): flat terrain at %.3f km (facts §7.1)", hdiff, mean_m / 1000)
        return flat_terrain(shape, sza, mean_m / 1000.0)

    max_m = float(dem_m[valid].max()) if valid.any() else 0.0
    n_classes = n_elevation_classes(max_m)
    eclass = np.clip(np.floor(dem_m / ELEVATION_CLASS_M + 0.5), 0, n_classes - 1).astype(np.int16)
    mean_class = int(min(mean_m / ELEVATION_CLASS_M, n_classes - 1))
    cos_sza_q = quantise_cos(_cos_deg(sza))
    if inputs is None or not params.dem_terrain_correction:
        if inputs is None:
            logger.info("DEM without slope/illumination arrays: elevation only, no terrain correction")
        return Terrain(eclass, n_classes, mean_class, np.ascontiguousarray(cos_sza_q),
                       np.broadcast_to(np.float32(1.0), shape), np.broadcast_to(np.True_, shape),
                       flat=False, terrain_iteration=False, mean_altitude_km=mean_m / 1000.0)

    if inputs.cos_beta is not None:
        cos_beta = np.asarray(inputs.cos_beta, dtype=np.float32)
    elif inputs.slope_deg is not None and inputs.aspect_deg is not None:
        s = np.deg2rad(inputs.slope_deg.astype(np.float32))
        z = np.deg2rad(sza)
        saa = np.deg2rad(np.broadcast_to(np.asarray(sun_azimuth, dtype=np.float32), shape))
        cos_beta = (np.cos(z) * np.cos(s) + np.sin(z) * np.sin(s) * np.cos(saa - np.deg2rad(inputs.aspect_deg))).astype(
            np.float32)
    else:
        cos_beta = np.cos(np.deg2rad(sza)).astype(np.float32)
    cos_beta = quantise_cos(cos_beta)
    if inputs.sky_view is not None:
        sky = np.asarray(inputs.sky_view, dtype=np.float32)
    elif inputs.slope_deg is not None:
        sky = (0.5 * (1.0 + np.cos(np.deg2rad(inputs.slope_deg)))).astype(np.float32)
    else:
        sky = np.ones(shape, np.float32)
    sky = (np.floor(np.clip(sky, 0.0, 1.0) * SKY_VIEW_SCALE + 0.5) / SKY_VIEW_SCALE).astype(np.float32)
    sunlit = np.ones(shape, bool) if inputs.cast_shadow is None else ~np.asarray(inputs.cast_shadow, dtype=bool)

    flat_blobs = _large_blobs(class_mask(scl, FLAT_FOR_CLASSES), (FLAT_BLOB_SIZE_M / resolution) ** 2)
    if flat_blobs.any():
        cos_beta = np.where(flat_blobs, cos_sza_q, cos_beta).astype(np.float32)
        sky = np.where(flat_blobs, np.float32(1.0), sky).astype(np.float32)
        sunlit = sunlit | flat_blobs
    return Terrain(eclass, n_classes, mean_class, cos_beta, sky, sunlit, flat=False,
                   terrain_iteration=params.ac_max_nr_topo_iter > 0, mean_altitude_km=mean_m / 1000.0)


def _large_blobs(mask: npt.NDArray[np.bool_], min_pixels: float) -> npt.NDArray[np.bool_]:
    """Pixels of 4-connected blobs of ``mask`` larger than ``min_pixels``."""
    if not mask.any():
        return np.zeros(mask.shape, bool)
    labels, n = ndimage.label(mask)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    big = sizes > min_pixels
    big[0] = False
    return big[labels]
