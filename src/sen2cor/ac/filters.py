"""Spatial filters of the atmospheric correction: box means and (large-σ) Gaussian smoothing.

Sen2Cor smooths with ``scipy.ndimage`` box filters (edges ``nearest``) and Gaussians (edges ``reflect``).
Its Gaussians have σ up to 51 pixels, which on a full 20 m tile costs minutes; above a work threshold we
replace the Gaussian by three successive box filters of the same variance (central-limit approximation,
max. deviation ≈1 % of the kernel peak), documented in docs/differences.md.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

F32 = npt.NDArray[np.float32]

EXACT_GAUSSIAN_MAX_WORK: Final[float] = 2.0e9
"""Pixels × kernel taps up to which the exact Gaussian is used (≈ a few seconds)."""

GAUSSIAN_TRUNCATE: Final[float] = 4.0
"""scipy's default truncation of the Gaussian kernel (σ units)."""

BOX_PASSES: Final[int] = 3
"""Number of box passes approximating a Gaussian."""


def box_mean(a: npt.ArrayLike, size: int) -> F32:
    """Mean over a ``size`` × ``size`` box, edges replicated (Sen2Cor ``smooth``; facts §7.7)."""
    out = ndimage.uniform_filter(np.asarray(a, dtype=np.float32), size=int(size), mode="nearest")
    return out.astype(np.float32, copy=False)


def gaussian_smooth(a: npt.ArrayLike, sigma: float) -> F32:
    """Gaussian smoothing with σ in pixels (edges reflected), exact or three-box approximated.

    Parameters
    ----------
    a : array_like, 2-D
    sigma : float
        Standard deviation in pixels.

    Returns
    -------
    numpy.ndarray of float32, same shape.
    """
    arr = np.asarray(a, dtype=np.float32)
    taps = 2.0 * int(GAUSSIAN_TRUNCATE * sigma + 0.5) + 1.0
    if sigma <= 0:
        return arr.copy()
    if arr.size * taps * 2.0 <= EXACT_GAUSSIAN_MAX_WORK:
        return ndimage.gaussian_filter(arr, sigma, mode="reflect").astype(np.float32)
    width = round(np.sqrt(12.0 * sigma * sigma / BOX_PASSES + 1.0))
    width += 1 - width % 2
    out = arr
    for _ in range(BOX_PASSES):
        out = ndimage.uniform_filter(out, size=width, mode="reflect")
    return out.astype(np.float32, copy=False)
