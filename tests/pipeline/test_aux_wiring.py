"""DEM, terrain, ESA-CCI maps and the L1C quality mask wired into the chain, end to end through ``main``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.warp import transform as warp_transform

from sen2cor.cli.main import main
from sen2cor.config.gipp import UserGipp
from sen2cor.config.gipp_writer import render_user_gipp
from sen2cor.testing import L1CSpec, make_l1c

SHAPE10 = (120, 120)
SPEC = L1CSpec(shape10=SHAPE10)

GENERAL_QUALITY = """<?xml version="1.0" encoding="UTF-8"?>
<Earth_Explorer_File xmlns="http://gs2.esa.int/DATA_STRUCTURE/olqcReport">
  <Data_Block type="xml">
    <report date="2023-01-01T00:00:00.000Z" gippVersion="1.0" globalStatus="FAILED">
      <checkList>
        <name>GENERAL_QUALITY</name>
        <check>
          <inspection id="Data_Loss" name="Check TECQUA for data loss " priority="5" status="FAILED"/>
          <message contentType="text/plain">Data loss in this tile.</message>
          <extraValues><value name="LOST_BANDS">{bands}</value></extraValues>
        </check>
      </checkList>
    </report>
  </Data_Block>
</Earth_Explorer_File>
"""


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEN2COR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEN2COR_AUX_DIR", raising=False)


def write_gipp(path: Path, **changes: object) -> Path:
    path.write_bytes(render_user_gipp(dataclasses.replace(UserGipp(), **changes)))
    return path


def tile_centre_lonlat() -> tuple[float, float]:
    x = SPEC.ulx + SHAPE10[1] * 5.0
    y = SPEC.uly - SHAPE10[0] * 5.0
    lon, lat = warp_transform(f"EPSG:{SPEC.epsg}", "EPSG:4326", [x], [y])
    return float(lon[0]), float(lat[0])


def write_srtm(directory: Path, height=lambda lon, lat: 800.0 + 4000.0 * (lon - 11.9)) -> str:
    """A CGIAR-style 5°×5° SRTM GeoTIFF (int16, NoData −32768, 0.01° pixels) holding ``height``."""
    lon, lat = tile_centre_lonlat()
    lon0, lat_top = 5.0 * np.floor(lon / 5.0), 5.0 * np.ceil(lat / 5.0)
    name = f"srtm_{int((lon0 + 180) // 5) + 1:02d}_{int((60 - lat_top) // 5) + 1:02d}.tif"
    dx = 0.01
    n = round(5.0 / dx)
    # heights at the pixel positions after Sen2Cor's SIIMPC-577 fix (origin ½ pixel further south-west)
    lons = lon0 + (np.arange(n) - 0.5) * dx
    lats = lat_top - (np.arange(n) + 0.5) * dx
    data = np.rint(height(lons[None, :], lats[:, None])).astype(np.int16)
    transform = Affine(dx, 0, lon0 - dx / 2, 0, -dx, lat_top + dx / 2)  # raw CGIAR origin
    directory.mkdir(parents=True, exist_ok=True)
    with rasterio.open(directory / name, "w", driver="GTiff", width=n, height=n, count=1, dtype="int16",
                       crs="EPSG:4326", transform=transform, nodata=-32768) as ds:
        ds.write(data, 1)
    return name


def granule(product: Path) -> Path:
    return next((product / "GRANULE").glob("L2A_*"))


def image(product: Path, pattern: str) -> np.ndarray:
    (f,) = list(granule(product).rglob(pattern))
    with rasterio.open(f) as ds:
        return ds.read(1)


@pytest.fixture
def sen2cor_luts(monkeypatch: pytest.MonkeyPatch) -> Path:
    luts = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sen2cor-2.8-luts"
    if not luts.is_dir():
        pytest.skip(f"missing resource: Sen2Cor LUTs not found at {luts} (needed for the atmospheric correction)")
    monkeypatch.setenv("SEN2COR_LUT_DIR", str(luts.resolve()))
    return luts


def test_srtm_dem_enters_sc_and_ac_and_is_written(tmp_path: Path, sen2cor_luts: Path) -> None:
    """A DEM folder configured with --GIP_L2A: DEM image, quality-report DEM fields, AC with terrain."""
    l1c = make_l1c(tmp_path / "in", SPEC)
    srtm = write_srtm(tmp_path / "dem")
    gipp = write_gipp(tmp_path / "L2A_GIPP.xml", dem_directory=str(tmp_path / "dem"),
                      dem_reference="http://srtm.csi.cgiar.org/wp-content/uploads/files/srtm_5x5/TIFF/",
                      generate_dem_output=True, generate_ddv_output=True)
    out = tmp_path / "out"
    assert main([str(l1c), "--GIP_L2A", str(gipp), "--output_dir", str(out)]) == 0
    (product,) = out.glob("*.SAFE")
    dem10 = image(product, "AUX_DATA/*_DEM_10m.*").astype(np.float64) - 10000.0
    assert dem10.shape == SHAPE10 and (dem10 > 900).all()
    dem = image(product, "AUX_DATA/*_DEM_20m.*").astype(np.float64) - 10000.0
    assert dem.shape == (60, 60)
    lon, _ = tile_centre_lonlat()
    assert abs(dem.mean() - (800.0 + 4000.0 * (lon - 11.9))) < 15.0  # smooth surface: metre-level agreement
    assert dem[:, -1].mean() > dem[:, 0].mean() + 10.0  # rising to the east
    report = (granule(product) / "QI_DATA" / "L2A_QUALITY.xml").read_text()
    assert "SRTM_90" in report and srtm in report
    ddv = image(product, "QI_DATA/MSK_DDVPXL_20m.*")
    assert ddv.shape == (60, 60) and set(np.unique(ddv)) <= {0, 1}
    boa = image(product, "R20m/*_B04_20m.*")
    assert (boa > 0).mean() > 0.99


def test_missing_dem_tile_falls_back_to_flat(tmp_path: Path) -> None:
    l1c = make_l1c(tmp_path / "in", SPEC)
    (tmp_path / "dem").mkdir()
    gipp = write_gipp(tmp_path / "L2A_GIPP.xml", dem_directory=str(tmp_path / "dem"),
                      dem_reference="srtm (local tiles only)", generate_dem_output=True)
    out = tmp_path / "out"
    with pytest.warns(Warning):
        rc = main([str(l1c), "--sc_only", "--GIP_L2A", str(gipp), "--output_dir", str(out)])
    assert rc == 0
    (product,) = out.glob("*.SAFE")
    assert not list(granule(product).rglob("*_DEM_*"))


def test_esacci_maps_are_used_with_a_dem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A water-bodies map in $SEN2COR_AUX_DIR: loaded on the tile grid and named in the quality report."""
    from sen2cor.config.settings import L2ASettings
    from sen2cor.io.esacci import WATER_BODIES_FILE
    from sen2cor.io.l1c import read_l1c
    from sen2cor.pipeline.aux_inputs import load_aux

    aux = tmp_path / "aux_data"
    aux.mkdir()
    lon, lat = tile_centre_lonlat()
    wb = np.ones((200, 200), dtype=np.uint8)
    wb[:, 100:] = 2  # water east of the centre meridian
    with rasterio.open(aux / WATER_BODIES_FILE, "w", driver="GTiff", width=200, height=200, count=1,
                       dtype="uint8", crs="EPSG:4326",
                       transform=Affine(0.001, 0, lon - 0.1, 0, -0.001, lat + 0.1)) as ds:
        ds.write(wb, 1)
    monkeypatch.setenv("SEN2COR_AUX_DIR", str(aux))
    write_srtm(tmp_path / "dem")
    l1c = make_l1c(tmp_path / "in", SPEC)
    user = dataclasses.replace(UserGipp(), dem_directory=str(tmp_path / "dem"), dem_reference="srtm")
    with pytest.warns(Warning):  # land cover, snow maps absent: reported once each
        maps = load_aux(read_l1c(l1c), L2ASettings(user=user), 20)
    assert maps.dem is not None and maps.esacci is not None
    wbi = maps.sc_esacci()["wbi"]
    assert wbi.shape == (60, 60) and wbi[:, :25].max() == 1 and wbi[:, 35:].min() == 2
    assert maps.sc_esacci()["lcm"] is None
    gipp = write_gipp(tmp_path / "L2A_GIPP.xml", dem_directory=str(tmp_path / "dem"), dem_reference="srtm")
    out = tmp_path / "out"
    assert main([str(l1c), "--sc_only", "--GIP_L2A", str(gipp), "--output_dir", str(out)]) == 0
    (product,) = out.glob("*.SAFE")
    assert WATER_BODIES_FILE in (granule(product) / "QI_DATA" / "L2A_QUALITY.xml").read_text()


def test_lost_packets_become_scl_class_1_exactly_there(tmp_path: Path) -> None:
    lost = np.zeros((60, 60), dtype=bool)
    lost[10:20, 5:45] = True
    l1c = make_l1c(tmp_path / "in", dataclasses.replace(SPEC, lost_packets={"B11": lost}))
    qi = next((l1c / "GRANULE").glob("L1C_*")) / "QI_DATA"
    (qi / "GENERAL_QUALITY.xml").write_text(GENERAL_QUALITY.format(bands="B11"))
    runs = {}
    for flag in (True, False):
        gipp = write_gipp(tmp_path / f"gipp_{flag}.xml", handle_l1c_qlt_mask=flag)
        out = tmp_path / f"out_{flag}"
        assert main([str(l1c), "--sc_only", "--GIP_L2A", str(gipp), "--output_dir", str(out)]) == 0
        (product,) = out.glob("*.SAFE")
        runs[flag] = image(product, "R20m/*_SCL_20m.*")
    np.testing.assert_array_equal(runs[True] == 1, lost)
    assert not (runs[False] == 1).any()
    # elsewhere the classes are those of a run without the mask, but for neighbourhood steps (cloud
    # dilation, …) next to the masked block: measured 11 of 3200 pixels
    assert (runs[True][~lost] == runs[False][~lost]).mean() > 0.99
