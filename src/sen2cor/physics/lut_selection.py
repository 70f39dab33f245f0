"""Which LUT to use: mid-latitude season, ozone table letter and the water-vapour tables.

Sen2Cor names its tables ``<ozone letter>99000_wv<XX>_<rura|mari>.atm`` (facts §4).  The helpers here
turn the configuration (``Mid_Latitude``, ``Ozone_Content``, ``Aerosol_Type`` of L2A_GIPP.xml) and the
scene (latitude, date, ECMWF ozone) into those choices; they are also used to pick the matching slice
of our own generated tables.
"""

from __future__ import annotations

import datetime
from typing import Final, Literal

from sen2cor.errors import ConfigError

Season = Literal["SUMMER", "WINTER"]
Aerosol = Literal["RURAL", "MARITIME"]

OZONE_LETTERS: Final[dict[str, dict[str, int]]] = {
    "SUMMER": {"f": 250, "g": 290, "h": 331, "i": 370, "j": 410, "k": 450},
    "WINTER": {"t": 250, "u": 290, "v": 330, "w": 377, "x": 420, "y": 460},
}
"""Ozone column (DU) of each table letter per mid-latitude atmosphere (facts §4)."""

STANDARD_OZONE_LETTER: Final[dict[str, str]] = {"SUMMER": "h", "WINTER": "w"}
"""Letter used when no ozone value is available (331 DU summer, 377 DU winter; facts §4)."""

WV_TABLES_CM: Final[dict[str, tuple[float, ...]]] = {
    "SUMMER": (0.4, 1.0, 2.0, 2.9, 4.0, 5.0),
    "WINTER": (0.2, 0.4, 0.8, 1.1),
}
"""Water-vapour columns (cm) of the ``wvXX`` tables per season (facts §4)."""

BASE_WV_CM: Final[dict[str, float]] = {"SUMMER": 2.0, "WINTER": 0.4}
"""Water vapour of the "base" table (wv20 summer, wv04 winter; facts §4)."""

AEROSOL_TAGS: Final[dict[str, str]] = {"RURAL": "rura", "MARITIME": "mari"}
"""File-name tag of each aerosol model (facts §4)."""

HEIGHT_TAG: Final[str] = "99000"
"""Fixed height tag in the LUT file names (facts §4)."""

TROPICAL_LATITUDE_DEG: Final[float] = 30.0
"""|latitude| below which AUTO always selects SUMMER (facts §5 item 4: [−30°, 30°))."""

SUMMER_START_MONTH_DAY: Final[tuple[int, int]] = (4, 1)
"""First day of northern-hemisphere summer for AUTO (1 April, facts §5 item 4)."""

SUMMER_END_MONTH_DAY: Final[tuple[int, int]] = (10, 1)
"""First day after northern-hemisphere summer for AUTO (1 October, exclusive; facts §5 item 4)."""


def resolve_season(mid_latitude: str, latitude_deg: float, day_of_year: int, year: int = 2001) -> Season:
    """Mid-latitude atmosphere from the GIPP ``Mid_Latitude`` value (SUMMER, WINTER or AUTO).

    AUTO: tile-centre latitude in [−30°, 30°) → SUMMER; northern hemisphere SUMMER for day of year in
    [1 April, 1 October) (91–273, leap years 92–274), WINTER otherwise; southern hemisphere reversed
    (facts §5 item 4).

    Parameters
    ----------
    mid_latitude : str
        ``SUMMER``, ``WINTER`` or ``AUTO`` (case-insensitive).
    latitude_deg : float
        Tile-centre latitude in degrees.
    day_of_year : int
        1-based day of year of the acquisition.
    year : int, default 2001
        Acquisition year (only its leap-year status matters).

    Raises
    ------
    ConfigError
        ``mid_latitude`` is not one of the three values.
    """
    mode = mid_latitude.strip().upper()
    if mode in ("SUMMER", "WINTER"):
        return mode  # type: ignore[return-value]
    if mode != "AUTO":
        raise ConfigError(f"L2A_GIPP.xml: <Mid_Latitude> {mid_latitude!r} is not SUMMER, WINTER or AUTO")
    if -TROPICAL_LATITUDE_DEG <= latitude_deg < TROPICAL_LATITUDE_DEG:
        return "SUMMER"
    start = datetime.date(year, *SUMMER_START_MONTH_DAY).timetuple().tm_yday  # 91 (leap: 92)
    end = datetime.date(year, *SUMMER_END_MONTH_DAY).timetuple().tm_yday  # 274 (leap: 275), exclusive
    northern_summer = start <= day_of_year < end
    summer = northern_summer if latitude_deg >= 0 else not northern_summer
    return "SUMMER" if summer else "WINTER"


def ozone_letter(season: str, ozone_du: float | None) -> str:
    """Letter of the ozone table nearest to ``ozone_du`` (None or ≤ 0 → standard h / w; facts §4)."""
    table = OZONE_LETTERS[_season(season)]
    if ozone_du is None or ozone_du <= 0:
        return STANDARD_OZONE_LETTER[_season(season)]
    return min(table, key=lambda k: (abs(table[k] - ozone_du), table[k]))


def wv_tag(wv_cm: float) -> str:
    """File tag of a WV column: 2.0 → ``wv20``, 0.4 → ``wv04``."""
    return f"wv{round(wv_cm * 10):02d}"


def atm_file_name(season: str, ozone_du: float | None, wv_cm: float, aerosol: str) -> str:
    """Sen2Cor LUT file name, e.g. ``h99000_wv20_rura.atm`` (facts §4)."""
    return f"{ozone_letter(season, ozone_du)}{HEIGHT_TAG}_{wv_tag(wv_cm)}_{aerosol_tag(aerosol)}.atm"


def aerosol_tag(aerosol: str) -> str:
    """``rura`` / ``mari`` for RURAL / MARITIME (raises ConfigError for anything else, e.g. AUTO)."""
    try:
        return AEROSOL_TAGS[aerosol.strip().upper()]
    except KeyError:
        raise ConfigError(
            f"L2A_GIPP.xml: <Aerosol_Type> {aerosol!r} has no LUT; expected RURAL or MARITIME "
            "(AUTO is resolved by running both)"
        ) from None


def _season(season: str) -> Season:
    s = season.strip().upper()
    if s not in ("SUMMER", "WINTER"):
        raise ConfigError(f"mid-latitude season {season!r} must be SUMMER or WINTER (resolve AUTO first)")
    return s  # type: ignore[return-value]
