"""Every AC option shows its effect (issue 7 acceptance): aerosol model, AUTO aerosol, terrain, cirrus,
CAMS fallback, VIS_Update_Mode, BRDF, adjacency, blue path-radiance rescaling, 10 m reuse."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sen2cor.ac.cams import visibility_index_from_aod
from sen2cor.ac.correct import correct_resolution
from sen2cor.ac.forward import ForwardTerrain, column_wv_cm
from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.rt import Geometry, index_of_visibility, rt_table, visibility_of_index
from sen2cor.ac.setup import TerrainInputs
from sen2cor.sc.classes import SceneClass

from .scenes import E0, GEOMETRY, block_scene, simulate
from .test_closed_loop import VEG_LAYOUT

SOIL_LAYOUT = [["soil", "soil", "water"], ["soil", "bright", "soil"], ["water", "soil", "soil"]]


def _run(scene, lut, params, **kw):
    args = dict(resolution=60, lut=lut, params=params, solar_irradiance=E0, **GEOMETRY)
    args.update(kw)
    return correct_resolution(scene.toa, scene.scl, **args)


def _constant(vis_index: int = 45, **kw) -> AcParameters:
    return replace(AcParameters(**kw), vis_update_mode=0, visibility=float(visibility_of_index(vis_index)))


def test_maritime_has_less_blue_path_radiance_than_rural(lut_rural, lut_maritime) -> None:
    """Maritime aerosol (flatter spectrum): lower blue path radiance and blue/red ratio → brighter blue BOA."""
    g = Geometry(35.0, 150.0, 5.0, 105.0)
    t_r = rt_table(lut_rural, ("B02", "B04"), g, [0.1], visibility_km=[23.0])
    t_m = rt_table(lut_maritime, ("B02", "B04"), g, [0.1], visibility_km=[23.0])
    assert t_m.lp[0, 0, 0] < t_r.lp[0, 0, 0]
    assert t_m.lp[0, 0, 0] / t_m.lp[1, 0, 0] < t_r.lp[0, 0, 0] / t_r.lp[1, 0, 0]
    scene = simulate(block_scene(VEG_LAYOUT, 20), lut_rural)
    rural = _run(scene, lut_rural, _constant())
    maritime = _run(scene, lut_maritime, _constant())
    veg = scene.scl == SceneClass.VEGETATION
    assert float(maritime.boa["B02"][veg].mean()) > float(rural.boa["B02"][veg].mean()) + 0.002


@pytest.mark.parametrize("truth", ["RURAL", "MARITIME"])
def test_auto_aerosol_picks_the_simulated_model(lut_rural, lut_maritime, truth) -> None:
    """AUTO runs both models and keeps the one whose blue/red double ratio is nearer 1 (facts §7.3 item 9)."""
    luts = {"RURAL": lut_rural, "MARITIME": lut_maritime}
    scene = simulate(block_scene(VEG_LAYOUT, 30), luts[truth], vis_index=45)
    res = _run(scene, luts, AcParameters(aerosol_type="AUTO"))
    assert res.info.aerosol_type == truth
    assert res.info.aerosol_double_ratio == pytest.approx(1.0, abs=0.05)


def _hills(shape, sza=40.0, saa=150.0, pixel_m=60.0):
    _yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    dem_m = 800.0 + 400.0 * np.sin(2 * np.pi * xx / 40.0)
    dzdy, dzdx = np.gradient(dem_m, pixel_m)
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, dzdy)
    z, a = np.deg2rad(sza), np.deg2rad(saa)
    cos_beta = np.clip(np.cos(z) * np.cos(slope) + np.sin(z) * np.sin(slope) * np.cos(a - aspect), 0, 1)
    sky = 0.5 * (1 + np.cos(slope))
    inputs = TerrainInputs(np.rad2deg(slope).astype(np.float32), np.rad2deg(aspect).astype(np.float32),
                           cos_beta.astype(np.float32), np.zeros(shape, bool), sky.astype(np.float32))
    cb_q = np.maximum(np.floor(cos_beta * 255 + 0.5) / 255, 26 / 255)
    fwd = ForwardTerrain(cb_q.astype(np.float32), (np.floor(sky * 100 + 0.5) / 100).astype(np.float32),
                         np.ones(shape, bool), 2 * 8 + 1)
    return (dem_m / 1000).astype(np.float32), inputs, fwd


def test_terrain_correction_brightens_shaded_slopes(lut_rural) -> None:
    scene = block_scene([["soil"]], 80)
    dem, inputs, fwd = _hills(scene.scl.shape)
    simulate(scene, lut_rural, sza=40.0, elevation_km=dem, terrain=fwd)
    params = _constant(45, dem_terrain_correction=True)
    kw = {"sun_zenith": 40.0, "elevation_km": dem, "terrain": inputs}
    rugged = _run(scene, lut_rural, params, **kw)
    flat = _run(scene, lut_rural, replace(params, dem_terrain_correction=False), **kw)
    shaded = inputs.cos_beta < np.cos(np.deg2rad(40.0)) - 0.2
    assert rugged.info.terrain_correction and shaded.sum() > 100
    for b in ("B04", "B8A", "B11"):
        assert float(rugged.boa[b][shaded].mean()) > float(flat.boa[b][shaded].mean()) + 0.05
        # and the rugged equations recover the flat-field truth on the shaded slopes
        assert float(np.abs(rugged.boa[b][shaded] - scene.rho[b][shaded]).mean()) < 0.01


@pytest.mark.parametrize("rugged", [False, True])
def test_bands_corrected_side_by_side_give_the_same_result(lut_rural, rugged: bool) -> None:
    """``band_threads`` changes only how many bands are corrected at once: the same reflectance bit for
    bit, handed to the sink one band at a time in band order (flat, and rugged with the terrain iteration)."""
    scene = simulate(block_scene(SOIL_LAYOUT, 30), lut_rural)
    kw = {}
    if rugged:
        dem, inputs, _ = _hills(scene.scl.shape)
        kw = {"elevation_km": dem, "terrain": inputs}
    params = _constant(45, dem_terrain_correction=rugged)
    runs = {}
    for threads in (1, 2):
        order: list[str] = []

        def sink(band_id: str, rho: np.ndarray, order: list[str] = order) -> np.ndarray:
            order.append(band_id)
            return rho.copy()

        runs[threads] = (_run(scene, lut_rural, params, boa_sink=sink, band_threads=threads, **kw), order)
    (one, order1), (two, order2) = runs[1], runs[2]
    assert order1 == order2 == list(one.boa) and len(order1) >= 10
    assert one.info.terrain_correction == rugged
    for b in one.boa:
        assert np.array_equal(one.boa[b], two.boa[b]), b
    assert one.info == two.info


def test_water_vapour_map_is_handed_over_before_the_bands(lut_rural) -> None:
    """``maps_sink`` gets the WVP map once, before the first corrected band, as rows computed on demand:
    assembled from any strips they are the result's ``wv_cm`` bit for bit (0 outside the valid pixels)."""
    scene = simulate(block_scene(SOIL_LAYOUT, 30), lut_rural)
    scl = scene.scl.copy()
    scl[:5, :7] = SceneClass.NO_DATA
    events: list[str] = []
    maps: dict[str, np.ndarray] = {}

    def maps_sink(key: str, rows) -> None:  # type: ignore[no-untyped-def]
        events.append(key)
        n = scl.shape[0]
        maps[key] = np.concatenate([rows(slice(r, min(r + 7, n))) for r in range(0, n, 7)])

    def sink(band_id: str, rho: np.ndarray) -> np.ndarray:
        events.append(band_id)
        return rho

    args = dict(resolution=60, lut=lut_rural, params=AcParameters(), solar_irradiance=E0, **GEOMETRY)
    res = correct_resolution(scene.toa, scl, boa_sink=sink, maps_sink=maps_sink, **args)
    assert res.info.wv_retrieval_method == "SEN2COR_APDA"
    assert events[0] == "WVP" and events.count("WVP") == 1 and len(events) >= 11
    assert maps["WVP"].dtype == np.float32 and np.array_equal(maps["WVP"], res.wv_cm)
    assert not maps["WVP"][:5, :7].any() and maps["WVP"][scl > 1].min() > 0


def test_brdf_codes_change_reflectance_on_steep_slopes(lut_rural) -> None:
    scene = block_scene([["veg", "soil"]], 60)
    dem, inputs, fwd = _hills(scene.scl.shape)
    simulate(scene, lut_rural, sza=40.0, elevation_km=dem, terrain=fwd)
    kw = {"sun_zenith": 40.0, "elevation_km": dem, "terrain": inputs}
    out = {c: _run(scene, lut_rural, _constant(45, brdf_correction=c), **kw) for c in (0, 1, 2, 21)}
    steep = inputs.cos_beta < np.cos(np.deg2rad(65.0))  # β beyond β_T = SZA + 20°
    mild = inputs.cos_beta > np.cos(np.deg2rad(30.0))
    assert steep.sum() > 50
    b0, b1, b2, b21 = (out[c].boa["B04"] for c in (0, 1, 2, 21))
    assert np.all(b1[steep] < b0[steep]) and np.all(b2[steep] < b0[steep])
    assert float(b1[steep].mean()) < float(b2[steep].mean())  # linear darkens more than square root
    np.testing.assert_allclose(b1[mild], b0[mild], atol=1e-6)  # β < β_T: G = 1
    veg_steep = steep & (scene.scl == SceneClass.VEGETATION)
    assert np.any(np.abs(b21[veg_steep] - b2[veg_steep]) > 1e-3)  # vegetation exponent 0.75 in the red
    assert out[1].info.brdf_code == 1 and out[0].info.brdf_code == 0


def test_adjacency_darkens_a_dark_field_next_to_a_bright_one(lut_rural) -> None:
    """Step 1 leaves a bright halo on the dark field; the adjacency step removes most of it.

    (Sen2Cor's one-pass background estimate box(ρ_step1) over-corrects narrow dark fields at high AOT —
    see docs/differences.md — so a 40-pixel field at 23 km visibility is used.)
    """
    scene = simulate(block_scene([["bright", "water", "bright"]], 40), lut_rural, vis_index=45)
    on = _run(scene, lut_rural, _constant(45))
    off = _run(scene, lut_rural, replace(_constant(45), rho_retrieval_step2=False))
    water = scene.scl == SceneClass.WATER
    truth = float(scene.rho["B02"][water].mean())
    err_off = float(off.boa["B02"][water].mean()) - truth
    err_on = float(on.boa["B02"][water].mean()) - truth
    assert err_off > 0.01  # halo of the bright fields
    assert float(on.boa["B02"][water].mean()) < float(off.boa["B02"][water].mean())
    assert abs(err_on) < 0.3 * err_off


def test_cirrus_correction_lowers_reflectance_under_b10_signal(lut_rural) -> None:
    scene = simulate(block_scene([["soil", "veg"], ["veg", "soil"]], 120), lut_rural)
    yy, xx = np.mgrid[0:240, 0:240]
    rho_cir = (0.03 * np.exp(-((xx - 120.0) ** 2 + (yy - 120.0) ** 2) / (2 * 60.0 ** 2))).astype(np.float32)
    toa = {b: (v + rho_cir if b not in ("B10",) else rho_cir + 0.0005) for b, v in scene.toa.items()}
    scene.toa = toa
    off = _run(scene, lut_rural, _constant(45), fixed_wv_cm=1.9)
    on = _run(scene, lut_rural, _constant(45, cirrus_correction=True), fixed_wv_cm=1.9)
    core = rho_cir > 0.02
    assert on.info.cirrus_gamma is not None
    for b in ("B02", "B04", "B8A"):
        assert float(on.boa[b][core].mean()) < float(off.boa[b][core].mean()) - 0.005
    err_on = np.abs(on.boa["B04"][core] - scene.rho["B04"][core]).mean()
    err_off = np.abs(off.boa["B04"][core] - scene.rho["B04"][core]).mean()
    assert err_on < err_off


def test_cams_fallback_without_ddv_pixels(lut_rural) -> None:
    scene = simulate(block_scene(SOIL_LAYOUT, 30), lut_rural, vis_index=68)
    cams_index = visibility_index_from_aod(np.full(scene.scl.shape, 0.45), 0.1)
    res = _run(scene, lut_rural, AcParameters(), cams_visibility_index=cams_index)
    assert res.info.aot_retrieval_method == "CAMS" and res.info.ddv_pixel_percentage < 2.0
    assert res.info.mean_aot == pytest.approx(0.45, abs=0.02)
    calls: list[int] = []

    def lazy() -> np.ndarray:
        calls.append(1)
        return cams_index

    lazily = _run(scene, lut_rural, AcParameters(), cams_visibility_index=lazy)
    assert calls and lazily.info.aot_retrieval_method == "CAMS"
    assert np.array_equal(lazily.vis_index, res.vis_index)
    without = _run(scene, lut_rural, AcParameters())
    assert without.info.aot_retrieval_method == "DEFAULT"
    assert without.info.final_visibility_km == pytest.approx(40.0, abs=0.5)  # start visibility kept
    assert len(np.unique(without.vis_index[scene.scl > 1])) == 1


def test_cams_function_not_called_with_ddv_pixels(lut_rural) -> None:
    """A CAMS map given as a function is computed only when the DDV retrieval cannot be used."""
    scene = simulate(block_scene(VEG_LAYOUT, 20), lut_rural, vis_index=68)

    def never() -> np.ndarray:
        raise AssertionError("the CAMS map was computed although DDV pixels exist")

    res = _run(scene, lut_rural, AcParameters(), cams_visibility_index=never)
    assert res.info.aot_retrieval_method == "SEN2COR_DDV"


def test_vis_update_mode_0_gives_constant_visibility(lut_rural) -> None:
    scene = simulate(block_scene(VEG_LAYOUT, 20), lut_rural, vis_index=68)
    res = _run(scene, lut_rural, AcParameters(vis_update_mode=0))
    assert res.info.aot_retrieval_method == "DEFAULT"
    assert np.all(res.vis_index == index_of_visibility(40.0))
    assert res.info.final_visibility_km == 40.0
    ddv = _run(scene, lut_rural, AcParameters())
    assert ddv.info.aot_retrieval_method == "SEN2COR_DDV" and ddv.info.mean_aot > res.info.mean_aot + 0.2


def test_blue_rescaling_switch(lut_rural) -> None:
    """Scaling_Disabler FALSE rescales the path radiance of B01–B03 when the DDV blue path radiance misfits.

    The DDV blue relation assumes ρ_blue = 0.5·ρ_red + 0.005 = 0.0175; a darker true blue (0.002) at 40 km
    visibility makes the scene path radiance look ≥ 5 % lower than the model's.
    """
    scene = block_scene(VEG_LAYOUT, 30)
    scene.rho["B02"][scene.scl == SceneClass.VEGETATION] = 0.002
    simulate(scene, lut_rural, vis_index=24)
    default = _run(scene, lut_rural, AcParameters())
    enabled = _run(scene, lut_rural, AcParameters(scaling_disabler=False))
    computed = default.info.blue_path_radiance_factor_computed
    assert computed is not None and computed < 0.95
    assert default.info.blue_path_radiance_factor == 1.0  # disabled by default (Scaling_Disabler TRUE)
    assert enabled.info.blue_path_radiance_factor == pytest.approx(max(computed, 0.9))  # limiter [0.9, 1.1]
    veg = scene.scl == SceneClass.VEGETATION
    assert float(enabled.boa["B02"][veg].mean()) > float(default.boa["B02"][veg].mean()) + 0.003
    np.testing.assert_allclose(enabled.boa["B8A"], default.boa["B8A"], atol=1e-6)  # only bands below red


def test_ten_metre_run_reuses_twenty_metre_aerosol(lut_rural, lut_rural_10m) -> None:
    scene = simulate(block_scene(VEG_LAYOUT, 20), lut_rural, vis_index=68)
    r20 = _run(scene, lut_rural, AcParameters())
    toa10 = {b.replace("B8A", "B08"): np.repeat(np.repeat(scene.toa[b], 2, 0), 2, 1)
             for b in ("B02", "B03", "B04", "B8A")}
    scl10 = np.repeat(np.repeat(scene.scl, 2, 0), 2, 1)
    r10 = correct_resolution(toa10, scl10, resolution=10, lut=lut_rural_10m, params=AcParameters(),
                             solar_irradiance=E0, previous=r20, **GEOMETRY)
    assert r10.info.aot_retrieval_method == r20.info.aot_retrieval_method
    assert r10.info.mean_visibility_index == r20.info.mean_visibility_index
    assert r10.aot550.shape == scl10.shape and r10.info.mean_aot == pytest.approx(r20.info.mean_aot, abs=1e-3)
    veg = scl10 == SceneClass.VEGETATION
    assert float(r10.boa["B04"][veg].mean()) == pytest.approx(float(r20.boa["B04"][scene.scl == 4].mean()),
                                                             abs=0.003)
    wv = column_wv_cm(lut_rural, 2.0, 0.1, "SUMMER")
    assert r10.info.mean_wv_cm == pytest.approx(r20.info.mean_wv_cm, abs=1e-3) and abs(r20.info.mean_wv_cm - wv) < 0.2
