"""Per-pixel numba kernels of the surface-reflectance equation (facts §7.6).

Both kernels evaluate, for every pixel with radiance L > 0::

    F     = E0t·cosβ + Edift·( b·Tsun·cosβ/cosSZA + (1 − b·Tsun)·Vsky )
    F_ter = max( (E0t·cosSZA + Edift)·(1 − Vsky)·ρ_ter , 0.01·E0t·cosSZA )      (only when terrain flux is on)
    ρ     = min( π(L − Lp) / (F + F_ter), cap )

and write 0 where L ≤ 0 (no data).  F (and Lp) are computed again only where their per-pixel inputs change
along a row, and the radiance of most DN is looked up in a table made per call: the same values, without
the divisions per pixel (:func:`_tables_kernel`).  :func:`reflectance_from_tables` looks the RT functions
up in (visibility index, elevation class) tables; :func:`reflectance_from_wv_fits` evaluates the water-vapour
fits exp(A + B√u) (facts §7.5), from a per-window table where the WV map holds whole values.  The radiance
is an array or a :class:`DnRadiance` (L1C DN converted pixel by pixel).  They run in parallel over rows.

Step 2 (facts §7.7) has its own kernels at the end: the background fill and the adjacency / spherical-albedo
update (:mod:`sen2cor.ac.adjacency` calls them).  Every kernel repeats the float32/float64 operations of the
NumPy formulation in the same order, so results are the same bit for bit (``tests/ac/test_kernels.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


@numba.njit(inline="always", cache=True)
def _flux(e0t, edift, tsun, cb, v, b, cos_sza, rho_ter, terrain_flux, floor):  # type: ignore[no-untyped-def]
    """F (+ F_ter when ``terrain_flux``) of the module docstring."""
    bt = b * tsun
    flux = e0t * cb + edift * (bt * cb / cos_sza + (1.0 - bt) * v)
    if terrain_flux:
        glob = e0t * cos_sza
        ft = (glob + edift) * (1.0 - v) * rho_ter
        fmin = floor * glob
        flux += max(fmin, ft)
    return flux


@numba.njit(inline="always", cache=True)
def _rho(l, lp, flux, cap):  # type: ignore[no-untyped-def]
    r = np.pi * (l - lp) / flux
    return min(cap, r)


@numba.njit(inline="always", cache=True)
def _dn_radiance(d, src):  # type: ignore[no-untyped-def]
    """At-sensor radiance of L1C DN ``d``, ``src`` holding (offset, quantification, E0, cos SZA) as float32:
    the float32 operations of :func:`~sen2cor.physics.radiometry.dn_to_toa` then
    :func:`~sen2cor.physics.radiometry.toa_to_radiance` (0 for DN 0)."""
    if d == 0:
        return np.float32(0.0)
    toa = np.float32(d) + src[0]
    toa = max(toa, np.float32(1.0))
    toa = toa / src[1]
    return toa * src[2] * src[3] / np.float32(np.pi)


RADIANCE_TABLE_SIZE = 16384
"""DN values (0 …) whose radiance a kernel call tabulates first (:func:`_radiance_table`): the same float32
values, looked up instead of two float32 divisions per pixel; larger DN (surface reflectance above ≈ 1.5)
are converted one by one."""


@numba.njit(cache=True, nogil=True)
def _radiance_table(src, n):  # type: ignore[no-untyped-def]
    """:func:`_dn_radiance` of DN 0 … n − 1."""
    table = np.empty(n, np.float32)
    for d in range(table.shape[0]):
        table[d] = _dn_radiance(d, src)
    return table


@numba.njit(inline="always", cache=True)
def _radiance_at(i, j, src, table, dn, radiance):  # type: ignore[no-untyped-def]
    """At-sensor radiance of pixel (i, j): ``radiance[i, j]``, or from the DN when ``src`` is given
    (:func:`_dn_radiance`, from ``table`` where it holds the DN)."""
    if src.shape[0] == 0:
        return radiance[i, j]
    d = dn[i, j]
    if d < table.shape[0]:
        return table[d]
    return _dn_radiance(d, src)


@numba.njit(inline="always", cache=True)
def _floored(cb, floor):  # type: ignore[no-untyped-def]
    """``np.maximum(cb, floor)`` (NaN stays NaN)."""
    return floor if cb < floor else cb  # noqa: FURB136 - max() may not keep NaN in numba


@numba.njit(inline="always", cache=True)
def _unchanged(key, e, cb, v, s, last_key, last_e, last_cb, last_v, last_s):  # type: ignore[no-untyped-def]
    """Whether F and Lp of a pixel are those of the previous one of its row: the same inputs (table key,
    elevation class, cos β, sky view, sunlit); a zero cos β or sky view, whose sign could matter, never
    counts as unchanged."""
    return (key == last_key and e == last_e and cb == last_cb and v == last_v and s == last_s
            and cb != 0.0 and v != 0.0)


@numba.njit(parallel=True, cache=True)
def _tables_kernel(src, table, dn, radiance, vis, ecls, lp, e0t, edift, tsun, cos_beta, cb_floor, sky, sunlit,
                   cos_sza, rho_ter, terrain_flux, floor, cap, out):  # type: ignore[no-untyped-def]
    """F depends on the pixel through (visibility index, elevation class, cos β, sky view, sunlit) alone,
    which neighbouring pixels mostly share (smooth maps, cos β in steps of 1/255): it is computed again only
    where one of them changes along the row (bit for bit the same value; a zero cos β or sky view, whose
    sign could matter, is never taken as unchanged).  A full-tile run spent 5.2 CPU-s here with F (two
    float64 divisions) and the radiance (two float32 divisions) per pixel; on 2048 rows of a real band with
    smooth maps, 6.0 → 2.9 ns per pixel (docs/benchmarks.md, session 23)."""
    nr, nc = out.shape
    for i in numba.prange(nr):
        last_a, last_e, last_cb, last_v, last_s = -1, -1, np.float32(0.0), np.float32(0.0), False
        lpv, flux = 0.0, 1.0
        for j in range(nc):
            lv = _radiance_at(i, j, src, table, dn, radiance)
            if lv <= 0.0:
                out[i, j] = 0.0
                continue
            a = vis[i, j]
            e = ecls[i, j]
            cbr = cos_beta[i, j]
            v = sky[i, j]
            s = sunlit[i, j]
            if not _unchanged(a, e, cbr, v, s, last_a, last_e, last_cb, last_v, last_s):
                last_a, last_e, last_cb, last_v, last_s = a, e, cbr, v, s
                lpv = lp[a, e]
                flux = _flux(e0t[a, e], edift[a, e], tsun[a, e], _floored(cbr, cb_floor), v, 1.0 if s else 0.0,
                             cos_sza, rho_ter, terrain_flux, floor)
            out[i, j] = _rho(lv, lpv, flux, cap)


@numba.njit(inline="always", cache=True)
def _fit_values(coeffs, e, w, lp_scale):  # type: ignore[no-untyped-def]
    """(Lp, E0t, Edift, Tsun) of elevation class ``e`` at water vapour ``w`` (float32, cm·1000):
    exp(A + B√w) (facts §7.5)."""
    root = np.sqrt(w) if w > 0.0 else 0.0
    lp = np.exp(coeffs[0, e, 0] + coeffs[0, e, 1] * root) * lp_scale
    e0t = np.exp(coeffs[1, e, 0] + coeffs[1, e, 1] * root)
    edift = np.exp(coeffs[2, e, 0] + coeffs[2, e, 1] * root)
    tsun = np.exp(coeffs[3, e, 0] + coeffs[3, e, 1] * root)
    return lp, e0t, edift, tsun


@numba.njit(cache=True, nogil=True)
def _fit_table(coeffs, e_lo, n_e, n_w, lp_scale):  # type: ignore[no-untyped-def]
    """:func:`_fit_values` of classes ``e_lo … e_lo + n_e − 1`` at the whole values 0 … n_w − 1."""
    table = np.empty((4, n_e, n_w), np.float64)
    for e in range(n_e):
        for k in range(n_w):
            v = _fit_values(coeffs, e_lo + e, np.float32(k), lp_scale)
            for m in range(4):
                table[m, e, k] = v[m]
    return table


@numba.njit(parallel=True, cache=True)
def _fits_kernel(src, rad_table, dn, radiance, wv, ecls, coeffs, table, e_lo, cos_beta, cb_floor, sky, sunlit,
                 cos_sza, rho_ter, terrain_flux, floor, cap, lp_scale, out):  # type: ignore[no-untyped-def]
    """As :func:`_tables_kernel`, F and Lp computed again only where (WV, elevation class, cos β, sky view,
    sunlit) change along the row."""
    nr, nc = out.shape
    n_e, n_w = table.shape[1], table.shape[2]
    for i in numba.prange(nr):
        last_w, last_e, last_cb, last_v, last_s = np.float32(np.nan), -1, np.float32(0.0), np.float32(0.0), False
        lp, flux = 0.0, 1.0
        for j in range(nc):
            lv = _radiance_at(i, j, src, rad_table, dn, radiance)
            if lv <= 0.0:
                out[i, j] = 0.0
                continue
            e = ecls[i, j]
            w = wv[i, j]
            cbr = cos_beta[i, j]
            v = sky[i, j]
            s = sunlit[i, j]
            if not _unchanged(w, e, cbr, v, s, last_w, last_e, last_cb, last_v, last_s):
                last_w, last_e, last_cb, last_v, last_s = w, e, cbr, v, s
                k = int(w) if 0.0 <= w < n_w else -1  # the maps hold whole values: look them up
                if k >= 0 and np.float32(k) == w and 0 <= e - e_lo < n_e:
                    lp = table[0, e - e_lo, k]
                    e0t = table[1, e - e_lo, k]
                    edift = table[2, e - e_lo, k]
                    tsun = table[3, e - e_lo, k]
                else:
                    lp, e0t, edift, tsun = _fit_values(coeffs, e, w, lp_scale)
                flux = _flux(e0t, edift, tsun, _floored(cbr, cb_floor), v, 1.0 if s else 0.0, cos_sza, rho_ter,
                             terrain_flux, floor)
            out[i, j] = _rho(lv, lp, flux, cap)


FIT_TABLE_MAX_SHARE = 0.125
"""A WV-fit table is built when its entries are at most this share of the pixels (speed only: 4 exp per
entry instead of 4 per pixel)."""


def _wv_fit_table(coeffs: npt.NDArray[np.float64], wv: np.ndarray, ecls: np.ndarray, lp_scale: float
                  ) -> tuple[npt.NDArray[np.float64], int]:
    """(table, first class) of :func:`_fit_table` over the classes and whole WV values of a window; an empty
    table when it would not pay."""
    empty = np.zeros((4, 0, 0), np.float64), 0
    if wv.size == 0 or wv.ndim != 2:
        return empty
    w_max = float(np.max(wv))
    e_lo, e_hi = int(np.min(ecls)), int(np.max(ecls))
    if not np.isfinite(w_max) or w_max < 0:
        return empty
    n_w, n_e = int(w_max) + 1, e_hi - e_lo + 1
    if n_w * n_e > FIT_TABLE_MAX_SHARE * wv.size:
        return empty
    return _fit_table(coeffs, e_lo, n_e, n_w, float(lp_scale)), e_lo


@dataclass(frozen=True)
class DnRadiance:
    """The radiance of a window given by its L1C DN, converted inside the kernels (no float32 TOA and
    radiance temporaries): L = max(DN + offset, 1)/Q · E0/10 · cos SZA / π, 0 for DN 0 (facts §3).

    Attributes
    ----------
    dn : numpy.ndarray of uint16
    offset, quantification : float
        ``RADIO_ADD_OFFSET`` and ``QUANTIFICATION_VALUE``.
    solar_irradiance : float
        E0 of the band (W m⁻² µm⁻¹).
    cos_sza : float
        Cosine of the cell solar zenith.
    """

    dn: npt.NDArray[np.uint16]
    offset: float
    quantification: float
    solar_irradiance: float
    cos_sza: float

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.dn.shape)


def _source(radiance: F32 | DnRadiance) -> tuple[F32, F32, npt.NDArray[np.uint16], F32]:
    """(src, radiance table, dn, radiance) arguments of the kernels for either kind of radiance."""
    if isinstance(radiance, DnRadiance):
        src = np.array([radiance.offset, radiance.quantification, radiance.solar_irradiance / 10.0,
                        np.float32(radiance.cos_sza)], np.float32)
        # a cell's window of a row band is strided: the kernels index it as it is (no copy)
        dn = np.asarray(radiance.dn, dtype=np.uint16)
        n = min(RADIANCE_TABLE_SIZE, dn.size)  # a small window converts its pixels one by one
        return src, _radiance_table(src, n), dn, np.zeros((1, 1), np.float32)
    return (np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((1, 1), np.uint16),
            np.ascontiguousarray(radiance, dtype=np.float32))


def _output(out: F32 | None, shape: tuple[int, ...]) -> F32:
    """``out`` checked against the radiance shape, or a new float32 array."""
    if out is None:
        return np.empty(shape, np.float32)
    if out.shape != shape or out.dtype != np.float32:
        raise ValueError(f"out must be float32 of shape {shape}, got {out.dtype} {out.shape}")
    return out


def _cb_floor(value: float | None) -> np.float32:
    return np.float32(-np.inf) if value is None else np.float32(value)


def _as2d(a: npt.ArrayLike, shape: tuple[int, int], dtype: type) -> np.ndarray:
    """Broadcast to ``shape`` without copying; integer index arrays keep their own integer dtype."""
    arr = np.asarray(a)
    if not (dtype is np.int64 and arr.dtype.kind in "iu" and arr.ndim > 0):
        arr = arr.astype(dtype, copy=False)
    return np.broadcast_to(arr, shape)


def reflectance_from_tables(
    radiance: F32 | DnRadiance,
    vis_index: npt.ArrayLike,
    elevation_class: npt.ArrayLike,
    lp: F32,
    e0t: F32,
    edift: F32,
    tsun: F32,
    cos_beta: npt.ArrayLike,
    sky_view: npt.ArrayLike,
    sunlit: npt.ArrayLike,
    cos_sza: float,
    *,
    terrain_refl: float,
    terrain_flux: bool,
    floor: float,
    cap: float,
    cos_beta_floor: float | None = None,
    out: F32 | None = None,
) -> F32:
    """Surface reflectance with RT functions from (visibility index, elevation class) tables.

    Parameters
    ----------
    radiance : numpy.ndarray of float32, shape (rows, cols), or DnRadiance
        At-sensor radiance (mW cm⁻² sr⁻¹ µm⁻¹); ≤ 0 = no data.  A :class:`DnRadiance` is converted pixel by
        pixel inside the kernel, with the same float32 values.
    vis_index, elevation_class : array_like of int, broadcastable to the radiance shape
        Table indices per pixel.
    lp, e0t, edift, tsun : numpy.ndarray of float32, shape (n_vis, n_elev)
        RT tables of one band.
    cos_beta, sky_view : array_like of float32, broadcastable
        Illumination cosine and sky-view factor.
    sunlit : array_like of bool, broadcastable
        b of facts §7.6 (False in cast shadow).
    cos_sza : float
        Cosine of the cell solar zenith.
    terrain_refl : float
        Terrain reflectance ρ_ter of the terrain flux (AC_Terrain_Refl_Start).
    terrain_flux : bool
        Whether F_ter is added.
    floor : float
        Minimum terrain flux as a fraction of E0t·cosSZA.
    cap : float
        Upper cap of ρ (AC_Topo_Corr_Cutoff).
    cos_beta_floor : float, optional
        Floor applied to ``cos_beta`` (as float32) pixel by pixel; None = used as given.
    out : numpy.ndarray of float32, radiance shape, optional
        Where to write the result (e.g. a cell's window of a tile image); a new array when None.

    Returns
    -------
    numpy.ndarray of float32, radiance shape; 0 where radiance ≤ 0 (``out`` when given).
    """
    shape = tuple(radiance.shape)
    out = _output(out, shape)
    _tables_kernel(
        *_source(radiance),
        _as2d(vis_index, shape, np.int64), _as2d(elevation_class, shape, np.int64),
        np.ascontiguousarray(lp, dtype=np.float64), np.ascontiguousarray(e0t, dtype=np.float64),
        np.ascontiguousarray(edift, dtype=np.float64), np.ascontiguousarray(tsun, dtype=np.float64),
        _as2d(cos_beta, shape, np.float32), _cb_floor(cos_beta_floor),
        _as2d(sky_view, shape, np.float32), _as2d(sunlit, shape, np.bool_),
        float(cos_sza), float(terrain_refl), bool(terrain_flux), float(floor), float(cap), out,
    )
    return out


def reflectance_from_wv_fits(
    radiance: F32 | DnRadiance,
    wv_scaled: npt.ArrayLike,
    elevation_class: npt.ArrayLike,
    coeffs: npt.NDArray[np.float32],
    cos_beta: npt.ArrayLike,
    sky_view: npt.ArrayLike,
    sunlit: npt.ArrayLike,
    cos_sza: float,
    *,
    terrain_refl: float,
    terrain_flux: bool,
    floor: float,
    cap: float,
    lp_scale: float = 1.0,
    cos_beta_floor: float | None = None,
    out: F32 | None = None,
) -> F32:
    """Surface reflectance of a WV-dependent band with per-pixel fits y = exp(A + B√u) (facts §7.5).

    ``coeffs`` is float32 of shape (4 [lp, e0t, edift, tsun], n_elev, 2) for the chosen WV sub-range;
    ``wv_scaled`` is the water vapour in cm·1000.  Other arguments as :func:`reflectance_from_tables`.
    """
    shape = tuple(radiance.shape)
    out = _output(out, shape)
    wv, ecls = _as2d(wv_scaled, shape, np.float32), _as2d(elevation_class, shape, np.int64)
    coeffs64 = np.ascontiguousarray(coeffs, dtype=np.float64)
    table, e_lo = _wv_fit_table(coeffs64, wv, ecls, lp_scale)
    _fits_kernel(
        *_source(radiance), wv, ecls, coeffs64, table, e_lo,
        _as2d(cos_beta, shape, np.float32), _cb_floor(cos_beta_floor),
        _as2d(sky_view, shape, np.float32), _as2d(sunlit, shape, np.bool_),
        float(cos_sza), float(terrain_refl), bool(terrain_flux), float(floor), float(cap), float(lp_scale), out,
    )
    return out


# --- step 2 (facts §7.7): background fill and the adjacency / spherical-albedo update, one pass each ---


@numba.njit(parallel=True, cache=True, nogil=True)
def background_fill_kernel(rho, valid, clouds, nodata, fill_nodata, cloud, fill_clouds, out):  # type: ignore[no-untyped-def]
    """``out = ρ`` with no-data set to ``nodata`` and clouds to ``cloud`` (each only when its flag is set;
    clouds win, as in ``work[~valid] = nodata; work[clouds] = cloud``)."""
    nr, nc = rho.shape
    for i in numba.prange(nr):
        for j in range(nc):
            v = rho[i, j]
            if fill_nodata and not valid[i, j]:
                v = nodata
            if fill_clouds and clouds[i, j]:
                v = cloud
            out[i, j] = v
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def adjacency_kernel(rho, mean, q, s, valid, border, adjacency, use_border, border_factor, reference, out):  # type: ignore[no-untyped-def]
    """Step 2 of one band with its background ρ̄ (``mean``, not yet floored at 0), in float32 as the NumPy
    sequence computes it::

        ρ̄ ← max(ρ̄, 0)
        ρ ← ρ + (ρ − ρ̄)·q                      (adjacency)
        ρ ← ρ + (border_factor·q)·(ρ − ρ̄)      (border pixels)
        ρ ← ρ·(1 − (ρ̄ − reference)·s),  0 on no-data

    ``q``, ``s`` are float32 2-D (broadcast views allowed); the scalars are float32.
    """
    nr, nc = rho.shape
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for i in numba.prange(nr):
        for j in range(nc):
            if not valid[i, j]:
                out[i, j] = zero
                continue
            m = mean[i, j]
            if m < zero:  # noqa: PLR1730 - np.maximum(m, 0) keeps NaN, max() would not
                m = zero
            r = rho[i, j]
            qq = q[i, j]
            if adjacency:
                r = r + (r - m) * qq
            if use_border and border[i, j]:
                r = r + (border_factor * qq) * (r - m)
            out[i, j] = r * (one - (m - reference) * s[i, j])
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def albedo_kernel(rho, s, valid, reference, out):  # type: ignore[no-untyped-def]
    """Spherical-albedo correction without adjacency: ``ρ·(1 − (ρ − reference)·s)``, 0 on no-data."""
    nr, nc = rho.shape
    one = np.float32(1.0)
    for i in numba.prange(nr):
        for j in range(nc):
            r = rho[i, j]
            out[i, j] = r * (one - (r - reference) * s[i, j]) if valid[i, j] else np.float32(0.0)
    return out
