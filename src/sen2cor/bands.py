"""The 13 MSI bands as one frozen table (Sen2Cor CAL_AC GIPP band list, facts §2.3).

Always refer to bands by id (``"B8A"``) through this module, never by bare index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Band:
    """One MSI spectral band."""

    id: str
    """Band id as in product file names: ``B01`` … ``B12``, ``B8A``."""
    index: int
    """``bandId`` of the L1C metadata (0 = B01 … 8 = B8A … 12 = B12)."""
    resolution: int
    """Native ground sampling distance in metres."""
    wavelength_um: float
    """Centre wavelength in µm (L2A_CAL_AC_GIPP.xml, facts §2.3)."""
    fwhm_um: float
    """Full width at half maximum in µm (L2A_CAL_AC_GIPP.xml, facts §2.3)."""


BANDS: Final[tuple[Band, ...]] = (
    Band("B01", 0, 60, 0.443, 0.020),
    Band("B02", 1, 10, 0.490, 0.065),
    Band("B03", 2, 10, 0.560, 0.035),
    Band("B04", 3, 10, 0.665, 0.030),
    Band("B05", 4, 20, 0.705, 0.015),
    Band("B06", 5, 20, 0.740, 0.015),
    Band("B07", 6, 20, 0.783, 0.020),
    Band("B08", 7, 10, 0.842, 0.115),
    Band("B8A", 8, 20, 0.865, 0.020),
    Band("B09", 9, 60, 0.945, 0.020),
    Band("B10", 10, 60, 1.375, 0.030),
    Band("B11", 11, 20, 1.610, 0.090),
    Band("B12", 12, 20, 2.190, 0.180),
)

BAND_IDS: Final[tuple[str, ...]] = tuple(b.id for b in BANDS)
BY_ID: Final[dict[str, Band]] = {b.id: b for b in BANDS}
BY_INDEX: Final[dict[int, Band]] = {b.index: b for b in BANDS}

RESOLUTIONS: Final[tuple[int, ...]] = (10, 20, 60)

# Bands present in each L2A resolution folder (facts §3, §9): B10 never; B08 only at 10 m; B09 only at 60 m.
L2A_BANDS: Final[dict[int, tuple[str, ...]]] = {
    10: ("B02", "B03", "B04", "B08"),
    20: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12"),
    60: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12"),
}


def band(band_id: str) -> Band:
    """Return the :class:`Band` for an id such as ``"B8A"`` or ``"B8"`` (normalised to ``B08``)."""
    key = band_id.upper()
    if len(key) == 2 and key[1].isdigit():
        key = f"B0{key[1]}"
    try:
        return BY_ID[key]
    except KeyError:
        raise KeyError(f"unknown Sentinel-2 band {band_id!r}; expected one of {', '.join(BAND_IDS)}") from None
