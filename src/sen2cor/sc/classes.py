"""Scene classification labels: the twelve SCL codes and the internal working labels.

The SCL codes are the ``Classificators`` of ``L2A_CAL_SC_GIPP.xml`` (facts §2.2); they are fixed by the
product format and never configurable in practice, so they live here as the constants of
:class:`SceneClass`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numba
import numpy as np
from numpy.typing import NDArray


class SceneClass:
    """SCL codes written to ``SCL_20m``/``SCL_60m`` (uint8); names follow the SC GIPP ``Classificators``.

    Plain ``int`` constants, not an ``IntEnum``: NumPy 2 compares a uint8 array with a Python ``int`` in
    uint8, but with an ``int`` subclass (an enum member) it first casts the whole array to int64 — on a
    20 m tile ``scl == SNOW_ICE`` took 13.5 ms instead of 2.1 ms, and the classification and the 10 m
    step-2 masks make hundreds of such comparisons (issue 8).  :data:`SCENE_CLASSES` lists them by name.
    """

    NO_DATA: Final[int] = 0
    SATURATED_DEFECTIVE: Final[int] = 1
    DARK_FEATURES: Final[int] = 2
    """Dark area pixels; called ``CAST_SHADOW`` in PSD 15 (facts §2.2)."""
    CLOUD_SHADOWS: Final[int] = 3
    VEGETATION: Final[int] = 4
    NOT_VEGETATED: Final[int] = 5
    WATER: Final[int] = 6
    UNCLASSIFIED: Final[int] = 7
    """Also the low-probability-cloud class of the cloud-probability step (facts §6.1 step 7)."""
    MEDIUM_PROBA_CLOUDS: Final[int] = 8
    HIGH_PROBA_CLOUDS: Final[int] = 9
    THIN_CIRRUS: Final[int] = 10
    SNOW_ICE: Final[int] = 11


SCENE_CLASSES: Final[tuple[tuple[str, int], ...]] = tuple(
    (name, code) for name, code in vars(SceneClass).items() if name.isupper())
"""``(name, code)`` of each :class:`SceneClass` constant, by code."""


NOT_CLASSIFIED: Final[int] = 100
"""Working label of a pixel no step has classified yet (facts §6 intro)."""

NOT_SNOW: Final[int] = 50
"""Working label locking a pixel out of the snow branch until its ring test (facts §6 intro)."""

DARK_NOT_SHADOW: Final[int] = 13
"""Temporary label of dark pixels outside DEM cast shadow, finally NOT_VEGETATED (facts §6.3)."""

INVALID_CLASSES: Final[tuple[int, int]] = (SceneClass.NO_DATA, SceneClass.SATURATED_DEFECTIVE)
"""Classes never overwritten by a step and on which the probability maps are zero (facts §6.3)."""

CLOUD_CLASSES: Final[tuple[int, int, int]] = (
    SceneClass.MEDIUM_PROBA_CLOUDS,
    SceneClass.HIGH_PROBA_CLOUDS,
    SceneClass.THIN_CIRRUS,
)
"""Classes counted as cloudy by CLOUDY_PIXEL_PERCENTAGE (facts §8)."""


def class_mask(scl: NDArray[np.integer], classes: Iterable[int]) -> NDArray[np.bool_]:
    """``np.isin(scl, classes)``: where a classification holds one of ``classes`` (a 256-entry look-up
    table for uint8 maps, about 20 times faster than ``np.isin`` on a tile strip)."""
    a = np.asarray(scl)
    codes = [int(c) for c in classes]
    if a.dtype != np.uint8 or a.ndim != 2:
        return np.isin(a, codes)
    table = np.zeros(256, np.bool_)
    table[[c for c in codes if 0 <= c < 256]] = True
    return _lookup(a, table)


@numba.njit(cache=True, nogil=True)
def _lookup(a, table):  # type: ignore[no-untyped-def]
    out = np.empty(a.shape, np.bool_)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = table[a[i, j]]
    return out
