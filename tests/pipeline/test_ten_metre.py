"""The 10 m run in row strips (pipeline/ten_metre.py, ac/strips.py) equals the whole-frame correction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from sen2cor.cli.main import main
from sen2cor.pipeline import ten_metre


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEN2COR_HOME", str(tmp_path / "home"))


def _images(product: Path, res: int) -> dict[str, np.ndarray]:
    folder = next((product / "GRANULE").glob("L2A_*")) / "IMG_DATA" / f"R{res}m"
    out = {}
    for f in sorted(folder.iterdir()):
        with rasterio.open(f) as ds:
            out[f.name.split("_")[-2]] = ds.read()
    return out


def _l1c_with_nodata(root: Path) -> Path:
    """A synthetic L1C (clouds, water, soil …) with a no-data triangle, so both background fills matter."""
    from sen2cor.testing import L1CSpec, make_l1c
    from sen2cor.testing.scene import synthetic_toa

    shape = (240, 240)
    toa = synthetic_toa(shape)
    for v in toa.values():
        n = v.shape[0]
        yy, xx = np.mgrid[0:n, 0:n]
        v[xx + yy < n // 3] = 0.0  # no data in the top-left corner, at every resolution
    return make_l1c(root, L1CSpec(shape10=shape), toa=toa)


@pytest.mark.parametrize("fmt", [[], ["--tif"]])
def test_strips_equal_one_whole_frame_strip(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            fmt: list[str]) -> None:
    """Strips of 48 rows (halo 101 rows) give the same 10 m images as one strip holding the whole frame.

    The strip run also down-samples the 10 m bands in 64-row strips and keeps their DN in the scratch
    folder for the 10 m run (``BandReader.spill_dir``), which the whole-frame run does not.
    """
    from sen2cor.io import l1c_bands

    monkeypatch.setenv("SEN2COR_LUT_DIR", str(shared_data / "sen2cor-2.8-luts"))
    l1c = _l1c_with_nodata(tmp_path / "in")
    monkeypatch.setattr(ten_metre, "STRIP_ROWS", 10_000)
    assert main([str(l1c), "--output_dir", str(tmp_path / "whole"), *fmt]) == 0
    monkeypatch.setattr(ten_metre, "STRIP_ROWS", 48)
    monkeypatch.setattr(l1c_bands, "DOWNSAMPLE_STRIP_ROWS", 64)
    spilled: list[str] = []
    toa_rows = l1c_bands.BandReader.toa_rows

    def spy(self, band_id, row0, row1):
        path = self._spill_path(band_id)
        if path is not None and path.is_file():
            spilled.append(band_id)
        return toa_rows(self, band_id, row0, row1)

    monkeypatch.setattr(l1c_bands.BandReader, "toa_rows", spy)
    assert main([str(l1c), "--output_dir", str(tmp_path / "strips"), *fmt]) == 0
    assert set(spilled) == {"B02", "B03", "B04", "B08"}  # the 10 m run read the kept DN, no second decoding
    (whole,), (strips,) = (tmp_path / "whole").glob("*.SAFE"), (tmp_path / "strips").glob("*.SAFE")
    for res in (20, 60):  # strip-wise down-sampling is exact
        a, b = _images(whole, res), _images(strips, res)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), res
    a, b = _images(whole, 10), _images(strips, 10)
    assert set(a) == set(b) == {"B02", "B03", "B04", "B08", "AOT", "WVP", "TCI"}
    nodata = a["B02"][0] == 0
    assert 0.03 < nodata.mean() < 0.3  # the no-data corner is there
    for key in a:
        diff = np.abs(a[key].astype(np.int32) - b[key].astype(np.int32))
        # float summation order differs between one strip and 48-row strips: at most 1 DN, on very few pixels
        assert diff.max() <= 1 and np.count_nonzero(diff) <= 1e-3 * diff.size, key
    assert not list(strips.rglob("*.stage.tif")) and not list(strips.rglob(".scratch-*"))
    if fmt:  # streamed, staged multi-band and whole-array GeoTIFFs all carry the --tif creation options
        tifs = sorted(strips.glob("GRANULE/*/IMG_DATA/R*m/*.tif"))
        assert len(tifs) >= 30
        for path in tifs:
            with rasterio.open(path) as src:
                structure = src.tags(ns="IMAGE_STRUCTURE")
                assert (structure["COMPRESSION"], structure["PREDICTOR"]) == ("ZSTD", "2"), path.name
                assert src.block_shapes[0] in ((512, 512), src.shape), path.name


def test_strip_bounds() -> None:
    assert list(ten_metre.strips(10, 4)) == [(0, 4), (4, 8), (8, 10)]
    assert list(ten_metre.strips(4, 4)) == [(0, 4)]


def test_handover_gives_up_its_reference() -> None:
    """The 10 m run takes the 20 m outcome from the hand-over, which keeps no reference to it (so the 10 m
    run can free the 20 m maps after step 1), and cannot hand it out twice."""
    import gc
    import weakref

    from sen2cor.io.l2a.results import ProcessingInfo, ResolutionResult
    from sen2cor.pipeline.stages import RunOutcome

    outcome = RunOutcome(ResolutionResult(20, scl=np.zeros((4, 4), np.uint8)), ProcessingInfo())
    ref = weakref.ref(outcome)
    handover = ten_metre.Handover(outcome)
    del outcome
    taken = handover.take()
    assert taken is ref()
    with pytest.raises(RuntimeError, match="taken already"):
        handover.take()
    del taken
    gc.collect()
    assert ref() is None, "the hand-over still holds the 20 m outcome"


def test_drop_images_keeps_what_the_10m_run_uses() -> None:
    """Before the 10 m run only the SCL of the 20 m result is kept (the written images are dropped)."""
    from sen2cor.io.l2a.results import ProcessingInfo, ResolutionResult
    from sen2cor.pipeline.stages import RunOutcome

    scl = np.full((4, 4), 4, np.uint8)
    prob = np.zeros((4, 4), np.uint8)
    boa = {"B02": np.ones((4, 4), np.float32)}
    result = ResolutionResult(20, boa=boa, scl=scl, cloud_probability=prob, snow_probability=prob,
                              aot=np.ones((4, 4), np.float32))
    slim = ten_metre.drop_images(RunOutcome(result, ProcessingInfo(), b09_60m=np.ones((2, 2), np.float32)))
    assert slim.result.scl is scl
    assert slim.result.boa == {}
    assert slim.result.cloud_probability is None and slim.result.snow_probability is None
    assert slim.result.aot is None and slim.b09_60m is None
