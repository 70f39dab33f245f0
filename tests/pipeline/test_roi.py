"""Region_Of_Interest: manual and AUTO windows, and ROI runs against whole-tile runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import rasterio

from sen2cor.cli.main import main
from sen2cor.config.gipp import RegionOfInterest, UserGipp
from sen2cor.config.gipp_writer import render_user_gipp
from sen2cor.config.settings import L2ASettings
from sen2cor.errors import ConfigError
from sen2cor.pipeline.roi import RoiWindow, auto_window, manual_window
from sen2cor.testing import L1CSpec, make_l1c, synthetic_toa

SHAPE10 = (120, 120)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEN2COR_HOME", str(tmp_path / "home"))


def settings(row0: int | str, col0: int | str, nrow: int = 60, ncol: int = 60) -> L2ASettings:
    return L2ASettings(user=UserGipp(roi=RegionOfInterest(row0=row0, col0=col0, nrow_win=nrow, ncol_win=ncol)))


def test_manual_window_is_centred_on_row0_col0() -> None:
    assert manual_window(settings(60, 48, 60, 36), SHAPE10) == RoiWindow(30, 30, 60, 36)
    win = RoiWindow(30, 30, 60, 36)
    assert win.at(20) == (15, 15, 30, 18) and win.at(60) == (5, 5, 10, 6)


@pytest.mark.parametrize(("row0", "col0", "nrow", "ncol", "element"), [
    (24, 60, 60, 60, "row0"),       # rows -6…53
    (60, 96, 60, 60, "col0"),       # columns 66…125
    (60, 60, 60, 64, "ncol_win"),   # not divisible by 6
])
def test_manual_window_outside_the_frame_names_the_element(row0, col0, nrow, ncol, element) -> None:
    with pytest.raises(ConfigError, match=f"Region_Of_Interest/{element}"):
        manual_window(settings(row0, col0, nrow, ncol), SHAPE10)


def test_auto_window_bounding_box_and_full_tile_rules() -> None:
    valid = np.zeros(SHAPE10, dtype=bool)
    valid[13:70, 40:101] = True
    assert auto_window(valid) == RoiWindow(12, 36, 60, 66)  # widened to multiples of 6
    valid[:] = False
    valid[:, :] = True
    valid[:10, :10] = False
    assert auto_window(valid) is None  # > 85 % valid
    valid[:] = False
    valid[0, 0] = valid[-1, -1] = True
    assert auto_window(valid) is None  # box > 80 % of the tile
    assert auto_window(np.zeros(SHAPE10, dtype=bool)) is None


def scl(out: Path, res: int = 20) -> np.ndarray:
    (product,) = out.glob("*.SAFE")
    (f,) = list(product.rglob(f"R{res}m/*_SCL_{res}m.*"))
    with rasterio.open(f) as ds:
        return ds.read(1)


def run(l1c: Path, out: Path, tmp_path: Path, roi: RegionOfInterest | None) -> float:
    import time

    argv = [str(l1c), "--sc_only", "--output_dir", str(out)]
    if roi is not None:
        gipp = tmp_path / f"gipp_{out.name}.xml"
        gipp.write_bytes(render_user_gipp(dataclasses.replace(UserGipp(), roi=roi)))
        argv += ["--GIP_L2A", str(gipp)]
    start = time.perf_counter()
    assert main(argv) == 0
    return time.perf_counter() - start


def test_manual_roi_run_matches_the_whole_tile_run_inside(tmp_path: Path) -> None:
    """SCL inside the window equals the whole-tile SCL but for steps that look at the neighbourhood or the
    scene (cloud-shadow projection from clouds outside the window, dark/soil recoveries): tolerance 95 % of
    the pixels equal (measured 95.2 %: 62 of 1296 pixels, all of them cloud shadow ↔ vegetation/dark
    and dark ↔ not-vegetated); clouds (8, 9, 10) equal exactly; outside the window no data (0)."""
    l1c = make_l1c(tmp_path / "in", L1CSpec(shape10=SHAPE10))
    run(l1c, tmp_path / "full", tmp_path, None)
    run(l1c, tmp_path / "roi", tmp_path, RegionOfInterest(row0=60, col0=60, nrow_win=72, ncol_win=72))
    full, part = scl(tmp_path / "full"), scl(tmp_path / "roi")
    assert part.shape == full.shape == (60, 60)
    inside = np.zeros(full.shape, dtype=bool)
    inside[12:48, 12:48] = True  # rows/cols 24…95 at 10 m
    assert (part[~inside] == 0).all() and (part[inside] > 0).all()
    assert (part[inside] == full[inside]).mean() > 0.95
    clouds = np.isin(full, (8, 9, 10)) & inside
    np.testing.assert_array_equal(np.isin(part, (8, 9, 10)) & inside, clouds)


def test_auto_roi_processes_the_valid_area_only(tmp_path: Path) -> None:
    toa = synthetic_toa(SHAPE10)
    for a in toa.values():
        f = SHAPE10[0] // a.shape[0]
        keep = np.zeros(a.shape, dtype=bool)
        keep[: 60 // f, : 48 // f] = True
        a[~keep] = 0.0
    l1c = make_l1c(tmp_path / "in", L1CSpec(shape10=SHAPE10), toa=toa)
    run(l1c, tmp_path / "full", tmp_path, None)
    run(l1c, tmp_path / "auto", tmp_path, RegionOfInterest(row0="AUTO", col0="AUTO"))
    full, auto = scl(tmp_path / "full"), scl(tmp_path / "auto")
    assert (full[30:, :] == 0).all() and (auto[30:, :] == 0).all() and (auto[:, 24:] == 0).all()
    assert (auto[:30, :24] == full[:30, :24]).mean() > 0.95


def test_roi_with_atmospheric_correction_writes_full_frame_images(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    luts = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sen2cor-2.8-luts").resolve()
    if not luts.is_dir():
        pytest.skip(f"Sen2Cor LUTs not found at {luts} (needed for the atmospheric correction)")
    monkeypatch.setenv("SEN2COR_LUT_DIR", str(luts))
    l1c = make_l1c(tmp_path / "in", L1CSpec(shape10=SHAPE10))
    gipp = tmp_path / "gipp.xml"
    roi = RegionOfInterest(row0=60, col0=60, nrow_win=72, ncol_win=72)
    gipp.write_bytes(render_user_gipp(dataclasses.replace(UserGipp(), roi=roi)))
    assert main([str(l1c), "--GIP_L2A", str(gipp), "--output_dir", str(tmp_path / "out")]) == 0
    (product,) = (tmp_path / "out").glob("*.SAFE")
    for res, lo, hi in ((10, 24, 96), (20, 12, 48), (60, 4, 16)):
        (f,) = list(product.rglob(f"R{res}m/*_B04_{res}m.*"))
        with rasterio.open(f) as ds:
            b04 = ds.read(1)
        inside = np.zeros(b04.shape, dtype=bool)
        inside[lo:hi, lo:hi] = True
        assert (b04[~inside] == 0).all() and (b04[inside] > 0).all(), res
