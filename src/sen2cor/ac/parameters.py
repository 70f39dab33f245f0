"""The atmospheric-correction settings: every AC element of ``L2A_GIPP.xml`` and ``L2A_CAL_AC_GIPP.xml``.

:class:`AcParameters` is frozen; its field names are the GIPP element names lower-cased and each field's
metadata names the element (``gipp``) and the facts section (``facts``).  The pipeline builds it from the
parsed GIPPs (``AcParameters(**values)``); the defaults are Sen2Cor 2.11's (facts §2.1, §2.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Final

from sen2cor.errors import ConfigError

_USER = "L2A_GIPP.xml"
_CAL = "L2A_CAL_AC_GIPP.xml"


def _p(default: Any, element: str, facts: str, gipp_file: str = _CAL) -> Any:
    return field(default=default, metadata={"gipp": element, "file": gipp_file, "facts": facts})


AEROSOL_TYPES: Final[tuple[str, ...]] = ("RURAL", "MARITIME", "AUTO")
"""Allowed ``Aerosol_Type`` values (facts §2.1)."""

MID_LATITUDES: Final[tuple[str, ...]] = ("SUMMER", "WINTER", "AUTO")
"""Allowed ``Mid_Latitude`` values (facts §2.1)."""

_MISSING = object()

BRDF_CODES: Final[tuple[int, ...]] = (0, 1, 2, 11, 12, 21, 22)
"""``BRDF_Correction`` codes of the 2.11 XSD (legacy 3–10 are remapped, facts §7.9)."""


@dataclass(frozen=True)
class AcParameters:
    """Atmospheric-correction parameters (2.11 defaults).

    Reflectances are unitless (0–1), distances in km unless the name says otherwise.
    """

    # ------------------------------------------------------------------ L2A_GIPP.xml
    aerosol_type: str = _p("RURAL", "Aerosol_Type", "§2.1", _USER)
    mid_latitude: str = _p("SUMMER", "Mid_Latitude", "§2.1", _USER)
    ozone_content: int = _p(0, "Ozone_Content", "§2.1, §5 item 5", _USER)
    """DU; 0 = take the ozone from the L1C ECMWF auxiliary data."""
    wv_correction: int = _p(1, "WV_Correction", "§2.1", _USER)
    """0 = no water-vapour retrieval, 1 = APDA with the 940 nm band."""
    vis_update_mode: int = _p(1, "VIS_Update_Mode", "§2.1", _USER)
    """0 = constant visibility, 1 = variable (DDV)."""
    wv_watermask: int = _p(1, "WV_Watermask", "§2.1, §7.5", _USER)
    """0 = none, 1 = land average replaces non-land, 2 = line average (behaves like 1)."""
    cirrus_correction: bool = _p(False, "Cirrus_Correction", "§2.1, §7.8", _USER)
    dem_terrain_correction: bool = _p(True, "DEM_Terrain_Correction", "§2.1, §7.1", _USER)
    brdf_correction: int = _p(0, "BRDF_Correction", "§2.1, §7.9", _USER)
    brdf_lower_bound: float = _p(0.22, "BRDF_Lower_Bound", "§2.1, §7.9", _USER)
    adj_km: float = _p(1.0, "Adj_Km", "§2.1, §7.7", _USER)
    visibility: float = _p(40.0, "Visibility", "§2.1, §7.3", _USER)
    """Start visibility (km); a negative value forces a constant visibility of |value|."""
    altitude: float = _p(0.1, "Altitude", "§2.1, §7.1", _USER)
    """Flat-terrain elevation (km) when there is no DEM."""
    smooth_wv_map: float = _p(100.0, "Smooth_WV_Map", "§2.1, §7.5, §11 quirk 6", _USER)
    """m; any value > 0 switches a fixed 3×3 median on."""
    wv_threshold_cirrus: float = _p(0.25, "WV_Threshold_Cirrus", "§2.1, §7.8, §11 quirk 8", _USER)
    """cm; parsed but unused, as in Sen2Cor."""

    # ------------------------------------------------------------------ L2A_CAL_AC_GIPP.xml flags
    scaling_limiter: bool = _p(True, "Scaling_Limiter", "§2.3, §7.3 item 9")
    scaling_disabler: bool = _p(True, "Scaling_Disabler", "§2.3, §7.3 item 9")
    rho_retrieval_step2: bool = _p(True, "Rho_Retrieval_Step2", "§2.3, §7.7")
    min_sc_blu: float = _p(0.9, "min_sc_blu", "§2.3")
    max_sc_blu: float = _p(1.1, "max_sc_blu", "§2.3")

    # ------------------------------------------------------------------ L2A_CAL_AC_GIPP.xml AC_*
    ac_min_ddv_area: float = _p(2.0, "AC_Min_Ddv_Area", "§2.3, §7.3 item 3")
    ac_swir_refl_lower_th: float = _p(0.01, "AC_Swir_Refl_Lower_Th", "§2.3, §7.3 item 2")
    ac_swir_22um_red_refl_ratio: float = _p(0.5, "AC_Swir_22um_Red_Refl_Ratio", "§2.3, §7.3 item 4")
    ac_red_blue_refl_ratio: float = _p(0.5, "AC_Red_Blue_Refl_Ratio", "§2.3, §7.3 item 9")
    ac_cut_off_aot_iter_vegetation: float = _p(0.01, "AC_Cut_Off_Aot_Iter_Vegetation", "§2.3, §7.3 item 7")
    ac_cut_off_aot_iter_water: float = _p(-0.005, "AC_Cut_Off_Aot_Iter_Water", "§2.3, §7.3 item 7")
    ac_aerosol_type_ratio_th: float = _p(0.05, "AC_Aerosol_Type_Ratio_Th", "§2.3, §7.3 item 9")
    ac_topo_corr_th: float = _p(0.01, "AC_Topo_Corr_Th", "§2.3, §7.1")
    ac_slope_th: float = _p(6.0, "AC_Slope_Th", "§2.3, §7.1, §11 quirk 4")
    ac_dem_p2p_val: float = _p(50.0, "AC_Dem_P2p_Val", "§2.3, §7.1")
    ac_swir_refl_ndvi_th: float = _p(0.10, "AC_Swir_Refl_Ndvi_Th", "§2.3, §7.3 item 2")
    ac_ddv_swir_refl_th1: float = _p(0.05, "AC_Ddv_Swir_Refl_Th1", "§2.3, §7.3 item 3")
    ac_ddv_swir_refl_th2: float = _p(0.10, "AC_Ddv_Swir_Refl_Th2", "§2.3, §7.3 item 3")
    ac_ddv_swir_refl_th3: float = _p(0.12, "AC_Ddv_Swir_Refl_Th3", "§2.3, §7.3 item 3")
    ac_ddv_16um_refl_th1: float = _p(0.10, "AC_Ddv_16um_Refl_Th1", "§2.3, §11 quirk 5")
    """Doubles as the TOA-red ≤ 0.10 DDV test (facts §11 quirk 5)."""
    ac_ddv_16um_refl_th2: float = _p(0.15, "AC_Ddv_16um_Refl_Th2", "§2.3, §11 quirk 5")
    ac_ddv_16um_refl_th3: float = _p(0.18, "AC_Ddv_16um_Refl_Th3", "§2.3, §11 quirk 5")
    ac_dbv_nir_refl_th: float = _p(0.35, "AC_Dbv_Nir_Refl_Th", "§2.3, §7.3 No DDV")
    ac_dbv_ndvi_th: float = _p(0.66, "AC_Dbv_Ndvi_Th", "§2.3, §7.3 No DDV")
    ac_red_ref_refl_th: float = _p(0.02, "AC_Red_Ref_Refl_Th", "§2.3, §7.3 No DDV")
    ac_dbv_red_veget_tst_ndvi_th: float = _p(0.40, "AC_Dbv_Red_Veget_Tst_Ndvi_Th", "§2.3 (unused)")
    ac_dbv_red_veget_refl_th: float = _p(0.15, "AC_Dbv_Red_Veget_Refl_Th", "§2.3 (unused)")
    ac_wv_iter_start_summer: float = _p(1.0, "AC_Wv_Iter_Start_Summer", "§2.3")
    ac_wv_iter_start_winter: float = _p(0.4, "AC_Wv_Iter_Start_Winter", "§2.3")
    ac_rng_nbhd_terrain_corr: float = _p(0.5, "AC_Rng_Nbhd_Terrain_Corr", "§2.3, §7.7")
    ac_max_nr_topo_iter: float = _p(3.0, "AC_Max_Nr_Topo_Iter", "§2.3, §7.7")
    """> 0 enables the terrain iteration."""
    ac_topo_corr_cutoff: float = _p(1.5, "AC_Topo_Corr_Cutoff", "§2.3, §7.6")
    """Upper cap of the surface reflectance."""
    ac_vegetation_index_th: float = _p(3.0, "AC_Vegetation_Index_Th", "§2.3, §7.9")
    ac_limit_area_path_rad_scale: float = _p(0.0, "AC_Limit_Area_Path_Rad_Scale", "§2.3 (unused)")
    ac_ddv_smooting_window: float = _p(1.0, "AC_Ddv_Smooting_Window", "§2.3, §7.3 item 10")
    ac_terrain_refl_start: float = _p(0.1, "AC_Terrain_Refl_Start", "§2.3, §7.6")
    ac_spr_refl_percentage: float = _p(0.25, "AC_Spr_Refl_Percentage", "§2.3, §7.3 item 9")
    ac_spr_refl_promille: float = _p(0.3, "AC_Spr_Refl_Promille", "§2.3, §7.3 item 9")

    def __post_init__(self) -> None:
        if self.aerosol_type.upper() not in AEROSOL_TYPES:
            raise ConfigError(f"{_USER}: <Aerosol_Type> {self.aerosol_type!r} is not one of {AEROSOL_TYPES}")
        if self.mid_latitude.upper() not in MID_LATITUDES:
            raise ConfigError(f"{_USER}: <Mid_Latitude> {self.mid_latitude!r} is not one of {MID_LATITUDES}")
        if self.wv_correction not in (0, 1, 2, 3, 4):
            raise ConfigError(f"{_USER}: <WV_Correction> {self.wv_correction!r} is not 0 or 1")
        if self.vis_update_mode not in (0, 1):
            raise ConfigError(f"{_USER}: <VIS_Update_Mode> {self.vis_update_mode!r} is not 0 or 1")
        if self.wv_watermask not in (0, 1, 2):
            raise ConfigError(f"{_USER}: <WV_Watermask> {self.wv_watermask!r} is not 0, 1 or 2")
        if self.brdf_correction < 0:
            raise ConfigError(f"{_USER}: <BRDF_Correction> {self.brdf_correction!r} cannot be negative")
        if self.adj_km < 0:
            raise ConfigError(f"{_USER}: <Adj_Km> {self.adj_km!r} cannot be negative")
        if self.altitude < 0:
            raise ConfigError(f"{_USER}: <Altitude> {self.altitude!r} cannot be negative")

    @classmethod
    def gipp_names(cls) -> dict[str, str]:
        """GIPP element name → field name (for building the object from parsed GIPPs)."""
        return {f.metadata["gipp"]: f.name for f in fields(cls)}

    @classmethod
    def from_gipps(cls, user: object, cal: object | None = None) -> AcParameters:
        """Build from the parsed user GIPP and CAL_AC GIPP objects of :mod:`sen2cor.config` (duck-typed).

        Each field is looked up by name on ``user`` (also with a unit suffix ``_km``/``_m``/``_cm``, e.g.
        ``visibility_km``), then on ``cal`` and ``cal.parameters``; missing ones keep their default.
        """
        sources = [user, cal, getattr(cal, "parameters", None)]
        values: dict[str, Any] = {}
        for f in fields(cls):
            for src in sources:
                if src is None:
                    continue
                hit = next((getattr(src, n) for n in (f.name, f.name + "_km", f.name + "_m", f.name + "_cm")
                            if hasattr(src, n)), _MISSING)
                if hit is not _MISSING:
                    values[f.name] = hit
                    break
        return cls(**values)

    @property
    def brdf_code(self) -> int:
        """``BRDF_Correction`` with legacy codes 3–10 remapped and codes > 22 disabled (facts §7.9)."""
        from sen2cor.ac.constants import BRDF_LEGACY_CODES

        code = int(self.brdf_correction)
        if code > max(BRDF_CODES):
            return 0
        return BRDF_LEGACY_CODES.get(code, code)

    @property
    def constant_visibility(self) -> bool:
        """True when the visibility is not retrieved (VIS_Update_Mode 0 or a negative Visibility)."""
        return self.vis_update_mode == 0 or self.visibility < 0

    def wv_start_cm(self, season: str) -> float:
        """Start / fallback water vapour (cm) of the season (``AC_Wv_Iter_Start_*``)."""
        return self.ac_wv_iter_start_summer if season.upper() == "SUMMER" else self.ac_wv_iter_start_winter
