"""The scene-classification chain of Sen2Cor 2.11, in ATBD order (facts §6).

:func:`classify` takes TOA reflectance on the working grid (20 m or 60 m) plus optional auxiliary maps
and returns the SCL, the cloud and snow probability maps and the cloud-height statistics.  Every step is
a small function of :mod:`sen2cor.sc` working on a :class:`~sen2cor.sc.state.ScState`; this module only
sequences them, for the default "evolution" algorithm (2.10/2.11, facts §6.3) and the "classic" one
(2.9, ``--sc_classic``, facts §6.2).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from sen2cor.errors import FallbackWarning, ProcessingError
from sen2cor.physics.toa_image import LazyImage, ToaImage
from sen2cor.sc import auxiliary, brightness, cirrus, parallax, post, ratios, recoveries, shadow, snow
from sen2cor.sc.classes import SceneClass
from sen2cor.sc.parallax import CloudHeightStats
from sen2cor.sc.state import ScState
from sen2cor.sc.strips import band_rows, for_each_strip, optional_rows
from sen2cor.sc.thresholds import KLT_MIN_VALID_FRACTION, SHADOW_CLOUD_MASK_MIN, ScThresholds

log = logging.getLogger(__name__)

Mode = Literal["evolution", "classic"]
Float32Array = NDArray[np.float32]

REQUIRED_BANDS = ("B01", "B02", "B03", "B04", "B05", "B8A", "B10", "B11", "B12")
"""Bands the chain reads (B06, B07 and B09 are optional; B09 feeds only the classic land recovery)."""


@dataclass(frozen=True)
class ScResult:
    """Outputs of the scene classification.

    Attributes
    ----------
    scl : ndarray of uint8, shape (rows, cols)
        Scene classification, codes of :class:`~sen2cor.sc.classes.SceneClass`.
    cloud_probability, snow_probability : ndarray of uint8, shape (rows, cols)
        CLD and SNW maps, 0–100, zero on classes 0 and 1.
    cloud_height_stats : CloudHeightStats or None
        Heights (m) tracked in the cloud mask by the parallax step (evolution mode only).
    diagnostics : dict
        Scalars found on the way (B10 thresholds, shadow threshold, counts of removed false clouds …).
    """

    scl: NDArray[np.uint8] = field(repr=False)
    cloud_probability: NDArray[np.uint8] = field(repr=False)
    snow_probability: NDArray[np.uint8] = field(repr=False)
    cloud_height_stats: CloudHeightStats | None = None
    diagnostics: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(step: str) -> Iterator[None]:
    """Log the duration of one step at DEBUG (wall and CPU time of the process, all threads)."""
    start, cpu = time.perf_counter(), time.process_time()
    yield
    log.debug("sc.%s: %.3f s (%.1f CPU-s)", step, time.perf_counter() - start, time.process_time() - cpu)


def _scalar_angle(value: NDArray[np.floating] | float, name: str) -> float:
    """The tile-mean angle (Sen2Cor uses ``Mean_Sun_Angle`` of ``MTD_TL.xml`` for the classification)."""
    v = float(np.nanmean(np.asarray(value, dtype=np.float64)))
    if not np.isfinite(v):
        raise ProcessingError(f"scene classification: {name} is not finite")
    return v


def _prepare_bands(toa: Mapping[str, NDArray[np.floating]], resolution: int) -> dict[str, Float32Array]:
    missing = [b for b in REQUIRED_BANDS if b not in toa]
    if missing:
        raise ProcessingError(f"scene classification at {resolution} m needs TOA bands {', '.join(missing)}")
    # ToaImage bands stay uint16 DN: strips convert only their rows
    bands = {k: v if isinstance(v, ToaImage) else np.ascontiguousarray(v, dtype=np.float32)
             for k, v in toa.items() if k != "B08"}
    shapes = {v.shape for v in bands.values()}
    if len(shapes) != 1:
        raise ProcessingError(f"scene classification: TOA bands have different shapes {sorted(shapes)}")
    return bands


def preprocess(
    bands: Mapping[str, Float32Array], quality_mask: NDArray[np.bool_] | None, t: ScThresholds
) -> ScState:
    """Pre-processing (facts §6.1 step 0): L1C quality mask → SATURATED_DEFECTIVE, any zero band → NO_DATA.

    Raises
    ------
    ProcessingError
        When no valid pixel is left (Sen2Cor stops the classification there).
    """
    shape = next(iter(bands.values())).shape
    state = ScState.start(shape, b10_land_threshold=float(t.f32("t1_b10")))

    def strip(rows: slice) -> None:
        scl = state.scl[rows]
        if quality_mask is not None:
            scl[quality_mask[rows].astype(bool)] = SceneClass.SATURATED_DEFECTIVE
        for b in bands.values():  # a ToaImage finds its zeros in the DN, without converting the rows
            scl[b.zeros(rows) if isinstance(b, LazyImage) else b[rows] == 0] = SceneClass.NO_DATA
        state.valid[rows] = (scl != SceneClass.NO_DATA) & (scl != SceneClass.SATURATED_DEFECTIVE)

    for_each_strip(strip, shape[0])
    return state


def classify(
    toa: Mapping[str, NDArray[np.floating]],
    *,
    resolution: int,
    thresholds: ScThresholds | None = None,
    mode: Mode = "evolution",
    sun_zenith: NDArray[np.floating] | float,
    sun_azimuth: NDArray[np.floating] | float,
    b08_toa: NDArray[np.floating] | None = None,
    quality_mask: NDArray[np.bool_] | None = None,
    dem: NDArray[np.floating] | None = None,
    slope: NDArray[np.floating] | None = None,
    cast_shadow: NDArray[np.bool_] | None = None,
    illumination: NDArray[np.uint8] | None = None,
    esacci_lcm: NDArray[np.generic] | None = None,
    wbi: NDArray[np.generic] | None = None,
    snc: NDArray[np.generic] | None = None,
    snow_map: NDArray[np.generic] | None = None,
    altitude_km: float = 0.1,
    median_filter: int = 0,
) -> ScResult:
    """Classify one tile (or crop) the way Sen2Cor 2.11 does (facts §6).

    Parameters
    ----------
    toa : mapping of band id → ndarray of float32, shape (rows, cols)
        TOA reflectance (unitless, 0 = no data) of B01 … B12 and B8A on the working grid: 10 m bands
        block-averaged, 60 m bands up-sampled (bicubic; bilinear for B09/B10) as Sen2Cor imports them.
        ``B08`` is ignored here (see ``b08_toa``).
    resolution : int
        Working pixel size, 20 or 60 (metres).
    thresholds : ScThresholds, optional
        SC GIPP thresholds; defaults to the 2.11 values.
    mode : {"evolution", "classic"}
        Sen2Cor 2.10/2.11 algorithm (default) or the 2.9 one (``--sc_classic``).
    sun_zenith, sun_azimuth : float or ndarray
        Sun angles in degrees; the tile mean is used (Sen2Cor takes ``Mean_Sun_Angle``).
    b08_toa : ndarray of float32, shape (rows, cols), optional
        10 m B08 block-averaged to the working grid, for the parallax cloud heights (evolution).  Without
        it the parallax step is skipped (a :class:`~sen2cor.errors.FallbackWarning`).
    quality_mask : ndarray of bool, optional
        L1C "lost data" quality mask → SATURATED_DEFECTIVE.
    dem, slope, cast_shadow, illumination : ndarray, optional
        DEM (m), slope (degrees), cast-shadow mask and illumination byte (≈ 255·cos β) on the working
        grid; the DEM-based steps run only when ``dem`` and the derived maps they need are given.
        ``cast_shadow`` is merged into ``illumination`` as value 1 (Sen2Cor's SDW convention).
    esacci_lcm, wbi, snc : ndarray, optional
        ESA-CCI land cover, water bodies (2 = water) and monthly snow condition on the working grid.
    snow_map : ndarray, optional
        Global snow climatology over the tile (> 0 = snow possible); ``None`` → snow detection runs.
    altitude_km : float
        GIPP ``Altitude`` used as flat terrain elevation when there is no DEM.
    median_filter : int
        GIPP ``Median_Filter`` window (0 = off).

    Returns
    -------
    ScResult

    Raises
    ------
    ProcessingError
        Missing bands, inconsistent shapes, sun below the horizon, or no valid pixel.
    """
    t = thresholds if thresholds is not None else ScThresholds()
    if resolution not in (20, 60):
        raise ProcessingError(f"scene classification runs at 20 or 60 m, not {resolution} m")
    sza = _scalar_angle(sun_zenith, "sun zenith")
    saa = _scalar_angle(sun_azimuth, "sun azimuth")
    if sza > 90.0:
        raise ProcessingError(f"night-time acquisition: sun zenith {sza:.2f}° > 90°")
    bands = _prepare_bands(toa, resolution)
    if illumination is not None and cast_shadow is not None:
        illumination = np.where(cast_shadow.astype(bool), np.uint8(1), illumination).astype(np.uint8)
    if dem is None:
        slope = illumination = None
    with _timed("preprocess"):
        state = preprocess(bands, quality_mask, t)
    if not state.valid.any():
        raise ProcessingError("all pixels are no-data or saturated: nothing to classify")
    tracker = None
    enough_valid = np.count_nonzero(state.valid) / state.valid.size > KLT_MIN_VALID_FRACTION
    if mode == "evolution" and b08_toa is not None and enough_valid:
        # The tracking images (B08 and B8A only) are built, and the valid area's corners tracked, on a
        # background thread while the cloud probability and the recoveries are computed.
        tracker = parallax.ParallaxTracker.from_bands(b08_toa, bands["B8A"], track=state.valid)

    with _timed("cloud_probability"):
        _cloud_probability_chain(state, bands, t, snc, snow_map, dem, altitude_km, mode)
    if mode == "evolution":
        stats = _evolution_tail(
            state,
            bands,
            t,
            sza,
            saa,
            b08_toa is not None,
            tracker,
            dem,
            slope,
            illumination,
            esacci_lcm,
            wbi,
            resolution,
        )
    else:
        stats = None
        _classic_tail(state, bands, t, sza, saa, dem, slope, illumination, esacci_lcm, wbi, resolution)

    post.unclassified_fallback(state, mode)
    post.median_smoothing(state, median_filter)
    if mode == "evolution" and esacci_lcm is not None and wbi is not None:
        with _timed("post_dilation"):
            post.dilation_post_processing(state, esacci_lcm, wbi)
    cld, snw = post.probability_maps(state)
    if stats is not None:
        state.diagnostics.update(cloud_height_mean_m=stats.mean, cloud_height_std_m=stats.std)
    return ScResult(state.scl, cld, snw, stats, dict(state.diagnostics))


def _cloud_probability_chain(
    state: ScState,
    bands: dict[str, Float32Array],
    t: ScThresholds,
    snc: NDArray[np.generic] | None,
    snow_map: NDArray[np.generic] | None,
    dem: NDArray[np.floating] | None,
    altitude_km: float,
    mode: Mode,
) -> None:
    """Steps 1a–7 (facts §6.1 steps 1–10), common to both modes.

    Every step but the snow ring test (a dilation) and the ESA-CCI snow check (a tile mean) looks at each
    pixel on its own, so the chain runs by row strips around those two.
    """
    with_snow = snow.scene_could_have_snow(snow_map)
    if not with_snow:
        log.info("no snow in the snow climatology over the tile: snow detection skipped")
    snc_dry = snc is not None and snow.snc_mostly_dry(snc)

    def before_ring(rows: slice) -> None:
        st, b = state.rows(rows), band_rows(bands, rows)
        ndsi = brightness.normalized_difference(b["B03"], b["B11"])
        brightness.red_brightness(st, b["B04"], b["B8A"], t)
        brightness.ndsi_cloud(st, ndsi, t)
        if with_snow:
            snow.snow_filters(st, b, ndsi, t, optional_rows(snc, rows), snc_dry=snc_dry)

    def after_ring(rows: slice) -> None:
        st, b = state.rows(rows), band_rows(bands, rows)
        ratios.ndvi_vegetation(st, brightness.normalized_difference(b["B8A"], b["B04"]), b["B02"], t)
        ratios.soil_ratio(st, b["B02"], b["B11"], t)
        ratios.water_ratio(st, b, t)
        ratios.rocks_sand_ratio(st, b["B02"], b["B8A"], b["B11"], t)
        ratios.red_swir_ratio(st, b["B04"], b["B11"])
        brightness.cloud_probability_classes(st, t)
        cirrus.cirrus_classes(st, b["B02"], b["B10"], t, optional_rows(dem, rows), altitude_km, mode)

    rows = state.scl.shape[0]
    for_each_strip(before_ring, rows)
    if with_snow:
        snow.snow_ring_test(state, bands["B12"], t)
        snow.snow_cci_check(state, snc, mode)
    for_each_strip(after_ring, rows)


def _vegetation_and_water_recovery(
    state: ScState, bands: dict[str, Float32Array], t: ScThresholds, mode: Mode
) -> None:
    """Dark-vegetation then water recovery (facts §6.2, §6.3), pixel by pixel, by row strips."""

    def strip(rows: slice) -> None:
        st, b = state.rows(rows), band_rows(bands, rows)
        ndvi = brightness.normalized_difference(b["B8A"], b["B04"])
        recoveries.dark_vegetation_recovery(st, ndvi, b["B03"], b["B8A"], t, mode)
        recoveries.water_recovery(st, b, t)

    for_each_strip(strip, state.scl.shape[0])


def _soil_recovery(state: ScState, bands: dict[str, Float32Array], mode: Mode) -> None:
    """Soil recovery (facts §6.2, §6.3) by row strips."""
    b02, b11 = bands["B02"], bands["B11"]
    for_each_strip(
        lambda rows: recoveries.soil_recovery(state.rows(rows), b02[rows], b11[rows], mode),
        state.scl.shape[0],
    )


def _evolution_tail(
    state: ScState,
    bands: dict[str, Float32Array],
    t: ScThresholds,
    sza: float,
    saa: float,
    with_b08: bool,
    tracker: parallax.ParallaxTracker | None,
    dem: NDArray[np.floating] | None,
    slope: NDArray[np.floating] | None,
    illumination: NDArray[np.uint8] | None,
    lcm: NDArray[np.generic] | None,
    wbi: NDArray[np.generic] | None,
    resolution: int,
) -> CloudHeightStats | None:
    """Evolution recoveries, parallax, cloud shadow and clean-up (facts §6.3), in Sen2Cor's order."""
    with _timed("recoveries"):
        _vegetation_and_water_recovery(state, bands, t, "evolution")
        auxiliary.cci_water_recovery(state, wbi, "evolution")
        if dem is not None:
            auxiliary.dem_water_cleaning(state, slope, illumination, "evolution")
            auxiliary.topographic_shadow_evolution(state, bands, illumination, sza)
        snow.snow_recovery(state, bands["B11"], bands["B04"], "evolution")
        snow.snow_soil_borders(state)
        _soil_recovery(state, bands, "evolution")
        if lcm is not None:
            cirrus.cirrus_recovery_evolution(state, bands["B10"], t, sza, dem, illumination)
            auxiliary.urban_bare_recovery(state, lcm, "evolution")
        recoveries.bright_pixel_recovery(state, bands, wbi)

    stats = None
    with _timed("parallax"):
        if not with_b08:
            warnings.warn("no B08 given: parallax cloud heights skipped", FallbackWarning, stacklevel=3)
            log.warning("no B08 given: parallax cloud heights skipped, generic cloud profile used")
        elif tracker is not None:
            snow_before = state.scl == SceneClass.SNOW_ICE
            heights = parallax.tracked_height_image(tracker, state.valid, resolution)
            if heights is not None:
                b10c = cirrus.b10_terrain_corrected(bands["B10"], sza, illumination, dem)
                parallax.false_cloud_removal(state, heights, b10c, wbi)
                parallax.false_snow_removal(state, heights, snow_before)
            del heights, snow_before
    with _timed("shadow"):
        cloud_mask = parallax.shadow_cloud_mask(state.cloud, SHADOW_CLOUD_MASK_MIN)
        if tracker is not None:
            stats = parallax.tracked_height_stats(tracker, cloud_mask, resolution)
            tracker.release()
        profile = shadow.cloud_profile(stats, resolution)
        geometric = shadow.geometric_shadow(
            cloud_mask, state.valid, profile, saa, shadow.shadow_mode_zenith("evolution", sza)
        )
        radiometric = shadow.radiometric_shadow_evolution(state, bands, geometric, wbi, illumination, sza)
        shadow.apply_shadow(state, radiometric, geometric)
    auxiliary.cci_water_recovery(state, wbi, "evolution")
    if dem is not None:
        auxiliary.dem_cloud_shadow_cleaning(state, illumination, "evolution")
    recoveries.dark_feature_cleaning(state)
    return stats


def _classic_tail(
    state: ScState,
    bands: dict[str, Float32Array],
    t: ScThresholds,
    sza: float,
    saa: float,
    dem: NDArray[np.floating] | None,
    slope: NDArray[np.floating] | None,
    illumination: NDArray[np.uint8] | None,
    lcm: NDArray[np.generic] | None,
    wbi: NDArray[np.generic] | None,
    resolution: int,
) -> None:
    """Classic (2.9) cloud shadow and recoveries (facts §6.2), in Sen2Cor's order."""
    with _timed("shadow"):
        radiometric = shadow.radiometric_shadow_classic(state, bands, t)
        cloud_mask = parallax.shadow_cloud_mask(state.cloud, SHADOW_CLOUD_MASK_MIN)
        profile = shadow.generic_cloud_profile(resolution)
        geometric = shadow.geometric_shadow(
            cloud_mask, state.valid, profile, saa, shadow.shadow_mode_zenith("classic", sza)
        )
        shadow.apply_shadow(state, radiometric, geometric)
    with _timed("recoveries"):
        _vegetation_and_water_recovery(state, bands, t, "classic")
        auxiliary.cci_water_recovery(state, wbi, "classic")
        if dem is not None:
            auxiliary.dem_water_cleaning(state, slope, illumination, "classic")
            auxiliary.dem_cloud_shadow_cleaning(state, illumination, "classic")
            auxiliary.topographic_shadow_classic(state, bands, illumination, wbi)
        snow.snow_recovery(state, bands["B11"], bands["B03"], "classic")
        _soil_recovery(state, bands, "classic")
        auxiliary.land_recovery_classic(state, bands, lcm, resolution)
        if lcm is not None:
            cirrus.cirrus_recovery_classic(state, bands["B10"], dem)
        auxiliary.urban_bare_recovery(state, lcm, "classic")
