"""Building blocks shared by the three Level-2A metadata writers (lxml element building).

Sen2Cor derives the L2A metadata from the L1C metadata: the parts that do not change (spectral
information, physical gains, footprint, angle grids, GIPP list, datastrip ancillary data …) are
carried over and the Level-2A parts are added.  :class:`L1CDocuments` holds the parsed L1C XML
files; every writer copies from it when present and otherwise builds the element from the
:class:`~sen2cor.io.l1c_model.L1CProduct` dataclass (or leaves it out, with a warning, when the
dataclass does not carry the information).
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Final

from lxml import etree

from sen2cor.errors import MetadataError
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.results import ProcessingInfo
from sen2cor.io.xml import safe_parser

logger = logging.getLogger(__name__)

XSI: Final[str] = "http://www.w3.org/2001/XMLSchema-instance"
PSD_BASE: Final[str] = "https://psd-14.sentinel2.eo.esa.int/PSD/"
NS_PRODUCT: Final[str] = PSD_BASE + "User_Product_Level-2A.xsd"
"""Namespace of MTD_MSIL2A.xml (identical in PSD 14.5 … 14.9)."""
NS_TILE: Final[str] = PSD_BASE + "S2_PDI_Level-2A_Tile_Metadata.xsd"
NS_DATASTRIP: Final[str] = PSD_BASE + "S2_PDI_Level-2A_Datastrip_Metadata.xsd"

PSD_OFFSET_THRESHOLD: Final[float] = 14.6
"""PSD above which BOA carries the +1000 offset and PSD-14.9 elements are written (facts §3, §8)."""
PSD_FOR_OLD_BASELINES: Final[float] = 14.6
PSD_FOR_NEW_BASELINES: Final[float] = 14.9
"""L2A PSD chosen from the L1C baseline: < 04.00 → 14.6, otherwise 14.9 (facts §9)."""

SPACECRAFT_NAMES: Final[dict[str, str]] = {"S2A": "Sentinel-2A", "S2B": "Sentinel-2B", "S2C": "Sentinel-2C"}

_SECURE_PARSER = safe_parser(remove_blank_text=True, huge_tree=True)
"""L1C metadata parser: no entities, DTDs or network (MTD_DS.xml may exceed libxml2's default limits)."""


def output_psd(l1c: L1CProduct, info: ProcessingInfo) -> float:
    """PSD version of the L2A metadata: ``info.psd_version`` or derived from the L1C baseline."""
    if info.psd_version is not None:
        return info.psd_version
    try:
        major = int(l1c.processing_baseline.split(".")[0])
    except ValueError:
        major = 4 if l1c.has_radio_offset else 2
    return PSD_FOR_NEW_BASELINES if major >= 4 else PSD_FOR_OLD_BASELINES


def boa_offset_applies(psd: float) -> bool:
    """True when BOA digital numbers carry the +1000 offset (PSD > 14.6)."""
    return psd > PSD_OFFSET_THRESHOLD + 1e-9


def utc(value: datetime, *, digits: int = 6) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (``digits`` fractional digits, 0 → none)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        base += "." + f"{value.microsecond:06d}"[:digits]
    return base + "Z"


def fmt_pct(value: float) -> str:
    """Percentages and QI values as Sen2Cor writes them: fixed, 6 decimals."""
    return f"{float(value):.6f}"


def sub(parent: etree._Element, tag: str, text: object | None = None, **attrib: str) -> etree._Element:
    """Append a child element (tag may be a Clark name ``{ns}local``) with optional text/attributes."""
    el = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        el.text = str(text)
    return el


def new_root(namespace: str, local: str) -> etree._Element:
    """Root element ``n1:<local>`` with the schemaLocation Sen2Cor writes."""
    root = etree.Element(f"{{{namespace}}}{local}", nsmap={"n1": namespace, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", namespace)
    return root


def local(el: etree._Element) -> str:
    """Local name of an element."""
    return etree.QName(el).localname


def child(el: etree._Element | None, name: str) -> etree._Element | None:
    """First child with local name ``name`` (any namespace), or None."""
    if el is None:
        return None
    for c in el:
        if isinstance(c.tag, str) and local(c) == name:
            return c
    return None


def children(el: etree._Element | None, name: str) -> list[etree._Element]:
    """All children with local name ``name``."""
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str) and local(c) == name]


def find_path(el: etree._Element | None, *names: str) -> etree._Element | None:
    """Follow a path of local names from ``el``."""
    for name in names:
        el = child(el, name)
    return el


def copied(el: etree._Element, *, tag: str | None = None) -> etree._Element:
    """Deep copy of ``el`` without comments, optionally renamed (a new element: no stale prefixes)."""
    if tag is None:
        c = copy.deepcopy(el)
    else:
        c = etree.Element(tag, dict(el.attrib))
        c.text = el.text
        for ch in el:
            c.append(copy.deepcopy(ch))
    for comment in c.xpath(".//comment()"):
        comment.getparent().remove(comment)
    return c


def append_copy(parent: etree._Element, el: etree._Element | None, *, tag: str | None = None) -> bool:
    """Append a deep copy of ``el`` to ``parent``; False (nothing appended) when ``el`` is None."""
    if el is None:
        return False
    parent.append(copied(el, tag=tag))
    return True


def rebaseline(identifier: str, baseline: str) -> str:
    """Replace the trailing ``_Ndd.dd`` of a datatake/granule identifier with ``baseline``."""
    return re.sub(r"_N\d{2}\.\d{2}$", f"_N{baseline}", identifier)


def write_xml(root: etree._Element, path: Path) -> Path:
    """Serialise ``root`` (UTF-8, declaration, indented) to ``path``."""
    etree.cleanup_namespaces(root)
    etree.indent(root, space="  ")
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    return path


def parse_xml(path: Path) -> etree._ElementTree:
    """Parse an XML file safely (no entities, no network).

    Raises
    ------
    MetadataError
        If the file is not well-formed.
    """
    try:
        return etree.parse(str(path), _SECURE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise MetadataError(f"{path.name}: not well-formed XML ({exc})") from exc


@dataclass(frozen=True)
class L1CDocuments:
    """Parsed L1C metadata files (roots), each None when the file is absent."""

    product: etree._Element | None
    tile: etree._Element | None
    datastrip: etree._Element | None
    inspire: etree._Element | None

    @classmethod
    def load(cls, l1c: L1CProduct) -> L1CDocuments:
        """Read ``MTD_MSIL1C.xml``, the granule ``MTD_TL.xml``, ``MTD_DS.xml`` and ``INSPIRE.xml``."""
        candidates = {
            "product": l1c.mtd_file or l1c.path / "MTD_MSIL1C.xml",
            "tile": l1c.tile.path / "MTD_TL.xml",
            "datastrip": (l1c.datastrip_path / "MTD_DS.xml") if l1c.datastrip_path else None,
            "inspire": l1c.path / "INSPIRE.xml",
        }
        roots: dict[str, etree._Element | None] = {}
        for key, path in candidates.items():
            if path is not None and Path(path).is_file():
                roots[key] = parse_xml(Path(path)).getroot()
            else:
                roots[key] = None
                if key != "inspire":
                    logger.warning("L1C %s metadata not found (%s): the L2A metadata will lack the parts "
                                   "Sen2Cor copies from it", key, path)
        return cls(**roots)

    @classmethod
    def empty(cls) -> L1CDocuments:
        """No L1C XML at all (in-memory products)."""
        return cls(None, None, None, None)
