"""L1C quality masks: MSK_QUALIT rasters with lost packets, GML masks, GENERAL_QUALITY.xml, real QI_DATA."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
from affine import Affine

from sen2cor.errors import MetadataError
from sen2cor.grid import TileGrid
from sen2cor.io import masks

ULX, ULY = 600000.0, 5000040.0
GRID = TileGrid(32632, ULX, ULY, {10: (120, 120), 20: (60, 60), 60: (20, 20)})

GENERAL_QUALITY = """<?xml version="1.0" encoding="UTF-8"?>
<Earth_Explorer_File xmlns="http://gs2.esa.int/DATA_STRUCTURE/olqcReport">
  <Data_Block type="xml">
    <report date="2023-01-01T00:00:00.000Z" gippVersion="1.0" globalStatus="{status}">
      <checkList>
        <name>GENERAL_QUALITY</name>
        <check>
          <inspection id="checkMetadata" name="Metadata file check. " priority="5" status="PASSED"/>
          <message contentType="text/plain">Metadata file is present.</message>
        </check>
        <check>
          <inspection id="Data_Loss" name="Check TECQUA for data loss " priority="5" status="{status}"/>
          <message contentType="text/plain">{message}</message>
          {extra}
        </check>
      </checkList>
    </report>
  </Data_Block>
</Earth_Explorer_File>
"""


def write_general_quality(qi: Path, status: str, bands: str | None) -> None:
    extra = (
        f'<extraValues><value name="LOST_BANDS">{bands}</value></extraValues>' if bands is not None else ""
    )
    message = "Data loss in this tile." if status == "FAILED" else "No data loss in this tile."
    (qi / "GENERAL_QUALITY.xml").write_text(
        GENERAL_QUALITY.format(status=status, message=message, extra=extra)
    )


def write_qualit(qi: Path, band: str, resolution: int, layers: dict[int, tuple[slice, slice]]) -> None:
    """An 8-layer MSK_QUALIT JP2 (lossless) at ``resolution`` with rectangles set in the given layers."""
    n = 1200 // resolution
    data = np.zeros((8, n, n), dtype=np.uint8)
    for layer, (rows, cols) in layers.items():
        data[layer - 1, rows, cols] = 1
    profile = dict(
        driver="JP2OpenJPEG",
        width=n,
        height=n,
        count=8,
        dtype="uint8",
        crs="EPSG:32632",
        transform=Affine(resolution, 0, ULX, 0, -resolution, ULY),
        QUALITY=100,
        REVERSIBLE="YES",
    )
    with rasterio.open(qi / f"MSK_QUALIT_{band}.jp2", "w", **profile) as ds:
        ds.write(data)


@pytest.fixture
def lost_packets(tmp_path):
    """Lost MSI packets (layer 3) in B03 (10 m) and B11 (20 m); other layers, an unlisted band: decoys."""
    qi = tmp_path / "QI_DATA"
    qi.mkdir()
    write_qualit(
        qi,
        "B03",
        10,
        {
            3: (slice(10, 30), slice(40, 80)),
            4: (slice(90, 100), slice(0, 120)),
            8: (slice(0, 5), slice(0, 5)),
        },
    )
    write_qualit(qi, "B11", 20, {3: (slice(30, 40), slice(5, 25))})
    write_qualit(qi, "B04", 10, {3: (slice(100, 120), slice(100, 120))})  # not listed in the report
    write_general_quality(qi, "FAILED", "B03 B11")
    return SimpleNamespace(qi_dir=qi, grid=GRID)


def expected(resolution: int) -> np.ndarray:
    m10 = np.zeros((120, 120), dtype=bool)
    m10[10:30, 40:80] = True  # B03
    m10[60:80, 10:50] = True  # B11 rows 30–39, cols 5–24 at 20 m
    f = resolution // 10
    return m10.reshape(120 // f, f, 120 // f, f).any(axis=(1, 3))


@pytest.mark.parametrize("resolution", [10, 20, 60])
def test_lost_packets_in_two_bands_give_the_mask_exactly_there(lost_packets, resolution):
    mask = masks.quality_mask(lost_packets, resolution)
    assert mask is not None and mask.shape == GRID.shape(resolution) and mask.dtype == bool
    np.testing.assert_array_equal(mask, expected(resolution))
    counts = {10: 20 * 40 + 20 * 40, 20: 10 * 20 + 10 * 20, 60: 4 * 8 + 4 * 8}
    assert int(mask.sum()) == counts[resolution]


def test_report_decides_whether_and_which_bands(lost_packets, caplog):
    qi = lost_packets.qi_dir
    report = masks.read_general_quality(qi)
    assert report.data_loss and report.lost_bands == ("B03", "B11") and report.global_status == "FAILED"
    write_general_quality(qi, "PASSED", None)
    assert masks.quality_mask(lost_packets, 20) is None
    write_general_quality(qi, "FAILED", None)
    assert masks.quality_mask(lost_packets, 20) is None
    assert "affected bands cannot be retrieved" in caplog.text
    (qi / "GENERAL_QUALITY.xml").unlink()
    assert masks.quality_mask(lost_packets, 20) is None
    # explicit bands and layers bypass the report: B04 lost packets, B03 saturation
    forced = masks.quality_mask(lost_packets, 10, bands=["B04"])
    assert forced.sum() == 400 and forced[100:, 100:].all()
    saturated = masks.quality_mask(lost_packets, 10, bands=["B3"], layers=["QT_SATURATED_PIXELS_L1A"])
    assert saturated.sum() == 25


def test_listed_band_without_mask_is_skipped(lost_packets, caplog):
    write_general_quality(lost_packets.qi_dir, "FAILED", "B03 B12")
    mask = masks.quality_mask(lost_packets, 20)
    assert mask.sum() == 200 and "no MSK_QUALIT mask for band B12" in caplog.text


def gml_rect_mask(mask_type: str, x0: float, y0: float, x1: float, y1: float, band: str) -> str:
    ring = f"{x0} {y1} 0 {x1} {y1} 0 {x1} {y0} 0 {x0} {y0} 0 {x0} {y1} 0"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<eop:Mask xmlns:eop="http://www.opengis.net/eop/2.0" xmlns:gml="http://www.opengis.net/gml/3.2"
  gml:id="TECQUA_{band}">
  <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG:8.7:32632">
  <gml:lowerCorner>{x0} {y0} 0</gml:lowerCorner><gml:upperCorner>{x1} {y1} 0</gml:upperCorner>
  </gml:Envelope></gml:boundedBy>
  <eop:maskMembers>
    <eop:MaskFeature gml:id="{mask_type}.0">
      <eop:maskType codeSpace="urn:gs2:S2PDGS:maskType">{mask_type}</eop:maskType>
      <eop:extentOf><gml:Polygon gml:id="P0"><gml:exterior><gml:LinearRing>
        <gml:posList srsDimension="3">{ring}</gml:posList>
      </gml:LinearRing></gml:exterior></gml:Polygon></eop:extentOf>
    </eop:MaskFeature>
  </eop:maskMembers>
</eop:Mask>
"""


def test_gml_generation_tecqua_lost_packets(tmp_path):
    qi = tmp_path / "QI_DATA"
    qi.mkdir()
    # 200 m × 400 m of lost MSI packets in B02, plus degraded packets that must not count
    (qi / "MSK_TECQUA_B02.gml").write_text(
        gml_rect_mask("MSI_LOST", ULX + 400, ULY - 600, ULX + 800, ULY - 400, "B02")
    )
    (qi / "MSK_TECQUA_B05.gml").write_text(gml_rect_mask("MSI_DEG", ULX, ULY - 1200, ULX + 1200, ULY, "B05"))
    write_general_quality(qi, "FAILED", "B02 B05")
    tile = SimpleNamespace(qi_dir=qi, grid=GRID)
    mask = masks.quality_mask(tile, 20)
    exp = np.zeros((60, 60), dtype=bool)
    exp[20:30, 20:40] = True
    np.testing.assert_array_equal(mask, exp)
    assert masks.quality_mask(tile, 20, include_gml=False) is None  # Sen2Cor 2.11 reads rasters only


def test_hostile_general_quality_is_refused(tmp_path):
    (tmp_path / "GENERAL_QUALITY.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    )
    with pytest.raises(MetadataError, match="GENERAL_QUALITY.xml"):
        masks.read_general_quality(tmp_path)


def shoelace_area(ring: list[tuple[float, float]]) -> float:
    x, y = np.array(ring).T
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


@pytest.mark.needs_shared_data
@pytest.mark.parametrize("product", ["s2-l1c-t55jej-lowres", "parity-a/input"])
def test_real_gml_masks_of_t55jej(shared_data, product):
    hits = sorted((shared_data / product).glob("*.SAFE/GRANULE/*/QI_DATA"))
    if not hits:
        pytest.skip(f"missing resource: {product}: no QI_DATA folder in ../shared/data")
    qi = hits[0]
    # the GMLs describe the original full tile (EPSG:32755, UL 499980/6900040), rasterised here at 60 m
    grid = TileGrid(32755, 499980.0, 6900040.0, {10: (10980, 10980), 20: (5490, 5490), 60: (1830, 1830)})
    report = masks.read_general_quality(qi)
    assert report.data_loss_status == "PASSED" and not report.data_loss
    assert masks.quality_mask(SimpleNamespace(qi_dir=qi, grid=grid), 60) is None
    det = masks.detector_footprint(qi, "B02", grid.shape(60), grid.transform(60), crs=grid.crs)
    ids, counts = np.unique(det, return_counts=True)
    assert set(ids) == {0, 7, 8, 9, 10, 11, 12}
    assert counts[ids == 0][0] / det.size < 0.01  # detectors cover > 99 % of the tile
    # the B10 defective-pixel sliver: rasterised area matches the polygon area
    gml = masks.read_gml_mask(qi / "MSK_DEFECT_B10.gml")
    assert gml.epsg == 32755 and [f.mask_type for f in gml.features] == ["QT_DEFECTIVE_PIXELS"]
    area = sum(shoelace_area(p["coordinates"][0]) for f in gml.features for p in f.polygons)
    defect = masks.band_mask(
        qi, "B10", "QT_DEFECTIVE_PIXELS", grid.shape(60), grid.transform(60), crs=grid.crs
    )
    assert defect.sum() * 3600.0 == pytest.approx(area, rel=0.05)
    empty = masks.band_mask(qi, "B02", "MSI_LOST", grid.shape(60), grid.transform(60), crs=grid.crs)
    assert empty is not None and not empty.any()  # MSK_TECQUA_B02.gml exists and is empty
