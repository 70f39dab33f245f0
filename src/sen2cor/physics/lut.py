"""Radiative-transfer look-up tables: one interface for ESA's ``.atm`` tables and our own 6S tables.

Quick guide for the atmospheric correction
------------------------------------------
Get a table::

    from sen2cor.physics import atm, generated_lut, lut_selection as sel
    season = sel.resolve_season("AUTO", latitude_deg=45.2, day_of_year=200)      # "SUMMER"
    table = atm.load_sen2cor_lut(lib_dir, platform="S2A", resolution=20, season=season,
                                 ozone_du=331.0, aerosol="RURAL")                  # all WV files
    # or our own 6S tables (same class, S2A/S2B/S2C, any ozone):
    # table = generated_lut.load_6s_lut("S2A", "RURAL", season, ozone_du=331.0,
    #                                   band_e0={b: e0_l1c[b] / 10 for b in e0_l1c})

Evaluate it (every geometry/state argument is a scalar or an array; arrays broadcast together)::

    f = table.interpolate(("B04", "B12"), sza_deg=sza, vza_deg=vza, raa_deg=raa,
                          elevation_km=dem_km, visibility_km=vis,        # or aot550=..., or vis_index=...
                          wv_cm=None,                                    # None → the season's base WV
                          quantities=("lp", "edift", "e0t", "tsun"))
    f.lp      # float32, shape (2, *broadcast shape), mW cm-2 sr-1 µm-1
    f["B12"].e0t                                                         # per-band view

Quantities (Sen2Cor's libRadtran LUT semantics, facts §4):

====== ====================================================================== ====================
name   meaning                                                                unit
====== ====================================================================== ====================
lp     path radiance at the view geometry (relative azimuth dependent)       mW cm-2 sr-1 µm-1
edift  diffuse ground irradiance × total ground→sensor transmittance         mW cm-2 µm-1
e0t    E0 · Tsun · (Tdir + Tdif)  (no cos SZA)                               mW cm-2 µm-1
tdir   direct ground→sensor transmittance                                    1
tdif   diffuse ground→sensor transmittance                                   1
s      spherical albedo of the atmosphere                                    1
tsun   derived: direct sun→ground transmittance exp(ln(max(Tdir,0.01))/cosSZA) 1
q      derived: adjacency ratio max(Tdif/max(Tdir,0.01), 0), de-spiked       1
====== ====================================================================== ====================

Axes and conventions: ``sza_deg`` solar zenith, ``vza_deg`` view zenith, ``raa_deg`` relative azimuth
|SAA − VAA| (any value; folded to 0…180), ``elevation_km`` ground elevation, aerosol amount as
Sen2Cor visibility (sea-level, km), as AOT550 *at the ground elevation* (Sen2Cor's AOT product
meaning, converted with facts §7.4), or as a fractional visibility index (facts §4).  The table's own
aerosol coordinate is sea-level AOT550 (= Sen2Cor's optical depth − 0.1283), along which values are
interpolated linearly exactly as Sen2Cor re-interpolates its tables in optical depth.  Inputs outside
the grid are clamped (Sen2Cor clamps at the same places: SZA 0–70°, visibility 5–120 km, elevation
0–2.5 km, VZA 0–10°); use :meth:`AtmosphericLut.extend_elevation` for Sen2Cor's 3.0/3.5 km extrapolation.

Performance: arguments that are scalars are interpolated away first on the small table; the per-pixel
numba kernel then only runs over the axes that vary.  Ask only for the quantities you need.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from sen2cor.bands import band as band_info
from sen2cor.errors import ConfigError
from sen2cor.physics import visibility as vis_mod
from sen2cor.physics.interp import collapse_axis, interpolate_points

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

BASE_QUANTITIES: Final[tuple[str, ...]] = ("lp", "edift", "e0t", "tdir", "tdif", "s")
"""Quantities stored in a table (facts §4)."""

DERIVED_QUANTITIES: Final[tuple[str, ...]] = ("tsun", "q")
"""Quantities derived from the stored ones (facts §4)."""

FLUX_QUANTITIES: Final[tuple[str, ...]] = ("edift", "e0t", "tdir", "tdif", "s")
"""Order of the last axis of :attr:`AtmosphericLut.fluxes`."""

TDIR_FLOOR: Final[float] = 0.01
"""Lower bound of Tdir in Tsun and q (facts §4 "Derived quantities", §10 "Tsun floor Tdir ≥ 0.01")."""

Q_SPIKE_WINDOWS_UM: Final[tuple[tuple[float, float], ...]] = (
    (0.750, 0.770), (0.910, 0.980), (1.110, 1.180), (1.40, 1.50), (1.78, 2.00)
)
"""Absorption windows where q is replaced by linear interpolation of the neighbouring bands (facts §4)."""

Q_DECAY_START_UM: Final[float] = 2.35
"""Beyond this wavelength q decays as exp(λ0 − λ) (facts §4)."""

AXES: Final[tuple[str, ...]] = ("wv", "aot", "sza", "elevation", "vza", "raa")
"""Order of the non-band axes of :attr:`AtmosphericLut.lp` (``fluxes`` has all but ``raa``)."""


@dataclass(frozen=True)
class AtmosphericFunctions:
    """Interpolated RT functions; every field is float32 of shape ``(n_bands, *state_shape)`` or None.

    Units as in the module table.  Index by band id (``f["B04"]``) for a single-band view.
    """

    bands: tuple[str, ...]
    lp: F32 | None = None
    edift: F32 | None = None
    e0t: F32 | None = None
    tdir: F32 | None = None
    tdif: F32 | None = None
    s: F32 | None = None
    tsun: F32 | None = None
    q: F32 | None = None

    def __getitem__(self, band_id: str) -> AtmosphericFunctions:
        i = self.bands.index(band_info(band_id).id)
        kw = {n: (None if getattr(self, n) is None else getattr(self, n)[i : i + 1])
              for n in BASE_QUANTITIES + DERIVED_QUANTITIES}
        return AtmosphericFunctions(bands=(self.bands[i],), **kw)


@dataclass(frozen=True)
class AtmosphericLut:
    """A set of RT tables for one sensor, aerosol model, atmosphere and ozone amount.

    Attributes
    ----------
    bands : tuple of str
        Band ids (``bands.py`` naming) of the first table axis.
    wavelengths_um : numpy.ndarray of float64, shape (n_bands,)
        Band centre wavelengths (µm), used for the q de-spiking.
    wv_cm : numpy.ndarray of float64, shape (n_wv,)
        Water-vapour column (cm) of each table; increasing.
    aot : numpy.ndarray of float64, shape (n_aot,)
        Sea-level AOT550 nodes (increasing), facts §4 / §7.4.
    sza_deg, elevation_km, vza_deg, raa_deg : numpy.ndarray of float64
        Increasing node coordinates.
    lp : numpy.ndarray of float32, shape (n_bands, n_wv, n_aot, n_sza, n_elev, n_vza, n_raa)
        Path radiance, mW cm-2 sr-1 µm-1.
    fluxes : numpy.ndarray of float32, shape (n_bands, n_wv, n_aot, n_sza, n_elev, n_vza, 5)
        Edift, E0t (mW cm-2 µm-1), Tdir, Tdif, s (1), in :data:`FLUX_QUANTITIES` order.
    base_wv_cm : float
        Water vapour used when :meth:`interpolate` gets ``wv_cm=None``.
    attrs : dict
        Provenance (source files or generator, sensor, aerosol, season, ozone…).
    """

    bands: tuple[str, ...]
    wavelengths_um: F64
    wv_cm: F64
    aot: F64
    sza_deg: F64
    elevation_km: F64
    vza_deg: F64
    raa_deg: F64
    lp: F32
    fluxes: F32
    base_wv_cm: float
    attrs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = (len(self.bands), self.wv_cm.size, self.aot.size, self.sza_deg.size,
                 self.elevation_km.size, self.vza_deg.size)
        if self.lp.shape != shape + (self.raa_deg.size,) or self.fluxes.shape != shape + (len(FLUX_QUANTITIES),):
            raise ValueError(f"LUT arrays lp {self.lp.shape} / fluxes {self.fluxes.shape} do not match axes {shape}")
        for name in ("wv_cm", "aot", "sza_deg", "elevation_km", "vza_deg", "raa_deg"):
            g = getattr(self, name)
            if g.size > 1 and np.any(np.diff(g) <= 0):
                raise ValueError(f"LUT axis {name} must be strictly increasing, got {g}")

    # ------------------------------------------------------------------ selection helpers
    def band_index(self, band_id: str) -> int:
        """Position of a band in this table (raises :class:`ConfigError` if absent)."""
        bid = band_info(band_id).id
        try:
            return self.bands.index(bid)
        except ValueError:
            raise ConfigError(
                f"band {bid} is not in this LUT ({', '.join(self.bands)}); use the LUT of the right resolution"
            ) from None

    def select_wv(self, wv_cm: float) -> AtmosphericLut:
        """Sub-table at the WV node nearest to ``wv_cm`` (e.g. one Sen2Cor ``wvXX`` file)."""
        k = int(np.argmin(np.abs(self.wv_cm - wv_cm)))
        return replace(self, wv_cm=self.wv_cm[k : k + 1], lp=self.lp[:, k : k + 1],
                       fluxes=self.fluxes[:, k : k + 1], base_wv_cm=float(self.wv_cm[k]))

    def extend_elevation(self, max_km: float) -> AtmosphericLut:
        """Add elevation levels by linear extrapolation of the two highest ones (facts §4).

        Sen2Cor extrapolates to 3.0 km when the DEM exceeds 2.5 km and to 3.5 km above 3.0 km.
        Levels are added every 0.5 km up to ``max_km``.
        """
        z = self.elevation_km
        new = [float(v) for v in np.arange(z[-1] + 0.5, max_km + 1e-9, 0.5)]
        if not new:
            return self
        lp, fl = self.lp, self.fluxes
        dz = z[-1] - z[-2]
        lp_list, fl_list = [lp], [fl]
        for zn in new:
            t = (zn - z[-2]) / dz
            lp_list.append(((1 - t) * lp[:, :, :, :, -2:-1] + t * lp[:, :, :, :, -1:]).astype(np.float32))
            fl_list.append(((1 - t) * fl[:, :, :, :, -2:-1] + t * fl[:, :, :, :, -1:]).astype(np.float32))
        return replace(self, elevation_km=np.concatenate([z, new]), lp=np.concatenate(lp_list, axis=4),
                       fluxes=np.concatenate(fl_list, axis=4))

    def refine_axis(self, axis: str, nodes: npt.ArrayLike) -> AtmosphericLut:
        """Resample one axis (``aot``, ``sza`` or ``elevation``) on new nodes with cubic splines.

        The multilinear kernel then interpolates between closely spaced nodes, which carries the
        accuracy of cubic interpolation at the kernel's speed.  For ``sza`` the path radiance is splined
        in SZA and the transmittance terms as ln(value) against the air mass 1/cos SZA (exact for the
        direct beam, exp(−τ/μs); measured with dense 6S runs: ≤ 0.12 % vs ≤ 3 % for a spline in SZA).
        New nodes must lie within the old range.
        """
        from scipy.interpolate import CubicSpline

        attr = {"aot": "aot", "sza": "sza_deg", "elevation": "elevation_km"}[axis]
        ax = {"aot": 2, "sza": 3, "elevation": 4}[axis]
        old = getattr(self, attr)
        new = np.asarray(nodes, dtype=np.float64)
        if new.min() < old[0] - 1e-9 or new.max() > old[-1] + 1e-9:
            raise ValueError(f"refined {axis} nodes must lie within [{old[0]}, {old[-1]}]")
        lp = CubicSpline(old, self.lp.astype(np.float64), axis=ax)(new).astype(np.float32)
        if axis == "sza":
            m_old, m_new = 1.0 / np.cos(np.deg2rad(old)), 1.0 / np.cos(np.deg2rad(new))
            logf = np.log(np.maximum(self.fluxes.astype(np.float64), 1e-30))
            spl = CubicSpline(m_old, logf, axis=ax)(m_new)
            fl = np.exp(np.clip(spl, logf.min() - 1.0, logf.max() + 1.0)).astype(np.float32)  # no overshoot blow-up
            fl[np.broadcast_to(np.take(self.fluxes, [0], axis=ax) <= 0, fl.shape)] = 0.0
        else:  # transmittance terms as ln value (E0t ∝ exp(−τ/μs) is log-linear in AOT)
            logf = np.log(np.maximum(self.fluxes.astype(np.float64), 1e-30))
            spl = CubicSpline(old, logf, axis=ax)(new)
            fl = np.exp(np.clip(spl, logf.min() - 1.0, logf.max() + 1.0)).astype(np.float32)
            fl[np.broadcast_to(np.take(self.fluxes, [0], axis=ax) <= 0, fl.shape)] = 0.0
        return replace(self, **{attr: new}, lp=lp, fluxes=fl)

    def node_values(self, band_id: str) -> dict[str, F32]:
        """Raw node arrays of one band (for fits such as Sen2Cor's WV exp(A + B√u)); shapes as the tables."""
        i = self.band_index(band_id)
        out = {"lp": self.lp[i]}
        for k, name in enumerate(FLUX_QUANTITIES):
            out[name] = self.fluxes[i, ..., k]
        return out

    # ------------------------------------------------------------------ interpolation
    def aot_coordinate(
        self,
        visibility_km: npt.ArrayLike | None = None,
        aot550: npt.ArrayLike | None = None,
        vis_index: npt.ArrayLike | None = None,
        elevation_km: npt.ArrayLike = 0.0,
    ) -> npt.NDArray[np.floating]:
        """Sea-level AOT550 (the table's aerosol coordinate) from exactly one aerosol description.

        Scalars give a float64 0-d array; array inputs a float32 array (fast parallel conversion).
        """
        given = [v is not None for v in (visibility_km, aot550, vis_index)]
        if sum(given) != 1:
            raise ConfigError("give exactly one of visibility_km, aot550 or vis_index to AtmosphericLut.interpolate")
        arrays = [np.ndim(v) > 0 for v in (visibility_km, aot550, vis_index, elevation_km) if v is not None]
        if any(arrays):
            return vis_mod.sea_level_aot550_f32(visibility_km, aot550, vis_index, elevation_km)
        if visibility_km is not None:
            return vis_mod.sea_level_aot550(visibility_km)
        if vis_index is not None:
            return vis_mod.aot550_from_index(vis_index)
        return vis_mod.sea_level_aot550(vis_mod.visibility_from_aot550(aot550, elevation_km))  # type: ignore[arg-type]

    def interpolate(
        self,
        bands: str | Sequence[str],
        *,
        sza_deg: npt.ArrayLike,
        vza_deg: npt.ArrayLike,
        raa_deg: npt.ArrayLike,
        elevation_km: npt.ArrayLike,
        visibility_km: npt.ArrayLike | None = None,
        aot550: npt.ArrayLike | None = None,
        vis_index: npt.ArrayLike | None = None,
        wv_cm: npt.ArrayLike | None = None,
        quantities: Sequence[str] = BASE_QUANTITIES + DERIVED_QUANTITIES,
    ) -> AtmosphericFunctions:
        """Evaluate the RT functions for one or more bands at scalar or per-pixel states.

        Parameters
        ----------
        bands : str or sequence of str
            Band id(s), e.g. ``"B04"`` or ``("B02", "B8A")``.
        sza_deg, vza_deg, raa_deg : array_like of float
            Solar zenith, view zenith and relative azimuth in degrees (raa folded to 0–180).
        elevation_km : array_like of float
            Ground elevation (km).
        visibility_km, aot550, vis_index : array_like of float, exactly one
            Aerosol amount: Sen2Cor visibility (km), AOT550 above the ground elevation, or visibility index.
        wv_cm : array_like of float, optional
            Water-vapour column (cm), interpolated linearly between tables; None → :attr:`base_wv_cm`.
        quantities : sequence of str
            Subset of ``lp, edift, e0t, tdir, tdif, s, tsun, q``.

        Returns
        -------
        AtmosphericFunctions
            Requested fields filled, float32 of shape ``(n_bands, *broadcast shape)``.

        Raises
        ------
        ConfigError
            Unknown band or quantity, or not exactly one aerosol argument.
        """
        band_ids = (bands,) if isinstance(bands, str) else tuple(bands)
        unknown = set(quantities) - set(BASE_QUANTITIES + DERIVED_QUANTITIES)
        if unknown:
            raise ConfigError(f"unknown LUT quantities {sorted(unknown)}; expected {BASE_QUANTITIES + DERIVED_QUANTITIES}")
        idx = [self.band_index(b) for b in band_ids]
        aot = self.aot_coordinate(visibility_km, aot550, vis_index, elevation_km)
        raa = np.abs(np.asarray(raa_deg, dtype=np.float64)) % 360.0
        raa = np.where(raa > 180.0, 360.0 - raa, raa)
        wv = np.asarray(self.base_wv_cm if wv_cm is None else wv_cm, dtype=np.float64)
        state = [wv, aot, np.asarray(sza_deg), np.asarray(elevation_km), np.asarray(vza_deg), raa]
        shape = np.broadcast_shapes(*[np.shape(s) for s in state])

        need_flux = {"edift", "e0t", "tdir", "tdif", "s", "tsun", "q"} & set(quantities)
        flux_q = [k for k, n in enumerate(FLUX_QUANTITIES)
                  if n in quantities or (n == "tdir" and {"tsun", "q"} & set(quantities))
                  or (n == "tdif" and "q" in quantities)]
        q_bands = self._q_support(idx) if "q" in quantities else {}
        all_idx = sorted(set(idx) | {j for pair in q_bands.values() for j in pair})
        out: dict[str, F32] = {}
        lp_vals = self._evaluate(self.lp[all_idx][..., None], state, shape, with_raa=True) if "lp" in quantities else None
        fl_vals = (self._evaluate(self.fluxes[all_idx][..., flux_q], state[:5], shape, with_raa=False)
                   if need_flux else None)
        pos = {b: k for k, b in enumerate(all_idx)}
        sel = [pos[i] for i in idx]
        if lp_vals is not None:
            out["lp"] = lp_vals[sel, 0]
        if fl_vals is not None:
            for n in FLUX_QUANTITIES:
                if n in quantities:
                    out[n] = fl_vals[sel, flux_q.index(FLUX_QUANTITIES.index(n))]
            tdir_all = fl_vals[:, flux_q.index(2)] if {"tsun", "q"} & set(quantities) else None
            if "tsun" in quantities and tdir_all is not None:
                cos_sza = np.cos(np.deg2rad(np.clip(np.asarray(sza_deg, np.float64), 0.0, self.sza_deg[-1])))
                out["tsun"] = direct_sun_transmittance(tdir_all[sel], cos_sza.astype(np.float32))
            if "q" in quantities and tdir_all is not None:
                q_all = adjacency_ratio(tdir_all, fl_vals[:, flux_q.index(3)])
                out["q"] = self._despike_q(q_all, idx, q_bands, pos)
        return AtmosphericFunctions(bands=tuple(self.bands[i] for i in idx), **out)

    def _evaluate(self, table: F32, state: list[F64], shape: tuple[int, ...], *, with_raa: bool) -> F32:
        """Collapse scalar axes, then run the point kernel over the varying ones; (n_b, Q, *shape)."""
        grids = [self.wv_cm, self.aot, self.sza_deg, self.elevation_km, self.vza_deg, self.raa_deg]
        ndims = 6 if with_raa else 5
        tab = table  # (n_b, *axes, Q)
        var_axes: list[int] = []
        # collapse from the last axis so earlier axis numbers stay valid
        for ax in range(ndims - 1, -1, -1):
            g = grids[ax]
            if np.ndim(state[ax]) == 0 or g.size == 1:
                tab = collapse_axis(tab, ax + 1, g, float(np.asarray(state[ax]).ravel()[0]) if g.size > 1 else 0.0)
            else:
                var_axes.insert(0, ax)
        nb, nq = tab.shape[0], tab.shape[-1]
        if not var_axes:
            vals = np.broadcast_to(tab.reshape(nb, nq, *([1] * len(shape))), (nb, nq, *shape))
            return np.ascontiguousarray(vals, dtype=np.float32)
        coords = tuple(np.broadcast_to(np.asarray(state[ax], dtype=np.float32), shape) for ax in var_axes)
        npts = int(np.prod(shape))
        res = np.empty((nb, nq, npts), dtype=np.float32)
        for b in range(nb):
            interpolate_points(tab[b], tuple(grids[a] for a in var_axes), coords, out=res[b])
        return res.reshape(nb, nq, *shape)

    # ------------------------------------------------------------------ q de-spiking
    def _q_support(self, idx: list[int]) -> dict[int, tuple[int, int]]:
        """For requested bands inside a q spike window: indices of the neighbour bands to interpolate from."""
        wl = self.wavelengths_um
        clean = [j for j in range(len(self.bands)) if not _in_spike_window(wl[j])]
        support: dict[int, tuple[int, int]] = {}
        for i in idx:
            if not _in_spike_window(wl[i]):
                continue
            lower = [j for j in clean if wl[j] < wl[i]]
            upper = [j for j in clean if wl[j] > wl[i]]
            if lower and upper:
                support[i] = (max(lower, key=lambda j: wl[j]), min(upper, key=lambda j: wl[j]))
        return support

    def _despike_q(self, q_all: F32, idx: list[int], support: dict[int, tuple[int, int]],
                   pos: dict[int, int]) -> F32:
        wl = self.wavelengths_um
        rows = []
        for i in idx:
            if i in support:
                lo, hi = support[i]
                t = (wl[i] - wl[lo]) / (wl[hi] - wl[lo])
                rows.append(((1 - t) * q_all[pos[lo]] + t * q_all[pos[hi]]).astype(np.float32))
            elif wl[i] > Q_DECAY_START_UM:
                rows.append((q_all[pos[i]] * np.exp(Q_DECAY_START_UM - wl[i])).astype(np.float32))
            else:
                rows.append(q_all[pos[i]])
        return np.stack(rows)


def _in_spike_window(wl_um: float) -> bool:
    return any(lo <= wl_um <= hi for lo, hi in Q_SPIKE_WINDOWS_UM)


def direct_sun_transmittance(tdir: npt.ArrayLike, cos_sza: npt.ArrayLike) -> F32:
    """Tsun = exp(ln(max(Tdir, 0.01)) / cos SZA) (facts §4); float32, broadcast shape."""
    t = np.maximum(np.asarray(tdir, dtype=np.float32), np.float32(TDIR_FLOOR))
    return np.exp(np.log(t) / np.asarray(cos_sza, dtype=np.float32)).astype(np.float32)


def adjacency_ratio(tdir: npt.ArrayLike, tdif: npt.ArrayLike) -> F32:
    """Raw adjacency ratio q = max(Tdif / max(Tdir, 0.01), 0) (facts §4), before band de-spiking."""
    t = np.maximum(np.asarray(tdir, dtype=np.float32), np.float32(TDIR_FLOOR))
    return np.maximum(np.asarray(tdif, dtype=np.float32) / t, np.float32(0.0)).astype(np.float32)
