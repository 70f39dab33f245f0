"""Compare our 6S tables with Sen2Cor's own (``make lut-report``).

Usage: python tools/luts/report.py [--lib ../shared/data/sen2cor-2.8-luts] [--ingredients FILE]

For every ESA table set in ``--lib`` (S2A; rural and maritime summer 331 DU; rural winter 377 DU; both
resolution folders) our tables are evaluated at the ESA nodes (same SZA, elevation, WV, ozone, view
zenith and relative azimuth; AOT550 from Sen2Cor's visibility relation, facts §7.4) over the grid both
cover, and the relative difference ours/ESA − 1 is summarised per band and quantity (median, 95th
percentile and maximum of the absolute value).  Radiance terms are compared after rescaling our band
solar irradiance to the one implied by ESA's tables (as the correction rescales to the L1C
SOLAR_IRRADIANCE); ``--own-e0`` keeps 6S's solar spectrum.  Lp is compared at every view; the transmittance terms at nadir.
The last line is one JSON object with the per-quantity maxima (and medians, 95th percentiles) over the
VNIR and SWIR bands outside the strong water-vapour bands B09/B10.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sen2cor.bands import band
from sen2cor.errors import AuxDataError, ConfigError
from sen2cor.physics import atm, generated_lut
from sen2cor.physics.lut import FLUX_QUANTITIES
from sen2cor.physics.visibility import visibility_from_aot550

ROOT = Path(__file__).resolve().parents[2]
SETS = (("SUMMER", 331.0, "RURAL"), ("SUMMER", 331.0, "MARITIME"), ("WINTER", 377.0, "RURAL"))
QUANTITIES = ("lp",) + FLUX_QUANTITIES
TARGETS = {"lp_vnir": 0.05, "lp_swir": 0.10, "e0t": 0.02, "tdir": 0.02, "tdif": 0.02, "s": 0.05}
"""Acceptance targets of issue 4 (max relative difference)."""
ABSORPTION_BANDS = ("B09", "B10")
BAND_ORDER = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
"""Bands inside strong water-vapour absorption, reported but kept out of the summary maxima."""


def esa_band_e0(lib: Path, season: str, ozone: float, aerosol: str) -> dict[str, float]:
    """Band solar irradiance implied by ESA's tables: E0 = E0t / (Tsun (Tdir + Tdif)) at SZA 0 (facts §4)."""
    out: dict[str, float] = {}
    for res in (20, 10):
        t = atm.load_sen2cor_lut(lib, "S2A", res, season, ozone, aerosol)
        i0 = int(np.argmin(np.abs(t.wv_cm - t.base_wv_cm)))
        _, e0t, tdir, tdif, _ = np.moveaxis(t.fluxes[:, i0, 0, 0, 0, 0], -1, 0)
        for k, b in enumerate(t.bands):
            out[b] = float(e0t[k] / (tdir[k] * (tdir[k] + tdif[k])))
    return out


def compare(lib: Path, ingredients: Path | None, match_e0: bool = True,
            base_wv_only: bool = False) -> dict[str, dict[str, np.ndarray]]:
    diffs: dict[str, dict[str, list[np.ndarray]]] = {}
    for season, ozone, aerosol in SETS:
        try:
            band_e0 = esa_band_e0(lib, season, ozone, aerosol) if match_e0 else None
            ours = generated_lut.load_6s_lut("S2A", aerosol, season, ozone, path=ingredients, band_e0=band_e0)
        except ConfigError as exc:
            print(f"skip {season} {aerosol}: {exc}")
            continue
        for res in (20, 10):
            try:
                esa = atm.load_sen2cor_lut(lib, "S2A", res, season, ozone, aerosol)
            except AuxDataError as exc:  # a set absent from the reference folder is skipped
                print(f"skip {season} {aerosol} {res} m: {exc}")
                continue
            z_ok = esa.elevation_km <= ours.elevation_km[-1] + 1e-9
            vis = visibility_from_aot550(esa.aot, 0.0)
            sza, z, vza, raa = np.meshgrid(esa.sza_deg, esa.elevation_km[z_ok], esa.vza_deg, esa.raa_deg,
                                           indexing="ij")
            for iw, wv in enumerate(esa.wv_cm):
                if base_wv_only and abs(wv - esa.base_wv_cm) > 1e-6:
                    continue
                for ia, v in enumerate(vis):
                    for b in esa.bands:
                        ib = esa.band_index(b)
                        f = ours.interpolate(b, sza_deg=sza, vza_deg=vza, raa_deg=raa, elevation_km=z,
                                             visibility_km=v, wv_cm=wv, quantities=QUANTITIES)
                        ref_lp = esa.lp[ib, iw, ia][:, z_ok]  # (sza, z, vza, raa)
                        d = diffs.setdefault(b, {q: [] for q in QUANTITIES})
                        d["lp"].append((f.lp[0] / ref_lp - 1).ravel())
                        for k, q in enumerate(FLUX_QUANTITIES):
                            ref = esa.fluxes[ib, iw, ia][:, z_ok][:, :, 0, k]
                            d[q].append((getattr(f, q)[0][:, :, 0, 0] / ref - 1).ravel())
    return {b: {q: np.concatenate(v) for q, v in d.items()} for b, d in diffs.items()}


def table(diffs: dict[str, dict[str, np.ndarray]]) -> None:
    """Print median / p95 / max of |ours/ESA − 1| per band and quantity."""
    print(f"{'band':5s} " + " ".join(f"{q:>21s}" for q in QUANTITIES))
    print(f"{'':5s} " + " ".join(f"{'median/p95/max %':>21s}" for _ in QUANTITIES))
    for b in [b for b in BAND_ORDER if b in diffs]:
        cells = []
        for q in QUANTITIES:
            a = np.abs(diffs[b][q])
            cells.append(f"{100 * np.median(a):5.1f}/{100 * np.percentile(a, 95):5.1f}/{100 * a.max():7.1f}")
        print(f"{b:5s} " + " ".join(f"{c:>21s}" for c in cells))


def summarise(diffs: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    """Per-quantity max / p95 / median over VNIR and SWIR bands outside B09/B10."""
    order = [b for b in BAND_ORDER if b in diffs]
    summary: dict[str, float] = {}
    for q in QUANTITIES:
        groups = {"": [b for b in order if b not in ABSORPTION_BANDS]}
        if q == "lp":
            groups = {"_vnir": [b for b in order if band(b).wavelength_um < 1.0 and b not in ABSORPTION_BANDS],
                      "_swir": [b for b in order if band(b).wavelength_um > 1.0 and b not in ABSORPTION_BANDS]}
        for suffix, bands in groups.items():
            a = np.abs(np.concatenate([diffs[b][q] for b in bands]))
            summary[f"{q}{suffix}_max"] = round(float(a.max()), 4)
            summary[f"{q}{suffix}_p95"] = round(float(np.percentile(a, 95)), 4)
            summary[f"{q}{suffix}_median"] = round(float(np.median(a)), 4)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib", type=Path, default=ROOT / "../shared/data/sen2cor-2.8-luts")
    ap.add_argument("--ingredients", type=Path, default=None, help="ingredient file (default: the shipped one)")
    ap.add_argument("--own-e0", action="store_true",
                    help="keep 6S's solar spectrum (default: rescale to the band E0 implied by ESA's tables, as "
                         "the correction does with the L1C SOLAR_IRRADIANCE)")
    args = ap.parse_args(argv)
    if args.ingredients is None and not generated_lut.default_path().is_file():
        partial = ROOT / ".luts-work/s2_rt_6s_partial.npz"
        if not partial.is_file():
            print("no 6S ingredient file yet: run 'make luts' first")
            return 1
        print(f"full table not generated yet: comparing the partial file {partial} (complete elevations only)")
        args.ingredients = partial
    if not (args.lib / "lib_S2A").is_dir():
        print(f"Sen2Cor reference LUTs not found in {args.lib}; nothing to compare")
        return 1
    if not args.own_e0:
        own = generated_lut.load_6s_lut("S2A", "RURAL", "SUMMER", 331.0, path=args.ingredients, sza_step_deg=None)
        own_e0 = dict(zip(own.bands, json.loads(own.attrs["e0_band_mw_cm2_um"])))
        esa_e0 = esa_band_e0(args.lib, "SUMMER", 331.0, "RURAL")
        print("band E0 of 6S's solar spectrum / ESA's (radiance terms rescaled to ESA's): " + ", ".join(
            f"{b} {own_e0[b] / esa_e0[b]:.4f}" for b in own.bands if b in esa_e0))
    diffs = compare(args.lib, args.ingredients, match_e0=not args.own_e0)
    print("all WV tables:")
    table(diffs)
    base = compare(args.lib, args.ingredients, match_e0=not args.own_e0, base_wv_only=True)
    print("base WV tables only (wv20 summer, wv04 winter; Sen2Cor uses them for all bands but the WV-dependent):")
    table(base)
    summary = {"all_wv": summarise(diffs), "base_wv": summarise(base), "targets": TARGETS}
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
