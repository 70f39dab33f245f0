"""Compare our 6S tables with Sen2Cor's own (``make lut-report``).

Usage: python tools/luts/report.py [--lib ../shared/data/sen2cor-2.8-luts] [--ingredients FILE]

For every ESA table set in ``--lib`` (S2A; rural and maritime summer 331 DU; rural winter 377 DU; both
resolution folders) our tables are evaluated at the ESA nodes (same SZA, elevation, WV, ozone, view
zenith and relative azimuth; AOT550 from Sen2Cor's visibility relation, facts §7.4) over the grid both
cover, and the relative difference ours/ESA − 1 is summarised per band and quantity (median and
maximum of the absolute value).  Lp is compared at every view; the transmittance terms at nadir.
The last line is one JSON object with the per-quantity maxima (and medians) over VNIR and SWIR bands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sen2cor.bands import band
from sen2cor.errors import ConfigError
from sen2cor.physics import atm, generated_lut
from sen2cor.physics.lut import FLUX_QUANTITIES
from sen2cor.physics.visibility import visibility_from_aot550

ROOT = Path(__file__).resolve().parents[2]
SETS = (("SUMMER", 331.0, "RURAL"), ("SUMMER", 331.0, "MARITIME"), ("WINTER", 377.0, "RURAL"))
QUANTITIES = ("lp",) + FLUX_QUANTITIES
TARGETS = {"lp_vnir": 0.05, "lp_swir": 0.10, "e0t": 0.02, "tdir": 0.02, "tdif": 0.02, "s": 0.05}
"""Acceptance targets of issue 4 (max relative difference)."""
ABSORPTION_BANDS = ("B09", "B10")
"""Bands inside strong water-vapour absorption, reported but kept out of the summary maxima."""


def compare(lib: Path, ingredients: Path | None) -> dict[str, dict[str, np.ndarray]]:
    diffs: dict[str, dict[str, list[np.ndarray]]] = {}
    for season, ozone, aerosol in SETS:
        try:
            ours = generated_lut.load_6s_lut("S2A", aerosol, season, ozone, path=ingredients)
        except ConfigError as exc:
            print(f"skip {season} {aerosol}: {exc}")
            continue
        for res in (20, 10):
            try:
                esa = atm.load_sen2cor_lut(lib, "S2A", res, season, ozone, aerosol)
            except Exception as exc:  # a set absent from the reference folder is skipped
                print(f"skip {season} {aerosol} {res} m: {exc}")
                continue
            z_ok = esa.elevation_km <= ours.elevation_km[-1] + 1e-9
            vis = visibility_from_aot550(esa.aot, 0.0)
            sza, z, vza, raa = np.meshgrid(esa.sza_deg, esa.elevation_km[z_ok], esa.vza_deg, esa.raa_deg,
                                           indexing="ij")
            for iw, wv in enumerate(esa.wv_cm):
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib", type=Path, default=ROOT / "../shared/data/sen2cor-2.8-luts")
    ap.add_argument("--ingredients", type=Path, default=None, help="ingredient file (default: the shipped one)")
    args = ap.parse_args(argv)
    if not (args.lib / "lib_S2A").is_dir():
        print(f"Sen2Cor reference LUTs not found in {args.lib}; nothing to compare")
        return 1
    diffs = compare(args.lib, args.ingredients)
    order = [b for b in ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
             if b in diffs]
    print(f"{'band':5s} " + " ".join(f"{q:>15s}" for q in QUANTITIES))
    print(f"{'':5s} " + " ".join(f"{'median/max %':>15s}" for _ in QUANTITIES))
    for b in order:
        cells = []
        for q in QUANTITIES:
            a = np.abs(diffs[b][q])
            cells.append(f"{100 * np.median(a):6.2f}/{100 * a.max():7.2f}")
        print(f"{b:5s} " + " ".join(f"{c:>15s}" for c in cells))
    summary: dict[str, float] = {}
    for q in QUANTITIES:
        groups = {"": [b for b in order if b not in ABSORPTION_BANDS]}
        if q == "lp":
            groups = {"_vnir": [b for b in order if band(b).wavelength_um < 1.0 and b not in ABSORPTION_BANDS],
                      "_swir": [b for b in order if band(b).wavelength_um > 1.0 and b not in ABSORPTION_BANDS]}
        for suffix, bands in groups.items():
            a = np.abs(np.concatenate([diffs[b][q] for b in bands]))
            summary[f"{q}{suffix}_max"] = round(float(a.max()), 4)
            summary[f"{q}{suffix}_median"] = round(float(np.median(a)), 4)
    summary["targets"] = TARGETS  # type: ignore[assignment]
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
