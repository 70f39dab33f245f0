"""The whole chain with the package's own 6S tables (no Sen2Cor Lib_Dir): what a user without ESA's LUTs runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from sen2cor.cli.main import main
from sen2cor.testing import L1CSpec, make_l1c


def _img(product: Path, res: int, key: str) -> np.ndarray:
    f = next((next((product / "GRANULE").glob("L2A_*")) / "IMG_DATA" / f"R{res}m").glob(f"*_{key}_{res}m.*"))
    with rasterio.open(f) as ds:
        return ds.read(1)


def test_chain_with_the_shipped_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEN2COR_LUT_DIR", raising=False)
    monkeypatch.setenv("SEN2COR_HOME", str(tmp_path / "home"))  # no Lib_Dir below it
    l1c = make_l1c(tmp_path / "L1C", L1CSpec(shape10=(240, 240)))
    assert main([str(l1c), "--output_dir", str(tmp_path / "out")]) == 0
    product = next((tmp_path / "out").glob("*.SAFE"))
    scl = _img(product, 20, "SCL")
    valid = scl > 1
    aot = _img(product, 20, "AOT")[valid] / 1000.0
    wvp = _img(product, 20, "WVP")[valid] / 1000.0
    assert 0.03 < float(aot.mean()) < 1.3 and 0.2 < float(wvp.mean()) < 5.5
    for res, band in ((10, "B04"), (20, "B8A"), (20, "B12"), (60, "B01")):
        dn = _img(product, res, band).astype(np.float64)
        rho = (dn[dn > 0] - 1000.0) / 10000.0  # baseline 05.10: BOA_ADD_OFFSET −1000
        assert rho.size and 0.0 < float(np.median(rho)) < 0.8, (res, band)
    text = next(product.glob("GRANULE/*/QI_DATA/L2A_QUALITY.xml")).read_text()
    assert 'AOT_RETRIEVAL_METHOD">SEN2COR_DDV<' in text  # the synthetic scene has dark vegetation
