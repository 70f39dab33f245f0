"""A small synthetic but physically plausible TOA scene for the demo and for tests.

Land-cover patches (vegetation, bare soil, water, a bright cloud with its shadow, thin cirrus) with typical
Sentinel-2 TOA reflectance spectra and mild texture, so that scene classification and atmospheric
correction have something realistic to work on.  Deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sen2cor.bands import BANDS

# Typical TOA reflectance spectra (B01…B12 incl. B8A, B10), mid-latitude summer, SZA ≈ 35°, rural aerosol.
# Order follows sen2cor.bands.BANDS. Values are rounded textbook spectra, not taken from any product.
SPECTRA: dict[str, tuple[float, ...]] = {
    #               B01    B02    B03    B04    B05    B06    B07    B08    B8A    B09    B10     B11    B12
    "vegetation": (0.115, 0.090, 0.080, 0.050, 0.100, 0.250, 0.300, 0.320, 0.330, 0.110, 0.0015, 0.170, 0.080),
    "forest":     (0.110, 0.082, 0.065, 0.040, 0.070, 0.180, 0.220, 0.240, 0.250, 0.085, 0.0012, 0.120, 0.050),
    "soil":       (0.140, 0.120, 0.130, 0.150, 0.170, 0.190, 0.210, 0.230, 0.240, 0.080, 0.0020, 0.300, 0.250),
    "water":      (0.110, 0.085, 0.065, 0.040, 0.035, 0.030, 0.028, 0.025, 0.022, 0.010, 0.0008, 0.012, 0.008),
    "cloud":      (0.600, 0.580, 0.560, 0.550, 0.560, 0.560, 0.560, 0.560, 0.560, 0.250, 0.0500, 0.420, 0.300),
    "shadow":     (0.080, 0.055, 0.040, 0.025, 0.035, 0.070, 0.085, 0.090, 0.095, 0.030, 0.0010, 0.050, 0.025),
    "cirrus":     (0.160, 0.135, 0.125, 0.105, 0.140, 0.250, 0.290, 0.310, 0.320, 0.100, 0.0200, 0.190, 0.100),
}


def synthetic_toa(shape10: tuple[int, int], seed: int = 7) -> dict[str, NDArray[np.float32]]:
    """TOA reflectance per band at each band's native resolution for a ``shape10`` (10 m) frame.

    ``shape10`` must be divisible by 6 so that 20 m and 60 m grids nest exactly.
    """
    rows, cols = shape10
    if rows % 6 or cols % 6:
        raise ValueError(f"shape10 {shape10} must be divisible by 6")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    yy /= rows
    xx /= cols
    cls = np.full(shape10, "vegetation", dtype=object)
    cls[(xx + 0.3 * np.sin(6 * yy)) > 0.62] = "soil"
    cls[(yy > 0.55) & (xx < 0.45) & (((xx - 0.2) ** 2 + (yy - 0.78) ** 2) < 0.03)] = "water"
    cls[(yy < 0.45) & (xx < 0.5) & (xx > 0.1) & (np.hypot(xx - 0.3, yy - 0.22) > 0.12)] = "forest"
    cloud = np.hypot((xx - 0.72) / 1.2, yy - 0.25) < 0.09
    shadow = np.hypot((xx - 0.66) / 1.2, yy - 0.33) < 0.09
    cls[shadow & ~cloud] = "shadow"
    cls[cloud] = "cloud"
    cls[(np.abs(yy - 0.8 + 0.2 * xx) < 0.04) & (xx > 0.55)] = "cirrus"

    names = list(SPECTRA)
    index = np.zeros(shape10, dtype=np.int8)
    for i, n in enumerate(names):
        index[cls == n] = i
    table = np.array([SPECTRA[n] for n in names], dtype=np.float32)  # (classes, bands)
    texture = 1.0 + 0.06 * _smooth_noise(rng, shape10)
    out: dict[str, NDArray[np.float32]] = {}
    for b in BANDS:
        f = b.resolution // 10
        idx = index[::f, ::f]
        tex = texture[::f, ::f]
        refl = table[idx, b.index] * tex
        out[b.id] = np.clip(refl, 0.0005, 1.2).astype(np.float32)
    return out


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.float32]:
    """Zero-mean, unit-range, spatially correlated noise."""
    from scipy import ndimage

    n = rng.standard_normal(shape).astype(np.float32)
    n = ndimage.gaussian_filter(n, 3.0)
    n /= max(float(np.abs(n).max()), 1e-6)
    return n
