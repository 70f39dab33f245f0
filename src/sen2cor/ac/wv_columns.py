"""Water-vapour column above the ground for each ``wvXX`` table and ground elevation (facts §7.5).

Each Sen2Cor LUT is labelled with its sea-level water-vapour column; above a pixel at elevation z the
column is smaller.  The tables below give that column (cm·1000) on a 100 m elevation grid for the
mid-latitude summer (6 tables, 0–4.0 km) and winter (4 tables, 0–3.5 km) atmospheres; they are the
MODTRAN profile integrals of the ATCOR/Sen2Cor water-vapour model (R. Richter).  Example from facts
§7.5: the wv29 table carries 2904 at 0 km, 1765 at 1 km, 1023 at 2 km and 575 at 3 km.

Only numbers are carried over; the interpolation helpers are ours.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from sen2cor.errors import ConfigError

ELEVATION_STEP_KM: Final[float] = 0.1
"""Spacing of the tabulated elevations (facts §7.5)."""

SEA_LEVEL_WV_SCALED: Final[dict[str, tuple[int, ...]]] = {
    "SUMMER": (400, 1002, 2001, 2904, 4000, 5007),
    "WINTER": (199, 399, 799, 1100),
}
"""Sea-level column (cm·1000) of each WV table (facts §7.5)."""

_SUMMER: Final[tuple[tuple[int, ...], ...]] = (
    (400, 381, 363, 346, 329, 313, 298, 283, 269, 256, 243, 230, 219, 207, 196, 186, 176, 166, 157, 149,
     141, 133, 125, 118, 111, 105, 99, 94, 89, 84, 79, 74, 70, 66, 63, 59, 44, 33, 25, 19, 17),
    (1002, 955, 909, 866, 824, 785, 746, 710, 675, 641, 609, 578, 548, 519, 492, 466, 441, 417, 395, 373,
     353, 333, 314, 297, 280, 264, 249, 236, 222, 210, 198, 187, 177, 167, 158, 149, 111, 83, 63, 48, 43),
    (2001, 1907, 1817, 1730, 1647, 1567, 1491, 1418, 1348, 1281, 1216, 1154, 1095, 1038, 983, 930, 881,
     834, 789, 746, 705, 666, 628, 593, 559, 528, 499, 471, 445, 420, 396, 374, 353, 334, 315, 298, 223,
     167, 126, 96, 87),
    (2904, 2768, 2637, 2511, 2390, 2274, 2164, 2057, 1956, 1858, 1765, 1675, 1589, 1506, 1426, 1350, 1278,
     1210, 1145, 1083, 1023, 966, 912, 861, 812, 767, 724, 683, 645, 609, 575, 543, 513, 484, 457, 432,
     323, 242, 183, 140, 125),
    (4000, 3811, 3631, 3458, 3291, 3132, 2980, 2833, 2693, 2559, 2431, 2307, 2189, 2074, 1964, 1859, 1761,
     1666, 1577, 1491, 1409, 1331, 1256, 1185, 1118, 1056, 997, 941, 889, 839, 792, 748, 706, 667, 630,
     595, 445, 334, 253, 193, 152),
    (5007, 4772, 4546, 4329, 4121, 3921, 3730, 3547, 3372, 3204, 3043, 2889, 2740, 2597, 2459, 2328, 2204,
     2086, 1974, 1867, 1765, 1666, 1573, 1484, 1400, 1322, 1248, 1179, 1113, 1051, 992, 937, 884, 835,
     789, 745, 558, 418, 317, 242, 172),
)

_WINTER: Final[tuple[tuple[int, ...], ...]] = (
    (199, 191, 184, 176, 169, 162, 155, 148, 142, 136, 130, 124, 119, 113, 108, 103, 98, 93, 89, 84, 80,
     76, 72, 68, 65, 61, 58, 54, 51, 48, 45, 43, 40, 37, 35, 33),
    (399, 383, 368, 353, 338, 324, 311, 297, 285, 272, 260, 249, 238, 227, 217, 207, 197, 187, 178, 169,
     160, 152, 144, 137, 130, 122, 116, 109, 103, 97, 91, 86, 80, 75, 71, 66),
    (799, 767, 736, 706, 677, 649, 622, 595, 570, 545, 521, 498, 476, 455, 434, 414, 394, 375, 356, 339,
     321, 305, 289, 274, 260, 245, 232, 218, 206, 194, 182, 172, 161, 151, 142, 133),
    (1100, 1055, 1012, 971, 931, 892, 855, 819, 784, 750, 717, 685, 655, 625, 597, 569, 542, 515, 490, 466,
     442, 420, 398, 377, 357, 337, 319, 301, 283, 267, 251, 236, 222, 208, 196, 184),
)


def column_table(season: str) -> npt.NDArray[np.float64]:
    """Column WV (cm·1000) per elevation (rows, 0.1 km apart) and WV table (columns), float64.

    Raises
    ------
    ConfigError
        ``season`` is not SUMMER or WINTER.
    """
    s = season.upper()
    if s == "SUMMER":
        return np.asarray(_SUMMER, dtype=np.float64).T
    if s == "WINTER":
        return np.asarray(_WINTER, dtype=np.float64).T
    raise ConfigError(f"mid-latitude season {season!r} must be SUMMER or WINTER")


def columns_at(season: str, elevation_km: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Column WV (cm·1000) of every WV table above the given elevations.

    Linear interpolation on the 0.1 km grid (exact at multiples of 100 m), clamped at both ends.

    Parameters
    ----------
    season : str
        ``SUMMER`` or ``WINTER``.
    elevation_km : array_like of float, shape (n,)
        Ground elevations (km).

    Returns
    -------
    numpy.ndarray of float64, shape (n, n_tables)
    """
    table = column_table(season)
    z = np.atleast_1d(np.asarray(elevation_km, dtype=np.float64))
    pos = np.clip(z / ELEVATION_STEP_KM, 0.0, table.shape[0] - 1.0)
    j = np.minimum(pos.astype(np.int64), table.shape[0] - 2)
    t = (pos - j)[:, None]
    return (1.0 - t) * table[j] + t * table[j + 1]


WV_NODE_TOLERANCE_CM: Final[float] = 0.02
"""How close a LUT water-vapour level must be to a ``wvXX`` table's sea-level column to stand for it."""


def sen2cor_wv_tables(wv_cm: npt.ArrayLike, season: str) -> tuple[list[int], list[int]]:
    """Which water-vapour levels of a LUT are Sen2Cor's ``wvXX`` tables of ``season``.

    Returns ``(lut_levels, table_columns)``: indices into ``wv_cm`` and the matching columns of
    :func:`columns_at`.  ESA's tables hold exactly these levels; our 6S tables add levels half-way between
    them (:mod:`sen2cor.physics.generated_lut`), which the APDA and the WV-band fits (facts §7.5) leave out,
    as they are defined on Sen2Cor's tables.

    Raises
    ------
    ConfigError
        ``season`` is not SUMMER or WINTER.
    """
    key = season.upper()
    if key not in SEA_LEVEL_WV_SCALED:
        raise ConfigError(f"unknown season {season!r} (SUMMER or WINTER)")
    wv = np.asarray(wv_cm, dtype=np.float64)
    levels: list[int] = []
    columns: list[int] = []
    for j, node in enumerate(np.asarray(SEA_LEVEL_WV_SCALED[key], dtype=np.float64) / 1000.0):
        i = int(np.argmin(np.abs(wv - node)))
        if abs(wv[i] - node) <= WV_NODE_TOLERANCE_CM:
            levels.append(i)
            columns.append(j)
    return levels, columns
