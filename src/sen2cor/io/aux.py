"""Meteorological auxiliary data of the L1C tile: ``AUX_ECMWFT`` and ``AUX_CAMS*`` GRIB files (ecCodes).

``AUX_ECMWFT`` carries total column ozone (``tco3``, kg m⁻²), total column water vapour (``tcwv``, kg m⁻²)
and mean sea-level pressure (``msl``, Pa); ``AUX_CAMSFO``/``AUX_CAMSRE`` carry aerosol optical depths
(``aod550`` …) and the surface geopotential ``z`` (m² s⁻²) on small regular lat/lon grids (facts §5, §7.4).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sen2cor.errors import AuxDataError

log = logging.getLogger(__name__)

OZONE_KG_M2_TO_DU = 300.0 / 6.428e-3
"""Total-column ozone kg m⁻² → Dobson units, as Sen2Cor converts the ECMWF field (facts §5 item 5)."""

STANDARD_GRAVITY_M_S2 = 9.80665
"""Geopotential → geometric height divisor (facts §7.4)."""


@dataclass(frozen=True)
class GribField:
    """One GRIB message on a regular lat/lon grid."""

    short_name: str
    units: str
    values: NDArray[np.float64] = field(repr=False, compare=False)
    """``(nj, ni)`` values, row 0 = first latitude."""
    lats: NDArray[np.float64] = field(repr=False, compare=False)
    """Latitudes of the rows (degrees)."""
    lons: NDArray[np.float64] = field(repr=False, compare=False)
    """Longitudes of the columns (degrees)."""
    data_date: int = 0
    data_time: int = 0


def read_grib(path: Path) -> list[GribField]:
    """Read every message of a GRIB 1/2 file.

    Raises
    ------
    AuxDataError
        If the file cannot be opened or decoded.
    """
    import eccodes  # imported lazily: loading ecCodes costs ~0.2 s

    out: list[GribField] = []
    try:
        with open(path, "rb") as fh:
            while True:
                h = eccodes.codes_grib_new_from_file(fh)
                if h is None:
                    break
                try:
                    ni, nj = eccodes.codes_get(h, "Ni"), eccodes.codes_get(h, "Nj")
                    vals = eccodes.codes_get_values(h).reshape(nj, ni)
                    la1 = eccodes.codes_get(h, "latitudeOfFirstGridPointInDegrees")
                    la2 = eccodes.codes_get(h, "latitudeOfLastGridPointInDegrees")
                    lo1 = eccodes.codes_get(h, "longitudeOfFirstGridPointInDegrees")
                    lo2 = eccodes.codes_get(h, "longitudeOfLastGridPointInDegrees")
                    if lo2 < lo1:
                        lo2 += 360.0
                    out.append(
                        GribField(
                            short_name=str(eccodes.codes_get(h, "shortName")),
                            units=str(eccodes.codes_get(h, "units")),
                            values=vals,
                            lats=np.linspace(la1, la2, nj),
                            lons=np.linspace(lo1, lo2, ni),
                            data_date=int(eccodes.codes_get(h, "dataDate")),
                            data_time=int(eccodes.codes_get(h, "dataTime")),
                        )
                    )
                finally:
                    eccodes.codes_release(h)
    except (OSError, eccodes.CodesInternalError) as exc:  # type: ignore[attr-defined]
        raise AuxDataError(f"{path}: cannot decode GRIB ({exc}); the auxiliary file is damaged") from None
    if not out:
        raise AuxDataError(f"{path}: no GRIB messages; the auxiliary file is empty or damaged")
    return out


@dataclass(frozen=True)
class EcmwfAux:
    """Fields of ``AUX_ECMWFT`` (all messages of each name averaged over time steps)."""

    path: Path
    fields: dict[str, GribField] = field(repr=False, compare=False)

    @property
    def ozone_du(self) -> float | None:
        """Tile ozone in DU: mean of the ``tco3`` values > 0, converted (facts §5 item 5); None if absent."""
        f = self.fields.get("tco3")
        if f is None:
            return None
        v = f.values[f.values > 0]
        return float(v.mean() * OZONE_KG_M2_TO_DU) if v.size else None

    @property
    def water_vapour_cm(self) -> float | None:
        """Mean total column water vapour in cm (1 kg m⁻² = 0.1 cm)."""
        f = self.fields.get("tcwv")
        return None if f is None else float(f.values.mean() / 10.0)


@dataclass(frozen=True)
class CamsAux:
    """Fields of ``AUX_CAMSFO``/``AUX_CAMSRE`` (AOD at several wavelengths, geopotential)."""

    path: Path
    fields: dict[str, GribField] = field(repr=False, compare=False)

    @property
    def aod550(self) -> GribField | None:
        """Total aerosol optical depth at 550 nm."""
        return self.fields.get("aod550")

    @property
    def surface_height_km(self) -> NDArray[np.float64] | None:
        """Surface height (km) from the geopotential ``z``: z / g / 1000 (facts §7.4)."""
        f = self.fields.get("z")
        return None if f is None else f.values / STANDARD_GRAVITY_M_S2 / 1000.0


def _by_name(fields: list[GribField]) -> dict[str, GribField]:
    """Group messages by short name, averaging repeated time steps of the same grid."""
    groups: dict[str, list[GribField]] = {}
    for f in fields:
        groups.setdefault(f.short_name, []).append(f)
    out: dict[str, GribField] = {}
    for name, fs in groups.items():
        if len(fs) == 1 or len({f.values.shape for f in fs}) != 1:
            out[name] = fs[0]
        else:
            mean = np.mean([f.values for f in fs], axis=0)
            out[name] = GribField(name, fs[0].units, mean, fs[0].lats, fs[0].lons, fs[0].data_date, fs[0].data_time)
    return out


def read_ecmwft(path: Path) -> EcmwfAux:
    """Read ``AUX_ECMWFT``."""
    return EcmwfAux(Path(path), _by_name(read_grib(Path(path))))


def read_cams(path: Path) -> CamsAux:
    """Read ``AUX_CAMSFO``/``AUX_CAMSRE``/``AUX_CAMSAN``."""
    return CamsAux(Path(path), _by_name(read_grib(Path(path))))
