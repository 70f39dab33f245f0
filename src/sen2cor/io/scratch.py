"""Images kept in uncompressed scratch files instead of memory, read back by the rows a step uses.

A 20 m run works on 12–13 bands of 30 M pixels each (0.72 GB of uint16 DN) from the reading of the
bands to the last corrected band, while each step uses a few bands, mostly by row strips.  Sen2Cor keeps
such intermediate images in a temporary database on disk; :class:`RawImage` does the same with one raw
row-major file per image in the run's scratch folder: indexing it reads the rows asked for
(``os.pread``), so only the strips in use are in the process's memory, and the operating system's file
cache serves the repeated reads.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray


def read_rows(fd: int, row0: int, row1: int, cols: int, dtype: Any, name: object) -> NDArray[np.generic]:
    """Rows ``row0:row1`` of a raw row-major image of ``cols`` columns in the open file ``fd``, as a new
    array.  Positional reads: threads may read the same file at once.  ``name`` names the file in errors."""
    out = np.empty((row1 - row0, cols), dtype)
    if out.size == 0:
        return out
    view, pos = memoryview(out).cast("B"), row0 * cols * out.itemsize
    while view:
        n = os.preadv(fd, [view], pos)
        if n <= 0:
            raise OSError(f"{name}: short read")
        view, pos = view[n:], pos + n
    return out


DIRECT_ALIGN: Final[int] = 4096
"""Alignment of offsets, lengths and buffers for I/O that bypasses the page cache (``O_DIRECT``): a multiple
of any disk's logical block size."""


def _aligned_empty(nbytes: int) -> NDArray[np.uint8]:
    """An uninitialised byte buffer of ``nbytes`` whose start is :data:`DIRECT_ALIGN`-aligned."""
    raw = np.empty(nbytes + DIRECT_ALIGN, np.uint8)
    skip = -raw.ctypes.data % DIRECT_ALIGN
    return raw[skip:skip + nbytes]


class RowFile:
    """A raw row-major scratch image of ``cols`` columns, written and read by row ranges from any thread.

    Written once and read back once or twice (the 10 m DN kept from the 20 m run, the 10 m step-1
    reflectance), such an image gains nothing from the page cache, and filling fresh cache pages is what
    costs: on the benchmark machine (a virtual machine whose host backs freed memory lazily) writing 2 GB
    through the cache took 2.9 s of kernel time, directly (``O_DIRECT``, the copy done by the disk's DMA)
    0.08 s, and reading it back 0.5 s against 0.09 s.  So the block-aligned part of each write and read
    goes directly where the file system allows it (Linux), through an aligned buffer; the unaligned ends
    of a range (a few kB) go through the cache, which the kernel keeps coherent with the direct I/O.  Where
    direct I/O is refused (at open, or ``EINVAL`` on a transfer) everything goes through the cache.
    """

    def __init__(self, path: Path, cols: int, dtype: Any, *, create: bool = True) -> None:
        self.path, self.cols, self.dtype = Path(path), int(cols), np.dtype(dtype)
        self.row_bytes = self.cols * self.dtype.itemsize
        mode = os.O_RDWR | os.O_CREAT | os.O_TRUNC if create else os.O_RDONLY
        self._fd = os.open(self.path, mode, 0o600)
        self._direct_fd = -1  # kept open until close(), also once refused: other threads may be using it
        self._use_direct = False
        flag = getattr(os, "O_DIRECT", 0)
        if flag:
            try:
                self._direct_fd = os.open(self.path, (os.O_RDWR if create else os.O_RDONLY) | flag)
                self._use_direct = True
            except OSError:  # file system without direct I/O (some network or FUSE file systems)
                pass

    def __enter__(self) -> RowFile:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def direct(self) -> bool:
        """Whether the aligned parts of the I/O bypass the page cache."""
        return self._use_direct

    def _split(self, start: int, stop: int) -> tuple[int, int]:
        """The aligned middle ``[a, b)`` of the byte range ``[start, stop)`` (``a == b`` if none)."""
        a = -(-start // DIRECT_ALIGN) * DIRECT_ALIGN
        b = max(a, (stop // DIRECT_ALIGN) * DIRECT_ALIGN)
        return a, b

    def write_rows(self, row0: int, rows: NDArray[np.generic]) -> None:
        """Write ``rows`` (``cols`` wide, cast to the file's dtype) from row ``row0`` on."""
        data = memoryview(np.ascontiguousarray(rows, dtype=self.dtype)).cast("B")
        start = row0 * self.row_bytes
        a, b = self._split(start, start + len(data)) if self._use_direct else (start, start)
        if b > a:
            bounce = _aligned_empty(b - a)
            bounce[:] = np.frombuffer(data[a - start:b - start], np.uint8)
            if not self._pwrite(self._direct_fd, memoryview(bounce), a):
                a = b = start  # direct I/O refused after all: everything through the cache from now on
        self._pwrite(self._fd, data[:a - start], start)
        self._pwrite(self._fd, data[b - start:], b)

    def _pwrite(self, fd: int, view: memoryview, pos: int) -> bool:
        try:
            while view:
                n = os.pwrite(fd, view, pos)
                view, pos = view[n:], pos + n
        except OSError as exc:
            if fd != self._direct_fd or exc.errno != errno.EINVAL:
                raise
            self._use_direct = False
            return False
        return True

    def rows(self, row0: int, row1: int) -> NDArray[np.generic]:
        """Rows ``row0:row1`` as an array (a view of a freshly read buffer)."""
        if not self._use_direct:
            return read_rows(self._fd, row0, row1, self.cols, self.dtype, self.path)
        start, stop = row0 * self.row_bytes, max(row0, row1) * self.row_bytes
        lo = (start // DIRECT_ALIGN) * DIRECT_ALIGN
        hi = -(-stop // DIRECT_ALIGN) * DIRECT_ALIGN
        buf = _aligned_empty(hi - lo)
        got = 0
        try:
            while got < hi - lo:
                n = os.preadv(self._direct_fd, [memoryview(buf[got:])], lo + got)
                if n <= 0:
                    break  # end of file: the last block is partial
                got += n
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self._use_direct = False
            return read_rows(self._fd, row0, row1, self.cols, self.dtype, self.path)
        if got < stop - lo:
            raise OSError(f"{self.path}: short read")
        return buf[start - lo:stop - lo].view(self.dtype).reshape(max(row0, row1) - row0, self.cols)

    def close(self) -> None:
        for fd in (self._fd, self._direct_fd):
            if fd >= 0:
                os.close(fd)
        self._fd, self._direct_fd, self._use_direct = -1, -1, False


def _read_ahead(path: Path) -> None:
    """Ask the kernel to read ``path`` into the page cache in the background (where it can)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError:  # a file system without read-ahead advice: the reads fetch it
        pass
    finally:
        os.close(fd)


class RawImage:
    """A read-only 2-D image in a raw scratch file, indexed like a NumPy array.

    ``img[rows]``, ``img[rows, cols]`` with ``rows`` a slice of step 1 or an integer read those rows only;
    any other index (masks, fancy indexing) reads the whole image first.  ``np.asarray(img)`` reads it all.
    """

    __slots__ = ("dtype", "path", "shape")

    def __init__(self, path: Path, shape: tuple[int, int], dtype: Any) -> None:
        self.path = Path(path)
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        expected = self.shape[0] * self.shape[1] * self.dtype.itemsize
        if self.path.stat().st_size != expected:
            raise ValueError(f"{self.path}: {self.path.stat().st_size} bytes, expected {expected} for {self.shape}")

    @classmethod
    def write(cls, path: Path, image: NDArray[np.generic]) -> RawImage:
        """Write ``image`` (2-D) to ``path`` and return it as a :class:`RawImage`.

        The image is read back many times (by every step of a run), so its reads go through the page
        cache, but it is written past the cache (:class:`RowFile`, ``O_DIRECT``) and the kernel is asked to
        read it in ahead (``POSIX_FADV_WILLNEED``): filling fresh cache pages from a write is what costs on
        the benchmark machine — 13 bands of a 20 m tile (780 MB) took 2.3 s of kernel time through the
        cache, 0.3–0.4 s directly plus 0.2–0.3 s for the first read (docs/benchmarks.md, session 19).
        """
        a = np.ascontiguousarray(image)
        if a.ndim != 2:
            raise ValueError(f"{path}: a RawImage is 2-D, got shape {a.shape}")
        with RowFile(path, a.shape[1], a.dtype) as f:
            f.write_rows(0, a)
        _read_ahead(path)
        return cls(path, a.shape, a.dtype)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        """Bytes held in memory: none (the image is in its file)."""
        return 0

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, row0: int, row1: int) -> NDArray[np.generic]:
        """Rows ``row0:row1`` (clipped to the image) as a new array."""
        row0, row1 = max(0, row0), min(self.shape[0], row1)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            return read_rows(fd, row0, max(row0, row1), self.shape[1], self.dtype, self.path)
        finally:
            os.close(fd)

    def __getitem__(self, key: Any) -> NDArray[np.generic]:
        k = key if isinstance(key, tuple) else (key,)
        first, rest = (k[0], k[1:]) if k else (slice(None), ())
        if isinstance(first, (int, np.integer)) and not isinstance(first, bool):
            r = int(first) + self.shape[0] if first < 0 else int(first)
            if not 0 <= r < self.shape[0]:
                raise IndexError(f"row {first} out of range for {self.shape[0]} rows")
            return self.rows(r, r + 1)[(0, *rest)]
        if isinstance(first, slice):
            start, stop, step = first.indices(self.shape[0])
            if step == 1:
                return self.rows(start, max(start, stop))[(slice(None), *rest)]
        return self.rows(0, self.shape[0])[key]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray[np.generic]:
        if copy is False:
            raise ValueError("a RawImage cannot be viewed without reading it (copy)")
        full = self.rows(0, self.shape[0])
        return full if dtype is None else full.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"RawImage({self.path.name}, shape={self.shape}, dtype={self.dtype})"


def remove_in_background(paths: Iterable[Path]) -> threading.Thread:
    """Remove ``paths`` (missing ones ignored) on a background thread, returned started.

    Removing the gigabytes of a full tile's scratch files mostly waits on the file system (0.3 s for 2 GB
    on the benchmark machine, with one core idle), so it is done beside the computation instead of at the
    end of the run; join the thread before the folder that holds the files is removed.
    """
    todo = list(paths)

    def remove() -> None:
        for path in todo:
            path.unlink(missing_ok=True)

    thread = threading.Thread(target=remove, name="sen2cor-scratch-removal", daemon=True)
    thread.start()
    return thread


__all__ = ["DIRECT_ALIGN", "RawImage", "RowFile", "read_rows", "remove_in_background"]
