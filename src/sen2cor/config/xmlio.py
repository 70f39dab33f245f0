"""Hardened XML reading and typed, validated value access for the GIPP files.

Every GIPP is parsed with entity resolution, DTD loading and network access switched off; a
document that declares a DOCTYPE (and therefore could carry entities) is refused outright.

Values are read through :class:`GippReader`, whose typed accessors validate each value against
its allowed set or range and raise :class:`~sen2cor.errors.ConfigError` with the file name, the
element, the offending value and what is allowed, e.g.::

    L2A_GIPP.xml: <Aerosol_Type> 'FOO' is not allowed; expected one of RURAL, MARITIME, AUTO

Structural problems (malformed XML, wrong root, missing element) raise
:class:`~sen2cor.errors.MetadataError` naming the file and the element.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Final

from lxml import etree

from sen2cor.errors import ConfigError, MetadataError
from sen2cor.io.xml import safe_parser

logger = logging.getLogger(__name__)

MAX_GIPP_BYTES: Final[int] = 4 * 1024 * 1024
"""Largest GIPP file accepted (bytes). The 2.11 GIPPs are < 20 kB; anything this large is not a GIPP."""

BOOLEAN_WORDS: Final[dict[str, bool]] = {"TRUE": True, "FALSE": False}
"""Spelling of booleans in the user GIPP (2.11 XSD: enumeration TRUE, FALSE; case-insensitive here)."""

XSD_BOOLEAN_WORDS: Final[dict[str, bool]] = {"TRUE": True, "FALSE": False, "1": True, "0": False}
"""``xs:boolean`` lexical space (true/false/1/0) used by L2A_CAL_AC_GIPP.xml, compared case-insensitively
because the 2.11 SNAP template writes ``TRUE``."""


def _safe_parser() -> etree.XMLParser:
    """Return an lxml parser with every external-resource feature switched off."""
    return safe_parser(remove_comments=True, remove_pis=True)


def parse_gipp(path: Path, expected_root: str) -> etree._Element:
    """Parse one GIPP file safely and check its root element.

    Parameters
    ----------
    path
        The GIPP XML file.
    expected_root
        Local name the root element must have, e.g. ``"Level-2A_Ground_Image_Processing_Parameter"``.

    Returns
    -------
    lxml.etree._Element
        The root element.

    Raises
    ------
    MetadataError
        The file cannot be read, is not well-formed XML, declares a DOCTYPE / entities, or has an
        unexpected root element.
    """
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_GIPP_BYTES:
            raise MetadataError(
                f"{name}: file is {size} bytes; a GIPP file is at most {MAX_GIPP_BYTES} bytes"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise MetadataError(f"{name}: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser=_safe_parser()))
    except etree.XMLSyntaxError as exc:
        raise MetadataError(f"{name}: not well-formed XML ({exc.msg}) in {path}") from exc
    docinfo = tree.docinfo
    doctype = getattr(docinfo, "doctype", "")  # missing from lxml-stubs
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise MetadataError(f"{name}: DOCTYPE/entity declarations are not allowed in a GIPP file ({path})")
    root = tree.getroot()
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise MetadataError(f"{name}: entity references are not allowed in a GIPP file ({path})")
    local = etree.QName(root).localname
    if local != expected_root:
        raise MetadataError(f"{name}: root element <{local}> is not <{expected_root}> ({path})")
    return root


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _fmt_allowed(allowed: Collection[object]) -> str:
    return ", ".join(str(a) for a in allowed)


class GippReader:
    """Typed, validated access to the elements below one node of a parsed GIPP.

    Parameters
    ----------
    file_name
        Name used in messages (the GIPP file's name).
    node
        Element whose descendants are read; paths are ``/``-separated local names.
    path
        Path of ``node`` from the root, used in messages for missing elements.
    """

    def __init__(self, file_name: str, node: etree._Element, path: str = "") -> None:
        self.file_name = file_name
        self.node = node
        self.path = path or _local(node)

    # -- structure -----------------------------------------------------------------------------
    def _find(self, path: str) -> etree._Element | None:
        current: etree._Element | None = self.node
        for part in path.split("/"):
            assert current is not None
            current = next(
                (child for child in current if isinstance(child.tag, str) and _local(child) == part), None
            )
            if current is None:
                return None
        return current

    def has(self, path: str) -> bool:
        """Whether the element ``path`` exists."""
        return self._find(path) is not None

    def child(self, path: str) -> GippReader:
        """Reader rooted at the required element ``path``.

        Raises
        ------
        MetadataError
            The element is missing.
        """
        found = self._find(path)
        if found is None:
            raise MetadataError(f"{self.file_name}: required element <{self.path}/{path}> is missing")
        return GippReader(self.file_name, found, f"{self.path}/{path}")

    def children(self, tag: str) -> Iterator[GippReader]:
        """Readers for all direct children named ``tag``, in document order."""
        for child in self.node:
            if isinstance(child.tag, str) and _local(child) == tag:
                yield GippReader(self.file_name, child, f"{self.path}/{tag}")

    def child_tags(self) -> list[str]:
        """Local names of the direct child elements, in document order."""
        return [_local(c) for c in self.node if isinstance(c.tag, str)]

    @property
    def tag(self) -> str:
        """Local name of the node."""
        return _local(self.node)

    def attribute(self, name: str) -> str | None:
        """Value of attribute ``name`` of the node, stripped, or ``None``."""
        value = self.node.get(name)
        return None if value is None else value.strip()

    # -- raw text ------------------------------------------------------------------------------
    def own_text(self) -> str:
        """Stripped text content of the node itself."""
        return (self.node.text or "").strip()

    def text(self, path: str) -> str:
        """Stripped text of the required element ``path`` (may be empty)."""
        return self.child(path).own_text()

    def _bad(self, tag: str, value: str, expected: str) -> ConfigError:
        return ConfigError(f"{self.file_name}: <{tag}> '{value}' is not allowed; expected {expected}")

    # -- typed accessors -----------------------------------------------------------------------
    def string(self, path: str, *, allow_empty: bool = False) -> str:
        """Free string; empty only if ``allow_empty``."""
        value = self.text(path)
        if not value and not allow_empty:
            raise self._bad(path.rsplit("/", 1)[-1], value, "a non-empty string")
        return value

    def choice(self, path: str, allowed: Collection[str], *, case_sensitive: bool = True) -> str:
        """One word of ``allowed`` (returned in its canonical spelling)."""
        value = self.text(path)
        return self.choice_value(path.rsplit("/", 1)[-1], value, allowed, case_sensitive=case_sensitive)

    def choice_value(
        self, tag: str, value: str, allowed: Collection[str], *, case_sensitive: bool = True
    ) -> str:
        """Validate an already extracted ``value`` of element ``tag`` against ``allowed``."""
        for candidate in allowed:
            if value == candidate or (not case_sensitive and value.upper() == candidate.upper()):
                return candidate
        raise self._bad(tag, value, f"one of {_fmt_allowed(allowed)}")

    def boolean(self, path: str, words: dict[str, bool] = BOOLEAN_WORDS) -> bool:
        """TRUE/FALSE flag (case-insensitive); ``words`` gives the accepted spellings."""
        value = self.text(path)
        try:
            return words[value.upper()]
        except KeyError:
            raise self._bad(path.rsplit("/", 1)[-1], value, f"one of {_fmt_allowed(words)}") from None

    def integer(self, path: str, low: int, high: int, *, multiple_of: int = 1) -> int:
        """Integer in ``[low, high]`` (and divisible by ``multiple_of``)."""
        return self.integer_value(
            path.rsplit("/", 1)[-1], self.text(path), low, high, multiple_of=multiple_of
        )

    def integer_value(self, tag: str, value: str, low: int, high: int, *, multiple_of: int = 1) -> int:
        """Validate an already extracted integer text."""
        expected = f"an integer from {low} to {high}" + (
            f" divisible by {multiple_of}" if multiple_of > 1 else ""
        )
        try:
            number = int(value)
        except ValueError:
            raise self._bad(tag, value, expected) from None
        if not low <= number <= high or number % multiple_of:
            raise self._bad(tag, value, expected)
        return number

    def integer_choice(self, path: str, allowed: Collection[int]) -> int:
        """Integer from the enumeration ``allowed``."""
        value = self.text(path)
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number not in allowed:
            raise self._bad(path.rsplit("/", 1)[-1], value, f"one of {_fmt_allowed(allowed)}")
        return number

    def number(
        self,
        path: str,
        low: float,
        high: float,
        *,
        low_open: bool = False,
        high_open: bool = False,
    ) -> float:
        """Finite decimal number in the interval ``low``–``high`` (closed unless ``*_open``)."""
        return self.number_value(
            path.rsplit("/", 1)[-1], self.text(path), low, high, low_open=low_open, high_open=high_open
        )

    def number_value(
        self,
        tag: str,
        value: str,
        low: float,
        high: float,
        *,
        low_open: bool = False,
        high_open: bool = False,
    ) -> float:
        """Validate an already extracted decimal text."""
        left = "greater than" if low_open else "from"
        right = "less than" if high_open else "to"
        expected = f"a number {left} {low:g} {right} {high:g}"
        try:
            number = float(value)
        except ValueError:
            raise self._bad(tag, value, expected) from None
        below = number <= low if low_open else number < low
        above = number >= high if high_open else number > high
        if not math.isfinite(number) or below or above:
            raise self._bad(tag, value, expected)
        return number
