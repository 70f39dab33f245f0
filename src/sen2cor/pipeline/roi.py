"""Region of interest: process only a window of the tile (user manual §2.4.2, facts §2.1).

``Region_Of_Interest`` of ``L2A_GIPP.xml``:

* ``row0``/``col0`` integers — a ``nrow_win × ncol_win`` window (10 m pixels, all multiples of 6) centred
  on ``(row0, col0)``; it must lie inside the frame, else :class:`~sen2cor.errors.ConfigError` naming the
  element.  The window's first row/column is rounded down to a multiple of 6 so that the 20 m and 60 m
  windows align (see ``docs/differences.md``);
* ``AUTO`` — the bounding box of the valid (non-zero) pixels, widened to multiples of 6; the whole tile is
  processed when more than :data:`AUTO_FULL_VALID_FRACTION` of it is valid or the box would exceed
  :data:`AUTO_MAX_ROI_FRACTION` of it;
* ``OFF`` — the whole tile.

A ROI run works on a *cropped product*: the tile grid becomes a :class:`WindowGrid` (same pixel sizes,
upper-left corner moved to the window), :class:`WindowReader` reads only the window of each band (plus a
few pixels around it for the bands it up-samples), and the results are embedded back into full-frame arrays
(:func:`embed`) with no data outside the window.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray
from rasterio.windows import Window

from sen2cor.bands import band
from sen2cor.config.gipp import ROI_MULTIPLE
from sen2cor.config.settings import L2ASettings
from sen2cor.errors import ConfigError, ProductError
from sen2cor.grid import TileGrid
from sen2cor.io.l1c_bands import BandReader, resample
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.results import ResolutionResult
from sen2cor.physics.geometry import AngleImage

log = logging.getLogger(__name__)

AUTO_FULL_VALID_FRACTION: Final[float] = 0.85
"""AUTO: a tile with more valid pixels than this is processed whole (user manual §2.4.2)."""
AUTO_MAX_ROI_FRACTION: Final[float] = 0.80
"""AUTO: a detected window larger than this fraction of the tile is not used (facts §2.1)."""
UPSAMPLE_HALO_PX: Final[int] = 8
"""Native pixels read around the window before a band is up-sampled in a ROI run.  The bicubic spline's
prefilter reaches beyond the 4×4 kernel (its influence decays as 0.268ⁿ), bilinear needs 1 pixel: with 8
pixels (480 m at 60 m) the window gets the up-sampled values of the whole image (at most 1 DN of float
rounding apart) instead of mirrored-edge values (docs/differences.md)."""
AUTO_DETECTION_BAND: Final[str] = "B02"
"""Band whose non-zero DN define the valid area for AUTO (a 10 m band: the finest footprint)."""
RESOLUTIONS: Final[tuple[int, ...]] = (10, 20, 60)


@dataclass(frozen=True)
class RoiWindow:
    """A window in 10 m pixels; offsets and sizes are multiples of 6."""

    row: int
    col: int
    nrows: int
    ncols: int

    def at(self, resolution: int) -> tuple[int, int, int, int]:
        """``(row, col, nrows, ncols)`` at ``resolution``."""
        f = resolution // 10
        return self.row // f, self.col // f, self.nrows // f, self.ncols // f

    def slices(self, resolution: int) -> tuple[slice, slice]:
        r, c, nr, nc = self.at(resolution)
        return slice(r, r + nr), slice(c, c + nc)

    def rasterio_window(self, resolution: int) -> Window:
        r, c, nr, nc = self.at(resolution)
        return Window(c, r, nc, nr)


@dataclass(frozen=True)
class WindowGrid(TileGrid):
    """The grid of a ROI: a :class:`TileGrid` of the window that remembers where it sits in the tile."""

    full_sizes: dict[int, tuple[int, int]] = field(default_factory=dict, hash=False)
    window: RoiWindow | None = None


def grid_window(grid: TileGrid) -> RoiWindow | None:
    """The ROI of a cropped grid, None for a whole tile."""
    return grid.window if isinstance(grid, WindowGrid) else None


def sun_angles(product: L1CProduct, resolution: int) -> tuple[AngleImage, AngleImage]:
    """Per-pixel sun zenith/azimuth on ``product.tile.grid``, also for a cropped (ROI) grid.

    Lazy images (:class:`~sen2cor.physics.geometry.AngleImage`): a part is interpolated when it is used.
    """
    grid = product.tile.grid
    win = grid_window(grid)
    window = None if win is None else win.at(resolution)  # the angle grid is anchored at the tile corner
    sun = product.tile.angles.sun
    return (AngleImage(sun, grid, resolution, "zenith", sun=True, window=window),
            AngleImage(sun, grid, resolution, "azimuth", sun=True, window=window))


def crop_product(product: L1CProduct, win: RoiWindow) -> L1CProduct:
    """``product`` seen through ``win``: same files, grid reduced to the window."""
    full = product.tile.grid
    sizes = {res: win.at(res)[2:] for res in RESOLUTIONS if res in full.sizes}
    grid = WindowGrid(full.epsg, full.ulx + win.col * 10.0, full.uly - win.row * 10.0, sizes,
                      full_sizes=dict(full.sizes), window=win)
    return dataclasses.replace(product, tile=dataclasses.replace(product.tile, grid=grid))


class WindowReader(BandReader):
    """A :class:`BandReader` of a cropped product: reads only the ROI of each band image."""

    def dn(self, band_id: str, window: Window | None = None) -> NDArray[np.uint16]:
        grid = self.product.tile.grid
        win = grid_window(grid)
        if win is None or window is not None:
            return super().dn(band_id, window)
        b = band(band_id)
        path = self.product.tile.band_files.get(b.id)
        if path is None:
            raise ProductError(f"{self.product.tile.path}: band {b.id} is missing from the product")
        return self._decode(path, b.id, grid.full_sizes[b.resolution], win.rasterio_window(b.resolution))

    def dn_at(self, band_id: str, resolution: int, dtype: type[np.generic] = np.float32) -> NDArray[np.generic]:
        """As :meth:`BandReader.dn_at`; an up-sampled band is resampled from the window plus
        :data:`UPSAMPLE_HALO_PX` pixels of the image around it, then cropped to the window."""
        grid = self.product.tile.grid
        win = grid_window(grid)
        b = band(band_id)
        if win is None or resolution >= b.resolution:
            return super().dn_at(band_id, resolution, dtype)
        r, c, nr, nc = win.at(b.resolution)
        rows, cols = grid.full_sizes[b.resolution]
        h = UPSAMPLE_HALO_PX
        r0, c0, r1, c1 = max(r - h, 0), max(c - h, 0), min(r + nr + h, rows), min(c + nc + h, cols)
        f = b.resolution // resolution
        dn = self.dn(b.id, Window(c0, r0, c1 - c0, r1 - r0))
        up = resample(dn, b.resolution, resolution, ((r1 - r0) * f, (c1 - c0) * f), b.id)
        return up[(r - r0) * f:(r - r0 + nr) * f, (c - c0) * f:(c - c0 + nc) * f].astype(dtype)


def manual_window(settings: L2ASettings, shape10: tuple[int, int]) -> RoiWindow:
    """The window of ``row0``/``col0``/``nrow_win``/``ncol_win``; ConfigError when it leaves the frame."""
    roi = settings.user.roi
    name = settings.files.user.name if settings.files.user else "L2A_GIPP.xml"
    assert isinstance(roi.row0, int) and isinstance(roi.col0, int)
    rows, cols = shape10
    for tag, value in (("row0", roi.row0), ("col0", roi.col0), ("nrow_win", roi.nrow_win),
                       ("ncol_win", roi.ncol_win)):
        if value % ROI_MULTIPLE:
            raise ConfigError(f"{name}: <Region_Of_Interest/{tag}> {value} is not divisible by {ROI_MULTIPLE}")
    row = _start(roi.row0, roi.nrow_win)
    col = _start(roi.col0, roi.ncol_win)
    if row < 0 or row + roi.nrow_win > rows:
        raise ConfigError(
            f"{name}: <Region_Of_Interest/row0> {roi.row0} with <nrow_win> {roi.nrow_win} gives rows {row}…"
            f"{row + roi.nrow_win - 1}, outside the frame of {rows} rows (10 m pixels)")
    if col < 0 or col + roi.ncol_win > cols:
        raise ConfigError(
            f"{name}: <Region_Of_Interest/col0> {roi.col0} with <ncol_win> {roi.ncol_win} gives columns {col}…"
            f"{col + roi.ncol_win - 1}, outside the frame of {cols} columns (10 m pixels)")
    return RoiWindow(row, col, roi.nrow_win, roi.ncol_win)


def _start(centre: int, size: int) -> int:
    """First row/column of a window of ``size`` centred on ``centre``, rounded down to a multiple of 6."""
    start = centre - size // 2
    return (start // ROI_MULTIPLE) * ROI_MULTIPLE


def auto_window(valid: NDArray[np.bool_]) -> RoiWindow | None:
    """AUTO detection on the 10 m validity mask; None = process the whole tile."""
    rows, cols = valid.shape
    total = rows * cols
    fraction = float(valid.sum()) / total if total else 0.0
    if fraction > AUTO_FULL_VALID_FRACTION:
        log.info("ROI AUTO: %.1f %% of the tile is valid (> %.0f %%): whole tile processed", 100 * fraction,
                 100 * AUTO_FULL_VALID_FRACTION)
        return None
    if not valid.any():
        log.info("ROI AUTO: no valid pixel: whole tile processed")
        return None
    r = np.flatnonzero(valid.any(axis=1))
    c = np.flatnonzero(valid.any(axis=0))
    m = ROI_MULTIPLE
    r0, c0 = (r[0] // m) * m, (c[0] // m) * m
    r1, c1 = min(-(-(r[-1] + 1) // m) * m, rows), min(-(-(c[-1] + 1) // m) * m, cols)
    win = RoiWindow(int(r0), int(c0), int(r1 - r0), int(c1 - c0))
    share = win.nrows * win.ncols / total
    if share > AUTO_MAX_ROI_FRACTION:
        log.info("ROI AUTO: the detected window covers %.1f %% of the tile (> %.0f %%): whole tile processed",
                 100 * share, 100 * AUTO_MAX_ROI_FRACTION)
        return None
    log.info("ROI AUTO: rows %d…%d, columns %d…%d (%.1f %% of the tile)", win.row, win.row + win.nrows - 1,
             win.col, win.col + win.ncols - 1, 100 * share)
    return win


def resolve_window(product: L1CProduct, settings: L2ASettings, reader: BandReader) -> RoiWindow | None:
    """The ROI of a run (None = whole tile) from the GIPP ``Region_Of_Interest``."""
    mode = settings.user.roi.mode
    shape10 = product.tile.grid.shape(10)
    if mode == "OFF":
        return None
    if mode == "FIXED":
        win = manual_window(settings, shape10)
    else:
        if AUTO_DETECTION_BAND not in product.tile.band_files:
            log.info("ROI AUTO: band %s missing: whole tile processed", AUTO_DETECTION_BAND)
            return None
        win = auto_window(reader.dn(AUTO_DETECTION_BAND) > 0)
        if win is None:
            return None
    if (win.nrows, win.ncols) == shape10:
        return None
    log.info("processing the region of interest rows %d…%d, columns %d…%d (10 m)", win.row,
             win.row + win.nrows - 1, win.col, win.col + win.ncols - 1)
    return win


def _pad(a: NDArray | None, win: RoiWindow, res: int, full: tuple[int, int]) -> NDArray | None:
    if a is None:
        return None
    fill = np.nan if np.issubdtype(a.dtype, np.floating) else 0
    out = np.full(full, fill, dtype=a.dtype)
    rs, cs = win.slices(res)
    out[rs, cs] = a
    return out


def embed(result: ResolutionResult, win: RoiWindow, full_sizes: dict[int, tuple[int, int]]) -> ResolutionResult:
    """A ROI result as full-frame arrays: the window's values inside, no data (0 / NaN) outside."""
    res = result.resolution
    full = full_sizes[res]
    return dataclasses.replace(
        result,
        boa={b: _pad(v, win, res, full) for b, v in result.boa.items()},
        scl=_pad(result.scl, win, res, full),
        aot=_pad(result.aot, win, res, full),
        wvp=_pad(result.wvp, win, res, full),
        cloud_probability=_pad(result.cloud_probability, win, res, full),
        snow_probability=_pad(result.snow_probability, win, res, full),
        ddv_mask=_pad(result.ddv_mask, win, res, full),
        dem=_pad(result.dem, win, res, full),
    )


def embed_b09(b09: NDArray | None, win: RoiWindow, full_sizes: dict[int, tuple[int, int]]) -> NDArray | None:
    """The aggregated 60 m B09 of a ROI run in the full frame."""
    return _pad(b09, win, 60, full_sizes[60])


def crop(result: ResolutionResult, win: RoiWindow) -> ResolutionResult:
    """The window of a full-frame result (re-used 20 m results of an existing product)."""
    rs, cs = win.slices(result.resolution)

    def cut(a: NDArray | None) -> NDArray | None:
        return None if a is None else a[rs, cs]

    return dataclasses.replace(
        result, boa={b: cut(v) for b, v in result.boa.items()}, scl=cut(result.scl), aot=cut(result.aot),
        wvp=cut(result.wvp), cloud_probability=cut(result.cloud_probability),
        snow_probability=cut(result.snow_probability), ddv_mask=cut(result.ddv_mask), dem=cut(result.dem))


__all__ = ["AUTO_FULL_VALID_FRACTION", "AUTO_MAX_ROI_FRACTION", "RoiWindow", "WindowGrid", "WindowReader",
           "auto_window", "crop", "crop_product", "embed", "embed_b09", "grid_window", "manual_window",
           "resolve_window", "sun_angles"]
