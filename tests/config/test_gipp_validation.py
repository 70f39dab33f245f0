"""Every GIPP value is checked against its allowed set or range; structure errors name file and element."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from gipp_edit import edited_gipp

from sen2cor.config.cal_gipp import read_ac_gipp, read_sc_gipp
from sen2cor.config.gipp import read_user_gipp
from sen2cor.config.pb_gipp import normalise_baseline, read_pb_gipp
from sen2cor.errors import ConfigError, MetadataError

USER = "L2A_GIPP.xml"


def test_error_message_names_file_element_value_and_allowed(tmp_path: Path) -> None:
    path = edited_gipp(tmp_path, USER, {"Aerosol_Type": "FOO"})
    with pytest.raises(ConfigError) as err:
        read_user_gipp(path)
    assert (
        str(err.value)
        == "L2A_GIPP.xml: <Aerosol_Type> 'FOO' is not allowed; expected one of RURAL, MARITIME, AUTO"
    )


@pytest.mark.parametrize(
    ("element", "value", "expected"),
    [
        ("Log_Level", "VERBOSE", "one of NOTSET, DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("row0", "5491", "OFF, AUTO or an integer from 0 to 10980 divisible by 6"),
        ("row0", "10986", "OFF, AUTO or an integer from 0 to 10980 divisible by 6"),
        ("col0", "-6", "OFF, AUTO or an integer from 0 to 10980 divisible by 6"),
        ("nrow_win", "1201", "an integer from 6 to 10980 divisible by 6"),
        ("ncol_win", "AUTO", "an integer from 6 to 10980 divisible by 6"),
        ("nrow_win", "0", "an integer from 6 to 10980 divisible by 6"),
        ("Nr_Threads", "9", "an integer from 1 to 8"),
        ("Nr_Threads", "0", "an integer from 1 to 8"),
        ("Generate_TCI_Output", "YES", "one of TRUE, FALSE"),
        ("Downsample_20_to_60", "", "one of TRUE, FALSE"),
        ("PSD_Version", "14.5", "one of DEFAULT, 14.6, 14.7, 14.8, 14.9, 15.0"),
        ("Median_Filter", "11", "an integer from 0 to 10"),
        ("Mid_Latitude", "SPRING", "one of SUMMER, WINTER, AUTO"),
        ("Ozone_Content", "300", "one of 0, 250, 290, 330, 331, 370, 377, 410, 420, 450, 460"),
        ("WV_Correction", "2", "an integer from 0 to 1"),
        ("VIS_Update_Mode", "2", "an integer from 0 to 1"),
        ("WV_Watermask", "3", "an integer from 0 to 2"),
        ("Cirrus_Correction", "1", "one of TRUE, FALSE"),
        ("BRDF_Correction", "13", "one of 0, 1, 2, 11, 12, 21, 22 (legacy 3-10 are remapped)"),
        ("BRDF_Lower_Bound", "0.3", "a number from 0.1 to 0.25"),
        ("Adj_Km", "10.5", "a number from 0 to 10"),
        ("Visibility", "4", "a number from 5 to 120 km (negative: forced constant visibility)"),
        ("Visibility", "121", "a number from 5 to 120 km (negative: forced constant visibility)"),
        ("Visibility", "-130", "a number from 5 to 120 km (negative: forced constant visibility)"),
        ("Altitude", "2.6", "a number from 0 to 2.5"),
        ("Altitude", "nan", "a number from 0 to 2.5"),
        ("Smooth_WV_Map", "301", "a number from 0 to 300"),
        ("WV_Threshold_Cirrus", "0.05", "a number from 0.1 to 1"),
        ("Database_Compression_Level", "10", "an integer from 0 to 9"),
        ("DEM_Directory", "", "a non-empty string"),
    ],
)
def test_user_value_outside_allowed_set(tmp_path: Path, element: str, value: str, expected: str) -> None:
    path = edited_gipp(tmp_path, USER, {element: value})
    with pytest.raises(ConfigError) as err:
        read_user_gipp(path)
    assert str(err.value) == f"L2A_GIPP.xml: <{element}> '{value}' is not allowed; expected {expected}"


def test_user_values_inside_allowed_ranges(tmp_path: Path) -> None:
    path = edited_gipp(
        tmp_path,
        USER,
        {
            "Log_Level": "debug",
            "row0": "5490",
            "col0": "0",
            "nrow_win": "10980",
            "ncol_win": "600",
            "Nr_Threads": "8",
            "PSD_Version": "15.0",
            "Aerosol_Type": "MARITIME",
            "Mid_Latitude": "WINTER",
            "Ozone_Content": "377",
            "BRDF_Correction": "22",
            "Visibility": "-23.5",
            "DEM_Directory": "dem/srtm",
            "Generate_DEM_Output": "true",
        },
    )
    gipp = read_user_gipp(path)
    assert gipp.log_level == "DEBUG"
    assert (gipp.roi.row0, gipp.roi.col0, gipp.roi.nrow_win, gipp.roi.ncol_win) == (5490, 0, 10980, 600)
    assert gipp.roi.mode == "FIXED"
    assert gipp.nr_threads == 8
    assert gipp.psd_version == "15.0"
    assert (gipp.aerosol_type, gipp.mid_latitude, gipp.ozone_content) == ("MARITIME", "WINTER", 377)
    assert gipp.brdf_correction == 22
    assert gipp.visibility_km == -23.5
    assert gipp.dem_enabled and gipp.generate_dem_output


def test_roi_midpoints_must_agree(tmp_path: Path) -> None:
    path = edited_gipp(tmp_path, USER, {"row0": "600", "col0": "OFF"})
    with pytest.raises(ConfigError, match=r"<row0> '600' and <col0> 'OFF' do not agree"):
        read_user_gipp(path)


@pytest.mark.parametrize(
    ("legacy", "code"), [(3, 1), (4, 2), (5, 11), (6, 21), (7, 11), (8, 21), (9, 12), (10, 22)]
)
def test_legacy_brdf_codes_are_remapped_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, legacy: int, code: int
) -> None:
    path = edited_gipp(tmp_path, USER, {"BRDF_Correction": str(legacy)})
    with caplog.at_level(logging.INFO, logger="sen2cor.config"):
        assert read_user_gipp(path).brdf_correction == code
    assert f"legacy <BRDF_Correction> {legacy} is treated as {code}" in caplog.text


def test_older_gipp_with_nr_processes_and_without_211_elements(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = edited_gipp(
        tmp_path,
        USER,
        values={"Nr_Threads": "16"},
        remove=("Region_Of_Interest", "Product_DOI", "PSD_Version", "Database_Compression_Level"),
        rename={"Nr_Threads": "Nr_Processes"},
    )
    with caplog.at_level(logging.INFO, logger="sen2cor.config"):
        gipp = read_user_gipp(path)
    assert gipp.nr_threads == 8  # capped to the OpenJPEG thread limit
    assert gipp.roi.mode == "OFF" and gipp.psd_version == "DEFAULT" and gipp.database_compression_level == 0
    assert "legacy <Nr_Processes> '16' read as <Nr_Threads>" in caplog.text
    assert "<Common_Section/Region_Of_Interest> absent (older GIPP)" in caplog.text


def test_missing_required_element_is_a_metadata_error(tmp_path: Path) -> None:
    path = edited_gipp(tmp_path, USER, remove=("Aerosol_Type",))
    with pytest.raises(MetadataError) as err:
        read_user_gipp(path)
    assert str(err.value) == (
        "L2A_GIPP.xml: required element "
        "<Level-2A_Ground_Image_Processing_Parameter/Atmospheric_Correction/Look_Up_Tables/Aerosol_Type>"
        " is missing"
    )


def test_missing_threads_names_the_211_element(tmp_path: Path) -> None:
    path = edited_gipp(tmp_path, USER, remove=("Nr_Threads",))
    with pytest.raises(MetadataError, match=r"L2A_GIPP.xml: required element <.*/Nr_Threads> is missing"):
        read_user_gipp(path)


def test_malformed_xml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "my_gipp.xml"
    path.write_text("<Level-2A_Ground_Image_Processing_Parameter><Common_Section>")
    with pytest.raises(MetadataError, match=r"^my_gipp.xml: not well-formed XML"):
        read_user_gipp(path)


def test_wrong_root_element(tmp_path: Path) -> None:
    path = edited_gipp(tmp_path, "L2A_PB_GIPP.xml")
    with pytest.raises(MetadataError, match=r"root element <GS2_PROCESSING_BASELINE_PARAMETERS> is not"):
        read_user_gipp(path)


ROOT = "Level-2A_Ground_Image_Processing_Parameter"


@pytest.mark.parametrize(
    ("doctype", "log_level"),
    [
        ('<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>', "&secret;"),
        ('<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>', "&b;"),
        ('<!DOCTYPE r SYSTEM "http://example.invalid/evil.dtd">', "INFO"),
    ],
)
def test_entities_and_doctypes_are_refused(tmp_path: Path, doctype: str, log_level: str) -> None:
    path = tmp_path / "L2A_GIPP.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n{doctype}\n'
        f"<{ROOT}><Common_Section><Log_Level>{log_level}</Log_Level></Common_Section></{ROOT}>"
    )
    with pytest.raises(MetadataError, match=r"^L2A_GIPP.xml: DOCTYPE/entity declarations are not allowed"):
        read_user_gipp(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match=r"^absent.xml: cannot read"):
        read_user_gipp(tmp_path / "absent.xml")


# --- SC, AC and PB GIPPs -------------------------------------------------------------------------------


def test_sc_thresholds_become_sc_thresholds(tmp_path: Path) -> None:
    path = edited_gipp(tmp_path, "L2A_CAL_SC_GIPP.xml", {"T1_B04": "0.07", "T_SDW": "-1.5"})
    thresholds = read_sc_gipp(path).thresholds
    assert thresholds.t1_b04 == 0.07 and thresholds.t_sdw == -1.5
    assert thresholds.t2_b04 == 0.25


def test_sc_threshold_out_of_range(tmp_path: Path) -> None:
    path = edited_gipp(tmp_path, "L2A_CAL_SC_GIPP.xml", {"T2_NDVI": "10.5"})
    with pytest.raises(ConfigError) as err:
        read_sc_gipp(path)
    assert (
        str(err.value)
        == "L2A_CAL_SC_GIPP.xml: <T2_NDVI> '10.5' is not allowed; expected a number from -10 to 10"
    )


def test_sc_missing_threshold_and_wrong_classificator(tmp_path: Path) -> None:
    missing = edited_gipp(tmp_path, "L2A_CAL_SC_GIPP.xml", remove=("T_CLOUD_HP",))
    with pytest.raises(MetadataError, match=r"<.*/Thresholds/T_CLOUD_HP> is missing"):
        read_sc_gipp(missing)
    wrong = edited_gipp(tmp_path, "L2A_CAL_SC_GIPP.xml", {"WATER": "7"})
    with pytest.raises(ConfigError, match=r"<WATER> '7' is not allowed; expected one of 6"):
        read_sc_gipp(wrong)


def test_sc_unknown_threshold_is_logged_and_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = edited_gipp(tmp_path, "L2A_CAL_SC_GIPP.xml")
    text = path.read_text().replace("<T_SDW>", "<T9_FOO>1</T9_FOO><T_SDW>")
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="sen2cor.config"):
        read_sc_gipp(path)
    assert "unknown threshold <T9_FOO> ignored" in caplog.text


@pytest.mark.parametrize(
    ("element", "value", "expected"),
    [
        ("AC_Swir_22um_Red_Refl_Ratio", "0.7", "a number from 0.4 to 0.6"),
        ("AC_Min_Ddv_Area", "101", "a number from 0 to 100"),
        ("AC_Vegetation_Index_Th", "0.5", "a number from 1 to 10"),
        ("min_sc_blu", "1.0", "a number greater than 0 less than 1"),
        ("max_sc_blu", "1", "a number greater than 1 less than 2"),
        ("Scaling_Limiter", "yes", "one of TRUE, FALSE, 1, 0"),
    ],
)
def test_ac_value_outside_range(tmp_path: Path, element: str, value: str, expected: str) -> None:
    path = edited_gipp(tmp_path, "L2A_CAL_AC_GIPP.xml", {element: value})
    with pytest.raises(ConfigError) as err:
        read_ac_gipp(path)
    assert str(err.value) == f"L2A_CAL_AC_GIPP.xml: <{element}> '{value}' is not allowed; expected {expected}"


def test_ac_flags_spellings_and_band_list(tmp_path: Path) -> None:
    path = edited_gipp(
        tmp_path, "L2A_CAL_AC_GIPP.xml", {"Scaling_Limiter": "FALSE", "Rho_Retrieval_Step2": "0"}
    )
    gipp = read_ac_gipp(path)
    assert not gipp.scaling_limiter and gipp.scaling_disabler and not gipp.rho_retrieval_step2
    short = edited_gipp(tmp_path, "L2A_CAL_AC_GIPP.xml", remove=("fwhm",))
    with pytest.raises(MetadataError, match=r"Band_List> has 12 <fwhm> entries; expected 13"):
        read_ac_gipp(short)


def test_pb_baseline(tmp_path: Path) -> None:
    assert (
        read_pb_gipp(edited_gipp(tmp_path, "L2A_PB_GIPP.xml", {"Baseline_Version": "5.11"})).baseline_version
        == "05.11"
    )
    for bad in ("abc", "100", "5.111", "-1"):
        with pytest.raises(ConfigError, match=rf"<Baseline_Version> '{bad}' is not allowed"):
            read_pb_gipp(edited_gipp(tmp_path, "L2A_PB_GIPP.xml", {"Baseline_Version": bad}))
    assert normalise_baseline("04.00") == "04.00" and normalise_baseline("nan") is None
