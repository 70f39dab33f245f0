"""Our own 6S-generated tables: load the shipped ingredient file and assemble an AtmosphericLut.

The committed file ``sen2cor/data/s2_rt_6s.npz`` (made by ``make luts``) holds sensor-independent
*spectral ingredients*: gas-free 6S scattering results at 6S's 20 reference wavelengths for each state
(aerosol model, AOT, elevation, SZA, view), and 6S gas-transmittance tables and solar spectrum on the
2.5 nm grid.  :func:`load_6s_lut` combines them for one platform (S2A/S2B/S2C spectral responses),
aerosol model, season (WV nodes) and ozone column into the same quantities as Sen2Cor's tables:

* spectral values (per 2.5 nm, E0 = solar spectrum, μs = cos SZA, τ = total optical depth)::

      Lp    = E0 μs/π · [(ρ − ρ_R)·Tg(H2O/2, O3, other) + ρ_R·Tg(O3, other)]      two-way, m = 1/μs + 1/μv
      E0t   = E0 · exp(−τ/μs) · T(1) · Tg(all)                                    m = 1/μs + 1
      Edift = E0 μs · (T(μs) − exp(−τ/μs)) · T(1) · Tg(all)
      Tdir  = exp(−τ) · Tg(all; m = 1),   Tdif = (T(1) − exp(−τ)) · Tg(all; m = 1),   s = S

  (6S's coupling of gas absorption and scattering; ρ, ρ_R, T(μ), S log-log interpolated in wavelength
  from the reference wavelengths; off-nadir ρ from the nadir ρ times the off/nadir ratio interpolated
  in ln λ);
* band values: radiances and irradiances averaged with the spectral response, transmittances and s
  with response × E0; radiances converted to mW cm-2 (sr-1) µm-1.

As in Sen2Cor's tables the transmittance terms refer to a nadir view (only Lp depends on VZA and
relative azimuth).  The aerosol axis is Sen2Cor's nominal sea-level AOT550 (facts §4, §7.4).
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from sen2cor.bands import band as band_info
from sen2cor.errors import AuxDataError, ConfigError
from sen2cor.physics import lut_selection as sel
from sen2cor.physics.lut import AtmosphericLut
from sen2cor.physics.sixs.spectral import loglog_interp, response_table, wavelength_grid

logger = logging.getLogger(__name__)

F64 = npt.NDArray[np.float64]

RT_RESOURCE: Final[str] = "s2_rt_6s.npz"
"""Package-data file with the 6S ingredients (``make luts``)."""

WV_NODES_CM: Final[tuple[float, ...]] = (0.2, 0.4, 0.8, 1.0, 1.1, 2.0, 2.9, 4.0, 5.0)
"""WV columns (cm, sea level) of the assembled tables: the union of Sen2Cor's summer and winter files."""

W_TO_MW_CM2: Final[float] = 0.1
"""W m-2 → mW cm-2."""

SZA_REFINE_STEP_DEG: Final[float] = 2.5
"""Default SZA step after cubic resampling of the 10° 6S nodes (issue 4 finding: cubic in SZA)."""

SZA_FINE_FROM_DEG: Final[float] = 50.0
"""Above this SZA the refined nodes are :data:`SZA_FINE_STEP_DEG` apart (exp(−τ/μs) curves fastest there)."""

SZA_FINE_STEP_DEG: Final[float] = 1.5
"""Refined SZA step above :data:`SZA_FINE_FROM_DEG` (linear error of exp(−τ/μs) ≤ 0.5 % for τ = 1.6
at SZA 68°)."""

AOT_REFINE_STEP: Final[float] = 0.05
"""Default largest AOT step after cubic resampling (linear interpolation of Tdif between the 9 AOT
nodes errs by up to 0.7 %, cubic by < 0.06 %; E0t ∝ exp(−τ/μs) needs the fine step at high SZA)."""


def default_path() -> Path:
    """Location of the shipped ingredient file."""
    return Path(str(resources.files("sen2cor.data").joinpath(RT_RESOURCE)))


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, np.ndarray]:
    p = Path(path)
    if not p.is_file():
        raise AuxDataError(f"{p}: our 6S LUT ingredient file is missing; run 'make luts' (or use Lib_Dir .atm tables)")
    with np.load(p, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_6s_lut(
    platform: str,
    aerosol: str,
    season: str,
    ozone_du: float | None,
    wv_cm: tuple[float, ...] | None = None,
    path: str | Path | None = None,
    band_e0: dict[str, float] | None = None,
    sza_step_deg: float | None = SZA_REFINE_STEP_DEG,
    aot_step: float | None = AOT_REFINE_STEP,
    wv_midpoints: bool = True,
    bands: tuple[str, ...] | None = None,
) -> AtmosphericLut:
    """Assemble our 6S tables for one platform, aerosol model, season and ozone column.

    Parameters
    ----------
    platform : str
        ``S2A``, ``S2B`` or ``S2C`` (spectral responses).
    aerosol : str
        ``RURAL`` or ``MARITIME``.
    season : str
        ``SUMMER`` or ``WINTER``: selects Sen2Cor's WV nodes and base WV (facts §4).
    ozone_du : float or None
        Ozone column in DU (None → the season's standard 331 / 377 DU).
    wv_cm : tuple of float, optional
        WV nodes instead of the season's.
    path : str or Path, optional
        Ingredient file; default the shipped one.
    band_e0 : dict of str to float, optional
        Band solar irradiance (mW cm-2 µm-1, i.e. L1C ``SOLAR_IRRADIANCE`` / 10) to which the
        radiance terms (Lp, E0t, Edift) are rescaled, so that the tables and the TOA radiance the
        correction derives from L1C reflectance (facts §3) share one solar spectrum.  Default: 6S's
        spectrum (band values in ``attrs["e0_band_mw_cm2_um"]``).
    sza_step_deg : float or None
        Resample the SZA axis with a cubic spline to this step (the functions curve most in SZA;
        the multilinear kernel is then accurate between the fine nodes); None keeps the 6S nodes.
    aot_step : float or None
        Split the AOT intervals by cubic resampling so that nodes are at most this far apart (the
        transmittance terms are splined as ln value; None keeps the 6S nodes).
    wv_midpoints : bool
        Also assemble (exactly, from the gas tables) the tables halfway between the WV nodes, so that
        linear interpolation in WV stays within ~0.3 % (it errs by ~1 % between Sen2Cor's nodes in the
        water-vapour bands).  Sen2Cor's WV nodes remain nodes (``select_wv`` returns their tables).

    Returns
    -------
    AtmosphericLut
        13 bands, WV × AOT × SZA × elevation × VZA (0, 10°) × relative azimuth (0 … 180°).
    """
    ing = _load(str(path or default_path()))
    attrs = json.loads(str(ing["attrs"]))
    models = [m.upper() for m in attrs["aerosol_models"]]
    if aerosol.upper() not in models:
        raise ConfigError(f"aerosol model {aerosol!r} not in the 6S tables ({', '.join(models)})")
    im = models.index(aerosol.upper())
    s = season.strip().upper()
    if ozone_du is None or ozone_du <= 0:
        ozone_du = float(sel.OZONE_LETTERS[s][sel.STANDARD_OZONE_LETTER[s]])
    wv = tuple(sel.WV_TABLES_CM[s]) if wv_cm is None else tuple(sorted(wv_cm))
    if wv_midpoints and len(wv) > 1:  # exact tables between Sen2Cor's WV nodes (linear-in-WV error / 4)
        mids = [round(0.5 * (lo + hi), 4) for lo, hi in itertools.pairwise(wv)]
        wv = tuple(sorted(set(wv) | set(mids)))
    srf = response_table(platform.upper())
    keep = list(range(len(srf.bands))) if bands is None else [srf.bands.index(band_info(b).id) for b in bands]
    lut = _assemble(ing, attrs, im, srf.response[keep], tuple(srf.bands[i] for i in keep), wv, ozone_du / 1000.0, sel.BASE_WV_CM[s],
                    {"platform": platform.upper(), "season": s, "aerosol": aerosol.upper(),
                     "ozone_du": f"{ozone_du:g}"})
    if band_e0:
        own = np.array(json.loads(lut.attrs["e0_band_mw_cm2_um"]))
        factor = np.ones(len(lut.bands))
        for bid, val in band_e0.items():
            i = lut.band_index(bid)
            factor[i] = float(val) / own[i]
        lp = (lut.lp * factor[:, None, None, None, None, None, None]).astype(np.float32)
        fl = lut.fluxes.copy()
        fl[..., :2] *= factor[:, None, None, None, None, None, None].astype(np.float32)
        attrs_new = dict(lut.attrs, e0_band_mw_cm2_um=json.dumps([round(float(v), 4) for v in own * factor]))
        lut = replace(lut, lp=lp, fluxes=fl, attrs=attrs_new)
    if sza_step_deg:
        top = lut.sza_deg[-1]
        coarse = np.arange(0.0, min(SZA_FINE_FROM_DEG, top) + 1e-9, sza_step_deg)
        n_fine = int(np.ceil((top - coarse[-1]) / SZA_FINE_STEP_DEG - 1e-9))
        fine = np.linspace(coarse[-1], top, n_fine + 1)[1:] if n_fine > 0 else np.empty(0)
        lut = lut.refine_axis("sza", np.concatenate([coarse, fine]))
    if aot_step:
        a = lut.aot
        fine = np.concatenate([np.linspace(a[k], a[k + 1], int(np.ceil((a[k + 1] - a[k]) / aot_step - 1e-9)) + 1)[:-1]
                               for k in range(a.size - 1)] + [a[-1:]])
        lut = lut.refine_axis("aot", fine)
    return lut


def _gas(ing: dict[str, np.ndarray], which: str, iz: int, x: F64) -> F64:
    """Gas transmittance (n_x, n_wl) at abscissae ``x`` (X for H2O, Y for O3, air mass for others)."""
    nodes = ing[f"gas_{which}_nodes"]
    table = ing[f"gas_{which}"] if which == "o3" else ing[f"gas_{which}"][iz]
    d = -np.log(np.clip(table, 1e-6, 1.0))  # (n_nodes, n_wl)
    if which == "o3":  # Beer law: coefficient per node, interpolated
        k = d / nodes[:, None]
        xc = np.clip(x, nodes[0], nodes[-1])
        kk = np.stack([np.interp(xc, nodes, k[:, j]) for j in range(k.shape[1])], axis=-1)
        return np.exp(-x[:, None] * kk)
    lx = np.log(nodes)
    lv = np.log(np.maximum(x, 1e-6))
    j = np.clip(np.searchsorted(lx, lv) - 1, 0, lx.size - 2)
    t = ((lv - lx[j]) / (lx[j + 1] - lx[j]))[:, None]
    d0 = np.log(np.maximum(d[j], 1e-9))
    d1 = np.log(np.maximum(d[j + 1], 1e-9))
    dv = np.exp(d0 * (1 - t) + d1 * t)
    dv = np.where((d[j] <= 1e-9) & (d[j + 1] <= 1e-9), 0.0, dv)
    return np.exp(-dv)


def _assemble(ing: dict[str, np.ndarray], attrs: dict, im: int, srf: F64, bands: tuple[str, ...],
              wv: tuple[float, ...], uo3: float, base_wv: float, meta: dict[str, str]) -> AtmosphericLut:
    grid = wavelength_grid()
    wl_ref = ing["wl_ref"]
    wl_off = ing["wl_off"]
    sza = ing["sza_deg"]
    raa = ing["raa_deg"]
    vza_off = float(ing["vza_off_deg"])
    e0 = ing["solar_irradiance"]  # (n_wl,)
    w_rad = srf / srf.sum(axis=1, keepdims=True)  # (n_b, n_wl)
    w_tr = srf * e0
    w_tr = w_tr / w_tr.sum(axis=1, keepdims=True)
    na, nz, ns = ing["aot"].size, ing["elevation_km"].size, sza.size
    nb, nw, nr = len(bands), len(wv), raa.size
    lp = np.empty((nb, nw, na, ns, nz, 2, nr), dtype=np.float32)
    fl = np.empty((nb, nw, na, ns, nz, 2, 5), dtype=np.float32)
    mus = np.cos(np.deg2rad(sza))
    muv_off = np.cos(np.deg2rad(vza_off))
    u = np.asarray(wv)
    for iz in range(nz):
        # gas factors per WV (n_w, ...) for the air masses needed
        m_nad = 1.0 / mus + 1.0  # (ns,)
        m_off = 1.0 / mus + 1.0 / muv_off
        other_n = _gas(ing, "other", iz, m_nad)  # (ns, n_wl)
        other_o = _gas(ing, "other", iz, m_off)
        other_1 = _gas(ing, "other", iz, np.array([1.0]))[0]
        o3_n = _gas(ing, "o3", iz, m_nad * uo3)
        o3_o = _gas(ing, "o3", iz, m_off * uo3)
        o3_1 = _gas(ing, "o3", iz, np.array([uo3]))[0]
        gas_w = []
        for uw in u:
            h_n = _gas(ing, "h2o", iz, m_nad * uw)
            h_nh = _gas(ing, "h2o", iz, m_nad * uw / 2)
            h_oh = _gas(ing, "h2o", iz, m_off * uw / 2)
            h_1 = _gas(ing, "h2o", iz, np.array([uw]))[0]
            gas_w.append((h_n * o3_n * other_n, o3_n * other_n, h_nh * o3_n * other_n,  # all, p1, p2 (nadir)
                          o3_o * other_o, h_oh * o3_o * other_o,  # p1, p2 (off-nadir)
                          h_1 * o3_1 * other_1))  # one-way nadir
        lg = np.log(grid)
        lo = np.log(wl_off)
        i_off = [int(np.argmin(np.abs(wl_ref - w))) for w in wl_off]
        pref = e0 * mus[:, None] / np.pi  # (ns, n_wl)
        for ia in range(na):
            sc = {k: ing[k][im, ia, iz].astype(np.float64) for k in (
                "rho", "rho_rayleigh", "t_mu", "spherical_albedo", "tau_rayleigh", "tau_aerosol", "rho_off",
                "rho_rayleigh_off")}
            rho = loglog_interp(wl_ref, sc["rho"], grid)  # (ns, n_wl)
            rho_r = loglog_interp(wl_ref, sc["rho_rayleigh"], grid)
            t_mu = loglog_interp(wl_ref, sc["t_mu"], grid)  # (ns, n_wl): T(cos sza)
            s_sph = loglog_interp(wl_ref, sc["spherical_albedo"], grid)
            tau = loglog_interp(wl_ref, sc["tau_rayleigh"] + sc["tau_aerosol"], grid)
            t1 = t_mu[0]
            # off-nadir: ratio to the nadir value at the off wavelengths, linear in ln λ
            ratio = sc["rho_off"] / np.maximum(sc["rho"][:, None, i_off], 1e-12)  # (ns, nr, n_off)
            ratio_r = sc["rho_rayleigh_off"] / np.maximum(sc["rho_rayleigh"][:, None, i_off], 1e-12)
            r_g = np.stack([[np.interp(lg, lo, ratio[k, r]) for r in range(nr)] for k in range(ns)])
            rr_g = np.stack([[np.interp(lg, lo, ratio_r[k, r]) for r in range(nr)] for k in range(ns)])
            rho_o = rho[:, None] * r_g  # (ns, nr, n_wl)
            rho_ro = rho_r[:, None] * rr_g
            direct = np.exp(-tau[None, :] / mus[:, None])  # (ns, n_wl)
            tdir_free = np.exp(-tau)
            tdif_free = t1 - tdir_free
            s_band = w_tr @ s_sph
            for iw in range(nw):
                tg_all_n, tgp1_n, tgp2_n, tgp1_o, tgp2_o, tg_1 = gas_w[iw]
                lp_n = pref * ((rho - rho_r) * tgp2_n + rho_r * tgp1_n)
                lp_o = pref[:, None] * ((rho_o - rho_ro) * tgp2_o[:, None] + rho_ro * tgp1_o[:, None])
                e0t = e0 * direct * t1 * tg_all_n
                edift = e0 * mus[:, None] * (t_mu - direct) * t1 * tg_all_n
                lp[:, iw, ia, :, iz, 0, :] = (W_TO_MW_CM2 * lp_n @ w_rad.T).T[:, :, None]
                lp[:, iw, ia, :, iz, 1, :] = np.moveaxis(W_TO_MW_CM2 * lp_o @ w_rad.T, -1, 0)
                fl[:, iw, ia, :, iz, :, 0] = (W_TO_MW_CM2 * edift @ w_rad.T).T[:, :, None]
                fl[:, iw, ia, :, iz, :, 1] = (W_TO_MW_CM2 * e0t @ w_rad.T).T[:, :, None]
                fl[:, iw, ia, :, iz, :, 2] = (w_tr @ (tdir_free * tg_1))[:, None, None]
                fl[:, iw, ia, :, iz, :, 3] = (w_tr @ (tdif_free * tg_1))[:, None, None]
                fl[:, iw, ia, :, iz, :, 4] = s_band[:, None, None]
    e0_band = W_TO_MW_CM2 * (w_rad @ e0)
    meta = dict(meta)
    meta.update({"source": "sen2cor 6S tables", "sixs_version": str(attrs.get("sixs_version")),
                 "e0_band_mw_cm2_um": json.dumps([round(float(v), 4) for v in e0_band])})
    return AtmosphericLut(
        bands=tuple(bands),
        wavelengths_um=np.array([band_info(b).wavelength_um for b in bands]),
        wv_cm=np.asarray(wv, dtype=np.float64),
        aot=ing["aot"].astype(np.float64),
        sza_deg=sza.astype(np.float64),
        elevation_km=ing["elevation_km"].astype(np.float64),
        vza_deg=np.array([0.0, vza_off]),
        raa_deg=raa.astype(np.float64),
        lp=lp,
        fluxes=fl,
        base_wv_cm=float(base_wv) if base_wv in wv else float(wv[0]),
        attrs=meta,
    )
