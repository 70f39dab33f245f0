"""The JPEG 2000 codec floor of a run (issue 8): decode the inputs, re-encode the outputs, same library.

* **Decode floor** — each of the 13 L1C band images read in full, one after the other, through GDAL
  JP2OpenJPEG (rasterio) with ``GDAL_NUM_THREADS`` = the chain's ``Nr_Threads`` and the reader's
  ``GDAL_CACHEMAX``, as :class:`sen2cor.io.l1c_bands.BandReader` does.
* **Encode floor** — every image the run wrote (``GRANULE/*/IMG_DATA/**`` and ``QI_DATA`` rasters, and the
  PVI) read back (not timed) and written again with the package's own writer,
  :func:`sen2cor.io.l2a.raster.write_image`, i.e. the same driver, creation options (Sen2Cor's code-stream
  layout per resolution) and thread count as the product.  Same content, so the same entropy-coding work.

The floor is what any JP2-in/JP2-out processor must spend in the codec on this machine; the benchmark
reports ``wall / floor``.  Usable on its own::

    nice -n 19 .venv/bin/python tools/bench/codec_floor.py L1C.SAFE [L2A.SAFE] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final

import rasterio

from sen2cor.io.l1c import read_l1c
from sen2cor.io.l1c_bands import default_threads
from sen2cor.io.l2a.raster import Georef, write_image

READER_CACHEMAX_MB: Final[int] = 256
"""``GDAL_CACHEMAX`` of :class:`sen2cor.io.l1c_bands.BandReader`."""
RASTER_SUFFIXES: Final[dict[str, str]] = {".jp2": "JP2", ".tif": "TIF"}
PREVIEW_PIXEL_M: Final[int] = 320
"""The PVI is written without a resolution layout (single tile)."""


@dataclass
class CodecTiming:
    """Seconds and raw (decoded) bytes of one image."""

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

    @property
    def decode_s(self) -> float:
        return sum(t.seconds for t in self.decode)

    @property
    def encode_s(self) -> float:
        return sum(t.seconds for t in self.encode)

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
                "total_s": self.total_s, "decode": [asdict(t) for t in self.decode],
                "encode": [asdict(t) for t in self.encode],
                "decode_per_resolution": self.per_resolution("decode"),
                "encode_per_resolution": self.per_resolution("encode")}


def decode_floor(l1c: Path, threads: int) -> list[CodecTiming]:
    """Decode each L1C band image in full (sequentially, ``threads`` OpenJPEG threads)."""
    product = read_l1c(l1c)
    out = []
    for bid, path in sorted(product.tile.band_files.items()):
        start = time.perf_counter()
        with rasterio.Env(GDAL_NUM_THREADS=str(threads), GDAL_CACHEMAX=READER_CACHEMAX_MB), \
                rasterio.open(path) as ds:
            a = ds.read(1)
            res = round(ds.res[0])
        out.append(CodecTiming(bid, res, a.shape, a.nbytes, time.perf_counter() - start))
        del a
    return out


def output_images(l2a: Path) -> list[Path]:
    """Raster images written by a run (band/AOT/WVP/SCL/TCI images, QI probability masks, PVI)."""
    files = [p for p in sorted((l2a / "GRANULE").rglob("*")) if p.suffix.lower() in RASTER_SUFFIXES]
    return [p for p in files if p.is_file()]


def encode_floor(l2a: Path, threads: int, scratch: Path) -> list[CodecTiming]:
    """Re-encode every image of ``l2a`` with :func:`write_image` (reading it back is not timed)."""
    out = []
    for path in output_images(l2a):
        with rasterio.Env(GDAL_NUM_THREADS=str(threads)), rasterio.open(path) as ds:
            data = ds.read()
            georef = Georef(ds.crs.to_string(), ds.transform)
            res = round(ds.res[0])
        fmt = RASTER_SUFFIXES[path.suffix.lower()]
        layout_res = None if res >= PREVIEW_PIXEL_M or path.stem.endswith("_PVI") else res
        target = scratch / path.name
        start = time.perf_counter()
        write_image(target, data, georef, fmt=fmt, resolution=layout_res, threads=threads)
        out.append(CodecTiming(path.name, res, data.shape, data.nbytes, time.perf_counter() - start))
        target.unlink()
        del data
    return out


def measure(l1c: Path, l2a: Path | None, threads: int | None = None,
            scratch_dir: Path | None = None) -> Floor:
    """Decode floor of ``l1c`` plus (when given) the encode floor of the product ``l2a``."""
    n = threads or default_threads()
    floor = Floor(threads=n, decode=decode_floor(l1c, n))
    if l2a is not None:
        with tempfile.TemporaryDirectory(prefix="codec-floor-", dir=scratch_dir) as tmp:
            floor.encode = encode_floor(l2a, n, Path(tmp))
    return floor


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("l1c", type=Path)
    ap.add_argument("l2a", type=Path, nargs="?")
    ap.add_argument("--threads", type=int, default=None, help="default: Nr_Threads AUTO (CPUs, ≤ 8)")
    args = ap.parse_args(argv)
    floor = measure(args.l1c, args.l2a, args.threads)
    print(json.dumps(floor.as_dict(), indent=1))  # noqa: T201 - tool output
    return 0


if __name__ == "__main__":
    sys.exit(main())
