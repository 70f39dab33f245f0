"""Benchmark: classify a full 20 m tile (5490²) built by tiling the real parity-a pixels.

Usage::

    nice -n 19 python tools/sc_bench.py [--size 5490] [--profile]

Prints the wall time of :func:`sen2cor.sc.classify.classify` (target on the 2-core machine: < 30 s) and,
with ``--profile``, the per-step times logged at DEBUG by the classification.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sc_parity


def tiled(a: np.ndarray, size: int) -> np.ndarray:
    """Mirror-tile ``a`` to size×size so that seams stay continuous."""
    flip = np.block([[a, a[:, ::-1]], [a[::-1, :], a[::-1, ::-1]]])
    reps = (size // flip.shape[0] + 1, size // flip.shape[1] + 1)
    return np.ascontiguousarray(np.tile(flip, reps)[:size, :size])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=sc_parity.DEFAULT_DATA)
    ap.add_argument("--size", type=int, default=5490)
    ap.add_argument("--mode", choices=("evolution", "classic"), default="evolution")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    if args.profile:
        logging.basicConfig(level=logging.DEBUG, format="%(message)s")
        logging.getLogger("numba").setLevel(logging.WARNING)
    from sen2cor.sc.classify import classify

    safe = next((args.data / "input").glob("*.SAFE"))
    toa, b08, zen, azi = sc_parity.load_l1c_20m(safe)
    big = {k: tiled(v, args.size) for k, v in toa.items()}
    b08_big = tiled(b08, args.size)
    start, cpu = time.perf_counter(), time.process_time()
    res = classify(big, resolution=20, mode=args.mode, sun_zenith=zen, sun_azimuth=azi, b08_toa=b08_big)  # type: ignore[arg-type]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    hist = np.bincount(res.scl.ravel(), minlength=12)
    print(
        f"{args.size}x{args.size} {args.mode}: {seconds:.1f} s wall, {cpu:.1f} s CPU; SCL histogram {hist.tolist()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
