"""The shipped 6S tables (src/sen2cor/data/s2_rt_6s.npz, made by `make luts`) against facts §4."""

from __future__ import annotations

import numpy as np
import pytest

from sen2cor.physics import generated_lut

# facts §4 sanity values of ESA's table: B02, SZA 30°, nadir, 40 km visibility, 0 km, rural summer
FACTS_B02 = {"lp": 3.83, "edift": 35.0, "e0t": 109.6, "tdir": 0.672, "tdif": 0.213, "s": 0.166}
TOLERANCE = {"lp": 0.05, "edift": 0.08, "e0t": 0.02, "tdir": 0.02, "tdif": 0.08, "s": 0.02}
"""Relative agreement expected of our tables (docs/luts.md: the B02 medians of `make lut-report`, with
the aerosol phase function's forward lobe setting Edift/Tdif apart)."""


@pytest.fixture(scope="module")
def rural():
    if not generated_lut.default_path().is_file():  # pragma: no cover - the file is committed
        pytest.fail(f"{generated_lut.default_path()} is missing: it is shipped with the package (make luts)")
    return generated_lut.load_6s_lut("S2A", "RURAL", "SUMMER", 331.0, bands=("B02", "B8A", "B12"))


def test_reproduces_the_facts_sanity_values(rural) -> None:
    f = rural.interpolate(("B02",), sza_deg=30.0, vza_deg=0.0, raa_deg=0.0, elevation_km=0.0, visibility_km=40.0,
                          quantities=tuple(FACTS_B02))
    for q, ref in FACTS_B02.items():
        ours = float(np.asarray(getattr(f, q)).ravel()[0])
        assert ours == pytest.approx(ref, rel=TOLERANCE[q]), q


def test_physical_behaviour_over_the_grid(rural) -> None:
    """More aerosol → more path radiance, less direct transmittance; higher ground → less of both."""
    vis = np.array([5.0, 10.0, 23.0, 60.0])
    f = rural.interpolate(("B02", "B12"), sza_deg=40.0, vza_deg=5.0, raa_deg=90.0, elevation_km=0.0, visibility_km=vis,
                          quantities=("lp", "tdir", "s"))
    assert np.all(np.diff(f.lp, axis=-1) < 0) and np.all(np.diff(f.tdir, axis=-1) > 0)
    assert np.all(f.lp[0] > f.lp[1])  # blue path radiance far above SWIR
    z = rural.interpolate(("B02",), sza_deg=40.0, vza_deg=5.0, raa_deg=90.0, elevation_km=np.array([0.0, 1.0, 2.0]),
                          visibility_km=23.0, quantities=("lp", "tdir"))
    assert np.all(np.diff(z.lp) < 0) and np.all(np.diff(z.tdir) > 0)
    assert rural.attrs["sixs_version"].startswith("6SV")
