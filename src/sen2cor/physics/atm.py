"""Reader for Sen2Cor's libRadtran ``.atm`` look-up tables (``Lib_Dir`` of L2A_CAL_AC_GIPP.xml).

Format (facts §4): headerless XDR (big-endian float32), C order band → visibility (8) → SZA (8) →
record ``[SZA_deg, visibility_km, 6 elevations × (6 nadir terms + 11 off-nadir terms per extra view)]``.
Nadir terms: Lp, Edift, E0t, Tdir, Tdif, s; off-nadir (VZA 10°) terms: Edift, E0t, Tdir, Tdif and Lp at
relative azimuth 0, 30, …, 180°.  The nadir path radiance does not depend on azimuth and is repeated
over the azimuth axis; the off-nadir spherical albedo is the nadir one.

The result is an :class:`~sen2cor.physics.lut.AtmosphericLut`, so ESA's tables and ours are used the
same way.  A user with an ESA installation can point the processor at its ``lib`` folder.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

import numpy as np

from sen2cor.bands import band as band_info
from sen2cor.errors import AuxDataError, ConfigError, FallbackWarning
from sen2cor.physics import lut_selection as sel
from sen2cor.physics.lut import AtmosphericLut
from sen2cor.physics.visibility import sea_level_aot550

logger = logging.getLogger(__name__)

ATM_BANDS: Final[dict[str, tuple[str, ...]]] = {
    "20_60": ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B10", "B11", "B12"),
    "10": ("B02", "B03", "B04", "B08"),
}
"""Band order of the ``.atm`` files per resolution folder (facts §4)."""

ATM_ELEVATIONS_KM: Final[tuple[float, ...]] = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
"""Ground elevations of each record (facts §4)."""

ATM_VZA_DEG: Final[tuple[float, ...]] = (0.0, 10.0)
"""View zeniths: nadir block plus one off-nadir block (facts §4)."""

ATM_RAA_DEG: Final[tuple[float, ...]] = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)
"""Relative azimuths of the off-nadir path radiance (facts §4)."""

ATM_N_SZA: Final[int] = 8
"""Solar zeniths per visibility (0, 10, …, 70°; facts §4)."""

ATM_N_VIS: Final[int] = 8
"""Visibilities per band (5 … 120 km; facts §4)."""

_NADIR_TERMS: Final[int] = 6
_OFFNADIR_TERMS: Final[int] = 4 + len(ATM_RAA_DEG)


def resolution_folder(resolution: int) -> str:
    """``"10"`` for 10 m, ``"20_60"`` for 20 and 60 m (facts §4)."""
    if resolution == 10:
        return "10"
    if resolution in (20, 60):
        return "20_60"
    raise ConfigError(f"resolution {resolution} m has no LUT folder; expected 10, 20 or 60")


def read_atm(path: str | Path, bands: Sequence[str] | None = None, wv_cm: float | None = None) -> AtmosphericLut:
    """Read one Sen2Cor ``.atm`` file.

    Parameters
    ----------
    path : str or Path
        The ``.atm`` file.
    bands : sequence of str, optional
        Band ids in file order; default from the band count (12 → 20_60 list, 4 → 10 m list).
    wv_cm : float, optional
        Water-vapour column of the file; default parsed from the ``wvXX`` tag of the name.

    Returns
    -------
    AtmosphericLut
        With one WV node, 8 aerosol nodes (sea-level AOT550 of 120 … 5 km), 8 SZA, 6 elevations,
        2 VZA and 7 relative azimuths.

    Raises
    ------
    AuxDataError
        File unreadable, or its size / records do not fit the layout.
    """
    p = Path(path)
    try:
        raw = np.fromfile(p, dtype=">f4")
    except OSError as exc:
        raise AuxDataError(f"{p}: cannot read Sen2Cor LUT ({exc}); check Lib_Dir in L2A_CAL_AC_GIPP.xml") from exc
    n_elev = len(ATM_ELEVATIONS_KM)
    if bands is None:
        guess = {len(v): v for v in ATM_BANDS.values()}
        per_band = ATM_N_VIS * ATM_N_SZA * (2 + n_elev * (_NADIR_TERMS + _OFFNADIR_TERMS))
        nb = raw.size // per_band if per_band else 0
        if raw.size % per_band or nb not in guess:
            raise AuxDataError(
                f"{p}: {raw.size * 4} bytes is not a 12-band (319488 B) or 4-band (106496 B) Sen2Cor LUT"
            )
        bands = guess[nb]
    bands = tuple(band_info(b).id for b in bands)
    nb = len(bands)
    per_view_block = n_elev * _OFFNADIR_TERMS * ATM_N_VIS * ATM_N_SZA * nb
    nadir_size = (2 + n_elev * _NADIR_TERMS) * ATM_N_VIS * ATM_N_SZA * nb
    n_view = 1 + (raw.size - nadir_size) // per_view_block if raw.size > nadir_size else 1
    if nadir_size + (n_view - 1) * per_view_block != raw.size or n_view != len(ATM_VZA_DEG):
        raise AuxDataError(f"{p}: {raw.size * 4} bytes do not match {nb} bands with {len(ATM_VZA_DEG)} view angles")
    rec_len = 2 + n_elev * (_NADIR_TERMS + _OFFNADIR_TERMS)
    rec = raw.reshape(nb, ATM_N_VIS, ATM_N_SZA, rec_len).astype(np.float32)
    sza = rec[0, 0, :, 0].astype(np.float64)
    vis = rec[0, :, 0, 1].astype(np.float64)
    if not (np.all(rec[..., 0] == sza[None, None, :]) and np.all(rec[..., 1] == vis[None, :, None])):
        raise AuxDataError(f"{p}: SZA/visibility record headers are not a regular grid; not a Sen2Cor LUT?")
    terms = rec[..., 2:].reshape(nb, ATM_N_VIS, ATM_N_SZA, n_elev, _NADIR_TERMS + _OFFNADIR_TERMS)
    nadir = terms[..., :_NADIR_TERMS]
    off = terms[..., _NADIR_TERMS:]
    n_raa = len(ATM_RAA_DEG)
    shape = (nb, ATM_N_VIS, ATM_N_SZA, n_elev)
    lp = np.empty(shape + (2, n_raa), dtype=np.float32)
    lp[..., 0, :] = nadir[..., 0:1]
    lp[..., 1, :] = off[..., 4:]
    fluxes = np.empty(shape + (2, 5), dtype=np.float32)
    fluxes[..., 0, :] = nadir[..., 1:6]
    fluxes[..., 1, :4] = off[..., 0:4]
    fluxes[..., 1, 4] = nadir[..., 5]
    # aerosol axis: sea-level AOT550, increasing = visibility decreasing
    order = np.argsort(sea_level_aot550(vis))
    lp = lp[:, order][:, None]
    fluxes = fluxes[:, order][:, None]
    if wv_cm is None:
        wv_cm = _wv_from_name(p)
    return AtmosphericLut(
        bands=bands,
        wavelengths_um=np.array([band_info(b).wavelength_um for b in bands]),
        wv_cm=np.array([wv_cm], dtype=np.float64),
        aot=sea_level_aot550(vis[order]),
        sza_deg=sza,
        elevation_km=np.array(ATM_ELEVATIONS_KM),
        vza_deg=np.array(ATM_VZA_DEG),
        raa_deg=np.array(ATM_RAA_DEG),
        lp=np.ascontiguousarray(lp),
        fluxes=np.ascontiguousarray(fluxes),
        base_wv_cm=float(wv_cm),
        attrs={"source": "Sen2Cor libRadtran LUT", "files": p.name},
    )


def _wv_from_name(p: Path) -> float:
    parts = [t for t in p.stem.split("_") if t.startswith("wv") and t[2:].isdigit()]
    if not parts:
        raise AuxDataError(f"{p}: no 'wvXX' tag in the LUT file name; pass wv_cm explicitly")
    return int(parts[0][2:]) / 10.0


def lut_directory(lib_dir: str | Path, platform: str, resolution: int) -> Path:
    """``<Lib_Dir>/lib_<platform>/<10|20_60>``, falling back to ``lib_S2A`` when the platform folder is absent.

    Raises
    ------
    AuxDataError
        Neither the platform nor the S2A folder exists.
    """
    root = Path(lib_dir)
    folder = resolution_folder(resolution)
    wanted = root / f"lib_{platform.upper()}" / folder
    if wanted.is_dir():
        return wanted
    fallback = root / "lib_S2A" / folder
    if fallback.is_dir():
        msg = f"{wanted} missing: using the S2A LUTs in {fallback} (Sen2Cor's fallback, facts §4)"
        logger.warning(msg)
        warnings.warn(msg, FallbackWarning, stacklevel=2)
        return fallback
    raise AuxDataError(f"{wanted}: LUT folder not found (nor {fallback}); check Lib_Dir in L2A_CAL_AC_GIPP.xml")


def load_sen2cor_lut(
    lib_dir: str | Path,
    platform: str,
    resolution: int,
    season: str,
    ozone_du: float | None,
    aerosol: str,
    wv_cm: Sequence[float] | None = None,
) -> AtmosphericLut:
    """Load and stack the ``.atm`` tables of one season, ozone level and aerosol model over water vapour.

    Parameters
    ----------
    lib_dir : str or Path
        Sen2Cor ``Lib_Dir`` (contains ``lib_S2A`` …).
    platform : str
        ``S2A``, ``S2B`` (other platforms fall back to S2A).
    resolution : int
        10, 20 or 60 (m).
    season : str
        ``SUMMER`` or ``WINTER`` (resolve AUTO with :func:`lut_selection.resolve_season`).
    ozone_du : float or None
        Ozone column (DU); the nearest table letter is used (None → standard).
    aerosol : str
        ``RURAL`` or ``MARITIME``.
    wv_cm : sequence of float, optional
        WV tables to load; default all tables of the season (facts §4).

    Returns
    -------
    AtmosphericLut
        WV axis = the loaded tables, ``base_wv_cm`` = the season's base table.
    """
    folder = lut_directory(lib_dir, platform, resolution)
    levels = tuple(sel.WV_TABLES_CM[season.upper()] if wv_cm is None else wv_cm)
    tables = []
    for w in sorted(levels):
        f = folder / sel.atm_file_name(season, ozone_du, w, aerosol)
        if not f.is_file():
            raise AuxDataError(f"{f}: Sen2Cor LUT file missing; check Lib_Dir in L2A_CAL_AC_GIPP.xml")
        tables.append(read_atm(f, wv_cm=w))
    first = tables[0]
    base = sel.BASE_WV_CM[season.upper()]
    if not any(abs(w - base) < 1e-6 for w in levels):
        base = float(min(levels))
    return replace(
        first,
        wv_cm=np.array(sorted(levels), dtype=np.float64),
        lp=np.concatenate([t.lp for t in tables], axis=1),
        fluxes=np.concatenate([t.fluxes for t in tables], axis=1),
        base_wv_cm=base,
        attrs={
            "source": "Sen2Cor libRadtran LUT",
            "files": " ".join(t.attrs["files"] for t in tables),
            "platform": platform.upper(),
            "season": season.upper(),
            "aerosol": aerosol.upper(),
            "ozone_letter": sel.ozone_letter(season, ozone_du),
        },
    )
