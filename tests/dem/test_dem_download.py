"""DEM download from DEM_Reference against a loopback HTTP server: success, 404, truncation, concurrency."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest
from dem_builders import (
    LoopbackServer,
    Route,
    copernicus_name,
    copernicus_tile_bytes,
    pixel_lonlat,
    ramp,
    srtm_name,
    srtm_tile_bytes,
    tar_bytes,
    utm_grid,
    zip_bytes,
)

from sen2cor.errors import AuxDataError, FallbackWarning
from sen2cor.io import dem, dem_download

CORNERS = [(5.0, 50.0), (10.0, 50.0), (5.0, 45.0), (10.0, 45.0)]


def srtm_routes(prefix: str = "/srtm_5x5/TIFF") -> dict[str, Route]:
    routes = {}
    for lon0, lat_top in CORNERS:
        tif = srtm_name(lon0, lat_top)
        routes[f"{prefix}/{tif[:-4]}.zip"] = Route(zip_bytes(tif, srtm_tile_bytes(lon0, lat_top, ramp)))
    return routes


def test_srtm_download_then_local_reuse(tmp_path):
    grid = utm_grid()
    with LoopbackServer(srtm_routes()) as server:
        reference = f"{server.url}/srtm_5x5/TIFF/"
        products = dem.prepare_dem(grid, 20, dem_directory=tmp_path, dem_reference=reference)
        assert products is not None and products.dem_type == "SRTM_90"
        assert sorted(p.name for p in tmp_path.glob("*.tif")) == sorted(srtm_name(*c) for c in CORNERS)
        assert not list(tmp_path.glob(".*.part")), "temporary files are cleaned up"
        assert all(n == 1 for n in server.hits.values()) and len(server.hits) == 4
        # second run: tiles are local, nothing is requested again
        again = dem.prepare_dem(grid, 60, dem_directory=tmp_path, dem_reference=reference)
        assert again is not None and sum(server.hits.values()) == 4
    lon, lat = pixel_lonlat(grid, 20)
    assert np.abs(products.elevation - ramp(lon, lat)).max() < 0.5


def test_copernicus_tar_and_aws_tif_downloads(tmp_path):
    grid = utm_grid()
    routes = {}
    for lon in (9, 10):
        for lat in (44, 45):
            tif = copernicus_name(lon, lat)
            payload = copernicus_tile_bytes(lon, lat, ramp)
            routes[f"/COP-DEM_GLO-90-DGED__2023_1/{tif.replace('_DEM.tif', '.tar')}"] = Route(
                tar_bytes({f"{tif[:-8]}/DEM/{tif}": payload, f"{tif[:-8]}/INFO/x.xml": b"<x/>"})
            )
            cog = copernicus_name(lon, lat, cog=True)
            routes[f"/aws/{cog[:-4]}/{cog}"] = Route(payload)
    with LoopbackServer(routes) as server:
        cdse = dem.prepare_dem(
            grid,
            20,
            dem_directory=tmp_path / "cdse",
            dem_reference=f"{server.url}/COP-DEM_GLO-90-DGED__2023_1/",
        )
        aws = dem.prepare_dem(grid, 20, dem_directory=tmp_path / "aws", dem_reference=f"{server.url}/aws")
    assert cdse.dem_type == "CDSE_COPERNICUS_90" and aws.dem_type == "AWS_COPERNICUS_90"
    np.testing.assert_allclose(cdse.elevation, aws.elevation, atol=1e-3)
    assert len(list((tmp_path / "cdse").glob("Copernicus_DSM_30_*_DEM.tif"))) == 4


@pytest.mark.parametrize("failure", ["404", "truncated_transfer", "truncated_zip", "not_a_zip"])
def test_failed_download_falls_back_or_raises(tmp_path, failure):
    routes = srtm_routes()
    victim = sorted(routes)[2]
    body = routes[victim].body
    if failure == "404":
        routes[victim] = Route(status=404)
    elif failure == "truncated_transfer":
        routes[victim] = Route(body, truncate_to=len(body) // 3)
    elif failure == "truncated_zip":
        routes[victim] = Route(body[: len(body) // 2])
    else:
        routes[victim] = Route(b"<html>maintenance</html>" * 10)
    grid = utm_grid()
    with LoopbackServer(routes) as server:
        reference = f"{server.url}/srtm_5x5/TIFF/"
        with pytest.warns(FallbackWarning, match="flat terrain"):
            assert (
                dem.prepare_dem(grid, 60, dem_directory=tmp_path, dem_reference=reference, timeout_s=5)
                is None
            )
        with pytest.raises(AuxDataError, match="srtm_"):
            dem.prepare_dem(
                grid,
                60,
                dem_directory=tmp_path,
                dem_reference=reference,
                timeout_s=5,
                force_exit_on_dem_error=True,
            )
    bad = victim.rsplit("/", 1)[1].replace(".zip", ".tif")
    assert not (tmp_path / bad).exists(), "a failed download never leaves a tile behind"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]


def test_timeout_is_reported(tmp_path):
    routes = srtm_routes()
    for route in routes.values():
        route.delay_s = 3.0
    with LoopbackServer(routes) as server:
        with pytest.raises(AuxDataError, match="timed out|transfer failed"):
            dem_download.fetch_dem_tile(
                f"{server.url}{sorted(routes)[0]}", tmp_path, "srtm_38_03.tif", archive="zip", timeout_s=0.5
            )


def _fetch_in_child(url: str, directory: str, name: str, queue) -> None:
    try:
        path = dem_download.fetch_dem_tile(url, directory, name, archive="zip", timeout_s=20)
        queue.put(("ok", str(path)))
    except Exception as exc:  # report to the parent
        queue.put(("error", repr(exc)))


def test_two_concurrent_downloads_of_one_tile(tmp_path):
    lon0, lat_top = CORNERS[0]
    tif = srtm_name(lon0, lat_top)
    payload = srtm_tile_bytes(lon0, lat_top, ramp)
    route = Route(zip_bytes(tif, payload), delay_s=1.0)  # slow enough for the two runs to overlap
    with LoopbackServer({"/t.zip": route}) as server:
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        procs = [
            ctx.Process(target=_fetch_in_child, args=(f"{server.url}/t.zip", str(tmp_path), tif, queue))
            for _ in range(2)
        ]
        for p in procs:
            p.start()
        results = [queue.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        hits = server.hits.get("/t.zip", 0)
    assert [r[0] for r in results] == ["ok", "ok"], results
    assert hits == 1, "the second run waited for the lock and reused the tile"
    assert (tmp_path / tif).read_bytes() == payload, "the tile is complete and uncorrupted"
    dem_download.validate_geotiff(tmp_path / tif)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]


def test_non_http_reference_is_refused(tmp_path):
    with pytest.raises(AuxDataError, match="not an http"):
        dem_download.fetch_dem_tile("ftp://example.org/x.zip", tmp_path, "x.tif", archive="zip")
