"""Product images written in row strips, so that a full 10980² tile never has to be in memory.

:class:`StripImage` takes an image strip by strip (any order; rows never written stay 0 = no data, as
outside a region of interest) and produces the product file on :meth:`StripImage.close`:

* GeoTIFF (``--tif``) and ENVI (``--raw``) are written in place, window by window;
* JPEG 2000, which OpenJPEG can only create from a complete source, is staged in an uncompressed tiled
  scratch GeoTIFF and then encoded with GDAL ``CreateCopy``, which reads the source tile by tile — the
  same codestream options as :func:`sen2cor.io.l2a.raster.write_jp2`.

:class:`EncoderPool` writes whole images on several threads (one encoder core per image).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import rasterio
import rasterio.io
import rasterio.shutil
from numpy.typing import NDArray
from rasterio.windows import Window

from sen2cor.errors import ConfigError
from sen2cor.io.l2a.raster import GTIFF_OPTIONS, JP2_LAYOUT, Georef, jp2_creation_options

logger = logging.getLogger(__name__)

SCRATCH_BLOCK = 1024
"""Tile size of the scratch GeoTIFF (the 10 m JPEG 2000 tile size, facts §9)."""


class StripImage:
    """One product image written in row strips.

    Parameters
    ----------
    path:
        Target file (``.jp2``/``.tif``/``.raw`` as ``fmt``).
    shape:
        ``(rows, cols)`` of the full image.
    dtype, count:
        Pixel type and number of bands (3 for a TCI).
    georef, fmt, resolution, threads:
        As :func:`sen2cor.io.l2a.raster.write_image`.
    scratch_dir:
        Folder for the JPEG 2000 staging file.
    """

    def __init__(self, path: Path, shape: tuple[int, int], dtype: str, georef: Georef, *, fmt: str,
                 resolution: int, threads: int = 1, count: int = 1, scratch_dir: Path | None = None) -> None:
        if fmt not in ("JP2", "TIF", "RAW"):
            raise ConfigError(f"unknown output format {fmt!r}; expected JP2, TIF or RAW")
        self.path, self.fmt, self.resolution, self.threads = path, fmt, resolution, max(1, threads)
        self.shape = shape
        profile = {"width": shape[1], "height": shape[0], "count": count, "dtype": dtype, "crs": georef.crs,
                   "transform": georef.transform}
        with self._gdal():
            self._ds = self._open(path, shape, profile, scratch_dir)
        self._closed = False

    def _gdal(self) -> rasterio.Env:
        return rasterio.Env(GDAL_NUM_THREADS=str(self.threads), GDAL_PAM_ENABLED="NO")

    def _open(self, path: Path, shape: tuple[int, int], profile: dict[str, object],
              scratch_dir: Path | None) -> rasterio.io.DatasetWriter:
        if self.fmt == "JP2":
            self._target = Path(scratch_dir or path.parent) / (path.name + ".stage.tif")
            block = str(min(SCRATCH_BLOCK, 16 * (max(shape) // 16) or 16))
            return rasterio.open(self._target, "w", driver="GTiff", TILED="YES", BLOCKXSIZE=block,
                                 BLOCKYSIZE=block, SPARSE_OK="TRUE", **profile)
        self._target = path
        if self.fmt == "TIF":
            return rasterio.open(path, "w", driver="GTiff", **profile, **GTIFF_OPTIONS,
                                 NUM_THREADS=str(self.threads))
        return rasterio.open(path, "w", driver="ENVI", **profile)

    def write(self, row0: int, data: NDArray[np.generic], col0: int = 0) -> None:
        """Write ``data`` (``(rows, cols)`` or ``(count, rows, cols)``) with its top-left at ``(row0, col0)``."""
        a = data if data.ndim == 3 else data[np.newaxis]
        with self._gdal():
            self._ds.write(np.ascontiguousarray(a), window=Window(col0, row0, a.shape[2], a.shape[1]))

    def close(self) -> Path:
        """Finish the file (encode the JPEG 2000) and return its path."""
        if self._closed:
            return self.path
        self._closed = True
        try:
            with self._gdal():
                self._ds.close()
                if self.fmt == "JP2":
                    opts = jp2_creation_options(self.shape, JP2_LAYOUT.get(self.resolution))
                    rasterio.shutil.copy(self._target, self.path, driver="JP2OpenJPEG", **opts)
        finally:
            if self.fmt == "JP2":
                self._target.unlink(missing_ok=True)
        return self.path

    def discard(self) -> None:
        """Close without producing the file (after an error)."""
        if self._closed:
            return
        self._closed = True
        try:
            with self._gdal():
                self._ds.close()
        finally:
            self._target.unlink(missing_ok=True)


class EncoderPool:
    """Writes images on ``workers`` threads: GDAL's JPEG 2000 encoder runs on one core per image, so
    encoding several images at once is what uses the machine.  At most ``pending`` (default 2·``workers``)
    images are in the pool, running or waiting; :meth:`wait` re-raises the first failure.  ``background``:
    use a thread even for one worker (the caller goes on computing while an image is encoded)."""

    def __init__(self, workers: int, *, pending: int | None = None, background: bool = False) -> None:
        workers = max(workers, 1)
        self.pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 or background else None
        self.slots = threading.BoundedSemaphore(pending or 2 * workers)
        self.futures: list[Future[Path]] = []

    def submit(self, fn: Callable[..., Path], *args: object, **kwargs: object) -> Path:
        if self.pool is None:
            return fn(*args, **kwargs)
        self.slots.acquire()
        future = self.pool.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda _: self.slots.release())
        self.futures.append(future)
        return Path(args[0])  # type: ignore[arg-type]

    def wait(self) -> None:
        if self.pool is None:
            return
        try:
            errors = [f.exception() for f in self.futures]
        finally:
            self.pool.shutdown(wait=True)
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first
