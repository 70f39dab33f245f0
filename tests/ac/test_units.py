"""Unit tests of the AC building blocks on tiny hand-made arrays (no shared data needed)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sen2cor.ac import aot, brdf, cams, cirrus, ddv, rt, setup, wv_columns
from sen2cor.ac.adjacency import adjacency_pixels, has_adjacency, setup_adjacency
from sen2cor.ac.boa import blue_lp_factors
from sen2cor.physics.radiometry import has_nonzero
from sen2cor.ac.parameters import AcParameters
from sen2cor.errors import ConfigError
from sen2cor.physics import visibility as vis_mod
from sen2cor.sc.classes import SceneClass


def test_parameters_defaults_and_metadata() -> None:
    p = AcParameters()
    assert (p.aerosol_type, p.mid_latitude, p.visibility, p.altitude, p.adj_km) == ("RURAL", "SUMMER", 40.0, 0.1, 1.0)
    assert (p.scaling_disabler, p.scaling_limiter, p.rho_retrieval_step2) == (True, True, True)
    names = AcParameters.gipp_names()
    assert names["AC_Ddv_Smooting_Window"] == "ac_ddv_smooting_window"
    assert names["VIS_Update_Mode"] == "vis_update_mode"
    for f in dataclasses.fields(AcParameters):
        assert f.metadata["gipp"] and f.metadata["facts"].startswith("§")


@pytest.mark.parametrize(("code", "expected"), [(0, 0), (3, 1), (4, 2), (5, 11), (6, 21), (9, 12), (10, 22),
                                                (22, 22), (30, 0)])
def test_brdf_legacy_codes(code: int, expected: int) -> None:
    assert AcParameters(brdf_correction=code).brdf_code == expected


def test_parameters_reject_bad_values() -> None:
    with pytest.raises(ConfigError, match="Aerosol_Type"):
        AcParameters(aerosol_type="DESERT")
    with pytest.raises(ConfigError, match="VIS_Update_Mode"):
        AcParameters(vis_update_mode=2)


def test_constant_visibility_switches() -> None:
    assert AcParameters(vis_update_mode=0).constant_visibility
    assert AcParameters(visibility=-30.0).constant_visibility
    assert not AcParameters().constant_visibility


def test_visibility_index_round_trip() -> None:
    i = np.arange(rt.N_VIS_INDEX)
    assert np.array_equal(rt.index_of_visibility(rt.visibility_of_index(i)), i)
    # facts §4 anchors: index 0 ≈ 188 km, 24 ≈ 40.8 km, 68 ≈ 15.1 km (Sen2Cor table 15.12), 182 = 5 km
    assert rt.visibility_of_index(0) == pytest.approx(187.8, abs=0.2)
    assert rt.visibility_of_index(24) == pytest.approx(40.8, abs=0.1)
    assert rt.visibility_of_index(68) == pytest.approx(15.12, abs=0.02)
    assert int(rt.index_of_visibility(23.0)) == 45 and int(rt.index_of_visibility(40.0)) == 25
    assert int(rt.index_of_visibility(120.0)) == 4 and int(rt.index_of_visibility(3.0)) == 182


def test_cell_grid_and_geometry() -> None:
    cells = setup.cell_grid((2000, 1000))
    assert [(c.rows.start, c.rows.stop, c.cols.start, c.cols.stop) for c in cells] == [
        (0, 1830, 0, 915), (0, 1830, 915, 1000), (1830, 2000, 0, 915), (1830, 2000, 915, 1000)]
    sza = np.tile(np.linspace(20, 30, 1000, dtype=np.float32), (2000, 1))
    geoms = setup.cell_geometries(cells, sza, 100.0, -4.0, 280.0)
    assert geoms[0].sza_deg == pytest.approx(float(sza[:, :915].mean()), abs=1e-4)
    assert geoms[0].vza_deg == 4.0 and geoms[0].raa_deg == pytest.approx(180.0)
    assert setup.cell_geometries(cells[:1], 75.0, 0.0, 0.0, 0.0)[0].sza_deg == 70.0  # clipped (facts §5)


def test_flat_terrain_quantises_cos_beta() -> None:
    t = setup.prepare_terrain((4, 5), 22.49, 80.0, np.full((4, 5), 4, np.uint8), AcParameters(), 20)
    assert t.flat and not t.terrain_iteration and t.mean_class == 5  # 0.1 km → 20 m class 5
    assert float(t.cos_beta[0, 0]) == pytest.approx(round(255 * np.cos(np.deg2rad(22.49))) / 255, abs=1e-7)
    assert float(t.sky_view[0, 0]) == 1.0 and bool(t.sunlit.all())


def test_quasi_flat_dem_becomes_flat() -> None:
    dem = np.full((20, 20), 0.300, np.float32)
    dem[5, 5] = 0.330  # 30 m peak-to-peak < AC_Dem_P2p_Val 50 m
    t = setup.prepare_terrain((20, 20), 30.0, 120.0, np.full((20, 20), 4, np.uint8), AcParameters(), 20, dem)
    assert t.flat and t.mean_altitude_km == pytest.approx(float(dem.mean()), abs=1e-4)


def test_elevation_class_counts() -> None:
    assert setup.n_elevation_classes(2400) == 126
    assert setup.n_elevation_classes(2900) == 151
    assert setup.n_elevation_classes(3400) == 176


def test_invert_visibility_index_linear_in_depth() -> None:
    depth = ddv.standard_depths()
    # reflectance that decreases linearly with depth: ρ(d) = 0.1 − 0.05·d
    rho_vis = (0.1 - 0.05 * depth)[:, None].astype(np.float32) * np.ones((1, 3), np.float32)
    target_index = np.array([10, 68, 150])
    d_target = vis_mod.depth_from_index(target_index)
    ref = (0.1 - 0.05 * d_target).astype(np.float32)
    assert np.array_equal(ddv.invert_visibility_index(ref, rho_vis, 24), target_index)
    # below the 5 km reflectance → 182; above the 120 km one → extrapolated towards 190 km (0–2)
    out = ddv.invert_visibility_index(np.array([0.0, 0.2], np.float32), rho_vis[:, :2], 24)
    assert out[0] == 182 and out[1] == 0


def test_raise_visibility_steps() -> None:
    assert [aot.raise_visibility(v) for v in (10.0, 23.0, 27.0, 35.0, 50.0, 100.0)] == [23.0, 26.0, 31.0, 40.0,
                                                                                          60.0, 120.0]
    assert aot.raise_visibility(10.0, allow_jump=False) == 13.0


def test_adjacency_sizes() -> None:
    assert adjacency_pixels(1.0, 20) == 51  # box 103 px (facts §7.7)
    assert 2 * adjacency_pixels(1.0, 60) + 1 == 35
    assert adjacency_pixels(0.0, 20) == 3  # at least 3 pixels
    assert not has_adjacency("B10") and has_adjacency("B12") and has_adjacency("B01")


def test_adjacency_setup_cloud_switches() -> None:
    scl = np.full((10, 10), SceneClass.HIGH_PROBA_CLOUDS, np.uint8)
    scl[0, 0] = SceneClass.VEGETATION
    s = setup_adjacency(scl, 1.0, 20)
    assert s.high_cloud and s.replace_clouds and s.border is None
    scl[:, :2] = SceneClass.NO_DATA
    assert setup_adjacency(scl, 1.0, 20).border is not None


def test_aot_fit_coefficients_match_facts() -> None:
    a, b = aot.aot_fit_coefficients([0, 36, 126])
    assert a == pytest.approx([1.54641, 1.40593, 0.92664], abs=2e-5)
    assert b == pytest.approx([-0.854022, -0.844382, -0.805663], abs=2e-5)


def test_blue_factors_interpolate_to_red() -> None:
    f = blue_lp_factors(1.1, ("B01", "B02", "B03", "B04", "B05"))
    assert f["B02"] == pytest.approx(1.1) and "B04" not in f and "B05" not in f
    assert f["B01"] > 1.1 > f["B03"] > 1.0
    assert blue_lp_factors(1.0, ("B02",)) == {}


def test_applied_blue_factor_switches() -> None:
    assert aot.applied_blue_factor(AcParameters(), 1.3) == 1.0  # Scaling_Disabler TRUE (default)
    p = AcParameters(scaling_disabler=False)
    assert aot.applied_blue_factor(p, 1.3) == pytest.approx(1.1)  # limiter clips to max_sc_blu
    assert aot.applied_blue_factor(p, 1.03) == 1.0  # |f − 1| ≤ AC_Aerosol_Type_Ratio_Th
    assert aot.applied_blue_factor(AcParameters(scaling_disabler=False, scaling_limiter=False), 1.3) == 1.3


def test_wv_columns_facts_example() -> None:
    u = wv_columns.columns_at("SUMMER", [0.0, 1.0, 2.0, 3.0])[:, 3]
    assert u == pytest.approx([2904, 1765, 1023, 575])
    assert rt.wv_range_index(1914.0, "SUMMER", 5, 4) == 1  # 955 < 1914 ≤ 2768 at 0.1 km → tables 1.0/2.0/2.9
    assert rt.wv_range_index(300.0, "SUMMER", 5, 4) == 0 and rt.wv_range_index(4500.0, "SUMMER", 5, 4) == 3


def test_brdf_threshold_and_factor() -> None:
    assert [brdf.threshold_angle(s) for s in (30, 40, 47, 55, 65)] == [55, 60, 62, 65, 70]
    cos_beta = np.array([[1.0, 0.3, 0.05]], np.float32)
    scl = np.full(cos_beta.shape, SceneClass.NOT_VEGETATED, np.uint8)
    g1 = brdf.brdf_factors(1, 0.22, cos_beta, 30.0, ("B04",), scl)["B04"]
    g2 = brdf.brdf_factors(2, 0.22, cos_beta, 30.0, ("B04",), scl)["B04"]
    assert g1[0, 0] == 1.0 and g1[0, 2] == pytest.approx(0.22, abs=0.004)
    assert g1[0, 1] < g2[0, 1] < 1.0  # square root is milder
    assert brdf.brdf_factors(0, 0.22, cos_beta, 30.0, ("B04",), scl) == {}


def test_cirrus_helpers() -> None:
    assert cirrus.water_gamma(0.4) == pytest.approx(0.8) and cirrus.water_gamma(0.6) == pytest.approx(0.72)
    assert cirrus.water_gamma(0.9) == 0.9
    t945, h = cirrus.transmittance_945(0.75, 20.0)
    assert 8.5 <= h <= 9.5 and 0.9 < t945 <= 1.0  # γ 0.75 ↔ T1375 at ≈9 km (table row 4)


def test_cams_visibility_conversion() -> None:
    vis = cams.cams_visibility_km([0.3, 0.05], [0.0, 0.0])
    assert vis[0] == pytest.approx(float(vis_mod.visibility_from_aot550(0.3)), abs=0.006)
    assert cams.geopotential_to_km(9806.65) == pytest.approx(1.0)
    idx = cams.visibility_index_map([[0.3, 0.3], [0.3, 0.3]], np.zeros((2, 2)), [10.0, 11.0], [20.0, 21.0],
                                    np.full((3, 3), 10.5), np.full((3, 3), 20.5))
    assert np.all(idx == rt.index_of_visibility(vis[0]))


def test_parameters_from_parsed_gipps() -> None:
    from types import SimpleNamespace

    user = SimpleNamespace(aerosol_type="MARITIME", visibility_km=25.0, altitude_km=0.4, smooth_wv_map_m=0.0,
                           brdf_correction=2, median_filter=3)
    cal = SimpleNamespace(scaling_disabler=False, parameters=SimpleNamespace(ac_min_ddv_area=3.0))
    p = AcParameters.from_gipps(user, cal)
    assert (p.aerosol_type, p.visibility, p.altitude, p.smooth_wv_map, p.brdf_correction) == (
        "MARITIME", 25.0, 0.4, 0.0, 2)
    assert p.scaling_disabler is False and p.ac_min_ddv_area == 3.0 and p.adj_km == 1.0


def test_parameters_from_config_defaults() -> None:
    from sen2cor.config import cal_gipp, gipp

    assert AcParameters.from_gipps(gipp.UserGipp(), cal_gipp.AcGipp()) == AcParameters()


def test_ddv_selection_by_strips_equals_one_strip(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The DDV selection runs by row strips on lazily converted bands: any strip height, same selection."""
    from types import SimpleNamespace

    from sen2cor.physics.toa_image import ToaImage
    from sen2cor.sc.classes import SceneClass

    rng = np.random.default_rng(3)
    shape = (70, 40)
    red = ToaImage(rng.integers(1000, 1300, shape).astype(np.uint16), -1000.0, 10000.0)
    nir = ToaImage(rng.integers(1200, 5000, shape).astype(np.uint16), -1000.0, 10000.0)
    b12 = rng.uniform(0.0, 0.15, shape).astype(np.float32)
    b8a = rng.uniform(0.1, 0.5, shape).astype(np.float32)
    scl = np.full(shape, SceneClass.VEGETATION, np.uint8)
    scl[:5] = SceneClass.WATER
    scl[30:33, 10:14] = SceneClass.HIGH_PROBA_CLOUDS
    scl[50:52] = SceneClass.THIN_CIRRUS
    params = SimpleNamespace(ac_swir_refl_lower_th=0.01, ac_ddv_16um_refl_th1=0.25, ac_swir_refl_ndvi_th=0.1,
                             ac_ddv_swir_refl_th1=0.05, ac_ddv_swir_refl_th2=0.1, ac_ddv_swir_refl_th3=0.12,
                             ac_min_ddv_area=2.0, ac_swir_22um_red_refl_ratio=0.5)
    results = []
    for rows in (1, 9, 1000):
        monkeypatch.setattr(ddv, "DDV_STRIP_ROWS", rows)
        results.append(ddv.select_ddv(red, nir, b12, b8a, scl, 30.0, params, 60, cirrus_correction=True))
    first = results[0]
    assert first.count > 0 and not first.mask[50:52].any() and not first.mask[30:33, 10:14].any()
    for r in results[1:]:
        assert np.array_equal(r.mask, first.mask) and np.array_equal(r.red_reference, first.red_reference)
        assert (r.percentage, r.b12_threshold) == (first.percentage, first.b12_threshold)


def test_has_nonzero_is_any_for_every_layout() -> None:
    """The early-exit check of a cell's DN (:func:`sen2cor.physics.radiometry.has_nonzero`) answers as ``ndarray.any``
    on contiguous, strided and empty windows, wherever the one non-zero value sits."""
    dn = np.zeros((7, 9), np.uint16)
    windows = [np.s_[:, :], np.s_[2:5, 3:8], np.s_[::2, 1::3], np.s_[:, 4:4], np.s_[6:, 8:]]
    for where in [None, (0, 0), (3, 4), (6, 8), (4, 1)]:
        dn[...] = 0
        if where is not None:
            dn[where] = 1
        for win in windows:
            assert has_nonzero(dn[win]) == bool(dn[win].any()), (where, win)
    assert has_nonzero(np.array([0.0, -0.5])) and not has_nonzero(np.zeros((2, 2, 2)))
