"""Auxiliary inputs of one resolution run: DEM, terrain layers and ESA-CCI maps (facts §5 item 3, §7.1).

Sen2Cor's "aux preparation" wired into the chain:

* the DEM of ``DEM_Directory``/``DEM_Reference`` warped to the working grid by
  :func:`sen2cor.io.dem.prepare_dem` (None → flat terrain at ``Altitude``; a failure falls back to flat with a
  :class:`~sen2cor.errors.FallbackWarning` unless ``Force_Exit_On_DEM_Error``);
* slope, aspect, illumination, cast shadow and sky-view factor from
  :func:`sen2cor.physics.terrain.derive_terrain`.  As Sen2Cor, the cast shadow of a 10 m run is computed on
  the 20 m DEM and up-sampled (nearest);
* the ESA-CCI water-bodies, land-cover and monthly snow-condition maps and the snow climatology of the
  ``aux_data`` folder (:func:`aux_data_dir`), used only when a DEM is present (user manual §3.1.2: "a DEM
  is a pre-requisite for using ESACCI_LC information").

Everything returned is arrays on ``product.tile.grid`` (a ROI sub-grid in a ROI run) plus the names that go
into the quality report.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from sen2cor.config.settings import L2ASettings
from sen2cor.io.dem import DemProducts, prepare_dem
from sen2cor.io.esacci import EsaCciAux, EsaCciMaps
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.results import ProcessingInfo
from sen2cor.physics.terrain import TerrainProducts, derive_terrain, shadow_byte

log = logging.getLogger(__name__)

AUX_DIR_ENV: Final[str] = "SEN2COR_AUX_DIR"
"""Environment variable naming the folder of the ESA-CCI maps and the snow climatology (Sen2Cor:
``$SEN2COR_BIN/aux_data``); default ``$SEN2COR_HOME/aux_data``."""

SHADOW_RESOLUTION: Final[int] = 20
"""Resolution at which the cast shadow of a 10 m run is computed (Sen2Cor; facts §7.1)."""


@dataclass(frozen=True)
class AuxInputs:
    """DEM, terrain and ESA-CCI layers of one run on the working grid (``None`` when not available)."""

    resolution: int
    dem: DemProducts | None = field(default=None, repr=False)
    terrain: TerrainProducts | None = field(default=None, repr=False)
    esacci: EsaCciMaps | None = field(default=None, repr=False)
    snow_possible: bool = True

    @property
    def elevation_km(self) -> NDArray[np.float32] | None:
        """DEM in km for the atmospheric correction, or None (flat at ``Altitude``)."""
        if self.dem is None:
            return None
        return (self.dem.elevation / np.float32(1000.0)).astype(np.float32)

    def sc_terrain(self) -> dict[str, Any]:
        """Keyword arrays for :func:`sen2cor.sc.classify.classify` (``dem``, ``slope``, …)."""
        if self.dem is None or self.terrain is None:
            return {}
        return {
            "dem": self.dem.elevation,
            "slope": self.terrain.slope_deg,
            "cast_shadow": self.terrain.cast_shadow,
            "illumination": shadow_byte(self.terrain.cos_beta),
        }

    def sc_esacci(self) -> dict[str, Any]:
        """Keyword arrays ``lcm``/``wbi``/``snc``/``snow_map`` for the classification."""
        if self.esacci is None:
            return {}
        return {
            "lcm": self.esacci.land_cover,
            "wbi": self.esacci.water_bodies,
            "snc": self.esacci.snow_condition,
            "snow_map": self.esacci.snow_map,
        }

    def ac_terrain(self) -> Any:
        """:class:`sen2cor.ac.setup.TerrainInputs` for the correction, or None (flat)."""
        if self.terrain is None:
            return None
        from sen2cor.ac.setup import TerrainInputs

        t = self.terrain
        return TerrainInputs(slope_deg=t.slope_deg, aspect_deg=t.aspect_deg, cos_beta=t.cos_beta,
                             cast_shadow=t.cast_shadow, sky_view=t.sky_view)


def aux_data_dir(settings: L2ASettings) -> Path | None:
    """The ESA-CCI ``aux_data`` folder: ``$SEN2COR_AUX_DIR``, else ``$SEN2COR_HOME/aux_data``; None if absent."""
    env = os.environ.get(AUX_DIR_ENV)
    candidates = [Path(env)] if env else []
    if settings.home is not None:
        candidates.append(Path(settings.home) / "aux_data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


def load_aux(product: L1CProduct, settings: L2ASettings, resolution: int) -> AuxInputs:
    """DEM, terrain and ESA-CCI maps of one run at ``resolution`` on ``product.tile.grid``.

    Raises
    ------
    AuxDataError
        The DEM failed and ``Force_Exit_On_DEM_Error`` is TRUE, or a present CCI file is unreadable.
    """
    u = settings.user
    grid = product.tile.grid
    aux_dir = aux_data_dir(settings)
    dem = prepare_dem(grid, resolution, dem_directory=u.dem_directory, dem_reference=u.dem_reference,
                      home=settings.home, force_exit_on_dem_error=u.force_exit_on_dem_error, aux_dir=aux_dir)
    if dem is None:
        return AuxInputs(resolution)
    angles = product.tile.angles
    terrain = derive_terrain(dem.elevation, resolution, angles.mean_sun_zenith, angles.mean_sun_azimuth)
    if resolution == 10:
        terrain = _shadow_from_20m(product, settings, terrain, aux_dir)
    log.info("DEM %s at %d m: mean altitude %.3f km, mean slope %.2f°", dem.dem_type, resolution,
             dem.mean_altitude_km, float(np.mean(terrain.slope_deg, dtype=np.float64)))
    esacci = None
    snow_possible = True
    if aux_dir is not None:
        refs = settings.sc.references
        cci = EsaCciAux(aux_dir, snow_map=refs.snow_map, water_bodies=refs.esacci_waterbodies_map,
                        land_cover=refs.esacci_landcover_map,
                        snow_condition_dir=refs.esacci_snowcondition_map_dir)
        esacci = cci.maps(grid, resolution, product.datatake_sensing_start.month)
        snow_possible = cci.snow_possible(grid)
    else:
        log.info("no aux_data folder ($%s or $SEN2COR_HOME/aux_data): ESA-CCI maps not used", AUX_DIR_ENV)
    return AuxInputs(resolution, dem, terrain, esacci, snow_possible)


def _shadow_from_20m(product: L1CProduct, settings: L2ASettings, terrain: TerrainProducts,
                     aux_dir: Path | None) -> TerrainProducts:
    """Replace the 10 m cast shadow by the 20 m one up-sampled (Sen2Cor; facts §7.1)."""
    u = settings.user
    dem20 = prepare_dem(product.tile.grid, SHADOW_RESOLUTION, dem_directory=u.dem_directory,
                        dem_reference=u.dem_reference, home=settings.home,
                        force_exit_on_dem_error=u.force_exit_on_dem_error, aux_dir=aux_dir)
    if dem20 is None:
        return terrain
    from sen2cor.physics.terrain import binary_median, cast_shadow
    from sen2cor.pipeline.inputs import upsample_nearest

    angles = product.tile.angles
    shadow20 = binary_median(cast_shadow(dem20.elevation, SHADOW_RESOLUTION, angles.mean_sun_zenith,
                                         angles.mean_sun_azimuth), 3)
    shadow10 = upsample_nearest(shadow20, SHADOW_RESOLUTION // 10, terrain.cast_shadow.shape)
    return dataclasses.replace(terrain, cast_shadow=shadow10.astype(bool))


def merge_info(info: ProcessingInfo, aux: AuxInputs, settings: L2ASettings) -> ProcessingInfo:
    """DEM type, mean altitude/slope and auxiliary file names for the quality report (facts §8)."""
    if aux.dem is None:
        return info
    files = list(aux.dem.source_files)
    changes: dict[str, Any] = {
        "dem_type": aux.dem.dem_type,
        "dem_mean_altitude_km": aux.dem.mean_altitude_km,
        "dem_mean_slope_deg": float(np.mean(aux.terrain.slope_deg, dtype=np.float64)) if aux.terrain else 0.0,
    }
    cci = aux.esacci
    if cci is not None:
        files += [f for f in cci.files if f not in files]
        refs = settings.sc.references
        if cci.water_bodies is not None:
            changes["esacci_water_bodies_map"] = refs.esacci_waterbodies_map
        if cci.land_cover is not None:
            changes["esacci_land_cover_map"] = refs.esacci_landcover_map
        if cci.snow_condition is not None:
            changes["esacci_snow_condition_dir"] = refs.esacci_snowcondition_map_dir
        changes["snow_climatology_map"] = refs.snow_map if cci.snow_map is not None else "None"
    changes["aux_data_files"] = tuple(files)
    return dataclasses.replace(info, **changes)


__all__ = ["AUX_DIR_ENV", "AuxInputs", "aux_data_dir", "load_aux", "merge_info"]
