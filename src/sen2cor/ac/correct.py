"""Entry point of the atmospheric correction: one resolution of one tile (Sen2Cor AC; facts §5, §7).

:func:`correct_resolution` takes TOA reflectance and the scene classification at the working resolution,
the LUT(s) and the settings, and returns surface reflectance, AOT, water vapour, the visibility-index map
and the quality values.  The flow follows facts §7: terrain set-up → (cirrus) → aerosol (DDV / CAMS /
constant; AUTO aerosol picks the model with the better blue/red double ratio) → water vapour (APDA) →
step-1 reflectance per cell → step 2 (terrain iteration, adjacency, spherical albedo).

For the 10 m run pass the 20 m result as ``previous``: its visibility-index map, AOT and WV are up-sampled
(nearest) and no aerosol or WV retrieval is done (facts §5 item 1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import numpy.typing as npt

from sen2cor.ac import aot as aot_mod
from sen2cor.ac import cirrus as cirrus_mod
from sen2cor.ac.adjacency import AdjacencySetup, correct_band_by_strips, setup_adjacency
from sen2cor.ac.boa import BoaContext, blue_lp_factors, step1_band
from sen2cor.ac.brdf import brdf_factors
from sen2cor.ac.constants import LUT_TOP_ELEVATION_KM, MAX_VISIBILITY_KM, WV_DEPENDENT_BANDS, WV_SCALE
from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.result import AcInfo, AcResult
from sen2cor.ac.rt import (
    N_VIS_INDEX,
    RtTable,
    elevation_class_km,
    rt_table,
    visibility_of_index,
    wv_fit_table,
    wv_range_index,
)
from sen2cor.ac.setup import (
    TerrainInputs,
    cell_geometries,
    cell_grid,
    per_class,
    prepare_terrain,
    scene_geometry,
)
from sen2cor.ac.strips import upsample_rows
from sen2cor.ac.terrain_iter import terrain_iterated_band
from sen2cor.ac.wv import retrieve_water_vapour
from sen2cor.bands import band as band_info
from sen2cor.errors import ProcessingError
from sen2cor.physics.lut import AtmosphericLut
from sen2cor.physics.lut_selection import wv_tag
from sen2cor.physics.toa_image import RadianceImage, ToaImage
from sen2cor.sc.classes import SceneClass
from sen2cor.sc.strips import concurrent_threads, for_each_strip, ordered_map

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
MapRows = Callable[[slice], F32]
"""Rows of a tile-size map computed on demand: ``rows(slice)`` → float32 (see ``maps_sink``)."""

REQUIRED_BANDS = {10: ("B02", "B03", "B04", "B08"), 20: ("B02", "B03", "B04", "B8A", "B12"),
                  60: ("B02", "B03", "B04", "B8A", "B12")}
"""Bands without which the AC cannot run at each resolution (DDV, checks, 10 m band set)."""

AEROSOL_RETRIEVAL_BANDS = ("B02", "B03", "B04", "B8A", "B12")
"""Bands whose tile-mean-SZA radiance the aerosol retrieval reads."""


def _luts(lut: AtmosphericLut | Mapping[str, AtmosphericLut], params: AcParameters) -> dict[str, AtmosphericLut]:
    if isinstance(lut, AtmosphericLut):
        name = lut.attrs.get("aerosol", params.aerosol_type).upper()
        return {"RURAL" if name == "AUTO" else name: lut}
    return {k.upper(): v for k, v in lut.items()}


def _upsample_nearest(a: npt.NDArray, shape: tuple[int, int]) -> npt.NDArray:
    return upsample_rows(a, shape, 0, shape[0])


@dataclass(frozen=True)
class _Step2:
    """What step 2 of the surface reflectance needs besides the band (facts §7.7)."""

    adj: AdjacencySetup
    centre: RtTable
    mean_index: int
    resolution: int


def _surface_reflectance(ctx: BoaContext, band: tuple[str, F32 | ToaImage, float], *,
                         valid: npt.NDArray[np.bool_], step2: _Step2 | None) -> F32:
    """Surface reflectance of one band ``(band id, TOA, solar irradiance)``: step 1, then (unless ``step2``
    is None) the terrain iteration on rugged terrain and the adjacency / spherical-albedo step
    (facts §7.6–7.7); 0 outside the valid pixels without step 2."""
    band_id, toa, solar_irradiance = band
    rho = step1_band(ctx, band_id, toa, solar_irradiance)
    if step2 is None:
        rho[~valid] = 0.0
        return rho
    t = ctx.terrain
    if t.terrain_iteration:
        rho = terrain_iterated_band(ctx, band_id, toa, solar_irradiance, rho, step2.adj, step2.resolution)
    bi = step2.centre.index(band_id)
    q = per_class(step2.centre.q[bi, step2.mean_index], t.elevation_class)
    s = per_class(step2.centre.s[bi, step2.mean_index], t.elevation_class)
    return correct_band_by_strips(band_id, rho, q, s, step2.adj, in_place=True)


def _skipped(shape: tuple[int, int], resolution: int, reason: str, **info: object) -> AcResult:
    logger.warning("atmospheric correction skipped: %s", reason)
    zeros = np.zeros(shape, np.float32)
    return AcResult({}, zeros, zeros.copy(), np.zeros(shape, np.uint8), np.zeros(shape, bool),
                    AcInfo(ac_enabled=False, skip_reason=reason, **info), resolution)  # type: ignore[arg-type]


def _base_file(lut: AtmosphericLut) -> tuple[str, ...]:
    files = lut.attrs.get("files", "").split()
    tag = wv_tag(lut.base_wv_cm)
    base = [f for f in files if f"_{tag}_" in f]
    return tuple(base or files)


def correct_resolution(
    toa: Mapping[str, F32],
    scl: npt.NDArray[np.uint8],
    *,
    resolution: int,
    lut: AtmosphericLut | Mapping[str, AtmosphericLut],
    params: AcParameters,
    solar_irradiance: Mapping[str, float],
    sun_zenith: npt.ArrayLike,
    sun_azimuth: npt.ArrayLike,
    view_zenith: float,
    view_azimuth: float,
    elevation_km: F32 | None = None,
    terrain: TerrainInputs | None = None,
    cams_visibility_index: aot_mod.CamsIndex = None,
    previous: AcResult | None = None,
    ozone_du: float = 0.0,
    ozone_source: str = "CONFIG",
    season: str | None = None,
    fixed_wv_cm: float | None = None,
    release_toa: bool = False,
    boa_sink: Callable[[str, F32], npt.NDArray[np.generic] | None] | None = None,
    maps_sink: Callable[[str, MapRows], None] | None = None,
    band_threads: int = 1,
) -> AcResult:
    """Atmospheric correction of one tile at one resolution.

    Parameters
    ----------
    toa : mapping of band id → numpy.ndarray of float32, shape (rows, cols)
        TOA reflectance at the working resolution; 0 = no data.  20/60 m: B01…B12 incl. B8A, B09, B10
        (B10 only for cirrus correction); 10 m: B02, B03, B04, B08.
    scl : numpy.ndarray of uint8, shape (rows, cols)
        Scene classification (facts §2.2 codes).
    resolution : int
        10, 20 or 60 (m).
    lut : AtmosphericLut or mapping aerosol → AtmosphericLut
        Tables with all WV levels (``atm.load_sen2cor_lut``) for the resolution; for ``Aerosol_Type``
        AUTO a mapping with ``RURAL`` and ``MARITIME``.
    params : AcParameters
    solar_irradiance : mapping of band id → float
        L1C SOLAR_IRRADIANCE (W m⁻² µm⁻¹).
    sun_zenith, sun_azimuth : array_like of float
        Per-pixel (tile shape) or scalar sun angles (°).
    view_zenith, view_azimuth : float
        Tile-mean view angles (°).
    elevation_km : numpy.ndarray of float32, optional
        DEM (km); None → flat at ``params.altitude``.
    terrain : TerrainInputs, optional
        Slope / aspect / cos β / cast shadow / sky view of the DEM.
    cams_visibility_index : numpy.ndarray of int, or a function returning one, optional
        Visibility index from CAMS (:mod:`sen2cor.ac.cams`), used when there are no DDV pixels (a function
        is called only then).
    previous : AcResult, optional
        The 20 m result, for the 10 m run.
    ozone_du : float
        Ozone column used for the LUT (reported).
    ozone_source : str
        AUX_ECMWFT | CONFIG | OTHER (reported).
    season : str, optional
        SUMMER / WINTER; default from the LUT attributes.
    fixed_wv_cm : float, optional
        Skip APDA and use this water-vapour column (cm above the ground) everywhere — for validation
        against a known truth (closed loop); reported as WV method ``FIXED``.
    release_toa : bool
        The caller hands ``toa`` over: each band is removed from it (a mutable mapping) as soon as its
        surface reflectance is computed, so that TOA and BOA of a full tile are not in memory together.
    boa_sink : callable, optional
        Called with ``(band id, surface reflectance)`` as soon as a band is corrected (0 = no data; the
        array is the sink's to modify); what it returns is kept in ``AcResult.boa`` instead (e.g. the
        encoded uint16 product DN, half the memory of float32), nothing when it returns None (the sink
        wrote the band).
    maps_sink : callable, optional
        Called with ``("WVP", rows)`` once the water vapour is known, before the surface reflectance:
        ``rows(slice)`` computes those rows of the map ``AcResult.wv_cm`` will hold (cm, 0 outside the
        valid pixels), so that the caller can write the map while the bands are corrected (without a
        second tile-size float32 map: the result's is made after the bands, as before).
    band_threads : int
        Bands whose surface reflectance is computed at once (each holds a tile-size float32 array and
        its step-2 strip temporaries); the sink still receives them one at a time, in band order.  The
        result does not depend on it.

    Returns
    -------
    AcResult
        With ``info.ac_enabled`` False (and empty ``boa``) when the tile has no valid pixel, lacks a
        required band, or is a 10 m run without 20 m result.

    Raises
    ------
    ProcessingError
        The sun is below the horizon (mean SZA > 90°).
    """
    scl = np.asarray(scl, dtype=np.uint8)
    shape = scl.shape
    luts = _luts(lut, params)
    first = next(iter(luts.values()))
    season = (season or first.attrs.get("season", "SUMMER")).upper()
    base_info = {"season": season, "ozone_du": float(ozone_du), "ozone_source": ozone_source,
                 "aerosol_type": next(iter(luts))}
    handed_over = toa if release_toa and isinstance(toa, MutableMapping) else None
    keys = {band_info(b).id: b for b in toa}
    # ToaImage bands stay uint16 DN (converted where used, part by part in the per-cell steps)
    toa = {band_info(b).id: v if isinstance(v, ToaImage) else np.asarray(v, dtype=np.float32)
           for b, v in toa.items()}
    valid = scl > SceneClass.SATURATED_DEFECTIVE
    missing = [b for b in REQUIRED_BANDS.get(resolution, REQUIRED_BANDS[20]) if b not in toa]
    if missing:
        return _skipped(shape, resolution, f"bands {', '.join(missing)} missing at {resolution} m", **base_info)
    if not valid.any() or not any(np.any(toa[b][valid] > 0) for b in REQUIRED_BANDS[resolution]):
        return _skipped(shape, resolution, "no valid pixel (black tile, or only no-data/saturated classes)",
                        **base_info)
    if resolution == 10 and previous is None:
        return _skipped(shape, resolution, "the 10 m run needs the 20 m result (facts §5 item 1)", **base_info)
    sza_mean = float(np.nanmean(sun_zenith))
    if sza_mean > 90.0:
        raise ProcessingError(f"mean solar zenith {sza_mean:.1f}° > 90°: the sun is below the horizon")

    terrain_state = prepare_terrain(shape, sun_zenith, sun_azimuth, scl, params, resolution, elevation_km, terrain)
    if terrain_state.max_elevation_km > LUT_TOP_ELEVATION_KM:
        luts = {k: v.extend_elevation(terrain_state.max_elevation_km) for k, v in luts.items()}
    cells = cell_grid(shape)
    geometries = cell_geometries(cells, sun_zenith, sun_azimuth, view_zenith, view_azimuth)
    scene = scene_geometry(sun_zenith, sun_azimuth, view_zenith, view_azimuth)

    cirrus = None
    if params.cirrus_correction and resolution > 10:
        cirrus = cirrus_mod.prepare_cirrus(toa, scl, scene.sza_deg)
        if cirrus is not None:
            toa = {b: (v if b == "B10" else cirrus_mod.correct_toa(b, v, cirrus, scl)) for b, v in toa.items()}

    # ---------------------------------------------------------------- aerosol
    if previous is not None:
        aer = _aerosol_from_previous(previous, scl)
        aerosol_name = previous.info.aerosol_type.upper()
        aerosol_name = aerosol_name if aerosol_name in luts else next(iter(luts))
    else:
        results = {}
        # computed where used (five full radiance bands would take 0.6 GB for a 20 m tile)
        rad = {b: RadianceImage(toa[b], solar_irradiance[b], scene.cos_sza)
               for b in AEROSOL_RETRIEVAL_BANDS if b in toa}
        for name, table in luts.items():
            ctx = aot_mod.AerosolContext(toa, rad, scl, terrain_state, cells, geometries, scene, resolution, params,
                                         table, cirrus_correction=cirrus is not None)
            results[name] = aot_mod.retrieve_aerosol(ctx, cams_visibility_index)
        aerosol_name = _choose_aerosol(results)
        aer = results[aerosol_name]
        del rad, ctx, results  # the radiances (five full bands) are not needed any more
    lut_sel = luts[aerosol_name]

    # ---------------------------------------------------------------- water vapour
    visibility = min(aer.visibility_km, MAX_VISIBILITY_KM)
    wv_scaled = None
    wv_mean = 0.0
    wv_method = "NA"
    if previous is not None:
        wv_cm = _upsample_nearest(previous.wv_cm, shape).astype(np.float32)
        wv_mean = previous.info.mean_wv_cm * WV_SCALE
        wv_method = previous.info.wv_retrieval_method
    elif fixed_wv_cm is not None:
        wv_mean = float(fixed_wv_cm) * WV_SCALE
        wv_scaled = np.full(shape, wv_mean, np.float32)
        wv_cm = np.full(shape, np.float32(fixed_wv_cm), np.float32)
        wv_method = "FIXED"
    elif params.wv_correction > 0 and "B8A" in toa and "B09" in toa:
        wv_scaled, wv_mean = retrieve_water_vapour(
            toa["B8A"], toa["B09"], (solar_irradiance["B8A"], solar_irradiance["B09"]), scl, toa["B02"] > 0, cells,
            geometries, lut_sel, visibility, season, params, resolution, elevation_km)
        wv_method = "SEN2COR_APDA"
        wv_cm = None  # from wv_scaled after the reflectance loop (one full-size map less meanwhile)
    else:
        wv_cm = np.zeros(shape, np.float32)

    if maps_sink is not None:
        maps_sink("WVP", partial(_valid_wv_rows, wv_cm, wv_scaled, valid))

    # ---------------------------------------------------------------- RT tables per cell
    bands = [b for b in toa if b != "B10" and b in lut_sel.bands]
    z = elevation_class_km(terrain_state.n_classes)
    tables = [rt_table(lut_sel, bands, g, z, vis_index=np.arange(N_VIS_INDEX)) for g in geometries]
    wv_fits = None
    wv_range = 0
    if wv_scaled is not None:
        wv_bands = [b for b in WV_DEPENDENT_BANDS if b in bands]
        if wv_bands:
            wv_fits = [wv_fit_table(lut_sel, wv_bands, g, z, visibility, season) for g in geometries]
            wv_range = wv_range_index(wv_mean, season, terrain_state.mean_class, wv_fits[0].n_ranges)
    blue = aer.blue_factor
    ctx_boa = BoaContext(terrain_state, cells, geometries, tables, aer.vis_index, aer.mean_index, params, wv_fits,
                         wv_range, wv_scaled, blue_lp_factors(blue, tuple(bands)))
    if params.brdf_code > 0 and not terrain_state.flat:
        nir = "B08" if resolution == 10 else "B8A"
        ctx_boa = replace(ctx_boa, brdf_factors=brdf_factors(
            params.brdf_code, params.brdf_lower_bound, terrain_state.cos_beta, scene.sza_deg, bands, scl,
            rho_red=step1_band(ctx_boa, "B04", toa["B04"], solar_irradiance["B04"]),
            rho_nir=step1_band(ctx_boa, nir, toa[nir], solar_irradiance[nir]),
            vegetation_ratio=params.ac_vegetation_index_th))

    # ---------------------------------------------------------------- reflectance
    if release_toa:  # bands not corrected (B10: the cirrus correction is done) are not needed any more
        for b in [b for b in toa if b not in bands]:
            toa.pop(b, None)
            if handed_over is not None:
                handed_over.pop(keys[b], None)
    adj = setup_adjacency(scl, params.adj_km, resolution, cirrus_correction=cirrus is not None)
    centre = tables[ctx_boa.centre]
    boa: dict[str, npt.NDArray[np.generic]] = {}
    negative: dict[str, float] = {}
    n_valid = max(int(np.count_nonzero(valid)), 1)
    step2 = _Step2(adj, centre, aer.mean_index, resolution) if params.rho_retrieval_step2 else None

    work = partial(_surface_reflectance, ctx_boa, valid=valid, step2=step2)
    # bands are independent: up to band_threads at once, handed to the sink in band order
    workers = max(1, min(band_threads, concurrent_threads(), len(bands)))
    todo = ((b, toa[b], solar_irradiance[b]) for b in bands)
    for b, rho in zip(bands, ordered_map(work, todo, workers)):
        negative[b] = 100.0 * np.count_nonzero((rho < 0) & valid) / n_valid
        kept = rho if boa_sink is None else boa_sink(b, rho)
        if kept is not None:
            boa[b] = kept
        del rho
        if release_toa:
            toa.pop(b, None)
            if handed_over is not None:
                handed_over.pop(keys[b], None)

    # ---------------------------------------------------------------- maps and quality values
    if wv_cm is None:
        wv_cm = (wv_scaled / np.float32(WV_SCALE)).astype(np.float32)
    brdf_used = bool(ctx_boa.brdf_factors)
    del wv_scaled, ctx_boa, tables, centre, adj, step2, work  # full-size maps not needed any more
    if previous is not None:
        aot550 = _upsample_nearest(previous.aot550, shape).astype(np.float32)
    else:
        aot550 = aot_mod.aot_map(aer.vis_index, scl, terrain_state, resolution)
    aot_q, wv_q, wv_cm = _quantised_maps(aot550, wv_cm, valid)
    info = AcInfo(
        ac_enabled=True,
        aot_retrieval_method=aer.method,
        wv_retrieval_method=wv_method,
        start_visibility_km=aer.start_visibility_km,
        visibility_from_ddv_km=aer.visibility_ddv_km,
        final_visibility_km=visibility,
        mean_visibility_index=int(aer.mean_index),
        ddv_pixel_percentage=aer.ddv.percentage,
        ddv_reflectance_range=aer.ddv.reflectance_range,
        ddv_b12_threshold=aer.ddv.b12_threshold,
        blue_path_radiance_factor=blue,
        blue_path_radiance_factor_computed=aer.blue_factor_computed,
        aerosol_double_ratio=aer.double_ratio,
        mean_aot=float(aot_q[aot_q > 0].mean() / 1000.0) if np.any(aot_q > 0) else 0.0,
        mean_wv_cm=float(wv_q[(wv_q > 0) & valid].mean() / WV_SCALE) if np.any((wv_q > 0) & valid) else 0.0,
        negative_boa_percent=negative,
        lut_files=_base_file(lut_sel),
        aerosol_type=aerosol_name,
        season=season,
        ozone_du=float(ozone_du),
        ozone_source=ozone_source,
        average_solar_zenith_deg=sza_mean,
        cirrus_gamma=None if cirrus is None else cirrus.gamma_land,
        brdf_code=params.brdf_code if brdf_used else 0,
        terrain_correction=not terrain_state.flat,
    )
    logger.info("AC %d m: method %s, visibility %.2f km, mean AOT %.3f, mean WV %.3f cm", resolution, aer.method,
                visibility, info.mean_aot, info.mean_wv_cm)
    return AcResult(boa, aot550, wv_cm, aer.vis_index, aer.ddv.mask, info, resolution)


def _valid_wv_rows(wv_cm: F32 | None, wv_scaled: F32 | None, valid: npt.NDArray[np.bool_], rows: slice) -> F32:
    """Rows of the water-vapour map (cm) that :func:`correct_resolution` returns: ``wv_cm``, or else
    ``wv_scaled / WV_SCALE``, zeroed outside ``valid`` (the operations of :func:`_quantised_maps`)."""
    if wv_cm is not None:
        wv = wv_cm[rows]
    else:
        assert wv_scaled is not None  # the APDA retrieval's map
        wv = (wv_scaled[rows] / np.float32(WV_SCALE)).astype(np.float32)
    return np.where(valid[rows], wv, np.float32(0.0))


def _quantised_maps(aot550: F32, wv_cm: F32, valid: npt.NDArray[np.bool_]) -> tuple[F32, F32, F32]:
    """AOT and WV as the product stores them (for the granule means) and the WV map zeroed outside
    ``valid``: ``floor(aot·1000 + 0.5)``, ``floor(wv·1000)``, ``where(valid, wv, 0)``, by row strips on
    threads (the same operations, in the same types, as on the whole tile)."""
    aot_q = np.empty(aot550.shape, (aot550[:0] * 1000.0).dtype)
    wv_q = np.empty(wv_cm.shape, (wv_cm[:0] * WV_SCALE).dtype)
    wv_valid = np.empty(wv_cm.shape, np.float32)

    def strip(rows: slice) -> None:
        aot_q[rows] = np.floor(aot550[rows] * 1000.0 + 0.5)
        wv_q[rows] = np.floor(wv_cm[rows] * WV_SCALE)
        wv_valid[rows] = np.where(valid[rows], wv_cm[rows], np.float32(0.0))

    for_each_strip(strip, valid.shape[0])
    return aot_q, wv_q, wv_valid


def _aerosol_from_previous(previous: AcResult, scl: npt.NDArray[np.uint8]) -> aot_mod.AerosolResult:
    """The 20 m aerosol state up-sampled for the 10 m run; mean index over SCL 4/5 (facts §5 item 1)."""
    vis_index = _upsample_nearest(previous.vis_index, scl.shape)
    p = previous.info
    mean_index = aot_mod.land_mean_index(vis_index, scl, p.mean_visibility_index)
    ddv = aot_mod.ddv_mod.DdvSelection(np.zeros(scl.shape, bool), np.zeros(0, np.float32), p.ddv_b12_threshold,
                                       p.ddv_pixel_percentage, p.ddv_reflectance_range)
    visibility = min(float(visibility_of_index(mean_index)), MAX_VISIBILITY_KM)
    return aot_mod.AerosolResult(vis_index, mean_index, visibility, p.visibility_from_ddv_km, p.start_visibility_km,
                                 p.aot_retrieval_method, ddv, p.blue_path_radiance_factor,
                                 p.blue_path_radiance_factor_computed, p.aerosol_double_ratio)


def _choose_aerosol(results: Mapping[str, aot_mod.AerosolResult]) -> str:
    """The aerosol model whose blue/red double ratio is closest to 1 (facts §7.3 item 9); RURAL if undecided."""
    names = list(results)
    if len(names) == 1:
        return names[0]
    scored = {n: abs(r.double_ratio - 1.0) for n, r in results.items() if r.double_ratio is not None}
    if not scored:
        logger.info("AUTO aerosol: no double ratio (not enough DDV pixels); standard model RURAL")
        return "RURAL" if "RURAL" in results else names[0]
    best = min(scored, key=lambda n: scored[n])
    logger.info("AUTO aerosol: double ratios %s → %s", {n: round(r.double_ratio or 0, 4) for n, r in results.items()},
                best)
    return best
