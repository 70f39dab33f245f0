"""Write small GRIB1 auxiliary files (AUX_ECMWFT, AUX_CAMSFO) for test and demo products, with ecCodes."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

# (table2Version, indicatorOfParameter) of the ECMWF GRIB1 parameter tables for the fields L1C products carry.
GRIB1_PARAMETERS: Mapping[str, tuple[int, int]] = {
    "tco3": (128, 206),
    "tcwv": (128, 137),
    "msl": (128, 151),
    "z": (128, 129),
    "aod550": (210, 207),
}


def write_grib1(
    path: Path,
    fields: Mapping[str, np.ndarray],
    *,
    lat_top: float,
    lon_left: float,
    step_deg: float = 0.125,
    date: int = 20220615,
    time: int = 0,
) -> Path:
    """Write ``{short name: (nj, ni) array}`` on a regular lat/lon grid as GRIB1 messages.

    Row 0 is the northernmost latitude ``lat_top``; column 0 is ``lon_left``.
    """
    import eccodes

    with open(path, "wb") as fh:
        for name, values in fields.items():
            table, param = GRIB1_PARAMETERS[name]
            nj, ni = values.shape
            h = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib1")
            try:
                for key, val in (
                    ("Ni", ni),
                    ("Nj", nj),
                    ("latitudeOfFirstGridPointInDegrees", lat_top),
                    ("latitudeOfLastGridPointInDegrees", lat_top - (nj - 1) * step_deg),
                    ("longitudeOfFirstGridPointInDegrees", lon_left),
                    ("longitudeOfLastGridPointInDegrees", lon_left + (ni - 1) * step_deg),
                    ("iDirectionIncrementInDegrees", step_deg),
                    ("jDirectionIncrementInDegrees", step_deg),
                    ("table2Version", table),
                    ("indicatorOfParameter", param),
                    ("dataDate", date),
                    ("dataTime", time),
                ):
                    eccodes.codes_set(h, key, val)
                eccodes.codes_set_values(h, np.asarray(values, dtype=np.float64).ravel())
                eccodes.codes_write(h, fh)
            finally:
                eccodes.codes_release(h)
    return path
