"""Step 2 adjacency correction (facts §7.7): what Sen2Cor's one-pass background estimate leaves behind.

The closed loop (docs/differences.md, "Closed loop: remaining errors") attributes the adjacency part of
the fixed-AOT error to the background: Sen2Cor inverts ρ₁ = (ρ + q·ρ̄)/(1 + q) with ρ̄ ≈ box(ρ₁), the box
mean of the *apparent* reflectance, instead of box(ρ).  With a linear box filter the residual is exactly
q²/(1 + q)·(box ρ − box(box ρ)); with the true background it vanishes.
"""

from __future__ import annotations

import numpy as np
import pytest

from sen2cor.ac import adjacency
from sen2cor.ac.adjacency import correct_band, setup_adjacency
from sen2cor.ac.filters import box_mean
from sen2cor.sc.classes import SceneClass


def _fields() -> tuple[np.ndarray, np.ndarray]:
    """60 × 60 pixels of clear land: dark fields (0.02), a bright half (0.30) and a mid-grey patch (0.15)."""
    rho = np.full((60, 60), 0.02, np.float32)
    rho[:, 30:] = 0.30
    rho[20:35, 5:15] = 0.15
    return rho, np.full(rho.shape, SceneClass.VEGETATION, np.uint8)


@pytest.mark.parametrize("q", [0.4, 1.0, 1.3])
def test_one_pass_background_leaves_second_box_residual(q: float) -> None:
    """Residual of ρ + q(ρ − box ρ₁) is q²/(1+q)·(box ρ − box² ρ): Sen2Cor's algorithm, not a porting error."""
    rho, scl = _fields()
    setup = setup_adjacency(scl, adj_km=1.0, resolution=60)
    assert setup.box == 35 and setup.border is None and not setup.replace_clouds
    bg = box_mean(rho, setup.box)
    apparent = ((rho + np.float32(q) * bg) / np.float32(1.0 + q)).astype(np.float32)
    out = correct_band("B02", apparent, q, 0.0, setup)  # s = 0: adjacency term only
    expected = q * q / (1.0 + q) * (bg - box_mean(bg, setup.box))
    np.testing.assert_allclose(out - rho, expected, atol=2e-6)
    assert np.abs(out - rho).max() > 0.01 * q * q  # not negligible next to the dark/bright edge


def test_true_background_inverts_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given box(ρ) instead of box(ρ₁), the same formula returns ρ (the closed loop's ``oracle_background``)."""
    rho, scl = _fields()
    setup = setup_adjacency(scl, adj_km=1.0, resolution=60)
    bg = box_mean(rho, setup.box)
    apparent = ((rho + np.float32(1.0) * bg) / np.float32(2.0)).astype(np.float32)
    monkeypatch.setattr(adjacency, "_unfloored_background", lambda *a, **k: bg.copy())
    out = correct_band("B02", apparent, 1.0, 0.0, setup)
    np.testing.assert_allclose(out, rho, atol=2e-6)


@pytest.mark.parametrize("strip_rows", [1, 7, 16, 500])
def test_step2_by_strips_equals_the_whole_tile(strip_rows: int) -> None:
    """Row strips with a box/2 halo (the 20 m run's step 2) give the whole-tile result: no-data border,
    replaced clouds, per-pixel q and s and a band without adjacency included; the box mean's running sums
    start elsewhere, so float32 may differ in its last bits only."""
    rng = np.random.default_rng(strip_rows)
    shape = (90, 70)
    rho = rng.uniform(0.0, 0.5, shape).astype(np.float32)
    scl = np.full(shape, SceneClass.VEGETATION, np.uint8)
    scl[:12, :20] = SceneClass.NO_DATA
    scl[40:55, 30:50] = SceneClass.HIGH_PROBA_CLOUDS
    scl[60:80, 5:25] = SceneClass.WATER
    rho[scl == SceneClass.NO_DATA] = 0.0
    setup = setup_adjacency(scl, adj_km=0.5, resolution=60)
    assert setup.border is not None and setup.replace_clouds and setup.box // 2 > 1
    q = rng.uniform(0.1, 0.4, shape).astype(np.float32)
    for band, s in (("B02", 0.1), ("B09", 0.05)):
        whole = correct_band(band, rho, q, s, setup)
        strips = adjacency.correct_band_by_strips(band, rho, q, s, setup, strip_rows=strip_rows)
        np.testing.assert_allclose(strips, whole, rtol=2e-7, atol=1e-7)
        assert np.array_equal(strips == 0, whole == 0)
        own = rho.copy()  # in place: the same values, written over the input
        in_place = adjacency.correct_band_by_strips(band, own, q, s, setup, strip_rows=strip_rows, in_place=True)
        assert np.array_equal(in_place, strips)
        assert (in_place is own) == (strip_rows >= setup.box // 2)
        for r0, r1 in ((0, 90), (7, 50), (89, 90)):  # some rows only: those of the whole result, bit for bit
            assert np.array_equal(correct_band(band, rho, q, s, setup, rows=(r0, r1)), whole[r0:r1])
