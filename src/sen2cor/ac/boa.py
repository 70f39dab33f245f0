"""Surface reflectance, step 1: flat or rugged terrain, no adjacency (Sen2Cor AC; facts §7.6).

For every band and cell the at-sensor radiance L = ρ_TOA·E0·cos SZA_cell/π is inverted with the cell's RT
functions::

    ρ = min( π(L − Lp) / (F + F_ter), AC_Topo_Corr_Cutoff ) · G

where F is the direct + diffuse flux on the (possibly tilted) pixel, F_ter the terrain-reflected flux
(rugged terrain only) and G the optional BRDF factor (:mod:`sen2cor.ac.brdf`).  Bands below 1.36 µm take
the RT functions at the pixel's visibility index, longer ones at the scene mean index; the water-vapour
dependent bands (facts §7.5) use per-pixel fits exp(A + B√u) at the scene-mean visibility.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sen2cor.ac.constants import TERRAIN_FLUX_FLOOR
from sen2cor.ac.kernels import DnRadiance, reflectance_from_tables, reflectance_from_wv_fits
from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.rt import Geometry, RtTable, WvFitTable
from sen2cor.ac.setup import COS_BETA_MIN, Cell, Terrain
from sen2cor.bands import band as band_info
from sen2cor.physics.radiometry import has_nonzero, toa_to_radiance
from sen2cor.physics.toa_image import ToaImage

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]

PER_PIXEL_VISIBILITY_MAX_UM = 1.36
"""Bands below this wavelength use the per-pixel visibility index (facts §7.6)."""


@dataclass(frozen=True)
class BoaContext:
    """Inputs of the reflectance retrieval shared by all bands of one resolution.

    Attributes
    ----------
    terrain : Terrain
    cells : list of Cell
    geometries : list of Geometry
        Per-cell geometry.
    tables : list of RtTable
        Per-cell RT tables on (visibility index 0…182, elevation class), all bands.
    vis_index : numpy.ndarray of uint8, tile shape
        Visibility-index map.
    mean_index : int
        Scene visibility index.
    params : AcParameters
    wv_fits : list of WvFitTable, optional
        Per-cell WV fits for the WV-dependent bands (None without WV correction).
    wv_range : int
        WV sub-range of the fits (chosen from the scene-mean WV).
    wv_scaled : numpy.ndarray of float32, tile shape, optional
        Water vapour (cm·1000).
    lp_factors : dict
        Band → path-radiance factor (blue path-radiance rescaling).
    brdf_factors : dict
        Band → BRDF factor array G (tile shape); absent bands are not BRDF-corrected.
    """

    terrain: Terrain
    cells: list[Cell]
    geometries: list[Geometry]
    tables: list[RtTable]
    vis_index: npt.NDArray[np.uint8]
    mean_index: int
    params: AcParameters
    wv_fits: list[WvFitTable] | None = None
    wv_range: int = 0
    wv_scaled: F32 | None = None
    lp_factors: Mapping[str, float] = field(default_factory=dict)
    brdf_factors: Mapping[str, F32] = field(default_factory=dict)

    def uses_wv_fit(self, band_id: str) -> bool:
        return self.wv_fits is not None and self.wv_scaled is not None and band_id in self.wv_fits[0].bands

    @property
    def centre(self) -> int:
        """Index of the scene-centre cell (used by step 2; facts §7.7)."""
        return centre_cell(self.cells)


def centre_cell(cells: list[Cell]) -> int:
    """Index of the scene-centre cell of a cell grid (facts §7.7)."""
    rows = sorted({c.rows.start for c in cells})
    cols = sorted({c.cols.start for c in cells})
    r0, c0 = rows[len(rows) // 2], cols[len(cols) // 2]
    return next(i for i, c in enumerate(cells) if c.rows.start == r0 and c.cols.start == c0)


def radiance(toa: F32, solar_irradiance: float, cos_sza: float) -> F32:
    """At-sensor radiance (mW cm⁻² sr⁻¹ µm⁻¹) of TOA reflectance with E0 in W m⁻² µm⁻¹ (facts §3)."""
    return toa_to_radiance(toa, solar_irradiance, np.float32(cos_sza))


class _RowBand:
    """The DN rows of the cells in one row band of a :class:`ToaImage` kept on disk (its ``dn`` is not an
    array): read once for all the cells side by side, not once per cell."""

    def __init__(self, toa: ToaImage) -> None:
        self.toa = toa
        self.key: tuple[int, int] | None = None
        self.rows: np.ndarray | None = None

    def __call__(self, win: tuple[slice, slice]) -> np.ndarray:
        if isinstance(self.toa.dn, np.ndarray):
            return self.toa.dn[win]
        key = (win[0].start, win[0].stop)
        if key != self.key or self.rows is None:
            self.key, self.rows = key, np.asarray(self.toa.dn[win[0]])
        return self.rows[:, win[1]]


def _cell_radiance(toa: F32 | ToaImage, win: tuple[slice, slice], solar_irradiance: float,
                   cos_sza: float, band: _RowBand | None = None) -> F32 | DnRadiance | None:
    """The radiance of a cell for the kernels, None when the cell has no data.

    A :class:`~sen2cor.physics.toa_image.ToaImage` hands its DN to the kernels, which convert them pixel by
    pixel (same float32 values, no TOA and radiance temporaries); a float array is converted here.
    """
    if isinstance(toa, ToaImage):
        dn = np.asarray(band(win) if band is not None else toa.dn[win])
        if not has_nonzero(dn):  # TOA is 0 exactly where DN is 0
            return None
        return DnRadiance(dn, toa.offset, toa.quantification, solar_irradiance, cos_sza)
    toa_c = toa[win]
    if not np.any(toa_c > 0):
        return None
    return radiance(toa_c, solar_irradiance, cos_sza)


def step1_band(ctx: BoaContext, band_id: str, toa: F32, solar_irradiance: float) -> F32:
    """Step-1 surface reflectance of one band (facts §7.6).

    Parameters
    ----------
    ctx : BoaContext
    band_id : str
    toa : numpy.ndarray of float32, tile shape
        TOA reflectance (cirrus-corrected if requested); 0 = no data.
    solar_irradiance : float
        E0 of the band (W m⁻² µm⁻¹).

    Returns
    -------
    numpy.ndarray of float32, tile shape; 0 where ``toa`` is 0.
    """
    bid = band_info(band_id).id
    p = ctx.params
    t = ctx.terrain
    # each cell's reflectance is written into its window (the cells tile the image; cells without data: 0)
    out = np.empty(toa.shape, np.float32)
    if not _cells_tile(ctx.cells, out.shape):
        out[...] = 0.0
    per_pixel_vis = band_info(bid).wavelength_um < PER_PIXEL_VISIBILITY_MAX_UM
    band = _RowBand(toa) if isinstance(toa, ToaImage) else None
    for k, (cell, geom) in enumerate(zip(ctx.cells, ctx.geometries)):
        win = (cell.rows, cell.cols)
        rad = _cell_radiance(toa, win, solar_irradiance, geom.cos_sza, band)
        if rad is None:
            out[win] = 0.0
            continue
        cos_beta = t.cos_beta[win]  # floored pixel by pixel in the kernels: no temporary per band
        common = {"terrain_refl": p.ac_terrain_refl_start, "terrain_flux": t.terrain_iteration,
                  "floor": TERRAIN_FLUX_FLOOR, "cap": p.ac_topo_corr_cutoff, "cos_beta_floor": COS_BETA_MIN}
        if ctx.uses_wv_fit(bid):
            assert ctx.wv_fits is not None and ctx.wv_scaled is not None
            fits = ctx.wv_fits[k]
            coeffs = fits.coeffs[:, fits.index(bid), :, ctx.wv_range, :]
            rho = reflectance_from_wv_fits(rad, ctx.wv_scaled[win], t.elevation_class[win], coeffs, cos_beta,
                                           t.sky_view[win], t.sunlit[win], geom.cos_sza,
                                           lp_scale=ctx.lp_factors.get(bid, 1.0), out=out[win], **common)
        else:
            tab = ctx.tables[k]
            bi = tab.index(bid)
            lp = tab.lp[bi] * np.float32(ctx.lp_factors.get(bid, 1.0))
            vis = ctx.vis_index[win] if per_pixel_vis else ctx.mean_index
            rho = reflectance_from_tables(rad, vis, t.elevation_class[win], lp, tab.e0t[bi], tab.edift[bi],
                                          tab.tsun[bi], cos_beta, t.sky_view[win], t.sunlit[win],
                                          geom.cos_sza, out=out[win], **common)
        if bid in ctx.brdf_factors:
            out[win] = rho * ctx.brdf_factors[bid][win]
    return out


def _cells_tile(cells: Sequence[Cell], shape: tuple[int, ...]) -> bool:
    """Whether the cells' windows cover an image of ``shape`` exactly once, as a grid of row spans × column
    spans (:func:`~sen2cor.ac.setup.cell_grid`): then no pixel is left unset."""
    def spans(slices: set[tuple[int, int, int | None]], size: int) -> bool:
        edge = 0
        for start, stop, step in sorted(slices, key=lambda s: (s[0], s[1])):
            if step not in (None, 1) or start != edge:
                return False
            edge = stop
        return edge == size

    if len(shape) != 2:
        return False
    rows = {(c.rows.start or 0, c.rows.stop, c.rows.step) for c in cells}
    cols = {(c.cols.start or 0, c.cols.stop, c.cols.step) for c in cells}
    grid = {(r, c) for r, c in ((cell.rows.start or 0, cell.cols.start or 0) for cell in cells)}
    return (len(cells) == len(grid) == len(rows) * len(cols) and spans(rows, shape[0]) and spans(cols, shape[1]))


def blue_lp_factors(factor: float, bands: tuple[str, ...]) -> dict[str, float]:
    """Path-radiance factors of the bands below red from the blue factor (facts §7.3 item 9).

    Linear in wavelength between (λ_B02, factor) and (λ_B04, 1), extrapolated to B01; empty when factor is 1.
    """
    if factor == 1.0:
        return {}
    wb, wr = band_info("B02").wavelength_um, band_info("B04").wavelength_um
    out = {}
    for b in bands:
        w = band_info(b).wavelength_um
        if w < wr:
            out[band_info(b).id] = float(factor + (1.0 - factor) * (w - wb) / (wr - wb))
    return out
