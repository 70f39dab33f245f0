"""End-to-end runs of L2A_Process through ``main(argv)``: product life cycle and parity with the real Sen2Cor."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
import rasterio

from sen2cor.cli.main import main

PARITY = "parity-a/input/S2A_MSIL1C_20171207T002051_N0206_R116_T55JEJ_20171207T032513.SAFE"
SEN2COR_RES20 = "parity-a/sen2cor-3.3-output/res20"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEN2COR_HOME", str(tmp_path / "home"))


def _img(product: Path, res: int, key: str) -> np.ndarray:
    f = next((next((product / "GRANULE").glob("L2A_*")) / "IMG_DATA" / f"R{res}m").glob(f"*_{key}_{res}m.*"))
    with rasterio.open(f) as ds:
        return ds.read(1)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def _read_only(root: Path) -> None:
    for p in root.rglob("*"):
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_cr_only_and_sc_only_leave_the_input_untouched(tmp_path: Path) -> None:
    from sen2cor.testing import L1CSpec, make_l1c

    l1c = make_l1c(tmp_path / "in", L1CSpec(shape10=(120, 120)))
    _read_only(l1c)
    before = _snapshot(l1c)
    assert main([str(l1c), "--cr_only", "--output_dir", str(tmp_path / "cr")]) == 0
    (product,) = (tmp_path / "cr").glob("S2B_MSIL2A_*_N9999_R065_T32UPC_*.SAFE")
    assert (product / "MTD_MSIL2A.xml").is_file() and not list(product.rglob("*_SCL_20m.jp2"))
    assert main([str(l1c), "--sc_only", "--output_dir", str(tmp_path / "sc")]) == 0
    (product,) = (tmp_path / "sc").glob("*.SAFE")
    scl = _img(product, 20, "SCL")
    assert scl.shape == (60, 60) and set(np.unique(scl)) <= set(range(12))
    assert (scl == 4).mean() > 0.3  # the synthetic scene is mostly vegetation
    mtd = (product / "MTD_MSIL2A.xml").read_text()
    assert "<VEGETATION_PERCENTAGE>" in mtd
    assert _snapshot(l1c) == before
    assert not [p for p in tmp_path.rglob(".*tmp-*")]


def test_second_run_on_a_complete_product_does_nothing(tmp_path: Path) -> None:
    from sen2cor.testing import L1CSpec, make_l1c

    l1c = make_l1c(tmp_path / "in", L1CSpec(shape10=(60, 60)))
    out = tmp_path / "out"
    assert main([str(l1c), "--sc_only", "--resolution", "60", "--output_dir", str(out)]) == 0
    (product,) = out.glob("*.SAFE")
    first = _snapshot(product)
    assert main([str(l1c), "--sc_only", "--resolution", "60", "--output_dir", str(out)]) == 0
    assert list(out.glob("*.SAFE")) == [product] and _snapshot(product) == first


@pytest.mark.slow
def test_parity_with_sen2cor_3_3_at_20m(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Same L1C, same settings, ESA's own LUTs: BOA, AOT, WV and SCL against the real Sen2Cor 3.3 output.

    Tolerances: mean |Δρ| ≤ 0.002 per band (measured ≤ 0.0014; B03 is the largest because only the 331 DU
    tables are available here while Sen2Cor used its 290 DU table), AOT and WV means within 0.005,
    SCL agreement ≥ 99.9 % (measured 100 %).
    """
    monkeypatch.setenv("SEN2COR_LUT_DIR", str(shared_data / "sen2cor-2.8-luts"))
    out = tmp_path / "out"
    assert main([str(shared_data / PARITY), "--resolution", "20", "--output_dir", str(out)]) == 0
    (ours,) = out.glob("*.SAFE")
    (ref,) = (shared_data / SEN2COR_RES20).glob("*.SAFE")
    for key in ("B02", "B03", "B04", "B05", "B8A", "B11", "B12"):
        a, b = _img(ours, 20, key).astype(float), _img(ref, 20, key).astype(float)
        valid = (a > 0) & (b > 0)
        assert np.abs(a - b)[valid].mean() / 10000 <= 0.002, key
    for key, tol in (("AOT", 0.005), ("WVP", 0.005)):
        a, b = _img(ours, 20, key).astype(float), _img(ref, 20, key).astype(float)
        assert abs(a[a > 0].mean() - b[b > 0].mean()) / 1000 <= tol, key
    assert (_img(ours, 20, "SCL") == _img(ref, 20, "SCL")).mean() >= 0.999
    quality = next(ours.glob("GRANULE/L2A_*/QI_DATA/L2A_QUALITY.xml")).read_text()
    assert 'AOT_RETRIEVAL_METHOD">SEN2COR_DDV<' in quality  # PSD 14.6 metadata carry it only in the report
    assert (ours / "GRANULE").is_dir() and _img(ours, 60, "B09").shape == (128, 256)


def test_10m_run_reuses_an_existing_20m_product(shared_data: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``--resolution 10`` after ``--resolution 20`` gives the same 10 m images as one default run."""
    from sen2cor.testing import L1CSpec, make_l1c

    monkeypatch.setenv("SEN2COR_LUT_DIR", str(shared_data / "sen2cor-2.8-luts"))
    l1c = make_l1c(tmp_path / "in", L1CSpec(shape10=(120, 120)))
    assert main([str(l1c), "--resolution", "20", "--output_dir", str(tmp_path / "two")]) == 0
    assert main([str(l1c), "--resolution", "10", "--output_dir", str(tmp_path / "two")]) == 0
    assert main([str(l1c), "--output_dir", str(tmp_path / "one")]) == 0
    (two,), (one,) = (tmp_path / "two").glob("*.SAFE"), (tmp_path / "one").glob("*.SAFE")
    for key in ("B02", "B08", "AOT", "WVP"):
        np.testing.assert_array_equal(_img(two, 10, key), _img(one, 10, key), err_msg=key)
    quality = next(two.glob("GRANULE/L2A_*/QI_DATA/L2A_QUALITY.xml")).read_text()
    assert 'AOT_RETRIEVAL_METHOD">SEN2COR_DDV<' in quality
