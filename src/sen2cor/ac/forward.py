"""Forward simulation of TOA reflectance from surface reflectance with a LUT — the closed-loop reference.

Deliberately independent of the inversion modules (:mod:`~sen2cor.ac.rt`, :mod:`~sen2cor.ac.kernels`,
:mod:`~sen2cor.ac.adjacency`): it evaluates :meth:`AtmosphericLut.interpolate` per pixel and writes the
physics in the forward direction, exactly (no linearisation)::

    E_dir = E0t·cosβ·b
    E_dif = Edift·( b·Tsun·cosβ/cosSZA + (1 − b·Tsun)·V )                       (circumsolar + isotropic sky)
    E_ter = (E0t·cosSZA + Edift)·(1 − V)·ρ̄_t / (1 − (1 − V̄)·ρ̄_t)               (multiple terrain reflection)
    ρ_app = (ρ + q·ρ̄)/(1 + q) · (1 − 0.15·s)/(1 − ρ̄·s)                         (adjacency, spherical albedo)
    L     = Lp + (E_dir + E_dif + E_ter)·ρ_app/π
    ρ_TOA = π·L / (E0·cosSZA)

with ρ̄ the box mean of ρ over the adjacency window and ρ̄_t over the terrain neighbourhood (facts §4,
§7.6, §7.7: the LUT fluxes hold for a 0.15 background albedo; q = Tdif/Tdir splits the ground signal
into the pixel's direct and the background's diffuse share).  Water vapour is given as the sea-level
label of the LUT WV axis (linear between tables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sen2cor.physics.lut import AtmosphericLut

F32 = npt.NDArray[np.float32]

BACKGROUND_ALBEDO = 0.15
"""Background albedo the LUT fluxes are computed for (facts §7.7)."""


@dataclass(frozen=True)
class ForwardTerrain:
    """Illumination of a rugged surface for the forward model (tile-shaped arrays).

    ``cos_beta`` cos of the local solar incidence (≥ 0), ``sky_view`` 0–1, ``sunlit`` False in cast shadow,
    ``box`` the terrain-neighbourhood box size (pixels).
    """

    cos_beta: F32
    sky_view: F32
    sunlit: npt.NDArray[np.bool_]
    box: int


def _box(a: F32, size: int) -> F32:
    return ndimage.uniform_filter(a.astype(np.float64), size=size, mode="nearest").astype(np.float32)


def _background(r: F32, exclude: npt.NDArray[np.bool_] | None, reference: npt.NDArray[np.bool_] | None) -> F32:
    """ρ with no-data filled by the valid mean and excluded pixels by the reference mean."""
    valid = r > 0
    out = r
    if valid.any() and not valid.all():
        out = np.where(valid, r, np.float32(r[valid].mean()))
    if exclude is not None and exclude.any():
        ref = (~exclude & valid) if reference is None else (reference & valid)
        if ref.any():
            out = np.where(exclude & valid, np.float32(r[ref].mean()), out)
    return out.astype(np.float32)


def true_background(r: F32, box: int, exclude: npt.NDArray[np.bool_] | None = None,
                    reference: npt.NDArray[np.bool_] | None = None) -> F32:
    """The adjacency background ρ̄ the forward model uses: box mean of the filled surface reflectance.

    Same fill rules as :func:`simulate_toa` (no-data → mean of the valid pixels, ``exclude`` → mean of the
    ``reference`` pixels).  The closed-loop tool hands it to the inversion as an "oracle" background to
    separate the one-pass background estimate from the rest of the inversion.

    Parameters
    ----------
    r : numpy.ndarray of float32, shape (rows, cols)
        Surface reflectance of one band; ≤ 0 is no data.
    box : int
        Box size (pixels).
    exclude, reference : numpy.ndarray of bool, shape (rows, cols), optional
        As ``background_exclude`` / ``background_reference`` of :func:`simulate_toa`.

    Returns
    -------
    numpy.ndarray of float32, shape (rows, cols)
    """
    return _box(_background(np.asarray(r, dtype=np.float32), exclude, reference), box)


def simulate_toa(
    rho: Mapping[str, F32],
    *,
    lut: AtmosphericLut,
    solar_irradiance: Mapping[str, float],
    sza_deg: float,
    saa_deg: float,
    vza_deg: float,
    vaa_deg: float,
    visibility_km: npt.ArrayLike,
    wv_cm: npt.ArrayLike,
    elevation_km: npt.ArrayLike = 0.0,
    adjacency_box: int | None = None,
    terrain: ForwardTerrain | None = None,
    bands: Sequence[str] | None = None,
    background_exclude: npt.NDArray[np.bool_] | None = None,
    background_reference: npt.NDArray[np.bool_] | None = None,
) -> dict[str, F32]:
    """TOA reflectance of a surface-reflectance scene.

    Parameters
    ----------
    rho : mapping band id → numpy.ndarray of float32, shape (rows, cols)
        Surface reflectance; pixels ≤ 0 in every band are treated as no data (TOA 0).
    lut : AtmosphericLut
    solar_irradiance : mapping band id → float
        E0 (W m⁻² µm⁻¹).
    sza_deg, saa_deg, vza_deg, vaa_deg : float
        Sun and view angles (°).
    visibility_km : float or array (rows, cols)
        Sea-level visibility.
    wv_cm : float or array
        Water vapour as the LUT's sea-level WV label (cm).
    elevation_km : float or array
    adjacency_box : int, optional
        Box size of the adjacency background; None → ρ̄ = ρ (no adjacency).
    terrain : ForwardTerrain, optional
        Rugged-terrain illumination; None → flat (cosβ = cos SZA, V = 1, no terrain flux).
    bands : sequence of str, optional
        Bands to simulate (default: all of ``rho`` present in the LUT).
    background_exclude : numpy.ndarray of bool, optional
        Pixels that do not contribute to the adjacency / terrain background (clouds, which lie above the
        aerosol layer — Sen2Cor's model assumption, facts §7.7); they are replaced by the mean of the
        ``background_reference`` pixels (default: the other valid pixels) in the box means.  No-data
        pixels (ρ ≤ 0) are filled with the mean of the valid ones.  Sen2Cor's negative-reflectance check
        assumes the opposite (clouds in the background), see docs/differences.md, "Closed loop: remaining
        errors".
    background_reference : numpy.ndarray of bool, optional
        Pixels whose mean replaces the excluded ones (Sen2Cor: SCL 4/5/6).

    Returns
    -------
    dict band id → numpy.ndarray of float32 TOA reflectance.
    """
    bands = [b for b in (bands or rho) if b in lut.bands]
    first = np.asarray(rho[bands[0]])
    shape = first.shape
    cos_s = np.float32(np.cos(np.deg2rad(sza_deg)))
    state_arrays = [np.ndim(v) > 0 for v in (visibility_km, wv_cm, elevation_km)]
    vis = np.asarray(visibility_km, dtype=np.float32)
    wv = np.asarray(wv_cm, dtype=np.float32)
    z = np.asarray(elevation_km, dtype=np.float32)
    if any(state_arrays):
        vis, wv, z = (np.broadcast_to(a, shape) for a in (vis, wv, z))
    f = lut.interpolate(bands, sza_deg=sza_deg, vza_deg=vza_deg, raa_deg=abs(saa_deg - vaa_deg), elevation_km=z,
                        visibility_km=vis, wv_cm=wv, quantities=("lp", "e0t", "edift", "tsun", "q", "s"))
    if terrain is None:
        cb = cos_s
        sky = np.float32(1.0)
        b = np.float32(1.0)
    else:
        cb = np.maximum(terrain.cos_beta, 0.0).astype(np.float32)
        sky = terrain.sky_view.astype(np.float32)
        b = terrain.sunlit.astype(np.float32)
    out = {}
    for k, band in enumerate(bands):
        r = np.asarray(rho[band], dtype=np.float32)
        r_fill = _background(r, background_exclude, background_reference)
        lp, e0t, edift, tsun, q, s = (getattr(f, n)[k] for n in ("lp", "e0t", "edift", "tsun", "q", "s"))
        r_bg = _box(r_fill, adjacency_box) if adjacency_box else r
        e_dir = e0t * cb * b
        e_dif = edift * (b * tsun * cb / cos_s + (1.0 - b * tsun) * sky)
        e_ter = np.float32(0.0)
        if terrain is not None:
            rt = _box(r_fill, terrain.box)
            vbar = _box(np.broadcast_to(sky, shape).astype(np.float32), terrain.box)
            e_ter = (e0t * cos_s + edift) * (1.0 - sky) * rt / (1.0 - (1.0 - vbar) * rt)
        r_app = (r + q * r_bg) / (1.0 + q) * (1.0 - BACKGROUND_ALBEDO * s) / (1.0 - r_bg * s)
        radiance = lp + (e_dir + e_dif + e_ter) * r_app / np.float32(np.pi)
        e0 = np.float32(solar_irradiance[band] / 10.0)
        toa = (np.float32(np.pi) * radiance / (e0 * cos_s)).astype(np.float32)
        out[band] = np.where(r > 0, np.maximum(toa, np.float32(1e-4)), np.float32(0.0)).astype(np.float32)
    return out


def column_wv_cm(lut: AtmosphericLut, wv_label_cm: float, elevation_km: float, season: str) -> float:
    """Column WV above ``elevation_km`` (cm) of a sea-level WV label, as the retrieval reports it (facts §7.5)."""
    from sen2cor.ac.wv_columns import columns_at  # tables of numbers only (no inversion code)

    u = columns_at(season, [elevation_km])[0, : lut.wv_cm.size] / 1000.0
    return float(np.interp(wv_label_cm, lut.wv_cm, u))
