"""Constants the atmospheric correction hard-codes (no GIPP element): the one home for them.

Every value is cited to the facts digest (``sen2cor-facts.md``) section it comes from; values that are
GIPP parameters live in :class:`sen2cor.ac.parameters.AcParameters` instead.  Step functions never hold a
numeric literal of their own.
"""

from __future__ import annotations

from typing import Final

from sen2cor.sc.classes import SceneClass

# ----------------------------------------------------------------------------------------- scene classes
CLOUD_CLASSES_AC: Final[tuple[int, ...]] = (
    SceneClass.UNCLASSIFIED,
    SceneClass.MEDIUM_PROBA_CLOUDS,
    SceneClass.HIGH_PROBA_CLOUDS,
    SceneClass.THIN_CIRRUS,
)
"""Classes the AC treats as cloud (DDV cloud distance, adjacency background): SCL 7–10 (facts §7.3, §7.7)."""

CLEAR_LAND_CLASSES: Final[tuple[int, ...]] = (SceneClass.VEGETATION, SceneClass.NOT_VEGETATED)
"""Clear land of the negative-reflectance check and of the DDV adjacency mean (facts §7.3 item 7)."""

CLEAR_CLASSES: Final[tuple[int, ...]] = (SceneClass.VEGETATION, SceneClass.NOT_VEGETATED, SceneClass.WATER)
"""Clear pixels whose mean replaces clouds before the adjacency/terrain box filters (facts §7.7)."""

WV_LAND_CLASSES: Final[tuple[int, ...]] = (SceneClass.VEGETATION, SceneClass.NOT_VEGETATED, SceneClass.SNOW_ICE)
"""Pixels on which APDA water vapour is retrieved (facts §7.5)."""

# ----------------------------------------------------------------------------------------- cells, terrain
CELL_COLUMNS: Final[int] = 915
"""Cell width in pixels of the processing resolution (facts §7.2, §10)."""

CELL_ROWS: Final[int] = 1830
"""Cell height in pixels (twice the width; facts §7.2, §10)."""

MAX_SOLAR_ZENITH_DEG: Final[float] = 70.0
"""SZA is clipped here for the AC (facts §5 "Angles")."""

MAX_VIEW_ZENITH_DEG: Final[float] = 40.0
"""|VZA| limit of the AC configuration check (facts §5 "Angles")."""

ELEVATION_CLASS_M: Final[float] = 20.0
"""Height of one elevation class (facts §4 "Elevation")."""

MAX_ELEVATION_M: Final[float] = 3500.0
"""DEM values are clipped to 0 … 3500 m (facts §4 "Elevation")."""

LUT_TOP_ELEVATION_KM: Final[float] = 2.5
"""Highest elevation of the LUTs; above it the tables are extrapolated (facts §4)."""

COS_BETA_SCALE: Final[int] = 255
"""cos β is stored as a byte 255·cos β (facts §7.1); the AC uses the quantised value."""

COS_BETA_FLOOR: Final[int] = 26
"""Lower bound of the byte cos β before the reflectance retrieval (β ≤ 84.1°; facts §7.1, §10)."""

SKY_VIEW_SCALE: Final[int] = 100
"""The sky-view factor is stored in percent (Sen2Cor byte layout, facts §7.1 Vsky)."""

TERRAIN_FLUX_FLOOR: Final[float] = 0.01
"""Terrain-reflected flux is at least this fraction of E0t·cos SZA (facts §7.6, §7.7)."""

ALBEDO_REFERENCE: Final[float] = 0.15
"""Background albedo of the LUT fluxes; spherical-albedo correction reference (facts §7.5, §7.7, §10)."""

# ----------------------------------------------------------------------------------------- aerosol
DDV_MASK_VISIBILITY_KM: Final[float] = 23.0
"""Visibility of the B12/B8A surface reflectance used to select DDV pixels (facts §7.3 item 1)."""

DDV_NIR_SURFACE_MAX: Final[float] = 0.38
"""DDV pixels have ρ_surf(B8A at 23 km) below this (facts §7.3 item 2, §10)."""

DDV_MAX_SOLAR_ZENITH_DEG: Final[float] = 75.0
"""DDV requires cos(mean SZA) > cos 75° (facts §7.3 item 2, §10)."""

DDV_CLOUD_DISTANCE_M: Final[float] = 1000.0
"""Box size of the cloud-distance filter of DDV candidates (facts §7.3 item 2, §10)."""

DDV_CLOUD_DISTANCE_LEVEL: Final[float] = 5.0
"""Box mean of the 0/255 cloud mask above which a candidate is too close to a cloud (facts §7.3)."""

DDV_MAX_WATER_FRACTION: Final[float] = 0.99
"""Scenes with more water than this fraction of valid pixels get no DDV retrieval (facts §7.3 item 3)."""

DDV_ADJACENCY_WEIGHT: Final[float] = 0.5
"""Weight of q in the simplified adjacency term of the DDV and blue path-radiance equations (facts §7.3)."""

BLUE_SURFACE_OFFSET: Final[float] = 0.005
"""ρ_blue = ratio·ρ_red + 0.005 on DDV pixels (facts §7.3 item 9)."""

BRIGHT_RED_FACTOR: Final[float] = 5.0
"""Pixels brighter than 5× the mean DDV red radiance are excluded from the scene mean (blue scaling)."""

NEGATIVE_CHECK_MAX_PERCENT: Final[float] = 1.0
"""The negative-reflectance check raises visibility while more than 1 % of pixels are below cut-off."""

NEGATIVE_CHECK_MAX_ITER: Final[int] = 12
"""Maximum number of visibility increases of the negative-reflectance check (facts §7.3 item 7)."""

NEGATIVE_CHECK_REFL_CAP: Final[float] = 0.40
"""Reflectances are capped here before the adjacency mean of the negative check (cloud exclusion)."""

NEGATIVE_CHECK_FILTER_M: Final[float] = 1000.0
"""Gaussian σ of the negative-check adjacency mean (≈1 km; facts §7.3 item 7)."""

GREEN_RED_RATIO: Final[float] = 1.08
"""DDV Σρ_green must reach 1.08·Σρ_red, else visibility is raised (facts §7.3 item 7, §10)."""

GREEN_RED_MAX_ITER: Final[int] = 6
"""Maximum iterations of the green/red check (facts §7.3 item 7)."""

GREEN_RED_START: Final[tuple[float, float]] = (0.02, 0.01)
"""Start values (ρ_red, ρ_green) of the green/red iteration loop (Sen2Cor loop initialisation)."""

MAX_VISIBILITY_KM: Final[float] = 120.0
"""Highest LUT visibility; retrieved visibilities are capped here (facts §7.3 items 6, 7)."""

MIN_VISIBILITY_KM: Final[float] = 5.0
"""Lowest LUT visibility (facts §4)."""

EXTRAPOLATED_VISIBILITY_KM: Final[float] = 190.0
"""Beyond 120 km the DDV inversion extrapolates to this visibility (facts §7.3 item 5)."""

VISIBILITY_STEPS: Final[tuple[tuple[float, float | None], ...]] = (
    (23.0, None),
    (26.0, 3.0),
    (30.0, 4.0),
    (40.0, 5.0),
    (100.0, 10.0),
)
"""Visibility increase of the negative check: (below this km, add this km); None = jump to 23 km; else 120.

Facts §7.3 item 7, §10 ("visibility steps 23/+3/+4/+5/+10/120")."""

DBV_MIN_PIXELS: Final[int] = 5
"""Dense-bright-vegetation fallback needs at least 5 pixels (facts §7.3 "No DDV")."""

DBV_DARKEST_PIXELS: Final[int] = 10
"""The 10 darkest red DBV pixels are used (facts §7.3 "No DDV")."""

DBV_MIN_RED: Final[float] = 0.01
"""DBV pixels have TOA red above this (facts §7.3 "No DDV")."""

DBV_MAX_INCIDENCE_DIFF_DEG: Final[float] = 15.0
"""DBV pixels have |β − SZA| below this (facts §7.3 "No DDV")."""

DBV_MAX_VISIBILITY_KM: Final[float] = 80.0
"""The DBV visibility is adopted only up to 80 km (facts §7.3 "No DDV")."""

AOT_SMOOTHING_M: Final[float] = 100.0
"""Gaussian σ of the AOT map, at least 3 pixels (facts §7.3 item 11, §10)."""

AOT_SMOOTHING_MIN_PX: Final[int] = 3
"""Minimum Gaussian σ (pixels) of the AOT map (facts §7.3 item 11)."""

CAMS_MAX_VISIBILITY_KM: Final[float] = 650.0
"""CAMS visibilities are clipped to [0, 650] km (facts §7.4)."""

STANDARD_GRAVITY: Final[float] = 9.80665
"""m s⁻², converts CAMS geopotential (m² s⁻²) to height (facts §7.4)."""

# ----------------------------------------------------------------------------------------- water vapour
APDA_ALBEDO: Final[float] = 0.3
"""Reference surface albedo of the APDA look-up table (facts §7.5, §10)."""

APDA_ITERATIONS: Final[int] = 2
"""APDA iterations (facts §7.5, §10)."""

APDA_FIT_START: Final[tuple[float, float, float]] = (1.0, 0.01, 0.5)
"""Start values (a, b, c) of the fit R(u) = a·exp(−b·u^c) (facts §7.5)."""

APDA_RANGE_MARGIN: Final[tuple[float, float]] = (100.0, 1000.0)
"""Fit range [u_min − 100, u_max + 1000] (scaled WV, cm·1000; facts §7.5)."""

APDA_OFF_RANGE_SIGMA: Final[float] = 0.2
"""σ of fit points outside the range (Sen2Cor divides their σ by 5; facts §7.5 "weighted ×5")."""

APDA_WPOS_BOX_PX: Final[int] = 10
"""Box size smoothing the WV table position between iterations (facts §7.5)."""

APDA_MIN_LINES_FOR_SMOOTHING: Final[int] = 100
"""The WV position is only smoothed in cells with more than 100 lines (Sen2Cor APDA iteration)."""

APDA_HEIGHT_STEP_M: Final[float] = 500.0
"""Height levels of the APDA table: 0, 500, …, 3500 m (8 levels; facts §7.5)."""

APDA_HEIGHT_LEVELS: Final[int] = 8
"""Number of APDA height levels (6 LUT + 2 extrapolated; facts §7.5)."""

WV_SCALE: Final[float] = 1000.0
"""Water vapour is handled internally as cm·1000 (facts §7.5)."""

WV_DEFAULT_SCALED: Final[float] = 1000.0
"""WV of cells without land before filling (facts §7.5)."""

WV_MIN_SCALED: Final[float] = 10.0
"""Retrieved WV below this (cm·1000) is replaced by the scene mean (facts §7.5)."""

WV_DEPENDENT_BANDS: Final[tuple[str, ...]] = ("B05", "B06", "B07", "B09", "B10", "B11", "B12")
"""Bands corrected with per-pixel WV fits at 20/60 m (facts §7.5); all others use the base WV table."""

# ----------------------------------------------------------------------------------------- adjacency
ADJACENCY_EXCLUDED_UM: Final[tuple[tuple[float, float], ...]] = ((1.35, 1.45), (1.80, 1.95))
"""No adjacency correction in these absorption windows (facts §7.7)."""

ADJACENCY_MAX_WAVELENGTH_UM: Final[float] = 2.46
"""No adjacency correction beyond this wavelength (facts §7.7)."""

HIGH_CLOUD_FRACTION: Final[float] = 0.95
"""Adjacency is skipped when clouds exceed 95 % of cloud + clear land pixels (facts §7.7)."""

CLOUD_REPLACEMENT_FRACTION: Final[float] = 0.01
"""Clouds are replaced by the clear mean before box filters when above 1 % of valid pixels (facts §7.7)."""

BORDER_ADJACENCY_FACTOR: Final[float] = 0.1
"""Extra adjacency term near no-data borders: 0.1·q·(ρ − ρ̄) (facts §7.7)."""

BORDER_MASK_MAX: Final[float] = 250.0 / 255.0
"""Box mean of the valid mask below which a pixel counts as near the border (Sen2Cor: 0 < mask < 251/255)."""

# ----------------------------------------------------------------------------------------- cirrus
CIRRUS_THRESHOLDS: Final[tuple[float, float]] = (0.02, 0.014)
"""ρ_cir above which a pixel is cirrus (then the fallback); facts §7.8."""

CIRRUS_MIN_PIXELS: Final[int] = 10000
"""Cirrus pixels needed for the γ estimate (facts §7.8)."""

CIRRUS_CLEAR_LIMITS: Final[tuple[float, tuple[float, ...]]] = (0.001, (0.008, 0.010, 0.011))
"""Clear pixels: lower bound of ρ_cir and successive upper bounds (facts §7.8)."""

CIRRUS_MIN_CLEAR_PIXELS: Final[int] = 2000
"""Clear pixels needed for the γ estimate (facts §7.8)."""

CIRRUS_GAMMAS: Final[tuple[float, ...]] = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)
"""Tested γ values (facts §7.8)."""

CIRRUS_GAMMA_BANDS: Final[tuple[str, ...]] = ("B01", "B02", "B03")
"""Bands of the γ estimate (facts §7.8)."""

CIRRUS_SWIR_UM: Final[float] = 1.5
"""γ is doubled from this wavelength on (facts §7.8)."""

# ----------------------------------------------------------------------------------------- BRDF
BRDF_LEGACY_CODES: Final[dict[int, int]] = {3: 1, 4: 2, 5: 11, 6: 21, 7: 11, 8: 21, 9: 12, 10: 22}
"""Obsolete BRDF_Correction codes and their replacements (facts §7.9)."""

BRDF_THRESHOLD_ANGLES: Final[tuple[tuple[float, float], ...]] = (
    (35.0, 25.0),
    (45.0, 20.0),
    (50.0, 15.0),
    (60.0, 10.0),
)
"""β_T = SZA + offset for SZA below each limit; ≥ 60° → max(70, SZA + 5) (facts §7.9)."""

BRDF_HIGH_SZA: Final[tuple[float, float]] = (70.0, 5.0)
"""For SZA ≥ 60°: β_T = max(70°, SZA + 5°) (facts §7.9)."""

BRDF_VEGETATION_VIS_EXPONENT: Final[float] = 0.75
"""Vegetation exponent below 720 nm for codes > 10 (facts §7.9)."""

BRDF_VEGETATION_NIR_EXPONENTS: Final[dict[int, float]] = {1: 1.0 / 3.0, 2: 1.0}
"""Vegetation exponent above 720 nm for codes x1 / x2 (facts §7.9)."""

BRDF_NIR_SWITCH_UM: Final[float] = 0.72
"""Vegetation exponents switch at this wavelength (facts §7.9)."""

BRDF_VEGETATION_NIR_MIN: Final[float] = 0.1
"""Vegetation for BRDF: ρ_NIR above this (facts §7.9)."""

BRDF_VEGETATION_MEDIAN_PX: Final[int] = 5
"""Median filter cleaning the BRDF vegetation mask (facts §7.9)."""

BRDF_MAX_SNOW_FRACTION: Final[float] = 0.5
"""BRDF correction is disabled when snow covers more than half the valid pixels (facts §7.9)."""
