"""The four shipped GIPP templates: 2.11 defaults, XSD-valid, identical to a fresh rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from sen2cor.config.cal_gipp import AcGipp, ScGipp, read_ac_gipp, read_sc_gipp
from sen2cor.config.gipp import UserGipp, read_user_gipp
from sen2cor.config.gipp_writer import DEFAULT_RENDERERS, GIPP_FILE_NAMES, write_default_templates
from sen2cor.config.home import template_path
from sen2cor.config.pb_gipp import PbGipp, read_pb_gipp

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "schemas"


def _schema_dir(version: str) -> Path:
    folder = (REFERENCE / version).resolve()
    if not folder.is_dir():
        pytest.skip(f"missing resource: GIPP schemas not found at {folder} (clone the project beside shared/)")
    return folder


@pytest.mark.parametrize("name", GIPP_FILE_NAMES)
def test_template_validates_against_211_xsd(name: str) -> None:
    schema = etree.XMLSchema(etree.parse(str(_schema_dir("gipp-2.11") / name.replace(".xml", ".xsd"))))
    document = etree.parse(str(template_path(name)))
    assert schema.validate(document), str(schema.error_log)


@pytest.mark.parametrize("name", GIPP_FILE_NAMES)
def test_shipped_template_equals_fresh_rendering(name: str, tmp_path: Path) -> None:
    # The typed defaults are the single source; regenerate with python -m sen2cor.config.gipp_writer.
    assert template_path(name).read_bytes() == DEFAULT_RENDERERS[name]()
    written = write_default_templates(tmp_path)
    assert sorted(p.name for p in written) == sorted(GIPP_FILE_NAMES)


def test_templates_parse_to_the_typed_defaults() -> None:
    assert read_user_gipp(template_path("L2A_GIPP.xml")) == UserGipp()
    assert read_sc_gipp(template_path("L2A_CAL_SC_GIPP.xml")) == ScGipp()
    assert read_ac_gipp(template_path("L2A_CAL_AC_GIPP.xml")) == AcGipp()
    assert read_pb_gipp(template_path("L2A_PB_GIPP.xml")) == PbGipp()


def test_user_defaults_are_the_211_values() -> None:
    """facts §2.1 (2.11 SNAP template values)."""
    gipp = read_user_gipp(template_path("L2A_GIPP.xml"))
    assert gipp.log_level == "INFO"
    assert (gipp.roi.row0, gipp.roi.col0, gipp.roi.nrow_win, gipp.roi.ncol_win) == ("OFF", "OFF", 1200, 1200)
    assert gipp.roi.mode == "OFF"
    assert gipp.nr_threads is None  # AUTO
    assert gipp.dem_directory == "NONE" and not gipp.dem_enabled
    assert (gipp.generate_tci_output, gipp.generate_ddv_output, gipp.handle_l1c_qlt_mask) == (
        True,
        False,
        False,
    )
    assert gipp.downsample_20_to_60 and gipp.psd_version == "DEFAULT"
    assert [s.psd_version for s in gipp.psd_schemes] == ["14.2", "14.6", "14.7", "14.8", "14.9"]
    assert (gipp.aerosol_type, gipp.mid_latitude, gipp.ozone_content) == ("RURAL", "SUMMER", 0)
    assert (gipp.wv_correction, gipp.vis_update_mode, gipp.wv_watermask) == (1, 1, 1)
    assert not gipp.cirrus_correction and gipp.dem_terrain_correction
    assert (gipp.brdf_correction, gipp.brdf_lower_bound) == (0, 0.22)
    assert (gipp.adj_km, gipp.visibility_km, gipp.altitude_km) == (1.0, 40.0, 0.1)
    assert (gipp.smooth_wv_map_m, gipp.wv_threshold_cirrus_cm, gipp.database_compression_level) == (
        100.0,
        0.25,
        0,
    )


def test_calibration_defaults_are_the_211_values() -> None:
    """facts §2.2–§2.4."""
    sc = read_sc_gipp(template_path("L2A_CAL_SC_GIPP.xml"))
    assert sc.thresholds.t_cloud_mp == 0.20 and sc.thresholds.t_cloud_hp == 0.80
    assert sc.thresholds.t1_ndsi_cld == -0.24 and sc.thresholds.rv_b3 == 5.26667
    assert sc.classificator("WATER") == 6 and sc.classificator("SNOW_ICE") == 11
    assert sc.references.esacci_snowcondition_map_dir.endswith("MONTHLY-2000-2012-v2.4")
    ac = read_ac_gipp(template_path("L2A_CAL_AC_GIPP.xml"))
    assert ac.scaling_limiter and ac.scaling_disabler and ac.rho_retrieval_step2
    assert ac.lib_dir == "lib"
    assert [b.band_id for b in ac.bands][8] == "B8A"
    assert ac.band("B12").fwhm_um == 0.180 and ac.band("B12").c1 == 0.00005
    assert ac.band("B09").wavelength_um == 0.945
    assert (ac.min_sc_blu, ac.max_sc_blu) == (0.9, 1.1)
    assert ac.parameters.ac_cut_off_aot_iter_water == -0.005
    assert ac.parameters.ac_max_nr_topo_iter == 3
    assert ac.parameters.ac_spr_refl_promille == 0.3
    pb = read_pb_gipp(template_path("L2A_PB_GIPP.xml"))
    assert (pb.idp_sc_name, pb.idp_sc_version, pb.baseline_version) == ("Sen2Cor", "02.11.00", "99.99")


def test_sen2cor_28_gipps_are_accepted() -> None:
    """The 2.8 files (Ozone 331, no ROI/DOI/PSD_Version, lower-case AC flags) still parse."""
    folder = _schema_dir("gipp-2.8")
    user = read_user_gipp(folder / "L2A_GIPP.xml")
    assert user.ozone_content == 331
    assert user.roi == UserGipp().roi and user.psd_version == "DEFAULT"
    assert [s.psd_version for s in user.psd_schemes] == ["14.2", "14.5"]
    assert read_ac_gipp(folder / "L2A_CAL_AC_GIPP.xml") == AcGipp()
    sc = read_sc_gipp(folder / "L2A_CAL_SC_GIPP.xml")
    assert sc.thresholds == ScGipp().thresholds
    assert read_pb_gipp(folder / "L2A_PB_GIPP.xml").idp_sc_version == "02.08.00"
