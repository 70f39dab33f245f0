"""Product images written in row strips, so that a full 10980² tile never has to be in memory.

:class:`StripImage` takes an image strip by strip (any order; rows never written stay 0 = no data, as
outside a region of interest) and produces the product file on :meth:`StripImage.close`:

* GeoTIFF (``--tif``) and ENVI (``--raw``) are written in place, window by window;
* JPEG 2000, which OpenJPEG can only create from a complete source, is staged in an uncompressed tiled
  scratch GeoTIFF and then encoded with GDAL ``CreateCopy``, which reads the source tile by tile — the
  same codestream options as :func:`sen2cor.io.l2a.raster.write_jp2`.
* A multi-band GeoTIFF whose bands come one at a time (the TCI with ``--tif``) stages the bands of each
  window in such a scratch file until the window's last band arrives, and then writes the window's bands
  together into the compressed product file: no compressed block is rewritten, and the encoding is done
  while the chain computes instead of in a copy at the end (a full-tile TCI: 3.3 CPU-s of copy at the
  end of the run before, 2.3 CPU-s of writes during it).

:class:`StripImages` holds the images of one resolution and encodes each one on a background thread as
soon as the caller declares it complete (:meth:`StripImages.finish`), while the caller computes the next,
and the rest on all threads at the end.
:class:`EncoderPool` writes whole in-memory images on several threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
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
        self.shape, self.count = shape, count
        # staged: JPEG 2000 (encoded from the scratch file at the end); assembled: a compressed multi-band
        # GeoTIFF, whose bands may come one at a time (each window written once all its bands are in)
        self._staged = fmt == "JP2"
        self._assembled = fmt == "TIF" and count > 1
        self._bands_in: dict[tuple[int, int, int, int], set[int]] = {}
        profile = {"width": shape[1], "height": shape[0], "count": count, "dtype": dtype, "crs": georef.crs,
                   "transform": georef.transform}
        self._stage: rasterio.io.DatasetWriter | None = None
        self._stage_path = Path(scratch_dir or path.parent) / (path.name + ".stage.tif")
        with self._gdal():
            if self._staged or self._assembled:
                self._stage = self._open_stage(shape, profile)
            try:
                self._ds = self._open(path, profile)
            except BaseException:
                self._close_stage()
                raise
        self._closed = False

    def _gdal(self) -> rasterio.Env:
        return rasterio.Env(GDAL_NUM_THREADS=str(self.threads), GDAL_PAM_ENABLED="NO")

    def _open_stage(self, shape: tuple[int, int], profile: dict[str, object]) -> rasterio.io.DatasetWriter:
        block = str(min(SCRATCH_BLOCK, 16 * (max(shape) // 16) or 16))
        return rasterio.open(self._stage_path, "w+", driver="GTiff", TILED="YES", BLOCKXSIZE=block,
                             BLOCKYSIZE=block, SPARSE_OK="TRUE", INTERLEAVE="BAND", **profile)

    def _open(self, path: Path, profile: dict[str, object]) -> rasterio.io.DatasetWriter | None:
        if self._staged:
            return None
        if self.fmt == "TIF":
            return rasterio.open(path, "w", driver="GTiff", **profile, **GTIFF_OPTIONS,
                                 NUM_THREADS=str(self.threads))
        return rasterio.open(path, "w", driver="ENVI", **profile)

    def write(self, row0: int, data: NDArray[np.generic], col0: int = 0, band: int | None = None) -> None:
        """Write ``data`` (``(rows, cols)`` or ``(count, rows, cols)``) with its top-left at ``(row0, col0)``;
        with ``band`` (1-based), ``data`` is that one band of a multi-band image."""
        if band is not None:
            if data.ndim != 2:
                raise ValueError(f"one band is a 2-D array, got shape {data.shape}")
            window = Window(col0, row0, data.shape[1], data.shape[0])
            with self._gdal():
                if self._stage is None:
                    self._target.write(np.ascontiguousarray(data), band, window=window)
                    return
                self._stage.write(np.ascontiguousarray(data), band, window=window)
                if self._assembled:
                    key = (row0, col0, data.shape[0], data.shape[1])
                    self._bands_in.setdefault(key, set()).add(band)
                    if len(self._bands_in[key]) == self.count:
                        self._assemble(key)
            return
        a = data if data.ndim == 3 else data[np.newaxis]
        with self._gdal():
            self._target.write(np.ascontiguousarray(a), window=Window(col0, row0, a.shape[2], a.shape[1]))

    @property
    def _target(self) -> rasterio.io.DatasetWriter:
        """Where whole windows go: the product file, or the scratch file of a JPEG 2000."""
        target = self._ds if self._ds is not None else self._stage
        assert target is not None
        return target

    def _assemble(self, key: tuple[int, int, int, int]) -> None:
        """Copy the bands of one staged window into the product file."""
        del self._bands_in[key]
        assert self._stage is not None and self._ds is not None
        window = Window(key[1], key[0], key[3], key[2])
        self._ds.write(self._stage.read(window=window), window=window)

    def _close_stage(self) -> None:
        try:
            if self._stage is not None:
                self._stage.close()
        finally:
            self._stage = None
            self._stage_path.unlink(missing_ok=True)

    def close(self) -> Path:
        """Finish the file (encode the JPEG 2000) and return its path."""
        if self._closed:
            return self.path
        self._closed = True
        try:
            with self._gdal():
                for key in list(self._bands_in):  # windows not all of whose bands came: the rest stays 0
                    self._assemble(key)
                if self._ds is not None:
                    self._ds.close()
                if self._staged:
                    assert self._stage is not None
                    self._stage.close()
                    opts = jp2_creation_options(self.shape, JP2_LAYOUT.get(self.resolution))
                    rasterio.shutil.copy(self._stage_path, self.path, driver="JP2OpenJPEG", **opts)
        finally:
            self._close_stage()
        return self.path

    def discard(self) -> None:
        """Close without producing the file (after an error)."""
        if self._closed:
            return
        self._closed = True
        try:
            with self._gdal():
                if self._ds is not None:
                    self._ds.close()
        finally:
            self._close_stage()
            if self._ds is not None:
                self.path.unlink(missing_ok=True)


class StripImages:
    """The :class:`StripImage` s of one resolution, keyed by image (band id, ``AOT``, ``TCI`` …).

    :meth:`finish` hands a complete image to a background thread, which encodes it while the caller
    computes the next; images wait for their turn on disk (staged), not in memory.  While the caller
    computes, one encoding runs at a time (the caller keeps the other core busy, and the memory of a 10 m
    run stays bounded); from :meth:`finish_all` on, when the computing is over, ``workers`` at a time (the
    codec works on one core per image, :func:`sen2cor.runtime.configure_codec`).
    """

    def __init__(self, images: dict[str, StripImage], workers: int = 1) -> None:
        self._images = images
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="strip-encode")
        self._slots = threading.Semaphore(1)
        self._more_slots = max(1, workers) - 1
        self._discarding = False
        self._futures: dict[str, Future[Path]] = {}

    def __getitem__(self, key: str) -> StripImage:
        return self._images[key]

    def __contains__(self, key: object) -> bool:
        return key in self._images

    def __iter__(self) -> Iterator[str]:
        return iter(self._images)

    def __len__(self) -> int:
        return len(self._images)

    def finish(self, key: str) -> None:
        """``key`` is complete: encode it in the background (no more writes to it)."""
        if key not in self._futures:
            self._futures[key] = self._pool.submit(self._encode, key)

    def _encode(self, key: str) -> Path:
        with self._slots:
            if self._discarding:
                raise RuntimeError(f"{key}: not encoded, the run failed")
            return self._images[key].close()

    def _all_slots(self) -> None:
        for _ in range(self._more_slots):
            self._slots.release()
        self._more_slots = 0

    def finish_all(self) -> list[Path]:
        """Finish the remaining images and wait for every encoding (``workers`` at a time); re-raises the
        first failure."""
        for key in self._images:
            self.finish(key)
        self._all_slots()
        try:
            errors = [f.exception() for f in self._futures.values()]
        finally:
            self._pool.shutdown(wait=True)
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first
        return [f.result() for f in self._futures.values()]

    def discard(self) -> None:
        """After an error: stop the encodings not started, wait for the running ones, drop the rest."""
        self._discarding = True
        for f in self._futures.values():
            f.cancel()
        self._all_slots()
        self._pool.shutdown(wait=True)
        for img in self._images.values():
            img.discard()  # a no-op for the images already encoded


class EncoderPool:
    """Writes images on ``workers`` threads: the JPEG 2000 encoder runs on one core per image
    (:func:`sen2cor.runtime.configure_codec`), so encoding several images at once is what uses the
    machine.  At most ``pending`` (default 2·``workers``) images are in the pool, running or waiting;
    :meth:`wait` re-raises the first failure.  ``background``: use a thread even for one worker (the caller
    goes on computing while an image is encoded).  ``caller_runs``: when the pool is full, the caller
    encodes the image itself instead of waiting for a free place (a caller that computes faster than the
    pool encodes then adds its core to the encoding, and holds no more images than before)."""

    def __init__(self, workers: int, *, pending: int | None = None, background: bool = False,
                 caller_runs: bool = False) -> None:
        workers = max(workers, 1)
        self.pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 or background else None
        self.slots = threading.BoundedSemaphore(pending or 2 * workers)
        self.caller_runs = caller_runs
        self.futures: list[Future[Path]] = []

    def submit(self, fn: Callable[..., Path], *args: object, **kwargs: object) -> Path:
        if self.pool is None:
            return fn(*args, **kwargs)
        if not self.slots.acquire(blocking=not self.caller_runs):
            return fn(*args, **kwargs)
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
