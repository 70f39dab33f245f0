"""The folder tree of a Level-2A product (facts §9) and where each file lives in it.

:class:`ProductLayout` maps a product root (final or temporary) plus :class:`L2ANames` to paths;
:func:`find_existing_product` looks for an earlier product of the same L1C in an output folder
(Sen2Cor re-uses it: a run whose resolution is already there stops, a 10 m run re-uses 20 m).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sen2cor.bands import L2A_BANDS
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.naming import L2ANames, product_name_pattern

logger = logging.getLogger(__name__)

MTD_PRODUCT: Final[str] = "MTD_MSIL2A.xml"
MTD_TILE: Final[str] = "MTD_TL.xml"
MTD_DATASTRIP: Final[str] = "MTD_DS.xml"
QUALITY_REPORT: Final[str] = "L2A_QUALITY.xml"
MANIFEST: Final[str] = "manifest.safe"
INSPIRE: Final[str] = "INSPIRE.xml"
HTML_INDEX: Final[str] = "UserProduct_index.html"

TOP_FOLDERS: Final[tuple[str, ...]] = ("AUX_DATA", "DATASTRIP", "GRANULE", "HTML", "rep_info")
GRANULE_FOLDERS: Final[tuple[str, ...]] = ("AUX_DATA", "IMG_DATA", "QI_DATA")


@dataclass(frozen=True)
class ProductLayout:
    """Paths of one product rooted at ``root`` (the ``.SAFE`` folder or its temporary twin)."""

    root: Path
    names: L2ANames

    @property
    def granule_dir(self) -> Path:
        """``GRANULE/L2A_T<tile>_A<orbit>_<ds start>``."""
        return self.root / "GRANULE" / self.names.granule

    @property
    def datastrip_dir(self) -> Path:
        """``DATASTRIP/DS_<centre>_<creation>_S<ds start>``."""
        return self.root / "DATASTRIP" / self.names.datastrip_folder

    @property
    def qi_dir(self) -> Path:
        """Granule ``QI_DATA``."""
        return self.granule_dir / "QI_DATA"

    @property
    def granule_aux_dir(self) -> Path:
        """Granule ``AUX_DATA``."""
        return self.granule_dir / "AUX_DATA"

    def img_dir(self, resolution: int) -> Path:
        """``IMG_DATA/R<res>m``."""
        return self.granule_dir / "IMG_DATA" / f"R{resolution}m"

    def image(self, kind: str, resolution: int) -> Path:
        """Image file of a band id or ``SCL``/``AOT``/``WVP``/``TCI`` (SCL as COG: see writer)."""
        return self.img_dir(resolution) / (self.names.image_stem(kind, resolution) + self.names.extension)

    def mask(self, kind: str, resolution: int) -> Path:
        """``QI_DATA/MSK_<kind>_<res>m`` image."""
        return self.qi_dir / (self.names.mask_stem(kind, resolution) + self.names.extension)

    @property
    def pvi(self) -> Path:
        """``QI_DATA/T<tile>_<datatake>_PVI.jp2`` (always JPEG 2000, as Sen2Cor)."""
        return self.qi_dir / (self.names.pvi_stem() + ".jp2")

    def dem(self, resolution: int) -> Path:
        """``AUX_DATA/L2A_T<tile>_<datatake>_DEM_<res>m`` image."""
        return self.granule_aux_dir / (self.names.dem_stem(resolution) + self.names.extension)

    @property
    def mtd_product(self) -> Path:
        return self.root / MTD_PRODUCT

    @property
    def mtd_tile(self) -> Path:
        return self.granule_dir / MTD_TILE

    @property
    def mtd_datastrip(self) -> Path:
        return self.datastrip_dir / MTD_DATASTRIP

    @property
    def quality_report(self) -> Path:
        return self.qi_dir / QUALITY_REPORT

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def inspire(self) -> Path:
        return self.root / INSPIRE

    @property
    def html_dir(self) -> Path:
        return self.root / "HTML"

    @property
    def rep_info(self) -> Path:
        return self.root / "rep_info"

    def create(self) -> None:
        """Create every folder of the tree (idempotent)."""
        for name in TOP_FOLDERS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        for name in GRANULE_FOLDERS:
            (self.granule_dir / name).mkdir(parents=True, exist_ok=True)
        for res in L2A_BANDS:
            self.img_dir(res).mkdir(parents=True, exist_ok=True)
        (self.datastrip_dir / "QI_DATA").mkdir(parents=True, exist_ok=True)

    def with_root(self, root: Path) -> ProductLayout:
        """The same layout rooted elsewhere (e.g. the temporary build folder)."""
        return ProductLayout(root, self.names)

    def resolution_complete(self, resolution: int) -> bool:
        """True when every reflectance band of ``resolution`` and its SCL (20/60 m) exist.

        This is the test Sen2Cor applies before skipping an already processed resolution.
        """
        img = self.img_dir(resolution)
        if not img.is_dir():
            return False
        present = {p.stem for p in img.iterdir()}
        wanted = [self.names.image_stem(b, resolution) for b in L2A_BANDS[resolution]]
        if resolution != 10:
            wanted.append(self.names.image_stem("SCL", resolution))
        return all(w in present for w in wanted)


def find_existing_product(output_dir: Path, l1c: L1CProduct, baseline: str) -> Path | None:
    """The newest L2A product of ``l1c`` (same datatake, orbit, tile and baseline) in ``output_dir``.

    Temporary build folders (leading ``.``) are ignored.  Returns None when there is none.
    """
    if not output_dir.is_dir():
        return None
    pattern = product_name_pattern(l1c, baseline)
    found = sorted(p for p in output_dir.iterdir() if p.is_dir() and pattern.match(p.name))
    if found:
        logger.debug("existing L2A products for this L1C: %s", [p.name for p in found])
    return found[-1] if found else None
