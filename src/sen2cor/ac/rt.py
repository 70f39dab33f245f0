"""Radiative-transfer functions of one view/sun geometry, tabulated on the AC's own grids.

Sen2Cor evaluates its LUT once per cell (geometry) on a grid of *visibility indices* (0 … 182, facts §4)
and 20 m *elevation classes*, then looks every pixel up by its integer (index, class) pair.  This module
does the same with :class:`sen2cor.physics.lut.AtmosphericLut`:

* :func:`rt_table` — Lp, E0t, Edift, Tsun, q, s on an (aerosol, elevation class) grid for some bands;
  the aerosol axis is either visibility indices or explicit visibilities (the 8 standard ones for the
  DDV inversion, one continuous value for the negative-reflectance check);
* :func:`wv_fit_table` — the per-elevation exponential fits y = exp(A + B√u) over three WV tables that
  the WV-dependent bands use (facts §7.5);
* :func:`visibility_of_index` / :func:`index_of_visibility` — the index ↔ km conversions.

Units: radiances mW cm⁻² sr⁻¹ µm⁻¹, irradiances mW cm⁻² µm⁻¹, transmittances and q, s unitless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from sen2cor.ac import wv_columns
from sen2cor.ac.constants import ELEVATION_CLASS_M, MAX_VISIBILITY_KM, WV_SCALE
from sen2cor.bands import band as band_info
from sen2cor.physics import visibility as vis_mod
from sen2cor.physics.interp import collapse_axis
from sen2cor.physics.lut import TDIR_FLOOR, AtmosphericLut

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

N_VIS_INDEX: Final[int] = vis_mod.VIS_INDEX_COUNT
"""Number of visibility indices (183, facts §4)."""

STANDARD_VISIBILITIES_KM: Final[tuple[float, ...]] = vis_mod.STANDARD_VISIBILITIES_KM
"""The 8 LUT visibilities, 5 … 120 km (facts §4)."""

Q_WINDOWS_UM: Final[tuple[tuple[float, float], ...]] = ((0.750, 0.770), (0.910, 0.980), (1.110, 1.180), (1.40, 1.50))
"""Windows in which q is interpolated from neighbour bands (facts §4; Sen2Cor's per-visibility tables skip
the 1.78–2.00 µm window)."""

Q_NEIGHBOUR_MARGIN_UM: Final[float] = 0.05
"""Neighbour bands of a q window lie at least this far outside it (Sen2Cor per-visibility tables)."""

Q_DECAY_RANGE_UM: Final[tuple[float, float]] = (2.35, 2.55)
"""In this range q decays as exp(λ0 − λ) from the first band (facts §4)."""

QUANTITIES: Final[tuple[str, ...]] = ("lp", "e0t", "edift", "tsun", "q", "s")


@dataclass(frozen=True)
class Geometry:
    """Sun and view angles of one cell (degrees)."""

    sza_deg: float
    saa_deg: float
    vza_deg: float
    vaa_deg: float

    @property
    def raa_deg(self) -> float:
        """Relative azimuth |SAA − VAA| folded to 0 … 180° (facts §4)."""
        r = abs(self.saa_deg - self.vaa_deg) % 360.0
        return 360.0 - r if r > 180.0 else r

    @property
    def cos_sza(self) -> float:
        return float(np.cos(np.deg2rad(self.sza_deg)))

    def nadir(self) -> Geometry:
        """Same sun, nadir view (VZA 0): the geometry of the DDV masking and checks (facts §7.2)."""
        return Geometry(self.sza_deg, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class RtTable:
    """RT functions on an (aerosol, elevation class) grid; arrays float32 of shape (n_bands, n_aero, n_elev).

    Attributes
    ----------
    bands : tuple of str
        Band ids of the first axis.
    geometry : Geometry
        Geometry the table was evaluated for.
    lp, e0t, edift, tsun, q, s : numpy.ndarray of float32
        Path radiance, E0·Tsun·(Tdir+Tdif), diffuse flux × transmittance, sun→ground direct transmittance,
        adjacency ratio and spherical albedo (facts §4).
    """

    bands: tuple[str, ...]
    geometry: Geometry
    lp: F32
    e0t: F32
    edift: F32
    tsun: F32
    q: F32
    s: F32

    def index(self, band_id: str) -> int:
        return self.bands.index(band_info(band_id).id)

    def scale_lp(self, factors: dict[str, float]) -> RtTable:
        """Copy with the path radiance of some bands multiplied by a factor (blue path-radiance rescaling)."""
        lp = self.lp.copy()
        for b, f in factors.items():
            if b in self.bands:
                lp[self.index(b)] *= np.float32(f)
        return RtTable(self.bands, self.geometry, lp, self.e0t, self.edift, self.tsun, self.q, self.s)


def visibility_of_index(index: npt.ArrayLike) -> F64:
    """Visibility (km) of visibility index ``i`` (facts §4: i = 0 → ≈188 km, 68 → ≈15.1 km, 182 → 5 km)."""
    return np.asarray(vis_mod.visibility_from_index(index), dtype=np.float64)


def index_of_visibility(visibility_km: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Integer visibility index whose bin contains ``visibility_km`` (bins bounded at i ± 0.5; facts §4)."""
    v = np.maximum(np.asarray(visibility_km, dtype=np.float64), 1e-3)
    i = np.floor(vis_mod.index_from_visibility(v) + 0.5)
    return np.clip(i, 0, N_VIS_INDEX - 1).astype(np.int64)


def elevation_class_km(n_classes: int) -> F64:
    """Elevation (km) of the 20 m classes 0 … n_classes − 1 (facts §4 "Elevation")."""
    return np.arange(n_classes, dtype=np.float64) * ELEVATION_CLASS_M / 1000.0


def rt_table(
    lut: AtmosphericLut,
    bands: Sequence[str],
    geometry: Geometry,
    elevation_km: npt.ArrayLike,
    *,
    vis_index: npt.ArrayLike | None = None,
    visibility_km: npt.ArrayLike | None = None,
    wv_cm: float | None = None,
) -> RtTable:
    """Evaluate the RT functions on an (aerosol, elevation) grid.

    Parameters
    ----------
    lut : AtmosphericLut
        Tables (all bands of the resolution, so that q can be de-spiked from neighbours).
    bands : sequence of str
        Bands of the result.
    geometry : Geometry
        Sun/view angles.
    elevation_km : array_like of float, shape (n_elev,)
        Ground elevations (km), usually :func:`elevation_class_km`.
    vis_index, visibility_km : array_like of float, shape (n_aero,), exactly one
        Aerosol grid as visibility indices (fractional allowed) or visibilities (km).
    wv_cm : float, optional
        Water-vapour table; None → the LUT's base table (facts §7.5).

    Returns
    -------
    RtTable
        Arrays of shape (len(bands), n_aero, n_elev).
    """
    z = np.atleast_1d(np.asarray(elevation_km, dtype=np.float64))
    if vis_index is not None:
        aot = vis_mod.aot550_from_index(np.atleast_1d(np.asarray(vis_index, dtype=np.float64)))
    elif visibility_km is not None:
        v = np.minimum(np.atleast_1d(np.asarray(visibility_km, dtype=np.float64)), MAX_VISIBILITY_KM)
        aot = vis_mod.sea_level_aot550(v)
    else:
        raise ValueError("give vis_index or visibility_km")
    all_bands = lut.bands
    lp, fl = _grid_evaluate(lut, geometry, wv_cm, np.asarray(aot, dtype=np.float64), z)
    names = ("edift", "e0t", "tdir", "tdif", "s")
    f = {n: fl[..., k] for k, n in enumerate(names)}
    sza = min(max(geometry.sza_deg, float(lut.sza_deg[0])), float(lut.sza_deg[-1]))
    cos_sza = np.float32(np.cos(np.deg2rad(sza)))
    tsun = np.exp(np.log(np.maximum(f["tdir"], np.float32(TDIR_FLOOR))) / cos_sza).astype(np.float32)
    q_all = sen2cor_q(f["tdir"], f["tdif"], lut.wavelengths_um)
    sel = [all_bands.index(band_info(b).id) for b in bands]

    def pick(a: F32) -> F32:
        return np.ascontiguousarray(a[sel], dtype=np.float32)

    return RtTable(
        bands=tuple(all_bands[i] for i in sel),
        geometry=geometry,
        lp=pick(lp),
        e0t=pick(f["e0t"]),
        edift=pick(f["edift"]),
        tsun=pick(tsun),
        q=pick(q_all),
        s=pick(f["s"]),
    )


def _weights(grid: F64, x: F64) -> F64:
    """Linear-interpolation weight matrix (len(x), len(grid)), x clamped to the grid (as the LUT does)."""
    w = np.zeros((x.size, grid.size), np.float64)
    if grid.size == 1:
        w[:, 0] = 1.0
        return w
    xc = np.clip(x, grid[0], grid[-1])
    j = np.clip(np.searchsorted(grid, xc, side="right") - 1, 0, grid.size - 2)
    t = (xc - grid[j]) / (grid[j + 1] - grid[j])
    rows = np.arange(x.size)
    w[rows, j] = 1.0 - t
    w[rows, j + 1] += t
    return w


def _grid_evaluate(lut: AtmosphericLut, geometry: Geometry, wv_cm: float | None, aot: F64, z: F64
                   ) -> tuple[F32, F32]:
    """Separable multilinear evaluation of the LUT on an (aerosol × elevation) grid at one geometry.

    Same interpolation as :meth:`AtmosphericLut.interpolate` (linear per axis, clamped), done as two small
    matrix products instead of per-point kernels.  Returns Lp (n_bands, n_aero, n_elev) and the fluxes
    (n_bands, n_aero, n_elev, 5) in :data:`sen2cor.physics.lut.FLUX_QUANTITIES` order.
    """
    raa = geometry.raa_deg
    wv = lut.base_wv_cm if wv_cm is None else float(wv_cm)
    lp = collapse_axis(lut.lp, 6, lut.raa_deg, raa)
    lp = collapse_axis(lp, 5, lut.vza_deg, geometry.vza_deg)
    lp = collapse_axis(lp, 3, lut.sza_deg, geometry.sza_deg)
    lp = collapse_axis(lp, 1, lut.wv_cm, wv)  # (nb, n_aot, n_elev)
    fl = collapse_axis(lut.fluxes, 5, lut.vza_deg, geometry.vza_deg)
    fl = collapse_axis(fl, 3, lut.sza_deg, geometry.sza_deg)
    fl = collapse_axis(fl, 1, lut.wv_cm, wv)  # (nb, n_aot, n_elev, 5)
    wa = _weights(lut.aot, aot)
    we = _weights(lut.elevation_km, z)
    lp_out = np.einsum("ai,bij,ej->bae", wa, lp.astype(np.float64), we, optimize=True)
    fl_out = np.einsum("ai,bijq,ej->baeq", wa, fl.astype(np.float64), we, optimize=True)
    return lp_out.astype(np.float32), fl_out.astype(np.float32)


def sen2cor_q(tdir: F32, tdif: F32, wavelengths_um: npt.ArrayLike) -> F32:
    """Adjacency ratio q = max(Tdif / max(Tdir, 0.01), 0) with Sen2Cor's per-band de-spiking (facts §4).

    Parameters
    ----------
    tdir, tdif : numpy.ndarray of float32, shape (n_bands, ...)
        Ground→sensor direct and diffuse transmittances of all bands of the table.
    wavelengths_um : array_like, shape (n_bands,)

    Returns
    -------
    numpy.ndarray of float32, shape (n_bands, ...)
    """
    wl = np.asarray(wavelengths_um, dtype=np.float64)
    q = np.maximum(tdif / np.maximum(tdir, np.float32(TDIR_FLOOR)), np.float32(0.0)).astype(np.float32)
    raw = q.copy()
    for lo, hi in Q_WINDOWS_UM:
        inside = np.flatnonzero((wl >= lo) & (wl <= hi))
        below = np.flatnonzero(wl <= lo - Q_NEIGHBOUR_MARGIN_UM)
        above = np.flatnonzero(wl >= hi + Q_NEIGHBOUR_MARGIN_UM)
        if inside.size == 0 or below.size == 0 or above.size == 0:
            continue
        i0, i1 = below[-1], above[0]
        for i in inside:
            t = (wl[i] - wl[i0]) / (wl[i1] - wl[i0])
            q[i] = ((1.0 - t) * raw[i0] + t * raw[i1]).astype(np.float32)
    decay = np.flatnonzero((wl > Q_DECAY_RANGE_UM[0]) & (wl < Q_DECAY_RANGE_UM[1]))
    if decay.size:
        first = decay[0]
        for i in decay:
            q[i] = (q[first] * np.exp(wl[first] - wl[i])).astype(np.float32)
    return q


# --------------------------------------------------------------------------------------- WV-dependent bands
@dataclass(frozen=True)
class WvFitTable:
    """Coefficients of y = exp(A + B·√u) per band, elevation class and WV sub-range (facts §7.5).

    ``coeffs`` is float32 of shape (4 quantities [lp, e0t, edift, tsun], n_bands, n_elev, n_ranges, 2);
    u is the water-vapour column above the ground in cm·1000.
    """

    bands: tuple[str, ...]
    coeffs: F32
    n_ranges: int

    def index(self, band_id: str) -> int:
        return self.bands.index(band_info(band_id).id)

    def evaluate(self, band_id: str, elevation_class: npt.ArrayLike, wv_range: int, wv_scaled: F32) -> tuple[F32, ...]:
        """(Lp, E0t, Edift, Tsun) of one band for per-pixel elevation classes and WV (cm·1000)."""
        b = self.index(band_id)
        c = self.coeffs[:, b][:, elevation_class, wv_range]  # (4, ..., 2)
        root = np.sqrt(np.maximum(wv_scaled, np.float32(0.0)))
        return tuple(np.exp(c[k, ..., 0] + c[k, ..., 1] * root).astype(np.float32) for k in range(4))


def wv_fit_table(
    lut: AtmosphericLut,
    bands: Sequence[str],
    geometry: Geometry,
    elevation_km: npt.ArrayLike,
    visibility_km: float,
    season: str,
) -> WvFitTable:
    """Fit exp(A + B√u) through every three consecutive WV tables, per band and elevation (facts §7.5).

    u is the column above the elevation (:mod:`sen2cor.ac.wv_columns`); the fits are evaluated at a single
    visibility (the scene mean, as Sen2Cor does) and the given geometry.
    """
    z = np.atleast_1d(np.asarray(elevation_km, dtype=np.float64))
    levels, columns = wv_columns.sen2cor_wv_tables(lut.wv_cm, season)  # Sen2Cor's wvXX tables only
    wv_nodes = lut.wv_cm[levels]
    n_wv = wv_nodes.size
    per_wv = [rt_table(lut, bands, geometry, z, visibility_km=visibility_km, wv_cm=float(w)) for w in wv_nodes]
    y = np.stack([np.stack([t.lp[:, 0], t.e0t[:, 0], t.edift[:, 0], t.tsun[:, 0]]) for t in per_wv], axis=-1)
    # y: (4, n_bands, n_elev, n_wv)
    u = wv_columns.columns_at(season, z)[:, columns]  # (n_elev, n_wv)
    n_ranges = max(n_wv - 2, 1)
    coeffs = np.zeros((4, len(bands), z.size, n_ranges, 2), dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        logy = np.log(np.maximum(y, np.float32(1e-30))).astype(np.float64)
    for r in range(n_ranges):
        x = np.sqrt(u[:, r : r + 3])  # (n_elev, 3)
        yy = logy[..., r : r + 3]  # (4, nb, n_elev, 3)
        xm = x.mean(axis=-1, keepdims=True)
        ym = yy.mean(axis=-1, keepdims=True)
        sxx = ((x - xm) ** 2).sum(axis=-1)
        slope = ((x - xm) * (yy - ym)).sum(axis=-1) / np.where(sxx > 0, sxx, 1.0)
        coeffs[..., r, 1] = slope
        coeffs[..., r, 0] = ym[..., 0] - slope * xm[..., 0]
    return WvFitTable(bands=tuple(band_info(b).id for b in bands), coeffs=coeffs, n_ranges=n_ranges)


def wv_range_index(mean_wv_scaled: float, season: str, mean_elevation_class: int, n_ranges: int) -> int:
    """WV sub-range (first table of the three-point fit) chosen from the scene-mean WV (facts §7.5).

    The boundaries are the columns of the 2nd, 4th and 5th tables above the mean elevation, read on the
    0.1 km grid (20 m class // 5), as Sen2Cor selects them.
    """
    table = wv_columns.column_table(season)
    u = table[int(np.clip(mean_elevation_class // 5, 0, table.shape[0] - 1))]
    if mean_wv_scaled <= u[1]:
        r = 0
    elif mean_wv_scaled <= u[3]:
        r = 1
    else:
        r = 2
    if u.size > 5:
        if u[3] < mean_wv_scaled <= u[4]:
            r = 2
        if mean_wv_scaled > u[4]:
            r = 3
    return int(min(r, n_ranges - 1))


def wv_scaled(wv_cm: npt.ArrayLike) -> F32:
    """cm → cm·1000 (the AC's internal WV unit, facts §7.5)."""
    return (np.asarray(wv_cm, dtype=np.float32) * np.float32(WV_SCALE)).astype(np.float32)
