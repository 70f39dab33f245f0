"""A complete product from synthetic results, read back: tree, georeferencing, encodings, consumers."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from lxml import etree

from sen2cor.bands import L2A_BANDS
from sen2cor.errors import ProcessingError
from sen2cor.io.l2a import L2AWriter, ProcessingInfo, read_resolution
from sen2cor.io.l2a import encode
from sen2cor.io.l2a.checksums import idle_scheduling_available
from sen2cor.io.l2a.raster import read_georef, read_image

from .conftest import NOW, full_info, synthetic_result

B09_SEED = 7


def _tree_snapshot(root: Path) -> dict[str, tuple[int, float]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def product(small_l1c, tmp_path_factory):  # type: ignore[no-untyped-def]
    """20 m (+ aggregated 60 m) and 10 m written through the public API, plus a log file."""
    out = tmp_path_factory.mktemp("out")
    before = _tree_snapshot(small_l1c.path)
    r20 = synthetic_result(small_l1c, 20, seed=1)
    r10 = synthetic_result(small_l1c, 10, seed=2)
    b09 = np.random.default_rng(B09_SEED).uniform(0, 0.5, small_l1c.tile.grid.shape(60)).astype(np.float32)
    log = out / "L2A_20260102T030405.log"
    log.write_text("INFO run log\n")
    writer = L2AWriter(small_l1c, out, ProcessingInfo(), now=NOW, threads=2)
    assert not writer.has_resolution(20)
    with writer:
        writer.write_resolution(r20, aggregate_to_60=True, b09_60m=b09)
        writer.write_resolution(r10)
        writer.write_metadata(full_info())
        path = writer.finalise(log_file=log)
    assert _tree_snapshot(small_l1c.path) == before, "the L1C input was modified"
    return {"path": path, "r20": r20, "r10": r10, "b09": b09, "out": out, "l1c": small_l1c}


def test_every_file_of_facts_9_exists(product) -> None:  # type: ignore[no-untyped-def]
    p: Path = product["path"]
    assert p.name == "S2B_MSIL2A_20220615T101559_N9999_R065_T32UPC_20260102T030405.SAFE"
    assert sorted(x.name for x in product["out"].iterdir() if x.is_dir()) == [p.name], "temporary folder left"
    g = p / "GRANULE" / "L2A_T32UPC_A027547_20220615T101800"
    pre = "T32UPC_20220615T101559"
    expected = ["MTD_MSIL2A.xml", "manifest.safe", "INSPIRE.xml", "HTML/UserProduct_index.html",
                "HTML/L2A_20260102T030405.log", "DATASTRIP/DS_2BPS_20260102T030405_S20220615T101800/MTD_DS.xml",
                f"{g.relative_to(p)}/MTD_TL.xml", f"{g.relative_to(p)}/AUX_DATA/AUX_ECMWFT",
                f"{g.relative_to(p)}/QI_DATA/L2A_QUALITY.xml", f"{g.relative_to(p)}/QI_DATA/{pre}_PVI.jp2"]
    for res in (10, 20, 60):
        kinds = [*L2A_BANDS[res], "AOT", "WVP", "TCI"] + (["SCL"] if res != 10 else [])
        expected += [f"{g.relative_to(p)}/IMG_DATA/R{res}m/{pre}_{k}_{res}m.jp2" for k in kinds]
    for res in (20, 60):
        expected += [f"{g.relative_to(p)}/QI_DATA/MSK_{k}_{res}m.jp2" for k in ("CLDPRB", "SNWPRB")]
    expected += [f"{g.relative_to(p)}/QI_DATA/MSK_DDVPXL_20m.jp2",
                 f"{g.relative_to(p)}/AUX_DATA/L2A_{pre}_DEM_20m.jp2"]
    missing = [e for e in expected if not (p / e).is_file()]
    assert not missing
    for folder in ("AUX_DATA", "rep_info", "HTML"):
        assert (p / folder).is_dir()
    assert not list(g.glob("IMG_DATA/R10m/*_SCL_*")) and not list(g.glob("IMG_DATA/*/*_B10_*"))
    assert not list(g.glob("IMG_DATA/R20m/*_B08_*")) and not list(g.glob("IMG_DATA/R20m/*_B09_*"))


def test_georeferencing_equals_the_l1c_grid(product) -> None:  # type: ignore[no-untyped-def]
    l1c = product["l1c"]
    ref = {10: "B02", 20: "B05", 60: "B01"}
    for res, band in ref.items():
        with rasterio.open(l1c.tile.band_files[band]) as src:
            expected = (src.crs.to_epsg(), src.transform, src.shape)
        for f in (product["path"] / "GRANULE").glob(f"*/IMG_DATA/R{res}m/*.jp2"):
            g = read_georef(f)
            with rasterio.open(f) as src:
                assert (src.crs.to_epsg(), g.transform, src.shape) == expected, f.name


def test_encodings_round_trip(product) -> None:  # type: ignore[no-untyped-def]
    r20, r10 = product["r20"], product["r10"]
    back = read_resolution(product["path"], 20, offset=True)
    for band in L2A_BANDS[20]:
        written = encode.encode_boa(back.boa[band])
        assert np.array_equal(written, encode.encode_boa(r20.boa[band], nodata=r20.scl == 0)), band
        ok = np.isfinite(back.boa[band])
        assert np.all(np.abs(back.boa[band][ok] - r20.boa[band][ok]) <= 0.5e-4 + 1e-6)
        assert not np.isfinite(back.boa[band][0, 0])  # NaN and SCL 0 → no data
    assert np.array_equal(back.scl, r20.scl)
    assert np.array_equal(encode.encode_aot(back.aot), encode.encode_aot(r20.aot, r20.scl))
    assert np.array_equal(encode.encode_wvp(back.wvp), encode.encode_wvp(r20.wvp, r20.scl))
    assert np.array_equal(back.cloud_probability, r20.cloud_probability)
    back10 = read_resolution(product["path"], 10, offset=True)
    assert np.array_equal(encode.encode_boa(back10.boa["B08"]), encode.encode_boa(r10.boa["B08"]))
    g = next((product["path"] / "GRANULE").glob("*"))
    dem = read_image(next(g.glob("AUX_DATA/*_DEM_20m.jp2")))
    assert np.array_equal(dem, encode.encode_dem(r20.dem))


def test_60m_is_aggregated_from_20m(product) -> None:  # type: ignore[no-untyped-def]
    r20, l1c = product["r20"], product["l1c"]
    back60 = read_resolution(product["path"], 60, offset=True)
    dn20 = encode.encode_boa(r20.boa["B8A"], nodata=r20.scl == 0)
    expected = np.rint(dn20.astype(float).reshape(20, 3, 30, 3).mean(axis=(1, 3))).astype(np.uint16)
    assert np.array_equal(encode.encode_boa(back60.boa["B8A"]), expected)
    assert back60.scl.shape == l1c.tile.grid.shape(60)
    assert np.array_equal(encode.encode_boa(back60.boa["B09"]),
                          encode.encode_boa(product["b09"], nodata=back60.scl == 0))


def test_tci_and_pvi(product) -> None:  # type: ignore[no-untyped-def]
    g = next((product["path"] / "GRANULE").glob("*"))
    tci20 = read_image(next(g.glob("IMG_DATA/R20m/*_TCI_20m.jp2")))
    dn = {b: encode.encode_boa(product["r20"].boa[b], nodata=product["r20"].scl == 0) for b in ("B04", "B03", "B02")}
    assert np.array_equal(tci20, encode.encode_tci(dn["B04"], dn["B03"], dn["B02"]))
    pvi = next(g.glob("QI_DATA/*_PVI.jp2"))
    with rasterio.open(pvi) as src:
        assert src.count == 3 and src.shape == (343, 343) and src.transform.a == 320.0
        assert np.array_equal(src.read(), encode.make_pvi(tci20))  # from the 20 m TCI, not the 60 m one


def test_no_tci_when_disabled_but_preview_kept(small_l1c, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with L2AWriter(small_l1c, tmp_path, ProcessingInfo(generate_tci=False), now=NOW) as w:
        w.write_resolution(synthetic_result(small_l1c, 20))
        p = w.finalise()
    assert not list(p.glob("GRANULE/*/IMG_DATA/*/*_TCI_*")) and list(p.glob("GRANULE/*/QI_DATA/*_PVI.jp2"))


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_gdal_sentinel2_driver_reads_the_product(product) -> None:  # type: ignore[no-untyped-def]
    mtd = product["path"] / "MTD_MSIL2A.xml"
    with rasterio.open(mtd) as ds:
        subs = ds.subdatasets
        assert ds.tags()["PROCESSING_BASELINE"] == "99.99"
    name20 = [s for s in subs if ":20m:EPSG_32632" in s]
    assert name20, subs
    g = next((product["path"] / "GRANULE").glob("*"))
    with rasterio.open(name20[0]) as ds:
        assert ds.crs.to_epsg() == 32632 and ds.transform.a == 20.0 and ds.shape == (60, 90)
        desc = [d.split(",")[0] for d in ds.descriptions]
        for key, pattern in (("B5", "IMG_DATA/R20m/*_B05_20m.jp2"), ("B12", "IMG_DATA/R20m/*_B12_20m.jp2"),
                             ("SCL", "IMG_DATA/R20m/*_SCL_20m.jp2"), ("AOT", "IMG_DATA/R20m/*_AOT_20m.jp2"),
                             ("CLD", "QI_DATA/MSK_CLDPRB_20m.jp2")):
            band = desc.index(key) + 1
            assert np.array_equal(ds.read(band), read_image(next(g.glob(pattern)))), key
        assert ds.tags(desc.index("B5") + 1)["BOA_ADD_OFFSET"] == "-1000"


def test_metadata_content(product) -> None:  # type: ignore[no-untyped-def]
    p = product["path"]
    root = etree.parse(str(p / "MTD_MSIL2A.xml")).getroot()
    txt = {el.tag: el.text for el in root.iter() if isinstance(el.tag, str) and len(el) == 0}
    assert txt["PRODUCT_URI"] == p.name and txt["PROCESSING_BASELINE"] == "99.99"
    assert txt["BOA_QUANTIFICATION_VALUE"] == "10000" and txt["AOT_QUANTIFICATION_VALUE"] == "1000.0"
    assert len(root.findall(".//BOA_ADD_OFFSET")) == 13
    assert txt["Cloud_Coverage_Assessment"] == "12.500000" and txt["VEGETATION_PERCENTAGE"] == "40.000000"
    files = [e.text for e in root.iter("IMAGE_FILE")]
    assert all((p / (f + ".jp2")).is_file() for f in files) and len(files) == 7 + 14 + 15
    aot20 = read_image(next(p.glob("GRANULE/*/IMG_DATA/R20m/*_AOT_20m.jp2")))
    assert float(txt["GRANULE_MEAN_AOT"]) == pytest.approx(aot20[aot20 > 0].mean() / 1000, abs=1e-6)
    tile = etree.parse(str(next(p.glob("GRANULE/*/MTD_TL.xml")))).getroot()
    masks = [m.text.rsplit("/", 1)[-1] for m in tile.iter("MASK_FILENAME")]
    assert {"MSK_CLDPRB_20m.jp2", "MSK_SNWPRB_60m.jp2", "MSK_DDVPXL_20m.jp2"} <= set(masks)
    q = etree.parse(str(next(p.glob("GRANULE/*/QI_DATA/L2A_QUALITY.xml")))).getroot()
    values = {v.get("name"): v.text for v in q.iter("{*}value")}
    assert values["AOT_RETRIEVAL_METHOD"] == "SEN2COR_DDV" and values["OZONE_VALUE"] == "277.140000"
    assert values["LUT_DATA_FILES"] == "['g99000_wv20_rura.atm']" and values["B02"] == "0.130000"
    assert q.find(".//{*}File_Class").text == "USER"


def test_manifest_lists_every_file_with_md5(product) -> None:  # type: ignore[no-untyped-def]
    p = product["path"]
    root = etree.parse(str(p / "manifest.safe")).getroot()
    listed = {}
    for obj in root.iter("dataObject"):
        href = obj.find(".//fileLocation").get("href")
        listed[href[2:]] = obj.find(".//checksum").text
    on_disk = {f.relative_to(p).as_posix() for f in p.rglob("*") if f.is_file() and f.name != "manifest.safe"}
    assert set(listed) == on_disk and any(r.endswith("_B02_10m.jp2") for r in on_disk)
    for rel in on_disk:  # those computed in the background (the images) included
        assert listed[rel] == hashlib.md5((p / rel).read_bytes(), usedforsecurity=False).hexdigest(), rel


@pytest.mark.skipif(not idle_scheduling_available(), reason="missing resource: an idle scheduling class")
def test_image_checksums_come_from_the_background(  # type: ignore[no-untyped-def]
        small_l1c, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each image is checksummed in the background once written (strip images and whole ones, 60 m
    aggregates and the L1C masks copied included): ``manifest.safe`` computes only the other files'
    checksums itself."""
    from sen2cor.io.l2a import manifest

    computed: list[str] = []
    real = manifest._md5
    monkeypatch.setattr(manifest, "_md5", lambda path: computed.append(path.name) or real(path))
    r20 = synthetic_result(small_l1c, 20, seed=1)
    writer = L2AWriter(small_l1c, tmp_path, ProcessingInfo(), now=NOW, threads=2)
    with writer:
        writer.write_resolution(r20, aggregate_to_60=True, defer=True)
        dn = writer.encode_boa(synthetic_result(small_l1c, 10, seed=2).boa["B02"])
        with writer.strip_images(10, ["B02"]) as strips:
            strips["B02"].write(0, dn)
        writer.write_metadata(full_info())
        images = [f for f in writer.layout.root.rglob("*") if f.suffix == ".jp2"]
        assert any("_B02_10m" in f.name for f in images) and any("_60m" in f.name for f in images)
        end = time.monotonic() + 20
        while not all(writer._checksums.known(f) for f in images):
            assert time.monotonic() < end, "images not checksummed in the background"
            time.sleep(0.01)
        path = writer.finalise()
    assert computed and not [n for n in computed if n.endswith(".jp2")]
    assert {f.name for f in path.rglob("*.jp2")} == {f.name for f in images}


def test_existing_resolution_is_not_rewritten(product) -> None:  # type: ignore[no-untyped-def]
    again = L2AWriter(product["l1c"], product["out"], ProcessingInfo(), threads=1)
    assert again.existing == product["path"]
    assert again.has_resolution(20) and again.has_resolution(10) and again.has_resolution(60)


def test_10m_run_reuses_the_20m_product(small_l1c, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with L2AWriter(small_l1c, tmp_path, ProcessingInfo(), now=NOW) as w:
        w.write_resolution(synthetic_result(small_l1c, 20, seed=3))
        first = w.finalise()
    scl_before = (next(first.glob("GRANULE/*/IMG_DATA/R20m/*_SCL_20m.jp2"))).read_bytes()
    w2 = L2AWriter(small_l1c, tmp_path, ProcessingInfo(), now=NOW.replace(year=2027))
    assert w2.has_resolution(20) and not w2.has_resolution(10)
    reused = read_resolution(w2.existing, 20, offset=True, boa=False)  # as the 10 m run reads it
    assert reused.scl is not None and reused.scl.shape == (60, 90)
    assert reused.boa == {} and reused.aot is not None and reused.wvp is not None
    np.testing.assert_array_equal(reused.scl, read_resolution(w2.existing, 20, offset=True).scl)
    with w2:
        w2.write_resolution(synthetic_result(small_l1c, 10, seed=4))
        second = w2.finalise()
    assert second == first  # same product name (generation time of the first run)
    assert sorted(x.name for x in tmp_path.iterdir()) == [first.name]
    assert L2AWriter(small_l1c, tmp_path, ProcessingInfo()).has_resolution(10)
    assert next(second.glob("GRANULE/*/IMG_DATA/R20m/*_SCL_20m.jp2")).read_bytes() == scl_before
    files = [e.text for e in etree.parse(str(second / "MTD_MSIL2A.xml")).getroot().iter("IMAGE_FILE")]
    assert any("/R10m/" in f for f in files) and any("/R20m/" in f for f in files)


def test_cr_only_creates_tree_and_metadata(small_l1c, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with L2AWriter(small_l1c, tmp_path, ProcessingInfo(), now=NOW) as w:
        w.write_metadata()
        p = w.finalise()
    for rel in ("MTD_MSIL2A.xml", "manifest.safe", "INSPIRE.xml", "HTML/UserProduct_index.html"):
        assert (p / rel).is_file()
    g = next(p.glob("GRANULE/L2A_*"))
    assert all((g / "IMG_DATA" / f"R{r}m").is_dir() for r in (10, 20, 60))
    assert (g / "MTD_TL.xml").is_file() and (g / "QI_DATA" / "L2A_QUALITY.xml").is_file()
    assert not list(g.glob("IMG_DATA/*/*.jp2"))


def test_failed_run_leaves_no_product(small_l1c, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError):
        with L2AWriter(small_l1c, tmp_path, ProcessingInfo(), now=NOW) as w:
            w.write_resolution(synthetic_result(small_l1c, 20))
            raise RuntimeError("processing failed")
    assert list(tmp_path.iterdir()) == []


def test_shape_mismatch_is_refused(small_l1c, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with L2AWriter(small_l1c, tmp_path, ProcessingInfo(), now=NOW) as w:
        with pytest.raises(ProcessingError):
            w.write_resolution(synthetic_result(small_l1c, 60).__class__(20, scl=np.zeros((5, 5), np.uint8)))
        w.abort()


@pytest.mark.parametrize("fmt, ext", [("TIF", ".tif"), ("RAW", ".raw")])
def test_tif_raw_and_scl_cog(small_l1c, tmp_path: Path, fmt: str, ext: str,  # type: ignore[no-untyped-def]
                             caplog: pytest.LogCaptureFixture) -> None:
    info = ProcessingInfo(output_format=fmt, sc_cog=True)  # type: ignore[arg-type]
    r20 = synthetic_result(small_l1c, 20, seed=5)
    with caplog.at_level(logging.INFO), L2AWriter(small_l1c, tmp_path, info, now=NOW) as w:
        w.write_resolution(r20)
        w.write_metadata()
        p = w.finalise()
    img = next(p.glob("GRANULE/*/IMG_DATA/R20m"))
    b05 = next(img.glob(f"*_B05_20m{ext}"))
    assert np.array_equal(read_image(b05), encode.encode_boa(r20.boa["B05"], nodata=r20.scl == 0))
    if fmt == "RAW":
        assert b05.with_suffix(".hdr").is_file()
    scl = next(img.glob("*_SCL_20m.tif"))
    with rasterio.open(scl) as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert np.array_equal(src.read(1), r20.scl)
    granule = etree.parse(str(p / "MTD_MSIL2A.xml")).getroot().find(".//Granule")
    assert granule.get("imageFormat") == "BINARY"


def _images_20_60(p: Path) -> dict[str, Path]:
    """The JPEG 2000 images of a product outside R10m, by name without the tile/date prefix."""
    g = next((p / "GRANULE").glob("*"))
    return {f.name.split("_", 2)[-1]: f for f in sorted(g.rglob("*.jp2")) if "R10m" not in f.parts}


def test_bands_handed_over_early_give_the_same_product(product, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each band given to ``resolution_images`` as soon as it exists (what the pipeline does while it
    corrects the next band), and the WVP map handed over by rows, write the same images as the whole result
    at once, 60 m, TCI and PVI included (the WVP not twice)."""
    import dataclasses

    l1c, r20 = product["l1c"], product["r20"]
    writer = L2AWriter(l1c, tmp_path, ProcessingInfo(), now=NOW, threads=2)
    with writer:
        images = writer.resolution_images(20, aggregate_to_60=True, background=True)
        nodata = r20.scl == 0
        images.add_map("WVP", lambda rows: r20.wvp[rows], r20.scl)  # as the correction hands it over
        for band_id in ("B05", "B02", "B03", "B04", "B8A"):  # any order; TCI once B02-B04 are in
            images.put_boa(band_id, r20.boa[band_id].copy(), nodata)
        rest = dataclasses.replace(r20, boa={b: v for b, v in r20.boa.items() if b not in images.added})
        written = writer.write_resolution(rest, aggregate_to_60=True, b09_60m=product["b09"], images=images)
        assert len(written) == len(set(written)) and sum("WVP" in f.name for f in written) == 2  # 20 and 60 m
        with pytest.raises(ProcessingError, match="do not match"):
            writer.write_resolution(r20, images=writer.resolution_images(20, aggregate_to_60=True))
        writer.write_metadata(full_info())
        path = writer.finalise()

    early, whole = _images_20_60(path), _images_20_60(product["path"])
    assert set(early) == set(whole) and any("TCI_20m" in k for k in early) and any("PVI" in k for k in early)
    assert any("WVP_20m" in k for k in early) and any("WVP_60m" in k for k in early)
    for key, f in early.items():
        assert np.array_equal(read_image(f), read_image(whole[key])), key


@pytest.mark.parametrize("next_run", ["strips_10m", "none", "error"])
def test_deferred_60m_images_are_written_by_the_next_run_or_the_metadata(product, tmp_path: Path,
                                                                         next_run: str) -> None:  # type: ignore[no-untyped-def]
    """``defer``: the aggregated 60 m images wait for the 10 m run's encoders (or, when no such run comes,
    the metadata writes them) and the 20 m encodings are waited for then; the classification images handed
    over right after the classification (``add_classification``) are not written twice.  The product's
    20 m and 60 m images are the same."""
    import dataclasses

    l1c, r20 = product["l1c"], product["r20"]
    writer = L2AWriter(l1c, tmp_path, ProcessingInfo(), now=NOW, threads=2)
    with writer:
        images = writer.resolution_images(20, aggregate_to_60=True, background=True)
        images.add_classification(r20)
        for band_id in ("B02", "B03", "B04"):
            images.put_boa(band_id, r20.boa[band_id].copy(), r20.scl == 0)
        rest = dataclasses.replace(r20, boa={b: v for b, v in r20.boa.items() if b not in images.added})
        writer.write_resolution(rest, aggregate_to_60=True, b09_60m=product["b09"], images=images, defer=True)
        deferred = len(writer._deferred_60)
        assert deferred > 0, "the 60 m images were not deferred"
        if next_run == "error":  # the encodings left running end before the folder is removed
            with pytest.raises(RuntimeError, match="later failure"):
                with writer:
                    raise RuntimeError("later failure")
            assert list(tmp_path.iterdir()) == []
            return
        # some may have been started on the workers the last 20 m images left idle (EncoderPool.fill); the
        # last of them may still run (write_resolution does not wait for it)
        writer._deferred_60.wait_started()
        early = {f.name for f in writer.layout.root.rglob("*_60m.jp2")}
        if next_run == "strips_10m":
            dn = writer.encode_boa(product["r10"].boa["B02"])
            with writer.strip_images(10, ["B02"]) as strips:
                strips["B02"].write(0, dn)
                assert len(strips) == 1 and list(strips) == ["B02"]  # the 60 m images are not its keys
        writer.write_metadata(full_info())
        path = writer.finalise()

    images, whole = _images_20_60(path), _images_20_60(product["path"])
    assert set(images) == set(whole) and sum("_60m" in k for k in images) >= 15
    assert len(early) + deferred == len(list(path.rglob("*_60m.jp2")))  # each written once, early or later
    for key, f in images.items():
        assert np.array_equal(read_image(f), read_image(whole[key])), key
