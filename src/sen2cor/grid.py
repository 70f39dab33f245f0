"""The tile's raster grid at each resolution (UTM, north-up), shared by every module.

A Sentinel-2 tile is 109.8 km × 109.8 km: 10980² pixels at 10 m, 5490² at 20 m and 1830² at 60 m,
all starting at the same upper-left corner (``ULX``/``ULY`` of ``MTD_TL.xml``).  Crops (test
products, ROI runs) keep the same corner and pixel sizes with fewer rows/columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from affine import Affine


@dataclass(frozen=True)
class TileGrid:
    """Georeferencing of one tile.

    Parameters
    ----------
    epsg:
        EPSG code of the UTM zone (``HORIZONTAL_CS_CODE``).
    ulx, uly:
        Upper-left corner of the upper-left pixel, metres (``Geoposition`` of ``MTD_TL.xml``).
    sizes:
        ``{resolution_m: (nrows, ncols)}`` for 10, 20 and 60 m.
    """

    epsg: int
    ulx: float
    uly: float
    sizes: dict[int, tuple[int, int]] = field(hash=False)

    def shape(self, resolution: int) -> tuple[int, int]:
        """``(nrows, ncols)`` at ``resolution`` metres."""
        try:
            return self.sizes[resolution]
        except KeyError:
            raise KeyError(f"no grid for {resolution} m; known: {sorted(self.sizes)}") from None

    def transform(self, resolution: int) -> Affine:
        """Affine pixel → map transform at ``resolution`` metres (north-up)."""
        return Affine(float(resolution), 0.0, self.ulx, 0.0, -float(resolution), self.uly)

    @property
    def crs(self) -> str:
        """CRS string usable by rasterio (``"EPSG:32632"``)."""
        return f"EPSG:{self.epsg}"

    def bounds(self, resolution: int = 10) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in map units."""
        nrows, ncols = self.shape(resolution)
        return (self.ulx, self.uly - nrows * resolution, self.ulx + ncols * resolution, self.uly)
