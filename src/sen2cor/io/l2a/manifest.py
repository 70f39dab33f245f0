"""Product accessories: ``manifest.safe`` (SAFE/XFDU), ``HTML/`` and ``rep_info/``.

``manifest.safe`` lists every file of the finished product with size and MD5, so it is written
last (just before the product is renamed into place).  ``rep_info/`` receives the three PSD
Level-2A schemas when a schema folder is configured (the package does not ship ESA's files).
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Final

from lxml import etree
from lxml.html import builder as html

from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.checksums import md5_of
from sen2cor.io.l2a.layout import HTML_INDEX, MANIFEST, ProductLayout
from sen2cor.io.l2a.mtd_base import sub, utc, write_xml

logger = logging.getLogger(__name__)

NS_XFDU: Final[str] = "urn:ccsds:schema:xfdu:1"
NS_SAFE: Final[str] = "http://www.esa.int/safe/sentinel/1.1"
NS_GML: Final[str] = "http://www.opengis.net/gml"
MANIFEST_VERSION: Final[str] = "esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product"
"""XFDU ``version`` of Level-2A user products (as written by Sen2Cor and the PDGS)."""

L2A_SCHEMAS: Final[tuple[str, ...]] = (
    "S2_User_Product_Level-2A_Metadata.xsd", "S2_PDI_Level-2A_Tile_Metadata.xsd",
    "S2_PDI_Level-2A_Datastrip_Metadata.xsd",
)
"""Schema files Sen2Cor places in ``rep_info/``."""

NSSDC_IDS: Final[dict[str, str]] = {"S2A": "2015-028A", "S2B": "2017-013A", "S2C": "2024-157A"}
"""COSPAR/NSSDC identifiers of the Sentinel-2 satellites (``safe:nssdcIdentifier``)."""

_MIME = {".xml": "text/xml", ".jp2": "application/octet-stream", ".tif": "image/tiff",
         ".raw": "application/octet-stream", ".hdr": "text/plain", ".gml": "application/xml",
         ".html": "text/html", ".xsd": "text/xml", ".log": "text/plain"}


CHECKSUM_THREADS: Final[int] = 2
"""Files checksummed at once for ``manifest.safe`` (speed only: 0.8 GB of images take ≈ 1.5 s on one core)."""


def _md5(path: Path) -> str:
    digest = md5_of(path)
    assert digest is not None
    return digest


def _object_id(rel: str) -> str:
    """A valid xs:ID for a product-relative path."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", rel)
    return stem if re.match(r"[A-Za-z_]", stem) else "_" + stem


def _metadata_wrap(section: etree._Element, ident: str, text_info: str, classification: str = "DESCRIPTION",
                   category: str = "DMD") -> etree._Element:
    mo = sub(section, "metadataObject", ID=ident, classification=classification, category=category)
    wrap = sub(mo, "metadataWrap", textInfo=text_info, vocabularyName="Sentinel-SAFE", mimeType="text/xml")
    return sub(wrap, "xmlData")


def build_manifest(layout: ProductLayout, l1c: L1CProduct, footprint: str, creation: datetime,
                   known: Callable[[Path], str | None] = lambda _: None) -> etree._Element:
    """The ``manifest.safe`` tree of the product being built under ``layout.root``; ``known``: a file's
    checksum when already computed (:class:`~sen2cor.io.l2a.checksums.BackgroundChecksums`), else None."""
    root = etree.Element(f"{{{NS_XFDU}}}XFDU", nsmap={"xfdu": NS_XFDU, "safe": NS_SAFE, "gml": NS_GML},
                         version=MANIFEST_VERSION)
    files = sorted(p for p in layout.root.rglob("*") if p.is_file() and p.name != MANIFEST)
    rels = [p.relative_to(layout.root).as_posix() for p in files]

    ipm = sub(root, "informationPackageMap")
    product_unit = sub(ipm, f"{{{NS_XFDU}}}contentUnit", unitType="Product_Level-2A",
                       textInfo="SENTINEL-2 MSI Level-2A User Product", pdiID="processing")
    for rel in rels:
        unit = sub(product_unit, f"{{{NS_XFDU}}}contentUnit", ID=_object_id(rel) + "_Unit",
                   unitType="Metadata Unit" if rel.endswith(".xml") else "Measurement Data Unit")
        sub(unit, "dataObjectPointer", dataObjectID=_object_id(rel))

    section = sub(root, "metadataSection")
    period = sub(_metadata_wrap(section, "acquisitionPeriod", "Acquisition Period"), f"{{{NS_SAFE}}}acquisitionPeriod")
    sub(period, f"{{{NS_SAFE}}}startTime", utc(l1c.product_start_time, digits=3))
    orbit = sub(_metadata_wrap(section, "measurementOrbitReference", "Orbit Reference"),
                f"{{{NS_SAFE}}}orbitReference")
    sub(orbit, f"{{{NS_SAFE}}}orbitNumber", f"{l1c.tile.absolute_orbit:06d}", type="start",
        groundTrackDirection=l1c.orbit_direction.lower())
    sub(orbit, f"{{{NS_SAFE}}}relativeOrbitNumber", l1c.relative_orbit, type="start")
    platform = sub(_metadata_wrap(section, "platform", "Platform Description"), f"{{{NS_SAFE}}}platform")
    sub(platform, f"{{{NS_SAFE}}}nssdcIdentifier", NSSDC_IDS.get(l1c.spacecraft, ""))
    sub(platform, f"{{{NS_SAFE}}}familyName", "SENTINEL")
    sub(platform, f"{{{NS_SAFE}}}number", l1c.spacecraft[1:])
    instrument = sub(platform, f"{{{NS_SAFE}}}instrument")
    sub(instrument, f"{{{NS_SAFE}}}familyName", "Multi-Spectral Instrument", abbreviation="MSI")
    processing = _metadata_wrap(section, "processing", "Processing", classification="PROVENANCE", category="PDI")
    sub(processing, f"{{{NS_SAFE}}}processing", name="Generation of Level-2A User Product", start=utc(creation))
    frame = sub(_metadata_wrap(section, "measurementFrameSet", "Frame Set"), f"{{{NS_SAFE}}}frameSet")
    fp = sub(frame, f"{{{NS_SAFE}}}footPrint", srsName="http://www.opengis.net/gml/srs/epsg.xml#4326")
    sub(fp, f"{{{NS_GML}}}coordinates", footprint)

    objects = sub(root, "dataObjectSection")
    # hashlib releases the GIL on large buffers: the files' checksums on a few threads, listed in order
    with ThreadPoolExecutor(max_workers=CHECKSUM_THREADS) as pool:
        checksums = list(pool.map(lambda p: known(p) or _md5(p), files))
    for path, rel, checksum in zip(files, rels, checksums):
        obj = sub(objects, "dataObject", ID=_object_id(rel))
        stream = sub(obj, "byteStream", mimeType=_MIME.get(path.suffix, "application/octet-stream"),
                     size=path.stat().st_size)
        sub(stream, "fileLocation", locatorType="URL", href="./" + rel)
        sub(stream, "checksum", checksum, checksumName="MD5")
    return root


def write_manifest(layout: ProductLayout, l1c: L1CProduct, footprint: str, creation: datetime,
                   known: Callable[[Path], str | None] = lambda _: None) -> Path:
    """Write ``manifest.safe`` (call after every other file is in place; ``known`` as :func:`build_manifest`)."""
    layout.manifest.unlink(missing_ok=True)  # may be a hard link into a re-used product
    return write_xml(build_manifest(layout, l1c, footprint, creation, known), layout.manifest)


def write_html(layout: ProductLayout, l1c: L1CProduct, creation: datetime, log_file: Path | None = None) -> Path:
    """``HTML/UserProduct_index.html`` and, when given, a copy of the run's log file."""
    layout.html_dir.mkdir(parents=True, exist_ok=True)
    if log_file is not None and log_file.is_file():
        (layout.html_dir / log_file.name).unlink(missing_ok=True)
        shutil.copy2(log_file, layout.html_dir / log_file.name)
    rows = [html.TR(html.TD(k), html.TD(v)) for k, v in (
        ("Product", layout.names.product),
        ("Processing level", "Level-2A"),
        ("Input Level-1C", l1c.product_uri),
        ("Tile", "T" + l1c.tile.tile_number),
        ("Datatake sensing start", utc(l1c.datatake_sensing_start, digits=3)),
        ("Generation time", utc(creation)),
        ("Processing baseline", layout.names.baseline),
    )]
    doc = html.HTML(
        html.HEAD(html.META(charset="utf-8"), html.TITLE(layout.names.product)),
        html.BODY(html.H1("Sentinel-2 MSI Level-2A User Product"), html.TABLE(*rows)),
    )
    path = layout.html_dir / HTML_INDEX
    path.unlink(missing_ok=True)
    path.write_bytes(b"<!DOCTYPE html>\n" + etree.tostring(doc, method="html", encoding="utf-8", pretty_print=True))
    return path


def write_rep_info(layout: ProductLayout, schema_dir: Path | None) -> list[Path]:
    """Copy the Level-2A schemas from ``schema_dir`` into ``rep_info/`` (none when not configured)."""
    layout.rep_info.mkdir(parents=True, exist_ok=True)
    if schema_dir is None:
        logger.info("no PSD schema folder configured: rep_info/ stays empty")
        return []
    copied = []
    for name in L2A_SCHEMAS:
        src = schema_dir / name
        if src.is_file():
            (layout.rep_info / name).unlink(missing_ok=True)
            copied.append(Path(shutil.copy2(src, layout.rep_info / name)))
        else:
            logger.warning("schema %s not found in %s; not copied to rep_info/", name, schema_dir)
    return copied
