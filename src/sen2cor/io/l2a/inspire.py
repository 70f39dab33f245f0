"""``INSPIRE.xml`` – ISO 19139 discovery metadata of the Level-2A product.

Sen2Cor fills a fixed ISO 19115/19139 template with the product title, footprint, bounding box
and acquisition period.  This module builds an equivalent record element by element: the values
come from the product; the contact/keyword boiler-plate is the neutral text the template carries.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final

from lxml import etree

from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.mtd_base import XSI, sub, write_xml

NS_GMD: Final[str] = "http://www.isotc211.org/2005/gmd"
NS_GCO: Final[str] = "http://www.isotc211.org/2005/gco"
NS_GML: Final[str] = "http://www.opengis.net/gml"
CODELIST: Final[str] = ("http://standards.iso.org/ittf/PubliclyAvailableStandards/ISO_19139_Schemas/"
                        "resources/Codelist/ML_gmxCodelists.xml")
INSPIRE_CRS: Final[str] = "http://www.opengis.net/def/crs/EPSG/0/4936"
"""Reference system declared by the Sentinel-2 INSPIRE records (ETRS89 geocentric)."""


def _g(tag: str) -> str:
    return f"{{{NS_GMD}}}{tag}"


def _text(parent: etree._Element, tag: str, value: object, kind: str = "CharacterString") -> etree._Element:
    el = sub(parent, _g(tag))
    sub(el, f"{{{NS_GCO}}}{kind}", value)
    return el


def _code(parent: etree._Element, tag: str, code_tag: str, value: str, codelist: str) -> None:
    sub(sub(parent, _g(tag)), _g(code_tag), value, codeList=codelist, codeListValue=value)


def _bbox(footprint: str) -> tuple[float, float, float, float]:
    vals = [float(v) for v in footprint.split()]
    lats, lons = vals[0::2], vals[1::2]
    return min(lons), max(lons), min(lats), max(lats)


def build_inspire(product_name: str, l1c: L1CProduct, footprint: str, creation: datetime) -> etree._Element:
    """ISO 19139 ``gmd:MD_Metadata`` record of the product.

    Parameters
    ----------
    product_name:
        The ``.SAFE`` name (citation title).
    l1c:
        Input product (acquisition period).
    footprint:
        ``EXT_POS_LIST`` text (``lat lon …``) of MTD_MSIL2A.xml.
    creation:
        Generation time.
    """
    root = etree.Element(_g("MD_Metadata"), nsmap={"gmd": NS_GMD, "gco": NS_GCO, "gml": NS_GML, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{NS_GMD} http://schemas.opengis.net/iso/19139/20060504/gmd/gmd.xsd")
    _text(root, "fileIdentifier", product_name)
    _code(root, "language", "LanguageCode", "eng", "http://www.loc.gov/standards/iso639-2/")
    _code(root, "characterSet", "MD_CharacterSetCode", "utf8", CODELIST + "#MD_CharacterSetCode")
    _code(root, "hierarchyLevel", "MD_ScopeCode", "dataset", CODELIST + "#MD_ScopeCode")
    party = sub(sub(root, _g("contact")), _g("CI_ResponsibleParty"))
    _text(party, "organisationName", "ESA")
    _code(party, "role", "CI_RoleCode", "pointOfContact", CODELIST + "#CI_RoleCode")
    _text(root, "dateStamp", creation.strftime("%Y-%m-%d"), "Date")
    _text(root, "metadataStandardName", "ISO19115")
    _text(root, "metadataStandardVersion", "2003/Cor.1:2006")
    rs = sub(sub(sub(root, _g("referenceSystemInfo")), _g("MD_ReferenceSystem")), _g("referenceSystemIdentifier"))
    rsid = sub(rs, _g("RS_Identifier"))
    _text(rsid, "code", INSPIRE_CRS)
    _text(rsid, "codeSpace", "INSPIRE RS registry")

    ident = sub(sub(root, _g("identificationInfo")), _g("MD_DataIdentification"))
    citation = sub(sub(ident, _g("citation")), _g("CI_Citation"))
    _text(citation, "title", product_name)
    cdate = sub(sub(citation, _g("date")), _g("CI_Date"))
    _text(cdate, "date", creation.strftime("%Y-%m-%d"), "Date")
    _code(cdate, "dateType", "CI_DateTypeCode", "creation", CODELIST + "#CI_DateTypeCode")
    _text(ident, "abstract", footprint)
    _code(ident, "language", "LanguageCode", "eng", "http://www.loc.gov/standards/iso639-2/")
    sub(sub(ident, _g("topicCategory")), _g("MD_TopicCategoryCode"), "imageryBaseMapsEarthCover")
    extent = sub(sub(ident, _g("extent")), _g("EX_Extent"))
    box = sub(sub(extent, _g("geographicElement")), _g("EX_GeographicBoundingBox"))
    west, east, south, north = _bbox(footprint)
    for tag, value in (("westBoundLongitude", west), ("eastBoundLongitude", east),
                       ("southBoundLatitude", south), ("northBoundLatitude", north)):
        _text(box, tag, repr(value), "Decimal")
    temporal = sub(sub(sub(extent, _g("temporalElement")), _g("EX_TemporalExtent")), _g("extent"))
    period = sub(temporal, f"{{{NS_GML}}}TimePeriod", **{f"{{{NS_GML}}}id": "acquisitionPeriod"})
    sub(period, f"{{{NS_GML}}}beginPosition", l1c.product_start_time.strftime("%Y-%m-%dT%H:%M:%S"))
    sub(period, f"{{{NS_GML}}}endPosition", l1c.product_stop_time.strftime("%Y-%m-%dT%H:%M:%S"))
    return root


def write_inspire(path: Path, product_name: str, l1c: L1CProduct, footprint: str, creation: datetime) -> Path:
    """Write ``INSPIRE.xml``."""
    return write_xml(build_inspire(product_name, l1c, footprint, creation), path)
