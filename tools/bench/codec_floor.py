"""The JPEG 2000 codec floor of a run (issue 8): decode the inputs, re-encode the outputs, same library.

Coded the way the chain codes (:func:`sen2cor.runtime.configure_codec`: OpenJPEG on the calling thread,
the cores kept busy by coding several tile rows or images at once):

* **Decode floor** — each of the 13 L1C band images read in full, one after the other, with
  :meth:`sen2cor.io.l1c_bands.BandReader.dn` (its tile rows on ``Nr_Threads`` threads, GDAL JP2OpenJPEG
  through rasterio, the reader's ``GDAL_CACHEMAX``).
* **Encode floor** — every image the run wrote (``GRANULE/*/IMG_DATA/**`` and ``QI_DATA`` rasters, and the
  PVI) read back (not timed) and written again with the package's own writer,
  :func:`sen2cor.io.l2a.raster.write_image` (same driver, creation options — Sen2Cor's code-stream layout
  per resolution), ``Nr_Threads`` images at a time (:class:`sen2cor.io.l2a.stream.EncoderPool`), largest
  first; the floor is the wall time of the whole set.  Same content, so the same entropy-coding work.

The floor is what any JP2-in/JP2-out processor must spend in the codec on this machine; the benchmark
reports ``wall / floor``, each floor measured in a fresh process (:func:`measure_apart`).  Usable on its
own::

    nice -n 19 .venv/bin/python tools/bench/codec_floor.py L1C.SAFE [L2A.SAFE] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import rasterio
from numpy.typing import NDArray

from sen2cor.bands import band
from sen2cor.io.l1c import read_l1c
from sen2cor.io.l1c_bands import BandReader, default_threads
from sen2cor.io.l2a.raster import Georef, write_image
from sen2cor.io.l2a.stream import EncoderPool
from sen2cor.runtime import configure_codec

RASTER_SUFFIXES: Final[dict[str, str]] = {".jp2": "JP2", ".tif": "TIF"}
PREVIEW_PIXEL_M: Final[int] = 320
"""The PVI is written without a resolution layout (single tile)."""


@dataclass
class CodecTiming:
    """Seconds and raw (decoded) bytes of one image (encoded images: its own coding time, while others
    were coded beside it)."""

    name: str
    resolution: int
    shape: tuple[int, ...]
    raw_bytes: int
    seconds: float


@dataclass
class Floor:
    """Decode and encode floors with per-image details."""

    threads: int
    decode: list[CodecTiming] = field(default_factory=list)
    encode: list[CodecTiming] = field(default_factory=list)
    encode_wall_s: float | None = None
    """Wall time of the whole encode set (the images overlap, so it is not the sum of theirs)."""

    @property
    def decode_s(self) -> float:
        return sum(t.seconds for t in self.decode)

    @property
    def encode_s(self) -> float:
        return self.encode_wall_s if self.encode_wall_s is not None else sum(t.seconds for t in self.encode)

    @property
    def total_s(self) -> float:
        return self.decode_s + self.encode_s

    def per_resolution(self, which: str) -> dict[int, dict[str, float]]:
        """``{resolution: {files, seconds, MB, MB_per_s}}`` of ``decode`` or ``encode`` (raw MB = 1e6 B)."""
        out: dict[int, dict[str, float]] = {}
        for t in getattr(self, which):
            d = out.setdefault(t.resolution, {"files": 0, "seconds": 0.0, "MB": 0.0})
            d["files"] += 1
            d["seconds"] += t.seconds
            d["MB"] += t.raw_bytes / 1e6
        for d in out.values():
            d["MB_per_s"] = d["MB"] / d["seconds"] if d["seconds"] > 0 else float("nan")
        return dict(sorted(out.items()))

    def as_dict(self) -> dict[str, object]:
        return {"threads": self.threads, "decode_s": self.decode_s, "encode_s": self.encode_s,
                "total_s": self.total_s, "encode_wall_s": self.encode_wall_s,
                "decode": [asdict(t) for t in self.decode],
                "encode": [asdict(t) for t in self.encode],
                "decode_per_resolution": self.per_resolution("decode"),
                "encode_per_resolution": self.per_resolution("encode")}


def decode_floor(l1c: Path, threads: int) -> list[CodecTiming]:
    """Decode each L1C band image in full, one after the other, as the chain's reader does."""
    configure_codec()
    product = read_l1c(l1c)
    reader = BandReader(product, threads=threads)
    out = []
    for bid in sorted(product.tile.band_files):
        start = time.perf_counter()
        a = reader.dn(bid)
        seconds = time.perf_counter() - start
        out.append(CodecTiming(bid, band(bid).resolution, a.shape, a.nbytes, seconds))
        del a
    return out


def output_images(l2a: Path) -> list[Path]:
    """Raster images written by a run (band/AOT/WVP/SCL/TCI images, QI probability masks, PVI)."""
    files = [p for p in sorted((l2a / "GRANULE").rglob("*")) if p.suffix.lower() in RASTER_SUFFIXES]
    return [p for p in files if p.is_file()]


def encode_floor(l2a: Path, threads: int, scratch: Path) -> tuple[list[CodecTiming], float]:
    """Re-encode every image of ``l2a`` with :func:`write_image`, ``threads`` at a time, largest first
    (reading them back is not timed): per-image timings and the wall time of the set."""
    configure_codec()
    items = []
    for path in output_images(l2a):
        with rasterio.open(path) as ds:
            data = ds.read()
            georef = Georef(ds.crs.to_string(), ds.transform)
            res = round(ds.res[0])
        items.append((path, data, georef, res))
    items.sort(key=lambda item: -item[1].nbytes)
    out: list[CodecTiming] = []

    def encode(path: Path, data: NDArray[np.generic], georef: Georef, res: int) -> Path:
        fmt = RASTER_SUFFIXES[path.suffix.lower()]
        layout_res = None if res >= PREVIEW_PIXEL_M or path.stem.endswith("_PVI") else res
        target = scratch / path.name
        start = time.perf_counter()
        write_image(target, data, georef, fmt=fmt, resolution=layout_res, threads=threads)
        out.append(CodecTiming(path.name, res, data.shape, data.nbytes, time.perf_counter() - start))
        target.unlink()
        return target

    start = time.perf_counter()
    pool = EncoderPool(threads)
    try:
        while items:
            pool.submit(encode, *items.pop(0))
    finally:
        pool.wait()
    return out, time.perf_counter() - start


def measure(l1c: Path | None, l2a: Path | None, threads: int | None = None,
            scratch_dir: Path | None = None) -> Floor:
    """Decode floor of ``l1c`` and encode floor of the product ``l2a`` (each when given), in this process."""
    n = threads or default_threads()
    floor = Floor(threads=n, decode=decode_floor(l1c, n) if l1c is not None else [])
    if l2a is not None:
        with tempfile.TemporaryDirectory(prefix="codec-floor-", dir=scratch_dir) as tmp:
            floor.encode, floor.encode_wall_s = encode_floor(l2a, n, Path(tmp))
    return floor


def measure_apart(l1c: Path | None, l2a: Path | None, threads: int, scratch_dir: Path | None = None) -> Floor:
    """:func:`measure`, the decode and the encode floor each in a fresh process of its own.

    The encode floor measured in the process that has just decoded the 13 inputs came out 30 % slower
    (153 vs 118 s for the same 41 images on the benchmark machine; not the GDAL block cache, whose size
    made no difference): apart, each is the least the codec needs, which is what a floor must be."""
    floor = Floor(threads=threads)
    for kind, path in (("decode", l1c), ("encode", l2a)):
        if path is None:
            continue
        cmd = [sys.executable, __file__, f"--{kind}", str(path), "--threads", str(threads)]
        if scratch_dir is not None:
            cmd += ["--scratch", str(scratch_dir)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        part = json.loads(done.stdout)
        timings = [CodecTiming(t["name"], t["resolution"], tuple(t["shape"]), t["raw_bytes"], t["seconds"])
                   for t in part[kind]]
        setattr(floor, kind, timings)
        if kind == "encode":
            floor.encode_wall_s = part["encode_wall_s"]
    return floor


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("l1c", type=Path, nargs="?", help="L1C product: decode floor")
    ap.add_argument("l2a", type=Path, nargs="?", help="L2A product: encode floor")
    ap.add_argument("--decode", type=Path, help="only the decode floor of this L1C product")
    ap.add_argument("--encode", type=Path, help="only the encode floor of this L2A product")
    ap.add_argument("--threads", type=int, default=None, help="default: Nr_Threads AUTO (CPUs, ≤ 8)")
    ap.add_argument("--scratch", type=Path, default=None, help="folder for the re-encoded images")
    args = ap.parse_args(argv)
    if args.decode or args.encode:
        floor = measure(args.decode, args.encode, args.threads, args.scratch)
    elif args.l1c:
        floor = measure(args.l1c, args.l2a, args.threads, args.scratch)
    else:
        ap.error("give an L1C product (and an L2A product), or --decode / --encode")
    print(json.dumps(floor.as_dict(), indent=1))  # noqa: T201 - tool output
    return 0


if __name__ == "__main__":
    sys.exit(main())
