"""Sen2Cor .atm reader and the LUT interface on ESA's tables (facts §4)."""

import warnings

import numpy as np
import pytest

from sen2cor.errors import AuxDataError, ConfigError, FallbackWarning
from sen2cor.physics import atm

pytestmark = pytest.mark.needs_shared_data


@pytest.fixture(scope="module")
def summer(esa_lib_dir):
    return atm.load_sen2cor_lut(esa_lib_dir, "S2A", 20, "SUMMER", 331.0, "RURAL")


def test_sanity_values_b02(summer):
    # facts §4: B02, SZA 30°, vis 40 km, 0 km (wv20 base table)
    f = summer.interpolate("B02", sza_deg=30, vza_deg=0, raa_deg=90, elevation_km=0, visibility_km=40)
    got = {n: float(getattr(f, n)[0]) for n in ("lp", "edift", "e0t", "tdir", "tdif", "s")}
    expect = {"lp": 3.83, "edift": 35.0, "e0t": 109.6, "tdir": 0.672, "tdif": 0.213, "s": 0.166}
    for name, val in expect.items():
        assert got[name] == pytest.approx(val, rel=2e-3), name
    # E0t = E0 · Tdir^(1/cos30°) · (Tdir + Tdif) with E0(B02) = 195.97 (facts §4, 0.01 %)
    e0t = 195.97 * got["tdir"] ** (1 / np.cos(np.deg2rad(30))) * (got["tdir"] + got["tdif"])
    assert e0t == pytest.approx(got["e0t"], rel=2e-4)
    tsun = float(f.tsun[0])
    assert tsun == pytest.approx(got["tdir"] ** (1 / np.cos(np.deg2rad(30))), rel=1e-5)
    assert float(f.q[0]) == pytest.approx(got["tdif"] / got["tdir"], rel=1e-5)


def test_axes_and_shapes(summer):
    assert summer.bands[7] == "B8A" and len(summer.bands) == 12
    np.testing.assert_allclose(summer.wv_cm, [0.4, 1.0, 2.0, 2.9, 4.0, 5.0])
    np.testing.assert_allclose(summer.sza_deg, np.arange(0, 71, 10))
    assert summer.lp.shape == (12, 6, 8, 8, 6, 2, 7)
    assert summer.fluxes.shape == (12, 6, 8, 8, 6, 2, 5)
    assert np.all(np.diff(summer.aot) > 0)
    assert summer.base_wv_cm == 2.0


def test_nodes_are_reproduced_and_midpoints_linear(summer):
    i = summer.band_index("B11")
    kw = {"vza_deg": 10, "elevation_km": 1.0, "visibility_km": 15.0, "wv_cm": 2.9}
    f = summer.interpolate("B11", sza_deg=[40.0, 50.0, 45.0], raa_deg=[60.0, 60.0, 60.0], **kw)
    node = summer.lp[i, 3, 4, 4:6, 2, 1, 2]  # wv 2.9, vis 15 (4th aot), sza 40/50, 1.0 km, vza 10, raa 60
    np.testing.assert_allclose(f.lp[0, :2], node, rtol=1e-6)
    assert f.lp[0, 2] == pytest.approx(node.mean(), rel=1e-6)
    assert f.e0t[0, 0] == pytest.approx(summer.fluxes[i, 3, 4, 4, 2, 1, 1], rel=1e-6)


def test_scalar_and_array_paths_agree(summer):
    rng = np.random.default_rng(3)
    n = 50
    state = {"sza_deg": rng.uniform(0, 70, n), "vza_deg": rng.uniform(0, 10, n), "raa_deg": rng.uniform(0, 180, n),
             "elevation_km": rng.uniform(0, 2.5, n), "visibility_km": rng.uniform(5, 120, n),
             "wv_cm": rng.uniform(0.4, 5.0, n)}
    vec = summer.interpolate(("B05", "B12"), **state)
    for k in range(0, n, 7):
        one = summer.interpolate(("B05", "B12"), **{key: float(val[k]) for key, val in state.items()})
        for name in ("lp", "edift", "e0t", "tdir", "tdif", "s", "tsun", "q"):
            np.testing.assert_allclose(getattr(vec, name)[:, k], getattr(one, name), rtol=2e-5, err_msg=name)


def test_against_scipy_regular_grid(summer):
    from scipy.interpolate import RegularGridInterpolator

    i = summer.band_index("B04")
    table = summer.lp[i, 2]  # wv 2.0: (aot, sza, elev, vza, raa)
    grid = (summer.aot, summer.sza_deg, summer.elevation_km, summer.vza_deg, summer.raa_deg)
    rgi = RegularGridInterpolator(grid, table.astype(np.float64))
    rng = np.random.default_rng(5)
    pts = np.column_stack([rng.uniform(g[0], g[-1], 200) for g in grid])
    from sen2cor.physics.interp import interpolate_points

    got = interpolate_points(table[..., None], grid, tuple(pts[:, k] for k in range(5)))[0]
    np.testing.assert_allclose(got, rgi(pts), rtol=1e-5)
    got2 = interpolate_points(table[:, :, 0, 0, 0, None], grid[:2], (pts[:, 0], pts[:, 1]))[0]
    rgi2 = RegularGridInterpolator(grid[:2], table[:, :, 0, 0, 0].astype(np.float64))
    np.testing.assert_allclose(got2, rgi2(pts[:, :2]), rtol=1e-5)


def test_clamping_and_azimuth_folding(summer):
    a = summer.interpolate("B02", sza_deg=85, vza_deg=12, raa_deg=-150, elevation_km=3.2, visibility_km=300)
    b = summer.interpolate("B02", sza_deg=70, vza_deg=10, raa_deg=150, elevation_km=2.5, visibility_km=120)
    np.testing.assert_allclose(a.lp, b.lp, rtol=1e-6)
    c = summer.interpolate("B02", sza_deg=70, vza_deg=10, raa_deg=210, elevation_km=2.5, visibility_km=120)
    np.testing.assert_allclose(c.lp, b.lp, rtol=1e-6)


def test_aot_and_index_inputs_match_visibility(summer):
    from sen2cor.physics import visibility as v

    z = np.array([0.0, 0.8, 2.0])
    vis = np.array([40.0, 40.0, 12.0])
    ref = summer.interpolate("B8A", sza_deg=35, vza_deg=3, raa_deg=40, elevation_km=z, visibility_km=vis)
    by_aot = summer.interpolate("B8A", sza_deg=35, vza_deg=3, raa_deg=40, elevation_km=z,
                                aot550=v.aot550_from_visibility(vis, z))
    by_idx = summer.interpolate("B8A", sza_deg=35, vza_deg=3, raa_deg=40, elevation_km=z,
                                vis_index=v.index_from_visibility(vis))
    np.testing.assert_allclose(by_aot.lp, ref.lp, rtol=1e-5)
    np.testing.assert_allclose(by_idx.lp, ref.lp, rtol=1e-5)
    with pytest.raises(ConfigError):
        summer.interpolate("B8A", sza_deg=35, vza_deg=3, raa_deg=40, elevation_km=0, visibility_km=5, aot550=0.1)


def test_q_despiked_for_b09(summer):
    f = summer.interpolate(("B8A", "B09", "B10"), sza_deg=30, vza_deg=0, raa_deg=0, elevation_km=0,
                           visibility_km=23, quantities=("q",))
    wl = np.array([0.865, 0.945, 1.375])
    expect = f.q[0] + (wl[1] - wl[0]) / (wl[2] - wl[0]) * (f.q[2] - f.q[0])
    np.testing.assert_allclose(f.q[1], expect, rtol=1e-5)
    assert f["B09"].q.shape == (1,)


def test_extend_elevation(summer):
    ext = summer.extend_elevation(3.5)
    np.testing.assert_allclose(ext.elevation_km, [0, 0.5, 1, 1.5, 2, 2.5, 3.0, 3.5])
    lp = ext.lp[..., 6, :, :]
    np.testing.assert_allclose(lp, 2 * summer.lp[..., 5, :, :] - summer.lp[..., 4, :, :], rtol=1e-5, atol=1e-6)


def test_ten_metre_and_winter_tables(esa_lib_dir):
    t10 = atm.load_sen2cor_lut(esa_lib_dir, "S2A", 10, "WINTER", None, "RURAL")
    assert t10.bands == ("B02", "B03", "B04", "B08") and t10.base_wv_cm == 0.4
    np.testing.assert_allclose(t10.wv_cm, [0.2, 0.4, 0.8, 1.1])
    with pytest.raises(ConfigError, match="B12"):
        t10.interpolate("B12", sza_deg=30, vza_deg=0, raa_deg=0, elevation_km=0, visibility_km=40)


def test_platform_fallback_and_errors(esa_lib_dir, tmp_path):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert atm.lut_directory(esa_lib_dir, "S2C", 20).parent.name == "lib_S2A"
    assert any(issubclass(x.category, FallbackWarning) for x in w)
    with pytest.raises(AuxDataError, match="missing"):
        atm.load_sen2cor_lut(esa_lib_dir, "S2A", 20, "WINTER", 250.0, "RURAL")
    bad = tmp_path / "h99000_wv20_rura.atm"
    bad.write_bytes(b"\0" * 1000)
    with pytest.raises(AuxDataError, match="bytes"):
        atm.read_atm(bad)


def test_refine_sza_keeps_nodes_and_is_smooth(summer):
    fine = summer.refine_axis("sza", np.arange(0, 70.1, 2.5))
    np.testing.assert_allclose(fine.lp[:, :, :, ::4], summer.lp, rtol=1e-5)
    f1 = fine.interpolate("B02", sza_deg=35.0, vza_deg=0, raa_deg=0, elevation_km=0, visibility_km=23)
    f0 = summer.interpolate("B02", sza_deg=35.0, vza_deg=0, raa_deg=0, elevation_km=0, visibility_km=23)
    assert float(f1.lp[0]) == pytest.approx(float(f0.lp[0]), rel=0.01)  # cubic vs linear: close, not equal
    with pytest.raises(ValueError):
        summer.refine_axis("sza", [0.0, 80.0])
