"""L1C metadata reader on real products and on hostile/broken input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sen2cor.errors import MetadataError, ProductError
from sen2cor.io.l1c import read_l1c
from sen2cor.io.l1c_bands import BandReader
from sen2cor.testing.lowres import consistent_lowres_copy

PARITY = "parity-a/input/S2A_MSIL1C_20171207T002051_N0206_R116_T55JEJ_20171207T032513.SAFE"
T55JEJ = "s2-l1c-t55jej-lowres/S2A_MSIL1C_20171207T002051_N0206_R116_T55JEJ_20171207T032513.SAFE"
T29UNU_L2A = "s2-l2a-t29unu-esa/S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454.SAFE"


def test_parity_product_metadata(shared_data: Path) -> None:
    p = read_l1c(shared_data / PARITY)
    assert p.spacecraft == "S2A"
    assert p.processing_baseline == "02.06"
    assert not p.has_radio_offset and set(p.radio_add_offset.values()) == {0}
    assert p.quantification_value == 10000
    assert p.u == pytest.approx(1.02945457689196)
    assert p.solar_irradiance["B02"] == pytest.approx(1941.63)
    assert p.solar_irradiance["B12"] == pytest.approx(85.25)
    assert p.relative_orbit == 116
    assert p.datatake_sensing_start.isoformat().startswith("2017-12-07T00:20:51.026")
    t = p.tile
    assert t.tile_number == "55JEJ" and t.absolute_orbit == 12840
    assert t.grid.epsg == 32755 and (t.grid.ulx, t.grid.uly) == (499980, 6900040)
    assert t.grid.sizes == {10: (768, 1536), 20: (384, 768), 60: (128, 256)}
    assert t.angles.mean_sun_zenith == pytest.approx(22.4880527964554)
    assert t.angles.sun.zenith.shape == (23, 23)
    assert t.angles.sun.zenith[0, 0] == pytest.approx(22.9222)
    assert set(t.angles.viewing) == {b for b in t.band_files}
    assert 0 < t.angles.mean_view_zenith < 12
    assert t.aux_ecmwft is not None and t.aux_cams is None
    assert len(t.band_files) == 13
    assert ("MSK_DETFOO", "B02") in t.mask_files


def test_tile_folder_and_relative_input(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    granule = next((shared_data / PARITY / "GRANULE").iterdir())
    assert read_l1c(granule).tile.path == granule
    monkeypatch.chdir(shared_data / PARITY / "..")
    assert read_l1c(Path(PARITY).name).tile.tile_number == "55JEJ"


def test_parity_bands_are_read_as_toa(shared_data: Path) -> None:
    p = read_l1c(shared_data / PARITY)
    r = BandReader(p, threads=2)
    dn = r.dn("B04")
    assert dn.shape == (768, 1536) and dn.dtype == np.uint16
    toa = r.toa("B04", 10)
    np.testing.assert_allclose(toa[dn > 0], dn[dn > 0] / 10000.0, rtol=1e-6)
    b12 = r.toa("B12", 60)  # 20 m → 60 m block mean
    assert b12.shape == (128, 256)
    np.testing.assert_allclose(b12[0, 0], np.floor(r.dn("B12")[:3, :3].mean() + 0.5) / 10000.0, rtol=1e-6)
    b01 = r.toa("B01", 20)  # 60 m → 20 m bicubic
    assert b01.shape == (384, 768)
    assert abs(float(b01.mean()) - float(r.toa("B01", 60).mean())) < 0.002


def test_lowres_product_size_mismatch_is_reported(shared_data: Path) -> None:
    p = read_l1c(shared_data / T55JEJ)
    with pytest.raises(ProductError, match=r"B02\.jp2: image is 172×172 pixels but MTD_TL.xml says 10980×10980"):
        BandReader(p).dn("B02")


def test_lowres_product_made_consistent(shared_data: Path, tmp_path: Path) -> None:
    safe = consistent_lowres_copy(shared_data / T55JEJ, tmp_path)
    p = read_l1c(safe)
    assert p.tile.grid.shape(20) == (90, 90)
    toa = BandReader(p).toa_images(["B02", "B8A", "B09"], 20)
    assert {k: v.shape for k, v in toa.items()} == {"B02": (90, 90), "B8A": (90, 90), "B09": (90, 90)}
    assert 0.08 < float(toa["B02"].mean()) < 0.2  # semi-arid, clear: SOURCE.md says B02 mean ~1231 DN


def test_l2a_product_is_refused(shared_data: Path) -> None:
    with pytest.raises(ProductError, match="is a Level-2A product, not Level-1C"):
        read_l1c(shared_data / T29UNU_L2A)


def test_not_a_product(tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="not a Level-1C product"):
        read_l1c(tmp_path)
    with pytest.raises(ProductError, match="no such file or directory"):
        read_l1c(tmp_path / "nope.SAFE")


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    from sen2cor.testing import L1CSpec, make_l1c

    return make_l1c(tmp_path, L1CSpec(shape10=(60, 60)))


def test_entities_are_refused(built: Path) -> None:
    mtd = built / "MTD_MSIL1C.xml"
    body = mtd.read_text(encoding="utf-8").split("?>", 1)[1]
    mtd.write_text('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + body)
    with pytest.raises(MetadataError, match="MTD_MSIL1C.xml: contains a DOCTYPE"):
        read_l1c(built)


def test_malformed_xml_names_file(built: Path) -> None:
    mtd = next((built / "GRANULE").iterdir()) / "MTD_TL.xml"
    mtd.write_text(mtd.read_text()[:500])
    with pytest.raises(MetadataError, match=r"MTD_TL.xml: malformed XML"):
        read_l1c(built)


def test_missing_element_is_named(built: Path) -> None:
    mtd = built / "MTD_MSIL1C.xml"
    mtd.write_text(mtd.read_text().replace("<U>", "<X>").replace("</U>", "</X>"))
    with pytest.raises(MetadataError, match=r"MTD_MSIL1C.xml: missing element <U>"):
        read_l1c(built)


def test_missing_band_file(built: Path) -> None:
    next((built / "GRANULE").iterdir()).joinpath("IMG_DATA").glob("*_B11.jp2").__next__().unlink()
    with pytest.raises(ProductError, match=r"_B11.jp2: band B11 image listed in the metadata is missing"):
        read_l1c(built)


def test_reader_lists_its_scratch_files_for_removal(shared_data: Path, tmp_path: Path) -> None:
    """The files a reader leaves in its scratch folders (DN of the bands it read, the 10 m DN kept for the
    10 m run) are what ``scratch_files`` lists; ``remove_in_background`` removes them, missing ones too."""
    from sen2cor.io.scratch import remove_in_background

    spill, dn = tmp_path / "spill", tmp_path / "dn"
    spill.mkdir(), dn.mkdir()
    r = BandReader(read_l1c(shared_data / PARITY), threads=2, spill_dir=spill, dn_dir=dn)
    r.toa_images(["B02", "B05", "B09"], 20)
    written = {p for d in (spill, dn) for p in d.iterdir()}
    assert {p.name for p in written} >= {"B02_20m.u16", "B05_20m.u16", "B09_20m.u16"}
    assert set(r.scratch_files()) == written
    remove_in_background([*r.scratch_files(), tmp_path / "never-written"]).join()
    assert not list(spill.iterdir()) and not list(dn.iterdir()) and r.scratch_files() == []
