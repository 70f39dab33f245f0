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


def test_manual_roi_run_matches_the_whole_tile_run_inside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside the window the SCL differs from the whole-tile SCL only through the cloud-height profile of the
    shadow projection, a statistic of the clouds the parallax step tracks in the processed image.

    Measured: 95.2 % of the 1296 window pixels equal (62 differ: 40 vegetation→cloud shadow, 15 dark→cloud
    shadow, 7 dark→not vegetated) because the window holds one tracked cloud corner (σ = 0: the generic 6 km
    profile) and the tile three (a 574 ± 31 m Gaussian profile).  Given the whole tile's profile, the ROI SCL
    is identical on 100 % of the window.  Clouds (8, 9, 10) are identical either way; outside: no data (0).
    """
    from sen2cor.sc import shadow

    l1c = make_l1c(tmp_path / "in", L1CSpec(shape10=SHAPE10))
    profiles: list[np.ndarray] = []
    original = shadow.cloud_profile

    def record(stats, resolution):  # type: ignore[no-untyped-def]
        profiles.append(original(stats, resolution))
        return profiles[-1]

    monkeypatch.setattr(shadow, "cloud_profile", record)
    run(l1c, tmp_path / "full", tmp_path, None)
    monkeypatch.setattr(shadow, "cloud_profile", original)
    roi = RegionOfInterest(row0=60, col0=60, nrow_win=72, ncol_win=72)
    run(l1c, tmp_path / "roi", tmp_path, roi)
    monkeypatch.setattr(shadow, "cloud_profile", lambda stats, resolution: profiles[0])
    run(l1c, tmp_path / "same_profile", tmp_path, roi)
    full, part, same = scl(tmp_path / "full"), scl(tmp_path / "roi"), scl(tmp_path / "same_profile")
    assert part.shape == full.shape == (60, 60)
    inside = np.zeros(full.shape, dtype=bool)
    inside[12:48, 12:48] = True  # rows/cols 24…95 at 10 m
    assert (part[~inside] == 0).all() and (part[inside] > 0).all()
    np.testing.assert_array_equal(same[inside], full[inside])
    assert (part[inside] == full[inside]).mean() > 0.95
    clouds = np.isin(full, (8, 9, 10)) & inside
    np.testing.assert_array_equal(np.isin(part, (8, 9, 10)) & inside, clouds)


def test_auto_roi_processes_the_valid_area_only(tmp_path: Path) -> None:
    """No data outside the valid area: the ROI run sees what the whole-tile run sees, and its SCL is identical."""
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
    assert (full[30:, :] == 0).all() and (full[:, 24:] == 0).all()
    np.testing.assert_array_equal(auto, full)


def test_roi_reads_the_whole_image_values_of_upsampled_bands(tmp_path: Path) -> None:
    """60 m bands up-sampled in a ROI run equal the window of the whole image up-sampled (no mirrored edge)."""
    from sen2cor.io.l1c import read_l1c
    from sen2cor.io.l1c_bands import BandReader
    from sen2cor.pipeline.roi import WindowReader, crop_product

    product = read_l1c(make_l1c(tmp_path / "in", L1CSpec(shape10=SHAPE10)))
    win = RoiWindow(24, 30, 72, 60)
    whole = BandReader(product)
    window = WindowReader(crop_product(product, win))
    for band_id in ("B01", "B09", "B10", "B8A", "B02"):
        for res in (10, 20):
            expected = whole.dn_at(band_id, res)[win.slices(res)]
            np.testing.assert_array_equal(window.dn_at(band_id, res), expected, err_msg=f"{band_id} {res} m")


def test_roi_with_atmospheric_correction_writes_full_frame_images(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    luts = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sen2cor-2.8-luts").resolve()
    if not luts.is_dir():
        pytest.skip(f"missing resource: Sen2Cor LUTs not found at {luts} (needed for the atmospheric correction)")
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


@pytest.mark.slow
def test_auto_roi_with_atmospheric_correction_agrees_beyond_the_filter_reach(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AUTO ROI with atmospheric correction, valid data in one 240 × 240 corner of a 480 × 480 tile (10 m).

    Both runs see the same pixels, so the scene statistics agree; what remains are edge effects of the
    correction's spatial filters, which see no data (filled with scene means) beyond the window in the
    whole-tile run and replicated edge pixels in the ROI run: the adjacency box (±51 px at 20 m for
    ``Adj_Km`` = 1 km) and the Gaussian of the AOT map (σ = ``AC_Ddv_Smooting_Window``, set to 0.1 km here,
    5 px, so that the small window has an interior).  Measured at 20 m, in the 120 × 120 window: SCL 100 %
    equal; AOT equal from 40 px off the edges that face no data; BOA of every band and WVP within 1 DN from
    52 px (bit-identical with the whole tile's per-cell sun angles, see docs/differences.md); nearer the edge
    up to 81 DN (B01), 8 DN (B02) and, on the edge pixels whose B09 the whole-tile run interpolates with no
    data, 3.6 cm of WV.
    """
    from sen2cor.config.gipp_writer import AC_GIPP_NAME
    from sen2cor.config.home import template_path

    luts = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sen2cor-2.8-luts").resolve()
    if not luts.is_dir():
        pytest.skip(f"missing resource: Sen2Cor LUTs not found at {luts} (needed for the atmospheric correction)")
    monkeypatch.setenv("SEN2COR_LUT_DIR", str(luts))
    n, valid = 480, 240
    toa = synthetic_toa((n, n))
    for a in toa.values():
        f = n // a.shape[0]
        a[valid // f:, :] = 0.0
        a[:, valid // f:] = 0.0
    l1c = make_l1c(tmp_path / "in", L1CSpec(shape10=(n, n)), toa=toa)
    ac = tmp_path / "ac.xml"
    ac.write_text(template_path(AC_GIPP_NAME).read_text().replace(
        "<AC_Ddv_Smooting_Window>1.0</AC_Ddv_Smooting_Window>", "<AC_Ddv_Smooting_Window>0.1</AC_Ddv_Smooting_Window>"))
    for name, roi in (("full", None), ("auto", RegionOfInterest(row0="AUTO", col0="AUTO"))):
        argv = [str(l1c), "--resolution", "20", "--GIP_L2A_AC", str(ac), "--output_dir", str(tmp_path / name)]
        if roi is not None:
            gipp = tmp_path / "gipp.xml"
            gipp.write_bytes(render_user_gipp(dataclasses.replace(UserGipp(), roi=roi)))
            argv += ["--GIP_L2A", str(gipp)]
        assert main(argv) == 0

    def image(name: str, key: str) -> np.ndarray:
        (f,) = list((tmp_path / name).rglob(f"R20m/*_{key}_20m.*"))
        with rasterio.open(f) as ds:
            return ds.read(1).astype(np.int64)

    m = valid // 2
    rows, cols = np.mgrid[0:m, 0:m]
    reach = np.minimum(m - 1 - rows, m - 1 - cols)  # distance to the window edges facing no data
    np.testing.assert_array_equal(image("auto", "SCL"), image("full", "SCL"))
    for key in ("AOT", "WVP", "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12"):
        full, auto = image("full", key), image("auto", key)
        assert (full[m:, :] == 0).all() and (auto[m:, :] == 0).all() and (auto[:, m:] == 0).all(), key
        diff = np.abs(full[:m, :m] - auto[:m, :m])
        if key == "AOT":
            assert diff[reach >= 40].max() == 0, key
        else:
            assert diff[reach >= 52].max() <= 1, key
