"""SEN2COR_HOME, the user GIPP created on first run, --GIP_* selection and the merged L2ASettings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from gipp_edit import edited_gipp

from sen2cor.config.cal_gipp import ScGipp
from sen2cor.config.gipp import UserGipp
from sen2cor.config.home import (
    ensure_user_gipp,
    resolve_gipp_option,
    sen2cor_home,
    template_path,
    user_gipp_path,
)
from sen2cor.config.logsetup import run_log_file
from sen2cor.config.settings import L2ASettings, RunOptions, load_settings
from sen2cor.errors import ConfigError


def test_sen2cor_home_default_and_environment(tmp_path: Path) -> None:
    assert sen2cor_home({}) == Path.home() / "sen2cor" / "2.11"
    assert sen2cor_home({"SEN2COR_HOME": "  "}) == Path.home() / "sen2cor" / "2.11"
    assert sen2cor_home({"SEN2COR_HOME": str(tmp_path)}) == tmp_path


def test_user_gipp_created_once_and_never_overwritten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    with caplog.at_level(logging.INFO, logger="sen2cor.config"):
        created = ensure_user_gipp(home)
    assert created == home / "cfg" / "L2A_GIPP.xml" == user_gipp_path(home)
    assert created.read_bytes() == template_path("L2A_GIPP.xml").read_bytes()
    assert "Created the user GIPP" in caplog.text
    created.write_text("<edited/>")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sen2cor.config"):
        assert ensure_user_gipp(home) == created
    assert created.read_text() == "<edited/>"
    assert caplog.text.count("never overwritten") == 1
    assert [p.name for p in created.parent.iterdir()] == ["L2A_GIPP.xml"]  # no temporary left behind


def test_unwritable_home_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(
        ConfigError, match=r"^SEN2COR_HOME: cannot create .*set SEN2COR_HOME to a writable folder"
    ):
        ensure_user_gipp(blocker / "home")


def test_gipp_option_resolution(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "cfg").mkdir(parents=True)
    (home / "cfg" / "mine.xml").write_text("<x/>")
    assert resolve_gipp_option("--GIP_L2A_SC", "mine.xml", home) == home / "cfg" / "mine.xml"
    direct = tmp_path / "direct.xml"
    direct.write_text("<x/>")
    assert resolve_gipp_option("--GIP_L2A", str(direct), home) == direct
    with pytest.raises(ConfigError, match=r"^--GIP_L2A_PB: GIPP file 'nope.xml' does not exist"):
        resolve_gipp_option("--GIP_L2A_PB", "nope.xml", home)


def test_load_settings_defaults_create_the_home_gipp(tmp_path: Path) -> None:
    env = {"SEN2COR_HOME": str(tmp_path / "h")}
    settings = load_settings(RunOptions(input_dir=tmp_path), environ=env)
    assert settings.files.user == tmp_path / "h" / "cfg" / "L2A_GIPP.xml"
    assert settings.files.user.is_file()
    assert settings.files.sc == template_path("L2A_CAL_SC_GIPP.xml")
    assert settings.user == UserGipp() and settings.sc == ScGipp()
    assert settings.processing_baseline == "99.99"
    assert settings.log_level == "INFO"
    assert settings.sc_thresholds.t1_b02 == 0.18
    assert 1 <= settings.nr_threads <= 8
    assert settings.home == tmp_path / "h"


def test_load_settings_with_gip_options_and_overrides(tmp_path: Path) -> None:
    user = edited_gipp(tmp_path, "L2A_GIPP.xml", {"Log_Level": "WARNING", "Nr_Threads": "3"})
    pb = edited_gipp(tmp_path, "L2A_PB_GIPP.xml", {"Baseline_Version": "05.09"})
    sc = edited_gipp(tmp_path, "L2A_CAL_SC_GIPP.xml", {"T2_B10": "0.04"})
    env = {"SEN2COR_HOME": str(tmp_path / "h")}
    options = RunOptions(gip_l2a=str(user), gip_l2a_pb=str(pb), gip_l2a_sc=str(sc))
    settings = load_settings(options, environ=env)
    assert not (tmp_path / "h" / "cfg").exists()  # --GIP_L2A given: the home GIPP is not needed
    assert settings.log_level == "WARNING" and settings.nr_threads == 3
    assert settings.processing_baseline == "05.09"
    assert settings.sc_thresholds.t2_b10 == 0.04
    debug = load_settings(
        RunOptions(gip_l2a=str(user), gip_l2a_pb=str(pb), processing_baseline="05.11", debug=True), env
    )
    assert debug.log_level == "DEBUG" and debug.processing_baseline == "05.11"


def test_missing_gip_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--GIP_L2A_AC: GIPP file 'missing_ac.xml' does not exist"):
        load_settings(RunOptions(gip_l2a_ac="missing_ac.xml"), environ={"SEN2COR_HOME": str(tmp_path)})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"processing_centre": "sgs_"}, "--processing_centre 'sgs_' is not allowed"),
        ({"archiving_centre": "SGS"}, "--archiving_centre 'SGS' is not allowed"),
        ({"processing_baseline": "5.11"}, "--processing_baseline '5.11' is not allowed"),
        (
            {"mode": "toolbox"},
            "--mode 'toolbox' is not allowed; expected one of generate_datastrip, process_tile",
        ),
        ({"resolution": 30}, "--resolution '30' is not allowed; expected one of 10, 20, 60"),
    ],
)
def test_run_options_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        RunOptions(**kwargs)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)


def test_run_options_required_per_mode(tmp_path: Path) -> None:
    assert RunOptions(processing_centre="SGS_", processing_baseline="05.11").operation_mode == "TOOLBOX"
    with pytest.raises(ConfigError, match="input_dir: a Level-1C product folder is required"):
        RunOptions().check_required()
    tile = RunOptions(mode="process_tile", datastrip=tmp_path, work_dir=tmp_path, output_dir=tmp_path)
    assert tile.operation_mode == "PROCESS_TILE"
    with pytest.raises(ConfigError, match="--mode process_tile requires --tile"):
        tile.check_required()
    RunOptions(
        mode="process_tile", datastrip=tmp_path, tile=tmp_path, work_dir=tmp_path, output_dir=tmp_path
    ).check_required()


def test_default_settings_without_disk() -> None:
    settings = L2ASettings()
    assert settings.processing_baseline == "99.99"
    assert settings.files.pb.name == "L2A_PB_GIPP.xml"
    assert L2ASettings(options=RunOptions(processing_baseline="04.00")).processing_baseline == "04.00"


def test_run_log_file_hook(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "run.log"
    package = logging.getLogger("sen2cor")
    before = list(package.handlers)
    old_level = package.level
    package.setLevel(logging.INFO)
    try:
        with run_log_file(log):
            logging.getLogger("sen2cor.pipeline.test").info("inside the run")
        logging.getLogger("sen2cor.pipeline.test").info("after the run")
    finally:
        package.setLevel(old_level)
    assert package.handlers == before
    text = log.read_text()
    assert "inside the run" in text and "sen2cor.pipeline.test" in text
    assert "after the run" not in text
