"""MTD_MSIL2A.xml, MTD_TL.xml and MTD_DS.xml against ESA's PSD 14.5 schemas and the real ESA product.

The L1C is the parity-a product (genuine ESA L1C metadata, PB 02.06).  Its L2A is written as
Sen2Cor does for such input (PSD 14.6: no BOA offset) and must validate strictly; written as a
PSD 14.9 product (what Sen2Cor 2.11 writes for PB ≥ 04.00) it must validate once the elements
PSD 14.9 adds are taken out — the same list that makes the real ESA PB 04.00 product valid.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from sen2cor.io.l2a import L2AWriter
from sen2cor.io.l2a.mtd_product import PSD149_ADDITIONS

from .conftest import ESA_L2A, NOW, full_info, synthetic_result

pytestmark = pytest.mark.needs_shared_data

SCHEMA_FILES = {
    "product": "S2_User_Product_Level-2A_Metadata.xsd",
    "tile": "S2_PDI_Level-2A_Tile_Metadata.xsd",
    "datastrip": "S2_PDI_Level-2A_Datastrip_Metadata.xsd",
}
# Enumeration values PSD 14.9 L1C inputs bring along (GIPP and mask types unknown to PSD 14.5).
PSD149_ENUMERATIONS = ("GIP_CLOPAR", "MSK_QUALIT", "MSK_CLASSI")


@pytest.fixture(scope="module")
def schemas(schema_dir: Path) -> dict[str, etree.XMLSchema]:
    return {k: etree.XMLSchema(etree.parse(str(schema_dir / v))) for k, v in SCHEMA_FILES.items()}


def _write(l1c, out: Path, psd: float | None, schema_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    with L2AWriter(l1c, out, full_info(psd_version=psd), now=NOW, threads=2, schema_dir=schema_dir) as w:
        w.write_resolution(synthetic_result(l1c, 20), aggregate_to_60=True)
        w.write_metadata()
        return w.finalise()


@pytest.fixture(scope="module")
def product_146(parity_l1c, schema_dir, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    return _write(parity_l1c, tmp_path_factory.mktemp("p146"), None, schema_dir)


@pytest.fixture(scope="module")
def product_149(parity_l1c, schema_dir, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    return _write(parity_l1c, tmp_path_factory.mktemp("p149"), 14.9, schema_dir)


def _files(product: Path) -> dict[str, Path]:
    return {"product": product / "MTD_MSIL2A.xml", "tile": next(product.glob("GRANULE/*/MTD_TL.xml")),
            "datastrip": next(product.glob("DATASTRIP/*/MTD_DS.xml"))}


def _errors(schema: etree.XMLSchema, doc: etree._ElementTree) -> list[str]:
    schema.validate(doc)
    return [f"{e.line}: {e.message}" for e in schema.error_log]


def _strip_psd149(doc: etree._ElementTree) -> etree._ElementTree:
    for el in list(doc.iter()):
        if isinstance(el.tag, str) and etree.QName(el).localname in PSD149_ADDITIONS:
            el.getparent().remove(el)
    return doc


def test_psd146_product_validates_strictly(product_146: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    for key, path in _files(product_146).items():
        assert _errors(schemas[key], etree.parse(str(path))) == [], key
    root = etree.parse(str(product_146 / "MTD_MSIL2A.xml")).getroot()
    assert not root.findall(".//BOA_ADD_OFFSET_VALUES_LIST") and not root.findall(".//PRODUCT_DOI")


def test_psd149_product_validates_without_the_psd149_additions(product_149: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    for key, path in _files(product_149).items():
        doc = etree.parse(str(path))
        present = {etree.QName(e).localname for e in doc.iter() if isinstance(e.tag, str)} & set(PSD149_ADDITIONS)
        if key != "datastrip":
            assert "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE" in present and "OZONE_VALUE" in present, key
        assert _errors(schemas[key], _strip_psd149(doc)) == [], key
    assert (product_149 / "rep_info" / SCHEMA_FILES["product"]).is_file()


def test_psd149_additions_are_exactly_the_esa_product_delta(schemas) -> None:  # type: ignore[no-untyped-def]
    """The real ESA PB 04.00 product minus PSD149_ADDITIONS fails only on enumeration values."""
    safes = sorted(ESA_L2A.glob("*.SAFE"))
    if not safes:
        pytest.skip(f"missing resource: ESA L2A product not found in {ESA_L2A}")
    for key, path in (("product", safes[0] / "MTD_MSIL2A.xml"), ("tile", next(safes[0].glob("GRANULE/*/MTD_TL.xml")))):
        errors = _errors(schemas[key], _strip_psd149(etree.parse(str(path))))
        assert errors and all(any(v in e for v in PSD149_ENUMERATIONS) for e in errors), errors[:3]


def _element_paths(path: Path) -> list[str]:
    out: list[str] = []

    def walk(el: etree._Element, prefix: str) -> None:
        for c in el:
            if isinstance(c.tag, str):
                p = f"{prefix}/{etree.QName(c).localname}"
                if p not in out:
                    out.append(p)
                walk(c, p)

    walk(etree.parse(str(path)).getroot(), "")
    return out


def test_element_trees_match_the_esa_product(product_149: Path) -> None:
    """Same element paths, in the same order, as ESA's MTD_MSIL2A.xml / MTD_TL.xml (docs/differences.md)."""
    safes = sorted(ESA_L2A.glob("*.SAFE"))
    if not safes:
        pytest.skip(f"missing resource: ESA L2A product not found in {ESA_L2A}")
    pairs = [(product_149 / "MTD_MSIL2A.xml", safes[0] / "MTD_MSIL2A.xml"),
             (next(product_149.glob("GRANULE/*/MTD_TL.xml")), next(safes[0].glob("GRANULE/*/MTD_TL.xml")))]
    # the parity-a L1C has an empty GRI_List; everything else must be structurally identical
    allowed_missing = {"/Auxiliary_Data_Info/GRI_List/GRI_FILENAME"}
    for ours, esa in pairs:
        a, b = _element_paths(ours), _element_paths(esa)
        assert [p for p in a if p not in b] == [], ours.name
        assert {p for p in b if p not in a} <= allowed_missing, ours.name
        common = [p for p in b if p in a]
        assert [p for p in a if p in common] == common, f"element order differs in {ours.name}"
