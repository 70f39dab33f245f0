"""Cloud-shadow detection: a radiometric probability (distance to a reference shadow spectrum) times a
geometric probability (the cloud mask projected along the sun direction over a cloud-height profile).
Sen2Cor SC steps L2A_SHD, L2A_CSHD_1, L2A_CSHD_2(_KLT_GAUSSIAN_BIS); facts §6.2, §6.3.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import fft, ndimage, special

from sen2cor.sc import morphology, overlap_add
from sen2cor.sc.classes import SceneClass
from sen2cor.sc.parallax import CloudHeightStats
from sen2cor.sc.state import ScState
from sen2cor.sc.strips import for_each_strip
from sen2cor.sc.thresholds import (
    BRIGHT_WATER_NDWI_MIN,
    CLASSIC_SHADOW_WATER_R_B02_B11,
    CLOUD_PROFILE_EXPONENT,
    CLOUD_PROFILE_FALL_SAMPLES,
    CLOUD_PROFILE_FALL_SCALE,
    CLOUD_PROFILE_PIXEL_M,
    CLOUD_PROFILE_RISE_SAMPLES,
    CLOUD_PROFILE_RISE_SCALE,
    KLT_PROFILE_MAX_TOP_M,
    KLT_PROFILE_SIGMAS,
    LOCAL_INCIDENCE_MARGIN_DEG,
    LOCAL_INCIDENCE_SZA_MAX_DEG,
    SHADOW_BANDS,
    SHADOW_DECISION_MIN,
    SHADOW_FFT_PADDING,
    SHADOW_GAUSSIAN_SIGMA_PX,
    SHADOW_REFERENCE_SPECTRUM,
    SHADOW_STATS_EROSION_PX,
    SHADOW_STATS_GEOMETRIC_MAX,
    SHADOW_STATS_LAND_MIN_FRACTION,
    SHADOW_STATS_NEIGHBOURHOOD_PX,
    SHADOW_STATS_SNOW_LAND_RATIO,
    SHADOW_STATS_SNOW_MIN_FRACTION,
    SHADOW_T0_LAND_SIGMAS,
    SHADOW_T0_MAX,
    SHADOW_T0_MIN,
    SHADOW_T0_SNOW_SIGMAS,
    WBI_WATER,
    ScThresholds,
)

Float32Array = NDArray[np.float32]
f32 = np.float32


# --- radiometric part ---------------------------------------------------------------------------------


def _mean_distance_and_darkness(bands: dict[str, Float32Array]) -> tuple[Float32Array, NDArray[np.bool_]]:
    """Mean |ρ − ρ_ref| over the six shadow bands, and "darker than the reference in every band", by strips."""
    shape = bands[SHADOW_BANDS[0]].shape
    mean_abs = np.empty(shape, dtype=np.float32)
    all_dark = np.empty(shape, dtype=bool)

    def strip(rows: slice) -> None:
        first = bands[SHADOW_BANDS[0]][rows] - f32(SHADOW_REFERENCE_SPECTRUM[0])
        total, dark = np.abs(first), first < 0
        for band, ref in zip(SHADOW_BANDS[1:], SHADOW_REFERENCE_SPECTRUM[1:]):
            d = bands[band][rows] - f32(ref)
            total = total + np.abs(d)
            dark &= d < 0
        mean_abs[rows] = total / f32(len(SHADOW_BANDS))
        all_dark[rows] = dark

    for_each_strip(strip, shape[0])
    return mean_abs, all_dark


def shadow_similarity(bands: dict[str, Float32Array]) -> tuple[Float32Array, NDArray[np.bool_]]:
    """1 − median₃(mean |ρ − ρ_ref|) over the six shadow bands, and the "darker than the reference in every
    band" mask after a 3×3 median."""
    mean_abs, all_dark = _mean_distance_and_darkness(bands)
    similarity = morphology.median3(mean_abs)
    del mean_abs
    np.subtract(f32(1.0), similarity, out=similarity)
    return similarity, morphology.binary_median(all_dark, 3)


def radiometric_shadow_classic(
    state: ScState, bands: dict[str, Float32Array], t: ScThresholds
) -> Float32Array:
    """Classic radiometric shadow probability (facts §6.2).

    m = 1 − mean absolute deviation from the reference spectrum (3×3 median); m < 1 − T_B02_B12 → 0;
    pixels darker than the reference in all six bands → 1; water (B02/B11 > 6) and thin cirrus → 0.
    """
    m, all_dark = shadow_similarity(bands)
    m[m < f32(1.0) - t.f32("t_b02_b12")] = 0
    m[all_dark] = 1
    water = (bands["B02"] / np.clip(bands["B11"], f32(0.0001), f32(2.0))) > f32(
        CLASSIC_SHADOW_WATER_R_B02_B11
    )
    m[water] = 0
    m[state.scl == SceneClass.THIN_CIRRUS] = 0
    return m


def _shadow_threshold(
    m: Float32Array, region: NDArray[np.bool_], sigmas: float, geometric: Float32Array
) -> float:
    """T0 = clip(mean + k·σ of ``m`` over the eroded ``region`` near non-region pixels, 0.90, 0.9999)."""
    core = morphology.erode(
        region & (geometric < f32(SHADOW_STATS_GEOMETRIC_MAX)), morphology.square(SHADOW_STATS_EROSION_PX)
    )
    sample = morphology.dilate(~core, morphology.square(SHADOW_STATS_NEIGHBOURHOOD_PX)) & core
    if not sample.any():
        return float("nan")  # Sen2Cor's empty mean: no threshold applies
    v = m[sample]
    return float(np.clip(v.mean() + sigmas * v.std(), SHADOW_T0_MIN, SHADOW_T0_MAX))


def radiometric_shadow_evolution(
    state: ScState,
    bands: dict[str, Float32Array],
    geometric: Float32Array,
    wbi: NDArray[np.generic] | None,
    illumination: NDArray[np.uint8] | None,
    sun_zenith_deg: float,
) -> Float32Array:
    """Evolution radiometric shadow probability (facts §6.3).

    As classic, but the threshold T0 comes from the scene: mean + 2σ of m over clear land (VEGETATION,
    NOT_VEGETATED) away from the projected shadows, or mean + 3σ over snow when snow dominates; applied only
    when clear land > 2 % or snow > 5 % of the valid pixels.  Water = (B03 − B8A)/(B03 + B8A) > 0.35 (and
    ESA-CCI water when given); with a DEM and SZA < 45°, well-lit dark pixels → 1; clouds and cirrus → 0.
    """
    m, all_dark = shadow_similarity(bands)
    land = state.is_(SceneClass.NOT_VEGETATED, SceneClass.VEGETATION)
    snow = state.scl == SceneClass.SNOW_ICE
    n_land, n_snow, n_valid = (int(np.count_nonzero(x)) for x in (land, snow, state.valid))
    if n_land > SHADOW_STATS_LAND_MIN_FRACTION * n_valid or n_snow > SHADOW_STATS_SNOW_MIN_FRACTION * n_valid:
        if n_snow < SHADOW_STATS_SNOW_LAND_RATIO * n_land:
            t0 = _shadow_threshold(m, land, SHADOW_T0_LAND_SIGMAS, geometric)
        else:
            t0 = _shadow_threshold(m, snow, SHADOW_T0_SNOW_SIGMAS, geometric)
        state.diagnostics["shadow_threshold"] = t0
    else:
        t0 = None
    cos_limit = None
    if illumination is not None and sun_zenith_deg < LOCAL_INCIDENCE_SZA_MAX_DEG:
        cos_limit = np.cos(np.deg2rad(np.clip(sun_zenith_deg + LOCAL_INCIDENCE_MARGIN_DEG, 0.0, 90.0)))

    def strip(rows: slice) -> None:
        mr, st = m[rows], state.rows(rows)
        if t0 is not None:
            mr[mr < f32(t0)] = 0
        mr[all_dark[rows]] = 1
        if illumination is not None and cos_limit is not None:
            lit = (illumination[rows] / 255.0) > cos_limit
            mr[(st.scl == SceneClass.DARK_FEATURES) & lit] = 1
        b03, b8a = bands["B03"][rows], bands["B8A"][rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            water = ((b03 - b8a) / (b03 + b8a)) > f32(BRIGHT_WATER_NDWI_MIN)
        if wbi is not None:
            water &= wbi[rows] == WBI_WATER
        mr[water] = 0
        mr[st.is_(SceneClass.THIN_CIRRUS, SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS)] = 0

    for_each_strip(strip, m.shape[0])
    return m


# --- geometric part -----------------------------------------------------------------------------------


def generic_cloud_profile(resolution: int) -> NDArray[np.float64]:
    """Sen2Cor's generic cloud-top height profile (facts §6.2), resampled from 30 m samples to ``resolution``.

    Rising edge 1/(1 + (i/30)^10) mirrored over 51 samples, falling edge 1/(1 + (i/90)^10) over 150.
    """
    rise = 1.0 / (
        1.0 + (np.arange(CLOUD_PROFILE_RISE_SAMPLES) / CLOUD_PROFILE_RISE_SCALE) ** CLOUD_PROFILE_EXPONENT
    )
    fall = 1.0 / (
        1.0 + (np.arange(CLOUD_PROFILE_FALL_SAMPLES) / CLOUD_PROFILE_FALL_SCALE) ** CLOUD_PROFILE_EXPONENT
    )
    profile = np.concatenate([rise[::-1], fall])
    out: NDArray[np.float64] = ndimage.zoom(profile, CLOUD_PROFILE_PIXEL_M / float(resolution))
    return out


def cloud_profile(stats: CloudHeightStats | None, resolution: int) -> NDArray[np.float64]:
    """Cloud-height profile along the shadow direction, one sample per pixel (facts §6.3).

    With KLT statistics whose mean + σ is below 5 km: a Gaussian of the tracked heights over
    0 … mean + 4σ metres, normalised to 1 and resampled by 1/resolution; otherwise the generic profile.
    A zero σ (a single tracked corner) also falls back to the generic profile (see docs/differences.md).
    """
    if stats is None or stats.std <= 0 or stats.mean + stats.std >= KLT_PROFILE_MAX_TOP_M:
        return generic_cloud_profile(resolution)
    heights = np.arange(stats.mean + KLT_PROFILE_SIGMAS * stats.std)
    if heights.size == 0:  # clouds tracked at or below the ground: an empty profile projects no shadow
        return np.zeros(0)
    pdf = np.exp(-0.5 * ((heights - stats.mean) / stats.std) ** 2)
    out: NDArray[np.float64] = ndimage.zoom(pdf / pdf.max(), 1.0 / float(resolution))
    return out


def _shadow_kernel(
    profile: NDArray[np.float64], shape: tuple[int, int], sun_azimuth_deg: float, sun_elevation_deg: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float32]]:
    """Non-zero taps (rows, cols, weights) of Sen2Cor's shadow-projection filter on the padded grid.

    The profile is stretched by 1/tan(elevation), laid down a column from the centre of a ``shape`` array,
    rotated by −azimuth with nearest-neighbour sampling (``ndimage.rotate(order=0, reshape=False)``) and
    rolled back to the origin according to the azimuth quadrant (facts §6.2).  Only the pixels around the
    line are evaluated, which gives the same taps as rotating the whole array.
    """
    y_aa, x_aa = shape
    line = ndimage.zoom(profile, 1.0 / np.tan(np.deg2rad(sun_elevation_deg))).astype(np.float32)
    line = line[:y_aa]
    ys, xs = int(y_aa / 2.0), int(x_aa / 2.0)
    azimuth = int(sun_azimuth_deg + 0.5)
    # Rolled filter: line from (ys, xs) downwards (wrapping), everything else zero.
    src_rows = (ys + np.arange(line.size)) % y_aa
    # ndimage.rotate(reshape=False): input coordinate = R·o + offset (o: output index).
    c, s = special.cosdg(-azimuth), special.sindg(-azimuth)
    rot = np.array([[c, s], [-s, c]])
    centre = (np.array([y_aa, x_aa], dtype=np.float64) - 1) / 2
    offset = centre - rot @ centre
    # Output pixels whose inverse-rotated position can land on the line: a box around the rotated segment.
    ends = np.linalg.solve(
        rot, np.array([[src_rows.min(), src_rows.max()], [xs, xs]], dtype=np.float64) - offset[:, None]
    )
    reach = 2 + (line.size if np.ptp(src_rows) >= line.size else 0)
    r0 = int(max(np.floor(ends[0].min()) - reach, 0))
    r1 = int(min(np.ceil(ends[0].max()) + reach, y_aa - 1))
    c0 = int(max(np.floor(ends[1].min()) - reach, 0))
    c1 = int(min(np.ceil(ends[1].max()) + reach, x_aa - 1))
    sub = np.zeros((y_aa, 3), dtype=np.float32)  # the only non-zero input column (xs) with its neighbours
    sub[src_rows, 1] = line
    oy, ox = np.mgrid[r0 : r1 + 1, c0 : c1 + 1]
    o0, o1 = oy.ravel().astype(np.float64), ox.ravel().astype(np.float64)
    # Same association order as SciPy's affine transform (offset + m0·o0 + m1·o1), so that the
    # nearest-neighbour rounding agrees even on exact half-pixel ties (45° multiples).
    coords = np.vstack(
        [(offset[0] + rot[0, 0] * o0) + rot[0, 1] * o1, (offset[1] + rot[1, 0] * o0) + rot[1, 1] * o1]
    )
    coords[1] -= xs - 1
    sampled = ndimage.map_coordinates(sub, coords, order=0, mode="constant", cval=0.0)
    nz = np.nonzero(sampled)[0]
    rows, cols, w = oy.ravel()[nz], ox.ravel()[nz], sampled[nz].astype(np.float32)
    if 0 <= azimuth < 90:
        dy, dx = -ys, xs
    elif 90 <= azimuth < 180:
        dy, dx = ys, xs
    elif 180 <= azimuth < 270:
        dy, dx = ys, -xs
    else:
        dy, dx = -ys, -xs
    return (rows + dy) % y_aa, (cols + dx) % x_aa, w


def _circular_convolution(
    mask: NDArray[np.bool_],
    padded_shape: tuple[int, int],
    rows_k: NDArray[np.intp],
    cols_k: NDArray[np.intp],
    weights: NDArray[np.float32],
) -> Float32Array:
    """``mask`` zero-padded to ``padded_shape`` and circularly convolved with the sparse kernel, cropped back.

    When every kernel offset fits in the padding (always the case for full tiles) no wrap-around can reach
    the mask, so the circular result equals a linear convolution with the kernel's bounding box, computed
    by overlap-add FFTs; otherwise the full padded FFT product is used, as Sen2Cor does.
    """
    rows, cols = mask.shape
    y_aa, x_aa = padded_shape
    dr = np.where(rows_k > y_aa // 2, rows_k - y_aa, rows_k)
    dc = np.where(cols_k > x_aa // 2, cols_k - x_aa, cols_k)
    if weights.size and np.abs(dr).max() <= y_aa - rows and np.abs(dc).max() <= x_aa - cols:
        r0, c0 = min(int(dr.min()), 0), min(int(dc.min()), 0)
        box = np.zeros((max(int(dr.max()), 0) - r0 + 1, max(int(dc.max()), 0) - c0 + 1), dtype=np.float32)
        np.add.at(box, (dr - r0, dc - c0), weights)
        return overlap_add.oaconvolve_crop(mask, box, (-r0, -c0), (rows, cols))
    kernel = np.zeros(padded_shape, dtype=np.float32)
    kernel[rows_k, cols_k] = weights
    padded = np.zeros(padded_shape, dtype=np.float32)
    padded[:rows, :cols] = mask
    spectrum = fft.rfft2(padded, workers=-1) * fft.rfft2(kernel, workers=-1)
    result: Float32Array = fft.irfft2(spectrum, s=padded_shape, workers=-1)[:rows, :cols].astype(np.float32)
    return result


def geometric_shadow(
    cloud_mask: NDArray[np.bool_],
    valid: NDArray[np.bool_],
    profile: NDArray[np.float64],
    sun_azimuth_deg: float,
    sun_zenith_deg: float,
) -> Float32Array:
    """Geometric shadow probability: the cloud mask convolved with the projected cloud profile (facts §6.2).

    The mask is zero-padded to 1.5× its size and circularly convolved with the shadow filter (FFT, as
    Sen2Cor), clipped to [0, 1], the clouds themselves removed, smoothed (Gaussian σ = 3 px) and zeroed on
    invalid pixels.

    Parameters
    ----------
    cloud_mask, valid : ndarray of bool, shape (rows, cols)
    profile : ndarray of float64
        Cloud-height profile, one sample per pixel (:func:`cloud_profile`).
    sun_azimuth_deg, sun_zenith_deg : float
        Tile-mean sun angles (degrees); the elevation is rounded to whole degrees and kept ≥ 1°.

    Returns
    -------
    ndarray of float32, shape (rows, cols), values 0–1
    """
    rows, cols = cloud_mask.shape
    if not np.any(profile > 0):  # clouds tracked at (almost) ground level: nothing to project
        return np.zeros((rows, cols), np.float32)
    y_aa, x_aa = int(rows * SHADOW_FFT_PADDING + 0.5), int(cols * SHADOW_FFT_PADDING + 0.5)
    elevation = max(int(90.0 - sun_zenith_deg + 0.5), 1)
    kr, kc, kw = _shadow_kernel(profile, (y_aa, x_aa), sun_azimuth_deg, elevation)
    conv = _circular_convolution(cloud_mask, (y_aa, x_aa), kr, kc, kw)  # the FFTs on the strip threads
    _clip_outside_clouds(conv, cloud_mask)
    prob = morphology.gaussian(conv, SHADOW_GAUSSIAN_SIGMA_PX)
    del conv

    def zero_invalid(r: slice) -> None:
        prob[r][~valid[r]] = 0

    for_each_strip(zero_invalid, rows)
    return prob


def _clip_outside_clouds(conv: Float32Array, cloud_mask: NDArray[np.bool_]) -> None:
    """In place: max(clip(conv, 0, 1) − cloud, 0), by row strips."""

    def strip(r: slice) -> None:
        conv[r] = np.maximum(np.clip(conv[r], 0.0, 1.0) - cloud_mask[r].astype(np.float32), 0.0)

    for_each_strip(strip, conv.shape[0])


def apply_shadow(state: ScState, radiometric: Float32Array, geometric: Float32Array) -> NDArray[np.bool_]:
    """Radiometric × geometric > 0.05 → CLOUD_SHADOWS (facts §6.2).  Returns the shadow mask."""
    shadow = np.empty(radiometric.shape, dtype=bool)

    def strip(rows: slice) -> None:
        shadow[rows] = (radiometric[rows] * geometric[rows]) > f32(SHADOW_DECISION_MIN)
        state.rows(rows).assign(shadow[rows], SceneClass.CLOUD_SHADOWS)

    for_each_strip(strip, shadow.shape[0])
    return shadow


def shadow_mode_zenith(mode: Literal["evolution", "classic"], zenith_noclip: float) -> float:
    """Zenith used for the projection: unclipped in evolution, clipped at 70° in classic (facts §6.2/§6.3)."""
    return zenith_noclip if mode == "evolution" else min(zenith_noclip, 70.0)
