"""Scene-classification thresholds: the ``L2A_CAL_SC_GIPP.xml`` parameters and Sen2Cor's hard-coded constants.

Two homes, never mixed:

* :class:`ScThresholds` holds every ``Scene_Classification/Thresholds`` element of the SC GIPP, lower-cased,
  with the 2.8–2.11 default values (facts §2.2).  The configuration layer builds it with
  ``ScThresholds(**{name.lower(): value})``.
* The module-level ``Final`` constants are the values Sen2Cor hard-codes in its scene classification
  (facts §6, §10).  A step function never contains a numeric literal of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Final

import numpy as np


@dataclass(frozen=True)
class ScThresholds:
    """All ``Thresholds`` of ``L2A_CAL_SC_GIPP.xml`` (2.11 defaults, facts §2.2); reflectances are TOA, unitless.

    Each field's metadata names its GIPP element (``field.metadata["gipp"]``) and the facts section.
    Sen2Cor reads every value as float32; :meth:`f32` returns them that way so comparisons with float32
    reflectance arrays behave exactly as in Sen2Cor at threshold edges.
    """

    t1_b02: float = field(default=0.18, metadata={"gipp": "T1_B02", "facts": "§2.2"})
    """Snow filter 3, blue ramp lower bound."""
    t2_b02: float = field(default=0.22, metadata={"gipp": "T2_B02", "facts": "§2.2"})
    """Snow filter 3, blue ramp upper bound."""
    t1_b04: float = field(default=0.06, metadata={"gipp": "T1_B04", "facts": "§2.2"})
    """Step 1a, red brightness ramp lower bound."""
    t2_b04: float = field(default=0.25, metadata={"gipp": "T2_B04", "facts": "§2.2"})
    """Step 1a, red brightness ramp upper bound."""
    t1_b8a: float = field(default=0.15, metadata={"gipp": "T1_B8A", "facts": "§2.2"})
    """Snow filter 2, NIR ramp lower bound."""
    t2_b8a: float = field(default=0.35, metadata={"gipp": "T2_B8A", "facts": "§2.2"})
    """Snow filter 2, NIR ramp upper bound."""
    t1_b10: float = field(default=0.012, metadata={"gipp": "T1_B10", "facts": "§2.2"})
    """Step 7 thin-cirrus lower B10 bound; default B10 land/water thresholds."""
    t2_b10: float = field(default=0.035, metadata={"gipp": "T2_B10", "facts": "§2.2"})
    """Step 7 thin-cirrus upper B10 bound / thick cirrus."""
    t1_b12: float = field(default=0.25, metadata={"gipp": "T1_B12", "facts": "§2.2"})
    """Read but unused by Sen2Cor (facts §11 quirk 8)."""
    t2_b12: float = field(default=0.12, metadata={"gipp": "T2_B12", "facts": "§2.2"})
    """Read but unused by Sen2Cor (facts §11 quirk 8)."""
    t_b02_b12: float = field(default=0.018, metadata={"gipp": "T_B02_B12", "facts": "§2.2"})
    """Classic cloud-shadow radiometric threshold T0 = 1 - T_B02_B12."""
    t_cloud_lp: float = field(default=0.0, metadata={"gipp": "T_CLOUD_LP", "facts": "§2.2"})
    """Low-probability cloud lower bound (step 7)."""
    t_cloud_mp: float = field(default=0.2, metadata={"gipp": "T_CLOUD_MP", "facts": "§2.2"})
    """Medium-probability cloud lower bound (step 7)."""
    t_cloud_hp: float = field(default=0.8, metadata={"gipp": "T_CLOUD_HP", "facts": "§2.2"})
    """High-probability cloud lower bound (step 7)."""
    t1_ndsi_cld: float = field(default=-0.24, metadata={"gipp": "T1_NDSI_CLD", "facts": "§2.2"})
    """Step 1b, NDSI cloud ramp lower bound."""
    t2_ndsi_cld: float = field(default=-0.16, metadata={"gipp": "T2_NDSI_CLD", "facts": "§2.2"})
    """Step 1b, NDSI cloud ramp upper bound."""
    t1_ndsi_snw: float = field(default=0.35, metadata={"gipp": "T1_NDSI_SNW", "facts": "§2.2"})
    """Snow filter 1, NDSI ramp lower bound."""
    t2_ndsi_snw: float = field(default=0.5, metadata={"gipp": "T2_NDSI_SNW", "facts": "§2.2"})
    """Snow filter 1, NDSI ramp upper bound."""
    t1_ndvi: float = field(default=0.36, metadata={"gipp": "T1_NDVI", "facts": "§2.2"})
    """Step 3, NDVI ramp lower bound."""
    t2_ndvi: float = field(default=0.42, metadata={"gipp": "T2_NDVI", "facts": "§2.2"})
    """Step 3, NDVI ramp upper bound; dark-vegetation recovery."""
    t1_snow: float = field(default=0.12, metadata={"gipp": "T1_SNOW", "facts": "§2.2"})
    """Snow confidence above which a pixel is SNOW_ICE."""
    t2_snow: float = field(default=0.25, metadata={"gipp": "T2_SNOW", "facts": "§2.2"})
    """Ring test: B12 below which ring pixels lose cloud probability."""
    t1_r_b02_b04: float = field(default=0.85, metadata={"gipp": "T1_R_B02_B04", "facts": "§2.2"})
    """Snow filter 4, B02/B04 ramp lower bound."""
    t2_r_b02_b04: float = field(default=0.95, metadata={"gipp": "T2_R_B02_B04", "facts": "§2.2"})
    """Snow filter 4, B02/B04 ramp upper bound."""
    t1_r_b8a_b03: float = field(default=1.5, metadata={"gipp": "T1_R_B8A_B03", "facts": "§2.2"})
    """Step 4 (disabled in Sen2Cor)."""
    t2_r_b8a_b03: float = field(default=2.5, metadata={"gipp": "T2_R_B8A_B03", "facts": "§2.2"})
    """Dark-vegetation recovery B8A/B03 bound."""
    t1_r_b8a_b11: float = field(default=0.9, metadata={"gipp": "T1_R_B8A_B11", "facts": "§2.2"})
    """Step 6 rocks/sand B8A/B11 ramp lower bound."""
    t2_r_b8a_b11: float = field(default=1.1, metadata={"gipp": "T2_R_B8A_B11", "facts": "§2.2"})
    """Step 6 rocks/sand B8A/B11 ramp upper bound."""
    t11_b02: float = field(default=-0.4, metadata={"gipp": "T11_B02", "facts": "§2.2"})
    """Step 5.1 soil: slope of the B02 limit vs B02/B11."""
    t12_b02: float = field(default=0.46, metadata={"gipp": "T12_B02", "facts": "§2.2"})
    """Step 5.1 soil: intercept of the B02 limit."""
    t11_r_b02_b11: float = field(default=0.7, metadata={"gipp": "T11_R_B02_B11", "facts": "§2.2"})
    """Step 5.1 soil: B02/B11 ramp lower bound."""
    t12_r_b02_b11: float = field(default=1.0, metadata={"gipp": "T12_R_B02_B11", "facts": "§2.2"})
    """Step 5.1 soil: B02/B11 ramp upper bound."""
    t21_r_b02_b11: float = field(default=2.0, metadata={"gipp": "T21_R_B02_B11", "facts": "§2.2"})
    """Step 5.2 water: B02/B11 ramp lower bound."""
    t22_r_b02_b11: float = field(default=4.0, metadata={"gipp": "T22_R_B02_B11", "facts": "§2.2"})
    """Step 5.2 water: B02/B11 water bound; water recovery."""
    t21_b12: float = field(default=0.1, metadata={"gipp": "T21_B12", "facts": "§2.2"})
    """Step 5.2 water: slope of the B12 limit vs B02/B11."""
    t22_b12: float = field(default=-0.09, metadata={"gipp": "T22_B12", "facts": "§2.2"})
    """Step 5.2 water: intercept of the B12 limit."""
    rv_b2: float = field(default=6.96, metadata={"gipp": "RV_B2", "facts": "§2.2"})
    """Read but unused (facts §11 quirk 8)."""
    rv_b3: float = field(default=5.26667, metadata={"gipp": "RV_B3", "facts": "§2.2"})
    """Read but unused (facts §11 quirk 8)."""
    rv_b4: float = field(default=5.37708, metadata={"gipp": "RV_B4", "facts": "§2.2"})
    """Read but unused (facts §11 quirk 8)."""
    rv_b8: float = field(default=7.52, metadata={"gipp": "RV_B8", "facts": "§2.2"})
    """Read but unused (facts §11 quirk 8)."""
    rv_b11: float = field(default=5.45, metadata={"gipp": "RV_B11", "facts": "§2.2"})
    """Read but unused (facts §11 quirk 8)."""
    rv_b12: float = field(default=2.55, metadata={"gipp": "RV_B12", "facts": "§2.2"})
    """Read but unused (facts §11 quirk 8)."""
    t_sdw: float = field(default=0.75, metadata={"gipp": "T_SDW", "facts": "§2.2"})
    """Read but unused (facts §11 quirk 8)."""

    def f32(self, name: str) -> np.float32:
        """The threshold ``name`` (field name, e.g. ``"t1_b04"``) as float32, as Sen2Cor holds it."""
        return np.float32(getattr(self, name))

    @classmethod
    def gipp_names(cls) -> dict[str, str]:
        """Map GIPP element name (``"T1_B04"``) → field name (``"t1_b04"``)."""
        return {f.metadata["gipp"]: f.name for f in fields(cls)}


# --- Hard-coded constants of Sen2Cor's scene classification (no GIPP), facts §6 and §10 -------------------

RATIO_EPSILON: Final[float] = 1e-6
"""Floor of every ratio/normalised-difference denominator ("LOWEST"); facts §6 intro."""

DARK_FEATURE_B04_MAX: Final[float] = 0.10
"""TOA red below which a pixel may be a dark feature; facts §6.1 step 1a, §10."""
DARK_FEATURE_B8A_MIN: Final[float] = 0.04
"""Lower TOA B8A bound of a dark feature (exclusive); facts §6.1 step 1a, §10."""
DARK_FEATURE_B8A_MAX: Final[float] = 0.15
"""Upper TOA B8A bound of a dark feature (exclusive); facts §6.1 step 1a, §10."""

SNOW_B05_B8A_MIN: Final[float] = 0.85
"""Snow is excluded where B05/B8A is below this ratio (snow filter 1bis); facts §6.1 step 3, §10."""
SNOW_RING_ITERATIONS: Final[int] = 3
"""The snow ring uses a cross structure iterated 3 times (a 7×7 diamond); facts §6.1 step 3."""
SNC_WATER: Final[int] = 254
"""ESA-CCI snow-condition value for water; facts §5 item 3."""
SNC_NO_DATA: Final[int] = 255
"""ESA-CCI snow-condition value for no data; facts §5 item 3."""
SNC_NO_SNOW: Final[int] = 0
"""ESA-CCI snow-condition value for "never snow"; facts §5 item 3."""
SNC_MEAN_MAX: Final[float] = 10.0
"""CCI water is excluded from snow only if the mean non-water SNC is below this; facts §6.1 step 3."""
SNOW_CCI_CLOUD_PROBABILITY: Final[float] = 0.50
"""Cloud probability given to snow reverted to cloud by the CCI post-check (evolution); facts §6.1 step 3."""

VEGETATION_B02_MAX: Final[float] = 0.15
"""Vegetation (step 3) requires TOA blue below this; facts §6.1 step 4, §10."""

SOIL_B02_LIMIT_MIN: Final[float] = 0.15
"""Lower clip of the step 5.1 soil B02 limit; facts §6.1 step 6."""
SOIL_B02_LIMIT_MAX: Final[float] = 0.32
"""Upper clip of the step 5.1 soil B02 limit; facts §6.1 step 6."""
SOIL_RATIO_MAX: Final[float] = 100.0
"""Upper clip of the step 5.1 B02/B11 ratio; facts §6.1 step 6."""

WATER_B12_LIMIT_MIN: Final[float] = 0.07
"""Lower clip of the step 5.2 water B12 limit; facts §6.1 step 7."""
WATER_B12_LIMIT_MAX: Final[float] = 0.21
"""Upper clip of the step 5.2 water B12 limit; facts §6.1 step 7."""
WATER_B02_MAX: Final[float] = 0.20
"""Water TOA blue must be below 20 %; facts §6.1 step 7, §10."""
WATER_B02_MINUS_B04_MIN: Final[float] = 0.034
"""Extra water test (B02 − B04) above this; facts §6.1 step 7, §10."""

ROCKS_B02_SLOPE: Final[float] = -0.25
"""Step 6 rocks/sand: slope of the B02 limit vs B8A/B11; facts §6.1 step 8, §10."""
ROCKS_B02_INTERCEPT: Final[float] = 0.475
"""Step 6 rocks/sand: intercept of the B02 limit; facts §6.1 step 8, §10."""
ROCKS_B02_LIMIT_MIN: Final[float] = 0.16
"""Lower clip of the step 6 B02 limit; facts §6.1 step 8, §10."""
ROCKS_B02_LIMIT_MAX: Final[float] = 0.35
"""Upper clip of the step 6 B02 limit; facts §6.1 step 8, §10."""
ROCKS_B02_B11_FACTOR: Final[float] = 0.8
"""Step 6 requires B02 < 0.8·B11; facts §6.1 step 8, §10."""

R_B04_B11_LOW: Final[float] = 3.0
"""Step 6bis B04/B11 ramp lower bound; facts §6.1 step 9, §10."""
R_B04_B11_HIGH: Final[float] = 6.0
"""Step 6bis B04/B11 ramp upper bound (p = 0 at or above); facts §6.1 step 9, §10."""

CIRRUS_B02_MAX: Final[float] = 0.50
"""Thin cirrus requires TOA blue below this; facts §6.1 step 10, §10."""
CIRRUS_DEM_MAX_M: Final[float] = 1500.0
"""Cirrus detection is switched off at or above this elevation (metres); facts §6.1 step 10, §10."""
THICK_CIRRUS_CLOUD_PROBABILITY: Final[float] = 0.65
"""Cloud probability given to thick cirrus (B10 ≥ T2_B10) in evolution mode; facts §6.1 step 10."""

WATER_RECOVERY_B8A_MAX: Final[float] = 0.3
"""Water recovery of unclassified pixels needs TOA B8A below this; facts §6.2, §10."""
SOIL_RECOVERY_R_B02_B11_MAX: Final[float] = 0.65
"""Soil recovery of dark pixels needs B02/B11 below this; facts §6.2, §10."""
SOIL_RECOVERY_LOW_PROBABILITY: Final[float] = 0.10
"""Evolution soil recovery: unclassified pixels with 0 < p < 0.10 become NOT_VEGETATED; facts §6.3."""
DEM_STEEP_SLOPE_DEG: Final[float] = 15.0
"""DEM water cleaning: slope above which water is re-labelled dark; facts §6.2/§6.3."""
CLASSIC_ILLUMINATION_SHADOW_MAX: Final[int] = 128
"""Classic mode: illumination byte (≈255·cos β) below which a pixel is in topographic shadow; facts §6.2."""
CLASSIC_ILLUMINATION_DEEP_SHADOW_MAX: Final[int] = 32
"""Classic mode: cloud shadow with 0 < illumination < 32 becomes dark; facts §6.2."""
CAST_SHADOW_VALUE: Final[int] = 1
"""Value of the merged illumination/cast-shadow byte map ("SDW") that marks cast shadow; facts §7.1."""
CAST_SHADOW_DILATION_PX: Final[int] = 9
"""Evolution topographic shadow: cast-shadow mask dilated 9×9 and median-filtered 9; facts §6.3."""
LOCAL_INCIDENCE_MARGIN_DEG: Final[float] = 5.0
"""Dark pixels lit at cos β > cos(SZA + 5°) are not shadow (evolution, with DEM); facts §6.3."""
LOCAL_INCIDENCE_SZA_MAX_DEG: Final[float] = 45.0
"""The local-incidence dark-pixel tests apply only when the scene SZA is below 45°; facts §6.3."""
SNOW_SOIL_BORDER_DISK_RADIUS: Final[int] = 5
"""Snow/soil border test: both masks dilated with a disk of radius 5; facts §6.3."""
URBAN_LCM: Final[int] = 190
"""ESA-CCI land-cover class of urban areas; facts §5 item 3."""
BARE_LCM_MIN: Final[int] = 200
"""First ESA-CCI land-cover bare-area class; facts §5 item 3."""
BARE_LCM_MAX: Final[int] = 202
"""Last ESA-CCI land-cover bare-area class; facts §5 item 3."""
WATER_LCM: Final[int] = 210
"""ESA-CCI land-cover water class; facts §5 item 3."""
WBI_WATER: Final[int] = 2
"""ESA-CCI water-bodies value for water; facts §5 item 3."""
URBAN_DILATION_DISK_RADIUS: Final[int] = 9
"""Evolution: LCM urban mask dilated with a disk of radius 9; facts §6.3."""
URBAN_RING_CLOUDY_MAX_PCT_EVOLUTION: Final[float] = 20.0
"""Evolution: urban cloud blobs whose ring is ≤ 20 % cloudy become NOT_VEGETATED; facts §6.3."""
URBAN_RING_CLOUDY_MAX_PCT_CLASSIC: Final[float] = 35.0
"""Classic: urban cloud blobs whose ring is ≤ 35 % cloudy become NOT_VEGETATED; facts §6.2."""
BARE_RING_CLOUDY_MAX_PCT: Final[float] = 35.0
"""Bare-area cloud blobs whose ring is ≤ 35 % cloudy become NOT_VEGETATED; facts §6.2/§6.3."""

B10_WATER_FLOOR: Final[float] = 0.0020
"""Floor of the B10 cirrus threshold over water; facts §6.2/§6.3."""
B10_LAND_FLOOR: Final[float] = 0.0030
"""Floor of the B10 cirrus threshold over land; facts §6.2/§6.3."""
B10_PERCENTILE: Final[float] = 1.0
"""Evolution B10 threshold T = 2·mean − P1 uses the 1st percentile; facts §6.3."""
B10_ALTITUDE_A: Final[float] = -0.49
"""B10 altitude correction exp((A + B·h)·h), h in km; facts §6.3."""
B10_ALTITUDE_B: Final[float] = -0.011
"""B10 altitude correction exp((A + B·h)·h), h in km; facts §6.3."""
CLASSIC_B10_LAND_SIGMAS: Final[float] = 3.0
"""Classic cirrus recovery: land B10 threshold = mean + 3σ over bare soils; facts §6.2."""
CLASSIC_B10_WATER_SIGMAS: Final[float] = 1.0
"""Classic cirrus recovery: water B10 threshold = mean + σ over water; facts §6.2."""
CLASSIC_LAND_B10_MIN: Final[float] = 0.0015
"""Classic land recovery with B10/B09/B8A: floor of the B10 threshold; facts §6.2."""
CLASSIC_LAND_MIN_PCT: Final[float] = 5.0
"""Classic land recovery is skipped below 5 % land; facts §6.2."""
CLASSIC_LAND_MIN_AREA_M2: Final[float] = 121e6
"""Classic land recovery is skipped below 121 km² of land; facts §6.2."""
CLASSIC_LAND_BLOB_M: Final[float] = 300.0
"""Classic land recovery: HP-cloud statistics only on blobs larger than (300 m / resolution)²; facts §6.2."""
CLASSIC_LAND_HPC_HIGH_PCT: Final[float] = 20.0
"""Classic land recovery: above 20 % HP clouds the B10 threshold uses all HP clouds; facts §6.2."""
CLASSIC_LAND_HPC_LOW_PCT: Final[float] = 2.0
"""Classic land recovery: below 2 % HP clouds the B10 threshold is the land mean; facts §6.2."""

HOLLSTEIN_B03_MIN: Final[float] = 0.319
"""Bright-pixel (Hollstein) rule: B03 above this; facts §6.3."""
HOLLSTEIN_B05_B11_MAX: Final[float] = 4.33
"""Bright-pixel (Hollstein) rule: B05/B11 below this; facts §6.3."""
HOLLSTEIN_B11_MINUS_B10_MIN: Final[float] = 0.255
"""Bright-pixel (Hollstein) rule: B11 − B10 above this; facts §6.3."""
HOLLSTEIN_B01_MAX: Final[float] = 0.30
"""Bright-pixel (Hollstein) rule: B01 below this; facts §6.3."""
BRIGHT_WATER_NDWI_MIN: Final[float] = 0.35
"""(B03 − B8A)/(B03 + B8A) above this marks water in the bright-pixel and shadow steps; facts §6.3."""
BRIGHT_CLOUD_EROSION_DISK: Final[int] = 3
"""Bright-pixel recovery: cloud mask opened by erosion with a disk of radius 3 …; facts §6.3."""
BRIGHT_CLOUD_DILATION_DISK: Final[int] = 9
"""… then dilation with a disk of radius 9; facts §6.3."""

SHADOW_REFERENCE_SPECTRUM: Final[tuple[float, ...]] = (0.12, 0.08, 0.06, 0.10, 0.0545, 0.0255)
"""Reference cloud-shadow TOA spectrum for B02, B03, B04, B8A, B11, B12; facts §6.2, §10."""
SHADOW_BANDS: Final[tuple[str, ...]] = ("B02", "B03", "B04", "B8A", "B11", "B12")
"""Bands of the reference shadow spectrum, in order; facts §6.2."""
SHADOW_DECISION_MIN: Final[float] = 0.05
"""Cloud shadow where radiometric × geometric probability exceeds this; facts §6.2, §10."""
CLASSIC_SHADOW_WATER_R_B02_B11: Final[float] = 6.0
"""Classic shadow step: water where B02/B11 (B11 clipped to [1e-4, 2]) exceeds 6; facts §6.2."""
SHADOW_CLOUD_MASK_MIN: Final[float] = 0.33
"""Geometric shadow: cloud mask = 3×3 median of p above this, dilated with a cross; facts §6.2."""
SHADOW_GAUSSIAN_SIGMA_PX: Final[float] = 3.0
"""Gaussian σ (pixels) smoothing the geometric shadow probability; facts §6.2."""
SHADOW_FFT_PADDING: Final[float] = 1.5
"""The cloud mask is zero-padded to 1.5× its size before the FFT convolution; facts §6.2."""
SHADOW_T0_MIN: Final[float] = 0.90
"""Evolution shadow threshold T0 lower clip; facts §6.3."""
SHADOW_T0_MAX: Final[float] = 0.9999
"""Evolution shadow threshold T0 upper clip; facts §6.3."""
SHADOW_T0_LAND_SIGMAS: Final[float] = 2.0
"""Evolution shadow threshold over land: mean + 2σ; facts §6.3."""
SHADOW_T0_SNOW_SIGMAS: Final[float] = 3.0
"""Evolution shadow threshold over snow: mean + 3σ; facts §6.3."""
SHADOW_STATS_LAND_MIN_FRACTION: Final[float] = 0.02
"""Evolution T0 statistics need clear land > 2 % of valid pixels …; facts §6.3."""
SHADOW_STATS_SNOW_MIN_FRACTION: Final[float] = 0.05
"""… or snow > 5 % of valid pixels; facts §6.3."""
SHADOW_STATS_SNOW_LAND_RATIO: Final[float] = 10.0
"""Snow statistics are used when snow ≥ 10× clear land; facts §6.3."""
SHADOW_STATS_EROSION_PX: Final[int] = 5
"""Clear land for T0 statistics is eroded 5×5 …; facts §6.3."""
SHADOW_STATS_NEIGHBOURHOOD_PX: Final[int] = 25
"""… and kept within 25×25 of non-clear pixels; facts §6.3."""
SHADOW_STATS_GEOMETRIC_MAX: Final[float] = 0.01
"""Clear land for T0 statistics must have geometric shadow probability below this; facts §6.3."""
CLOUD_PROFILE_PIXEL_M: Final[float] = 30.0
"""The generic cloud-top profile is defined on 30 m samples; facts §6.2."""
CLOUD_PROFILE_RISE_SAMPLES: Final[int] = 51
"""Generic cloud profile: rising edge 1/(1 + (i/30)^10) over 51 samples; facts §6.2."""
CLOUD_PROFILE_RISE_SCALE: Final[float] = 30.0
"""Generic cloud profile: rising-edge scale; facts §6.2."""
CLOUD_PROFILE_FALL_SAMPLES: Final[int] = 150
"""Generic cloud profile: falling edge 1/(1 + (i/90)^10) over 150 samples; facts §6.2."""
CLOUD_PROFILE_FALL_SCALE: Final[float] = 90.0
"""Generic cloud profile: falling-edge scale; facts §6.2."""
CLOUD_PROFILE_EXPONENT: Final[float] = 10.0
"""Generic cloud profile exponent (2·5); facts §6.2."""
KLT_PROFILE_MAX_TOP_M: Final[float] = 5000.0
"""The KLT Gaussian height profile is used only if mean + σ of tracked heights is below 5 km; facts §6.3."""
KLT_PROFILE_SIGMAS: Final[float] = 4.0
"""The KLT Gaussian height profile spans 0 … mean + 4σ metres; facts §6.3."""

KLT_PARALLAX: Final[float] = 0.012
"""B08/B8A parallax factor: height = displacement[px] · resolution / 0.012; facts §6.3, §10."""
KLT_LAPLACIAN_KSIZE: Final[int] = 5
"""Both KLT images are Laplacian-filtered with kernel 5 into 8 bit; facts §6.3."""
KLT_QUALITY_LEVEL: Final[float] = 0.1
"""Shi–Tomasi corner quality level; facts §6.3."""
KLT_MIN_DISTANCE_PX: Final[int] = 5
"""Shi–Tomasi minimum corner distance; facts §6.3."""
KLT_BLOCK_SIZE: Final[int] = 15
"""Shi–Tomasi block size; facts §6.3."""
KLT_MAX_CORNERS: Final[int] = 1_000_000
"""Maximum number of tracked corners; facts §6.3."""
KLT_WINDOW_PX: Final[int] = 25
"""Lucas–Kanade window (25×25); facts §6.3, §10."""
KLT_PYRAMID_LEVELS: Final[int] = 1
"""Lucas–Kanade maximum pyramid level; facts §6.3."""
KLT_MAX_ITERATIONS: Final[int] = 30
"""Lucas–Kanade termination: iterations; facts §6.3."""
KLT_EPSILON: Final[float] = 0.03
"""Lucas–Kanade termination: epsilon; facts §6.3."""
KLT_FB_MAX_ERROR_PX: Final[float] = 0.1
"""Forward–backward tracking error below which a point is kept; facts §6.3, §10."""
KLT_HEIGHT_SCALE: Final[float] = 100.0
"""Displacements are interpolated as 100·displacement (uint16); facts §6.3."""
KLT_HEIGHT_DILATION_PX: Final[int] = 6
"""Height image: grey dilation 6×6 …; facts §6.3."""
KLT_HEIGHT_GAUSSIAN_SIGMA_PX: Final[float] = 5.0
"""… then Gaussian σ = 5 px; facts §6.3."""
KLT_MIN_VALID_FRACTION: Final[float] = 0.02
"""The parallax step runs only if valid pixels exceed 2 % of the tile; facts §6.3."""
KLT_MAX_CLOUD_FRACTION: Final[float] = 0.95
"""False-cloud removal runs only if MP+HP+cirrus are below 95 % of valid pixels; facts §6.3."""
FALSE_CLOUD_HEIGHT_MAX_M: Final[float] = 350.0
"""Clouds tracked below 350 m are false clouds; facts §6.3, §10."""
FALSE_SNOW_HEIGHT_MIN_M: Final[float] = 700.0
"""Snow tracked above 700 m is cloud; facts §6.3, §10."""
FALSE_SNOW_CLOUD_PROBABILITY: Final[float] = 0.5
"""Cloud probability of false snow turned into MEDIUM cloud; facts §6.3."""
DN_SCALE: Final[float] = 10000.0
"""Reflectance → DN factor used to build the 16-bit KLT images (QUANTIFICATION_VALUE); facts §3, §6.3."""

POST_CLOUD_MIN_PROBABILITY: Final[float] = 0.65
"""Post-processing dilates only clouds with probability above 0.65; facts §6.3, §10."""
POST_SHORELINE_SCL_PX: Final[int] = 13
"""Shoreline: Sobel edge of SCL water dilated 13×13; facts §6.3, §10."""
POST_SHORELINE_WBI_PX: Final[int] = 15
"""Shoreline: Sobel edge of WBI dilated 15×15; facts §6.3, §10."""
POST_LARGE_URBAN_CLOUD_PX: Final[int] = 1000
"""Clouds over urban areas larger than 1000 px are still dilated; facts §6.3."""
POST_SNOW_SOIL_DISK_RADIUS: Final[int] = 7
"""Post-processing snow/soil boundary: both masks dilated with a disk of radius 7; facts §6.3."""
POST_MIN_BLOB_PX: Final[int] = 3
"""Blobs of at most 3 px (8-connected) are not dilated; facts §6.3."""
POST_CLOUD_DILATION_PX: Final[int] = 9
"""Cloud (and thin cirrus) dilation: 9×9 square + median 9; facts §6.3, §10."""
POST_SHADOW_DILATION_PX: Final[int] = 5
"""Cloud-shadow dilation: 5×5 square + median 5; facts §6.3, §10."""
POST_SNOW_DILATION_PX: Final[int] = 3
"""Snow dilation: 3×3 square + median 3; facts §6.3, §10."""
