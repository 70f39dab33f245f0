"""Spectral side of the generator: the shipped S2A/S2B/S2C response table, the 6S 2.5 nm grid,
log-log interpolation of scattering quantities between 6S's reference wavelengths, band averages.

The response table ``sen2cor/data/s2_srf_2p5nm.json`` is our own compact derivative of ESA's
spectral responses (COPE-GSEG-EOPG-TN-15-0007, via ACOLITE's tabulation; origin recorded in the file,
made by ``tools/luts/make_srf_table.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

import numpy as np
import numpy.typing as npt

from sen2cor.bands import BAND_IDS
from sen2cor.errors import ConfigError

F64 = npt.NDArray[np.float64]

GRID_START_UM: Final[float] = 0.40
"""First wavelength of the integration grid (below every S2 band; on 6S's 2.5 nm grid)."""

GRID_STOP_UM: Final[float] = 2.40
"""Last wavelength of the integration grid (above every S2 band)."""

GRID_STEP_UM: Final[float] = 0.0025
"""6S's spectral step (2.5 nm)."""

SENSORS: Final[tuple[str, ...]] = ("S2A", "S2B", "S2C")
"""Platforms with a response table."""

SRF_RESOURCE: Final[str] = "s2_srf_2p5nm.json"
"""Package-data file of the response table."""


def wavelength_grid() -> F64:
    """The 801-point 2.5 nm grid 0.40 … 2.40 µm (float64, µm)."""
    n = round((GRID_STOP_UM - GRID_START_UM) / GRID_STEP_UM) + 1
    return np.round(GRID_START_UM + GRID_STEP_UM * np.arange(n), 6)


@dataclass(frozen=True)
class ResponseTable:
    """Spectral responses of one sensor on :func:`wavelength_grid` (shape (13, 801), peak 1)."""

    sensor: str
    bands: tuple[str, ...]
    response: F64
    origin: str


@cache
def response_table(sensor: str) -> ResponseTable:
    """Load the shipped response table of ``sensor`` (S2A, S2B or S2C)."""
    if sensor not in SENSORS:
        raise ConfigError(f"no spectral response table for platform {sensor!r}; expected one of {SENSORS}")
    text = resources.files("sen2cor.data").joinpath(SRF_RESOURCE).read_text()
    doc = json.loads(text)
    grid = wavelength_grid()
    out = np.zeros((len(BAND_IDS), grid.size))
    for i, bid in enumerate(BAND_IDS):
        entry = doc["sensors"][sensor][bid]
        k0 = round((entry["start_nm"] / 1000.0 - GRID_START_UM) / GRID_STEP_UM)
        vals = np.asarray(entry["response"], dtype=np.float64)
        out[i, k0 : k0 + vals.size] = vals
    return ResponseTable(sensor, BAND_IDS, out, doc["origin"])


def loglog_interp(x_ref: F64, y_ref: F64, x: F64, axis: int = -1) -> F64:
    """Interpolate positive ``y_ref`` (along ``axis``, nodes ``x_ref``) at ``x`` linearly in log-log space.

    Power-law behaviour of scattering quantities with wavelength makes this the natural scheme (6S also
    interpolates its scattering results between its reference wavelengths in log space).  Values ≤ 0
    are clipped to 1e-12 before the logarithm.  Outside the nodes the end segments are extended.
    """
    y = np.moveaxis(np.asarray(y_ref, dtype=np.float64), axis, -1)
    lx = np.log(np.asarray(x_ref, dtype=np.float64))
    lt = np.log(np.asarray(x, dtype=np.float64))
    j = np.clip(np.searchsorted(lx, lt) - 1, 0, lx.size - 2)
    t = (lt - lx[j]) / (lx[j + 1] - lx[j])
    ly = np.log(np.maximum(y, 1e-12))
    res = np.exp(ly[..., j] * (1 - t) + ly[..., j + 1] * t)
    return np.moveaxis(res, -1, axis)


def band_mean(values: F64, weights: F64) -> F64:
    """Weighted band averages: ``values`` (…, n_grid) with ``weights`` (n_band, n_grid) → (n_band, …)."""
    w = weights / weights.sum(axis=1, keepdims=True)
    return np.tensordot(w, values, axes=([1], [values.ndim - 1]))
