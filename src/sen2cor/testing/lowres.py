"""A consistent copy of the shared 64×-shrunk T55JEJ product (``../shared/data/s2-l1c-t55jej-lowres``) for tests.

Its real images are 172/86/29 px while its metadata describe the full tile; a test product needs images and
metadata that agree, so the copy gets both on one 180/90/30 px grid (the reader is not special-cased). Only
the images and the ``Size`` elements of ``MTD_TL.xml`` change; everything else is copied as it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final

import rasterio
from rasterio.enums import Resampling

from sen2cor.bands import band
from sen2cor.grid import TileGrid
from sen2cor.testing.l1c_builder import write_jp2

LOWRES_SIZES: Final[dict[int, tuple[int, int]]] = {10: (180, 180), 20: (90, 90), 60: (30, 30)}
"""Image size per resolution of the copy (rows, cols)."""

T55JEJ_ULX, T55JEJ_ULY, T55JEJ_EPSG = 499980, 6900040, 32755


def consistent_lowres_copy(src: Path, dst: Path) -> Path:
    """Copy the product ``src`` into ``dst`` (writable), images and ``MTD_TL.xml`` sizes on one grid."""
    safe = dst / src.name
    shutil.copytree(src, safe)
    for p in [safe, *safe.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    granule = next((safe / "GRANULE").iterdir())
    grid = TileGrid(T55JEJ_EPSG, T55JEJ_ULX, T55JEJ_ULY, LOWRES_SIZES)
    for f in (granule / "IMG_DATA").glob("*_B??.jp2"):
        res = band(f.stem[-3:]).resolution
        with rasterio.open(f) as ds:
            data = ds.read(1, out_shape=LOWRES_SIZES[res], resampling=Resampling.nearest)
        f.unlink()
        write_jp2(f, data, grid, res)
    mtd = granule / "MTD_TL.xml"
    text = mtd.read_text()
    for res, (nr, nc) in LOWRES_SIZES.items():
        full = 10980 // (res // 10)
        old = f'<Size resolution="{res}">\n        <NROWS>{full}</NROWS>\n        <NCOLS>{full}</NCOLS>'
        if old not in text:
            raise ValueError(f"{mtd}: no full-tile Size element at {res} m to replace")
        text = text.replace(old, f'<Size resolution="{res}">\n        <NROWS>{nr}</NROWS>\n        <NCOLS>{nc}</NCOLS>')
    mtd.write_text(text)
    return safe
