"""Reading a resolution of a written Level-2A product back (a 10 m run that re-uses the 20 m result)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sen2cor.bands import L2A_BANDS
from sen2cor.errors import ProductError
from sen2cor.io.l2a import encode
from sen2cor.io.l2a.raster import read_image
from sen2cor.io.l2a.results import ResolutionResult


def read_resolution(product: Path, resolution: int, *, offset: bool, boa: bool = True) -> ResolutionResult:
    """Decode the images of one resolution of a written product back to physical values.

    Used by a 10 m run that re-uses the 20 m result of the same product; it needs the maps, not the
    surface reflectance, so it passes ``boa=False`` (the bands of a full 20 m tile as float32 are 1.2 GB).

    Raises
    ------
    ProductError
        If the product has no image folder for ``resolution``.
    """
    granules = sorted((product / "GRANULE").glob("L2A_*"))
    if not granules:
        raise ProductError(f"{product.name}: no GRANULE/L2A_* folder")
    img = granules[0] / "IMG_DATA" / f"R{resolution}m"
    if not img.is_dir():
        raise ProductError(f"{product.name}: no IMG_DATA/R{resolution}m")
    files = {p.stem.rsplit("_", 2)[-2]: p for p in img.iterdir() if p.suffix in (".jp2", ".tif", ".raw")}
    bands = ({b: encode.decode_boa(read_image(files[b]), offset=offset) for b in L2A_BANDS[resolution] if b in files}
             if boa else {})
    qi = granules[0] / "QI_DATA"

    def opt(path: Path) -> NDArray[np.generic] | None:
        return read_image(path) if path.is_file() else None

    scl = read_image(files["SCL"]) if "SCL" in files else None
    return ResolutionResult(
        resolution=resolution, boa=bands,
        scl=scl.astype(np.uint8) if scl is not None else None,
        aot=encode.decode_aot(read_image(files["AOT"])) if "AOT" in files else None,
        wvp=encode.decode_wvp(read_image(files["WVP"])) if "WVP" in files else None,
        cloud_probability=opt(qi / f"MSK_CLDPRB_{resolution}m.jp2"),  # type: ignore[arg-type]
        snow_probability=opt(qi / f"MSK_SNWPRB_{resolution}m.jp2"),  # type: ignore[arg-type]
    )


__all__ = ["read_resolution"]
