import numpy as np
import pytest

from sen2cor.physics import visibility as v


def test_aot_visibility_round_trip_at_elevations():
    vis = np.array([5.0, 23.0, 40.0, 120.0])
    for z in (0.0, 0.7, 2.5):
        aot = v.aot550_from_visibility(vis, z)
        np.testing.assert_allclose(v.visibility_from_aot550(aot, z), vis, rtol=1e-12)


def test_tabulated_coefficients_match_polynomial():
    # facts §7.4: a, b tabulated at 0, 0.7, 2.5 km
    z = np.array([0.0, 0.7, 2.5])
    a = v._poly(v.A_COEFFS, z)
    b = v._poly(v.B_COEFFS, z)
    np.testing.assert_allclose(a, [1.54641, 1.40593, 0.92664], atol=2e-5)
    np.testing.assert_allclose(b, [-0.854022, -0.844382, -0.805663], atol=2e-6)


def test_standard_visibility_depths():
    # facts §4: depths of 120 … 5 km
    depths = v.sea_level_aot550([120, 80, 40, 23, 15, 10, 7, 5]) + v.DEPTH_OFFSET
    expect = [0.207020, 0.239582, 0.329422, 0.450916, 0.593042, 0.785337, 1.01929, 1.31589]
    np.testing.assert_allclose(depths, expect, atol=2e-4)


def test_visibility_index_axis():
    # facts §4: i=0 → ≈188 km, i=24 → ≈40.8 km, i=100 → ≈10 km; aot(i) ≈ 0.0537 + 0.006 i
    np.testing.assert_allclose(v.visibility_from_index([0, 24, 100]), [188, 40.8, 10.0], rtol=0.01)
    np.testing.assert_allclose(v.aot550_from_index(10), 0.0537 + 0.06, atol=1e-4)
    assert v.depth_from_index(182) == pytest.approx(1.3116)
    np.testing.assert_allclose(v.index_from_visibility(v.visibility_from_index(37.0)), 37.0, atol=1e-9)


def test_fast_conversions_match_reference():
    rng = np.random.default_rng(1)
    vis = rng.uniform(5, 120, 1000)
    z = rng.uniform(0, 3, 1000)
    idx = rng.uniform(0, 182, 1000)
    np.testing.assert_allclose(v.sea_level_aot550_f32(visibility_km=vis), v.sea_level_aot550(vis), rtol=1e-6)
    np.testing.assert_allclose(v.sea_level_aot550_f32(vis_index=idx), v.aot550_from_index(idx), rtol=1e-6)
    aot_z = v.aot550_from_visibility(vis, z)
    np.testing.assert_allclose(
        v.sea_level_aot550_f32(aot550=aot_z, elevation_km=z), v.sea_level_aot550(vis), rtol=1e-5
    )
