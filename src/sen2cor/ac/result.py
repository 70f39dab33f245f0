"""Results of the atmospheric correction of one resolution: maps and the quality values (facts §8)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AcInfo:
    """Scalars of the AC run, as the quality report and metadata need them (facts §8).

    Attributes
    ----------
    ac_enabled : bool
        False when the AC was skipped (``skip_reason`` says why).
    aot_retrieval_method : str
        ``SEN2COR_DDV`` | ``CAMS`` | ``DEFAULT`` | ``NA``.
    wv_retrieval_method : str
        ``SEN2COR_APDA`` | ``NA``.
    start_visibility_km, visibility_from_ddv_km, final_visibility_km : float
        START_VISIBILITY_KM, VISIBILITY_FROM_DDV_KM, FINAL_VISIBILITY_KM.
    mean_visibility_index : int
        Scene visibility index (VISIBILITY_LESS_THAN_5_KM compares it with 5, facts §11 quirk 7).
    ddv_pixel_percentage : float
    ddv_reflectance_range : float
        DDV_REFLECTANCE_RANGE as Sen2Cor writes it (0 when the first B12 threshold sufficed).
    ddv_b12_threshold : float
        The B12 threshold actually used (0 without DDV).
    blue_path_radiance_factor : float
        Factor applied to the blue path radiance (1 when disabled).
    blue_path_radiance_factor_computed : float or None
        Scene/model ratio before the disabler/limiter.
    aerosol_double_ratio : float or None
    mean_aot : float
        GRANULE_MEAN_AOT (mean of the AOT map where > 0).
    mean_wv_cm : float
        GRANULE_MEAN_WV (cm).
    negative_boa_percent : dict
        Band id → % of valid pixels with negative BOA.
    lut_files : tuple of str
    aerosol_type, season : str
    ozone_du : float
    ozone_source : str
    average_solar_zenith_deg : float
    cirrus_gamma : float or None
    brdf_code : int
        BRDF code applied (0 = none).
    terrain_correction : bool
        Rugged-terrain equations used.
    skip_reason : str or None
    """

    ac_enabled: bool = True
    aot_retrieval_method: str = "NA"
    wv_retrieval_method: str = "NA"
    start_visibility_km: float = 0.0
    visibility_from_ddv_km: float = 0.0
    final_visibility_km: float = 0.0
    mean_visibility_index: int = 0
    ddv_pixel_percentage: float = 0.0
    ddv_reflectance_range: float = 0.0
    ddv_b12_threshold: float = 0.0
    blue_path_radiance_factor: float = 1.0
    blue_path_radiance_factor_computed: float | None = None
    aerosol_double_ratio: float | None = None
    mean_aot: float = 0.0
    mean_wv_cm: float = 0.0
    negative_boa_percent: dict[str, float] = field(default_factory=dict)
    lut_files: tuple[str, ...] = ()
    aerosol_type: str = ""
    season: str = ""
    ozone_du: float = 0.0
    ozone_source: str = ""
    average_solar_zenith_deg: float = 0.0
    cirrus_gamma: float | None = None
    brdf_code: int = 0
    terrain_correction: bool = False
    skip_reason: str | None = None

    @property
    def visibility_less_than_5_km(self) -> bool:
        """Sen2Cor's VISIBILITY_LESS_THAN_5_KM: the mean visibility *index* below 5 (facts §11 quirk 7)."""
        return self.mean_visibility_index < 5

    @property
    def aot_above_1(self) -> bool:
        return self.mean_aot > 1.0

    @property
    def wv_above_5_cm(self) -> bool:
        return self.mean_wv_cm > 5.0


@dataclass(frozen=True)
class AcResult:
    """Outputs of :func:`sen2cor.ac.correct.correct_resolution` at one resolution.

    Attributes
    ----------
    boa : dict of str → numpy.ndarray of float32
        Surface reflectance per band (tile shape), 0 = no data; empty when the AC was skipped.
    aot550 : numpy.ndarray of float32
        AOT at 550 nm (0 = no data).
    wv_cm : numpy.ndarray of float32
        Water-vapour column (cm; 0 = no data).
    vis_index : numpy.ndarray of uint8
        Visibility-index map (0 = no data) — reused by the 10 m run.
    ddv_mask : numpy.ndarray of bool
        DDV reference pixels (for MSK_DDVPXL).
    info : AcInfo
    resolution : int
        Pixel size (m) of the maps.
    """

    boa: dict[str, F32]
    aot550: F32
    wv_cm: F32
    vis_index: npt.NDArray[np.uint8]
    ddv_mask: npt.NDArray[np.bool_]
    info: AcInfo
    resolution: int
