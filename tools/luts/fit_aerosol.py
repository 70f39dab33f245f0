"""Fit our tabulated 6S aerosol models to Sen2Cor's rural / maritime LUTs; prints the Python literal
for ``src/sen2cor/physics/sixs/aerosol_models.py``.

Usage: python tools/luts/fit_aerosol.py RURAL|MARITIME [--lib ../shared/data/sen2cor-2.8-luts]

Data: ESA Sen2Cor 2.8 tables, S2A, mid-latitude summer, 331 DU, wv04, 0 km (read as a reference only).
1. Extinction spectrum: rank-1 fit of the aerosol optical-depth differences tau(V) - tau(120 km)
   = -ln Tdir(V) + ln Tdir(120 km) (gas and Rayleigh cancel) over 10 bands and 7 visibilities; the
   band shape, normalised at 550 nm, is interpolated log-log to 6S's 20 wavelengths.
2. AOT calibration: 6S AOT550 at each Sen2Cor visibility node = the fitted differences plus the
   120 km level from the B8A direct transmittance (6S Rayleigh optical depth and gas removed).
3. Per 6S wavelength: single-scattering albedo, asymmetry and backward-lobe weight of a two-term
   Henyey-Greenstein phase function fitted (Nelder-Mead) to the ESA ratios V / 120 km of the nadir
   path radiance at SZA 10°, 40°, 70°, of the diffuse transmittance Tdif and (weight --s-weight) of the
   spherical albedo, for V = 23, 10, 5 km (ratios cancel gas absorption); band values interpolated in ln λ.
   From --absolute-from (1 µm) on, where aerosol dominates the path radiance at every visibility and the
   ratios no longer constrain the single-scattering albedo, the absolute nadir path reflectance at
   SZA 40° (ESA's, with 6S's band gas transmittance removed) is fitted too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from sen2cor.bands import band
from sen2cor.physics import atm
from sen2cor.physics.sixs.aerosol import SIXS_WAVELENGTHS_UM, TabulatedAerosol
from sen2cor.physics.sixs.runner import SixsCase, parse_mono, parse_steps, run_sixs
from sen2cor.physics.visibility import sea_level_aot550

ROOT = Path(__file__).resolve().parents[2]
BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12")
VIS = (23.0, 10.0, 5.0)
SZAS = (10.0, 40.0, 70.0)


def esa_gas_free_path_reflectance(lut: atm.AtmosphericLut, gas_file: Path, kw: dict) -> dict[float, np.ndarray]:
    """ESA nadir path reflectance at SZA 40° with 6S's band gas transmittance of the path term removed.

    ρ = π Lp / (E0 μs) / Tg2, E0 from E0t / (Tsun (Tdir + Tdif)) at SZA 0 and Tg2 the response × E0
    weighted two-way transmittance of the aerosol path term (H2O/2, O3, fixed gases; our gas tables).
    """
    from sen2cor.physics import generated_lut
    from sen2cor.physics.sixs.spectral import response_table

    with np.load(gas_file) as g:
        ing = {"gas_h2o": g["h2o"][:1], "gas_h2o_nodes": g["x_h2o"], "gas_o3": g["o3"], "gas_o3_nodes": g["y_o3"],
               "gas_other": g["other"][:1], "gas_other_nodes": g["airmass"]}
        e0s = g["solar_irradiance"]
    m = 1 / np.cos(np.deg2rad(40.0)) + 1
    tg2 = (generated_lut._gas(ing, "h2o", 0, np.array([m * 0.4 / 2]))[0]
           * generated_lut._gas(ing, "o3", 0, np.array([m * 0.331]))[0]
           * generated_lut._gas(ing, "other", 0, np.array([m]))[0])
    srf = response_table("S2A")
    w = srf.response * e0s
    tg_band = {b: float((w[srf.bands.index(b)] @ tg2) / w[srf.bands.index(b)].sum()) for b in BANDS}
    f0 = lut.interpolate(BANDS, sza_deg=0, visibility_km=120, **kw)
    e0 = f0.e0t / (f0.tsun * (f0.tdir + f0.tdif))
    mu = np.cos(np.deg2rad(40.0))
    out = {}
    for v in (120.0, *VIS):
        lp = lut.interpolate(BANDS, sza_deg=40, visibility_km=v, **kw).lp
        out[v] = np.pi * lp / (e0 * mu) / np.array([tg_band[b] for b in BANDS])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model", choices=("RURAL", "MARITIME"))
    ap.add_argument("--lib", type=Path, default=ROOT / "../shared/data/sen2cor-2.8-luts")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--s-weight", type=float, default=0.3,
                    help="weight of the spherical-albedo residuals relative to the path-radiance ones")
    ap.add_argument("--start", type=Path, default=None,
                    help="file with a previous 'NAME = TabulatedAerosol(...)' result: refit only --wl-min and up")
    ap.add_argument("--wl-min", type=float, default=0.0)
    ap.add_argument("--absolute-from", type=float, default=1.0,
                    help="from this wavelength (µm) on also fit the absolute path reflectance (see step 3)")
    ap.add_argument("--gas", type=Path, default=ROOT / "tools/luts/chunks/gas.npz")
    args = ap.parse_args(argv)
    lut = atm.load_sen2cor_lut(args.lib, "S2A", 20, "SUMMER", 331.0, args.model, wv_cm=[0.4])
    wl_b = np.array([band(b).wavelength_um for b in BANDS])
    idx = [lut.band_index(b) for b in BANDS]
    # 1. extinction shape
    tau = -np.log(lut.fluxes[idx, 0, :, 0, 0, 0, 2].astype(np.float64))
    dtau = tau[:, 1:] - tau[:, :1]  # (n_b, 7)
    u, _, _ = np.linalg.svd(dtau / dtau.mean(axis=1, keepdims=True), full_matrices=False)
    e_b = np.abs(u[:, 0]) * dtau.mean(axis=1)
    e550 = np.exp(np.interp(np.log(0.55), np.log(wl_b), np.log(e_b)))
    e_b = e_b / e550
    da = (e_b @ dtau) / (e_b @ e_b)
    resid = (np.outer(e_b, da) - dtau) / dtau
    print(f"# extinction shape at bands {dict(zip(BANDS, np.round(e_b, 4).tolist()))}")
    print(f"# rank-1 residual of optical-depth differences: rms {np.sqrt(np.mean(resid**2)):.4f}, "
          f"max {np.abs(resid).max():.4f}")
    wl6 = np.asarray(SIXS_WAVELENGTHS_UM)
    lw, lb = np.log(wl6), np.log(wl_b)
    slope_lo = (np.log(e_b[1]) - np.log(e_b[0])) / (lb[1] - lb[0])
    slope_hi = (np.log(e_b[-1]) - np.log(e_b[-2])) / (lb[-1] - lb[-2])
    le = np.interp(lw, lb, np.log(e_b))
    le = np.where(lw < lb[0], np.log(e_b[0]) + slope_lo * (lw - lb[0]), le)
    le = np.where(lw > lb[-1], np.log(e_b[-1]) + slope_hi * (lw - lb[-1]), le)
    ext = np.exp(le)
    # 2. AOT calibration
    i8a = lut.band_index("B8A")
    tdir120 = float(lut.fluxes[i8a, 0, 0, 0, 0, 0, 2])
    ray = parse_mono(run_sixs(SixsCase(0.0, 0.0, 0.0, 0.0, 0.865)))
    st = parse_steps(run_sixs(SixsCase(0.0, 0.0, 0.0, 0.0, (0.85, 0.88), gases=(0.4, 0.331))))
    tau_gas = -0.5 * float(np.log(np.mean(st["gas_transmittance"])))
    e8a = e_b[BANDS.index("B8A")]
    a120 = (-np.log(tdir120) - ray.tau_rayleigh - tau_gas) / e8a
    a6s = np.concatenate([[a120], a120 + da])
    scale = a6s / lut.aot
    print(f"# 6S AOT550 at the ESA visibility nodes {np.round(a6s, 5).tolist()} (scale {np.round(scale, 4).tolist()})")
    # 3. per-wavelength SSA and asymmetry
    kw = {"vza_deg": 0, "raa_deg": 0, "elevation_km": 0, "wv_cm": 0.4}
    ref = {s: lut.interpolate(BANDS, sza_deg=s, visibility_km=120, **kw) for s in SZAS}
    t_rho = {(v, s): lut.interpolate(BANDS, sza_deg=s, visibility_km=v, **kw).lp / ref[s].lp for v in VIS for s in SZAS}
    t_s = {v: lut.interpolate(BANDS, sza_deg=40, visibility_km=v, **kw).s / ref[40].s for v in VIS}
    t_dif = {v: lut.interpolate(BANDS, sza_deg=40, visibility_km=v, **kw).tdif / ref[40].tdif for v in VIS}
    rho_abs = esa_gas_free_path_reflectance(lut, args.gas, kw)
    work = Path(tempfile.mkdtemp(prefix="fit_aerosol_"))
    aots = {v: float(np.interp(sea_level_aot550(v), lut.aot, a6s)) for v in (120.0,) + VIS}
    ssa = np.full(wl6.size, 0.93)
    asym = np.full(wl6.size, 0.7)
    back = np.zeros(wl6.size)
    if args.start is not None:
        prev = eval(args.start.read_text().split("=", 1)[1], {"TabulatedAerosol": TabulatedAerosol})
        ssa, asym = np.array(prev.ssa), np.array(prev.asymmetry)
        back = np.broadcast_to(np.asarray(prev.backscatter, dtype=np.float64), (wl6.size,)).copy()
    ex = ThreadPoolExecutor(args.threads)

    def tdif_nadir(r: object) -> float:
        """Diffuse ground→sensor transmittance at nadir from a sun-at-zenith run (T(μ=1) − exp(−τ))."""
        return r.t_down - float(np.exp(-(r.tau_rayleigh + r.tau_aerosol)))  # type: ignore[attr-defined]

    def residuals(k: int, p: np.ndarray) -> np.ndarray:
        w, g, b = 1 / (1 + np.exp(-p[0])), np.tanh(p[1]), 0.3 / (1 + np.exp(-p[2]))
        g = min(g, 0.95 * (1 - b) - 0.5 * b)  # forward lobe asymmetry stays below 0.95
        s2, g2, b2 = ssa.copy(), asym.copy(), back.copy()
        s2[k], g2[k], b2[k] = w, g, b
        mie = TabulatedAerosol(args.model, tuple(ext), tuple(s2), tuple(g2), backscatter=tuple(b2)).write(work)
        cases = [(v, s) for v in (120.0,) + VIS for s in SZAS]
        res = dict(zip(cases, ex.map(lambda c: parse_mono(run_sixs(SixsCase(0.0, c[1], 0.0, 0.0, wl6[k], mie, aots[c[0]]))), cases)))
        out = []
        lk = np.log(wl6[k])
        for v in VIS:
            for s in SZAS:
                target = np.interp(lk, lb, np.log(t_rho[(v, s)]))
                out.append(np.log(res[(v, s)].rho_path / res[(120.0, s)].rho_path) - target)
            target = np.interp(lk, lb, np.log(t_s[v]))
            out.append(args.s_weight * (np.log(res[(v, 40.0)].spherical_albedo
                                               / res[(120.0, 40.0)].spherical_albedo) - target))
            target = np.interp(lk, lb, np.log(t_dif[v]))
            out.append(np.log(tdif_nadir(res[(v, 40.0)]) / tdif_nadir(res[(120.0, 40.0)])) - target)
        if wl6[k] >= args.absolute_from:  # ratios do not see the SSA where aerosol dominates both visibilities
            for v in (120.0, *VIS):
                target = np.interp(lk, lb, np.log(rho_abs[v]))
                out.append(np.log(res[(v, 40.0)].rho_path) - target)
        return np.array(out)

    fit_k = [k for k, w in enumerate(wl6) if 0.41 <= w <= 2.3]
    for k in fit_k:
        if wl6[k] < args.wl_min:
            continue
        p0 = np.array([np.log(min(ssa[k], 0.995) / (1 - min(ssa[k], 0.995))), np.arctanh(min(asym[k], 0.9)),
                       np.log((back[k] + 0.02) / (0.3 - back[k] - 0.02))])
        r = minimize(lambda p, k=k: float(np.sum(residuals(k, p) ** 2)), p0,
                     method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-7, "maxiter": 120})
        ssa[k], asym[k], back[k] = 1 / (1 + np.exp(-r.x[0])), np.tanh(r.x[1]), 0.3 / (1 + np.exp(-r.x[2]))
        asym[k] = min(asym[k], 0.95 * (1 - back[k]) - 0.5 * back[k])
        rr = residuals(k, r.x)
        print(f"# {wl6[k]:.3f} um: ssa {ssa[k]:.4f} g {asym[k]:.4f} back {back[k]:.4f} residual rms "
              f"{np.sqrt(np.mean(rr**2)):.4f} max {np.abs(rr).max():.4f} ({np.round(rr, 3).tolist()})", flush=True)
        if k + 1 < wl6.size and wl6[k + 1] >= args.wl_min:
            ssa[k + 1], asym[k + 1], back[k + 1] = ssa[k], asym[k], back[k]
    lo, hi = fit_k[0], fit_k[-1]
    ssa[:lo], asym[:lo], back[:lo] = ssa[lo], asym[lo], back[lo]
    ssa[hi + 1:], asym[hi + 1:], back[hi + 1:] = ssa[hi], asym[hi], back[hi]
    model = TabulatedAerosol(args.model, tuple(float(x) for x in np.round(ext, 5)),
                             tuple(float(x) for x in np.round(ssa, 5)), tuple(float(x) for x in np.round(asym, 5)),
                             backscatter=tuple(float(x) for x in np.round(back, 5)),
                             aot_nodes=tuple(float(x) for x in np.round(lut.aot, 5)),
                             aot_scale=tuple(float(x) for x in np.round(scale, 5)))
    print(f"{args.model} = {model!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
