"""Cloud-probability core: the ramp function, red brightness (step 1a), NDSI (step 1b) and the
probability classes (step 7).  Sen2Cor SC steps L2A_CSND_1_1, 1_2, 7; facts §6.1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sen2cor.sc.classes import NOT_CLASSIFIED, SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.thresholds import (
    DARK_FEATURE_B04_MAX,
    DARK_FEATURE_B8A_MAX,
    DARK_FEATURE_B8A_MIN,
    RATIO_EPSILON,
    ScThresholds,
)

Float32Array = NDArray[np.float32]


def ramp(x: Float32Array, low: float, high: float) -> Float32Array:
    """``clip((x − low)/(high − low), 0, 1)`` computed as Sen2Cor does, in float32 (facts §6 intro).

    Exactly 0 at or below ``low`` and exactly 1 at or above ``high``, so equality tests on the result
    are meaningful.
    """
    lo, hi = np.float32(low), np.float32(high)
    return (np.clip(x, lo, hi) - lo) / (hi - lo)


def ratio(num: Float32Array, den: Float32Array) -> Float32Array:
    """``num / max(den, 1e-6)``, Sen2Cor's guarded band ratio (facts §6 intro)."""
    return num / np.maximum(den, np.float32(RATIO_EPSILON))


def normalized_difference(a: Float32Array, b: Float32Array) -> Float32Array:
    """``(a − b) / max(a + b, 1e-6)`` — NDSI with (B03, B11), NDVI with (B8A, B04) (facts §6 intro)."""
    return (a - b) / np.maximum(a + b, np.float32(RATIO_EPSILON))


def red_brightness(state: ScState, b04: Float32Array, b8a: Float32Array, t: ScThresholds) -> None:
    """Step 1a: cloud confidence = Ramp(B04, T1_B04, T2_B04)² and dark features (facts §6.1 step 1).

    Dark features (B04 < 0.10, 0.04 < B8A < 0.15) become DARK_FEATURES with zero confidence.
    """
    state.cloud[...] = ramp(b04, t.t1_b04, t.t2_b04) ** 2
    dark = (
        (b04 < np.float32(DARK_FEATURE_B04_MAX))
        & (b8a > np.float32(DARK_FEATURE_B8A_MIN))
        & (b8a < np.float32(DARK_FEATURE_B8A_MAX))
        & state.unclassified
    )
    state.scl[dark] = SceneClass.DARK_FEATURES
    state.cloud[state.scl == SceneClass.DARK_FEATURES] = 0


def ndsi_cloud(state: ScState, ndsi: Float32Array, t: ScThresholds) -> None:
    """Step 1b: cloud confidence × Ramp(NDSI, T1_NDSI_CLD, T2_NDSI_CLD) (facts §6.1 step 2).

    Where the ramp is 0 (NDSI ≤ T1_NDSI_CLD) any valid pixel — in practice a dark feature — goes back to
    ``NOT_CLASSIFIED``, as in Sen2Cor.
    """
    r = ramp(ndsi, t.t1_ndsi_cld, t.t2_ndsi_cld)
    state.scl[(r == 0) & state.valid] = NOT_CLASSIFIED
    state.cloud *= r


def cloud_probability_classes(state: ScState, t: ScThresholds) -> None:
    """Step 7 (first part): unclassified pixels by cloud confidence (facts §6.1 step 10).

    0 < p < T_CLOUD_MP → UNCLASSIFIED (low probability), T_CLOUD_MP ≤ p < T_CLOUD_HP → MEDIUM,
    p ≥ T_CLOUD_HP → HIGH.
    """
    p = state.cloud
    lp, mp, hp = t.f32("t_cloud_lp"), t.f32("t_cloud_mp"), t.f32("t_cloud_hp")
    state.scl[(p > lp) & (p < mp) & state.unclassified] = SceneClass.UNCLASSIFIED
    state.scl[(p >= mp) & (p < hp) & state.unclassified] = SceneClass.MEDIUM_PROBA_CLOUDS
    state.scl[(p >= hp) & state.unclassified] = SceneClass.HIGH_PROBA_CLOUDS
