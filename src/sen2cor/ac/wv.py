"""Water vapour by APDA (atmospheric pre-corrected differential absorption) with B8A and B09 (facts §7.5).

Per cell, a look-up table of the ratio R = (L_B09 − Lp_B09)/(L_B8A − Lp_B8A) for a 0.3-albedo surface is
built for every WV table and 8 height levels (0 … 3.5 km), fitted as R(u) = a·exp(−b·u^c) per height, and
inverted per pixel in two iterations (the second subtracts the path radiance at the first estimate).
Pixels without land keep a default, non-land pixels get the land mean (``WV_Watermask``), and the map is
median-filtered when ``Smooth_WV_Map`` > 0.  WV is handled in cm·1000 internally ("scaled").
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt
from scipy import ndimage, optimize

from sen2cor.ac.constants import (
    ALBEDO_REFERENCE,
    APDA_ALBEDO,
    APDA_FIT_START,
    APDA_HEIGHT_LEVELS,
    APDA_HEIGHT_STEP_M,
    APDA_ITERATIONS,
    APDA_MIN_LINES_FOR_SMOOTHING,
    APDA_OFF_RANGE_SIGMA,
    APDA_RANGE_MARGIN,
    APDA_WPOS_BOX_PX,
    MAX_ELEVATION_M,
    WV_DEFAULT_SCALED,
    WV_LAND_CLASSES,
    WV_MIN_SCALED,
    WV_SCALE,
)
from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.rt import Geometry, rt_table
from sen2cor.ac.setup import Cell
from sen2cor.ac.wv_columns import columns_at, sen2cor_wv_tables
from sen2cor.errors import FallbackWarning
from sen2cor.physics.lut import AtmosphericLut
from sen2cor.physics.radiometry import toa_to_radiance
from sen2cor.sc.classes import SceneClass, class_mask
from sen2cor.sc.morphology import median3
from sen2cor.sc.strips import concurrent_threads

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

REFERENCE_BAND = "B8A"
"""APDA window (reference) band (facts §7.5)."""

ABSORPTION_BAND = "B09"
"""APDA absorption (measurement) band (facts §7.5)."""


@dataclass(frozen=True)
class ApdaTable:
    """APDA look-up table of one cell.

    Attributes
    ----------
    u : numpy.ndarray of float64, shape (n_heights, n_wv)
        Column WV (cm·1000) of each WV table above each height level.
    ratio : numpy.ndarray of float64, shape (n_wv, n_heights)
        R for a 0.3 albedo surface.
    lp_ref, lp_abs : numpy.ndarray of float64, shape (n_wv, n_heights)
        Path radiance of the reference and absorption bands.
    """

    u: F64
    ratio: F64
    lp_ref: F64
    lp_abs: F64


def _extrapolate_heights(a: F64) -> F64:
    """Append 3.0 and 3.5 km by linear extrapolation of the last two levels (facts §7.5)."""
    out = np.empty(a.shape[:-1] + (APDA_HEIGHT_LEVELS,), np.float64)
    n = a.shape[-1]
    out[..., :n] = a
    for k in range(n, APDA_HEIGHT_LEVELS):
        out[..., k] = 2.0 * out[..., k - 1] - out[..., k - 2]
    return out


def apda_table(lut: AtmosphericLut, geometry: Geometry, visibility_km: float, season: str) -> ApdaTable:
    """Build the APDA table of one cell geometry at the scene visibility (facts §7.5)."""
    heights_km = np.asarray(lut.elevation_km[lut.elevation_km <= 2.5 + 1e-9], dtype=np.float64)
    lp = {REFERENCE_BAND: [], ABSORPTION_BAND: []}
    lsig = {REFERENCE_BAND: [], ABSORPTION_BAND: []}
    cos_s = geometry.cos_sza
    levels, columns = sen2cor_wv_tables(lut.wv_cm, season)  # Sen2Cor's wvXX tables only
    for w in lut.wv_cm[levels]:
        t = rt_table(lut, (REFERENCE_BAND, ABSORPTION_BAND), geometry, heights_km, visibility_km=[visibility_km],
                     wv_cm=float(w))
        for b in (REFERENCE_BAND, ABSORPTION_BAND):
            i = t.index(b)
            lpb = t.lp[i, 0].astype(np.float64)
            total = lpb + APDA_ALBEDO / np.pi * (t.e0t[i, 0] * cos_s + t.edift[i, 0]) / (
                1.0 - (APDA_ALBEDO - ALBEDO_REFERENCE) * t.s[i, 0])
            lp[b].append(lpb)
            lsig[b].append(total - lpb)
    lp_ref = _extrapolate_heights(np.asarray(lp[REFERENCE_BAND]))
    lp_abs = _extrapolate_heights(np.asarray(lp[ABSORPTION_BAND]))
    sig_ref = _extrapolate_heights(np.asarray(lsig[REFERENCE_BAND]))
    sig_abs = _extrapolate_heights(np.asarray(lsig[ABSORPTION_BAND]))
    ratio = np.where(sig_ref > 0, sig_abs / np.where(sig_ref > 0, sig_ref, 1.0), 0.0)
    levels_km = np.arange(APDA_HEIGHT_LEVELS) * APDA_HEIGHT_STEP_M / 1000.0
    u = columns_at(season, levels_km)[:, columns]
    return ApdaTable(u=u, ratio=ratio, lp_ref=lp_ref, lp_abs=lp_abs)


def _model(u: F64, a: float, b: float, c: float) -> F64:
    return a * np.exp(-b * np.power(u, c))


def fit_ratio(table: ApdaTable, fit_range: tuple[float, float]) -> F64:
    """Fit R(u) = a·exp(−b·u^c) per height level (facts §7.5); returns (n_heights, 3).

    Points outside ``fit_range`` get σ = 0.2 instead of 1, as Sen2Cor passes them to the fit.
    """
    out = np.zeros((table.u.shape[0], 3), np.float64)
    for h in range(table.u.shape[0]):
        x = table.u[h]
        y = table.ratio[:, h]
        sigma = np.where((x < fit_range[0]) | (x > fit_range[1]), APDA_OFF_RANGE_SIGMA, 1.0)
        try:
            popt, _ = optimize.curve_fit(_model, x, y, p0=APDA_FIT_START, sigma=sigma, maxfev=10000)
        except (RuntimeError, optimize.OptimizeWarning):
            popt = np.array(APDA_FIT_START)
        out[h] = popt
    return out


def _flat64(a: npt.ArrayLike) -> F64:
    """``a`` as a contiguous float64 array, flattened (no copy when it already is one)."""
    return np.ascontiguousarray(a, dtype=np.float64).ravel()


@numba.njit(cache=True, nogil=True)
def _level(h, n):  # type: ignore[no-untyped-def]
    """Lower level index of a fractional position, clamped to 0 … n − 2 (NaN → 0, as NumPy's cast and clip
    give)."""
    if np.isnan(h):
        return 0
    return min(max(int(np.floor(h)), 0), n - 2)


@numba.njit(cache=True, nogil=True, inline="always")
def _bilinear_at(table, w, h):  # type: ignore[no-untyped-def]
    """Path radiance at a fractional (WV table, height level) position, the value of
    ``ndimage.map_coordinates(table, [[w], [h]], order=1, mode="nearest")``: linear in both axes from the
    lower node ``floor(c)`` with weights 1 − x and 1 − (1 − x), x = c − floor(c); nodes beyond the table
    repeat its edge; the four terms summed in row-major order (scipy's order)."""
    n0, n1 = table.shape
    f0, f1 = np.floor(w), np.floor(h)
    a0 = 1.0 - (w - f0)
    b0 = 1.0 - (h - f1)
    a1, b1 = 1.0 - a0, 1.0 - b0
    i0, j0 = min(max(int(f0), 0), n0 - 1), min(max(int(f1), 0), n1 - 1)
    i1, j1 = min(max(int(f0) + 1, 0), n0 - 1), min(max(int(f1) + 1, 0), n1 - 1)
    t = 0.0
    t += table[i0, j0] * a0 * b0
    t += table[i0, j1] * a0 * b1
    t += table[i1, j0] * a1 * b0
    t += table[i1, j1] * a1 * b1
    return t


def _apda_step(l_ref: F64, l_abs: F64, w_pos: F64, h_pos: F64, table: ApdaTable, coef: F64, u: F64
               ) -> npt.NDArray[np.bool_]:
    """One APDA iteration (facts §7.5) over flat float64 per-pixel arrays, in place: the ratio of the path-radiance
    corrected radiances, and where it lies in (0, 1] the column ``u`` of the fitted model at it (0 where
    that is not finite); ``u`` keeps its value elsewhere.  Returns where the ratio lies in (0, 1].

    One numba pass with the float64 operations, in their order, of the NumPy formulation it replaces
    (``ref = l_ref − Lp_ref``, ``ratio = mea / ref`` where ``ref > 0`` else 0, the level-interpolated fit
    coefficients, ``u = ((ln ratio − ln a) / −b)^(1/c)``): ≈ 20 float64 temporaries of a cell and three
    gathers less per iteration."""
    ok = np.empty(l_ref.size, np.bool_)
    _apda_step_kernel(l_ref, l_abs, w_pos, h_pos, np.ascontiguousarray(table.lp_ref, dtype=np.float64),
                      np.ascontiguousarray(table.lp_abs, dtype=np.float64),
                      np.ascontiguousarray(coef, dtype=np.float64), u, ok)
    return ok


@numba.njit(cache=True, nogil=True)
def _apda_step_kernel(l_ref, l_abs, w_pos, h_pos, lp_ref, lp_abs, coef, u, ok):  # type: ignore[no-untyped-def]
    """See :func:`_apda_step`."""
    n = coef.shape[0]
    # what depends on the pixel's (WV, height) position alone is computed again only where the position
    # changes (without a DEM every height is 0; the first iteration's WV position is 1 everywhere)
    last_w, last_h = np.nan, np.nan
    lp_r = lp_a = 0.0
    last_fit_h = np.nan
    log_a = neg_b = inv_c = 0.0
    for p in range(l_ref.size):
        w, h = w_pos[p], h_pos[p]
        if w != last_w or h != last_h:  # NaN never equals: always computed again
            last_w, last_h = w, h
            lp_r = _bilinear_at(lp_ref, w, h)
            lp_a = _bilinear_at(lp_abs, w, h)
        ref = l_ref[p] - lp_r
        mea = l_abs[p] - lp_a
        ratio = mea / ref if ref > 0.0 else 0.0
        good = ratio > 0.0 and ratio <= 1.0
        ok[p] = good
        if good:
            if h != last_fit_h:
                last_fit_h = h
                j = _level(h, n)
                t = min(max(h - j, 0.0), 1.0)
                a = (1.0 - t) * coef[j, 0] + t * coef[j + 1, 0]
                b = (1.0 - t) * coef[j, 1] + t * coef[j + 1, 1]
                c = (1.0 - t) * coef[j, 2] + t * coef[j + 1, 2]
                log_a, neg_b, inv_c = np.log(a), -b, 1.0 / c
            x = np.power((np.log(ratio) - log_a) / neg_b, inv_c)
            u[p] = x if np.isfinite(x) else 0.0


def _wv_position(u: F64, h_pos: F64, table: ApdaTable) -> F64:
    """Fractional WV-table position of each pixel's column at its lower height level (facts §7.5)."""
    return _wv_position_kernel(_flat64(u), _flat64(h_pos), np.ascontiguousarray(table.u, dtype=np.float64),
                               np.empty(np.size(u), np.float64)).reshape(np.shape(u))


@numba.njit(cache=True, nogil=True)
def _wv_position_kernel(u, h_pos, grid, out):  # type: ignore[no-untyped-def]
    """Per pixel: i + (u − g_i)/(g_{i+1} − g_i) for the (last) interval g_i ≤ u < g_{i+1} of its level's
    columns, extrapolated above the top column, 0 elsewhere."""
    n_levels, n_wv = grid.shape
    for p in range(u.size):
        lv = _level(h_pos[p], n_levels)
        x = u[p]
        pos = 0.0
        for i in range(n_wv - 1):
            if x >= grid[lv, i] and x < grid[lv, i + 1]:
                pos = i + (x - grid[lv, i]) / (grid[lv, i + 1] - grid[lv, i])
        if x >= grid[lv, n_wv - 1]:
            pos = (n_wv - 1) + (x - grid[lv, n_wv - 1]) / (grid[lv, n_wv - 1] - grid[lv, n_wv - 2])
        out[p] = pos
    return out


def apda_cell(radiance_ref: F32, radiance_abs: F32, height_m: F32, table: ApdaTable, valid: npt.NDArray[np.bool_]
              ) -> F32:
    """APDA water vapour (cm·1000) of one cell (facts §7.5); 0 where the ratio is outside (0, 1].

    Parameters
    ----------
    radiance_ref, radiance_abs : numpy.ndarray of float32, cell shape
        B8A and B09 radiances (cell-mean SZA).
    height_m : numpy.ndarray of float32, cell shape
        Ground height used for the table (Sen2Cor: the DEM, or 0 m without DEM).
    table : ApdaTable
    valid : numpy.ndarray of bool, cell shape
        Pixels with data (B02 > 0).

    Returns
    -------
    numpy.ndarray of float32, cell shape
    """
    shape = radiance_ref.shape
    h_pos = np.clip(height_m.astype(np.float64) / APDA_HEIGHT_STEP_M, 0.0, APDA_HEIGHT_LEVELS - 1.0).ravel()
    l_ref = radiance_ref.astype(np.float64).ravel()
    l_abs = radiance_abs.astype(np.float64).ravel()
    lo, hi = APDA_RANGE_MARGIN
    coef = fit_ratio(table, (table.u[0, 0] - lo, table.u[0, -1] + hi))
    w_pos = np.ones(l_ref.size, np.float64)
    u = np.zeros(l_ref.size, np.float64)
    outliers = np.zeros(l_ref.size, bool)
    for it in range(APDA_ITERATIONS):
        if it > 0:
            coef = fit_ratio(table, (float(u.min()), float(u.max())))
            w_pos = _wv_position(u, h_pos, table)
            if shape[0] > APDA_MIN_LINES_FOR_SMOOTHING:
                nf = int(min(APDA_WPOS_BOX_PX, min(shape) / 2))
                w_pos = ndimage.uniform_filter(w_pos.reshape(shape), size=nf, mode="nearest").ravel()
        ok = _apda_step(l_ref, l_abs, w_pos, h_pos, table, coef, u)
        if it == 0:
            outliers = ~ok
            if np.count_nonzero(ok) < 2:
                logger.info("APDA: too few valid ratios in a cell; WV set to the default")
                return np.full(shape, WV_DEFAULT_SCALED, np.float32)
    u[outliers] = 0.0
    u = np.trunc(u)
    u[~valid.ravel()] = 0.0
    return u.reshape(shape).astype(np.float32)


def retrieve_water_vapour(
    toa_ref: F32,
    toa_abs: F32,
    solar_irradiance: tuple[float, float],
    scl: npt.NDArray[np.uint8],
    data_mask: npt.NDArray[np.bool_],
    cells: Sequence[Cell],
    geometries: Sequence[Geometry],
    lut: AtmosphericLut,
    visibility_km: float,
    season: str,
    params: AcParameters,
    resolution: int,
    elevation_km: F32 | None = None,
) -> tuple[F32, float]:
    """APDA water-vapour map (cm·1000) and its land mean (facts §7.5).

    Parameters
    ----------
    toa_ref, toa_abs : numpy.ndarray of float32, tile shape
        TOA reflectance of B8A and B09 (cirrus-corrected if requested).
    solar_irradiance : (float, float)
        E0 of B8A and B09 (W m⁻² µm⁻¹).
    scl : numpy.ndarray of uint8
    data_mask : numpy.ndarray of bool
        Pixels with data (Sen2Cor: B02 > 0).
    cells, geometries : sequences
        Cell split and per-cell geometry.
    lut : AtmosphericLut
        With all WV tables.
    visibility_km : float
        Scene visibility.
    season : str
    params : AcParameters
    resolution : int
    elevation_km : numpy.ndarray of float32, optional
        DEM; without it the APDA table is read at sea level, as in Sen2Cor.

    Returns
    -------
    wv : numpy.ndarray of float32, tile shape
        Water vapour (cm·1000); 0 on no-data when the water mask is on.
    mean : float
        Land-mean water vapour (cm·1000).
    """
    shape = scl.shape
    wv = np.full(shape, WV_DEFAULT_SCALED, np.float32)
    land = class_mask(scl, WV_LAND_CLASSES)
    height = (np.zeros(shape, np.float32) if elevation_km is None
              else np.clip(elevation_km * 1000.0, 0.0, MAX_ELEVATION_M).astype(np.float32))

    def retrieve_cell(k: int) -> None:  # writes only its own cell
        cell, geom = cells[k], geometries[k]
        table = apda_table(lut, geom, visibility_km, season)
        l_ref = toa_to_radiance(toa_ref[cell.rows, cell.cols], solar_irradiance[0], geom.cos_sza)
        l_abs = toa_to_radiance(toa_abs[cell.rows, cell.cols], solar_irradiance[1], geom.cos_sza)
        wv[cell.rows, cell.cols] = apda_cell(l_ref, l_abs, height[cell.rows, cell.cols], table,
                                             data_mask[cell.rows, cell.cols])

    todo = [k for k, c in enumerate(cells) if land[c.rows, c.cols].any()]
    # cells are independent: on the strip threads (NumPy releases the GIL in its loops); same result
    workers = max(1, min(concurrent_threads(), len(todo)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apda") as pool:
        list(pool.map(retrieve_cell, todo))
    if land.any():
        mean = float(int(wv[land].mean() + 0.5))
    else:
        mean = params.wv_start_cm(season) * WV_SCALE
        msg = (f"no land pixels for the water-vapour retrieval: constant {mean / WV_SCALE:.2f} cm "
               "(AC_Wv_Iter_Start; policy wv_no_land='start_value', docs/differences.md)")
        logger.warning(msg)
        warnings.warn(msg, FallbackWarning, stacklevel=2)
        wv[:] = mean
    if params.wv_watermask > 0:
        wv[~land] = mean
        wv[scl <= SceneClass.SATURATED_DEFECTIVE] = 0.0
    wv[wv < WV_MIN_SCALED] = mean
    if params.smooth_wv_map > 0:
        nff = int(min(max(params.smooth_wv_map / resolution, 1.0), 51.0) + 0.5)
        if nff > 1:
            wv[scl <= SceneClass.SATURATED_DEFECTIVE] = 0.0
            wv = median3(wv)  # = ndimage.median_filter(wv, size=(3, 3)), on OpenCV's threads
    logger.info("water vapour (APDA): land mean %.3f cm", mean / WV_SCALE)
    return wv.astype(np.float32), mean
