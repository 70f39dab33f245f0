"""Images kept in uncompressed scratch files instead of memory, read back by the rows a step uses.

A 20 m run works on 12–13 bands of 30 M pixels each (0.72 GB of uint16 DN) from the reading of the
bands to the last corrected band, while each step uses a few bands, mostly by row strips.  Sen2Cor keeps
such intermediate images in a temporary database on disk; :class:`RawImage` does the same with one raw
row-major file per image in the run's scratch folder: indexing it reads the rows asked for
(``os.pread``), so only the strips in use are in the process's memory, and the operating system's file
cache serves the repeated reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
        """Write ``image`` (2-D) to ``path`` and return it as a :class:`RawImage`."""
        a = np.ascontiguousarray(image)
        with open(path, "wb") as f:
            f.write(memoryview(a).cast("B"))
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


__all__ = ["RawImage", "read_rows"]
