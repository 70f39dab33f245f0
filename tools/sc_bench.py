"""Benchmark: classify a full 20 m tile (5490²) built by tiling the real parity-a pixels.

Usage::

    nice -n 19 python tools/sc_bench.py [--size 5490] [--profile] [--save out.npz] [--compare out.npz]

Prints the wall and CPU time of :func:`sen2cor.sc.classify.classify` (target on the 2-core machine:
< 30 s), the load average, and the memory the call added on top of its inputs: the peak resident set
(``VmHWM`` reset just before the call, Linux only) minus the resident set before it.  With ``--profile``
the per-step times logged at DEBUG by the classification are printed; ``--tracemalloc`` also reports the
peak of Python/NumPy allocations (slower).  ``--save`` writes SCL/CLD/SNW; ``--compare`` counts the pixels
that differ from a saved run (use it to check that a speed-up changes nothing).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sc_parity


def tiled(a: np.ndarray, size: int) -> np.ndarray:
    """Mirror-tile ``a`` to size×size so that seams stay continuous."""
    flip = np.block([[a, a[:, ::-1]], [a[::-1, :], a[::-1, ::-1]]])
    reps = (size // flip.shape[0] + 1, size // flip.shape[1] + 1)
    return np.ascontiguousarray(np.tile(flip, reps)[:size, :size])


def _status_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status in KiB (0 where unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark (``echo 5 > /proc/self/clear_refs``)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=sc_parity.DEFAULT_DATA)
    ap.add_argument("--size", type=int, default=5490)
    ap.add_argument("--mode", choices=("evolution", "classic"), default="evolution")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--tracemalloc", action="store_true", help="also report the traced allocation peak")
    ap.add_argument("--save", type=Path, help="write SCL, CLD and SNW to this .npz")
    ap.add_argument("--compare", type=Path, help="count pixels differing from a --save'd .npz")
    args = ap.parse_args(argv)
    if args.profile:
        logging.basicConfig(level=logging.DEBUG, format="%(message)s")
        for noisy in ("numba", "rasterio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    from sen2cor.sc.classify import classify

    safe = next((args.data / "input").glob("*.SAFE"))
    toa, b08, zen, azi = sc_parity.load_l1c_20m(safe)
    big = {k: tiled(v, args.size) for k, v in toa.items()}
    b08_big = tiled(b08, args.size)
    del toa, b08
    inputs_mib = (sum(v.nbytes for v in big.values()) + b08_big.nbytes) / 2**20
    rss_before = _status_kib("VmRSS")
    peak_ok = _reset_peak_rss()
    if args.tracemalloc:
        tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    res = classify(big, resolution=20, mode=args.mode, sun_zenith=zen, sun_azimuth=azi, b08_toa=b08_big)  # type: ignore[arg-type]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    traced = tracemalloc.get_traced_memory()[1] if args.tracemalloc else 0
    peak = _status_kib("VmHWM")
    hist = np.bincount(res.scl.ravel(), minlength=12)
    print(
        f"{args.size}x{args.size} {args.mode}: {seconds:.1f} s wall, {cpu:.1f} s CPU; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if peak_ok and peak:
        print(
            f"memory: inputs {inputs_mib:.0f} MiB, RSS before {rss_before / 1024:.0f} MiB, "
            f"peak RSS {peak / 1024:.0f} MiB (+{(peak - rss_before) / 1024:.0f} MiB during classify)"
        )
    if args.tracemalloc:
        print(f"tracemalloc peak during classify: {traced / 2**20:.0f} MiB")
    print(f"SCL histogram {hist.tolist()}")
    if args.save:
        np.savez_compressed(args.save, scl=res.scl, cld=res.cloud_probability, snw=res.snow_probability)
    if args.compare:
        ref = np.load(args.compare)
        for name, ours in (("scl", res.scl), ("cld", res.cloud_probability), ("snw", res.snow_probability)):
            print(f"{name}: {int(np.count_nonzero(ref[name] != ours))} pixels differ from {args.compare}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
