"""Generator building blocks that need no 6S run: decks, parsers, .mie writer, spectra, npz writer."""

import numpy as np
import pytest

from sen2cor.physics.sixs import aerosol as aer
from sen2cor.physics.sixs import runner, scattering, spectral


@pytest.mark.parametrize(
    ("x", "text"),
    [(0.2342, " 0.2342E+00"), (-5.732e-22, " -.5732E-21"), (1.0, " 0.1000E+01"), (0.0, " 0.0000E+00"),
     (20.12, " 0.2012E+02"), (0.99996, " 0.1000E+01")],
)
def test_fortran_e_format(x, text):
    assert aer._fortran_e(x) == text


def _tabulated(b=0.0):
    n = len(aer.SIXS_WAVELENGTHS_UM)
    return aer.TabulatedAerosol("t", tuple(np.linspace(1.5, 0.1, n)), tuple(np.full(n, 0.93)),
                                tuple(np.linspace(0.75, 0.5, n)), backscatter=b, backscatter_g=0.4)


def test_mie_file_layout():
    text = _tabulated().mie_text()
    lines = text.split("\n")
    assert len(lines) == 1 + 1 + 20 + 2 + 2 + 3 * 83 + 1  # trailing newline
    assert lines[0] == "          83"
    assert lines[2].startswith("    0.3500     1.5000") and len(lines[2]) == 90
    assert lines[26].startswith("  180.00 ") and len(lines[26]) == 8 + 11 * 20
    assert lines[25].startswith("   TETA    0.3500     0.4000 ")


@pytest.mark.parametrize("b", [0.0, 0.15])
def test_two_term_hg_normalisation_and_asymmetry(b):
    t = _tabulated(b)
    # evaluate the same formula on a fine grid through a model with one extra angle set
    mu = np.linspace(-1, 1, 200001)
    g = np.asarray(t.asymmetry)
    gf = (g + b * t.backscatter_g) / (1 - b)

    def hg(gg):
        return (1 - gg**2) / (1 + gg**2 - 2 * gg * mu[:, None]) ** 1.5

    p = (1 - b) * hg(gf[None, :]) + b * hg(-t.backscatter_g)
    np.testing.assert_allclose(np.trapezoid(p, mu, axis=0) / 2, 1.0, atol=2e-4)
    np.testing.assert_allclose(np.trapezoid(p * mu[:, None], mu, axis=0) / 2, g, atol=2e-4)
    # and the 83-angle table uses that formula
    p83 = t.phase_function()
    mu83 = np.cos(np.deg2rad(aer.PHASE_ANGLES_DEG))
    k = 5
    exact = (1 - b) * (1 - gf[k] ** 2) / (1 + gf[k] ** 2 - 2 * gf[k] * mu83) ** 1.5 \
        + b * (1 - t.backscatter_g**2) / (1 + t.backscatter_g**2 + 2 * t.backscatter_g * mu83) ** 1.5
    np.testing.assert_allclose(p83[:, k], exact, rtol=1e-12)


def test_deck_lines():
    case = runner.SixsCase(30.0, 10.0, 60.0, 1.5, 0.55, None, 0.0, (2.0, 0.33))
    lines = case.deck().splitlines()
    assert lines[:4] == ["0", "30.0000 60.0000 10.0000 0.0 1 4", "8", "2.000000 0.330000"]
    assert lines[4:9] == ["0", "-1", "-1.500000", "-1000", "-1"]
    assert lines[9] == "0.55000" and lines[-1] == "-1"
    rng = runner.SixsCase(0.0, 0.0, 0.0, 0.0, (0.4, 2.4)).deck().splitlines()
    assert rng[2] == "0" and rng[7:9] == ["-2", "0.4000 2.4000"]


MONO_SNIPPET = """
*       apparent reflectance  0.0126896  appar. rad.(w/m2/sr/mic)    3.394    *
*      total  sca.   "    :     0.95574        0.96272        0.92010         *
*      spherical albedo   :     0.01531        0.03737        0.04919         *
*      optical depth total:     0.01595        0.12025        0.13619         *
*      reflectance I      :     0.00607        0.00648        0.01269         *
"""


def test_parse_mono():
    r = runner.parse_mono(MONO_SNIPPET)
    assert r.rho_path == 0.0126896 and r.rho_rayleigh == 0.00607
    assert (r.t_down, r.t_up, r.spherical_albedo) == (0.95574, 0.96272, 0.04919)
    assert (r.tau_rayleigh, r.tau_aerosol) == (0.01595, 0.12025)
    with pytest.raises(Exception, match="apparent reflectance"):
        runner.parse_mono("nothing")


def test_parse_steps():
    text = ("*0.4000 1.0000 0.7681 0.7960 0.2517 0.1517 1561.6 0.0000 0.5000 0.9675 0.1517 *\n"
            "*0.4025 0.9990 0.7717 0.7994 0.2481 0.1484 1578.0 0.0000 1.0000 0.9675 0.1484 *\n")
    st = runner.parse_steps(text)
    np.testing.assert_allclose(st["wavelength_um"], [0.4, 0.4025])
    np.testing.assert_allclose(st["gas_transmittance"], [1.0, 0.999])
    np.testing.assert_allclose(st["solar_irradiance"], [1561.6, 1578.0])
    np.testing.assert_allclose(st["dsol"], 0.9675)


def test_response_tables_centres():
    # response-weighted centres of ../shared/data/s2-srf/SOURCE.md (nm), 2.5 nm sampling → ±1.5 nm
    centres = {"S2A": {"B02": 492.44, "B8A": 864.71, "B12": 2202.37},
               "S2C": {"B02": 489.03, "B8A": 865.57, "B12": 2191.27}}
    grid = spectral.wavelength_grid() * 1000
    for sensor, ref in centres.items():
        t = spectral.response_table(sensor)
        assert t.response.shape == (13, 801)
        np.testing.assert_allclose(t.response.max(axis=1), 1.0, atol=0.02)
        for bid, c in ref.items():
            r = t.response[t.bands.index(bid)]
            assert (r * grid).sum() / r.sum() == pytest.approx(c, abs=1.5)


def test_loglog_interp_power_law():
    x = np.array([0.4, 0.55, 0.86, 1.65, 2.25])
    y = 0.1 * x**-1.3
    xs = np.linspace(0.41, 2.3, 50)
    np.testing.assert_allclose(spectral.loglog_interp(x, y, xs), 0.1 * xs**-1.3, rtol=1e-12)
    y2 = np.stack([y, 2 * y])
    np.testing.assert_allclose(spectral.loglog_interp(x, y2, xs)[1], 0.2 * xs**-1.3, rtol=1e-12)


def test_deterministic_npz(tmp_path):
    arrays = {"b": np.arange(5.0), "a": np.array("text"), "c": np.ones((2, 3), np.float32)}
    p1, p2 = tmp_path / "one.npz", tmp_path / "two.npz"
    scattering.save_npz_deterministic(p1, arrays)
    scattering.save_npz_deterministic(p2, dict(reversed(list(arrays.items()))))
    assert p1.read_bytes() == p2.read_bytes()
    with np.load(p1) as z:
        np.testing.assert_array_equal(z["b"], arrays["b"])
        assert str(z["a"]) == "text"


def test_target_aot_follows_visibility_relation():
    from sen2cor.physics.visibility import aot550_from_visibility, visibility_from_aot550

    model = _tabulated()
    assert scattering.target_aot(model, 0.2, 0.0) == pytest.approx(0.2)
    vis = float(visibility_from_aot550(0.2, 0.0))
    assert scattering.target_aot(model, 0.2, 2.0) == pytest.approx(float(aot550_from_visibility(vis, 2.0)))


def test_committed_gas_tables_are_physical():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools/luts/chunks/gas.npz"
    assert path.is_file(), f"{path} is committed with the LUT chunks (make luts regenerates it)"
    with np.load(path) as g:
        grid = spectral.wavelength_grid()
        i600, i760, i940 = (int(np.argmin(np.abs(grid - w))) for w in (0.6, 0.7625, 0.94))
        k_o3 = -np.log(g["o3"][:, i600]) / g["y_o3"]
        np.testing.assert_allclose(k_o3, 0.1225, rtol=0.02)  # Chappuis band ≈ 0.12 per cm-atm (Beer)
        assert 0.3 < g["other"][0, 0, i760] < 0.7  # O2 A band, two-way air mass 2, 2.5 nm step
        t940 = g["h2o"][0][:, i940]
        assert np.all(np.diff(t940) < 0) and t940[-1] < 0.3  # more water, less light
        assert np.all(g["other"][-1] >= g["other"][0] - 1e-4)  # less fixed gas above 3.5 km
        e0 = g["solar_irradiance"]
        assert 1700 < e0[int(np.argmin(np.abs(grid - 0.5)))] < 2100  # W m-2 µm-1 near 0.5 µm
