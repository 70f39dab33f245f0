"""Fast binary morphology and smoothing filters with the exact border semantics of ``scipy.ndimage``.

Sen2Cor's scene classification is written with ``scipy.ndimage`` (binary dilation with a zero border,
``median_filter``/``gaussian_filter`` with ``mode="reflect"``).  A 5490² tile makes those calls slow on two
cores, so this module computes the same results with OpenCV kernels, choosing border modes that give
identical answers (``tests/sc/test_morphology.py`` checks each function against SciPy).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

BoolArray = NDArray[np.bool_]


def square(size: int) -> NDArray[np.uint8]:
    """A ``size``×``size`` square structuring element (uint8 ones)."""
    return np.ones((size, size), dtype=np.uint8)


def disk(radius: int) -> NDArray[np.uint8]:
    """A disk structuring element of the given radius: ``x² + y² ≤ r²`` (as ``skimage.morphology.disk``)."""
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def diamond(iterations: int) -> NDArray[np.uint8]:
    """The 4-connected cross iterated ``iterations`` times: a diamond ``|x| + |y| ≤ iterations``."""
    y, x = np.mgrid[-iterations : iterations + 1, -iterations : iterations + 1]
    return (np.abs(x) + np.abs(y) <= iterations).astype(np.uint8)


CROSS = diamond(1)
"""The 3×3 cross (``generate_binary_structure(2, 1)``)."""


def dilate(mask: BoolArray, structure: NDArray[np.uint8]) -> BoolArray:
    """Binary dilation with a symmetric odd structure and a zero border (``binary_dilation``).

    Parameters
    ----------
    mask : ndarray of bool, shape (rows, cols)
    structure : ndarray of uint8, shape (k, k), k odd and symmetric

    Returns
    -------
    ndarray of bool, shape (rows, cols)
    """
    out = cv2.dilate(mask.view(np.uint8), structure, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return out.view(np.bool_)


def erode(mask: BoolArray, structure: NDArray[np.uint8]) -> BoolArray:
    """Binary erosion with a symmetric odd structure; outside the image counts as False (``binary_erosion``)."""
    out = cv2.erode(mask.view(np.uint8), structure, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return out.view(np.bool_)


def binary_median(mask: BoolArray, size: int) -> BoolArray:
    """Median of a boolean mask over a ``size``×``size`` window (odd), reflect border (``median_filter``).

    The median of 0/1 values is 1 exactly when more than half of the window is 1.  The window counts are
    exact integers, kept in 8 bits while they fit (windows up to 15×15).
    """
    depth = cv2.CV_8U if size * size <= 255 else cv2.CV_32F
    counts = cv2.boxFilter(
        mask.view(np.uint8), depth, (size, size), normalize=False, borderType=cv2.BORDER_REFLECT
    )
    out: BoolArray = counts > (size * size) // 2
    return out


def median3(values: NDArray[np.float32]) -> NDArray[np.float32]:
    """3×3 median of a float32 image; identical to ``median_filter(values, 3)`` (reflect = replicate at 1 px)."""
    return cv2.medianBlur(np.ascontiguousarray(values, dtype=np.float32), 3)


def gaussian(values: NDArray[np.floating], sigma: float, truncate: float = 4.0) -> NDArray[np.float32]:
    """Gaussian smoothing as ``scipy.ndimage.gaussian_filter`` (mode reflect, radius ``int(truncate·σ + 0.5)``).

    Parameters
    ----------
    values : ndarray, shape (rows, cols)
    sigma : float
        Standard deviation in pixels.

    Returns
    -------
    ndarray of float32, shape (rows, cols)
    """
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    src = np.ascontiguousarray(values, dtype=np.float32)
    out: NDArray[np.float32] = cv2.sepFilter2D(src, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    return out


def remove_small_blobs(mask: BoolArray, max_size: int) -> BoolArray:
    """Drop 8-connected blobs of at most ``max_size`` pixels (Sen2Cor's ``filter_isolated_cells``)."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] > max_size
    keep[0] = False
    out: BoolArray = keep[labels]
    return out
