"""Safe XML parsing for product metadata and GIPP files (lxml, no entities, no network).

Every parse goes through :func:`parse_xml`, which refuses DTDs with entity declarations (billion-laughs,
XXE) and names the file in every error.  Lookups use element *local* names so that the Sentinel-2
``n1:`` namespaces of different PSD versions do not matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from sen2cor.errors import MetadataError

_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def safe_parser(**overrides: bool) -> etree.XMLParser:
    """An lxml parser with entity resolution, DTD loading and network access off (``overrides`` adjust it)."""
    return etree.XMLParser(**{**_PARSER_OPTIONS, **overrides})


def parse_xml(path: Path) -> etree._Element:
    """Parse ``path`` safely and return its root element.

    Raises
    ------
    MetadataError
        If the file is missing, malformed, or declares a DOCTYPE with entities.
    """
    path = Path(path)
    if not path.is_file():
        raise MetadataError(f"{path}: file not found")
    parser = safe_parser()
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as exc:
        raise MetadataError(f"{path}: malformed XML ({exc.msg}); the file is damaged, restore it") from None
    except OSError as exc:
        raise MetadataError(f"{path}: cannot read ({exc})") from None
    dtd = tree.docinfo.internalDTD
    if dtd is not None and (list(dtd.iterentities()) or tree.docinfo.system_url):
        raise MetadataError(f"{path}: contains a DOCTYPE with entity declarations; refusing to read it")
    if tree.docinfo.doctype:
        raise MetadataError(f"{path}: contains a DOCTYPE declaration; Sentinel-2 metadata never do")
    return tree.getroot()


def local(el: etree._Element) -> str:
    """Local name of an element (namespace stripped)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def iter_local(root: etree._Element, name: str) -> Iterator[etree._Element]:
    """All descendants of ``root`` (depth first) whose local name is ``name``."""
    for el in root.iter():
        if local(el) == name:
            yield el


def find(root: etree._Element, path: str) -> etree._Element | None:
    """First element matching a ``/``-separated path of local names, searched anywhere below ``root``.

    The first component may be anywhere in the tree; the following ones are direct children.
    """
    first, *rest = path.split("/")
    for cand in iter_local(root, first):
        node: etree._Element | None = cand
        for part in rest:
            node = next((c for c in node if local(c) == part), None) if node is not None else None
        if node is not None:
            return node
    return None


def text(root: etree._Element, path: str, file: Path, *, default: str | None = None) -> str:
    """Stripped text of the element at ``path`` (see :func:`find`).

    Raises
    ------
    MetadataError
        If the element is missing (and no ``default``) or empty.
    """
    el = find(root, path)
    if el is None or el.text is None or not el.text.strip():
        if default is not None:
            return default
        raise MetadataError(f"{file}: missing element <{path.split('/')[-1]}> ({path})")
    return el.text.strip()


def number(root: etree._Element, path: str, file: Path, *, default: float | None = None) -> float:
    """Element text converted to float, with a :class:`MetadataError` naming file and element."""
    raw = text(root, path, file, default=None if default is None else str(default))
    try:
        return float(raw)
    except ValueError:
        raise MetadataError(f"{file}: <{path.split('/')[-1]}> {raw!r} is not a number") from None
