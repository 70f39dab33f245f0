"""ESA-CCI maps and snow climatology: nearest warp to the tile, month choice, absent files reported once."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning
from rasterio.warp import transform as warp_transform

from sen2cor.errors import FallbackWarning
from sen2cor.grid import TileGrid
from sen2cor.io import esacci

LON0, LAT_TOP = 9.0, 46.0  # the test maps cover 9–11°E, 44–46°N


def write_map(path, data: np.ndarray, transform: Affine | None, crs: str | None = "EPSG:4326") -> None:
    profile = dict(
        driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype="uint8", compress="deflate"
    )
    if transform is not None:
        profile.update(transform=transform, crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(data, 1)


def land_cover(n: int) -> np.ndarray:
    rr, cc = np.mgrid[0:n, 0:n]
    classes = np.array([10, 30, 60, 130, 190, 200, 201, 202, 210, 220], dtype=np.uint8)
    return classes[(rr // 5 * 3 + cc // 7) % classes.size]


@pytest.fixture(scope="module")
def aux_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("aux_data")
    lc_px = 1 / 360  # 300 m
    write_map(d / esacci.LAND_COVER_FILE, land_cover(720), Affine(lc_px, 0, LON0, 0, -lc_px, LAT_TOP))
    wb_px = 1 / 720  # 150 m
    rr, cc = np.mgrid[0:1440, 0:1440]
    wb = np.where((rr - 720) ** 2 + (cc - 700) ** 2 < 40**2, 2, 1).astype(np.uint8)  # a lake at ≈10°E 45°N
    write_map(d / esacci.WATER_BODIES_FILE, wb, Affine(wb_px, 0, LON0, 0, -wb_px, LAT_TOP))
    snc_dir = d / esacci.SNOW_CONDITION_DIR
    snc_dir.mkdir()
    sc_px = 1 / 240  # 500 m
    for month in range(1, 13):
        snc = np.full((480, 480), month * 10, dtype=np.uint8)
        snc[:, :240] = 254 if month % 2 else 0  # west half water in odd months, no snow in even ones
        name = f"ESACCI-LC-L4-Snow-Cond-AggOcc-500m-MONTHLY-2000-2012-2000{month:02d}01-2.4.tif"
        write_map(snc_dir / name, snc, Affine(sc_px, 0, LON0, 0, -sc_px, LAT_TOP))
    snow = np.zeros((360, 720), dtype=np.uint8)  # plain TIFF, 0.5°/px, global; snow north of 60°N
    snow[:60, :] = 1
    write_map(d / esacci.SNOW_MAP_FILE, snow, None)
    return d


def grid_at(lon: float, lat: float, epsg: int = 32632, km: float = 6.0) -> TileGrid:
    xs, ys = warp_transform("EPSG:4326", f"EPSG:{epsg}", [lon], [lat])
    ulx, uly = round((xs[0] - km * 500) / 60) * 60, round((ys[0] + km * 500) / 60) * 60
    n60 = int(km * 1000 / 60)
    return TileGrid(epsg, ulx, uly, {10: (6 * n60, 6 * n60), 20: (3 * n60, 3 * n60), 60: (n60, n60)})


def expected_nearest(grid: TileGrid, resolution: int, source: np.ndarray, px: float) -> np.ndarray:
    """The source pixel containing each output pixel centre."""
    nrows, ncols = grid.shape(resolution)
    t = grid.transform(resolution)
    cols, rows = np.meshgrid(np.arange(ncols) + 0.5, np.arange(nrows) + 0.5)
    lon, lat = warp_transform(grid.crs, "EPSG:4326", (t.c + cols * t.a).ravel(), (t.f + rows * t.e).ravel())
    i = np.floor((LAT_TOP - np.asarray(lat)) / px).astype(int)
    j = np.floor((np.asarray(lon) - LON0) / px).astype(int)
    return source[i, j].reshape(nrows, ncols)


@pytest.mark.parametrize("resolution", [20, 60])
def test_maps_are_warped_with_nearest_neighbour(aux_dir, resolution):
    grid = grid_at(10.0, 45.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every file is present: nothing to report
        aux = esacci.EsaCciAux(aux_dir)
    maps = aux.maps(grid, resolution, month=7)
    assert maps.land_cover.shape == grid.shape(resolution) and maps.land_cover.dtype == np.uint8
    exp = expected_nearest(grid, resolution, land_cover(720), 1 / 360)
    mismatch = np.count_nonzero(maps.land_cover != exp)
    assert mismatch <= 0.001 * exp.size, f"{mismatch} of {exp.size} pixels differ from the source pixel"
    assert set(np.unique(maps.land_cover)) <= {10, 30, 60, 130, 190, 200, 201, 202, 210, 220}
    assert {2, 1} == set(np.unique(maps.water_bodies)), "lake and land, no interpolated values"
    assert len(maps.files) == 4


def test_snow_condition_of_the_acquisition_month(aux_dir):
    grid = grid_at(10.0, 45.0)
    aux = esacci.EsaCciAux(aux_dir)
    july = aux.maps(grid, 60, month=7).snow_condition
    february = aux.maps(grid, 60, month=2).snow_condition
    assert set(np.unique(july)) == {254, 70}
    assert set(np.unique(february)) == {0, 20}
    with pytest.raises(ValueError):
        aux.snow_condition_file(13)


def test_absent_files_are_reported_once_and_give_none(tmp_path, caplog):
    write_map(
        tmp_path / esacci.LAND_COVER_FILE, land_cover(720), Affine(1 / 360, 0, LON0, 0, -1 / 360, LAT_TOP)
    )
    with pytest.warns(FallbackWarning) as record:
        aux = esacci.EsaCciAux(tmp_path)
        grid = grid_at(10.0, 45.0)
        first = aux.maps(grid, 60, month=3)
        second = aux.maps(grid, 20, month=3)
    assert len(record) == 3  # snow map, water bodies, snow-condition folder: once each
    assert sum("not found" in r.message for r in caplog.records if r.levelname == "WARNING") == 3
    for maps in (first, second):
        assert maps.water_bodies is None and maps.snow_condition is None and maps.snow_map is None
        assert maps.land_cover is not None
    assert aux.snow_possible(grid) is True  # no climatology: the snow branch always runs


def test_snow_climatology_decides_the_snow_branch(aux_dir):
    aux = esacci.EsaCciAux(aux_dir)
    assert aux.snow_possible(grid_at(10.0, 45.0)) is False
    assert aux.snow_possible(grid_at(9.0, 65.0)) is True
    maps = aux.maps(grid_at(10.0, 45.0), 60, month=1)
    assert maps.snow_map is not None and not maps.snow_map.any()


def test_tile_outside_a_regional_map_gets_its_no_data_code(aux_dir):
    maps = esacci.EsaCciAux(aux_dir).maps(grid_at(15.0, 45.0, epsg=32633), 60, month=5)
    assert (maps.land_cover == 0).all() and (maps.snow_condition == esacci.SNC_NO_DATA).all()


def test_antimeridian_tile_reads_both_ends_of_a_global_map(tmp_path):
    px = 0.05
    glob = np.zeros((3600, 7200), dtype=np.uint8)
    glob[:, :3600] = 1  # western hemisphere
    glob[:, 3600:] = 2  # eastern hemisphere
    write_map(tmp_path / esacci.LAND_COVER_FILE, glob, Affine(px, 0, -180, 0, -px, 90))
    with pytest.warns(FallbackWarning):
        aux = esacci.EsaCciAux(tmp_path)
    grid = grid_at(180.0, 50.0, epsg=32660)
    lcm = aux.maps(grid, 60, month=1).land_cover
    nrows, ncols = lcm.shape
    assert (lcm[:, : ncols // 2 - 2] == 2).all() and (lcm[:, ncols // 2 + 2 :] == 1).all()
