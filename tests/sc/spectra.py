"""Hand-made TOA spectra of the surfaces the scene classification must recognise (test helpers)."""

from __future__ import annotations

import numpy as np

BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B10", "B11", "B12")

# Typical TOA spectra (reflectance, unitless) of the surfaces the classification must recognise.
SPECTRA: dict[str, dict[str, float]] = {
    "bright_cloud": {
        "B01": 0.45,
        "B02": 0.45,
        "B03": 0.44,
        "B04": 0.45,
        "B05": 0.46,
        "B06": 0.47,
        "B07": 0.47,
        "B8A": 0.48,
        "B09": 0.15,
        "B10": 0.02,
        "B11": 0.35,
        "B12": 0.25,
    },
    "thin_cirrus": {
        "B01": 0.12,
        "B02": 0.10,
        "B03": 0.08,
        "B04": 0.06,
        "B05": 0.10,
        "B06": 0.16,
        "B07": 0.19,
        "B8A": 0.20,
        "B09": 0.06,
        "B10": 0.02,
        "B11": 0.15,
        "B12": 0.08,
    },
    "snow": {
        "B01": 0.60,
        "B02": 0.60,
        "B03": 0.60,
        "B04": 0.58,
        "B05": 0.57,
        "B06": 0.56,
        "B07": 0.56,
        "B8A": 0.55,
        "B09": 0.20,
        "B10": 0.002,
        "B11": 0.08,
        "B12": 0.05,
    },
    "water": {
        "B01": 0.10,
        "B02": 0.08,
        "B03": 0.06,
        "B04": 0.04,
        "B05": 0.03,
        "B06": 0.025,
        "B07": 0.022,
        "B8A": 0.02,
        "B09": 0.01,
        "B10": 0.001,
        "B11": 0.01,
        "B12": 0.005,
    },
    "vegetation": {
        "B01": 0.07,
        "B02": 0.04,
        "B03": 0.07,
        "B04": 0.04,
        "B05": 0.10,
        "B06": 0.25,
        "B07": 0.30,
        "B8A": 0.35,
        "B09": 0.10,
        "B10": 0.001,
        "B11": 0.18,
        "B12": 0.09,
    },
    "soil": {
        "B01": 0.11,
        "B02": 0.10,
        "B03": 0.13,
        "B04": 0.16,
        "B05": 0.18,
        "B06": 0.21,
        "B07": 0.23,
        "B8A": 0.25,
        "B09": 0.08,
        "B10": 0.002,
        "B11": 0.30,
        "B12": 0.25,
    },
    "shadow": {
        "B01": 0.06,
        "B02": 0.05,
        "B03": 0.04,
        "B04": 0.03,
        "B05": 0.035,
        "B06": 0.05,
        "B07": 0.055,
        "B8A": 0.06,
        "B09": 0.02,
        "B10": 0.001,
        "B11": 0.04,
        "B12": 0.02,
    },
}


def spectrum_image(layout: list[list[str]], block: int = 1) -> dict[str, np.ndarray]:
    """TOA bands of an image made of ``block``×``block`` patches of the named spectra."""
    out = {}
    for band in BANDS:
        grid = [
            [np.full((block, block), SPECTRA[name][band], dtype=np.float32) for name in line]
            for line in layout
        ]
        out[band] = np.block(grid).astype(np.float32)
    return out
