"""The calibration GIPPs ``L2A_CAL_SC_GIPP.xml`` and ``L2A_CAL_AC_GIPP.xml``: typed, validated, frozen.

Values and ranges follow the 2.11 XSDs; the defaults are identical in Sen2Cor 2.8–2.11 (facts §2.2,
§2.3). The scene-classification thresholds become a :class:`sen2cor.sc.thresholds.ScThresholds`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Final

from sen2cor.bands import BAND_IDS, BANDS
from sen2cor.config.xmlio import XSD_BOOLEAN_WORDS, GippReader, parse_gipp
from sen2cor.errors import ConfigError, MetadataError
from sen2cor.sc.classes import SCENE_CLASSES
from sen2cor.sc.thresholds import ScThresholds

logger = logging.getLogger(__name__)

SC_GIPP_ROOT: Final[str] = "Level-2A_CAL_SC_Ground_Image_Processing_Parameter"
"""Root element of L2A_CAL_SC_GIPP.xml."""

AC_GIPP_ROOT: Final[str] = "Level-2A_CAL_AC_Ground_Image_Processing_Parameter"
"""Root element of L2A_CAL_AC_GIPP.xml."""

SC_THRESHOLD_RANGE: Final[tuple[float, float]] = (-10.0, 10.0)
"""Allowed range of every SC threshold (2.11 XSD simple type ``Th``)."""


# --- L2A_CAL_SC_GIPP.xml -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScReferences:
    """``Scene_Classification/References``: auxiliary map names (facts §2.2), in the aux-data folder."""

    snow_map: str = "GlobalSnowMap.tiff"
    esacci_waterbodies_map: str = "ESACCI-LC-L4-WB-Map-150m-P13Y-2000-v4.0.tif"
    esacci_landcover_map: str = "ESACCI-LC-L4-LCCS-Map-300m-P1Y-2015-v2.0.7.tif"
    esacci_snowcondition_map_dir: str = "ESACCI-LC-L4-Snow-Cond-500m-MONTHLY-2000-2012-v2.4"


SC_REFERENCE_ELEMENTS: Final[dict[str, str]] = {
    "snow_map": "Snow_Map",
    "esacci_waterbodies_map": "ESACCI_WaterBodies_Map",
    "esacci_landcover_map": "ESACCI_LandCover_Map",
    "esacci_snowcondition_map_dir": "ESACCI_SnowCondition_Map_Dir",
}
"""Field of :class:`ScReferences` → element name."""

DEFAULT_CLASSIFICATORS: Final[tuple[tuple[str, int], ...]] = SCENE_CLASSES
"""``Classificators``: (class name, SCL code) pairs, fixed by the 2.11 XSD enumerations (facts §2.2)."""


@dataclass(frozen=True)
class ScGipp:
    """Parsed ``L2A_CAL_SC_GIPP.xml``."""

    references: ScReferences = field(default_factory=ScReferences)
    classificators: tuple[tuple[str, int], ...] = DEFAULT_CLASSIFICATORS
    """(class name, SCL code) pairs in document order."""
    thresholds: ScThresholds = field(default_factory=ScThresholds)

    def classificator(self, name: str) -> int:
        """SCL code of the class ``name`` (e.g. ``"WATER"`` → 6)."""
        return dict(self.classificators)[name]


def _read_classificators(reader: GippReader) -> tuple[tuple[str, int], ...]:
    for name, code in DEFAULT_CLASSIFICATORS:
        reader.integer_choice(name, (code,))
    return DEFAULT_CLASSIFICATORS


def _read_thresholds(reader: GippReader) -> ScThresholds:
    by_element = ScThresholds.gipp_names()
    present = set(reader.child_tags())
    for tag in sorted(present - set(by_element)):
        logger.warning("%s: unknown threshold <%s> ignored", reader.file_name, tag)
    low, high = SC_THRESHOLD_RANGE
    values = {}
    for element, name in by_element.items():
        if element not in present:
            raise MetadataError(f"{reader.file_name}: required element <{reader.path}/{element}> is missing")
        values[name] = reader.number(element, low, high)
    return ScThresholds(**values)


def read_sc_gipp(path: Path) -> ScGipp:
    """Read and validate a scene-classification GIPP (``L2A_CAL_SC_GIPP.xml``).

    Raises
    ------
    MetadataError
        Malformed XML, entities, wrong root element or a missing element.
    ConfigError
        A threshold outside [-10, 10], a classificator other than its fixed SCL code, an empty reference.
    """
    top = GippReader(path.name, parse_gipp(path, SC_GIPP_ROOT))
    sc = top.child("Scene_Classification")
    refs = sc.child("References")
    references = ScReferences(**{key: refs.string(tag) for key, tag in SC_REFERENCE_ELEMENTS.items()})
    return ScGipp(
        references=references,
        classificators=_read_classificators(sc.child("Classificators")),
        thresholds=_read_thresholds(sc.child("Thresholds")),
    )


# --- L2A_CAL_AC_GIPP.xml -------------------------------------------------------------------------------


def _ac(element: str, group: str, default: float, low: float, high: float) -> float:
    """Declare one ``AC_*`` parameter: GIPP element, ``ACL_Prio_*`` group and XSD range."""
    return field(default=default, metadata={"gipp": element, "group": group, "range": (low, high)})


@dataclass(frozen=True)
class AcParameters:
    """The ``AC_*`` parameters of ``ACL_Prio_1..3`` (2.11 defaults and XSD ranges, facts §2.3).

    Field names are the element names lower-cased; ``field.metadata`` holds ``gipp``, ``group``, ``range``.
    """

    ac_min_ddv_area: float = _ac("AC_Min_Ddv_Area", "ACL_Prio_1", 2.0, 0, 100)
    """Minimum DDV pixel percentage (of non-background, non-water pixels)."""
    ac_swir_refl_lower_th: float = _ac("AC_Swir_Refl_Lower_Th", "ACL_Prio_1", 0.01, 0, 1)
    ac_swir_22um_red_refl_ratio: float = _ac("AC_Swir_22um_Red_Refl_Ratio", "ACL_Prio_1", 0.5, 0.4, 0.6)
    ac_red_blue_refl_ratio: float = _ac("AC_Red_Blue_Refl_Ratio", "ACL_Prio_1", 0.5, -1, 1)
    ac_cut_off_aot_iter_vegetation: float = _ac("AC_Cut_Off_Aot_Iter_Vegetation", "ACL_Prio_1", 0.01, -1, 1)
    ac_cut_off_aot_iter_water: float = _ac("AC_Cut_Off_Aot_Iter_Water", "ACL_Prio_1", -0.005, -1, 1)
    ac_aerosol_type_ratio_th: float = _ac("AC_Aerosol_Type_Ratio_Th", "ACL_Prio_1", 0.05, -1, 1)
    ac_topo_corr_th: float = _ac("AC_Topo_Corr_Th", "ACL_Prio_1", 0.01, 0, 1)
    ac_slope_th: float = _ac("AC_Slope_Th", "ACL_Prio_1", 6.0, 0, 90)
    """Slope threshold (compared with radians in Sen2Cor, facts §11 quirk 4)."""
    ac_dem_p2p_val: float = _ac("AC_Dem_P2p_Val", "ACL_Prio_1", 50.0, 0, 300)
    """DEM peak-to-peak value in metres below which the terrain is quasi-flat."""
    ac_swir_refl_ndvi_th: float = _ac("AC_Swir_Refl_Ndvi_Th", "ACL_Prio_2", 0.10, 0, 1)
    ac_ddv_swir_refl_th1: float = _ac("AC_Ddv_Swir_Refl_Th1", "ACL_Prio_2", 0.05, 0, 1)
    ac_ddv_swir_refl_th2: float = _ac("AC_Ddv_Swir_Refl_Th2", "ACL_Prio_2", 0.10, 0, 1)
    ac_ddv_swir_refl_th3: float = _ac("AC_Ddv_Swir_Refl_Th3", "ACL_Prio_2", 0.12, 0, 1)
    ac_ddv_16um_refl_th1: float = _ac("AC_Ddv_16um_Refl_Th1", "ACL_Prio_2", 0.10, 0, 1)
    ac_ddv_16um_refl_th2: float = _ac("AC_Ddv_16um_Refl_Th2", "ACL_Prio_2", 0.15, 0, 1)
    ac_ddv_16um_refl_th3: float = _ac("AC_Ddv_16um_Refl_Th3", "ACL_Prio_2", 0.18, 0, 1)
    ac_dbv_nir_refl_th: float = _ac("AC_Dbv_Nir_Refl_Th", "ACL_Prio_2", 0.35, 0, 1)
    ac_dbv_ndvi_th: float = _ac("AC_Dbv_Ndvi_Th", "ACL_Prio_2", 0.66, 0, 1)
    ac_red_ref_refl_th: float = _ac("AC_Red_Ref_Refl_Th", "ACL_Prio_2", 0.02, 0, 1)
    ac_dbv_red_veget_tst_ndvi_th: float = _ac("AC_Dbv_Red_Veget_Tst_Ndvi_Th", "ACL_Prio_2", 0.40, 0, 1)
    ac_dbv_red_veget_refl_th: float = _ac("AC_Dbv_Red_Veget_Refl_Th", "ACL_Prio_2", 0.15, 0, 1)
    ac_wv_iter_start_summer: float = _ac("AC_Wv_Iter_Start_Summer", "ACL_Prio_2", 1.0, 0, 5)
    """Water-vapour start value in cm (summer)."""
    ac_wv_iter_start_winter: float = _ac("AC_Wv_Iter_Start_Winter", "ACL_Prio_2", 0.4, 0, 5)
    """Water-vapour start value in cm (winter)."""
    ac_rng_nbhd_terrain_corr: float = _ac("AC_Rng_Nbhd_Terrain_Corr", "ACL_Prio_2", 0.5, 0, 1)
    """Terrain-correction neighbourhood radius in km."""
    ac_max_nr_topo_iter: float = _ac("AC_Max_Nr_Topo_Iter", "ACL_Prio_2", 3.0, 0, 9)
    """Maximum number of terrain iterations (> 0 enables them); an ``xs:float`` in the XSD."""
    ac_topo_corr_cutoff: float = _ac("AC_Topo_Corr_Cutoff", "ACL_Prio_2", 1.5, 0, 10)
    ac_vegetation_index_th: float = _ac("AC_Vegetation_Index_Th", "ACL_Prio_2", 3.0, 1, 10)
    ac_limit_area_path_rad_scale: float = _ac("AC_Limit_Area_Path_Rad_Scale", "ACL_Prio_3", 0.0, 0, 90)
    ac_ddv_smooting_window: float = _ac("AC_Ddv_Smooting_Window", "ACL_Prio_3", 1.0, 0, 10)
    """Smoothing window of the visibility-index map in km (Sen2Cor's spelling of the element)."""
    ac_terrain_refl_start: float = _ac("AC_Terrain_Refl_Start", "ACL_Prio_3", 0.1, 0, 1)
    ac_spr_refl_percentage: float = _ac("AC_Spr_Refl_Percentage", "ACL_Prio_3", 0.25, 0, 1)
    ac_spr_refl_promille: float = _ac("AC_Spr_Refl_Promille", "ACL_Prio_3", 0.3, 0, 1)


AC_GROUPS: Final[tuple[str, ...]] = ("ACL_Prio_1", "ACL_Prio_2", "ACL_Prio_3")
"""``AC_*`` parameter groups in document order."""

CALIBRATION_C1_DEFAULTS: Final[dict[str, float]] = {
    "B10": 0.0005,
    "B11": 0.0002,
    "B12": 0.00005,
}
"""Legacy radiance-calibration gain c1 where it differs from 0.001 (facts §2.3; effectively unused)."""
CALIBRATION_C1_OTHER: Final[float] = 0.001

BLUE_SCALE_LIMITS: Final[tuple[float, float]] = (0.9, 1.1)
"""Defaults of ``min_sc_blu`` / ``max_sc_blu`` (blue path-radiance scale limits, facts §2.3)."""


@dataclass(frozen=True)
class AcSensorBand:
    """One entry of the AC GIPP sensor band lists (order B01…B12, B8A after B08)."""

    band_id: str
    fwhm_um: float
    wavelength_um: float
    c0: float = 0.0
    c1: float = CALIBRATION_C1_OTHER


DEFAULT_AC_BANDS: Final[tuple[AcSensorBand, ...]] = tuple(
    AcSensorBand(
        b.id, b.fwhm_um, b.wavelength_um, 0.0, CALIBRATION_C1_DEFAULTS.get(b.id, CALIBRATION_C1_OTHER)
    )
    for b in BANDS
)


@dataclass(frozen=True)
class AcGipp:
    """Parsed ``L2A_CAL_AC_GIPP.xml`` (facts §2.3)."""

    scaling_limiter: bool = True
    scaling_disabler: bool = True
    rho_retrieval_step2: bool = True
    """Run the terrain/adjacency step 2 (facts §7.7)."""
    lib_dir: str = "lib"
    """LUT library folder name."""
    bands: tuple[AcSensorBand, ...] = DEFAULT_AC_BANDS
    min_sc_blu: float = BLUE_SCALE_LIMITS[0]
    max_sc_blu: float = BLUE_SCALE_LIMITS[1]
    parameters: AcParameters = field(default_factory=AcParameters)

    def band(self, band_id: str) -> AcSensorBand:
        """The sensor entry of ``band_id`` (e.g. ``"B8A"``)."""
        for entry in self.bands:
            if entry.band_id == band_id:
                return entry
        raise KeyError(band_id)


def _band_list(reader: GippReader, tag: str) -> list[GippReader]:
    entries = list(reader.child("Band_List").children(tag))
    if len(entries) != len(BAND_IDS):
        raise MetadataError(
            f"{reader.file_name}: <{reader.path}/Band_List> has {len(entries)} <{tag}> entries; "
            f"expected {len(BAND_IDS)} (one per band {', '.join(BAND_IDS)})"
        )
    return entries


def _read_bands(sensor: GippReader) -> tuple[AcSensorBand, ...]:
    fwhms = _band_list(sensor.child("Resolution"), "fwhm")
    waves = _band_list(sensor.child("Calibration"), "wavelength")
    bands = []
    for band_id, fwhm, wave in zip(BAND_IDS, fwhms, waves, strict=True):
        coefficients = []
        for name in ("c0", "c1"):
            text = wave.attribute(name)
            if text is None:
                raise MetadataError(
                    f"{wave.file_name}: attribute {name} of <wavelength> ({band_id}) is missing"
                )
            coefficients.append(wave.number_value(f"wavelength {name} ({band_id})", text, 0.0, 1.0))
        bands.append(
            AcSensorBand(
                band_id=band_id,
                fwhm_um=fwhm.number_value(f"fwhm ({band_id})", fwhm.own_text(), 0.0, 1.0),
                wavelength_um=wave.number_value(f"wavelength ({band_id})", wave.own_text(), 0.0, 10.0),
                c0=coefficients[0],
                c1=coefficients[1],
            )
        )
    return tuple(bands)


def _read_parameters(top: GippReader) -> AcParameters:
    values = {}
    for f in fields(AcParameters):
        low, high = f.metadata["range"]
        values[f.name] = top.child(f.metadata["group"]).number(f.metadata["gipp"], low, high)
    return AcParameters(**values)


def read_ac_gipp(path: Path) -> AcGipp:
    """Read and validate an atmospheric-correction GIPP (``L2A_CAL_AC_GIPP.xml``).

    Raises
    ------
    MetadataError
        Malformed XML, entities, wrong root element, a missing element or a band list without 13 entries.
    ConfigError
        A value outside its 2.11 XSD range.
    """
    top = GippReader(path.name, parse_gipp(path, AC_GIPP_ROOT))
    flags = top.child("Flags")
    sensor = top.child("Sensor")
    calibration = sensor.child("Calibration")
    min_blu = calibration.number("min_sc_blu", 0.0, 1.0, low_open=True, high_open=True)
    max_blu = calibration.number("max_sc_blu", 1.0, 2.0, low_open=True, high_open=True)
    lib_dir = top.string("References/Lib_Dir")
    if "/" in lib_dir or "\\" in lib_dir or lib_dir in (".", ".."):
        raise ConfigError(
            f"{top.file_name}: <Lib_Dir> '{lib_dir}' is not allowed; expected a plain folder name"
        )
    return AcGipp(
        scaling_limiter=flags.boolean("Scaling_Limiter", XSD_BOOLEAN_WORDS),
        scaling_disabler=flags.boolean("Scaling_Disabler", XSD_BOOLEAN_WORDS),
        rho_retrieval_step2=flags.boolean("Rho_Retrieval_Step2", XSD_BOOLEAN_WORDS),
        lib_dir=lib_dir,
        bands=_read_bands(sensor),
        min_sc_blu=min_blu,
        max_sc_blu=max_blu,
        parameters=_read_parameters(top),
    )
