"""DEM tiles found in the DEM directory: SRTM, DTED, Copernicus; tile boundaries, sea NoData, policy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from affine import Affine
from dem_builders import (
    LAT_C,
    LON_C,
    copernicus_name,
    copernicus_tile_bytes,
    pixel_lonlat,
    ramp,
    utm_grid,
    write_dted_tile,
    write_srtm_tile,
)

from sen2cor.errors import AuxDataError, FallbackWarning
from sen2cor.io import dem

# |grad h| of ``ramp`` in metres of height per metre on the ground near (10°E, 45°N)
GRAD_M_PER_M = float(np.hypot(20000.0 / 78_850.0, 15000.0 / 111_130.0))


def position_error_m(products: dem.DemProducts, grid, resolution, surface=ramp) -> tuple[float, float]:
    """(mean, max) |DEM − surface| converted to a geolocation error along the gradient, in metres."""
    lon, lat = pixel_lonlat(grid, resolution)
    err = np.abs(products.elevation.astype(np.float64) - surface(lon, lat))
    return float(err.mean()) / GRAD_M_PER_M, float(err.max()) / GRAD_M_PER_M


@pytest.fixture(scope="module")
def srtm_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("srtm")
    for lon0 in (5.0, 10.0):
        for lat_top in (50.0, 45.0):
            write_srtm_tile(d, lon0, lat_top, ramp)
    return d


@pytest.mark.parametrize("resolution", [20, 60])
def test_srtm_across_5deg_corner_matches_surface(srtm_dir, resolution):
    grid = utm_grid()
    products = dem.prepare_dem(grid, resolution, dem_directory=srtm_dir, dem_reference="srtm (local tiles)")
    assert products is not None
    assert products.elevation.shape == grid.shape(resolution)
    assert products.dem_type == "SRTM_90"
    assert sorted(products.source_files) == [
        "srtm_38_03.tif",
        "srtm_38_04.tif",
        "srtm_39_03.tif",
        "srtm_39_04.tif",
    ]
    mean_m, max_m = position_error_m(products, grid, resolution)
    # DEM pixel = 0.01° ≈ 790 m; the Sen2Cor half-pixel fix is worth ≈ 400 m here
    assert max_m < resolution / 2, f"geolocation error {max_m:.1f} m exceeds half a {resolution} m pixel"
    assert mean_m < 2.0


def test_srtm_half_pixel_fix_is_applied_once(srtm_dir, tmp_path):
    raw = Affine(0.01, 0, 4.995, 0, -0.01, 50.005)
    fixed = dem.srtm_origin_fix(raw)
    assert fixed.c == pytest.approx(4.99) and fixed.f == pytest.approx(50.0)
    assert dem.srtm_origin_fix(fixed) == fixed  # a tile Sen2Cor already rewrote is left alone
    # the same DEM from tiles whose headers were already rewritten by Sen2Cor
    for lon0 in (5.0, 10.0):
        for lat_top in (50.0, 45.0):
            write_srtm_tile(tmp_path, lon0, lat_top, ramp, fixed=True)
    grid = utm_grid()
    a = dem.prepare_dem(grid, 60, dem_directory=srtm_dir, dem_reference="srtm")
    b = dem.prepare_dem(grid, 60, dem_directory=tmp_path, dem_reference="srtm")
    np.testing.assert_allclose(a.elevation, b.elevation, atol=1e-3)


def test_srtm_sea_nodata_becomes_zero(tmp_path):
    def surface(lon, lat):
        return 800.0 + 5000.0 * (lon - 12.5) + 4000.0 * (lat - 42.5)

    coast = 12.50
    write_srtm_tile(tmp_path, 10.0, 45.0, surface, sea=lambda lon, lat: lon > coast)
    grid = utm_grid(12.5, 42.5, epsg=32633)
    products = dem.prepare_dem(grid, 20, dem_directory=tmp_path, dem_reference="srtm")
    lon, lat = pixel_lonlat(grid, 20)
    sea = lon > coast + 0.03  # beyond the cubic-spline reach of the coast (3 DEM pixels)
    land = lon < coast - 0.03
    assert sea.sum() > 1000 and land.sum() > 1000
    assert (products.elevation[sea] == 0.0).all()
    assert products.elevation.min() >= -1e-3, "no −32768 or undershoot leaks into the DEM"
    land_err = np.abs(products.elevation[land] - surface(lon[land], lat[land]))
    assert land_err.max() < 10.0  # ≈ 0.15 m/m slope: < 70 m geolocation, well within the 790 m DEM pixel
    assert products.mean_altitude_km > 0


def test_dted_across_1deg_corner(tmp_path):
    for lon in (9, 10):
        for lat in (44, 45):
            write_dted_tile(tmp_path, lon, lat, ramp)
    grid = utm_grid()
    # DTED is recognised from the files, whatever the reference says
    products = dem.prepare_dem(grid, 20, dem_directory=tmp_path, dem_reference="NONE")
    assert products.dem_type == "DTED_90"
    assert sorted(products.source_files) == ["e009_n44.dt1", "e009_n45.dt1", "e010_n44.dt1", "e010_n45.dt1"]
    mean_m, max_m = position_error_m(products, grid, 20)
    assert max_m < 10.0 and mean_m < 2.0


@pytest.mark.parametrize(
    "reference,cog,dem_type",
    [
        ("CDSE-GLO-90", False, "CDSE_COPERNICUS_90"),
        ("https://copernicus-dem-90m.s3.amazonaws.com/", True, "AWS_COPERNICUS_90"),
    ],
)
def test_copernicus_across_1deg_corner(tmp_path, reference, cog, dem_type):
    for lon in (9, 10):
        for lat in (44, 45):
            (tmp_path / copernicus_name(lon, lat, cog=cog)).write_bytes(copernicus_tile_bytes(lon, lat, ramp))
    grid = utm_grid()
    products = dem.prepare_dem(
        grid, 20, dem_directory=tmp_path, dem_reference=reference, allow_download=False
    )
    assert products.dem_type == dem_type and len(products.source_files) == 4
    mean_m, max_m = position_error_m(products, grid, 20)
    assert max_m < 10.0 and mean_m < 2.0


def test_copernicus_across_antimeridian(tmp_path):
    def unwrapped(lon, lat):
        return 300.0 + 4000.0 * ((np.asarray(lon) % 360.0) - 180.0) + 3000.0 * (lat - 50.5)

    for lon in (179, -180):
        (tmp_path / copernicus_name(lon, 50)).write_bytes(copernicus_tile_bytes(lon, 50, unwrapped))
    grid = utm_grid(180.0, 50.5, epsg=32660)
    products = dem.prepare_dem(grid, 60, dem_directory=tmp_path, dem_reference="CDSE-GLO-90")
    lon, lat = pixel_lonlat(grid, 60)
    assert (lon < 0).any() and (lon > 0).any()
    err = np.abs(products.elevation - unwrapped(lon, lat))
    assert err.max() < 0.5  # slope ≈ 0.06 m/m: < 9 m geolocation error near the UTM zone edge


def test_missing_tile_falls_back_to_flat_or_raises(tmp_path, caplog):
    write_srtm_tile(tmp_path, 5.0, 50.0, ramp)  # only one of the four tiles
    grid = utm_grid()
    with pytest.warns(FallbackWarning, match=r"srtm_3\d_0\d.tif is missing"):
        assert dem.prepare_dem(grid, 60, dem_directory=tmp_path, dem_reference="srtm") is None
    assert any("flat terrain" in r.message for r in caplog.records if r.levelname == "WARNING")
    with pytest.raises(AuxDataError, match="Force_Exit_On_DEM_Error"):
        dem.prepare_dem(grid, 60, dem_directory=tmp_path, dem_reference="srtm", force_exit_on_dem_error=True)


def test_dem_directory_none_and_relative_to_home(tmp_path):
    grid = utm_grid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dem.prepare_dem(grid, 60, dem_directory="NONE", dem_reference="srtm") is None
    (tmp_path / "dem" / "srtm").mkdir(parents=True)
    for lon0 in (5.0, 10.0):
        for lat_top in (50.0, 45.0):
            write_srtm_tile(tmp_path / "dem" / "srtm", lon0, lat_top, ramp)
    products = dem.prepare_dem(grid, 60, dem_directory="dem/srtm", dem_reference="srtm", home=tmp_path)
    assert products is not None and products.resolution == 60


def test_outside_srtm_coverage_continues_flat_even_with_force_exit(tmp_path):
    grid = utm_grid(10.0, 62.0)
    with pytest.warns(FallbackWarning, match="not available"):
        assert (
            dem.prepare_dem(
                grid, 60, dem_directory=tmp_path, dem_reference="srtm", force_exit_on_dem_error=True
            )
            is None
        )


def test_all_sea_dem_counts_as_no_values(tmp_path):
    for lon0 in (5.0, 10.0):
        for lat_top in (50.0, 45.0):
            write_srtm_tile(tmp_path, lon0, lat_top, ramp, sea=lambda lon, lat: lon > -999)
    grid = utm_grid()
    with pytest.raises(AuxDataError, match="no values"):
        dem.load_dem(grid, 60, dem_directory=tmp_path, dem_reference="srtm")
    with pytest.warns(FallbackWarning):
        assert dem.prepare_dem(grid, 60, dem_directory=tmp_path, dem_reference="srtm") is None


def test_copernicus_missing_tiles_list_means_ocean(tmp_path):
    aux = tmp_path / "aux"
    aux.mkdir()
    (aux / "CopernicusDEM_90_TIFF_missing_tiles.list").write_text(
        "\n".join(copernicus_name(lon, lat) for lon, lat in [(10, 44), (10, 45)]) + "\n"
    )
    demdir = tmp_path / "dem"
    demdir.mkdir()
    for lat in (44, 45):
        (demdir / copernicus_name(9, lat)).write_bytes(copernicus_tile_bytes(9, lat, ramp))
    grid = utm_grid()
    products = dem.prepare_dem(grid, 60, dem_directory=demdir, dem_reference="CDSE-GLO-90", aux_dir=aux)
    lon, _ = pixel_lonlat(grid, 60)
    assert len(products.source_files) == 2
    assert (products.elevation[lon > LON_C + 0.03] == 0).all()


def test_dem_output_encoding_and_flat_elevation():
    out = dem.dem_output_array(np.array([[-418.4, 0.0, 8848.6]]))
    assert out.dtype == np.uint16 and out.tolist() == [[9582, 10000, 18849]]
    flat = dem.flat_elevation((2, 3), 0.1)
    assert flat.shape == (2, 3) and float(flat[0, 0]) == pytest.approx(100.0)


def test_required_srtm_tiles_follow_cgiar_numbering():
    tiles = dem.required_tiles(
        dem.DemKind.SRTM, False, (LON_C - 0.03, LAT_C - 0.03, LON_C + 0.03, LAT_C + 0.03)
    )
    assert sorted(t.name for t in tiles) == [
        "srtm_38_03.tif",
        "srtm_38_04.tif",
        "srtm_39_03.tif",
        "srtm_39_04.tif",
    ]
    assert all(t.remote_path == t.name.replace(".tif", ".zip") for t in tiles)
    one = dem.required_tiles(dem.DemKind.SRTM, False, (-179.5, 59.0, -178.0, 59.5))
    assert [t.name for t in one if not t.optional] == ["srtm_01_01.tif"]
