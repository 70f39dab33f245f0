"""Images kept in scratch files (io/scratch.py) read back exactly, by rows or whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sen2cor.io.scratch import RawImage
from sen2cor.physics.toa_image import ToaImage


@pytest.fixture
def image(tmp_path: Path) -> tuple[np.ndarray, RawImage]:
    a = np.random.default_rng(0).integers(0, 20000, (37, 23)).astype(np.uint16)
    return a, RawImage.write(tmp_path / "B02_20m.u16", a)


@pytest.mark.parametrize("key", [
    slice(None), slice(3, 9), slice(30, 100), slice(-5, None), slice(5, 5), slice(None, None, 2),
    (slice(2, 8), slice(4, 10)), (slice(1, 4), 7), 0, -1, (12, slice(None, None, -1)), Ellipsis, (Ellipsis, 3),
])
def test_indexing_equals_the_array(image, key) -> None:  # type: ignore[no-untyped-def]
    a, raw = image
    assert np.array_equal(raw[key], a[key])


def test_whole_reads_masks_and_metadata(image) -> None:  # type: ignore[no-untyped-def]
    a, raw = image
    assert raw.shape == a.shape and raw.dtype == np.uint16 and raw.ndim == 2 and raw.nbytes == 0
    assert np.array_equal(np.asarray(raw), a) and np.array_equal(raw[a > 10000], a[a > 10000])
    with pytest.raises(IndexError):
        raw[37]
    with pytest.raises(ValueError, match="expected"):
        RawImage(raw.path, (38, 23), np.uint16)  # the file does not hold that shape


def test_toa_image_on_a_scratch_file_converts_like_in_memory(image) -> None:  # type: ignore[no-untyped-def]
    a, raw = image
    mem, disk = ToaImage(a, -1000.0, 10000.0), ToaImage(raw, -1000.0, 10000.0)
    for key in (slice(4, 20), (slice(0, 3), slice(5, 6)), Ellipsis):
        assert np.array_equal(disk[key], mem[key])
    assert np.array_equal(np.asarray(disk), np.asarray(mem)) and np.array_equal(disk > 0.5, mem > 0.5)


@pytest.mark.parametrize("cols, dtype", [(10980, np.float32), (10980, np.uint16), (997, np.float32), (3, np.uint16)])
def test_row_file_reads_back_what_threads_wrote(tmp_path: Path, cols: int, dtype: type) -> None:
    """Row ranges written in any order from several threads (aligned or not: the unaligned ends go through
    the page cache, the rest directly) read back exactly, whatever range is asked for."""
    import itertools
    from concurrent.futures import ThreadPoolExecutor

    from sen2cor.io.scratch import RowFile

    rows = 1300
    a = np.random.default_rng(1).uniform(0, 5000, (rows, cols)).astype(dtype)
    cuts = [0, 256, 300, 512, 1024, 1025, 1299, rows]
    with RowFile(tmp_path / "x.raw", cols, dtype) as f:
        with ThreadPoolExecutor(3) as pool:
            parts = reversed(list(itertools.pairwise(cuts)))
            list(pool.map(lambda p: f.write_rows(p[0], a[p[0]:p[1]]), parts))
        for r0, r1 in [(0, rows), (0, 1), (100, 1124), (1024, 1300), (1299, 1300), (5, 5)]:
            got = f.rows(r0, r1)
            assert got.dtype == np.dtype(dtype) and got.shape == (r1 - r0, cols)
            assert np.array_equal(got, a[r0:r1])
    assert (tmp_path / "x.raw").stat().st_size == a.nbytes
    with RowFile(tmp_path / "x.raw", cols, dtype, create=False) as again:
        assert np.array_equal(again.rows(700, 1300), a[700:])


def test_row_file_without_direct_io(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the file system refuses direct I/O at open or on the first transfer (EINVAL), everything goes
    through the page cache, with the same contents."""
    import errno
    import os

    from sen2cor.io import scratch

    a = np.arange(64 * 2048, dtype=np.uint16).reshape(64, 2048)
    real_pwrite = os.pwrite

    def refuse_direct(fd: int, data: object, pos: int) -> int:
        if f.direct and fd == f._direct_fd:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(fd, data, pos)

    with scratch.RowFile(tmp_path / "y.raw", 2048, np.uint16) as f:
        monkeypatch.setattr(scratch.os, "pwrite", refuse_direct)
        f.write_rows(0, a[:32])
        f.write_rows(32, a[32:])
        assert not f.direct
        assert np.array_equal(f.rows(0, 64), a)
    monkeypatch.undo()
    monkeypatch.delattr(scratch.os, "O_DIRECT", raising=False)
    with scratch.RowFile(tmp_path / "z.raw", 2048, np.uint16) as g:
        assert not g.direct
        g.write_rows(0, a)
        assert np.array_equal(g.rows(3, 60), a[3:60])


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_written_past_the_cache_reads_back_exactly(tmp_path: Path, dtype: type) -> None:
    # rows of 2002 / 4004 bytes: the direct (4096-aligned) middle and the cached ends meet inside rows
    a = np.random.default_rng(1).integers(0, 60000, (300, 1001)).astype(dtype)
    raw = RawImage.write(tmp_path / "b.raw", a[::-1].T.T)  # a non-contiguous view is written as its values
    assert raw.path.stat().st_size == a.nbytes
    assert np.array_equal(np.asarray(raw), a[::-1])
    assert np.array_equal(raw[17:251], a[::-1][17:251])
    with pytest.raises(ValueError, match="2-D"):
        RawImage.write(tmp_path / "c.raw", a[np.newaxis])
