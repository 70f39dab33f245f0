"""Tiles Sen2Cor must finish cleanly (release note seed 002): black, one band, 100 % cloud, no land."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from sen2cor.ac.correct import correct_resolution
from sen2cor.ac.parameters import AcParameters
from sen2cor.errors import FallbackWarning, ProcessingError
from sen2cor.sc.classes import SceneClass

from .scenes import BANDS, E0, GEOMETRY, block_scene, simulate


def _run(toa, scl, lut, **kw):
    args = dict(resolution=60, lut=lut, params=AcParameters(), solar_irradiance=E0, **GEOMETRY)
    args.update(kw)
    return correct_resolution(toa, scl, **args)


def test_black_tile_skips_the_ac_with_a_message(lut_rural, caplog) -> None:
    shape = (20, 30)
    toa = {b: np.zeros(shape, np.float32) for b in BANDS}
    with caplog.at_level(logging.WARNING, logger="sen2cor.ac.correct"):
        res = _run(toa, np.zeros(shape, np.uint8), lut_rural)
    assert not res.info.ac_enabled and "no valid pixel" in (res.info.skip_reason or "")
    assert res.boa == {} and not res.aot550.any() and res.info.aot_retrieval_method == "NA"
    assert "atmospheric correction skipped" in caplog.text


def test_only_saturated_and_no_data_classes_skip(lut_rural) -> None:
    scene = simulate(block_scene([["soil"]], 10), lut_rural)
    scl = np.full(scene.scl.shape, SceneClass.SATURATED_DEFECTIVE, np.uint8)
    scl[:3] = SceneClass.NO_DATA
    res = _run(scene.toa, scl, lut_rural)
    assert not res.info.ac_enabled and res.boa == {}


def test_one_band_tile_skips(lut_rural) -> None:
    scene = simulate(block_scene([["soil"]], 10), lut_rural)
    res = _run({"B04": scene.toa["B04"]}, scene.scl, lut_rural)
    assert not res.info.ac_enabled and "B02" in (res.info.skip_reason or "")


def test_ten_metre_without_twenty_metre_result_skips(lut_rural_10m) -> None:
    toa = {b: np.full((4, 4), 0.1, np.float32) for b in ("B02", "B03", "B04", "B08")}
    res = correct_resolution(toa, np.full((4, 4), 4, np.uint8), resolution=10, lut=lut_rural_10m,
                             params=AcParameters(), solar_irradiance=E0, **GEOMETRY)
    assert not res.info.ac_enabled and "20 m" in (res.info.skip_reason or "")


def test_full_cloud_tile_finishes(lut_rural) -> None:
    scene = simulate(block_scene([["bright", "bright"], ["bright", "bright"]], 20), lut_rural)
    scl = np.full(scene.scl.shape, SceneClass.HIGH_PROBA_CLOUDS, np.uint8)
    scl[:, :20] = SceneClass.MEDIUM_PROBA_CLOUDS
    with pytest.warns(FallbackWarning, match="no land pixels"):
        res = _run(scene.toa, scl, lut_rural)
    assert res.info.ac_enabled and res.info.aot_retrieval_method == "DEFAULT"
    assert res.info.final_visibility_km == pytest.approx(40.0)
    assert res.info.mean_wv_cm == pytest.approx(AcParameters().ac_wv_iter_start_summer)
    for b, v in res.boa.items():
        assert np.all(np.isfinite(v)) and float(v.mean()) > 0.2, b


def test_partial_no_data_stays_zero(lut_rural) -> None:
    scene = simulate(block_scene([["veg", "soil"], ["soil", "veg"]], 20), lut_rural)
    scene.scl[:, :7] = SceneClass.NO_DATA
    for b in scene.toa:
        scene.toa[b][:, :7] = 0.0
    res = _run(scene.toa, scene.scl, lut_rural)
    assert res.info.ac_enabled
    for v in res.boa.values():
        assert not v[:, :7].any() and v[:, 10:].min() > 0
    assert not res.aot550[:, :7].any() and not res.wv_cm[:, :7].any() and not res.vis_index[:, :7].any()


def test_sun_below_horizon_raises(lut_rural) -> None:
    scene = simulate(block_scene([["soil"]], 10), lut_rural)
    with pytest.raises(ProcessingError, match="below the horizon"):
        _run(scene.toa, scene.scl, lut_rural, sun_zenith=95.0)
