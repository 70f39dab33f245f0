"""Builders of small DEM tiles in the real products' formats and naming, plus a loopback HTTP server.

Imported by the tests of this folder (pytest puts the folder on ``sys.path``).
"""

from __future__ import annotations

import http.server
import io
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.io import MemoryFile
from rasterio.warp import transform as warp_transform

from sen2cor.grid import TileGrid

Surface = Callable[[np.ndarray, np.ndarray], np.ndarray]

LON_C, LAT_C = 10.0, 45.0
"""Test tiles are centred on the corner shared by four SRTM and four 1° tiles."""


def ramp(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A steep linear surface (≈0.25 m/m east, 0.14 m/m north) so that half a pixel shows as metres."""
    return np.clip(600.0 + 20000.0 * (lon - LON_C) + 15000.0 * (lat - LAT_C), -30000.0, 30000.0)


def utm_grid(
    center_lon: float = LON_C, center_lat: float = LAT_C, *, epsg: int = 32632, half_km: float = 3.0
) -> TileGrid:
    """A small tile grid (6 km) centred on (lon, lat), with 10/20/60 m sizes of one extent."""
    xs, ys = warp_transform("EPSG:4326", f"EPSG:{epsg}", [center_lon], [center_lat])
    half = half_km * 1000.0
    ulx = round((xs[0] - half) / 60.0) * 60.0
    uly = round((ys[0] + half) / 60.0) * 60.0
    n60 = int(2 * half / 60)
    return TileGrid(
        epsg=epsg, ulx=ulx, uly=uly, sizes={10: (6 * n60, 6 * n60), 20: (3 * n60, 3 * n60), 60: (n60, n60)}
    )


def pixel_lonlat(grid: TileGrid, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude of every pixel centre of ``grid`` at ``resolution``."""
    nrows, ncols = grid.shape(resolution)
    t = grid.transform(resolution)
    cols, rows = np.meshgrid(np.arange(ncols) + 0.5, np.arange(nrows) + 0.5)
    x = t.c + cols * t.a
    y = t.f + rows * t.e
    lon, lat = warp_transform(grid.crs, "EPSG:4326", x.ravel(), y.ravel())
    return np.asarray(lon).reshape(x.shape), np.asarray(lat).reshape(x.shape)


def srtm_name(lon0: float, lat_top: float) -> str:
    return f"srtm_{int((lon0 + 180) // 5) + 1:02d}_{int((60 - lat_top) // 5) + 1:02d}.tif"


def srtm_tile_bytes(
    lon0: float,
    lat_top: float,
    surface: Surface,
    *,
    dx: float = 0.01,
    sea: Callable | None = None,
    fixed: bool = False,
) -> bytes:
    """A CGIAR-style 5°×5° GeoTIFF (int16, NoData −32768) as bytes.

    The header has the raw CGIAR origin (½ pixel west/north of the 5° corner); the heights are those of
    ``surface`` at the positions Sen2Cor's SIIMPC-577 fix assigns to the pixels (½ pixel further
    south-west).  ``fixed=True`` writes the header as Sen2Cor rewrites it after a download.
    """
    n = int(round(5.0 / dx))
    j = np.arange(n)
    lon = lon0 + (j - 0.5) * dx
    lat = lat_top - (np.arange(n) + 0.5) * dx
    glon, glat = np.meshgrid(lon, lat)
    z = np.rint(surface(glon, glat)).astype(np.int16)
    if sea is not None:
        z[sea(glon, glat)] = -32768
    if fixed:
        transform = Affine(dx, 0, lon0 - dx, 0, -dx, lat_top)
    else:
        transform = Affine(dx, 0, lon0 - dx / 2, 0, -dx, lat_top + dx / 2)
    return _gtiff_bytes(z, transform, nodata=-32768)


def write_srtm_tile(directory: Path, lon0: float, lat_top: float, surface: Surface, **kw) -> Path:
    path = Path(directory) / srtm_name(lon0, lat_top)
    path.write_bytes(srtm_tile_bytes(lon0, lat_top, surface, **kw))
    return path


def write_dted_tile(directory: Path, lon: int, lat: int, surface: Surface) -> Path:
    """A DTED level-1 cell (1201×1201 posts, 3"), named by its south-west corner (``e009_n45.dt1``)."""
    dx = 1.0 / 1200.0
    posts_lon = lon + np.arange(1201) * dx
    posts_lat = lat + 1 - np.arange(1201) * dx
    glon, glat = np.meshgrid(posts_lon, posts_lat)
    z = np.rint(surface(glon, glat)).astype(np.int16)
    ew, ns = ("e" if lon >= 0 else "w"), ("n" if lat >= 0 else "s")
    path = Path(directory) / f"{ew}{abs(lon):03d}_{ns}{abs(lat):02d}.dt1"
    transform = Affine(dx, 0, lon - dx / 2, 0, -dx, lat + 1 + dx / 2)
    with MemoryFile() as mf:
        with mf.open(
            driver="GTiff",
            width=1201,
            height=1201,
            count=1,
            dtype="int16",
            crs="EPSG:4326",
            transform=transform,
        ) as m:
            m.write(z, 1)
            rasterio.shutil.copy(m, path, driver="DTED")
    return path


def copernicus_name(lon: int, lat: int, *, cog: bool = False, res: str = "30") -> str:
    ew, ns = ("E" if lon >= 0 else "W"), ("N" if lat >= 0 else "S")
    return f"Copernicus_DSM_{'COG_' if cog else ''}{res}_{ns}{abs(lat):02d}_00_{ew}{abs(lon):03d}_00_DEM.tif"


def copernicus_tile_bytes(lon: int, lat: int, surface: Surface) -> bytes:
    """A Copernicus GLO-90-style 1° tile (1200×1200 float32, pixel centres on the 3" posts)."""
    dx = 3.0 / 3600.0
    glon, glat = np.meshgrid(lon + np.arange(1200) * dx, lat + 1 - np.arange(1200) * dx)
    z = surface(glon, glat).astype(np.float32)
    return _gtiff_bytes(z, Affine(dx, 0, lon - dx / 2, 0, -dx, lat + 1 + dx / 2), nodata=None)


def _gtiff_bytes(z: np.ndarray, transform: Affine, nodata) -> bytes:
    with MemoryFile() as mf:
        with mf.open(
            driver="GTiff",
            width=z.shape[1],
            height=z.shape[0],
            count=1,
            dtype=z.dtype.name,
            crs="EPSG:4326",
            transform=transform,
            nodata=nodata,
            compress="deflate",
        ) as ds:
            ds.write(z, 1)
        return mf.read()


def zip_bytes(member: str, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, payload)
        zf.writestr("readme.txt", b"test tile")
    return buf.getvalue()


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    truncate_to: int | None = None
    """Announce the full length but send only this many bytes, then close."""
    delay_s: float = 0.0
    """Pause between two halves of the body (to make downloads overlap)."""


@dataclass
class LoopbackServer:
    """HTTP server on 127.0.0.1 (random port) serving ``routes``; counts requests per path."""

    routes: dict[str, Route] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def __enter__(self) -> LoopbackServer:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                route = server.routes.get(path)
                if route is None or route.status == 404:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                body = route.body if route.truncate_to is None else route.body[: route.truncate_to]
                half = len(body) // 2
                self.wfile.write(body[:half])
                self.wfile.flush()
                if route.delay_s:
                    time.sleep(route.delay_s)
                self.wfile.write(body[half:])
                self.wfile.flush()
                if route.truncate_to is not None:
                    self.close_connection = True

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
