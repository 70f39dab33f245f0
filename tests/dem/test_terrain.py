"""Slope, aspect, illumination, sky view and cast shadow of a synthetic pyramid under a known sun."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import binary_dilation, binary_erosion

from sen2cor.physics import terrain

PIXEL_M = 20.0
N = 160
HALF_WIDTH_PX = 40.0
HEIGHT_M = HALF_WIDTH_PX * PIXEL_M  # faces rise at 45°
CENTRE = N / 2.0


def pyramid_height(col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Square pyramid on a flat plane; (col, row) in pixel units, pixel centres at i + 0.5."""
    cheb = np.maximum(np.abs(col - CENTRE), np.abs(row - CENTRE))
    return HEIGHT_M * np.clip(1.0 - cheb / HALF_WIDTH_PX, 0.0, None)


@pytest.fixture(scope="module")
def pyramid() -> np.ndarray:
    rr, cc = np.mgrid[0:N, 0:N] + 0.5
    return pyramid_height(cc, rr)


def face_masks(margin: float = 2.5) -> dict[str, np.ndarray]:
    """Interior pixels of each face, away from ridges and the base edge."""
    rr, cc = np.mgrid[0:N, 0:N] + 0.5
    dx, dy = cc - CENTRE, rr - CENTRE  # dy > 0 is south
    cheb = np.maximum(np.abs(dx), np.abs(dy))
    inside = (cheb > margin) & (cheb < HALF_WIDTH_PX - margin)
    away_from_ridge = np.abs(np.abs(dx) - np.abs(dy)) > margin
    ok = inside & away_from_ridge
    return {
        "north": ok & (-dy > np.abs(dx)),  # faces north: downhill towards north
        "south": ok & (dy > np.abs(dx)),
        "east": ok & (dx > np.abs(dy)),
        "west": ok & (-dx > np.abs(dy)),
    }


def test_slope_aspect_of_pyramid_faces(pyramid):
    slope, aspect = terrain.slope_aspect(pyramid, PIXEL_M)
    expected_aspect = {"north": 0.0, "east": 90.0, "south": 180.0, "west": 270.0}
    for face, mask in face_masks().items():
        assert mask.sum() > 500
        np.testing.assert_allclose(slope[mask], 45.0, atol=1e-4)
        diff = (aspect[mask] - expected_aspect[face] + 180.0) % 360.0 - 180.0
        np.testing.assert_allclose(diff, 0.0, atol=1e-4)
    # flat ground far from the pyramid: slope 0, aspect 0 by convention
    assert slope[:10, :10].max() == 0.0 and aspect[:10, :10].max() == 0.0


def test_slope_of_a_plane_is_exact_up_to_the_edges():
    rr, cc = np.mgrid[0:50, 0:70].astype(float)
    plane = 3.0 * cc * PIXEL_M * 0.1 - 2.0 * rr * PIXEL_M * 0.1  # rises east and north
    slope, aspect = terrain.slope_aspect(plane, PIXEL_M)
    gx, gy = 0.3, 0.2  # dz/dx east, dz/dy north
    np.testing.assert_allclose(slope, math.degrees(math.atan(math.hypot(gx, gy))), atol=1e-4)
    np.testing.assert_allclose(aspect, math.degrees(math.atan2(-gx, -gy)) % 360.0, atol=1e-4)


def test_illumination_and_sky_view_on_faces(pyramid):
    sza, saa = 60.0, 135.0
    products = terrain.derive_terrain(pyramid, PIXEL_M, sza, saa)
    faces = face_masks()
    for face, aspect in {"north": 0.0, "east": 90.0, "south": 180.0, "west": 270.0}.items():
        s, z, a = math.radians(45.0), math.radians(sza), math.radians(aspect)
        cb = math.cos(z) * math.cos(s) + math.sin(z) * math.sin(s) * math.cos(math.radians(saa) - a)
        np.testing.assert_allclose(products.cos_beta[faces[face]], max(cb, 0.0), atol=1e-5)
    np.testing.assert_allclose(
        products.sky_view[faces["east"]], (1 + math.cos(math.radians(45))) / 2, atol=1e-6
    )
    assert products.sky_view[0, 0] == 1.0
    # SDW byte: 1 on shadowed faces (north and west face away from a south-east sun)
    sdw = products.shadow_byte
    assert (sdw[faces["north"]] == 1).all() and (sdw[faces["west"]] == 1).all()
    assert abs(int(sdw[faces["east"]][0]) - round(1 + 254 * 0.78656)) <= 1


def analytic_shadow(sza: float, saa: float) -> np.ndarray:
    """Shadow of the exact pyramid surface: march from every pixel centre towards the sun (0.05 px steps)."""
    rr, cc = np.mgrid[0:N, 0:N] + 0.5
    h0 = pyramid_height(cc, rr)
    tan_e = 1.0 / math.tan(math.radians(sza))
    phi = math.radians(saa)
    dcol, drow = math.sin(phi), -math.cos(phi)
    shadow = np.zeros((N, N), dtype=bool)
    for d in np.arange(0.05, HEIGHT_M / (tan_e * PIXEL_M) + 1.0, 0.05):
        h = pyramid_height(cc + d * dcol, rr + d * drow)
        shadow |= h > h0 + d * PIXEL_M * tan_e + 1e-6
    return shadow


@pytest.mark.parametrize("sza,saa", [(60.0, 135.0), (52.0, 200.0), (70.0, 300.0), (65.0, 90.0)])
def test_cast_shadow_of_pyramid_matches_analytic(pyramid, sza, saa):
    computed = terrain.cast_shadow(pyramid, PIXEL_M, sza, saa)
    expected = analytic_shadow(sza, saa)
    assert expected.sum() > 1000  # a real shadow to compare
    # disagreements are allowed only on the one-pixel rim of the analytic shadow
    rim = binary_dilation(expected) & ~binary_erosion(expected)
    wrong = computed != expected
    assert not (wrong & ~rim).any(), f"{int((wrong & ~rim).sum())} pixels wrong away from the shadow edge"
    assert wrong.sum() <= 0.1 * expected.sum()
    # shadow length: the apex shadow tip lies H·tan(sza) from the apex, away from the sun
    tip = HEIGHT_M * math.tan(math.radians(sza)) / PIXEL_M
    phi = math.radians(saa)
    tip_c, tip_r = CENTRE - tip * math.sin(phi) * 0.97, CENTRE + tip * math.cos(phi) * 0.97
    if 0 <= tip_c < N and 0 <= tip_r < N:
        assert computed[int(tip_r), int(tip_c)]


def test_no_shadow_on_flat_or_sun_facing_plane():
    flat = np.full((40, 60), 250.0)
    assert not terrain.cast_shadow(flat, 10.0, 75.0, 33.0).any()
    rr, cc = np.mgrid[0:40, 0:60].astype(float)
    facing_sun = 0.5 * cc * 10.0  # rises to the east, sun in the west → lit, shadow only if slope > elevation
    assert not terrain.cast_shadow(facing_sun, 10.0, 80.0, 270.0).any()
    steep_away = 3.0 * cc * 10.0  # 71.6° slope rising east, sun in the east at 40° elevation → self shadow
    shade = terrain.cast_shadow(steep_away, 10.0, 50.0, 90.0)
    assert shade[:, :-1].all() and not shade[:, -1].any()  # the sun-side column has no terrain beyond it


def test_flat_terrain_and_argument_checks():
    flat = terrain.flat_terrain((3, 4), 30.0)
    assert flat.flat and flat.cos_beta.shape == (3, 4)
    np.testing.assert_allclose(flat.cos_beta, math.cos(math.radians(30.0)), rtol=1e-6)
    assert (flat.sky_view == 1).all() and not flat.cast_shadow.any()
    with pytest.raises(ValueError, match="zenith"):
        terrain.cast_shadow(np.zeros((3, 3)), 10.0, 95.0, 0.0)
    with pytest.raises(ValueError, match="pixel_size"):
        terrain.slope_aspect(np.zeros((3, 3)), 0.0)
