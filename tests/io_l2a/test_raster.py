"""Raster formats: lossless JPEG 2000 with Sen2Cor's code-stream layout, GeoTIFF, COG, ENVI."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp

from sen2cor.io.l2a.raster import (
    JP2_LAYOUT,
    Georef,
    _open_array,
    jp2_creation_options,
    jp2_stage_blocks,
    read_georef,
    read_image,
    write_image,
)

from .conftest import PARITY_INPUT

GEO = Georef("EPSG:32755", Affine(20.0, 0.0, 499980.0, 0.0, -20.0, 6900040.0))


def codestream_layout(path: Path) -> dict[str, object]:
    """Tile size and COD parameters read from the JPEG 2000 main header (SIZ/COD markers)."""
    data = path.read_bytes()
    start = data.index(b"\xff\x4f\xff\x51")  # SOC + SIZ
    p = start + 2
    out: dict[str, object] = {}
    while p < len(data):
        marker, length = struct.unpack(">HH", data[p:p + 4])
        seg = data[p + 4:p + 2 + length]
        if marker == 0xFF51:
            _, xs, ys, _, _, xt, yt, _, _, comps = struct.unpack(">HIIIIIIIIH", seg[:36])
            out.update(size=(xs, ys), tile=(xt, yt), components=comps)
        elif marker == 0xFF52:
            scod, prog, layers, mct, levels, xcb, ycb, _, wavelet = struct.unpack(">BBHBBBBBB", seg[:10])
            prec = [(2 ** (b & 15), 2 ** (b >> 4)) for b in seg[10:]] if scod & 1 else None
            out.update(progression=prog, layers=layers, mct=mct, levels=levels,
                       codeblock=(2 ** (xcb + 2), 2 ** (ycb + 2)), reversible=wavelet == 1, precincts=prec)
        elif marker == 0xFF90:
            break
        p += 2 + length
    return out


def test_jp2_is_lossless_georeferenced_and_sen2cor_layout(tmp_path: Path) -> None:
    a = np.random.default_rng(1).integers(0, 32768, (384, 768)).astype(np.uint16)
    path = write_image(tmp_path / "b.jp2", a, GEO, fmt="JP2", resolution=20, threads=2)
    assert np.array_equal(read_image(path), a)
    assert read_georef(path) == GEO
    lay = codestream_layout(path)
    # facts §9, 20 m: tiles 640 (clamped to the image), code-blocks 8, precincts 128 (64 at the lowest level)
    assert lay["tile"] == (640, 384) and lay["codeblock"] == (8, 8) and lay["levels"] == 5
    assert lay["progression"] == 0 and lay["layers"] == 1 and lay["reversible"]
    assert lay["precincts"] == [(64, 64)] + [(128, 128)] * 5
    assert not list(tmp_path.glob("*.aux.xml"))


@pytest.mark.parametrize("res, tile, cb", [(10, 1024, 64), (60, 192, 4)])
def test_jp2_layout_per_resolution(tmp_path: Path, res: int, tile: int, cb: int) -> None:
    a = np.arange(300 * 1100, dtype=np.uint16).reshape(300, 1100)
    lay = codestream_layout(write_image(tmp_path / "x.jp2", a, GEO, fmt="JP2", resolution=res))
    assert lay["tile"] == (min(tile, 1100), min(tile, 300)) and lay["codeblock"] == (cb, cb)


def test_jp2_source_is_staged_one_block_per_tile(tmp_path: Path) -> None:
    # CreateCopy reads one JPEG 2000 tile at a time: a block per tile keeps GDAL's GeoTIFF worker threads out
    opts = jp2_creation_options((5490, 5490), JP2_LAYOUT[20])
    assert jp2_stage_blocks(opts) == {"TILED": "YES", "blockxsize": "640", "blockysize": "640"}
    assert jp2_stage_blocks(jp2_creation_options((300, 1100), JP2_LAYOUT[10])) == {}  # 300 rows: not a multiple of 16
    assert jp2_stage_blocks(jp2_creation_options((50, 70), None)) == {}  # preview: a single tile of the image
    # several tiles, partial ones at the right and bottom edges: still lossless with the tiled stage
    a = np.random.default_rng(3).integers(0, 65535, (1300, 1500)).astype(np.uint16)
    path = write_image(tmp_path / "big.jp2", a, GEO, fmt="JP2", resolution=20, threads=2)
    assert np.array_equal(read_image(path), a)
    assert codestream_layout(path)["tile"] == (640, 640)


def test_jp2_source_is_the_array_itself_or_a_staged_copy(tmp_path: Path) -> None:
    a = np.random.default_rng(4).integers(0, 65535, (2, 90, 130)).astype(np.uint16)
    src = _open_array(a, GEO)  # a MEM dataset over the array's memory, georeferenced
    assert src is not None
    with src:
        assert src.crs.to_epsg() == 32755 and src.transform == GEO.transform
        assert np.array_equal(src.read(), a)
        a[1, 5, 7] = 12345  # no copy: the dataset sees the array
        assert src.read(2)[5, 7] == 12345
    # a CRS the MEM open string cannot carry (WKT has commas): the image goes through the staged copy
    wkt = rasterio.crs.CRS.from_epsg(32755).to_wkt()
    georef = Georef(wkt, GEO.transform)
    assert _open_array(a, georef) is None
    path = write_image(tmp_path / "wkt.jp2", a, georef, fmt="JP2", resolution=60)
    assert np.array_equal(read_image(path), a) and read_georef(path) == GEO
    assert _open_array(a.astype(np.int64), GEO) is None  # not a JPEG 2000 pixel type


def test_tiny_images_and_rgb(tmp_path: Path) -> None:
    tiny = np.arange(7 * 9, dtype=np.uint16).reshape(7, 9)
    assert np.array_equal(read_image(write_image(tmp_path / "t.jp2", tiny, GEO, fmt="JP2", resolution=60)), tiny)
    rgb = np.random.default_rng(2).integers(0, 256, (3, 50, 70)).astype(np.uint8)
    path = write_image(tmp_path / "rgb.jp2", rgb, GEO, fmt="JP2", resolution=None)
    assert np.array_equal(read_image(path), rgb)
    with rasterio.open(path) as ds:  # an sRGB colour box, as Sen2Cor's TCI and PVI
        assert ds.colorinterp == (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
    assert codestream_layout(path)["precincts"] is None


def test_gtiff_envi_and_cog(tmp_path: Path) -> None:
    a = np.random.default_rng(3).integers(0, 12, (300, 450)).astype(np.uint8)
    tif = write_image(tmp_path / "a.tif", a, GEO, fmt="TIF", resolution=20)
    raw = write_image(tmp_path / "a.raw", a, GEO, fmt="RAW", resolution=20)
    cog = write_image(tmp_path / "scl.tif", a, GEO, fmt="JP2", resolution=20, cog=True)
    for p in (tif, raw, cog):
        assert np.array_equal(read_image(p), a) and read_georef(p) == GEO, p
    assert (tmp_path / "a.hdr").is_file()
    with rasterio.open(tif) as src:  # lossless ZSTD with horizontal differencing, 512-pixel tiles
        assert src.tags(ns="IMAGE_STRUCTURE") == {"COMPRESSION": "ZSTD", "INTERLEAVE": "BAND", "PREDICTOR": "2"}
        assert src.block_shapes[0] in ((512, 512), src.shape)
    with rasterio.open(cog) as src:
        assert src.overviews(1) == [3, 6, 18]
        assert src.profile["blockxsize"] == 1024 or src.width < 1024
        assert src.compression.name == "lzw"
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


@pytest.mark.needs_shared_data
def test_layout_equals_sen2cor_33_files(tmp_path: Path) -> None:
    """Same SIZ/COD parameters as the files Sen2Cor 3.3 wrote for parity-a (20 and 60 m, 1 and 3 bands)."""
    granules = sorted((PARITY_INPUT.parent / "sen2cor-3.3-output" / "res20").glob("*.SAFE/GRANULE/*"))
    if not granules:
        pytest.skip("missing resource: parity-a Sen2Cor 3.3 output not found")
    for pattern, res in (("IMG_DATA/R20m/*_B02_20m.jp2", 20), ("IMG_DATA/R60m/*_B02_60m.jp2", 60),
                         ("IMG_DATA/R20m/*_TCI_20m.jp2", 20), ("QI_DATA/*_PVI.jp2", None)):
        ref = next(granules[0].glob(pattern))
        data = read_image(ref)
        ours = write_image(tmp_path / ref.name, data, read_georef(ref), fmt="JP2", resolution=res)
        assert codestream_layout(ours) == codestream_layout(ref), pattern
        assert read_georef(ours) == read_georef(ref)
