"""Single steps on hand-made pixels, including the exact threshold edges (facts §6.1, §6.3)."""

from __future__ import annotations

import numpy as np
import pytest

from sen2cor.sc import brightness, cirrus, parallax, ratios, recoveries, snow
from sen2cor.sc.classes import NOT_CLASSIFIED, SCENE_CLASSES, SceneClass
from sen2cor.sc.state import ScState
from sen2cor.sc.thresholds import ScThresholds

from .spectra import SPECTRA

T = ScThresholds()
f32 = np.float32


def state_for(n: int) -> ScState:
    return ScState.start((1, n), b10_land_threshold=float(T.f32("t1_b10")))


def row(*values: float) -> np.ndarray:
    return np.array([values], dtype=np.float32)


def test_gipp_fields_carry_their_names_and_defaults() -> None:
    names = ScThresholds.gipp_names()
    assert len(names) == 43 and names["T1_B04"] == "t1_b04" and names["T_SDW"] == "t_sdw"
    assert (T.t1_b04, T.t2_b04, T.t_cloud_mp, T.t_cloud_hp, T.t2_b10) == (0.06, 0.25, 0.20, 0.80, 0.035)
    custom = ScThresholds(t1_b04=0.05)
    assert custom.t1_b04 == 0.05 and custom.t2_b04 == 0.25


def test_ramp_is_exact_at_its_edges() -> None:
    x = row(0.059, 0.06, 0.155, 0.25, 0.3)
    r = brightness.ramp(x, 0.06, 0.25)
    assert r[0, 0] == 0 and r[0, 1] == 0 and r[0, 3] == 1 and r[0, 4] == 1
    assert r[0, 2] == pytest.approx(0.5, abs=1e-6)


def test_red_brightness_squares_the_ramp_and_finds_dark_features() -> None:
    st = state_for(5)
    b04 = row(0.155, 0.0999, 0.1, 0.05, 0.05)
    b8a = row(0.30, 0.10, 0.10, 0.15, 0.0401)
    brightness.red_brightness(st, b04, b8a, T)
    assert st.cloud[0, 0] == pytest.approx(0.25, abs=1e-6)  # ramp 0.5, squared
    # dark: B04 < 0.1 (strict) and 0.04 < B8A < 0.15 (strict)
    assert list(st.scl[0]) == [
        NOT_CLASSIFIED,
        SceneClass.DARK_FEATURES,
        NOT_CLASSIFIED,
        NOT_CLASSIFIED,
        SceneClass.DARK_FEATURES,
    ]
    assert st.cloud[0, 1] == 0


def test_ndsi_releases_dark_features_and_scales_probability() -> None:
    st = state_for(3)
    st.scl[0, :] = SceneClass.DARK_FEATURES
    st.cloud[:] = 1.0
    ndsi = row(-0.24, -0.20, -0.10)
    brightness.ndsi_cloud(st, ndsi, T)
    assert st.scl[0, 0] == NOT_CLASSIFIED and st.scl[0, 1] == SceneClass.DARK_FEATURES
    np.testing.assert_allclose(st.cloud[0], [0.0, 0.5, 1.0], atol=1e-6)


def test_probability_classes_at_thresholds() -> None:
    st = state_for(5)
    st.cloud[0] = [0.0, 0.1999, 0.2, 0.7999, 0.8]
    brightness.cloud_probability_classes(st, T)
    assert list(st.scl[0]) == [
        NOT_CLASSIFIED,
        SceneClass.UNCLASSIFIED,
        SceneClass.MEDIUM_PROBA_CLOUDS,
        SceneClass.MEDIUM_PROBA_CLOUDS,
        SceneClass.HIGH_PROBA_CLOUDS,
    ]


def _bands(*names: str) -> dict[str, np.ndarray]:
    return {b: np.array([[SPECTRA[n][b] for n in names]], dtype=np.float32) for b in SPECTRA["snow"]}


def test_snow_filters_and_ring() -> None:
    bands = _bands("snow", "snow", "vegetation", "snow")
    bands["B05"][0, 1] = 0.3  # B05/B8A < 0.85: excluded from snow
    st = state_for(4)
    brightness.red_brightness(st, bands["B04"], bands["B8A"], T)
    ndsi = brightness.normalized_difference(bands["B03"], bands["B11"])
    brightness.ndsi_cloud(st, ndsi, T)
    snow.snow_filters(st, bands, ndsi, T, snc=None)
    snow.snow_ring_test(st, bands["B12"], T)
    assert st.scl[0, 0] == SceneClass.SNOW_ICE and st.scl[0, 3] == SceneClass.SNOW_ICE
    assert st.scl[0, 1] == NOT_CLASSIFIED  # the "not snow" lock is released
    assert st.snow[0, 0] == 1 and st.snow[0, 1] == 0 and st.cloud[0, 0] == 0
    # pixel 1 is in the ring of the snow and its B12 (0.05) < T2_SNOW: its cloud probability is removed
    assert st.cloud[0, 1] == 0


def test_snow_threshold_is_strict() -> None:
    st = state_for(2)
    st.snow[0] = [0.12, 0.1201]
    snow.snow_ring_test(st, row(0.5, 0.5), T)
    assert st.scl[0, 0] == NOT_CLASSIFIED and st.scl[0, 1] == SceneClass.SNOW_ICE


def test_snow_cci_check_reverts_snow_where_climatology_says_none() -> None:
    st = state_for(3)
    st.scl[0] = SceneClass.SNOW_ICE
    st.snow[:] = 1.0
    snc = np.array([[0, 255, 80]], dtype=np.uint8)
    snow.snow_cci_check(st, snc, "evolution")
    assert list(st.scl[0]) == [SceneClass.MEDIUM_PROBA_CLOUDS] * 2 + [SceneClass.SNOW_ICE]
    np.testing.assert_allclose(st.cloud[0, :2], 0.5)
    assert st.snow[0, 0] == 0 and st.snow[0, 2] == 1


def test_vegetation_soil_water_rocks() -> None:
    bands = _bands("vegetation", "soil", "water", "bright_cloud")
    st = state_for(4)
    st.cloud[:] = 0.5
    ndvi = brightness.normalized_difference(bands["B8A"], bands["B04"])
    ratios.ndvi_vegetation(st, ndvi, bands["B02"], T)
    ratios.soil_ratio(st, bands["B02"], bands["B11"], T)
    ratios.water_ratio(st, bands, T)
    ratios.rocks_sand_ratio(st, bands["B02"], bands["B8A"], bands["B11"], T)
    assert list(st.scl[0]) == [
        SceneClass.VEGETATION,
        SceneClass.NOT_VEGETATED,
        SceneClass.WATER,
        NOT_CLASSIFIED,
    ]
    assert st.cloud[0, 3] == pytest.approx(0.5)  # the cloud keeps its probability
    assert st.cloud[0, 1] == 0 and st.cloud[0, 2] == 0


def test_water_ratio_edges() -> None:
    # B02/B11 exactly 4 is not water (strict >) and gets ramp factor 1 − (4 − 2)/2 = 0 only below 4.
    n = 3
    bands = {b: np.full((1, n), v, dtype=np.float32) for b, v in SPECTRA["water"].items()}
    bands["B11"][0] = [0.02, 0.0199, 0.0266667]  # R = 4, just above 4, 3
    bands["B02"][0] = 0.08
    bands["B04"][0] = 0.05  # B02 − B04 = 0.03 < 0.034: the blue-water rule stays out
    st = state_for(n)
    st.cloud[:] = 0.9
    ratios.water_ratio(st, bands, T)
    assert st.scl[0, 0] == NOT_CLASSIFIED and st.scl[0, 1] == SceneClass.WATER
    assert st.cloud[0, 0] == pytest.approx(0.9) and st.cloud[0, 2] == pytest.approx(0.9 * 0.5, rel=1e-3)


def test_red_swir_ratio() -> None:
    st = state_for(3)
    st.cloud[:] = 1.0
    ratios.red_swir_ratio(st, row(0.6, 0.45, 0.2), row(0.1, 0.1, 0.1))  # R = 6, 4.5, 2
    np.testing.assert_allclose(st.cloud[0], [0.0, 0.5, 1.0], atol=1e-6)


@pytest.mark.parametrize("mode", ["evolution", "classic"])
def test_cirrus_edges_and_dem_gate(mode: str) -> None:
    st = state_for(5)
    st.scl[0] = SceneClass.VEGETATION
    b10 = row(0.012, 0.0121, 0.0349, 0.035, 0.02)
    dem = np.array([[100, 100, 100, 100, 1500]], dtype=np.float32)
    cirrus.cirrus_classes(st, row(0.1, 0.1, 0.1, 0.1, 0.1), b10, T, dem, 0.1, mode)  # type: ignore[arg-type]
    assert list(st.scl[0]) == [
        SceneClass.VEGETATION,
        SceneClass.THIN_CIRRUS,
        SceneClass.THIN_CIRRUS,
        SceneClass.MEDIUM_PROBA_CLOUDS,
        SceneClass.VEGETATION,
    ]
    assert st.cloud[0, 3] == pytest.approx(0.65 if mode == "evolution" else 0.0)


def test_cirrus_recovery_evolution_thresholds() -> None:
    st = ScState.start((10, 10), b10_land_threshold=0.012)
    st.scl[:] = SceneClass.VEGETATION
    st.scl[:, 5:] = SceneClass.WATER
    b10 = np.full((10, 10), 0.001, dtype=np.float32)
    b10[0, 0] = 0.011  # above the land threshold (floor 0.003): thin cirrus
    b10[0, 9] = 0.0025  # above the water threshold (floor 0.002): thin cirrus
    cirrus.cirrus_recovery_evolution(st, b10, T, 30.0, None, None)
    assert st.b10_land_threshold == pytest.approx(0.003)
    assert st.scl[0, 0] == SceneClass.THIN_CIRRUS and st.scl[0, 9] == SceneClass.THIN_CIRRUS
    assert np.count_nonzero(st.scl == SceneClass.THIN_CIRRUS) == 2


def test_dark_vegetation_and_soil_recovery() -> None:
    st = state_for(3)
    st.scl[0] = [SceneClass.DARK_FEATURES, NOT_CLASSIFIED, SceneClass.DARK_FEATURES]
    st.cloud[:] = 0.05
    ndvi = row(0.5, 0.3, 0.1)
    recoveries.dark_vegetation_recovery(st, ndvi, row(0.05, 0.05, 0.05), row(0.1, 0.1, 0.1), T, "evolution")
    assert st.scl[0, 0] == SceneClass.VEGETATION and st.cloud[0, 0] == 0
    recoveries.soil_recovery(st, row(0.1, 0.1, 0.1), row(0.2, 0.2, 0.1), "evolution")
    # unclassified with 0 < p < 0.10 → NOT_VEGETATED; dark with B02/B11 = 1 stays dark
    assert st.scl[0, 1] == SceneClass.NOT_VEGETATED and st.scl[0, 2] == SceneClass.DARK_FEATURES


def test_false_snow_and_height_units() -> None:
    st = state_for(3)
    st.scl[0] = SceneClass.SNOW_ICE
    st.snow[:] = 1.0
    heights = np.array([[700, 701, 3000]], dtype=np.uint16)
    parallax.false_snow_removal(st, heights, st.scl == SceneClass.SNOW_ICE)
    assert list(st.scl[0]) == [SceneClass.SNOW_ICE] + [SceneClass.MEDIUM_PROBA_CLOUDS] * 2
    assert st.cloud[0, 1] == pytest.approx(0.5) and st.snow[0, 1] == 0


def test_tracking_measures_a_known_shift() -> None:
    # B08 displaced by one pixel against B8A: every tracked corner moves by 1 px → 20 m / 0.012 ≈ 1667 m.
    rng = np.random.default_rng(3)
    base = (rng.random((120, 120)) * 4000 + 500).astype(np.uint16)
    base = np.kron(base[::4, ::4], np.ones((4, 4), dtype=np.uint16))
    shifted = np.roll(base, 1, axis=1)
    stats = parallax.cloud_height_stats(shifted, base, np.ones(base.shape, bool), 20)
    assert stats is not None and stats.count > 20
    assert stats.mean == pytest.approx(20 / 0.012, rel=0.05)


@pytest.mark.parametrize("mode", ["evolution", "classic"])
def test_snow_recovery_is_the_diamond_rule_and_skips_snowless_tiles(mode: str) -> None:
    """Unclassified pixels within the 7×7 diamond of snow with B11 < reference become snow; the bands are
    compared only on the rows with candidates (none at all without snow)."""
    from sen2cor.physics.toa_image import ToaImage
    from sen2cor.sc import morphology, snow
    from sen2cor.sc.thresholds import SNOW_RING_ITERATIONS

    rng = np.random.default_rng(2)
    shape = (60, 50)
    b11 = ToaImage(rng.integers(1001, 4000, shape).astype(np.uint16), -1000.0, 10000.0)
    ref = rng.uniform(0.0, 0.3, shape).astype(np.float32)
    state = ScState.start(shape, b10_land_threshold=float(T.f32("t1_b10")))
    state.scl[20:23, 10:13] = SceneClass.SNOW_ICE
    state.scl[21, 14] = SceneClass.WATER  # classified: stays
    near = morphology.dilate(state.scl == SceneClass.SNOW_ICE, morphology.diamond(SNOW_RING_ITERATIONS))
    expected = near & (np.asarray(b11) < ref) & (state.scl == NOT_CLASSIFIED)
    before = state.scl.copy()
    snow.snow_recovery(state, b11, ref, mode)  # type: ignore[arg-type]
    assert expected.any() and (state.scl[expected] == SceneClass.SNOW_ICE).all()
    assert np.array_equal(state.scl[~expected], before[~expected])
    assert (state.snow[expected] == (1.0 if mode == "evolution" else 0.0)).all()

    empty = ScState.start(shape, b10_land_threshold=float(T.f32("t1_b10")))
    snow.snow_recovery(empty, b11, ref, mode)  # type: ignore[arg-type]
    assert (empty.scl == NOT_CLASSIFIED).all()


def test_scene_classes_are_plain_ints_that_keep_maps_uint8() -> None:
    """NumPy 2 casts a uint8 map to int64 to compare it with an int subclass (an enum member): the codes
    are plain ints, so comparisons and arithmetic with them stay uint8 (issue 8)."""
    scl = np.array([[0, 4, 11], [8, 9, 255]], np.uint8)
    for name, code in SCENE_CLASSES:
        assert type(getattr(SceneClass, name)) is int and getattr(SceneClass, name) == code
        assert (scl + code).dtype == np.uint8
    assert [c for _, c in SCENE_CLASSES] == list(range(12))
    np.testing.assert_array_equal(scl == SceneClass.SNOW_ICE, [[False, False, True], [False, False, False]])
