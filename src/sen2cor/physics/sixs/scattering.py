"""Gas-free 6S scattering runs at the 20 6S reference wavelengths, in resumable chunks.

A chunk is one (aerosol model, AOT node, elevation node).  It holds, for every SZA node:

* from *nadir* runs: path reflectance ρ, Rayleigh reflectance ρ_R, total transmittance T(μ), spherical
  albedo S and optical depths at the 20 wavelengths where 6S itself computes scattering.  By reciprocity of the plane-parallel path
  reflectance, ρ(SZA = θ, VZA = 0) = ρ(SZA = 0, VZA = θ), and 6S's up/down transmittances are the same
  function of μ, so these come from runs with the sun at zenith, which 6S evaluates ~30× faster;
* from *off-nadir* runs (VZA 10°, 7 relative azimuths): ρ and ρ_R at a subset of wavelengths; the
  ratio to the nadir value is interpolated in wavelength by the assembly.

Each chunk is written as a small deterministic ``.npz`` (see :func:`save_npz_deterministic`), so an
interrupted generation continues with the missing chunks, and finished chunks can be committed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from sen2cor.physics.sixs.aerosol import MieFile, TabulatedAerosol
from sen2cor.physics.sixs.runner import MonoResult, SixsCase, parse_mono, run_sixs
from sen2cor.physics.visibility import aot550_from_visibility, visibility_from_aot550

F64 = npt.NDArray[np.float64]

SCATTERING_WAVELENGTHS_UM: Final[tuple[float, ...]] = (
    0.35, 0.40, 0.4125, 0.4425, 0.47, 0.4875, 0.515, 0.55, 0.59, 0.6325,
    0.67, 0.695, 0.76, 0.86, 1.24, 1.535, 1.65, 1.95, 2.25, 3.75,
)
"""Wavelengths at which 6S computes scattering in band mode (its ``wldis``) and interpolates in between
as power laws.  Verified: band-integrated gas-free path reflectance from monochromatic runs at these
wavelengths, log-log interpolated, reproduces 6S filter runs to ≤ 0.01 % in every S2 band (with the
rounded wavelengths of the ``.mie`` header, 0.412, 0.443, …, errors reach 0.3 %)."""

OFF_NADIR_WAVELENGTHS_UM: Final[tuple[float, ...]] = (0.4125, 0.47, 0.55, 0.67, 0.86, 1.24, 1.65, 2.25)
"""Reference wavelengths of the (expensive) off-nadir runs; the off/nadir ratio is interpolated between."""


@dataclass(frozen=True)
class GridSpec:
    """State grid of the generated tables."""

    aot: tuple[float, ...] = (0.05, 0.10, 0.17, 0.26, 0.38, 0.53, 0.72, 0.95, 1.20)
    """Nominal sea-level AOT550 nodes (Sen2Cor visibility via facts §7.4; 188 … 5 km covered)."""
    sza_deg: tuple[float, ...] = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0)
    elevation_km: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)
    vza_off_deg: float = 10.0
    raa_deg: tuple[float, ...] = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)
    off_wavelengths_um: tuple[float, ...] = field(default=OFF_NADIR_WAVELENGTHS_UM)


def target_aot(model: TabulatedAerosol, nominal_sea_level_aot: float, elevation_km: float) -> float:
    """AOT550 given to 6S above a target: Sen2Cor's visibility relation at the elevation × the model's scale."""
    vis = float(visibility_from_aot550(nominal_sea_level_aot, 0.0))
    aot_z = float(aot550_from_visibility(vis, elevation_km))
    scale = float(np.interp(nominal_sea_level_aot, model.aot_nodes, model.aot_scale))
    return aot_z * scale


def chunk_name(model: TabulatedAerosol, ia: int, iz: int) -> str:
    """File name of a chunk, e.g. ``rural_a03_z00.npz``."""
    return f"{model.name.lower()}_a{ia:02d}_z{iz:02d}.npz"


def run_chunk(
    model: TabulatedAerosol, mie: MieFile, grid: GridSpec, ia: int, iz: int, workers: int = 1,
    runner: Callable[[SixsCase], str] = run_sixs,
) -> dict[str, F64]:
    """Run all 6S cases of one chunk and return its arrays (see module docstring)."""
    z = grid.elevation_km[iz]
    aot = target_aot(model, grid.aot[ia], z)
    wl = SCATTERING_WAVELENGTHS_UM
    nadir_cases = [SixsCase(0.0, sza, 0.0, z, w, mie, aot) for sza in grid.sza_deg for w in wl]
    off_cases = [SixsCase(sza, grid.vza_off_deg, raa, z, w, mie, aot)
                 for sza in grid.sza_deg[1:] for raa in grid.raa_deg for w in grid.off_wavelengths_um]

    def one(case: SixsCase) -> MonoResult:
        return parse_mono(runner(case))

    with ThreadPoolExecutor(max(1, workers)) as ex:
        nadir = list(ex.map(one, nadir_cases))
        off = list(ex.map(one, off_cases))
    ns, nw = len(grid.sza_deg), len(wl)
    nad = np.array([[r.rho_path, r.rho_rayleigh, r.t_up, r.spherical_albedo, r.tau_rayleigh, r.tau_aerosol]
                    for r in nadir]).reshape(ns, nw, 6)
    t_zenith = np.array([r.t_down for r in nadir]).reshape(ns, nw)[0]
    offa = np.array([[r.rho_path, r.rho_rayleigh] for r in off]).reshape(
        ns - 1, len(grid.raa_deg), len(grid.off_wavelengths_um), 2)
    # SZA 0 off-nadir = nadir at SZA = VZA_off by reciprocity (same for every azimuth)
    k_vza = grid.sza_deg.index(grid.vza_off_deg) if grid.vza_off_deg in grid.sza_deg else None
    if k_vza is None:
        raise ValueError("the off-nadir VZA must be one of the SZA nodes (reciprocity shortcut)")
    i_off = [wl.index(w) for w in grid.off_wavelengths_um]
    first = np.broadcast_to(nad[k_vza, i_off, :2], (1, len(grid.raa_deg), len(i_off), 2))
    return {
        "rho": nad[..., 0], "rho_rayleigh": nad[..., 1], "t_mu": nad[..., 2],
        "spherical_albedo": nad[0, :, 3], "tau_rayleigh": nad[0, :, 4], "tau_aerosol": nad[0, :, 5],
        "t_zenith": t_zenith,
        "rho_off": np.concatenate([first[..., 0], offa[..., 0]]),
        "rho_rayleigh_off": np.concatenate([first[..., 1], offa[..., 1]]),
        "aot_6s": np.array(aot), "aot_nominal": np.array(grid.aot[ia]), "elevation_km": np.array(z),
    }


def save_npz_deterministic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an ``.npz`` whose bytes depend only on the arrays (fixed zip timestamps, sorted names)."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            arr = np.asarray(arrays[name])
            arr = arr if arr.flags.c_contiguous else arr.copy()  # keeps 0-d arrays 0-d
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    tmp.replace(path)


def pending_chunks(model: TabulatedAerosol, grid: GridSpec, folder: Path) -> Iterable[tuple[int, int]]:
    """Chunks (ia, iz) of ``model`` not yet in ``folder``, low elevations first."""
    for iz in range(len(grid.elevation_km)):
        for ia in range(len(grid.aot)):
            if not (folder / chunk_name(model, ia, iz)).is_file():
                yield ia, iz
