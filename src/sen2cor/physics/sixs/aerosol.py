"""Aerosol optics given to 6S as a ``.mie`` file (6S aerosol model 12), so our tables can reproduce
Sen2Cor's rural and maritime LUTs.

6S's built-in continental and maritime mixtures differ from Sen2Cor's (libRadtran) tables by up to
50 % in SWIR path radiance, and log-normal Mie size distributions of 6S's components still left
10–20 % (tried with 6S model 8 during development).  A :class:`TabulatedAerosol` therefore states the
optics directly at 6S's 20 wavelengths - normalised extinction, single-scattering albedo and a two-term
Henyey-Greenstein phase function - and writes them in the exact layout 6S V2.1 itself writes and
reads.  It also carries the model's visibility → AOT calibration (:meth:`TabulatedAerosol.sixs_aot`),
because libRadtran's visibility → AOT550 relation is not Richter's fit (facts §7.4) that defines
Sen2Cor's aerosol axis and AOT product.  The fitted models live in :mod:`.aerosol_models`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

SIXS_WAVELENGTHS_UM: Final[tuple[float, ...]] = (
    0.350, 0.400, 0.412, 0.443, 0.470, 0.488, 0.515, 0.550, 0.590, 0.633,
    0.670, 0.694, 0.760, 0.860, 1.240, 1.536, 1.650, 1.950, 2.250, 3.750,
)
"""The 20 wavelengths of 6S V2.1's aerosol optical-property tables (header of a ``.mie`` file).  6S
computes *scattering* at slightly different ones, see ``scattering.SCATTERING_WAVELENGTHS_UM``."""


@dataclass(frozen=True)
class MieFile:
    """Aerosol given by a ``.mie`` file (6S model 12); 6S reads it by bare name from its working folder."""

    path: Path

    def deck_lines(self) -> list[str]:
        return ["12", self.path.name]


PHASE_ANGLES_DEG: Final[tuple[float, ...]] = (
    180.00, 178.29, 176.07, 173.84, 171.61, 169.37, 167.14, 164.90, 162.67, 160.43, 158.20, 155.96, 153.72,
    151.49, 149.25, 147.02, 144.78, 142.55, 140.31, 138.07, 135.84, 133.60, 131.37, 129.13, 126.89, 124.66,
    122.42, 120.19, 117.95, 115.71, 113.48, 111.24, 109.01, 106.77, 104.53, 102.30, 100.06, 97.83, 95.59,
    93.35, 91.12, 90.00, 88.88, 86.65, 84.41, 82.17, 79.94, 77.70, 75.47, 73.23, 70.99, 68.76, 66.52, 64.29,
    62.05, 59.81, 57.58, 55.34, 53.11, 50.87, 48.63, 46.40, 44.16, 41.93, 39.69, 37.45, 35.22, 32.98, 30.75,
    28.51, 26.28, 24.04, 21.80, 19.57, 17.33, 15.10, 12.86, 10.63, 8.39, 6.16, 3.93, 1.71, 0.00,
)
"""The 83 scattering angles of a 6S ``.mie`` file (6S's quadrature, as written by 6S V2.1 itself)."""


@dataclass(frozen=True)
class TabulatedAerosol:
    """Aerosol given directly by its optics at the 20 6S wavelengths (written as a 6S ``.mie`` file).

    The phase function is a two-term Henyey-Greenstein function
    P = (1 − b)·HG(g_f) + b·HG(−g_b) with g_f chosen so that the asymmetry parameter equals ``asymmetry``.
    Polarisation by aerosol is neglected (P12 = P33 = 0; Rayleigh stays polarised in 6S).
    """

    name: str
    extinction: tuple[float, ...]
    """Extinction normalised to 1 at 550 nm, at :data:`SIXS_WAVELENGTHS_UM`."""
    ssa: tuple[float, ...]
    """Single-scattering albedo at the 20 wavelengths."""
    asymmetry: tuple[float, ...]
    """Asymmetry parameter at the 20 wavelengths."""
    backscatter: float | tuple[float, ...] = 0.0
    """Weight b of the backward HG lobe (one value, or one per 6S wavelength)."""
    backscatter_g: float = 0.5
    """Asymmetry g_b of the backward lobe."""
    aot_nodes: tuple[float, ...] = (0.0, 2.0)
    aot_scale: tuple[float, ...] = (1.0, 1.0)

    def sixs_aot(self, nominal_aot: float | np.ndarray) -> np.ndarray:
        """AOT550 given to 6S for a nominal (Sen2Cor) AOT550 above the target."""
        a = np.asarray(nominal_aot, dtype=np.float64)
        return a * np.interp(a, self.aot_nodes, self.aot_scale)

    def phase_function(self) -> np.ndarray:
        """(83, 20) phase function, normalised to a sphere average of 1."""
        mu = np.cos(np.deg2rad(np.asarray(PHASE_ANGLES_DEG)))[:, None]
        b = np.broadcast_to(np.asarray(self.backscatter, dtype=np.float64), (len(SIXS_WAVELENGTHS_UM),))[None, :]
        g = np.asarray(self.asymmetry)[None, :]
        gf = (g + b * self.backscatter_g) / (1.0 - b)

        def hg(gg: np.ndarray | float) -> np.ndarray:
            return (1 - np.square(gg)) / np.power(1 + np.square(gg) - 2 * gg * mu, 1.5)

        return (1 - b) * hg(gf) + b * hg(-self.backscatter_g)

    def mie_text(self) -> str:
        """Content of the ``.mie`` file in the exact layout 6S V2.1 writes and reads."""
        ext = np.asarray(self.extinction)
        ssa = np.asarray(self.ssa)
        out = [f"{len(PHASE_ANGLES_DEG):12d}",
               "   Wlgth  Nor_Ext_Co  Nor_Sca_Co  Sg_Sca_Alb  Asymm_Para  Extinct_Co  Scatter_Co"]
        for k, wl in enumerate(SIXS_WAVELENGTHS_UM):
            out.append(f"{wl:10.4f}{ext[k]:11.4f}{ext[k] * ssa[k]:14.4f}{ssa[k]:14.4f}{self.asymmetry[k]:14.4f}"
                       f"{_fortran_e(0.01 * ext[k], 15)}{_fortran_e(0.01 * ext[k] * ssa[k], 12)}")
        out += ["", "", "                    Phase Function ",
                "   TETA" + "".join(f"{w:10.4f} " for w in SIXS_WAVELENGTHS_UM)]
        p11 = self.phase_function()
        zero = np.zeros_like(p11)
        for block in (p11, zero, zero):
            for i, ang in enumerate(PHASE_ANGLES_DEG):
                out.append(f"{ang:8.2f}" + "".join(_fortran_e(v) for v in block[i]))
        return "\n".join(out) + "\n"

    def write(self, folder: Path) -> MieFile:
        """Write the ``.mie`` file (name from a hash of the optics) into ``folder``; deterministic."""
        text = self.mie_text()
        stem = f"{self.name.lower()}_{hashlib.sha1(text.encode()).hexdigest()[:10]}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{stem}.mie"
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
        return MieFile(target)


def _fortran_e(x: float, width: int = 11, digits: int = 4) -> str:
    """Fortran ``E`` edit descriptor output (mantissa 0.dddd, ``-.dddd`` when negative)."""
    if x == 0 or not math.isfinite(x):
        m, e = 0.0, 0
    else:
        e = math.floor(math.log10(abs(x))) + 1
        m = x / 10.0**e
        if round(abs(m), digits) >= 1.0:
            m /= 10.0
            e += 1
    s = f"{abs(m):.{digits}f}"
    if x < 0:
        s = "-" + s[1:]
    return (s + f"E{'+' if e >= 0 else '-'}{abs(e):02d}").rjust(width)
