"""Gas-transmittance tables from 6S, on the 2.5 nm grid, separated from the aerosol scattering.

6S computes gas absorption with band models per 2.5 nm step and combines it with scattering as
(facts of 6S's documented coupling): path reflectance = (ρ_total − ρ_Rayleigh)·T_g(H2O/2 + others)
+ ρ_Rayleigh·T_g(others), surface term · T_g(all gases), all two-way along the air mass
m = 1/cos SZA + 1/cos VZA.  Because a uniformly scaled absorber profile makes each gas's transmittance
a function of m·u only, we tabulate, per target elevation:

* ``h2o``: T_H2O(λ; X) with X = m · u_H2O (g cm-2, sea-level column, US-62 profile shape),
* ``o3``: T_O3(λ; Y) with Y = m · u_O3 (cm-atm),
* ``other``: T of O2, CO2, CH4, N2O, CO against m (fixed amounts; extrapolated to m = 1 for the
  one-way nadir transmittance by a power law in m of the optical depth),

from step-by-step (iwave = −2) 6S runs without aerosol at SZA 0 (cheap: no azimuth dependence).
The printed transmittance has 4 decimals, i.e. ≤ 1e-4 absolute error per 2.5 nm step.
Also returned: the solar spectrum of 6S on the grid, normalised to 1 AU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from sen2cor.physics.sixs.runner import SixsCase, parse_steps, run_sixs
from sen2cor.physics.sixs.spectral import GRID_START_UM, GRID_STOP_UM, wavelength_grid

F64 = npt.NDArray[np.float64]

H2O_X_NODES: Final[tuple[float, ...]] = (
    0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.5, 7.5, 10.0, 14.0, 20.0, 28.0
)
"""Nodes of X = air mass × sea-level water-vapour column (g cm-2)."""

O3_Y_NODES: Final[tuple[float, ...]] = (0.2, 0.5, 1.0, 1.5, 2.0)
"""Nodes of Y = air mass × ozone column (cm-atm)."""

OTHER_VZA_DEG: Final[tuple[float, ...]] = (0.0, 48.19, 60.0, 70.53, 75.52)
"""View zeniths (with SZA 0) giving air masses 2, 2.5, 3, 4, 5 for the fixed-amount gases."""


@dataclass(frozen=True)
class GasTables:
    """Spectral gas transmittances of 6S (see module docstring); all on :func:`wavelength_grid`."""

    elevation_km: F64
    """(n_z,) target elevations."""
    x_h2o: F64
    """(n_x,) X nodes."""
    h2o: F64
    """(n_z, n_x, n_wl) T_H2O."""
    y_o3: F64
    """(n_y,) Y nodes."""
    o3: F64
    """(n_y, n_wl) T_O3 (elevation-independent: stratospheric)."""
    airmass: F64
    """(n_m,) air masses of ``other``."""
    other: F64
    """(n_z, n_m, n_wl) T of the fixed-amount gases."""
    solar_irradiance: F64
    """(n_wl,) 6S extraterrestrial solar irradiance at 1 AU, W m-2 µm-1."""

    def t_h2o(self, x: float, iz: int) -> F64:
        """T_H2O at X (log-log interpolation of −ln T in X), elevation node ``iz``."""
        return _power_law_interp(self.x_h2o, self.h2o[iz], x)

    def t_o3(self, y: float) -> F64:
        """T_O3 at Y: exp(−Y·k) with the per-wavelength coefficient k interpolated between the nodes."""
        k = -np.log(np.clip(self.o3, 1e-6, 1.0)) / self.y_o3[:, None]
        yc = float(np.clip(y, self.y_o3[0], self.y_o3[-1]))
        return np.exp(-y * _interp_rows(self.y_o3, k, yc))

    def t_other(self, m: float, iz: int) -> F64:
        """T of the fixed gases at air mass ``m`` (power law of −ln T in m; extrapolates below m = 2)."""
        return _power_law_interp(self.airmass, self.other[iz], m)


def _interp_rows(x: F64, rows: F64, v: float) -> F64:
    j = int(np.clip(np.searchsorted(x, v) - 1, 0, x.size - 2))
    t = (v - x[j]) / (x[j + 1] - x[j])
    return (1 - t) * rows[j] + t * rows[j + 1]


def _power_law_interp(x: F64, t_rows: F64, v: float) -> F64:
    """Interpolate T(x) via optical depth d = −ln T linear in log-log (extrapolated at the ends)."""
    d = -np.log(np.clip(t_rows, 1e-6, 1.0))
    j = int(np.clip(np.searchsorted(x, v) - 1, 0, x.size - 2))
    lx0, lx1, lv = np.log(x[j]), np.log(x[j + 1]), np.log(v)
    t = (lv - lx0) / (lx1 - lx0)
    d0 = np.maximum(d[j], 1e-9)
    d1 = np.maximum(d[j + 1], 1e-9)
    dv = np.exp(np.log(d0) * (1 - t) + np.log(d1) * t)
    dv = np.where((d[j] <= 1e-9) & (d[j + 1] <= 1e-9), 0.0, dv)
    return np.exp(-dv)


def _steps(case: SixsCase) -> dict[str, F64]:
    st = parse_steps(run_sixs(case))
    grid = wavelength_grid()
    if st["wavelength_um"].size != grid.size or not np.allclose(st["wavelength_um"], grid, atol=1e-6):
        raise ValueError("6S step-by-step output does not lie on the expected 2.5 nm grid")
    return st


def compute_gas_tables(elevations_km: tuple[float, ...]) -> GasTables:
    """Run 6S (≈ 200 cheap runs) and build the gas tables for the given target elevations."""
    rng = (GRID_START_UM, GRID_STOP_UM)
    nz = len(elevations_km)
    other = np.empty((nz, len(OTHER_VZA_DEG), wavelength_grid().size))
    h2o = np.empty((nz, len(H2O_X_NODES), wavelength_grid().size))
    solar = None
    for iz, z in enumerate(elevations_km):
        for im, vza in enumerate(OTHER_VZA_DEG):
            st = _steps(SixsCase(0.0, vza, 0.0, z, rng, gases=(0.0, 0.0)))
            other[iz, im] = st["gas_transmittance"]
            if solar is None:
                solar = st["solar_irradiance"] / st["dsol"]
        for ix, x in enumerate(H2O_X_NODES):
            st = _steps(SixsCase(0.0, 0.0, 0.0, z, rng, gases=(x / 2.0, 0.0)))
            h2o[iz, ix] = st["gas_transmittance"] / np.maximum(other[iz, 0], 1e-4)
    o3 = np.empty((len(O3_Y_NODES), wavelength_grid().size))
    for iy, y in enumerate(O3_Y_NODES):
        st = _steps(SixsCase(0.0, 0.0, 0.0, 0.0, rng, gases=(0.0, y / 2.0)))
        o3[iy] = st["gas_transmittance"] / np.maximum(other[0, 0], 1e-4)
    airmass = 1.0 + 1.0 / np.cos(np.deg2rad(np.asarray(OTHER_VZA_DEG)))
    assert solar is not None
    return GasTables(
        elevation_km=np.asarray(elevations_km, dtype=np.float64), x_h2o=np.asarray(H2O_X_NODES), h2o=np.clip(h2o, 0, 1),
        y_o3=np.asarray(O3_Y_NODES), o3=np.clip(o3, 0, 1), airmass=airmass, other=other, solar_irradiance=solar,
    )
