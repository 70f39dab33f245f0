"""DN → TOA rules (facts §3) on the real PB 02.09 / 04.00 stacks, GRIB auxiliary data, builder round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sen2cor.io.aux import read_cams, read_ecmwft
from sen2cor.io.l1c import read_l1c
from sen2cor.io.l1c_bands import BandReader
from sen2cor.io.xml import parse_xml, iter_local
from sen2cor.physics.radiometry import dn_to_toa

UKIS = "s2-l1c-tiny-t32upc-ukis"
T29UNU_AUX = "s2-l2a-t29unu-esa/S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454.SAFE/GRANULE/L2A_T29UNU_A038058_20221005T115407/AUX_DATA"


@pytest.mark.parametrize(
    "stem, offset",
    [("S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159", 0),
     ("S2B_MSIL1C_20220615T101559_N0400_R065_T32UPC_20220615T122549", -1000)],
)
def test_offsets_against_reference_toa(shared_data: Path, stem: str, offset: int) -> None:
    import rasterio

    root = parse_xml(shared_data / UKIS / f"{stem}_MTD.xml")
    offsets = {int(e.get("band_id")): int(e.text) for e in iter_local(root, "RADIO_ADD_OFFSET")}
    assert set(offsets.values()) <= {offset} and (offset == 0) == (not offsets)
    with rasterio.open(shared_data / UKIS / f"{stem}.tif") as ds:
        dn = ds.read()
    with rasterio.open(shared_data / UKIS / f"{stem}_toa.tif") as ds:
        ref = ds.read()
    for i in range(13):
        ours = dn_to_toa(dn[i], offsets.get(i, 0), 10000.0)
        valid = (dn[i] > 0) & (dn[i].astype(int) + offsets.get(i, 0) > 0)
        np.testing.assert_allclose(ours[valid], ref[i][valid], atol=1e-6)
        assert (ours[dn[i] == 0] == 0).all()


def test_dn_rules_edge_cases() -> None:
    dn = np.array([0, 1, 999, 1000, 1001, 11000], dtype=np.uint16)
    np.testing.assert_allclose(dn_to_toa(dn, -1000, 10000.0), [0, 1e-4, 1e-4, 1e-4, 1e-4, 1.0], rtol=1e-6)


def test_ecmwf_ozone_and_cams_aod(shared_data: Path) -> None:
    e = read_ecmwft(shared_data / T29UNU_AUX / "AUX_ECMWFT")
    assert e.ozone_du == pytest.approx(321.75, abs=0.01)
    c = read_cams(shared_data / T29UNU_AUX / "AUX_CAMSFO")
    aod = c.aod550
    assert aod is not None and aod.values.shape == (9, 9)
    assert aod.values.min() == pytest.approx(0.074, abs=5e-4) and aod.values.max() == pytest.approx(0.161, abs=5e-4)
    h = c.surface_height_km
    assert h is not None and 0.0 < h.max() < 0.2


def test_parity_ecmwf_ozone(shared_data: Path) -> None:
    p = read_l1c(shared_data / "parity-a/input/S2A_MSIL1C_20171207T002051_N0206_R116_T55JEJ_20171207T032513.SAFE")
    assert read_ecmwft(p.tile.aux_ecmwft).ozone_du == pytest.approx(277.1, abs=0.1)  # parity-a NOTES.md


@pytest.mark.parametrize("baseline", ["02.09", "05.10"])
def test_builder_round_trip(tmp_path: Path, baseline: str) -> None:
    from sen2cor.testing import L1CSpec, make_l1c, synthetic_toa

    spec = L1CSpec(shape10=(120, 120), baseline=baseline, spacecraft="S2C")
    toa = synthetic_toa(spec.shape10)
    p = read_l1c(make_l1c(tmp_path, spec, toa=toa))
    assert p.spacecraft == "S2C" and p.processing_baseline == baseline
    assert p.has_radio_offset == (baseline == "05.10")
    r = BandReader(p)
    for bid in ("B02", "B8A", "B10"):
        np.testing.assert_allclose(r.toa(bid, {"B02": 10, "B8A": 20, "B10": 60}[bid]), toa[bid], atol=0.6e-4)
    assert read_ecmwft(p.tile.aux_ecmwft).ozone_du == pytest.approx(330.0, abs=0.01)
    assert read_cams(p.tile.aux_cams).aod550.values.mean() == pytest.approx(0.12, abs=1e-4)
