"""Lazy, windowed, multi-threaded reading of Level-1C band images (JPEG2000 through GDAL/OpenJPEG).

:class:`BandReader` opens each band file only when asked, checks that the image size agrees with
``MTD_TL.xml``, and returns DN or TOA reflectance at the band's native resolution or resampled to another
one as Sen2Cor does (facts §5 item 2): down-sampling by block mean, up-sampling bicubic (bilinear for
B09/B10), no-data propagated by nearest neighbour.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np
import rasterio
from numpy.typing import NDArray
from rasterio.windows import Window

from sen2cor.bands import BY_ID, band
from sen2cor.errors import ProductError
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.scratch import RawImage, RowFile
from sen2cor.io.spline_zoom import zoom_mirror
from sen2cor.physics.radiometry import NODATA_DN, dn_to_toa
from sen2cor.physics.toa_image import ToaImage

log = logging.getLogger(__name__)

BILINEAR_UPSAMPLED = frozenset({"B09", "B10"})
"""Bands Sen2Cor up-samples bilinearly instead of bicubically (facts §5 item 2)."""


DOWNSAMPLE_STRIP_ROWS = 2048
"""Source rows per strip when a band is down-sampled (two rows of 1024² JPEG 2000 tiles)."""


def strip_rows(factor: int, block_rows: int) -> int:
    """Source rows per down-sampling strip: a multiple of ``factor`` and of the image's block (JPEG 2000
    tile) height, about :data:`DOWNSAMPLE_STRIP_ROWS`, so that no tile row is decoded twice (a strip
    boundary inside a tile row makes both strips decode it: +46 % decoding for 2046-row strips of
    1024-row tiles)."""
    unit = math.lcm(factor, block_rows) if block_rows > 0 else factor
    if unit > 2 * DOWNSAMPLE_STRIP_ROWS:  # blocks that do not line up within a few thousand rows
        unit = factor
    return max(unit, (DOWNSAMPLE_STRIP_ROWS // unit) * unit)


def tile_row_parts(row0: int, row1: int, block_rows: int) -> list[tuple[int, int]]:
    """Rows ``row0:row1`` cut at the image's tile-row boundaries (multiples of ``block_rows``):
    ``[(r0, r1), …]`` in order; one part when ``block_rows`` is not positive."""
    if block_rows <= 0 or row1 <= row0:
        return [(row0, row1)] if row1 > row0 else []
    cuts = range((row0 // block_rows + 1) * block_rows, row1, block_rows)
    edges = [row0, *cuts, row1]
    return list(itertools.pairwise(edges))


def default_threads() -> int:
    """``Nr_Threads`` AUTO: the number of usable CPUs, capped at 8 (user GIPP, facts §2.1)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def block_mean(a: NDArray[np.floating], factor: int) -> NDArray[np.float32]:
    """Mean over ``factor × factor`` blocks; the shape must be divisible (cropped otherwise)."""
    r, c = (a.shape[0] // factor) * factor, (a.shape[1] // factor) * factor
    if _exact_int_blocks(a, factor):
        # whole numbers: float32 sums exact in any order, so one pass gives NumPy's mean bit for bit
        return _block_mean_int(a, factor)
    v = a[:r, :c].astype(np.float32).reshape(r // factor, factor, c // factor, factor)
    return v.mean(axis=(1, 3), dtype=np.float32)


@numba.njit(cache=True, nogil=True)
def _block_mean_int(a, factor):  # type: ignore[no-untyped-def]
    """:func:`block_mean` of an integer image (complete blocks): the exact sum divided by the pixel count in
    float64 and rounded to float32, as NumPy's float32 mean does."""
    nr, nc = a.shape[0] // factor, a.shape[1] // factor
    out = np.empty((nr, nc), np.float32)
    n = np.float64(factor * factor)
    for bi in range(nr):
        for bj in range(nc):
            out[bi, bj] = np.float32(np.float64(_block_total(a, bi, bj, factor)) / n)
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _block_total(a, bi, bj, factor):  # type: ignore[no-untyped-def]
    """Exact integer sum of block (bi, bj) of ``factor × factor`` pixels."""
    total = 0
    for i in range(bi * factor, bi * factor + factor):
        for j in range(bj * factor, bj * factor + factor):
            total += a[i, j]
    return total


def resample(
    dn: NDArray[np.uint16], src_res: int, dst_res: int, dst_shape: tuple[int, int], band_id: str,
    dtype: type[np.generic] = np.float32,
) -> NDArray[np.generic]:
    """Resample a DN image between resolutions as Sen2Cor imports it (facts §5 item 2).

    Down-sampling: block mean rounded to whole DN.  Up-sampling: bicubic (bilinear for B09/B10) spline on
    pixel centres with mirrored borders, clipped to the input range and truncated to whole DN.  No-data (0)
    is carried by nearest neighbour.  The values are whole DN, returned as ``dtype`` (float32 or uint16
    hold them exactly).
    """
    if src_res == dst_res:
        return dn.astype(dtype)
    if dst_res > src_res:
        f = dst_res // src_res
        if _exact_int_blocks(dn, f):  # one numba pass: block sums, rounding, no-data
            out = _downsample_int(dn, f, np.empty((dn.shape[0] // f, dn.shape[1] // f), dtype))
        else:
            nodata = dn == NODATA_DN
            out = np.floor(block_mean(dn, f) + np.float32(0.5)).astype(dtype)
            out[nodata[::f, ::f][: out.shape[0], : out.shape[1]]] = 0
    else:
        f = src_res // dst_res
        order = 1 if band_id in BILINEAR_UPSAMPLED else 3
        up = zoom_mirror(dn.astype(np.float64), f, order)  # = ndimage.zoom(…, mode="mirror", grid_mode=True)
        # clip to the input range, truncate, no-data by nearest neighbour: one numba pass
        out = _clip_truncate(up, float(dn.min()), float(dn.max()), np.ascontiguousarray(dn), f,
                             np.empty(up.shape, dtype))
    return _fit(out, dst_shape)


def _exact_int_blocks(a: np.ndarray, factor: int) -> bool:
    """Whether :func:`block_mean` sums ``a`` exactly in float32 (integer values, small blocks)."""
    return a.ndim == 2 and a.dtype.kind in "ui" and factor * factor * np.iinfo(a.dtype).max < 2**24


@numba.njit(cache=True, nogil=True)
def _downsample_int(a, factor, out):  # type: ignore[no-untyped-def]
    """``floor(block_mean(a) + 0.5)`` in float32 (see :func:`_block_mean_int`), 0 where the block's first
    pixel is no-data, written as ``out``'s dtype."""
    n = np.float64(factor * factor)
    for bi in range(out.shape[0]):
        for bj in range(out.shape[1]):
            if a[bi * factor, bj * factor] == 0:
                out[bi, bj] = 0
                continue
            mean = np.float32(np.float64(_block_total(a, bi, bj, factor)) / n)
            out[bi, bj] = np.floor(mean + np.float32(0.5))
    return out


@numba.njit(cache=True, nogil=True)
def _clip_truncate(up, lo, hi, dn, factor, out):  # type: ignore[no-untyped-def]
    """``floor(clip(up, lo, hi))`` (float64 in, whole values out as ``out``'s dtype), 0 where the source
    pixel ``dn[i // factor, j // factor]`` is no-data."""
    rows = min(up.shape[0], dn.shape[0] * factor)
    cols = min(up.shape[1], dn.shape[1] * factor)
    for i in range(up.shape[0]):
        for j in range(up.shape[1]):
            if i < rows and j < cols and dn[i // factor, j // factor] == 0:
                out[i, j] = 0
                continue
            v = up[i, j]
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            out[i, j] = np.floor(v)
    return out


def _fit(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Crop or edge-pad ``a`` to ``shape``."""
    a = a[: shape[0], : shape[1]]
    pr, pc = shape[0] - a.shape[0], shape[1] - a.shape[1]
    if pr or pc:
        a = np.pad(a, ((0, pr), (0, pc)), mode="edge")
    return a


class BandReader:
    """Reads the band images of one L1C product.

    Parameters
    ----------
    product:
        Metadata from :func:`sen2cor.io.l1c.read_l1c`.
    threads:
        OpenJPEG decoding threads and concurrent band reads (``Nr_Threads``); ``None`` = AUTO.
    spill_dir:
        Optional scratch folder: the 10 m bands' DN decoded for the 20 m run are kept there uncompressed
        (241 MB per band for a full tile), and the 10 m run reads them back instead of decoding the
        JPEG 2000 a second time.
    dn_dir:
        Optional scratch folder for the images of :meth:`toa_image`: their DN are written there and read
        back by the rows a step uses (:class:`~sen2cor.io.scratch.RawImage`) instead of being held in
        memory (60 MB per band of a full 20 m tile).
    """

    def __init__(self, product: L1CProduct, threads: int | None = None, spill_dir: Path | None = None,
                 dn_dir: Path | None = None) -> None:
        self.product = product
        self.threads = threads or default_threads()
        self.spill_dir = spill_dir
        self.dn_dir = dn_dir

    def _env(self) -> rasterio.Env:
        return rasterio.Env(GDAL_NUM_THREADS=str(self.threads), GDAL_CACHEMAX=256)

    def _frame(self, resolution: int) -> tuple[int, int, tuple[int, int]]:
        """``(row, col, full_shape)``: where the product grid starts in the band image, and the image size.

        A region-of-interest grid (``pipeline.roi.WindowGrid``) is a window of the full frame.
        """
        grid = self.product.tile.grid
        win = getattr(grid, "window", None)
        full = getattr(grid, "full_sizes", {}).get(resolution) or grid.shape(resolution)
        if win is None:
            return 0, 0, full
        r, c, _, _ = win.at(resolution)
        return r, c, full

    def dn(self, band_id: str, window: Window | None = None) -> NDArray[np.uint16]:
        """Raw DN of ``band_id`` at its native resolution (optionally a window of the band image).

        Raises
        ------
        ProductError
            Missing band file, unreadable image, or size disagreeing with ``MTD_TL.xml``.
        """
        b = band(band_id)
        path = self.product.tile.band_files.get(b.id)
        if path is None:
            raise ProductError(f"{self.product.tile.path}: band {b.id} is missing from the product")
        return self._decode(path, b.id, self._frame(b.resolution)[2], window)

    def _decode(self, path: Path, band_id: str, expected: tuple[int, int], window: Window | None
                ) -> NDArray[np.uint16]:
        """Decode ``window`` (None: all) of the image ``path`` after checking its size against ``expected``.

        A window of several JPEG 2000 tile rows is decoded by tile rows on :attr:`threads` threads, each
        with its own dataset: the codec works on one core per tile row (see
        :func:`sen2cor.runtime.configure_codec`), so the rows are what keeps the cores busy, and no tile
        is decoded twice.
        """
        try:
            with self._env(), rasterio.open(path) as ds:
                if (ds.height, ds.width) != expected:
                    raise ProductError(
                        f"{path}: image is {ds.height}×{ds.width} pixels but MTD_TL.xml says {expected[0]}×"
                        f"{expected[1]} at {band(band_id).resolution} m; the product is inconsistent"
                    )
                win = window if window is not None else Window(0, 0, ds.width, ds.height)
                parts = tile_row_parts(int(win.row_off), int(win.row_off + win.height),
                                       int(ds.block_shapes[0][0]))
                if self.threads <= 1 or len(parts) <= 1:
                    return ds.read(1, window=win).astype(np.uint16, copy=False)
                out = np.empty((int(win.height), int(win.width)), ds.dtypes[0])

            def decode(part: tuple[int, int]) -> None:
                r0, r1 = part
                rows = slice(r0 - int(win.row_off), r1 - int(win.row_off))
                with self._env(), rasterio.open(path) as part_ds:
                    part_ds.read(1, window=Window(win.col_off, r0, win.width, r1 - r0), out=out[rows])

            with ThreadPoolExecutor(max_workers=min(self.threads, len(parts))) as pool:
                list(pool.map(decode, parts))
            return out.astype(np.uint16, copy=False)
        except rasterio.errors.RasterioIOError as exc:
            raise ProductError(f"{path}: cannot decode band {band_id} ({exc}); the file is damaged") from None

    def _block_rows(self, band_id: str) -> int:
        """Block (tile) height of a band image; 0 when it cannot be read (the read reports why)."""
        path = self.product.tile.band_files.get(band(band_id).id)
        try:
            with self._env(), rasterio.open(path) as ds:
                return int(ds.block_shapes[0][0])
        except (rasterio.errors.RasterioIOError, TypeError):
            return 0

    def toa_rows(self, band_id: str, row0: int, row1: int) -> ToaImage:
        """TOA reflectance of rows ``row0:row1`` of the product grid, at the band's native resolution
        (held as its uint16 DN)."""
        b = band(band_id)
        r, c, _ = self._frame(b.resolution)
        cols = self.product.tile.grid.shape(b.resolution)[1]
        spilled = self._spill_path(b.id)
        if spilled is not None and spilled.is_file():
            with RowFile(spilled, cols, np.uint16, create=False) as f:
                dn = f.rows(row0, row1)
        else:
            dn = self.dn(b.id, Window(c, r + row0, cols, row1 - row0))
        return ToaImage(dn.astype(np.uint16, copy=False), self.product.radio_add_offset[b.id],
                        self.product.quantification_value)

    def _spill_path(self, band_id: str) -> Path | None:
        return None if self.spill_dir is None else self.spill_dir / f"{band_id}.u16"

    def _dn_path(self, band_id: str, resolution: int) -> Path | None:
        return None if self.dn_dir is None else self.dn_dir / f"{band_id}_{resolution}m.u16"

    def scratch_files(self) -> list[Path]:
        """The scratch files this reader has written and that still exist (the 10 m DN kept for the 10 m run,
        the DN of :meth:`toa_image`): the caller may remove them once it reads no band any more."""
        ids = list(self.product.tile.band_files)
        candidates = [self._spill_path(b) for b in ids] + [self._dn_path(b, r) for b in ids for r in (10, 20, 60)]
        return [p for p in candidates if p is not None and p.is_file()]

    def dn_at(self, band_id: str, resolution: int, dtype: type[np.generic] = np.float32) -> NDArray[np.generic]:
        """DN of ``band_id`` resampled to ``resolution`` m (whole values, 0 = no data) as ``dtype``.

        Down-sampling reads the band in strips of :data:`DOWNSAMPLE_STRIP_ROWS` rows, so that a 10 m band
        (241 MB of DN, four times that as float) is never whole in memory; block means are local, so the
        result is the same as resampling the whole image.  The values are whole DN, so uint16 holds them
        exactly.
        """
        b = band(band_id)
        shape = self.product.tile.grid.shape(resolution)
        if resolution <= b.resolution:
            return resample(self.dn(b.id), b.resolution, resolution, shape, b.id, dtype)
        f = resolution // b.resolution
        r, c, _ = self._frame(b.resolution)
        src_rows, src_cols = self.product.tile.grid.shape(b.resolution)
        step = strip_rows(f, self._block_rows(b.id))
        if src_rows % f or src_rows <= step:
            return resample(self.dn(b.id), b.resolution, resolution, shape, b.id, dtype)
        out = np.empty(shape, dtype)
        spill = self._spill_path(b.id) if b.resolution == 10 else None
        part = spill.with_suffix(".part") if spill is not None and not spill.is_file() else None
        with RowFile(part, src_cols, np.uint16) if part is not None else contextlib.nullcontext() as keep:
            for r0 in range(0, src_rows, step):
                r1 = min(r0 + step, src_rows)
                dn = self.dn(b.id, Window(c, r + r0, src_cols, r1 - r0))
                if keep is not None:
                    keep.write_rows(r0, dn)
                out[r0 // f: r1 // f] = resample(dn, b.resolution, resolution, ((r1 - r0) // f, shape[1]), b.id,
                                                 dtype)
        if part is not None:
            os.replace(part, spill)
        return out

    def toa(self, band_id: str, resolution: int) -> NDArray[np.float32]:
        """TOA reflectance of ``band_id`` at ``resolution`` m (float32, 0 = no data; facts §3)."""
        b = band(band_id)
        return dn_to_toa(self.dn_at(b.id, resolution), self.product.radio_add_offset[b.id],
                         self.product.quantification_value)

    def toa_image(self, band_id: str, resolution: int) -> ToaImage:
        """TOA reflectance of ``band_id`` at ``resolution`` m, held as uint16 DN (half the memory of
        :meth:`toa`, same values)."""
        b = band(band_id)
        dn: NDArray[np.uint16] | RawImage = self.dn_at(b.id, resolution, np.uint16)
        path = self._dn_path(b.id, resolution)
        if path is not None:
            dn = RawImage.write(path, dn)
        return ToaImage(dn, self.product.radio_add_offset[b.id], self.product.quantification_value)

    def toa_images(self, band_ids: Iterable[str], resolution: int) -> dict[str, ToaImage]:
        """:meth:`toa_image` of several bands, decoded concurrently, the finest (largest) bands first so
        that the last ones to finish are small (keyed in the order asked)."""
        ids = [band(b).id for b in band_ids]
        start = sorted(ids, key=lambda i: band(i).resolution)  # stable: same-resolution bands keep their order
        with ThreadPoolExecutor(max_workers=min(self.threads, len(ids)) or 1) as pool:
            images = dict(zip(start, pool.map(lambda i: self.toa_image(i, resolution), start)))
        return {i: images[i] for i in ids}

    @property
    def available(self) -> Mapping[str, object]:
        """Band ids present in the product."""
        return {b: BY_ID[b] for b in self.product.tile.band_files}
