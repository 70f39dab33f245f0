"""Whole-chain behaviour on hand-made spectra, and the interface contract of classify()."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sen2cor.errors import FallbackWarning, ProcessingError
from sen2cor.sc.classes import SceneClass
from sen2cor.sc.classify import classify

from .spectra import SPECTRA, spectrum_image

EXPECTED = {
    "bright_cloud": SceneClass.HIGH_PROBA_CLOUDS,
    "thin_cirrus": SceneClass.THIN_CIRRUS,
    "snow": SceneClass.SNOW_ICE,
    "water": SceneClass.WATER,
    "vegetation": SceneClass.VEGETATION,
    "soil": SceneClass.NOT_VEGETATED,
}
NAMES = list(SPECTRA)
BLOCK = 15


def _patch(scl: np.ndarray, row: int, col: int) -> np.ndarray:
    """Interior (away from the patch border) of patch (row, col)."""
    return scl[row * BLOCK + 3 : (row + 1) * BLOCK - 3, col * BLOCK + 3 : (col + 1) * BLOCK - 3]


@pytest.fixture(scope="module")
def scene() -> dict[str, np.ndarray]:
    return spectrum_image([NAMES, NAMES[::-1]], block=BLOCK)


@pytest.mark.parametrize("mode", ["evolution", "classic"])
def test_each_spectrum_lands_in_its_class(scene: dict[str, np.ndarray], mode: str) -> None:
    res = classify(scene, resolution=20, mode=mode, sun_zenith=30.0, sun_azimuth=150.0, b08_toa=scene["B8A"])  # type: ignore[arg-type]
    for name, cls in EXPECTED.items():
        patch = _patch(res.scl, 0, NAMES.index(name))
        assert np.all(patch == cls), (name, np.unique(patch))
    assert res.scl.dtype == np.uint8 and res.cloud_probability.dtype == np.uint8
    # p = 1 on the bright cloud (red ramp saturated), s = 1 on snow, 0 elsewhere in those patches.
    assert np.all(_patch(res.cloud_probability, 0, 0) == 100)
    assert np.all(_patch(res.snow_probability, 0, NAMES.index("snow")) == 100)
    assert np.all(_patch(res.cloud_probability, 0, NAMES.index("vegetation")) == 0)


def _shadow_scene() -> dict[str, np.ndarray]:
    """200² vegetation with a 20² cloud in the centre and dark patches 40 px north and south of it."""
    toa = {b: np.full((200, 200), v, dtype=np.float32) for b, v in SPECTRA["vegetation"].items()}
    for name, rows in (
        ("bright_cloud", slice(90, 110)),
        ("shadow", slice(40, 60)),
        ("shadow", slice(140, 160)),
    ):
        for b, v in SPECTRA[name].items():
            toa[b][rows, 90:110] = v
    return toa


@pytest.mark.parametrize("azimuth, shaded", [(180.0, slice(40, 60)), (0.0, slice(140, 160))])
def test_cloud_shadow_falls_away_from_the_sun(azimuth: float, shaded: slice) -> None:
    toa = _shadow_scene()
    res = classify(toa, resolution=20, sun_zenith=30.0, sun_azimuth=azimuth, b08_toa=toa["B8A"])
    lit = slice(140, 160) if shaded.start == 40 else slice(40, 60)
    assert np.mean(res.scl[shaded, 93:107] == SceneClass.CLOUD_SHADOWS) > 0.5
    assert not np.any(res.scl[lit, 90:110] == SceneClass.CLOUD_SHADOWS)
    # the dark spectrum without a cloud up-sun is a dark feature, not a cloud shadow
    assert np.all(res.scl[lit, 93:107] == SceneClass.DARK_FEATURES)


def test_no_data_and_quality_mask() -> None:
    toa = spectrum_image([["vegetation"] * 3] * 3, block=8)
    toa["B8A"][0, 0] = 0.0
    qmask = np.zeros_like(toa["B02"], dtype=bool)
    qmask[5, 5] = True
    with pytest.warns(FallbackWarning):
        res = classify(toa, resolution=20, sun_zenith=30.0, sun_azimuth=150.0, quality_mask=qmask)
    assert res.scl[0, 0] == SceneClass.NO_DATA and res.scl[5, 5] == SceneClass.SATURATED_DEFECTIVE
    assert res.cloud_probability[0, 0] == 0 and res.snow_probability[5, 5] == 0
    assert np.count_nonzero(res.scl == SceneClass.VEGETATION) == res.scl.size - 2


def test_zero_parallax_removes_false_clouds() -> None:
    # A bright "cloud" with low B10 whose B08 and B8A images coincide (height 0) is ground: NOT_VEGETATED.
    veg = ["vegetation"] * 3
    toa = spectrum_image([veg, ["vegetation", "bright_cloud", "vegetation"], veg], block=20)
    toa["B10"][:] = 0.003  # no cirrus signal: below the default B10 land threshold (T1_B10 = 0.012)
    res = classify(toa, resolution=20, sun_zenith=30.0, sun_azimuth=150.0, b08_toa=toa["B8A"])
    assert res.diagnostics["false_cloud_pixels"] > 0
    assert np.all(res.scl[25:35, 25:35] == SceneClass.NOT_VEGETATED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        kept = classify(toa, resolution=20, sun_zenith=30.0, sun_azimuth=150.0)  # no B08: no parallax
    assert np.all(kept.scl[25:35, 25:35] == SceneClass.HIGH_PROBA_CLOUDS)


def test_unclassified_fallback_differs_by_mode() -> None:
    # A spectrum no rule claims: B04 below T1_B04 (p = 0); dark-feature candidate released by NDSI ≤ −0.24;
    # NDVI 0.23 (< T1_NDVI); B02/B11 = 1.5 (no soil, no water); B02 > 0.8·B11 (no rock).
    toa = {b: np.full((12, 12), v, dtype=np.float32) for b, v in SPECTRA["soil"].items()}
    for band, value in {"B02": 0.30, "B03": 0.10, "B04": 0.05, "B8A": 0.08, "B11": 0.20}.items():
        toa[band][:] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        evo = classify(toa, resolution=20, sun_zenith=30.0, sun_azimuth=150.0)
        cla = classify(toa, resolution=20, mode="classic", sun_zenith=30.0, sun_azimuth=150.0)
    assert np.all(evo.scl == SceneClass.NOT_VEGETATED)
    assert np.all(cla.scl == SceneClass.UNCLASSIFIED)


def test_contract_errors() -> None:
    toa = spectrum_image([["soil"]], block=4)
    with pytest.raises(ProcessingError, match="B10"):
        classify(
            {k: v for k, v in toa.items() if k != "B10"}, resolution=20, sun_zenith=30.0, sun_azimuth=0.0
        )
    with pytest.raises(ProcessingError, match="night"):
        classify(toa, resolution=20, sun_zenith=95.0, sun_azimuth=0.0)
    with pytest.raises(ProcessingError, match="20 or 60"):
        classify(toa, resolution=10, sun_zenith=30.0, sun_azimuth=0.0)
    with pytest.raises(ProcessingError, match="no-data"):
        classify(
            {k: np.zeros_like(v) for k, v in toa.items()}, resolution=20, sun_zenith=30.0, sun_azimuth=0.0
        )


@pytest.mark.parametrize("mode", ["evolution", "classic"])
def test_auxiliary_maps_switch_on_their_steps(mode: str) -> None:
    """With DEM and ESA-CCI maps the auxiliary steps run: CCI water recovers a dark lake, cast shadow turns
    dark pixels into DARK_FEATURES, urban land cover recovers small low clouds, dilation grows clouds."""
    toa = _shadow_scene()
    shape = toa["B02"].shape
    dem = np.full(shape, 300.0, dtype=np.float32)
    slope = np.zeros(shape, dtype=np.float32)
    illumination = np.full(shape, 230, dtype=np.uint8)
    cast = np.zeros(shape, dtype=bool)
    lcm = np.full(shape, 10, dtype=np.uint8)
    wbi = np.ones(shape, dtype=np.uint8)
    wbi[140:160, 90:110] = 2  # the southern dark patch is a lake according to the CCI
    snc = np.full(shape, 50, dtype=np.uint8)
    res = classify(
        toa,
        resolution=20,
        mode=mode,
        sun_zenith=30.0,
        sun_azimuth=180.0,
        b08_toa=toa["B8A"],  # type: ignore[arg-type]
        dem=dem,
        slope=slope,
        illumination=illumination,
        cast_shadow=cast,
        esacci_lcm=lcm,
        wbi=wbi,
        snc=snc,
    )
    assert np.all(res.scl[143:157, 93:107] == SceneClass.WATER)
    assert np.mean(res.scl[43:57, 93:107] == SceneClass.CLOUD_SHADOWS) > 0.5
    clouds = np.isin(res.scl, (SceneClass.MEDIUM_PROBA_CLOUDS, SceneClass.HIGH_PROBA_CLOUDS))
    if mode == "evolution":  # post-processing dilation: the 20² cloud grows by about 4 px on each side
        assert 20 * 20 < clouds.sum() <= 30 * 30
    else:
        assert clouds.sum() == 20 * 20
