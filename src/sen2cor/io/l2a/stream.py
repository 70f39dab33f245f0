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
:class:`EncoderPool` writes whole in-memory images on several threads; :class:`EncodeJobs` keeps such
writes for later (another resolution's encoders, or a pool's idle workers: :meth:`EncoderPool.fill`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path

import numpy as np
import rasterio
import rasterio.io
import rasterio.shutil
from numpy.typing import NDArray
from rasterio.windows import Window

from sen2cor.errors import ConfigError
from sen2cor.io.l2a.encode_plan import EncodeTimes, plan_next
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
        self.nbytes = shape[0] * shape[1] * count * np.dtype(dtype).itemsize
        """Size of the image (what its encoding takes, roughly)."""
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


class _InMemoryImage:
    """An image already in memory, handed to :class:`StripImages` (:meth:`StripImages.submit`): its ``close``
    writes it; ``seconds``: its predicted encoding time, if known."""

    def __init__(self, path: Path, write: Callable[[], Path], nbytes: int, seconds: float | None = None) -> None:
        self.path, self.nbytes, self.seconds = path, nbytes, seconds
        self._write: Callable[[], Path] | None = write

    def close(self) -> Path:
        write, self._write = self._write, None  # the image is not held once written
        if write is not None:
            write()
        return self.path

    def discard(self) -> None:
        if self._write is not None:
            self._write = None
            self.path.unlink(missing_ok=True)


class StripImages:
    """The :class:`StripImage` s of one resolution, keyed by image (band id, ``AOT``, ``TCI`` …).

    :meth:`finish` hands a complete image to a background thread, which encodes it while the caller
    computes the next; images wait for their turn on disk (staged), not in memory; whole images of another
    resolution (:meth:`submit`) wait for :meth:`finish_all`.  While the caller computes, one encoding runs
    at a time (the caller keeps the other core busy, and the memory of a 10 m run stays bounded); from :meth:`finish_all` on, when the computing is over, ``workers`` at a time (the
    codec works on one core per image, :func:`sen2cor.runtime.configure_codec`).  Each encoding takes the
    largest complete image not yet encoded, so that the longest (a 10 m TCI: 35 s) does not end the run
    alone on one core (docs/benchmarks.md, session 18); from :meth:`finish_all` on, given ``times`` (the
    encodings of the earlier run, :class:`~sen2cor.io.l2a.encode_plan.EncodeTimes`), the first image of the
    order predicted to end soonest (:func:`~sen2cor.io.l2a.encode_plan.plan_next`; session 24).
    """

    def __init__(self, images: dict[str, StripImage], workers: int = 1,
                 on_written: Callable[[Path], object] = lambda _: None,
                 times: EncodeTimes | None = None) -> None:
        self._strips = images
        self._on_written = on_written  # called with the path of each strip image once it is encoded
        self._times = times  # predicts (and records) encoding seconds: the order at the end (plan_next)
        self._workers = max(1, workers)
        self._running: dict[str, tuple[float, float | None]] = {}  # start, predicted seconds
        self._measured = [0.0, 0.0]  # seconds taken and predicted by the strip images encoded so far
        self._images: dict[str, StripImage | _InMemoryImage] = dict(images)  # and those handed over whole
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="strip-encode")
        self._slots = threading.Semaphore(1)
        self._more_slots = max(1, workers) - 1
        self._discarding = False
        self._lock = threading.Lock()
        self._complete: list[str] = []  # finished by the caller, not yet being encoded
        self._finished: set[str] = set()
        self._jobs: list[Future[Path]] = []

    def __getitem__(self, key: str) -> StripImage:
        return self._strips[key]

    def submit(self, fn: Callable[..., Path], *args: object, cost: float = 0.0, **kwargs: object) -> Path:
        """A complete in-memory image, written by ``fn(*args, **kwargs)`` (``args[0]``: its path) among
        these images' encodings from :meth:`finish_all` on (by its ``cost``, as the :class:`EncoderPool`
        method of that name): images of another resolution, smaller, which fill the workers that the last
        large images leave idle at the end.  Not before: while the caller computes, an encoding of them
        (with no image of this resolution complete yet) slows the computing down instead, and the end
        then lacks them — a full tile's 10 m run ended with one core idle for 5.8 s (docs/benchmarks.md,
        session 23)."""
        path = Path(args[0])  # type: ignore[arg-type]
        key = str(path)
        if key in self._images:
            raise ValueError(f"{path.name} is handed over twice")
        seconds = None
        data = args[1] if len(args) > 1 else None
        if self._times is not None and isinstance(data, np.ndarray) and data.ndim >= 2:
            seconds = self._times.predict(path, data.size)
        self._images[key] = _InMemoryImage(path, partial(fn, *args, **kwargs), int(cost), seconds)
        return path

    def __contains__(self, key: object) -> bool:
        return key in self._strips

    def __iter__(self) -> Iterator[str]:
        return iter(self._strips)

    def __len__(self) -> int:
        return len(self._strips)

    def finish(self, key: str) -> None:
        """``key`` is complete: encode it in the background (no more writes to it)."""
        if key not in self._images:
            raise KeyError(key)
        if key in self._finished:
            return
        self._finished.add(key)
        with self._lock:
            self._complete.append(key)
        self._jobs.append(self._pool.submit(self._encode_largest))

    def _encode_largest(self) -> Path:
        """Encode the next complete image: the largest (the first finished of equal ones), or once the
        computing is over (:meth:`finish_all`), the first of the order predicted to end soonest
        (:func:`~sen2cor.io.l2a.encode_plan.plan_next`)."""
        with self._slots:
            with self._lock:
                key = self._planned() or max(self._complete, key=lambda k: self._images[k].nbytes)
                self._complete.remove(key)
                predicted = self._predict(key)
                self._running[key] = (time.monotonic(), predicted)
            if self._discarding:
                raise RuntimeError(f"{key}: not encoded, the run failed")
            image = self._images[key]
            try:
                path = image.close()
            finally:
                with self._lock:
                    start, _ = self._running.pop(key)
            seconds = time.monotonic() - start
            if isinstance(image, StripImage):
                if self._times is not None:
                    self._times.record(path, seconds, image.shape[0] * image.shape[1] * image.count)
                if predicted:
                    with self._lock:
                        self._measured[0] += seconds
                        self._measured[1] += predicted
                self._on_written(path)
            return path

    def _predict(self, key: str) -> float | None:
        """Predicted seconds to encode image ``key`` (:class:`~sen2cor.io.l2a.encode_plan.EncodeTimes`)."""
        image = self._images[key]
        if self._times is None:
            return None
        if isinstance(image, StripImage):
            return self._times.predict(image.path, image.shape[0] * image.shape[1] * image.count)
        return image.seconds

    def _planned(self) -> str | None:
        """With the computing over and several workers: the complete strip image that starts the order of
        the earliest predicted end, the strip images' predictions scaled by the ratio measured so far in
        this run (in-memory images come after them, counted as divisible filler); None without predictions
        for every complete strip image (the caller then takes the largest)."""
        if self._more_slots or self._workers < 2 or self._times is None:
            return None
        scale = self._measured[0] / self._measured[1] if self._measured[1] > 0 else 1.0
        jobs: dict[str, float] = {}
        filler = 0.0
        for key in self._complete:
            predicted = self._predict(key)
            if isinstance(self._images[key], StripImage):
                if predicted is None:
                    return None
                jobs[key] = predicted * scale
            else:
                filler += predicted or 0.0
        if len(jobs) < 2:
            return None
        now = time.monotonic()
        busy = [max(0.0, (p or 0.0) * (scale if isinstance(self._images[k], StripImage) else 1.0) - (now - t))
                for k, (t, p) in self._running.items()]
        busy += [0.0] * max(0, self._workers - 1 - len(busy))
        return plan_next(jobs, busy[:self._workers - 1], filler)

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
            first = _first_failure(self._jobs)
        finally:
            self._pool.shutdown(wait=True)
        if first is not None:
            raise first
        return [f.result() for f in self._jobs]

    def discard(self) -> None:
        """After an error: stop the encodings not started, wait for the running ones, drop the rest."""
        self._discarding = True
        for f in self._jobs:
            f.cancel()
        self._all_slots()
        self._pool.shutdown(wait=True)
        for img in self._images.values():
            img.discard()  # a no-op for the images already encoded


def _first_failure(futures: list[Future[Path]]) -> BaseException | None:
    """Wait for every future; the first one's exception in list order, or None when all succeeded."""
    errors = [f.exception() for f in futures]
    return next((e for e in errors if e is not None), None)


class EncoderPool:
    """Writes images on ``workers`` threads: the JPEG 2000 encoder runs on one core per image
    (:func:`sen2cor.runtime.configure_codec`), so encoding several images at once is what uses the
    machine.  At most ``pending`` (default 2·``workers``) images are in the pool, running or waiting;
    :meth:`wait` re-raises the first failure.  ``background``: use a thread even for one worker (the caller
    goes on computing while an image is encoded).  ``caller_runs``: when the pool is full, the caller
    encodes an image itself instead of waiting for a free place (a caller that computes faster than the
    pool encodes then adds its core to the encoding, and holds no more images than before): the smaller
    of the new image and the one waiting for a worker, by ``cost`` (:meth:`submit`), so that the caller is
    soon back to computing while the worker has the longer encoding to do — a 20 m TCI encoded by the
    caller took 11 s, while the worker ran out of images after 6 (docs/benchmarks.md, session 18)."""

    def __init__(self, workers: int, *, pending: int | None = None, background: bool = False,
                 caller_runs: bool = False) -> None:
        workers = max(workers, 1)
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 or background else None
        self.slots = threading.BoundedSemaphore(pending or 2 * workers)
        self.caller_runs = caller_runs
        self.futures: list[Future[Path]] = []
        self._fillers: list[Future[Path]] = []  # jobs of another set run by fill()
        self._waiting: dict[Callable[[], Path], tuple[Future[Path], float]] = {}  # not started yet
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Path], *args: object, cost: float = 0.0, **kwargs: object) -> Path:
        """Encode ``fn(*args, **kwargs)`` (``args[0]``: the path it writes, returned); ``cost``: its size
        (e.g. the image's bytes), to choose what a caller-run encodes."""
        if self.pool is None:
            return fn(*args, **kwargs)
        job = partial(fn, *args, **kwargs)
        if not self.slots.acquire(blocking=not self.caller_runs):
            swapped = self._smaller_waiting(cost)
            if swapped is None:
                return job()
            self.slots.acquire()  # the place the cancelled job gave back
            self._start(job, cost)
            swapped()
            return Path(args[0])  # type: ignore[arg-type]
        self._start(job, cost)
        return Path(args[0])  # type: ignore[arg-type]

    def _start(self, job: Callable[[], Path], cost: float) -> None:
        assert self.pool is not None
        with self._lock:
            future = self.pool.submit(self._run, job)
            self._waiting[job] = (future, cost)
            self.futures.append(future)
        future.add_done_callback(lambda _: self.slots.release())

    def _run(self, job: Callable[[], Path]) -> Path:
        with self._lock:  # started: a caller may no longer take it
            self._waiting.pop(job, None)
        return job()

    def _smaller_waiting(self, cost: float) -> Callable[[], Path] | None:
        """A waiting job cheaper than ``cost``, taken out of the pool (the cheapest), or None."""
        with self._lock:
            if not self._waiting:
                return None
            job, (future, other) = min(self._waiting.items(), key=lambda kv: kv[1][1])
            if other >= cost or not future.cancel():
                return None
            del self._waiting[job]
            self.futures.remove(future)
        return job

    def fill(self, jobs: EncodeJobs, busy: list[Future[Path]] | None = None) -> int:
        """Run ``jobs`` (the first first) on this pool's idle workers for as long as its own encodings, or
        ``busy`` (another pool's), still run, one job per idle worker; the jobs not started stay in ``jobs``.
        Returns how many were started.

        The last images of a 20 m run keep only one of two cores busy (the codec works on one core per
        image): ≈ 5 idle core-s per full tile, which the 60 m aggregates, kept for the 10 m run, fill
        (docs/benchmarks.md, session 23).  The jobs started are ``jobs``' to wait for
        (:meth:`EncodeJobs.wait_started`), not this pool's: :meth:`wait` returns when its own encodings
        are done, and the caller goes on while the last filler ends (a 60 m image, ≈ 1 s of the core that
        the 10 m run's set-up, on one core, left idle; docs/benchmarks.md, session 26).
        """
        if self.pool is None:
            return 0
        own = [*self.futures, *(busy or [])]
        started: list[Future[Path]] = []
        while jobs:
            running = [f for f in own if not f.done()]
            if not running:
                break
            filling = [f for f in started if not f.done()]
            if len(running) + len(filling) < self.workers:
                future = self.pool.submit(jobs.pop())
                started.append(future)
                jobs.started(future)
                self._fillers.append(future)
            else:
                wait(running + filling, return_when=FIRST_COMPLETED)
        return len(started)

    def wait(self) -> None:
        if self.pool is None:
            return
        try:
            first = _first_failure(self.futures)
        finally:  # fillers still running end on their own (EncodeJobs.wait_started)
            self.pool.shutdown(wait=all(f.done() for f in self._fillers))
        if first is not None:
            raise first


class EncodeJobs:
    """Image writes kept for later, collected through the encoders' ``submit`` (``fn(*args, **kwargs)``,
    ``args[0]`` the path it writes, ``cost`` its size): handed to an encoder by :meth:`hand_to`, or run on
    a pool's idle workers by :meth:`EncoderPool.fill` (those are waited for with :meth:`wait_started`).
    The writer keeps the 60 m images aggregated from a 20 m run in one for the 10 m run
    (:meth:`sen2cor.io.l2a.writer.L2AWriter.write_resolution`, ``defer``)."""

    def __init__(self) -> None:
        self._jobs: deque[tuple[Callable[..., Path], tuple[object, ...], dict[str, object], float]] = deque()
        self._started: list[Future[Path]] = []

    def submit(self, fn: Callable[..., Path], *args: object, cost: float = 0.0, **kwargs: object) -> Path:
        """Keep ``fn(*args, **kwargs)`` for later; returns the path it will write (``args[0]``)."""
        self._jobs.append((fn, args, kwargs, cost))
        return Path(args[0])  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._jobs)

    def pop(self) -> Callable[[], Path]:
        """The first job kept, taken out (to run as it is)."""
        fn, args, kwargs, _ = self._jobs.popleft()
        return partial(fn, *args, **kwargs)

    def hand_to(self, encoder: EncoderPool | StripImages) -> list[Path]:
        """Submit every job kept to ``encoder`` (in the order kept, with its cost); returns their paths."""
        jobs, self._jobs = self._jobs, deque()
        return [encoder.submit(fn, *args, cost=cost, **kwargs) for fn, args, kwargs, cost in jobs]

    def started(self, future: Future[Path]) -> None:
        """A job taken out (:meth:`pop`) now runs as ``future``: :meth:`wait_started` waits for it."""
        self._started.append(future)

    def wait_started(self) -> None:
        """Wait for the jobs started elsewhere (:meth:`started`); re-raises the first failure."""
        started, self._started = self._started, []
        first = _first_failure(started)
        if first is not None:
            raise first

    def clear(self) -> None:
        """Drop the jobs kept and wait for those started, whatever their outcome (the run failed: the
        temporary product is removed next)."""
        self._jobs.clear()
        started, self._started = self._started, []
        wait(started)
