"""Derive the compact spectral-response table shipped in src/sen2cor/data/s2_srf_2p5nm.json.

Usage: python tools/luts/make_srf_table.py [--srf ../shared/data/s2-srf] [--out src/sen2cor/data/s2_srf_2p5nm.json]

Reads ESA's Sentinel-2 MSI spectral response functions (COPE-GSEG-EOPG-TN-15-0007, as tabulated in
the ACOLITE repository; see ../shared/data/s2-srf/SOURCE.md) for S2A, S2B and S2C, and samples each
band's 1 nm response linearly at the 2.5 nm grid 6S integrates on (0.25 + 0.0025 k µm), keeping 5
decimals and trimming leading/trailing zeros.  Only these derived samples are stored in the package.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BAND_NAMES = {"1": "B01", "2": "B02", "3": "B03", "4": "B04", "5": "B05", "6": "B06", "7": "B07", "8": "B08",
              "8A": "B8A", "9": "B09", "10": "B10", "11": "B11", "12": "B12"}
STEP_NM = 2.5
GRID_START_NM = 250.0


def parse(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    bands: dict[str, list[tuple[float, float]]] = {}
    current = None
    with path.open(newline=None) as fh:
        for raw in fh:
            line = raw.strip()
            if not line:
                continue
            up = line.upper()
            if up.startswith(";; BAND") or (up.startswith("#") and " BAND " in up):
                current = BAND_NAMES[line.split()[-1].upper()]
                bands[current] = []
                continue
            if line.startswith((";;", "#")):
                continue
            wl, r = line.split()[:2]
            assert current is not None
            bands[current].append((float(wl), float(r)))
    return {k: (np.array(v)[:, 0], np.array(v)[:, 1]) for k, v in bands.items()}


def resample(wl_nm: np.ndarray, resp: np.ndarray) -> tuple[float, list[float]]:
    k0 = int(np.ceil((wl_nm[0] - GRID_START_NM) / STEP_NM))
    k1 = int(np.floor((wl_nm[-1] - GRID_START_NM) / STEP_NM))
    grid = GRID_START_NM + STEP_NM * np.arange(k0, k1 + 1)
    vals = np.round(np.interp(grid, wl_nm, resp), 5)
    nz = np.nonzero(vals > 0)[0]
    grid, vals = grid[nz[0]: nz[-1] + 1], vals[nz[0]: nz[-1] + 1]
    return float(grid[0]), [float(v) for v in vals]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--srf", type=Path, default=ROOT / "../shared/data/s2-srf")
    ap.add_argument("--out", type=Path, default=ROOT / "src/sen2cor/data/s2_srf_2p5nm.json")
    args = ap.parse_args(argv)
    table: dict[str, object] = {
        "origin": "ESA Sentinel-2 MSI spectral responses (COPE-GSEG-EOPG-TN-15-0007; S2A 2018 release, S2B 2017 "
                  "release, S2C v4.0 2024) as tabulated by ACOLITE data/RSR (S2A_MSI.txt, S2B_MSI.txt, "
                  "S2C_MSI.txt); sampled linearly at 2.5 nm by tools/luts/make_srf_table.py",
        "step_nm": STEP_NM,
        "sensors": {},
    }
    for sensor in ("S2A", "S2B", "S2C"):
        bands = parse(args.srf / f"{sensor}_MSI.txt")
        out = {}
        for bid in BAND_NAMES.values():
            start, vals = resample(*bands[bid])
            out[bid] = {"start_nm": start, "response": vals}
        table["sensors"][sensor] = out  # type: ignore[index]
    args.out.write_text(json.dumps(table, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
