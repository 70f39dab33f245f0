"""Scene-classification quality indicators: the class percentages of facts §8 with their metadata names.

Used by the product writer for ``MTD_TL.xml``/``MTD_MSIL2A.xml`` ``Image_Content_QI`` and the
``SCENE_CLASS_QUALITY`` check of ``L2A_QUALITY.xml``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from sen2cor.sc.classes import CLOUD_CLASSES, SceneClass, class_mask
from sen2cor.sc.thresholds import WBI_WATER

CLASS_PERCENTAGE_NAMES: Final[dict[int, str]] = {
    SceneClass.DARK_FEATURES: "DARK_FEATURES_PERCENTAGE",
    SceneClass.CLOUD_SHADOWS: "CLOUD_SHADOW_PERCENTAGE",
    SceneClass.VEGETATION: "VEGETATION_PERCENTAGE",
    SceneClass.NOT_VEGETATED: "NOT_VEGETATED_PERCENTAGE",
    SceneClass.WATER: "WATER_PERCENTAGE",
    SceneClass.UNCLASSIFIED: "UNCLASSIFIED_PERCENTAGE",
    SceneClass.MEDIUM_PROBA_CLOUDS: "MEDIUM_PROBA_CLOUDS_PERCENTAGE",
    SceneClass.HIGH_PROBA_CLOUDS: "HIGH_PROBA_CLOUDS_PERCENTAGE",
    SceneClass.THIN_CIRRUS: "THIN_CIRRUS_PERCENTAGE",
    SceneClass.SNOW_ICE: "SNOW_ICE_PERCENTAGE",
}
"""Metadata element of each class percentage (PSD < 15 names; facts §8)."""

CAST_SHADOW_PSD15_NAME: Final[str] = "CAST_SHADOW_PERCENTAGE"
"""PSD 15 name of DARK_FEATURES_PERCENTAGE (facts §8)."""


def _percent(count: int, total: int) -> float:
    """count/total·100 as Sen2Cor: a float32 fraction scaled in float64, clipped to 0–100; 0 if ``total`` is 0."""
    if total <= 0:
        return 0.0
    fraction = float(np.float32(count) / np.float32(total))
    return float(np.clip(fraction * 100.0, 0.0, 100.0))


def scene_percentages(
    scl: NDArray[np.uint8],
    full_tile_pixels: int | None = None,
    wbi: NDArray[np.generic] | None = None,
    psd15: bool = False,
) -> dict[str, float]:
    """The facts §8 percentages of a final SCL.

    Parameters
    ----------
    scl : ndarray of uint8, shape (rows, cols)
        Final scene classification at 20 m (or 60 m).
    full_tile_pixels : int, optional
        NROWS·NCOLS of the tile at that resolution (from ``MTD_TL.xml``); pixels of the tile outside
        ``scl`` (ROI runs) count as no data.  Defaults to ``scl.size``.
    wbi : ndarray, shape (rows, cols), optional
        ESA-CCI water bodies (2 = water) on the same grid.  Without it CLOUDY_PIXEL_OVER_LAND_PERCENTAGE
        is 0, as in Sen2Cor.
    psd15 : bool
        Name the dark-feature percentage ``CAST_SHADOW_PERCENTAGE`` (PSD 15) instead of
        ``DARK_FEATURES_PERCENTAGE``.

    Returns
    -------
    dict
        ``{metadata name: percentage}``; percentages are 0–100 floats (write them with ``"%f"``, 6 decimals).
        Keys: NODATA_PIXEL_PERCENTAGE, SATURATED_DEFECTIVE_PIXEL_PERCENTAGE, the ten class percentages,
        CLOUDY_PIXEL_PERCENTAGE (MEDIUM + HIGH + THIN_CIRRUS) and CLOUDY_PIXEL_OVER_LAND_PERCENTAGE.
    """
    counts = np.bincount(scl.ravel(), minlength=256)
    full = scl.size if full_tile_pixels is None else int(full_tile_pixels)
    no_data = (full - scl.size) + int(counts[SceneClass.NO_DATA])
    saturated = int(counts[SceneClass.SATURATED_DEFECTIVE])
    valid = full - no_data - saturated
    out = {
        "NODATA_PIXEL_PERCENTAGE": _percent(no_data, full),
        "SATURATED_DEFECTIVE_PIXEL_PERCENTAGE": _percent(saturated, full - no_data),
    }
    for cls, name in CLASS_PERCENTAGE_NAMES.items():
        if psd15 and cls == SceneClass.DARK_FEATURES:
            name = CAST_SHADOW_PSD15_NAME
        out[name] = _percent(int(counts[cls]), valid)
    cloudy = int(sum(int(counts[c]) for c in CLOUD_CLASSES))
    out["CLOUDY_PIXEL_PERCENTAGE"] = _percent(cloudy, valid)
    over_land = 0.0
    if wbi is not None:
        land = (wbi != WBI_WATER) & (scl > SceneClass.SATURATED_DEFECTIVE)
        clouds = class_mask(scl, CLOUD_CLASSES)
        over_land = _percent(int(np.count_nonzero(clouds & land)), int(np.count_nonzero(land)))
    out["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"] = over_land
    return out
