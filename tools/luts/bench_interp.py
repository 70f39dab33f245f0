"""Time the per-pixel LUT interpolation on a 20 m tile's worth of pixels (30 M = 5490²).

Usage: python tools/luts/bench_interp.py [--lib ../shared/data/sen2cor-2.8-luts] [--pixels 30000000]

Per-pixel inputs are a smooth synthetic DEM (0–2.5 km) and visibility-index map (as the AC has them:
spatially coherent); SZA, VZA and relative azimuth are per-tile scalars.  Also timed with random
(incoherent) inputs, the worst case for branch prediction.  Prints seconds per quantity.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np

from sen2cor.physics import atm

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib", type=Path, default=ROOT / "../shared/data/sen2cor-2.8-luts")
    ap.add_argument("--pixels", type=int, default=30_000_000)
    args = ap.parse_args(argv)
    lut = atm.load_sen2cor_lut(args.lib, "S2A", 20, "SUMMER", 331.0, "RURAL")
    n = int(np.sqrt(args.pixels))
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    dem = (1.25 + 1.2 * np.sin(6.0 * x) * np.cos(4.0 * y)).astype(np.float32)
    vis_idx = (60 + 50 * np.sin(3.0 * x + 2.0 * y)).astype(np.float32)
    rng = np.random.default_rng(0)
    kw = {"sza_deg": 35.0, "vza_deg": 5.0, "raa_deg": 120.0}
    lut.interpolate("B04", elevation_km=dem[:2, :2], vis_index=vis_idx[:2, :2], quantities=("lp",), **kw)
    print(f"numba threads: {numba.get_num_threads()}, pixels: {n * n}")
    for label, z, v in (("coherent", dem, vis_idx),
                        ("random", rng.uniform(0, 2.5, (n, n)).astype(np.float32),
                         rng.uniform(0, 182, (n, n)).astype(np.float32))):
        for q in ("lp", "e0t", "tdir"):
            t0 = time.perf_counter()
            lut.interpolate("B04", elevation_km=z, vis_index=v, quantities=(q,), **kw)
            print(f"{label:9s} {q:5s}: {time.perf_counter() - t0:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
