"""Assembly of our 6S tables from an ingredient file, on a small synthetic file with known answers."""

import json

import numpy as np
import pytest

from sen2cor.physics import generated_lut as gl
from sen2cor.physics.sixs import scattering, spectral
from sen2cor.physics.sixs.scattering import SCATTERING_WAVELENGTHS_UM as SIXS_WAVELENGTHS_UM

AOT = (0.1, 0.5)
SZA = (0.0, 10.0, 20.0, 40.0, 70.0)
Z = (0.0, 1.0)
RAA = (0.0, 90.0, 180.0)
WL_OFF = (0.4125, 0.55, 0.86, 2.25)
K_O3 = 0.05  # Beer coefficient per cm-atm (uniform over the spectrum, synthetic)


def _ingredients(path, tau=0.0, rho=0.02, off_ratio=1.25, k_o3=K_O3):
    nw = len(SIXS_WAVELENGTHS_UM)
    na, nz, ns, nr, no = len(AOT), len(Z), len(SZA), len(RAA), len(WL_OFF)
    grid = spectral.wavelength_grid()
    mu = np.cos(np.deg2rad(SZA))
    t_mu = np.broadcast_to(np.exp(-0.5 * tau / mu)[:, None], (ns, nw))  # total T(μ) with half diffuse
    a = {
        "rho": np.full((1, na, nz, ns, nw), rho), "rho_rayleigh": np.zeros((1, na, nz, ns, nw)),
        "t_mu": np.broadcast_to(t_mu, (1, na, nz, ns, nw)).copy(),
        "spherical_albedo": np.full((1, na, nz, nw), 0.1),
        "tau_rayleigh": np.zeros((1, na, nz, nw)), "tau_aerosol": np.full((1, na, nz, nw), tau),
        "rho_off": np.full((1, na, nz, ns, nr, no), rho * off_ratio),
        "rho_rayleigh_off": np.zeros((1, na, nz, ns, nr, no)),
        "aot_6s": np.zeros((1, na, nz)),
        "aot": np.array(AOT), "sza_deg": np.array(SZA), "elevation_km": np.array(Z), "raa_deg": np.array(RAA),
        "vza_off_deg": np.array(10.0), "wl_ref": np.array(SIXS_WAVELENGTHS_UM), "wl_off": np.array(WL_OFF),
        "gas_h2o": np.ones((nz, 3, grid.size)), "gas_h2o_nodes": np.array([0.1, 1.0, 10.0]),
        "gas_o3": np.exp(-k_o3 * np.array([0.2, 1.0, 2.0]))[:, None] * np.ones(grid.size),
        "gas_o3_nodes": np.array([0.2, 1.0, 2.0]),
        "gas_other": np.ones((nz, 3, grid.size)), "gas_other_nodes": np.array([2.0, 3.0, 5.0]),
        "solar_irradiance": np.full(grid.size, 1500.0),
        "attrs": np.array(json.dumps({"aerosol_models": ["RURAL"], "sixs_version": "test"})),
    }
    scattering.save_npz_deterministic(path, a)
    return path


def test_transparent_atmosphere(tmp_path):
    p = _ingredients(tmp_path / "ing.npz", k_o3=0.0)
    lut = gl.load_6s_lut("S2A", "RURAL", "SUMMER", 331, path=p)
    assert lut.bands[8] == "B8A" and len(lut.bands) == 13
    f = lut.interpolate(("B02", "B12"), sza_deg=40, vza_deg=0, raa_deg=0, elevation_km=0.5, aot550=0.3)
    mu = np.cos(np.deg2rad(40))
    np.testing.assert_allclose(f.lp, 0.1 * 1500 * mu / np.pi * 0.02, rtol=1e-5)  # mW cm-2 sr-1 µm-1
    np.testing.assert_allclose(f.e0t, 150.0, rtol=1e-5)
    np.testing.assert_allclose(f.edift, 0.0, atol=1e-4)
    np.testing.assert_allclose(f.tdir, 1.0, rtol=1e-6)
    np.testing.assert_allclose(f.tdif, 0.0, atol=1e-6)
    np.testing.assert_allclose(f.s, 0.1, rtol=1e-5)
    off = lut.interpolate("B02", sza_deg=40, vza_deg=10, raa_deg=45, elevation_km=0, aot550=0.3)
    assert float(off.lp[0]) == pytest.approx(float(f.lp[0]) * 1.25, rel=1e-5)


def test_extinction_and_ozone(tmp_path):
    tau = 0.2
    p = _ingredients(tmp_path / "ing.npz", tau=tau)
    lut = gl.load_6s_lut("S2C", "RURAL", "WINTER", 300, path=p)
    np.testing.assert_allclose(lut.wv_cm, [0.2, 0.3, 0.4, 0.6, 0.8, 0.95, 1.1])  # Sen2Cor nodes + midpoints
    assert lut.base_wv_cm == 0.4
    sza = 40.0
    mu = np.cos(np.deg2rad(sza))
    f = lut.interpolate("B04", sza_deg=sza, vza_deg=0, raa_deg=0, elevation_km=0, visibility_km=23)
    u = 0.300
    t1 = np.exp(-0.5 * tau)
    tg2 = np.exp(-K_O3 * u * (1 / mu + 1))
    assert float(f.e0t[0]) == pytest.approx(150.0 * np.exp(-tau / mu) * t1 * tg2, rel=1e-4)
    assert float(f.edift[0]) == pytest.approx(
        150.0 * mu * (np.exp(-0.5 * tau / mu) - np.exp(-tau / mu)) * t1 * tg2, rel=1e-4)
    assert float(f.tdir[0]) == pytest.approx(np.exp(-tau) * np.exp(-K_O3 * u), rel=1e-4)
    assert float(f.tdif[0]) == pytest.approx((t1 - np.exp(-tau)) * np.exp(-K_O3 * u), rel=1e-4)
    assert float(f.lp[0]) == pytest.approx(0.1 * 1500 * mu / np.pi * 0.02 * tg2, rel=1e-4)


def test_missing_file_and_bad_model(tmp_path):
    from sen2cor.errors import AuxDataError, ConfigError

    with pytest.raises(AuxDataError, match="make luts"):
        gl.load_6s_lut("S2A", "RURAL", "SUMMER", None, path=tmp_path / "none.npz")
    p = _ingredients(tmp_path / "ing.npz")
    with pytest.raises(ConfigError, match="MARITIME"):
        gl.load_6s_lut("S2A", "MARITIME", "SUMMER", None, path=p)


def test_rescale_to_l1c_solar_irradiance(tmp_path):
    p = _ingredients(tmp_path / "ing.npz", tau=0.1)
    base = gl.load_6s_lut("S2B", "RURAL", "SUMMER", None, path=p, sza_step_deg=None, aot_step=None)
    scaled = gl.load_6s_lut("S2B", "RURAL", "SUMMER", None, path=p, band_e0={"B03": 180.0}, sza_step_deg=None,
                            aot_step=None)
    i = base.band_index("B03")
    factor = 180.0 / 150.0
    np.testing.assert_allclose(scaled.lp[i], base.lp[i] * factor, rtol=1e-6)
    np.testing.assert_allclose(scaled.fluxes[i, ..., :2], base.fluxes[i, ..., :2] * factor, rtol=1e-6)
    np.testing.assert_array_equal(scaled.fluxes[i, ..., 2:], base.fluxes[i, ..., 2:])
    np.testing.assert_array_equal(scaled.lp[i + 1], base.lp[i + 1])


def test_sza_refinement_is_exact_for_the_direct_beam(tmp_path):
    tau = 0.8
    p = _ingredients(tmp_path / "ing.npz", tau=tau)
    lut = gl.load_6s_lut("S2A", "RURAL", "SUMMER", 331, path=p)  # default cubic refinement
    assert lut.sza_deg[-1] == 70.0 and np.all(np.diff(lut.sza_deg)[lut.sza_deg[1:] > 50] <= 1.5 + 1e-9)
    for sza in (65.0, 67.3, 55.5):
        mu = np.cos(np.deg2rad(sza))
        f = lut.interpolate("B8A", sza_deg=sza, vza_deg=0, raa_deg=0, elevation_km=0, aot550=0.2)
        expect = 150.0 * np.exp(-tau / mu) * np.exp(-0.5 * tau) * np.exp(-K_O3 * 0.331 * (1 / mu + 1))
        assert float(f.e0t[0]) == pytest.approx(expect, rel=3e-3)  # ≤ 1.5° nodes above 50°, linear in between


def test_band_subset_and_refined_aot_axis(tmp_path):
    p = _ingredients(tmp_path / "ing.npz", tau=0.3)
    lut = gl.load_6s_lut("S2A", "RURAL", "SUMMER", 331, path=p, bands=("B04", "B12"))
    assert lut.bands == ("B04", "B12")
    assert np.all(np.diff(lut.aot) <= 0.05 + 1e-9) and lut.aot[0] == AOT[0] and lut.aot[-1] == AOT[-1]
