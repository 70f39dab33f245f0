"""Step 2, rugged terrain: multiple terrain reflection (Sirguey 2009) before the adjacency step (facts §7.7).

The terrain-reflected flux uses the box-mean step-1 reflectance ρ̄_t of a 2·r + 1 neighbourhood,
r = max(AC_Rng_Nbhd_Terrain_Corr / pixel, 3) (51 px at 20 m)::

    x   = (1 − V_sky)·ρ̄_t            x̄ = (1 − box(V_sky))·ρ̄_t
    F_t = max( (E0t cosSZA + Edift)·x/(1 − x̄), 0.01·E0t cosSZA )
    ρ   = min( π(L − Lp)/(F + F_t), cap )·G

with the scene-centre cell's RT functions at the mean visibility index (facts §7.7).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sen2cor.ac.adjacency import AdjacencySetup, background_mean
from sen2cor.ac.boa import BoaContext, radiance
from sen2cor.ac.constants import TERRAIN_FLUX_FLOOR
from sen2cor.ac.filters import box_mean
from sen2cor.bands import band as band_info

F32 = npt.NDArray[np.float32]


def terrain_box(params_range_km: float, resolution: int, shape: tuple[int, int]) -> int:
    """Diameter 2·r + 1 of the terrain neighbourhood, r = max(range/pixel, 3) px (facts §7.7)."""
    r = max(int(params_range_km * 1000.0 / resolution), 3)
    r = int(min(r, shape[1] / 2 - 2, shape[0] / 2 - 2)) if min(shape) > 10 else 1
    return 2 * max(r, 1) + 1


def terrain_iterated_band(ctx: BoaContext, band_id: str, toa: F32, solar_irradiance: float, rho1: F32,
                          setup: AdjacencySetup, resolution: int) -> F32:
    """Reflectance with the multiple terrain reflection term (facts §7.7).

    Parameters
    ----------
    ctx : BoaContext
    band_id : str
    toa : numpy.ndarray of float32
        TOA reflectance of the band (0 = no data).
    solar_irradiance : float
        E0 (W m⁻² µm⁻¹).
    rho1 : numpy.ndarray of float32
        Step-1 reflectance.
    setup : AdjacencySetup
        Cloud / no-data masks (for the neighbourhood mean).
    resolution : int
        Pixel size (m).

    Returns
    -------
    numpy.ndarray of float32, tile shape.
    """
    bid = band_info(band_id).id
    t = ctx.terrain
    p = ctx.params
    k = ctx.centre
    geom = ctx.geometries[k]
    cos_s = np.float32(geom.cos_sza)
    diameter = terrain_box(p.ac_rng_nbhd_terrain_corr, resolution, rho1.shape)
    rho_t = background_mean(rho1, setup, diameter)
    terrain_view = np.float32(1.0) - t.sky_view
    x = terrain_view * rho_t
    xa = (np.float32(1.0) - box_mean(t.sky_view, diameter)) * rho_t
    if ctx.uses_wv_fit(bid):
        assert ctx.wv_fits is not None and ctx.wv_scaled is not None
        fits = ctx.wv_fits[k]
        c = fits.coeffs[:, fits.index(bid), :, ctx.wv_range, :]
        root = np.sqrt(np.maximum(ctx.wv_scaled, 0.0)).astype(np.float32)
        e = t.elevation_class
        lp, e0t, edift, tsun = (np.exp(c[j, e, 0] + c[j, e, 1] * root).astype(np.float32) for j in range(4))
    else:
        tab = ctx.tables[k]
        bi = tab.index(bid)
        sel = (bi, ctx.mean_index)
        lp, e0t, edift, tsun = (a[sel][t.elevation_class] for a in (tab.lp, tab.e0t, tab.edift, tab.tsun))
    lp = lp * np.float32(ctx.lp_factors.get(bid, 1.0))
    cb = t.cos_beta_floored
    b = t.sunlit.astype(np.float32)
    flux = e0t * cb + edift * (b * tsun * cb / cos_s + (1.0 - b * tsun) * t.sky_view)
    glob = e0t * cos_s
    f_ter = np.maximum((glob + edift) * x / (np.float32(1.0) - xa), np.float32(TERRAIN_FLUX_FLOOR) * glob)
    lrad = radiance(toa, solar_irradiance, float(cos_s))
    rho = np.minimum(np.float32(np.pi) * (lrad - lp) / (flux + f_ter), np.float32(p.ac_topo_corr_cutoff))
    if bid in ctx.brdf_factors:
        rho = rho * ctx.brdf_factors[bid]
    rho = np.where(toa > 0, rho, np.float32(0.0))
    return rho.astype(np.float32)
