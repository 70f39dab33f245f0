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
    monkeypatch.setattr(adjacency, "background_mean", lambda *a, **k: bg)
    out = correct_band("B02", apparent, 1.0, 0.0, setup)
    np.testing.assert_allclose(out, rho, atol=2e-6)
