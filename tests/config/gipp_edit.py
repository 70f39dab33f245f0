"""Test helper: write a copy of a shipped GIPP template with some elements changed or removed."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from sen2cor.config.home import template_path


def edited_gipp(
    tmp_path: Path,
    name: str,
    values: dict[str, str] | None = None,
    remove: tuple[str, ...] = (),
    rename: dict[str, str] | None = None,
) -> Path:
    """Copy template ``name`` to ``tmp_path`` with element texts replaced, elements removed or renamed.

    Elements are addressed by local name (the first match in document order).
    """
    root = etree.parse(str(template_path(name))).getroot()

    def first(tag: str) -> etree._Element:
        found = next(root.iter(tag), None)
        assert found is not None, f"{tag} not in template {name}"
        return found

    for tag, text in (values or {}).items():
        first(tag).text = text
    for tag in remove:
        element = first(tag)
        element.getparent().remove(element)
    for old, new in (rename or {}).items():
        first(old).tag = new
    target = tmp_path / name
    target.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return target
