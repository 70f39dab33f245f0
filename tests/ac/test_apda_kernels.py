"""APDA's per-pixel table positions (numba) equal the NumPy formulation, edge cases included."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sen2cor.ac import wv


def _levels_reference(values: np.ndarray, h_pos: np.ndarray) -> np.ndarray:
    j = np.clip(np.floor(h_pos).astype(np.int64), 0, values.shape[0] - 2)
    t = np.clip(h_pos - j, 0.0, 1.0)
    return (1.0 - t) * values[j] + t * values[j + 1]


def _position_reference(u: np.ndarray, h_pos: np.ndarray, grid_u: np.ndarray) -> np.ndarray:
    grid = grid_u[np.clip(np.floor(h_pos).astype(np.int64), 0, grid_u.shape[0] - 2)]
    n_wv = grid.shape[1]
    pos = np.zeros(u.shape, np.float64)
    for i in range(n_wv - 1):
        sel = (u >= grid[:, i]) & (u < grid[:, i + 1])
        pos[sel] = i + (u[sel] - grid[sel, i]) / (grid[sel, i + 1] - grid[sel, i])
    top = u >= grid[:, -1]
    pos[top] = n_wv - 1 + (u[top] - grid[top, -1]) / (grid[top, -1] - grid[top, -2])
    return pos


def test_positions_match_numpy() -> None:
    rng = np.random.default_rng(3)
    grid = np.sort(rng.uniform(100, 6000, (9, 7)), axis=1)
    h = rng.uniform(-0.5, 9.5, 5000)
    h[:50] = np.arange(50) / 5.0  # whole and fractional levels, beyond the last one
    u = rng.uniform(0, 7000, 5000)
    u[100:107] = grid[0]  # exactly on the columns
    u[200], u[201] = np.nan, -5.0
    np.testing.assert_array_equal(wv._wv_position(u, h, SimpleNamespace(u=grid)), _position_reference(u, h, grid))


def _step_reference(l_ref, l_abs, w, h, table, coef, u):  # type: ignore[no-untyped-def]
    """The NumPy formulation of an APDA iteration (scipy's bilinear path radiance, level-interpolated fit)."""
    from scipy import ndimage

    pos = np.stack([w, h])
    ref = l_ref - ndimage.map_coordinates(table.lp_ref, pos, order=1, mode="nearest")
    mea = l_abs - ndimage.map_coordinates(table.lp_abs, pos, order=1, mode="nearest")
    ratio = np.where(ref > 0, mea / np.where(ref > 0, ref, 1.0), 0.0)
    ok = (ratio > 0.0) & (ratio <= 1.0)
    a, b, c = (_levels_reference(coef[:, k], h[ok]) for k in range(3))
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.power((np.log(ratio[ok]) - np.log(a)) / (-b), 1.0 / c)
    out = u.copy()
    out[ok] = np.where(np.isfinite(x), x, 0.0)
    return out, ok


def test_apda_step_equals_the_numpy_formulation() -> None:
    """Path radiance beyond the table edges and on its nodes, ratios outside (0, 1], NaN radiances, a fit
    whose model gives no finite column (→ 0): ``ok`` exactly; ``u`` within float64 rounding (NumPy may
    use its own SIMD logarithm where glibc's is used here, e.g. with AVX-512) and untouched where not ok."""
    rng = np.random.default_rng(8)
    n = 20000
    table = SimpleNamespace(lp_ref=rng.uniform(0.1, 5.0, (9, 11)), lp_abs=rng.uniform(0.05, 3.0, (9, 11)))
    w = rng.uniform(-3.0, 12.0, n)
    h = rng.uniform(-3.0, 14.0, n)
    w[:50], h[50:100], w[100:150] = np.round(w[:50]), 10.0, 8.0  # on nodes and on the last node
    l_ref = rng.uniform(0.0, 40.0, n)
    l_abs = rng.uniform(0.0, 30.0, n)
    l_ref[200:210] = np.nan
    coef = np.column_stack([rng.uniform(0.8, 1.2, 11), rng.uniform(0.01, 0.2, 11), rng.uniform(0.4, 0.9, 11)])
    coef[3, 1] = 0.0  # b = 0 on level 3: infinite columns there
    u0 = rng.uniform(0.0, 5000.0, n)
    expected, expected_ok = _step_reference(l_ref, l_abs, w, h, table, coef, u0)
    u = u0.copy()
    ok = wv._apda_step(l_ref, l_abs, w, h, table, coef, u)
    np.testing.assert_array_equal(ok, expected_ok)
    assert 0.2 < ok.mean() < 0.9 and np.any(expected[ok] == 0.0) and not ok[200:210].any()
    np.testing.assert_array_equal(u[~ok], u0[~ok])
    np.testing.assert_allclose(u[ok], expected[ok], rtol=1e-13, atol=0.0)


def test_apda_step_with_runs_of_equal_positions() -> None:
    """The kernel keeps the path radiance and the fit of a (WV, height) position while it repeats (a flat
    tile: every height 0; the first iteration: every WV position 1): runs of equal positions, a NaN height
    inside a run and a change of height alone give the values of the per-pixel NumPy formulation."""
    rng = np.random.default_rng(21)
    n = 6000
    table = SimpleNamespace(lp_ref=rng.uniform(0.1, 5.0, (9, 11)), lp_abs=rng.uniform(0.05, 3.0, (9, 11)))
    w = np.repeat(rng.uniform(0.0, 8.0, n // 500), 500)
    h = np.repeat(rng.uniform(0.0, 10.0, n // 1500), 1500)
    w[:1500], h[:1500] = 1.0, 0.0  # a flat tile's first iteration
    h[700], h[2500:2510] = np.nan, 3.0  # a NaN height, a change of height alone
    l_ref = rng.uniform(0.0, 40.0, n)
    l_abs = rng.uniform(0.0, 30.0, n)
    coef = np.column_stack([rng.uniform(0.8, 1.2, 11), rng.uniform(0.01, 0.2, 11), rng.uniform(0.4, 0.9, 11)])
    u0 = rng.uniform(0.0, 5000.0, n)
    expected, expected_ok = _step_reference(l_ref, l_abs, w, h, table, coef, u0)
    u = u0.copy()
    ok = wv._apda_step(l_ref, l_abs, w, h, table, coef, u)
    np.testing.assert_array_equal(ok, expected_ok)
    assert 0.2 < ok[:1500].mean() < 0.9
    np.testing.assert_array_equal(u[~ok], u0[~ok])
    np.testing.assert_allclose(u[ok], expected[ok], rtol=1e-13, atol=0.0)
