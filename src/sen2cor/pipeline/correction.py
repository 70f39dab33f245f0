"""Atmospheric correction inside the pipeline: LUT choice, geometry, and the call into :mod:`sen2cor.ac`.

LUTs: Sen2Cor's own libRadtran tables are used when a ``Lib_Dir`` folder is found (``$SEN2COR_LUT_DIR``,
or ``Lib_Dir`` of ``L2A_CAL_AC_GIPP.xml`` as an absolute path or below ``$SEN2COR_HOME``); otherwise the
package's own 6S tables.  Both sit behind :class:`sen2cor.physics.lut.AtmosphericLut`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Final

import numpy as np

from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.result import AcResult
from sen2cor.config.settings import L2ASettings
from sen2cor.errors import AuxDataError, FallbackWarning
from sen2cor.io.l1c_bands import BandReader, block_mean
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.aggregate import FACTOR_20_TO_60
from sen2cor.io.l2a.resolution_images import ResolutionImages
from sen2cor.io.l2a.results import ProcessingInfo, ResolutionResult
from sen2cor.physics import lut_selection as sel
from sen2cor.pipeline import inputs as inp
from sen2cor.pipeline.aux_inputs import AuxInputs
from sen2cor.pipeline.resolution import SceneOutcome, timed
from sen2cor.pipeline.roi import sun_angles

log = logging.getLogger(__name__)

BoaEncoder = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``(reflectance with NaN no data, no-data mask) → uint16 product DN`` (``L2AWriter.encode_boa``)."""

LUT_DIR_ENV = "SEN2COR_LUT_DIR"
"""Environment variable naming a Sen2Cor ``Lib_Dir`` (folder holding ``lib_S2A``…)."""

MAX_BANDS_AT_ONCE: Final[int] = 2
"""Most bands corrected at once: each holds a tile-size float32 image and its step-2 temporaries (≈ 250 MB
on a full 20 m tile), so that a full tile stays under 2 GB on any number of cores."""
B09_STRIP_ROWS: Final[int] = 128 * FACTOR_20_TO_60
"""20 m rows of B09 aggregated to 60 m at once.  The whole band at once took three tile-size float32
temporaries (≈ 360 MB of a full tile) while the encoders held the previous bands: the highest resident size of
the 20 m correction (1.92–2.03 GB, docs/benchmarks.md, session 21)."""


def ac_parameters(settings: L2ASettings) -> AcParameters:
    """The AC parameters of a run: user GIPP flags/calibration ⊕ the CAL_AC GIPP (facts §2.1, §2.3)."""
    return AcParameters.from_gipps(settings.user, settings.ac)


def sen2cor_lib_dir(settings: L2ASettings) -> Path | None:
    """A Sen2Cor LUT ``Lib_Dir`` if one is configured and exists, else None."""
    env = os.environ.get(LUT_DIR_ENV)
    candidates = [Path(env)] if env else []
    lib = Path(settings.ac.lib_dir)
    candidates.append(lib if lib.is_absolute() else (settings.home or Path.home()) / lib)
    for c in candidates:
        if c.is_dir() and any(c.glob("lib_S2*")):
            return c
    if env:
        raise AuxDataError(f"{env}: ${LUT_DIR_ENV} does not hold Sen2Cor LUT folders (lib_S2A, lib_S2B)")
    return None


def load_tables(settings: L2ASettings, product: L1CProduct, resolution: int, season: str, ozone_du: float,
                aerosols: tuple[str, ...]) -> dict[str, object]:
    """One LUT (all water-vapour levels) per candidate aerosol model."""
    from sen2cor.physics import atm, generated_lut

    lib = sen2cor_lib_dir(settings)
    tables: dict[str, object] = {}
    for aerosol in aerosols:
        if lib is not None:
            try:
                tables[aerosol] = atm.load_sen2cor_lut(lib, product.spacecraft, resolution, season, ozone_du,
                                                       aerosol)
            except AuxDataError as exc:
                msg = f"{exc}; falling back to the standard-ozone tables of {lib}"
                log.warning("%s", msg)
                warnings.warn(msg, FallbackWarning, stacklevel=2)
                tables[aerosol] = atm.load_sen2cor_lut(lib, product.spacecraft, resolution, season, None, aerosol)
        else:
            if not generated_lut.default_path().is_file():
                raise AuxDataError(
                    f"no radiative-transfer tables: {generated_lut.default_path().name} is not generated yet and "
                    f"no Sen2Cor Lib_Dir was found; set ${LUT_DIR_ENV} to a Sen2Cor LUT folder (holding "
                    "lib_S2A/...) or run 'make luts'")
            # radiance terms on the L1C solar spectrum (SOLAR_IRRADIANCE W m-2 um-1 -> mW cm-2 um-1), so that
            # the tables and the TOA radiance derived from L1C reflectance agree (facts §3)
            e0 = {b: v / 10.0 for b, v in product.solar_irradiance.items() if v > 0}
            tables[aerosol] = generated_lut.load_6s_lut(product.spacecraft, aerosol, season, ozone_du,
                                                        band_e0=e0 or None)
    return tables


def _tile_latitude(product: L1CProduct) -> float:
    from rasterio.warp import transform

    left, bottom, right, top = product.tile.grid.bounds(10)
    _, lats = transform(product.tile.grid.crs, "EPSG:4326", [(left + right) / 2], [(top + bottom) / 2])
    return float(lats[0])


def season_of(product: L1CProduct, params: AcParameters) -> str:
    """SUMMER/WINTER for ``Mid_Latitude`` (AUTO from the tile-centre latitude and the date; facts §5 item 4)."""
    t = product.datatake_sensing_start
    return sel.resolve_season(params.mid_latitude, _tile_latitude(product), t.timetuple().tm_yday, t.year)


def ac_from_product(result: ResolutionResult, product: L1CProduct, settings: L2ASettings,
                    aot_method: str) -> AcResult:
    """The 20 m aerosol/WV state of an existing product, as the ``previous`` of a 10 m run.

    Sen2Cor keeps the 20 m visibility-index map in its database; a written product holds only AOT, so the
    index is recovered from AOT550 with the visibility relation of facts §7.4 at the flat-terrain altitude.
    """
    from sen2cor.ac import cams
    from sen2cor.ac.result import AcInfo

    params = ac_parameters(settings)
    shape = result.scl.shape if result.scl is not None else product.tile.grid.shape(result.resolution)
    aot = result.aot if result.aot is not None else np.zeros(shape, np.float32)
    wv = result.wvp if result.wvp is not None else np.zeros(shape, np.float32)
    vis_index = np.where(aot > 0, cams.visibility_index_from_aod(np.maximum(aot, 1e-3), params.altitude), 0)
    vis_index = vis_index.astype(np.uint8)
    valid = vis_index > 0
    aerosol = "RURAL" if params.aerosol_type == "AUTO" else params.aerosol_type
    info = AcInfo(
        aot_retrieval_method=aot_method, wv_retrieval_method="SEN2COR_APDA" if (wv > 0).any() else "NA",
        mean_visibility_index=int(vis_index[valid].mean() + 0.5) if valid.any() else 0,
        mean_aot=float(aot[aot > 0].mean()) if (aot > 0).any() else 0.0,
        mean_wv_cm=float(wv[wv > 0].mean()) if (wv > 0).any() else 0.0,
        aerosol_type=aerosol, season=season_of(product, params),
    )
    return AcResult(boa={}, aot550=aot.astype(np.float32), wv_cm=wv.astype(np.float32), vis_index=vis_index,
                    ddv_mask=np.zeros(shape, bool), info=info, resolution=result.resolution)


def correct(product: L1CProduct, settings: L2ASettings, reader: BandReader, data: inp.ResolutionInputs,
            scene: SceneOutcome, info: ProcessingInfo, timings: dict[str, float],
            aux: AuxInputs | None = None, encode_boa: BoaEncoder | None = None,
            boa_images: ResolutionImages | None = None):
    """Atmospheric correction of the base (20 or 60 m) run; returns a :class:`stages.RunOutcome`.

    ``aux`` holds the DEM and terrain layers of the run (None or no DEM → flat terrain at ``Altitude``).
    ``encode_boa`` (the writer's) turns each band's reflectance into product DN as soon as it is corrected,
    so that the result holds uint16 instead of float32 bands (half the memory).  With ``boa_images`` each
    corrected band is handed to the writer instead (encoded while the next band is corrected) and the
    result holds no surface reflectance.
    """
    from sen2cor.ac.correct import correct_resolution
    from sen2cor.pipeline.stages import RunOutcome, dem_output

    aux = aux or AuxInputs(data.resolution)

    res = data.resolution
    params = ac_parameters(settings)
    ozone = inp.ozone(product, settings)
    season = season_of(product, params)
    aerosols = ("RURAL", "MARITIME") if params.aerosol_type == "AUTO" else (params.aerosol_type,)
    with timed(f"LUT load {res} m", timings):
        tables = load_tables(settings, product, res, season, ozone.du, aerosols)
    angles = product.tile.angles
    sza, saa = sun_angles(product, res)
    # evaluated by the aerosol retrieval only when there are no DDV pixels (then dropped: 30 MB at 20 m)
    cams_index = partial(_cams_visibility_index, product, res)
    nodata = scene.sc.scl == 0
    kept: dict[str, np.ndarray] = {}
    want_b09 = res == 20 and settings.user.downsample_20_to_60

    def sink(band_id: str, rho: np.ndarray) -> np.ndarray | None:
        if want_b09 and band_id == "B09":
            kept["b09_60m"] = _b09_60m(rho)
        rho = _nan_nodata(rho)
        if boa_images is not None:
            boa_images.put_boa(band_id, rho, nodata)
            return None
        return rho if encode_boa is None else encode_boa(rho, nodata)

    with timed(f"atmospheric correction {res} m", timings):
        ac = correct_resolution(
            data.toa, scene.sc.scl, resolution=res,
            lut=tables if len(tables) > 1 else next(iter(tables.values())),
            params=params, solar_irradiance=product.solar_irradiance,
            sun_zenith=sza, sun_azimuth=saa,
            view_zenith=angles.mean_view_zenith, view_azimuth=angles.mean_view_azimuth,
            elevation_km=aux.elevation_km, terrain=aux.ac_terrain(),
            cams_visibility_index=cams_index, ozone_du=ozone.du, ozone_source=ozone.source, season=season,
            release_toa=True,  # the TOA bands are not needed after their correction: frees memory
            boa_sink=sink,
            # the WVP image is encoded during the correction, not after it (on one core, the other idle)
            maps_sink=None if boa_images is None else partial(boa_images.add_map, scl=scene.sc.scl),
            band_threads=band_threads(settings),
        )
    info = _merge_info(info, ac.info, scene)
    result = ResolutionResult(
        resolution=res, boa=ac.boa, scl=scene.sc.scl, aot=ac.aot550 if ac.info.ac_enabled else None,
        wvp=ac.wv_cm if ac.info.ac_enabled else None,
        cloud_probability=scene.sc.cloud_probability, snow_probability=scene.sc.snow_probability,
        ddv_mask=ac.ddv_mask if settings.user.generate_ddv_output and ac.info.ac_enabled else None,
        dem=dem_output(settings, aux),
    )
    return RunOutcome(result, info, ac=ac, b09_60m=kept.get("b09_60m"), timings=timings)


def band_threads(settings: L2ASettings) -> int:
    """Bands corrected at once: one with JPEG 2000 output, whose encoding of the previous band keeps the
    other cores busy (and holds ≈ 170 MB per 20 m image); up to :data:`MAX_BANDS_AT_ONCE` (``Nr_Threads``)
    with GeoTIFF or ENVI output, which encode in a fraction of the time (docs/benchmarks.md, session 6)."""
    return 1 if settings.output_format == "JP2" else min(settings.nr_threads, MAX_BANDS_AT_ONCE)


def _b09_60m(b09: np.ndarray) -> np.ndarray:
    """B09 for the aggregated 60 m product: the 20 m B09 BOA block-averaged (facts §9 takes it from 60 m),
    NaN where more than half of a block is no data (≤ 0).

    By row strips of :data:`B09_STRIP_ROWS`: each block's mean is that of the whole-band formulation, bit for
    bit, without its three tile-size float32 temporaries.
    """
    f = FACTOR_20_TO_60
    rows = (b09.shape[0] // f) * f
    out = np.empty((rows // f, b09.shape[1] // f), np.float32)
    for r0 in range(0, rows, B09_STRIP_ROWS):
        strip = np.asarray(b09[r0:min(r0 + B09_STRIP_ROWS, rows)], dtype=np.float32)
        mean = block_mean(strip, f)
        mean[block_mean((strip <= 0).astype(np.float32), f) > 0.5] = np.nan
        out[r0 // f:r0 // f + mean.shape[0]] = mean
    return out


def _nan_nodata(a: np.ndarray) -> np.ndarray:
    """``a`` as float32 with NaN where it is 0 (no data), in place when it is float32 already."""
    out = a.astype(np.float32, copy=False)
    out[out == 0] = np.nan
    return out


def _merge_info(info: ProcessingInfo, ac_info, scene: SceneOutcome) -> ProcessingInfo:
    if not ac_info.ac_enabled:
        log.warning("atmospheric correction skipped: %s", ac_info.skip_reason)
    return dataclasses.replace(
        info,
        ac_enabled=ac_info.ac_enabled,
        aot_method=ac_info.aot_retrieval_method if ac_info.ac_enabled else "NA",
        ozone_source=ac_info.ozone_source or info.ozone_source,
        ozone_du=ac_info.ozone_du,
        start_visibility_km=ac_info.start_visibility_km or info.start_visibility_km,
        ddv_visibility_km=ac_info.visibility_from_ddv_km,
        final_visibility_km=ac_info.final_visibility_km,
        visibility_less_than_5_km=ac_info.visibility_less_than_5_km,
        ddv_pixel_percentage=ac_info.ddv_pixel_percentage,
        ddv_reflectance_range=ac_info.ddv_reflectance_range,
        blue_path_radiance_factor=ac_info.blue_path_radiance_factor,
        lut_files=ac_info.lut_files,
        negative_boa_percentages=ac_info.negative_boa_percent,
        granule_mean_aot=ac_info.mean_aot if ac_info.ac_enabled else None,
        granule_mean_wv=ac_info.mean_wv_cm if ac_info.ac_enabled else None,
        scene_percentages=scene.percentages,
    )


def _cams_visibility_index(product: L1CProduct, resolution: int):
    """Per-pixel visibility index from the L1C AUX_CAMS* AOD550 (facts §7.4), or None."""
    if product.tile.aux_cams is None:
        return None
    from sen2cor.ac import cams
    from sen2cor.io.aux import read_cams

    fields = read_cams(product.tile.aux_cams)
    aod, z = fields.aod550, fields.fields.get("z")
    if aod is None or z is None:
        return None
    # CAMS grids are ~0.4° coarse: evaluate on a 600 m lattice and up-sample (nearest) to the pixels.
    from rasterio.warp import transform

    grid = product.tile.grid
    rows, cols = grid.shape(resolution)
    step = max(1, CAMS_LATTICE_M // resolution)
    yy, xx = np.mgrid[0:rows:step, 0:cols:step]
    x = grid.ulx + (xx + 0.5) * resolution
    y = grid.uly - (yy + 0.5) * resolution
    lon, lat = transform(grid.crs, "EPSG:4326", x.ravel().tolist(), y.ravel().tolist())
    idx = cams.visibility_index_map(aod.values, z.values, aod.lats, aod.lons,
                                    np.reshape(lat, x.shape), np.reshape(lon, x.shape))
    return inp.upsample_nearest(idx, step, (rows, cols))


CAMS_LATTICE_M = 600
"""Spacing of the lattice on which the smooth CAMS visibility is evaluated before up-sampling."""


def correct_10m(product: L1CProduct, settings: L2ASettings, reader: BandReader, base):
    """The 10 m run: BOA of B02/B03/B04/B08 with the 20 m results up-sampled (facts §5 item 1)."""
    from sen2cor.ac.correct import correct_resolution
    from sen2cor.pipeline.aux_inputs import load_aux
    from sen2cor.pipeline.stages import RunOutcome, dem_output

    timings: dict[str, float] = {}
    with timed("DEM/terrain 10 m", timings):
        aux = load_aux(product, settings, 10)
    with timed("read/decode 10 m", timings):
        toa = {b: reader.toa(b, 10) for b in ("B02", "B03", "B04", "B08") if b in product.tile.band_files}
    shape = product.tile.grid.shape(10)
    scl20 = base.result.scl
    scl10 = inp.upsample_nearest(scl20, 2, shape)
    params = ac_parameters(settings)
    ozone = inp.ozone(product, settings)
    season = base.ac.info.season
    aerosol = base.ac.info.aerosol_type or "RURAL"
    tables = load_tables(settings, product, 10, season, ozone.du, (aerosol,))
    sza, saa = sun_angles(product, 10)
    angles = product.tile.angles
    with timed("atmospheric correction 10 m", timings):
        ac = correct_resolution(
            toa, scl10, resolution=10, lut=next(iter(tables.values())), params=params,
            solar_irradiance=product.solar_irradiance, sun_zenith=sza, sun_azimuth=saa,
            view_zenith=angles.mean_view_zenith, view_azimuth=angles.mean_view_azimuth,
            elevation_km=aux.elevation_km, terrain=aux.ac_terrain(), previous=base.ac,
            ozone_du=ozone.du, ozone_source=ozone.source, season=season,
        )
    boa = {b: _nan_nodata(v) for b, v in ac.boa.items()}
    result = ResolutionResult(resolution=10, boa=boa, aot=ac.aot550 if ac.info.ac_enabled else None,
                              wvp=ac.wv_cm if ac.info.ac_enabled else None, dem=dem_output(settings, aux),
                              ddv_mask=ac.ddv_mask if settings.user.generate_ddv_output and ac.info.ac_enabled
                              else None)
    return RunOutcome(result, base.info, ac=ac, timings=timings)
