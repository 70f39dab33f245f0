"""The processing-baseline GIPP ``L2A_PB_GIPP.xml`` (``GIP_PROBA2``): typed, validated, frozen.

The baseline goes into the L2A product name as ``N`` + 4 digits (facts §2.4, §9).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sen2cor.config.xmlio import GippReader, parse_gipp
from sen2cor.errors import ConfigError

PB_GIPP_ROOT: Final[str] = "GS2_PROCESSING_BASELINE_PARAMETERS"
"""Root element of L2A_PB_GIPP.xml."""

PROCESSOR_NAME: Final[str] = "Sen2Cor"
"""``Idp_Sc_Name`` of the processor this package stands in for."""

PROCESSOR_VERSION: Final[str] = "02.11.00"
"""``Idp_Sc_Version``: the Sen2Cor version whose behaviour is reproduced (facts §2.4)."""

DEFAULT_BASELINE: Final[str] = "99.99"
"""``Baseline_Version`` of the stand-alone Sen2Cor distribution (facts §2.4, product name ``N9999``, §9)."""

WORKFLOW_L2A: Final[str] = "l2a"
"""``workflow`` attribute of the ``Idp_Sc_List`` entry used."""

BASELINE_PATTERN: Final[re.Pattern[str]] = re.compile(r"^\d{2}\.\d{2}$")
"""Processing baseline as written on the command line and in metadata: ``dd.dd`` (Sen2Cor ``-h`` text)."""


def normalise_baseline(text: str) -> str | None:
    """Return a baseline number written as ``dd.dd`` (``"4"`` → ``"04.00"``), or ``None`` if invalid."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not 0.0 <= value < 100.0:
        return None
    formatted = f"{value:05.2f}"
    if abs(float(formatted) - value) > 1e-9:  # more than two decimals
        return None
    return formatted


@dataclass(frozen=True)
class PbGipp:
    """Parsed ``L2A_PB_GIPP.xml``."""

    idp_sc_name: str = PROCESSOR_NAME
    idp_sc_version: str = PROCESSOR_VERSION
    workflow: str = WORKFLOW_L2A
    baseline_version: str = DEFAULT_BASELINE
    """Processing baseline ``dd.dd``."""


def read_pb_gipp(path: Path) -> PbGipp:
    """Read and validate a processing-baseline GIPP (``L2A_PB_GIPP.xml``).

    The ``Idp_Sc_List`` entry with ``workflow="l2a"`` is used, else the first one.

    Raises
    ------
    MetadataError
        Malformed XML, entities, wrong root element or a missing element.
    ConfigError
        ``Baseline_Version`` is not a number 00.00–99.99 with at most two decimals.
    """
    top = GippReader(path.name, parse_gipp(path, PB_GIPP_ROOT))
    data = top.child("DATA")
    entries = list(data.children("Idp_Sc_List"))
    if not entries:
        data.child("Idp_Sc_List")  # raises MetadataError naming the element
    chosen = next((e for e in entries if (e.attribute("workflow") or "").lower() == WORKFLOW_L2A), entries[0])
    raw = data.text("Baseline_Version")
    baseline = normalise_baseline(raw)
    if baseline is None:
        raise ConfigError(
            f"{top.file_name}: <Baseline_Version> '{raw}' is not allowed; "
            "expected a number from 00.00 to 99.99 with at most two decimals"
        )
    return PbGipp(
        idp_sc_name=chosen.string("Idp_Sc_Name"),
        idp_sc_version=chosen.string("Idp_Sc_Version"),
        workflow=chosen.attribute("workflow") or "",
        baseline_version=baseline,
    )
