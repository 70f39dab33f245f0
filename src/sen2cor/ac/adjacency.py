"""Step 2 of the reflectance retrieval: adjacency and spherical-albedo correction (facts §7.7).

With ρ̄ the box mean of the step-1 (or terrain-iterated) reflectance over (2·n_adj + 1)² pixels — clouds
replaced by the mean of the clear pixels when they exceed 1 % of the scene, no-data filled with the band
mean (halo fix) — each band is corrected as::

    ρ ← ρ + q·(ρ − ρ̄)                       (adjacency; skipped for > 95 % clouds, and in absorption bands)
    ρ ← ρ + 0.1·q·(ρ − ρ̄)                   (extra term near no-data borders)
    ρ ← ρ·(1 − (ρ̄ − 0.15)·s)                (spherical albedo; ρ̄ := ρ for bands without adjacency)

q and s come from the scene-centre cell at the mean visibility index and the pixel's elevation class.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from sen2cor.ac.constants import (
    ADJACENCY_EXCLUDED_UM,
    ADJACENCY_MAX_WAVELENGTH_UM,
    ALBEDO_REFERENCE,
    BORDER_ADJACENCY_FACTOR,
    BORDER_MASK_MAX,
    CLEAR_CLASSES,
    CLEAR_LAND_CLASSES,
    CLOUD_CLASSES_AC,
    CLOUD_REPLACEMENT_FRACTION,
    HIGH_CLOUD_FRACTION,
)
from sen2cor.ac.filters import box_mean
from sen2cor.ac.kernels import adjacency_kernel, albedo_kernel, background_fill_kernel
from sen2cor.ac.means import masked_mean
from sen2cor.bands import band as band_info
from sen2cor.sc.classes import SceneClass, class_mask

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]

STEP2_STRIP_ROWS: Final[int] = 512
"""Rows per strip of :func:`correct_band_by_strips` (memory only)."""


@dataclass(frozen=True)
class AdjacencySetup:
    """Scene-level masks and sizes of step 2 (facts §7.7).

    Attributes
    ----------
    valid : numpy.ndarray of bool
        Non-background pixels (SCL not 0/1).
    clouds : numpy.ndarray of bool
        AC clouds (SCL 7–10, plus thick cirrus under cirrus correction).
    clear : numpy.ndarray of bool
        Pixels whose mean replaces clouds (SCL 4/5/6).
    replace_clouds : bool
        Clouds exceed 1 % of the valid pixels.
    high_cloud : bool
        Clouds exceed 95 % of clouds + clear land: adjacency off.
    box : int
        Adjacency box size 2·n_adj + 1 (pixels).
    border : numpy.ndarray of bool or None
        Pixels near no-data borders (extra adjacency term), None without no-data.
    """

    valid: Mask
    clouds: Mask
    clear: Mask
    replace_clouds: bool
    high_cloud: bool
    box: int
    border: Mask | None


def adjacency_pixels(adj_km: float, resolution: int) -> int:
    """n_adj = round(max(Adj_Km, 3 pixels)/pixel), forced odd (facts §7.7: 1 km → 51 px at 20 m)."""
    km = max(adj_km, 3.0 * resolution / 1000.0)
    n = int(km * 1000.0 / resolution + 0.5)
    return n + 1 if n % 2 == 0 else n


def cloud_switches(n_valid: int, n_cloud: int, n_clear_land: int) -> tuple[bool, bool]:
    """``(replace clouds, adjacency off)`` from pixel counts: clouds above 1 % of the valid pixels are
    replaced by the clear mean; above 95 % of clouds + clear land the adjacency term is dropped (facts §7.7)."""
    replace = n_valid > 0 and n_cloud / n_valid > CLOUD_REPLACEMENT_FRACTION
    high = n_cloud / float(n_cloud + n_clear_land + 1) > HIGH_CLOUD_FRACTION
    return replace, high


def setup_adjacency(scl: npt.NDArray[np.uint8], adj_km: float, resolution: int, *, cirrus_correction: bool = False
                    ) -> AdjacencySetup:
    """Masks, cloud switches and box size of step 2 (facts §7.7)."""
    valid = scl > SceneClass.SATURATED_DEFECTIVE
    clouds = class_mask(scl, CLOUD_CLASSES_AC)
    if cirrus_correction:
        clouds |= scl == SceneClass.HIGH_PROBA_CLOUDS
    replace, high = cloud_switches(int(np.count_nonzero(valid)), int(np.count_nonzero(clouds)),
                                   int(np.count_nonzero(class_mask(scl, CLEAR_LAND_CLASSES))))
    if high:
        logger.info("clouds cover more than 95 %% of the land: adjacency correction disabled (facts §7.7)")
    box = 2 * adjacency_pixels(adj_km, resolution) + 1
    border = None
    if not valid.all():
        frac = box_mean(valid.astype(np.float32), box)
        border = (frac > 0) & (frac < BORDER_MASK_MAX)
    return AdjacencySetup(valid, clouds, class_mask(scl, CLEAR_CLASSES), replace, high, box, border)


def has_adjacency(band_id: str) -> bool:
    """False beyond 2.46 µm and in the 1.35–1.45 / 1.80–1.95 µm windows (facts §7.7)."""
    w = band_info(band_id).wavelength_um
    if w > ADJACENCY_MAX_WAVELENGTH_UM:
        return False
    return not any(lo <= w <= hi for lo, hi in ADJACENCY_EXCLUDED_UM)


@dataclass(frozen=True)
class BackgroundFill:
    """Scene means that replace no-data and clouds before the box mean (None: not replaced).

    :func:`background_fill` computes them from a whole tile; a caller working in strips passes the
    whole-tile values accumulated beforehand.
    """

    nodata: float | None
    clouds: float | None


def background_fill(rho: F32, setup: AdjacencySetup) -> BackgroundFill:
    """No-data fill = mean ρ of the valid pixels (if some are not valid); cloud fill = mean of the clear ones
    (NumPy's float32 means, without masked copies: :func:`sen2cor.ac.means.masked_mean`)."""
    nodata = masked_mean(rho, setup.valid) if setup.valid.any() and not setup.valid.all() else None
    clouds = None
    if setup.replace_clouds and setup.clear.any():
        clouds = masked_mean(rho, setup.clear)
    return BackgroundFill(nodata, clouds)


def background_mean(rho: F32, setup: AdjacencySetup, box: int, fill: BackgroundFill | None = None) -> F32:
    """Box mean of ρ with no-data filled by the band mean and (if many) clouds by the clear mean, ≥ 0."""
    mean = _unfloored_background(rho, setup, box, fill)
    return np.maximum(mean, np.float32(0.0), out=mean)


def _unfloored_background(rho: F32, setup: AdjacencySetup, box: int, fill: BackgroundFill | None,
                          rows: tuple[int, int] | None = None) -> F32:
    """:func:`background_mean` before the floor at 0 (one fill pass, then the box mean in place); ``rows``:
    only those rows of it (:func:`~sen2cor.ac.filters.box_mean`)."""
    fill = fill or background_fill(rho, setup)
    if fill.nodata is None and fill.clouds is None:
        return box_mean(rho, box, rows=rows)
    work = background_fill_kernel(
        np.ascontiguousarray(rho, dtype=np.float32), setup.valid, setup.clouds,
        np.float32(fill.nodata or 0.0), fill.nodata is not None, np.float32(fill.clouds or 0.0),
        fill.clouds is not None, np.empty(rho.shape, np.float32))
    r0, r1 = rows or (0, rho.shape[0])
    return box_mean(work, box, out=work[r0:r1], rows=rows)


def correct_band(band_id: str, rho: F32, q: npt.ArrayLike, s: npt.ArrayLike, setup: AdjacencySetup,
                 *, adjacency: bool = True, fill: BackgroundFill | None = None,
                 rows: tuple[int, int] | None = None) -> F32:
    """Adjacency (if applicable) and spherical-albedo correction of one band (facts §7.7).

    Parameters
    ----------
    band_id : str
    rho : numpy.ndarray of float32, tile shape
        Step-1 (or terrain-iterated) reflectance.
    q, s : array_like of float32, broadcastable to the tile
        Adjacency ratio and spherical albedo per pixel (scene-centre cell, mean visibility).
    setup : AdjacencySetup
    adjacency : bool
        False switches the adjacency term off for every band (spherical albedo still applied).
    fill : BackgroundFill, optional
        Whole-tile fill values when ``rho`` is a strip of the tile (default: computed from ``rho``).
    rows : (int, int), optional
        Only rows ``r0:r1`` of the result: a strip's own rows, the others being its halo (the same values
        as the whole result's rows).

    Returns
    -------
    numpy.ndarray of float32, tile shape (``rows``: those rows); 0 on no-data.  One numba pass per step
    (``ac.kernels``), the float32 operations of the equations above in their order.
    """
    rho = np.ascontiguousarray(rho, dtype=np.float32)
    r0, r1 = rows or (0, rho.shape[0])
    part = slice(r0, r1)
    q2 = np.broadcast_to(np.asarray(q, dtype=np.float32), rho.shape)[part]
    s2 = np.broadcast_to(np.asarray(s, dtype=np.float32), rho.shape)[part]
    valid = np.broadcast_to(setup.valid, rho.shape)[part]
    out = np.empty((r1 - r0, rho.shape[1]), np.float32)
    reference = np.float32(ALBEDO_REFERENCE)
    if not (adjacency and has_adjacency(band_id)):
        return albedo_kernel(rho[part], s2, valid, reference, out)
    mean = _unfloored_background(rho, setup, setup.box, fill, rows)
    border = setup.border[part] if setup.border is not None else valid
    return adjacency_kernel(rho[part], mean, q2, s2, valid, border, not setup.high_cloud,
                            setup.border is not None, np.float32(BORDER_ADJACENCY_FACTOR), reference, out)


def correct_band_by_strips(band_id: str, rho: F32, q: npt.ArrayLike, s: npt.ArrayLike, setup: AdjacencySetup,
                           *, adjacency: bool = True, strip_rows: int = STEP2_STRIP_ROWS,
                           in_place: bool = False) -> F32:
    """:func:`correct_band` of a whole tile computed by row strips, each with a halo of ``box // 2`` rows.

    The fill values come from the whole tile and the box mean of a strip sees the same neighbours as on the
    whole tile, so the result is :func:`correct_band`'s (the box mean's running sums start at the strip
    instead of the tile edge: the last bit of a float32 may differ, very rarely).  The temporaries are a
    strip's instead of five tile-size float32 arrays (0.6 GB for a 20 m tile).  ``in_place``: the result
    overwrites ``rho`` (the halo rows above a strip are kept aside before they are overwritten), one
    tile-size array less.
    """
    rows = rho.shape[0]
    q = np.broadcast_to(np.asarray(q, dtype=np.float32), rho.shape)
    s = np.broadcast_to(np.asarray(s, dtype=np.float32), rho.shape)
    fill = background_fill(rho, setup)
    halo = setup.box // 2
    strip_rows = max(int(strip_rows), 1)
    in_place = in_place and strip_rows >= halo  # the kept rows must lie in the strip just written
    out = rho if in_place else np.empty(rho.shape, np.float32)
    above = rho[:0]  # original values of the halo rows above the current strip (in place only)
    for r0 in range(0, rows, strip_rows):
        r1 = min(r0 + strip_rows, rows)
        h0, h1 = max(0, r0 - halo), min(rows, r1 + halo)
        src = np.concatenate([above, rho[r0:h1]]) if in_place and h0 < r0 else rho[h0:h1]
        part = replace(setup, valid=setup.valid[h0:h1], clouds=setup.clouds[h0:h1], clear=setup.clear[h0:h1],
                       border=None if setup.border is None else setup.border[h0:h1])
        done = correct_band(band_id, src, q[h0:h1], s[h0:h1], part, adjacency=adjacency, fill=fill,
                            rows=(r0 - h0, r1 - h0))
        if in_place:
            above = rho[max(r0, r1 - halo):r1].copy()  # before the strip is overwritten
        out[r0:r1] = done
    return out
