"""Quality percentages (facts §8), checked against a hand count and against the real Sen2Cor 3.3 product."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import rasterio

from sen2cor.sc.quality import scene_percentages


def test_percentages_by_hand() -> None:
    scl = np.array([[0, 1, 4, 4], [8, 9, 10, 6], [6, 2, 3, 11]], dtype=np.uint8)
    wbi = np.array([[1, 1, 1, 1], [2, 1, 1, 2], [2, 1, 1, 1]], dtype=np.uint8)
    p = scene_percentages(scl, full_tile_pixels=16, wbi=wbi)
    # full 16 = 12 in SCL + 4 outside → no data 5; saturated 1 of 11; valid 10
    assert p["NODATA_PIXEL_PERCENTAGE"] == pytest.approx(5 / 16 * 100, rel=1e-6)
    assert p["SATURATED_DEFECTIVE_PIXEL_PERCENTAGE"] == pytest.approx(1 / 11 * 100, rel=1e-6)
    assert p["VEGETATION_PERCENTAGE"] == pytest.approx(20.0, rel=1e-6)
    assert p["CLOUDY_PIXEL_PERCENTAGE"] == pytest.approx(30.0, rel=1e-6)
    # land = WBI ≠ 2 and SCL > 1: 7 pixels, clouds on land: 9 and 10 → 2/7
    assert p["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"] == pytest.approx(2 / 7 * 100, rel=1e-6)
    assert "CAST_SHADOW_PERCENTAGE" in scene_percentages(scl, psd15=True)
    assert scene_percentages(scl)["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"] == 0.0  # no WBI: 0, as Sen2Cor


@pytest.mark.needs_shared_data
def test_percentages_match_sen2cor_quality_report(parity_a: Path) -> None:
    product = next((parity_a / "sen2cor-3.3-output/res20").glob("*.SAFE"))
    with rasterio.open(next(product.glob("GRANULE/*/IMG_DATA/R20m/*_SCL_20m.jp2"))) as ds:
        scl = ds.read(1)
    report = next(product.glob("GRANULE/*/QI_DATA/L2A_QUALITY.xml")).read_text()
    expected = {m[0]: float(m[1]) for m in re.findall(r'name="([A-Z_]+PERCENTAGE)">([0-9.]+)<', report)}
    ours = scene_percentages(scl, full_tile_pixels=384 * 768)
    checked = 0
    for name, value in ours.items():
        if name in expected:
            assert f"{value:f}" == f"{expected[name]:f}", name  # written with 6 decimals by Sen2Cor
            checked += 1
    assert checked == 14
