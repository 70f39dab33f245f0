"""Synthetic surface-reflectance scenes and their forward-simulated TOA for the AC tests.

Spectra are plausible class means; the dark-vegetation spectrum obeys the DDV relations exactly
(ρ_red = 0.5·ρ_B12, ρ_blue = 0.5·ρ_red + 0.005) and every class has ρ_B09 = ρ_B8A (the APDA
assumption), so the retrievals can be checked against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sen2cor.ac.forward import ForwardTerrain, simulate_toa
from sen2cor.ac.rt import visibility_of_index
from sen2cor.physics.lut import AtmosphericLut
from sen2cor.sc.classes import SceneClass

BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B10", "B11", "B12")

E0 = {"B01": 1913.57, "B02": 1941.63, "B03": 1822.61, "B04": 1512.79, "B05": 1425.56, "B06": 1288.32,
      "B07": 1163.19, "B08": 1036.39, "B8A": 955.19, "B09": 813.04, "B10": 367.15, "B11": 245.59, "B12": 85.25}
"""S2A SOLAR_IRRADIANCE of the L1C metadata (W m-2 um-1)."""

SPECTRA = {
    "veg": (0.020, 0.0175, 0.045, 0.025, 0.08, 0.25, 0.32, 0.36, 0.36, 0.30, 0.16, 0.05),
    "soil": (0.10, 0.12, 0.15, 0.20, 0.23, 0.25, 0.27, 0.29, 0.29, 0.30, 0.35, 0.30),
    "water": (0.06, 0.05, 0.04, 0.02, 0.015, 0.01, 0.01, 0.008, 0.008, 0.005, 0.005, 0.003),
    "bright": (0.35, 0.38, 0.40, 0.42, 0.43, 0.44, 0.45, 0.46, 0.46, 0.45, 0.40, 0.35),
}
CLASS_OF = {"veg": SceneClass.VEGETATION, "soil": SceneClass.NOT_VEGETATED, "water": SceneClass.WATER,
            "bright": SceneClass.NOT_VEGETATED}


@dataclass
class Scene:
    rho: dict[str, npt.NDArray[np.float32]]
    scl: npt.NDArray[np.uint8]
    toa: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)


def block_scene(layout: list[list[str]], block: int) -> Scene:
    """Scene of ``block``×``block`` fields, class names in ``layout`` rows (e.g. [["veg", "soil"], ...])."""
    rows, cols = len(layout) * block, len(layout[0]) * block
    rho = {b: np.zeros((rows, cols), np.float32) for b in BANDS}
    scl = np.zeros((rows, cols), np.uint8)
    for i, row in enumerate(layout):
        for j, name in enumerate(row):
            win = (slice(i * block, (i + 1) * block), slice(j * block, (j + 1) * block))
            scl[win] = CLASS_OF[name]
            for k, b in enumerate(BANDS):
                rho[b][win] = SPECTRA[name][k]
    return Scene(rho, scl)


def simulate(scene: Scene, lut: AtmosphericLut, *, vis_index: int = 45, wv_cm: float = 2.0, elevation_km=0.1,
             sza: float = 35.0, adjacency_box: int | None = 35, terrain: ForwardTerrain | None = None) -> Scene:
    """Forward-simulate TOA (SAA 150°, VZA 5°, VAA 105°) with the adjacency box of 60 m pixels."""
    scene.toa = simulate_toa(scene.rho, lut=lut, solar_irradiance=E0, sza_deg=sza, saa_deg=150.0, vza_deg=5.0,
                             vaa_deg=105.0, visibility_km=float(visibility_of_index(vis_index)), wv_cm=wv_cm,
                             elevation_km=elevation_km, adjacency_box=adjacency_box, terrain=terrain,
                             background_exclude=np.isin(scene.scl, (7, 8, 9, 10)),
                             background_reference=np.isin(scene.scl, (4, 5, 6)))
    return scene


GEOMETRY = {"sun_zenith": 35.0, "sun_azimuth": 150.0, "view_zenith": 5.0, "view_azimuth": 105.0}
