"""Aerosol retrieval: visibility-index map and AOT550 (Sen2Cor AC; facts §7.3, §7.4).

:func:`retrieve_aerosol` runs the whole chain on arrays:

1. DDV reference pixels (:mod:`sen2cor.ac.ddv`) and their per-pixel visibility index, cell by cell;
2. the negative-reflectance checks on red (cut-off AC_Cut_Off_Aot_Iter_Vegetation) and B8A
   (AC_Cut_Off_Aot_Iter_Water) and the DDV green/red check, which may raise the visibility;
3. the blue path-radiance check (rescaling factor, double ratio for AUTO aerosol);
4. the map: DDV indices, the mean elsewhere, Gaussian smoothing; or, without DDV, the CAMS map
   (method ``CAMS``) or a constant visibility after the dense-bright-vegetation and negative checks
   (method ``DEFAULT``, also for VIS_Update_Mode 0);
5. AOT550 per pixel from the visibility at the pixel's elevation, smoothed (facts §7.3 item 11).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sen2cor.ac import ddv as ddv_mod
from sen2cor.ac.constants import (
    AOT_SMOOTHING_M,
    AOT_SMOOTHING_MIN_PX,
    BLUE_SURFACE_OFFSET,
    BRIGHT_RED_FACTOR,
    CLEAR_LAND_CLASSES,
    CLOUD_CLASSES_AC,
    DBV_DARKEST_PIXELS,
    DBV_MAX_INCIDENCE_DIFF_DEG,
    DBV_MAX_VISIBILITY_KM,
    DBV_MIN_PIXELS,
    DBV_MIN_RED,
    DDV_ADJACENCY_WEIGHT,
    DDV_MASK_VISIBILITY_KM,
    GREEN_RED_MAX_ITER,
    GREEN_RED_RATIO,
    GREEN_RED_START,
    MAX_VISIBILITY_KM,
    NEGATIVE_CHECK_FILTER_M,
    NEGATIVE_CHECK_MAX_ITER,
    NEGATIVE_CHECK_MAX_PERCENT,
    NEGATIVE_CHECK_REFL_CAP,
    TERRAIN_FLUX_FLOOR,
    VISIBILITY_STEPS,
)
from sen2cor.ac.filters import gaussian_smooth
from sen2cor.ac.kernels import DnRadiance, reflectance_from_tables
from sen2cor.ac.means import masked_mean
from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.rt import (
    STANDARD_VISIBILITIES_KM,
    Geometry,
    RtTable,
    elevation_class_km,
    index_of_visibility,
    rt_table,
    visibility_of_index,
)
from sen2cor.ac.setup import Cell, Terrain
from sen2cor.physics import visibility as vis_mod
from sen2cor.physics.lut import AtmosphericLut
from sen2cor.physics.toa_image import RadianceImage, ToaImage
from sen2cor.sc.classes import SceneClass, class_mask
from sen2cor.sc.strips import for_each_strip

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]

AOT_FIT_CLASSES = (0, 36, 126)
"""Elevation classes (0, 0.7, 2.5 km) at which Sen2Cor tabulates the AOT↔visibility fit (facts §7.4)."""


@dataclass(frozen=True)
class AerosolContext:
    """Everything the aerosol retrieval reads; built once per resolution by :mod:`sen2cor.ac.correct`.

    ``radiance`` holds at-sensor radiances computed with the tile-mean SZA (Sen2Cor's convention for the
    retrieval); ``scene`` is the tile-mean geometry, ``cells``/``geometries`` the cell split.
    """

    toa: Mapping[str, F32]
    radiance: Mapping[str, F32]
    scl: npt.NDArray[np.uint8]
    terrain: Terrain
    cells: list[Cell]
    geometries: list[Geometry]
    scene: Geometry
    resolution: int
    params: AcParameters
    lut: AtmosphericLut
    cirrus_correction: bool = False


@dataclass(frozen=True)
class AerosolResult:
    """Outcome of the aerosol retrieval.

    Attributes
    ----------
    vis_index : numpy.ndarray of uint8, tile shape
        Visibility index map (0 on no-data).
    mean_index : int
        Scene visibility index (meanvi).
    visibility_km, visibility_ddv_km, start_visibility_km : float
        Final, DDV and start (GIPP) visibilities.
    method : str
        ``SEN2COR_DDV``, ``CAMS`` or ``DEFAULT``.
    ddv : DdvSelection
    blue_factor : float
        Blue path-radiance factor to apply (1 when rescaling is disabled or not significant).
    blue_factor_computed : float or None
        Scene/model blue path-radiance ratio before the disabler and limiter.
    double_ratio : float or None
        (Lp_blue/Lp_red)_scene / (Lp_blue/Lp_red)_model, for AUTO aerosol selection.
    """

    vis_index: npt.NDArray[np.uint8]
    mean_index: int
    visibility_km: float
    visibility_ddv_km: float
    start_visibility_km: float
    method: str
    ddv: ddv_mod.DdvSelection
    blue_factor: float = 1.0
    blue_factor_computed: float | None = None
    double_ratio: float | None = None
    notes: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------------------------------------ helpers
def raise_visibility(v: float, *, allow_jump: bool = True) -> float:
    """One visibility increase of the negative check: <23 → 23; +3/+4/+5/+10; else 120 (facts §7.3 item 7)."""
    if allow_jump and v < VISIBILITY_STEPS[0][0]:
        return VISIBILITY_STEPS[0][0]
    for limit, add in VISIBILITY_STEPS[1:]:
        if v < limit:
            return float(min(v + (add or 0.0), MAX_VISIBILITY_KM))
    return MAX_VISIBILITY_KM


def nadir_table(ctx: AerosolContext, bands: tuple[str, ...], *, visibility_km: float | None = None,
                vis_index: int | None = None) -> RtTable:
    """RT tables of the nadir geometry at one aerosol value, on all elevation classes (facts §7.2)."""
    z = elevation_class_km(ctx.terrain.n_classes)
    if vis_index is not None:
        return rt_table(ctx.lut, bands, ctx.scene.nadir(), z, vis_index=[vis_index])
    return rt_table(ctx.lut, bands, ctx.scene.nadir(), z, visibility_km=[visibility_km])


def _valid(ctx: AerosolContext) -> npt.NDArray[np.bool_]:
    return ctx.scl > SceneClass.SATURATED_DEFECTIVE


def kernel_radiance(radiance: F32 | RadianceImage) -> F32 | RadianceImage | DnRadiance:
    """``radiance`` as the kernels best take it: the radiance of a :class:`~sen2cor.physics.toa_image.ToaImage`
    as its DN, which the kernels convert pixel by pixel on all their threads (the same float32 values), instead
    of a whole-band conversion on one thread first (≈ 0.35 s per call on a full 20 m band)."""
    if isinstance(radiance, RadianceImage) and isinstance(radiance.toa, ToaImage):
        toa = radiance.toa
        return DnRadiance(np.asarray(toa.dn), toa.offset, toa.quantification, radiance.solar_irradiance,
                          float(radiance.cos_sza))
    return radiance


def surface_reflectance_at(ctx: AerosolContext, band: str, tables: RtTable, *, terrain_flux: bool = True) -> F32:
    """Per-pixel reflectance of ``band`` with a one-aerosol nadir table (b = 1, no cap; facts §7.3 item 7)."""
    bi = tables.index(band)
    t = ctx.terrain
    return reflectance_from_tables(
        kernel_radiance(ctx.radiance[band]), 0, t.elevation_class, tables.lp[bi], tables.e0t[bi], tables.edift[bi], tables.tsun[bi],
        t.cos_beta, t.sky_view, True, ctx.scene.cos_sza, terrain_refl=ctx.params.ac_terrain_refl_start,
        terrain_flux=terrain_flux, floor=TERRAIN_FLUX_FLOOR, cap=np.inf,
    )


# ------------------------------------------------------------------------------------------------ DDV
def ddv_selection(ctx: AerosolContext) -> ddv_mod.DdvSelection:
    """DDV pixels from the B12/B8A surface reflectance at 23 km (facts §7.3 items 1–4)."""
    tables = nadir_table(ctx, ("B8A", "B12"), vis_index=int(index_of_visibility(DDV_MASK_VISIBILITY_KM)))
    ecl = ctx.terrain.elevation_class
    rho = {}
    for b in ("B12", "B8A"):
        bi = tables.index(b)
        # per strip, as the selection uses them (two full bands would take 0.24 GB at 20 m)
        rho[b] = ddv_mod.FlatReflectanceImage(ctx.radiance[b], tables.lp[bi, 0], tables.e0t[bi, 0],
                                              tables.edift[bi, 0], ecl, ctx.scene.cos_sza)
    return ddv_mod.select_ddv(ctx.toa["B04"], ctx.toa["B8A"], rho["B12"], rho["B8A"], ctx.scl, ctx.scene.sza_deg,
                              ctx.params, ctx.resolution, cirrus_correction=ctx.cirrus_correction)


def positions_in(order: npt.NDArray[np.intp], window_mask: npt.NDArray[np.bool_], row0: int, col0: int,
                 cols: int) -> npt.NDArray[np.intp]:
    """Where the pixels set in ``window_mask`` (a window at ``row0, col0`` of an image ``cols`` wide), taken
    in raster order, are in ``order``, the sorted flat indices of an image mask that holds them all."""
    r, c = np.nonzero(window_mask)
    return np.searchsorted(order, (r + row0) * cols + (c + col0))


def ddv_indices(ctx: AerosolContext, sel: ddv_mod.DdvSelection) -> npt.NDArray[np.uint8]:
    """Visibility index of every DDV pixel, retrieved cell by cell (facts §7.3 item 5)."""
    order = np.flatnonzero(sel.mask.ravel())  # the DDV pixels in raster order, as ``sel.red_reference``
    out = np.zeros(order.size, np.uint8)
    cols = sel.mask.shape[1]
    red_reference = np.asarray(sel.red_reference, np.float32)
    fallback = int(index_of_visibility(abs(ctx.params.visibility)))
    t = ctx.terrain
    for cell, geom in zip(ctx.cells, ctx.geometries):
        m = sel.mask[cell.rows, cell.cols]
        if not m.any():
            continue
        position = positions_in(order, m, cell.rows.start or 0, cell.cols.start or 0, cols)
        red = ctx.radiance["B04"][cell.rows, cell.cols]
        mean_rad = ddv_mod.cell_mean_radiance(red, ctx.scl[cell.rows, cell.cols])
        ecl = t.mean_class if t.flat else t.elevation_class[cell.rows, cell.cols][m]
        z = elevation_class_km(t.n_classes)
        tables = rt_table(ctx.lut, ("B04",), geom, z, visibility_km=STANDARD_VISIBILITIES_KM)
        rho_vis = ddv_mod.red_reflectance_at_standard_visibilities(
            red[m], mean_rad, tables, 0, ecl, t.cos_beta[cell.rows, cell.cols][m],
            t.sky_view[cell.rows, cell.cols][m], geom.cos_sza, ctx.params.ac_terrain_refl_start)
        out[position] = ddv_mod.invert_visibility_index(red_reference[position], rho_vis, fallback)
    return out


# ------------------------------------------------------------------------------------------------ checks
def negative_check(ctx: AerosolContext, band: str, visibility_km: float, ddv_mask: npt.NDArray[np.bool_] | None
                   ) -> float:
    """Raise the visibility until ≤ 1 % of clear-land pixels have ρ below the band's cut-off (facts §7.3 item 7).

    For the red band the DDV green/red check follows.  Returns the new visibility (km).
    """
    if visibility_km >= MAX_VISIBILITY_KM:
        return visibility_km
    p = ctx.params
    thresh = p.ac_cut_off_aot_iter_vegetation if band == "B04" else p.ac_cut_off_aot_iter_water
    land = class_mask(ctx.scl, CLEAR_LAND_CLASSES)
    if not land.any():
        return visibility_km
    valid = _valid(ctx)
    radiance = ctx.radiance[band]
    n_ref = radiance.size - _count_rows(lambda rows: radiance[rows] <= 0, radiance.shape[0])
    nf = max(min(int(NEGATIVE_CHECK_FILTER_M / ctx.resolution), 500, 51), 3)
    nf = int(max(min(nf, radiance.shape[1] / 2, radiance.shape[0] / 2), 3))
    nf = nf - 1 if nf % 2 == 0 else nf
    if p.adj_km * 1000.0 / ctx.resolution <= 1.5:
        nf = 1
    visib = float(visibility_km)
    percent = 100.0
    it = 0
    while percent > NEGATIVE_CHECK_MAX_PERCENT and it <= NEGATIVE_CHECK_MAX_ITER and visib < MAX_VISIBILITY_KM:
        it += 1
        tables = nadir_table(ctx, (band,), visibility_km=visib)
        below = _count_below_after_adjacency(
            surface_reflectance_at(ctx, band, tables), valid, land, nf, float(tables.q[0, 0, ctx.terrain.mean_class]),
            thresh)
        percent = 100.0 * below / max(n_ref, 1)
        logger.debug("negative check %s: visibility %.1f km, %.3f %% below %.3f", band, visib, percent, thresh)
        if percent > NEGATIVE_CHECK_MAX_PERCENT:
            visib = raise_visibility(visib)
        if visib >= MAX_VISIBILITY_KM:
            break
    if visib != visibility_km:
        logger.info("negative reflectance check (%s): visibility raised %.2f → %.2f km", band, visibility_km, visib)
    if band == "B04" and ddv_mask is not None and visib < MAX_VISIBILITY_KM:
        visib = green_red_check(ctx, visib, ddv_mask)
    return visib


def _count_below_after_adjacency(rho: F32, valid: npt.NDArray[np.bool_], land: npt.NDArray[np.bool_], nf: int,
                                 q: float, threshold: float) -> int:
    """Land pixels whose ρ + q·(ρ − ρ̄) is below ``threshold``; ρ̄ is the ``nf``-pixel Gaussian mean of ρ capped
    at ``NEGATIVE_CHECK_REFL_CAP``, invalid pixels set to the valid mean first (facts §7.3 item 7).  ``rho`` is overwritten.

    The pixel-wise steps run by row strips on threads (the same float32 operations as on the whole tile).
    """
    mean = gaussian_smooth(_fill_invalid_and_cap(rho, valid), nf)
    q32 = np.float32(q)

    def below(rows: slice) -> npt.NDArray[np.bool_]:
        r = rho[rows]
        return ((r + q32 * (r - mean[rows])) < threshold) & land[rows]

    return _count_rows(below, rho.shape[0])


def _count_rows(test: Callable[[slice], npt.NDArray[np.bool_]], rows: int) -> int:
    """``count_nonzero`` of a per-pixel test evaluated by row strips on threads (a lazy image converts only
    the strip)."""
    counts: list[int] = []

    def count(part: slice) -> None:
        counts.append(int(np.count_nonzero(test(part))))

    for_each_strip(count, rows)
    return sum(counts)


def _fill_invalid_and_cap(rho: F32, valid: npt.NDArray[np.bool_]) -> F32:
    """Set the invalid pixels of ``rho`` to the valid mean (in place); return ρ capped at
    ``NEGATIVE_CHECK_REFL_CAP`` (a new array)."""
    fill = np.float32(masked_mean(rho, valid)) if valid.any() else np.float32(0.0)
    capped = np.empty_like(rho)
    cap = np.float32(NEGATIVE_CHECK_REFL_CAP)

    def prepare(rows: slice) -> None:
        np.copyto(rho[rows], fill, where=~valid[rows])
        np.minimum(rho[rows], cap, out=capped[rows])

    for_each_strip(prepare, rho.shape[0])
    return capped


def green_red_check(ctx: AerosolContext, visibility_km: float, ddv_mask: npt.NDArray[np.bool_]) -> float:
    """Raise visibility until Σρ_green ≥ 1.08·Σρ_red over the DDV pixels (≤ 6 steps; facts §7.3 item 7)."""
    if np.count_nonzero(ddv_mask) < 4:
        return visibility_km

    def rho_pair(v: float) -> tuple[F32, F32]:
        tables = nadir_table(ctx, ("B03", "B04"), visibility_km=v)
        t = ctx.terrain
        ecl = t.elevation_class[ddv_mask] if not t.flat else t.mean_class
        res = []
        for b in ("B04", "B03"):
            bi = tables.index(b)
            lp, e0t, ed, ts = (a[bi, 0][ecl] for a in (tables.lp, tables.e0t, tables.edift, tables.tsun))
            cb = t.cos_beta[ddv_mask]
            vs = t.sky_view[ddv_mask]
            cos_s = ctx.scene.cos_sza
            flux = e0t * cb + ed * (ts * cb / cos_s + (1.0 - ts) * vs)
            ter = np.maximum((e0t * cos_s + ed) * (1.0 - vs) * ctx.params.ac_terrain_refl_start,
                             e0t * cos_s * TERRAIN_FLUX_FLOOR)
            res.append(np.pi * (ctx.radiance[b][ddv_mask] - lp) / (flux + ter))
        return res[0], res[1]

    red, green = rho_pair(visibility_km)
    if green.sum() >= red.sum() * GREEN_RED_RATIO:
        return visibility_km
    visib = raise_visibility(visibility_km, allow_jump=False)
    mean_red, mean_green = GREEN_RED_START
    it = 0
    while it < GREEN_RED_MAX_ITER and visib < MAX_VISIBILITY_KM and mean_green < GREEN_RED_RATIO * mean_red:
        it += 1
        red, green = rho_pair(visib)
        mean_red, mean_green = float(red.mean()), float(green.mean())
        visib = raise_visibility(visib, allow_jump=False)
        if visib >= MAX_VISIBILITY_KM:
            break
    logger.info("DDV green/red check: visibility raised %.2f → %.2f km", visibility_km, visib)
    return visib


def dense_bright_vegetation(ctx: AerosolContext, visibility_km: float) -> float:
    """Visibility from the 10 darkest dense-bright-vegetation pixels with ρ_red = 0.02 (facts §7.3 "No DDV").

    Adopted only if it raises the visibility and is ≤ 80 km; returns the (possibly) updated visibility.
    """
    p = ctx.params
    red_toa, nir_toa = ctx.toa["B04"], ctx.toa["B8A"]
    ndvi = (nir_toa - red_toa) / np.maximum(nir_toa + red_toa, np.float32(0.01))
    incidence = np.rad2deg(np.arccos(np.clip(ctx.terrain.cos_beta, 0.0, 1.0)))
    dbv = ((nir_toa > p.ac_dbv_nir_refl_th) & (ndvi > p.ac_dbv_ndvi_th) & (red_toa > DBV_MIN_RED)
           & (np.abs(incidence - ctx.scene.sza_deg) < DBV_MAX_INCIDENCE_DIFF_DEG) & _valid(ctx))
    idx = np.flatnonzero(dbv.ravel())
    if idx.size < DBV_MIN_PIXELS:
        logger.info("no dense bright vegetation (%d pixels): visibility stays %.1f km", idx.size, visibility_km)
        return visibility_km
    red_rad = ctx.radiance["B04"]
    clear = _valid(ctx) & ~class_mask(ctx.scl, CLOUD_CLASSES_AC) & (ctx.scl != SceneClass.DARK_FEATURES) & (red_rad > 0)
    mean_rad = float(red_rad[clear].mean()) if clear.any() else float(red_rad[_valid(ctx)].mean())
    darkest = idx[np.argsort(red_toa.ravel()[idx], kind="stable")[:DBV_DARKEST_PIXELS]]
    t = ctx.terrain
    ecl = t.elevation_class.ravel()[darkest] if not t.flat else t.mean_class
    tables = rt_table(ctx.lut, ("B04",), ctx.scene.nadir(), elevation_class_km(t.n_classes),
                      visibility_km=STANDARD_VISIBILITIES_KM)
    rho_vis = ddv_mod.red_reflectance_at_standard_visibilities(
        red_rad.ravel()[darkest], mean_rad, tables, 0, ecl, t.cos_beta.ravel()[darkest],
        t.sky_view.ravel()[darkest], ctx.scene.cos_sza, p.ac_terrain_refl_start)
    ref = np.full(darkest.size, p.ac_red_ref_refl_th, np.float32)
    iv = ddv_mod.invert_visibility_index(ref, rho_vis, int(index_of_visibility(visibility_km)))
    vis_dbv = min(float(visibility_of_index(int(iv.sum() // iv.size))), MAX_VISIBILITY_KM)
    if visibility_km < vis_dbv <= DBV_MAX_VISIBILITY_KM:
        logger.info("dense bright vegetation: visibility %.1f → %.1f km", visibility_km, vis_dbv)
        return vis_dbv
    return visibility_km


def blue_path_factor(ctx: AerosolContext, sel: ddv_mod.DdvSelection, mean_index: int
                     ) -> tuple[float | None, float | None]:
    """Scene/model blue path radiance ratio and the blue/red double ratio from DDV pixels (facts §7.3 item 9).

    Returns (factor, double_ratio); (None, None) when the DDV sample is too small or the scene blue path
    radiance is negative (retrieval invalid).
    """
    p = ctx.params
    n = sel.count
    if n == 0 or n * 1000.0 / sel.mask.size < p.ac_spr_refl_promille:
        return None, None
    keff = ctx.terrain.mean_class
    tables = nadir_table(ctx, ("B02", "B04"), vis_index=mean_index)
    cos_s = ctx.scene.cos_sza
    red_ref_av = float(sel.red_reference.mean())
    blue_ref_av = p.ac_red_blue_refl_ratio * red_ref_av + BLUE_SURFACE_OFFSET
    l_blue, l_red = ctx.radiance["B02"], ctx.radiance["B04"]
    blue_ddv, red_ddv = float(l_blue[sel.mask].mean()), float(l_red[sel.mask].mean())
    bright = BRIGHT_RED_FACTOR * red_ddv
    clear = np.empty(ctx.scl.shape, dtype=bool)

    def clear_rows(rows: slice) -> None:  # by strips on threads: a lazy radiance converts only the strip
        clear[rows] = ~(l_red[rows] > bright) & ~class_mask(ctx.scl[rows], CLOUD_CLASSES_AC) & (l_blue[rows] != 0)

    for_each_strip(clear_rows, clear.shape[0])
    if not clear.any():
        return None, None
    blue_scene, red_scene = float(l_blue[clear].mean()), float(l_red[clear].mean())

    def path(band: str, l_ddv: float, l_scene: float, rho: float) -> tuple[float, float]:
        bi = tables.index(band)
        q = float(tables.q[bi, 0, keff])
        l_meas = l_ddv + DDV_ADJACENCY_WEIGHT * q * (l_ddv - l_scene)
        flux = float(tables.e0t[bi, 0, keff]) * cos_s + float(tables.edift[bi, 0, keff])
        return l_meas - rho * flux / np.pi, float(tables.lp[bi, 0, keff])

    lp_blue, lp_blue_model = path("B02", blue_ddv, blue_scene, blue_ref_av)
    if lp_blue < 0:
        logger.warning("negative blue path radiance from DDV pixels: blue rescaling invalid")
        return None, None
    lp_red, lp_red_model = path("B04", red_ddv, red_scene, red_ref_av)
    factor = lp_blue / lp_blue_model
    dratio = (lp_blue / lp_red) / (lp_blue_model / lp_red_model) if lp_red > 0 else None
    return float(factor), (None if dratio is None else float(dratio))


def applied_blue_factor(params: AcParameters, computed: float | None) -> float:
    """The blue factor used in the retrieval: 1 unless enabled and |factor − 1| > AC_Aerosol_Type_Ratio_Th."""
    if computed is None or params.scaling_disabler or params.ac_red_blue_refl_ratio <= 0:
        return 1.0
    f = float(np.clip(computed, params.min_sc_blu, params.max_sc_blu)) if params.scaling_limiter else computed
    return f if abs(f - 1.0) > params.ac_aerosol_type_ratio_th else 1.0


# ------------------------------------------------------------------------------------------------ maps
def smooth_index_map(index: npt.NDArray[np.integer], mean_index: int, scl: npt.NDArray[np.uint8],
                     params: AcParameters, resolution: int) -> npt.NDArray[np.uint8]:
    """Gaussian-smoothed visibility-index map, σ = AC_Ddv_Smooting_Window / pixel (facts §7.3 item 10)."""
    rows, cols = index.shape
    nf = max(int(params.ac_ddv_smooting_window * 1000.0 / resolution), 3)
    nf = ddv_mod.odd(int(min(nf, min(cols / 2 - 2, rows / 2 - 2)))) if min(rows, cols) > 8 else 1
    invalid = scl <= SceneClass.SATURATED_DEFECTIVE
    work = index.astype(np.float32)  # whole numbers, exact in float32
    work[invalid] = np.float32(mean_index)
    smooth = gaussian_smooth(work, nf)
    del work
    smooth += np.float32(0.5)
    out = np.floor(smooth, out=smooth).astype(np.uint8)
    out[invalid] = 0
    return out


def aot_fit_coefficients(elevation_class: npt.ArrayLike) -> tuple[F32, F32]:
    """a(z), b(z) of AOT = exp(a + b ln VIS) interpolated from the 0 / 0.7 / 2.5 km values (facts §7.4)."""
    heights = np.array([0.0, 0.7, 2.5])
    a_nodes = vis_mod._poly(vis_mod.A_COEFFS, heights)
    b_nodes = vis_mod._poly(vis_mod.B_COEFFS, heights)
    x = np.asarray(elevation_class, dtype=np.float64)
    nodes = np.asarray(AOT_FIT_CLASSES, dtype=np.float64)

    def lin(y: npt.NDArray[np.float64]) -> F32:
        j = np.clip(np.searchsorted(nodes, x, side="right") - 1, 0, nodes.size - 2)
        t = (x - nodes[j]) / (nodes[j + 1] - nodes[j])
        return ((1.0 - t) * y[j] + t * y[j + 1]).astype(np.float32)

    return lin(a_nodes), lin(b_nodes)


def aot_map(index: npt.NDArray[np.uint8], scl: npt.NDArray[np.uint8], terrain: Terrain, resolution: int) -> F32:
    """AOT550 per pixel from its visibility and elevation class, smoothed (facts §7.3 item 11); 0 on no-data."""
    rows, cols = index.shape
    valid = scl > SceneClass.NO_DATA
    idx = np.asarray(index, dtype=np.uint8)
    if valid.any() and not valid.all():
        idx = np.where(valid, idx, np.uint8(int(idx[valid].mean())))
    classes = np.arange(terrain.n_classes)
    a, b = aot_fit_coefficients(classes)
    vis = np.maximum(visibility_of_index(np.arange(256).clip(0, 182)), 1.0).astype(np.float32)
    # AOT of every (elevation class, visibility index) pair, then looked up per pixel: no full-size
    # float64/int64 temporaries (the same float32 operations as per pixel)
    table = np.exp(a[:, None] + b[:, None] * np.log(vis)[None, :]).astype(np.float32)
    aot = table[terrain.elevation_class, idx]
    nf = ddv_mod.odd(min(max(int(AOT_SMOOTHING_M / resolution), AOT_SMOOTHING_MIN_PX), 21, cols // 2, rows // 2))
    aot = gaussian_smooth(np.broadcast_to(aot, index.shape), nf)
    aot[scl <= SceneClass.SATURATED_DEFECTIVE] = 0.0
    return aot


# ------------------------------------------------------------------------------------------------ driver
def _constant_map(scl: npt.NDArray[np.uint8], index: int) -> npt.NDArray[np.uint8]:
    out = np.full(scl.shape, index, np.uint8)
    out[scl <= SceneClass.SATURATED_DEFECTIVE] = 0
    return out


CamsIndex = npt.NDArray[np.integer] | Callable[[], npt.NDArray[np.integer] | None] | None
"""A CAMS visibility-index map, or a function computing it (called only when no DDV pixel is found)."""


def retrieve_aerosol(ctx: AerosolContext, cams_index: CamsIndex = None) -> AerosolResult:
    """Visibility-index map of the tile: DDV, else CAMS, else constant (facts §7.3, §7.4).

    Parameters
    ----------
    ctx : AerosolContext
    cams_index : numpy.ndarray of int, tile shape, or a function returning one (or None), optional
        Visibility index from CAMS AOD550 (:func:`sen2cor.ac.cams.visibility_index_map`); a function is
        called only when the tile has no DDV pixel (the map is then not kept beyond the retrieval).

    Returns
    -------
    AerosolResult
    """
    p = ctx.params
    start = abs(float(p.visibility))
    valid = _valid(ctx)
    empty = ddv_mod.DdvSelection(np.zeros(ctx.scl.shape, bool), np.zeros(0, np.float32), 0.0, 0.0, 0.0)
    if p.constant_visibility:
        mean_index = int(index_of_visibility(start))
        logger.info("constant visibility %.1f km (VIS_Update_Mode 0 or negative Visibility)", start)
        return AerosolResult(_constant_map(ctx.scl, mean_index), mean_index, start, start, start, "DEFAULT", empty)

    sel = ddv_selection(ctx)
    if sel.count > 0:
        iv = ddv_indices(ctx, sel).astype(np.int64)
        vis_ddv = min(float(visibility_of_index(int(0.5 + iv.mean()))), MAX_VISIBILITY_KM)
        mean_ddv = int(index_of_visibility(vis_ddv))
        visib = negative_check(ctx, "B04", vis_ddv, sel.mask)
        visib = negative_check(ctx, "B8A", visib, None)
        mean_check = int(index_of_visibility(visib))
        if mean_check < mean_ddv:
            high = iv > mean_check
            iv[high] = np.maximum(iv[high] + (mean_check - mean_ddv), 0)
            mean_index = int(0.5 + iv.mean())
        else:
            mean_index = mean_ddv
        visibility = min(float(visibility_of_index(mean_index)), MAX_VISIBILITY_KM)
        factor, dratio = blue_path_factor(ctx, sel, mean_index)
        index = np.full(ctx.scl.shape, mean_index, np.uint8)  # indices 0…N_VIS_INDEX − 1 < 256
        index[sel.mask] = iv
        vis_map = smooth_index_map(index, mean_index, ctx.scl, p, ctx.resolution)
        logger.info("AOT from DDV: visibility %.2f km (DDV %.2f km), mean index %d", visibility, vis_ddv, mean_index)
        return AerosolResult(vis_map, mean_index, visibility, vis_ddv, start, "SEN2COR_DDV", sel,
                             applied_blue_factor(p, factor), factor, dratio)

    if callable(cams_index):
        cams_index = cams_index()
    if cams_index is not None and valid.any():
        bandvis = np.asarray(cams_index, dtype=np.int64).copy()
        mean_cams = int(0.5 + bandvis[valid].mean())
        visib = float(visibility_of_index(mean_cams))
        visib = negative_check(ctx, "B04", visib, None)
        visib = negative_check(ctx, "B8A", visib, None)
        mean_index = int(index_of_visibility(visib)) if visib != float(visibility_of_index(mean_cams)) else mean_cams
        if mean_index < mean_cams:
            between = (bandvis > mean_index) & (bandvis <= mean_cams)
            bandvis[between] = mean_index
            bandvis[bandvis > mean_cams] += mean_index - mean_cams
        vis_map = np.clip(bandvis, 0, 255).astype(np.uint8)
        vis_map[~valid] = 0
        logger.info("no DDV pixels: AOT from CAMS, mean visibility %.2f km", float(visibility_of_index(mean_index)))
        return AerosolResult(vis_map, mean_index, min(float(visibility_of_index(mean_index)), MAX_VISIBILITY_KM),
                             start, start, "CAMS", sel)

    visib = start
    if valid.any():
        visib = dense_bright_vegetation(ctx, visib)
        visib = negative_check(ctx, "B04", visib, None)
        visib = negative_check(ctx, "B8A", visib, None)
    mean_index = int(index_of_visibility(visib))
    logger.info("no DDV pixels and no CAMS data: constant visibility %.2f km (method DEFAULT)", visib)
    return AerosolResult(_constant_map(ctx.scl, mean_index), mean_index, visib, start, start, "DEFAULT", sel)


def land_mean_index(vis_index: npt.NDArray[np.uint8], scl: npt.NDArray[np.uint8], fallback: int) -> int:
    """Scene visibility index of a run re-using a coarser result: mean over SCL 4/5 (facts §5 item 1)."""
    land = class_mask(scl, (SceneClass.VEGETATION, SceneClass.NOT_VEGETATED))
    return int(vis_index[land].mean() + 0.5) if land.any() else fallback
